//! Just enough JSON Schema (the subset utoipa writes into OpenAPI 3.1) to
//! check that an answer is what the API description says it is.

use serde_json::Value;

/// Every way `value` breaks `schema`, with a JSON pointer-like location.
pub fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(doc, schema, value, "$", &mut out);
    out
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}"))
        }
        None => schema,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("schema type {other} is not handled"),
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !names.iter().any(|n| type_matches(n, value)) {
            out.push(format!("{at}: {value} is not of type {types}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    for (keyword, need) in [("oneOf", Some(1usize)), ("anyOf", None)] {
        if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
            let fitting = options.iter().filter(|o| violations(doc, o, value).is_empty()).count();
            let ok = match need {
                Some(n) => fitting == n,
                None => fitting > 0,
            };
            if !ok {
                out.push(format!("{at}: {value} fits {fitting} of the {keyword} options"));
            }
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            check(doc, part, value, at, out);
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                out.push(format!("{at}: required member {name} is missing"));
            }
        }
        for (name, member) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(member_schema) => check(doc, member_schema, member, &format!("{at}.{name}"), out),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    out.push(format!("{at}: member {name} is not described"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_what_does_not_fit() {
        let doc = json!({"components": {"schemas": {
            "S": {"type": "string", "enum": ["a", "b"]},
            "O": {"type": "object", "required": ["s"], "additionalProperties": false,
                  "properties": {"s": {"$ref": "#/components/schemas/S"}, "n": {"type": ["integer", "null"]},
                                 "l": {"type": "array", "items": {"type": "string"}}}}}}});
        let o = json!({"$ref": "#/components/schemas/O"});
        assert!(violations(&doc, &o, &json!({"s": "a", "n": null, "l": ["x"]})).is_empty());
        assert_eq!(violations(&doc, &o, &json!({"s": "c"})).len(), 1);
        assert_eq!(violations(&doc, &o, &json!({"n": 1})).len(), 1);
        assert_eq!(violations(&doc, &o, &json!({"s": "a", "x": 1})).len(), 1);
        assert_eq!(violations(&doc, &o, &json!({"s": "a", "l": [1]})).len(), 1);
        let either = json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/S"}]});
        assert!(violations(&doc, &either, &json!(null)).is_empty());
        assert!(!violations(&doc, &either, &json!(3)).is_empty());
    }
}
