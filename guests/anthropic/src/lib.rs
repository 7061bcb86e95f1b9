//! The Anthropic provider: the Messages API with `stream: true`. Text, thinking
//! (with signatures; redacted thinking kept as opaque data), tool use with
//! streamed JSON input, cumulative usage with cache tokens, stop reasons mapped,
//! mid-stream `error` events (`overloaded_error` is retryable).
//!
//! The parsing lives in [`stream`] and compiles natively too. The request
//! builder, the stream parser and the error classifier are also used as a
//! library by `guests/vertex` (Claude on Vertex AI), which turns off the
//! `component` feature.

pub mod errors;
pub mod models;
pub mod request;
pub mod stream;

use cordon_sdk::settings::{self, Upstream};
use cordon_sdk::{
    Capability, Framing, Header, NativeRequest, Provider, ProviderConfig, ProviderError,
    ProviderInfo, Request, State,
};

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The model used when neither the request nor the configuration names one.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

/// The API version header value this provider speaks.
pub const API_VERSION: &str = "2023-06-01";

/// The provider.
pub struct Anthropic;

impl Provider for Anthropic {
    type Stream = stream::MessagesStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "anthropic".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: ["claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"].map(String::from).to_vec(),
            default_model: Some(DEFAULT_MODEL.into()),
            capabilities: vec![Capability::Streaming, Capability::Tools, Capability::Reasoning, Capability::Images],
            supported_settings: [
                "max-output-tokens",
                "temperature",
                "top-p",
                "top-k",
                "stop-sequences",
                "reasoning.effort",
                "reasoning.budget-tokens",
                "tools",
                "tool-choice",
                "parallel-tool-calls",
            ]
            .map(String::from)
            .to_vec(),
        }
    }

    fn init(config: ProviderConfig) -> Result<State, ProviderError> {
        let base_url = settings::base_url(config.base_url, DEFAULT_BASE_URL)?;
        settings::save(&Upstream { base_url, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let kept: Upstream = settings::load(state)?;
        let model = settings::model(&request.model, Some(kept.default_model.as_deref().unwrap_or(DEFAULT_MODEL)))?;
        let (body, warnings) = request::build_body(request, &model);
        let mut native = settings::post_json(format!("{}/v1/messages", kept.base_url), &body, Framing::Sse, warnings)?;
        native.http.headers.push(Header { name: "anthropic-version".into(), value: API_VERSION.into() });
        Ok(native)
    }

    fn stream(_state: &State, _request: &NativeRequest) -> Self::Stream {
        stream::MessagesStream::default()
    }

    fn models_request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
        models::request(state)
    }

    fn parse_models(state: &State, body: &[u8]) -> Result<cordon_sdk::models::ModelPage, ProviderError> {
        models::parse(state, body)
    }

    fn health_request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
        models::probe(state)
    }
}

#[cfg(all(target_arch = "wasm32", feature = "component"))]
cordon_sdk::export_provider!(Anthropic);
