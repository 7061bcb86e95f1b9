//! The `pointer` action: an RFC 6901 JSON pointer into a document, answered
//! with the value found there as JSON text.

use cordon_sdk::tool::{ToolError, ToolErrorKind};
use serde_json::Value;

/// The value at `pointer` in `document`, as JSON text. A pointer that is
/// neither empty nor starts with `/` is invalid; a location that does not
/// exist is not-found.
pub fn lookup(document: &Value, pointer: &str) -> Result<String, ToolError> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(ToolError::invalid(format!(
            "`{pointer}` is not a JSON pointer: it must be empty (the whole document) or start with `/`, e.g. `/items/0/name`"
        )));
    }
    let found = document.pointer(pointer).ok_or_else(|| {
        ToolError::new(
            ToolErrorKind::NotFound,
            format!(
                "nothing at JSON pointer `{pointer}` in the document (`~1` stands for `/` and `~0` for `~` in keys)"
            ),
        )
    })?;
    Ok(found.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_values() {
        let doc = json!({"a": [{"b": "x"}, 2], "c/d": 3, "e~f": null});
        assert_eq!(lookup(&doc, "/a/0/b").expect("found"), r#""x""#);
        assert_eq!(lookup(&doc, "/a/1").expect("found"), "2");
        assert_eq!(lookup(&doc, "/c~1d").expect("found"), "3");
        assert_eq!(lookup(&doc, "/e~0f").expect("found"), "null");
        assert_eq!(lookup(&doc, "").expect("found"), doc.to_string());
    }

    #[test]
    fn missing_and_malformed() {
        let doc = json!({"a": [1]});
        let err = lookup(&doc, "/a/5").expect_err("missing");
        assert_eq!(err.kind, ToolErrorKind::NotFound);
        assert!(err.message.contains("`/a/5`"), "{}", err.message);
        assert_eq!(lookup(&doc, "/b").expect_err("missing").kind, ToolErrorKind::NotFound);
        assert_eq!(lookup(&doc, "a").expect_err("malformed").kind, ToolErrorKind::InvalidArguments);
    }
}
