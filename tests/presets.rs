//! Every preset (`cordon providers`) sends what its service requires. A
//! gateway (`cordon serve`, the real binary) gets one `[providers.X]` table a
//! preset, `preset = "X"` and a base URL on 127.0.0.1 that keeps the
//! service's path, and the key in the variable the service's documentation
//! names; a local upstream answers each in the service's wire format. What
//! the upstream received is checked against an independent table of what
//! each service requires (path, auth header, the token limit's field, fields
//! it refuses or names otherwise, headers), and what the client got against
//! what the upstream said. The recorded streams of services with presets go
//! through their presets as they go through their components. `cordon chat
//! --preset` and `cordon providers` are run as a user runs them.

use std::collections::BTreeSet;

use bytes::Bytes;
use cordon::presets::{self, Preset};
use cordon::replay::{Framing, RecordedRequest, Reply, ReplayServer, frame};
use cordon::{ProviderOptions, Request};
use serde_json::{Value, json};

use crate::support::{ServeProcess, components_dir, google_service_account, normalized, normalized_result, run_turn, runtime, shared_fixtures};

/// What one OpenAI-compatible service requires of a Chat Completions
/// request, as its documentation (and the SDKs that speak to it) say.
struct Service {
    preset: &'static str,
    /// The variable its key is kept in; an empty key: the request goes without one.
    env: (&'static str, &'static str),
    /// Path and query of its Chat Completions endpoint.
    path: &'static str,
    /// The header its key goes in and its value, `{key}` for the key.
    auth: (&'static str, &'static str),
    /// The field that carries the output token limit.
    max_tokens: &'static str,
    /// Whether it takes `stream_options.include_usage`.
    stream_usage: bool,
    /// Fields it refuses.
    refuses: &'static [&'static str],
    /// Fields it names otherwise: (OpenAI's name, its name).
    renames: &'static [(&'static str, &'static str)],
    /// Whether a tool result must name its tool.
    tool_result_name: bool,
    /// Headers it wants.
    headers: &'static [(&'static str, &'static str)],
    /// Where it streams reasoning: a delta field, or `thinking` content parts.
    reasoning: Option<&'static str>,
    /// The model the route names (an Azure deployment is in the path).
    model: &'static str,
}

const BEARER: (&str, &str) = ("authorization", "Bearer {key}");

/// A service that takes what OpenAI's API takes but `max_tokens`.
fn compatible(preset: &'static str, env: &'static str, path: &'static str) -> Service {
    Service {
        preset,
        env: (env, "key"),
        path,
        auth: BEARER,
        max_tokens: "max_tokens",
        stream_usage: true,
        refuses: &[],
        renames: &[],
        tool_result_name: false,
        headers: &[],
        reasoning: None,
        model: "some-model",
    }
}

