//! Tool components: at load, describe their actions and check them (names the
//! providers accept, schemas that compile); at each call, check the arguments
//! against the action's JSON schema and run the action in a fresh instance under
//! the manifest's limits. For a tool, a "turn" in the limits is one call. Every
//! failure, a guest crash included, is a [`ToolError`]: the caller decides what
//! to do with it (the tool loop hands it to the model).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::bindings::tool_api;
use crate::broker::Broker;
use crate::component::{LoadedComponent, Prepared};
use crate::cpu::CpuBudget;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::host::{begin_call, new_store, trap_error};
use crate::types::{ErrorKind, TurnError};

/// Longest action name, so that `{plugin}__{action}` stays short.
const ACTION_NAME_MAX: usize = 32;
/// Longest name a model may call a tool by (OpenAI, Anthropic and Gemini all take 64).
pub const EXPOSED_NAME_MAX: usize = 64;
/// Between the plugin and the action in an exposed name.
pub const SEPARATOR: &str = "__";

/// A loaded tool: cheap to clone, safe to share; every call is isolated.
#[derive(Clone)]
pub struct Tool {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    component: LoadedComponent,
    pre: crate::contract::ToolPre,
    broker: Arc<Broker>,
    name: Arc<str>,
    description: String,
    actions: Vec<Action>,
    /// One permit per call that may run at once (limits.concurrent-turns).
    slots: Arc<Semaphore>,
}

/// One action of a tool, checked.
#[derive(Clone)]
pub struct Action {
    /// The action's own name, e.g. `evaluate`.
    pub name: String,
    /// The name models call it by: `{plugin}__{action}`.
    pub exposed_name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON schema of its arguments.
    pub parameters: serde_json::Value,
    validator: Arc<jsonschema::Validator>,
}

/// Why a tool call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolErrorKind {
    /// The arguments are not JSON, break the schema, or make no sense to the tool.
    InvalidArguments,
    /// No such tool or action.
    UnknownTool,
    /// What the tool looked for does not exist.
    NotFound,
    /// The host refused the tool's outbound request.
    Denied,
    /// A limit was reached: the tool's memory, CPU, time or output size.
    LimitExceeded,
    /// An upstream the tool called failed.
    Upstream,
    /// The tool crashed (a trap or a panic).
    Crashed,
    /// Too many calls of this tool at once.
    Busy,
    /// Anything else.
    Failed,
}

/// A failed tool call: a kind and a message written for the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    /// Class.
    pub kind: ToolErrorKind,
    /// What went wrong and how to call it right.
    pub message: String,
}

impl ToolError {
    /// An error of `kind`.
    pub fn new(kind: ToolErrorKind, message: impl Into<String>) -> Self {
        ToolError { kind, message: message.into() }
    }
}

impl Tool {
    /// Describe the component and check its actions.
    pub(crate) async fn start(engine: Engine, component: LoadedComponent, broker: Broker) -> Result<Tool> {
        let Prepared::Tool(pre) = &component.prepared else {
            return Err(Error::InvalidComponent {
                path: component.path.clone(),
                reason: "is a provider, not a tool; load it as a provider (`Runtime::load_provider`, `cordon chat --provider`)"
                    .to_owned(),
            });
        };
        let pre = pre.clone();
        let name: Arc<str> = component.manifest.name.as_str().into();
        let broker = Arc::new(broker);
        let limits = &component.manifest.limits;
        let failed = |error: TurnError| Error::Init { provider: format!("tool {name}"), error };
        let describe = async {
            let mut store = new_store(&engine, Arc::clone(&broker), Arc::clone(&name), limits);
            let instance = pre.instantiate_async(&mut store).await.map_err(|err| trap_error(&store, err))?;
            begin_call(&mut store).map_err(|err| trap_error(&store, err))?;
            instance.info(&mut store).await.map_err(|err| trap_error(&store, err))
        };
        let info = match tokio::time::timeout(Duration::from_millis(limits.init_ms), describe).await {
            Ok(info) => info.map_err(failed)?,
            Err(_) => {
                return Err(failed(TurnError::new(
                    ErrorKind::Timeout,
                    format!(
                        "loading (instantiation and `info`) took longer than {} ms (limits.init-ms); a tool must not wait or sleep while it starts",
                        limits.init_ms
                    ),
                )));
            }
        };
        let invalid = |reason: String| Error::InvalidComponent { path: component.path.clone(), reason };
        if info.actions.is_empty() {
            return Err(invalid("describes no actions; a tool needs at least one".to_owned()));
        }
        let mut actions: Vec<Action> = Vec::with_capacity(info.actions.len());
        for action in info.actions {
            let checked = check_action(&name, action).map_err(invalid)?;
            if actions.iter().any(|a| a.name == checked.name) {
                return Err(invalid(format!("describes action `{}` twice", checked.name)));
            }
            actions.push(checked);
        }
        let slots = Arc::new(Semaphore::new(limits.concurrent_turns as usize));
        Ok(Tool {
            inner: Arc::new(Inner { engine, component, pre, broker, name, description: info.description, actions, slots }),
        })
    }

