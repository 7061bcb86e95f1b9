//! Writing a tool component: implement [`Tool`], call [`export_tool!`](crate::export_tool).
//!
//! A tool is a plugin with actions. The host shows each action to models as
//! `{plugin}__{action}` (the plugin name is the manifest's `name`), checks the
//! model's arguments against the action's JSON schema before calling, and turns
//! every [`ToolError`] into an error result the model can read and correct.
//!
//! ```ignore
//! use cordon_sdk::tool::{Action, Tool, ToolError, ToolInfo, parse_arguments};
//!
//! struct Clock;
//! impl Tool for Clock {
//!     fn info() -> ToolInfo { /* version, description, actions */ }
//!     fn call(action: &str, arguments: &str) -> Result<String, ToolError> {
//!         let args: MyArgs = parse_arguments(arguments)?;
//!         /* ... */
//!     }
//! }
//! cordon_sdk::export_tool!(Clock);
//! ```

use serde::de::DeserializeOwned;

/// The generated bindings for the `tool-component` world.
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "cordon:provider/tool-component",
        pub_export_macro: true,
        export_macro_name: "export_tool_bindings",
        default_bindings_module: "cordon_sdk::tool::bindings",
    });
}

pub use bindings::cordon::provider::http;
pub use bindings::cordon::provider::log;
pub use bindings::cordon::provider::types::{Header, OutgoingRequest};
pub use bindings::exports::cordon::provider::tool::{Action, ToolError, ToolErrorKind, ToolInfo};

/// A tool component's behaviour. Both functions run in a fresh instance.
pub trait Tool {
    /// Describe the tool and its actions. Must not fail or call the host.
    fn info() -> ToolInfo;

    /// Run `action` with `arguments`, a JSON object text the host has already
    /// checked against the action's schema.
    fn call(action: &str, arguments: &str) -> Result<String, ToolError>;
}

impl ToolError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ToolErrorKind, message: impl Into<String>) -> Self {
        ToolError { kind, message: message.into() }
    }

    /// Arguments that match the schema but make no sense.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::InvalidArguments, message)
    }

    /// An action this tool does not have.
    pub fn unknown_action(action: &str, known: &[&str]) -> Self {
        Self::new(ToolErrorKind::UnknownAction, format!("no action `{action}`; this tool has: {}", known.join(", ")))
    }
}

impl Action {
    /// An action whose schema is given as a JSON value.
    pub fn new(name: &str, description: &str, parameters: serde_json::Value) -> Self {
        Action { name: name.to_owned(), description: description.to_owned(), parameters: parameters.to_string() }
    }
}

/// Deserialize the arguments into the action's own type; a mismatch the schema
/// let through becomes an `invalid-arguments` error naming the problem.
pub fn parse_arguments<T: DeserializeOwned>(arguments: &str) -> Result<T, ToolError> {
    serde_json::from_str(arguments).map_err(|err| ToolError::invalid(format!("cannot read the arguments: {err}")))
}

/// A tool-side view of a broker failure: denied requests stay `denied`, size
/// limits `limit-exceeded`, everything else is an `upstream` failure.
pub fn from_http_error(error: http::HttpError) -> ToolError {
    let kind = match error.kind {
        http::HttpErrorKind::Denied => ToolErrorKind::Denied,
        http::HttpErrorKind::TooLarge | http::HttpErrorKind::Limit => ToolErrorKind::LimitExceeded,
        _ => ToolErrorKind::Upstream,
    };
    ToolError::new(kind, error.message)
}

/// Export `$tool` (a type implementing [`Tool`]) as the component's
/// `cordon:provider/tool` interface.
#[macro_export]
macro_rules! export_tool {
    ($tool:ty) => {
        #[doc(hidden)]
        pub struct __CordonToolExport;

        impl $crate::tool::bindings::exports::cordon::provider::tool::Guest for __CordonToolExport {
            fn info() -> $crate::tool::ToolInfo {
                <$tool as $crate::tool::Tool>::info()
            }

            fn call(action: String, arguments: String) -> Result<String, $crate::tool::ToolError> {
                <$tool as $crate::tool::Tool>::call(&action, &arguments)
            }
        }

        $crate::tool::bindings::export_tool_bindings!(__CordonToolExport with_types_in $crate::tool::bindings);
    };
}
