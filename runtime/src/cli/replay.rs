//! `cordon replay`: the conformance tool. Serves a recorded stream from a local
//! HTTP server in the provider's framing, runs one turn against it, and prints
//! every normalized event as a JSON line, then a `{"type":"result"}` line. With
//! `--expect FILE` it also compares those lines with the ones in `FILE` (a
//! provider's golden output) and fails on the first difference.

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
    /// Expected output (JSON lines, as this command prints them): exit non-zero
    /// at the first line that differs. `served_by` is not compared.
    #[arg(long)]
    expect: Option<PathBuf>,
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
    // A local replay: the component reaches only the replay server, with no
    // secret values; what it asks for beyond that is denied, not granted.
    let options = ProviderOptions { base_url: Some(server.url()), deny_unapproved: true, ..ProviderOptions::default() };
    let provider = runtime.load_provider(&args.provider, options).await?;

    let mut turn = provider.stream(Request::user(args.model, args.prompt));
    let mut lines = Vec::new();
    while let Some(event) = turn.next().await {
        lines.push(json_line(&event));
    }
    let (last, ok) = match turn.into_result().await {
        Ok(result) => (result_line(&result), true),
        Err(Error::Turn(error)) => (serde_json::json!({ "type": "result", "error": error }).to_string(), false),
        Err(other) => return Err(other),
    };
    lines.push(last);
    for line in &lines {
        println!("{line}");
    }
    if let Some(expected) = &args.expect {
        if let Err(difference) = compare(expected, &lines) {
            eprintln!("replay: the output differs from {}: {difference}", expected.display());
            return Ok(ExitCode::FAILURE);
        }
        eprintln!("replay: the output matches {}", expected.display());
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Compare `lines` with the JSON lines in `expected`, `served_by` left out.
fn compare(expected: &std::path::Path, lines: &[String]) -> Result<(), String> {
    let text = std::fs::read_to_string(expected).map_err(|err| format!("cannot read it: {err}"))?;
    let wanted: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for (number, (want, got)) in wanted.iter().zip(lines).enumerate() {
        let parse = |line: &str| serde_json::from_str::<serde_json::Value>(line).map(without_served_by);
        let want_value = parse(want).map_err(|err| format!("line {} of the file is not JSON: {err}", number + 1))?;
        let got_value = parse(got).map_err(|err| format!("output line {} is not JSON: {err}", number + 1))?;
        if want_value != got_value {
            return Err(format!("line {}:\n  expected {want}\n  got      {got}", number + 1));
        }
    }
    if wanted.len() != lines.len() {
        return Err(format!("expected {} lines, got {}", wanted.len(), lines.len()));
    }
    Ok(())
}

fn without_served_by(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("served_by");
        for (_, inner) in map.iter_mut() {
            *inner = without_served_by(inner.take());
        }
    }
    value
}
