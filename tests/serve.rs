//! `cordon serve`: a gateway built from its
//! config file loads each provider with exactly what the file grants it, and
//! a model's chain streams through the real component to a local upstream.

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::config::ServeConfig;
use cordon::serve::gateway::Gateway;
use cordon::{Event, Request};

use crate::support::{ServeProcess, components_dir, demo_reply, fast_model, root, run_python, serve_in_process};

fn config(text: &str, dir: &std::path::Path) -> ServeConfig {
    let cache = components_dir().parent().map(|dist| dist.join("cache")).unwrap_or_default();
    let head = format!("components = {:?}\ncache = {:?}\n", components_dir().display().to_string(), cache.display().to_string());
    ServeConfig::parse(&dir.join("serve.toml"), &format!("{head}{text}")).expect("a valid config")
}

#[tokio::test]
async fn a_model_streams_through_its_provider_with_the_secret_the_file_binds() {
    let sse = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's answer");
    let server = ReplayServer::start(vec![Reply::stream(sse.split_inclusive("\n\n").map(|e| Bytes::copy_from_slice(e.as_bytes())).collect())])
        .await
        .expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("key"), "sk-from-the-file\n").expect("key file");
    let text = format!(
        "[providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"file:{}\" }}\n\
         [models.fast]\nroutes = [\"main:demo-model\"]\n",
        server.url(),
        dir.path().join("key").display()
    );
    let gateway = Gateway::start(&config(&text, dir.path())).await.expect("the gateway starts");
    assert_eq!(gateway.model_names().collect::<Vec<_>>(), ["fast"]);
    assert!(gateway.chain("slow", None, &Request::user("slow", "hi"), 0).await.is_none(), "an unknown model has no chain");

    let chain = gateway.chain("fast", None, &Request::user("fast", "hi"), 0).await.expect("configured").expect("routes resolve");
    let mut turn = chain.stream(Request::user("fast", "hi"));
    let mut text = String::new();
    while let Some(event) = turn.next().await {
        if let Event::TextDelta { text: delta } = event {
            text.push_str(&delta);
        }
    }
    assert!(text.starts_with("Each of you pays €71.84"), "{text}");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].headers.iter().any(|(k, v)| k == "authorization" && v == "Bearer sk-from-the-file"), "{:?}", seen[0].headers);
    let body = String::from_utf8_lossy(&seen[0].body);
    assert!(body.contains("\"model\":\"demo-model\""), "the route's model is asked for: {body}");
}

#[tokio::test]
async fn a_secret_the_component_asks_for_but_the_file_does_not_bind_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = Gateway::start(&config("[providers.main]\ncomponent = \"openai\"\n", dir.path())).await.err().expect("refused");
    let message = refused.to_string();
    assert!(message.contains("serve.toml: provider `main`: component `openai` asks for the secret `api-key`"), "{message}");
    assert!(message.contains("secrets = { api-key = \"env:OPENAI_API_KEY\" }"), "the fix is named: {message}");
}

/// The gateway over HTTP: models, a streamed and a whole answer, an unknown model.
#[tokio::test]
async fn chat_completions_stream_and_answer_whole_over_http() {
    let upstream = ReplayServer::start(vec![demo_reply("turn1.sse"), demo_reply("turn1.sse")]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve_in_process(dir.path(), &fast_model(&upstream, dir.path())).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let base = format!("{}/v1", server.url());

    let post = |body: serde_json::Value| {
        client.post(format!("{base}/chat/completions")).header("content-type", "application/json").body(body.to_string()).send()
    };
    let json = |text: String| -> serde_json::Value { serde_json::from_str(&text).expect("JSON") };
    let models = json(client.get(format!("{base}/models")).send().await.expect("models").text().await.expect("body"));
    assert_eq!(models["data"][0]["id"], "fast");

    let body = serde_json::json!({"model": "fast", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "split the bill"}]});
    let response = post(body).await.expect("a stream");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(response.headers().contains_key("x-request-id"));
    let text = response.text().await.expect("the whole stream");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let chunks: Vec<serde_json::Value> = text
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).expect("each chunk is JSON"))
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let call = chunks.iter().find_map(|c| c["choices"][0]["delta"]["tool_calls"][0].as_object().cloned()).expect("a tool call");
    assert_eq!((call["index"].as_u64(), call["function"]["name"].as_str()), (Some(0), Some("calculator__evaluate")));
    let last = chunks.last().expect("chunks");
    assert_eq!((last["choices"].clone(), last["usage"]["total_tokens"].as_u64().is_some()), (serde_json::json!([]), true));
    assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "tool_calls"), "{text}");

    let whole = serde_json::json!({"model": "fast", "messages": [{"role": "user", "content": "split the bill"}]});
    let response = post(whole).await.expect("an answer");
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer = json(response.text().await.expect("body"));
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "calculator__evaluate");

    let unknown = serde_json::json!({"model": "slow", "messages": [{"role": "user", "content": "hi"}]});
    let response = post(unknown).await.expect("a refusal");
    assert_eq!(response.status(), 404);
    let refusal = json(response.text().await.expect("body"));
    assert_eq!((refusal["error"]["code"].as_str(), refusal["error"]["param"].as_str()), (Some("model_not_found"), Some("model")));
}

