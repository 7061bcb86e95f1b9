//! `cordon chat`: one prompt to a provider, the answer streamed to the terminal.
//! With `--tool`, the host runs the tool loop: the model may call the tools'
//! actions, and each step's events and tool results stream as they happen.

use std::process::ExitCode;

use cordon::{
    HostGrant, LoopEvent, LoopStop, Message, Origin, ProviderOptions, Request, Runtime, Sampling, ToolLoop, ToolOptions,
    Toolbox,
};

use super::render::{Terminal, json_line};

#[derive(clap::Args)]
pub struct Args {
    /// Provider component name (or path to a .wasm file).
    #[arg(long)]
    provider: String,
    /// Model id (default: the provider's).
    #[arg(long, default_value = "")]
    model: String,
    /// Upstream base URL, e.g. http://localhost:8000/v1. Its host is granted to the
    /// provider, with its secrets: the API key is sent there.
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
    let options = ProviderOptions { base_url: args.base_url, ..ProviderOptions::default() };
    let provider = runtime.load_provider(&args.provider, options).await?;
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
