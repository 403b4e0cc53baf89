//! A tool as the registry holds it: [`Tool`] with its declaration, access rule and annotations,
//! [`ToolBuilder`] that makes one from a typed handler, and the [`ToolContext`] a handler gets.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Toolset, history, schema};
use crate::context::{Role, UserContext};
use crate::domain::Timestamp;
use crate::error::{Error, Result};
use crate::policy::{CustomerRecord, Permission, Policy, Shape, staff_fields_optional};
use crate::store::{Scope, Store, StoreOp};

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
pub(super) struct ToolSpec {
    pub(super) name: &'static str,
    description: &'static str,
    access: Access,
    customers_allowed: bool,
    annotations: Annotations,
    writes: bool,
    pub(super) toolsets: Vec<Toolset>,
    pub(super) needs: Vec<StoreOp>,
    /// The kind of record a write changes, whose changes go on its audit event.
    pub(super) record: Option<history::RecordKind>,
    /// The kind of record it answers with, and whether one or a page, for tools customers may
    /// use: what a customer may see of it, and may filter and sort it by.
    pub(super) shows: Option<(CustomerRecord, Shape)>,
    /// It creates a record that an import may backdate (`created_at`, with `data:import`).
    imports: bool,
}

/// One tool: its model-facing declaration and its handler.
#[derive(Clone)]
pub struct Tool {
    pub(super) spec: ToolSpec,
    pub(super) input_schema: Value,
    /// The input schema with `created_at`, for callers who may import (tools that import).
    import_schema: Option<Value>,
    output_schema: Value,
    pub(super) validator: Arc<jsonschema::Validator>,
    pub(super) handler: Handler,
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
    /// import may backdate and the caller may import (see
    /// [`ToolRegistry::may_import`](super::ToolRegistry::may_import)).
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
    pub(super) fn record(mut self, kind: history::RecordKind) -> Self {
        self.spec.record = Some(kind);
        self
    }
    /// It answers with one record of `kind`: a customer calling it sees only the fields
    /// customers may see.
    pub(super) fn shows(mut self, kind: CustomerRecord) -> Self {
        self.spec.shows = Some((kind, Shape::One));
        self
    }
    /// It answers with a page of records of `kind`: a customer calling it sees only the fields
    /// customers may see, and cannot filter or sort by the others.
    pub(super) fn lists(mut self, kind: CustomerRecord) -> Self {
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