fn services() -> Vec<Service> {
    let azure = |preset, path| Service {
        auth: ("api-key", "{key}"),
        max_tokens: "max_completion_tokens",
        model: "gpt4o-deployment",
        ..compatible(preset, "AZURE_OPENAI_API_KEY", path)
    };
    vec![
        Service { max_tokens: "max_completion_tokens", ..compatible("openai", "OPENAI_API_KEY", "/v1/chat/completions") },
        compatible("gemini-openai", "GEMINI_API_KEY", "/v1beta/openai/chat/completions"),
        azure("azure", "/openai/v1/chat/completions"),
        azure("azure-deployments", "/openai/deployments/gpt4o-deployment/chat/completions?api-version=2024-10-21"),
        Service {
            renames: &[("seed", "random_seed")],
            tool_result_name: true,
            reasoning: Some("thinking"),
            ..compatible("mistral", "MISTRAL_API_KEY", "/v1/chat/completions")
        },
        Service { reasoning: Some("reasoning_content"), ..compatible("deepseek", "DEEPSEEK_API_KEY", "/chat/completions") },
        Service { reasoning: Some("reasoning_content"), ..compatible("xai", "XAI_API_KEY", "/v1/chat/completions") },
        Service { reasoning: Some("reasoning_content"), ..compatible("moonshot", "MOONSHOT_API_KEY", "/v1/chat/completions") },
        Service { reasoning: Some("reasoning_content"), ..compatible("qwen", "DASHSCOPE_API_KEY", "/compatible-mode/v1/chat/completions") },
        Service {
            refuses: &["reasoning_effort"],
            reasoning: Some("reasoning_content"),
            ..compatible("zhipu", "ZHIPUAI_API_KEY", "/api/paas/v4/chat/completions")
        },
        Service {
            refuses: &["reasoning_effort"],
            reasoning: Some("reasoning_content"),
            ..compatible("zai", "ZAI_API_KEY", "/api/paas/v4/chat/completions")
        },
        Service {
            stream_usage: false,
            refuses: &["stop", "seed", "tools", "tool_choice", "parallel_tool_calls"],
            ..compatible("perplexity", "PERPLEXITY_API_KEY", "/chat/completions")
        },
        Service { reasoning: Some("reasoning"), ..compatible("groq", "GROQ_API_KEY", "/openai/v1/chat/completions") },
        Service {
            refuses: &["frequency_penalty", "presence_penalty", "parallel_tool_calls"],
            reasoning: Some("reasoning"),
            ..compatible("cerebras", "CEREBRAS_API_KEY", "/v1/chat/completions")
        },
        compatible("sambanova", "SAMBANOVA_API_KEY", "/v1/chat/completions"),
        compatible("together", "TOGETHER_API_KEY", "/v1/chat/completions"),
        compatible("fireworks", "FIREWORKS_API_KEY", "/inference/v1/chat/completions"),
        compatible("deepinfra", "DEEPINFRA_API_KEY", "/v1/openai/chat/completions"),
        compatible("nebius", "NEBIUS_API_KEY", "/v1/chat/completions"),
        compatible("hyperbolic", "HYPERBOLIC_API_KEY", "/v1/chat/completions"),
        compatible("novita", "NOVITA_API_KEY", "/openai/chat/completions"),
        compatible("nvidia", "NVIDIA_API_KEY", "/v1/chat/completions"),
        compatible("huggingface", "HF_TOKEN", "/v1/chat/completions"),
        Service {
            headers: &[("x-github-api-version", "2022-11-28")],
            ..compatible("github", "GITHUB_TOKEN", "/inference/chat/completions")
        },
        Service { reasoning: Some("reasoning"), ..compatible("openrouter", "OPENROUTER_API_KEY", "/api/v1/chat/completions") },
        compatible("lmstudio", "LM_STUDIO_API_KEY", "/v1/chat/completions"),
        Service { reasoning: Some("reasoning_content"), ..compatible("llamacpp", "LLAMA_API_KEY", "/v1/chat/completions") },
        Service { reasoning: Some("reasoning"), ..compatible("vllm", "VLLM_API_KEY", "/v1/chat/completions") },
        // A local server without a key: the request goes without one.
        Service { env: ("LOCALAI_API_KEY", ""), ..compatible("localai", "LOCALAI_API_KEY", "/v1/chat/completions") },
    ]
}

/// The presets of components with a wire format of their own, checked in
/// [`every_other_preset_reaches_its_service_as_it_requires`].
const OWN_FORMATS: [&str; 7] = ["anthropic", "gemini", "vertex", "bedrock", "ollama", "openai-responses", "cohere"];

#[test]
fn every_preset_has_a_request_shape_test() {
    let tested: BTreeSet<&str> = services().iter().map(|s| s.preset).chain(OWN_FORMATS).collect();
    let all: BTreeSet<&str> = presets::all().expect("the shipped table").iter().map(|p| p.name.as_str()).collect();
    assert_eq!(tested, all, "each preset needs a row here");
    assert!(all.len() >= 30);
}

/// The preset's base URL at `upstream`: its path kept, its origin replaced.
fn at_local(preset: &Preset, upstream: &ReplayServer) -> String {
    let url = url::Url::parse(&preset.base_url.replace("{resource}", "resource")).expect("a URL");
    format!("{}{}", upstream.url(), url.path().trim_end_matches('/'))
}

