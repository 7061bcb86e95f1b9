//! Memory of live streaming turns at scale: `CORDON_BENCH_LIVE_TURNS` turns
//! (10,000 by default) through the OpenAI component, all open at once, each
//! having delivered its first words and waiting for the rest.
//!
//! The upstream runs in a process of its own (this binary again, with
//! `CORDON_BENCH_HOLD_UPSTREAM` set): it answers every request with a
//! stream's head and first two events, then holds the stream open until the
//! client goes away. Its sockets and memory are not counted; the host's
//! half of each connection is, as it is in production.
//!
//! Printed: the host process's resident memory (RSS, and PSS, which shares
//! file pages such as the compiled component's image among their users)
//! before the turns and with all of them live, per live turn; where it goes
//! (anonymous memory against file pages, from `/proc/self/smaps_rollup`);
//! and the pooling allocator's settings it ran with. Run with `cargo bench
//! -p cordon --bench live_turns` (after `cargo xtask build openai`), or with
//! `cargo xtask bench`.

use std::convert::Infallible;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cordon::limits::{LimitOverrides, Limits};
use cordon::{Event, Provider, ProviderOptions, Request, Runtime, RuntimeConfig, TurnStream};
use futures_util::StreamExt as _;
use http_body_util::StreamBody;
use hyper::body::Frame;

/// The allocator the `cordon` binary runs with (`src/main.rs`): the host's
/// memory is measured as it is there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Set: this process is the holding upstream; it prints its address and serves.
const HOLD_ENV: &str = "CORDON_BENCH_HOLD_UPSTREAM";
/// How many turns to hold open (10,000 by default).
const TURNS_ENV: &str = "CORDON_BENCH_LIVE_TURNS";
const DEFAULT_TURNS: usize = 10_000;
/// Turns run to their ends first, so that what a first turn sets up once
/// (the HTTP client, the allocator's arenas) is not counted per live turn.
const WARM_TURNS: usize = 32;

/// The head of the held answer: the role, then the first words.
const FIRST_EVENTS: &str = concat!(
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Held \"},\"finish_reason\":null}]}\n\n",
);

fn main() {
    // As the `cordon` binary starts (`src/main.rs`).
    let _ = cordon::pages::disable_transparent_huge_pages();
    if std::env::var_os(HOLD_ENV).is_some() {
        hold_upstream();
        return;
    }
    if std::env::args().any(|arg| arg == "--list") {
        // `cargo test --benches` lists benchmarks: there are no criterion ones here.
        return;
    }
    let turns = match std::env::var(TURNS_ENV) {
        Ok(text) => text.parse().unwrap_or_else(|_| panic!("{TURNS_ENV}={text}: give a number of turns")),
        Err(_) => DEFAULT_TURNS,
    };
    let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/components");
    if !components.join("openai.wasm").is_file() {
        eprintln!("skipping the live-turns benchmark: {} has no openai.wasm (run `cargo xtask build openai`)", components.display());
        return;
    }
    let upstream = Upstream::start();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    rt.block_on(measure(&components, upstream.addr, turns));
}

