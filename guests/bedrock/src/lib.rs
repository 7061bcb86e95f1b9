//! The Amazon Bedrock provider: the Converse API, streamed
//! (`POST {base}/model/{modelId}/converse-stream`), answered in AWS's binary
//! event stream, which the SDK decodes ([`cordon_sdk::eventstream`]).
//!
//! The request names the `aws` secret: the host signs it with SigV4 (service
//! `bedrock`) after its allowlist checks, so the guest never sees the keys or
//! the signature. The region is the base URL's
//! (`https://bedrock-runtime.{region}.amazonaws.com`).
//!
//! The request body is built in [`request`], the stream parsed in [`stream`],
//! errors classified in [`errors`], the model catalogue (on the control-plane
//! host) read in [`models`]; all compile natively too.

pub mod errors;
pub mod models;
pub mod request;
pub mod stream;

use cordon_sdk::settings::{self, Upstream};
use cordon_sdk::{
    Capability, Framing, Header, NativeRequest, Provider, ProviderConfig, ProviderError, ProviderInfo, Request, State,
};

/// Where requests go when the configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://bedrock-runtime.us-east-1.amazonaws.com";

/// The model used when neither the request nor the configuration names one.
pub const DEFAULT_MODEL: &str = "amazon.nova-lite-v1:0";

/// The secret the manifest declares: AWS credentials the host signs with.
pub const AWS_SECRET: &str = "aws";

/// The media type of the answer's body.
pub const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// The provider.
pub struct Bedrock;

/// The path of the streaming Converse endpoint for `model`. The model id (an
/// inference profile or ARN may hold `:` and `/`) is one percent-encoded path segment.
pub fn converse_stream_path(model: &str) -> Result<String, ProviderError> {
    if model.is_empty() || model == "." || model == ".." {
        return Err(ProviderError::config(format!(
            "`{model}` is not a Bedrock model id; pass one such as `{DEFAULT_MODEL}` or an inference profile's ARN"
        )));
    }
    Ok(format!("/model/{}/converse-stream", settings::percent_encoded(model)))
}

/// The provider options (`init`'s `options`): none. Per-request Converse
/// fields go in a request's provider options under `"bedrock"`.
fn check_options(options: Option<&str>) -> Result<(), ProviderError> {
    settings::no_options(
        options,
        "bedrock",
        "the region is the base URL's (`https://bedrock-runtime.REGION.amazonaws.com`), and per-request \
         Converse fields such as `guardrailConfig` go in a request's provider options under \"bedrock\"",
    )
}

impl Provider for Bedrock {
    type Stream = stream::ConverseStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "bedrock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: [
                "amazon.nova-micro-v1:0",
                "amazon.nova-lite-v1:0",
                "amazon.nova-pro-v1:0",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "us.meta.llama3-3-70b-instruct-v1:0",
                "openai.gpt-oss-120b-1:0",
            ]
            .map(String::from)
            .to_vec(),
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
            ]
            .map(String::from)
            .to_vec(),
        }
    }

    fn init(config: ProviderConfig) -> Result<State, ProviderError> {
        check_options(config.options.as_deref())?;
        let base_url = settings::base_url(config.base_url, DEFAULT_BASE_URL)?;
        settings::save(&Upstream { base_url, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let kept: Upstream = settings::load(state)?;
        let model = settings::model(&request.model, Some(kept.default_model.as_deref().unwrap_or(DEFAULT_MODEL)))?;
        let url = format!("{}{}", kept.base_url, converse_stream_path(&model)?);
        let (body, warnings) = request::build_body(request, &model);
        // The contract's framing has no name for AWS's event stream: the request
        // says JSON (each message's payload is a JSON object), and the stream
        // handler asks the SDK for the event-stream decoder.
        let mut native = settings::post_json(url, &body, Framing::Json, warnings)?;
        native.http.headers.retain(|h| !h.name.eq_ignore_ascii_case("accept"));
        native.http.headers.push(Header { name: "accept".into(), value: EVENT_STREAM.into() });
        native.http.secrets = vec![AWS_SECRET.into()];
        Ok(native)
    }

    fn stream(_state: &State, _request: &NativeRequest) -> Self::Stream {
        stream::ConverseStream::default()
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

    fn state(base_url: Option<&str>) -> State {
        Bedrock::init(ProviderConfig { base_url: base_url.map(Into::into), default_model: None, options: None }).expect("init")
    }

    #[test]
    fn the_request_goes_to_the_model_s_converse_stream_signed_with_the_aws_secret() {
        let request = Request {
            model: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x:0".into(),
            messages: vec![Message { role: Role::User, parts: vec![Part::Text("hi".into())] }],
            ..Request::default()
        };
        let native = Bedrock::to_native(&state(Some("http://127.0.0.1:9/")), request).expect("native");
        assert_eq!(
            native.http.url,
            "http://127.0.0.1:9/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-x%3A0/converse-stream"
        );
        assert_eq!(native.http.method, "POST");
        assert_eq!(native.http.secrets, [AWS_SECRET]);
        let header = |name: &str| native.http.headers.iter().filter(|h| h.name == name).map(|h| h.value.as_str()).collect::<Vec<_>>();
        assert_eq!(header("accept"), [EVENT_STREAM]);
        assert_eq!(header("content-type"), ["application/json"]);
        let body: serde_json::Value = serde_json::from_slice(&native.http.body).expect("JSON");
        assert_eq!(body["messages"][0]["content"][0]["text"], "hi");
    }

    #[test]
    fn defaults_and_bad_configuration() {
        let native = Bedrock::to_native(&state(None), Request::default()).expect("native");
        assert_eq!(native.http.url, format!("{DEFAULT_BASE_URL}/model/amazon.nova-lite-v1%3A0/converse-stream"));
        for model in [".", ".."] {
            let request = Request { model: model.into(), ..Request::default() };
            let error = Bedrock::to_native(&state(None), request).expect_err("not a model");
            assert_eq!(error.kind, ErrorKind::Config);
        }
        let error = Bedrock::init(ProviderConfig { base_url: None, default_model: None, options: Some(r#"{"region":"eu-west-1"}"#.into()) })
            .expect_err("no options");
        assert!(error.message.contains("region"), "{}", error.message);
        assert!(Bedrock::init(ProviderConfig { base_url: Some("bedrock.example".into()), default_model: None, options: None }).is_err());
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(Bedrock);
