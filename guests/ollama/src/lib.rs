//! The Ollama provider: the native `/api/chat` endpoint with `stream: true`,
//! answered as newline-delimited JSON, for a local Ollama server or a remote one
//! selected by the base URL.
//!
//! The parsing lives in [`stream`] and compiles natively too, so it is tested
//! (and can be benchmarked) outside the sandbox.

pub mod errors;
pub mod models;
pub mod request;
pub mod stream;

use cordon_sdk::{
    Capability, Framing, NativeRequest, Provider, ProviderConfig,
    ProviderError, ProviderInfo, Request, State,
};
use cordon_sdk::settings::{self, Upstream};

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "http://localhost:11434";


/// The provider.
pub struct Ollama;

/// The server's root: no trailing `/`, and no `/api` (the paths add it), so
/// `http://host:11434`, `http://host:11434/` and `http://host:11434/api` all work.
fn normalize_base_url(base_url: &str) -> Result<String, ProviderError> {
    let checked = settings::base_url(Some(base_url.to_owned()), DEFAULT_BASE_URL)?;
    let root = checked.as_str();
    let root = root.strip_suffix("/api").unwrap_or(root).trim_end_matches('/');
    if root.ends_with("/v1") {
        return Err(ProviderError::config(format!(
            "base URL `{base_url}` is Ollama's OpenAI-compatible endpoint; this provider speaks \
             the native API: drop the `/v1` (or use the openai provider with that URL)"
        )));
    }
    Ok(root.to_owned())
}

/// The provider options (`init`'s `options`): none. Per-request Ollama
/// settings go in a request's provider options under `"ollama"`.
fn check_options(options: Option<&str>) -> Result<(), ProviderError> {
    settings::no_options(
        options,
        "ollama",
        "per-request settings such as `keep_alive` or `options.num_ctx` go in a request's provider options under \"ollama\"",
    )
}

impl Provider for Ollama {
    type Stream = stream::ChatStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "ollama".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: ["llama3.2", "llama3.1", "qwen3", "gpt-oss", "gemma3", "deepseek-r1"]
                .map(String::from)
                .to_vec(),
            // Ollama serves whatever models were pulled: there is no safe default.
            default_model: None,
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
                "top-k",
                "presence-penalty",
                "frequency-penalty",
                "stop-sequences",
                "seed",
                "reasoning.effort",
                "reasoning.include-thoughts",
                "response-format",
                "tools",
                "tool-choice",
            ]
            .map(String::from)
            .to_vec(),
        }
    }

    fn init(config: ProviderConfig) -> Result<State, ProviderError> {
        let base_url = normalize_base_url(config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        check_options(config.options.as_deref())?;
        settings::save(&Upstream { base_url, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let kept: Upstream = settings::load(state)?;
        let model = settings::model(&request.model, kept.default_model.as_deref()).map_err(|mut error| {
            error.message.push_str(" that the Ollama server has pulled (`ollama list` shows them)");
            error
        })?;
        let (body, warnings) = request::build_body(request, &model);
        settings::post_json(format!("{}/api/chat", kept.base_url), &body, Framing::Ndjson, warnings)
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

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{ErrorKind, Message, Part, Role};

    fn config(base_url: Option<&str>, default_model: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            base_url: base_url.map(str::to_owned),
            default_model: default_model.map(str::to_owned),
            options: None,
        }
    }

    fn request(model: &str) -> Request {
        Request {
            model: model.into(),
            messages: vec![Message { role: Role::User, parts: vec![Part::Text("Hi".into())] }],
            ..Request::default()
        }
    }

    #[test]
    fn native_request_goes_to_api_chat_as_ndjson() {
        let state = Ollama::init(config(None, None)).expect("init");
        let native = Ollama::to_native(&state, request("llama3.2")).expect("to_native");
        assert_eq!(native.http.method, "POST");
        assert_eq!(native.http.url, "http://localhost:11434/api/chat");
        assert!(matches!(native.framing, Framing::Ndjson));
        assert_eq!(native.http.secrets, ["api-key"]);
        assert!(native.http.headers.iter().any(|h| h.name == "content-type" && h.value == "application/json"));
        let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON body");
        assert_eq!(body["model"], "llama3.2");
        assert_eq!(body["stream"], true);
        assert!(native.warnings.is_empty());
    }

    #[test]
    fn base_urls_are_normalized() {
        for given in ["http://gpu-box:11434", "http://gpu-box:11434/", "http://gpu-box:11434/api/"] {
            assert_eq!(normalize_base_url(given).expect("valid"), "http://gpu-box:11434", "{given}");
        }
        let v1 = normalize_base_url("http://localhost:11434/v1").expect_err("the OpenAI endpoint");
        assert_eq!(v1.kind, ErrorKind::Config);
        assert!(normalize_base_url("localhost:11434").is_err());
    }

    #[test]
    fn model_falls_back_to_the_configured_default_else_fails() {
        let state = Ollama::init(config(Some("http://127.0.0.1:11434"), Some("qwen3"))).expect("init");
        let native = Ollama::to_native(&state, request("")).expect("to_native");
        let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON body");
        assert_eq!(body["model"], "qwen3");
        assert_eq!(native.http.url, "http://127.0.0.1:11434/api/chat");

        let state = Ollama::init(config(None, None)).expect("init");
        let error = Ollama::to_native(&state, request("")).expect_err("no model");
        assert_eq!(error.kind, ErrorKind::Config);
        assert!(error.message.contains("ollama list"));
    }

    #[test]
    fn options_are_refused_with_a_pointer() {
        let mut with_options = config(None, None);
        with_options.options = Some(r#"{"num_ctx": 8192}"#.into());
        let error = Ollama::init(with_options).expect_err("no options");
        assert!(error.message.contains("num_ctx"));
        let mut empty = config(None, None);
        empty.options = Some("{}".into());
        assert!(Ollama::init(empty).is_ok());
    }

    #[test]
    fn info_lists_what_is_mapped() {
        let info = Ollama::info();
        assert_eq!(info.name, "ollama");
        assert!(info.models.iter().any(|m| m == "gpt-oss"));
        assert!(info.supported_settings.iter().any(|s| s == "top-k"));
        assert!(!info.supported_settings.iter().any(|s| s == "parallel-tool-calls"));
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(Ollama);
