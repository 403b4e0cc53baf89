//! The tool catalogue (listed in `docs/tools.md`) and [`ToolRegistry::call`], the one path every
//! tool call takes.
//!
//! `call` does, in order: look the tool up → check the caller may use it ([`Policy`]) → check the
//! store supports it → validate the arguments against the tool's input JSON Schema (errors name
//! the field) → run the handler with the caller's [`Scope`] → record an audit event for every
//! call, refusal and failure (arguments kept, secrets redacted) → return the typed result as JSON.
//! Chat, MCP and the direct `call_tool` APIs all come through here.
//!
//! Each domain's tools live in their own file (`customers.rs`, `leads.rs`, …); a tool is a
//! [`Tool`] built with [`ToolBuilder`] from a typed handler, so its input and output schemas are
//! derived from the same Rust types serde uses.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::{Role, UserContext};
use crate::domain::{AuditOutcome, NewAuditEvent, OrganizationId, Timestamp};
use crate::error::{Error, ErrorKind, Result};
use crate::policy::{
    CustomerRecord, Permission, Policy, Shape, check_customer_arguments, hide_staff_fields, staff_fields_optional,
};
use crate::store::{Scope, Store, StoreOp};

mod activities;
mod analytics;
mod args;
mod audit;
mod customers;
mod dates;
mod deals;
mod docs;
mod employees;
mod history;
mod idempotency;
mod issues;
mod leads;
mod orders;
mod organization;
mod schema;
mod search;

pub use args::{Paging, ToolPage};
pub use docs::tools_markdown;

pub use crate::domain::{ToolLimits, Toolset};

/// Hints for clients (MCP `annotations`): whether a tool only reads, may destroy, or can be
/// repeated safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Annotations {
    /// Changes nothing.
    pub read_only: bool,
    /// May remove or close something (deactivate, mark lost, close).
    pub destructive: bool,
    /// Repeating the same call has no further effect.
    pub idempotent: bool,
}

/// Who may call a tool: the permission(s) it needs and whether customers may use it at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Needs every one of these permissions.
    All(Vec<Permission>),
    /// Needs at least one of these (the handler narrows to what is held, e.g. `search_crm`).
    Any(Vec<Permission>),
    /// Any staff member (owner, employee, platform admin) — e.g. the caller's own quick stats.
    Staff,
    /// Any member of the organization (the caller's own context).
    Member,
}

type Handler = Arc<dyn Fn(ToolContext, Value) -> Pin<Box<dyn Future<Output = Result<Value>> + Send>> + Send + Sync>;

/// What a tool is, apart from its schemas and handler: shared by [`ToolBuilder`] and [`Tool`].
#[derive(Clone)]
struct ToolSpec {
    name: &'static str,
    description: &'static str,
    access: Access,
    customers_allowed: bool,
    annotations: Annotations,
    writes: bool,
    toolsets: Vec<Toolset>,
    needs: Vec<StoreOp>,
    /// The kind of record a write changes, whose changes go on its audit event.
    record: Option<history::RecordKind>,
    /// The kind of record it answers with, and whether one or a page, for tools customers may
    /// use: what a customer may see of it, and may filter and sort it by.
    shows: Option<(CustomerRecord, Shape)>,
    /// It creates a record that an import may backdate (`created_at`, with `data:import`).
    imports: bool,
}

/// One tool: its model-facing declaration and its handler.
#[derive(Clone)]
pub struct Tool {
    spec: ToolSpec,
    input_schema: Value,
    /// The input schema with `created_at`, for callers who may import (tools that import).
    import_schema: Option<Value>,
    output_schema: Value,
    validator: Arc<jsonschema::Validator>,
    handler: Handler,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.spec.name).finish_non_exhaustive()
    }
}

impl Tool {
    /// Starts a tool definition.
    pub fn builder(name: &'static str, description: &'static str) -> ToolBuilder {
        ToolBuilder {
            spec: ToolSpec {
                name,
                description,
                access: Access::Member,
                customers_allowed: false,
                annotations: Annotations { read_only: true, destructive: false, idempotent: true },
                writes: false,
                toolsets: Vec::new(),
                needs: Vec::new(),
                record: None,
                shows: None,
                imports: false,
            },
        }
    }

