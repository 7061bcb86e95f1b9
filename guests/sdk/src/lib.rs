//! The Rust guest SDK for Cordon providers and tools.
//!
//! Pick what the crate builds with a feature: `provider` or `tool` (one per
//! component: each brings its own world's bindings).
//!
//! A provider crate implements [`Provider`] (describe, configure, translate a
//! request) and a [`StreamHandler`] (turn decoded frames into events), then calls
//! [`export_provider!`]. The SDK does the rest: it sends the native request through
//! the host's HTTP broker, reads the body chunk by chunk, decodes SSE, NDJSON or
//! AWS's binary event stream ([`sse`], [`ndjson`], [`eventstream`]), batches
//! events across the boundary, assembles the final result and turns broker
//! failures into classified errors.
//!
//! ```ignore
//! struct MyProvider;
//! impl cordon_sdk::Provider for MyProvider { /* ... */ }
//! cordon_sdk::export_provider!(MyProvider);
//! ```
//!
//! A tool crate implements [`tool::Tool`] and calls [`export_tool!`]; see [`tool`].

pub mod eventstream;
pub mod json;
pub mod ndjson;
pub mod sse;

#[cfg(feature = "provider")]
pub mod errors;
#[cfg(all(feature = "provider", not(feature = "contract-0-1")))]
pub mod models;
#[cfg(feature = "provider")]
pub mod openai_errors;
#[cfg(feature = "provider")]
pub mod openai_shapes;
#[cfg(feature = "provider")]
pub mod settings;
#[cfg(feature = "tool")]
pub mod tool;

#[cfg(feature = "provider")]
mod emit;
#[cfg(feature = "provider")]
mod turn;

/// The generated bindings for the `provider-component` world of the current
/// contract, `cordon:provider@0.2.0` (`wit/`).
///
/// Provider crates normally need only the re-exported types below; the raw
/// bindings are public for components that want to drive `http` themselves.
#[cfg(all(feature = "provider", not(feature = "contract-0-1")))]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "cordon:provider/provider-component",
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "cordon_sdk::bindings",
    });
}

/// The generated bindings for the `provider-component` world of the old
/// contract, `cordon:provider@0.1.0` (`wit/0.1.0/`), with the feature
/// `contract-0-1`: for components that must run on hosts that serve only
/// 0.1.0, and for the host's tests that it still serves 0.1.0 components.
#[cfg(all(feature = "provider", feature = "contract-0-1"))]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/0.1.0",
        world: "cordon:provider/provider-component",
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "cordon_sdk::bindings",
    });
}

#[cfg(feature = "provider")]
pub use bindings::cordon::provider::http;
#[cfg(feature = "provider")]
pub use bindings::cordon::provider::log;
#[cfg(feature = "provider")]
pub use bindings::cordon::provider::types::*;
#[cfg(feature = "provider")]
pub use bindings::exports::cordon::provider::provider::{Capability, ProviderInfo};

#[cfg(feature = "provider")]
pub use emit::{Emitter, empty_usage, joined_reasoning, joined_text, tool_calls};
#[cfg(feature = "provider")]
pub use turn::{BodyFraming, Frame, Provider, StreamHandler, TurnRunner};

#[cfg(feature = "provider")]
/// Export `$provider` (a type implementing [`Provider`]) as the component's
/// `cordon:provider/provider` interface: `@0.2.0`, with `list-models` and
/// `health` through [`models`], or `@0.1.0` with the feature `contract-0-1`.
#[macro_export]
macro_rules! export_provider {
    ($provider:ty) => {
        #[doc(hidden)]
        pub struct __CordonExport;

        impl $crate::bindings::exports::cordon::provider::provider::Guest for __CordonExport {
            type Turn = $crate::TurnRunner<$provider>;

            fn info() -> $crate::ProviderInfo {
                <$provider as $crate::Provider>::info()
            }

            fn init(config: $crate::ProviderConfig) -> Result<$crate::State, $crate::ProviderError> {
                <$provider as $crate::Provider>::init(config)
            }

            fn to_native(
                state: $crate::State,
                request: $crate::Request,
            ) -> Result<$crate::NativeRequest, $crate::ProviderError> {
                <$provider as $crate::Provider>::to_native(&state, request)
            }

            fn finalize(
                state: $crate::State,
                turn: $crate::bindings::exports::cordon::provider::provider::Turn,
            ) -> Result<$crate::Finalized, $crate::ProviderError> {
                turn.into_inner::<$crate::TurnRunner<$provider>>().finalize(state)
            }

            $crate::__contract_exports!($provider);
        }

        $crate::bindings::export_bindings!(__CordonExport with_types_in $crate::bindings);
    };
}

#[cfg(all(feature = "provider", not(feature = "contract-0-1")))]
/// The exports contract 0.2.0 adds, for [`export_provider!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_exports {
    ($provider:ty) => {
        fn list_models(state: $crate::State) -> Result<Vec<$crate::models::ModelInfo>, $crate::ProviderError> {
            $crate::models::list_models::<$provider>(&state)
        }

        fn health(state: $crate::State) -> $crate::models::HealthReport {
            $crate::models::health::<$provider>(&state)
        }
    };
}

#[cfg(all(feature = "provider", feature = "contract-0-1"))]
/// Contract 0.1.0 has no exports beyond the turn's, for [`export_provider!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_exports {
    ($provider:ty) => {};
}
