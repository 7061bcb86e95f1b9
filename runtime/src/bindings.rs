//! The host's `bindgen!`s: generated types and traits for the
//! `provider-component` and `tool-component` worlds. The tool world reuses the
//! provider world's `types`, `http` and `log`, so one linker serves both. Only
//! this module touches generated code paths directly; the rest of the crate uses
//! the re-exports below.

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

/// The `tool-component` world.
pub mod tool_world {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "cordon:provider/tool-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "cordon:provider/types": super::cordon::provider::types,
            "cordon:provider/http": super::cordon::provider::http,
            "cordon:provider/log": super::cordon::provider::log,
        },
    });
}

pub use self::cordon::provider::{http, log, types as wit};
pub use self::exports::cordon::provider::provider::ProviderInfo;
pub use self::tool_world::ToolComponentPre;
pub use self::tool_world::exports::cordon::provider::tool as tool_api;
