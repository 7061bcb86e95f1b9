//! `cordon replay`: the conformance tool. Serves a recorded stream from a local
//! HTTP server in the provider's framing, runs one turn against it, and prints
//! every normalized event as a JSON line, then a `{"type":"result"}` line.

use std::path::PathBuf;
use std::process::ExitCode;

use cordon::replay::{Framing, Reply, ReplayServer, frame};
use cordon::{Error, ProviderOptions, Request, Runtime};

use super::render::{json_line, result_line};

#[derive(clap::Args)]
pub struct Args {
    /// Provider component name (or path to a .wasm file).
    #[arg(long)]
    provider: String,
    /// The recorded stream.
    #[arg(long)]
    fixture: PathBuf,
    /// How the fixture goes on the wire: openai-sse, anthropic-sse, gemini-sse, ndjson or raw.
    #[arg(long)]
    framing: Framing,
    /// Model id sent in the request.
    #[arg(long, default_value = "replay-model")]
    model: String,
    /// HTTP status the upstream answers with (to replay error bodies).
    #[arg(long, default_value_t = 200)]
    status: u16,
    /// Extra response header, `name: value` (repeatable), e.g. `retry-after: 3`.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// The prompt sent.
    #[arg(long, default_value = "Hello")]
    prompt: String,
}

pub async fn run(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.fixture).map_err(|source| Error::Io { path: args.fixture.clone(), source })?;
    let chunks = frame(&text, args.framing)
        .map_err(|why| Error::Config(format!("fixture {}: {why}", args.fixture.display())))?;
    let mut reply = Reply::stream(chunks);
    reply.status = args.status;
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| Error::Config(format!("--header `{header}` must be `name: value`")))?;
        reply = reply.header(name.trim(), value.trim());
    }
    let server = ReplayServer::start(vec![reply])
        .await
        .map_err(|err| Error::Config(format!("cannot start the local replay server: {err}")))?;
    let options = ProviderOptions { base_url: Some(server.url()), ..ProviderOptions::default() };
    let provider = runtime.load_provider(&args.provider, options).await?;

    let mut turn = provider.stream(Request::user(args.model, args.prompt));
    while let Some(event) = turn.next().await {
        println!("{}", json_line(&event));
    }
    match turn.into_result().await {
        Ok(result) => {
            println!("{}", result_line(&result));
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Turn(error)) => {
            println!("{}", serde_json::json!({ "type": "result", "error": error }));
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other),
    }
}