    /// The tool's name (`list_customers`).
    pub fn name(&self) -> &'static str {
        self.spec.name
    }
    /// A title for people: `create_customer` → "Create customer".
    pub fn title(&self) -> String {
        let mut words = self.spec.name.replace('_', " ");
        if let Some(first) = words.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        words
    }
    /// The description written for a model.
    pub fn description(&self) -> &'static str {
        self.spec.description
    }
    /// The input JSON Schema (draft 2020-12, subschemas inlined).
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }
    /// The input schema shown to a caller: with `created_at` when the tool creates records an
    /// import may backdate and the caller may import (see [`ToolRegistry::may_import`]).
    pub fn input_schema_for(&self, importing: bool) -> &Value {
        match &self.import_schema {
            Some(schema) if importing => schema,
            _ => &self.input_schema,
        }
    }
    /// Whether it creates records an import may backdate with `created_at`.
    pub fn imports(&self) -> bool {
        self.spec.imports
    }
    /// The output JSON Schema.
    pub fn output_schema(&self) -> &Value {
        &self.output_schema
    }
    /// Who may call it.
    pub fn access(&self) -> &Access {
        &self.spec.access
    }
    /// Whether customer principals may use it (on their own records).
    pub fn customers_allowed(&self) -> bool {
        self.spec.customers_allowed
    }
    /// Client hints.
    pub fn annotations(&self) -> Annotations {
        self.spec.annotations
    }
    /// Whether it changes data (and so may need confirmation in chat).
    pub fn writes(&self) -> bool {
        self.spec.writes
    }
    /// The toolsets it belongs to.
    pub fn toolsets(&self) -> &[Toolset] {
        &self.spec.toolsets
    }
    /// The store operations it needs.
    pub fn needs(&self) -> &[StoreOp] {
        &self.spec.needs
    }

    /// Whether a successful call may change who someone is (a role, a membership, an employee
    /// record: today the role tools), which cached identities must then reflect.
    pub(crate) fn changes_identities(&self) -> bool {
        const IDENTITY: [StoreOp; 4] =
            [StoreOp::Organizations, StoreOp::Members, StoreOp::Roles, StoreOp::WriteEmployees];
        self.writes() && self.spec.needs.iter().any(|op| IDENTITY.contains(op))
    }

    /// The permission shown in docs: `customer:read`, `lead:update + customer:create`, …
    pub fn permission_label(&self) -> String {
        match &self.spec.access {
            Access::All(p) => p.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + "),
            Access::Any(p) => p.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or "),
            Access::Staff => "any staff member".into(),
            Access::Member => "any member".into(),
        }
    }

    /// Whether `ctx` may call this tool under `policy`; the error names what is missing.
    pub fn authorize(&self, policy: &Policy, ctx: &UserContext) -> Result<()> {
        if ctx.role == Role::Customer && !self.spec.customers_allowed {
            return Err(Error::PermissionDenied(format!("`{}` is not available to customers", self.spec.name)));
        }
        if let Some(refusal) = ctx.limits.refusal(self.spec.name, self.spec.writes, &self.spec.toolsets) {
            return Err(Error::PermissionDenied(refusal));
        }
        match &self.spec.access {
            Access::All(permissions) => permissions.iter().try_for_each(|p| policy.decide(ctx, *p).into_result()),
            Access::Any(permissions) => {
                if permissions.iter().any(|p| policy.decide(ctx, *p).is_allowed()) {
                    Ok(())
                } else {
                    let names = permissions.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" or ");
                    Err(Error::PermissionDenied(format!("this action needs {names}")))
                }
            }
            Access::Staff if ctx.role == Role::Customer => {
                Err(Error::PermissionDenied(format!("`{}` is for staff only", self.spec.name)))
            }
            Access::Staff | Access::Member => Ok(()),
        }
    }

    /// What hosts show of a tool (`GET /api/tools`, the bindings' `tools()`): name, title,
    /// description, JSON Schema of the arguments, and the MCP-style annotations.
    pub fn describe(&self) -> Value {
        self.describe_for(false)
    }

    /// [`Tool::describe`] for a caller who may import (`importing`) or not.
    pub fn describe_for(&self, importing: bool) -> Value {
        let declaration = self.declaration_for(false, importing);
        serde_json::json!({
            "name": declaration.name,
            "title": self.title(),
            "description": declaration.description,
            "parameters": declaration.parameters,
            "annotations": self.annotations(),
        })
    }

    /// A declaration for a model: name, description, parameters. `compact` drops property
    /// descriptions and shortens the description to its first sentence.
    pub fn declaration(&self, compact: bool) -> ToolDeclaration {
        self.declaration_for(compact, false)
    }

    /// [`Tool::declaration`] for a caller who may import (`importing`) or not.
    pub fn declaration_for(&self, compact: bool, importing: bool) -> ToolDeclaration {
        let schema = self.input_schema_for(importing);
        if !compact {
            return ToolDeclaration {
                name: self.spec.name.into(),
                description: self.spec.description.into(),
                parameters: schema.clone(),
            };
        }
        let description =
            self.spec.description.split_inclusive(". ").next().unwrap_or(self.spec.description).trim().to_owned();
        let mut parameters = schema.clone();
        schema::compact(&mut parameters);
        ToolDeclaration { name: self.spec.name.into(), description, parameters }
    }
}

