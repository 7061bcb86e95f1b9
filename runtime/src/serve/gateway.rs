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

use tokio::sync::OwnedSemaphorePermit;

use crate::error::{Error, Result};
use crate::provider::TurnStream;
use crate::registry::{Registry, Staged};
use crate::retry::{Resilient, Route};
use crate::runtime::{ProviderOptions, Runtime, RuntimeConfig, ToolOptions};
use crate::serve::config::{ModelConfig, ServeConfig};
use crate::serve::keys::{ClientKey, Keys};
use crate::serve::ledger::MemoryLedger;
use crate::serve::metering::{Meter, TurnMeter};
use crate::serve::metrics::Metrics;
use crate::serve::prices::usd;
use crate::serve::upstream::Upstreams;
use crate::serve::limits::{Admission, ServeLimits};
use crate::tool_loop::ToolLoop;
use crate::toolbox::Toolbox;
use crate::trust::{Approval, SecretGrant, TrustStore};
use crate::types::{Request, TurnResult};

/// The providers, tools and models of one configuration.
pub struct Gateway {
    runtime: Runtime,
    registry: Arc<Registry>,
    models: BTreeMap<String, Model>,
    admission: Arc<Admission>,
    keys: Keys,
    /// Counts and charges turns; its ledger is kept across reloads.
    meter: Meter,
    /// Upstream models and health, for the providers that opted in.
    upstreams: Upstreams,
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
    /// Its metering, settled when the turn ends.
    meter: TurnMeter,
}

impl ModelTurn {
    /// Run the turn: through the host's tool loop when the model has tools
    /// (the client sees one turn: see [`ToolLoop::as_turn`]), held to the
    /// gateway's deadlines, its slot kept until the stream is dropped.
    pub fn stream(self, request: Request) -> TurnStream {
        // Priced by the route that serves it.
        let chain = self.chain.reporting_route(self.meter.route_report());
        let turn = match self.toolbox {
            Some((toolbox, steps)) => ToolLoop::new(chain, Toolbox::clone(&toolbox)).max_steps(steps).as_turn(request),
            None => chain.stream(request),
        };
        self.meter.attach(self.admission.bound(turn, self.slot))
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
        runtime_config.pool.instances = config.limits.pool_instances(config.providers.len().saturating_add(config.tools.len()));
        tracing::info!(instances = runtime_config.pool.instances, "instance pool sized from `limits.concurrent-turns`");
        let runtime = Runtime::new(runtime_config)?;
        let registry = Arc::new(Registry::new(runtime.clone()));
        let metrics = Arc::new(Metrics::new(runtime.telemetry()));
        Gateway::load(runtime, registry, Arc::new(MemoryLedger::new()), metrics, config).await
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
        let components = |config: &ServeConfig| config.providers.len().saturating_add(config.tools.len());
        let (pool, needed) = (self.runtime.pool_instances(), config.limits.pool_instances(components(config)));
        if needed > pool {
            restart.push(format!(
                "`limits.concurrent-turns` and the components now need {needed} pooled instances, where the pool holds {pool}"
            ));
        }
        if config.components != before.components || config.cache != before.cache {
            restart.push("`components` or `cache` changed".to_owned());
        }
        let (ledger, metrics) = (Arc::clone(self.meter.ledger()), Arc::clone(self.meter.metrics()));
        let gateway = Gateway::load(self.runtime.clone(), Arc::clone(&self.registry), ledger, metrics, config).await?;
        Ok((gateway, restart))
    }

    async fn load(
        runtime: Runtime,
        registry: Arc<Registry>,
        ledger: Arc<dyn crate::serve::ledger::Ledger>,
        metrics: Arc<Metrics>,
        config: &ServeConfig,
    ) -> Result<Gateway> {
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
        let meter = Meter::new(ledger, metrics, config.prices.clone());
        let upstreams = Upstreams::new(Arc::clone(&registry), config);
        Ok(Gateway { runtime, registry, models, admission, keys, meter, upstreams, config: config.clone() })
    }

