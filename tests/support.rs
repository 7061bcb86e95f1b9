//! Shared set-up: where the built components and fixtures are, one runtime for
//! all tests, and a provider pointed at a local replay upstream.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cordon::replay::{Reply, ReplayServer};
use cordon::{Event, HostGrant, Origin, Provider, ProviderOptions, Request, Runtime, RuntimeConfig, TrustStore, TurnError, TurnResult};
use serde_json::json;

/// A public-looking host name the tests' DNS points at 127.0.0.1.
pub const REBOUND_NAME: &str = "api.public-looking.test";
/// One the tests' DNS points at 127.0.0.1 in NAT64 form (`64:ff9b::7f00:1`).
pub const NAT64_NAME: &str = "nat64.public-looking.test";
/// One the tests' DNS points at 127.0.0.1 in 6to4 form (`2002:7f00:1::1`).
pub const SIX_TO_FOUR_NAME: &str = "6to4.public-looking.test";
/// One the tests' DNS points at a reserved address (`240.0.0.1`).
pub const RESERVED_NAME: &str = "reserved.public-looking.test";

/// The secret value the tests hand the hostile guest's manifest entry.
pub const SECRET: &str = "sk-cordon-test-5ecret-value";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runtime/ has a parent").to_owned()
}

/// `dist/components`, where `cargo xtask build` puts the guests.
pub fn components_dir() -> PathBuf {
    let dir = std::env::var_os("CORDON_COMPONENTS").map(PathBuf::from).unwrap_or_else(|| root().join("dist/components"));
    assert!(
        dir.join("openai.wasm").exists() && dir.join("hostile.wasm").exists(),
        "the guest components are not built in {}: run `cargo xtask test` (or `cargo xtask build` first)",
        dir.display()
    );
    dir
}

/// The recorded provider streams in `../shared/fixtures`, if that folder exists.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = root().join("../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Written past the test harness's capture, so the skip shows in every log.
        let note = format!("skipping: {} is absent (the recorded fixtures live outside the repository)\n", dir.display());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
        None
    }
}

/// The recorded `*.chunks.txt` files in `wire/{folder}`, sorted, with their text.
pub fn recordings(fixtures: &Path, folder: &str) -> Vec<(String, String)> {
    let dir = fixtures.join("wire").join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("fixture folder").flatten().map(|e| e.path()).collect();
    files.retain(|path| path.to_string_lossy().ends_with(".chunks.txt"));
    files.sort();
    assert!(!files.is_empty(), "no recordings in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            (name, std::fs::read_to_string(&path).expect("fixture"))
        })
        .collect()
}

/// A Google service account's JSON key whose `token_uri` is `token_uri`, with
/// a throwaway RSA key (PKCS#8 PEM) made once per test run by the `openssl` command.
pub fn google_service_account(token_uri: &str) -> String {
    static KEY: OnceLock<String> = OnceLock::new();
    let key = KEY.get_or_init(|| {
        let made = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
            .output()
            .expect("the Google tests need the `openssl` command");
        assert!(made.status.success(), "openssl genpkey failed: {}", String::from_utf8_lossy(&made.stderr));
        String::from_utf8(made.stdout).expect("a PEM key")
    });
    json!({
        "type": "service_account",
        "client_email": "cordon-test@cordon-test-1.iam.gserviceaccount.com",
        "private_key_id": "cordon-test-key",
        "private_key": key,
        "token_uri": token_uri,
    })
    .to_string()
}

/// The project's own hand-written fixtures.
pub fn own_fixture(name: &str) -> String {
    let path = root().join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// `tests/trust.toml`: the operator's approvals of the project's own components.
pub fn trust_file() -> PathBuf {
    root().join("tests/trust.toml")
}

/// One runtime (engine, pool, cache) shared by every test, with the
/// approvals of `tests/trust.toml`.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let mut config = RuntimeConfig::new(components_dir());
        let answers: [(&str, &str); 4] =
            [(REBOUND_NAME, "127.0.0.1"), (NAT64_NAME, "64:ff9b::7f00:1"), (SIX_TO_FOUR_NAME, "2002:7f00:1::1"), (RESERVED_NAME, "240.0.0.1")];
        for (name, address) in answers {
            config.dns_overrides.insert(name.to_owned(), vec![address.parse().expect("an address")]);
        }
        config.trust = TrustStore::load(&trust_file()).expect("tests/trust.toml is valid");
        Runtime::new(config).expect("the runtime starts")
    })
}

