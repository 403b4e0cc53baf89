//! Checks of what the client sends, against the Gemini rules and the parts the fake emitted.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Mutex;

use serde_json::{Map, Value};

/// Every part the fake has emitted that holds a `functionCall` or a `thoughtSignature`.
#[derive(Default)]
pub(crate) struct Emitted {
    /// Canonical JSON of each such part.
    parts: HashSet<String>,
    /// Every emitted signature.
    signatures: HashSet<String>,
    /// Emitted function-call parts by function name (for explaining a mismatch).
    calls: HashMap<String, Vec<Value>>,
}

/// A part prepared for recording outside the lock.
pub(crate) struct PreparedPart {
    canonical: String,
    signature: Option<String>,
    call: Option<(String, Value)>,
}

/// Prepares the relevant parts of response chunks for [`Emitted::record`].
pub(crate) fn prepare<'a>(chunks: impl IntoIterator<Item = &'a Value>) -> Vec<PreparedPart> {
    let mut out = Vec::new();
    for chunk in chunks {
        let Some(cands) = chunk.get("candidates").and_then(Value::as_array) else { continue };
        for cand in cands {
            let Some(parts) = cand.pointer("/content/parts").and_then(Value::as_array) else { continue };
            for part in parts {
                let fc = part.get("functionCall");
                let sig = part.get("thoughtSignature").and_then(Value::as_str);
                if fc.is_none() && sig.is_none() {
                    continue;
                }
                let normalized = normalize_part(part);
                let call = fc
                    .and_then(|fc| fc.get("name"))
                    .and_then(Value::as_str)
                    .map(|n| (n.to_string(), normalized.clone()));
                out.push(PreparedPart { canonical: canonical(&normalized), signature: sig.map(str::to_string), call });
            }
        }
    }
    out
}

impl Emitted {
    pub(crate) fn record(&mut self, prepared: Vec<PreparedPart>) {
        for p in prepared {
            self.parts.insert(p.canonical);
            if let Some(sig) = p.signature {
                self.signatures.insert(sig);
            }
            if let Some((name, part)) = p.call {
                self.calls.entry(name).or_default().push(part);
            }
        }
    }
}

/// A `functionCall` without `args` means `args: {}`.
fn normalize_part(part: &Value) -> Value {
    let mut part = part.clone();
    if let Some(fc) = part.get_mut("functionCall").and_then(Value::as_object_mut)
        && !fc.contains_key("args")
    {
        fc.insert("args".into(), Value::Object(Map::new()));
    }
    part
}

/// JSON with sorted keys and integral floats written as integers (Gemini's `args` are a protobuf
/// Struct, where `2` and `2.0` are the same number).
pub(crate) fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&o[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                // Integral and below 2^53: printed without a fraction, as an integer would be
                // (adding 0.0 turns -0.0 into 0, which prints without a sign).
                let _ = write!(out, "{:.0}", f + 0.0);
            }
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