/// What a model (or MCP client) is told about a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDeclaration {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Input JSON Schema.
    pub parameters: Value,
}

/// Builds a [`Tool`]; finish with [`ToolBuilder::handler`].
pub struct ToolBuilder {
    spec: ToolSpec,
}

impl ToolBuilder {
    /// Needs `permission`.
    pub fn permission(mut self, permission: Permission) -> Self {
        self.spec.access = Access::All(vec![permission]);
        self
    }
    /// Any access rule.
    pub fn access(mut self, access: Access) -> Self {
        self.spec.access = access;
        self
    }
    /// It writes one record of `kind`, named by its `…_id` argument (or, for a creation, the
    /// record it answers): its audit event keeps the record and the fields it changed.
    fn record(mut self, kind: history::RecordKind) -> Self {
        self.spec.record = Some(kind);
        self
    }
    /// It answers with one record of `kind`: a customer calling it sees only the fields
    /// customers may see.
    fn shows(mut self, kind: CustomerRecord) -> Self {
        self.spec.shows = Some((kind, Shape::One));
        self
    }
    /// It answers with a page of records of `kind`: a customer calling it sees only the fields
    /// customers may see, and cannot filter or sort by the others.
    fn lists(mut self, kind: CustomerRecord) -> Self {
        self.spec.shows = Some((kind, Shape::Page));
        self
    }
    /// Customers may use it (on their own records, which the store scope enforces).
    pub fn for_customers(mut self) -> Self {
        self.spec.customers_allowed = true;
        self
    }
    /// It changes data (and repeating it may change more: see [`Self::idempotent`]).
    pub fn writes(mut self) -> Self {
        self.spec.writes = true;
        self.spec.annotations = Annotations { read_only: false, destructive: false, idempotent: false };
        self
    }
    /// Repeating it with the same arguments changes nothing more (reads always are).
    pub fn idempotent(mut self) -> Self {
        self.spec.annotations.idempotent = true;
        self
    }
    /// It changes data and may close or remove something.
    pub fn destructive(mut self) -> Self {
        self.spec.writes = true;
        self.spec.annotations = Annotations { read_only: false, destructive: true, idempotent: true };
        self
    }
    /// Its toolsets.
    pub fn toolsets(mut self, toolsets: &[Toolset]) -> Self {
        self.spec.toolsets = toolsets.to_vec();
        self
    }
    /// The store operations it needs (hidden when the store lacks one).
    pub fn needs(mut self, ops: &[StoreOp]) -> Self {
        self.spec.needs = ops.to_vec();
        self
    }
    /// It creates a record that callers holding `data:import` may backdate: they see and may
    /// pass `created_at`, which the handler finds in [`ToolContext::created_at`].
    pub fn imports(mut self) -> Self {
        self.spec.imports = true;
        self
    }

