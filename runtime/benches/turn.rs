//! Hot-path benchmarks on the recorded `openai-text` stream (303 chunks, then
//! `[DONE]`: 304 SSE events):
//!
//! - `native-parse`: the SDK's SSE decoder and the OpenAI provider's chunk parser
//!   compiled natively, fed the whole framed stream: the floor.
//! - `wasm-turn`: a whole turn through the OpenAI component in the host (fresh
//!   pooled instance, to-native, HTTP over loopback, parse, finalize), with the
//!   upstream writing the body at once (`burst`) or one event per write (`trickle`).
//! - `http-only`: the same HTTP exchange with reqwest and no component, so that
//!   `wasm-turn - http-only` is what the sandbox (host plus guest) costs.
//! - `first-event`: from `stream()` to the first text event, beside `http-first-byte`.
//! - `turn-start`: from `stream()` to `stream-start` (instantiate + `to-native`).
//! - first, printed: the sandbox against the same parser natively, in
//!   instructions (callgrind, if valgrind is installed) and in time, then the
//!   boundary's (host side) cost per event against the guest's: see
//!   `support/instructions.rs`.
//! - before the groups, printed: the sandbox's time before the first event,
//!   as p50 and p90 of 2,000 pairs, each a raw request to the first body byte
//!   and a turn to its first event, back to back on the same upstream (the
//!   machine's drift between separate criterion runs is larger than the
//!   difference), each pair after the last turn's aftermath has run; on two
//!   worker threads, then on one (where the thread the tasks land on cannot
//!   differ between the raw request and the turn).
//!
//! - `swap/warm-cache`, `swap/cold-cache`: from the rename of a new component
//!   file into a watched folder to the first turn served by the new version.
//!
//! - `languages/<component>/{instantiate,turn-start,first-event,whole-turn}`: a
//!   fresh pooled instance alone, then the same small
//!   hand-written answer through the same provider written in Rust and in
//!   Python (`openai`, `openai-py`) or JavaScript (`anthropic`, `anthropic-js`):
//!   what a large interpreter-based component costs per turn once it is compiled
//!   and pooled. Components that are not built are skipped.
//! - `tools/<tool>-call`: one tool call (schema check, fresh pooled instance, the
//!   work) for a Rust (`calculator`), a C (`hash-c`) and a Go (`regex-go`) tool;
//!   `tools/schema-check` alone.
//!
//! Run with `cargo xtask bench` (it builds the components first). The turn
//! benchmarks need `../shared/fixtures`; without it they say so and are skipped.

use std::path::Path;
use std::time::{Duration, Instant};

use cordon::replay::{Framing, Reply, ReplayServer, frame};
use std::sync::Arc;

use cordon::{Event, HostGrant, ProviderOptions, Registry, Request, Runtime, RuntimeConfig};
use cordon_sdk::sse::SseDecoder;
use cordon_sdk::{Emitter, Frame, StreamHandler};
use criterion::{Criterion, Throughput, criterion_group};

#[path = "support/instructions.rs"]
mod instructions;

/// The allocator the `cordon` binary runs with (`src/main.rs`): the host's
/// side is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fixture() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/wire/openai-chat/openai-text.chunks.txt");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("skipping the benchmarks: {} is absent", path.display());
            None
        }
    }
}

/// Parse the framed stream natively; returns the number of events.
fn parse_natively(wire: &[u8]) -> usize {
    let mut decoder = SseDecoder::new();
    let mut stream = cordon_openai::stream::ChatStream::default();
    let mut out = Emitter::default();
    let mut events = 0;
    let _ = decoder.feed(wire, |event| {
        let result = stream.on_frame(Frame::Sse(event), &mut out);
        events += out.take_batch().len();
        result
    });
    let _ = stream.on_end(&mut out);
    events + out.take_batch().len()
}

/// `iters` whole turns, one after the other.
fn whole_turns(rt: &tokio::runtime::Runtime, provider: &cordon::Provider, iters: u64) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(provider.complete(Request::user("m", "hi")).await.expect("turn"));
        }
        start.elapsed()
    })
}

/// Pairs measured for the sandbox's time before the first event.
const FIRST_EVENT_PAIRS: usize = 2_000;
/// How long each pair waits for the work that follows a turn.
const SETTLE: Duration = Duration::from_micros(300);