    /// The plugin name (the manifest's `name`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// What the tool is for.
    pub fn description(&self) -> &str {
        &self.inner.description
    }

    /// Its actions, checked.
    pub fn actions(&self) -> &[Action] {
        &self.inner.actions
    }

    /// The component behind it.
    pub fn component(&self) -> &LoadedComponent {
        &self.inner.component
    }

    /// The origins it may reach (its manifest plus the operator's grants).
    pub fn allowed_hosts(&self) -> &crate::policy::AllowList {
        self.inner.broker.allowed()
    }

    /// Run `action` with `arguments` (JSON object text): the arguments are
    /// checked against the action's schema first, then the action runs in a
    /// fresh instance.
    pub async fn call(&self, action: &str, arguments: &str) -> std::result::Result<String, ToolError> {
        let inner = &self.inner;
        let Some(spec) = inner.actions.iter().find(|a| a.name == action) else {
            let known: Vec<&str> = inner.actions.iter().map(|a| a.name.as_str()).collect();
            return Err(ToolError::new(
                ToolErrorKind::UnknownTool,
                format!("tool `{}` has no action `{action}`; it has: {}", inner.name, known.join(", ")),
            ));
        };
        spec.check_arguments(arguments)?;
        let limits = &inner.component.manifest.limits;
        let _slot = match tokio::time::timeout(
            Duration::from_millis(limits.queue_wait_ms),
            Arc::clone(&inner.slots).acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                return Err(ToolError::new(
                    ToolErrorKind::Busy,
                    format!(
                        "tool `{}` is busy: {} calls running (limits.concurrent-turns); try again later",
                        inner.name, limits.concurrent_turns
                    ),
                ));
            }
        };
        let limit = Duration::from_millis(limits.turn_ms);
        let output = match tokio::time::timeout(limit, self.run(action, arguments)).await {
            Ok(output) => output?,
            Err(_) => {
                return Err(ToolError::new(
                    ToolErrorKind::LimitExceeded,
                    format!("tool `{}` took longer than {} ms (limits.turn-ms)", inner.name, limits.turn_ms),
                ));
            }
        };
        if output.len() as u64 > limits.output_bytes() {
            return Err(ToolError::new(
                ToolErrorKind::LimitExceeded,
                format!(
                    "tool `{}` returned {} bytes, more than its limit of {} (limits.output-mib-per-turn)",
                    inner.name,
                    output.len(),
                    limits.output_bytes()
                ),
            ));
        }
        Ok(output)
    }

    async fn run(&self, action: &str, arguments: &str) -> std::result::Result<String, ToolError> {
        let inner = &self.inner;
        let limits = &inner.component.manifest.limits;
        let mut store = new_store(&inner.engine, Arc::clone(&inner.broker), Arc::clone(&inner.name), limits);
        let crashed = |error: TurnError| {
            let kind = match error.kind {
                ErrorKind::LimitExceeded => ToolErrorKind::LimitExceeded,
                _ => ToolErrorKind::Crashed,
            };
            ToolError::new(kind, format!("tool `{}` failed: {}", inner.name, error.message))
        };
        // For a tool, a "turn" is one call: its CPU is counted as a turn's.
        let mut cpu = CpuBudget::new(limits.turn_cpu_ms);
        let started = std::time::Instant::now();
        let instance =
            cpu.meter(inner.pre.instantiate_async(&mut store)).await.map_err(|e| crashed(trap_error(&store, e)))?;
        inner.engine.telemetry().instantiated(started.elapsed());
        begin_call(&mut store).map_err(|e| crashed(trap_error(&store, e)))?;
        cpu.meter(instance.call(&mut store, action, arguments))
            .await
            .map_err(|e| crashed(trap_error(&store, e)))?
            .map_err(guest_error)
    }
}

impl Action {
    /// The definition a model is given for this action.
    pub fn definition(&self) -> crate::types::ToolDefinition {
        crate::types::ToolDefinition {
            name: self.exposed_name.clone(),
            description: self.description.clone(),
            parameters: self.parameters.clone(),
        }
    }

    /// Check `arguments` against the schema; the error lists every violation.
    pub fn check_arguments(&self, arguments: &str) -> std::result::Result<(), ToolError> {
        let invalid = |why: String| ToolError::new(ToolErrorKind::InvalidArguments, why);
        let value: serde_json::Value = serde_json::from_str(arguments)
            .map_err(|err| invalid(format!("the arguments for `{}` are not JSON: {err}", self.exposed_name)))?;
        let problems: Vec<String> = self
            .validator
            .iter_errors(&value)
            .take(8)
            .map(|error| {
                let at = error.instance_path().to_string();
                if at.is_empty() { error.to_string() } else { format!("at {at}: {error}") }
            })
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        Err(invalid(format!(
            "the arguments for `{}` do not match its schema: {}",
            self.exposed_name,
            problems.join("; ")
        )))
    }
}

