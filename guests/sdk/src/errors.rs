//! Helpers for classifying failures into [`ProviderError`]s: HTTP statuses,
//! `retry-after` headers, bounded body excerpts and broker errors.

use crate::http::{HttpError, HttpErrorKind};
use crate::{ErrorKind, Header, ProviderError};

/// The longest body excerpt kept in an error, in bytes: enough to read the
/// provider's message, small enough to log.
pub const EXCERPT_BYTES: usize = 512;

impl ProviderError {
    /// An error of `kind` with `message`; retryable as [`is_retryable`] says.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            message: message.into(),
            status: None,
            retryable: is_retryable(kind),
            retry_after_ms: None,
            provider_code: None,
            body_excerpt: None,
            output_streamed: false,
        }
    }

    /// A malformed or unexpected chunk from the upstream.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::StreamProtocol, message)
    }

    /// A stream unit (`what`: "chunk", "event", "line") that is not valid JSON.
    pub fn invalid_json(what: &str, err: &serde_json::Error, data: &str) -> Self {
        Self::protocol(format!("invalid JSON in a stream {what} ({err}): {}", excerpt(data.as_bytes())))
    }

    /// A configuration problem found by `init` or `to-native`.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
}

/// Whether an error of this kind may go away if the same request is retried.
pub fn is_retryable(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::RateLimited
            | ErrorKind::Overloaded
            | ErrorKind::Server
            | ErrorKind::Timeout
            | ErrorKind::Network
    )
}

/// The error kind an HTTP status means when the body says nothing more precise.
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 413 | 422 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Auth,
        402 => ErrorKind::Quota,
        403 => ErrorKind::Permission,
        404 => ErrorKind::ModelNotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited,
        529 => ErrorKind::Overloaded,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::Other,
    }
}

/// The error for an HTTP error status, before the provider refines it from the body.
pub fn status_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let kind = kind_for_status(status);
    let mut error = ProviderError::new(kind, format!("upstream answered HTTP {status}"));
    error.status = Some(status);
    error.retry_after_ms = retry_after_ms(headers);
    error.body_excerpt = (!body.is_empty()).then(|| excerpt(body));
    error
}

/// How long the upstream asks us to wait: `retry-after-ms` (milliseconds),
/// else `retry-after` in seconds or as an HTTP date.
pub fn retry_after_ms(headers: &[Header]) -> Option<u64> {
    let find = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim())
    };
    if let Some(ms) = find("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms.is_finite() && ms >= 0.0).then_some(ms.round() as u64);
    }
    let value = find("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then_some((seconds * 1000.0).round() as u64);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let wait = when.duration_since(std::time::SystemTime::now()).unwrap_or_default();
    Some(wait.as_millis().try_into().unwrap_or(u64::MAX))
}

/// A bounded, UTF-8-safe excerpt of a body.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= EXCERPT_BYTES {
        return text.trim().to_owned();
    }
    let mut end = EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text[..end].trim())
}

/// A broker failure as a provider error.
pub fn from_http_error(error: HttpError) -> ProviderError {
    let kind = match error.kind {
        HttpErrorKind::Denied => ErrorKind::Denied,
        HttpErrorKind::InvalidRequest => ErrorKind::InvalidRequest,
        HttpErrorKind::Connect | HttpErrorKind::Protocol => ErrorKind::Network,
        HttpErrorKind::Timeout => ErrorKind::Timeout,
        HttpErrorKind::TooLarge | HttpErrorKind::Limit => ErrorKind::LimitExceeded,
    };
    ProviderError::new(kind, error.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> Header {
        Header { name: name.into(), value: value.into() }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after_ms(&[header("Retry-After", "2")]), Some(2000));
        assert_eq!(retry_after_ms(&[header("retry-after-ms", "1500.4")]), Some(1500));
        assert_eq!(
            retry_after_ms(&[header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            Some(0),
            "a date in the past means retry now"
        );
        assert_eq!(retry_after_ms(&[header("retry-after", "soon")]), None);
        assert_eq!(retry_after_ms(&[]), None);
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_for_status(401), ErrorKind::Auth);
        assert_eq!(kind_for_status(429), ErrorKind::RateLimited);
        assert_eq!(kind_for_status(503), ErrorKind::Server);
        assert_eq!(kind_for_status(413), ErrorKind::InvalidRequest);
        assert!(status_error(500, &[], b"").retryable);
        assert!(!status_error(400, &[], b"").retryable);
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let body = "é".repeat(400);
        let cut = excerpt(body.as_bytes());
        assert!(cut.len() <= EXCERPT_BYTES + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
