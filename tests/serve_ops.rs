//! Operating `cordon serve`: tools the host runs for a model, the gateway's own
//! limits, and reloading its configuration (a file change, SIGHUP) while it
//! serves, with a bad file never applied.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{ServeProcess, demo_reply, fast_model, json, main_provider, serve_config_head, serve_in_process};

/// `rest` (limits, models, tools) and the provider `main` in front of `upstream`.
fn config_text(dir: &Path, upstream: &ReplayServer, rest: &str) -> String {
    format!("{rest}\n{}", main_provider(upstream, dir))
}

fn chat(model: &str, stream: bool) -> String {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "Split €187.40 plus 15% between 3."}]}).to_string()
}

/// The JSON of each `data:` line of an SSE body, `[DONE]` left out.
fn chunks(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).expect("each data line is JSON"))
        .collect()
}

/// A model with tools: the host runs the calculator between the model's two
/// turns; the client sees one streamed answer (both turns' text, no tool
/// call, one finish) and one whole answer with the usage of both turns.
#[tokio::test]
async fn a_model_with_tools_has_the_host_run_them_and_answers_once() {
    let upstream = ReplayServer::start(vec![demo_reply("turn1.sse"), demo_reply("turn2.sse"), demo_reply("turn1.sse"), demo_reply("turn2.sse")])
        .await
        .expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_text(
        dir.path(),
        &upstream,
        "[models.agent]\nroutes = [\"main:demo-model\"]\ntools = [\"calc\"]\ntool-steps = 3\n[tools.calc]\ncomponent = \"calculator\"\n",
    );
    let server = serve_in_process(dir.path(), &text).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let url = format!("{}/v1/chat/completions", server.url());

    let body = client.post(&url).header("content-type", "application/json").body(chat("agent", true)).send().await.expect("answers");
    assert_eq!(body.status(), 200);
    let body = body.text().await.expect("the stream");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let chunks = chunks(&body);
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert!(content.starts_with("I'll work it out exactly with the calculator."), "the first turn's text streams: {content}");
    assert!(content.contains("Each of you pays €71.84"), "the answer after the tool streams: {content}");
    assert!(!body.contains("tool_calls"), "the host's tool calls are not the client's: {body}");
    let finishes: Vec<&str> = chunks.iter().filter_map(|c| c["choices"][0]["finish_reason"].as_str()).collect();
    assert_eq!(finishes, ["stop"], "one turn, one finish");

    let requests = upstream.requests();
    assert_eq!(requests.len(), 2, "two model turns");
    let second: Value = serde_json::from_slice(&requests[1].body).expect("JSON request");
    let messages = second["messages"].as_array().expect("messages");
    let tool = messages.iter().find(|m| m["role"] == "tool").expect("the tool's result goes back to the model");
    let output = tool["content"].as_str().unwrap_or_default();
    assert!(output.contains("71.83666"), "the calculator computed 187.40 * 1.15 / 3: {output}");
    let called = messages.iter().find(|m| m["role"] == "assistant").expect("the assistant's call is in the conversation");
    assert_eq!(called["tool_calls"][0]["function"]["name"], "calculator__evaluate");

    let whole = client.post(&url).header("content-type", "application/json").body(chat("agent", false)).send().await.expect("answers");
    assert_eq!(whole.status(), 200);
    let whole: Value = json(whole).await;
    let message = &whole["choices"][0]["message"];
    assert!(message["content"].as_str().is_some_and(|c| c.contains("Each of you pays €71.84")), "{whole}");
    assert!(message.get("tool_calls").is_none_or(Value::is_null), "{whole}");
    assert_eq!(whole["usage"]["prompt_tokens"], 96 + 171, "usage of both turns: {whole}");
    assert_eq!(whole["usage"]["completion_tokens"], 31 + 44, "{whole}");
}

/// A model that keeps calling tools ends at its `tool-steps` with an error the client reads.
#[tokio::test]
async fn a_model_still_calling_tools_at_its_step_limit_gets_an_error() {
    let upstream = ReplayServer::start(vec![demo_reply("turn1.sse")]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_text(
        dir.path(),
        &upstream,
        "[models.agent]\nroutes = [\"main:demo-model\"]\ntools = [\"calc\"]\ntool-steps = 2\n[tools.calc]\ncomponent = \"calculator\"\n",
    );
    let server = serve_in_process(dir.path(), &text).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let body = client
        .post(format!("{}/v1/chat/completions", server.url()))
        .header("content-type", "application/json")
        .body(chat("agent", true))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("the stream");
    let error = chunks(&body).into_iter().find(|c| c.get("error").is_some()).unwrap_or_else(|| panic!("an error chunk in {body}"));
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("still calling tools after 2 steps"), "{message}");
    assert_eq!(upstream.requests().len(), 2, "two steps were taken, no more");
}

