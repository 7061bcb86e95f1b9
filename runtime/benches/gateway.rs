//! The gateway benchmark: the real `cordon serve` process (the release build
//! cargo makes for benchmarks) in front of a local upstream, beside the same
//! clients hitting that upstream directly. It measures what the public
//! multi-gateway rigs measure (see `design/gateway.md`):
//!
//! - **added time to the first byte** at concurrency 1: gateway minus direct,
//!   p50 and p99, over thousands of turns in interleaved rounds (so drift in
//!   the machine's load falls on both sides alike), and the largest gap
//!   between two reads of a stream; beside it, the same through a bare relay
//!   (hyper passing requests and answers through, on the gateway's core: the
//!   floor any gateway pays here for the extra hop), and what a round trip
//!   between two threads costs on one core and across the two (the gateway's
//!   path crosses between the cores four times per turn, the direct path
//!   never);
//! - **turns per second** at 1, 10 and 100 clients, with p50/p99 latency, for
//!   the recorded 303-event `openai-text` stream and for a short whole answer;
//! - **memory per live stream**: the gateway's RSS at rest, then with N
//!   streams held open mid-answer by the upstream.
//!
//! The gateway runs pinned to core 0 (`taskset -c 0`); this process, the load
//! generator and the upstream together, is pinned to core 1, on one thread
//! (the relay, while it is measured, on a thread of its own on core 0).
//! The load generator is hyper's HTTP/1.1 client on raw keep-alive
//! connections with TCP_NODELAY, one connection per simulated client; each
//! answer is checked (status 200, its exact byte count, `data: [DONE]` at the
//! end of a stream). The upstream is a lean hyper server in this file (the
//! recording pre-framed in memory, nothing recorded per request), so that it
//! costs the same on both sides and far less than the gateway.
//!
//! Upstream answers, chosen by the request's `model`:
//!
//! - `text`: the 303 events in one write (an instant mock, as the rigs use);
//! - `paced`: one write per event, as a real upstream streams;
//! - `short`: a short answer: a whole `chat.completion` JSON when asked with
//!   `stream: false` (the direct clients), the same answer as 4 events when
//!   asked to stream (the provider always streams from its upstream);
//! - `hold`: the first two events, then nothing until the benchmark releases
//!   every held answer (the memory measurement).
//!
//! Run with `cargo xtask bench-gateway` (it builds the `openai` component; cargo
//! builds `cordon` in release for the benchmark). `CORDON_BENCH_SECONDS` (the
//! measured window per sweep cell, 5), `CORDON_BENCH_ROUNDS` (interleaved
//! rounds at concurrency 1, 20) and `CORDON_BENCH_PER_ROUND` (turns per target
//! per round, 150) shorten or lengthen it. `CORDON_BENCH_ONLY=text|paced|short`
//! (with `CORDON_BENCH_CLIENTS`, 100) only loads the gateway with that turn for
//! the window: run `perf record -p PID` on the printed gateway meanwhile.
//! `CORDON_BIN` runs another `cordon` build (to compare two).
//! `CORDON_BENCH_PRODUCTION=1` runs the gateway with its production features
//! on (issue 15): a client key every request presents, rate limits on that key
//! and on each model and a budget on the key (all too high to refuse), prices
//! for the upstream models, `GET /metrics` scraped every second through the
//! run, and every request logged (`CORDON_LOG=info`, to a file; without the
//! switch the gateway gets this process's `CORDON_LOG`, `warn` if unset);
//! compare it with a run without, in one sitting. It
//! needs `../shared/fixtures` and `taskset`; without them it says so and stops.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cordon::replay::{Framing, frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The core `cordon serve` runs on.
const GATEWAY_CORE: &str = "0";
/// The core of this process: load generator and upstream.
const LOAD_CORE: &str = "1";
/// The concurrency sweep.
const CLIENTS: [usize; 3] = [1, 10, 100];
/// Streams held open for the memory measurement.
const HELD: [usize; 2] = [100, 200];
/// Warm-up before each sweep cell's measured window.
const WARMUP: Duration = Duration::from_secs(1);
/// The key every client presents (`Authorization: Bearer`); the gateway
/// requires it only with `CORDON_BENCH_PRODUCTION=1`, but it is sent either
/// way so that both runs send the same bytes.
const CLIENT_KEY: &str = "sk-cordon-bench-5d1c0a7e";
/// How often the metrics are scraped with `CORDON_BENCH_PRODUCTION=1`.
const SCRAPE_EVERY: Duration = Duration::from_secs(1);
/// Upstream models the generated config routes to, one per [`Kind`].
const UPSTREAM_MODELS: [&str; 4] = ["text", "paced", "short", "hold"];

