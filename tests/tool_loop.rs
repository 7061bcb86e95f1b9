//! The tool loop against local upstreams speaking each provider's wire format:
//! the model calls real tool components, the host runs them and sends the
//! results back in the provider's own format, until the model answers. Checked:
//! what the loop streams, what it returns, and what the upstream received.

use cordon::replay::{Framing, RecordedRequest, Reply, ReplayServer, frame};
use cordon::{
    HostGrant, LoopEvent, LoopResult, LoopStop, Origin, Provider, Request, StepEvent, Tool, ToolErrorKind, ToolLoop,
    ToolOptions, ToolOutcome, Toolbox,
};
use serde_json::{Value, json};

use crate::support::{own_fixture, provider_against, runtime};

async fn tool(name: &str) -> Tool {
    runtime().load_tool(name, ToolOptions::default()).await.unwrap_or_else(|err| panic!("tool {name} loads: {err}"))
}

async fn toolbox(names: &[&str]) -> Toolbox {
    let mut tools = Vec::new();
    for name in names {
        tools.push(tool(name).await);
    }
    Toolbox::with(tools).expect("distinct tools")
}

fn fixture_reply(name: &str, framing: Framing) -> Reply {
    Reply::stream(frame(&own_fixture(&format!("tool-loop/{name}")), framing).expect("framed"))
}

/// An OpenAI step that calls `calls` (id, name, arguments text) in one chunk each.
fn openai_calls(calls: &[(&str, &str, &str)]) -> Reply {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let mut lines: Vec<String> = calls
        .iter()
        .enumerate()
        .map(|(index, (id, name, arguments))| {
            chunk(
                json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                        "function": {"name": name, "arguments": arguments}}]}),
                Value::Null,
            )
        })
        .collect();
    lines.push(chunk(json!({}), json!("tool_calls")));
    Reply::stream(frame(&lines.join("\n"), Framing::OpenAiSse).expect("framed"))
}

/// An OpenAI step that answers `text`.
fn openai_text(text: &str) -> Reply {
    let line = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-y", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let lines = [line(json!({"content": text}), Value::Null), line(json!({}), json!("stop"))];
    Reply::stream(frame(&lines.join("\n"), Framing::OpenAiSse).expect("framed"))
}

/// Run the loop to its end: its events and its result.
async fn run(agent: &ToolLoop, request: Request) -> (Vec<StepEvent>, LoopResult) {
    let mut stream = agent.run(request);
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event);
    }
    let result = stream.into_result().await.unwrap_or_else(|err| panic!("the loop completes: {err}"));
    (events, result)
}

fn outcomes(events: &[StepEvent]) -> Vec<(u32, &ToolOutcome)> {
    events
        .iter()
        .filter_map(|e| if let LoopEvent::ToolResult(outcome) = &e.event { Some((e.step, outcome)) } else { None })
        .collect()
}

fn outcome<'a>(events: &'a [StepEvent], call_id: &str) -> &'a ToolOutcome {
    outcomes(events)
        .into_iter()
        .map(|(_, o)| o)
        .find(|o| o.call_id == call_id)
        .unwrap_or_else(|| panic!("a result for {call_id}"))
}

/// The call `call_id` failed with `kind`, and the model is told `needle`.
fn expect_error(events: &[StepEvent], call_id: &str, kind: ToolErrorKind, needle: &str) {
    let o = outcome(events, call_id);
    assert_eq!(o.error, Some(kind), "{call_id}: {}", o.output);
    assert!(o.output.contains(needle), "{call_id}: expected `{needle}` in: {}", o.output);
}

fn body(request: &RecordedRequest) -> Value {
    serde_json::from_slice(&request.body).expect("the provider sent JSON")
}

async fn openai_loop(replies: Vec<Reply>, tools: &[&str]) -> (ReplayServer, ToolLoop) {
    let (server, provider): (ReplayServer, Provider) = provider_against("openai", replies).await;
    (server, ToolLoop::new(provider, toolbox(tools).await))
}

