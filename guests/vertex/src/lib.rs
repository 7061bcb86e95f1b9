//! The Google Vertex AI provider: Gemini (`publishers/google`,
//! `:streamGenerateContent?alt=sse`) and Claude (`publishers/anthropic`,
//! `:streamRawPredict`) under
//! `https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}`.
//!
//! Requests, streams and errors are the Gemini and Anthropic providers' own
//! code (`cordon-gemini`, `cordon-anthropic` as libraries); this crate adds the
//! URL, the publisher choice, the Claude body's Vertex fields and the choice of
//! error classifier. The request names the `google` secret, a service account
//! the host turns into an access token (`authorization: Bearer`) after the
//! allowlist checks: the guest never sees the key or the token. The Model
//! Garden's catalogue is read for `list-models` and `health` in [`models`].

pub mod errors;
pub mod models;
pub mod options;
pub mod publisher;
pub mod request;
pub mod stream;

use cordon_anthropic::Anthropic;
use cordon_gemini::Gemini;
use cordon_sdk::settings;
use cordon_sdk::{Framing, NativeRequest, Provider, ProviderConfig, ProviderError, ProviderInfo, Request, State};
use serde::{Deserialize, Serialize};

use crate::options::Options;
use crate::publisher::Publisher;

/// The secret the manifest declares: a Google service account, signed by the host.
pub const GOOGLE_SECRET: &str = "google";

/// The model used when neither the request nor the configuration names one.
pub const DEFAULT_MODEL: &str = "gemini-2.5-flash";

/// Claude models as Vertex AI names them (with their version after `@`).
pub const CLAUDE_MODELS: [&str; 3] =
    ["claude-sonnet-4-5@20250929", "claude-opus-4-5@20251101", "claude-haiku-4-5@20251001"];

/// The provider.
pub struct Vertex;

/// What `init` keeps for every turn.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Settings {
    /// Base URL, checked, without a trailing `/`.
    pub(crate) base_url: String,
    /// The checked options.
    pub(crate) options: Options,
    /// The model for requests that name none.
    default_model: Option<String>,
}

/// `extra`'s items that `list` lacks, appended to it.
fn union<T: PartialEq>(mut list: Vec<T>, extra: Vec<T>) -> Vec<T> {
    for item in extra {
        if !list.contains(&item) {
            list.push(item);
        }
    }
    list
}

impl Provider for Vertex {
    type Stream = stream::VertexStream;

    /// Models, capabilities and settings are the Gemini and Anthropic
    /// providers' together: which apply depends on the publisher a request goes
    /// to (a setting the publisher does not take is a warning, as there).
    fn info() -> ProviderInfo {
        let google = Gemini::info();
        let anthropic = Anthropic::info();
        ProviderInfo {
            name: "vertex".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: union(google.models, CLAUDE_MODELS.map(String::from).to_vec()),
            default_model: Some(DEFAULT_MODEL.into()),
            capabilities: union(google.capabilities, anthropic.capabilities),
            supported_settings: union(google.supported_settings, anthropic.supported_settings),
        }
    }

