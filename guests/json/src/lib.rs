//! Placeholder tool (placeholder while the SDK's tool side is checked).

use cordon_sdk::tool::{Action, Tool, ToolError, ToolInfo};

struct Placeholder;

impl Tool for Placeholder {
    fn info() -> ToolInfo {
        ToolInfo {
            version: "0.1.0".into(),
            description: "exact arithmetic".into(),
            actions: vec![Action::new("evaluate", "Evaluate", serde_json::json!({"type": "object"}))],
        }
    }

    fn call(action: &str, _arguments: &str) -> Result<String, ToolError> {
        Err(ToolError::unknown_action(action, &["evaluate"]))
    }
}

cordon_sdk::export_tool!(Placeholder);
