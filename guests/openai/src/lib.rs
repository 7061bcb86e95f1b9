//! The OpenAI-compatible provider: Chat Completions with `stream: true`, for
//! OpenAI and every server that speaks its wire format (vLLM, llama.cpp, Groq,
//! DeepSeek, Mistral, xAI, OpenRouter, Azure OpenAI), selected by the base URL.
//! What one service does differently is data, in the options ([`quirks`]);
//! the presets (`cordon providers`) carry each service's.
//!
//! The parsing lives in [`stream`] and compiles natively too, so the benchmark
//! can compare the same code in and out of the sandbox.

pub mod quirks;
pub mod models;
pub mod request;
pub mod stream;

use cordon_sdk::settings;
use cordon_sdk::{
    Capability, Framing, Header, NativeRequest, Provider, ProviderConfig, ProviderError, ProviderInfo, Request,
    State,
};
use serde::{Deserialize, Serialize};

use quirks::Quirks;
use request::MaxTokensField;

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The provider.
pub struct OpenAi;

/// What this provider keeps in its host-owned state.
#[derive(Debug, Serialize, Deserialize)]
struct Settings {
    base_url: String,
    default_model: Option<String>,
    max_tokens_field: Option<String>,
    /// What the service does differently (a state from before they existed reads as none).
    #[serde(default)]
    quirks: Quirks,
}

impl Settings {
    fn max_tokens_field(&self) -> MaxTokensField {
        match self.max_tokens_field.as_deref() {
            Some("max_tokens") => MaxTokensField::MaxTokens,
            Some(_) => MaxTokensField::MaxCompletionTokens,
            None if self.base_url.starts_with("https://api.openai.com") => {
                MaxTokensField::MaxCompletionTokens
            }
            None => MaxTokensField::MaxTokens,
        }
    }
}

impl Provider for OpenAi {
    type Stream = stream::ChatStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "openai".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: ["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini"]
                .map(String::from)
                .to_vec(),
            default_model: Some("gpt-4.1-mini".into()),
            capabilities: vec![
                Capability::Streaming,
                Capability::Tools,
                Capability::Reasoning,
                Capability::Images,
                Capability::JsonOutput,
            ],
            supported_settings: [
                "max-output-tokens",
                "temperature",
                "top-p",
                "presence-penalty",
                "frequency-penalty",
                "stop-sequences",
                "seed",
                "reasoning.effort",
                "response-format",
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
        let (max_tokens_field, quirks) = Quirks::parse(config.options.as_deref())?;
        let kept = Settings { base_url, default_model: config.default_model, max_tokens_field, quirks };
        settings::save(&kept, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let kept: Settings = settings::load(state)?;
        let model = settings::model(&request.model, kept.default_model.as_deref())?;
        let url = kept.quirks.url(&kept.base_url, &model)?;
        let (body, warnings) = request::build_body(request, &model, kept.max_tokens_field(), &kept.quirks);
        let mut native = settings::post_json(url, &body, Framing::Sse, warnings)?;
        native.http.headers.extend(
            kept.quirks.headers.iter().map(|(name, value)| Header { name: name.clone(), value: value.clone() }),
        );
        Ok(native)
    }

    fn stream(_state: &State, _request: &NativeRequest) -> Self::Stream {
        stream::ChatStream::default()
    }

    fn models_request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
        models::request(state)
    }

    fn parse_models(_state: &State, body: &[u8]) -> Result<cordon_sdk::models::ModelPage, ProviderError> {
        models::parse(body)
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(OpenAi);
