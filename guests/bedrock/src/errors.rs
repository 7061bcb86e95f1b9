//! Classifying Bedrock errors: HTTP error answers before the stream (a JSON
//! `{"message": ...}` body, the error's name in the `x-amzn-ErrorType` header),
//! `exception` messages inside the stream (`:exception-type` names the error,
//! the payload carries its message) and the event stream's generic `error`
//! messages (`:error-code`, `:error-message`). The status, `retry-after` and
//! body excerpt come from the SDK's classification; the error's name refines
//! the kind.

use cordon_sdk::errors::{excerpt, is_retryable, kind_for_status, status_error};
use cordon_sdk::{ErrorKind, Header, ProviderError};
use serde::Deserialize;

/// The header naming an HTTP error's type, e.g. `ValidationException:http://...`.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

/// The body of a Bedrock error: an HTTP error answer's, or an exception message's payload.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    /// The message (Bedrock writes `message`; some AWS front ends `Message`).
    #[serde(default, alias = "Message")]
    message: Option<String>,
    /// The error's type, when the body names it (`__type`, sometimes `namespace#Name`).
    #[serde(default, rename = "__type")]
    kind: Option<String>,
    /// For `ModelStreamErrorException`: the status the model's stream failed with.
    #[serde(default, rename = "originalStatusCode")]
    original_status: Option<u16>,
    /// For `ModelStreamErrorException`: the model's own message.
    #[serde(default, rename = "originalMessage")]
    original_message: Option<String>,
}