/// Runs all checks on a request body; returns the problems found (empty = fine).
pub(crate) fn check_request(body: &Value, emitted: &Mutex<Emitted>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(obj) = body.as_object() else {
        problems.push("the request body is not a JSON object".to_string());
        return problems;
    };
    let contents = match obj.get("contents") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        Some(Value::Array(_)) => {
            problems.push("`contents` is empty".to_string());
            return problems;
        }
        _ => {
            problems.push("`contents` is missing or not an array".to_string());
            return problems;
        }
    };

    // 1. Shape of every content.
    for (i, content) in contents.iter().enumerate() {
        match content.get("role").and_then(Value::as_str) {
            Some("user" | "model") => {}
            Some(other) => problems.push(format!("contents[{i}].role is `{other}`, expected `user` or `model`")),
            None => problems.push(format!("contents[{i}] has no `role`")),
        }
        match content.get("parts") {
            Some(Value::Array(p)) if !p.is_empty() => {
                if let Some(j) = p.iter().position(|x| !x.is_object()) {
                    problems.push(format!("contents[{i}].parts[{j}] is not an object"));
                }
            }
            _ => problems.push(format!("contents[{i}].parts is missing or empty")),
        }
    }
    if !problems.is_empty() {
        return problems;
    }

    // 2. Echoed function calls and signatures.
    let mut to_check: Vec<(usize, usize, &Value, String)> = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        if role(content) != "model" {
            continue;
        }
        for (j, part) in parts(content).iter().enumerate() {
            if part.get("functionCall").is_some() || part.get("thoughtSignature").is_some() {
                to_check.push((i, j, part, canonical(&normalize_part(part))));
            }
        }
    }
    if !to_check.is_empty() {
        let emitted = emitted.lock().unwrap_or_else(|e| e.into_inner());
        for (i, j, part, canon) in to_check {
            if emitted.parts.contains(&canon) {
                continue;
            }
            let name = part.pointer("/functionCall/name").and_then(Value::as_str);
            let sig = part.get("thoughtSignature").and_then(Value::as_str);
            let Some(name) = name else {
                // A signature on a text (or other) part: the signature must be one the fake sent.
                if let Some(sig) = sig
                    && !emitted.signatures.contains(sig)
                {
                    problems.push(format!(
                        "contents[{i}].parts[{j}]: thoughtSignature `{}` was never emitted by the fake \
                         (altered, invented or moved)",
                        short(sig)
                    ));
                }
                continue;
            };
            problems.push(explain_call_mismatch(i, j, name, part, &emitted));
        }
    }

    // 3. Function responses follow their calls.
    for (i, content) in contents.iter().enumerate() {
        let calls: Vec<&Value> = parts(content).iter().filter_map(|p| p.get("functionCall")).collect();
        let responses: Vec<&Value> = parts(content).iter().filter_map(|p| p.get("functionResponse")).collect();
        if role(content) == "model" && !calls.is_empty() {
            check_responses(i, &calls, contents.get(i + 1), &mut problems);
        }
        if !responses.is_empty() {
            let prev_has_calls = i > 0
                && role(&contents[i - 1]) == "model"
                && parts(&contents[i - 1]).iter().any(|p| p.get("functionCall").is_some());
            if role(content) != "user" {
                problems.push(format!("contents[{i}] holds functionResponse parts but its role is not `user`"));
            } else if !prev_has_calls {
                problems.push(format!(
                    "contents[{i}] holds functionResponse parts but does not directly follow a `model` content \
                     with functionCall parts (all responses of one step belong in ONE user content)"
                ));
            }
            for (k, r) in responses.iter().enumerate() {
                if !r.get("response").is_some_and(Value::is_object) {
                    problems.push(format!(
                        "contents[{i}] functionResponse #{k} (`{}`): `response` must be a JSON object",
                        r.get("name").and_then(Value::as_str).unwrap_or("?")
                    ));
                }
            }
        }
    }

    // 4. Tool declarations use parametersJsonSchema.
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        for (t, tool) in tools.iter().enumerate() {
            let decls = tool.get("functionDeclarations").or_else(|| tool.get("function_declarations"));
            for (d, decl) in decls.and_then(Value::as_array).into_iter().flatten().enumerate() {
                if decl.get("parameters").is_some() {
                    problems.push(format!(
                        "tools[{t}].functionDeclarations[{d}] (`{}`) uses `parameters` (OpenAPI subset); \
                         use `parametersJsonSchema` (plain JSON Schema)",
                        decl.get("name").and_then(Value::as_str).unwrap_or("?")
                    ));
                }
            }
        }
    }
    problems
}

fn role(content: &Value) -> &str {
    content.get("role").and_then(Value::as_str).unwrap_or("")
}