/// Load the provider, warm it, then hold `turns` turns open and print what they cost.
async fn measure(components: &Path, upstream: SocketAddr, turns: usize) {
    let turn_count = u64::try_from(turns).unwrap_or(u64::MAX);
    let mut config = RuntimeConfig::new(components);
    config.pool.instances = u32::try_from(turns + WARM_TURNS + 16).expect("a pool size");
    config.max_limits = Limits { concurrent_turns: turn_count, ..Limits::HOST_MAX };
    let runtime = Runtime::new(config.clone()).expect("a runtime with a pool for every turn");
    let options = ProviderOptions {
        base_url: Some(format!("http://{upstream}/v1")),
        limits: Some(LimitOverrides { concurrent_turns: Some(turn_count), ..LimitOverrides::default() }),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime.load_provider("openai", options).await.expect("the openai provider loads");

    for _ in 0..WARM_TURNS {
        let mut warm = provider.stream(Request::user("m", "hold"));
        first_words(&mut warm).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = Memory::now();

    let started = Instant::now();
    let mut live = Vec::with_capacity(turns);
    for chunk in (0..turns).collect::<Vec<_>>().chunks(500) {
        let opened = futures_util::future::join_all(chunk.iter().map(|_| open(&provider))).await;
        live.extend(opened);
    }
    let opened_in = started.elapsed();
    let during = Memory::now();
    print_report(turns, opened_in, &before, &during, &config);
    drop(live);
}

/// A turn that has delivered its first words.
async fn open(provider: &Provider) -> TurnStream {
    let mut turn = provider.stream(Request::user("m", "hold"));
    first_words(&mut turn).await;
    turn
}

/// Read `turn` to its first text; a turn that ends first fails the benchmark.
async fn first_words(turn: &mut TurnStream) {
    while let Some(event) = turn.next().await {
        match event {
            Event::TextDelta { .. } => return,
            Event::Error(error) => panic!("a held turn failed: {error:?}"),
            _ => {}
        }
    }
    panic!("a held turn ended before its first words");
}

fn print_report(turns: usize, opened_in: Duration, before: &Memory, during: &Memory, config: &RuntimeConfig) {
    let per_turn = |before: u64, during: u64| during.saturating_sub(before) as f64 / turns as f64;
    println!("\nLive streaming turns held open at once: {turns} (opened in {:.1} s)", opened_in.as_secs_f64());
    println!("| | before | with the turns live | per live turn |");
    println!("| --- | --- | --- | --- |");
    for (name, before, during) in [
        ("RSS", before.rss_kib, during.rss_kib),
        ("PSS", before.pss_kib, during.pss_kib),
        ("anonymous", before.anonymous_kib, during.anonymous_kib),
        ("file pages (RSS - anonymous)", before.rss_kib.saturating_sub(before.anonymous_kib), during.rss_kib.saturating_sub(during.anonymous_kib)),
    ] {
        println!("| {name} | {:.1} MiB | {:.1} MiB | {:.1} KiB |", before as f64 / 1024.0, during as f64 / 1024.0, per_turn(before, during));
    }
    println!(
        "goal: 128 KiB resident per live turn. Pooling allocator: {} instances, each memory up to {} MiB, \
         2 MiB of linear memory kept resident per slot, async stacks of 2 MiB (128 KiB kept resident)",
        config.pool.instances,
        config.pool.max_memory_bytes >> 20,
    );
}

/// The process's resident memory, in KiB.
struct Memory {
    rss_kib: u64,
    pss_kib: u64,
    anonymous_kib: u64,
}

impl Memory {
    fn now() -> Memory {
        let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").expect("/proc/self/smaps_rollup (Linux)");
        let field = |name: &str| {
            rollup
                .lines()
                .find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/self/smaps_rollup"))
        };
        Memory { rss_kib: field("Rss:"), pss_kib: field("Pss:"), anonymous_kib: field("Anonymous:") }
    }
}

/// The holding upstream, a child process, stopped when dropped (a failed
/// measurement included).
struct Upstream {
    child: Child,
    addr: SocketAddr,
}

impl Upstream {
    fn start() -> Upstream {
        let exe = std::env::current_exe().expect("this benchmark's binary");
        let mut child = Command::new(exe)
            .env(HOLD_ENV, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the holding upstream starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("its address");
        let addr = line.trim().parse().unwrap_or_else(|_| panic!("the upstream printed no address: {line:?}"));
        Upstream { child, addr }
    }

}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serve every request the held answer's head, then nothing until the
/// client goes away.
fn hold_upstream() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("its address");
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{addr}").and_then(|()| stdout.flush()).expect("the address printed");
        loop {
            let Ok((socket, _)) = listener.accept().await else { continue };
            let _ = socket.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    let head = futures_util::stream::once(async { Ok::<_, Infallible>(Frame::data(Bytes::from_static(FIRST_EVENTS.as_bytes()))) });
                    let body = StreamBody::new(head.chain(futures_util::stream::pending()));
                    let mut response = hyper::Response::new(body);
                    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/event-stream"));
                    Ok::<_, Infallible>(response)
                });
                let io = hyper_util::rt::TokioIo::new(socket);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
}
