//! How each entity maps onto its table: the columns read, the values written by insert and
//! patch, its filters, and the ids it references.

use super::codec::{self, Row, SqlValue};
use super::query::{Reference, SortKey, SortOrder, TextSearch, Visibility, Where};
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;

/// A table holding one kind of entity.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) entity: &'static str,
    pub(crate) visibility: Visibility,
    pub(crate) columns: &'static str,
    pub(crate) id_prefix: &'static str,
}

type Values = Vec<(&'static str, SqlValue)>;

/// A patch field's new value, when it has one: an `Option<T>` (a field that cannot be cleared)
/// gives `T`, a [`Change<T>`] gives `Option<T>` (`None`: clear the column).
trait PatchField {
    type Value;
    fn given(self) -> Option<Self::Value>;
}

impl<T> PatchField for Option<T> {
    type Value = T;
    fn given(self) -> Option<T> {
        self
    }
}

impl<T> PatchField for Change<T> {
    type Value = Option<T>;
    fn given(self) -> Option<Option<T>> {
        self.into_update()
    }
}

/// Appends `column = f(value)` when a patch field is given.
fn set<F: PatchField>(values: &mut Values, column: &'static str, field: F, f: impl FnOnce(F::Value) -> SqlValue) {
    if let Some(v) = field.given() {
        values.push((column, f(v)));
    }
}

/// Like [`set`] for conversions that can fail (money).
fn try_set<F: PatchField>(
    values: &mut Values,
    column: &'static str,
    field: F,
    f: impl FnOnce(F::Value) -> Result<SqlValue>,
) -> Result<()> {
    if let Some(v) = field.given() {
        values.push((column, f(v)?));
    }
    Ok(())
}

pub(crate) fn table_ref<'a>(table: &Table, id: Option<&'a str>) -> Reference<'a> {
    Reference { table: table.name, entity: table.entity, visibility: table.visibility, id }
}

pub(crate) fn stage_ref(id: Option<&str>) -> Reference<'_> {
    Reference { table: "pipeline_stages", entity: "pipeline stage", visibility: Visibility::Shared, id }
}

// --- organizations -----------------------------------------------------------------------------

pub(crate) const ORGANIZATION_COLUMNS: &str =
    "id, name, slug, industry, website, settings, active, created_at, updated_at";

