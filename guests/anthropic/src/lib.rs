//! The Anthropic provider: the Messages API with `stream: true`. Text, thinking
//! (with signatures; redacted thinking kept as opaque data), tool use with
//! streamed JSON input, cumulative usage with cache tokens, stop reasons mapped,
//! mid-stream `error` events (`overloaded_error` is retryable).
//!
//! The parsing lives in [`stream`] and compiles natively too.

pub mod errors;
pub mod request;
pub mod stream;

use cordon_sdk::{
    Capability, Framing, Header, NativeRequest, OutgoingRequest, Provider, ProviderConfig, ProviderError,
    ProviderInfo, Request, State,
};
use serde::{Deserialize, Serialize};

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The API version header value this provider speaks.
pub const API_VERSION: &str = "2023-06-01";

/// The provider.
pub struct Anthropic;

/// What this provider keeps in its host-owned state.
#[derive(Debug, Serialize, Deserialize)]
struct Settings {
    base_url: String,
    default_model: Option<String>,
}

impl Provider for Anthropic {
    type Stream = stream::MessagesStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "anthropic".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: ["claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"].map(String::from).to_vec(),
            default_model: Some("claude-sonnet-4-5".into()),
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
        let base_url = config.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.into());
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(ProviderError::config(format!("base URL `{base_url}` must start with http:// or https://")));
        }
        let settings = Settings { base_url: base_url.trim_end_matches('/').to_owned(), default_model: config.default_model };
        let data = serde_json::to_vec(&settings)
            .map_err(|err| ProviderError::config(format!("cannot store settings: {err}")))?;
        Ok(State { producer_version: env!("CARGO_PKG_VERSION").into(), data })
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let settings: Settings = serde_json::from_slice(&state.data)
            .map_err(|err| ProviderError::config(format!("the provider state is unreadable ({err}); re-run init")))?;
        let model = if !request.model.is_empty() {
            request.model.clone()
        } else {
            settings.default_model.clone().unwrap_or_else(|| "claude-sonnet-4-5".into())
        };
        let (body, warnings) = request::build_body(request, &model);
        let body = serde_json::to_vec(&body)
            .map_err(|err| ProviderError::config(format!("cannot encode the request: {err}")))?;
        let header = |name: &str, value: &str| Header { name: name.into(), value: value.into() };
        Ok(NativeRequest {
            http: OutgoingRequest {
                method: "POST".into(),
                url: format!("{}/v1/messages", settings.base_url),
                headers: vec![
                    header("content-type", "application/json"),
                    header("accept", "text/event-stream"),
                    header("anthropic-version", API_VERSION),
                ],
                body,
                secrets: vec!["api-key".into()],
            },
            framing: Framing::Sse,
            warnings,
        })
    }

    fn stream(_state: &State, _request: &NativeRequest) -> Self::Stream {
        stream::MessagesStream::default()
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(Anthropic);