/// The short answer, as the upstream streams it to the provider.
const SHORT_EVENTS: &str = concat!(
    r#"{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1763700001,"model":"short","choices":[{"index":0,"delta":{"role":"assistant","content":"2^10 / 4 is 256, "},"finish_reason":null}]}"#,
    "\n",
    r#"{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1763700001,"model":"short","choices":[{"index":0,"delta":{"content":"and the third item is 3."},"finish_reason":null}]}"#,
    "\n",
    r#"{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1763700001,"model":"short","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
    "\n",
    r#"{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1763700001,"model":"short","choices":[],"usage":{"prompt_tokens":140,"completion_tokens":12,"total_tokens":152}}"#,
    "\n",
);

/// The same short answer whole, as the upstream gives it to a direct client.
const SHORT_WHOLE: &str = r#"{"id":"chatcmpl-s","object":"chat.completion","created":1763700001,"model":"short","choices":[{"index":0,"message":{"role":"assistant","content":"2^10 / 4 is 256, and the third item is 3."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":140,"completion_tokens":12,"total_tokens":152}}"#;

fn main() {
    let Some(recording) = recording() else { return };
    if !pin_self() {
        return;
    }
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run(recording, settings));
}

/// The recorded stream, located as `benches/turn.rs` does.
fn recording() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/wire/openai-chat/openai-text.chunks.txt");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("skipping the gateway benchmark: {} is absent", path.display());
            None
        }
    }
}

/// Pin this process (still one thread: every thread made later inherits it)
/// to [`LOAD_CORE`].
fn pin_self() -> bool {
    let pid = std::process::id().to_string();
    match Command::new("taskset").args(["-p", "-c", LOAD_CORE, &pid]).stdout(Stdio::null()).status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!("skipping the gateway benchmark: `taskset -p -c {LOAD_CORE}` failed ({status}); it needs 2 cores");
            false
        }
        Err(err) => {
            eprintln!("skipping the gateway benchmark: cannot run taskset ({err}); install util-linux");
            false
        }
    }
}

/// How long to measure, and what.
struct Settings {
    window: Duration,
    rounds: usize,
    per_round: usize,
    /// Only load the gateway with this kind of turn (`CORDON_BENCH_ONLY`).
    only: Option<Kind>,
    /// With `only`: this many clients (`CORDON_BENCH_CLIENTS`).
    clients: usize,
    /// The gateway's production features on (`CORDON_BENCH_PRODUCTION=1`).
    production: bool,
}

impl Settings {
    fn from_env() -> Settings {
        let number = |name: &str, default: u64| {
            std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}={v}: not a number")))
        };
        Settings {
            window: Duration::from_secs(number("CORDON_BENCH_SECONDS", 5)),
            rounds: number("CORDON_BENCH_ROUNDS", 20) as usize,
            per_round: number("CORDON_BENCH_PER_ROUND", 150) as usize,
            only: std::env::var("CORDON_BENCH_ONLY").ok().map(|only| match only.as_str() {
                "text" => Kind::Text,
                "paced" => Kind::Paced,
                "short" => Kind::Short,
                other => panic!("CORDON_BENCH_ONLY={other}: use text, paced or short"),
            }),
            clients: number("CORDON_BENCH_CLIENTS", 100) as usize,
            production: match std::env::var("CORDON_BENCH_PRODUCTION").as_deref() {
                Err(_) | Ok("" | "0") => false,
                Ok("1") => true,
                Ok(other) => panic!("CORDON_BENCH_PRODUCTION={other}: use 1 (on) or 0 (off)"),
            },
        }
    }
}

/// A kind of turn: the model named (which picks the upstream's answer) and
/// whether the client asks for a stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The 303-event recording, written by the upstream at once.
    Text,
    /// The same, one write per event.
    Paced,
    /// A short answer, asked for whole (`stream: false`).
    Short,
    /// The first two events, then held until released.
    Hold,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Text => "303 events, upstream writes at once",
            Kind::Paced => "303 events, upstream writes one per event",
            Kind::Short => "short whole answer (`stream: false`)",
            Kind::Hold => "held stream",
        }
    }

    fn body(self) -> Bytes {
        let (model, stream) = match self {
            Kind::Text => ("text", true),
            Kind::Paced => ("paced", true),
            Kind::Short => ("short", false),
            Kind::Hold => ("hold", true),
        };
        Bytes::from(format!(r#"{{"model":"{model}","stream":{stream},"messages":[{{"role":"user","content":"Hi"}}]}}"#))
    }

    /// How every answer of this kind must end.
    fn ending(self) -> &'static [u8] {
        if self == Kind::Short { b"}" } else { b"data: [DONE]\n\n" }
    }
}

/// Where the clients send their turns.
#[derive(Clone)]
struct Target {
    name: &'static str,
    addr: SocketAddr,
}

/// One turn as the client saw it.
#[derive(Clone, Copy)]
struct Sample {
    first_byte: Duration,
    whole: Duration,
    bytes: usize,
    /// Body reads it took (at most the writes the server made).
    reads: usize,
    /// The longest wait between two reads of the body.
    max_gap: Duration,
}

fn fail(what: &str) -> ! {
    panic!("gateway benchmark: {what}")
}

