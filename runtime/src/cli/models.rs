//! `cordon models PROVIDER` and `cordon health PROVIDER`: load a provider as
//! `cordon chat --provider` does (its grants from the trust file) and call its
//! `list-models` or `health` export (contract 0.2.0; a 0.1.0 component is
//! told apart with a clear error). Output is a table, or JSON with `--json`.

use std::process::ExitCode;

use cordon::models::HealthStatus;
use cordon::{Error, Provider, ProviderOptions, Runtime};

/// Which provider, and where it is.
#[derive(clap::Args)]
pub struct Args {
    /// Provider component name (or path to a .wasm file).
    provider: String,
    /// Base URL of the upstream (default: the provider's own).
    #[arg(long)]
    base_url: Option<String>,
    /// Provider options, a JSON object (as `cordon chat --options`).
    #[arg(long)]
    options: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

async fn load(runtime: &Runtime, args: &Args) -> cordon::Result<Provider> {
    let options = match &args.options {
        Some(text) => Some(serde_json::from_str(text).map_err(|err| Error::Config(format!("--options is not a JSON object: {err}")))?),
        None => None,
    };
    runtime.load_provider(&args.provider, ProviderOptions { base_url: args.base_url.clone(), options, ..ProviderOptions::default() }).await
}

/// `cordon models`: the upstream's models, one a line.
pub async fn models(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let models = load(runtime, &args).await?.list_models().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&models).map_err(|err| Error::Config(err.to_string()))?);
        return Ok(ExitCode::SUCCESS);
    }
    for model in &models {
        let mut known = Vec::new();
        if let Some(tokens) = model.context_window {
            known.push(format!("context {tokens}"));
        }
        if let Some(tokens) = model.max_output_tokens {
            known.push(format!("output {tokens}"));
        }
        if model.tools == Some(true) {
            known.push("tools".to_owned());
        }
        if model.reasoning == Some(true) {
            known.push("reasoning".to_owned());
        }
        let name = model.display_name.as_deref().map(|name| format!(" ({name})")).unwrap_or_default();
        println!("{}{name}{}{}", model.id, if known.is_empty() { "" } else { "  " }, known.join(", "));
    }
    eprintln!("models: {} listed by {}", models.len(), args.provider);
    Ok(ExitCode::SUCCESS)
}

/// `cordon health`: the verdict; exit status 0 only when `ok`.
pub async fn health(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let health = load(runtime, &args).await?.health().await?;
    if args.json {
        println!("{}", serde_json::to_string(&health).map_err(|err| Error::Config(err.to_string()))?);
    } else {
        let reason = health.reason.as_deref().map(|reason| format!(": {reason}")).unwrap_or_default();
        println!("{} ({} ms){reason}", health.status.as_str(), health.took_ms);
    }
    Ok(if health.status == HealthStatus::Ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