/// A local upstream answering with `replies`, and `provider` loaded against it.
pub async fn provider_against(provider: &str, replies: Vec<Reply>) -> (ReplayServer, Provider) {
    let server = ReplayServer::start(replies).await.expect("replay server starts");
    let options = ProviderOptions { base_url: Some(server.url()), ..ProviderOptions::default() };
    let provider = runtime().load_provider(provider, options).await.expect("provider loads");
    (server, provider)
}

/// `provider` (a name or a path) loaded with `options` against a local
/// upstream answering `replies` in turn: that origin granted, with `key`
/// bound to the provider's `api-key` secret, unapproved asks denied.
pub async fn keyed_provider_against(provider: &str, options: Option<serde_json::Value>, replies: Vec<Reply>, key: &str) -> (ReplayServer, Provider) {
    let server = ReplayServer::start(replies).await.expect("replay server starts");
    let options = ProviderOptions {
        base_url: Some(server.url()),
        options,
        grants: vec![HostGrant { origin: server.url().parse().expect("origin"), with_secrets: true }],
        secrets: [("api-key".to_owned(), key.to_owned())].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider(provider, options).await.expect("provider loads");
    (server, provider)
}

/// Run a turn to its end: all events, then the result.
pub async fn run_turn(provider: &Provider, request: cordon::Request) -> (Vec<Event>, Result<TurnResult, TurnError>) {
    let mut turn = provider.stream(request);
    let mut events = Vec::new();
    while let Some(event) = turn.next().await {
        events.push(event);
    }
    let result = turn.into_result().await.map_err(|err| match err {
        cordon::Error::Turn(error) => error,
        other => panic!("expected a turn error, got {other}"),
    });
    (events, result)
}

/// The error events of a turn.
pub fn errors_in(events: &[Event]) -> Vec<&TurnError> {
    events.iter().filter_map(|e| if let Event::Error(err) = e { Some(err) } else { None }).collect()
}

/// All text deltas of a turn, concatenated.
pub fn text_of(events: &[Event]) -> String {
    events.iter().filter_map(|e| if let Event::TextDelta { text } = e { Some(text.as_str()) } else { None }).collect()
}

/// The hostile guest, loaded with `component` (a variant name or `hostile`),
/// its upstream and secret granted as the options say.
pub async fn load_hostile(component: &str, server: &ReplayServer, with_secrets: bool, extra: serde_json::Value) -> cordon::Result<Provider> {
    let origin: Origin = server.url().parse().expect("origin");
    let mut config = json!({ "upstream": server.url() });
    if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        config.extend(extra.clone());
    }
    let options = ProviderOptions {
        options: Some(config),
        grants: vec![HostGrant { origin, with_secrets }],
        secrets: [("api-key".to_owned(), SECRET.to_owned())].into(),
        ..ProviderOptions::default()
    };
    runtime().load_provider(component, options).await
}

/// A request asking the hostile guest for `mode` (and `url`, for `fetch`).
pub fn hostile_request(mode: &str, url: Option<&str>) -> Request {
    let mut request = Request::user("m", "hi");
    request.provider_options = Some(json!({ "hostile": { "mode": mode, "url": url } }));
    request
}

/// The events with the one field that must differ (`served_by`) blanked.
pub fn normalized(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .cloned()
        .map(|event| match event {
            Event::StreamStart { warnings, .. } => Event::StreamStart { warnings, served_by: String::new() },
            other => other,
        })
        .collect()
}

