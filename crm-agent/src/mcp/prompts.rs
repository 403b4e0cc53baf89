//! MCP prompts: a few curated starting points (a pipeline review, a customer briefing, an issue
//! triage) that clients show as slash commands. A prompt is text for the client's model: it
//! names the tools to use and what to report, and the model then calls them through
//! `tools/call`, with the user's permissions, like any other call. A prompt is listed to a user
//! only when they may use every tool it relies on.
//!
//! Arguments complete as the user types: fixed values (a priority) from their list, records
//! (a customer, an employee) from the matching list tool's text search, run as the user.

use chrono::{Datelike, Months, NaiveDate, Utc};
use rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value, json};

use crate::context::UserContext;
use crate::domain::{IssueCategory, Priority};
use crate::error::{Error, Result};
use crate::tools::ToolRegistry;

/// Today in the organization's time zone: the day the prompts' periods and "overdue" count from,
/// as the date filters of the tools read days in that zone.
pub(super) struct Today {
    pub(super) day: NaiveDate,
    pub(super) zone: chrono_tz::Tz,
}

impl Today {
    /// Now, in `zone`.
    pub(super) fn in_zone(zone: chrono_tz::Tz) -> Today {
        Today { day: Utc::now().with_timezone(&zone).date_naive(), zone }
    }
}

impl std::fmt::Display for Today {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "today is {} in the organization's time zone, {}", self.day, self.zone)
    }
}

/// Longest argument value taken into a prompt.
const MAX_ARGUMENT_CHARS: usize = 200;

/// Most completion values answered at once.
pub(super) const MAX_COMPLETIONS: usize = 10;

/// One prompt.
struct PromptSpec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    arguments: &'static [ArgumentSpec],
    /// Listed only to users who may use all of these.
    tools: &'static [&'static str],
    /// The instructions, from the checked arguments (absent optional ones left out).
    text: fn(&Map<String, Value>, &Today) -> String,
}

struct ArgumentSpec {
    name: &'static str,
    description: &'static str,
    required: bool,
    values: Values,
}

