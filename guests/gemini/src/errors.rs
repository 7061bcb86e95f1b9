//! Classifying Google API errors: `{"error": {"code", "message", "status",
//! "details"}}` bodies of HTTP error answers, and the same object sent mid-stream.
//!
//! The `status` string (a `google.rpc.Code` name) decides the kind; the HTTP
//! status is the fallback. `details` refine it: `RetryInfo.retryDelay` gives the
//! wait when no `retry-after` header does, `QuotaFailure` tells a per-minute rate
//! limit from a quota that will not come back soon, `ErrorInfo.reason` names a
//! bad API key that Google reports as `INVALID_ARGUMENT`.

use cordon_sdk::errors::{excerpt, is_retryable, kind_for_status, status_error};
use cordon_sdk::{ErrorKind, Header, ProviderError};
use serde::Deserialize;

/// The `error` object of a Google API answer.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorObject {
    /// The HTTP status the error stands for (mid-stream there is no other).
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    /// A `google.rpc.Code` name, e.g. `RESOURCE_EXHAUSTED`.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<Detail>,
}

/// One entry of `details`; only the fields this provider reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    /// `type.googleapis.com/google.rpc.RetryInfo`, `...QuotaFailure`, `...ErrorInfo`.
    #[serde(default, rename = "@type")]
    kind: Option<String>,
    /// `RetryInfo`: a protobuf duration, e.g. `"34.4s"`.
    #[serde(default)]
    retry_delay: Option<String>,
    /// `QuotaFailure`: the quotas that were exceeded.
    #[serde(default)]
    violations: Vec<Violation>,
    /// `ErrorInfo`: a machine-readable reason, e.g. `API_KEY_INVALID`.
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Violation {
    /// E.g. `GenerateRequestsPerMinutePerProjectPerModel-FreeTier`.
    #[serde(default)]
    quota_id: Option<String>,
}

/// An error body: the object, or (some streaming endpoints) a one-element array of it.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorBody {
    Object { error: ErrorObject },
    List(Vec<ErrorBody>),
}

impl ErrorBody {
    fn into_error(self) -> Option<ErrorObject> {
        match self {
            ErrorBody::Object { error } => Some(error),
            ErrorBody::List(list) => list.into_iter().next().and_then(ErrorBody::into_error),
        }
    }
}

impl ErrorObject {
    fn detail(&self, suffix: &str) -> impl Iterator<Item = &Detail> {
        self.details
            .iter()
            .filter(move |d| d.kind.as_deref().is_some_and(|k| k.ends_with(suffix)))
    }

    /// `RetryInfo.retryDelay` in milliseconds.
    fn retry_delay_ms(&self) -> Option<u64> {
        self.detail(".RetryInfo").find_map(|d| d.retry_delay.as_deref().and_then(duration_ms))
    }

    fn reason(&self) -> Option<&str> {
        self.detail(".ErrorInfo").find_map(|d| d.reason.as_deref())
    }

    /// Whether a `RESOURCE_EXHAUSTED` is a quota that will not come back soon:
    /// a per-day quota, or a quota whose limit is zero (the model is not
    /// available on this plan at all). Per-minute limits are rate limits.
    fn is_lasting_quota(&self) -> bool {
        let daily = self
            .detail(".QuotaFailure")
            .flat_map(|d| &d.violations)
            .filter_map(|v| v.quota_id.as_deref())
            .any(|id| id.contains("PerDay"));
        let zero = self.message.as_deref().is_some_and(|m| m.contains("limit: 0"));
        daily || zero
    }
}

/// Milliseconds in a protobuf JSON duration such as `"34.4s"` or `"1s"`.
pub fn duration_ms(text: &str) -> Option<u64> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as u64)
}

/// Whether an `INVALID_ARGUMENT` message says the prompt is too long.
fn is_context_length(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("input token count")
        || message.contains("exceeds the maximum number of tokens")
        || message.contains("context length")
        || message.contains("context window")
}

