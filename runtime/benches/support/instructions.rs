//! The sandbox against the same parser compiled natively, in instructions
//! (callgrind counts them, and gives the same figure twice on a noisy
//! machine) and in time, and what the boundary between host and guest costs
//! per event.
//!
//! Three workloads on the recorded `openai-text` stream (303 chunks, then
//! `[DONE]`: 304 SSE events), each run by this benchmark binary itself under
//! `valgrind --tool=callgrind`, twice (a few and many iterations, so that
//! start-up cancels out of the difference):
//!
//! - `native`: the SDK's SSE decoder and the OpenAI provider's chunk parser,
//!   compiled natively, fed the framed stream;
//! - `http`: the turn's HTTP exchange alone (reqwest to the in-process replay
//!   upstream, the body read to its end), with no component;
//! - `turn`: a whole turn through the OpenAI component in the host (a fresh
//!   pooled instance, `to-native`, the exchange, the parse, the events).
//!
//! What the sandbox costs is `turn - http`: the host and the guest together,
//! against `native`. The time ratio is from interleaved rounds in one process.
//!
//! The boundary cost per event: `http-long` and `turn-long` are `http` and
//! `turn` on a longer body, the recorded stream with its content deltas
//! repeated (the role event, every content delta twice over, then the one
//! finish, usage and `[DONE]` ending: 604 SSE events against 304; the turn
//! is checked to finish with the text twice over). Each `turn` run's
//! instructions are split, from `callgrind_annotate`'s list of functions,
//! into the guest's (the JIT-compiled wasm, which callgrind lists as bare
//! addresses, `???:0x00000000070fe1a0 [???]`, as it cannot see the JIT's
//! symbols; Cranelift's trampolines into and out of the guest are among
//! them) and the host's (everything else). Then, per iteration:
//!
//! ```text
//! boundary per event = ((host(turn-long) - host(turn)) - (http-long - http)) / (604 - 304)
//! ```
//!
//! the host side's marginal cost per event once the HTTP exchange's own
//! marginal cost is taken out: lifting and lowering across the boundary, the
//! host calls that read the body, the events' delivery through the turn's
//! channel to the caller and their folding into the result. The guest's
//! marginal instructions per event, `(guest(turn-long) - guest(turn)) /
//! (604 - 304)`, are printed beside it. Both are turned into time at the
//! native parse's rate on this machine (its instructions per iteration over
//! its median time per iteration), so the microseconds are an estimate at the
//! rate of well-predicted native code, not a measured time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cordon::replay::{Reply, ReplayServer};
use cordon::{Provider, ProviderOptions, Request, Runtime, RuntimeConfig};

/// Set to `WORKLOAD:ITERATIONS`, the binary runs that workload and exits.
pub const COUNT_ENV: &str = "CORDON_BENCH_COUNT";
/// A counted workload's name ending in this runs on the doubled stream.
const LONG: &str = "-long";
/// Iterations of the shorter and the longer counted run.
const FEWER: u64 = 4;
const MORE: u64 = 24;
/// The workloads, in the order they are reported.
const WORKLOADS: [&str; 3] = ["native", "http", "turn"];
/// The workloads counted under callgrind: those, then two on the doubled stream.
const COUNTED: [&str; 5] = ["native", "http", "turn", "http-long", "turn-long"];
/// Interleaved rounds for the time ratio, and iterations of each per round.
const TIMED_ROUNDS: usize = 30;
const TIMED_PER_ROUND: u64 = 20;

/// The setup a workload runs on.
struct Bench {
    rt: tokio::runtime::Runtime,
    wire: Vec<u8>,
    _server: ReplayServer,
    provider: Provider,
    client: reqwest::Client,
    url: String,
}

