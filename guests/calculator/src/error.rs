//! The calculator's error: a malformed or meaningless expression, or one whose
//! numbers grow past the tool's size bounds.

use cordon_sdk::tool::{ToolError, ToolErrorKind};

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalcError {
    /// The expression is malformed or asks for something undefined
    /// (division by zero, a fractional exponent); the model should fix it.
    Invalid(String),
    /// A number would grow past the tool's bounds (exponent or digit count).
    Limit(String),
}

impl CalcError {
    /// A malformed or undefined expression.
    pub fn invalid(message: impl Into<String>) -> Self {
        CalcError::Invalid(message.into())
    }

    /// A size bound reached.
    pub fn limit(message: impl Into<String>) -> Self {
        CalcError::Limit(message.into())
    }

    /// The message, whatever the class.
    pub fn message(&self) -> &str {
        match self {
            CalcError::Invalid(message) | CalcError::Limit(message) => message,
        }
    }
}

impl From<CalcError> for ToolError {
    fn from(error: CalcError) -> Self {
        match error {
            CalcError::Invalid(message) => ToolError::invalid(message),
            CalcError::Limit(message) => ToolError::new(ToolErrorKind::LimitExceeded, message),
        }
    }
}
