//! The calculator tool: exact arithmetic on rational numbers.
//!
//! One action, `evaluate`, takes `{"expression": "..."}` and answers
//! `{"value": "-7/3", "decimal": "-2.3333333333333333333..."}`. The expression
//! is read by a small recursive-descent parser ([`parser`]) and computed on big
//! rationals ([`arith`]), so `0.1 + 0.2` is exactly `3/10`.

pub mod arith;
pub mod decimal;
pub mod error;
pub mod lexer;
pub mod parser;

use cordon_sdk::tool::{Action, Tool, ToolError, ToolInfo, parse_arguments};
use serde::Deserialize;

pub use error::CalcError;

/// The tool's actions.
const ACTIONS: [&str; 1] = ["evaluate"];

/// The calculator tool.
pub struct Calculator;

/// The arguments of `evaluate`.
#[derive(Debug, Deserialize)]
struct EvaluateArgs {
    expression: String,
}

/// Evaluate `expression` and write the answer as the action's JSON output.
pub fn evaluate_to_json(expression: &str) -> Result<String, CalcError> {
    let value = parser::evaluate(expression)?;
    let output = serde_json::json!({
        "value": decimal::exact(&value),
        "decimal": decimal::decimal(&value),
    });
    Ok(output.to_string())
}

impl Tool for Calculator {
    fn info() -> ToolInfo {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "maxLength": parser::MAX_LENGTH,
                    "description": "An arithmetic expression, e.g. `(1/3 + 0.25) * 2^10`."
                }
            },
            "required": ["expression"],
            "additionalProperties": false
        });
        ToolInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Exact arithmetic on rational numbers from an expression".into(),
            actions: vec![Action::new(
                "evaluate",
                "Evaluate an arithmetic expression exactly, with no rounding error. Supports integers and \
                 decimals (`0.1`, `2.5e3`), + - * /, % (remainder of whole numbers, sign of the dividend), \
                 ^ (power, right-associative, whole exponents up to ±10000; negative means reciprocal), \
                 unary minus and parentheses. Returns JSON {\"value\": exact integer or reduced fraction like \
                 \"-7/3\", \"decimal\": decimal expansion, exact when it terminates, otherwise 20 significant \
                 digits followed by \"...\"}. Numbers are limited to about 10000 digits.",
                schema,
            )],
        }
    }

    fn call(action: &str, arguments: &str) -> Result<String, ToolError> {
        match action {
            "evaluate" => {
                let args: EvaluateArgs = parse_arguments(arguments)?;
                Ok(evaluate_to_json(&args.expression)?)
            }
            _ => Err(ToolError::unknown_action(action, &ACTIONS)),
        }
    }
}

// Exported only in the component: natively (unit tests) the bindings' export
// symbols cannot be linked into a cdylib.
#[cfg(target_arch = "wasm32")]
cordon_sdk::export_tool!(Calculator);

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(expression: &str) -> serde_json::Value {
        serde_json::from_str(&evaluate_to_json(expression).expect("evaluates")).expect("json")
    }

    #[test]
    fn examples_from_the_description() {
        assert_eq!(answer("1/3 + 1/6"), serde_json::json!({"value": "1/2", "decimal": "0.5"}));
        assert_eq!(answer("0.1 + 0.2"), serde_json::json!({"value": "3/10", "decimal": "0.3"}));
        assert_eq!(
            answer("2^100"),
            serde_json::json!({"value": "1267650600228229401496703205376", "decimal": "1267650600228229401496703205376"})
        );
        assert_eq!(answer("2/3"), serde_json::json!({"value": "2/3", "decimal": "0.66666666666666666667..."}));
        assert_eq!(answer("-14/6"), serde_json::json!({"value": "-7/3", "decimal": "-2.3333333333333333333..."}));
        assert_eq!(answer("2.5e3 % 7"), serde_json::json!({"value": "1", "decimal": "1"}));
    }

    #[test]
    fn the_call_maps_errors_to_kinds() {
        use cordon_sdk::tool::ToolErrorKind;
        let err = Calculator::call("evaluate", r#"{"expression": "1/0"}"#).expect_err("division by zero");
        assert_eq!(err.kind, ToolErrorKind::InvalidArguments);
        assert!(err.message.contains("division by zero at position 2"), "{}", err.message);
        let err = Calculator::call("evaluate", r#"{"expression": "2^20000"}"#).expect_err("too large");
        assert_eq!(err.kind, ToolErrorKind::LimitExceeded);
        let err = Calculator::call("add", "{}").expect_err("unknown");
        assert_eq!(err.kind, ToolErrorKind::UnknownAction);
        let ok = Calculator::call("evaluate", r#"{"expression": "6*7"}"#).expect("works");
        assert_eq!(ok, r#"{"decimal":"42","value":"42"}"#);
    }

    #[test]
    fn info_is_well_formed() {
        let info = Calculator::info();
        assert_eq!(info.actions.len(), 1);
        let schema: serde_json::Value = serde_json::from_str(&info.actions[0].parameters).expect("json");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
    }
}