/// Check an action a guest described: its name, its schema.
fn check_action(plugin: &str, action: tool_api::Action) -> std::result::Result<Action, String> {
    let name = action.name;
    let valid_name = !name.is_empty()
        && name.len() <= ACTION_NAME_MAX
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(format!(
            "action `{name}`: a name must be 1-{ACTION_NAME_MAX} characters of a-z, A-Z, 0-9, `_` or `-`, starting with a letter"
        ));
    }
    let exposed_name = format!("{plugin}{SEPARATOR}{name}");
    if exposed_name.len() > EXPOSED_NAME_MAX {
        return Err(format!(
            "action `{name}`: `{exposed_name}` is longer than the {EXPOSED_NAME_MAX} characters providers accept; shorten the tool's or the action's name"
        ));
    }
    if !plugin.starts_with(|c: char| c.is_ascii_alphabetic()) || plugin.contains(SEPARATOR) {
        return Err(format!(
            "tool name `{plugin}` must start with a letter and not contain `{SEPARATOR}` (models call `{plugin}{SEPARATOR}{name}`)"
        ));
    }
    let parameters: serde_json::Value = serde_json::from_str(&action.parameters)
        .map_err(|err| format!("action `{name}`: its parameters are not JSON: {err}"))?;
    if parameters.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err(format!(
            "action `{name}`: its parameters must be an object schema (`\"type\": \"object\"`), as providers require"
        ));
    }
    let validator = jsonschema::validator_for(&parameters)
        .map_err(|err| format!("action `{name}`: its parameters are not a valid JSON schema: {err}"))?;
    Ok(Action { name, exposed_name, description: action.description, parameters, validator: Arc::new(validator) })
}

/// A tool's own error, as the host reports it.
fn guest_error(error: tool_api::ToolError) -> ToolError {
    use tool_api::ToolErrorKind as Guest;
    let kind = match error.kind {
        Guest::InvalidArguments => ToolErrorKind::InvalidArguments,
        Guest::UnknownAction => ToolErrorKind::UnknownTool,
        Guest::NotFound => ToolErrorKind::NotFound,
        Guest::Denied => ToolErrorKind::Denied,
        Guest::LimitExceeded => ToolErrorKind::LimitExceeded,
        Guest::Upstream => ToolErrorKind::Upstream,
        Guest::Failed => ToolErrorKind::Failed,
    };
    ToolError::new(kind, error.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(name: &str, parameters: &str) -> tool_api::Action {
        tool_api::Action { name: name.into(), description: "d".into(), parameters: parameters.into() }
    }

    const OBJECT: &str = r#"{"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"]}"#;

    #[test]
    fn names_and_schemas_are_checked() {
        let cases = [
            ("calc", action("has space", OBJECT), "a name must be"),
            ("calc", action("9lives", OBJECT), "starting with a letter"),
            ("calc", action("ok", "{"), "not JSON"),
            ("calc", action("ok", r#"{"type":"string"}"#), "object schema"),
            ("calc", action("ok", r#"{"type":"object","properties":{"n":{"type":"nonsense"}}}"#), "not a valid JSON schema"),
            ("a-very-long-plugin-name-that-goes-on-and-on-forever", action("evaluate_something", OBJECT), "longer than"),
            ("my__tool", action("ok", OBJECT), "not contain"),
        ];
        for (plugin, action, needle) in cases {
            let err = check_action(plugin, action).err().unwrap_or_default();
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
        let ok = check_action("calc", action("evaluate", OBJECT)).expect("valid");
        assert_eq!(ok.exposed_name, "calc__evaluate");
    }

    #[test]
    fn arguments_are_checked_against_the_schema() {
        let action = check_action("calc", action("evaluate", OBJECT)).expect("valid");
        assert!(action.check_arguments(r#"{"n": 3}"#).is_ok());
        let not_json = action.check_arguments("{n: 3").expect_err("not JSON");
        assert_eq!(not_json.kind, ToolErrorKind::InvalidArguments);
        assert!(not_json.message.contains("not JSON"), "{}", not_json.message);
        let wrong = action.check_arguments(r#"{"n": 0}"#).expect_err("below minimum");
        assert!(wrong.message.contains("/n"), "names the place: {}", wrong.message);
        let missing = action.check_arguments("{}").expect_err("missing");
        assert!(missing.message.contains("\"n\""), "names the property: {}", missing.message);
    }
}
