//! The JSON Schemas of tool inputs and outputs, derived with schemars from the same Rust types
//! serde reads and writes, then shaped for the clients that read them.
//!
//! MCP clients pass input schemas on to their own models, and several model APIs reject or
//! mis-handle parts of JSON Schema that schemars emits. Published input schemas therefore keep
//! to a portable subset:
//! - `type` is one type, never an array, and nothing is nullable: an optional argument is simply
//!   not required. A field that can be cleared (a [`Change`](crate::domain::Change) of a patch)
//!   is listed in the tool's `clear` argument instead of being sent as `null`.
//! - A value of two JSON types (money: a number or a decimal string) is an `anyOf` of two
//!   single-typed schemas.
//! - `format` is one that JSON Schema defines (`date`, `date-time`…); integer widths
//!   (`uint32`…) become `minimum`/`maximum`.
//!
//! Output schemas describe `null` where a result has it, as an `anyOf` branch rather than a
//! type array, and keep the same `format` rule.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::domain::CLEARABLE_KEYWORD as CLEARABLE;

/// The name of the argument listing the fields to clear.
pub(crate) const CLEAR: &str = "clear";

/// The formats JSON Schema 2020-12 defines; any other (schemars' `uint32`, `double`…) is
/// dropped.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
    })
}

/// `schema` with the import's `created_at` argument (see [`ToolBuilder::imports`](super::ToolBuilder::imports)).
pub(crate) fn with_created_at(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            "created_at".to_owned(),
            json!({
                "description": "When the record was really created, for records imported from another system \
                                (RFC 3339, not in the future; default: now).",
                "type": "string",
                "format": "date-time",
            }),
        );
    }
    schema
}

/// The input schema of `A`: inlined, portable (see the module docs), unknown properties rejected
/// at the top level, and a `clear` argument when `A` has fields that can be cleared.
pub(crate) fn input_schema<A: JsonSchema>() -> Value {
    let mut schema = settings().for_deserialize().into_generator().into_root_schema_for::<A>().to_value();
    let mut clearable = Vec::new();
    if let Some(obj) = schema.as_object_mut() {
        // The argument struct's own doc comment ("Arguments of …") says nothing to a model.
        obj.remove("title");
        obj.remove("description");
        let properties = obj.entry("properties").or_insert_with(|| Value::Object(Map::new()));
        if let Some(properties) = properties.as_object_mut() {
            for (name, property) in properties.iter_mut() {
                if property.as_object_mut().and_then(|p| p.remove(CLEARABLE)).is_some() {
                    clearable.push(Value::String(name.clone()));
                }
            }
            if !clearable.is_empty() {
                properties.insert(
                    CLEAR.to_owned(),
                    json!({
                        "description": "Fields to clear (leave without a value), by name. A field named here \
                                        must not also be given a value.",
                        "type": "array",
                        "items": {"type": "string", "enum": clearable},
                        "uniqueItems": true,
                    }),
                );
            }
        }
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
    portable(&mut schema);
    schema
}

/// The output schema of `O`.
pub(crate) fn output_schema<O: JsonSchema>() -> Value {
    let mut schema = settings().for_serialize().into_generator().into_root_schema_for::<O>().to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("title");
    }
    single_typed(&mut schema);
    schema
}

/// Every schema in an output schema with one `type` (a nullable value becomes an `anyOf` of its
/// type and `null`: the same contract, in the form a single-type dialect can follow), and the
/// `format` rule of input schemas.
fn single_typed(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("type").is_some_and(Value::is_array) {
                split_types(map);
            }
            fix_format(map);
            map.values_mut().for_each(single_typed);
        }
        Value::Array(items) => items.iter_mut().for_each(single_typed),
        _ => {}
    }
}

