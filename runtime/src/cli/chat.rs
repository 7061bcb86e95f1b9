//! `cordon chat`: one prompt to a provider, the answer streamed to the terminal.

use std::process::ExitCode;

use cordon::{Message, ProviderOptions, Request, Runtime, Sampling};

use super::render::Terminal;

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
    let mut turn = provider.stream(request);
    let mut terminal = Terminal::default();
    while let Some(event) = turn.next().await {
        terminal.show(&event);
    }
    Ok(terminal.finish())
}
