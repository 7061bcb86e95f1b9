//! The json tool: read parts of a JSON document.
//!
//! `query` runs an RFC 9535 JSONPath ([`query`]); `pointer` follows an RFC 6901
//! JSON pointer ([`pointer`]). Both take the document as any JSON value, or as a
//! string holding JSON text ([`document`]).

pub mod document;
pub mod pointer;
pub mod query;

use cordon_sdk::tool::{Action, Tool, ToolError, ToolInfo, parse_arguments};
use serde::Deserialize;
use serde_json::{Value, json};

/// The tool's actions.
const ACTIONS: [&str; 2] = ["query", "pointer"];

/// The json tool.
pub struct Json;

/// The arguments of `query`.
#[derive(Debug, Deserialize)]
struct QueryArgs {
    document: Value,
    path: String,
}

/// The arguments of `pointer`.
#[derive(Debug, Deserialize)]
struct PointerArgs {
    document: Value,
    pointer: String,
}

/// The `document` property, shared by both actions.
fn document_schema() -> Value {
    json!({
        "description": "The JSON document: any JSON value, or a string holding JSON text (which is parsed first)."
    })
}

/// Run `action` with `arguments`: the tool's logic, callable natively.
pub fn run(action: &str, arguments: &str) -> Result<String, ToolError> {
    match action {
        "query" => {
            let args: QueryArgs = parse_arguments(arguments)?;
            query::query(&document::resolve(args.document), &args.path)
        }
        "pointer" => {
            let args: PointerArgs = parse_arguments(arguments)?;
            pointer::lookup(&document::resolve(args.document), &args.pointer)
        }
        _ => Err(ToolError::unknown_action(action, &ACTIONS)),
    }
}

impl Tool for Json {
    fn info() -> ToolInfo {
        ToolInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Query JSON documents with JSONPath (RFC 9535) or JSON pointers (RFC 6901)".into(),
            actions: vec![
                Action::new(
                    "query",
                    "Select values from a JSON document with an RFC 9535 JSONPath, e.g. `$.items[*].name`, \
                     `$..id`, `$.items[?@.price < 10]`, `$.items[-1]`; filter functions length(), count(), \
                     match(), search() and value() are available. Returns JSON {\"matches\": [matched values \
                     in document order], \"count\": number of matches}.",
                    json!({
                        "type": "object",
                        "properties": {
                            "document": document_schema(),
                            "path": {
                                "type": "string",
                                "maxLength": query::MAX_PATH_LENGTH,
                                "description": "An RFC 9535 JSONPath query, starting with `$`."
                            }
                        },
                        "required": ["document", "path"],
                        "additionalProperties": false
                    }),
                ),
                Action::new(
                    "pointer",
                    "Get the single value at an RFC 6901 JSON pointer in a JSON document, e.g. `/items/0/name` \
                     (`~1` escapes `/` and `~0` escapes `~` in keys; an empty pointer is the whole document). \
                     Returns that value as JSON text; a location that does not exist is a not-found error.",
                    json!({
                        "type": "object",
                        "properties": {
                            "document": document_schema(),
                            "pointer": {
                                "type": "string",
                                "description": "An RFC 6901 JSON pointer: empty, or starting with `/`."
                            }
                        },
                        "required": ["document", "pointer"],
                        "additionalProperties": false
                    }),
                ),
            ],
        }
    }

    fn call(action: &str, arguments: &str) -> Result<String, ToolError> {
        run(action, arguments)
    }
}

// Exported only in the component: natively (unit tests) the bindings' export
// symbols cannot be linked into a cdylib.
#[cfg(target_arch = "wasm32")]
cordon_sdk::export_tool!(Json);

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::tool::ToolErrorKind;

    #[test]
    fn actions_run_on_values_and_json_strings() {
        let out = run("query", r#"{"document": {"a": [1, 2, 3]}, "path": "$.a[1:]"}"#).expect("runs");
        assert_eq!(serde_json::from_str::<Value>(&out).expect("json"), json!({"matches": [2, 3], "count": 2}));
        let out = run("query", r#"{"document": "{\"a\": [1, 2, 3]}", "path": "$.a[0]"}"#).expect("runs");
        assert_eq!(serde_json::from_str::<Value>(&out).expect("json"), json!({"matches": [1], "count": 1}));
        let out = run("query", r#"{"document": "plain text", "path": "$"}"#).expect("runs");
        assert_eq!(serde_json::from_str::<Value>(&out).expect("json"), json!({"matches": ["plain text"], "count": 1}));
        let out = run("pointer", r#"{"document": "{\"a\": {\"b\": [true]}}", "pointer": "/a/b"}"#).expect("runs");
        assert_eq!(out, "[true]");
    }

    #[test]
    fn errors_have_their_kinds() {
        assert_eq!(run("nope", "{}").expect_err("unknown").kind, ToolErrorKind::UnknownAction);
        assert_eq!(run("query", r#"{"path": "$"}"#).expect_err("no document").kind, ToolErrorKind::InvalidArguments);
        assert_eq!(
            run("pointer", r#"{"document": {}, "pointer": "/x"}"#).expect_err("missing").kind,
            ToolErrorKind::NotFound
        );
    }

    #[test]
    fn schemas_are_closed_objects() {
        for action in Json::info().actions {
            let schema: Value = serde_json::from_str(&action.parameters).expect("json");
            assert_eq!(schema["type"], "object", "{}", action.name);
            assert_eq!(schema["additionalProperties"], false, "{}", action.name);
        }
    }
}
