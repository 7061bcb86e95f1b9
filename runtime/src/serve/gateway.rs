//! What a running gateway serves, built from its [`ServeConfig`]: the
//! providers loaded into a [`Registry`] (so they hot-swap), the tools, the
//! models as chains of routes, and the limits turns are admitted under. Every
//! component is loaded with exactly what the file grants it: hosts its
//! manifest asks for but the file does not grant are refused when reached (an
//! operator pointing `openai` at another upstream need not grant
//! api.openai.com), and a secret it asks for that the file does not bind stops
//! the start, named, before the first request.
//!
//! A configuration is applied whole or not at all: [`Gateway::reload`] loads
//! everything a changed file names beside what is serving, and only when all
//! of it loaded does the caller switch to the new gateway; providers keep their
//! names (and state) across it. A model's routes are resolved at the start of
//! each turn: a turn keeps the provider versions it started on while a swap or
//! a reload installs the next.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::FutureExt as _;
use tokio::sync::OwnedSemaphorePermit;

use crate::error::{Error, Result};
use crate::provider::TurnStream;
use crate::registry::{Registry, Staged};
use crate::retry::{Resilient, Route};
use crate::runtime::{ProviderOptions, Runtime, RuntimeConfig, ToolOptions};
use crate::serve::config::{ModelConfig, ServeConfig};
use crate::serve::keys::{ClientKey, Keys};
use crate::serve::ledger::{Admitted, Ledger, MemoryLedger, Scope};
use crate::serve::limits::{Admission, ServeLimits};
use crate::tool_loop::ToolLoop;
use crate::toolbox::Toolbox;
use crate::trust::{Approval, SecretGrant, TrustStore};
use crate::types::{ErrorKind, Request, TurnError, TurnResult};

/// The providers, tools and models of one configuration.
pub struct Gateway {
    runtime: Runtime,
    registry: Arc<Registry>,
    models: BTreeMap<String, Model>,
    admission: Arc<Admission>,
    keys: Keys,
    /// Usage per key and model; kept across reloads.
    ledger: Arc<dyn Ledger>,
    config: ServeConfig,
}

/// One public model: its routes, and the tool loop the host runs for it.
struct Model {
    config: ModelConfig,
    toolbox: Option<Arc<Toolbox>>,
}

/// A turn of one model, admitted: call [`ModelTurn::stream`] to run it.
pub struct ModelTurn {
    chain: Resilient,
    toolbox: Option<(Arc<Toolbox>, u32)>,
    admission: Arc<Admission>,
    slot: OwnedSemaphorePermit,
    /// Its admission in the ledger, settled when the turn ends.
    admitted: Option<(Arc<dyn Ledger>, Admitted)>,
}

impl ModelTurn {
    /// Run the turn: through the host's tool loop when the model has tools
    /// (the client sees one turn: see [`ToolLoop::as_turn`]), held to the
    /// gateway's deadlines, its slot kept until the stream is dropped.
    pub fn stream(self, request: Request) -> TurnStream {
        let turn = match self.toolbox {
            Some((toolbox, steps)) => ToolLoop::new(self.chain, Toolbox::clone(&toolbox)).max_steps(steps).as_turn(request),
            None => self.chain.stream(request),
        };
        let turn = self.admission.bound(turn, self.slot);
        match self.admitted {
            // Its tokens are counted however it ends: finished, failed or abandoned.
            Some((ledger, admitted)) => turn.on_end(move |ending| {
                let tokens = ending.usage.input_tokens.unwrap_or(0).saturating_add(ending.usage.output_tokens.unwrap_or(0));
                // Settled at once when the ledger can (in memory: before the
                // client reads the end), else in a task of its own.
                let mut settle = Box::pin(async move { ledger.settle(admitted, tokens).await });
                if (&mut settle).now_or_never().is_none()
                    && let Ok(runtime) = tokio::runtime::Handle::try_current()
                {
                    runtime.spawn(settle);
                }
            }),
            None => turn,
        }
    }

