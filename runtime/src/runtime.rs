//! The entry point of the library: a [`Runtime`] owns the engine and knows where
//! components live; it loads providers and tools by name or path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bindings::wit;
use crate::broker::{Broker, DnsOverrides};
use crate::component::{self, LoadedComponent};
use crate::engine::{Engine, PoolConfig};
use crate::error::{Error, NotApproved, Result};
use crate::limits::{LimitOverrides, Limits};
use crate::policy::Origin;
use crate::provider::Provider;
use crate::tool::Tool;
use crate::trust::{self, Approval, HostGrant, LoadGrants, Refusal, TrustStore};

/// Host-wide configuration.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where `<name>.wasm` and `<name>.toml` are found.
    pub components_dir: PathBuf,
    /// Where compiled components are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// The largest limits any manifest may ask for.
    pub max_limits: Limits,
    /// Pooling allocator sizes.
    pub pool: PoolConfig,
    /// Fixed answers for host names, consulted before DNS (like curl's
    /// `--resolve`); the internal-address rules still apply to them.
    pub dns_overrides: DnsOverrides,
    /// Meter every call with fuel, so manifests can set `limits.fuel-per-call`
    /// (deterministic budgets, at some cost in speed).
    pub fuel: bool,
    /// The operator's approvals: what each component is granted of what its
    /// manifest asks (hosts, secrets). Empty: nothing is granted but what the
    /// load options grant.
    pub trust: TrustStore,
}

impl RuntimeConfig {
    /// Components in `dir`, compiled ones cached in `dir/../cache`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let components_dir = dir.into();
        let cache_dir = components_dir.parent().map(|p| p.join("cache"));
        RuntimeConfig {
            components_dir,
            cache_dir,
            max_limits: Limits::HOST_MAX,
            pool: PoolConfig::default(),
            dns_overrides: DnsOverrides::new(),
            fuel: false,
            trust: TrustStore::new(),
        }
    }
}

/// How the operator configures one provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// Base URL of the upstream (the provider's default if `None`). Its origin
    /// is granted to the provider, secrets included: naming it is the grant.
    pub base_url: Option<String>,
    /// Model for requests that name none.
    pub default_model: Option<String>,
    /// Provider-specific options (a JSON object).
    pub options: Option<serde_json::Value>,
    /// Extra origins the provider may reach.
    pub grants: Vec<HostGrant>,
    /// Secret values by manifest name, given in code: they bind the secret
    /// (it still goes only to the origins granted for it).
    pub secrets: HashMap<String, String>,
    /// The operator's limits for this provider, over the manifest's (still
    /// capped by the host's maxima).
    pub limits: Option<LimitOverrides>,
    /// What the operator grants this component, given in code; `None` uses
    /// the runtime's trust store ([`RuntimeConfig::trust`]).
    pub approval: Option<Approval>,
    /// Load even if the manifest asks for what is not granted; the ungranted
    /// hosts are then refused when reached and ungranted secrets are sent
    /// without a value. For running a component against a local upstream only
    /// (`cordon replay`); by default such a load is refused.
    pub deny_unapproved: bool,
}

/// How the operator configures one tool.
#[derive(Debug, Clone, Default)]
pub struct ToolOptions {
    /// Extra origins the tool may reach.
    pub grants: Vec<HostGrant>,
    /// Secret values by manifest name, given in code: they bind the secret.
    pub secrets: HashMap<String, String>,
    /// The operator's limits for this tool, over the manifest's (still capped
    /// by the host's maxima).
    pub limits: Option<LimitOverrides>,
    /// What the operator grants this component, given in code; `None` uses
    /// the runtime's trust store.
    pub approval: Option<Approval>,
    /// Load even if the manifest asks for what is not granted (see
    /// [`ProviderOptions::deny_unapproved`]).
    pub deny_unapproved: bool,
}

/// Loads and runs components.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    config: RuntimeConfig,
    dns: Arc<DnsOverrides>,
}

