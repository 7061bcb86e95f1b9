//! The one `bindgen!` of the host: generated types and traits for the
//! `provider-component` world. Only this module touches generated code paths
//! directly; the rest of the crate uses the re-exports below.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "cordon:provider/provider-component",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "cordon:provider/http.body": crate::broker::IncomingBody,
    },
});

pub use self::cordon::provider::{http, log, types as wit};
pub use self::exports::cordon::provider::provider::ProviderInfo;