/// The host's instance pool is sized from `[limits] concurrent-turns`: 300
/// streams at once (more than the 256 instances the pool held whatever the
/// limit said) all run to their ends; none is refused as `overloaded`.
#[tokio::test]
async fn the_instance_pool_holds_every_turn_the_gateway_admits() {
    const TURNS: usize = 300;
    // The first words after two seconds, the rest two seconds later: every
    // turn holds its instance for four seconds, long enough for all to run at once.
    let events: Vec<Bytes> = match demo_reply("turn2.sse").body {
        cordon::replay::ReplyBody::Chunks(events) => events,
        _ => panic!("the demo's answer is a list of events"),
    };
    // The role, then the first words: the gateway answers a stream's head at its first output.
    let (first, rest) = events.split_at(2);
    let mut held = Reply::stream(vec![first.concat().into(), rest.concat().into()]);
    held.chunk_delay = Duration::from_secs(2);
    let upstream = ReplayServer::start(vec![held]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[limits]\nconcurrent-turns = {TURNS}\n[models.fast]\nroutes = [\"main:demo-model\"]\n{}limits = {{ concurrent-turns = {TURNS} }}\n",
        main_provider(&upstream, dir.path())
    );
    let server = serve_in_process(dir.path(), &config).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let url = format!("{}/v1/chat/completions", server.url());

    let asked = (0..TURNS).map(|_| client.post(&url).header("content-type", "application/json").body(chat("fast", true)).send());
    let answers = futures_util::future::join_all(asked).await;
    let metrics = crate::support::scrape(&client, &server.url()).await;
    let running = crate::support::metric_total(&metrics, "cordon_active_turns", &[("model", "fast")]);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut bodies = Vec::new();
    for answer in answers {
        let answer = answer.expect("an answer");
        *statuses.entry(answer.status().as_u16()).or_default() += 1;
        bodies.push(answer.text());
    }
    assert_eq!(statuses, [(200, TURNS)].into(), "every turn admitted runs");
    assert_eq!(running, TURNS as f64, "all {TURNS} ran at once");
    for body in futures_util::future::join_all(bodies).await {
        let body = body.expect("a whole body");
        let text: String = chunks(&body).iter().filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str()).collect();
        assert!(!text.is_empty() && body.trim_end().ends_with("data: [DONE]"), "each stream ends whole: {body}");
    }
}

