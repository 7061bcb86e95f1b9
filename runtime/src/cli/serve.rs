//! `cordon serve --config FILE`: the gateway. Reads and checks the file (a bad
//! one never half-starts), loads what it names, and serves the OpenAI and
//! Anthropic APIs until interrupted (Ctrl-C or SIGTERM); then it stops
//! accepting, lets answers in flight finish for up to `drain-seconds`, and
//! exits 0 (1 if some had to be cut).
//!
//! While it serves: a changed component file swaps the providers loaded from
//! it; a changed config file (or SIGHUP) reloads the whole configuration, which
//! applies only if all of it loads (otherwise the running one serves on and
//! the error is printed); an `[admin]` table in the file opens the
//! endpoint `cordon status|reload|rollback` talk to, with its token. No connection is dropped:
//! answers in flight finish on the versions they started on.
//!
//! `cordon serve --demo` needs no file, key or network: the model `demo` is the
//! OpenAI-compatible provider in front of a local upstream replaying the demo's
//! recorded answer; it prints the lines to try.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cordon::admin::Admin;
use cordon::replay::{Reply, ReplayServer};
use cordon::watch::FileWatch;
use cordon::retry::RetryPolicy;
use cordon::serve::config::{DEFAULT_DRAIN_SECONDS, ModelConfig, ProviderConfig, ServeConfig};
use cordon::serve::gateway::Gateway;
use cordon::serve::limits::ServeLimits;
use cordon::serve::routes::Server;
use cordon::trust::{SecretSource, SecretValue};
use cordon::{Error, RuntimeConfig};

#[derive(clap::Args)]
pub struct Args {
    /// The gateway's configuration file (see the README, "The gateway").
    #[arg(long, required_unless_present = "demo", conflicts_with = "demo")]
    config: Option<PathBuf>,
    /// Serve the model `demo`, answered by a local replay of a recorded stream.
    #[arg(long)]
    demo: bool,
    /// Where `--demo` listens.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "demo")]
    listen: SocketAddr,
}

pub async fn run(runtime: RuntimeConfig, args: Args, logging: &super::logging::Logging) -> cordon::Result<ExitCode> {
    // The demo's upstream lives as long as the gateway.
    let mut _upstream = None;
    let config = match &args.config {
        Some(path) => ServeConfig::load(path).map_err(Error::Config)?,
        None => {
            let answer = super::demo::SECOND_ANSWER.split_inclusive("\n\n").map(|e| Bytes::copy_from_slice(e.as_bytes())).collect();
            let upstream = ReplayServer::start(vec![Reply::stream(answer)])
                .await
                .map_err(|err| Error::Config(format!("cannot start the local replay upstream: {err}")))?;
            let config = demo_config(&runtime, &upstream, args.listen);
            _upstream = Some(upstream);
            config
        }
    };
    // Logging starts here, spans going to the collector (if any) from the first one on; what is batched is sent at exit.
    let exporter = match &config.otlp {
        Some(otlp) => {
            // Its HTTP client blocks (on a thread of its own): made off the async threads.
            let made = tokio::task::spawn_blocking({
                let otlp = otlp.clone();
                move || cordon::serve::traces::otlp_layer(&otlp)
            })
            .await
            .map_err(|err| Error::Config(format!("cannot make the span exporter: {err}")))?;
            let (layer, provider) = made.map_err(|why| Error::Config(format!("{}: `telemetry`: {why}", config.path.display())))?;
            logging.install(Some(layer));
            eprintln!("cordon serve: spans go to {}/v1/traces (OTLP/HTTP, JSON) as service `{}`", otlp.endpoint, otlp.service_name);
            Some(provider)
        }
        None => {
            logging.install(None);
            None
        }
    };
    let gateway = Arc::new(Gateway::start(&config).await?);
    // A changed component file swaps every provider loaded from it; turns in
    // flight finish on the version they started on.
    let _watch = cordon::watch::watch(Arc::clone(gateway.registry()), &config.components, cordon::watch::DEFAULT_QUIET)?;
    let models: Vec<&str> = gateway.model_names().collect();
    let server = Server::start(Arc::clone(&gateway), config.listen)
        .await
        .map_err(|err| Error::Config(format!("{}: cannot listen on {}: {err}", config.path.display(), config.listen)))?;
    let _admin = match &config.admin {
        Some(admin) => {
            let addr = admin.listen;
            let admin = Admin::start(Arc::clone(gateway.registry()), addr, &admin.token, Some(server.keys_report()))
                .await
                .map_err(|err| Error::Config(format!("{}: `admin`: cannot listen on {addr}: {err}", config.path.display())))?;
            eprintln!("cordon serve: admin endpoint {} (cordon status|keys|reload|rollback --admin {})", admin.url(), admin.url());
            Some(admin)
        }
        None => None,
    };
    let base = format!("{}/v1", server.url());
    eprintln!("cordon serve: {base} serves {}", models.join(", "));
    if args.demo {
        eprintln!(
            "\nTry it (no key, no network: a recorded answer streams through the sandboxed provider):\n\n  \
             curl -N {base}/chat/completions -H 'content-type: application/json' \\\n    \
             -d '{{\"model\": \"demo\", \"stream\": true, \"messages\": [{{\"role\": \"user\", \"content\": \"Hi\"}}]}}'\n\n  \
             python3 -c 'from openai import OpenAI; print(OpenAI(base_url=\"{base}\", api_key=\"none\").chat.completions.create(model=\"demo\", messages=[{{\"role\": \"user\", \"content\": \"Hi\"}}]).choices[0].message.content)'\n"
        );
    }
    let mut config_watch = match &args.config {
        Some(path) => Some(FileWatch::new(path, CONFIG_QUIET)?),
        None => None,
    };
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let why = tokio::select! {
            () = &mut shutdown => break,
            Some(()) = async { hangups.as_mut()?.recv().await } => "SIGHUP",
            () = async { match config_watch.as_mut() { Some(watch) => watch.changed().await, None => std::future::pending().await } } => "the file changed",
        };
        if let Some(path) = &args.config {
            reload(&server, path, why).await;
        }
    }
    eprintln!("cordon serve: stopping; answers in flight have {} s to finish", config.drain.as_secs());
    let drained = server.shutdown(config.drain).await;
    if let Some(provider) = exporter {
        // Sends what is still batched; it blocks on the collector, so off the async threads.
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(err)) = flushed {
            eprintln!("cordon serve: the last spans could not be sent: {err}");
        }
    }
    if drained {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("cordon serve: some answers were still running after {} s and were cut", config.drain.as_secs());
        Ok(ExitCode::FAILURE)
    }
}