    fn init(config: ProviderConfig) -> Result<State, ProviderError> {
        let options = options::parse(config.options.as_deref())?;
        let default_base = publisher::default_base_url(&options.location);
        let base_url = settings::base_url(config.base_url, &default_base)?;
        if let Some(model) = config.default_model.as_deref() {
            publisher::model_id(model).map_err(|err| ProviderError::config(err.message))?;
        }
        settings::save(&Settings { base_url, options, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let kept: Settings = settings::load(state)?;
        let model = settings::model(&request.model, Some(kept.default_model.as_deref().unwrap_or(DEFAULT_MODEL)))?;
        let model = publisher::model_id(&model)?;
        let publisher = kept.options.publisher.unwrap_or_else(|| Publisher::for_model(model));
        let (body, warnings) = request::build_body(publisher, request, model)?;
        let url = publisher::endpoint(&kept.base_url, &kept.options, publisher, model);
        let mut native = settings::post_json(url, &body, Framing::Sse, warnings)?;
        native.http.secrets = vec![GOOGLE_SECRET.into()];
        Ok(native)
    }

    fn stream(_state: &State, request: &NativeRequest) -> Self::Stream {
        stream::VertexStream::new(Publisher::of_endpoint(&request.http.url))
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
    use cordon_sdk::{ErrorKind, Message, Part, Role};

    fn init(base_url: Option<&str>, options: &str) -> Result<State, ProviderError> {
        Vertex::init(ProviderConfig { base_url: base_url.map(Into::into), default_model: None, options: Some(options.into()) })
    }

    fn hello(model: &str) -> Request {
        Request {
            model: model.into(),
            messages: vec![Message { role: Role::User, parts: vec![Part::Text("Hi".into())] }],
            ..Request::default()
        }
    }

    fn body(native: &NativeRequest) -> serde_json::Value {
        serde_json::from_slice(&native.http.body).expect("JSON body")
    }

    #[test]
    fn gemini_requests_go_to_the_regional_host_and_name_the_google_secret() {
        let state = init(None, r#"{"project":"p-1","location":"europe-west4"}"#).expect("init");
        let native = Vertex::to_native(&state, hello("")).expect("native");
        assert_eq!(
            native.http.url,
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/p-1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(native.http.secrets, [GOOGLE_SECRET]);
        assert!(native.http.headers.iter().all(|h| !h.name.eq_ignore_ascii_case("authorization")));
        assert_eq!(body(&native)["contents"][0]["parts"][0]["text"], "Hi");
        assert!(matches!(Vertex::stream(&state, &native), stream::VertexStream::Google(_)));
    }

    #[test]
    fn claude_requests_use_stream_raw_predict_by_model_name() {
        let state = init(Some("http://127.0.0.1:9/"), r#"{"project":"p-1","location":"global"}"#).expect("init");
        let native = Vertex::to_native(&state, hello("claude-sonnet-4-5@20250929")).expect("native");
        assert_eq!(
            native.http.url,
            "http://127.0.0.1:9/v1/projects/p-1/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
        );
        assert_eq!(native.http.secrets, [GOOGLE_SECRET]);
        assert!(native.http.headers.iter().all(|h| !h.name.eq_ignore_ascii_case("anthropic-version")));
        let sent = body(&native);
        assert_eq!(sent["anthropic_version"], request::ANTHROPIC_VERSION);
        assert!(sent.get("model").is_none());
        assert!(matches!(Vertex::stream(&state, &native), stream::VertexStream::Anthropic(_)));
    }

    #[test]
    fn the_publisher_option_overrides_the_model_name() {
        let state = init(None, r#"{"project":"p","location":"us-east5","publisher":"anthropic"}"#).expect("init");
        let native = Vertex::to_native(&state, hello("my-tuned-claude")).expect("native");
        assert!(native.http.url.contains("/publishers/anthropic/models/my-tuned-claude:streamRawPredict"), "{}", native.http.url);
        let state = init(None, r#"{"project":"p","location":"us-east5","publisher":"google"}"#).expect("init");
        let native = Vertex::to_native(&state, hello("claude-lookalike")).expect("native");
        assert!(native.http.url.contains("/publishers/google/"), "{}", native.http.url);
    }

    #[test]
    fn bad_configuration_and_models_are_refused() {
        let error = init(None, r#"{"location":"us-central1"}"#).expect_err("no project");
        assert_eq!(error.kind, ErrorKind::Config);
        assert!(error.message.contains("`project`"));
        assert!(init(Some("ftp://x"), r#"{"project":"p","location":"global"}"#).is_err());
        let bad_default = Vertex::init(ProviderConfig {
            base_url: None,
            default_model: Some("a/b".into()),
            options: Some(r#"{"project":"p","location":"global"}"#.into()),
        });
        assert_eq!(bad_default.expect_err("bad model").kind, ErrorKind::Config);
        let state = init(None, r#"{"project":"p","location":"global"}"#).expect("init");
        let error = Vertex::to_native(&state, hello("m/../../x")).expect_err("bad model");
        assert_eq!(error.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn info_joins_both_publishers() {
        let info = Vertex::info();
        assert_eq!(info.name, "vertex");
        assert!(info.models.iter().any(|m| m.starts_with("gemini-")));
        assert!(info.models.iter().any(|m| m.starts_with("claude-")));
        for setting in ["seed", "reasoning.include-thoughts", "parallel-tool-calls", "top-k"] {
            assert!(info.supported_settings.iter().any(|s| s == setting), "{setting}");
        }
        let unique: std::collections::HashSet<_> = info.supported_settings.iter().collect();
        assert_eq!(unique.len(), info.supported_settings.len(), "no setting twice");
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(Vertex);
