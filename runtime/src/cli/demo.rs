//! `cordon demo`: a built-in recorded two-step conversation, served by a local
//! replay upstream and streamed through the OpenAI-compatible provider. The
//! first answer streams text and a tool call; the demo answers the call with a
//! recorded tool result (tools as components come later) and the second answer
//! streams the final text.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::{
    ContentPart, Error, Message, Part, ProviderOptions, Request, Role, Runtime, ToolDefinition, ToolResult,
};
use serde_json::json;

use super::render::Terminal;

/// The recorded first answer (text and a tool call); `cordon run` serves it too.
pub const FIRST_ANSWER: &str = include_str!("demo/turn1.sse");
const SECOND_ANSWER: &str = include_str!("demo/turn2.sse");
/// The recorded result of the demo's `get_weather` call.
const RECORDED_WEATHER: &str = r#"{"city":"Paris","temperature_c":14,"conditions":"light rain","rain_chance":0.8}"#;
/// Pause between streamed chunks, so the stream is visible.
const CHUNK_DELAY: Duration = Duration::from_millis(40);

pub async fn run(runtime: &Runtime) -> cordon::Result<ExitCode> {
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
    let options = ProviderOptions { base_url: Some(format!("{}/v1", server.url())), ..ProviderOptions::default() };
    let provider = runtime.load_provider("openai", options).await?;
    eprintln!(
        "cordon demo: provider `{}` {} in the sandbox, upstream: recorded replay at {}\n",
        provider.info().name,
        provider.info().version,
        server.url()
    );

    let question = "What's the weather in Paris right now? Should I bring an umbrella?";
    println!("\x1b[1muser:\x1b[0m {question}\n");
    let mut request = Request {
        model: "demo-model".into(),
        messages: vec![Message::user(question)],
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            parameters: json!({
                "type": "object",
                "properties": { "city": { "type": "string" }, "unit": { "enum": ["celsius", "fahrenheit"] } },
                "required": ["city"]
            }),
        }],
        ..Request::default()
    };

    print!("\x1b[1massistant:\x1b[0m ");
    let first = stream_turn(provider.stream(request.clone())).await?;
    let Some(call) = first.tool_calls().first().map(|c| (*c).clone()) else {
        return Err(Error::Config("the recorded first answer has no tool call".into()));
    };
    println!("\x1b[2m(tool result, recorded: {RECORDED_WEATHER})\x1b[0m\n");

    request.messages.push(Message {
        role: Role::Assistant,
        parts: first
            .content
            .iter()
            .map(|part| match part {
                ContentPart::Text { text } => Part::Text { text: text.clone() },
                ContentPart::Reasoning(r) => Part::Reasoning(r.clone()),
                ContentPart::ToolCall(c) => Part::ToolCall(c.clone()),
            })
            .collect(),
    });
    request.messages.push(Message {
        role: Role::Tool,
        parts: vec![Part::ToolResult(ToolResult {
            call_id: call.id,
            name: call.name,
            output: RECORDED_WEATHER.into(),
            is_error: false,
        })],
    });
    print!("\x1b[1massistant:\x1b[0m ");
    stream_turn(provider.stream(request)).await?;
    Ok(ExitCode::SUCCESS)
}

async fn stream_turn(mut turn: cordon::TurnStream) -> cordon::Result<cordon::TurnResult> {
    let mut terminal = Terminal::default();
    while let Some(event) = turn.next().await {
        terminal.show(&event);
    }
    turn.into_result().await
}
