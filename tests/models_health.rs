//! `list-models` and `health` (contract 0.2.0) of every shipped provider,
//! through the real host and the real components, against local servers that
//! answer in each provider's real models-endpoint shape: the request each
//! provider makes (method, path, query, headers, the key the host adds), the
//! models it reads (paging included), and health mapped from the answer.

use cordon::models::HealthStatus;
use cordon::replay::{Reply, ReplayServer};
use cordon::{Error, Provider, ProviderOptions};
use serde_json::{Value, json};

use crate::support::runtime;

const KEY: &str = "sk-models-test";

fn answer(body: Value) -> Reply {
    Reply::error(200, &body.to_string())
}

/// `provider` loaded against a server answering `replies` in turn, the test
/// key bound to its `api-key` secret.
async fn against(provider: &str, replies: Vec<Reply>) -> (ReplayServer, Provider) {
    crate::support::keyed_provider_against(provider, None, replies, KEY).await
}

fn ids(models: &[cordon::models::ModelInfo]) -> Vec<&str> {
    models.iter().map(|model| model.id.as_str()).collect()
}

#[tokio::test]
async fn openai_and_openai_responses_read_the_models_list() {
    let list = json!({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "o3", "object": "model", "created": 1744225308, "owned_by": "system"}]});
    for name in ["openai", "openai-responses"] {
        let (server, provider) = against(name, vec![answer(list.clone()), answer(list.clone())]).await;
        let models = provider.list_models().await.expect("lists");
        assert_eq!(ids(&models), ["gpt-4o-mini", "o3"], "{name}");
        let health = provider.health().await.expect("health");
        assert_eq!((health.status, health.reason), (HealthStatus::Ok, None), "{name}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{name}: one request each");
        for request in &requests {
            assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/models"), "{name}");
            assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "{name}: the host's key");
        }
    }
}