    /// Finishes the tool with a typed handler. The input schema is derived from `A`, the output
    /// schema from `O`.
    pub fn handler<A, O, F, Fut>(self, handler: F) -> Tool
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        let input_schema = schema::input_schema::<A>();
        let mut output_schema = schema::output_schema::<O>();
        if let Some((kind, shape)) = self.spec.shows {
            staff_fields_optional(kind, shape, &mut output_schema);
        }
        let validator = jsonschema::validator_for(&input_schema)
            .unwrap_or_else(|e| panic!("tool {}: bad input schema: {e}", self.spec.name));
        let import_schema = self.spec.imports.then(|| schema::with_created_at(&input_schema));
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |cx, mut value| {
            let handler = handler.clone();
            Box::pin(async move {
                schema::apply_clear(&mut value)?;
                let args: A = serde_json::from_value(value).map_err(|e| Error::invalid(e.to_string()))?;
                let output = handler(cx, args).await?;
                serde_json::to_value(output).map_err(|e| Error::Internal(format!("tool output is not JSON: {e}")))
            })
        });
        Tool {
            spec: self.spec,
            input_schema,
            import_schema,
            output_schema,
            validator: Arc::new(validator),
            handler: erased,
        }
    }
}

/// What a handler gets: the caller, their scope, the store and the policy.
#[derive(Clone)]
pub struct ToolContext {
    /// The caller.
    pub user: UserContext,
    /// The caller's store scope.
    pub scope: Scope,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The policy.
    pub policy: Arc<Policy>,
    /// The time of the call (one value for the whole call).
    pub now: Timestamp,
    /// The fingerprint of the arguments of a call with an idempotency key.
    pub(crate) fingerprint: Option<String>,
    /// The original creation time an import gave (`created_at`, checked: the caller holds
    /// `data:import`, and it is not in the future), for a tool built with
    /// [`ToolBuilder::imports`] to record on what it creates.
    pub created_at: Option<Timestamp>,
}

impl ToolContext {
    /// Whether the caller holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.policy.decide(&self.user, permission).is_allowed()
    }

    /// `Ok` when the caller holds `permission`, else [`Error::PermissionDenied`].
    pub fn require(&self, permission: Permission) -> Result<()> {
        self.policy.decide(&self.user, permission).into_result()
    }
}

/// Which tools a registry offers and how.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Offer only these toolsets (`None`: all).
    pub toolsets: Option<Vec<Toolset>>,
}

/// The catalogue, and the one way to run a tool: [`ToolRegistry::call`].
#[derive(Clone)]
pub struct ToolRegistry {
    tools: Arc<BTreeMap<&'static str, Tool>>,
    store: Arc<dyn Store>,
    policy: Arc<Policy>,
    options: RegistryOptions,
    audit: Arc<audit::AuditQueue>,
    /// Organizations the store has been seen to hold (see [`ToolRegistry::organization_exists`]).
    known_organizations: Arc<std::sync::RwLock<std::collections::HashSet<OrganizationId>>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry").field("tools", &self.tools.len()).finish_non_exhaustive()
    }
}

/// Every tool of the catalogue, in name order.
pub fn catalogue() -> Vec<Tool> {
    let mut tools = Vec::new();
    tools.extend(customers::tools());
    tools.extend(leads::tools());
    tools.extend(deals::tools());
    tools.extend(issues::tools());
    tools.extend(orders::tools());
    tools.extend(employees::tools());
    tools.extend(activities::tools());
    tools.extend(analytics::tools());
    tools.extend(organization::tools());
    tools.extend(search::tools());
    tools.extend(history::tools());
    tools.sort_by_key(|t| t.spec.name);
    tools
}

