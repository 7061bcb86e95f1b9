//! The tool registry: the loaded tools a conversation may use, their actions
//! exposed to models as `{plugin}__{action}`, and dispatch of a model's call by
//! that name. Names are checked when a tool loads ([`crate::tool`]); here they
//! must also be unique across tools.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::tool::{Action, Tool, ToolError, ToolErrorKind};
use crate::types::ToolDefinition;

/// Tools by the names models call them.
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: Vec<Tool>,
    /// Exposed name -> (index in `tools`, index in its actions).
    by_name: HashMap<String, (usize, usize)>,
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Toolbox {
        Toolbox::default()
    }

    /// Add a tool; its plugin name must not already be in the toolbox.
    pub fn add(&mut self, tool: Tool) -> Result<()> {
        if self.tools.iter().any(|t| t.name() == tool.name()) {
            return Err(Error::Config(format!(
                "two tools are named `{}`; each tool in a conversation needs its own name",
                tool.name()
            )));
        }
        let index = self.tools.len();
        for (action_index, action) in tool.actions().iter().enumerate() {
            self.by_name.insert(action.exposed_name.clone(), (index, action_index));
        }
        self.tools.push(tool);
        Ok(())
    }

    /// A toolbox holding `tools`.
    pub fn with(tools: impl IntoIterator<Item = Tool>) -> Result<Toolbox> {
        let mut toolbox = Toolbox::new();
        for tool in tools {
            toolbox.add(tool)?;
        }
        Ok(toolbox)
    }

    /// The tools, in the order they were added.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// Whether it holds no tools.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The definitions to give a model: every action of every tool.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.tools.iter().flat_map(|tool| tool.actions().iter().map(Action::definition)).collect()
    }

    /// The tool and action a model's call names.
    pub fn resolve(&self, exposed_name: &str) -> Option<(&Tool, &Action)> {
        let &(tool, action) = self.by_name.get(exposed_name)?;
        let tool = &self.tools[tool];
        Some((tool, &tool.actions()[action]))
    }

    /// Run the action a model called by `exposed_name` with `arguments`.
    pub async fn call(&self, exposed_name: &str, arguments: &str) -> std::result::Result<String, ToolError> {
        let Some((tool, action)) = self.resolve(exposed_name) else {
            let mut known: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(ToolError::new(
                ToolErrorKind::UnknownTool,
                format!(
                    "there is no tool `{exposed_name}`; the tools are: {}",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            ));
        };
        tool.call(&action.name, arguments).await
    }
}
