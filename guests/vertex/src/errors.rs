//! Classifying Vertex AI's HTTP error answers. Vertex itself (authentication,
//! quotas, a model not enabled in the project) answers in Google's error shape
//! `{"error": {"code", "message", "status", "details"}}`, for Claude models too;
//! a Claude model's own refusal comes in Anthropic's `{"type": "error", ...}`.
//! The body's shape picks the classifier, the Gemini provider's or the Anthropic
//! provider's; a hint on what to check on Vertex is added.

use cordon_sdk::{ErrorKind, Header, ProviderError};

/// A provider error for an HTTP error answer of Vertex AI.
pub fn classify_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let error = if is_anthropic_error(body) {
        cordon_anthropic::errors::classify_http_error(status, headers, body)
    } else {
        cordon_gemini::errors::classify_google_http_error(status, headers, body)
    };
    with_hint(error)
}

/// Whether `body` is Anthropic's error shape (`"type": "error"` at the top).
fn is_anthropic_error(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Tagged<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<&'a str>,
    }
    serde_json::from_slice::<Tagged<'_>>(body).is_ok_and(|tagged| tagged.kind == Some("error"))
}

fn with_hint(mut error: ProviderError) -> ProviderError {
    let hint = match error.kind {
        ErrorKind::Auth => {
            " (the host mints the access token from the `google` secret, a service-account key: \
             `cordon inspect vertex` shows how it is bound)"
        }
        ErrorKind::Permission => {
            " (the service account needs the Vertex AI User role in the `project` option's project)"
        }
        ErrorKind::ModelNotFound => {
            " (check the model id, e.g. `gemini-2.5-flash` or `claude-sonnet-4-5@20250929`, and that it is \
             offered in the `location` option's region and enabled in the project)"
        }
        ErrorKind::Quota => " (a quota that will not come back soon: check the project's Vertex AI quotas)",
        _ => "",
    };
    error.message.push_str(hint);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a real 429 with a retry delay, as Google's APIs send it.
    const RATE_LIMITED: &[u8] = br#"{"error":{"code":429,"message":"Resource exhausted. Please try again later.",
        "status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}"#;

    #[test]
    fn google_errors_keep_their_retry_delay() {
        let error = classify_http_error(429, &[], RATE_LIMITED);
        assert_eq!(error.kind, ErrorKind::RateLimited);
        assert!(error.retryable);
        assert_eq!(error.retry_after_ms, Some(12_000));
        assert_eq!(error.provider_code.as_deref(), Some("RESOURCE_EXHAUSTED"));
    }

    #[test]
    fn anthropic_errors_are_read_as_anthropic_ones() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let error = classify_http_error(529, &[], body);
        assert_eq!(error.kind, ErrorKind::Overloaded);
        assert_eq!(error.provider_code.as_deref(), Some("overloaded_error"));
        let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 300000 tokens"}}"#;
        assert_eq!(classify_http_error(400, &[], body).kind, ErrorKind::ContextLengthExceeded);
    }

    #[test]
    fn hints_name_what_to_check_on_vertex() {
        let body = |code: u16, status: &str| {
            serde_json::json!({ "error": { "code": code, "message": "no", "status": status } }).to_string()
        };
        let auth = classify_http_error(401, &[], body(401, "UNAUTHENTICATED").as_bytes());
        assert_eq!(auth.kind, ErrorKind::Auth);
        assert!(auth.message.contains("`google` secret"), "{}", auth.message);
        let missing = classify_http_error(404, &[], body(404, "NOT_FOUND").as_bytes());
        assert_eq!(missing.kind, ErrorKind::ModelNotFound);
        assert!(missing.message.contains("`location`"), "{}", missing.message);
        let html = classify_http_error(502, &[], b"<html>Bad gateway</html>");
        assert_eq!(html.kind, ErrorKind::Server);
        assert!(html.message.contains("Bad gateway"));
    }
}
