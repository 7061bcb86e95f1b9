//! The host's `bindgen!`s, one set per contract version the host serves:
//! [`v0_1`] from `wit/0.1.0/` and [`v0_2`] from `wit/`. Each has the
//! `provider-component` and `tool-component` worlds; a tool world reuses its
//! provider world's `http` and `log`. `types` is the same in both versions, so
//! 0.2.0's is mapped onto 0.1.0's generated types (`with:`): requests, events
//! and results are one set of Rust types whatever the component's version.
//! `http` and `log` have functions, whose import names carry the version, so
//! each version has its own (the host implements both, in [`crate::host`]).
//! Only this module touches generated code paths directly; the rest of the
//! crate uses the re-exports below and [`crate::contract`].

#![allow(missing_docs)]

/// Contract 0.1.0 (`wit/0.1.0/`).
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/0.1.0",
        world: "cordon:provider/provider-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "cordon:provider/http.body": crate::broker::IncomingBody,
        },
    });

    /// The 0.1.0 `tool-component` world.
    pub mod tool_world {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0",
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
}

/// Contract 0.2.0 (`wit/`): 0.1.0 plus `list-models` and `health`.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "cordon:provider/provider-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "cordon:provider/types": super::v0_1::cordon::provider::types,
            "cordon:provider/http.body": crate::broker::IncomingBody,
        },
    });

    /// The 0.2.0 `tool-component` world.
    pub mod tool_world {
        wasmtime::component::bindgen!({
            path: "../wit",
            world: "cordon:provider/tool-component",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "cordon:provider/types": super::super::v0_1::cordon::provider::types,
                "cordon:provider/http": super::cordon::provider::http,
                "cordon:provider/log": super::cordon::provider::log,
            },
        });
    }
}

pub use self::v0_1::cordon::provider::{http, log, types as wit};
pub use self::v0_1::exports::cordon::provider::provider::ProviderInfo;
pub use self::v0_1::tool_world::exports::cordon::provider::tool as tool_api;
