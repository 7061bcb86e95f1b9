//! Error answers, provider by provider: each of 400, 401, 403, 404, 413, 429,
//! 500, 503 and 529, with a body in that provider's own error shape (written
//! here by hand from the documented formats), maps to the contract's error kind
//! with the status, whether it is retryable, and the retry-after.

use cordon::replay::Reply;
use cordon::{ErrorKind, Request};

use crate::support::{provider_against, run_turn, shared_fixtures};

/// (status, expected kind, retryable)
const MATRIX: [(u16, ErrorKind, bool); 9] = [
    (400, ErrorKind::InvalidRequest, false),
    (401, ErrorKind::Auth, false),
    (403, ErrorKind::Permission, false),
    (404, ErrorKind::ModelNotFound, false),
    (413, ErrorKind::InvalidRequest, false),
    (429, ErrorKind::RateLimited, true),
    (500, ErrorKind::Server, true),
    (503, ErrorKind::Server, true),
    (529, ErrorKind::Overloaded, true),
];

/// The body `provider` sends for `status`, in its own shape.
fn body(provider: &str, status: u16) -> String {
    let (openai_type, anthropic_type, google_status, text) = match status {
        400 => ("invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT", "Invalid value for 'temperature'"),
        401 => ("invalid_api_key", "authentication_error", "UNAUTHENTICATED", "Incorrect API key provided"),
        403 => ("permission_error", "permission_error", "PERMISSION_DENIED", "Your key may not use this model"),
        404 => ("model_not_found", "not_found_error", "NOT_FOUND", "The model 'nope' does not exist"),
        413 => ("invalid_request_error", "request_too_large", "INVALID_ARGUMENT", "Request exceeds the maximum size"),
        429 => ("rate_limit_exceeded", "rate_limit_error", "RESOURCE_EXHAUSTED", "Rate limit reached for requests"),
        500 => ("server_error", "api_error", "INTERNAL", "The server had an error"),
        503 => ("server_error", "api_error", "UNAVAILABLE", "The service is temporarily unavailable"),
        _ => ("overloaded_error", "overloaded_error", "UNAVAILABLE", "The model is overloaded"),
    };
    match provider {
        "openai" | "openai-responses" => {
            format!(r#"{{"error":{{"message":"{text}","type":"{openai_type}","param":null,"code":"{openai_type}"}}}}"#)
        }
        "anthropic" => format!(r#"{{"type":"error","error":{{"type":"{anthropic_type}","message":"{text}"}}}}"#),
        "gemini" => format!(r#"{{"error":{{"code":{status},"message":"{text}","status":"{google_status}"}}}}"#),
        _ => format!(r#"{{"error":"{}"}}"#, text.to_lowercase()),
    }
}

#[tokio::test]
async fn every_provider_maps_every_error_status() {
    for provider in ["openai", "openai-responses", "anthropic", "gemini", "ollama"] {
        for (status, kind, retryable) in MATRIX {
            let mut reply = Reply::error(status, &body(provider, status));
            if status == 429 {
                reply = reply.header("retry-after", "7");
            }
            let (_server, loaded) = provider_against(provider, vec![reply]).await;
            let (_, result) = run_turn(&loaded, Request::user("some-model", "hi")).await;
            let error = result.expect_err("an error status fails the turn");
            assert_eq!(error.kind, kind, "{provider} {status}: {}", error.message);
            assert_eq!(error.status, Some(status), "{provider} {status}");
            assert_eq!(error.retryable, retryable, "{provider} {status}: retryable");
            let retry_after = (status == 429).then_some(7000);
            assert_eq!(error.retry_after_ms, retry_after, "{provider} {status}: retry-after");
            assert!(error.body_excerpt.is_some(), "{provider} {status}: the body is kept, bounded");
        }
    }
}

#[tokio::test]
async fn recorded_openai_400_names_the_parameter() {
    let Some(fixtures) = shared_fixtures() else { return };
    let body = std::fs::read_to_string(fixtures.join("errors/openai-400-legacy-parameter.json")).expect("fixture");
    let (_server, provider) = provider_against("openai", vec![Reply::error(400, &body)]).await;
    let (_, result) = run_turn(&provider, Request::user("gpt-5", "hi")).await;
    let error = result.expect_err("400");
    assert_eq!(error.kind, ErrorKind::InvalidRequest);
    assert!(!error.retryable);
    assert_eq!(error.provider_code.as_deref(), Some("unsupported_parameter"));
    assert!(error.message.contains("max_completion_tokens"), "{}", error.message);
}
