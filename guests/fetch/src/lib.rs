//! The fetch tool: read a web page or text document over HTTP(S).
//!
//! One action, `get`, sends a GET through the host's broker (which allows only
//! the hosts in the manifest or granted by the operator), refuses bodies that
//! are not text ([`content_type`]), reads at most `max_bytes` ([`body`]) and
//! turns HTML into readable text ([`html`]). The request itself is in [`fetch`].

pub mod body;
pub mod content_type;
pub mod fetch;
pub mod html;

use cordon_sdk::tool::{Action, Tool, ToolError, ToolInfo, parse_arguments};
use serde_json::json;

/// The tool's actions.
const ACTIONS: [&str; 1] = ["get"];

/// The fetch tool.
pub struct Fetch;

impl Tool for Fetch {
    fn info() -> ToolInfo {
        let schema = json!({
            "type": "object",
            "properties": {
                "url": {
                    "type": "string",
                    "pattern": "^[hH][tT][tT][pP][sS]?://",
                    "description": "The http:// or https:// URL to fetch."
                },
                "max_bytes": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": fetch::MAX_MAX_BYTES,
                    "description": "The most bytes of the body to read (default 65536); a longer body is cut and marked truncated."
                }
            },
            "required": ["url"],
            "additionalProperties": false
        });
        ToolInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Fetch a web page or text document over HTTP(S) and return it as text".into(),
            actions: vec![Action::new(
                "get",
                "Fetch a URL with GET and return its content as text: HTML pages are turned into readable text \
                 (no markup, scripts or styles); plain text, JSON and XML come back as they are. Only text is \
                 read (images, PDFs and other binary content are refused), and only from the hosts this tool is \
                 allowed to reach. Returns JSON {\"url\", \"status\", \"content_type\", \"text\", \"truncated\": \
                 true when the body was longer than max_bytes}.",
                schema,
            )],
        }
    }

    fn call(action: &str, arguments: &str) -> Result<String, ToolError> {
        match action {
            "get" => fetch::get(&parse_arguments(arguments)?),
            _ => Err(ToolError::unknown_action(action, &ACTIONS)),
        }
    }
}

// Exported only in the component: natively (unit tests) the bindings' export
// symbols cannot be linked into a cdylib.
#[cfg(target_arch = "wasm32")]
cordon_sdk::export_tool!(Fetch);
