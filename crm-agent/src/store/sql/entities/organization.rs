//! Organizations, their members and their roles: the columns read and how a row becomes each.

use super::Table;
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::Row;
use crate::store::sql::query::Visibility;

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