/// What an argument takes, and so how it completes.
#[derive(Clone, Copy)]
pub(super) enum Values {
    /// One of these (and nothing else).
    OneOf(fn() -> Vec<&'static str>),
    /// Any text; records of the list tool `tool` whose text matches complete it, shown by
    /// `label`.
    Record { tool: &'static str, label: fn(&Value) -> Option<String> },
}

const PERIODS: [&str; 5] = ["this_month", "next_month", "this_quarter", "next_quarter", "this_year"];

static PROMPTS: [PromptSpec; 3] = [
    PromptSpec {
        name: "pipeline_review",
        title: "Pipeline review",
        description: "Review the open sales pipeline for a period: value per stage and currency, the largest deals \
                      closing, deals past their expected close date, and what needs attention.",
        arguments: &[
            ArgumentSpec {
                name: "period",
                description: "The period whose expected closings are reviewed (default: this_month).",
                required: false,
                values: Values::OneOf(|| PERIODS.to_vec()),
            },
            ArgumentSpec {
                name: "owner",
                description: "Only deals assigned to this employee (a name or an id).",
                required: false,
                values: Values::Record { tool: "list_employees", label: employee_name },
            },
        ],
        tools: &["list_deals", "aggregate_records"],
        text: pipeline_review,
    },
    PromptSpec {
        name: "customer_briefing",
        title: "Customer briefing",
        description: "Brief me on one customer: who they are, their open deals and issues, recent orders and \
                      payments, and upcoming or overdue activities.",
        arguments: &[ArgumentSpec {
            name: "customer",
            description: "The customer: a name or an id.",
            required: true,
            values: Values::Record { tool: "list_customers", label: record_name },
        }],
        tools: &["list_customers", "get_customer"],
        text: customer_briefing,
    },
    PromptSpec {
        name: "issue_triage",
        title: "Issue triage",
        description: "Triage the open support issues: what is urgent, unassigned or waiting too long, and the next \
                      step for each, proposed for the user to confirm.",
        arguments: &[
            ArgumentSpec {
                name: "priority",
                description: "Only issues of this priority.",
                required: false,
                values: Values::OneOf(|| Priority::ALL.iter().map(|p| p.as_str()).collect()),
            },
            ArgumentSpec {
                name: "category",
                description: "Only issues in this category.",
                required: false,
                values: Values::OneOf(|| IssueCategory::ALL.iter().map(|c| c.as_str()).collect()),
            },
        ],
        tools: &["list_issues"],
        text: issue_triage,
    },
];

fn record_name(record: &Value) -> Option<String> {
    record.get("name").and_then(Value::as_str).map(str::to_owned)
}

fn employee_name(record: &Value) -> Option<String> {
    let part = |key| record.get(key).and_then(Value::as_str).unwrap_or_default();
    let name = format!("{} {}", part("first_name"), part("last_name"));
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The prompts `user` may use, in name order.
pub(super) fn listed(registry: &ToolRegistry, user: &UserContext) -> Vec<Prompt> {
    let mut prompts: Vec<Prompt> = PROMPTS
        .iter()
        .filter(|p| may_use(registry, user, p))
        .map(|p| {
            let arguments = p
                .arguments
                .iter()
                .map(|a| PromptArgument::new(a.name).with_description(a.description).with_required(a.required))
                .collect();
            Prompt::new(p.name, Some(p.description), Some(arguments)).with_title(p.title)
        })
        .collect();
    prompts.sort_by(|a, b| a.name.cmp(&b.name));
    prompts
}

fn may_use(registry: &ToolRegistry, user: &UserContext, prompt: &PromptSpec) -> bool {
    let usable = registry.list(user);
    prompt.tools.iter().all(|name| usable.iter().any(|t| t.name() == *name))
}

/// The prompt `name` for `user`, its `arguments` checked.
pub(super) fn get(
    registry: &ToolRegistry,
    user: &UserContext,
    name: &str,
    arguments: Option<&Map<String, Value>>,
    today: &Today,
) -> Result<GetPromptResult> {
    let prompt = find(registry, user, name)?;
    let empty = Map::new();
    let given = arguments.unwrap_or(&empty);
    if let Some(unknown) = given.keys().find(|k| !prompt.arguments.iter().any(|a| a.name == k.as_str())) {
        let known: Vec<&str> = prompt.arguments.iter().map(|a| a.name).collect();
        return Err(Error::invalid(format!(
            "prompt `{name}` has no argument `{unknown}`; its arguments: {}",
            known.join(", ")
        )));
    }
    let mut checked = Map::new();
    for argument in prompt.arguments {
        let value = match given.get(argument.name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.trim()).filter(|t| !t.is_empty()),
            Some(_) => return Err(Error::invalid(format!("argument `{}` must be a string", argument.name))),
        };
        let Some(value) = value else {
            if argument.required {
                return Err(Error::invalid(format!("prompt `{name}` needs the argument `{}`", argument.name)));
            }
            continue;
        };
        if value.chars().count() > MAX_ARGUMENT_CHARS {
            return Err(Error::invalid(format!(
                "argument `{}` is longer than {MAX_ARGUMENT_CHARS} characters",
                argument.name
            )));
        }
        if let Values::OneOf(allowed) = argument.values
            && !allowed().contains(&value)
        {
            return Err(Error::invalid(format!(
                "argument `{}` must be one of: {}",
                argument.name,
                allowed().join(", ")
            )));
        }
        checked.insert(argument.name.to_owned(), Value::String(value.to_owned()));
    }
    let text = (prompt.text)(&checked, today);
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).with_description(prompt.description))
}