impl Runtime {
    /// Build the engine.
    pub fn new(config: RuntimeConfig) -> Result<Runtime> {
        let engine = Engine::new(&config.pool, config.cache_dir.clone(), config.fuel)?;
        let dns = Arc::new(config.dns_overrides.clone());
        Ok(Runtime { engine, config, dns })
    }

    /// The host's own counts: instantiation times and swaps (see [`crate::telemetry`]).
    pub fn telemetry(&self) -> &crate::telemetry::Telemetry {
        self.engine.telemetry()
    }

    /// Live instances the pooling allocator holds ([`RuntimeConfig::pool`]).
    pub fn pool_instances(&self) -> u32 {
        self.config.pool.instances
    }

    /// Where components are looked up by name.
    pub fn components_dir(&self) -> &Path {
        &self.config.components_dir
    }

    /// The operator's approvals.
    pub fn trust(&self) -> &TrustStore {
        &self.config.trust
    }

    /// The path of a component given by name (`openai`) or by path (`x/y.wasm`).
    pub fn resolve(&self, name_or_path: &str) -> Result<PathBuf> {
        let as_path = Path::new(name_or_path);
        if name_or_path.ends_with(".wasm") || name_or_path.contains(std::path::MAIN_SEPARATOR) {
            return Ok(as_path.to_owned());
        }
        let path = self.config.components_dir.join(format!("{name_or_path}.wasm"));
        if !path.exists() {
            return Err(Error::NotFound { name: name_or_path.to_owned(), dir: self.config.components_dir.clone() });
        }
        Ok(path)
    }

    /// Load a component without starting it (for `cordon inspect`).
    pub async fn inspect(&self, name_or_path: &str) -> Result<component::LoadedComponent> {
        let path = self.resolve(name_or_path)?;
        let engine = self.engine.clone();
        let max = self.config.max_limits.clone();
        tokio::task::spawn_blocking(move || component::load(&engine, &path, &max))
            .await
            .map_err(|err| Error::Engine(anyhow::anyhow!("the compile task failed: {err}")))?
    }

    /// Load a provider and run its `init` with `options`.
    pub async fn load_provider(&self, name_or_path: &str, options: ProviderOptions) -> Result<Provider> {
        let (loaded, broker) = self.prepare_provider(name_or_path, &options).await?;
        let config = wit::ProviderConfig {
            base_url: options.base_url,
            default_model: options.default_model,
            options: options.options.map(|o| o.to_string()),
        };
        Provider::start(loaded.engine.clone(), loaded, broker, config).await
    }

    /// Load a new version of `current` from `name_or_path`, with the same
    /// options, and hand it `current`'s state (its `init` is not run again).
    pub(crate) async fn load_successor(
        &self,
        current: &Provider,
        name_or_path: &str,
        options: &ProviderOptions,
    ) -> Result<Provider> {
        let (loaded, broker) = self.prepare_provider(name_or_path, options).await?;
        let expected = &current.component().manifest.name;
        if &loaded.manifest.name != expected {
            return Err(Error::Manifest {
                path: component::manifest_path(&loaded.path),
                reason: format!(
                    "names component `{}`, but it is to replace `{expected}`; a new version keeps its name",
                    loaded.manifest.name
                ),
            });
        }
        Provider::take_over(loaded.engine.clone(), loaded, broker, current.shared_state()).await
    }

    /// Load a tool and check its actions.
    pub async fn load_tool(&self, name_or_path: &str, options: ToolOptions) -> Result<Tool> {
        let grants = Grants {
            limits: options.limits.as_ref(),
            hosts: &options.grants,
            values: &options.secrets,
            approval: options.approval.as_ref(),
            deny_unapproved: options.deny_unapproved,
        };
        let (loaded, broker) = self.prepare(name_or_path, grants).await?;
        Tool::start(loaded.engine.clone(), loaded, broker).await
    }

