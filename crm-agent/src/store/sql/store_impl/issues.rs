//! Issues and their comments in the SQL store.

use chrono::Datelike;

use super::shared::*;
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;
use crate::store::sql::SqlStore;
use crate::store::sql::codec::{self, SqlValue};
use crate::store::sql::entities as e;
use crate::store::sql::query::SortOrder;

pub(super) async fn list_issues(
    store: &SqlStore,
    scope: &Scope,
    filter: &IssueFilter,
    page: &PageRequest,
) -> Result<Page<Issue>> {
    let mut w = store.filter(scope, &e::ISSUES);
    e::issue_filter(&mut w, filter)?;
    store.list_of(&e::ISSUES, w, page, e::issue_order(filter), e::issue_from_row).await
}

pub(super) async fn get_issue(store: &SqlStore, scope: &Scope, id: &IssueId) -> Result<Issue> {
    store.get_of(&e::ISSUES, scope, id.as_str(), e::issue_from_row).await
}

pub(super) async fn create_issue(store: &SqlStore, scope: &Scope, new: NewIssue) -> Result<Issue> {
    new.validate()?;
    require_own_customer(scope, new.customer_id.as_ref())?;
    let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::issue_refs(new.customer_id.as_ref(), new.order_id.as_ref(), new.assigned_to.as_ref()))
        .await?;
    tx.order_belongs_to(scope, new.order_id.as_ref(), new.customer_id.as_ref()).await?;
    let year = created_at.year();
    let number = NumberKind::Issue.format(year, tx.next_number(scope, NumberKind::Issue.prefix(), year).await?);
    let mut values = e::issue_insert(&new)?;
    values.push(("number", number.into()));
    let id = tx.insert_entity(&e::ISSUES, scope, values, Some(created_at), true).await?;
    let row = tx.read_entity(&e::ISSUES, scope, &id).await?;
    tx.commit().await?;
    e::issue_from_row(&row)
}

pub(super) async fn update_issue(store: &SqlStore, scope: &Scope, id: &IssueId, patch: IssuePatch) -> Result<Issue> {
    // Customers raise issues and comment on them; changing one is staff work.
    require_organization_scope(scope, "change issues")?;
    patch.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::issue_refs(patch.customer_id.value(), patch.order_id.value(), patch.assigned_to.value()))
        .await?;
    let issue = e::issue_from_row(&tx.update_entity(&e::ISSUES, scope, id.as_str(), e::issue_patch(&patch)?).await?)?;
    // Checked on the result, so changing either side alone cannot mismatch them.
    tx.order_belongs_to(scope, issue.order_id.as_ref(), issue.customer_id.as_ref()).await?;
    tx.commit().await?;
    Ok(issue)
}

pub(super) async fn add_issue_comment(store: &SqlStore, scope: &Scope, new: NewIssueComment) -> Result<IssueComment> {
    new.validate()?;
    if new.internal {
        require_organization_scope(scope, "write internal comments")?;
    }
    let mut tx = store.begin().await?;
    tx.ensure_visible(scope, &e::table_ref(&e::ISSUES, Some(new.issue_id.as_str()))).await?;
    let values = vec![
        ("issue_id", new.issue_id.as_str().into()),
        ("author_user_id", new.author_user_id.as_str().into()),
        ("author_name", new.author_name.as_str().into()),
        ("body", new.body.as_str().into()),
        ("internal", new.internal.into()),
    ];
    let id = tx.insert_entity(&e::COMMENTS, scope, values, None, false).await?;
    let row = tx.read_entity(&e::COMMENTS, scope, &id).await?;
    tx.commit().await?;
    e::comment_from_row(&row)
}

pub(super) async fn list_issue_comments(
    store: &SqlStore,
    scope: &Scope,
    issue: &IssueId,
    include_internal: bool,
    page: &PageRequest,
) -> Result<Page<IssueComment>> {
    store.row_by_id(e::ISSUES.name, "id", e::ISSUES.entity, scope, e::ISSUES.visibility, issue.as_str()).await?;
    let mut w = store.filter(scope, &e::COMMENTS);
    w.push("issue_id = ?", [SqlValue::from(issue.as_str())]);
    // Internal comments never reach a customer scope, whatever the caller asked for.
    if !include_internal || scope.is_customer() {
        w.push("internal = ?", [SqlValue::from(false)]);
    }
    store.list_of(&e::COMMENTS, w, page, SortOrder::OLDEST_FIRST, e::comment_from_row).await
}

pub(super) async fn issue_stats(store: &SqlStore, scope: &Scope) -> Result<IssueStats> {
    store.sql_issue_stats(scope).await
}
