//! The Cohere provider: the v2 Chat API, streamed (`POST {base}/v2/chat` with
//! `stream: true`, answered as server-sent events), the API key sent by the
//! host as a bearer token.
//!
//! The request body is built in [`request`], the stream parsed in [`stream`],
//! errors classified in [`errors`]; all compile natively too, so they are
//! tested outside the sandbox.

pub mod errors;
pub mod models;
pub mod request;
pub mod stream;

use cordon_sdk::settings::{self, Upstream};
use cordon_sdk::{Capability, Framing, NativeRequest, Provider, ProviderConfig, ProviderError, ProviderInfo, Request, State};

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.cohere.com";

/// The model used when neither the request nor the configuration names one.
pub const DEFAULT_MODEL: &str = "command-a-03-2025";

/// The models it knows of (Cohere serves others too, and newer ones).
const MODELS: [&str; 6] = [
    DEFAULT_MODEL,
    "command-a-reasoning-08-2025",
    "command-a-vision-07-2025",
    "command-r7b-12-2024",
    "command-r-plus-08-2024",
    "command-r-08-2024",
];

/// The settings it honours, by the contract's names.
const SETTINGS: [&str; 12] = [
    "max-output-tokens", "temperature", "top-p", "top-k", "presence-penalty", "frequency-penalty",
    "stop-sequences", "seed", "reasoning.budget-tokens", "response-format", "tools", "tool-choice",
];

/// The provider.
pub struct Cohere;

/// The API's root, without a trailing `/` or `/v2` (the path adds it), so
/// `https://api.cohere.com` and `https://api.cohere.com/v2/` both work. A `/v1`
/// URL (the v1 API, or the OpenAI-compatible `/compatibility/v1`) is refused.
fn api_root(configured: Option<String>) -> Result<String, ProviderError> {
    let checked = settings::base_url(configured, DEFAULT_BASE_URL)?;
    if checked.ends_with("/v1") {
        return Err(ProviderError::config(format!(
            "base URL `{checked}` is a v1 endpoint; this provider speaks Cohere's v2 Chat API: pass the API's \
             root, e.g. `{DEFAULT_BASE_URL}` (for `/compatibility/v1`, use the openai provider)"
        )));
    }
    Ok(checked.strip_suffix("/v2").unwrap_or(&checked).to_owned())
}

impl Provider for Cohere {
    type Stream = stream::ChatStream;

    fn info() -> ProviderInfo {
        use Capability::{Images, JsonOutput, Reasoning, Streaming, Tools};
        ProviderInfo::new("cohere", env!("CARGO_PKG_VERSION"), &MODELS, Some(DEFAULT_MODEL), &[Streaming, Tools, Reasoning, Images, JsonOutput], &SETTINGS)
    }

    fn init(config: ProviderConfig) -> Result<State, ProviderError> {
        settings::no_options(
            config.options.as_deref(),
            "cohere",
            "per-request fields such as `documents`, `citation_options` or `safety_mode` go in a request's \
             provider options under \"cohere\"",
        )?;
        let base_url = api_root(config.base_url)?;
        settings::save(&Upstream { base_url, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        settings::post_upstream(state, request, Some(DEFAULT_MODEL), "/v2/chat", Framing::Sse, request::build_body)
    }

    fn stream(_state: &State, _request: &NativeRequest) -> Self::Stream {
        stream::ChatStream::default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::ErrorKind;

    fn state(base_url: Option<&str>, default_model: Option<&str>) -> State {
        let config = ProviderConfig { base_url: base_url.map(Into::into), default_model: default_model.map(Into::into), options: None };
        Cohere::init(config).expect("init")
    }

    #[test]
    fn the_request_is_a_streamed_v2_chat_post_with_the_key() {
        let native = Cohere::to_native(&state(None, None), Request::default()).expect("native");
        assert_eq!((native.http.method.as_str(), native.http.url.as_str()), ("POST", "https://api.cohere.com/v2/chat"));
        assert!(matches!(native.framing, Framing::Sse));
        assert_eq!(native.http.secrets, [settings::API_KEY_SECRET]);
        let header = |name: &str| native.http.headers.iter().find(|h| h.name == name).map(|h| h.value.as_str());
        assert_eq!(header("accept"), Some("text/event-stream"));
        assert_eq!(header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON");
        assert_eq!((body["model"].as_str(), body["stream"].as_bool()), (Some(DEFAULT_MODEL), Some(true)));
    }

    #[test]
    fn base_urls_and_models() {
        for given in ["http://127.0.0.1:9", "http://127.0.0.1:9/", "http://127.0.0.1:9/v2", "http://127.0.0.1:9/v2/"] {
            let native = Cohere::to_native(&state(Some(given), Some("command-r7b-12-2024")), Request::default()).expect("native");
            assert_eq!(native.http.url, "http://127.0.0.1:9/v2/chat", "{given}");
            let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON");
            assert_eq!(body["model"], "command-r7b-12-2024");
        }
        for v1 in ["https://api.cohere.com/v1", "https://api.cohere.com/compatibility/v1/"] {
            let config = ProviderConfig { base_url: Some(v1.into()), default_model: None, options: None };
            let error = Cohere::init(config).expect_err("a v1 URL");
            assert_eq!(error.kind, ErrorKind::Config);
            assert!(error.message.contains("v2 Chat"), "{}", error.message);
        }
        assert!(Cohere::init(ProviderConfig { base_url: Some("api.cohere.com".into()), default_model: None, options: None }).is_err());
        let options = ProviderConfig { base_url: None, default_model: None, options: Some(r#"{"documents":[]}"#.into()) };
        assert!(Cohere::init(options).expect_err("no options").message.contains("under \"cohere\""));
    }

    #[test]
    fn info_names_what_is_mapped() {
        let info = Cohere::info();
        assert_eq!((info.name.as_str(), info.default_model.as_deref()), ("cohere", Some(DEFAULT_MODEL)));
        for setting in ["top-k", "seed", "reasoning.budget-tokens", "tool-choice"] {
            assert!(info.supported_settings.iter().any(|s| s == setting), "{setting}");
        }
        assert!(!info.supported_settings.iter().any(|s| s == "parallel-tool-calls" || s == "reasoning.effort"));
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(Cohere);
