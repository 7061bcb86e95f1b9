//! Which value the actions work on: the `document` argument as given, or, when
//! it is a string holding JSON text, the value that text parses to (models
//! often pass a JSON document they received as a string).

use serde_json::Value;

/// The document to query: `given` itself, unless it is a string that parses
/// as JSON, in which case the parsed value.
pub fn resolve(given: Value) -> Value {
    match given {
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed) => parsed,
            Err(_) => Value::String(text),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_holding_json_are_parsed() {
        assert_eq!(resolve(json!(r#"{"a": [1, 2]}"#)), json!({"a": [1, 2]}));
        assert_eq!(resolve(json!(" [true] ")), json!([true]));
        assert_eq!(resolve(json!("42")), json!(42));
    }

    #[test]
    fn other_values_are_kept() {
        assert_eq!(resolve(json!("not json")), json!("not json"));
        assert_eq!(resolve(json!({"a": "{}"})), json!({"a": "{}"}));
        assert_eq!(resolve(json!(null)), json!(null));
    }
}