async fn run(recording: String, settings: Settings) {
    let events = frame(&recording, Framing::OpenAiSse).expect("the recording frames as SSE");
    let (release, released) = watch::channel(false);
    let upstream = Upstream::start(&events, released).await;
    let gateway = Gateway::start(upstream.addr, settings.production);
    let scraper = settings.production.then(|| Scraper::start(gateway.addr));
    let direct = Target { name: "direct", addr: upstream.addr };
    let through = Target { name: "gateway", addr: gateway.addr };

    // Each kind's exact answer size, from one probe per side.
    let mut sizes = Vec::new();
    for kind in [Kind::Text, Kind::Paced, Kind::Short] {
        for target in [&direct, &through] {
            let mut sender = connect(target.addr).await;
            let probe = turn(&mut sender, target, kind, None).await;
            for _ in 0..50 {
                turn(&mut sender, target, kind, Some(probe.bytes)).await;
            }
            sizes.push((kind, target.name, probe.bytes));
        }
    }
    let size = |kind: Kind, target: &Target| {
        sizes.iter().find(|(k, t, _)| *k == kind && *t == target.name).map(|(_, _, bytes)| *bytes)
    };

    if let Some(kind) = settings.only {
        // One load on the gateway alone, e.g. to profile it meanwhile.
        eprintln!("loading the gateway alone for {:?} after 1 s", settings.window);
        let cell = load(&through, kind, settings.clients, settings.window, size(kind, &through)).await;
        let (p50, p99) = cell.whole;
        if let Some(scraper) = scraper {
            eprintln!("{}", scraper.finish());
        }
        gateway.print_log_size();
        println!(
            "{}{} clients, {}: {:.0} turns/s, {:.0} reads/turn, whole p50 {} p99 {}",
            if settings.production { "production features on: " } else { "" },
            settings.clients,
            kind.label(),
            cell.per_second,
            cell.reads,
            micros(p50),
            micros(p99)
        );
        return;
    }

    let at_rest = gateway.rss_kib();
    let mut held = Vec::new();
    for count in HELD {
        held.push((count, hold(&through, count, &release, &gateway).await));
    }
    let after_held = gateway.rss_kib();

    let wakes = (round_trip_to(LOAD_CORE), round_trip_to(GATEWAY_CORE));
    eprintln!("concurrency 1, {} interleaved rounds of {} turns per side", settings.rounds, settings.per_round);
    let mut latency = Vec::new();
    for kind in [Kind::Text, Kind::Paced, Kind::Short] {
        let (d, g) = interleaved(&direct, &through, kind, &settings, (size(kind, &direct), size(kind, &through))).await;
        latency.push((kind, d, g));
    }
    // The floor: the same clients through a bare relay on the gateway's core.
    let relay = Relay::start(upstream.addr);
    let relayed = Target { name: "relay", addr: relay.addr };
    let mut floor = Vec::new();
    for kind in [Kind::Text, Kind::Paced, Kind::Short] {
        let (d, r) = interleaved(&direct, &relayed, kind, &settings, (size(kind, &direct), size(kind, &direct))).await;
        floor.push((kind, d, r));
    }
    drop(relay);

    let mut sweep = Vec::new();
    for kind in [Kind::Text, Kind::Short, Kind::Paced] {
        for clients in CLIENTS {
            for target in [&direct, &through] {
                let cell = load(target, kind, clients, settings.window, size(kind, target)).await;
                eprintln!(
                    "{:7} {:>3} clients, {}: {:.0} turns/s, {:.0} reads/turn, whole p50 {} p99 {}",
                    target.name,
                    clients,
                    kind.label(),
                    cell.per_second,
                    cell.reads,
                    micros(cell.whole.0),
                    micros(cell.whole.1)
                );
                sweep.push((kind, clients, target.name, cell));
            }
        }
    }
    let after_load = gateway.rss_kib();
    if let Some(scraper) = scraper {
        eprintln!("{}", scraper.finish());
    }
    gateway.print_log_size();
    if settings.production {
        println!("\nThe gateway's production features on (CORDON_BENCH_PRODUCTION=1): key, limits, budget, metrics scraped, requests logged.");
    }

    print_report(&latency, &floor, wakes, &sweep, Memory { at_rest, held, after_held, after_load }, &sizes);
    drop(gateway);
    drop(upstream);
}