impl Bench {
    /// The OpenAI component against a replay upstream answering `wire` at
    /// once. A pool of 4 instances: valgrind cannot reserve the default 256.
    fn new(wire: Vec<u8>) -> Bench {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
        let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/components");
        let mut config = RuntimeConfig::new(&components);
        config.pool.instances = 4;
        let runtime = Runtime::new(config).expect("runtime");
        let (server, provider) = rt.block_on(async {
            let server = ReplayServer::start(vec![Reply::stream(vec![wire.clone().into()])]).await.expect("server");
            let options = ProviderOptions { base_url: Some(server.url()), deny_unapproved: true, ..ProviderOptions::default() };
            let provider = runtime.load_provider("openai", options).await.expect("provider (run `cargo xtask build`)");
            (server, provider)
        });
        let client = cordon::tls::client_builder().build().expect("HTTP client");
        let url = format!("{}/chat/completions", server.url());
        Bench { rt, wire, _server: server, provider, client, url }
    }

    /// Run `workload` `iterations` times.
    fn run(&self, workload: &str, iterations: u64) {
        match workload {
            "native" => (0..iterations).for_each(|_| {
                std::hint::black_box(super::parse_natively(std::hint::black_box(&self.wire)));
            }),
            "http" => self.rt.block_on(async {
                for _ in 0..iterations {
                    let mut response = self.client.post(&self.url).body("{}").send().await.expect("send");
                    while let Some(chunk) = response.chunk().await.expect("chunk") {
                        std::hint::black_box(chunk);
                    }
                }
            }),
            "turn" => self.rt.block_on(async {
                for _ in 0..iterations {
                    std::hint::black_box(self.provider.complete(Request::user("m", "hi")).await.expect("turn"));
                }
            }),
            other => panic!("{COUNT_ENV}: no workload `{other}` (one of {WORKLOADS:?})"),
        }
    }
}

/// Run the workload `spec` (`WORKLOAD:ITERATIONS`) names, for callgrind.
pub fn run_counted(spec: &str, wire: Vec<u8>) {
    let (workload, iterations) = spec.split_once(':').expect("WORKLOAD:ITERATIONS");
    let iterations: u64 = iterations.parse().expect("a number of iterations");
    match workload.strip_suffix(LONG) {
        Some(workload) => Bench::new(doubled(&wire)).run(workload, iterations),
        None => Bench::new(wire).run(workload, iterations),
    }
}

