//! `cordon chat`: one prompt to a provider, the answer streamed to the terminal.
//! With `--tool`, the host runs the tool loop: the model may call the tools'
//! actions, and each step's events and tool results stream as they happen.
//!
//! `--preset NAME` names a service instead of a component (`cordon
//! providers`): its component, base URL and options, and its key from the
//! variable the preset suggests. The command line is then the grant, as a
//! gateway's config is: the base URL's origin, with the key bound as the
//! preset (or `--secret`) says; nothing else the component asks for.

use std::collections::BTreeMap;
use std::process::ExitCode;

use cordon::presets::{self, Preset};
use cordon::trust::SecretGrant;
use cordon::{
    Error, HostGrant, LoopEvent, LoopStop, Message, Origin, ProviderOptions, Request, Runtime, Sampling, ToolLoop,
    ToolOptions, Toolbox,
};

use super::render::{Terminal, json_line};

#[derive(clap::Args)]
pub struct Args {
    /// Provider component name (or path to a .wasm file).
    #[arg(long, required_unless_present = "preset", conflicts_with = "preset")]
    provider: Option<String>,
    /// A named service (`cordon providers` lists them): its component, base
    /// URL, options and the variable its key is read from.
    #[arg(long)]
    preset: Option<String>,
    /// Bind the preset's key to another source than the one it suggests:
    /// NAME=env:VARIABLE, NAME=file:PATH, NAME=aws[:REGION] or NAME=google
    /// (NAME is the component's secret, e.g. api-key).
    #[arg(long = "secret", value_name = "NAME=SOURCE", requires = "preset")]
    secrets: Vec<String>,
    /// Provider options as a JSON object (over the preset's, key by key).
    #[arg(long)]
    options: Option<String>,
    /// Model id (default: the provider's).
    #[arg(long, default_value = "")]
    model: String,
    /// Upstream base URL, e.g. http://localhost:8000/v1. Its host is granted to the
    /// provider, with its secrets: the API key is sent there. With a preset, it
    /// replaces the preset's.
    #[arg(long)]
    base_url: Option<String>,
    /// System prompt.
    #[arg(long)]
    system: Option<String>,
    /// Maximum output tokens.
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Sampling temperature.
    #[arg(long)]
    temperature: Option<f32>,
    /// A tool component the model may use (name or path; repeat for more). Its
    /// actions are offered as `{tool}__{action}`.
    #[arg(long = "tool", value_name = "NAME")]
    tools: Vec<String>,
    /// Most provider turns in the tool loop.
    #[arg(long, default_value_t = cordon::tool_loop::DEFAULT_MAX_STEPS)]
    max_steps: u32,
    /// An origin (e.g. http://127.0.0.1:8080) every tool may reach beyond its
    /// manifest's allowed hosts, without secrets. Repeatable.
    #[arg(long = "tool-host", value_name = "ORIGIN")]
    tool_hosts: Vec<String>,
    /// Print every event as a JSON line (tagged with its step) instead of text.
    #[arg(long)]
    json: bool,
    /// The prompt.
    prompt: String,
}

pub async fn run(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let options = match &args.options {
        Some(text) => Some(
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|err| Error::Config(format!("--options: not JSON ({err}); write an object such as '{{\"project\": \"p\"}}'")))?,
        ),
        None => None,
    };
    let (component, options) = match (&args.preset, &args.provider) {
        (Some(name), _) => {
            let preset = presets::find(name).map_err(Error::Config)?;
            preset_options(runtime, preset, &args, options.as_ref())?
        }
        (None, Some(provider)) => (provider.clone(), ProviderOptions { base_url: args.base_url.clone(), options, ..ProviderOptions::default() }),
        (None, None) => return Err(Error::Config("name a --provider or a --preset".into())),
    };
    let provider = runtime.load_provider(&component, options).await?;
    let mut messages = Vec::new();
    if let Some(system) = args.system {
        messages.push(Message::system(system));
    }
    messages.push(Message::user(args.prompt));
    let request = Request {
        model: args.model,
        messages,
        sampling: Sampling { max_output_tokens: args.max_tokens, temperature: args.temperature, ..Sampling::default() },
        ..Request::default()
    };
    if args.tools.is_empty() {
        let mut turn = provider.stream(request);
        let mut terminal = Terminal::default();
        while let Some(event) = turn.next().await {
            if args.json {
                println!("{}", json_line(&event));
            } else {
                terminal.show(&event);
            }
        }
        let ok = turn.into_result().await.is_ok();
        return Ok(if ok { terminal.finish() } else { ExitCode::FAILURE });
    }

    let mut grants = Vec::new();
    for host in &args.tool_hosts {
        let origin: Origin = host.parse().map_err(|err| cordon::Error::Config(format!("--tool-host `{host}`: {err}")))?;
        grants.push(HostGrant { origin, with_secrets: false });
    }
    let mut toolbox = Toolbox::new();
    for name in &args.tools {
        let options = ToolOptions { grants: grants.clone(), ..ToolOptions::default() };
        toolbox.add(runtime.load_tool(name, options).await?)?;
    }
    let agent = ToolLoop::new(provider, toolbox).max_steps(args.max_steps);
    let mut run = agent.run(request);
    let mut terminal = Terminal::default();
    let mut step = 0;
    while let Some(step_event) = run.next().await {
        if args.json {
            println!("{}", json_line(&step_event));
            continue;
        }
        if step_event.step != step {
            step = step_event.step;
            eprintln!("\x1b[2m── step {step} ──\x1b[0m");
        }
        match &step_event.event {
            LoopEvent::Model(event) => terminal.show(event),
            LoopEvent::ToolResult(outcome) => terminal.show_tool_result(outcome),
        }
    }
    match run.into_result().await {
        Ok(result) => {
            if let LoopStop::StepLimit { max_steps } = result.stop {
                eprintln!("stopped: the model was still calling tools after {max_steps} steps (--max-steps)");
            }
            Ok(terminal.finish())
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The component and load options of `preset`: its base URL (or `--base-url`)
/// and options (with `--options` over them), its key bound as `--secret` or
/// the preset says, added to what the trust file grants the component.
fn preset_options(
    runtime: &Runtime,
    preset: &Preset,
    args: &Args,
    options: Option<&serde_json::Value>,
) -> cordon::Result<(String, ProviderOptions)> {
    let resolved = preset.resolve(args.base_url.as_deref(), options).map_err(Error::Config)?;
    let mut bindings = BTreeMap::new();
    for binding in &args.secrets {
        let (name, source) = super::trust::parse_binding(binding)?;
        bindings.insert(name, source);
    }
    if !bindings.contains_key(&preset.secret_name) {
        if let Some(var) = preset.secret_env()
            && !preset.key_optional
            && std::env::var_os(var).is_none_or(|value| value.is_empty())
        {
            return Err(Error::Config(format!(
                "preset `{}` reads its key from ${var}, which is not set: export it, or bind another source with \
                 --secret {}=env:VARIABLE",
                preset.name, preset.secret_name
            )));
        }
        bindings.insert(preset.secret_name.clone(), preset.secret.clone());
    }
    let mut approval = runtime.trust().get(&resolved.component).cloned().unwrap_or_default();
    for (name, source) in bindings {
        // The base URL's origin is granted with the secrets when it loads.
        approval.secrets.insert(name, SecretGrant { source, hosts: Vec::new() });
    }
    let options = ProviderOptions {
        base_url: Some(resolved.base_url),
        options: resolved.options,
        approval: Some(approval),
        // What the component asks beyond the preset's service is not granted.
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    Ok((resolved.component, options))
}