/// `[limits]`: a body over `body-mib` is 413, a turn over `concurrent-turns`
/// is 429 with `retry-after`, a turn with no output by `first-output-seconds`
/// ends (closing its upstream), and a client too slow to send its body gets 408.
#[tokio::test]
async fn the_gateways_limits_refuse_what_is_over_them() {
    let mut slow = demo_reply("turn1.sse");
    slow.chunk_delay = Duration::from_millis(2500);
    let upstream = ReplayServer::start(vec![slow]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = "[limits]\nbody-mib = 1\nconcurrent-turns = 1\nfirst-output-seconds = 1\nrequest-seconds = 1\n[models.fast]\nroutes = [\"main:demo-model\"]\n";
    let server = serve_in_process(dir.path(), &config_text(dir.path(), &upstream, limits)).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let url = format!("{}/v1/chat/completions", server.url());

    let big = json!({"model": "fast", "messages": [{"role": "user", "content": "x".repeat(1 << 20)}]}).to_string();
    let refused = client.post(&url).header("content-type", "application/json").body(big).send().await.expect("answers");
    assert_eq!(refused.status(), 413);
    let refused: Value = json(refused).await;
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("limits.body-mib")), "{refused}");

    // One turn holds the only slot while its upstream is slow.
    let held = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move { client.post(&url).header("content-type", "application/json").body(chat("fast", true)).send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut busy = None;
    for _ in 0..200 {
        let answer = client.post(&url).header("content-type", "application/json").body(chat("fast", false)).send().await.expect("answers");
        if answer.status() == 429 {
            busy = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let busy = busy.expect("a second turn is refused while the first holds the only slot");
    assert_eq!(busy.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let busy: Value = json(busy).await;
    assert!(busy["error"]["message"].as_str().is_some_and(|m| m.contains("limits.concurrent-turns")), "{busy}");

    // The held turn has no output by first-output-seconds: a timeout, before any output, as a real status.
    let held = held.await.expect("joins").expect("answers");
    assert_eq!(held.status(), 504);
    let held: Value = json(held).await;
    assert!(held["error"]["message"].as_str().is_some_and(|m| m.contains("limits.first-output-seconds")), "{held}");
    for _ in 0..100 {
        if upstream.abandoned() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(upstream.abandoned(), 1, "the timed-out turn closed its upstream");

    // A client that announces a body and does not send it.
    let mut socket = tokio::net::TcpStream::connect(server.url().trim_start_matches("http://")).await.expect("connects");
    socket
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
        .await
        .expect("writes");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("limits.request-seconds"), "{answer}");

    // A client that connects and sends nothing, or half a head, is let go.
    for opening in [&b""[..], b"GET /v1/models HTTP/1.1\r\nhost:"] {
        let mut socket = tokio::net::TcpStream::connect(server.url().trim_start_matches("http://")).await.expect("connects");
        socket.write_all(opening).await.expect("writes");
        let mut answer = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer)).await;
        assert!(matches!(closed, Ok(Ok(_))), "the gateway closed the connection: {closed:?}");
    }
}

/// Replace `file` as config managers do: write beside it, then rename.
fn replace(file: &Path, text: &str) {
    let temporary: PathBuf = file.with_extension("toml.tmp");
    std::fs::write(&temporary, text).expect("write");
    std::fs::rename(&temporary, file).expect("rename");
}

async fn models(client: &reqwest::Client, base: &str) -> Vec<String> {
    let list: Value = json(client.get(format!("{base}/models")).send().await.expect("answers")).await;
    list["data"].as_array().expect("data").iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect()
}

/// A changed config file is applied while a stream runs on (which finishes on
/// the configuration it started with); a bad one is not applied, the running
/// configuration serving on and the problems printed with their lines; SIGHUP
/// reloads too.
#[tokio::test]
async fn a_config_change_or_sighup_reloads_without_dropping_the_stream_in_flight() {
    let mut slow = demo_reply("turn1.sse");
    slow.chunk_delay = Duration::from_millis(30);
    let upstream = ReplayServer::start(vec![slow]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("serve.toml");
    let first = format!("{}{}", serve_config_head(), fast_model(&upstream, dir.path()));
    std::fs::write(&file, &first).expect("config");
    let gateway = ServeProcess::start_file(&file, &[], "off");
    let client = cordon::tls::client_builder().build().expect("client");
    assert_eq!(models(&client, &gateway.base).await, ["fast"]);

    let mut stream = client
        .post(format!("{}/chat/completions", gateway.base))
        .header("content-type", "application/json")
        .body(chat("fast", true))
        .send()
        .await
        .expect("a stream");
    let mut received = String::from_utf8_lossy(&stream.chunk().await.expect("reads").expect("a first chunk")).into_owned();

    let second = first.replace("[models.fast]", "[models.second]\nroutes = [\"main:other-model\"]\n[models.fast]");
    replace(&file, &second);
    let reloaded = gateway.line_with("reloaded");
    assert!(reloaded.contains("(the file changed)") && reloaded.contains("fast, second"), "{reloaded}");
    assert_eq!(models(&client, &gateway.base).await, ["fast", "second"]);

    replace(&file, &second.replace("[models.second]", "[models.second]\ntemperature = 2"));
    let refused = gateway.lines_to("unknown field");
    assert!(refused.contains("was not applied; the running configuration serves on"), "{refused}");
    assert!(refused.contains("serve.toml: TOML parse error at line"), "the line is named: {refused}");
    assert_eq!(models(&client, &gateway.base).await, ["fast", "second"], "the running configuration serves on");

    std::fs::write(&file, &first).expect("config");
    let reloaded = gateway.line_with("reloaded");
    assert!(reloaded.contains("serves fast"), "{reloaded}");
    let status = std::process::Command::new("kill").arg("-HUP").arg(gateway.child.id().to_string()).status().expect("kill runs");
    assert!(status.success());
    assert!(gateway.line_with("reloaded").contains("(SIGHUP)"));

    while let Some(chunk) = stream.chunk().await.expect("the stream goes on") {
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.ends_with("data: [DONE]\n\n"), "the stream in flight finished: {received}");
    assert!(received.contains("calculator__evaluate"), "whole: {received}");
    assert_eq!(models(&client, &gateway.base).await, ["fast"]);
}

/// Every answer's `x-request-id` is in the gateway's log line for it.
#[tokio::test]
async fn the_request_id_is_in_the_log() {
    let upstream = ReplayServer::start(vec![demo_reply("turn2.sse")]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, format!("{}{}", serve_config_head(), fast_model(&upstream, dir.path()))).expect("config");
    let gateway = ServeProcess::start_file(&file, &[], "cordon=info");
    let client = cordon::tls::client_builder().build().expect("client");
    let answer = client
        .post(format!("{}/chat/completions", gateway.base))
        .header("content-type", "application/json")
        .body(chat("fast", false))
        .send()
        .await
        .expect("answers");
    let id = answer.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("an x-request-id").to_owned();
    // One line for a request that ran a turn: the turn's end.
    let line = gateway.line_with("turn ended");
    assert!(line.contains(&id) && line.contains("path=/v1/chat/completions") && line.contains("model=fast") && !line.contains("error="), "{line}");
}

/// Back-pressure end to end: a client that stops reading stops the guest turn
/// and the upstream read, once the buffers between are full; nothing reads
/// the upstream on into memory. When the client reads again, the stream goes on.
#[tokio::test]
async fn a_client_that_stops_reading_stops_the_upstream() {
    let delta = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"la "},"finish_reason":null}]}"#;
    let endless = Reply { body: cordon::replay::ReplyBody::Endless(Bytes::from(format!("{delta}\n\n"))), ..Reply::stream(vec![]) };
    let upstream = ReplayServer::start(vec![endless]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve_in_process(dir.path(), &config_text(dir.path(), &upstream, "[models.fast]\nroutes = [\"main:demo-model\"]\n")).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let mut stream = client
        .post(format!("{}/v1/chat/completions", server.url()))
        .header("content-type", "application/json")
        .body(chat("fast", true))
        .send()
        .await
        .expect("a stream");
    assert!(stream.chunk().await.expect("reads").is_some());

    // The client reads nothing more: the upstream must come to a stop.
    let mut sent = upstream.bytes_sent();
    let mut stalled = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = upstream.bytes_sent();
        if now == sent {
            stalled = true;
            break;
        }
        sent = now;
    }
    assert!(stalled, "the upstream kept sending to a client that reads nothing: {sent} bytes");
    assert!(sent < 64 << 20, "what is buffered is bounded by socket buffers, not the turn: {sent} bytes");
    assert_eq!(upstream.abandoned(), 0, "the turn is waiting, not ended");

    let mut read = 0usize;
    while read < 1 << 20 {
        read += stream.chunk().await.expect("reads").expect("the stream goes on").len();
    }
    assert!(upstream.bytes_sent() > sent, "reading again resumes the upstream");
}