/// Print what the sandbox adds before the first event: `FIRST_EVENT_PAIRS`
/// times, a raw POST to `url` until its first body byte, then a turn of
/// `provider` (whose upstream is `url`) until its first event, on `rt`
/// (`threads` says how it runs its tasks).
fn print_first_event_added(
    threads: &str,
    rt: &tokio::runtime::Runtime,
    provider: &cordon::Provider,
    client: &reqwest::Client,
    url: &str,
) {
    let (mut raw, mut turn) = rt.block_on(async {
        let (mut raw, mut turn) = (Vec::with_capacity(FIRST_EVENT_PAIRS), Vec::with_capacity(FIRST_EVENT_PAIRS));
        for _ in 0..FIRST_EVENT_PAIRS {
            let start = Instant::now();
            let mut response = client.post(url).body("{}").send().await.expect("send");
            std::hint::black_box(response.chunk().await.expect("chunk"));
            raw.push(start.elapsed());
            while response.chunk().await.expect("chunk").is_some() {}
            let start = Instant::now();
            let mut stream = provider.stream(Request::user("m", "hi"));
            while let Some(event) = stream.next().await {
                if matches!(event, Event::TextDelta { .. } | Event::ResponseMetadata { .. }) {
                    break;
                }
            }
            turn.push(start.elapsed());
            std::hint::black_box(stream.into_result().await.expect("turn"));
            // Let what follows a turn (its instance dropped, the next one made
            // ahead) finish first, so that it is not timed in the next pair:
            // yield to it for a while (sleeping would let the core go idle,
            // and waking it would be timed instead).
            let settled = Instant::now() + SETTLE;
            while Instant::now() < settled {
                tokio::task::yield_now().await;
            }
        }
        (raw, turn)
    });
    raw.sort();
    turn.sort();
    let at = |times: &[Duration], share: usize| times[times.len() * share / 100].as_secs_f64() * 1e6;
    eprintln!(
        "sandbox before the first event ({FIRST_EVENT_PAIRS} interleaved pairs, {threads}): first event p50 {:.0} µs, \
         raw first byte p50 {:.0} µs: the sandbox adds {:.0} µs at p50 ({:.0} µs at p90)",
        at(&turn, 50),
        at(&raw, 50),
        at(&turn, 50) - at(&raw, 50),
        at(&turn, 90) - at(&raw, 90),
    );
}

/// Time from `stream()` to the first event `stop` accepts, summed over `iters`
/// turns (each then read to its end, untimed).
fn time_to(rt: &tokio::runtime::Runtime, provider: &cordon::Provider, iters: u64, stop: fn(&Event) -> bool) -> Duration {
    rt.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let mut turn = provider.stream(Request::user("m", "hi"));
            while let Some(event) = turn.next().await {
                if stop(&event) {
                    break;
                }
            }
            total += start.elapsed();
            std::hint::black_box(turn.into_result().await.expect("turn"));
        }
        total
    })
}

fn benches(c: &mut Criterion) {
    let Some(text) = fixture() else { return };
    let chunks = frame(&text, Framing::OpenAiSse).expect("fixture frames");
    let wire: Vec<u8> = chunks.concat();
    let sse_events = chunks.len() as u64;

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/components");
    let runtime = Runtime::new(RuntimeConfig::new(&components)).expect("runtime");
    let start_on = |rt: &tokio::runtime::Runtime, chunks: Vec<bytes::Bytes>| {
        rt.block_on(async {
            let server = ReplayServer::start(vec![Reply::stream(chunks)]).await.expect("server");
            // A local replay: the upstream is all the provider is granted.
            let options = ProviderOptions { base_url: Some(server.url()), deny_unapproved: true, ..ProviderOptions::default() };
            let provider = runtime.load_provider("openai", options).await.expect("provider (run `cargo xtask build`)");
            (server, provider)
        })
    };
    let (server, provider) = start_on(&rt, vec![wire.clone().into()]);
    let (_trickle_server, trickle_provider) = start_on(&rt, chunks.clone());
    let client = cordon::tls::client_builder().build().expect("HTTP client");
    let url = format!("{}/chat/completions", server.url());
    print_first_event_added("two worker threads", &rt, &provider, &client, &url);
    // Again with every task on one thread: on two worker threads a run's
    // tasks (the two clients' connections, the upstream's) land on one thread
    // or the other and stay, and the raw request and the turn's own request
    // do not land alike. One thread leaves the sandbox's own time.
    {
        let one = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
        let (server, provider) = start_on(&one, vec![wire.clone().into()]);
        let client = cordon::tls::client_builder().build().expect("HTTP client");
        let url = format!("{}/chat/completions", server.url());
        print_first_event_added("one thread", &one, &provider, &client, &url);
    }

    let mut group = c.benchmark_group("openai-text");
    group.throughput(Throughput::Elements(sse_events));
    group.measurement_time(Duration::from_secs(8));

    group.bench_function("native-parse", |b| b.iter(|| parse_natively(std::hint::black_box(&wire))));

    group.bench_function("wasm-turn-trickle", |b| b.iter_custom(|iters| whole_turns(&rt, &trickle_provider, iters)));
    group.bench_function("wasm-turn-burst", |b| b.iter_custom(|iters| whole_turns(&rt, &provider, iters)));

    group.bench_function("http-only", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut response = client.post(&url).body("{}").send().await.expect("send");
                    while let Some(chunk) = response.chunk().await.expect("chunk") {
                        std::hint::black_box(chunk);
                    }
                }
                start.elapsed()
            })
        })
    });

    group.bench_function("first-event", |b| {
        b.iter_custom(|iters| {
            time_to(&rt, &provider, iters, |e| matches!(e, Event::TextDelta { .. } | Event::ResponseMetadata { .. }))
        })
    });
    group.bench_function("turn-start", |b| {
        b.iter_custom(|iters| time_to(&rt, &provider, iters, |e| matches!(e, Event::StreamStart { .. })))
    });

    group.bench_function("http-first-byte", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let mut response = client.post(&url).body("{}").send().await.expect("send");
                    std::hint::black_box(response.chunk().await.expect("chunk"));
                    total += start.elapsed();
                    while response.chunk().await.expect("chunk").is_some() {}
                }
                total
            })
        })
    });
    group.finish();
}

