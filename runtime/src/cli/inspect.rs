//! `cordon inspect`: what a component is (its kind and contract version), what it asks for (with flags for
//! asks that look wrong), and whether the operator has granted it.

use std::collections::HashMap;
use std::process::ExitCode;

use cordon::asks;
use cordon::contract::ContractVersion;
use cordon::trust::{self, LoadGrants, Refusal};
use cordon::Runtime;

#[derive(clap::Args)]
pub struct Args {
    /// Component file (or a name in the components folder).
    file: String,
}

pub async fn run(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let component = runtime.inspect(&args.file).await?;
    let m = &component.manifest;
    println!("component  {}", component.path.display());
    println!("digest     {}", component.digest);
    println!("kind       {}", component.kind());
    println!("name       {}", m.name);
    println!("version    {}", m.version);
    println!("contract   {}", contract_line(component.contract));
    if let Some(description) = &m.description {
        println!("about      {description}");
    }
    println!("exports    {}", component.exports.join(", "));
    println!("imports    {}", component.imports.join(", "));
    let lines = asks::lines(m);
    if lines.is_empty() {
        println!("asks       nothing (no hosts, no secrets)");
    }
    for (line, secret) in lines.iter().zip(m.allowed_hosts.origins().iter().map(|_| None).chain(m.secrets.iter().map(Some))) {
        let suggestion = secret.and_then(|s| s.suggested_env.as_deref()).map(|env| format!(" (suggests ${env})"));
        println!("asks       {line}{}", suggestion.unwrap_or_default());
    }
    println!("asks-id    {}", asks::digest(m));
    for flag in asks::flags(m) {
        println!("FLAG       {}: {}", flag.ask, flag.why);
    }
    println!("approval   {}", approval(runtime, &component));
    let limits: Vec<String> = m.limits.entries().into_iter().map(|(key, value)| format!("{key} = {value}")).collect();
    println!("limits     {}", limits.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// The component's contract version and what it can be asked for.
fn contract_line(contract: ContractVersion) -> String {
    let offers = match contract {
        ContractVersion::V0_1 => "turns only: `cordon models` and `cordon health` need 0.2.0",
        ContractVersion::V0_2 => "turns, list-models, health",
    };
    let current = if contract == ContractVersion::CURRENT { "current" } else { "older, still served" };
    format!("{} ({current}; {offers})", contract.package())
}

/// Whether the trust store grants what the component asks for.
fn approval(runtime: &Runtime, component: &cordon::component::LoadedComponent) -> String {
    let name = &component.manifest.name;
    let file = runtime.trust().path().map_or_else(|| "the trust store".to_owned(), |p| p.display().to_string());
    let Some(approval) = runtime.trust().get(name) else {
        if asks::lines(&component.manifest).is_empty() {
            return "nothing to approve".to_owned();
        }
        let hints: Vec<String> = component.manifest.secrets.iter().map(trust::bind_hint).collect();
        return format!("not approved in {file}: `cordon trust {name} {}`", hints.join(" ")).trim_end().to_owned();
    };
    let values = HashMap::new();
    let load = LoadGrants { hosts: &[], values: &values, deny_unapproved: false };
    match trust::grant(&component.manifest, approval, &load) {
        Ok(granted) => {
            let secrets: Vec<String> =
                granted.secrets.iter().map(|s| format!("`{}` from {}", s.request.name, s.source)).collect();
            let of = approval.component.as_deref().map(|d| format!(", approved for {d}")).unwrap_or_default();
            let same = if approval.component.as_deref() == Some(component.digest.as_str()) { " (this file)" } else { "" };
            format!("approved in {file}{of}{same}{}{}", if secrets.is_empty() { "" } else { "; secrets " }, secrets.join(", "))
        }
        Err(Refusal::Unapproved(asks)) => format!("asks for more than {file} grants it: {}", asks.join("; ")),
        Err(Refusal::Config(why)) => format!("approved in {file}, but {why}"),
    }
}
