//! Classifying Cohere's HTTP error answers: a JSON body `{"id", "message"}`
//! (or, from a proxy in front of it, any text). The SDK's classification reads
//! the status, `retry-after` and a bounded excerpt; the message refines the kind
//! where it says more: a prompt that does not fit the model's context. Two
//! statuses of Cohere's own are read too: 498 (an invalid key) and 504 (the
//! generation timed out).

use cordon_sdk::errors::{excerpt, is_retryable, status_error};
use cordon_sdk::{ErrorKind, Header, ProviderError};
use serde::Deserialize;

/// The body of a Cohere error answer.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
}

/// The kind Cohere's status or message names, where it says more than the SDK's reading of the status.
fn refined_kind(status: u16, message: &str) -> Option<ErrorKind> {
    let message = message.to_ascii_lowercase();
    let overflow = ["too many tokens", "context length", "context window", "prompt is too long", "prompt too long"];
    match status {
        498 => Some(ErrorKind::Auth),
        504 => Some(ErrorKind::Timeout),
        400 | 413 | 422 if overflow.iter().any(|phrase| message.contains(phrase)) => Some(ErrorKind::ContextLengthExceeded),
        _ => None,
    }
}

/// A provider error for an HTTP error answer.
pub fn classify_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let mut error = status_error(status, headers, body);
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = match parsed.message.filter(|m| !m.trim().is_empty()) {
        Some(message) => message,
        None if body.is_empty() => "no message".to_owned(),
        None => excerpt(body),
    };
    if let Some(kind) = refined_kind(status, &message) {
        error.kind = kind;
        error.retryable = is_retryable(kind);
    }
    let hint = match error.kind {
        ErrorKind::Auth => " (is COHERE_API_KEY set? `cordon inspect` names the variable the host reads the key from)",
        ErrorKind::ModelNotFound => " (check the model name, e.g. `command-a-03-2025`, and the base URL)",
        _ => "",
    };
    error.message = format!("Cohere answered HTTP {status}: {message}{hint}");
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(message: &str) -> Vec<u8> {
        serde_json::json!({ "id": "5d5b2c3a-0000-4c7e-9a55-000000000000", "message": message }).to_string().into_bytes()
    }

    #[test]
    fn statuses_and_messages_map_to_kinds() {
        let cases = [
            (400, "invalid request: message must be at least 1 token long or tool results must be specified.", ErrorKind::InvalidRequest),
            (
                400,
                "too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 131202. Try using a shorter prompt",
                ErrorKind::ContextLengthExceeded,
            ),
            (401, "invalid api token", ErrorKind::Auth),
            (402, "Please add or update your payment method", ErrorKind::Quota),
            (404, "model 'command-x' not found, make sure the correct model ID was used", ErrorKind::ModelNotFound),
            (422, "invalid type: parameter p is of type string but should be of type float", ErrorKind::InvalidRequest),
            (429, "You are using a Trial key, which is limited to 20 API calls / minute.", ErrorKind::RateLimited),
            (498, "invalid token", ErrorKind::Auth),
            (500, "internal server error, this has been reported to our developers", ErrorKind::Server),
            (503, "service unavailable", ErrorKind::Server),
            (504, "the generation took too long", ErrorKind::Timeout),
            (499, "request cancelled by the client", ErrorKind::Other),
        ];
        for (status, message, kind) in cases {
            let error = classify_http_error(status, &[], &body(message));
            assert_eq!(error.kind, kind, "{status}: {message}");
            assert_eq!(error.status, Some(status));
            assert_eq!(error.retryable, is_retryable(kind), "{status}");
            assert!(error.message.starts_with(&format!("Cohere answered HTTP {status}: {message}")), "{}", error.message);
            assert!(error.body_excerpt.as_deref().is_some_and(|b| b.contains(message)), "{status}");
        }
    }

    #[test]
    fn retry_after_hints_and_bodies_that_are_not_json() {
        let headers = [Header { name: "Retry-After".into(), value: "7".into() }];
        let error = classify_http_error(429, &headers, &body("slow down"));
        assert_eq!((error.kind, error.retry_after_ms), (ErrorKind::RateLimited, Some(7000)));
        let error = classify_http_error(401, &[], &body("invalid api token"));
        assert!(error.message.contains("COHERE_API_KEY"), "{}", error.message);
        let error = classify_http_error(502, &[], b"<html>Bad gateway</html>");
        assert_eq!(error.kind, ErrorKind::Server);
        assert!(error.message.ends_with("<html>Bad gateway</html>"), "{}", error.message);
        let error = classify_http_error(500, &[], b"");
        assert_eq!(error.message, "Cohere answered HTTP 500: no message");
    }
}
