//! What a running gateway serves, built from its [`ServeConfig`]: the
//! providers loaded into a [`Registry`] (so they hot-swap), the tools, and the
//! models as chains of routes. Every component is loaded at start with exactly
//! what the file grants it: hosts its manifest asks for but the file does not
//! grant are refused when reached (an operator pointing `openai` at another
//! upstream need not grant api.openai.com), and a secret it asks for that the
//! file does not bind stops the start, named, before the first request.
//!
//! A model's routes are resolved at the start of each turn: a turn keeps the
//! provider versions it started on while a swap installs the next.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::retry::{Resilient, Route};
use crate::runtime::{ProviderOptions, Runtime, RuntimeConfig, ToolOptions};
use crate::serve::config::{ModelConfig, ServeConfig};
use crate::tool::Tool;
use crate::trust::{Approval, SecretGrant, TrustStore};

/// The providers, tools and models of one configuration.
pub struct Gateway {
    registry: Arc<Registry>,
    tools: BTreeMap<String, Tool>,
    models: BTreeMap<String, ModelConfig>,
}

impl Gateway {
    /// Load every provider and tool `config` names.
    pub async fn start(config: &ServeConfig) -> Result<Gateway> {
        let mut runtime_config = RuntimeConfig::new(&config.components);
        runtime_config.cache_dir = Some(config.cache.clone());
        // Grants come from the config file alone.
        runtime_config.trust = TrustStore::new();
        let runtime = Runtime::new(runtime_config)?;
        let registry = Arc::new(Registry::new(runtime.clone()));
        for (name, provider) in &config.providers {
            let secrets = provider
                .secrets
                .iter()
                .map(|(secret, source)| (secret.clone(), SecretGrant { source: source.clone(), hosts: provider.secret_hosts.clone() }))
                .collect();
            let options = ProviderOptions {
                base_url: provider.base_url.clone(),
                default_model: provider.default_model.clone(),
                options: provider.options.clone(),
                limits: provider.limits.clone(),
                approval: Some(Approval { hosts: provider.hosts.clone(), secrets, ..Approval::default() }),
                deny_unapproved: true,
                ..ProviderOptions::default()
            };
            let at = |why: String| Error::Config(format!("{}: provider `{name}`: {why}", config.path.display()));
            registry.load(name, &provider.component, options).await.map_err(|err| at(err.to_string()))?;
            let loaded = registry.get(name)?;
            let manifest = &loaded.component().manifest;
            if let Some(unbound) = manifest.secrets.iter().find(|secret| !provider.secrets.contains_key(&secret.name)) {
                let hint = unbound.suggested_env.as_deref().unwrap_or("VARIABLE");
                return Err(at(format!(
                    "component `{}` asks for the secret `{}` ({}): bind it with `secrets = {{ {} = \"env:{hint}\" }}`",
                    provider.component, unbound.name, unbound.description, unbound.name
                )));
            }
        }
        let mut tools = BTreeMap::new();
        for (name, tool) in &config.tools {
            let options = ToolOptions {
                limits: tool.limits.clone(),
                approval: Some(Approval { hosts: tool.hosts.clone(), ..Approval::default() }),
                deny_unapproved: true,
                ..ToolOptions::default()
            };
            let loaded = runtime
                .load_tool(&tool.component, options)
                .await
                .map_err(|err| Error::Config(format!("{}: tool `{name}`: {err}", config.path.display())))?;
            tools.insert(name.clone(), loaded);
        }
        Ok(Gateway { registry, tools, models: config.models.clone() })
    }

    /// The providers, for hot-swap and status.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The public model names, in order.
    pub fn model_names(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    /// The chain serving `model` now, or `None` for a name not configured.
    pub fn chain(&self, model: &str) -> Option<Result<Resilient>> {
        let config = self.models.get(model)?;
        let routes = config
            .routes
            .iter()
            .map(|(provider, model)| Ok(Route { provider: self.registry.get(provider)?, model: model.clone() }))
            .collect::<Result<Vec<_>>>();
        Some(routes.and_then(|routes| Resilient::new(routes, config.retry.clone())))
    }

    /// The tools the host runs for `model`.
    pub fn tools_for(&self, model: &str) -> Vec<Tool> {
        let Some(config) = self.models.get(model) else { return Vec::new() };
        config.tools.iter().filter_map(|name| self.tools.get(name).cloned()).collect()
    }
}