/// p50 and p99 of `values`.
fn percentiles(values: &mut [Duration]) -> (Duration, Duration) {
    values.sort_unstable();
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

fn micros(value: Duration) -> String {
    let us = value.as_secs_f64() * 1e6;
    if us >= 10_000.0 { format!("{:.1} ms", us / 1000.0) } else { format!("{us:.0} µs") }
}

/// Signed difference in µs.
fn added(gateway: Duration, direct: Duration) -> String {
    format!("{:+.0} µs", (gateway.as_secs_f64() - direct.as_secs_f64()) * 1e6)
}

// ---------------------------------------------------------------- upstream

type UpstreamBody = UnsyncBoxBody<Bytes, Infallible>;

/// What the upstream answers with, framed once.
struct Answers {
    /// The recording, one event (and `[DONE]`) per `Bytes`.
    events: Vec<Bytes>,
    /// The recording in one buffer.
    wire: Bytes,
    /// The first two events, then the rest: a held answer.
    held_head: Bytes,
    held_rest: Bytes,
    short_events: Bytes,
    short_whole: Bytes,
    /// Turns true when held answers may finish.
    released: watch::Receiver<bool>,
}

/// The local upstream, serving on this process's thread.
struct Upstream {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    async fn start(events: &[Bytes], released: watch::Receiver<bool>) -> Upstream {
        let wire = Bytes::from(events.concat());
        let head = events[0].len() + events[1].len();
        let short = frame(SHORT_EVENTS, Framing::OpenAiSse).expect("the short answer frames").concat();
        let answers = Arc::new(Answers {
            events: events.to_vec(),
            held_head: wire.slice(..head),
            held_rest: wire.slice(head..),
            wire,
            short_events: Bytes::from(short),
            short_whole: Bytes::from_static(SHORT_WHOLE.as_bytes()),
            released,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the upstream binds a port");
        let addr = listener.local_addr().expect("the upstream's address");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                stream.set_nodelay(true).expect("TCP_NODELAY on the upstream's socket");
                let answers = Arc::clone(&answers);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| answer(Arc::clone(&answers), request));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Upstream { addr, task }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The id of the calling thread (what `taskset -p` takes).
fn thread_id() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name().map(|name| name.to_string_lossy().into_owned()).expect("a thread id")
}

/// The mean time for this thread to wake a thread on `core` and be woken
/// back (two blocking channel hand-offs): what a hop between cores costs on
/// this machine, where an idle core must be woken. The gateway's path crosses
/// between the two cores four times, the direct path not at all.
fn round_trip_to(core: &str) -> Duration {
    const TRIPS: u32 = 2000;
    let (to_peer, from_here) = std::sync::mpsc::channel::<()>();
    let (to_here, from_peer) = std::sync::mpsc::channel::<()>();
    let (tid_sender, tid) = std::sync::mpsc::channel();
    let peer = std::thread::spawn(move || {
        tid_sender.send(thread_id()).expect("the id of the peer thread");
        while from_here.recv().is_ok() {
            if to_here.send(()).is_err() {
                break;
            }
        }
    });
    pin_thread(&tid.recv().expect("the peer's id"), core);
    let started = Instant::now();
    for _ in 0..TRIPS {
        to_peer.send(()).expect("the peer listens");
        from_peer.recv().expect("the peer answers");
    }
    let elapsed = started.elapsed();
    drop(to_peer);
    let _ = peer.join();
    elapsed / TRIPS
}

async fn answer(answers: Arc<Answers>, request: hyper::Request<Incoming>) -> Result<hyper::Response<UpstreamBody>, Infallible> {
    let body = request.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
    let has = |needle: &str| memchr::memmem::find(&body, needle.as_bytes()).is_some();
    let streamed = has(r#""stream":true"#);
    let (content_type, body) = if has(r#""model":"short""#) {
        if streamed {
            ("text/event-stream", once(answers.short_events.clone()))
        } else {
            ("application/json", Full::new(answers.short_whole.clone()).boxed_unsync())
        }
    } else if has(r#""model":"paced""#) {
        ("text/event-stream", paced(answers))
    } else if has(r#""model":"hold""#) {
        ("text/event-stream", held(answers))
    } else {
        ("text/event-stream", once(answers.wire.clone()))
    };
    let mut response = hyper::Response::new(body);
    response.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    Ok(response)
}

/// One chunked write.
fn once(bytes: Bytes) -> UpstreamBody {
    StreamBody::new(futures_util::stream::iter([Ok(Frame::data(bytes))])).boxed_unsync()
}

/// One write per event: the stream yields between events, so hyper flushes each.
fn paced(answers: Arc<Answers>) -> UpstreamBody {
    let events = futures_util::stream::unfold((answers, 0), |(answers, next)| async move {
        if next > 0 {
            tokio::task::yield_now().await;
        }
        let event = answers.events.get(next)?.clone();
        Some((Ok(Frame::data(event)), (answers, next + 1)))
    });
    StreamBody::new(events).boxed_unsync()
}

/// The first two events, then the rest once released.
fn held(answers: Arc<Answers>) -> UpstreamBody {
    let parts = futures_util::stream::unfold((answers, 0), |(answers, step)| async move {
        let part = match step {
            0 => answers.held_head.clone(),
            1 => {
                let mut released = answers.released.clone();
                let _ = released.wait_for(|go| *go).await;
                answers.held_rest.clone()
            }
            _ => return None,
        };
        Some((Ok(Frame::data(part)), (answers, step + 1)))
    });
    StreamBody::new(parts).boxed_unsync()
}

// ------------------------------------------------------------------- relay

/// A bare HTTP/1.1 relay on the gateway's core: each client connection gets
/// its own keep-alive connection to the upstream, and each request and answer
/// is passed through as it comes, parsed by hyper and nothing else. What it
/// adds to the first byte is what any gateway on this machine pays for the
/// extra hop (the wakes between the cores, two more sockets), before doing
/// any work of its own.
struct Relay {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(upstream: SocketAddr) -> Relay {
        let (ready, started) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            pin_thread(&thread_id(), GATEWAY_CORE);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("the relay's runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("the relay binds a port");
                ready.send(listener.local_addr().expect("the relay's address")).expect("the benchmark waits for its relay");
                let serving = async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        stream.set_nodelay(true).expect("TCP_NODELAY on the relay's socket");
                        tokio::spawn(relay_connection(stream, upstream));
                    }
                };
                tokio::select! {
                    () = serving => {}
                    _ = stopped => {}
                }
            });
        });
        let addr = started.recv().expect("the relay starts");
        Relay { addr, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serve one client connection, passing each request to the upstream on a
/// connection of its own.
async fn relay_connection(client: TcpStream, upstream: SocketAddr) {
    let Ok(stream) = TcpStream::connect(upstream).await else { return };
    stream.set_nodelay(true).expect("TCP_NODELAY on the relay's upstream socket");
    let Ok((sender, connection)) = hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(stream)).await else { return };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let sender = Arc::new(tokio::sync::Mutex::new(sender));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let sender = Arc::clone(&sender);
        async move { sender.lock().await.send_request(request).await }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(client), service).await;
}

