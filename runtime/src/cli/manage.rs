//! `cordon status`, `cordon keys`, `cordon reload` and `cordon rollback`: ask a running host
//! (`cordon serve` with `[admin]` in its config) through its admin endpoint,
//! with the token from `CORDON_ADMIN_TOKEN` (the environment only: a flag
//! would show the token to anyone who lists processes).

use std::path::PathBuf;
use std::process::ExitCode;

use cordon::Error;

#[derive(clap::Args)]
pub struct Admin {
    /// The running host's admin endpoint.
    #[arg(long, env = "CORDON_ADMIN", default_value = "http://127.0.0.1:7700")]
    admin: String,
}

#[derive(clap::Args)]
pub struct Reload {
    /// The provider to swap.
    name: String,
    /// The new component file (default: the current file, re-read).
    file: Option<PathBuf>,
    #[command(flatten)]
    admin: Admin,
}

#[derive(clap::Args)]
pub struct Rollback {
    /// The provider to return to its previous version.
    name: String,
    #[command(flatten)]
    admin: Admin,
}

/// The environment variable the admin token is read from.
const TOKEN_VARIABLE: &str = "CORDON_ADMIN_TOKEN";

pub async fn status(admin: Admin) -> cordon::Result<ExitCode> {
    call(client()?.get(format!("{}/status", admin.admin))).await
}

pub async fn keys(admin: Admin) -> cordon::Result<ExitCode> {
    call(client()?.get(format!("{}/keys", admin.admin))).await
}

pub async fn reload(args: Reload) -> cordon::Result<ExitCode> {
    let file = match args.file {
        Some(file) => std::path::absolute(&file).unwrap_or(file).to_string_lossy().into_owned(),
        None => String::new(),
    };
    call(client()?.post(format!("{}/reload/{}", args.admin.admin, args.name)).body(file)).await
}

pub async fn rollback(args: Rollback) -> cordon::Result<ExitCode> {
    call(client()?.post(format!("{}/rollback/{}", args.admin.admin, args.name))).await
}

/// A client for the admin endpoint.
fn client() -> cordon::Result<reqwest::Client> {
    cordon::tls::client_builder().build().map_err(|err| cordon::Error::Config(format!("cannot build the HTTP client: {err}")))
}

/// Send the request, print the JSON answer; a refusal prints its error and fails.
async fn call(request: reqwest::RequestBuilder) -> cordon::Result<ExitCode> {
    let request = match std::env::var(TOKEN_VARIABLE) {
        Ok(token) if !token.is_empty() => request.bearer_auth(token),
        _ => request,
    };
    let response = request.send().await.map_err(|err| {
        Error::Config(format!("cannot reach the admin endpoint ({err}); is `cordon serve` running with [admin] in its config? (--admin / CORDON_ADMIN)"))
    })?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        let why = if std::env::var_os(TOKEN_VARIABLE).is_some() { "is not the endpoint's token" } else { "is not set" };
        return Err(Error::Config(format!(
            "the admin endpoint refused the request: ${TOKEN_VARIABLE} {why}; set it to the token of the gateway's [admin] table"
        )));
    }
    let ok = response.status().is_success();
    let body = response.text().await.map_err(|err| Error::Config(format!("reading the admin answer: {err}")))?;
    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    if ok {
        println!("{value}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: {}", value["error"].as_str().unwrap_or(&value.to_string()));
        Ok(ExitCode::FAILURE)
    }
}
