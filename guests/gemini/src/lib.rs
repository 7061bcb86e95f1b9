//! The Google Gemini provider: `models/{model}:streamGenerateContent?alt=sse` on
//! the Gemini API (generativelanguage.googleapis.com), with the API key added by
//! the host as `x-goog-api-key`.
//!
//! The parsing lives in [`stream`] and compiles natively too, so it is tested
//! (and can be benchmarked) outside the sandbox. The request builder, the stream
//! parser and the error classifier are also used as a library by `guests/vertex`
//! (Gemini on Vertex AI), which turns off the `component` feature.

pub mod errors;
pub mod models;
pub mod partial;
pub mod request;
pub mod stream;

use cordon_sdk::{
    Capability, ErrorKind, Framing, NativeRequest, Provider,
    ProviderConfig, ProviderError, ProviderInfo, Request, State,
};
use cordon_sdk::settings::{self, Upstream};

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// The API version used when the base URL names none.
pub const API_VERSION: &str = "v1beta";


/// The provider.
pub struct Gemini;

/// Whether `base_url` already ends in an API version (`.../v1beta`, `.../v1`,
/// `.../v1beta1`), so no version is added to it.
pub fn ends_in_api_version(base_url: &str) -> bool {
    base_url
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_prefix('v'))
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// The streaming endpoint for `model` under `base_url`. A base URL that already
/// ends in an API version (`.../v1beta`, `.../v1`) is used as is.
pub fn endpoint(base_url: &str, model: &str) -> String {
    if ends_in_api_version(base_url) {
        format!("{base_url}/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base_url}/{API_VERSION}/models/{model}:streamGenerateContent?alt=sse")
    }
}

/// The model id as it goes in the URL path: a leading `models/` is dropped, and
/// anything but letters, digits, `.`, `-` and `_` is refused (it would change the path).
pub fn model_id(model: &str) -> Result<&str, ProviderError> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let valid = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if valid {
        Ok(id)
    } else {
        Err(ProviderError::new(
            ErrorKind::InvalidRequest,
            format!(
                "model `{model}` is not a Gemini model id: use letters, digits, `.`, `-` and `_`, \
                 e.g. `gemini-2.5-flash`"
            ),
        ))
    }
}

impl Provider for Gemini {
    type Stream = stream::GeminiStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "gemini".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-3-pro-preview"]
                .map(String::from)
                .to_vec(),
            default_model: Some("gemini-2.5-flash".into()),
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
                "reasoning.budget-tokens",
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
        let base_url = settings::base_url(config.base_url, DEFAULT_BASE_URL)?;
        if let Some(text) = config.options.as_deref() {
            let options: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
                .map_err(|err| ProviderError::config(format!("invalid gemini options: {err}")))?;
            if let Some(name) = options.keys().next() {
                return Err(ProviderError::config(format!(
                    "unknown gemini option `{name}`: the gemini provider takes no options"
                )));
            }
        }
        if let Some(model) = config.default_model.as_deref() {
            model_id(model).map_err(|err| ProviderError::config(err.message))?;
        }
        settings::save(&Upstream { base_url, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let kept: Upstream = settings::load(state)?;
        let model = settings::model(&request.model, kept.default_model.as_deref())?;
        let model = model_id(&model)?;
        let (body, warnings) = request::build_body(request, model)?;
        settings::post_json(endpoint(&kept.base_url, model), &body, Framing::Sse, warnings)
    }

    fn stream(_state: &State, _request: &NativeRequest) -> Self::Stream {
        stream::GeminiStream::default()
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
    use cordon_sdk::{Message, Part, Role};

    fn config(base_url: Option<&str>, options: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            base_url: base_url.map(Into::into),
            default_model: Some("gemini-2.5-flash".into()),
            options: options.map(Into::into),
        }
    }

    fn hello(model: &str) -> Request {
        Request {
            model: model.into(),
            messages: vec![Message { role: Role::User, parts: vec![Part::Text("Hi".into())] }],
            ..Request::default()
        }
    }

    #[test]
    fn native_request_goes_to_the_stream_endpoint_with_the_key_secret() {
        let state = Gemini::init(config(None, None)).expect("init");
        let native = Gemini::to_native(&state, hello("")).expect("native");
        assert_eq!(
            native.http.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(native.http.method, "POST");
        assert_eq!(native.http.secrets, ["api-key"]);
        assert!(native.http.headers.iter().all(|h| !h.name.eq_ignore_ascii_case("x-goog-api-key")));
        assert!(matches!(native.framing, Framing::Sse));
        let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON body");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "Hi");
    }

    #[test]
    fn endpoints_and_model_ids() {
        assert_eq!(
            endpoint("http://localhost:8080/v1beta", "m"),
            "http://localhost:8080/v1beta/models/m:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            endpoint("http://localhost:8080/proxy", "m"),
            "http://localhost:8080/proxy/v1beta/models/m:streamGenerateContent?alt=sse"
        );
        assert_eq!(model_id("models/gemini-2.5-pro").ok(), Some("gemini-2.5-pro"));
        assert!(model_id("gemini/../../x").is_err());
        assert!(model_id("a?b").is_err());
        assert!(model_id("").is_err());
    }

    #[test]
    fn init_refuses_bad_configuration() {
        assert!(Gemini::init(config(Some("ftp://x"), None)).is_err());
        assert!(Gemini::init(config(None, Some(r#"{"colour":"blue"}"#))).is_err());
        assert!(Gemini::init(config(None, Some("{}"))).is_ok());
        let mut bad_model = config(None, None);
        bad_model.default_model = Some("a/b".into());
        assert_eq!(Gemini::init(bad_model).expect_err("bad model").kind, ErrorKind::Config);
    }

    #[test]
    fn info_names_the_provider() {
        let info = Gemini::info();
        assert_eq!(info.name, "gemini");
        assert_eq!(info.default_model.as_deref(), Some("gemini-2.5-flash"));
        assert!(!info.supported_settings.iter().any(|s| s == "parallel-tool-calls"));
    }
}

#[cfg(all(target_arch = "wasm32", feature = "component"))]
cordon_sdk::export_provider!(Gemini);
