//! `cordon serve` against hostile clients (issue 15): a 1 GiB body, a JSON
//! document nested 100,000 deep, 10,000 headers (and one header of 1 MiB),
//! slowloris clients (a head or a body a byte at a time), and thousands of
//! requests without a key. Each test runs a real `cordon serve` process with
//! `[keys]` in front of a local replay upstream. Every hostile request must get
//! its error (413, 400, 431, a closed connection or 408, 401) long before it
//! could do harm, and a body or head the gateway will not read loses its
//! connection (a keyless request, read whole, keeps it); meanwhile two well-behaved
//! clients with a key ask one request after another, and every one of their
//! requests must be answered in full. Their latency with and without the
//! attack is printed (`-- --nocapture`), bounded only loosely; no hostile
//! request reaches the upstream, and the gateway still serves afterwards.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::keys;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::support::{ServeProcess, root};

/// The well-behaved clients' key (the attackers' too, where an attack needs one).
const KEY: &str = "sk-cordon-hostile-0c4e";
/// The variable holding the provider's upstream key.
const UPSTREAM_VARIABLE: &str = "CORDON_HOSTILE_TEST_UPSTREAM_KEY";
/// Well-behaved clients asking beside each attack.
const NORMAL_CLIENTS: usize = 2;
/// Requests each well-behaved client makes before any attack, for comparison.
const BASELINE_REQUESTS: usize = 25;
/// The longest any well-behaved request may take, attack or not: a sanity
/// bound against a stalled gateway, not a latency target.
const NORMAL_BOUND: Duration = Duration::from_secs(10);
/// How long a repeated attack goes on (at least).
const ATTACK_TIME: Duration = Duration::from_secs(3);
/// How long a raw hostile connection may stay open before the test calls it held.
const HELD: Duration = Duration::from_secs(30);
/// A mebibyte.
const MIB: u64 = 1 << 20;

fn recorded() -> String {
    std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer")
}

/// The demo's recorded text answer, one chunk per event.
fn answer() -> Reply {
    Reply::stream(recorded().split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect())
}

/// The text of a streamed chat completion's content deltas.
fn streamed_text(sse: &str) -> String {
    sse.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect()
}

/// `cordon serve` with the model `fast` in front of `upstream`, one key
/// (`team`, by its digest), and `limits` as the `[limits]` table's lines.
fn gateway(upstream: &ReplayServer, limits: &str) -> ServeProcess {
    let config = format!(
        "[limits]\n{limits}\n\
         [providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:{UPSTREAM_VARIABLE}\" }}\n\
         [models.fast]\nroutes = [\"main:m\"]\n\
         [keys.team]\nsha256 = \"{}\"\n",
        upstream.url(),
        keys::hex(&keys::digest(KEY)),
    );
    ServeProcess::start(&config, &[(UPSTREAM_VARIABLE, "sk-upstream")])
}

/// `host:port` of a gateway, for raw connections.
fn address(served: &ServeProcess) -> String {
    served.base.trim_start_matches("http://").trim_end_matches("/v1").to_owned()
}

/// The gateway process's peak resident memory so far (`VmHWM`), in MiB.
fn peak_memory_mib(served: &ServeProcess) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", served.child.id())).expect("the gateway's /proc status");
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("a VmHWM line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB");
    kib / 1024
}

/// A client for well-behaved requests: none may take longer than [`NORMAL_BOUND`].
fn normal_client() -> reqwest::Client {
    cordon::tls::client_builder().timeout(NORMAL_BOUND).build().expect("client")
}

