//! The `query` action: an RFC 9535 JSONPath query over a document, answered as
//! `{"matches": [...], "count": N}`.

use cordon_sdk::tool::ToolError;
use serde_json::Value;
use serde_json_path::JsonPath;

/// The longest path accepted, in characters (the schema says the same).
pub const MAX_PATH_LENGTH: usize = 1000;

/// How deeply brackets and parentheses may nest in a path: the parser recurses
/// on them, and a component's stack is small.
pub const MAX_PATH_NESTING: usize = 32;

/// Parse `path`; a malformed or overly nested one is an invalid-arguments error
/// naming the problem.
pub fn parse_path(path: &str) -> Result<JsonPath, ToolError> {
    let length = path.chars().count();
    if length > MAX_PATH_LENGTH {
        return Err(ToolError::invalid(format!(
            "the path has {length} characters; at most {MAX_PATH_LENGTH} are accepted"
        )));
    }
    if nesting(path) > MAX_PATH_NESTING {
        return Err(ToolError::invalid(format!(
            "the path nests brackets or parentheses more than {MAX_PATH_NESTING} deep"
        )));
    }
    JsonPath::parse(path).map_err(|err| {
        ToolError::invalid(format!(
            "`{path}` is not a valid RFC 9535 JSONPath: {err} (paths start with `$`, e.g. `$.store.book[?@.price < 10].title`)"
        ))
    })
}

/// The deepest nesting of `[`/`(` in `path` (string literals included: an
/// over-estimate is harmless at this bound).
fn nesting(path: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in path.chars() {
        match c {
            '[' | '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Run `path` over `document`; the output JSON text lists the matched values
/// in document order.
pub fn query(document: &Value, path: &str) -> Result<String, ToolError> {
    let path = parse_path(path)?;
    let matches = path.query(document).all();
    let output = serde_json::json!({ "count": matches.len(), "matches": matches });
    Ok(output.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::tool::ToolErrorKind;
    use serde_json::json;

    fn run(document: Value, path: &str) -> Value {
        serde_json::from_str(&query(&document, path).expect("query runs")).expect("json output")
    }

    #[test]
    fn selects_and_filters() {
        let doc = json!({"store": {"book": [
            {"title": "A", "price": 8},
            {"title": "B", "price": 12},
            {"title": "C", "price": 5}
        ]}});
        assert_eq!(run(doc.clone(), "$.store.book[*].title"), json!({"matches": ["A", "B", "C"], "count": 3}));
        assert_eq!(run(doc.clone(), "$.store.book[?@.price < 10].title"), json!({"matches": ["A", "C"], "count": 2}));
        assert_eq!(run(doc.clone(), "$..price"), json!({"matches": [8, 12, 5], "count": 3}));
        assert_eq!(
            run(doc.clone(), "$.store.book[?length(@.title) == 1].price"),
            json!({"matches": [8, 12, 5], "count": 3})
        );
        assert_eq!(
            run(doc.clone(), "$.store.book[?match(@.title, '[AB]')].title"),
            json!({"matches": ["A", "B"], "count": 2})
        );
        assert_eq!(run(doc, "$.nothing"), json!({"matches": [], "count": 0}));
    }

    #[test]
    fn bad_paths_are_invalid_arguments() {
        let err = query(&json!({}), "store.book").expect_err("no `$`");
        assert_eq!(err.kind, ToolErrorKind::InvalidArguments);
        assert!(err.message.contains("`store.book` is not a valid RFC 9535 JSONPath"), "{}", err.message);
        let err = query(&json!({}), "$[?@.a <").expect_err("truncated");
        assert_eq!(err.kind, ToolErrorKind::InvalidArguments);
        let deep = format!("$[?{}@.a{}]", "(".repeat(40), ")".repeat(40));
        let err = query(&json!({}), &deep).expect_err("too deep");
        assert!(err.message.contains("nests"), "{}", err.message);
        assert!(query(&json!({}), &format!("$[?{}@.a{}]", "(".repeat(30), ")".repeat(30))).is_ok());
    }
}