/// Whether a `ValidationException`'s message says the prompt does not fit the model.
fn is_context_length(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "input is too long",
        "prompt is too long",
        "too many input tokens",
        "input tokens exceed",
        "context window",
        "context length",
        "context limit",
        "model_context_window_exceeded",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

/// The error kind a Bedrock error name means (`ThrottlingException`, or
/// `throttlingException` as the stream writes it), if it is one this provider knows.
pub fn kind_for_name(name: &str, message: &str) -> Option<ErrorKind> {
    Some(match name.to_ascii_lowercase().as_str() {
        "validationexception" if is_context_length(message) => ErrorKind::ContextLengthExceeded,
        "validationexception" | "serializationexception" => ErrorKind::InvalidRequest,
        "throttlingexception" => ErrorKind::RateLimited,
        "servicequotaexceededexception" => ErrorKind::Quota,
        "accessdeniedexception" => ErrorKind::Permission,
        "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception"
        | "expiredtokenexception"
        | "invalidclienttokenid" => ErrorKind::Auth,
        "resourcenotfoundexception" => ErrorKind::ModelNotFound,
        "modelnotreadyexception" => ErrorKind::Overloaded,
        "modeltimeoutexception" => ErrorKind::Timeout,
        "modelerrorexception"
        | "modelstreamerrorexception"
        | "internalserverexception"
        | "serviceunavailableexception" => ErrorKind::Server,
        _ => return None,
    })
}

/// An error's name as the header or body gives it: `ValidationException` from
/// `ValidationException:http://internal.amazon.com/...` or `com.amazon#ValidationException`.
fn bare_name(raw: &str) -> &str {
    let name = raw.split(':').next().unwrap_or(raw);
    name.rsplit('#').next().unwrap_or(name).trim()
}

/// A provider error for an HTTP error answer: the SDK's reading of the status and
/// `retry-after`, refined by the error's name and the body's message.
pub fn classify_http_error(status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
    let mut error = status_error(status, headers, body);
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let from_header =
        headers.iter().find(|h| h.name.eq_ignore_ascii_case(ERROR_TYPE_HEADER)).map(|h| bare_name(&h.value).to_owned());
    let name = from_header.or_else(|| parsed.kind.as_deref().map(|k| bare_name(k).to_owned())).filter(|n| !n.is_empty());
    let message = match parsed.message {
        Some(message) => message,
        None if body.is_empty() => "no message".to_owned(),
        None => excerpt(body),
    };
    if let Some(kind) = name.as_deref().and_then(|name| kind_for_name(name, &message)) {
        error.kind = kind;
        error.retryable = is_retryable(kind);
    }
    error.message = match &name {
        Some(name) => format!("Bedrock answered HTTP {status} ({name}): {message}"),
        None => format!("Bedrock answered HTTP {status}: {message}"),
    };
    error.provider_code = name;
    error
}

/// A provider error for an `exception` message in the stream: `name` from its
/// `:exception-type` header, `payload` its JSON body.
pub fn classify_exception(name: &str, payload: &[u8]) -> ProviderError {
    let parsed: ErrorBody = serde_json::from_slice(payload).unwrap_or_default();
    let mut message = parsed.message.unwrap_or_else(|| excerpt(payload));
    if let Some(original) = parsed.original_message.filter(|m| !m.is_empty() && *m != message) {
        message = format!("{message} ({original})");
    }
    // A model stream error says which status the model failed with: a 429 there
    // is a rate limit, not a server fault.
    let from_original = parsed.original_status.map(kind_for_status).filter(|k| *k != ErrorKind::Other);
    let kind = from_original.or_else(|| kind_for_name(name, &message)).unwrap_or(ErrorKind::Server);
    let mut error = ProviderError::new(kind, format!("Bedrock reported mid-stream ({name}): {message}"));
    error.provider_code = Some(name.to_owned());
    error.body_excerpt = (!payload.is_empty()).then(|| excerpt(payload));
    error
}

/// A provider error for the event stream's generic `error` message.
pub fn classify_stream_error(code: Option<&str>, message: Option<&str>) -> ProviderError {
    let code = code.unwrap_or("unknown");
    let message = message.unwrap_or("no message");
    let kind = kind_for_name(code, message).unwrap_or(ErrorKind::Server);
    let mut error = ProviderError::new(kind, format!("Bedrock's event stream reported an error ({code}): {message}"));
    error.provider_code = Some(code.to_owned());
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> Header {
        Header { name: name.into(), value: value.into() }
    }

    #[test]
    fn http_errors_by_name_then_status() {
        let cases = [
            (400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", "Malformed input request", ErrorKind::InvalidRequest),
            (400, "ValidationException", "Input is too long for requested model.", ErrorKind::ContextLengthExceeded),
            (
                400,
                "ValidationException",
                "input length and `max_tokens` exceed context limit: 199000 + 4096 > 200000",
                ErrorKind::ContextLengthExceeded,
            ),
            (429, "ThrottlingException", "Too many tokens, please wait before trying again.", ErrorKind::RateLimited),
            (429, "ServiceQuotaExceededException", "quota", ErrorKind::Quota),
            (403, "AccessDeniedException", "You don't have access to the model", ErrorKind::Permission),
            (403, "UnrecognizedClientException", "The security token included in the request is invalid.", ErrorKind::Auth),
            (403, "InvalidSignatureException", "The request signature we calculated does not match", ErrorKind::Auth),
            (404, "ResourceNotFoundException", "Model not found", ErrorKind::ModelNotFound),
            (429, "ModelNotReadyException", "Model is not ready", ErrorKind::Overloaded),
            (408, "ModelTimeoutException", "timed out", ErrorKind::Timeout),
            (500, "InternalServerException", "oops", ErrorKind::Server),
            (503, "ServiceUnavailableException", "try later", ErrorKind::Server),
            (418, "SomethingNewException", "who knows", ErrorKind::Other),
        ];
        for (status, name, message, kind) in cases {
            let body = format!(r#"{{"message":"{}"}}"#, message.replace('"', "\\\""));
            let error = classify_http_error(status, &[header("X-Amzn-ErrorType", name)], body.as_bytes());
            assert_eq!(error.kind, kind, "{name}: {message}");
            assert_eq!(error.status, Some(status));
            assert_eq!(error.retryable, is_retryable(kind), "{name}");
            assert!(error.message.contains(message), "{}", error.message);
            assert_eq!(error.provider_code.as_deref(), Some(bare_name(name)));
        }
    }

    #[test]
    fn http_error_without_the_header_reads_the_body_or_the_status() {
        let error = classify_http_error(400, &[], br#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#);
        assert_eq!((error.kind, error.provider_code.as_deref()), (ErrorKind::InvalidRequest, Some("ValidationException")));
        assert!(error.message.ends_with("bad"), "{}", error.message);
        let error = classify_http_error(429, &[header("retry-after", "3")], b"<html>slow down</html>");
        assert_eq!(error.kind, ErrorKind::RateLimited);
        assert_eq!(error.retry_after_ms, Some(3000));
        assert!(error.message.contains("slow down"), "{}", error.message);
    }

    #[test]
    fn stream_exceptions() {
        let cases = [
            ("throttlingException", r#"{"message":"Too many requests"}"#, ErrorKind::RateLimited),
            ("validationException", r#"{"message":"bad"}"#, ErrorKind::InvalidRequest),
            ("validationException", r#"{"message":"The prompt is too long"}"#, ErrorKind::ContextLengthExceeded),
            ("internalServerException", r#"{"message":"oops"}"#, ErrorKind::Server),
            ("serviceUnavailableException", r#"{"message":"later"}"#, ErrorKind::Server),
            (
                "modelStreamErrorException",
                r#"{"message":"Model Stream Error","originalStatusCode":500,"originalMessage":"The model stream failed."}"#,
                ErrorKind::Server,
            ),
            ("modelStreamErrorException", r#"{"message":"x","originalStatusCode":429}"#, ErrorKind::RateLimited),
            ("brandNewException", r#"{"message":"?"}"#, ErrorKind::Server),
        ];
        for (name, payload, kind) in cases {
            let error = classify_exception(name, payload.as_bytes());
            assert_eq!(error.kind, kind, "{name} {payload}");
            assert_eq!(error.status, None, "the HTTP status was 200");
            assert_eq!(error.provider_code.as_deref(), Some(name));
        }
        let error = classify_exception(
            "modelStreamErrorException",
            br#"{"message":"Model Stream Error","originalMessage":"The model stream failed."}"#,
        );
        assert!(error.message.contains("The model stream failed."), "{}", error.message);
        assert!(error.retryable);
    }

    #[test]
    fn generic_stream_errors() {
        let error = classify_stream_error(Some("ThrottlingException"), Some("slow"));
        assert_eq!(error.kind, ErrorKind::RateLimited);
        let error = classify_stream_error(None, None);
        assert_eq!(error.kind, ErrorKind::Server);
        assert!(error.message.contains("unknown"), "{}", error.message);
    }
}
