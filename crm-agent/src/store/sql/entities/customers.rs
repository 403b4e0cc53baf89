//! Customers: their table, columns, insert and patch values, filter, sort order, counts read from
//! `customer_totals`, and references.

use super::employees::EMPLOYEES;
use super::leads::LEADS;
use super::{Table, Values, set, table_ref, try_set};
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;
use crate::store::sql::codec::{self, Row, SqlValue};
use crate::store::sql::query::{Reference, SortKey, SortOrder, TextSearch, Visibility, Where};

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
