//! `cordon tools`: the actions of tool components, by the names models call
//! them, with their descriptions and argument schemas.

use std::process::ExitCode;

use cordon::{Runtime, Tool, ToolOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Tool components (names or paths); all tools in the components folder if none.
    names: Vec<String>,
    /// One JSON object per action instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let tools = if args.names.is_empty() {
        all_tools(runtime).await?
    } else {
        let mut tools = Vec::new();
        for name in &args.names {
            tools.push(runtime.load_tool(name, listing()).await?);
        }
        tools
    };
    if tools.is_empty() {
        eprintln!("no tool components found; build them with `cargo xtask build`");
    }
    for tool in &tools {
        let manifest = &tool.component().manifest;
        if !args.json {
            println!("{} {} — {}", tool.name(), manifest.version, tool.description());
            println!("  asks to reach: {}", manifest.allowed_hosts.describe());
        }
        for action in tool.actions() {
            if args.json {
                let line = serde_json::json!({
                    "tool": tool.name(),
                    "version": manifest.version,
                    "name": action.exposed_name,
                    "description": action.description,
                    "parameters": action.parameters,
                });
                println!("{line}");
            } else {
                println!("  {}", action.exposed_name);
                println!("    {}", action.description);
                println!("    parameters: {}", action.parameters);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Listing a tool runs only its `info`, which may not call the host: it is
/// loaded with nothing granted, whatever its manifest asks for.
fn listing() -> ToolOptions {
    ToolOptions { deny_unapproved: true, ..ToolOptions::default() }
}

/// Every tool in the components folder; providers are passed over, and a tool
/// that fails to load is reported and skipped.
async fn all_tools(runtime: &Runtime) -> cordon::Result<Vec<Tool>> {
    let dir = runtime.components_dir();
    let entries = std::fs::read_dir(dir).map_err(|source| cordon::Error::Io { path: dir.to_owned(), source })?;
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    paths.sort();
    let mut tools = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        match runtime.inspect(&shown).await {
            Ok(component) if component.kind() == "tool" => match runtime.load_tool(&shown, listing()).await {
                Ok(tool) => tools.push(tool),
                Err(err) => eprintln!("skipping {shown}: {err}"),
            },
            Ok(_) => {}
            Err(err) => eprintln!("skipping {shown}: {err}"),
        }
    }
    Ok(tools)
}
