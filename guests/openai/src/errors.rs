//! Classifying OpenAI-style errors: `{"error": {"message", "type", "code"}}`
//! bodies of HTTP error answers, and the same object sent mid-stream.

use cordon_sdk::errors::{excerpt, is_retryable, status_error};
use cordon_sdk::{ErrorKind, Header, ProviderError};
use serde::Deserialize;

/// The `error` object of an OpenAI-compatible server.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorObject {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// A string for OpenAI, a number for some compatible servers.
    #[serde(default)]
    code: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

/// The error kind an OpenAI `code` or `type` names, if it is specific.
fn kind_for_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "context_length_exceeded" | "string_above_max_length" => ErrorKind::ContextLengthExceeded,
        "insufficient_quota" | "billing_hard_limit_reached" => ErrorKind::Quota,
        "rate_limit_exceeded" | "rate_limit_error" | "tokens" | "requests" => ErrorKind::RateLimited,
        "invalid_api_key" | "authentication_error" | "invalid_authentication" => ErrorKind::Auth,
        "permission_error" | "unsupported_country_region_territory" => ErrorKind::Permission,
        "model_not_found" | "not_found_error" => ErrorKind::ModelNotFound,
        "content_filter" | "content_policy_violation" => ErrorKind::ContentFilter,
        "overloaded_error" | "overloaded" => ErrorKind::Overloaded,
        "server_error" | "api_error" | "internal_error" => ErrorKind::Server,
        "invalid_request_error" | "unsupported_parameter" | "invalid_value" => {
            ErrorKind::InvalidRequest
        }
        _ => return None,
    })
}

/// A provider error from an `error` object; `status` when it came with an HTTP error.
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
        Some(status) => cordon_sdk::errors::kind_for_status(status),
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
        let quota = br#"{"error":{"message":"You exceeded your quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let e = classify_http_error(429, &[], quota);
        assert_eq!(e.kind, ErrorKind::Quota);
        assert!(!e.retryable);
        let limited = br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#;
        let headers = [Header { name: "retry-after".into(), value: "3".into() }];
        let e = classify_http_error(429, &headers, limited);
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(e.retryable);
        assert_eq!(e.retry_after_ms, Some(3000));
    }

    #[test]
    fn unparseable_body_keeps_status_kind() {
        let e = classify_http_error(502, &[], b"<html>Bad gateway</html>");
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.message.contains("Bad gateway"));
    }
}
