//! `cordon demo`: a built-in recorded two-step conversation, served by a local
//! replay upstream and streamed through the OpenAI-compatible provider, with
//! the host running the tool loop. The model's first answer streams text and a
//! call to the `calculator` tool component; the host checks the arguments, runs
//! the real calculator in its sandbox and sends the result back; the recorded
//! second answer streams the final text.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::{Error, LoopEvent, Message, ProviderOptions, Request, Runtime, ToolLoop, ToolOptions, Toolbox};

use super::render::Terminal;

/// The recorded first answer (text and a tool call).
pub const FIRST_ANSWER: &str = include_str!("../../demo/turn1.sse");
/// The recorded final answer; `cordon serve --demo` serves it.
pub const SECOND_ANSWER: &str = include_str!("../../demo/turn2.sse");
/// The components the demo loads; `cargo xtask demo` reads the same file to
/// know what to build.
const COMPONENTS: &str = include_str!("../../demo/components.toml");
/// Pause between streamed chunks, so the stream is visible.
const CHUNK_DELAY: Duration = Duration::from_millis(30);

/// The demo's provider and tool, as `runtime/demo/components.toml` names them.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Components {
    provider: String,
    tool: String,
}

pub async fn run(runtime: &Runtime) -> cordon::Result<ExitCode> {
    let components: Components =
        toml::from_str(COMPONENTS).map_err(|err| Error::Config(format!("the demo's components.toml: {err}")))?;
    let replies = [FIRST_ANSWER, SECOND_ANSWER]
        .into_iter()
        .map(|answer| {
            let events = answer.split_inclusive("\n\n").map(|e| Bytes::copy_from_slice(e.as_bytes()));
            let mut reply = Reply::stream(events.collect());
            reply.chunk_delay = CHUNK_DELAY;
            reply
        })
        .collect::<Vec<_>>();
    let server = ReplayServer::start(replies)
        .await
        .map_err(|err| Error::Config(format!("cannot start the local replay upstream: {err}")))?;
    // The recorded upstream is all the provider may reach; it gets no secret value.
    let options = ProviderOptions {
        base_url: Some(format!("{}/v1", server.url())),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime.load_provider(&components.provider, options).await?;
    let calculator = runtime.load_tool(&components.tool, ToolOptions::default()).await?;
    eprintln!(
        "cordon demo: provider `{}` {} and tool `{}` in the sandbox, upstream: recorded replay at {}\n",
        provider.info().name,
        provider.info().version,
        calculator.name(),
        server.url()
    );

    let question = "Dinner came to €187.40 and we're adding a 15% tip. Split three ways, what does each of us pay?";
    println!("\x1b[1muser:\x1b[0m {question}\n");
    let request = Request { model: "demo-model".into(), messages: vec![Message::user(question)], ..Request::default() };
    let agent = ToolLoop::new(provider, Toolbox::with([calculator])?).max_steps(4);
    let mut run = agent.run(request);
    let mut terminal = Terminal::default();
    let mut step = 0;
    while let Some(step_event) = run.next().await {
        if step_event.step != step {
            step = step_event.step;
            print!("{}\x1b[1massistant:\x1b[0m ", if step > 1 { "\n" } else { "" });
        }
        match &step_event.event {
            LoopEvent::Model(event) => terminal.show(event),
            LoopEvent::ToolResult(outcome) => terminal.show_tool_result(outcome),
        }
    }
    run.into_result().await?;
    Ok(terminal.finish())
}