#[tokio::test]
async fn health_maps_error_answers_to_degraded_or_down() {
    let limited = Reply::error(429, r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#);
    let refused = Reply::error(401, r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#);
    let (_server, provider) = against("openai", vec![limited, refused.clone(), refused]).await;
    let health = provider.health().await.expect("health");
    assert_eq!(health.status, HealthStatus::Degraded, "{health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| r.contains("429")), "{health:?}");
    let health = provider.health().await.expect("health");
    assert_eq!(health.status, HealthStatus::Down, "{health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| r.contains("401")), "{health:?}");
    let err = provider.list_models().await.expect_err("refused");
    assert!(matches!(&err, Error::Turn(e) if e.kind == cordon::ErrorKind::Auth), "{err}");
}

#[tokio::test]
async fn anthropic_follows_pages_with_after_id() {
    let first = json!({"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}],
        "has_more": true, "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-sonnet-4-5-20250929"});
    let second = json!({"data": [{"type": "model", "id": "claude-haiku-4-5-20251001", "display_name": "Claude Haiku 4.5", "created_at": "2025-10-01T00:00:00Z"}],
        "has_more": false, "first_id": "claude-haiku-4-5-20251001", "last_id": "claude-haiku-4-5-20251001"});
    let (server, provider) = against("anthropic", vec![answer(first.clone()), answer(second), answer(first)]).await;
    let models = provider.list_models().await.expect("lists");
    assert_eq!(ids(&models), ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]);
    assert_eq!(models[1].display_name.as_deref(), Some("Claude Haiku 4.5"));
    assert_eq!(provider.health().await.expect("health").status, HealthStatus::Ok);
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/v1/models?limit=1000", "/v1/models?limit=1000&after_id=claude-sonnet-4-5-20250929", "/v1/models?limit=1"]);
    for request in &requests {
        assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(request.header("x-api-key"), Some(KEY));
    }
}

#[tokio::test]
async fn gemini_lists_generative_models_with_their_limits() {
    let first = json!({"models": [
        {"name": "models/gemini-2.5-flash", "version": "001", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576,
         "outputTokenLimit": 65536, "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent"], "thinking": true},
        {"name": "models/text-embedding-004", "displayName": "Text Embedding 004", "inputTokenLimit": 2048, "outputTokenLimit": 1,
         "supportedGenerationMethods": ["embedContent"]}],
        "nextPageToken": "Ch5tb2RlbHMvZ2VtaW5p"});
    let second = json!({"models": [{"name": "models/gemini-2.0-flash", "inputTokenLimit": 1048576, "outputTokenLimit": 8192,
        "supportedGenerationMethods": ["generateContent"]}]});
    let (server, provider) = against("gemini", vec![answer(first.clone()), answer(second), answer(first)]).await;
    let models = provider.list_models().await.expect("lists");
    assert_eq!(ids(&models), ["gemini-2.5-flash", "gemini-2.0-flash"], "embedding models are not chat models");
    assert_eq!((models[0].context_window, models[0].max_output_tokens, models[0].reasoning), (Some(1048576), Some(65536), Some(true)));
    assert_eq!(models[1].reasoning, None, "unknown, not false");
    assert_eq!(provider.health().await.expect("health").status, HealthStatus::Ok);
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/v1beta/models?pageSize=1000", "/v1beta/models?pageSize=1000&pageToken=Ch5tb2RlbHMvZ2VtaW5p", "/v1beta/models?pageSize=1"]);
    assert!(requests.iter().all(|r| r.header("x-goog-api-key") == Some(KEY)));
}

#[tokio::test]
async fn ollama_lists_its_pulled_models() {
    let tags = json!({"models": [
        {"name": "llama3.2:latest", "model": "llama3.2:latest", "modified_at": "2025-05-04T17:37:44.706015396-07:00", "size": 2019393189,
         "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
         "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"], "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}},
        {"name": "qwen3:8b", "model": "qwen3:8b", "size": 5225388164_u64, "details": {"family": "qwen3"}}]});
    let (server, provider) = against("ollama", vec![answer(tags.clone()), answer(tags)]).await;
    assert_eq!(ids(&provider.list_models().await.expect("lists")), ["llama3.2:latest", "qwen3:8b"]);
    assert_eq!(provider.health().await.expect("health").status, HealthStatus::Ok);
    assert!(server.requests().iter().all(|r| r.method == "GET" && r.path == "/api/tags"));
}

#[tokio::test]
async fn cohere_lists_chat_models_with_their_features() {
    let page = json!({"models": [
        {"name": "command-a-03-2025", "endpoints": ["chat"], "finetuned": false, "context_length": 256000,
         "tokenizer_url": "https://storage.googleapis.com/cohere-public/tokenizers/command-a-03-2025.json", "features": ["json_mode", "tools", "strict_tools"]},
        {"name": "command-r7b-12-2024", "endpoints": ["chat"], "context_length": 128000, "features": ["json_mode"]}],
        "next_page_token": null});
    let (server, provider) = against("cohere", vec![answer(page.clone()), answer(page)]).await;
    let models = provider.list_models().await.expect("lists");
    assert_eq!(ids(&models), ["command-a-03-2025", "command-r7b-12-2024"]);
    assert_eq!((models[0].context_window, models[0].tools, models[1].tools), (Some(256000), Some(true), Some(false)));
    assert_eq!(provider.health().await.expect("health").status, HealthStatus::Ok);
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v1/models?endpoint=chat&page_size=1000", "/v1/models?endpoint=chat&page_size=1"]);
}

/// Bedrock's catalogue is `ListFoundationModels`, on the control-plane host;
/// a local base URL answers it at its own origin, signed with the `aws` secret.
#[tokio::test]
async fn bedrock_lists_foundation_models_signed_for_bedrock() {
    let summaries = json!({"modelSummaries": [
        {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0", "modelId": "amazon.nova-lite-v1:0",
         "modelName": "Nova Lite", "providerName": "Amazon", "inputModalities": ["TEXT", "IMAGE", "VIDEO"], "outputModalities": ["TEXT"],
         "responseStreamingSupported": true, "customizationsSupported": ["FINE_TUNING"], "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"],
         "modelLifecycle": {"status": "ACTIVE"}},
        {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
         "modelId": "anthropic.claude-sonnet-4-5-20250929-v1:0", "modelName": "Claude Sonnet 4.5", "providerName": "Anthropic",
         "inputModalities": ["TEXT", "IMAGE"], "outputModalities": ["TEXT"], "responseStreamingSupported": true,
         "inferenceTypesSupported": ["INFERENCE_PROFILE"], "modelLifecycle": {"status": "ACTIVE"}},
        {"modelId": "cohere.rerank-v3-5:0", "modelName": "Rerank 3.5", "providerName": "Cohere", "inputModalities": ["TEXT"],
         "outputModalities": ["TEXT"], "responseStreamingSupported": false, "inferenceTypesSupported": ["ON_DEMAND"]}]});
    let throttled = Reply {
        headers: vec![("content-type".into(), "application/json".into()), ("x-amzn-errortype".into(), "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/".into())],
        ..Reply::error(429, r#"{"message":"Too many requests, please wait before trying again."}"#)
    };
    let denied = Reply {
        headers: vec![("content-type".into(), "application/json".into()), ("x-amzn-errortype".into(), "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/".into())],
        ..Reply::error(403, r#"{"message":"The security token included in the request is invalid."}"#)
    };
    let server = ReplayServer::start(vec![answer(summaries), throttled, denied]).await.expect("server");
    let aws = cordon::signing::aws_credentials_json("AKIDEXAMPLE", "models-test-secret", None, Some("eu-west-3"));
    let options = ProviderOptions {
        base_url: Some(server.url()),
        secrets: [("aws".to_owned(), aws)].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("bedrock", options).await.expect("loads");
    let models = provider.list_models().await.expect("lists");
    assert_eq!(ids(&models), ["amazon.nova-lite-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"], "Converse streams; a reranker does not");
    assert_eq!(models[0].display_name.as_deref(), Some("Nova Lite"));
    assert_eq!(models[0].input_modalities, [cordon::models::Modality::Text, cordon::models::Modality::Image, cordon::models::Modality::Video]);
    let health = provider.health().await.expect("health");
    assert_eq!(health.status, HealthStatus::Degraded, "{health:?}");
    let health = provider.health().await.expect("health");
    assert_eq!(health.status, HealthStatus::Down, "{health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| r.contains("403")), "{health:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/foundation-models?byOutputModality=TEXT"));
        let signature = request.header("authorization").unwrap_or_default();
        assert!(signature.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") && signature.contains("/eu-west-3/bedrock/aws4_request"), "{signature}");
    }

    // The same request, checked by botocore's own SigV4 verifier.
    let upstream = crate::signing::verifier(None);
    let options = ProviderOptions {
        base_url: Some(upstream.url.clone()),
        secrets: [("aws".to_owned(), crate::signing::aws_keys_without_token())].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("bedrock", options).await.expect("loads");
    let health = provider.health().await.expect("health");
    assert_eq!((health.status, health.reason.as_deref()), (HealthStatus::Ok, None), "the verifier answered 200");
    let seen = upstream.get("/_requests").await;
    let seen = seen.as_array().expect("a list");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0]["method"].as_str(), seen[0]["target"].as_str()), (Some("GET"), Some("/foundation-models?byOutputModality=TEXT")));
    assert_eq!(seen[0]["verdict"], "verified", "{seen:?}");
}

/// Vertex's catalogue is the Model Garden's publisher models, read with the
/// token the host mints from the service account.
#[tokio::test]
async fn vertex_lists_the_publisher_s_gemini_models_with_the_minted_token() {
    const TOKEN: &str = "ya29.models-test-token";
    let token_endpoint =
        ReplayServer::start(vec![answer(json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}))]).await.expect("token endpoint");
    let first = json!({"publisherModels": [
        {"name": "publishers/google/models/gemini-2.5-flash", "versionId": "001", "openSourceCategory": "PROPRIETARY",
         "launchStage": "GA", "versionState": "VERSION_STATE_STABLE", "publisherModelTemplate": "projects/{project}/locations/{location}/publishers/google/models/gemini-2.5-flash@001"},
        {"name": "publishers/google/models/imagen-4.0-generate-001", "versionId": "001", "launchStage": "GA"}],
        "nextPageToken": "CiBwdWJsaXNoZXJzL2dvb2dsZS9tb2RlbHMvaW1hZ2Vu"});
    let second = json!({"publisherModels": [
        {"name": "publishers/google/models/gemini-2.5-pro", "versionId": "001", "launchStage": "GA"},
        {"name": "publishers/google/models/text-embedding-005", "versionId": "005", "launchStage": "GA"}]});
    let server = ReplayServer::start(vec![answer(first.clone()), answer(second), answer(first)]).await.expect("server");
    let options = ProviderOptions {
        base_url: Some(server.url()),
        options: Some(json!({"project": "p", "location": "us-central1"})),
        secrets: [("google".to_owned(), crate::support::google_service_account(&format!("{}/token", token_endpoint.url())))].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("vertex", options).await.expect("loads");
    let models = provider.list_models().await.expect("lists");
    assert_eq!(ids(&models), ["gemini-2.5-flash", "gemini-2.5-pro"], "Imagen and embeddings are not Gemini");
    assert_eq!(provider.health().await.expect("health").status, HealthStatus::Ok);
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, [
        "/v1beta1/publishers/google/models?pageSize=1000",
        "/v1beta1/publishers/google/models?pageSize=1000&pageToken=CiBwdWJsaXNoZXJzL2dvb2dsZS9tb2RlbHMvaW1hZ2Vu",
        "/v1beta1/publishers/google/models?pageSize=1",
    ]);
    assert!(requests.iter().all(|r| r.header("authorization") == Some(format!("Bearer {TOKEN}").as_str())), "the minted token");
    assert_eq!(token_endpoint.requests().len(), 1, "one token exchange, then the cached token");
}

/// `cordon models` and `cordon health` as a user runs them, against a local Ollama.
#[tokio::test]
async fn the_cli_lists_models_and_probes_health() {
    let tags = json!({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest", "details": {"family": "llama"}}]});
    let limited = Reply::error(503, r#"{"error":"server busy, please try again"}"#);
    let server = ReplayServer::start(vec![answer(tags), limited]).await.expect("server");
    let run = |command: &'static str, url: String| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_cordon"))
                .args([command, "ollama", "--base-url", &url, "--json"])
                .env("CORDON_COMPONENTS", crate::support::components_dir())
                .env("CORDON_TRUST", crate::support::trust_file())
                .env("CORDON_LOG", "off")
                .output()
                .expect("cordon runs")
        })
    };
    let listed = run("models", server.url()).await.expect("ran");
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let models: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(models, json!([{"id": "llama3.2:latest"}]));
    let probed = run("health", server.url()).await.expect("ran");
    assert!(!probed.status.success(), "degraded is not ok");
    let health: Value = serde_json::from_slice(&probed.stdout).expect("JSON");
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(health["reason"].as_str().is_some_and(|r| r.contains("503")), "{health}");
}