/// A turn still running at `turn-seconds` ends with a timeout: once output has
/// streamed, as the stream's error chunk after the text so far; its upstream closes.
#[tokio::test]
async fn a_turn_over_turn_seconds_ends_with_an_error_chunk() {
    let mut slow = demo_reply("turn2.sse");
    slow.chunk_delay = Duration::from_millis(150);
    let upstream = ReplayServer::start(vec![slow]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = "[limits]\nturn-seconds = 1\n[models.fast]\nroutes = [\"main:demo-model\"]\n";
    let server = serve_in_process(dir.path(), &config_text(dir.path(), &upstream, limits)).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let answer = client
        .post(format!("{}/v1/chat/completions", server.url()))
        .header("content-type", "application/json")
        .body(chat("fast", true))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 200, "output came before the deadline");
    let body = answer.text().await.expect("the stream");
    let chunks = chunks(&body);
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert!(text.starts_with("Each"), "the text before the deadline arrived: {body}");
    let last = chunks.last().expect("chunks");
    assert!(last["error"]["message"].as_str().is_some_and(|m| m.contains("limits.turn-seconds")), "{body}");
    assert!(!body.contains("[DONE]"), "a cut stream does not claim to be done: {body}");
    for _ in 0..100 {
        if upstream.abandoned() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(upstream.abandoned(), 1, "the turn's upstream closed");
}
