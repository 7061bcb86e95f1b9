//! Every shipped provider behind `cordon serve`: a model per provider, each in
//! front of a local upstream replaying a recording of that provider's wire
//! format from `../shared/fixtures`, read by the official OpenAI client (Chat
//! Completions, streamed and whole) and the official Anthropic client
//! (Messages, streamed). What each client assembles is exactly what the
//! provider yields for the same recording when called directly.

use cordon::FinishReason;
use cordon::replay::{Framing, Reply, ReplayServer, frame};
use serde_json::Value;

use crate::support::{ServeProcess, provider_against, root, run_turn, shared_fixtures};

/// Each provider component with a recording of its wire format and its framing.
const PROVIDERS: [(&str, &str, Framing); 5] = [
    ("openai", "wire/openai-chat/openai-text.chunks.txt", Framing::OpenAiSse),
    ("anthropic", "wire/anthropic/anthropic-text.chunks.txt", Framing::AnthropicSse),
    ("gemini", "wire/gemini/google-text.chunks.txt", Framing::GeminiSse),
    ("ollama", "wire/ollama/gemma3-text-length.ndjson", Framing::Ndjson),
    ("openai-responses", "wire/openai-responses/text.sse", Framing::Raw),
];

#[tokio::test]
async fn the_official_clients_read_every_shipped_provider_through_the_gateway() {
    let Some(fixtures) = shared_fixtures() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("key"), "sk-test").expect("key file");
    let mut config = String::new();
    let mut upstreams: Vec<ReplayServer> = Vec::new();
    let mut expected = Vec::new();
    for (component, fixture, framing) in PROVIDERS {
        let text = std::fs::read_to_string(fixtures.join(fixture)).expect("the recording");
        let reply = || Reply::stream(frame(&text, framing).expect("framed"));
        // The reference: the provider called directly on the same recording.
        let (_direct, provider) = provider_against(component, vec![reply()]).await;
        let (_, result) = run_turn(&provider, cordon::Request::user("m", "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{component}: the direct turn failed: {err}"));
        assert!(!result.text().is_empty(), "{component}: the recording has text");
        expected.push((component, result.text(), result.finish.reason));

        let upstream = ReplayServer::start(vec![reply()]).await.expect("replay upstream");
        config.push_str(&format!(
            "[providers.{component}]\ncomponent = \"{component}\"\nbase-url = \"{}\"\nsecrets = {{ api-key = \"file:{}\" }}\n\
             [models.via-{component}]\nroutes = [\"{component}:recorded-model\"]\n",
            upstream.url(),
            dir.path().join("key").display()
        ));
        upstreams.push(upstream);
    }
    let gateway = ServeProcess::start(&config, &[]);
    let base = gateway.base.trim_end_matches("/v1").to_owned();

    let models: Vec<String> = PROVIDERS.iter().map(|(component, _, _)| format!("via-{component}")).collect();
    let mut client = std::process::Command::new(root().join(".tools/venv/bin/python"));
    client.arg(root().join("tests/clients/every_provider.py")).arg(&base).args(&models);
    let output = tokio::task::spawn_blocking(move || client.output())
        .await
        .expect("joins")
        .expect("python runs (cargo xtask installs the pinned clients into .tools/venv)");
    drop(gateway);
    assert!(output.status.success(), "the clients failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");

    for (component, text, finish) in expected {
        let got = &seen[format!("via-{component}")];
        for key in ["chat_stream", "chat_whole", "messages_stream"] {
            assert_eq!(got[key].as_str(), Some(text.as_str()), "{component}: {key}");
        }
        let (chat_finish, stop_reason) = match finish {
            FinishReason::Length => ("length", "max_tokens"),
            FinishReason::ToolCalls => ("tool_calls", "tool_use"),
            _ => ("stop", "end_turn"),
        };
        assert_eq!(got["chat_finish"], chat_finish, "{component}: finish reason");
        assert_eq!(got["messages_stop"], stop_reason, "{component}: stop reason");
    }
    for upstream in &upstreams {
        assert_eq!(upstream.requests().len(), 3, "each model's upstream served its three turns");
    }
}
