//! [`ToolRegistry`]: the tools a store and policy offer, and the one call path that authorizes,
//! validates, scopes, runs and audits every tool call.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::redaction::{redact, truncate};
use super::{Tool, ToolContext, Toolset, audit, catalogue, history, idempotency, schema};
use crate::context::UserContext;
use crate::domain::{AuditOutcome, NewAuditEvent, OrganizationId, Timestamp};
use crate::error::{Error, ErrorKind, Result};
use crate::policy::{Permission, Policy, check_customer_arguments, hide_staff_fields};
use crate::store::{Scope, Store};

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

    /// Runs tool `name` for `ctx` with `args`. See the [module docs](super) for the steps.
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

/// The argument an import backdates a created record with.
const IMPORTED_CREATION: &str = "created_at";

/// What a checked call carries besides its arguments.
struct Imported {
    /// An import's creation time.
    created_at: Option<Timestamp>,
    /// The fingerprint of the call's whole arguments (see [`ToolContext`]).
    fingerprint: Option<String>,
}

/// The custom field keys `scope`'s organization shows its customers
/// (`settings.customer_visible_custom_fields`); none when the store keeps no organizations.
pub(crate) async fn visible_custom_fields(store: &dyn Store, scope: &Scope) -> Result<Vec<String>> {
    match store.get_organization(scope).await {
        Ok(organization) => Ok(organization.settings.customer_visible_custom_fields),
        Err(e) if e.kind() == ErrorKind::Unsupported => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
