//! Classifying Anthropic errors: `{"type": "error", "error": {"type", "message"}}`
//! bodies of HTTP error answers, and the same object in a mid-stream `error` event.

use cordon_sdk::errors::{excerpt, is_retryable, status_error};
use cordon_sdk::{ErrorKind, Header, ProviderError};
use serde::Deserialize;

/// The `error` object.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorObject {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

fn kind_for_type(kind: &str, message: &str) -> Option<ErrorKind> {
    Some(match kind {
        "invalid_request_error" if message.contains("prompt is too long") => ErrorKind::ContextLengthExceeded,
        "invalid_request_error" | "request_too_large" => ErrorKind::InvalidRequest,
        "authentication_error" => ErrorKind::Auth,
        "permission_error" => ErrorKind::Permission,
        "not_found_error" => ErrorKind::ModelNotFound,
        "rate_limit_error" => ErrorKind::RateLimited,
        "billing_error" => ErrorKind::Quota,
        "overloaded_error" => ErrorKind::Overloaded,
        "api_error" => ErrorKind::Server,
        "timeout_error" => ErrorKind::Timeout,
        _ => return None,
    })
}

/// A provider error from an `error` object; `status` when it came with an HTTP error.
pub fn classify_error_object(error: ErrorObject, status: Option<u16>) -> ProviderError {
    let message = error.message.unwrap_or_else(|| "Anthropic reported an error".to_owned());
    let kind = error
        .kind
        .as_deref()
        .and_then(|k| kind_for_type(k, &message))
        .unwrap_or(match status {
            Some(status) => cordon_sdk::errors::kind_for_status(status),
            None => ErrorKind::Server,
        });
    let mut out = ProviderError::new(kind, message);
    out.status = status;
    out.retryable = is_retryable(kind);
    out.provider_code = error.kind;
    out
}

/// A provider error for an HTTP error answer, refined by its body.
pub fn classify_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let base = status_error(status, headers, body);
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => {
            let mut refined = classify_error_object(parsed.error, Some(status));
            refined.message = format!("Anthropic answered HTTP {status}: {}", refined.message);
            refined.retry_after_ms = base.retry_after_ms;
            refined.body_excerpt = base.body_excerpt;
            refined
        }
        Err(_) => {
            let mut base = base;
            if !body.is_empty() {
                base.message = format!("Anthropic answered HTTP {status}: {}", excerpt(body));
            }
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_types() {
        let body = |t: &str, m: &str| format!(r#"{{"type":"error","error":{{"type":"{t}","message":"{m}"}}}}"#);
        let cases = [
            (400, body("invalid_request_error", "bad"), ErrorKind::InvalidRequest),
            (400, body("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"), ErrorKind::ContextLengthExceeded),
            (401, body("authentication_error", "invalid x-api-key"), ErrorKind::Auth),
            (403, body("permission_error", "no"), ErrorKind::Permission),
            (404, body("not_found_error", "model: x"), ErrorKind::ModelNotFound),
            (413, body("request_too_large", "too big"), ErrorKind::InvalidRequest),
            (429, body("rate_limit_error", "slow down"), ErrorKind::RateLimited),
            (500, body("api_error", "oops"), ErrorKind::Server),
            (529, body("overloaded_error", "Overloaded"), ErrorKind::Overloaded),
        ];
        for (status, body, kind) in cases {
            let e = classify_http_error(status, &[], body.as_bytes());
            assert_eq!(e.kind, kind, "{status}");
            assert_eq!(e.status, Some(status));
        }
        let e = classify_http_error(529, &[], body("overloaded_error", "Overloaded").as_bytes());
        assert!(e.retryable);
    }
}
