//! Tool components on their own: loading checks their actions, calls run in
//! fresh instances and answer correctly, and a provider and a tool are not
//! mistaken for each other.

use cordon::{ProviderOptions, ToolErrorKind, ToolOptions, Toolbox};
use serde_json::Value;

use crate::support::runtime;

async fn call(tool: &str, action: &str, arguments: &str) -> Result<String, cordon::ToolError> {
    let tool = runtime().load_tool(tool, ToolOptions::default()).await.expect("tool loads");
    tool.call(action, arguments).await
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

#[tokio::test]
async fn the_calculator_is_exact() {
    let value = |text: String| json(&text)["value"].as_str().unwrap_or_default().to_owned();
    assert_eq!(value(call("calculator", "evaluate", r#"{"expression": "0.1 + 0.2"}"#).await.expect("ok")), "3/10");
    assert_eq!(
        value(call("calculator", "evaluate", r#"{"expression": "2^100"}"#).await.expect("ok")),
        "1267650600228229401496703205376"
    );
    let third = json(&call("calculator", "evaluate", r#"{"expression": "(1 - 1/3) * -1"}"#).await.expect("ok"));
    assert_eq!(third["value"], "-2/3");
    let error = call("calculator", "evaluate", r#"{"expression": "2 + (3"}"#).await.expect_err("unbalanced");
    assert_eq!(error.kind, ToolErrorKind::InvalidArguments);
}

#[tokio::test]
async fn the_json_tool_queries_and_points() {
    let doc = r#"{"store": {"book": [{"title": "A", "price": 8}, {"title": "B", "price": 12}]}}"#;
    let args = serde_json::json!({"document": doc, "path": "$.store.book[?@.price < 10].title"}).to_string();
    let found = json(&call("json", "query", &args).await.expect("ok"));
    assert_eq!(found["matches"], serde_json::json!(["A"]));
    assert_eq!(found["count"], 1);
    let args = serde_json::json!({"document": json(doc), "pointer": "/store/book/1/price"}).to_string();
    assert_eq!(call("json", "pointer", &args).await.expect("ok"), "12");
    let args = serde_json::json!({"document": doc, "pointer": "/store/nothing"}).to_string();
    assert_eq!(call("json", "pointer", &args).await.expect_err("absent").kind, ToolErrorKind::NotFound);
    let args = serde_json::json!({"document": doc, "path": "$[?"}).to_string();
    assert_eq!(call("json", "query", &args).await.expect_err("bad path").kind, ToolErrorKind::InvalidArguments);
}

#[tokio::test]
async fn actions_are_exposed_by_plugin_and_name() {
    let calculator = runtime().load_tool("calculator", ToolOptions::default()).await.expect("loads");
    let json_tool = runtime().load_tool("json", ToolOptions::default()).await.expect("loads");
    let toolbox = Toolbox::with([calculator.clone(), json_tool]).expect("distinct");
    let names: Vec<String> = toolbox.definitions().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["calculator__evaluate", "json__query", "json__pointer"]);
    let (tool, action) = toolbox.resolve("json__pointer").expect("resolves");
    assert_eq!((tool.name(), action.name.as_str()), ("json", "pointer"));
    assert_eq!(toolbox.definitions()[0].parameters["type"], "object");

    let twice = Toolbox::with([calculator.clone(), calculator]).err().expect("refused");
    assert!(twice.to_string().contains("two tools are named `calculator`"), "{twice}");
}

#[tokio::test]
async fn a_tool_with_a_broken_schema_is_refused_at_load() {
    let error = runtime().load_tool("hostile-tool-bad-schema", ToolOptions::default()).await.err().expect("refused");
    let message = error.to_string();
    assert!(message.contains("action `broken`") && message.contains("not a valid JSON schema"), "{message}");
}

#[tokio::test]
async fn a_tool_with_a_bad_action_name_is_refused_at_load() {
    let error = runtime().load_tool("hostile-tool-bad-name", ToolOptions::default()).await.err().expect("refused");
    let message = error.to_string();
    assert!(message.contains("action `has space`") && message.contains("a name must be"), "{message}");
}

#[tokio::test]
async fn providers_and_tools_are_told_apart() {
    let as_provider = runtime().load_provider("calculator", ProviderOptions::default()).await.err().expect("refused");
    assert!(as_provider.to_string().contains("is a tool, not a provider"), "{as_provider}");
    let as_tool = runtime().load_tool("openai", ToolOptions::default()).await.err().expect("refused");
    assert!(as_tool.to_string().contains("is a provider, not a tool"), "{as_tool}");
    let unknown = call("calculator", "differentiate", "{}").await.expect_err("no such action");
    assert_eq!(unknown.kind, ToolErrorKind::UnknownTool);
    assert!(unknown.message.contains("evaluate"), "names the actions there are: {}", unknown.message);
}