/// The recorded stream with its content deltas repeated: up to its last
/// content delta as recorded, then every content delta again, then its one
/// ending (finish, usage, `[DONE]`).
fn doubled(wire: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(wire).expect("the recorded stream is UTF-8");
    let events: Vec<&str> = text.split_inclusive("\n\n").collect();
    let is_delta = |event: &str| event.contains(r#""delta":{"content":"#);
    let last = events.iter().rposition(|event| is_delta(event)).expect("content deltas in the recorded stream");
    let mut long = String::with_capacity(2 * text.len());
    events[..=last].iter().for_each(|event| long.push_str(event));
    events.iter().filter(|event| is_delta(event)).for_each(|event| long.push_str(event));
    events[last + 1..].iter().for_each(|event| long.push_str(event));
    long.into_bytes()
}

/// The SSE events in `wire`, as the SDK's decoder reads them.
fn sse_events(wire: &[u8]) -> usize {
    let mut events = 0;
    let _ = cordon_sdk::sse::SseDecoder::new().feed(wire, |_| {
        events += 1;
        Ok::<(), ()>(())
    });
    events
}

/// A turn on the doubled stream finishes as the recorded one does, with the
/// text twice over.
fn check_doubled(short: &Bench, long: &Bench) -> Result<(), String> {
    let turn = |bench: &Bench| bench.rt.block_on(bench.provider.complete(Request::user("m", "hi")));
    let short = turn(short).map_err(|err| format!("the recorded turn failed: {err}"))?;
    let long = turn(long).map_err(|err| format!("the doubled turn failed: {err}"))?;
    if long.finish.reason != short.finish.reason || long.text() != short.text().repeat(2) {
        return Err(format!(
            "the doubled turn did not finish with the text twice over ({:?}, {} characters against {})",
            long.finish.reason,
            long.text().len(),
            short.text().len()
        ));
    }
    Ok(())
}

/// Instructions (of a run, or per iteration): all of them, and the guest's
/// (JIT-compiled wasm).
#[derive(Debug, Clone, Copy)]
struct Count {
    all: f64,
    guest: f64,
}

impl Count {
    fn host(self) -> f64 {
        self.all - self.guest
    }
}

/// Print the instruction counts, the time ratio and the boundary cost per
/// event (see the module's doc).
pub fn print_ratio(wire: Vec<u8>) {
    let counts = match COUNTED.iter().map(|w| per_iteration(w)).collect::<Result<Vec<Count>, String>>() {
        Ok(counts) => counts,
        Err(why) => {
            eprintln!("skipping the instruction counts: {why}");
            return;
        }
    };
    let (native, http, turn, http_long, turn_long) = (counts[0], counts[1], counts[2], counts[3], counts[4]);
    let long_wire = doubled(&wire);
    let (events, long_events) = (sse_events(&wire), sse_events(&long_wire));
    let bench = Bench::new(wire);
    let checked = check_doubled(&bench, &Bench::new(long_wire));
    let (native_time, sandbox_time) = timed(&bench);
    eprintln!(
        "\nThe sandbox against the same parser natively (openai-text turn, {events} SSE events; instructions from callgrind, \
         the difference of {FEWER} and {MORE} iterations):\n\
         \x20 native parse                 {:>8.2} M instructions  {:>8.1} us\n\
         \x20 HTTP exchange alone          {:>8.2} M\n\
         \x20 whole turn in the sandbox    {:>8.2} M  (guest {:.2} M, host {:.2} M)\n\
         \x20 sandbox (turn - HTTP)        {:>8.2} M instructions  {:>8.1} us\n\
         \x20 sandbox / native             {:>8.2}x instructions   {:>7.2}x time   (goal: 1.3x)\n",
        native.all / 1e6,
        native_time.as_secs_f64() * 1e6,
        http.all / 1e6,
        turn.all / 1e6,
        turn.guest / 1e6,
        turn.host() / 1e6,
        (turn.all - http.all) / 1e6,
        sandbox_time.as_secs_f64() * 1e6,
        (turn.all - http.all) / native.all,
        sandbox_time.as_secs_f64() / native_time.as_secs_f64(),
    );
    let extra = long_events.saturating_sub(events) as f64;
    if let Err(why) = checked {
        eprintln!("skipping the boundary cost per event: {why}\n");
    } else if extra == 0.0 || turn.guest == 0.0 {
        eprintln!(
            "skipping the boundary cost per event: {}\n",
            if extra == 0.0 { "the doubled stream has no more events" } else { "callgrind_annotate listed no JIT code in the turn" }
        );
    } else {
        // Native instructions per microsecond on this machine.
        let rate = native.all / (native_time.as_secs_f64() * 1e6);
        let boundary = ((turn_long.host() - turn.host()) - (http_long.all - http.all)) / extra;
        let guest = (turn_long.guest - turn.guest) / extra;
        eprintln!(
            "Per event, from the same turn on {long_events} events ({} more; host and guest split by callgrind_annotate, \
             time at the native parse's {rate:.0} instructions/us):\n\
             \x20 boundary (host side) per event   {boundary:>6.0} instructions  ~ {:.2} us   (goal 0.2 us)\n\
             \x20 guest per event                  {guest:>6.0} instructions  ~ {:.2} us\n",
            long_events - events,
            boundary / rate,
            guest / rate,
        );
    }
}

/// Instructions per iteration of `workload`: two runs of this binary under
/// callgrind, `MORE` and `FEWER` iterations, their difference divided out.
fn per_iteration(workload: &str) -> Result<Count, String> {
    let (more, fewer) = (collected(workload, MORE)?, collected(workload, FEWER)?);
    let per = |more: u64, fewer: u64| more.saturating_sub(fewer) as f64 / (MORE - FEWER) as f64;
    Ok(Count { all: per(more.0, fewer.0), guest: per(more.1, fewer.1) })
}

/// The instructions callgrind counts for one run of `workload`: all of them,
/// and the guest's.
fn collected(workload: &str, iterations: u64) -> Result<(u64, u64), String> {
    let exe = std::env::current_exe().map_err(|err| format!("cannot find this benchmark's binary: {err}"))?;
    let out = tempfile::tempdir().map_err(|err| format!("cannot make a temporary folder: {err}"))?;
    let profile = out.path().join("callgrind.out");
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", profile.display()))
        .arg(&exe)
        .env(COUNT_ENV, format!("{workload}:{iterations}"))
        .output()
        .map_err(|err| {
            format!("valgrind did not run ({err}): install it (`sudo apt-get install valgrind` on Debian) for the counts")
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{workload} under callgrind failed ({}): {}", output.status, stderr.trim()));
    }
    let all = stderr
        .lines()
        .find_map(|line| line.split_once("Collected :").and_then(|(_, n)| n.trim().parse().ok()))
        .ok_or_else(|| format!("callgrind printed no `Collected :` line: {}", stderr.trim()))?;
    Ok((all, guest_instructions(&profile)?))
}

/// The instructions of the JIT-compiled guest code in a callgrind profile:
/// the functions `callgrind_annotate` lists as a bare address in no object
/// (`???:0x00000000070fe1a0 [???]`, or `...0'2 [???]` for a recursive call's
/// second level), as callgrind cannot see the JIT's symbols.
fn guest_instructions(profile: &Path) -> Result<u64, String> {
    let output = Command::new("callgrind_annotate")
        .args(["--threshold=100", "--auto=no", "--inclusive=no"])
        .arg(profile)
        .output()
        .map_err(|err| {
            format!("callgrind_annotate did not run ({err}): it comes with valgrind, and splits the counts into host and guest")
        })?;
    if !output.status.success() {
        return Err(format!(
            "callgrind_annotate failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut listed = false;
    let mut guest = 0;
    // Lines like `3,260,212 ( 3.24%)  ???:0x00000000070fe1a0 [???]`.
    for line in listing.lines() {
        let Some((count, rest)) = line.trim_start().split_once(' ') else { continue };
        let Ok(count) = count.replace(',', "").parse::<u64>() else { continue };
        let rest = rest.trim_start();
        let place = match rest.strip_prefix('(') {
            Some(percent) => percent.split_once(')').map_or("", |(_, place)| place.trim()),
            None => rest.trim(),
        };
        listed |= place.contains(':');
        // A recursive call's level follows the name: `0x00000000070e3e60'2`.
        let address = place.strip_suffix(" [???]").and_then(|place| place.strip_prefix("???:0x"));
        let address = address.map(|name| name.split_once('\'').map_or(name, |(hex, _)| hex));
        if address.is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())) {
            guest += count;
        }
    }
    if !listed {
        return Err(format!("callgrind_annotate listed no functions: {}", listing.trim()));
    }
    Ok(guest)
}

/// Median time per iteration of the native parse and of the sandbox
/// (`turn - http`), from interleaved rounds.
fn timed(bench: &Bench) -> (Duration, Duration) {
    let mut samples: [Vec<Duration>; 3] = Default::default();
    for _ in 0..TIMED_ROUNDS {
        for (workload, times) in WORKLOADS.iter().zip(samples.iter_mut()) {
            let started = Instant::now();
            bench.run(workload, TIMED_PER_ROUND);
            times.push(started.elapsed() / TIMED_PER_ROUND as u32);
        }
    }
    let [native, http, turn] = samples.map(|mut times| {
        times.sort();
        times[times.len() / 2]
    });
    (native, turn.saturating_sub(http))
}
