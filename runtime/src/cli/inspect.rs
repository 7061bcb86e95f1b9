//! `cordon inspect`: what a component is and what it may do.

use std::process::ExitCode;

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
    println!("kind       {}", component.kind());
    println!("name       {}", m.name);
    println!("version    {}", m.version);
    println!("contract   {}", m.contract);
    if let Some(description) = &m.description {
        println!("about      {description}");
    }
    println!("exports    {}", component.exports.join(", "));
    println!("imports    {}", component.imports.join(", "));
    println!("hosts      {}", m.allowed_hosts.describe());
    if m.secrets.is_empty() {
        println!("secrets    none");
    }
    for secret in &m.secrets {
        println!(
            "secret     {} (from ${}, header `{}`, only to {})",
            secret.name,
            secret.env,
            secret.header,
            secret.hosts.describe()
        );
    }
    let limits: Vec<String> = m.limits.entries().into_iter().map(|(key, value)| format!("{key} = {value}")).collect();
    println!("limits     {}", limits.join(", "));
    Ok(ExitCode::SUCCESS)
}
