//! {{name}}: a Cordon tool, made by `cordon new tool --lang rust`. Its one
//! action, `count`, counts the characters, words and lines of a text. Models
//! call it as `{{name}}__count`; the host checks the arguments against the
//! schema in `info()` before `call` runs.

use cordon_sdk::tool::{Action, Tool, ToolError, ToolInfo, parse_arguments};
use serde::Deserialize;
use serde_json::json;

/// The tool.
pub struct Counter;

/// The arguments of `count`.
#[derive(Deserialize)]
struct CountArgs {
    text: String,
}

impl Tool for Counter {
    fn info() -> ToolInfo {
        ToolInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Counts the characters, words and lines of a text".into(),
            actions: vec![Action::new(
                "count",
                "Count the characters (Unicode scalar values), words (runs of non-space) and lines of `text`.",
                json!({
                    "type": "object",
                    "properties": { "text": { "type": "string", "description": "The text to count." } },
                    "required": ["text"],
                    "additionalProperties": false
                }),
            )],
        }
    }

    fn call(action: &str, arguments: &str) -> Result<String, ToolError> {
        match action {
            "count" => {
                let args: CountArgs = parse_arguments(arguments)?;
                Ok(count(&args.text).to_string())
            }
            _ => Err(ToolError::unknown_action(action, &["count"])),
        }
    }
}

/// The counts of `text`, as the action's JSON output.
fn count(text: &str) -> serde_json::Value {
    json!({
        "characters": text.chars().count(),
        "words": text.split_whitespace().count(),
        "lines": text.lines().count(),
    })
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_tool!(Counter);