/// What argument `argument` of prompt `name` takes.
pub(super) fn values_of(registry: &ToolRegistry, user: &UserContext, name: &str, argument: &str) -> Result<Values> {
    let prompt = find(registry, user, name)?;
    prompt
        .arguments
        .iter()
        .find(|a| a.name == argument)
        .map(|a| a.values)
        .ok_or_else(|| Error::invalid(format!("prompt `{name}` has no argument `{argument}`")))
}

/// Up to [`MAX_COMPLETIONS`] values of `values` that complete `typed`, and how many there are
/// in all (`None` when unknown).
pub(super) async fn complete(
    registry: &ToolRegistry,
    user: &UserContext,
    values: Values,
    typed: &str,
) -> Result<(Vec<String>, Option<u64>)> {
    match values {
        Values::OneOf(allowed) => {
            let typed = typed.to_lowercase();
            let matching: Vec<String> =
                allowed().into_iter().filter(|v| v.starts_with(&typed)).map(str::to_owned).collect();
            let total = matching.len() as u64;
            Ok((matching.into_iter().take(MAX_COMPLETIONS).collect(), Some(total)))
        }
        Values::Record { tool, label } => {
            let mut args = json!({ "limit": MAX_COMPLETIONS });
            let typed = typed.trim();
            if !typed.is_empty() {
                args["search"] = json!(typed.chars().take(MAX_ARGUMENT_CHARS).collect::<String>());
            }
            let page = registry.call(user, tool, args).await?;
            let items = page.get("items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let labels = items.iter().filter_map(label).collect();
            Ok((labels, page.get("total").and_then(Value::as_u64)))
        }
    }
}

fn find(registry: &ToolRegistry, user: &UserContext, name: &str) -> Result<&'static PromptSpec> {
    let prompt = PROMPTS.iter().find(|p| p.name == name).ok_or_else(|| {
        let known: Vec<&str> = PROMPTS.iter().map(|p| p.name).collect();
        Error::invalid(format!("there is no prompt `{name}`; the prompts: {}", known.join(", ")))
    })?;
    if !may_use(registry, user, prompt) {
        return Err(Error::PermissionDenied(format!(
            "prompt `{name}` relies on tools you may not use ({})",
            prompt.tools.join(", ")
        )));
    }
    Ok(prompt)
}

fn argument<'a>(arguments: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    arguments.get(name).and_then(Value::as_str)
}

/// The first and last day of `period` around `today`.
fn period_days(period: &str, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let month_start = today.with_day(1).unwrap_or(today);
    let quarter_start = month_start.with_month0(month_start.month0() / 3 * 3).unwrap_or(month_start);
    let (start, months) = match period {
        "next_month" => (month_start + Months::new(1), 1),
        "this_quarter" => (quarter_start, 3),
        "next_quarter" => (quarter_start + Months::new(3), 3),
        "this_year" => (month_start.with_month(1).unwrap_or(month_start), 12),
        _ => (month_start, 1),
    };
    let end = (start + Months::new(months)).pred_opt().unwrap_or(start);
    (start, end)
}

fn pipeline_review(arguments: &Map<String, Value>, now: &Today) -> String {
    let period = argument(arguments, "period").unwrap_or("this_month");
    let today = now.day;
    let (first, last) = period_days(period, today);
    let owner = argument(arguments, "owner").map_or(String::new(), |owner| {
        format!(
            " Only deals assigned to the employee \"{owner}\": find their id with list_employees (search) unless \
             that is an id, and pass it as assigned_to."
        )
    });
    format!(
        "Review the sales pipeline for {period} ({first} to {last}; {now}).{owner}\n\n\
         1. Value of the open deals per stage: aggregate_records with entity deals, measure sum, field value, \
         group_by [\"stage_id\"] and filter {{\"status\": \"open\", \"expected_close_after\": \"{first}\", \
         \"expected_close_before\": \"{last}\"}}. Money comes per currency: never add currencies together.\n\
         2. The largest open deals closing in the period: list_deals with status open, expected_close_after \
         {first}, expected_close_before {last}, sort -value, limit 5.\n\
         3. Open deals already past their expected close date: list_deals with status open and \
         expected_close_before {today}, sort expected_close_date.\n\n\
         Report the totals per stage and currency, the five largest deals with stage and close date, the \
         overdue ones, and what needs attention. Use only figures the tools answered."
    )
}