fn parts(content: &Value) -> &[Value] {
    content.get("parts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn short(s: &str) -> String {
    if s.chars().count() > 16 { format!("{}…", s.chars().take(16).collect::<String>()) } else { s.to_string() }
}

fn check_responses(i: usize, calls: &[&Value], next: Option<&Value>, problems: &mut Vec<String>) {
    let Some(next) = next else {
        problems.push(format!(
            "contents[{i}] (model) holds {} functionCall part(s) but no user content with their functionResponse \
             parts follows",
            calls.len()
        ));
        return;
    };
    let responses: Vec<&Value> = parts(next).iter().filter_map(|p| p.get("functionResponse")).collect();
    if role(next) != "user" || responses.is_empty() {
        problems.push(format!(
            "contents[{i}] (model) holds {} functionCall part(s) but contents[{}] is not a user content with \
             their functionResponse parts",
            calls.len(),
            i + 1
        ));
        return;
    }
    if responses.len() != calls.len() {
        problems.push(format!(
            "contents[{i}] (model) holds {} functionCall part(s) but contents[{}] holds {} functionResponse \
             part(s); all responses of one step go in ONE user content, one per call",
            calls.len(),
            i + 1,
            responses.len()
        ));
        return;
    }
    let mut used = vec![false; responses.len()];
    for call in calls {
        let name = call.get("name").and_then(Value::as_str).unwrap_or("");
        let id = call.get("id").and_then(Value::as_str);
        let found = responses.iter().enumerate().position(|(k, r)| {
            !used[k]
                && r.get("name").and_then(Value::as_str) == Some(name)
                && id.is_none_or(|id| r.get("id").and_then(Value::as_str) == Some(id))
        });
        match found {
            Some(k) => used[k] = true,
            None => problems.push(match id {
                Some(id) => format!(
                    "contents[{}] has no functionResponse with name `{name}` and id `{id}` for the call in \
                     contents[{i}]",
                    i + 1
                ),
                None => {
                    format!("contents[{}] has no functionResponse named `{name}` for the call in contents[{i}]", i + 1)
                }
            }),
        }
    }
}

/// Explains why a function-call part does not equal any emitted part.
fn explain_call_mismatch(i: usize, j: usize, name: &str, part: &Value, emitted: &Emitted) -> String {
    let at = format!("contents[{i}].parts[{j}]");
    let Some(candidates) = emitted.calls.get(name) else {
        return format!("{at}: functionCall `{name}` was never emitted by the fake");
    };
    let part = normalize_part(part);
    let mut best: Option<Vec<String>> = None;
    for c in candidates {
        let d = differences(c, &part);
        if best.as_ref().is_none_or(|b| d.len() < b.len()) {
            best = Some(d);
        }
    }
    let diffs = best.unwrap_or_default();
    if diffs.len() == 1 && diffs[0] == "thoughtSignature missing" {
        // Real Gemini 3's wording.
        return format!(
            "Function call is missing a thought_signature in functionCall parts. This is required for tools to \
             work correctly, and missing thought_signature may lead to degraded model performance. Additional \
             data, function call `default_api:{name}` , position {}. Please refer to \
             https://ai.google.dev/gemini-api/docs/thought-signatures for more details. ({at})",
            j + 1
        );
    }
    if diffs.is_empty() {
        return format!("{at}: functionCall `{name}` does not match any part the fake emitted");
    }
    format!("{at}: functionCall `{name}` does not echo the part the fake emitted unchanged: {}", diffs.join("; "))
}

fn differences(emitted: &Value, got: &Value) -> Vec<String> {
    let mut d = Vec::new();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match (s(emitted, "thoughtSignature"), s(got, "thoughtSignature")) {
        (Some(_), None) => d.push("thoughtSignature missing".to_string()),
        (Some(a), Some(b)) if a != b => d.push("thoughtSignature altered".to_string()),
        (None, Some(_)) => d.push("thoughtSignature added that the fake never emitted".to_string()),
        _ => {}
    }
    let (efc, gfc) = (emitted.get("functionCall"), got.get("functionCall"));
    let fid = |fc: Option<&Value>| fc.and_then(|f| f.get("id")).and_then(Value::as_str).map(str::to_string);
    match (fid(efc), fid(gfc)) {
        (Some(a), None) => d.push(format!("functionCall.id missing (emitted `{a}`)")),
        (Some(a), Some(b)) if a != b => d.push(format!("functionCall.id `{b}` differs from the emitted `{a}`")),
        (None, Some(b)) => d.push(format!("functionCall.id `{b}` added (the fake emitted none)")),
        _ => {}
    }
    let field = |fc: Option<&Value>, k: &str| fc.and_then(|f| f.get(k)).map(canonical);
    if field(efc, "args") != field(gfc, "args") {
        d.push("functionCall.args differ".to_string());
    }
    let rest = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("thoughtSignature");
            if let Some(fc) = o.get_mut("functionCall").and_then(Value::as_object_mut) {
                fc.remove("id");
                fc.remove("args");
            }
        }
        canonical(&v)
    };
    if rest(emitted) != rest(got) {
        d.push("other fields of the part differ".to_string());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_and_normalizes_numbers() {
        assert_eq!(canonical(&json!({"b":2.0,"a":[1,{"d":1,"c":0.5}]})), r#"{"a":[1,{"c":0.5,"d":1}],"b":2}"#);
    }

    #[test]
    fn text_only_conversation_passes() {
        let body = json!({"contents":[{"role":"user","parts":[{"text":"hi"}]}]});
        assert!(check_request(&body, &Mutex::new(Emitted::default())).is_empty());
    }

    #[test]
    fn parameters_is_flagged() {
        let body = json!({"contents":[{"role":"user","parts":[{"text":"hi"}]}],
            "tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT"}}]}]});
        let p = check_request(&body, &Mutex::new(Emitted::default()));
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("parametersJsonSchema"));
    }
}
