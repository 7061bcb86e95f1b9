//! `cordon providers`: the named services (presets) Cordon reaches, each with
//! its component, base URL, the variable its key is suggested from and what
//! it does differently; with a name, one preset in full and how to use it.

use std::path::Path;
use std::process::ExitCode;

use cordon::manifest::{Manifest, SecretScheme};
use cordon::presets::{self, Preset};
use cordon::{Error, limits::Limits};
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// Show this preset in full, with a gateway table and a chat command that use it.
    name: Option<String>,
    /// One JSON object per preset instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(components: &Path, args: Args) -> cordon::Result<ExitCode> {
    let all = presets::all().map_err(Error::Config)?;
    let chosen: Vec<&Preset> = match &args.name {
        Some(name) => vec![presets::find(name).map_err(Error::Config)?],
        None => all.iter().collect(),
    };
    if args.json {
        for preset in chosen {
            println!("{}", json_line(preset, components));
        }
    } else if let [preset] = chosen.as_slice()
        && args.name.is_some()
    {
        show(preset, components);
    } else {
        table(&chosen, components);
    }
    Ok(ExitCode::SUCCESS)
}

/// The presets as a table, columns as wide as their longest cell.
fn table(presets: &[&Preset], components: &Path) {
    let header = ["NAME", "COMPONENT", "BASE URL", "KEY", "QUIRKS"].map(str::to_owned);
    let rows: Vec<[String; 5]> = presets
        .iter()
        .map(|p| [p.name.clone(), p.component.clone(), p.base_url.clone(), p.describe_secret(), quirks(p, components)])
        .collect();
    let mut widths = header.clone().map(|cell| cell.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(cell, width)| format!("{cell:width$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
    println!("\n{} presets. `cordon providers NAME` shows one in full; `cordon chat --preset NAME` and `preset = \"NAME\"` in a gateway's [providers.X] use it.", presets.len());
}

/// One preset in full, with a gateway table and a chat command that use it.
fn show(preset: &Preset, components: &Path) {
    println!("{} — {}", preset.name, preset.title);
    println!("  component:  {}", preset.component);
    println!("  base URL:   {}", preset.base_url);
    println!("  key:        {} (secret `{}`)", preset.describe_secret(), preset.secret_name);
    if let Some(auth) = auth(preset, components) {
        println!("  sent as:    {auth}");
    }
    if !preset.options.is_empty() {
        println!("  options:    {}", Value::Object(preset.options.clone()));
    }
    if let Some(reasoning) = &preset.reasoning {
        println!("  reasoning:  {reasoning}");
    }
    if let Some(notes) = &preset.notes {
        println!("  notes:      {notes}");
    }
    // A preset with a placeholder needs the operator's own base URL.
    let own_base = preset.placeholder().map(|name| preset.base_url.replace(&format!("{{{name}}}"), "MY-RESOURCE"));
    let config_base = own_base.as_ref().map(|url| format!("base-url = \"{url}\"\n")).unwrap_or_default();
    println!("\nIn a gateway config:\n\n[providers.{}]\npreset = \"{}\"\n{config_base}", preset.name, preset.name);
    let chat_base = own_base.map(|url| format!(" --base-url {url}")).unwrap_or_default();
    println!("From the command line:\n\n  cordon chat --preset {}{chat_base} --model MODEL \"Hello\"", preset.name);
}

/// One preset as a JSON object.
fn json_line(preset: &Preset, components: &Path) -> Value {
    serde_json::json!({
        "name": preset.name,
        "title": preset.title,
        "component": preset.component,
        "base_url": preset.base_url,
        "secret": preset.secret_name,
        "key": preset.describe_secret(),
        "key_env": preset.secret_env(),
        "key_optional": preset.key_optional,
        "auth": auth(preset, components),
        "options": preset.options,
        "reasoning": preset.reasoning,
        "notes": preset.notes,
    })
}

/// What the preset's options change, the auth header when it is not a bearer
/// token, and where reasoning streams, in one cell.
fn quirks(preset: &Preset, components: &Path) -> String {
    let mut parts: Vec<String> = preset.options.iter().map(|(key, value)| format!("{key}={}", compact(value))).collect();
    if let Some(auth) = auth(preset, components).filter(|auth| !auth.starts_with("authorization: Bearer")) {
        parts.push(auth);
    }
    if let Some(reasoning) = &preset.reasoning {
        parts.push(format!("reasoning: {reasoning}"));
    }
    parts.join("; ")
}

/// A JSON value without quotes around plain words.
fn compact(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(compact).collect::<Vec<_>>().join(",")),
        Value::Object(map) => {
            let pairs: Vec<String> = map.iter().map(|(key, value)| format!("{key}→{}", compact(value))).collect();
            format!("{{{}}}", pairs.join(","))
        }
        other => other.to_string(),
    }
}

/// How the component sends the preset's secret, from its manifest in the
/// components folder (`None` when it is not built there).
fn auth(preset: &Preset, components: &Path) -> Option<String> {
    let manifest = Manifest::load(&components.join(format!("{}.toml", preset.component)), &Limits::HOST_MAX).ok()?;
    let secret = manifest.secrets.into_iter().find(|s| s.name == preset.secret_name)?;
    Some(match secret.scheme {
        SecretScheme::Header { header, format } => format!("{header}: {}", format.replace("{value}", "KEY")),
        SecretScheme::AwsSigV4 { service } => format!("AWS SigV4 ({service})"),
        SecretScheme::GoogleServiceAccount { .. } => "authorization: Bearer (a token the host mints)".to_owned(),
    })
}