/// One well-behaved request, streamed or not: `Ok` only for a 200 carrying
/// the whole recorded answer.
async fn normal_request(client: &reqwest::Client, base: &str, stream: bool, expected: &str) -> Result<(), String> {
    let body = json!({"model": "fast", "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
    let response = client
        .post(format!("{base}/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|err| format!("no answer: {err}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|err| format!("{status}, its body cut: {err}"))?;
    if status != 200 {
        return Err(format!("{status}: {text}"));
    }
    let received = if stream {
        if !text.ends_with("data: [DONE]\n\n") {
            return Err(format!("a stream without its end: {text}"));
        }
        streamed_text(&text)
    } else {
        let whole: Value = serde_json::from_str(&text).map_err(|err| format!("not JSON ({err}): {text}"))?;
        whole["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_owned()
    };
    if received == expected { Ok(()) } else { Err(format!("not the whole answer: {text}")) }
}

/// One well-behaved request's latency and how it went.
struct Sample {
    latency: Duration,
    outcome: Result<(), String>,
}

/// [`NORMAL_CLIENTS`] well-behaved clients, each asking one request after
/// another (streamed every other time) until stopped or `each` are done.
struct Normal {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<Vec<Sample>>>,
}

impl Normal {
    fn start(base: &str, each: usize) -> Normal {
        let stop = Arc::new(AtomicBool::new(false));
        let expected = streamed_text(&recorded());
        let clients = (0..NORMAL_CLIENTS)
            .map(|_| {
                let (stop, base, expected) = (Arc::clone(&stop), base.to_owned(), expected.clone());
                tokio::spawn(async move {
                    let client = normal_client();
                    let mut samples = Vec::new();
                    while samples.len() < each && !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        let outcome = normal_request(&client, &base, samples.len() % 2 == 1, &expected).await;
                        samples.push(Sample { latency: started.elapsed(), outcome });
                    }
                    samples
                })
            })
            .collect();
        Normal { stop, clients }
    }

    /// Tell the clients to stop after the request each is making.
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Wait for the clients to end and check them: at least `least` requests,
    /// every one answered in full within [`NORMAL_BOUND`]. Their latency is
    /// printed under `label`; the number of requests is returned.
    async fn finish(self, label: &str, least: usize) -> usize {
        let mut samples = Vec::new();
        for client in self.clients {
            samples.extend(client.await.expect("a well-behaved client's task joins"));
        }
        let failed: Vec<&String> = samples.iter().filter_map(|sample| sample.outcome.as_ref().err()).collect();
        assert!(failed.is_empty(), "{label}: {} of {} well-behaved requests failed; the first: {}", failed.len(), samples.len(), failed[0]);
        assert!(samples.len() >= least, "{label}: only {} well-behaved requests were answered (at least {least} expected)", samples.len());
        let mut latencies: Vec<Duration> = samples.iter().map(|sample| sample.latency).collect();
        latencies.sort();
        let slowest = latencies[latencies.len() - 1];
        eprintln!(
            "serve_hostile: {label}: {} well-behaved requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            millis(percentile(&latencies, 50)),
            millis(percentile(&latencies, 99)),
            millis(slowest),
        );
        assert!(slowest <= NORMAL_BOUND, "{label}: a well-behaved request took {slowest:?}");
        samples.len()
    }
}

/// The nearest-rank `p`th percentile of `sorted` (not empty).
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p).div_ceil(100).clamp(1, sorted.len()) - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The well-behaved clients' latency before any attack; the number of requests.
async fn baseline(base: &str) -> usize {
    Normal::start(base, BASELINE_REQUESTS).finish("no attack", BASELINE_REQUESTS * NORMAL_CLIENTS).await
}

/// Run `attack` while the well-behaved clients ask, then check them and
/// print their latency under `label`: the attack's outcome and the number of
/// well-behaved requests.
async fn during<T>(base: &str, label: &str, attack: impl Future<Output = T>) -> (T, usize) {
    let normal = Normal::start(base, usize::MAX);
    let started = Instant::now();
    let outcome = attack.await;
    let took = started.elapsed();
    normal.stop();
    let served = normal.finish(&format!("during {label} ({:.1} s)", took.as_secs_f64()), NORMAL_CLIENTS).await;
    (outcome, served)
}

/// Run `attack(round)` on `attackers` tasks at once, round after round, for
/// [`ATTACK_TIME`] and at least `least` rounds each: every round's outcome.
async fn repeatedly<T, F, Fut>(attackers: usize, least: usize, attack: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<JoinHandle<Vec<T>>> = (0..attackers)
        .map(|_| {
            let attack = attack.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while outcomes.len() < least || started.elapsed() < ATTACK_TIME {
                    outcomes.push(attack(outcomes.len()).await);
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.expect("an attacker's task joins"));
    }
    outcomes
}

/// After an attack: the process still runs, answers its liveness probe and a
/// well-behaved request; and the upstream saw the well-behaved requests only.
async fn still_serving(served: &mut ServeProcess, upstream: &ReplayServer, well_behaved: usize) {
    let exited = served.child.try_wait().expect("the gateway's status");
    assert!(exited.is_none(), "the gateway exited ({exited:?}):\n{}", served.printed());
    let client = normal_client();
    let origin = served.base.trim_end_matches("/v1");
    let live = client.get(format!("{origin}/health/live")).send().await.expect("the gateway answers its liveness probe");
    assert_eq!(live.status(), 200);
    let expected = streamed_text(&recorded());
    normal_request(&client, &served.base, false, &expected).await.expect("a well-behaved request after the attack is answered");
    assert_eq!(upstream.requests().len(), well_behaved + 1, "only the well-behaved requests reached the upstream");
}

/// What the gateway sent on one raw connection, and when.
struct Reading {
    /// Everything it sent before it closed the connection.
    bytes: Vec<u8>,
    /// From the connection's start to its first byte, if it sent any.
    first: Option<Duration>,
    /// From the connection's start to its close (or reset).
    closed: Duration,
}

impl Reading {
    /// The status of the answer it sent, if any.
    fn status(&self) -> Option<u16> {
        let line = self.bytes.split(|byte| *byte == b'\n').next()?;
        std::str::from_utf8(line).ok()?.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Read what the gateway sends until it closes the connection (a reset
/// closes it too, keeping what came before); `answered` turns true at the
/// first byte or the close.
fn read_until_closed(mut read: OwnedReadHalf, started: Instant, answered: watch::Sender<bool>) -> JoinHandle<Reading> {
    tokio::spawn(async move {
        let (mut bytes, mut first) = (Vec::new(), None);
        let mut buffer = vec![0u8; 64 << 10];
        while let Ok(n @ 1..) = read.read(&mut buffer).await {
            first.get_or_insert_with(|| started.elapsed());
            answered.send_replace(true);
            bytes.extend_from_slice(&buffer[..n]);
        }
        answered.send_replace(true);
        Reading { bytes, first, closed: started.elapsed() }
    })
}

/// The reading of `reader`, or `None` if the gateway still held the
/// connection open [`HELD`] after `started`.
async fn closed_by(reader: JoinHandle<Reading>, started: Instant) -> Option<Reading> {
    let mut reader = reader;
    match tokio::time::timeout(HELD.saturating_sub(started.elapsed()), &mut reader).await {
        Ok(reading) => Some(reading.expect("the reader joins")),
        Err(_) => {
            reader.abort();
            None
        }
    }
}

/// Write `bytes` unless the gateway answers (or closes) first, or [`HELD`]
/// has passed: how many were written before that.
async fn write_unless_answered(write: &mut OwnedWriteHalf, bytes: &[u8], answered: &mut watch::Receiver<bool>, started: Instant) -> usize {
    let mut written = 0;
    while written < bytes.len() {
        tokio::select! {
            biased;
            _ = answered.wait_for(|answered| *answered) => break,
            () = tokio::time::sleep(HELD.saturating_sub(started.elapsed())) => break,
            result = write.write(&bytes[written..]) => match result {
                Ok(n @ 1..) => written += n,
                _ => break,
            },
        }
    }
    written
}

/// One request of `head` and a body of `total` bytes (`chunked`: in chunked
/// framing), sent as fast as the gateway takes it until it answers or closes:
/// what it sent, and how many body bytes the connection took (an upper bound
/// on what the gateway read: socket buffers hold some).
async fn huge_body(addr: String, head: String, total: u64, chunked: bool) -> (Option<Reading>, u64) {
    let stream = TcpStream::connect(&addr).await.expect("connects");
    let started = Instant::now();
    let (read, mut write) = stream.into_split();
    let (answered_sender, mut answered) = watch::channel(false);
    let reader = read_until_closed(read, started, answered_sender);
    // Spaces: JSON whitespace, and a body that never completes a document.
    let block = vec![b' '; 1 << 20];
    let mut sent = 0u64;
    if write_unless_answered(&mut write, head.as_bytes(), &mut answered, started).await == head.len() {
        while sent < total {
            let size = usize::try_from((total - sent).min(MIB)).expect("a MiB fits");
            let framing = format!("{size:x}\r\n");
            if chunked && write_unless_answered(&mut write, framing.as_bytes(), &mut answered, started).await < framing.len() {
                break;
            }
            let written = write_unless_answered(&mut write, &block[..size], &mut answered, started).await;
            sent += written as u64;
            if written < size || (chunked && write_unless_answered(&mut write, b"\r\n", &mut answered, started).await < 2) {
                break;
            }
        }
    }
    let reading = closed_by(reader, started).await;
    drop(write);
    (reading, sent)
}

/// Send `request` whole (a write the gateway cuts short is fine) and read
/// until the gateway closes the connection.
async fn one_shot(addr: String, request: Vec<u8>) -> Option<Reading> {
    let stream = TcpStream::connect(&addr).await.expect("connects");
    let started = Instant::now();
    let (read, mut write) = stream.into_split();
    let (answered_sender, mut answered) = watch::channel(false);
    let reader = read_until_closed(read, started, answered_sender);
    write_unless_answered(&mut write, &request, &mut answered, started).await;
    // The write half stays open: the gateway must close the connection itself.
    let reading = closed_by(reader, started).await;
    drop(write);
    reading
}

/// A slowloris client: `opening`, then one byte of `drip` every 250 ms,
/// never finishing, until the gateway answers or closes the connection.
async fn slowloris(addr: String, opening: String, drip: u8) -> Option<Reading> {
    let stream = TcpStream::connect(&addr).await.expect("connects");
    let started = Instant::now();
    let (read, mut write) = stream.into_split();
    let (answered_sender, mut answered) = watch::channel(false);
    let reader = read_until_closed(read, started, answered_sender);
    if write_unless_answered(&mut write, opening.as_bytes(), &mut answered, started).await == opening.len() {
        let mut pace = tokio::time::interval(Duration::from_millis(250));
        loop {
            pace.tick().await;
            if write_unless_answered(&mut write, &[drip], &mut answered, started).await == 0 {
                break;
            }
        }
    }
    let reading = closed_by(reader, started).await;
    drop(write);
    reading
}

/// A request's head for `path`, with `headers` (each ending in `\r\n`).
fn head(method: &str, path: &str, headers: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nhost: gateway\r\n{headers}\r\n")
}

/// A 1 GiB body, keyed or not, declared by `content-length` or chunked:
/// each is refused (413 over `limits.body-mib`, 401 without a key) and its
/// connection closed, round after round for a few seconds from two clients
/// at once. A chunked body is cut at the limit; one whose `content-length`
/// says it is over the limit, or that has no key, is refused from its head,
/// before the gateway reads any of it. The well-behaved clients are served
/// throughout, and the gateway's peak memory stays far below 1 GiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gib_body_is_refused_early_while_others_are_served() {
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let mut served = gateway(&upstream, "");
    let addr = address(&served);
    let mut well_behaved = baseline(&served.base).await;
    let memory_before = peak_memory_mib(&served);

    const GIB: u64 = 1 << 30;
    let attack = {
        let addr = addr.clone();
        move |round: usize| {
            let addr = addr.clone();
            async move {
                let (expected, opening, chunked) = match round % 3 {
                    0 => (413, head("POST", "/v1/chat/completions", &format!("authorization: Bearer {KEY}\r\ncontent-length: {GIB}\r\n")), false),
                    1 => (413, head("POST", "/v1/responses", &format!("authorization: Bearer {KEY}\r\ntransfer-encoding: chunked\r\n")), true),
                    _ => (401, head("POST", "/v1/chat/completions", &format!("content-length: {GIB}\r\n")), false),
                };
                let (reading, sent) = huge_body(addr, opening, GIB, chunked).await;
                (round % 3, expected, reading, sent)
            }
        }
    };
    let (rounds, served_during) = during(&served.base, "1 GiB bodies", repeatedly(2, 3, attack)).await;
    well_behaved += served_during;

    let mut most_sent = [0u64; 3];
    for (kind, expected, reading, sent) in &rounds {
        let reading = reading.as_ref().unwrap_or_else(|| panic!("a 1 GiB body (kind {kind}) held its connection open for {HELD:?}"));
        assert_eq!(reading.status(), Some(*expected), "kind {kind}, after {sent} bytes: {}", reading.text());
        if *expected == 413 {
            assert!(reading.text().contains("limits.body-mib"), "the 413 names the setting: {}", reading.text());
        }
        assert!(*sent <= 256 * MIB, "kind {kind}: the gateway took {} MiB of a 1 GiB body before it answered", sent / MIB);
        if *kind != 1 {
            // Refused from the head: what was sent only filled socket buffers, less than the 32 MiB limit.
            assert!(*sent <= 16 * MIB, "kind {kind}: {} MiB sent before the answer, as if the body were read", sent / MIB);
        }
        most_sent[*kind] = most_sent[*kind].max(*sent);
    }
    let memory_after = peak_memory_mib(&served);
    eprintln!(
        "serve_hostile: {} 1 GiB bodies refused; most taken before the answer: {} MiB (content-length), {} MiB (chunked), {} MiB (no key); \
         the gateway's peak memory {memory_before} MiB before, {memory_after} MiB after",
        rounds.len(),
        most_sent[0] / MIB,
        most_sent[1] / MIB,
        most_sent[2] / MIB,
    );
    assert!(memory_after < memory_before + 512, "the gateway's peak memory grew from {memory_before} to {memory_after} MiB");
    still_serving(&mut served, &upstream, well_behaved).await;
}

/// `n`-deep arrays: `[[[...]]]`.
fn deep_arrays(n: usize) -> String {
    format!("{}{}", "[".repeat(n), "]".repeat(n))
}

/// `n`-deep objects: `{"a":{"a":...1}}`.
fn deep_objects(n: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n))
}

/// JSON nested 100,000 deep, with a key, wherever a request holds JSON of
/// any shape (a message's content, an extra field, the Responses `input`, a
/// Messages content, the whole body): each is a 400 naming the problem (the
/// nesting, for a document whose depth is reached), answered at once, round
/// after round from two clients; nothing crashes, and the well-behaved
/// clients are served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nested_100_000_deep_is_a_400_and_crashes_nothing() {
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let mut served = gateway(&upstream, "");
    let mut well_behaved = baseline(&served.base).await;

    const DEPTH: usize = 100_000;
    let cases: Arc<Vec<(&str, String, &str)>> = Arc::new(vec![
        (
            "/v1/chat/completions",
            format!(r#"{{"model":"fast","messages":[{{"role":"user","content":{}}}]}}"#, deep_arrays(DEPTH)),
            "recursion limit exceeded",
        ),
        (
            "/v1/chat/completions",
            format!(r#"{{"model":"fast","messages":[{{"role":"user","content":"hi"}}],"metadata":{}}}"#, deep_objects(DEPTH)),
            "recursion limit exceeded",
        ),
        ("/v1/responses", format!(r#"{{"model":"fast","input":{}}}"#, deep_arrays(DEPTH)), "recursion limit exceeded"),
        (
            "/v1/messages",
            format!(r#"{{"model":"fast","max_tokens":16,"messages":[{{"role":"user","content":{}}}]}}"#, deep_objects(DEPTH)),
            "recursion limit exceeded",
        ),
        // A bare array where an object belongs: refused before it is read deep.
        ("/v1/chat/completions", deep_arrays(DEPTH), "the body is not a chat completions request"),
    ]);
    let base = served.base.clone();
    let client = normal_client();
    let attack = move |round: usize| {
        let (cases, base, client) = (Arc::clone(&cases), base.clone(), client.clone());
        async move {
            let (path, body, expected) = &cases[round % cases.len()];
            let started = Instant::now();
            let request = client.post(format!("{}{}", base.trim_end_matches("/v1"), path)).header("content-type", "application/json");
            let request = if path.ends_with("messages") { request.header("x-api-key", KEY) } else { request.bearer_auth(KEY) };
            let response = request.body(body.clone()).send().await.expect("the gateway answers a deep document");
            let status = response.status().as_u16();
            let text = response.text().await.expect("the refusal's body");
            (*path, *expected, status, text, started.elapsed())
        }
    };
    let (rounds, served_during) = during(&served.base, "100,000-deep JSON", repeatedly(2, 5, attack)).await;
    well_behaved += served_during;

    let mut refusals = Vec::new();
    let mut messages = std::collections::BTreeSet::new();
    for (path, expected, status, text, took) in &rounds {
        assert_eq!(*status, 400, "{path}: {text}");
        let body: Value = serde_json::from_str(text).unwrap_or_else(|err| panic!("{path}: the 400 is not JSON ({err}): {text}"));
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{path}: the 400 names the problem (`{expected}`): {text}");
        messages.insert(format!("{path}: {message}"));
        refusals.push(*took);
    }
    for message in &messages {
        eprintln!("serve_hostile: 400 {message}");
    }
    refusals.sort();
    eprintln!(
        "serve_hostile: {} 100,000-deep documents refused, p50 {:.1} ms, p99 {:.1} ms each",
        refusals.len(),
        millis(percentile(&refusals, 50)),
        millis(percentile(&refusals, 99)),
    );
    still_serving(&mut served, &upstream, well_behaved).await;
}

/// 10,000 headers (with a key or without), and one header of 1 MiB: hyper
/// answers 431 (its limit of 100 headers, and of its read buffer) and closes
/// the connection, without waiting for the rest of the head, round after
/// round from two clients; the well-behaved clients are served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_headers_are_a_431_and_a_closed_connection() {
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let mut served = gateway(&upstream, "");
    let addr = address(&served);
    let mut well_behaved = baseline(&served.base).await;

    let many: String = (0..10_000).map(|i| format!("x-hostile-{i}: {i}\r\n")).collect();
    let requests: Arc<Vec<(&str, Vec<u8>)>> = Arc::new(vec![
        ("10,000 headers with a key", format!("{}{{}}", head("POST", "/v1/chat/completions", &format!("authorization: Bearer {KEY}\r\ncontent-length: 2\r\n{many}"))).into_bytes()),
        ("10,000 headers without a key", head("GET", "/v1/models", &many).into_bytes()),
        ("a 1 MiB header", head("GET", "/v1/models", &format!("authorization: Bearer {KEY}\r\nx-hostile: {}\r\n", "a".repeat(1 << 20))).into_bytes()),
    ]);
    let attack = {
        let addr = addr.clone();
        move |round: usize| {
            let (addr, requests) = (addr.clone(), Arc::clone(&requests));
            async move {
                let (name, request) = &requests[round % requests.len()];
                (*name, one_shot(addr, request.clone()).await)
            }
        }
    };
    let (rounds, served_during) = during(&served.base, "10,000 headers", repeatedly(2, 3, attack)).await;
    well_behaved += served_during;

    let mut answered = Vec::new();
    for (name, reading) in &rounds {
        let reading = reading.as_ref().unwrap_or_else(|| panic!("{name}: the gateway held the connection open for {HELD:?}"));
        assert_eq!(reading.status(), Some(431), "{name}: {}", reading.text());
        answered.push(reading.closed);
    }
    answered.sort();
    eprintln!(
        "serve_hostile: {} heads of too many headers refused and closed, p50 {:.1} ms, p99 {:.1} ms each",
        answered.len(),
        millis(percentile(&answered, 50)),
        millis(percentile(&answered, 99)),
    );
    still_serving(&mut served, &upstream, well_behaved).await;
}

/// Slowloris, 140 connections at once, each sending a byte every 250 ms and
/// never finishing: 100 dribble a request's head (the gateway closes each
/// once `limits.request-seconds` has passed, without an answer), 20 a keyed
/// request's body (408 naming the setting, then closed), and 20 a keyless
/// request's body (401 at once: a keyless body is never waited for). The
/// well-behaved clients are served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_are_let_go_at_request_seconds() {
    const REQUEST_SECONDS: u64 = 3;
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let mut served = gateway(&upstream, &format!("request-seconds = {REQUEST_SECONDS}"));
    let addr = address(&served);
    let mut well_behaved = baseline(&served.base).await;

    let body_head = |auth: &str| head("POST", "/v1/chat/completions", &format!("{auth}content-type: application/json\r\ncontent-length: 100000\r\n")) + "{";
    let attacks = [
        (100, "a slow head", head("POST", "/v1/chat/completions", "").trim_end().to_owned() + "\r\nx-slow: ", b'a'),
        (20, "a slow keyed body", body_head(&format!("authorization: Bearer {KEY}\r\n")), b' '),
        (20, "a slow keyless body", body_head(""), b' '),
    ];
    let attack = async move {
        let mut clients: Vec<JoinHandle<(&str, Option<Reading>)>> = Vec::new();
        for (count, name, opening, drip) in attacks {
            for _ in 0..count {
                let (addr, opening) = (addr.clone(), opening.clone());
                clients.push(tokio::spawn(async move { (name, slowloris(addr, opening, drip).await) }));
            }
        }
        let mut readings = Vec::new();
        for client in clients {
            readings.push(client.await.expect("a slowloris client joins"));
        }
        readings
    };
    let (readings, served_during) = during(&served.base, "140 slowloris clients", attack).await;
    well_behaved += served_during;

    let deadline = Duration::from_secs(REQUEST_SECONDS);
    let mut closed = std::collections::BTreeMap::<&str, Vec<Duration>>::new();
    for (name, reading) in &readings {
        let reading = reading.as_ref().unwrap_or_else(|| panic!("{name}: the gateway held the connection open for {HELD:?}"));
        match *name {
            "a slow head" => assert!(reading.bytes.is_empty() || reading.status() == Some(408), "{name}: {}", reading.text()),
            "a slow keyed body" => {
                assert_eq!(reading.status(), Some(408), "{name}: {}", reading.text());
                assert!(reading.text().contains("limits.request-seconds"), "{name}: the 408 names the setting: {}", reading.text());
            }
            _ => {
                assert_eq!(reading.status(), Some(401), "{name}: {}", reading.text());
                let first = reading.first.expect("an answer");
                assert!(first < deadline, "{name}: the 401 came after {first:?}, as if the gateway had waited for the body");
            }
        }
        assert!(reading.closed <= deadline * 4, "{name}: the connection was closed only after {:?}", reading.closed);
        closed.entry(name).or_default().push(reading.closed);
    }
    for (name, times) in &mut closed {
        times.sort();
        eprintln!(
            "serve_hostile: {} × {name}: closed after p50 {:.2} s, max {:.2} s (request-seconds = {REQUEST_SECONDS})",
            times.len(),
            percentile(times, 50).as_secs_f64(),
            percentile(times, 100).as_secs_f64(),
        );
    }
    still_serving(&mut served, &upstream, well_behaved).await;
}

/// The next answer on a kept-alive connection: its status, whether it says
/// `connection: close`, and its body.
async fn next_answer(reader: &mut BufReader<OwnedReadHalf>) -> std::io::Result<(u16, bool, Vec<u8>)> {
    let mut line = String::new();
    let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    if reader.read_line(&mut line).await? == 0 {
        return Err(eof());
    }
    let status: u16 = line.get(9..12).and_then(|code| code.parse().ok()).ok_or_else(|| std::io::Error::other(format!("a status line: {line:?}")))?;
    let (mut length, mut close) = (0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(eof());
        }
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("content-length:") {
            length = value.trim().parse().map_err(std::io::Error::other)?;
        }
        close |= header == "connection: close";
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    Ok((status, close, body))
}

/// Requests without a valid key (none, a wrong one, an empty one; on every
/// route; with bodies and without), pipelined `batch` at a time on one
/// kept-alive connection, at least `least` of them and on until
/// [`ATTACK_TIME`] after `since`: each batch's round trip, or what went wrong.
async fn keyless_stream(addr: String, least: usize, batch: usize, since: Instant) -> Result<Vec<Duration>, String> {
    let body = r#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#;
    let with_body = |path: &str, auth: &str| head("POST", path, &format!("{auth}content-type: application/json\r\ncontent-length: {}\r\n", body.len())) + body;
    let kinds = [
        with_body("/v1/chat/completions", ""),
        with_body("/v1/chat/completions", "authorization: Bearer sk-cordon-hostile-guess\r\n"),
        head("GET", "/v1/models", ""),
        with_body("/v1/messages", "x-api-key: sk-ant-guess\r\n"),
        with_body("/v1/responses", "authorization: Bearer \r\n"),
    ];
    let stream = TcpStream::connect(&addr).await.map_err(|err| format!("cannot connect: {err}"))?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut round_trips = Vec::new();
    let mut asked = 0;
    while asked < least || since.elapsed() < ATTACK_TIME {
        let size = batch;
        let requests: String = (asked..asked + size).map(|i| kinds[i % kinds.len()].as_str()).collect();
        let started = Instant::now();
        write.write_all(requests.as_bytes()).await.map_err(|err| format!("after {asked} requests, the connection was cut: {err}"))?;
        for i in asked..asked + size {
            let answer = tokio::time::timeout(NORMAL_BOUND, next_answer(&mut reader)).await;
            let (status, close, answer) = answer
                .map_err(|_| format!("request {i} was not answered in {NORMAL_BOUND:?}"))?
                .map_err(|err| format!("request {i}: {err}"))?;
            let answer = String::from_utf8_lossy(&answer);
            if status != 401 || !(answer.contains("invalid_api_key") || answer.contains("authentication_error")) {
                return Err(format!("request {i} ({:?}) got {status}: {answer}", kinds[i % kinds.len()].lines().next()));
            }
            if close {
                return Err(format!("request {i}: the gateway closed the kept-alive connection"));
            }
        }
        round_trips.push(started.elapsed());
        asked += size;
    }
    Ok(round_trips)
}

/// Requests without a valid key for a few seconds (tens of thousands, at
/// least 6,000), as fast as four kept-alive connections can pipeline them:
/// each is a 401 in its API's shape, the connections stay open, none reaches
/// the upstream, and the well-behaved clients (with the key) are served
/// throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_keyless_requests_gets_401s_while_keyed_clients_are_served() {
    const CONNECTIONS: usize = 4;
    const EACH: usize = 1_500;
    // A batch (about 4.5 KiB) fits in hyper's first read of 8 KiB, so no
    // request's body is split across reads: a 401 answered before its body
    // arrived would end the connection (hyper drains an unread body once, and
    // closes the connection if it is not all there).
    const BATCH: usize = 25;
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let mut served = gateway(&upstream, "");
    let addr = address(&served);
    let mut well_behaved = baseline(&served.base).await;

    let started = Instant::now();
    let flood = async {
        let streams: Vec<_> = (0..CONNECTIONS).map(|_| tokio::spawn(keyless_stream(addr.clone(), EACH, BATCH, started))).collect();
        let mut round_trips = Vec::new();
        for stream in streams {
            round_trips.extend(stream.await.expect("a keyless stream joins").unwrap_or_else(|err| panic!("a keyless stream: {err}")));
        }
        round_trips
    };
    let (mut round_trips, served_during) = during(&served.base, "a flood of keyless requests", flood).await;
    well_behaved += served_during;
    let took = started.elapsed();
    let refused = round_trips.len() * BATCH;
    assert!(refused >= CONNECTIONS * EACH);
    round_trips.sort();
    eprintln!(
        "serve_hostile: {refused} keyless requests answered 401 in {:.1} s ({:.0}/s); a batch of {BATCH} took p50 {:.1} ms, p99 {:.1} ms",
        took.as_secs_f64(),
        refused as f64 / took.as_secs_f64(),
        millis(percentile(&round_trips, 50)),
        millis(percentile(&round_trips, 99)),
    );
    still_serving(&mut served, &upstream, well_behaved).await;
}