/// Rename a new version into a watched folder; time until a turn is served by it.
fn swap_benches(c: &mut Criterion) {
    let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/components");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    let mut group = c.benchmark_group("swap");
    group.sample_size(10);
    for (label, cached) in [("warm-cache", true), ("cold-cache", false)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        for ext in ["wasm", "toml"] {
            std::fs::copy(components.join(format!("hostile.{ext}")), dir.path().join(format!("hostile.{ext}"))).expect("copy");
        }
        let mut config = RuntimeConfig::new(&components);
        config.cache_dir = Some(cache.path().to_owned());
        let registry = Arc::new(Registry::new(Runtime::new(config).expect("runtime")));
        let (server, _watch) = rt.block_on(async {
            let server = ReplayServer::start(vec![Reply::stream(vec!["data: x\n\n".into()])]).await.expect("server");
            let options = ProviderOptions {
                options: Some(serde_json::json!({ "upstream": server.url() })),
                grants: vec![HostGrant { origin: server.url().parse().expect("origin"), with_secrets: true }],
                deny_unapproved: true,
                ..ProviderOptions::default()
            };
            let live = dir.path().join("hostile.wasm");
            registry.load("hostile", &live.to_string_lossy(), options).await.expect("loads (run `cargo xtask build`)");
            let watch = cordon::watch::watch(Arc::clone(&registry), dir.path(), cordon::watch::DEFAULT_QUIET).expect("watch");
            (server, watch)
        });
        let mut next_is_v2 = true;
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (source, expected) = if next_is_v2 { ("hostile-v2", "hostile@0.2.0") } else { ("hostile", "hostile@0.1.0") };
                        next_is_v2 = !next_is_v2;
                        if !cached {
                            for entry in std::fs::read_dir(cache.path()).expect("cache").flatten() {
                                let _ = std::fs::remove_file(entry.path());
                            }
                        }
                        let staged = dir.path().join(".staged");
                        std::fs::copy(components.join(format!("{source}.wasm")), &staged).expect("stage");
                        let manifest = dir.path().join(".staged-manifest");
                        std::fs::copy(components.join(format!("{source}.toml")), &manifest).expect("stage");
                        std::fs::rename(&manifest, dir.path().join("hostile.toml")).expect("rename");
                        let start = Instant::now();
                        std::fs::rename(&staged, dir.path().join("hostile.wasm")).expect("rename");
                        loop {
                            let provider = registry.get("hostile").expect("loaded");
                            if provider.served_by() == expected {
                                let mut request = Request::user("m", "hi");
                                request.provider_options = Some(serde_json::json!({ "hostile": { "mode": "normal" } }));
                                std::hint::black_box(provider.complete(request).await.expect("turn"));
                                break;
                            }
                            tokio::time::sleep(Duration::from_micros(200)).await;
                        }
                        total += start.elapsed();
                    }
                    total
                })
            })
        });
        drop(server);
    }
    group.finish();
}