    /// [`Runtime::prepare`] for a provider: its base URL's origin is granted too.
    async fn prepare_provider(
        &self,
        name_or_path: &str,
        options: &ProviderOptions,
    ) -> Result<(LoadedComponent, Broker)> {
        let mut hosts = options.grants.clone();
        if let Some(base) = &options.base_url {
            let url = url::Url::parse(base).map_err(|err| Error::Config(format!("base URL `{base}`: {err}")))?;
            let origin = Origin::of(&url).map_err(|why| Error::Config(format!("base URL `{base}`: {why}")))?;
            hosts.push(HostGrant { origin, with_secrets: true });
        }
        let grants = Grants {
            limits: options.limits.as_ref(),
            hosts: &hosts,
            values: &options.secrets,
            approval: options.approval.as_ref(),
            deny_unapproved: options.deny_unapproved,
        };
        self.prepare(name_or_path, grants).await
    }

    /// Compile and check a component, apply the operator's limits, check what
    /// it asks for against what the operator grants, build its broker.
    async fn prepare(&self, name_or_path: &str, grants: Grants<'_>) -> Result<(LoadedComponent, Broker)> {
        let mut loaded = self.inspect(name_or_path).await?;
        if let Some(overrides) = grants.limits {
            loaded.manifest.limits = overrides
                .resolve(&loaded.manifest.limits, &self.config.max_limits)
                .map_err(|why| Error::Config(format!("component `{name_or_path}`: {why}")))?;
        }
        if loaded.manifest.limits.fuel_per_call > 0 && !self.config.fuel {
            return Err(Error::Config(format!(
                "component `{name_or_path}` sets limits.fuel-per-call, but this host does not meter fuel; \
                 start it with fuel metering (RuntimeConfig::fuel) or remove the limit"
            )));
        }
        let stored = self.config.trust.get(&loaded.manifest.name);
        let approval = grants.approval.or(stored).cloned().unwrap_or_default();
        let load = LoadGrants { hosts: grants.hosts, values: grants.values, deny_unapproved: grants.deny_unapproved };
        let granted = match trust::grant(&loaded.manifest, &approval, &load) {
            Ok(granted) => granted,
            Err(Refusal::Config(why)) => return Err(Error::Config(why)),
            Err(Refusal::Unapproved(asks)) => return Err(self.not_approved(&loaded, stored, asks)),
        };
        if let Some(approved) = &approval.component
            && approved != &loaded.digest
        {
            tracing::info!(
                component = %loaded.manifest.name,
                approved = %approved,
                loaded = %loaded.digest,
                "loading a file other than the one approved; it asks for nothing more than the approval grants"
            );
        }
        let broker = Broker::new(&loaded.manifest.name, granted, &loaded.manifest.limits, Arc::clone(&self.dns))
            .map_err(Error::Config)?;
        Ok((loaded, broker))
    }

    /// The refusal of a component whose asks are not all granted, with the way to grant them.
    fn not_approved(&self, loaded: &LoadedComponent, stored: Option<&Approval>, asks: Vec<String>) -> Error {
        let name = &loaded.manifest.name;
        let bindings: Vec<String> = loaded.manifest.secrets.iter().map(trust::bind_hint).collect();
        let command = format!("cordon trust {name}{}{}", if bindings.is_empty() { "" } else { " " }, bindings.join(" "));
        let file = self
            .config
            .trust
            .path()
            .map_or_else(|| "the trust file".to_owned(), |p| format!("the trust file {}", p.display()));
        let mut how = format!(
            "Review them with `cordon inspect {name}`, then approve them with `{command}` (it records the approval \
             in {file}), or grant them in code (ProviderOptions::approval)."
        );
        if let Some(stored) = stored {
            let given_for = stored.component.as_deref().map(|d| format!(" (given for {d})")).unwrap_or_default();
            how = format!(
                "The approval of `{name}` in {file}{given_for} does not cover them: this file asks for more \
                 than what was approved. {how}"
            );
        }
        Error::NotApproved(Box::new(NotApproved {
            name: name.clone(),
            path: loaded.path.clone(),
            digest: loaded.digest.clone(),
            asks,
            how,
        }))
    }
}

/// What one load is given by the operator, beyond the trust store.
struct Grants<'a> {
    limits: Option<&'a LimitOverrides>,
    hosts: &'a [HostGrant],
    values: &'a HashMap<String, String>,
    approval: Option<&'a Approval>,
    deny_unapproved: bool,
}
