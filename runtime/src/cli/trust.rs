//! `cordon trust`: the operator approves what a component asks for (the hosts
//! it may reach, and each secret bound to a value source), recorded in the
//! trust file. Asks that look wrong (see `cordon inspect`) need
//! `--accept-flagged`. With no name, it lists the approvals.

use std::collections::BTreeMap;
use std::process::ExitCode;

use cordon::asks;
use cordon::trust::{Approval, SecretSource};
use cordon::{Error, Runtime};

#[derive(clap::Args)]
pub struct Args {
    /// Component name (or path to a .wasm file); none lists the approvals.
    name: Option<String>,
    /// Bind an asked-for secret: `NAME=env:VARIABLE` or `NAME=file:PATH`; a
    /// signing secret also `NAME=aws` or `NAME=aws:REGION` (the standard AWS
    /// credentials) or `NAME=google` ($GOOGLE_APPLICATION_CREDENTIALS's
    /// service-account file). Repeatable.
    #[arg(long = "secret", value_name = "NAME=SOURCE")]
    secrets: Vec<String>,
    /// Approve even asks that `cordon inspect` flags (internal addresses,
    /// another service's well-known credential).
    #[arg(long)]
    accept_flagged: bool,
    /// Remove the component's approval instead.
    #[arg(long, conflicts_with_all = ["secrets", "accept_flagged"])]
    revoke: bool,
}

pub async fn run(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let mut store = runtime.trust().clone();
    let file = store.path().map_or_else(|| "the trust file".to_owned(), |p| p.display().to_string());
    let Some(name) = args.name else {
        list(&store, &file);
        return Ok(ExitCode::SUCCESS);
    };
    let component = runtime.inspect(&name).await?;
    let manifest = &component.manifest;
    if args.revoke {
        let had = store.revoke(&manifest.name);
        store.save().map_err(Error::Config)?;
        println!("{} the approval of `{}` in {file}", if had { "removed" } else { "there was no" }, manifest.name);
        return Ok(ExitCode::SUCCESS);
    }
    let mut bindings = BTreeMap::new();
    for binding in &args.secrets {
        let (secret, source) = parse_binding(binding)?;
        bindings.insert(secret, source);
    }
    let mut flags: Vec<String> = asks::flags(manifest).into_iter().map(|f| format!("{}: {}", f.ask, f.why)).collect();
    for (secret, source) in &bindings {
        if let SecretSource::Env(var) = source
            && let Some(ask) = manifest.secrets.iter().find(|s| &s.name == secret)
            && let Some(why) = asks::binding_mismatch(ask, var)
        {
            flags.push(format!("your binding of secret `{secret}`: {why}"));
        }
    }
    if !flags.is_empty() && !args.accept_flagged {
        let list: Vec<String> = flags.iter().map(|f| format!("  - {f}")).collect();
        return Err(Error::Config(format!(
            "`{}` ({}) asks for what deserves a second look:\n{}\nNothing was approved. If you mean it, run again with --accept-flagged.",
            manifest.name,
            component.digest,
            list.join("\n")
        )));
    }
    let approval = Approval::for_asks(manifest, &component.digest, &bindings, store.get(&manifest.name))
        .map_err(|why| Error::Config(format!("cannot approve `{}`: {why}", manifest.name)))?;
    println!("approved `{}` ({}) in {file}:", manifest.name, component.digest);
    print_approval(&approval);
    store.approve(&manifest.name, approval);
    store.save().map_err(Error::Config)?;
    Ok(ExitCode::SUCCESS)
}

fn list(store: &cordon::TrustStore, file: &str) {
    let mut any = false;
    for (name, approval) in store.approvals() {
        any = true;
        println!("{name} ({})", approval.component.as_deref().unwrap_or("approved in code"));
        print_approval(approval);
    }
    if !any {
        println!("no approvals in {file}");
    }
}

fn print_approval(approval: &Approval) {
    if approval.hosts.is_empty() && approval.secrets.is_empty() {
        println!("  nothing (it asks for nothing)");
    }
    for host in &approval.hosts {
        println!("  to reach {host}");
    }
    for (name, grant) in &approval.secrets {
        let hosts: Vec<String> = grant.hosts.iter().map(ToString::to_string).collect();
        println!("  secret `{name}` from {}, only to {}", grant.source.describe(), hosts.join(", "));
    }
}

/// A `--secret NAME=SOURCE` binding: the secret's name and where its value comes from.
pub(super) fn parse_binding(binding: &str) -> cordon::Result<(String, SecretSource)> {
    let (secret, source) = binding
        .split_once('=')
        .ok_or_else(|| Error::Config(format!("--secret `{binding}`: write NAME=env:VARIABLE, NAME=file:PATH, NAME=aws[:REGION] or NAME=google")))?;
    let source = SecretSource::parse(source).map_err(|why| Error::Config(format!("--secret `{binding}`: {why}")))?;
    Ok((secret.to_owned(), source))
}
