//! The sandbox against the same parser compiled natively, in instructions
//! (callgrind counts them, and gives the same figure twice on a noisy
//! machine) and in time.
//!
//! Three workloads on the recorded 303-event `openai-text` stream, each run by
//! this benchmark binary itself under `valgrind --tool=callgrind`, twice (a few
//! and many iterations, so that start-up cancels out of the difference):
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

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cordon::replay::{Reply, ReplayServer};
use cordon::{Provider, ProviderOptions, Request, Runtime, RuntimeConfig};

/// Set to `WORKLOAD:ITERATIONS`, the binary runs that workload and exits.
pub const COUNT_ENV: &str = "CORDON_BENCH_COUNT";
/// Iterations of the shorter and the longer counted run.
const FEWER: u64 = 4;
const MORE: u64 = 24;
/// The workloads, in the order they are reported.
const WORKLOADS: [&str; 3] = ["native", "http", "turn"];
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
    Bench::new(wire).run(workload, iterations);
}

/// Print the instruction counts and the time ratio (see the module's doc).
pub fn print_ratio(wire: Vec<u8>) {
    let counts = match WORKLOADS.iter().map(|w| per_iteration(w)).collect::<Result<Vec<f64>, String>>() {
        Ok(counts) => counts,
        Err(why) => {
            eprintln!("skipping the instruction counts: {why}");
            return;
        }
    };
    let (native, http, turn) = (counts[0], counts[1], counts[2]);
    let (native_time, sandbox_time) = timed(&Bench::new(wire));
    eprintln!(
        "\nThe sandbox against the same parser natively (303-event openai-text turn; instructions from callgrind, \
         the difference of {FEWER} and {MORE} iterations):\n\
         \x20 native parse                 {:>8.2} M instructions  {:>8.1} us\n\
         \x20 HTTP exchange alone          {:>8.2} M\n\
         \x20 whole turn in the sandbox    {:>8.2} M\n\
         \x20 sandbox (turn - HTTP)        {:>8.2} M instructions  {:>8.1} us\n\
         \x20 sandbox / native             {:>8.2}x instructions   {:>7.2}x time   (goal: 1.3x)\n",
        native / 1e6,
        native_time.as_secs_f64() * 1e6,
        http / 1e6,
        turn / 1e6,
        (turn - http) / 1e6,
        sandbox_time.as_secs_f64() * 1e6,
        (turn - http) / native,
        sandbox_time.as_secs_f64() / native_time.as_secs_f64(),
    );
}

/// Instructions per iteration of `workload`: two runs of this binary under
/// callgrind, `MORE` and `FEWER` iterations, their difference divided out.
fn per_iteration(workload: &str) -> Result<f64, String> {
    let more = collected(workload, MORE)?;
    let fewer = collected(workload, FEWER)?;
    Ok(more.saturating_sub(fewer) as f64 / (MORE - FEWER) as f64)
}

/// The instructions callgrind counts for one run of `workload`.
fn collected(workload: &str, iterations: u64) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|err| format!("cannot find this benchmark's binary: {err}"))?;
    let out = tempfile::tempdir().map_err(|err| format!("cannot make a temporary folder: {err}"))?;
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.path().join("callgrind.out").display()))
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
    stderr
        .lines()
        .find_map(|line| line.split_once("Collected :").and_then(|(_, n)| n.trim().parse().ok()))
        .ok_or_else(|| format!("callgrind printed no `Collected :` line: {}", stderr.trim()))
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