/// How long the config file must be quiet after a change before it is read.
const CONFIG_QUIET: Duration = Duration::from_millis(100);

/// Apply the file at `path` if all of it loads; otherwise keep serving.
async fn reload(server: &Server, path: &std::path::Path, why: &str) {
    let started = std::time::Instant::now();
    let outcome = match ServeConfig::load(path) {
        Ok(config) => server.gateway().reload(&config).await.map_err(|err| err.to_string()),
        Err(problems) => Err(problems),
    };
    match outcome {
        Ok((gateway, restart)) => {
            let models = gateway.model_names().collect::<Vec<_>>().join(", ");
            // Serve it first: whoever reads the line may send a request at once.
            server.replace(Arc::new(gateway));
            eprintln!("cordon serve: reloaded {} ({why}) in {:.0?}: serves {models}", path.display(), started.elapsed());
            for change in restart {
                eprintln!("cordon serve: {change}: restart to apply it");
            }
        }
        Err(error) => eprintln!("cordon serve: {} ({why}) was not applied; the running configuration serves on:\n{error}", path.display()),
    }
}

/// The built-in configuration of `--demo`.
fn demo_config(runtime: &RuntimeConfig, upstream: &ReplayServer, listen: SocketAddr) -> ServeConfig {
    let provider = ProviderConfig {
        component: "openai".into(),
        base_url: Some(format!("{}/v1", upstream.url())),
        default_model: None,
        options: None,
        hosts: Vec::new(),
        // The recorded upstream checks no key; the provider still needs one bound.
        secrets: BTreeMap::from([("api-key".to_owned(), SecretSource::Value(SecretValue::new("demo")))]),
        secret_hosts: Vec::new(),
        limits: None,
        list_models: false,
        health_check: false,
    };
    let model = ModelConfig { routes: vec![("demo".into(), "demo-model".into())], retry: RetryPolicy::default(),
        tools: Vec::new(),
        tool_steps: 1,
        limits: Default::default(),
    };
    ServeConfig {
        path: PathBuf::from("(built-in demo configuration)"),
        listen,
        drain: Duration::from_secs(DEFAULT_DRAIN_SECONDS),
        admin: None,
        keys: BTreeMap::new(),
        allow_unauthenticated: false,
        prices: cordon::serve::prices::Prices::with(&BTreeMap::new()),
        otlp: None,
        limits: ServeLimits::default(),
        components: runtime.components_dir.clone(),
        cache: runtime.cache_dir.clone().unwrap_or_else(|| runtime.components_dir.join("../cache")),
        providers: BTreeMap::from([("demo".to_owned(), provider)]),
        models: BTreeMap::from([("demo".to_owned(), model)]),
        tools: BTreeMap::new(),
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
