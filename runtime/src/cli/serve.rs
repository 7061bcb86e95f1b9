//! `cordon serve --config FILE`: the gateway. Reads and checks the file (a bad
//! one never half-starts), loads what it names, and serves the OpenAI Chat
//! Completions API until interrupted (Ctrl-C or SIGTERM); then it stops
//! accepting, lets answers in flight finish for up to `drain-seconds`, and
//! exits 0 (1 if some had to be cut).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use cordon::Error;
use cordon::serve::config::ServeConfig;
use cordon::serve::gateway::Gateway;
use cordon::serve::routes::Server;

#[derive(clap::Args)]
pub struct Args {
    /// The gateway's configuration file (see the README, "The gateway").
    #[arg(long)]
    config: PathBuf,
}

pub async fn run(args: Args) -> cordon::Result<ExitCode> {
    let config = ServeConfig::load(&args.config).map_err(Error::Config)?;
    let gateway = Arc::new(Gateway::start(&config).await?);
    let models: Vec<&str> = gateway.model_names().collect();
    let server = Server::start(Arc::clone(&gateway), config.listen)
        .await
        .map_err(|err| Error::Config(format!("{}: cannot listen on {}: {err}", config.path.display(), config.listen)))?;
    eprintln!("cordon serve: {}/v1 serves {}", server.url(), models.join(", "));
    shutdown_signal().await;
    eprintln!("cordon serve: stopping; answers in flight have {} s to finish", config.drain.as_secs());
    if server.shutdown(config.drain).await {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("cordon serve: some answers were still running after {} s and were cut", config.drain.as_secs());
        Ok(ExitCode::FAILURE)
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
