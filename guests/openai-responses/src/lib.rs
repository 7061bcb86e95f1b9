//! The OpenAI Responses provider: `POST /responses` with `stream: true`. Text,
//! reasoning summaries, function calls keyed by their `call_id`, usage with
//! cached and reasoning tokens, `response.incomplete` reasons mapped,
//! `response.failed` and mid-stream `error` events classified.
//!
//! The parsing lives in [`stream`] and compiles natively too, so it is tested
//! outside the sandbox.

pub mod request;
pub mod models;
pub mod stream;

use cordon_sdk::settings::{self, Upstream};
use cordon_sdk::{
    Capability, Framing, NativeRequest, Provider, ProviderConfig, ProviderError,
    ProviderInfo, Request, State,
};

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The model used when neither the request nor the configuration names one.
pub const DEFAULT_MODEL: &str = "gpt-5-mini";


/// The provider.
pub struct Responses;

impl Provider for Responses {
    type Stream = stream::ResponsesStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "openai-responses".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: ["gpt-5", "gpt-5-mini", "gpt-4.1", "o4-mini"].map(String::from).to_vec(),
            default_model: Some(DEFAULT_MODEL.into()),
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
                "reasoning.effort",
                "reasoning.include-thoughts",
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
        settings::save(&Upstream { base_url, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let kept: Upstream = settings::load(state)?;
        let model = settings::model(&request.model, Some(kept.default_model.as_deref().unwrap_or(DEFAULT_MODEL)))?;
        let (body, warnings) = request::build_body(request, &model);
        settings::post_json(format!("{}/responses", kept.base_url), &body, Framing::Sse, warnings)
    }

    fn stream(_state: &State, _request: &NativeRequest) -> Self::Stream {
        stream::ResponsesStream::default()
    }

    fn models_request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
        models::request(state)
    }

    fn parse_models(_state: &State, body: &[u8]) -> Result<cordon_sdk::models::ModelPage, ProviderError> {
        models::parse(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{Message, Part, Role};

    fn config(base_url: Option<&str>, default_model: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            base_url: base_url.map(String::from),
            default_model: default_model.map(String::from),
            options: None,
        }
    }

    fn hello() -> Request {
        Request { messages: vec![Message { role: Role::User, parts: vec![Part::Text("hi".into())] }], ..Request::default() }
    }

    #[test]
    fn native_request_goes_to_responses_with_the_key_secret() {
        let state = Responses::init(config(None, None)).expect("init");
        let native = Responses::to_native(&state, hello()).expect("native");
        assert_eq!(native.http.method, "POST");
        assert_eq!(native.http.url, "https://api.openai.com/v1/responses");
        assert_eq!(native.http.secrets, ["api-key"]);
        assert!(matches!(native.framing, Framing::Sse));
        assert!(native.http.headers.iter().all(|h| !h.name.eq_ignore_ascii_case("authorization")));
        let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON body");
        assert_eq!(body["model"], DEFAULT_MODEL);
        assert_eq!(body["stream"], true);
        assert!(native.warnings.is_empty());
    }

    #[test]
    fn configured_base_url_and_default_model() {
        let state = Responses::init(config(Some("http://127.0.0.1:9/v1/"), Some("gpt-5"))).expect("init");
        let native = Responses::to_native(&state, hello()).expect("native");
        assert_eq!(native.http.url, "http://127.0.0.1:9/v1/responses");
        let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON body");
        assert_eq!(body["model"], "gpt-5");
        let named = Request { model: "o4-mini".into(), ..hello() };
        let body: serde_json::Value =
            serde_json::from_slice(&Responses::to_native(&state, named).expect("native").http.body).expect("JSON");
        assert_eq!(body["model"], "o4-mini");
        assert!(Responses::init(config(Some("ftp://x"), None)).is_err());
    }

    #[test]
    fn info_names_what_is_mapped() {
        let info = Responses::info();
        assert_eq!(info.name, "openai-responses");
        assert_eq!(info.default_model.as_deref(), Some("gpt-5-mini"));
        assert!(info.models.iter().any(|m| m == "gpt-5-mini"));
        for unsupported in ["top-k", "seed", "presence-penalty", "frequency-penalty", "stop-sequences"] {
            assert!(!info.supported_settings.iter().any(|s| s == unsupported), "{unsupported}");
        }
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(Responses);