/// Turn start, first event and a whole turn, per guest language.
fn language_benches(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let components = root.join("dist/components");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    let runtime = Runtime::new(RuntimeConfig::new(&components)).expect("runtime");
    let cases = [
        ("openai", "openai-answer.jsonl", Framing::OpenAiSse),
        ("openai-py", "openai-answer.jsonl", Framing::OpenAiSse),
        ("anthropic", "anthropic-answer.jsonl", Framing::AnthropicSse),
        ("anthropic-js", "anthropic-answer.jsonl", Framing::AnthropicSse),
    ];
    let mut group = c.benchmark_group("languages");
    for (name, fixture, framing) in cases {
        if !components.join(format!("{name}.wasm")).exists() {
            eprintln!("skipping languages/{name}: not built (run `cargo xtask build`)");
            continue;
        }
        let text = std::fs::read_to_string(root.join("tests/fixtures/tool-loop").join(fixture)).expect("fixture");
        let chunks = frame(&text, framing).expect("fixture frames");
        let (_server, provider) = rt.block_on(async {
            let server = ReplayServer::start(vec![Reply::stream(chunks)]).await.expect("server");
            let options = ProviderOptions { base_url: Some(server.url()), deny_unapproved: true, ..ProviderOptions::default() };
            let started = Instant::now();
            let provider = runtime.load_provider(name, options).await.expect("provider loads");
            eprintln!("languages/{name}: loaded in {:?} (compiled code from the cache when warm)", started.elapsed());
            (server, provider)
        });
        group.bench_function(format!("{name}/instantiate"), |b| {
            b.iter(|| rt.block_on(provider.instantiate_once()).expect("instantiates"))
        });
        group.bench_function(format!("{name}/turn-start"), |b| {
            b.iter_custom(|iters| time_to(&rt, &provider, iters, |e| matches!(e, Event::StreamStart { .. })))
        });
        group.bench_function(format!("{name}/first-event"), |b| {
            b.iter_custom(|iters| {
                time_to(&rt, &provider, iters, |e| matches!(e, Event::TextDelta { .. } | Event::ResponseMetadata { .. }))
            })
        });
        group.bench_function(format!("{name}/whole-turn"), |b| b.iter_custom(|iters| whole_turns(&rt, &provider, iters)));
    }
    group.finish();
}

/// One tool call through the host per guest language, and the schema check a call starts with.
fn tool_benches(c: &mut Criterion) {
    let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/components");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    let runtime = Runtime::new(RuntimeConfig::new(&components)).expect("runtime");
    let cases = [
        ("calculator", "evaluate", r#"{"expression": "(2^64 - 1) / 3 + 0.25"}"#),
        ("hash-c", "sha256", r#"{"text": "The quick brown fox jumps over the lazy dog"}"#),
        ("regex-go", "find", r#"{"pattern": "o(\\w)", "text": "The quick brown fox jumps over the lazy dog"}"#),
    ];
    let mut group = c.benchmark_group("tools");
    for (name, action, arguments) in cases {
        if !components.join(format!("{name}.wasm")).exists() {
            eprintln!("skipping tools/{name}-call: not built (run `cargo xtask build`)");
            continue;
        }
        let tool = rt.block_on(runtime.load_tool(name, cordon::ToolOptions::default())).expect("tool loads");
        group.bench_function(format!("{name}-call"), |b| {
            b.iter(|| rt.block_on(tool.call(action, std::hint::black_box(arguments))).expect("answers"))
        });
        if name == "calculator" {
            let action = &tool.actions()[0];
            group.bench_function("schema-check", |b| b.iter(|| action.check_arguments(std::hint::black_box(arguments))));
        }
    }
    group.finish();
}

criterion_group!(turn, benches, swap_benches, tool_benches, language_benches);

/// The instruction counts first (or, under callgrind, one counted workload
/// alone), then criterion's groups.
fn main() {
    // As the `cordon` binary starts (`src/main.rs`).
    let _ = cordon::pages::disable_transparent_huge_pages();
    let wire = fixture().map(|text| frame(&text, Framing::OpenAiSse).expect("fixture frames").concat());
    if let Ok(spec) = std::env::var(instructions::COUNT_ENV) {
        instructions::run_counted(&spec, wire.expect("the recorded stream"));
        return;
    }
    if let Some(wire) = wire {
        instructions::print_ratio(wire);
    }
    turn();
    Criterion::default().configure_from_args().final_summary();
}