impl ToolRegistry {
    /// The full catalogue over `store` with the built-in policy.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_policy(store, Arc::new(Policy::builtin()), RegistryOptions::default())
    }

    /// The catalogue over `store` with `policy` and `options`.
    pub fn with_policy(store: Arc<dyn Store>, policy: Arc<Policy>, options: RegistryOptions) -> Self {
        let tools = catalogue()
            .into_iter()
            .filter(|t| options.toolsets.as_ref().is_none_or(|sets| t.spec.toolsets.iter().any(|s| sets.contains(s))))
            .filter(|t| t.spec.needs.iter().all(|op| store.supports(*op)))
            .map(|t| (t.spec.name, t))
            .collect();
        ToolRegistry {
            tools: Arc::new(tools),
            audit: Arc::new(audit::AuditQueue::new(store.clone())),
            known_organizations: Arc::default(),
            store,
            policy,
            options,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The same catalogue, policy and audit log over `store`: a unit of work's store, whose
    /// calls then commit together (see [`Store::transaction`]).
    pub(crate) fn on_store(&self, store: Arc<dyn Store>) -> ToolRegistry {
        ToolRegistry { store, ..self.clone() }
    }

    /// The options it was built with.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// Waits until the audit events of every call made so far are in the store. Call it before
    /// shutting down, and before reading the audit log of calls just made.
    pub async fn flush_audit(&self) {
        self.audit.flush().await;
    }

    /// The tool called `name`, if this registry offers it (whoever the caller).
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.tools.get(name)
    }

    /// The tools `ctx` may use, in name order.
    pub fn list(&self, ctx: &UserContext) -> Vec<&Tool> {
        self.tools.values().filter(|t| t.authorize(&self.policy, ctx).is_ok()).collect()
    }

    /// Runs tool `name` for `ctx` with `args`. See the [module docs](self) for the steps.
    pub async fn call(&self, ctx: &UserContext, name: &str, args: Value) -> Result<Value> {
        let started = Instant::now();
        let (result, trail) = self.call_unaudited(ctx, name, args.clone()).await;
        if result.is_ok() && self.tools.get(name).is_some_and(Tool::changes_identities) {
            crate::auth::identities_changed();
        }
        let outcome = result.as_ref().map(|_| AuditOutcome::Ok).map_err(Error::kind);
        self.audit_outcome(ctx, name, &args, outcome, trail, started);
        result
    }

    /// Checks that `ctx` may call `name` with `args` without running it (used to prepare
    /// confirmations). Returns the tool.
    pub fn check(&self, ctx: &UserContext, name: &str, args: &Value) -> Result<&Tool> {
        self.checked(ctx, name, args).map(|(tool, _, _)| tool)
    }

    /// [`ToolRegistry::check`], also answering the import's creation time and the arguments
    /// without it (as the handler takes them).
    fn checked<'v>(
        &self,
        ctx: &UserContext,
        name: &str,
        args: &'v Value,
    ) -> Result<(&Tool, Option<Timestamp>, Cow<'v, Value>)> {
        let tool = self.tools.get(name).ok_or_else(|| Error::not_found("tool", name))?;
        tool.authorize(&self.policy, ctx)?;
        ctx.scope()?;
        let (created_at, args) = self.imported(tool, ctx, args)?;
        let args = match schema::normalize_nulls(&tool.input_schema, &args) {
            Cow::Borrowed(_) => args,
            Cow::Owned(normalized) => Cow::Owned(normalized),
        };
        validate(tool, &args)?;
        Ok((tool, created_at, args))
    }

    /// Whether `ctx` may import: see records' `created_at` on the tools that create them, and
    /// set it (`data:import`, granted only by name).
    pub fn may_import(&self, ctx: &UserContext) -> bool {
        self.policy.decide(ctx, Permission::IMPORT).is_allowed()
    }

    /// Takes an import's `created_at` out of `args`: a tool that imports, a caller who may, a
    /// time in RFC 3339 that is not in the future. On other tools it stays in, for the schema
    /// to refuse as the unknown argument it is there.
    fn imported<'a>(
        &self,
        tool: &Tool,
        ctx: &UserContext,
        args: &'a Value,
    ) -> Result<(Option<Timestamp>, Cow<'a, Value>)> {
        let Some(given) = args.get(IMPORTED_CREATION).filter(|_| tool.imports()) else {
            return Ok((None, Cow::Borrowed(args)));
        };
        let mut rest = args.clone();
        rest.as_object_mut().map(|map| map.remove(IMPORTED_CREATION));
        if given.is_null() {
            return Ok((None, Cow::Owned(rest)));
        }
        if !self.may_import(ctx) {
            return Err(Error::PermissionDenied(format!(
                "`{IMPORTED_CREATION}` (a record's original creation time) needs the `{}` permission",
                Permission::IMPORT
            )));
        }
        let at = given
            .as_str()
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&chrono::Utc))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "`{IMPORTED_CREATION}` must be an RFC 3339 time such as `2024-03-01T09:30:00Z`, not {given}"
                ))
            })?;
        if at > chrono::Utc::now() {
            return Err(Error::invalid(format!("`{IMPORTED_CREATION}` cannot be in the future ({given})")));
        }
        Ok((Some(at), Cow::Owned(rest)))
    }

    /// Checks a call that will run later, after a human confirms it (the assistant's
    /// pending actions), and audits the proposal: `pending` when it may run, or the refusal.
    /// Confirming later goes through [`ToolRegistry::call`], which checks everything again.
    pub fn propose(&self, ctx: &UserContext, name: &str, args: &Value) -> Result<&Tool> {
        let started = Instant::now();
        let checked = self.check(ctx, name, args);
        let outcome = match &checked {
            Ok(_) => Ok(AuditOutcome::Pending),
            Err(e) => Err(e.kind()),
        };
        self.audit_outcome(ctx, name, args, outcome, None, started);
        checked
    }

    /// `NotFound` unless the scope's organization exists. A host builds contexts itself, and
    /// a context naming an organization the store does not hold must not write rows into no
    /// organization or read as an empty one. Organizations are not deleted, so each is looked up
    /// once per registry; a store that does not keep organizations is taken at its word.
    async fn organization_exists(&self, scope: &Scope) -> Result<()> {
        let id = scope.organization_id();
        if self.known_organizations.read().unwrap_or_else(|e| e.into_inner()).contains(id) {
            return Ok(());
        }
        match self.store.get_organization(scope).await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            Err(e) => return Err(e),
        }
        self.known_organizations.write().unwrap_or_else(|e| e.into_inner()).insert(id.clone());
        Ok(())
    }

    /// Runs the call; for a successful write of a record, also what it changed.
    async fn call_unaudited(
        &self,
        ctx: &UserContext,
        name: &str,
        args: Value,
    ) -> (Result<Value>, Option<history::RecordTrail>) {
        let checked = self.checked(ctx, name, &args).and_then(|checked| Ok((checked, ctx.scope()?)));
        let ((tool, created_at, checked_args), scope) = match checked {
            Ok(checked) => checked,
            Err(e) => return (Err(e), None),
        };
        // An idempotency key binds the whole call, an import's creation time included, with
        // nulls read as left out (as the call reads them).
        let fingerprint = idempotency::fingerprint(&schema::normalize_nulls(tool.input_schema_for(true), &args));
        let args = checked_args;
        if let Err(e) = self.organization_exists(&scope).await {
            return (Err(e), None);
        }
        let args = args.into_owned();
        // A customer sees only the fields customers may see, and may not probe the others.
        let customer_view = match tool.spec.shows {
            Some((kind, shape)) if scope.is_customer() => match visible_custom_fields(&*self.store, &scope).await {
                Ok(visible) => Some((kind, shape, visible)),
                Err(e) => return (Err(e), None),
            },
            _ => None,
        };
        if let Some((kind, _, visible)) = &customer_view
            && let Err(e) = check_customer_arguments(*kind, &args, visible)
        {
            return (Err(e), None);
        }
        let imported = Imported { created_at, fingerprint };
        let (mut result, trail) = self.run_handler(tool, ctx, scope, args, imported).await;
        if let (Ok(answer), Some((kind, shape, visible))) = (&mut result, &customer_view) {
            hide_staff_fields(*kind, *shape, answer, visible);
        }
        (result, trail)
    }

    /// Runs `tool`'s handler; for a write of a record, also reads what it changed.
    async fn run_handler(
        &self,
        tool: &Tool,
        ctx: &UserContext,
        scope: Scope,
        args: Value,
        imported: Imported,
    ) -> (Result<Value>, Option<history::RecordTrail>) {
        let cx = ToolContext {
            user: ctx.clone(),
            scope,
            store: self.store.clone(),
            policy: self.policy.clone(),
            now: chrono::Utc::now(),
            fingerprint: imported.fingerprint,
            created_at: imported.created_at,
        };
        let Some(kind) = tool.spec.record else { return ((tool.handler)(cx, args).await, None) };
        let before = history::before_write(kind, &cx, &args).await;
        let result = (tool.handler)(cx.clone(), args).await;
        let trail = match &result {
            Ok(answer) => history::after_write(kind, &cx, before, answer).await,
            Err(_) => None,
        };
        (result, trail)
    }

    /// Queues the audit event of one call (`result` is the outcome recorded when it did not
    /// fail, or how it failed) and logs one line for it.
    fn audit_outcome(
        &self,
        ctx: &UserContext,
        name: &str,
        args: &Value,
        result: std::result::Result<AuditOutcome, ErrorKind>,
        trail: Option<history::RecordTrail>,
        started: Instant,
    ) {
        let outcome = match result {
            Ok(success) => success,
            Err(ErrorKind::PermissionDenied) => AuditOutcome::Denied,
            Err(ErrorKind::InvalidArgument | ErrorKind::NotFound) => AuditOutcome::Invalid,
            Err(_) => AuditOutcome::Failed,
        };
        let duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut event = NewAuditEvent {
            user_id: ctx.user_id.clone(),
            action: truncate(name, 64),
            outcome,
            error_kind: result.err().map(|kind| kind.to_string()),
            duration_us,
            arguments: redact(args),
            record_type: None,
            record_id: None,
            changes: Vec::new(),
            at: chrono::Utc::now(),
        };
        if let Some(trail) = trail {
            trail.mark(&mut event);
        }
        self.audit.record(ctx.organization_id.clone(), event);
        tracing::info!(user = %ctx.user_id, org = %ctx.organization_id, tool = name, outcome = %outcome, duration_us, "tool call");
    }
}