/// The official OpenAI Python client (pinned in `tools/requirements.txt`,
/// installed into `.tools/venv` by `cargo xtask test`) reads a stream with its
/// usage, a whole answer, and raises `NotFoundError` for an unknown model.
#[tokio::test]
async fn the_official_openai_python_client_reads_the_gateway() {
    let upstream = ReplayServer::start(vec![demo_reply("turn1.sse"), demo_reply("turn1.sse")]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve_in_process(dir.path(), &fast_model(&upstream, dir.path())).await;
    let base_url = format!("{}/v1", server.url());
    let seen = run_python("openai_chat.py", &[&base_url, "fast"]).await;
    assert_eq!(seen["stream"]["text"], "I'll work it out exactly with the calculator.");
    assert_eq!(seen["stream"]["calls"]["0"]["name"], "calculator__evaluate");
    assert_eq!(seen["stream"]["calls"]["0"]["arguments"], r#"{"expression": "187.40 * 1.15 / 3"}"#);
    assert_eq!(seen["stream"]["finish"], "tool_calls");
    assert!(seen["stream"]["usage"].as_u64().is_some_and(|total| total > 0), "{seen}");
    assert_eq!(seen["whole"]["calls"], serde_json::json!(["calculator__evaluate"]));
    assert_eq!(seen["whole"]["finish"], "tool_calls");
    assert_eq!(seen["missing"], serde_json::json!({"class": "NotFoundError", "status": 404, "code": "model_not_found"}));
}

/// `cordon serve` itself: on SIGTERM it stops accepting, lets the stream in
/// flight finish (to its `[DONE]`), and exits 0.
#[tokio::test]
async fn sigterm_lets_the_stream_in_flight_finish() {
    let sse = std::fs::read_to_string(root().join("runtime/demo/turn1.sse")).expect("the demo's first answer");
    let mut reply = Reply::stream(sse.split_inclusive("\n\n").map(|e| Bytes::copy_from_slice(e.as_bytes())).collect());
    reply.chunk_delay = std::time::Duration::from_millis(40);
    let upstream = ReplayServer::start(vec![reply]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut gateway = ServeProcess::start(&fast_model(&upstream, dir.path()), &[]);
    let base = gateway.base.clone();

    let client = cordon::tls::client_builder().build().expect("client");
    let body = serde_json::json!({"model": "fast", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let mut response = client
        .post(format!("{base}/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("a stream");
    let mut received = String::from_utf8_lossy(&response.chunk().await.expect("reads").expect("a first chunk")).into_owned();
    let status = std::process::Command::new("kill").arg("-TERM").arg(gateway.child.id().to_string()).status().expect("kill runs");
    assert!(status.success());
    while let Some(chunk) = response.chunk().await.expect("the stream goes on") {
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.ends_with("data: [DONE]\n\n"), "the stream finished: {received}");
    let (gateway, exit) = tokio::task::spawn_blocking(move || {
        let exit = gateway.child.wait();
        (gateway, exit)
    })
    .await
    .expect("joins");
    let exit = exit.expect("exits");
    assert!(exit.success(), "exit 0 after draining: {exit}");
    assert!(gateway.line_with("stopping").contains("answers in flight have"));
    assert!(client.get(format!("{base}/models")).send().await.is_err(), "no longer accepting");
}

/// A client that goes away mid-stream ends the turn: the gateway closes the
/// upstream connection, which the upstream sees as its reply abandoned.
#[tokio::test]
async fn a_client_that_disconnects_closes_the_upstream() {
    let delta = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"la "},"finish_reason":null}]}"#;
    let mut endless = Reply { body: cordon::replay::ReplyBody::Endless(Bytes::from(format!("{delta}\n\n"))), ..Reply::stream(vec![]) };
    endless.chunk_delay = std::time::Duration::from_millis(5);
    let upstream = ReplayServer::start(vec![endless]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve_in_process(dir.path(), &fast_model(&upstream, dir.path())).await;
    let client = cordon::tls::client_builder().build().expect("client");
    let body = serde_json::json!({"model": "fast", "stream": true, "messages": [{"role": "user", "content": "sing"}]});
    let mut response = client
        .post(format!("{}/v1/chat/completions", server.url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("a stream");
    let mut received = 0;
    while received < 3 {
        let chunk = response.chunk().await.expect("reads").expect("the song goes on");
        received += chunk.len().min(1);
    }
    assert_eq!(upstream.abandoned(), 0, "still streaming");
    drop(response);
    drop(client);
    // Wait (bounded) for the close to travel gateway -> guest turn -> upstream.
    for _ in 0..500 {
        if upstream.abandoned() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(upstream.abandoned(), 1, "the upstream saw its reply abandoned");
}

/// The official Anthropic Python client (pinned in `tools/requirements.txt`)
/// reaches the OpenAI-compatible provider through `/v1/messages`: its stream
/// helper assembles the message, tool use included.
#[tokio::test]
async fn the_official_anthropic_python_client_reads_the_gateway() {
    let upstream = ReplayServer::start(vec![demo_reply("turn1.sse"), demo_reply("turn1.sse")]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve_in_process(dir.path(), &fast_model(&upstream, dir.path())).await;
    let base_url = server.url();
    let seen = run_python("anthropic_messages.py", &[&base_url, "fast"]).await;
    assert_eq!(seen["stream"]["text"], "I'll work it out exactly with the calculator.");
    let tool = serde_json::json!({"type": "tool_use", "text": null, "name": "calculator__evaluate", "input": {"expression": "187.40 * 1.15 / 3"}});
    assert_eq!(seen["stream"]["blocks"][1], tool, "{seen}");
    assert_eq!(seen["stream"]["stop"], "tool_use");
    assert!(seen["stream"]["output_tokens"].as_u64().is_some_and(|n| n > 0), "{seen}");
    assert_eq!(seen["whole"]["blocks"][1], tool);
    assert_eq!(seen["whole"]["stop"], "tool_use");
    assert_eq!(seen["missing"], serde_json::json!({"class": "NotFoundError", "status": 404}));
}

/// `cordon serve --demo`: no file, key or network; it prints what to try, and
/// the line it prints answers. It runs confined to one core (`taskset -c 0`,
/// where util-linux is installed), as the gateway benchmark runs it: `cordon`
/// then runs on a one-thread runtime.
#[tokio::test]
async fn serve_demo_answers_the_lines_it_prints() {
    use std::io::BufRead as _;

    let cache = components_dir().parent().map(|dist| dist.join("cache")).unwrap_or_default();
    let confined = std::process::Command::new("taskset").arg("-V").output().is_ok_and(|out| out.status.success());
    let mut command = if confined {
        let mut taskset = std::process::Command::new("taskset");
        taskset.args(["-c", "0", env!("CARGO_BIN_EXE_cordon")]);
        taskset
    } else {
        eprintln!("taskset is not installed: `cordon serve --demo` runs on every core");
        std::process::Command::new(env!("CARGO_BIN_EXE_cordon"))
    };
    let mut child = command
        .args(["--components", components_dir().to_str().unwrap_or_default(), "--cache", cache.to_str().unwrap_or_default()])
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("CORDON_LOG", "off")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cordon serve starts");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut printed = String::new();
    while !printed.contains("python3 -c") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).expect("reads") > 0, "ended early: {printed}");
        printed.push_str(&line);
    }
    let base = printed.split_whitespace().find(|word| word.starts_with("http://")).expect("the address").to_owned();
    assert!(printed.contains(&format!("curl -N {base}/chat/completions")), "{printed}");

    let client = cordon::tls::client_builder().build().expect("client");
    let body = serde_json::json!({"model": "demo", "messages": [{"role": "user", "content": "Hi"}]});
    let answer = client
        .post(format!("{base}/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a body");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap_or_default();
    assert!(text.starts_with("Each of you pays €71.84"), "{answer}");
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.expect("joins").expect("exits");
    assert!(exit.success(), "{exit}");
}

/// Hot-swap while serving: a new file for a component swaps every provider
/// loaded from it; the turn in flight finishes on the version it started on,
/// the next starts on the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_component_file_swaps_the_gateways_providers_and_spares_turns_in_flight() {
    let mut reply = Reply::stream((0..20).map(|i| Bytes::from(format!("data: e{i}\n\n"))).collect());
    reply.chunk_delay = std::time::Duration::from_millis(20);
    let upstream = ReplayServer::start(vec![reply]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let components = dir.path().join("components");
    std::fs::create_dir(&components).expect("folder");
    for ext in ["wasm", "toml"] {
        std::fs::copy(components_dir().join(format!("hostile.{ext}")), components.join(format!("hostile.{ext}"))).expect("copy");
    }
    std::fs::write(dir.path().join("key"), "k").expect("key file");
    let cache = components_dir().parent().map(|dist| dist.join("cache")).unwrap_or_default();
    let text = format!(
        "components = \"components\"\ncache = {:?}\n\
         [providers.one]\ncomponent = \"hostile\"\nhosts = [\"{url}\"]\noptions = {{ upstream = \"{url}\" }}\nsecrets = {{ api-key = \"file:{key}\" }}\nsecret-hosts = [\"{url}\"]\n\
         [providers.two]\ncomponent = \"hostile\"\nhosts = [\"{url}\"]\noptions = {{ upstream = \"{url}\" }}\nsecrets = {{ api-key = \"file:{key}\" }}\nsecret-hosts = [\"{url}\"]\n\
         [models.m]\nroutes = [\"one:x\", \"two:x\"]\n",
        cache.display().to_string(),
        url = upstream.url(),
        key = dir.path().join("key").display()
    );
    let config = ServeConfig::parse(&dir.path().join("serve.toml"), &text).expect("valid");
    let gateway = Gateway::start(&config).await.expect("starts");
    let _watch = cordon::watch::watch(std::sync::Arc::clone(gateway.registry()), &config.components, cordon::watch::DEFAULT_QUIET)
        .expect("watches");
    assert_eq!(gateway.registry().loaded_from(&components.join("hostile.wasm")), ["one", "two"]);

    let mut request = Request::user("m", "hi");
    request.provider_options = Some(serde_json::json!({ "hostile": { "mode": "tagged" } }));
    let chain = gateway.chain("m", None, &Request::user("m", "hi"), 0).await.expect("configured").expect("resolves");
    let in_flight = tokio::spawn(async move { chain.complete(request).await.map(|result| result.served_by) });

    // Write, then rename: the swap sees whole files (the manifest names the version).
    for ext in ["toml", "wasm"] {
        let staged = dir.path().join(format!("hostile.{ext}.new"));
        std::fs::copy(components_dir().join(format!("hostile-v2.{ext}")), &staged).expect("stage v2");
        std::fs::rename(&staged, components.join(format!("hostile.{ext}"))).expect("rename");
    }
    let mut swapped = Vec::new();
    for _ in 0..1000 {
        swapped = ["one", "two"].map(|name| gateway.registry().get(name).map(|p| p.served_by().to_owned()).unwrap_or_default()).to_vec();
        if swapped.iter().all(|v| v == "hostile@0.2.0") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(swapped, ["hostile@0.2.0", "hostile@0.2.0"], "both instances swapped");
    assert_eq!(in_flight.await.expect("joins").expect("the turn in flight succeeds"), "hostile@0.1.0");
}