    /// Run the turn to its end.
    pub async fn complete(self, request: Request) -> Result<TurnResult> {
        self.stream(request).into_result().await
    }
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
        Gateway::load(runtime, registry, Arc::new(MemoryLedger::new()), config).await
    }

    /// The gateway `config` describes, loaded beside this one (which serves on
    /// meanwhile), and what of the change needs a restart to apply. Its
    /// providers replace this one's under the same names once all loaded.
    pub async fn reload(&self, config: &ServeConfig) -> Result<(Gateway, Vec<String>)> {
        let mut restart = Vec::new();
        let before = &self.config;
        if config.listen != before.listen {
            restart.push(format!("`listen` changed from {} to {}", before.listen, config.listen));
        }
        let admin = |config: &ServeConfig| config.admin.as_ref().map(|admin| (admin.listen, admin.token.describe()));
        if admin(config) != admin(before) {
            restart.push("[admin] changed".to_owned());
        }
        if config.components != before.components || config.cache != before.cache {
            restart.push("`components` or `cache` changed".to_owned());
        }
        let gateway = Gateway::load(self.runtime.clone(), Arc::clone(&self.registry), Arc::clone(&self.ledger), config).await?;
        Ok((gateway, restart))
    }

    async fn load(runtime: Runtime, registry: Arc<Registry>, ledger: Arc<dyn Ledger>, config: &ServeConfig) -> Result<Gateway> {
        let mut staged: Vec<Staged> = Vec::new();
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
            let version = registry.stage(name, &provider.component, options).await.map_err(|err| at(err.to_string()))?;
            let manifest = &version.provider().component().manifest;
            if let Some(unbound) = manifest.secrets.iter().find(|secret| !provider.secrets.contains_key(&secret.name)) {
                let hint = unbound.suggested_env.as_deref().unwrap_or("VARIABLE");
                return Err(at(format!(
                    "component `{}` asks for the secret `{}` ({}): bind it with `secrets = {{ {} = \"env:{hint}\" }}`",
                    provider.component, unbound.name, unbound.description, unbound.name
                )));
            }
            staged.push(version);
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
        let mut models = BTreeMap::new();
        for (name, model) in &config.models {
            let toolbox = if model.tools.is_empty() {
                None
            } else {
                let chosen = model.tools.iter().filter_map(|tool| tools.get(tool).cloned());
                let toolbox = Toolbox::with(chosen).map_err(|err| Error::Config(format!("{}: model `{name}`: tools: {err}", config.path.display())))?;
                Some(Arc::new(toolbox))
            };
            models.insert(name.clone(), Model { config: model.clone(), toolbox });
        }
        // Everything loaded: serve it.
        for version in staged {
            registry.install(version);
        }
        registry.retain(|name| config.providers.contains_key(name));
        let admission = Arc::new(Admission::new(config.limits.clone()));
        let keys = Keys::new(&config.keys);
        Ok(Gateway { runtime, registry, models, admission, keys, ledger, config: config.clone() })
    }

    /// The providers, for hot-swap and status.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &ServeConfig {
        &self.config
    }

    /// The client keys requests must present (none: every request is let in).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Whether every configured provider is loaded and serving.
    pub fn ready(&self) -> bool {
        self.config.providers.keys().all(|name| self.registry.get(name).is_ok())
    }

    /// The gateway's own limits.
    pub fn limits(&self) -> &ServeLimits {
        self.admission.limits()
    }

    /// The public model names, in order.
    pub fn model_names(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    /// A turn of `model` for `caller`, admitted under the gateway's limits (a
    /// `busy` error when it runs its most turns already) and the key's and the
    /// model's rate limits (a `rate-limited` error naming the limit, with
    /// when to retry), or `None` for a name not configured.
    pub async fn chain(&self, model: &str, caller: Option<&ClientKey>) -> Option<Result<ModelTurn>> {
        let (name, model) = self.models.get_key_value(model)?;
        Some(self.admit(name, model, caller).await)
    }

    async fn admit(&self, name: &str, model: &Model, caller: Option<&ClientKey>) -> Result<ModelTurn> {
        let slot = self.admission.admit().map_err(Error::Turn)?;
        let mut scopes = Vec::new();
        if let Some(key) = caller.filter(|key| key.limits.any()) {
            scopes.push((Scope::Key(key.name.clone()), key.limits));
        }
        if model.config.limits.any() {
            scopes.push((Scope::Model(name.to_owned()), model.config.limits));
        }
        let admitted = if scopes.is_empty() {
            None
        } else {
            match self.ledger.admit(scopes).await {
                Ok(admitted) => Some((Arc::clone(&self.ledger), admitted)),
                Err(over) => {
                    let mut error = TurnError::new(ErrorKind::RateLimited, over.message());
                    error.retryable = true;
                    error.retry_after_ms = Some(u64::try_from(over.retry_after.as_millis()).unwrap_or(u64::MAX).max(1));
                    return Err(Error::Turn(error));
                }
            }
        };
        let routes = model
            .config
            .routes
            .iter()
            .map(|(provider, model)| Ok(Route { provider: self.registry.get(provider)?, model: model.clone() }))
            .collect::<Result<Vec<_>>>()?;
        let chain = Resilient::new(routes, model.config.retry.clone())?;
        let toolbox = model.toolbox.as_ref().map(|toolbox| (Arc::clone(toolbox), model.config.tool_steps));
        Ok(ModelTurn { chain, toolbox, admission: Arc::clone(&self.admission), slot, admitted })
    }
}
