//! `cordon run`: a long-running host that keeps turns flowing against a local
//! replay upstream while a watched folder (or `cordon reload`) swaps the
//! provider. Each turn prints one line naming the version that served it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cordon::admin::Admin;
use cordon::replay::{Framing, Reply, ReplayServer, frame};
use cordon::{Error, Event, ProviderOptions, Registry, Request, Runtime, RuntimeConfig};

#[derive(clap::Args)]
pub struct Args {
    /// Provider to run: `<watch>/<provider>.wasm` with its manifest.
    #[arg(long)]
    provider: String,
    /// Folder to watch: a changed `<provider>.wasm` (write, then rename) is swapped in.
    #[arg(long)]
    watch: PathBuf,
    /// Recorded stream the local upstream serves (default: the demo's first answer).
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Framing of the fixture (see `cordon replay`).
    #[arg(long, default_value = "openai-sse")]
    framing: Framing,
    /// Pause between turns, in milliseconds.
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
    /// Stop after this many turns (default: run until interrupted).
    #[arg(long)]
    turns: Option<u64>,
    /// Where the admin endpoint listens (loopback only; port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:7700")]
    admin: SocketAddr,
}

pub async fn run(config: RuntimeConfig, args: Args) -> cordon::Result<ExitCode> {
    let runtime = Runtime::new(RuntimeConfig { components_dir: args.watch.clone(), ..config })?;
    let chunks = match &args.fixture {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.clone(), source })?;
            frame(&text, args.framing).map_err(|why| Error::Config(format!("fixture {}: {why}", path.display())))?
        }
        None => super::demo::FIRST_ANSWER.split_inclusive("\n\n").map(|e| Bytes::copy_from_slice(e.as_bytes())).collect(),
    };
    let upstream = ReplayServer::start(vec![Reply::stream(chunks)])
        .await
        .map_err(|err| Error::Config(format!("cannot start the local replay upstream: {err}")))?;

    let registry = Arc::new(Registry::new(runtime));
    let file = args.watch.join(format!("{}.wasm", args.provider));
    // A local replay upstream: nothing else is granted (see `cordon replay`).
    let options = ProviderOptions { base_url: Some(upstream.url()), deny_unapproved: true, ..ProviderOptions::default() };
    let first = registry.load(&args.provider, &file.to_string_lossy(), options).await?;
    let _watch = cordon::watch::watch(Arc::clone(&registry), &args.watch, cordon::watch::DEFAULT_QUIET)?;
    let admin = Admin::start(Arc::clone(&registry), args.admin)
        .await
        .map_err(|err| Error::Config(format!("cannot start the admin endpoint on {}: {err}", args.admin)))?;
    eprintln!("admin: {}", admin.url());
    eprintln!(
        "running {} from {} against {}; watching {} (replace files with write-then-rename)",
        first.served_by,
        file.display(),
        upstream.url(),
        args.watch.display()
    );

    let mut failures = 0u64;
    let mut number = 0u64;
    while args.turns.is_none_or(|limit| number < limit) {
        number += 1;
        let started = Instant::now();
        let provider = registry.get(&args.provider)?;
        let mut served_by = provider.served_by().to_owned();
        let mut turn = provider.stream(Request::user("replay-model", "Hello"));
        let mut events = 0usize;
        while let Some(event) = turn.next().await {
            if let Event::StreamStart { served_by: by, .. } = &event {
                served_by.clone_from(by);
            }
            events += 1;
        }
        match turn.into_result().await {
            Ok(_) => println!("turn {number}: {served_by}, {events} events, {:.1?}", started.elapsed()),
            Err(err) => {
                failures += 1;
                println!("turn {number}: {served_by} failed: {err}");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(args.interval_ms)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