/// Validates `args` against the tool's input schema; the error names the offending field.
fn validate(tool: &Tool, args: &Value) -> Result<()> {
    let mut errors = tool.validator.iter_errors(args).peekable();
    if errors.peek().is_none() {
        return match nul_at(args, String::new()) {
            Some(field) => Err(Error::invalid(format!(
                "bad arguments for `{}`: `{field}` contains a NUL character (\\u0000), which text may not hold",
                tool.spec.name
            ))),
            None => Ok(()),
        };
    }
    let messages: Vec<String> = errors
        .take(3)
        .map(|e| {
            let path = e.instance_path().to_string();
            let field = path.trim_start_matches('/').replace('/', ".");
            let message = match e.kind() {
                // jsonschema names only the first few allowed values; the caller needs them all.
                jsonschema::error::ValidationErrorKind::Enum { options } => {
                    let allowed: Vec<String> =
                        options.as_array().into_iter().flatten().map(ToString::to_string).collect();
                    format!("{} is not one of {}", e.instance(), allowed.join(", "))
                }
                _ => e.to_string(),
            };
            if field.is_empty() { message } else { format!("`{field}`: {message}") }
        })
        .collect();
    Err(Error::invalid(format!("bad arguments for `{}`: {}", tool.spec.name, messages.join("; "))))
}

