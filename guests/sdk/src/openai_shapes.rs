//! Pieces in OpenAI's Chat Completions shapes, which other APIs took on as
//! they are (Cohere's v2 Chat, the many OpenAI-compatible servers): function
//! tools, an assistant's function calls, the `tool` message that answers one
//! and `image_url` parts for a request, and the function part of a call as its
//! stream sends it. A provider builds its messages from these and adds what
//! its API has of its own.

use std::borrow::Cow;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{FilePart, FileSource, Part, ToolCall, ToolDefinition, ToolResult, Warning};

/// `{"type": "function", "function": {name, description, parameters}}`. The
/// parameters are JSON text in the contract; text that is not JSON is sent as
/// any object, with a warning naming the tool.
pub fn function_tool(tool: ToolDefinition, warnings: &mut Vec<Warning>) -> Value {
    let parameters = serde_json::from_str::<Value>(&tool.parameters).unwrap_or_else(|err| {
        warnings.push(Warning::compatibility(
            "tools",
            format!("the parameters of tool `{}` are not valid JSON ({err}); sent as any object", tool.name),
        ));
        json!({ "type": "object" })
    });
    json!({
        "type": "function",
        "function": { "name": tool.name, "description": tool.description, "parameters": parameters },
    })
}

/// An assistant's earlier call: `{id, "type": "function", "function": {name, arguments}}`,
/// the arguments as the JSON text the model wrote.
pub fn function_call(call: ToolCall) -> Value {
    json!({
        "id": call.id,
        "type": "function",
        "function": { "name": call.name, "arguments": call.arguments },
    })
}

/// The message answering a call: `{"role": "tool", "tool_call_id", "content"}`.
pub fn tool_message(result: ToolResult) -> Value {
    json!({ "role": "tool", "tool_call_id": result.call_id, "content": result.output })
}

/// A text part of a content list: `{"type": "text", "text"}`.
pub fn text_part(text: String) -> Value {
    json!({ "type": "text", "text": text })
}

/// An image part of a content list: `{"type": "image_url", "image_url": {"url"}}`,
/// the bytes as a `data:` URL.
pub fn image_url_part(file: FilePart) -> Value {
    let url = match file.source {
        FileSource::Url(url) => url,
        FileSource::Bytes(bytes) => {
            format!("data:{};base64,{}", file.media_type, base64::engine::general_purpose::STANDARD.encode(bytes))
        }
    };
    json!({ "type": "image_url", "image_url": { "url": url } })
}

/// The text parts of a message, joined.
pub fn text_of(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The `function` of a streamed call: its name (in the call's first delta)
/// and a fragment of its arguments' JSON text. Borrowed from the chunk.
#[derive(Debug, Deserialize)]
pub struct FunctionDelta<'a> {
    /// The tool's name.
    #[serde(borrow, default, deserialize_with = "crate::json::borrowed")]
    pub name: Option<Cow<'a, str>>,
    /// A fragment of the arguments.
    #[serde(borrow, default, deserialize_with = "crate::json::borrowed")]
    pub arguments: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_calls_and_results_have_the_function_shape() {
        let mut warnings = Vec::new();
        let tool = ToolDefinition { name: "f".into(), description: "d".into(), parameters: r#"{"type":"object"}"#.into() };
        assert_eq!(
            function_tool(tool, &mut warnings),
            json!({ "type": "function", "function": { "name": "f", "description": "d", "parameters": { "type": "object" } } })
        );
        assert!(warnings.is_empty());
        let call = ToolCall { id: "c1".into(), name: "f".into(), arguments: r#"{"x":1}"#.into() };
        assert_eq!(function_call(call), json!({ "id": "c1", "type": "function", "function": { "name": "f", "arguments": "{\"x\":1}" } }));
        let result = ToolResult { call_id: "c1".into(), name: "f".into(), output: "2".into(), is_error: false };
        assert_eq!(tool_message(result), json!({ "role": "tool", "tool_call_id": "c1", "content": "2" }));
    }

    #[test]
    fn parameters_that_are_not_json_are_any_object_with_a_warning() {
        let mut warnings = Vec::new();
        let tool = ToolDefinition { name: "broken".into(), description: String::new(), parameters: "{".into() };
        let value = function_tool(tool, &mut warnings);
        assert_eq!(value["function"]["parameters"], json!({ "type": "object" }));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("`broken`"), "{}", warnings[0].message);
    }

    #[test]
    fn images_are_urls_or_data_urls_and_text_is_joined() {
        let bytes = FilePart { media_type: "image/png".into(), source: FileSource::Bytes(vec![1, 2, 3]), filename: None };
        assert_eq!(image_url_part(bytes)["image_url"]["url"], "data:image/png;base64,AQID");
        let url = FilePart { media_type: "image/png".into(), source: FileSource::Url("https://x/y.png".into()), filename: None };
        assert_eq!(image_url_part(url), json!({ "type": "image_url", "image_url": { "url": "https://x/y.png" } }));
        let parts = [Part::Text("a".into()), Part::File(FilePart { media_type: "image/png".into(), source: FileSource::Url("u".into()), filename: None }), Part::Text("b".into())];
        assert_eq!(text_of(&parts), "ab");
        assert_eq!(text_part("t".into()), json!({ "type": "text", "text": "t" }));
    }

    #[test]
    fn a_function_delta_borrows_its_text() {
        let delta: FunctionDelta<'_> = serde_json::from_str(r#"{"name":"f","arguments":"{\"a\""}"#).expect("JSON");
        assert!(matches!(delta.name, Some(Cow::Borrowed("f"))));
        assert_eq!(delta.arguments.as_deref(), Some("{\"a\""));
        let empty: FunctionDelta<'_> = serde_json::from_str("{}").expect("JSON");
        assert!(empty.name.is_none() && empty.arguments.is_none());
    }
}
