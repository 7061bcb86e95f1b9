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