#[tokio::test]
async fn openai_parallel_calls_go_back_as_tool_messages() {
    let replies = vec![
        fixture_reply("openai-parallel-calls.jsonl", Framing::OpenAiSse),
        fixture_reply("openai-answer.jsonl", Framing::OpenAiSse),
    ];
    let (server, agent) = openai_loop(replies, &["calculator", "json"]).await;
    let (events, result) = run(&agent, Request::user("test-model", "What is 2^10/4, and the third item of a.b?")).await;

    assert_eq!(result.stop, LoopStop::Done);
    assert_eq!(result.steps.len(), 2);
    assert_eq!(result.text(), "2^10 / 4 is 256, and the third item is 3.");
    assert_eq!(result.usage.input_tokens, Some(220), "usage adds up over the steps");
    // Both calls ran in step 1; the text came in step 2.
    let ran: Vec<(u32, &str)> = outcomes(&events).iter().map(|(step, o)| (*step, o.name.as_str())).collect();
    assert_eq!(ran.len(), 2);
    assert!(ran.contains(&(1, "calculator__evaluate")) && ran.contains(&(1, "json__pointer")), "{ran:?}");
    assert!(events.iter().any(|e| e.step == 2 && matches!(&e.event, LoopEvent::Model(cordon::Event::TextDelta { .. }))));
    let calc = outcome(&events, "call_calc");
    assert_eq!(calc.error, None, "{}", calc.output);
    assert_eq!(serde_json::from_str::<Value>(&calc.output).expect("JSON output")["value"], "256");
    assert_eq!(outcome(&events, "call_json").output, "3");

    // What the upstream received.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = body(&requests[0]);
    let offered: Vec<&str> = first["tools"].as_array().expect("tools").iter().filter_map(|t| t["function"]["name"].as_str()).collect();
    for name in ["calculator__evaluate", "json__query", "json__pointer"] {
        assert!(offered.contains(&name), "{name} offered: {offered:?}");
    }
    let messages = body(&requests[1])["messages"].as_array().expect("messages").clone();
    assert_eq!(messages.len(), 4, "user, assistant, two tool messages: {messages:#?}");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"], "Let me work that out.");
    assert_eq!(messages[1]["tool_calls"][0]["id"], "call_calc");
    assert_eq!(messages[1]["tool_calls"][0]["function"]["arguments"], r#"{"expression":"2^10 / 4"}"#);
    assert_eq!(messages[1]["tool_calls"][1]["function"]["name"], "json__pointer");
    assert_eq!(messages[2]["role"], "tool");
    assert_eq!(messages[2]["tool_call_id"], "call_calc");
    assert!(messages[2]["content"].as_str().unwrap_or_default().contains(r#""value":"256""#), "{}", messages[2]);
    assert_eq!(messages[3]["tool_call_id"], "call_json");
    assert_eq!(messages[3]["content"], "3");
}

#[tokio::test]
async fn anthropic_results_go_back_as_tool_result_blocks() {
    let replies = vec![
        fixture_reply("anthropic-call.jsonl", Framing::AnthropicSse),
        fixture_reply("anthropic-answer.jsonl", Framing::AnthropicSse),
    ];
    let (server, provider) = provider_against("anthropic", replies).await;
    let agent = ToolLoop::new(provider, toolbox(&["calculator"]).await);
    let (events, result) = run(&agent, Request::user("claude-test", "1/3 + 1/6?")).await;

    assert_eq!(result.stop, LoopStop::Done);
    assert_eq!(result.text(), "1/3 + 1/6 = 1/2.");
    assert_eq!(outcome(&events, "toolu_calc").error, None);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let messages = body(&requests[1])["messages"].as_array().expect("messages").clone();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    let assistant = &messages[1];
    assert_eq!(assistant["role"], "assistant");
    let tool_use = assistant["content"].as_array().expect("blocks").iter().find(|b| b["type"] == "tool_use").expect("tool_use");
    assert_eq!(tool_use["id"], "toolu_calc");
    assert_eq!(tool_use["name"], "calculator__evaluate");
    assert_eq!(tool_use["input"], json!({"expression": "1/3 + 1/6"}));
    let results = &messages[2];
    assert_eq!(results["role"], "user");
    let block = &results["content"][0];
    assert_eq!(block["type"], "tool_result");
    assert_eq!(block["tool_use_id"], "toolu_calc");
    assert_eq!(block["is_error"], false);
    assert!(block["content"].to_string().contains("1/2"), "{block}");
}

#[tokio::test]
async fn gemini_results_go_back_as_function_responses() {
    let replies = vec![
        fixture_reply("gemini-call.jsonl", Framing::GeminiSse),
        fixture_reply("gemini-answer.jsonl", Framing::GeminiSse),
    ];
    let (server, provider) = provider_against("gemini", replies).await;
    let agent = ToolLoop::new(provider, toolbox(&["calculator"]).await);
    let (_, result) = run(&agent, Request::user("gemini-test", "0.1 + 0.2?")).await;

    assert_eq!(result.stop, LoopStop::Done);
    assert_eq!(result.text(), "0.1 + 0.2 is exactly 3/10.");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = body(&requests[0]);
    let declared = &first["tools"][0]["functionDeclarations"][0];
    assert_eq!(declared["name"], "calculator__evaluate");
    let contents = body(&requests[1])["contents"].as_array().expect("contents").clone();
    assert_eq!(contents.len(), 3, "{contents:#?}");
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(contents[1]["parts"][0]["functionCall"]["name"], "calculator__evaluate");
    let response = &contents[2]["parts"][0]["functionResponse"];
    assert_eq!(response["name"], "calculator__evaluate");
    assert_eq!(response["response"]["result"]["value"], "3/10", "{response}");
}

#[tokio::test]
async fn bad_calls_and_failing_tools_become_error_results() {
    let replies = vec![
        openai_calls(&[
            ("c_schema", "calculator__evaluate", r#"{"expr": "1+1"}"#),
            ("c_json", "calculator__evaluate", r#"{"expression": "#),
            ("c_zero", "calculator__evaluate", r#"{"expression": "1/0"}"#),
            ("c_unknown", "nope__missing", "{}"),
            ("c_fail", "hostile-tool__fail", "{}"),
            ("c_ok", "calculator__evaluate", r#"{"expression": "6*7"}"#),
        ]),
        openai_text("Some of that went wrong."),
    ];
    let (server, agent) = openai_loop(replies, &["calculator", "hostile-tool"]).await;
    let (events, result) = run(&agent, Request::user("test-model", "go")).await;

    assert_eq!(result.stop, LoopStop::Done);
    assert_eq!(result.text(), "Some of that went wrong.");
    let expect = |id: &str, kind: ToolErrorKind, needle: &str| expect_error(&events, id, kind, needle);
    expect("c_schema", ToolErrorKind::InvalidArguments, "do not match its schema");
    expect("c_schema", ToolErrorKind::InvalidArguments, "expression");
    expect("c_json", ToolErrorKind::InvalidArguments, "not JSON");
    expect("c_zero", ToolErrorKind::InvalidArguments, "zero");
    expect("c_unknown", ToolErrorKind::UnknownTool, "calculator__evaluate");
    expect("c_fail", ToolErrorKind::Upstream, "the upstream said no");
    assert_eq!(outcome(&events, "c_ok").error, None);

    // The model was told, in order, with the failures marked.
    let messages = body(&server.requests()[1])["messages"].as_array().expect("messages").clone();
    let tool_messages: Vec<&Value> = messages.iter().filter(|m| m["role"] == "tool").collect();
    let ids: Vec<&str> = tool_messages.iter().filter_map(|m| m["tool_call_id"].as_str()).collect();
    assert_eq!(ids, ["c_schema", "c_json", "c_zero", "c_unknown", "c_fail", "c_ok"]);
    assert!(tool_messages[0]["content"].as_str().unwrap_or_default().starts_with("Error (invalid-arguments)"));
    assert!(tool_messages[5]["content"].as_str().unwrap_or_default().contains(r#""value":"42""#));
}

#[tokio::test]
async fn a_model_that_keeps_calling_tools_stops_at_the_step_limit() {
    // The upstream answers every request with another tool call.
    let replies = vec![openai_calls(&[("again", "calculator__evaluate", r#"{"expression": "1+1"}"#)])];
    let (server, agent) = openai_loop(replies, &["calculator"]).await;
    let agent = agent.max_steps(3);
    let (events, result) = run(&agent, Request::user("test-model", "loop forever")).await;

    assert_eq!(result.stop, LoopStop::StepLimit { max_steps: 3 });
    assert_eq!(result.steps.len(), 3);
    assert_eq!(server.requests().len(), 3, "no fourth provider turn");
    let steps: Vec<u32> = outcomes(&events).iter().map(|(step, _)| *step).collect();
    assert_eq!(steps, [1, 2, 3], "each step ran its tool");
    // The conversation ends with the last results, so it can be resumed.
    assert_eq!(result.messages.len(), 6);
    assert_eq!(result.messages.last().map(|m| m.role), Some(cordon::Role::Tool));
}

#[tokio::test]
async fn a_tool_breaching_its_limits_costs_only_an_error_result() {
    let replies = vec![
        openai_calls(&[
            ("spin", "hostile-tool__spin", "{}"),
            ("allocate", "hostile-tool__allocate", "{}"),
            ("panic", "hostile-tool__panic", "{}"),
            ("flood", "hostile-tool__flood", r#"{"mib": 2}"#),
            ("bomb", "hostile-tool__flood", r#"{"mib": 64}"#),
            ("fetch", "hostile-tool__fetch", "{}"),
        ]),
        openai_text("The tools misbehaved."),
    ];
    let (_server, agent) = openai_loop(replies, &["hostile-tool"]).await;
    let (events, result) = run(&agent, Request::user("test-model", "misbehave")).await;

    assert_eq!(result.stop, LoopStop::Done);
    assert_eq!(result.text(), "The tools misbehaved.");
    let expect = |id: &str, kind: ToolErrorKind, needle: &str| expect_error(&events, id, kind, needle);
    expect("spin", ToolErrorKind::LimitExceeded, "limits.call-cpu-ms");
    expect("allocate", ToolErrorKind::LimitExceeded, "limits.memory-mib");
    expect("panic", ToolErrorKind::Crashed, "hostile tool panicked on purpose");
    expect("flood", ToolErrorKind::LimitExceeded, "limits.output-mib-per-turn");
    expect("bomb", ToolErrorKind::LimitExceeded, "limits.memory-mib");
    expect("fetch", ToolErrorKind::Denied, "evil.example");

    // The same tool still serves well-behaved calls.
    let tool = agent.toolbox().tools()[0].clone();
    assert_eq!(tool.call("echo", r#"{"text": "still here"}"#).await.as_deref(), Ok("still here"));
}

#[tokio::test]
async fn the_fetch_tool_reads_granted_hosts_only() {
    let page = "<html><head><style>p{}</style><script>steal()</script></head>\
                <body><h1>Release notes</h1><p>Cordon 0.1 ships tools &amp; a loop.</p></body></html>";
    let site = ReplayServer::start(vec![Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: cordon::replay::ReplyBody::Chunks(vec![page.as_bytes().to_vec().into()]),
        chunk_delay: std::time::Duration::ZERO,
    }])
    .await
    .expect("site starts");
    let article = format!("{}/notes", site.url());
    let replies = vec![
        openai_calls(&[
            ("granted", "fetch__get", &json!({"url": article}).to_string()),
            ("elsewhere", "fetch__get", r#"{"url": "https://evil.example/secrets"}"#),
        ]),
        openai_text("Read it."),
    ];
    let (_server, provider) = provider_against("openai", replies).await;
    let origin: Origin = site.url().parse().expect("origin");
    let options = ToolOptions { grants: vec![HostGrant { origin, with_secrets: false }], ..ToolOptions::default() };
    let fetch = runtime().load_tool("fetch", options).await.expect("fetch loads");
    let agent = ToolLoop::new(provider, Toolbox::with([fetch]).expect("toolbox"));
    let (events, _) = run(&agent, Request::user("test-model", "read the notes")).await;

    let granted = outcome(&events, "granted");
    assert_eq!(granted.error, None, "{}", granted.output);
    let output: Value = serde_json::from_str(&granted.output).expect("JSON output");
    let text = output["text"].as_str().unwrap_or_default();
    assert!(text.contains("Release notes") && text.contains("Cordon 0.1 ships tools & a loop."), "{text}");
    assert!(!text.contains("steal()") && !text.contains('<'), "scripts and tags are gone: {text}");
    assert_eq!(site.requests().len(), 1);
    assert_eq!(site.requests()[0].path, "/notes");
    let elsewhere = outcome(&events, "elsewhere");
    assert_eq!(elsewhere.error, Some(ToolErrorKind::Denied), "{}", elsewhere.output);
    assert!(elsewhere.output.contains("evil.example"), "{}", elsewhere.output);
}

#[tokio::test]
async fn a_failing_provider_turn_ends_the_loop_with_its_error() {
    let replies = vec![
        openai_calls(&[("c1", "calculator__evaluate", r#"{"expression": "2+2"}"#)]),
        Reply::error(500, r#"{"error": {"message": "upstream broke", "type": "server_error"}}"#),
    ];
    let (_server, agent) = openai_loop(replies, &["calculator"]).await;
    let mut stream = agent.run(Request::user("test-model", "go"));
    let mut steps_with_errors = Vec::new();
    while let Some(event) = stream.next().await {
        if let LoopEvent::Model(cordon::Event::Error(_)) = &event.event {
            steps_with_errors.push(event.step);
        }
    }
    assert_eq!(steps_with_errors, [2], "the error is streamed, tagged with its step");
    let error = stream.into_result().await.expect_err("the loop fails");
    assert!(error.to_string().contains("upstream broke"), "{error}");
}