/// Move the thread `tid` to `core`.
fn pin_thread(tid: &str, core: &str) {
    let pinned = Command::new("taskset").args(["-p", "-c", core, tid]).stdout(Stdio::null()).status();
    if !matches!(pinned, Ok(status) if status.success()) {
        fail(&format!("`taskset -p -c {core} {tid}` failed: {pinned:?}"));
    }
}

// ----------------------------------------------------------------- gateway

/// `cordon serve`, pinned to [`GATEWAY_CORE`], with a generated config.
struct Gateway {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Gateway {
    /// Start it in front of `upstream`; with `production`, with a client key,
    /// rate limits, a budget, prices and request logging (see
    /// [`production_config`]).
    fn start(upstream: SocketAddr, production: bool) -> Gateway {
        // The release build cargo made for this benchmark, or another to compare.
        let cordon = std::env::var("CORDON_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cordon").to_owned());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let components = root.join("dist/components");
        if !components.join("openai.wasm").is_file() {
            fail(&format!("{} has no openai.wasm: run `cargo xtask build openai`", components.display()));
        }
        let addr = free_port();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = dir.path().join("serve.toml");
        let mut text = format!(
            "listen = \"{addr}\"\ncomponents = {components:?}\ncache = {cache:?}\n\n\
             [providers.upstream]\ncomponent = \"openai\"\nbase-url = \"http://{upstream}/v1\"\n\
             secrets = {{ api-key = \"env:CORDON_BENCH_KEY\" }}\n\
             # 64 by default: 100 clients and 200 held streams need more.\n\
             limits = {{ concurrent-turns = 256 }}\n",
            components = components.display().to_string(),
            cache = root.join("dist/cache").display().to_string(),
        );
        for model in UPSTREAM_MODELS {
            text.push_str(&format!("\n[models.{model}]\nroutes = [\"upstream:{model}\"]\n"));
            if production {
                text.push_str(MODEL_LIMITS);
            }
        }
        if production {
            text.push_str(&production_config());
        }
        std::fs::write(&config, text).expect("write the gateway's config");
        let log_path = Gateway::log_path(&dir);
        std::fs::create_dir_all(log_path.parent().unwrap_or(dir.path())).expect("a folder for the log");
        let log = std::fs::File::create(&log_path).expect("a log file");
        let mut command = Command::new("taskset");
        command.args(["-c", GATEWAY_CORE, &cordon, "serve", "--config"]).arg(&config).env("CORDON_BENCH_KEY", "bench");
        if production {
            // Every request logged, as an operator tracing requests runs it.
            command.env("CORDON_LOG", "info");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| fail(&format!("cannot start {cordon} under taskset: {err}")));
        let mut gateway = Gateway { child, addr, dir };
        gateway.wait_ready();
        eprintln!("cordon serve (pid {}) on {addr}, core {GATEWAY_CORE}; upstream on {upstream}, core {LOAD_CORE}", gateway.child.id());
        gateway
    }

    /// Where its stderr goes: in a folder of its own, not beside the config,
    /// whose folder the gateway watches for changes (a log written there
    /// wakes the watcher on every line).
    fn log_path(dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("log").join("stderr")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(Gateway::log_path(&self.dir)).unwrap_or_default()
    }

    /// How much the gateway has logged so far (with `CORDON_LOG=info`, a line
    /// a request).
    fn print_log_size(&self) {
        let path = Gateway::log_path(&self.dir);
        match std::fs::metadata(&path) {
            Ok(metadata) => eprintln!("the gateway logged {:.1} MiB to {}", metadata.len() as f64 / (1 << 20) as f64, path.display()),
            Err(err) => eprintln!("cannot read the size of the gateway's log {}: {err}", path.display()),
        }
    }

