//! `cordon serve` (work in progress, issue 14): a gateway built from its
//! config file loads each provider with exactly what the file grants it, and
//! a model's chain streams through the real component to a local upstream.

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::config::ServeConfig;
use cordon::serve::gateway::Gateway;
use cordon::{Event, Request};

use crate::support::{components_dir, root};

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
    assert!(gateway.chain("slow").is_none(), "an unknown model has no chain");

    let chain = gateway.chain("fast").expect("configured").expect("routes resolve");
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
