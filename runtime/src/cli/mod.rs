//! Command-line parsing and dispatch. Each subcommand lives in its own file and
//! stays thin: the work is done by the library.

mod call;
mod chat;
mod demo;
mod inspect;
mod log_line;
mod logging;
mod manage;
mod models;
mod new;
mod providers;
mod render;
mod replay;
mod serve;
mod tools;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Chat with a provider, streaming the answer as it arrives; with `--tool`, the model may call tools.
    Chat(chat::Args),
    /// List the named services (presets): component, base URL, key variable and quirks; with a name, one in full.
    Providers(providers::Args),
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
    /// List the models a provider's upstream offers (its `list-models`, contract 0.2.0).
    Models(models::Args),
    /// Probe a provider's upstream (its `health`, contract 0.2.0); exits non-zero unless `ok`.
    Health(models::Args),
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
    let (logging, flush) = logging::prepare(cli.log_format);
    let runtime = match async_runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli, logging));
    // The lines logged before an error is printed.
    drop(flush);
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
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

async fn run(cli: Cli, logging: logging::Logging) -> cordon::Result<ExitCode> {
    let trust_file = cli.trust.unwrap_or_else(|| match cli.components.parent() {
        Some(parent) => parent.join("trust.toml"),
        None => PathBuf::from("trust.toml"),
    });
    let mut config = RuntimeConfig::new(cli.components);
    if cli.cache.is_some() {
        config.cache_dir = cli.cache;
    }
    config.trust = TrustStore::load(&trust_file).map_err(Error::Config)?;
    // The gateway installs it once its config says whether spans are exported.
    if !matches!(cli.command, Command::Serve(_)) {
        logging.install(None);
    }
    match cli.command {
        Command::Chat(args) => chat::run(&Runtime::new(config)?, args).await,
        Command::Providers(args) => providers::run(&config.components_dir, args),
        Command::Replay(args) => replay::run(&Runtime::new(config)?, args).await,
        Command::Call(args) => call::run(&Runtime::new(config)?, args).await,
        Command::New(args) => new::run(args),
        Command::Tools(args) => tools::run(&Runtime::new(config)?, args).await,
        Command::Inspect(args) => inspect::run(&Runtime::new(config)?, args).await,
        Command::Models(args) => models::models(&Runtime::new(config)?, args).await,
        Command::Health(args) => models::health(&Runtime::new(config)?, args).await,
        Command::Trust(args) => trust::run(&Runtime::new(config)?, args).await,
        Command::Demo => demo::run(&Runtime::new(config)?).await,
        Command::Serve(args) => serve::run(config, args, &logging).await,
        Command::Status(admin) => manage::status(admin).await,
        Command::Keys(admin) => manage::keys(admin).await,
        Command::Reload(args) => manage::reload(args).await,
        Command::Rollback(args) => manage::rollback(args).await,
    }
}