fn customer_briefing(arguments: &Map<String, Value>, now: &Today) -> String {
    let customer = argument(arguments, "customer").unwrap_or_default();
    format!(
        "Prepare a briefing on the customer \"{customer}\" ({now}). If that is not an id, find \
         the customer with list_customers (search); if several match, list them and ask which one is meant.\n\n\
         Cover, with the tools you have: who they are and their status (get_customer); their open deals with \
         value and stage (list_deals with customer_id and status open); their open issues (list_issues with \
         customer_id); recent orders and payments (list_orders, list_payments with customer_id, sort \
         -created_at); activities that are overdue or scheduled soon (list_activities with customer_id).\n\n\
         Keep it short and factual. Say which parts you could not see."
    )
}

fn issue_triage(arguments: &Map<String, Value>, now: &Today) -> String {
    let mut filter = String::new();
    if let Some(priority) = argument(arguments, "priority") {
        filter.push_str(&format!(", priority {priority}"));
    }
    if let Some(category) = argument(arguments, "category") {
        filter.push_str(&format!(", category {category}"));
    }
    format!(
        "Triage the open support issues ({now}). Use list_issues with status open, then with \
         status in_progress{filter}, sort created_at (oldest first); page on with next_cursor while there are \
         more.\n\n\
         Group the answer by urgency. For each issue that is urgent, unassigned or open for more than three \
         days, give its number, title, customer and age, and propose the next step (an assignee, a priority, a \
         reply). Change nothing yourself: propose changes for the user to confirm."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_state_today_in_the_organizations_zone() {
        let today = Today { day: NaiveDate::from_ymd_opt(2026, 12, 31).expect("a day"), zone: chrono_tz::Asia::Tokyo };
        let text = pipeline_review(&Map::new(), &today);
        assert!(
            text.contains("2026-12-01 to 2026-12-31; today is 2026-12-31 in the organization's time zone, Asia/Tokyo")
        );
        for prompt in &PROMPTS {
            let mut arguments = Map::new();
            arguments.insert("customer".into(), json!("Acme"));
            assert!((prompt.text)(&arguments, &today).contains("Asia/Tokyo"), "{}", prompt.name);
        }
    }

    #[test]
    fn periods_are_whole_months_quarters_and_years() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a day");
        let today = day(2026, 11, 17);
        assert_eq!(period_days("this_month", today), (day(2026, 11, 1), day(2026, 11, 30)));
        assert_eq!(period_days("next_month", today), (day(2026, 12, 1), day(2026, 12, 31)));
        assert_eq!(period_days("this_quarter", today), (day(2026, 10, 1), day(2026, 12, 31)));
        assert_eq!(period_days("next_quarter", today), (day(2027, 1, 1), day(2027, 3, 31)));
        assert_eq!(period_days("this_year", today), (day(2026, 1, 1), day(2026, 12, 31)));
    }

    /// Every tool a prompt names exists, and each completion is a call its tool accepts.
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn every_prompt_names_tools_that_take_its_calls() {
        let store = std::sync::Arc::new(crate::SqlStore::open("sqlite::memory:").await.unwrap());
        let registry = ToolRegistry::new(store);
        let owner = UserContext::new("owner", "org_x", crate::context::Role::Owner);
        for prompt in &PROMPTS {
            for tool in prompt.tools {
                assert!(registry.get(tool).is_some(), "{tool}");
            }
            for argument in prompt.arguments {
                if let Values::Record { tool, .. } = argument.values {
                    let args = json!({"limit": MAX_COMPLETIONS, "search": "x"});
                    registry.check(&owner, tool, &args).unwrap_or_else(|e| panic!("{tool}: {e}"));
                }
            }
        }
    }
}
