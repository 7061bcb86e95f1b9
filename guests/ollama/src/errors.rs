//! Classifying Ollama errors: `{"error": "model 'x' not found"}` bodies of HTTP
//! error answers, and the same object sent as a line mid-stream.
//!
//! Ollama has no error codes: the kind comes from the HTTP status, refined by
//! the message text where it says more (a context overflow, a timeout, a busy
//! server).

use cordon_sdk::errors::{excerpt, kind_for_status, status_error};
use cordon_sdk::{ErrorKind, Header, ProviderError};
use serde::Deserialize;
use serde_json::Value;

/// An Ollama error body. `error` is a string; an OpenAI-style object with a
/// `message` (some proxies in front of Ollama send one) is read too.
#[derive(Deserialize)]
struct ErrorBody {
    error: Value,
}

/// The message of an `error` value: the string itself, or an object's `message`.
pub fn error_message(error: &Value) -> String {
    match error {
        Value::String(text) => text.clone(),
        Value::Object(object) => match object.get("message") {
            Some(Value::String(text)) => text.clone(),
            _ => error.to_string(),
        },
        Value::Null => "the upstream reported an error without a message".to_owned(),
        other => other.to_string(),
    }
}

/// The error kind an Ollama message names, if it says more than the status.
pub fn kind_for_message(message: &str) -> Option<ErrorKind> {
    let message = message.to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|word| message.contains(word));
    // Go's "context deadline exceeded" is a timeout, not a context window.
    if says(&["context deadline exceeded", "timed out", "timeout"]) {
        return Some(ErrorKind::Timeout);
    }
    if says(&["context length", "context window", "context size", "exceeds the context", "num_ctx"]) {
        return Some(ErrorKind::ContextLengthExceeded);
    }
    if message.contains("model") && message.contains("not found") {
        return Some(ErrorKind::ModelNotFound);
    }
    if says(&["unauthorized", "invalid api key", "authentication"]) {
        return Some(ErrorKind::Auth);
    }
    if says(&["rate limit", "too many requests"]) {
        return Some(ErrorKind::RateLimited);
    }
    if says(&["server busy", "maximum pending requests", "overloaded"]) {
        return Some(ErrorKind::Overloaded);
    }
    None
}

/// A provider error for an `{"error": ...}` line that arrived mid-stream: a
/// server error unless the message says more.
pub fn stream_error(error: &Value) -> ProviderError {
    let message = error_message(error);
    let kind = kind_for_message(&message).unwrap_or(ErrorKind::Server);
    ProviderError::new(kind, format!("Ollama reported an error mid-stream: {message}"))
}

/// A provider error for an HTTP error answer: the status and `retry-after`
/// headers, refined by the body's `error` message when there is one.
pub fn classify_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let mut error = status_error(status, headers, body);
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => {
            let message = error_message(&parsed.error);
            let kind = kind_for_message(&message).unwrap_or_else(|| kind_for_status(status));
            let mut refined = ProviderError::new(kind, format!("upstream answered HTTP {status}: {message}"));
            refined.status = Some(status);
            refined.retry_after_ms = error.retry_after_ms;
            refined.body_excerpt = error.body_excerpt;
            error = refined;
        }
        Err(_) if !body.is_empty() => {
            error.message = format!("upstream answered HTTP {status}: {}", excerpt(body));
        }
        Err(_) => {}
    }
    with_hint(error)
}

fn with_hint(mut error: ProviderError) -> ProviderError {
    let hint = match error.kind {
        ErrorKind::ModelNotFound => {
            " (pull the model with `ollama pull <model>`, or check the model name and the base URL)"
        }
        ErrorKind::Auth => {
            " (is OLLAMA_API_KEY set? `cordon inspect` names the variable the host reads the key from)"
        }
        ErrorKind::ContextLengthExceeded => {
            " (shorten the conversation or raise `num_ctx` in the provider options under \"ollama\")"
        }
        _ => "",
    };
    error.message.push_str(hint);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_model_is_model_not_found() {
        let e = classify_http_error(404, &[], br#"{"error":"model 'llama3.3:70b' not found"}"#);
        assert_eq!(e.kind, ErrorKind::ModelNotFound);
        assert_eq!(e.status, Some(404));
        assert!(!e.retryable);
        assert!(e.message.starts_with("upstream answered HTTP 404: model 'llama3.3:70b' not found"));
        assert!(e.message.contains("ollama pull"));
    }

    #[test]
    fn status_decides_when_the_message_says_nothing_more() {
        let e = classify_http_error(400, &[], br#"{"error":"invalid message format"}"#);
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(!e.retryable);
        let e = classify_http_error(500, &[], br#"{"error":"llama runner process has terminated: exit status 2"}"#);
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.retryable);
        assert!(e.message.contains("llama runner process has terminated"));
    }

    #[test]
    fn busy_server_is_overloaded_and_keeps_retry_after() {
        let headers = [Header { name: "retry-after".into(), value: "2".into() }];
        let body = br#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#;
        let e = classify_http_error(503, &headers, body);
        assert_eq!(e.kind, ErrorKind::Overloaded);
        assert!(e.retryable);
        assert_eq!(e.retry_after_ms, Some(2000));
        assert!(e.body_excerpt.is_some_and(|b| b.contains("server busy")));
    }

    #[test]
    fn unparseable_body_keeps_status_kind() {
        let e = classify_http_error(502, &[], b"<html>Bad gateway</html>");
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.message.contains("Bad gateway"));
        let e = classify_http_error(401, &[], b"");
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(e.message.contains("OLLAMA_API_KEY"));
    }

    #[test]
    fn messages_refine_the_kind() {
        let cases = [
            ("the input length exceeds the context length", Some(ErrorKind::ContextLengthExceeded)),
            ("context deadline exceeded", Some(ErrorKind::Timeout)),
            ("model \"qwen3\" not found, try pulling it first", Some(ErrorKind::ModelNotFound)),
            ("unauthorized", Some(ErrorKind::Auth)),
            ("unexpected EOF", None),
        ];
        for (message, kind) in cases {
            assert_eq!(kind_for_message(message), kind, "{message}");
        }
    }

    #[test]
    fn object_errors_are_read() {
        let e = classify_http_error(429, &[], br#"{"error":{"message":"slow down","type":"rate_limit"}}"#);
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(e.message.contains("slow down"));
    }
}