/// A turn's result with `served_by` blanked, to compare two providers.
pub fn normalized_result(result: &Result<TurnResult, TurnError>) -> Result<TurnResult, TurnError> {
    result.clone().map(|mut ok| {
        ok.served_by.clear();
        ok
    })
}

/// A running `cordon serve --config FILE` process (the real binary, a free
/// port), killed when dropped. Its stderr is read on a thread, so the process
/// never blocks on a full pipe and a test can wait for a line.
pub struct ServeProcess {
    /// The process.
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT/v1`, as the process printed it.
    pub base: String,
    lines: std::sync::mpsc::Receiver<String>,
    /// The lines read so far (by [`ServeProcess::line_with`] or [`ServeProcess::printed`]).
    seen: std::sync::Mutex<Vec<String>>,
    _dir: Option<tempfile::TempDir>,
}

impl ServeProcess {
    /// A config of `body` (providers, models, ...) after a head naming the
    /// built components, their cache and port 0, in a temp dir.
    pub fn start(body: &str, env: &[(&str, &str)]) -> ServeProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("serve.toml");
        std::fs::write(&file, format!("{}{body}", serve_config_head())).expect("config");
        let mut process = ServeProcess::start_file(&file, env, "off");
        process._dir = Some(dir);
        process
    }

    /// `cordon serve --config file` with `CORDON_LOG=log` and `env`.
    pub fn start_file(file: &Path, env: &[(&str, &str)], log: &str) -> ServeProcess {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cordon"))
            .arg("serve")
            .arg("--config")
            .arg(file)
            .env("CORDON_LOG", log)
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cordon serve starts");
        let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let mut process = ServeProcess { child, base: String::new(), lines, seen: std::sync::Mutex::new(Vec::new()), _dir: None };
        let first = process.line_with("serves");
        process.base = first.split_whitespace().find(|word| word.starts_with("http://")).expect("the address is printed").to_owned();
        process
    }

    /// The next line of stderr containing `needle`; a test fails, showing
    /// what was printed, if none comes within a minute or the process ends.
    pub fn line_with(&self, needle: &str) -> String {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let from = seen.len();
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(60)) {
                Ok(line) => {
                    seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with `{needle}` from cordon serve; it printed:\n{}", seen[from..].join("\n")),
            }
        }
    }

    /// The lines from the last one read up to and including the next one containing `needle`.
    pub fn lines_to(&self, needle: &str) -> String {
        let from = self.seen.lock().map_or(0, |seen| seen.len());
        self.line_with(needle);
        self.seen.lock().map(|seen| seen[from..].join("\n")).unwrap_or_default()
    }

    /// The admin endpoint's URL, as the process printed it at start.
    pub fn admin_url(&self) -> String {
        let printed = self.printed();
        printed
            .lines()
            .find_map(|line| line.strip_prefix("cordon serve: admin endpoint "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("the admin endpoint is printed:\n{printed}"))
            .to_owned()
    }

    /// Everything the process has printed so far, for failure messages.
    pub fn printed(&self) -> String {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.extend(self.lines.try_iter());
        seen.join("\n")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The head of a test's gateway config: the built components, their cache,
/// and a free port.
pub fn serve_config_head() -> String {
    let cache = components_dir().parent().map(|dist| dist.join("cache")).unwrap_or_default();
    format!("listen = \"127.0.0.1:0\"\ncomponents = {:?}\ncache = {:?}\n", components_dir().display().to_string(), cache.display().to_string())
}

/// The pinned Python venv's interpreter.
pub fn python() -> std::path::PathBuf {
    let python = root().join(".tools/venv/bin/python");
    assert!(python.exists(), "{} is missing: run `cargo xtask test`, which installs the pinned clients", python.display());
    python
}

/// Run `program` with `args` off the async runtime (the upstreams keep
/// serving on it) and return the one JSON line it prints.
pub async fn run_client(program: std::path::PathBuf, args: Vec<String>) -> serde_json::Value {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let output = tokio::task::spawn_blocking(move || std::process::Command::new(&program).args(&args).output())
        .await
        .expect("joins")
        .unwrap_or_else(|err| panic!("cannot run {shown}: {err}"));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown} failed ({}):\n{printed}{}", output.status, String::from_utf8_lossy(&output.stderr));
    let last = printed.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|err| panic!("{shown} printed no JSON line ({err}):\n{printed}"))
}

/// Run a script of `tests/clients` with the pinned Python.
pub async fn run_python(script: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec![root().join("tests/clients").join(script).display().to_string()];
    all.extend(args.iter().map(|arg| (*arg).to_owned()));
    run_client(python(), all).await
}

/// `[providers.main]`: the `openai` component in front of `upstream`, its key
/// in a file in `dir`.
pub fn main_provider(upstream: &ReplayServer, dir: &Path) -> String {
    std::fs::write(dir.join("key"), "sk-test").expect("key file");
    format!(
        "[providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"file:{}\" }}\n",
        upstream.url(),
        dir.join("key").display()
    )
}

/// [`main_provider`] and the model `fast` routed to it.
pub fn fast_model(upstream: &ReplayServer, dir: &Path) -> String {
    format!("{}[models.fast]\nroutes = [\"main:demo-model\"]\n", main_provider(upstream, dir))
}

/// A gateway of `text` (after [`serve_config_head`]) in this process, on a free port.
pub async fn serve_in_process(dir: &Path, text: &str) -> cordon::serve::routes::Server {
    let file = dir.join("serve.toml");
    let config = cordon::serve::config::ServeConfig::parse(&file, &format!("{}{text}", serve_config_head())).expect("a valid config");
    let gateway = std::sync::Arc::new(cordon::serve::gateway::Gateway::start(&config).await.expect("the gateway starts"));
    cordon::serve::routes::Server::start(gateway, "127.0.0.1:0".parse().expect("address")).await.expect("listens")
}

/// The demo's recorded answer `name` (`turn1.sse`, `turn2.sse`), as an upstream sends it.
pub fn demo_reply(name: &str) -> Reply {
    let sse = std::fs::read_to_string(root().join("runtime/demo").join(name)).expect("the demo's recorded answer");
    Reply::stream(sse.split_inclusive("\n\n").map(|event| bytes::Bytes::copy_from_slice(event.as_bytes())).collect())
}

/// A response's JSON body.
pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// The parsed OpenMetrics text of a gateway's `GET /metrics`.
pub type Exposition = openmetrics_parser::MetricsExposition<openmetrics_parser::OpenMetricsType, openmetrics_parser::OpenMetricsValue>;

/// `GET {origin}/metrics`, parsed as a scraper would; a parse error fails the test.
pub async fn scrape(client: &reqwest::Client, origin: &str) -> Exposition {
    let response = client.get(format!("{origin}/metrics")).send().await.expect("an answer");
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.expect("a body");
    openmetrics_parser::openmetrics::parse_openmetrics(&text).unwrap_or_else(|err| panic!("not OpenMetrics ({err:?}):\n{text}"))
}

/// The sum of a family's samples whose labels include every pair of `with`:
/// counters and gauges by value, histograms by count.
pub fn metric_total(exposition: &Exposition, family: &str, with: &[(&str, &str)]) -> f64 {
    use openmetrics_parser::OpenMetricsValue;
    let Some(family) = exposition.families.get(family) else { return 0.0 };
    family
        .iter_samples()
        .filter(|sample| {
            let labels: std::collections::HashMap<String, String> =
                sample.get_labelset().map(|set| set.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
            with.iter().all(|(name, value)| labels.get(*name).map(String::as_str) == Some(*value))
        })
        .map(|sample| match &sample.value {
            OpenMetricsValue::Counter(counter) => counter.value.as_f64(),
            OpenMetricsValue::Gauge(gauge) => gauge.as_f64(),
            OpenMetricsValue::Histogram(histogram) => histogram.count.unwrap_or(0) as f64,
            other => panic!("unexpected sample {other:?}"),
        })
        .sum()
}