/// The error kind a Google status name means, if it is one this provider knows.
fn kind_for_status_name(error: &ErrorObject, status: &str) -> Option<ErrorKind> {
    let message = error.message.as_deref().unwrap_or_default();
    Some(match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => {
            if error.reason().is_some_and(|r| r.starts_with("API_KEY")) {
                ErrorKind::Auth
            } else if is_context_length(message) {
                ErrorKind::ContextLengthExceeded
            } else {
                ErrorKind::InvalidRequest
            }
        }
        "UNAUTHENTICATED" => ErrorKind::Auth,
        "PERMISSION_DENIED" => ErrorKind::Permission,
        "NOT_FOUND" => ErrorKind::ModelNotFound,
        "RESOURCE_EXHAUSTED" if error.is_lasting_quota() => ErrorKind::Quota,
        "RESOURCE_EXHAUSTED" => ErrorKind::RateLimited,
        "UNAVAILABLE" if message.to_ascii_lowercase().contains("overloaded") => {
            ErrorKind::Overloaded
        }
        "UNAVAILABLE" | "INTERNAL" | "ABORTED" => ErrorKind::Server,
        "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
        _ => return None,
    })
}

/// A provider error from an `error` object; `status` when it came with an HTTP
/// error. Mid-stream, the object's own `code` stands in for the HTTP status
/// when its `status` name is unknown.
pub fn classify_error_object(error: ErrorObject, status: Option<u16>) -> ProviderError {
    let fallback_status = status.or_else(|| error.code.and_then(|c| u16::try_from(c).ok()));
    let kind = error
        .status
        .as_deref()
        .and_then(|name| kind_for_status_name(&error, name))
        .unwrap_or(match fallback_status {
            Some(code) => kind_for_status(code),
            None => ErrorKind::Server,
        });
    let retry_after_ms = error.retry_delay_ms();
    let message = error
        .message
        .clone()
        .unwrap_or_else(|| "the upstream reported an error".to_owned());
    let mut out = ProviderError::new(kind, message);
    out.status = status;
    out.retryable = is_retryable(kind);
    out.retry_after_ms = retry_after_ms;
    out.provider_code = error.status;
    out
}

/// A provider error for an HTTP error answer from the Gemini API: the
/// classification of [`classify_google_http_error`], with a hint on what to
/// check for the kinds a user can fix.
pub fn classify_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    with_hint(classify_google_http_error(status, headers, body))
}

/// A provider error for an HTTP error answer of any Google API: the status and
/// `retry-after` headers, refined by the body's `error` object when there is
/// one. The header's wait wins over `RetryInfo`. No hint is added (what to
/// check differs between the Gemini API and Vertex AI).
pub fn classify_google_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let base = status_error(status, headers, body);
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok().and_then(ErrorBody::into_error);
    let Some(error) = parsed else {
        let mut base = base;
        if !body.is_empty() {
            base.message = format!("upstream answered HTTP {status}: {}", excerpt(body));
        }
        return base;
    };
    let mut refined = classify_error_object(error, Some(status));
    refined.message = format!("upstream answered HTTP {status}: {}", refined.message);
    refined.retry_after_ms = base.retry_after_ms.or(refined.retry_after_ms);
    refined.body_excerpt = base.body_excerpt;
    refined
}