    /// Until it accepts connections (loading the component from the cache, or
    /// compiling it on the first run).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(self.addr).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                fail(&format!("cordon serve exited ({status}):\n{}", self.log()));
            }
            if Instant::now() > deadline {
                fail(&format!("cordon serve did not listen within 120 s:\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process's resident memory.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("the gateway's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }
}

/// Rate limits on each model with `CORDON_BENCH_PRODUCTION=1`: checked on
/// every turn, never reached.
const MODEL_LIMITS: &str = "limits = { requests-per-minute = 100000000 }\n";

/// The tables `CORDON_BENCH_PRODUCTION=1` adds: the key [`CLIENT_KEY`] (by its
/// SHA-256) with rate limits and a budget too high to refuse, and a price for
/// each upstream model (a budget needs them).
fn production_config() -> String {
    let mut text = format!(
        "\n[keys.bench]\nsha256 = \"{}\"\n\
         limits = {{ requests-per-minute = 100000000, tokens-per-minute = 100000000000, concurrent-streams = 100000 }}\n\
         budget = {{ usd = 1000000.0, period = \"day\" }}\n",
        cordon::serve::keys::hex(&cordon::serve::keys::digest(CLIENT_KEY)),
    );
    for model in UPSTREAM_MODELS {
        text.push_str(&format!("\n[prices.\"{model}\"]\ninput = 1.0\noutput = 2.0\n"));
    }
    text
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

// ----------------------------------------------------------------- metrics

/// `GET /metrics` on the gateway every [`SCRAPE_EVERY`], as a Prometheus
/// server would, on a keep-alive connection of its own; each answer must be
/// 200 with the gateway's metrics in it.
struct Scraper {
    task: tokio::task::JoinHandle<()>,
    scrapes: Arc<AtomicUsize>,
    started: Instant,
}

impl Scraper {
    fn start(gateway: SocketAddr) -> Scraper {
        let scrapes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&scrapes);
        let task = tokio::spawn(async move {
            let mut sender = connect(gateway).await;
            let mut every = tokio::time::interval(SCRAPE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let request = hyper::Request::get("/metrics")
                    .header(HOST, gateway.to_string())
                    .body(Full::new(Bytes::new()))
                    .expect("a metrics request");
                sender.ready().await.unwrap_or_else(|err| fail(&format!("metrics: connection closed: {err}")));
                let response = sender.send_request(request).await.unwrap_or_else(|err| fail(&format!("metrics: {err}")));
                let status = response.status();
                let body = response.into_body().collect().await.unwrap_or_else(|err| fail(&format!("metrics: body cut: {err}")));
                let body = body.to_bytes();
                if status != 200 || memchr::memmem::find(&body, b"cordon_build_info").is_none() {
                    fail(&format!("GET /metrics answered {status}: {}", String::from_utf8_lossy(&body)));
                }
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        Scraper { task, scrapes, started: Instant::now() }
    }

    /// Stop scraping; a line saying how many scrapes there were. A failed
    /// scrape panics its task (the message is printed then) and fails the
    /// benchmark here.
    fn finish(self) -> String {
        if self.task.is_finished() {
            fail("the metrics scraper stopped early (its panic is above)");
        }
        self.task.abort();
        format!("GET /metrics: {} scrapes in {:.0} s, each 200", self.scrapes.load(Ordering::Relaxed), self.started.elapsed().as_secs_f64())
    }
}

// ---------------------------------------------------------- load generator

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap_or_else(|err| fail(&format!("connect to {addr}: {err}")));
    stream.set_nodelay(true).expect("TCP_NODELAY on the client's socket");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP/1.1 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
}

fn request(target: &Target, kind: Kind) -> hyper::Request<Full<Bytes>> {
    hyper::Request::post("/v1/chat/completions")
        .header(HOST, target.addr.to_string())
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, format!("Bearer {CLIENT_KEY}"))
        .body(Full::new(kind.body()))
        .expect("a request")
}

/// One turn on `sender`'s connection, checked: status 200, `expected` bytes
/// (when known), the kind's ending.
async fn turn(sender: &mut SendRequest<Full<Bytes>>, target: &Target, kind: Kind, expected: Option<usize>) -> Sample {
    let request = request(target, kind);
    sender.ready().await.unwrap_or_else(|err| fail(&format!("{}: connection closed: {err}", target.name)));
    let start = Instant::now();
    let response = sender.send_request(request).await.unwrap_or_else(|err| fail(&format!("{}: {err}", target.name)));
    let status = response.status();
    let mut body = response.into_body();
    let mut first_byte = None;
    let mut bytes = 0;
    let mut reads = 0;
    let mut max_gap = Duration::ZERO;
    let mut last = None;
    let mut tail = Vec::with_capacity(64);
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap_or_else(|err| fail(&format!("{}: body cut: {err}", target.name)));
        let Ok(data) = frame.into_data() else { continue };
        if data.is_empty() {
            continue;
        }
        let now = Instant::now();
        first_byte.get_or_insert_with(|| now - start);
        if let Some(last) = last {
            max_gap = max_gap.max(now - last);
        }
        last = Some(now);
        bytes += data.len();
        reads += 1;
        keep_tail(&mut tail, &data);
    }
    let whole = start.elapsed();
    if status != 200 || !tail.ends_with(kind.ending()) || expected.is_some_and(|e| e != bytes) {
        fail(&format!(
            "{}: a bad answer ({}): status {status}, {bytes} bytes (expected {expected:?}), ending {:?}",
            target.name,
            kind.label(),
            String::from_utf8_lossy(&tail)
        ));
    }
    Sample { first_byte: first_byte.unwrap_or(whole), whole, bytes, reads, max_gap }
}

/// Keep the last 16 bytes of a body in `tail`.
fn keep_tail(tail: &mut Vec<u8>, data: &[u8]) {
    tail.extend_from_slice(&data[data.len().saturating_sub(16)..]);
    let cut = tail.len().saturating_sub(16);
    tail.drain(..cut);
}

/// Concurrency 1, direct and through the gateway in alternating rounds, one
/// keep-alive connection each. Returns each side's samples.
async fn interleaved(
    direct: &Target,
    gateway: &Target,
    kind: Kind,
    settings: &Settings,
    sizes: (Option<usize>, Option<usize>),
) -> (Vec<Sample>, Vec<Sample>) {
    let mut to_direct = connect(direct.addr).await;
    let mut to_gateway = connect(gateway.addr).await;
    let (mut d, mut g) = (Vec::new(), Vec::new());
    for round in 0..settings.rounds {
        // Alternate which side goes first, too.
        for side in [round % 2, 1 - round % 2] {
            for _ in 0..settings.per_round {
                if side == 0 {
                    d.push(turn(&mut to_direct, direct, kind, sizes.0).await);
                } else {
                    g.push(turn(&mut to_gateway, gateway, kind, sizes.1).await);
                }
            }
        }
    }
    (d, g)
}

/// One sweep cell's result.
struct Cell {
    per_second: f64,
    /// Mean body reads per turn.
    reads: f64,
    first_byte: (Duration, Duration),
    whole: (Duration, Duration),
}

/// `clients` connections turning back to back for [`WARMUP`] and then
/// `window`; the turns that end inside the window count.
async fn load(target: &Target, kind: Kind, clients: usize, window: Duration, expected: Option<usize>) -> Cell {
    let from = Instant::now() + WARMUP;
    let until = from + window;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(target.addr).await;
            let mut samples = Vec::new();
            while Instant::now() < until {
                let sample = turn(&mut sender, &target, kind, expected).await;
                let end = Instant::now();
                if end >= from && end <= until {
                    samples.push(sample);
                }
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.expect("a client task"));
    }
    let mut first: Vec<Duration> = samples.iter().map(|s| s.first_byte).collect();
    let mut whole: Vec<Duration> = samples.iter().map(|s| s.whole).collect();
    Cell {
        per_second: samples.len() as f64 / window.as_secs_f64(),
        reads: samples.iter().map(|s| s.reads).sum::<usize>() as f64 / samples.len().max(1) as f64,
        first_byte: percentiles(&mut first),
        whole: percentiles(&mut whole),
    }
}

/// Open `count` streams through the gateway and hold them mid-answer (each
/// has its first bytes); read the gateway's RSS; then release them and check
/// that each finishes whole. Returns the RSS while held.
async fn hold(gateway: &Target, count: usize, release: &watch::Sender<bool>, process: &Gateway) -> u64 {
    release.send_replace(false);
    let (started, mut all_started) = tokio::sync::mpsc::channel::<()>(count);
    let mut tasks = Vec::new();
    for _ in 0..count {
        let target = gateway.clone();
        let started = started.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(target.addr).await;
            let request = request(&target, Kind::Hold);
            let response = sender.send_request(request).await.unwrap_or_else(|err| fail(&format!("held stream: {err}")));
            if response.status() != 200 {
                fail(&format!("a held stream was refused: status {}", response.status()));
            }
            let mut body = response.into_body();
            let mut bytes = 0;
            let mut tail = Vec::new();
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame.expect("a held stream's body").into_data() else { continue };
                if bytes == 0 && !data.is_empty() {
                    let _ = started.send(()).await;
                }
                bytes += data.len();
                keep_tail(&mut tail, &data);
            }
            if !tail.ends_with(Kind::Hold.ending()) {
                fail(&format!("a held stream ended with {:?}, not data: [DONE]", String::from_utf8_lossy(&tail)));
            }
        }));
    }
    drop(started);
    for _ in 0..count {
        all_started.recv().await.expect("every held stream starts");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss = process.rss_kib();
    release.send_replace(true);
    for task in tasks {
        task.await.expect("a held stream's task");
    }
    rss
}

