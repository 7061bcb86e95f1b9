//! Azure OpenAI through the OpenAI-compatible provider (the `azure-openai`
//! component: its key in an `api-key` header), by the presets `azure` (the
//! v1 API) and `azure-deployments` (deployment URLs with an `api-version`).
//! The local upstream answers in Azure's documented streaming shape: a first
//! chunk of no choice and no id carrying the prompt filter's verdict, choices
//! with `content_filter_results`, a verdict chunk without a delta after the
//! finish, and usage in a chunk of no choice. None of it may lose text.

use cordon::replay::{Reply, ReplayServer};
use cordon::{ErrorKind, Event, FinishReason, Request};
use serde_json::{Value, json};

use crate::presets::load_preset;
use crate::support::run_turn;

/// The key the tests bind.
const KEY: &str = "azure-test-key";

/// `chunks` as Azure streams them, then `[DONE]`.
fn azure_stream(chunks: &[Value]) -> Reply {
    let mut events: Vec<bytes::Bytes> = chunks.iter().map(|chunk| bytes::Bytes::from(format!("data: {chunk}\n\n"))).collect();
    events.push(bytes::Bytes::from_static(b"data: [DONE]\n\n"));
    Reply::stream(events)
}

/// A choice chunk of the response `chatcmpl-az`, as Azure sends one.
fn choice(delta: Value, finish: Value, filter: Value) -> Value {
    json!({"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1730000000, "model": "gpt-4o-2024-11-20",
        "system_fingerprint": "fp_az", "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null, "content_filter_results": filter}]})
}

fn safe() -> Value {
    json!({"hate": {"filtered": false, "severity": "safe"}, "self_harm": {"filtered": false, "severity": "safe"},
        "sexual": {"filtered": false, "severity": "safe"}, "violence": {"filtered": false, "severity": "safe"}})
}

fn prompt_verdict() -> Value {
    json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": safe()}]})
}

#[tokio::test]
async fn filter_chunks_lose_no_text_on_deployment_urls() {
    let reply = azure_stream(&[
        prompt_verdict(),
        choice(json!({"role": "assistant", "content": ""}), Value::Null, json!({})),
        choice(json!({"content": "Two plus two"}), Value::Null, safe()),
        choice(json!({"content": " is four."}), Value::Null, safe()),
        choice(json!({}), json!("stop"), json!({})),
        json!({"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1730000000, "model": "gpt-4o-2024-11-20",
            "choices": [{"index": 0, "finish_reason": null, "content_filter_results": safe(),
                "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 22}}]}),
        json!({"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1730000000, "model": "gpt-4o-2024-11-20", "choices": [],
            "usage": {"prompt_tokens": 14, "completion_tokens": 6, "total_tokens": 20, "prompt_tokens_details": {"cached_tokens": 0}}}),
    ]);
    let upstream = ReplayServer::start(vec![reply]).await.expect("an upstream");
    let provider = load_preset("azure-deployments", &upstream, KEY).await;
    let mut request = Request::user("gpt4o-deployment", "What is 2 + 2?");
    request.sampling.max_output_tokens = Some(50);
    let (events, result) = run_turn(&provider, request).await;
    let result = result.expect("the turn succeeds");

    assert_eq!(result.text(), "Two plus two is four.");
    assert_eq!(result.finish.reason, FinishReason::Stop);
    assert_eq!((result.usage.input_tokens, result.usage.output_tokens), (Some(14), Some(6)));
    assert_eq!(result.response_id.as_deref(), Some("chatcmpl-az"), "the prompt verdict's empty id is not the response's");
    assert_eq!(result.model.as_deref(), Some("gpt-4o-2024-11-20"));
    let metadata = events.iter().filter(|e| matches!(e, Event::ResponseMetadata { .. })).count();
    assert_eq!(metadata, 1, "one response-metadata event, the real one");

    let sent = &upstream.requests()[0];
    assert_eq!(sent.path, "/openai/deployments/gpt4o-deployment/chat/completions?api-version=2024-10-21");
    assert_eq!(sent.header("api-key"), Some(KEY), "Azure takes its key in api-key");
    assert_eq!(sent.header("authorization"), None, "and no bearer token");
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(body["max_completion_tokens"], 50);
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_filtered_answer_keeps_its_text_and_finishes_as_content_filter() {
    let filtered = json!({"hate": {"filtered": false, "severity": "safe"}, "violence": {"filtered": true, "severity": "medium"}});
    let reply = azure_stream(&[
        prompt_verdict(),
        choice(json!({"role": "assistant", "content": ""}), Value::Null, json!({})),
        choice(json!({"content": "The duel began at dawn"}), Value::Null, safe()),
        choice(json!({}), json!("content_filter"), filtered),
    ]);
    let upstream = ReplayServer::start(vec![reply]).await.expect("an upstream");
    let provider = load_preset("azure", &upstream, KEY).await;
    let (events, result) = run_turn(&provider, Request::user("gpt-4o", "Tell a story")).await;
    let result = result.expect("a filtered answer is a finished turn, not an error");
    assert_eq!(result.text(), "The duel began at dawn", "the text before the filter stays");
    assert_eq!((result.finish.reason, result.finish.raw.as_deref()), (FinishReason::ContentFilter, Some("content_filter")));
    assert!(matches!(events.last(), Some(Event::Finish(finish)) if finish.reason == FinishReason::ContentFilter));

    let sent = &upstream.requests()[0];
    assert_eq!(sent.path, "/openai/v1/chat/completions", "the v1 API: no deployment, no api-version");
    assert_eq!(sent.header("api-key"), Some(KEY));
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(body["model"], "gpt-4o", "on the v1 API the deployment is the model");
}

#[tokio::test]
async fn a_filtered_prompt_is_a_content_filter_error() {
    let body = json!({"error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
        "type": null, "param": "prompt", "code": "content_filter", "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
            "hate": {"filtered": false, "severity": "safe"}, "violence": {"filtered": true, "severity": "high"}}}}});
    let upstream = ReplayServer::start(vec![Reply::error(400, &body.to_string())]).await.expect("an upstream");
    let provider = load_preset("azure", &upstream, KEY).await;
    let (_, result) = run_turn(&provider, Request::user("gpt-4o", "something refused")).await;
    let error = result.expect_err("a refused prompt fails the turn");
    assert_eq!(error.kind, ErrorKind::ContentFilter, "{error:?}");
    assert!(error.message.contains("content management policy"), "{}", error.message);
}

/// Azure's models list is beside its deployments (`{endpoint}/openai/models`)
/// and takes the same `api-version`; the v1 API's is `/openai/v1/models`.
#[tokio::test]
async fn both_presets_list_models_where_azure_serves_them() {
    let list = json!({"object": "list", "data": [
        {"id": "gpt-4o-2024-11-20", "object": "model", "status": "succeeded", "created_at": 1732060800,
            "capabilities": {"chat_completion": true, "completion": false, "embeddings": false, "fine_tune": true, "inference": true}},
        {"id": "text-embedding-3-small", "object": "model", "status": "succeeded", "created_at": 1705953600,
            "capabilities": {"chat_completion": false, "completion": false, "embeddings": true, "fine_tune": false, "inference": true}}]});
    for (preset, path) in [("azure-deployments", "/openai/models?api-version=2024-10-21"), ("azure", "/openai/v1/models")] {
        let upstream = ReplayServer::start(vec![Reply::error(200, &list.to_string())]).await.expect("an upstream");
        let provider = load_preset(preset, &upstream, KEY).await;
        let models = provider.list_models().await.unwrap_or_else(|err| panic!("{preset}: lists: {err}"));
        let ids: Vec<&str> = models.iter().map(|model| model.id.as_str()).collect();
        assert_eq!(ids, ["gpt-4o-2024-11-20", "text-embedding-3-small"], "{preset}");
        let requests = upstream.requests();
        assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("GET", path), "{preset}");
        assert_eq!(requests[0].header("api-key"), Some(KEY), "{preset}: the key in Azure's header");
        assert_eq!(requests[0].header("authorization"), None, "{preset}");
    }
}