fn with_hint(mut error: ProviderError) -> ProviderError {
    let hint = match error.kind {
        ErrorKind::Auth => " (is the API key set? `cordon inspect` names the variable the host reads it from)",
        ErrorKind::ModelNotFound => " (check the model name, e.g. `gemini-2.5-flash`, and the base URL)",
        ErrorKind::Quota => " (a daily or zero quota: waiting a minute will not help; check the plan and billing)",
        _ => "",
    };
    error.message.push_str(hint);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a real free-tier 429 (a per-minute quota with a retry delay).
    const RATE_LIMITED: &[u8] = br#"{"error":{"code":429,
        "message":"You exceeded your current quota, please check your plan.",
        "status":"RESOURCE_EXHAUSTED",
        "details":[
          {"@type":"type.googleapis.com/google.rpc.QuotaFailure",
           "violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
          {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.4s"}]}}"#;

    #[test]
    fn retry_info_429_is_a_retryable_rate_limit() {
        let e = classify_http_error(429, &[], RATE_LIMITED);
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(e.retryable);
        assert_eq!(e.retry_after_ms, Some(34_400));
        assert_eq!(e.status, Some(429));
        assert_eq!(e.provider_code.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert!(e.message.contains("You exceeded your current quota"), "{}", e.message);
        assert!(e.body_excerpt.is_some());
    }

    #[test]
    fn recorded_429_is_a_rate_limit() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/errors/google-429-retry-info.json");
        let Ok(body) = std::fs::read(&path) else {
            eprintln!("SKIPPED: no recorded Gemini error body at {}", path.display());
            return;
        };
        let e = classify_http_error(429, &[], &body);
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after_ms, Some(34_400));
    }

    #[test]
    fn retry_after_header_wins_over_retry_info() {
        let headers = [Header { name: "Retry-After".into(), value: "5".into() }];
        assert_eq!(classify_http_error(429, &headers, RATE_LIMITED).retry_after_ms, Some(5000));
    }

    #[test]
    fn daily_quota_is_not_retryable() {
        let body = br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED",
            "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure",
            "violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}}"#;
        let e = classify_http_error(429, &[], body);
        assert_eq!(e.kind, ErrorKind::Quota);
        assert!(!e.retryable);
    }

    #[test]
    fn status_names_map_to_kinds() {
        let kind = |status: u16, name: &str, message: &str| {
            let body = serde_json::json!({ "error": { "code": status, "message": message, "status": name } });
            classify_http_error(status, &[], body.to_string().as_bytes()).kind
        };
        assert_eq!(kind(400, "INVALID_ARGUMENT", "bad field"), ErrorKind::InvalidRequest);
        assert_eq!(
            kind(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."),
            ErrorKind::ContextLengthExceeded
        );
        assert_eq!(kind(400, "FAILED_PRECONDITION", "location"), ErrorKind::InvalidRequest);
        assert_eq!(kind(401, "UNAUTHENTICATED", "no"), ErrorKind::Auth);
        assert_eq!(kind(403, "PERMISSION_DENIED", "no"), ErrorKind::Permission);
        assert_eq!(kind(404, "NOT_FOUND", "models/x is not found"), ErrorKind::ModelNotFound);
        assert_eq!(kind(500, "INTERNAL", "oops"), ErrorKind::Server);
        assert_eq!(kind(503, "UNAVAILABLE", "The model is overloaded."), ErrorKind::Overloaded);
        assert_eq!(kind(503, "UNAVAILABLE", "try later"), ErrorKind::Server);
        assert_eq!(kind(504, "DEADLINE_EXCEEDED", "slow"), ErrorKind::Timeout);
        assert_eq!(kind(418, "SOMETHING_NEW", "?"), ErrorKind::Other, "unknown names fall back to the status");
    }

    #[test]
    fn bad_api_key_reported_as_invalid_argument_is_auth() {
        let body = br#"[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.",
            "status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",
            "reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}]"#;
        let e = classify_http_error(400, &[], body);
        assert_eq!(e.kind, ErrorKind::Auth, "the array form is read too");
        assert!(e.message.contains("API key not valid"));
    }

    #[test]
    fn unparseable_body_keeps_status_kind() {
        let e = classify_http_error(502, &[], b"<html>Bad gateway</html>");
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.message.contains("Bad gateway"));
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("34.4s"), Some(34_400));
        assert_eq!(duration_ms("1s"), Some(1000));
        assert_eq!(duration_ms("0.0015s"), Some(2));
        assert_eq!(duration_ms("34"), None);
        assert_eq!(duration_ms("-1s"), None);
    }
}