    /// The providers, for hot-swap and status.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The upstream models and health of the providers that opted in.
    pub fn upstreams(&self) -> &Upstreams {
        &self.upstreams
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &ServeConfig {
        &self.config
    }

    /// The client keys requests must present (none: every request is let in).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Each client key: its models, limits, budget and its spend this period
    /// (for the admin endpoint's `GET /keys`; never the key or its digest).
    pub async fn keys_report(&self) -> serde_json::Value {
        let mut keys = Vec::new();
        for (name, key) in &self.config.keys {
            let limits = serde_json::json!({
                "requests_per_minute": key.limits.requests_per_minute,
                "tokens_per_minute": key.limits.tokens_per_minute,
                "concurrent_streams": key.limits.concurrent_streams,
            });
            let budget = match key.budget {
                Some(budget) => {
                    let spend = self.meter.ledger().spend(name, budget.period).await;
                    serde_json::json!({
                        "usd": usd(budget.micro_usd),
                        "period": budget.period.name(),
                        "spent_usd": usd(spend.spent_micro_usd),
                        "reserved_usd": usd(spend.reserved_micro_usd),
                        "since_unix": spend.since.duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs()),
                    })
                }
                None => serde_json::Value::Null,
            };
            keys.push(serde_json::json!({"name": name, "models": key.models, "limits": limits, "budget": budget}));
        }
        serde_json::Value::Array(keys)
    }

    /// The metrics (kept across reloads).
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.meter.metrics()
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

    /// A turn of `model` for `caller` (its `request`, `request_bytes` long),
    /// admitted under the gateway's limits (a `busy` error when it runs its
    /// most turns already), the key's and the model's rate limits (a
    /// `rate-limited` error naming the limit, with when to retry) and the
    /// key's budget (a `quota` error naming it and when it resets), or `None`
    /// for a name not configured. `PROVIDER/MODEL` of a provider with
    /// `list-models` is that upstream model, one route with the default retries.
    pub async fn chain(&self, model: &str, caller: Option<&ClientKey>, request: &Request, request_bytes: usize) -> Option<Result<ModelTurn>> {
        if let Some((name, configured)) = self.models.get_key_value(model) {
            return Some(self.admit(name, configured, caller, request, request_bytes).await);
        }
        let upstream = self.upstream_model(model)?;
        Some(self.admit(model, &upstream, caller, request, request_bytes).await)
    }

    /// `PROVIDER/MODEL` as a model, when `PROVIDER` lists its upstream's models.
    fn upstream_model(&self, name: &str) -> Option<Model> {
        let (provider, model) = name.split_once('/')?;
        if model.is_empty() || !self.upstreams.lists(provider) {
            return None;
        }
        let config = ModelConfig {
            routes: vec![(provider.to_owned(), model.to_owned())],
            retry: crate::retry::RetryPolicy::default(),
            tools: Vec::new(),
            tool_steps: 1,
            limits: Default::default(),
        };
        Some(Model { config, toolbox: None })
    }

    async fn admit(&self, name: &str, model: &Model, caller: Option<&ClientKey>, request: &Request, request_bytes: usize) -> Result<ModelTurn> {
        let slot = self.admission.admit().map_err(|busy| {
            self.metrics().refused("concurrent-turns");
            Error::Turn(busy)
        })?;
        let meter = self.meter.admit(caller, name, &model.config, request, request_bytes).await.map_err(Error::Turn)?;
        let routes = model
            .config
            .routes
            .iter()
            .map(|(provider, model)| Ok(Route { provider: self.registry.get(provider)?, model: model.clone() }))
            .collect::<Result<Vec<_>>>()?;
        let chain = Resilient::new(routes, model.config.retry.clone())?;
        let toolbox = model.toolbox.as_ref().map(|toolbox| (Arc::clone(toolbox), model.config.tool_steps));
        Ok(ModelTurn { chain, toolbox, admission: Arc::clone(&self.admission), slot, meter })
    }
}
