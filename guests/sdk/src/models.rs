//! `list-models` and `health` (contract 0.2.0). A provider builds its models
//! request ([`Provider::models_request`]) and parses one page of the answer
//! ([`Provider::parse_models`]); the SDK sends it through the host's broker
//! (allowed hosts and secrets as for a turn), reads the body (bounded), follows
//! pages, and classifies error answers with the provider's own stream handler.
//! `health` sends the provider's probe ([`Provider::health_request`], by
//! default the models request) and maps the outcome to a status and a reason.

use crate::errors::from_http_error;
use crate::turn::{ERROR_BODY_BYTES, READ_CHUNK_BYTES, read_bounded};
use crate::{ErrorKind, NativeRequest, Provider, ProviderError, State, StreamHandler, http};

pub use crate::bindings::exports::cordon::provider::provider::{HealthReport, HealthStatus, Modality, ModelInfo};

/// The most of one models answer read (a long catalogue is a few hundred KiB).
pub const MODELS_BODY_BYTES: usize = 8 << 20;

/// The most pages followed; the models listed by then are returned.
pub const MAX_PAGES: usize = 20;

/// One page of a models answer.
#[derive(Debug, Default)]
pub struct ModelPage {
    /// The models on this page.
    pub models: Vec<ModelInfo>,
    /// The request for the next page, if the upstream says there is one.
    pub next: Option<NativeRequest>,
}

impl ModelInfo {
    /// A model known only by its id.
    pub fn with_id(id: impl Into<String>) -> ModelInfo {
        ModelInfo {
            id: id.into(),
            display_name: None,
            context_window: None,
            max_output_tokens: None,
            input_modalities: Vec::new(),
            output_modalities: Vec::new(),
            tools: None,
            reasoning: None,
        }
    }
}

/// The error of a provider whose upstream has no models endpoint.
pub fn unsupported(provider: &str, why: &str) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, format!("provider `{provider}` cannot list models: {why}"))
}

/// `list-models` for `P`.
pub fn list_models<P: Provider>(state: &State) -> Result<Vec<ModelInfo>, ProviderError> {
    let Some(mut request) = P::models_request(state)? else {
        return Err(unsupported(&P::info().name, "its upstream has no models endpoint"));
    };
    let mut models = Vec::new();
    for _ in 0..MAX_PAGES {
        let body = fetch::<P>(state, &request)?;
        let page = P::parse_models(state, &body)?;
        models.extend(page.models);
        match page.next {
            Some(next) => request = next,
            None => break,
        }
    }
    Ok(models)
}

/// `health` for `P`: never fails, a failure is a report.
pub fn health<P: Provider>(state: &State) -> HealthReport {
    let request = match P::health_request(state) {
        Ok(Some(request)) => request,
        Ok(None) => return report(HealthStatus::Down, "this provider has no health probe".to_owned()),
        Err(error) => return report(HealthStatus::Down, format!("cannot build the probe: {}", error.message)),
    };
    match fetch::<P>(state, &request) {
        Ok(_) => HealthReport { status: HealthStatus::Ok, reason: None },
        Err(error) => report(status_of(&error), reason_of(&error)),
    }
}

/// What an error says of the upstream's health: it can serve turns but some
/// fail or wait (`degraded`), or it cannot (`down`).
pub fn status_of(error: &ProviderError) -> HealthStatus {
    match error.kind {
        ErrorKind::RateLimited | ErrorKind::Overloaded | ErrorKind::Server => HealthStatus::Degraded,
        _ => HealthStatus::Down,
    }
}

fn reason_of(error: &ProviderError) -> String {
    match error.status {
        Some(status) => format!("HTTP {status}: {}", error.message),
        None => error.message.clone(),
    }
}

fn report(status: HealthStatus, reason: String) -> HealthReport {
    HealthReport { status, reason: Some(reason) }
}

/// Send `request`; the whole body of a 2xx answer, or the classified error.
fn fetch<P: Provider>(state: &State, request: &NativeRequest) -> Result<Vec<u8>, ProviderError> {
    let response = http::send(&request.http).map_err(from_http_error)?;
    if response.status >= 400 {
        let body = read_bounded(&response.body, ERROR_BODY_BYTES);
        return Err(P::stream(state, request).on_http_error(response.status, &response.headers, &body));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.body.read(READ_CHUNK_BYTES).map_err(from_http_error)? {
        if body.len().saturating_add(chunk.len()) > MODELS_BODY_BYTES {
            return Err(ProviderError::new(
                ErrorKind::LimitExceeded,
                format!("the models answer is larger than {MODELS_BODY_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A `GET` of `url` answered in JSON, with the manifest secret `secret` added by the host.
pub fn get_json(url: String, secret: &str) -> NativeRequest {
    NativeRequest {
        http: crate::OutgoingRequest {
            method: "GET".into(),
            url,
            headers: vec![crate::Header { name: "accept".into(), value: "application/json".into() }],
            body: Vec::new(),
            secrets: vec![secret.into()],
        },
        framing: crate::Framing::Json,
        warnings: Vec::new(),
    }
}

/// `body` parsed as `T`, or a protocol error naming `what` and an excerpt.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|err| {
        ProviderError::protocol(format!("the {what} answer is not what was expected ({err}): {}", crate::errors::excerpt(body)))
    })
}

/// One model of an OpenAI-shaped list (`GET /v1/models`: `{"data": [{"id": ...}]}`),
/// with the fields compatible servers add where they do: `context_window`
/// (Groq), `context_length` (OpenRouter, Together), `max_model_len` (vLLM).
#[derive(serde::Deserialize)]
struct OpenAiModel {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, alias = "context_length", alias = "max_model_len")]
    context_window: Option<u64>,
}

#[derive(serde::Deserialize)]
struct OpenAiList {
    data: Vec<OpenAiModel>,
}

/// Parse an OpenAI-shaped models answer (one page: the API has no paging).
pub fn parse_openai_models(body: &[u8]) -> Result<ModelPage, ProviderError> {
    let list: OpenAiList = parse_json(body, "models")?;
    let models = list
        .data
        .into_iter()
        .map(|model| ModelInfo {
            display_name: model.name,
            context_window: model.context_window.and_then(|tokens| u32::try_from(tokens).ok()),
            ..ModelInfo::with_id(model.id)
        })
        .collect();
    Ok(ModelPage { models, next: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_lists_parse_with_what_compatible_servers_add() {
        let body = br#"{"object":"list","data":[
            {"id":"gpt-4o-mini","object":"model","created":1,"owned_by":"openai"},
            {"id":"llama-3.3-70b-versatile","context_window":131072},
            {"id":"x/y","name":"Y","context_length":32768},
            {"id":"served","max_model_len":4096}]}"#;
        let page = parse_openai_models(body).expect("parses");
        let ids: Vec<_> = page.models.iter().map(|m| (m.id.as_str(), m.context_window)).collect();
        assert_eq!(ids, [("gpt-4o-mini", None), ("llama-3.3-70b-versatile", Some(131072)), ("x/y", Some(32768)), ("served", Some(4096))]);
        assert_eq!(page.models[2].display_name.as_deref(), Some("Y"));
        assert!(page.next.is_none());
        let err = parse_openai_models(b"{\"models\":[]}").expect_err("not the shape");
        assert!(err.message.contains("models answer"), "{}", err.message);
    }
}