// ------------------------------------------------------------------ report

struct Memory {
    at_rest: u64,
    held: Vec<(usize, u64)>,
    after_held: u64,
    after_load: u64,
}

fn print_report(
    latency: &[(Kind, Vec<Sample>, Vec<Sample>)],
    floor: &[(Kind, Vec<Sample>, Vec<Sample>)],
    (same_core, other_core): (Duration, Duration),
    sweep: &[(Kind, usize, &str, Cell)],
    memory: Memory,
    sizes: &[(Kind, &str, usize)],
) {
    let mut out = String::new();
    out.push_str("\nConcurrency 1, time to the first body byte (µs), interleaved rounds:\n\n");
    out.push_str("| turn | turns per side | direct p50 | direct p99 | gateway p50 | gateway p99 | added p50 | added p99 | whole turn added p50 | largest gap between reads p99, direct / gateway |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (kind, direct, gateway) in latency {
        let mut df: Vec<Duration> = direct.iter().map(|s| s.first_byte).collect();
        let mut gf: Vec<Duration> = gateway.iter().map(|s| s.first_byte).collect();
        let mut dw: Vec<Duration> = direct.iter().map(|s| s.whole).collect();
        let mut gw: Vec<Duration> = gateway.iter().map(|s| s.whole).collect();
        let (d50, d99) = percentiles(&mut df);
        let (g50, g99) = percentiles(&mut gf);
        let (dw50, _) = percentiles(&mut dw);
        let (gw50, _) = percentiles(&mut gw);
        let (_, dg99) = percentiles(&mut direct.iter().map(|s| s.max_gap).collect::<Vec<_>>());
        let (_, gg99) = percentiles(&mut gateway.iter().map(|s| s.max_gap).collect::<Vec<_>>());
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |\n",
            kind.label(),
            direct.len(),
            micros(d50),
            micros(d99),
            micros(g50),
            micros(g99),
            added(g50, d50),
            added(g99, d99),
            added(gw50, dw50),
            micros(dg99),
            micros(gg99)
        ));
    }
    out.push_str("\nThe floor: a bare relay (hyper, nothing else) on the gateway's core, same clients, same rounds:\n\n");
    out.push_str("| turn | relay added p50 | relay added p99 |\n| --- | --- | --- |\n");
    for (kind, direct, relayed) in floor {
        let mut df: Vec<Duration> = direct.iter().map(|s| s.first_byte).collect();
        let mut rf: Vec<Duration> = relayed.iter().map(|s| s.first_byte).collect();
        let (d50, d99) = percentiles(&mut df);
        let (r50, r99) = percentiles(&mut rf);
        out.push_str(&format!("| {} | {} | {} |\n", kind.label(), added(r50, d50), added(r99, d99)));
    }
    out.push_str(&format!(
        "\nA thread waking another and being woken back: {} on one core, {} across the two cores.\n",
        micros(same_core),
        micros(other_core)
    ));
    out.push_str("\nThroughput (turns/s; whole-turn p50 / p99; first byte p99):\n\n");
    out.push_str("| turn | clients | direct turns/s | direct p50 / p99 | gateway turns/s | gateway p50 / p99 | gateway first byte p99 | client reads per turn, direct / gateway |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (kind, clients, target, cell) in sweep {
        if *target != "direct" {
            continue;
        }
        let Some((_, _, _, through)) = sweep.iter().find(|(k, c, t, _)| k == kind && c == clients && *t == "gateway") else { continue };
        out.push_str(&format!(
            "| {} | {clients} | {:.0} | {} / {} | {:.0} | {} / {} | {} | {:.0} / {:.0} |\n",
            kind.label(),
            cell.per_second,
            micros(cell.whole.0),
            micros(cell.whole.1),
            through.per_second,
            micros(through.whole.0),
            micros(through.whole.1),
            micros(through.first_byte.1),
            cell.reads,
            through.reads
        ));
    }
    out.push_str("\nGateway memory (RSS):\n\n| state | RSS | per live stream |\n| --- | --- | --- |\n");
    out.push_str(&format!("| at rest (after a few hundred turns) | {:.1} MiB | |\n", memory.at_rest as f64 / 1024.0));
    for (count, rss) in &memory.held {
        let per = (*rss as f64 - memory.at_rest as f64) / *count as f64;
        out.push_str(&format!("| {count} streams held open mid-answer | {:.1} MiB | {per:.0} KiB |\n", *rss as f64 / 1024.0));
    }
    out.push_str(&format!("| at rest after the held streams | {:.1} MiB | |\n", memory.after_held as f64 / 1024.0));
    out.push_str(&format!("| at rest after the whole load | {:.1} MiB | |\n", memory.after_load as f64 / 1024.0));
    out.push_str("\nAnswer sizes (bytes): ");
    let sizes: Vec<String> = sizes.iter().map(|(kind, target, bytes)| format!("{} {target} {bytes}", kind.label())).collect();
    out.push_str(&sizes.join("; "));
    out.push('\n');
    println!("{out}");
}
