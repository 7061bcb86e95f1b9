//! Cordon: a WebAssembly component sandbox runtime for LLM providers and agent tools.
//!
//! A provider or a tool is a WASM component built against the contract in `wit/`
//! (`cordon:provider@0.1.0`). The host loads it with its manifest, which only
//! asks for hosts and secrets; the operator's trust file grants them. The host
//! brokers every outbound request (granted origins, secrets, limits) and runs
//! each turn in a fresh, pooled instance. A guest can fail; the host keeps serving.
//!
//! ```no_run
//! # async fn demo() -> cordon::Result<()> {
//! use cordon::{ProviderOptions, Request, Runtime, RuntimeConfig, TrustStore};
//!
//! let mut config = RuntimeConfig::new("dist/components");
//! // What the operator approved (`cordon trust openai --secret api-key=env:OPENAI_API_KEY`).
//! config.trust = TrustStore::load("dist/trust.toml".as_ref()).map_err(cordon::Error::Config)?;
//! let runtime = Runtime::new(config)?;
//! let provider = runtime
//!     .load_provider("openai", ProviderOptions { base_url: Some("http://127.0.0.1:8080/v1".into()), ..Default::default() })
//!     .await?;
//!
//! // Stream events as they arrive...
//! let mut turn = provider.stream(Request::user("gpt-4.1-mini", "Say hi"));
//! while let Some(event) = turn.next().await {
//!     println!("{}", serde_json::to_string(&event).unwrap_or_default());
//! }
//! // ...or take the assembled result.
//! let result = provider.complete(Request::user("gpt-4.1-mini", "Say hi")).await?;
//! println!("{}", result.text());
//! # Ok(()) }
//! ```
//!
//! Modules, one concern each: [`engine`] (wasmtime, epochs), [`cache`]
//! (compiled components on disk),
//! [`component`] (loading and checking), [`manifest`] (what a component asks
//! for), [`asks`] (reviewing those asks), [`trust`] (what the operator grants),
//! [`policy`] (origins, internal addresses), [`broker`] (outbound HTTP), [`tls`]
//! (rustls on ring for every client), [`limits`], [`provider`] (turns), [`replay`] (a
//! local upstream that serves recorded streams), [`tool`] (tool components),
//! [`toolbox`] (tools by the names models call them), [`tool_loop`] (the
//! conversation between a model and its tools), [`registry`] (versions and
//! hot-swap), [`watch`] (reload on file change), [`admin`] (the admin endpoint),
//! [`pages`] (huge pages off for the process), and the public [`types`].

mod bindings;
mod convert;
mod cpu;
mod host;
mod host_0_2;
mod runtime;
mod scrub;
mod stdio;

pub mod admin;
pub mod asks;
pub mod broker;
pub mod cache;
pub mod component;
pub mod contract;
pub mod engine;
pub mod error;
pub mod fold;
pub mod grammar;
pub mod limits;
pub mod manifest;
pub mod models;
pub mod pages;
pub mod policy;
pub mod presets;
pub mod provider;
pub mod registry;
pub mod replay;
pub mod retry;
pub mod serve;
pub mod signing;
pub mod telemetry;
pub mod tls;
pub mod tool;
pub mod tool_loop;
pub mod toolbox;
pub mod trust;
pub mod types;
pub mod watch;

pub use error::{Error, Result};
pub use policy::Origin;
pub use provider::{Provider, TurnStream};
pub use registry::Registry;
pub use retry::{Resilient, RetryPolicy, Route};
pub use runtime::{ProviderOptions, Runtime, RuntimeConfig, ToolOptions};
pub use tool::{Tool, ToolError, ToolErrorKind};
pub use tool_loop::{LoopEvent, LoopResult, LoopStop, LoopStream, StepEvent, ToolLoop, ToolOutcome};
pub use toolbox::Toolbox;
pub use trust::{Approval, HostGrant, SecretSource, TrustStore};
pub use types::*;