/// The component of preset `name` loaded as the preset says, its base URL at
/// `upstream` and its key bound to `key` (as `--secret` or a gateway's table would).
pub async fn load_preset(name: &str, upstream: &ReplayServer, key: &str) -> cordon::Provider {
    let preset = presets::find(name).expect("a preset");
    let resolved = preset.resolve(Some(&at_local(preset, upstream)), None).expect("resolves");
    let options = ProviderOptions {
        base_url: Some(resolved.base_url),
        options: resolved.options,
        secrets: [(preset.secret_name.clone(), key.to_owned())].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    runtime().load_provider(&resolved.component, options).await.unwrap_or_else(|err| panic!("preset `{name}` loads: {err}"))
}

/// The request every client sends: each sampling setting, reasoning, tools,
/// and (unless the service takes no tools) an earlier tool call and its result.
fn client_request(model: &str, tool_history: bool) -> Value {
    let mut messages = vec![json!({"role": "system", "content": "Be brief."}), json!({"role": "user", "content": "What is 2 + 2?"})];
    if tool_history {
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":2}"}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": "call_1", "name": "add", "content": "4"}));
    }
    json!({
        "model": model, "messages": messages,
        "max_tokens": 64, "temperature": 0.5, "top_p": 0.9, "presence_penalty": 0.1, "frequency_penalty": 0.2,
        "stop": ["END"], "seed": 7, "reasoning_effort": "low", "parallel_tool_calls": false, "tool_choice": "auto",
        "tools": [{"type": "function", "function": {"name": "add", "description": "Adds two numbers",
            "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}}],
    })
}

/// The service's answer: reasoning where it streams it, text, a finish, usage.
fn chat_stream(service: &Service) -> Vec<Bytes> {
    let preset = service.preset;
    let chunk = |choices: Value, extra: Value| {
        let mut chunk = json!({"id": format!("chatcmpl-{preset}"), "object": "chat.completion.chunk", "created": 1, "model": service.model, "choices": choices});
        if let (Some(chunk), Some(extra)) = (chunk.as_object_mut(), extra.as_object()) {
            chunk.extend(extra.clone());
        }
        Bytes::from(format!("data: {chunk}\n\n"))
    };
    let thinking = format!("Thinking for {preset}");
    let mut chunks = Vec::new();
    if preset.starts_with("azure") {
        // Azure's prompt filter verdict comes first, in a chunk of no choice and no id.
        chunks.push(Bytes::from(format!(
            "data: {}\n\n",
            json!({"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]})
        )));
    }
    match service.reasoning {
        Some("thinking") => chunks.push(chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": [{"type": "thinking", "thinking": [{"type": "text", "text": thinking}]}]}}]), json!({}))),
        Some(field) => chunks.push(chunk(json!([{"index": 0, "delta": {"role": "assistant", field: thinking}}]), json!({}))),
        None => {}
    }
    chunks.push(chunk(json!([{"index": 0, "delta": {"content": format!("Hello from {preset}")}, "content_filter_results": {}}]), json!({})));
    chunks.push(chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]), json!({})));
    chunks.push(chunk(json!([]), json!({"usage": {"prompt_tokens": 11, "completion_tokens": 7}})));
    chunks.push(Bytes::from_static(b"data: [DONE]\n\n"));
    chunks
}

/// What is found wrong, each thing as what was wanted.
#[derive(Default)]
struct Wrong(Vec<String>);

impl Wrong {
    fn want(&mut self, ok: bool, what: String) {
        if !ok {
            self.0.push(what);
        }
    }
}

/// What is wrong with `seen` for `service`, if anything.
fn problems(service: &Service, seen: &RecordedRequest) -> Vec<String> {
    let mut wrong = Wrong::default();
    let mut want = |ok: bool, what: String| wrong.want(ok, what);
    want(seen.method == "POST" && seen.path == service.path, format!("POST {} (got {} {})", service.path, seen.method, seen.path));
    let (header, format) = service.auth;
    let key = service.env.1;
    if key.is_empty() {
        want(seen.header("authorization").is_none() && seen.header("api-key").is_none(), "no key without one".into());
    } else {
        let value = format.replace("{key}", key);
        want(seen.header(header) == Some(value.as_str()), format!("`{header}: {value}` (got {:?})", seen.header(header)));
        if header != "authorization" {
            want(seen.header("authorization").is_none(), "no authorization header beside its own".into());
        }
    }
    for (name, value) in service.headers {
        want(seen.header(name) == Some(value), format!("header `{name}: {value}` (got {:?})", seen.header(name)));
    }
    match serde_json::from_slice::<Value>(&seen.body) {
        Ok(body) => wrong.0.extend(body_problems(service, &body)),
        Err(_) => wrong.0.push("a JSON body".into()),
    }
    wrong.0
}

/// What is wrong with a request body for `service`, if anything.
fn body_problems(service: &Service, body: &Value) -> Vec<String> {
    let mut wrong = Wrong::default();
    let mut want = |ok: bool, what: String| wrong.want(ok, what);
    want(body["model"] == service.model && body["stream"] == true, format!("model {} streamed (got {} {})", service.model, body["model"], body["stream"]));
    let other = if service.max_tokens == "max_tokens" { "max_completion_tokens" } else { "max_tokens" };
    want(body[service.max_tokens] == 64 && body.get(other).is_none(), format!("the token limit in `{}`, no `{other}`", service.max_tokens));
    let usage = body.pointer("/stream_options/include_usage") == Some(&Value::Bool(true));
    want(usage == service.stream_usage, format!("stream_options.include_usage {}", if service.stream_usage { "asked" } else { "absent" }));
    for field in service.refuses {
        want(body.get(*field).is_none(), format!("no `{field}`: the service refuses it"));
    }
    for (openai, theirs) in service.renames {
        want(body.get(*openai).is_none() && body.get(*theirs).is_some(), format!("`{theirs}` instead of `{openai}`"));
    }
    // As sent (f32 on the way: 0.9 may arrive as 0.8999999761581421).
    for (field, value) in [("temperature", 0.5), ("top_p", 0.9)] {
        let sent = body[field].as_f64().unwrap_or(f64::NAN);
        want((sent - value).abs() < 1e-6, format!("`{field}` {value} as sent (got {})", body[field]));
    }
    if !service.refuses.contains(&"tools") {
        let tool_message = body["messages"].as_array().and_then(|m| m.iter().find(|m| m["role"] == "tool")).cloned().unwrap_or_default();
        want(tool_message["tool_call_id"] == "call_1", format!("the tool result answers call_1 (got {tool_message})"));
        let named = tool_message.get("name") == Some(&json!("add"));
        want(named == service.tool_result_name, format!("a tool result {} its tool's name", if service.tool_result_name { "with" } else { "without" }));
    }
    wrong.0
}

/// A gateway config of one provider and one model a preset, each preset's
/// base URL at its upstream; `extra` per preset is added to its table.
fn gateway_config<'a>(rows: impl Iterator<Item = (&'a str, &'a str, String, &'a ReplayServer)>) -> String {
    let mut config = String::new();
    for (preset_name, model, extra, upstream) in rows {
        let preset = presets::find(preset_name).expect("a preset");
        config.push_str(&format!(
            "[providers.{preset_name}]\npreset = \"{preset_name}\"\nbase-url = \"{}\"\n{extra}\n[models.{preset_name}]\nroutes = [\"{preset_name}:{model}\"]\n\n",
            at_local(preset, upstream)
        ));
    }
    config
}

/// `POST /v1/chat/completions` for `model` with `body`; the answer's JSON and its warnings header.
async fn chat(client: &reqwest::Client, gateway: &ServeProcess, body: &Value) -> (Value, String) {
    let response = client
        .post(format!("{}/chat/completions", gateway.base))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the gateway answers");
    let warnings = response.headers().get("x-cordon-warnings").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.expect("a body");
    (serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}")), warnings)
}

#[tokio::test]
async fn every_openai_compatible_preset_sends_what_its_service_requires() {
    let services = services();
    let mut upstreams = Vec::new();
    for service in &services {
        upstreams.push(ReplayServer::start(vec![Reply::stream(chat_stream(service))]).await.expect("an upstream"));
    }
    let config = gateway_config(services.iter().zip(&upstreams).map(|(s, u)| (s.preset, s.model, String::new(), u)));
    let env: Vec<(&str, &str)> = services.iter().map(|s| s.env).collect();
    let gateway = ServeProcess::start(&config, &env);
    let client = cordon::tls::client_builder().build().expect("a client");

    for (service, upstream) in services.iter().zip(&upstreams) {
        let preset = service.preset;
        let body = client_request(preset, !service.refuses.contains(&"tools"));
        let (answer, warnings) = chat(&client, &gateway, &body).await;
        let requests = upstream.requests();
        assert_eq!(requests.len(), 1, "{preset}: one request upstream; the gateway answered {answer}");
        let wrong = problems(service, &requests[0]);
        assert!(wrong.is_empty(), "{preset}: the request is not what the service requires: {wrong:#?}\n{}", String::from_utf8_lossy(&requests[0].body));

        let message = &answer["choices"][0]["message"];
        assert_eq!(message["content"], format!("Hello from {preset}"), "{preset}: {answer}");
        match service.reasoning {
            Some(_) => assert_eq!(message["reasoning_content"], format!("Thinking for {preset}"), "{preset}: reasoning"),
            None => assert!(message.get("reasoning_content").is_none(), "{preset}: no reasoning"),
        }
        assert_eq!(answer["usage"]["prompt_tokens"], 11, "{preset}: usage");
        for field in service.refuses {
            assert!(warnings.contains(&format!("`{field}`")), "{preset}: a warning says `{field}` was not sent: {warnings}");
        }
    }
}

/// A reply of the recording `fixture` in `framing` (an AWS event stream's bytes as they are).
fn recorded(fixtures: &std::path::Path, fixture: &str, framing: Framing) -> Reply {
    let path = fixtures.join(fixture);
    if fixture.ends_with(".eventstream.bin") {
        let bytes = std::fs::read(&path).expect("the recording");
        let mut reply = Reply::stream(vec![Bytes::from(bytes)]);
        reply.headers = vec![("content-type".into(), "application/vnd.amazon.eventstream".into())];
        return reply;
    }
    let text = std::fs::read_to_string(&path).expect("the recording");
    Reply::stream(frame(&text, framing).expect("framed"))
}

/// What a turn answered: text, reasoning, and tool calls as (name, arguments).
fn answer_of(result: &cordon::TurnResult) -> (String, String, Vec<(String, String)>) {
    let calls = result.tool_calls().iter().map(|c| (c.name.clone(), c.arguments.clone())).collect();
    (result.text(), result.reasoning(), calls)
}

/// The same, from a gateway's Chat Completions answer.
fn answer_in(answer: &Value) -> (String, String, Vec<(String, String)>) {
    let message = &answer["choices"][0]["message"];
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let calls = message["tool_calls"]
        .as_array()
        .map(|calls| calls.iter().map(|c| (text(&c["function"]["name"]), text(&c["function"]["arguments"]))).collect())
        .unwrap_or_default();
    (text(&message["content"]), text(&message["reasoning_content"]), calls)
}

/// A preset of a component with a wire format of its own, and what its service requires.
struct OwnFormat {
    preset: &'static str,
    /// The model its route names.
    model: &'static str,
    /// The recording its upstream answers with, and how it is framed.
    recording: &'static str,
    framing: Framing,
    /// What else its `[providers.X]` table says.
    table: &'static str,
    /// The path (and query) the service answers at.
    path: &'static str,
    /// The header its credential goes in, and how its value starts.
    auth: (&'static str, &'static str),
}

#[tokio::test]
async fn every_other_preset_reaches_its_service_as_it_requires() {
    let Some(fixtures) = shared_fixtures() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let token_endpoint = ReplayServer::start(vec![Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: cordon::replay::ReplyBody::Chunks(vec![Bytes::from_static(br#"{"access_token":"ya29.cordon-test","expires_in":3600,"token_type":"Bearer"}"#)]),
        chunk_delay: std::time::Duration::ZERO,
    }])
    .await
    .expect("a token endpoint");
    let account = dir.path().join("service-account.json");
    std::fs::write(&account, google_service_account(&format!("{}/token", token_endpoint.url()))).expect("a key file");

    let rows = [
        OwnFormat { preset: "anthropic", model: "claude-sonnet-4-5", recording: "wire/anthropic/anthropic-text.chunks.txt",
            framing: Framing::AnthropicSse, table: "", path: "/v1/messages", auth: ("x-api-key", "key") },
        OwnFormat { preset: "gemini", model: "gemini-2.5-flash", recording: "wire/gemini/google-text.chunks.txt",
            framing: Framing::GeminiSse, table: "", path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            auth: ("x-goog-api-key", "key") },
        OwnFormat { preset: "vertex", model: "gemini-2.5-flash", recording: "wire/vertex/tool-call-nested-arguments.chunks.txt",
            framing: Framing::GeminiSse, table: "options = { project = \"cordon-test\" }",
            path: "/v1/projects/cordon-test/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            auth: ("authorization", "Bearer ya29.cordon-test") },
        // At 127.0.0.1 the region is not in the host name: the operator's binding names it.
        OwnFormat { preset: "bedrock", model: "amazon.nova-micro-v1:0", recording: "wire/bedrock/nova-micro-text.eventstream.bin",
            framing: Framing::Raw, table: "secrets = { aws = \"aws:us-east-1\" }", path: "/model/amazon.nova-micro-v1%3A0/converse-stream",
            auth: ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCORDONTEST/") },
        OwnFormat { preset: "ollama", model: "gemma3", recording: "wire/ollama/gemma3-text-length.ndjson",
            framing: Framing::Ndjson, table: "", path: "/api/chat", auth: ("authorization", "Bearer key") },
        OwnFormat { preset: "openai-responses", model: "gpt-4o", recording: "wire/openai-responses/text.sse",
            framing: Framing::Raw, table: "", path: "/v1/responses", auth: ("authorization", "Bearer key") },
        OwnFormat { preset: "cohere", model: "command-a-03-2025", recording: "wire/cohere/text.chunks.txt",
            framing: Framing::GeminiSse, table: "", path: "/v2/chat", auth: ("authorization", "Bearer key") },
    ];
    assert_eq!(rows.each_ref().map(|row| row.preset), OWN_FORMATS);
    let mut upstreams = Vec::new();
    for row in &rows {
        upstreams.push(ReplayServer::start(vec![recorded(&fixtures, row.recording, row.framing)]).await.expect("an upstream"));
    }
    let config = gateway_config(rows.iter().zip(&upstreams).map(|(row, u)| (row.preset, row.model, row.table.to_owned(), u)));
    let account_path = account.display().to_string();
    let env = [
        ("ANTHROPIC_API_KEY", "key"),
        ("GEMINI_API_KEY", "key"),
        ("GOOGLE_APPLICATION_CREDENTIALS", account_path.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIDCORDONTEST"),
        ("AWS_SECRET_ACCESS_KEY", "cordon-test-secret"),
        ("OLLAMA_API_KEY", "key"),
        ("OPENAI_API_KEY", "key"),
        ("COHERE_API_KEY", "key"),
    ];
    let gateway = ServeProcess::start(&config, &env);
    let client = cordon::tls::client_builder().build().expect("a client");

    for (OwnFormat { preset: preset_name, model, recording, framing, path, auth: (header, value), .. }, upstream) in rows.iter().zip(&upstreams) {
        let (answer, _) = chat(&client, &gateway, &json!({"model": preset_name, "messages": [{"role": "user", "content": "hi"}]})).await;
        let requests = upstream.requests();
        assert_eq!(requests.len(), 1, "{preset_name}: one request upstream; the gateway answered {answer}");
        assert_eq!(requests[0].path, *path, "{preset_name}: the service's path");
        let sent = requests[0].header(header).unwrap_or_default();
        assert!(sent.starts_with(value), "{preset_name}: `{header}` is `{sent}`, not `{value}…`");
        if *preset_name == "bedrock" {
            assert!(sent.contains("/us-east-1/bedrock/aws4_request"), "{preset_name}: signed for Bedrock in us-east-1: {sent}");
        }
        if *preset_name == "anthropic" {
            assert!(requests[0].header("anthropic-version").is_some(), "anthropic: the API version header");
        }

        // The reference: the component loaded directly on the same recording.
        let reference = ReplayServer::start(vec![recorded(&fixtures, recording, *framing)]).await.expect("an upstream");
        let preset = presets::find(preset_name).expect("a preset");
        let project = (*preset_name == "vertex").then(|| json!({"project": "cordon-test"}));
        let resolved = preset.resolve(Some(&at_local(preset, &reference)), project.as_ref()).expect("resolves");
        // Granted nothing but the upstream: a signing secret goes unsigned to a recording.
        let options = ProviderOptions {
            base_url: Some(resolved.base_url),
            options: resolved.options,
            approval: Some(cordon::Approval::default()),
            deny_unapproved: true,
            ..ProviderOptions::default()
        };
        let direct = runtime()
            .load_provider(&resolved.component, options)
            .await
            .unwrap_or_else(|err| panic!("{preset_name}: the component loads: {err}"));
        let (_, result) = run_turn(&direct, Request::user(*model, "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{preset_name}: the direct turn: {err}"));
        let expected = answer_of(&result);
        assert!(!expected.0.is_empty() || !expected.2.is_empty(), "{preset_name}: the recording answers something");
        assert_eq!(answer_in(&answer), expected, "{preset_name}: through the preset as through the component");
    }
}

/// The recorded streams of OpenAI-compatible services with presets: through
/// the preset, the same events and result as through the plain component.
#[tokio::test]
async fn recorded_streams_pass_through_their_presets() {
    let Some(fixtures) = shared_fixtures() else { return };
    let services = services();
    for (recording, preset_name) in [
        ("openai-text.chunks.txt", "openai"),
        ("xai-tool-call.chunks.txt", "xai"),
        ("deepseek-reasoning.chunks.txt", "deepseek"),
        ("deepseek-tool-call.chunks.txt", "deepseek"),
        ("mistral-incremental-tool-call.chunks.txt", "mistral"),
    ] {
        let text = std::fs::read_to_string(fixtures.join("wire/openai-chat").join(recording)).expect("the recording");
        let reply = || Reply::stream(frame(&text, Framing::OpenAiSse).expect("framed"));
        let service = services.iter().find(|s| s.preset == preset_name).expect("a service row");
        let request = || {
            let mut request = Request::user(service.model, "What is 2 + 2?");
            request.sampling.max_output_tokens = Some(64);
            request
        };

        let plain_upstream = ReplayServer::start(vec![reply()]).await.expect("an upstream");
        let plain = runtime()
            .load_provider("openai", ProviderOptions { base_url: Some(plain_upstream.url()), deny_unapproved: true, ..ProviderOptions::default() })
            .await
            .expect("openai loads");
        let (plain_events, plain_result) = run_turn(&plain, request()).await;

        let upstream = ReplayServer::start(vec![reply()]).await.expect("an upstream");
        let provider = load_preset(preset_name, &upstream, "key").await;
        let (events, result) = run_turn(&provider, request()).await;
        assert!(result.is_ok(), "{recording} through {preset_name}: {result:?}");
        assert_eq!(normalized(&events), normalized(&plain_events), "{recording} through {preset_name}: the events");
        assert_eq!(normalized_result(&result), normalized_result(&plain_result), "{recording} through {preset_name}: the result");

        let seen = &upstream.requests()[0];
        assert_eq!(seen.path, service.path, "{recording}: the service's path");
        assert_eq!(seen.header("authorization"), Some("Bearer key"), "{recording}: the key");
        let body: Value = serde_json::from_slice(&seen.body).expect("JSON");
        assert_eq!(body[service.max_tokens], 64, "{recording}: the token limit in `{}`", service.max_tokens);
    }
}

/// Run `cordon` with `args` and `env` (off the async runtime, so the local
/// upstreams keep serving): whether it succeeded, and what it printed.
async fn cordon(args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> (bool, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cordon"));
    command.args(args).env("CORDON_COMPONENTS", components_dir()).env("CORDON_LOG", "off").envs(env.iter().copied());
    for name in unset {
        command.env_remove(name);
    }
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("joins").expect("cordon runs");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn cordon_chat_takes_a_preset_and_its_key_from_its_variable() {
    let services = services();
    let deepseek = services.iter().find(|s| s.preset == "deepseek").expect("a row");
    let upstream = ReplayServer::start(vec![Reply::stream(chat_stream(deepseek))]).await.expect("an upstream");
    let preset = presets::find("deepseek").expect("a preset");
    let base = at_local(preset, &upstream);
    let dir = tempfile::tempdir().expect("temp dir");
    // A trust file that approves nothing: the command line is the grant.
    let trust = dir.path().join("trust.toml").display().to_string();
    let args = ["--trust", trust.as_str(), "chat", "--preset", "deepseek", "--base-url", base.as_str(), "--model", "some-model", "--max-tokens", "64", "What is 2 + 2?"];

    let (ok, stdout, stderr) = cordon(&args, &[("DEEPSEEK_API_KEY", "key")], &[]).await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("Hello from deepseek") && stdout.contains("Thinking for deepseek"), "{stdout}");
    let seen = &upstream.requests()[0];
    assert_eq!((seen.path.as_str(), seen.header("authorization")), ("/chat/completions", Some("Bearer key")));

    // The operator's own binding wins over the variable the preset suggests.
    let mut mine = args.to_vec();
    mine.splice(3..3, ["--secret", "api-key=env:MY_DEEPSEEK_KEY"]);
    let (ok, stdout, stderr) = cordon(&mine, &[("DEEPSEEK_API_KEY", "key"), ("MY_DEEPSEEK_KEY", "mine")], &[]).await;
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(upstream.requests()[1].header("authorization"), Some("Bearer mine"));

    let (ok, _, stderr) = cordon(&args, &[], &["DEEPSEEK_API_KEY"]).await;
    assert!(!ok && stderr.contains("preset `deepseek` reads its key from $DEEPSEEK_API_KEY, which is not set"), "{stderr}");
    assert!(stderr.contains("--secret api-key=env:VARIABLE"), "{stderr}");
    let (ok, _, stderr) = cordon(&["chat", "--preset", "deepsek", "hi"], &[], &[]).await;
    assert!(!ok && stderr.contains("no preset named `deepsek`: did you mean `deepseek`"), "{stderr}");
    let (ok, _, stderr) = cordon(&["chat", "--preset", "azure", "--model", "m", "hi"], &[("AZURE_OPENAI_API_KEY", "key")], &[]).await;
    assert!(!ok && stderr.contains("https://RESOURCE.openai.azure.com/openai/v1"), "{stderr}");
    assert_eq!(upstream.requests().len(), 2, "no request went out for the refused commands");
}

#[tokio::test]
async fn a_gateway_refuses_a_preset_whose_key_is_unset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("serve.toml");
    let config = format!("{}[providers.fast]\npreset = \"groq\"\n[models.fast]\nroutes = [\"fast:llama-3.3-70b-versatile\"]\n", crate::support::serve_config_head());
    std::fs::write(&file, config).expect("a config");
    let (ok, _, stderr) = cordon(&["serve", "--config", &file.display().to_string()], &[], &["GROQ_API_KEY"]).await;
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("`providers.fast.preset`: preset `groq` reads its key from $GROQ_API_KEY, which is not set"), "{stderr}");
}

#[tokio::test]
async fn cordon_providers_lists_every_preset() {
    let (ok, stdout, stderr) = cordon(&["providers"], &[], &[]).await;
    assert!(ok, "{stderr}");
    let presets = presets::all().expect("the table");
    let rows: Vec<&str> = stdout.lines().skip(1).take_while(|line| !line.is_empty()).collect();
    assert_eq!(rows.len(), presets.len(), "{stdout}");
    for (row, preset) in rows.iter().zip(presets) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[..3], [preset.name.as_str(), preset.component.as_str(), preset.base_url.as_str()], "{row}");
        if let Some(env) = preset.secret_env() {
            assert!(row.contains(&format!("${env}")), "{row}");
        }
    }
    let azure = rows.iter().find(|row| row.starts_with("azure ")).expect("azure");
    assert!(azure.contains("api-key: KEY"), "the auth header of the built azure-openai component: {azure}");

    let (ok, stdout, _) = cordon(&["providers", "azure-deployments"], &[], &[]).await;
    assert!(ok && stdout.contains("preset = \"azure-deployments\"") && stdout.contains("base-url = \"https://MY-RESOURCE.openai.azure.com/openai\""), "{stdout}");
    let (ok, stdout, _) = cordon(&["providers", "--json"], &[], &[]).await;
    let lines: Vec<Value> = stdout.lines().map(|line| serde_json::from_str(line).expect("JSON")).collect();
    assert!(ok && lines.len() == presets.len() && lines[0]["name"] == presets[0].name.as_str(), "{stdout}");
    let (ok, _, stderr) = cordon(&["providers", "togetherai"], &[], &[]).await;
    assert!(!ok && stderr.contains("did you mean `together`"), "{stderr}");
}

/// The Python twin of the OpenAI provider (`guests/openai-py`) takes the same
/// options: for the presets that set them, the same request (URL, headers,
/// body bytes) and the same events as the Rust provider; the same errors for bad ones.
#[tokio::test]
async fn the_python_twin_applies_the_presets_options_as_the_rust_provider_does() {
    let services = services();
    for preset_name in ["mistral", "perplexity", "azure-deployments", "github", "cerebras"] {
        let service = services.iter().find(|s| s.preset == preset_name).expect("a row");
        let preset = presets::find(preset_name).expect("a preset");
        let mut request = Request::user(service.model, "What is 2 + 2?");
        request.sampling.max_output_tokens = Some(64);
        request.sampling.seed = Some(7);
        request.sampling.stop_sequences = vec!["END".into()];
        request.sampling.presence_penalty = Some(0.5);
        (request.sampling.temperature, request.sampling.top_p) = (Some(0.5), Some(0.9));
        request.messages.push(cordon::Message {
            role: cordon::Role::Tool,
            parts: vec![cordon::Part::ToolResult(cordon::ToolResult { call_id: "call_1".into(), name: "add".into(), output: "4".into(), is_error: false })],
        });
        let mut runs = Vec::new();
        for component in ["openai", "openai-py"] {
            let upstream = ReplayServer::start(vec![Reply::stream(chat_stream(service))]).await.expect("an upstream");
            let resolved = preset.resolve(Some(&at_local(preset, &upstream)), None).expect("resolves");
            let options = ProviderOptions {
                base_url: Some(resolved.base_url),
                options: resolved.options,
                secrets: [("api-key".to_owned(), "key".to_owned())].into(),
                approval: Some(cordon::Approval::default()),
                deny_unapproved: true,
                ..ProviderOptions::default()
            };
            let provider = runtime().load_provider(component, options).await.unwrap_or_else(|err| panic!("{component} loads: {err}"));
            let (events, result) = run_turn(&provider, request.clone()).await;
            assert!(result.is_ok(), "{component} with {preset_name}'s options: {result:?}");
            runs.push((normalized(&events), upstream.requests()));
        }
        let (rust, python) = (&runs[0], &runs[1]);
        assert_eq!(python.0, rust.0, "{preset_name}: the events (left: Python)");
        let (r, p) = (&rust.1[0], &python.1[0]);
        assert_eq!(p.path, r.path, "{preset_name}: path and query");
        assert_eq!(String::from_utf8_lossy(&p.body), String::from_utf8_lossy(&r.body), "{preset_name}: the body (left: Python)");
        let ours = |seen: &RecordedRequest| {
            let mut headers: Vec<(String, String)> =
                seen.headers.iter().filter(|(name, _)| !["host", "content-length", "user-agent"].contains(&name.as_str())).cloned().collect();
            headers.sort();
            headers
        };
        assert_eq!(ours(p), ours(r), "{preset_name}: headers");
        // The options were applied, not ignored by both.
        assert_eq!(r.path, service.path, "{preset_name}: path and query");
        let body: Value = serde_json::from_slice(&r.body).expect("JSON");
        assert_eq!(body_problems(service, &body), Vec::<String>::new(), "{preset_name}: the body");
        for (name, value) in service.headers {
            assert_eq!(r.header(name), Some(*value), "{preset_name}: header {name}");
        }
    }

    for bad in [json!({"rename": {"model": "engine"}}), json!({"unsupported": ["stream"]}), json!({"headers": {"x y": "1"}}),
        json!({"api_version": "1&x=2"}), json!({"stream_usage": "no"}), json!({"colour": "red"})] {
        let mut messages = Vec::new();
        for component in ["openai", "openai-py"] {
            let options = ProviderOptions { base_url: Some("http://127.0.0.1:9/v1".into()), options: Some(bad.clone()), deny_unapproved: true, ..ProviderOptions::default() };
            match runtime().load_provider(component, options).await {
                Err(cordon::Error::Init { error, .. }) => messages.push(error.message.replace("openai-py options", "openai options")),
                Err(other) => panic!("{component}: expected an init error, got {other}"),
                Ok(_) => panic!("{component}: {bad} was accepted"),
            }
        }
        let without_position = |text: &str| text.split(" at line ").next().unwrap_or_default().to_owned();
        assert_eq!(without_position(&messages[1]), without_position(&messages[0]), "{bad} (left: Python)");
    }
}
