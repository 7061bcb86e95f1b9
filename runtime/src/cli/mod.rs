//! Command-line parsing and dispatch. Each subcommand lives in its own file and
//! stays thin: the work is done by the library.

mod call;
mod chat;
mod demo;
mod inspect;
mod manage;
mod new;
mod render;
mod replay;
mod serve;
mod tools;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon::serve::traces::OtlpLayer;
use cordon::{Error, Runtime, RuntimeConfig, TrustStore};

/// Cordon: run LLM providers as sandboxed WebAssembly components.
#[derive(Parser)]
#[command(name = "cordon", version, about)]
struct Cli {
    /// Folder holding `<name>.wasm` components and their `<name>.toml` manifests.
    #[arg(long, global = true, env = "CORDON_COMPONENTS", default_value = "dist/components")]
    components: PathBuf,

    /// Folder for compiled components (default: `cache` beside the components folder).
    #[arg(long, global = true, env = "CORDON_CACHE")]
    cache: Option<PathBuf>,

    /// The operator's trust file: what each component is granted (default:
    /// `trust.toml` beside the components folder). Keep it where component
    /// authors cannot write.
    #[arg(long, global = true, env = "CORDON_TRUST")]
    trust: Option<PathBuf>,

    /// How log lines are written to stderr: `text`, or `json` (one object a
    /// line, with the fields of the line and of its spans) for a collector.
    /// Which lines: `CORDON_LOG` (e.g. `info`; default `warn`).
    #[arg(long, global = true, env = "CORDON_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

/// The format of log lines.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Chat with a provider, streaming the answer as it arrives; with `--tool`, the model may call tools.
    Chat(chat::Args),
    /// Serve a recorded stream locally, run one turn against it, print normalized events as JSON lines.
    Replay(replay::Args),
    /// Run one action of a tool component and print its output (or check a file of calls).
    Call(call::Args),
    /// Write a new provider or tool from a template, ready to build and test.
    New(new::Args),
    /// List the actions of tool components with their argument schemas.
    Tools(tools::Args),
    /// Show a component's kind, name, version, contract, exports, what it asks for (flagged where it looks wrong), its approval and limits.
    Inspect(inspect::Args),
    /// Approve what a component asks for (hosts, secrets bound to a source) in the trust file; with no name, list the approvals.
    Trust(trust::Args),
    /// Stream a built-in recorded conversation through the OpenAI-compatible provider, the host running the calculator tool.
    Demo,
    /// The gateway: serve the OpenAI (Chat Completions, Responses) and Anthropic (Messages) APIs over the providers, models and tools of a config file.
    Serve(serve::Args),
    /// Show the versions a running gateway serves (`cordon serve` with `admin` in its config).
    Status(manage::Admin),
    /// Show each client key of a running gateway: its models, limits, budget and spend.
    Keys(manage::Admin),
    /// Swap a provider in a running host to a new file; the old one stays if the new one fails.
    Reload(manage::Reload),
    /// Return a provider in a running host to its previous version.
    Rollback(manage::Rollback),
}

/// Run the command line; the exit code is 0 when the command succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let spans = init_logging(cli.log_format);
    let runtime = match async_runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, spans)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Where `cordon serve` installs its OTLP span exporter, if its config has
/// one. Until then no span is made for it: its filter lets none through.
pub struct SpanExport {
    layer: tracing_subscriber::reload::Handle<Option<OtlpLayer>, tracing_subscriber::Registry>,
    filter: tracing_subscriber::reload::Handle<tracing_subscriber::filter::Targets, tracing_subscriber::Registry>,
}

impl SpanExport {
    /// Export spans through `layer` from now on.
    pub fn install(&self, layer: OtlpLayer) -> Result<(), String> {
        self.layer.reload(Some(layer)).map_err(|err| err.to_string())?;
        self.filter.reload(cordon::serve::traces::exported_spans()).map_err(|err| err.to_string())
    }
}

/// Log lines to stderr in `format`, filtered by `CORDON_LOG`; and an empty
/// place for an OTLP exporter, filled by `cordon serve` once it has read its config.
fn init_logging(format: LogFormat) -> SpanExport {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;

    let lines_filter = || tracing_subscriber::EnvFilter::try_from_env("CORDON_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let (otlp, layer) = tracing_subscriber::reload::Layer::new(None::<OtlpLayer>);
    // A filter must be there when the subscriber starts: one that lets nothing through, until an exporter is installed.
    let (exported, filter) = tracing_subscriber::reload::Layer::new(tracing_subscriber::filter::Targets::new());
    let subscriber = tracing_subscriber::registry().with(otlp.with_filter(exported));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        // Colours for a terminal only: a log file or a collector gets plain text.
        LogFormat::Text => subscriber.with(lines.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).with_filter(lines_filter())).init(),
        LogFormat::Json => subscriber.with(lines.json().with_current_span(true).with_span_list(true).with_filter(lines_filter())).init(),
    }
    SpanExport { layer, filter }
}

/// The async runtime: one thread when the process may use one core (as in a
/// container given one CPU, or under `taskset -c 0`): its scheduler then hands
/// nothing between threads, where a multi-threaded runtime with one worker
/// still runs the main task on its own thread beside the worker's.
fn async_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    }
}

async fn run(cli: Cli, spans: SpanExport) -> cordon::Result<ExitCode> {
    let trust_file = cli.trust.unwrap_or_else(|| match cli.components.parent() {
        Some(parent) => parent.join("trust.toml"),
        None => PathBuf::from("trust.toml"),
    });
    let mut config = RuntimeConfig::new(cli.components);
    if cli.cache.is_some() {
        config.cache_dir = cli.cache;
    }
    config.trust = TrustStore::load(&trust_file).map_err(Error::Config)?;
    match cli.command {
        Command::Chat(args) => chat::run(&Runtime::new(config)?, args).await,
        Command::Replay(args) => replay::run(&Runtime::new(config)?, args).await,
        Command::Call(args) => call::run(&Runtime::new(config)?, args).await,
        Command::New(args) => new::run(args),
        Command::Tools(args) => tools::run(&Runtime::new(config)?, args).await,
        Command::Inspect(args) => inspect::run(&Runtime::new(config)?, args).await,
        Command::Trust(args) => trust::run(&Runtime::new(config)?, args).await,
        Command::Demo => demo::run(&Runtime::new(config)?).await,
        Command::Serve(args) => serve::run(config, args, spans).await,
        Command::Status(admin) => manage::status(admin).await,
        Command::Keys(admin) => manage::keys(admin).await,
        Command::Reload(args) => manage::reload(args).await,
        Command::Rollback(args) => manage::rollback(args).await,
    }
}