/// Rewrites an input schema, everywhere in it, into the portable subset.
fn portable(schema: &mut Value) {
    let Value::Object(map) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(portable);
        }
        return;
    };
    map.remove(CLEARABLE);
    if map.get("default").is_some_and(Value::is_null) {
        map.remove("default");
    }
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        match types.len() {
            0 => {
                map.remove("type");
            }
            1 => {
                let only = types.remove(0);
                map.insert("type".into(), only);
            }
            _ => split_types(map),
        }
    }
    for keyword in ["enum", "anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get_mut(keyword) {
            options.retain(|o| !o.is_null() && o.get("type").is_none_or(|t| t != "null"));
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        let single = map.get(keyword).and_then(Value::as_array).filter(|o| o.len() == 1).map(|o| o[0].clone());
        if let Some(Value::Object(inner)) = single {
            map.remove(keyword);
            for (key, value) in inner {
                map.entry(key).or_insert(value);
            }
        }
    }
    fix_format(map);
    for value in map.values_mut() {
        portable(value);
    }
}

/// A schema of several types (`["string", "number"]`) as an `anyOf` of single-typed schemas,
/// each carrying the keywords that apply to its type.
fn split_types(map: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = map.remove("type") else { return };
    const STRING_KEYWORDS: &[&str] = &["pattern", "minLength", "maxLength", "format"];
    const NUMBER_KEYWORDS: &[&str] = &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
    let mut moved: Vec<(String, Value)> = Vec::new();
    for key in STRING_KEYWORDS.iter().chain(NUMBER_KEYWORDS) {
        if let Some(value) = map.remove(*key) {
            moved.push(((*key).to_owned(), value));
        }
    }
    let options = types
        .into_iter()
        .map(|ty| {
            let mut option = Map::new();
            let keywords = match ty.as_str() {
                Some("string") => STRING_KEYWORDS,
                Some("number" | "integer") => NUMBER_KEYWORDS,
                _ => &[][..],
            };
            option.insert("type".into(), ty);
            for (key, value) in &moved {
                if keywords.contains(&key.as_str()) {
                    option.insert(key.clone(), value.clone());
                }
            }
            Value::Object(option)
        })
        .collect();
    map.insert("anyOf".into(), Value::Array(options));
}

/// Drops a `format` JSON Schema does not define; an integer width becomes the range it stands
/// for (what is already stated stays).
fn fix_format(map: &mut Map<String, Value>) {
    let Some(format) = map.get("format").and_then(Value::as_str) else { return };
    if STANDARD_FORMATS.contains(&format) {
        return;
    }
    let range: Option<(Value, Value)> = match format {
        "uint8" => Some((0.into(), u8::MAX.into())),
        "uint16" => Some((0.into(), u16::MAX.into())),
        "uint32" | "uint" => Some((0.into(), u32::MAX.into())),
        "uint64" => Some((0.into(), u64::MAX.into())),
        "int8" => Some((i8::MIN.into(), i8::MAX.into())),
        "int16" => Some((i16::MIN.into(), i16::MAX.into())),
        "int32" | "int" => Some((i32::MIN.into(), i32::MAX.into())),
        "int64" => Some((i64::MIN.into(), i64::MAX.into())),
        _ => None,
    };
    map.remove("format");
    if let Some((min, max)) = range {
        map.entry("minimum").or_insert(min);
        map.entry("maximum").or_insert(max);
    }
}

/// Shrinks an input schema for compact model declarations: below the top level, drops
/// documentation and validation-only keywords (the registry still validates against the whole
/// schema).
pub(crate) fn compact(schema: &mut Value) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(drop_documentation);
    }
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("title");
        obj.remove("$schema");
    }
}