pub(crate) fn organization_from_row(r: &Row) -> Result<Organization> {
    Ok(Organization {
        id: r.id("id")?,
        name: r.text("name")?,
        slug: r.text("slug")?,
        industry: r.opt_text("industry")?,
        website: r.opt_text("website")?,
        settings: r.json("settings")?,
        active: r.boolean("active")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) const MEMBER_COLUMNS: &str =
    "organization_id, user_id, role, employee_id, customer_id, display_name, created_at";

pub(crate) fn member_from_row(r: &Row) -> Result<Member> {
    Ok(Member {
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        role: r.parse("role")?,
        employee_id: r.opt_id("employee_id")?,
        customer_id: r.opt_id("customer_id")?,
        display_name: r.text("display_name")?,
        created_at: r.ts("created_at")?,
    })
}

// --- roles -------------------------------------------------------------------------------------

pub(crate) const ROLES: Table = Table {
    name: "roles",
    entity: "role",
    visibility: Visibility::Internal,
    columns: "id, organization_id, name, description, grants, is_system, created_at, updated_at",
    id_prefix: "rol",
};

pub(crate) fn role_from_row(r: &Row) -> Result<RoleDefinition> {
    Ok(RoleDefinition {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        name: r.text("name")?,
        description: r.opt_text("description")?,
        grants: r.json("grants")?,
        is_system: r.boolean("is_system")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

// --- employees -----------------------------------------------------------------------------------

pub(crate) const EMPLOYEES: Table = Table {
    name: "employees",
    entity: "employee",
    visibility: Visibility::Internal,
    columns: "id, organization_id, user_id, first_name, last_name, email, phone, job_title, department, employment_type, \
              status, manager_id, hire_date, salary, commission_rate, emergency_contact, created_at, updated_at",
    id_prefix: "emp",
};

/// Reads an employee; `role_ids` are filled in separately from `employee_roles`.
pub(crate) fn employee_from_row(r: &Row) -> Result<Employee> {
    Ok(Employee {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.opt_text("user_id")?,
        first_name: r.text("first_name")?,
        last_name: r.text("last_name")?,
        email: r.text("email")?,
        phone: r.opt_text("phone")?,
        job_title: r.opt_text("job_title")?,
        department: r.opt_text("department")?,
        employment_type: r.parse("employment_type")?,
        status: r.parse("status")?,
        manager_id: r.opt_id("manager_id")?,
        role_ids: Vec::new(),
        hire_date: r.opt_date("hire_date")?,
        salary: r.opt_money("salary")?,
        commission_rate: r.opt_money("commission_rate")?,
        emergency_contact: r.opt_text("emergency_contact")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn employee_insert(new: &NewEmployee) -> Result<Values> {
    Ok(vec![
        ("user_id", new.user_id.clone().into()),
        ("first_name", (&new.first_name).into()),
        ("last_name", (&new.last_name).into()),
        ("email", (&new.email).into()),
        ("phone", new.phone.clone().into()),
        ("job_title", new.job_title.clone().into()),
        ("department", new.department.clone().into()),
        ("employment_type", codec::text(new.employment_type)),
        ("status", codec::text(new.status)),
        ("manager_id", codec::opt_text(new.manager_id.as_ref())),
        ("hire_date", codec::opt_date(new.hire_date)),
        ("salary", codec::opt_money(new.salary)?),
        ("commission_rate", codec::opt_money(new.commission_rate)?),
        ("emergency_contact", new.emergency_contact.clone().into()),
    ])
}

pub(crate) fn employee_patch(p: &EmployeePatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "user_id", p.user_id.clone(), SqlValue::from);
    set(&mut v, "first_name", p.first_name.clone(), SqlValue::from);
    set(&mut v, "last_name", p.last_name.clone(), SqlValue::from);
    set(&mut v, "email", p.email.clone(), SqlValue::from);
    set(&mut v, "phone", p.phone.clone(), SqlValue::from);
    set(&mut v, "job_title", p.job_title.clone(), SqlValue::from);
    set(&mut v, "department", p.department.clone(), SqlValue::from);
    set(&mut v, "employment_type", p.employment_type, codec::text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "manager_id", p.manager_id.clone(), codec::opt_text);
    set(&mut v, "hire_date", p.hire_date, codec::opt_date);
    try_set(&mut v, "salary", p.salary, codec::opt_money)?;
    try_set(&mut v, "commission_rate", p.commission_rate, codec::opt_money)?;
    set(&mut v, "emergency_contact", p.emergency_contact.clone(), SqlValue::from);
    Ok(v)
}

pub(crate) const EMPLOYEE_SEARCH: TextSearch =
    TextSearch { index: "employees_search", columns: &["first_name", "last_name", "email", "job_title"] };

pub(crate) fn employee_filter(w: &mut Where, f: &EmployeeFilter) {
    w.eq("status", f.status.map(codec::text));
    w.eq("department", f.department.as_deref());
    w.search(&EMPLOYEE_SEARCH, f.search.as_deref());
    w.created(EMPLOYEES.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
}

pub(crate) fn employee_order(f: &EmployeeFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        EmployeeSort::CreatedAt => None,
        EmployeeSort::LastName => Some(SortKey::text("last_name")),
        EmployeeSort::HireDate => Some(SortKey::text("hire_date").or_null()),
    })
}

pub(crate) fn employee_refs(manager: Option<&EmployeeId>) -> Vec<Reference<'_>> {
    vec![table_ref(&EMPLOYEES, manager.map(EmployeeId::as_str))]
}

// --- customers -----------------------------------------------------------------------------------

pub(crate) const CUSTOMERS: Table = Table {
    name: "customers",
    entity: "customer",
    visibility: Visibility::CustomerRecord,
    columns: "id, organization_id, name, customer_type, company_name, email, phone, address, city, state, postal_code, \
              country, industry, website, status, assigned_to, credit_limit, source, tags, notes, converted_from_lead, \
              user_id, custom_fields, created_at, updated_at",
    id_prefix: "cus",
};

pub(crate) fn customer_from_row(r: &Row) -> Result<Customer> {
    Ok(Customer {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        name: r.text("name")?,
        customer_type: r.parse("customer_type")?,
        company_name: r.opt_text("company_name")?,
        email: r.opt_text("email")?,
        phone: r.opt_text("phone")?,
        address: r.opt_text("address")?,
        city: r.opt_text("city")?,
        state: r.opt_text("state")?,
        postal_code: r.opt_text("postal_code")?,
        country: r.opt_text("country")?,
        industry: r.opt_text("industry")?,
        website: r.opt_text("website")?,
        status: r.parse("status")?,
        assigned_to: r.opt_id("assigned_to")?,
        credit_limit: r.opt_money("credit_limit")?,
        source: r.opt_text("source")?,
        tags: r.json("tags")?,
        notes: r.opt_text("notes")?,
        converted_from_lead: r.opt_id("converted_from_lead")?,
        user_id: r.opt_text("user_id")?,
        custom_fields: r.json("custom_fields")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn customer_insert(new: &NewCustomer) -> Result<Values> {
    Ok(vec![
        ("name", (&new.name).into()),
        ("customer_type", codec::text(new.customer_type)),
        ("company_name", new.company_name.clone().into()),
        ("email", new.email.clone().into()),
        ("phone", new.phone.clone().into()),
        ("address", new.address.clone().into()),
        ("city", new.city.clone().into()),
        ("state", new.state.clone().into()),
        ("postal_code", new.postal_code.clone().into()),
        ("country", new.country.clone().into()),
        ("industry", new.industry.clone().into()),
        ("website", new.website.clone().into()),
        ("status", codec::text(new.status)),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("credit_limit", codec::opt_money(new.credit_limit)?),
        ("source", new.source.clone().into()),
        ("tags", codec::json(&new.tags)?),
        ("notes", new.notes.clone().into()),
        ("converted_from_lead", codec::opt_text(new.converted_from_lead.as_ref())),
        ("user_id", new.user_id.clone().into()),
        ("custom_fields", codec::json(&new.custom_fields)?),
    ])
}

pub(crate) fn customer_patch(p: &CustomerPatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "name", p.name.clone(), SqlValue::from);
    set(&mut v, "customer_type", p.customer_type, codec::text);
    set(&mut v, "company_name", p.company_name.clone(), SqlValue::from);
    set(&mut v, "email", p.email.clone(), SqlValue::from);
    set(&mut v, "phone", p.phone.clone(), SqlValue::from);
    set(&mut v, "address", p.address.clone(), SqlValue::from);
    set(&mut v, "city", p.city.clone(), SqlValue::from);
    set(&mut v, "state", p.state.clone(), SqlValue::from);
    set(&mut v, "postal_code", p.postal_code.clone(), SqlValue::from);
    set(&mut v, "country", p.country.clone(), SqlValue::from);
    set(&mut v, "industry", p.industry.clone(), SqlValue::from);
    set(&mut v, "website", p.website.clone(), SqlValue::from);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    try_set(&mut v, "credit_limit", p.credit_limit, codec::opt_money)?;
    set(&mut v, "source", p.source.clone(), SqlValue::from);
    try_set(&mut v, "tags", p.tags.as_ref(), codec::json)?;
    set(&mut v, "notes", p.notes.clone(), SqlValue::from);
    set(&mut v, "user_id", p.user_id.clone(), SqlValue::from);
    try_set(&mut v, "custom_fields", p.custom_fields.as_ref(), codec::json)?;
    Ok(v)
}

pub(crate) const CUSTOMER_SEARCH: TextSearch =
    TextSearch { index: "customers_search", columns: &["name", "company_name", "email", "phone"] };

pub(crate) fn customer_filter(w: &mut Where, f: &CustomerFilter) -> Result<()> {
    w.eq("status", f.status.map(codec::text));
    w.eq("customer_type", f.customer_type.map(codec::text));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.search(&CUSTOMER_SEARCH, f.search.as_deref());
    w.created(CUSTOMERS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.custom_fields(&f.custom_fields)
}

pub(crate) fn customer_order(f: &CustomerFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        CustomerSort::CreatedAt => None,
        CustomerSort::UpdatedAt => Some(SortKey::int("updated_at")),
        CustomerSort::Name => Some(SortKey::text("name")),
    })
}

/// Counts what `f` lists from `customer_totals` when it filters on their groups only.
pub(crate) fn customer_totals(w: &mut Where, scope: &Scope, f: &CustomerFilter) {
    // Every field named, so a new filter cannot slip past this check.
    let CustomerFilter { status, customer_type, assigned_to, search, custom_fields, created, updated, sort: _ } = f;
    let others_unset =
        assigned_to.is_none() && search.is_none() && custom_fields.is_empty() && created.is_open() && updated.is_open();
    if scope.customer_id().is_none() && others_unset {
        w.count_from_totals("customer_totals", scope, |t| {
            t.eq("status", status.map(codec::text));
            t.eq("customer_type", customer_type.map(codec::text));
        });
    }
}

pub(crate) fn customer_refs<'a>(assigned_to: Option<&'a EmployeeId>, lead: Option<&'a LeadId>) -> Vec<Reference<'a>> {
    vec![table_ref(&EMPLOYEES, assigned_to.map(EmployeeId::as_str)), table_ref(&LEADS, lead.map(LeadId::as_str))]
}

// --- pipelines -------------------------------------------------------------------------------

pub(crate) const STAGE_COLUMNS: &str = "id, pipeline_id, name, position, probability, is_closed_won, is_closed_lost";

pub(crate) fn stage_from_row(r: &Row) -> Result<PipelineStage> {
    let id = r.id("id")?;
    let position = r.int("position")?;
    let position = i32::try_from(position)
        .map_err(|_| crate::Error::store(format!("stage {id} holds the position {position}, out of range")))?;
    Ok(PipelineStage {
        id,
        pipeline_id: r.id("pipeline_id")?,
        name: r.text("name")?,
        position,
        probability: r.small("probability")?,
        is_closed_won: r.boolean("is_closed_won")?,
        is_closed_lost: r.boolean("is_closed_lost")?,
    })
}

// --- leads -------------------------------------------------------------------------------------

pub(crate) const LEADS: Table = Table {
    name: "leads",
    entity: "lead",
    visibility: Visibility::Internal,
    columns: "id, organization_id, name, email, phone, company, job_title, source, qualification_status, score, \
              estimated_value, assigned_to, stage_id, notes, tags, converted, converted_at, converted_customer_id, \
              custom_fields, created_at, updated_at",
    id_prefix: "led",
};

pub(crate) fn lead_from_row(r: &Row) -> Result<Lead> {
    Ok(Lead {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        name: r.text("name")?,
        email: r.opt_text("email")?,
        phone: r.opt_text("phone")?,
        company: r.opt_text("company")?,
        job_title: r.opt_text("job_title")?,
        source: r.parse("source")?,
        qualification_status: r.parse("qualification_status")?,
        score: r.small("score")?,
        estimated_value: r.opt_money("estimated_value")?,
        assigned_to: r.opt_id("assigned_to")?,
        stage_id: r.opt_id("stage_id")?,
        notes: r.opt_text("notes")?,
        tags: r.json("tags")?,
        converted: r.boolean("converted")?,
        converted_at: r.opt_ts("converted_at")?,
        converted_customer_id: r.opt_id("converted_customer_id")?,
        custom_fields: r.json("custom_fields")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn lead_insert(new: &NewLead) -> Result<Values> {
    Ok(vec![
        ("name", (&new.name).into()),
        ("email", new.email.clone().into()),
        ("phone", new.phone.clone().into()),
        ("company", new.company.clone().into()),
        ("job_title", new.job_title.clone().into()),
        ("source", codec::text(new.source)),
        ("qualification_status", codec::text(new.qualification_status)),
        ("score", i64::from(new.score).into()),
        ("estimated_value", codec::opt_money(new.estimated_value)?),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("stage_id", codec::opt_text(new.stage_id.as_ref())),
        ("notes", new.notes.clone().into()),
        ("tags", codec::json(&new.tags)?),
        ("converted", false.into()),
        ("converted_at", SqlValue::Int(None)),
        ("converted_customer_id", SqlValue::Text(None)),
        ("custom_fields", codec::json(&new.custom_fields)?),
    ])
}

pub(crate) fn lead_patch(p: &LeadPatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "name", p.name.clone(), SqlValue::from);
    set(&mut v, "email", p.email.clone(), SqlValue::from);
    set(&mut v, "phone", p.phone.clone(), SqlValue::from);
    set(&mut v, "company", p.company.clone(), SqlValue::from);
    set(&mut v, "job_title", p.job_title.clone(), SqlValue::from);
    set(&mut v, "source", p.source, codec::text);
    set(&mut v, "qualification_status", p.qualification_status, codec::text);
    set(&mut v, "score", p.score, |s| i64::from(s).into());
    try_set(&mut v, "estimated_value", p.estimated_value, codec::opt_money)?;
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    set(&mut v, "stage_id", p.stage_id.clone(), codec::opt_text);
    set(&mut v, "notes", p.notes.clone(), SqlValue::from);
    try_set(&mut v, "tags", p.tags.as_ref(), codec::json)?;
    try_set(&mut v, "custom_fields", p.custom_fields.as_ref(), codec::json)?;
    Ok(v)
}

pub(crate) const LEAD_SEARCH: TextSearch = TextSearch { index: "leads_search", columns: &["name", "email", "company"] };

pub(crate) fn lead_filter(w: &mut Where, f: &LeadFilter) -> Result<()> {
    w.eq("qualification_status", f.qualification_status.map(codec::text));
    w.eq("source", f.source.map(codec::text));
    w.cmp("score", ">=", f.min_score.map(i64::from));
    w.cmp("score", "<=", f.max_score.map(i64::from));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.eq("stage_id", f.stage_id.as_ref().map(|s| s.as_str()));
    w.eq("converted", f.converted);
    w.search(&LEAD_SEARCH, f.search.as_deref());
    w.created(LEADS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.custom_fields(&f.custom_fields)
}

pub(crate) fn lead_order(f: &LeadFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        LeadSort::CreatedAt => None,
        LeadSort::UpdatedAt => Some(SortKey::int("updated_at")),
        LeadSort::Name => Some(SortKey::text("name")),
        LeadSort::Score => Some(SortKey::int("score")),
        LeadSort::EstimatedValue => Some(SortKey::int("estimated_value").or_null()),
    })
}

/// Counts what `f` lists from `lead_totals` when it filters on their groups only.
pub(crate) fn lead_totals(w: &mut Where, scope: &Scope, f: &LeadFilter) {
    let LeadFilter {
        qualification_status,
        source,
        min_score,
        max_score,
        assigned_to,
        stage_id,
        converted,
        search,
        custom_fields,
        created,
        updated,
        sort: _,
    } = f;
    let others_unset = created.is_open()
        && updated.is_open()
        && min_score.is_none()
        && max_score.is_none()
        && assigned_to.is_none()
        && stage_id.is_none()
        && search.is_none()
        && custom_fields.is_empty();
    if scope.customer_id().is_none() && others_unset {
        w.count_from_totals("lead_totals", scope, |t| {
            t.eq("qualification_status", qualification_status.map(codec::text));
            t.eq("source", source.map(codec::text));
            t.eq("converted", *converted);
        });
    }
}

pub(crate) fn lead_refs<'a>(assigned_to: Option<&'a EmployeeId>, stage: Option<&'a StageId>) -> Vec<Reference<'a>> {
    vec![table_ref(&EMPLOYEES, assigned_to.map(EmployeeId::as_str)), stage_ref(stage.map(StageId::as_str))]
}

pub(crate) const LEAD_HISTORY_COLUMNS: &str =
    "id, organization_id, lead_id, from_stage_id, to_stage_id, from_score, to_score, changed_by, note, changed_at";

pub(crate) fn lead_history_from_row(r: &Row) -> Result<LeadHistory> {
    Ok(LeadHistory {
        id: r.text("id")?,
        organization_id: r.id("organization_id")?,
        lead_id: r.id("lead_id")?,
        from_stage_id: r.opt_id("from_stage_id")?,
        to_stage_id: r.opt_id("to_stage_id")?,
        from_score: r.opt_small("from_score")?,
        to_score: r.opt_small("to_score")?,
        changed_by: r.text("changed_by")?,
        note: r.opt_text("note")?,
        changed_at: r.ts("changed_at")?,
    })
}

// --- deals -----------------------------------------------------------------------------------

pub(crate) const DEALS: Table = Table {
    name: "deals",
    entity: "deal",
    visibility: Visibility::Internal,
    columns: "id, organization_id, title, customer_id, lead_id, pipeline_id, stage_id, value, currency, probability, \
              expected_close_date, actual_close_date, priority, status, lost_reason, assigned_to, tags, notes, \
              custom_fields, created_at, updated_at",
    id_prefix: "dea",
};

pub(crate) fn deal_from_row(r: &Row) -> Result<Deal> {
    Ok(Deal {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        title: r.text("title")?,
        customer_id: r.opt_id("customer_id")?,
        lead_id: r.opt_id("lead_id")?,
        pipeline_id: r.id("pipeline_id")?,
        stage_id: r.id("stage_id")?,
        value: r.money("value")?,
        currency: r.text("currency")?,
        probability: r.small("probability")?,
        expected_close_date: r.opt_date("expected_close_date")?,
        actual_close_date: r.opt_date("actual_close_date")?,
        priority: r.parse("priority")?,
        status: r.parse("status")?,
        lost_reason: r.opt_text("lost_reason")?,
        assigned_to: r.opt_id("assigned_to")?,
        tags: r.json("tags")?,
        notes: r.opt_text("notes")?,
        custom_fields: r.json("custom_fields")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn deal_insert(new: &NewDeal) -> Result<Values> {
    Ok(vec![
        ("title", (&new.title).into()),
        ("customer_id", codec::opt_text(new.customer_id.as_ref())),
        ("lead_id", codec::opt_text(new.lead_id.as_ref())),
        ("pipeline_id", codec::text(&new.pipeline_id)),
        ("stage_id", codec::text(&new.stage_id)),
        ("value", codec::money(new.value)?),
        ("currency", (&new.currency).into()),
        ("probability", i64::from(new.probability).into()),
        ("expected_close_date", codec::opt_date(new.expected_close_date)),
        ("actual_close_date", codec::opt_date(new.actual_close_date)),
        ("priority", codec::text(new.priority)),
        ("status", codec::text(new.status)),
        ("lost_reason", new.lost_reason.clone().into()),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("tags", codec::json(&new.tags)?),
        ("notes", new.notes.clone().into()),
        ("custom_fields", codec::json(&new.custom_fields)?),
    ])
}

pub(crate) fn deal_patch(p: &DealPatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "title", p.title.clone(), SqlValue::from);
    set(&mut v, "customer_id", p.customer_id.clone(), codec::opt_text);
    set(&mut v, "lead_id", p.lead_id.clone(), codec::opt_text);
    set(&mut v, "pipeline_id", p.pipeline_id.clone(), codec::text);
    set(&mut v, "stage_id", p.stage_id.clone(), codec::text);
    try_set(&mut v, "value", p.value, codec::money)?;
    set(&mut v, "currency", p.currency.clone(), SqlValue::from);
    set(&mut v, "probability", p.probability, |s| i64::from(s).into());
    set(&mut v, "expected_close_date", p.expected_close_date, codec::opt_date);
    set(&mut v, "actual_close_date", p.actual_close_date, codec::opt_date);
    set(&mut v, "priority", p.priority, codec::text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "lost_reason", p.lost_reason.clone(), SqlValue::from);
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    try_set(&mut v, "tags", p.tags.as_ref(), codec::json)?;
    set(&mut v, "notes", p.notes.clone(), SqlValue::from);
    try_set(&mut v, "custom_fields", p.custom_fields.as_ref(), codec::json)?;
    Ok(v)
}

pub(crate) const DEAL_SEARCH: TextSearch = TextSearch { index: "deals_search", columns: &["title", "notes"] };

pub(crate) fn deal_filter(w: &mut Where, f: &DealFilter) -> Result<()> {
    w.eq("status", f.status.map(codec::text));
    w.eq("stage_id", f.stage_id.as_ref().map(|s| s.as_str()));
    w.eq("pipeline_id", f.pipeline_id.as_ref().map(|s| s.as_str()));
    w.eq("priority", f.priority.map(codec::text));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.cmp("value", ">=", f.min_value.map(codec::cents).transpose()?);
    w.cmp("value", "<=", f.max_value.map(codec::cents).transpose()?);
    w.search(&DEAL_SEARCH, f.search.as_deref());
    w.created(DEALS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.date_range("expected_close_date", &f.expected_close);
    w.date_range("actual_close_date", &f.closed);
    w.custom_fields(&f.custom_fields)
}

pub(crate) fn deal_order(f: &DealFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        DealSort::CreatedAt => None,
        DealSort::UpdatedAt => Some(SortKey::int("updated_at")),
        DealSort::Title => Some(SortKey::text("title")),
        DealSort::Value => Some(SortKey::int("value")),
        DealSort::Probability => Some(SortKey::int("probability")),
        DealSort::ExpectedCloseDate => Some(SortKey::text("expected_close_date").or_null()),
        DealSort::ActualCloseDate => Some(SortKey::text("actual_close_date").or_null()),
    })
}

/// Counts what `f` lists from `deal_totals` when it filters on their groups only.
pub(crate) fn deal_totals(w: &mut Where, scope: &Scope, f: &DealFilter) {
    let DealFilter {
        status,
        stage_id,
        pipeline_id,
        priority,
        assigned_to,
        customer_id,
        min_value,
        max_value,
        search,
        custom_fields,
        created,
        updated,
        expected_close,
        closed,
        sort: _,
    } = f;
    let others_unset = created.is_open()
        && updated.is_open()
        && expected_close.is_open()
        && closed.is_open()
        && pipeline_id.is_none()
        && priority.is_none()
        && assigned_to.is_none()
        && customer_id.is_none()
        && min_value.is_none()
        && max_value.is_none()
        && search.is_none()
        && custom_fields.is_empty();
    if scope.customer_id().is_none() && others_unset {
        w.count_from_totals("deal_totals", scope, |t| {
            t.eq("status", status.map(codec::text));
            t.eq("stage_id", stage_id.as_ref().map(|s| s.as_str()));
        });
    }
}

// --- issues ----------------------------------------------------------------------------------

pub(crate) const ISSUES: Table = Table {
    name: "issues",
    entity: "issue",
    visibility: Visibility::CustomerOwned,
    columns: "id, organization_id, number, title, description, priority, category, status, customer_id, order_id, \
              assigned_to, resolution_notes, resolved_at, resolved_by, custom_fields, created_at, updated_at",
    id_prefix: "iss",
};

pub(crate) fn issue_from_row(r: &Row) -> Result<Issue> {
    Ok(Issue {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        number: r.text("number")?,
        title: r.text("title")?,
        description: r.opt_text("description")?,
        priority: r.parse("priority")?,
        category: r.parse("category")?,
        status: r.parse("status")?,
        customer_id: r.opt_id("customer_id")?,
        order_id: r.opt_id("order_id")?,
        assigned_to: r.opt_id("assigned_to")?,
        resolution_notes: r.opt_text("resolution_notes")?,
        resolved_at: r.opt_ts("resolved_at")?,
        resolved_by: r.opt_text("resolved_by")?,
        custom_fields: r.json("custom_fields")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn issue_insert(new: &NewIssue) -> Result<Values> {
    Ok(vec![
        ("title", (&new.title).into()),
        ("description", new.description.clone().into()),
        ("priority", codec::text(new.priority)),
        ("category", codec::text(new.category)),
        ("status", codec::text(new.status)),
        ("customer_id", codec::opt_text(new.customer_id.as_ref())),
        ("order_id", codec::opt_text(new.order_id.as_ref())),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("resolution_notes", SqlValue::Text(None)),
        ("resolved_at", SqlValue::Int(None)),
        ("resolved_by", SqlValue::Text(None)),
        ("custom_fields", codec::json(&new.custom_fields)?),
    ])
}

pub(crate) fn issue_patch(p: &IssuePatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "title", p.title.clone(), SqlValue::from);
    set(&mut v, "description", p.description.clone(), SqlValue::from);
    set(&mut v, "priority", p.priority, codec::text);
    set(&mut v, "category", p.category, codec::text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "customer_id", p.customer_id.clone(), codec::opt_text);
    set(&mut v, "order_id", p.order_id.clone(), codec::opt_text);
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    set(&mut v, "resolution_notes", p.resolution_notes.clone(), SqlValue::from);
    set(&mut v, "resolved_at", p.resolved_at, codec::opt_ts);
    set(&mut v, "resolved_by", p.resolved_by.clone(), SqlValue::from);
    try_set(&mut v, "custom_fields", p.custom_fields.as_ref(), codec::json)?;
    Ok(v)
}

pub(crate) const ISSUE_SEARCH: TextSearch =
    TextSearch { index: "issues_search", columns: &["number", "title", "description"] };

pub(crate) fn issue_filter(w: &mut Where, f: &IssueFilter) -> Result<()> {
    w.eq("status", f.status.map(codec::text));
    w.eq("priority", f.priority.map(codec::text));
    w.eq("category", f.category.map(codec::text));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.eq("order_id", f.order_id.as_ref().map(|o| o.as_str()));
    w.search(&ISSUE_SEARCH, f.search.as_deref());
    w.created(ISSUES.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.time_range("resolved_at", &f.resolved);
    w.custom_fields(&f.custom_fields)
}

pub(crate) fn issue_order(f: &IssueFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        IssueSort::CreatedAt => None,
        IssueSort::UpdatedAt => Some(SortKey::int("updated_at")),
        IssueSort::ResolvedAt => Some(SortKey::int("resolved_at").or_null()),
    })
}

pub(crate) fn issue_refs<'a>(
    customer: Option<&'a CustomerId>,
    order: Option<&'a OrderId>,
    assigned_to: Option<&'a EmployeeId>,
) -> Vec<Reference<'a>> {
    vec![
        table_ref(&CUSTOMERS, customer.map(CustomerId::as_str)),
        table_ref(&ORDERS, order.map(OrderId::as_str)),
        table_ref(&EMPLOYEES, assigned_to.map(EmployeeId::as_str)),
    ]
}

pub(crate) const COMMENTS: Table = Table {
    name: "issue_comments",
    entity: "issue comment",
    visibility: Visibility::IssueComment,
    columns: "id, organization_id, issue_id, author_user_id, author_name, body, internal, created_at",
    id_prefix: "com",
};

pub(crate) fn comment_from_row(r: &Row) -> Result<IssueComment> {
    Ok(IssueComment {
        id: r.text("id")?,
        organization_id: r.id("organization_id")?,
        issue_id: r.id("issue_id")?,
        author_user_id: r.text("author_user_id")?,
        author_name: r.text("author_name")?,
        body: r.text("body")?,
        internal: r.boolean("internal")?,
        created_at: r.ts("created_at")?,
    })
}

// --- orders and payments -----------------------------------------------------------------------

pub(crate) const ORDERS: Table = Table {
    name: "orders",
    entity: "order",
    visibility: Visibility::CustomerOwned,
    columns: "id, organization_id, number, customer_id, order_type, status, currency, subtotal, tax, total, order_date, \
              due_date, notes, created_at, updated_at",
    id_prefix: "ord",
};

/// Reads an order; `items` are filled in separately.
pub(crate) fn order_from_row(r: &Row) -> Result<Order> {
    Ok(Order {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        number: r.text("number")?,
        customer_id: r.id("customer_id")?,
        order_type: r.parse("order_type")?,
        status: r.parse("status")?,
        currency: r.text("currency")?,
        subtotal: r.money("subtotal")?,
        tax: r.money("tax")?,
        total: r.money("total")?,
        order_date: r.date("order_date")?,
        due_date: r.opt_date("due_date")?,
        notes: r.opt_text("notes")?,
        items: Vec::new(),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) const ORDER_ITEM_COLUMNS: &str = "id, product, sku, quantity, unit_price, total";

pub(crate) fn order_item_from_row(r: &Row) -> Result<OrderItem> {
    Ok(OrderItem {
        id: r.text("id")?,
        product: r.text("product")?,
        sku: r.opt_text("sku")?,
        quantity: r.opt_u32("quantity")?.unwrap_or(0),
        unit_price: r.money("unit_price")?,
        total: r.money("total")?,
    })
}

pub(crate) const ORDER_SEARCH: TextSearch = TextSearch { index: "orders_search", columns: &["number", "notes"] };

pub(crate) fn order_filter(w: &mut Where, f: &OrderFilter) {
    w.eq("status", f.status.map(codec::text));
    w.eq("order_type", f.order_type.map(codec::text));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.search(&ORDER_SEARCH, f.search.as_deref());
    w.created(ORDERS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.date_range("order_date", &f.ordered);
}

pub(crate) fn order_order(f: &OrderFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        OrderSort::CreatedAt => None,
        OrderSort::UpdatedAt => Some(SortKey::int("updated_at")),
        OrderSort::OrderDate => Some(SortKey::text("order_date")),
        OrderSort::Total => Some(SortKey::int("total")),
    })
}

pub(crate) const PAYMENTS: Table = Table {
    name: "payments",
    entity: "payment",
    visibility: Visibility::CustomerOwned,
    columns: "id, organization_id, number, order_id, customer_id, amount, currency, method, payment_type, status, \
              payment_date, reference, notes, created_at, updated_at",
    id_prefix: "pay",
};

pub(crate) fn payment_from_row(r: &Row) -> Result<Payment> {
    Ok(Payment {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        number: r.text("number")?,
        order_id: r.opt_id("order_id")?,
        customer_id: r.id("customer_id")?,
        amount: r.money("amount")?,
        currency: r.text("currency")?,
        method: r.parse("method")?,
        payment_type: r.parse("payment_type")?,
        status: r.parse("status")?,
        payment_date: r.opt_date("payment_date")?,
        reference: r.opt_text("reference")?,
        notes: r.opt_text("notes")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn payment_insert(new: &NewPayment) -> Result<Values> {
    Ok(vec![
        ("order_id", codec::opt_text(new.order_id.as_ref())),
        ("customer_id", codec::text(&new.customer_id)),
        ("amount", codec::money(new.amount)?),
        ("currency", (&new.currency).into()),
        ("method", codec::text(new.method)),
        ("payment_type", codec::text(new.payment_type)),
        ("status", codec::text(new.status)),
        ("payment_date", codec::opt_date(new.payment_date)),
        ("reference", new.reference.clone().into()),
        ("notes", new.notes.clone().into()),
    ])
}

pub(crate) fn payment_filter(w: &mut Where, f: &PaymentFilter) {
    w.eq("status", f.status.map(codec::text));
    w.eq("method", f.method.map(codec::text));
    w.eq("payment_type", f.payment_type.map(codec::text));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.eq("order_id", f.order_id.as_ref().map(|o| o.as_str()));
    w.created(PAYMENTS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.date_range("payment_date", &f.paid);
}

pub(crate) fn payment_order(f: &PaymentFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        PaymentSort::CreatedAt => None,
        PaymentSort::PaymentDate => Some(SortKey::text("payment_date").or_null()),
        PaymentSort::Amount => Some(SortKey::int("amount")),
    })
}

// --- activities --------------------------------------------------------------------------------

pub(crate) const ACTIVITIES: Table = Table {
    name: "activities",
    entity: "activity",
    visibility: Visibility::Internal,
    columns: "id, organization_id, activity_type, title, description, customer_id, lead_id, deal_id, status, \
              scheduled_at, completed_at, assigned_to, duration_minutes, outcome, location, email_subject, due_date, \
              created_by, created_at, updated_at",
    id_prefix: "act",
};

pub(crate) fn activity_from_row(r: &Row) -> Result<Activity> {
    Ok(Activity {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        activity_type: r.parse("activity_type")?,
        title: r.text("title")?,
        description: r.opt_text("description")?,
        customer_id: r.opt_id("customer_id")?,
        lead_id: r.opt_id("lead_id")?,
        deal_id: r.opt_id("deal_id")?,
        status: r.parse("status")?,
        scheduled_at: r.opt_ts("scheduled_at")?,
        completed_at: r.opt_ts("completed_at")?,
        assigned_to: r.opt_id("assigned_to")?,
        duration_minutes: r.opt_u32("duration_minutes")?,
        outcome: r.opt_text("outcome")?,
        location: r.opt_text("location")?,
        email_subject: r.opt_text("email_subject")?,
        due_date: r.opt_date("due_date")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn activity_insert(new: &NewActivity) -> Values {
    vec![
        ("activity_type", codec::text(new.activity_type)),
        ("title", (&new.title).into()),
        ("description", new.description.clone().into()),
        ("customer_id", codec::opt_text(new.customer_id.as_ref())),
        ("lead_id", codec::opt_text(new.lead_id.as_ref())),
        ("deal_id", codec::opt_text(new.deal_id.as_ref())),
        ("status", codec::text(new.status)),
        ("scheduled_at", codec::opt_ts(new.scheduled_at)),
        ("completed_at", codec::opt_ts(new.completed_at)),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("duration_minutes", SqlValue::Int(new.duration_minutes.map(i64::from))),
        ("outcome", new.outcome.clone().into()),
        ("location", new.location.clone().into()),
        ("email_subject", new.email_subject.clone().into()),
        ("due_date", codec::opt_date(new.due_date)),
        ("created_by", new.created_by.clone().into()),
    ]
}

pub(crate) fn activity_patch(p: &ActivityPatch) -> Values {
    let mut v = Values::new();
    set(&mut v, "activity_type", p.activity_type, codec::text);
    set(&mut v, "title", p.title.clone(), SqlValue::from);
    set(&mut v, "description", p.description.clone(), SqlValue::from);
    set(&mut v, "customer_id", p.customer_id.clone(), codec::opt_text);
    set(&mut v, "lead_id", p.lead_id.clone(), codec::opt_text);
    set(&mut v, "deal_id", p.deal_id.clone(), codec::opt_text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "scheduled_at", p.scheduled_at, codec::opt_ts);
    set(&mut v, "completed_at", p.completed_at, codec::opt_ts);
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    set(&mut v, "duration_minutes", p.duration_minutes, |d| SqlValue::Int(d.map(i64::from)));
    set(&mut v, "outcome", p.outcome.clone(), SqlValue::from);
    set(&mut v, "location", p.location.clone(), SqlValue::from);
    set(&mut v, "email_subject", p.email_subject.clone(), SqlValue::from);
    set(&mut v, "due_date", p.due_date, codec::opt_date);
    v
}

pub(crate) const ACTIVITY_SEARCH: TextSearch =
    TextSearch { index: "activities_search", columns: &["title", "description"] };

/// Every table's search, with its SQLite index.
#[cfg(feature = "sqlite")]
pub(crate) const SEARCHES: [&TextSearch; 7] =
    [&EMPLOYEE_SEARCH, &CUSTOMER_SEARCH, &LEAD_SEARCH, &DEAL_SEARCH, &ISSUE_SEARCH, &ORDER_SEARCH, &ACTIVITY_SEARCH];

pub(crate) fn activity_filter(w: &mut Where, f: &ActivityFilter) {
    w.eq("activity_type", f.activity_type.map(codec::text));
    w.eq("status", f.status.map(codec::text));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.eq("lead_id", f.lead_id.as_ref().map(|l| l.as_str()));
    w.eq("deal_id", f.deal_id.as_ref().map(|d| d.as_str()));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.search(&ACTIVITY_SEARCH, f.search.as_deref());
    w.created(ACTIVITIES.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.time_range("scheduled_at", &f.scheduled);
    w.date_range("due_date", &f.due);
    if let Some(overdue) = &f.overdue {
        w.push(
            "status NOT IN ('completed', 'cancelled') AND (due_date < ? OR scheduled_at < ?)",
            [codec::date(overdue.today), codec::ts(overdue.now)],
        );
    }
}

pub(crate) fn activity_order(f: &ActivityFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        ActivitySort::CreatedAt => None,
        ActivitySort::UpdatedAt => Some(SortKey::int("updated_at")),
        ActivitySort::ScheduledAt => Some(SortKey::int("scheduled_at").or_null()),
        ActivitySort::DueDate => Some(SortKey::text("due_date").or_null()),
        ActivitySort::CompletedAt => Some(SortKey::int("completed_at").or_null()),
    })
}

pub(crate) fn activity_refs<'a>(
    customer: Option<&'a CustomerId>,
    lead: Option<&'a LeadId>,
    deal: Option<&'a DealId>,
    assigned_to: Option<&'a EmployeeId>,
) -> Vec<Reference<'a>> {
    vec![
        table_ref(&CUSTOMERS, customer.map(CustomerId::as_str)),
        table_ref(&LEADS, lead.map(LeadId::as_str)),
        table_ref(&DEALS, deal.map(DealId::as_str)),
        table_ref(&EMPLOYEES, assigned_to.map(EmployeeId::as_str)),
    ]
}

// --- audit -------------------------------------------------------------------------------------

pub(crate) const AUDIT: Table = Table {
    name: "audit_events",
    entity: "audit event",
    visibility: Visibility::Internal,
    columns: "id, organization_id, user_id, action, outcome, error_kind, duration_us, arguments, record_type, \
              record_id, changes, at",
    id_prefix: "aud",
};

pub(crate) fn audit_from_row(r: &Row) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.text("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        action: r.text("action")?,
        outcome: r.parse("outcome")?,
        error_kind: r.opt_text("error_kind")?,
        duration_us: u64::try_from(r.int("duration_us")?).unwrap_or(0),
        arguments: r.json("arguments")?,
        record_type: r.opt_text("record_type")?,
        record_id: r.opt_text("record_id")?,
        changes: r.opt_json("changes")?.unwrap_or_default(),
        at: r.ts("at")?,
    })
}

pub(crate) fn audit_filter(w: &mut Where, f: &AuditFilter) {
    w.eq("user_id", f.user_id.as_deref());
    w.eq("action", f.action.as_deref());
    w.eq("outcome", f.outcome.map(codec::text));
    w.eq("record_id", f.record_id.as_deref());
}

// --- the assistant -----------------------------------------------------------------------------
//
// Rows of one user: every query adds `user_id = ?` (messages go through their conversation).

pub(crate) const CONVERSATIONS: Table = Table {
    name: "conversations",
    entity: "conversation",
    visibility: Visibility::UserOwned,
    columns: "id, organization_id, user_id, title, message_count, created_at, updated_at",
    id_prefix: "cnv",
};

pub(crate) fn conversation_from_row(r: &Row) -> Result<Conversation> {
    Ok(Conversation {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        title: r.text("title")?,
        message_count: r.count("message_count")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) const MESSAGES: Table = Table {
    name: "messages",
    entity: "message",
    visibility: Visibility::UserOwned,
    columns: "id, conversation_id, role, parts, created_at",
    id_prefix: "msg",
};

pub(crate) fn message_from_row(r: &Row) -> Result<Message> {
    Ok(Message {
        id: r.id("id")?,
        conversation_id: r.id("conversation_id")?,
        role: r.parse("role")?,
        parts: r.json("parts")?,
        created_at: r.ts("created_at")?,
    })
}

pub(crate) const PENDING_ACTIONS: Table = Table {
    name: "pending_actions",
    entity: "pending action",
    visibility: Visibility::UserOwned,
    columns: "id, organization_id, user_id, conversation_id, tool, arguments, summary, status, outcome, created_at, \
              expires_at, decided_at",
    id_prefix: "pac",
};

pub(crate) fn pending_action_from_row(r: &Row) -> Result<PendingAction> {
    let now = chrono::Utc::now();
    let expires_at = r.ts("expires_at")?;
    let decided_at = r.opt_ts("decided_at")?;
    let mut outcome = r.opt_json("outcome")?;
    let status = match r.parse("status")? {
        ActionStatus::Pending if expires_at <= now => ActionStatus::Expired,
        ActionStatus::Executing if decided_at.is_some_and(|at| at + ACTION_RUN_LIMIT <= now) => {
            outcome = Some(interrupted_outcome());
            ActionStatus::Failed
        }
        status => status,
    };
    Ok(PendingAction {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        conversation_id: r.opt_id("conversation_id")?,
        tool: r.text("tool")?,
        arguments: r.json("arguments")?,
        summary: r.text("summary")?,
        status,
        outcome,
        created_at: r.ts("created_at")?,
        expires_at,
        decided_at,
    })
}

/// Expiry is read, not written: a pending action past `expires_at` is `expired`. So is the end
/// of a run cut off: an action `executing` for [`ACTION_RUN_LIMIT`] is `failed`.
pub(crate) fn pending_action_filter(w: &mut Where, f: &PendingActionFilter) {
    w.eq("conversation_id", f.conversation_id.as_ref().map(|c| c.as_str()));
    let now = chrono::Utc::now();
    let cut_off = codec::ts(now - ACTION_RUN_LIMIT);
    let now = codec::ts(now);
    match f.status {
        Some(ActionStatus::Pending) => w.push("status = 'pending' AND expires_at > ?", [now]),
        Some(ActionStatus::Expired) => w.push("status = 'pending' AND expires_at <= ?", [now]),
        Some(ActionStatus::Executing) => w.push("status = 'executing' AND decided_at > ?", [cut_off]),
        Some(ActionStatus::Failed) => {
            w.push("(status = 'failed' OR (status = 'executing' AND decided_at <= ?))", [cut_off])
        }
        status => w.eq("status", status.map(codec::text)),
    }
}

// --- API tokens --------------------------------------------------------------------------------
//
// Rows of one user, like the assistant's. `secret_hash` is written and matched but never read
// back: it is not in `columns`, and the domain type has no field for it.

pub(crate) const API_TOKENS: Table = Table {
    name: "api_tokens",
    entity: "API token",
    visibility: Visibility::UserOwned,
    columns: "id, organization_id, user_id, name, prefix, created_at, expires_at, revoked_at, limits",
    id_prefix: "tok",
};

pub(crate) fn api_token_from_row(r: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        created_at: r.ts("created_at")?,
        expires_at: r.opt_ts("expires_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
        limits: r.opt_json("limits")?.unwrap_or_default(),
    })
}
