//! `docs/tools.md`, generated from the registry so it cannot drift from the code.

use std::fmt::Write as _;

use serde_json::Value;

use super::Tool;

/// The Markdown reference of `tools`: a summary table, then each tool's parameters.
pub fn tools_markdown(tools: &[Tool]) -> String {
    let mut out = String::new();
    out.push_str("# Tools\n\n");
    out.push_str("<!-- Generated from the registry by `crm-agent tools --markdown`; a test fails when this file is out of date. -->\n\n");
    let _ = writeln!(
        out,
        "{} tools. Every call goes through `ToolRegistry::call`: permission check, argument validation against the schema below, the caller's tenant scope, and an audit event.\n",
        tools.len()
    );
    out.push_str(CONVENTIONS);
    out.push_str("| tool | permission | customers | read-only | destructive | idempotent | toolsets |\n|---|---|---|---|---|---|---|\n");
    for tool in tools {
        let a = tool.annotations();
        let yes = |b: bool| if b { "yes" } else { "" };
        let sets = tool.toolsets().iter().map(|s| format!("{s:?}").to_lowercase()).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} | {} | {} | {} | {} |",
            tool.name(),
            tool.name(),
            tool.permission_label(),
            yes(tool.customers_allowed()),
            yes(a.read_only),
            yes(a.destructive),
            yes(a.idempotent && !a.read_only),
            sets
        );
    }
    for tool in tools {
        let _ =
            write!(out, "\n## {}\n\n{}\n\nPermission: {}.", tool.name(), tool.description(), tool.permission_label());
        if tool.customers_allowed() {
            out.push_str(" Customers may use it on their own records.");
        }
        if tool.imports() {
            out.push_str(" Callers holding `data:import` also see and may pass `created_at`.");
        }
        out.push('\n');
        // As an importer sees it: the one argument only they get is marked so.
        let schema = tool.input_schema_for(true);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let properties = schema.get("properties").and_then(Value::as_object);
        match properties {
            Some(props) if !props.is_empty() => {
                out.push_str("\n| parameter | type | required | description |\n|---|---|---|---|\n");
                for (name, prop) in props {
                    let mut description =
                        prop.get("description").and_then(Value::as_str).unwrap_or("").replace('\n', " ");
                    if tool.input_schema()["properties"].get(name).is_none() {
                        description.insert_str(0, "(`data:import` only) ");
                    }
                    let _ = writeln!(
                        out,
                        "| `{name}` | {} | {} | {} |",
                        type_label(prop),
                        if required.contains(&name.as_str()) { "yes" } else { "" },
                        description
                    );
                }
            }
            _ => out.push_str("\nNo parameters.\n"),
        }
    }
    out
}

/// What every list and figure means, stated once.
const CONVENTIONS: &str = "\
**Lists** answer `{items, total, next_cursor}`, newest first unless `sort` names a field (`-` in \
front for largest or latest first). Records without a value for the sort field come last either \
way; ties go by creation. A cursor continues only the order it came from.

**Dates.** Date arguments take `YYYY-MM-DD`, a whole day in the organization's time zone \
(`settings.timezone`, an IANA name, UTC by default), or an RFC 3339 time. `…_after` includes its \
day or time; `…_before` includes its day but not its time. Fields that hold a day (close, due, \
order and payment dates) compare by day. `overdue` activities are neither completed nor \
cancelled, with a due date before today or a scheduled time before now.

**Money** is a decimal string in answers and a string or a JSON number in arguments, read \
exactly. Sums never add currencies together: `aggregate_records` groups any money measure by \
`currency`, and the analytics report money as a list of `{currency, amount}`, the organization's \
default currency (`settings.default_currency`, USD by default) first, listed even at `0.00`, then \
every other currency something counted is in. Employees rank by won revenue in the default \
currency. A lead's estimated value has no currency of its own: it counts in the default one.

**Definitions.** An *active customer* has status `active` or `vip`, in every figure. The sales \
funnel counts leads, then qualified leads (status qualified or converted), then converted leads, \
then the deals of converted leads, then the won ones among those; other deals are counted beside \
it. A record's creation time is when it was created, except for what an import brings in: a caller \
holding `data:import` (granted by name only; an owner's `*:*` does not include it) sees \
`created_at` on the tools that create records and may backdate them, never into the future.

";

/// A short type for a property schema: `string`, `integer`, `one of: a, b`, `array of string`.
fn type_label(schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return format!("one of: {}", values.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "));
    }
    if let Some(options) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array) {
        // Documented constants (a Rust enum with doc comments) read as the enum they are.
        let constants: Option<Vec<&str>> = options.iter().map(|o| o.get("const").and_then(Value::as_str)).collect();
        if let Some(constants) = constants {
            return format!("one of: {}", constants.join(", "));
        }
        let labels: Vec<String> = options.iter().map(type_label).filter(|l| l != "null").collect();
        return labels.join(" or ");
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!("array of {}", schema.get("items").map(type_label).unwrap_or_else(|| "any".into()))
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => {
            types.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect::<Vec<_>>().join(" or ")
        }
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "any".into(),
    }
}
