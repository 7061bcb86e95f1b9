//! The spans of `cordon serve` (issue 15) as its JSON log shows them
//! (`CORDON_LOG_FORMAT=json`): a request span with its id, path and key's
//! name, and at `debug` a turn span with the public model inside it and an
//! attempt span per route tried with its provider, version, attempt and
//! whether it is a fallback; every line is one JSON object.

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::keys;
use serde_json::{Value, json};

use crate::support::{ServeProcess, root, serve_config_head};

const KEY: &str = "sk-cordon-tracing-7d21";

/// The span named `name` among a JSON log line's spans.
fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"].as_array()?.iter().find(|span| span["name"] == name)
}

/// A model whose first route's upstream fails (500) and whose second
/// serves: the attempt that failed is logged naming it, inside request, turn
/// and attempt spans; the turn's end inside the request span (with the
/// key's name), with the model, tokens and served_by.
#[tokio::test]
async fn a_fallback_turn_logs_its_spans_as_json() {
    let failing = ReplayServer::start(vec![Reply::error(500, r#"{"error":{"message":"down","type":"server_error"}}"#)]).await.expect("upstream");
    let text = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer");
    let serving = ReplayServer::start(vec![Reply::stream(text.split_inclusive("\n\n").map(|e| Bytes::copy_from_slice(e.as_bytes())).collect())])
        .await
        .expect("upstream");
    let provider = |name: &str, upstream: &ReplayServer| {
        format!(
            "[providers.{name}]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:CORDON_TRACING_TEST_KEY\" }}\n",
            upstream.url()
        )
    };
    let config = format!(
        "{}{}{}[models.fast]\nroutes = [\"first:m1\", \"second:m2\"]\nretry = {{ attempts = 1 }}\n[keys.team]\nsha256 = \"{}\"\n",
        serve_config_head(),
        provider("first", &failing),
        provider("second", &serving),
        keys::hex(&keys::digest(KEY))
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, config).expect("config");
    let served = ServeProcess::start_file(&file, &[("CORDON_TRACING_TEST_KEY", "sk-upstream"), ("CORDON_LOG_FORMAT", "json")], "info,cordon=debug");

    let client = cordon::tls::client_builder().build().expect("client");
    let body = json!({"model": "fast", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let response = client.post(format!("{}/chat/completions", served.base)).bearer_auth(KEY).body(body.to_string()).send().await.expect("an answer");
    let id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("a request id").to_owned();
    assert!(response.text().await.expect("the stream").ends_with("data: [DONE]\n\n"));

    let logged = served.lines_to("turn ended");
    let lines: Vec<Value> = logged
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}")))
        .collect();
    let failed = lines.iter().find(|line| line["fields"]["message"].as_str().is_some_and(|m| m.starts_with("attempt failed"))).expect("the failed attempt is logged");
    let said = &failed["fields"];
    assert_eq!((&said["served_by"], &said["model"], &said["attempt"], &said["fallback"]), (&json!("openai@0.1.0"), &json!("m1"), &json!(1), &json!(false)), "{failed}");
    assert_eq!(span(failed, "request").map(|s| (&s["id"], &s["key"])), Some((&json!(id), &json!("team"))), "{failed}");
    assert_eq!(span(failed, "turn").map(|s| &s["model"]), Some(&json!("fast")), "{failed}");
    let attempt = span(failed, "attempt").expect("an attempt span");
    assert_eq!((&attempt["provider"], &attempt["version"], &attempt["attempt"], &attempt["fallback"]), (&json!("openai"), &json!("0.1.0"), &json!(1), &json!(false)));
    assert_eq!(attempt["model"], "m1");

    let ended = lines.iter().find(|line| line["fields"]["message"] == "turn ended").expect("the turn's end is logged");
    let request = span(ended, "request").expect("the request's span");
    assert_eq!((&request["id"], &request["path"], &request["key"]), (&json!(id), &json!("/v1/chat/completions"), &json!("team")), "{ended}");
    let fields = &ended["fields"];
    assert_eq!((&fields["model"], &fields["served_by"]), (&json!("fast"), &json!("openai@0.1.0")), "{ended}");
    assert!(fields["duration_us"].as_u64().is_some_and(|us| us > 0) && fields["first_output_us"].as_u64().is_some(), "{ended}");
    assert_eq!((&fields["input_tokens"], &fields["output_tokens"]), (&json!(171), &json!(44)));
    assert!(!logged.contains(KEY), "the key is never logged");
    assert_eq!((failing.requests().len(), serving.requests().len()), (1, 1), "one attempt each");
}

/// With `[telemetry] otlp-endpoint`, the spans reach an OTLP/HTTP receiver
/// (here the test's own, recording what it is sent: no OTLP collector is
/// packaged for this machine) as OTLP JSON under the service name: one trace
/// per request, `turn` a child of `request`, `attempt` of `turn`, and
/// `to_native` and `upstream` inside the attempt; sent by SIGTERM at the latest.
#[tokio::test]
async fn spans_reach_an_otlp_receiver_as_one_trace_per_request() {
    let receiver = ReplayServer::start(vec![Reply::stream(vec![Bytes::from_static(b"{}")])]).await.expect("the OTLP receiver");
    let text = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer");
    let upstream = ReplayServer::start(vec![Reply::stream(text.split_inclusive("\n\n").map(|e| Bytes::copy_from_slice(e.as_bytes())).collect())])
        .await
        .expect("upstream");
    let config = format!(
        "{}[telemetry]\notlp-endpoint = \"{}\"\nservice-name = \"cordon-test\"\n\
         [providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:CORDON_TRACING_TEST_KEY\" }}\n\
         [models.fast]\nroutes = [\"main:m\"]\n",
        serve_config_head(),
        receiver.url(),
        upstream.url()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, config).expect("config");
    let mut served = ServeProcess::start_file(&file, &[("CORDON_TRACING_TEST_KEY", "sk-upstream")], "warn");
    let client = cordon::tls::client_builder().build().expect("client");
    for _ in 0..2 {
        let body = json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]});
        let answer = client.post(format!("{}/chat/completions", served.base)).body(body.to_string()).send().await.expect("an answer");
        assert_eq!(answer.status(), 200);
    }
    let status = std::process::Command::new("kill").arg("-TERM").arg(served.child.id().to_string()).status().expect("kill runs");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || served.child.wait()).await.expect("joins").expect("exits");
    assert!(exit.success(), "{exit}");

    let exports = receiver.requests();
    assert!(!exports.is_empty(), "spans were exported");
    assert!(exports.iter().all(|export| export.path == "/v1/traces"), "{:?}", exports.iter().map(|e| &e.path).collect::<Vec<_>>());
    let mut spans = Vec::new();
    for export in &exports {
        let body: Value = serde_json::from_slice(&export.body).expect("OTLP JSON");
        for resource in body["resourceSpans"].as_array().expect("resourceSpans") {
            let service = resource["resource"]["attributes"].as_array().and_then(|attributes| {
                attributes.iter().find(|a| a["key"] == "service.name").and_then(|a| a["value"]["stringValue"].as_str().map(str::to_owned))
            });
            assert_eq!(service.as_deref(), Some("cordon-test"));
            for scope in resource["scopeSpans"].as_array().expect("scopeSpans") {
                spans.extend(scope["spans"].as_array().expect("spans").iter().cloned());
            }
        }
    }
    let named = |name: &str| spans.iter().filter(|span| span["name"] == name).cloned().collect::<Vec<_>>();
    let requests = named("request");
    assert_eq!(requests.len(), 2, "a span per request: {:?}", spans.iter().map(|s| &s["name"]).collect::<Vec<_>>());
    for request in &requests {
        let trace = &request["traceId"];
        let child_of = |name: &str, parent: &Value| {
            named(name)
                .into_iter()
                .find(|span| &span["traceId"] == trace && span["parentSpanId"] == parent["spanId"])
                .unwrap_or_else(|| panic!("a `{name}` span under {parent}"))
        };
        let turn = child_of("turn", request);
        let attempt = child_of("attempt", &turn);
        child_of("to_native", &attempt);
        child_of("upstream", &attempt);
    }
    assert_ne!(requests[0]["traceId"], requests[1]["traceId"], "a trace per request");
}