/// Drops the documentation keywords of one schema and of the schemas inside it (not the names
/// in a `properties` map: a property may well be called `title`).
fn drop_documentation(value: &mut Value) {
    const DROPPED: &[&str] =
        &["description", "title", "default", "pattern", "format", "additionalProperties", "minimum", "maximum"];
    match value {
        Value::Object(map) => {
            for key in DROPPED {
                map.remove(*key);
            }
            for (key, inner) in map.iter_mut() {
                match (key.as_str(), inner) {
                    ("properties", Value::Object(properties)) => properties.values_mut().for_each(drop_documentation),
                    (_, inner) => drop_documentation(inner),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_documentation),
        _ => {}
    }
}

/// `args` as the schema reads them: `null` is accepted where the published schema only says
/// "optional" (a caller passing a page's `next_cursor: null` on, or an older client clearing a
/// field with `null`). A `null` for a field that can be cleared joins the `clear` list; for any
/// other argument that is not required it is dropped, as if left out. Anything else, a `null`
/// for a required argument included, is left for validation to judge.
pub(crate) fn normalize_nulls<'a>(schema: &Value, args: &'a Value) -> std::borrow::Cow<'a, Value> {
    let Some(map) = args.as_object() else { return std::borrow::Cow::Borrowed(args) };
    if !map.values().any(Value::is_null) {
        return std::borrow::Cow::Borrowed(args);
    }
    let listed = |keyword: &str| -> Vec<&str> {
        let values = match keyword {
            "required" => schema.get("required"),
            _ => schema.pointer("/properties/clear/items/enum"),
        };
        values.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
    };
    let (required, clearable) = (listed("required"), listed("clear"));
    let mut normalized = map.clone();
    for (name, value) in map {
        if !value.is_null() || required.contains(&name.as_str()) {
            continue;
        }
        normalized.remove(name);
        if clearable.contains(&name.as_str()) {
            let clear = normalized.entry(CLEAR).or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = clear.as_array_mut()
                && !list.iter().any(|v| v == name)
            {
                list.push(Value::String(name.clone()));
            }
        }
    }
    std::borrow::Cow::Owned(Value::Object(normalized))
}

/// Turns the fields named in `clear` into `null` members of `args` (what the patch types read
/// as "clear"), after the schema has checked the names. A field both set and cleared is an
/// error naming it.
pub(crate) fn apply_clear(args: &mut Value) -> crate::Result<()> {
    let Some(map) = args.as_object_mut() else { return Ok(()) };
    let Some(clear) = map.remove(CLEAR) else { return Ok(()) };
    for name in clear.as_array().into_iter().flatten().filter_map(Value::as_str) {
        if map.contains_key(name) {
            return Err(crate::Error::invalid(format!(
                "`{name}` is both given a value and listed in `clear`; do one or the other"
            )));
        }
        map.insert(name.to_owned(), Value::Null);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_arrays_nulls_and_widths_become_portable() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 1, "maximum": 100},
                "value": {"type": ["string", "number"], "pattern": "^-?\\d+$"},
                "status": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}], "default": null},
                "when": {"type": ["string", "null"], "format": "date"}
            }
        });
        portable(&mut schema);
        assert_eq!(schema["properties"]["limit"], json!({"type": "integer", "minimum": 1, "maximum": 100}));
        assert_eq!(
            schema["properties"]["value"],
            json!({"anyOf": [{"type": "string", "pattern": "^-?\\d+$"}, {"type": "number"}]})
        );
        assert_eq!(schema["properties"]["status"], json!({"type": "string", "enum": ["a", "b"]}));
        assert_eq!(schema["properties"]["when"], json!({"type": "string", "format": "date"}));
    }

    #[test]
    fn nulls_of_optional_arguments_are_left_out_and_nulls_of_clearable_ones_clear() {
        let schema = json!({"required": ["id"], "properties": {"clear": {"items": {"enum": ["email"]}}}});
        let args = json!({"id": "c", "cursor": null, "email": null});
        assert_eq!(*normalize_nulls(&schema, &args), json!({"id": "c", "clear": ["email"]}));
        let required = json!({"id": null});
        assert_eq!(*normalize_nulls(&schema, &required), required, "validation judges a required null");
        let plain = json!({"id": "c"});
        assert!(matches!(normalize_nulls(&schema, &plain), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn clear_sets_nulls_and_refuses_a_field_both_set_and_cleared() {
        let mut args = json!({"customer_id": "c", "clear": ["email", "phone"]});
        apply_clear(&mut args).unwrap();
        assert_eq!(args, json!({"customer_id": "c", "email": null, "phone": null}));
        let mut both = json!({"email": "a@b.c", "clear": ["email"]});
        assert!(apply_clear(&mut both).unwrap_err().to_string().contains("`email` is both"));
    }
}
