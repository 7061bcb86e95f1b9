//! OpenAI-shaped errors: `{"error": {"message", "type", "code", "param"}}`
//! bodies of HTTP error answers and the same object sent mid-stream (Chat
//! Completions) or in `response.failed` / `error` events (Responses API). Many
//! OpenAI-compatible servers answer in this shape too, so it lives in the SDK
//! for every provider that speaks it.

use crate::errors::{excerpt, is_retryable, kind_for_status, status_error};
use crate::{ErrorKind, Header, ProviderError};
use serde::Deserialize;

/// An OpenAI `error` object.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorObject {
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// The error's `type`, e.g. `invalid_request_error`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The error's `code`: a string for OpenAI, a number for some compatible servers.
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

/// The error kind an OpenAI `code` or `type` names, if it is specific.
pub fn kind_for_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "context_length_exceeded" | "string_above_max_length" => ErrorKind::ContextLengthExceeded,
        "insufficient_quota" | "billing_hard_limit_reached" => ErrorKind::Quota,
        "rate_limit_exceeded" | "rate_limit_error" | "tokens" | "requests" => ErrorKind::RateLimited,
        "invalid_api_key" | "authentication_error" | "invalid_authentication" => ErrorKind::Auth,
        "permission_error" | "unsupported_country_region_territory" => ErrorKind::Permission,
        "model_not_found" | "not_found_error" => ErrorKind::ModelNotFound,
        "content_filter" | "content_policy_violation" => ErrorKind::ContentFilter,
        "overloaded_error" | "overloaded" | "server_is_overloaded" => ErrorKind::Overloaded,
        "server_error" | "api_error" | "internal_error" => ErrorKind::Server,
        "vector_store_timeout" => ErrorKind::Timeout,
        "invalid_request_error" | "unsupported_parameter" | "invalid_value" | "invalid_prompt" => {
            ErrorKind::InvalidRequest
        }
        code if code.starts_with("invalid_image") || code.starts_with("image_") => ErrorKind::InvalidRequest,
        _ => return None,
    })
}

/// A provider error from an `error` object; `status` when it came with an HTTP error.
/// Without a specific code or status, a mid-stream error counts as a server error.
pub fn classify_error_object(error: ErrorObject, status: Option<u16>) -> ProviderError {
    let code = match &error.code {
        Some(serde_json::Value::String(code)) => Some(code.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let specific = code
        .as_deref()
        .and_then(kind_for_code)
        .or_else(|| error.kind.as_deref().and_then(kind_for_code));
    let kind = specific.unwrap_or(match status {
        Some(status) => kind_for_status(status),
        None => ErrorKind::Server,
    });
    let message = error.message.unwrap_or_else(|| "the upstream reported an error".to_owned());
    let mut out = ProviderError::new(kind, message);
    out.status = status;
    out.retryable = is_retryable(kind);
    out.provider_code = code.or(error.kind);
    out
}

/// A provider error for an HTTP error answer: the status and `retry-after`
/// headers, refined by the body's `error` object when there is one.
pub fn classify_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let base = status_error(status, headers, body);
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        let mut base = base;
        if !body.is_empty() {
            base.message = format!("upstream answered HTTP {status}: {}", excerpt(body));
        }
        return with_hint(base);
    };
    let mut refined = classify_error_object(parsed.error, Some(status));
    refined.message = format!("upstream answered HTTP {status}: {}", refined.message);
    refined.retry_after_ms = base.retry_after_ms;
    refined.body_excerpt = base.body_excerpt;
    with_hint(refined)
}

fn with_hint(mut error: ProviderError) -> ProviderError {
    let hint = match error.kind {
        ErrorKind::Auth => " (is the API key set? `cordon inspect` names the variable the host reads it from)",
        ErrorKind::ModelNotFound => " (check the model name and the base URL)",
        _ => "",
    };
    error.message.push_str(hint);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_429_is_not_retryable_but_rate_limit_is() {
        let quota = br#"{"error":{"message":"You exceeded your quota","type":"insufficient_quota","code":"insufficient_quota","param":null}}"#;
        let e = classify_http_error(429, &[], quota);
        assert_eq!(e.kind, ErrorKind::Quota);
        assert!(!e.retryable);
        assert_eq!(e.provider_code.as_deref(), Some("insufficient_quota"));
        let limited = br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded","param":null}}"#;
        let headers = [Header { name: "retry-after".into(), value: "3".into() }];
        let e = classify_http_error(429, &headers, limited);
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(e.retryable);
        assert_eq!(e.retry_after_ms, Some(3000));
        assert_eq!(e.status, Some(429));
    }

    #[test]
    fn type_refines_when_code_is_null() {
        let body = br#"{"error":{"message":"Unsupported parameter: 'top_k'","type":"invalid_request_error","param":"top_k","code":null}}"#;
        let e = classify_http_error(400, &[], body);
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert_eq!(e.provider_code.as_deref(), Some("invalid_request_error"));
        assert!(e.message.contains("top_k"), "{}", e.message);
        assert!(e.body_excerpt.is_some());
    }

    #[test]
    fn auth_and_unknown_codes_use_the_status() {
        let e = classify_http_error(401, &[], br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#);
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(e.message.contains("is the API key set"), "{}", e.message);
        let e = classify_http_error(404, &[], br#"{"error":{"message":"no such thing","code":"something_new"}}"#);
        assert_eq!(e.kind, ErrorKind::ModelNotFound);
    }

    #[test]
    fn unparseable_body_keeps_status_kind() {
        let e = classify_http_error(502, &[], b"<html>Bad gateway</html>");
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.retryable);
        assert!(e.message.contains("Bad gateway"));
    }

    #[test]
    fn mid_stream_objects_default_to_server() {
        let e = classify_error_object(ErrorObject { message: None, kind: None, code: Some("weird".into()) }, None);
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.retryable);
        assert_eq!(e.provider_code.as_deref(), Some("weird"));
    }
}