/// The path of the first string in `value` holding a NUL character: no store keeps one intact
/// (PostgreSQL refuses it, SQLite cuts some strings at it), so no argument may carry one.
fn nul_at(value: &Value, path: String) -> Option<String> {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        Value::String(text) => text.contains('\0').then_some(path),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| nul_at(item, join(&i.to_string()))),
        Value::Object(map) => map
            .iter()
            .find_map(|(key, item)| if key.contains('\0') { Some(join(key)) } else { nul_at(item, join(key)) }),
        _ => None,
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The argument an import backdates a created record with.
const IMPORTED_CREATION: &str = "created_at";

/// What a checked call carries besides its arguments.
struct Imported {
    /// An import's creation time.
    created_at: Option<Timestamp>,
    /// The fingerprint of the call's whole arguments (see [`ToolContext`]).
    fingerprint: Option<String>,
}

/// Argument keys whose values never reach the audit log.
const SECRET_KEYS: &[&str] =
    &["password", "token", "secret", "api_key", "apikey", "authorization", "credit_card", "card_number"];

/// The custom field keys `scope`'s organization shows its customers
/// (`settings.customer_visible_custom_fields`); none when the store keeps no organizations.
pub(crate) async fn visible_custom_fields(store: &dyn Store, scope: &Scope) -> Result<Vec<String>> {
    match store.get_organization(scope).await {
        Ok(organization) => Ok(organization.settings.customer_visible_custom_fields),
        Err(e) if e.kind() == ErrorKind::Unsupported => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A copy of `args` with secret-looking values replaced and long strings shortened.
pub fn redact(args: &Value) -> Value {
    match args {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                        (k.clone(), Value::String("[redacted]".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(s) if s.chars().count() > 500 => Value::String(format!("{}…", truncate(s, 500))),
        other => other.clone(),
    }
}
