//! `crm_agent.UserContext`: who is calling, built by the host from its own session.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, Weak};

use crm_agent::domain::{CustomerId, EmployeeId, OrganizationId};
use crm_agent::policy::Grant;
use crm_agent::{Error, Policy, UserContext};
use pyo3::prelude::*;

use crate::errors::IntoPyResult;

/// The identity every call carries. `role` is the kind of principal (`owner`, `employee`,
/// `customer`, `platform_admin`, or a host alias the policy knows); an employee's permissions
/// are `grants` plus those of the policy roles named in `roles`.
#[pyclass(frozen, module = "crm_agent._native", name = "UserContext")]
pub(crate) struct PyUserContext {
    #[pyo3(get)]
    user_id: String,
    #[pyo3(get)]
    organization_id: String,
    #[pyo3(get)]
    role: String,
    #[pyo3(get)]
    employee_id: Option<String>,
    #[pyo3(get)]
    customer_id: Option<String>,
    #[pyo3(get)]
    roles: Vec<String>,
    #[pyo3(get)]
    grants: Vec<String>,
    #[pyo3(get)]
    display_name: Option<String>,
    parsed_grants: BTreeSet<Grant>,
    /// The core context as last built, and for which policy: a context object is usually
    /// reused for many calls, and this keeps the conversion out of each of them. (The `Weak`
    /// keeps the policy's allocation, so its address cannot be reused by another policy.)
    resolved: Mutex<Option<(Weak<Policy>, Arc<UserContext>)>>,
}

#[pymethods]
impl PyUserContext {
    #[new]
    #[pyo3(signature = (user_id, organization_id, role, *, employee_id=None, customer_id=None, roles=Vec::new(), grants=Vec::new(), display_name=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        user_id: String,
        organization_id: String,
        role: String,
        employee_id: Option<String>,
        customer_id: Option<String>,
        roles: Vec<String>,
        grants: Vec<String>,
        display_name: Option<String>,
    ) -> PyResult<Self> {
        if user_id.trim().is_empty() {
            return Err(Error::invalid("user_id must not be empty")).py();
        }
        if organization_id.trim().is_empty() {
            return Err(Error::invalid("organization_id must not be empty")).py();
        }
        // `role` is read under the agent's policy, which may name host roles of its own: an
        // unknown one fails (INVALID_ARGUMENT) on the first call that uses this context.
        let parsed_grants =
            grants.iter().map(|g| g.parse::<Grant>()).collect::<crm_agent::Result<BTreeSet<_>>>().py()?;
        Ok(PyUserContext {
            user_id,
            organization_id,
            role,
            employee_id,
            customer_id,
            roles,
            grants,
            display_name,
            parsed_grants,
            resolved: Mutex::new(None),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "UserContext(user_id={:?}, organization_id={:?}, role={:?})",
            self.user_id, self.organization_id, self.role
        )
    }
}

impl PyUserContext {
    /// The core context under `policy` (see [`build`](Self::build)), built once per policy.
    pub(crate) fn resolve(&self, policy: &Arc<Policy>) -> crm_agent::Result<Arc<UserContext>> {
        let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((for_policy, ctx)) = &*resolved
            && std::ptr::eq(for_policy.as_ptr(), Arc::as_ptr(policy))
        {
            return Ok(ctx.clone());
        }
        let ctx = Arc::new(self.build(policy)?);
        *resolved = Some((Arc::downgrade(policy), ctx.clone()));
        Ok(ctx)
    }

    /// The core context under `policy` (`Policy::host_context`).
    fn build(&self, policy: &Policy) -> crm_agent::Result<UserContext> {
        let organization = OrganizationId::from(self.organization_id.clone());
        let grants = self.parsed_grants.iter().copied();
        let mut ctx = policy.host_context(self.user_id.clone(), organization, &self.role, grants, &self.roles)?;
        ctx.employee_id = self.employee_id.clone().map(EmployeeId::from);
        ctx.customer_id = self.customer_id.clone().map(CustomerId::from);
        ctx.display_name = self.display_name.clone();
        Ok(ctx)
    }

    /// A Python context from a core one (e.g. resolved from the store's members).
    pub(crate) fn from_core(ctx: &UserContext) -> Self {
        PyUserContext {
            user_id: ctx.user_id.clone(),
            organization_id: ctx.organization_id.to_string(),
            role: ctx.role.as_str().to_owned(),
            employee_id: ctx.employee_id.as_ref().map(|e| e.to_string()),
            customer_id: ctx.customer_id.as_ref().map(|c| c.to_string()),
            roles: Vec::new(),
            grants: ctx.grants.iter().map(|g| g.to_string()).collect(),
            display_name: ctx.display_name.clone(),
            parsed_grants: ctx.grants.clone(),
            resolved: Mutex::new(None),
        }
    }
}
