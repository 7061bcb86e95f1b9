//! The entry point of the library: a [`Runtime`] owns the engine and knows where
//! components live; it loads providers and tools by name or path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bindings::wit;
use crate::broker::{Broker, DnsOverrides, HostGrant};
use crate::component;
use crate::engine::{Engine, PoolConfig};
use crate::error::{Error, Result};
use crate::limits::{LimitOverrides, Limits};
use crate::policy::Origin;
use crate::provider::Provider;
use crate::tool::Tool;

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
}

impl RuntimeConfig {
    /// Components in `dir`, compiled ones cached in `dir/../cache`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let components_dir = dir.into();
        let cache_dir = components_dir.parent().map(|p| p.join("cache"));
        RuntimeConfig { components_dir, cache_dir, max_limits: Limits::HOST_MAX, pool: PoolConfig::default(), dns_overrides: DnsOverrides::new(), fuel: false }
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
    /// Extra origins the provider may reach, beyond its manifest.
    pub grants: Vec<HostGrant>,
    /// Secret values by manifest name; these win over the environment.
    pub secrets: HashMap<String, String>,
    /// The operator's limits for this provider, over the manifest's (still
    /// capped by the host's maxima).
    pub limits: Option<LimitOverrides>,
}

/// How the operator configures one tool.
#[derive(Debug, Clone, Default)]
pub struct ToolOptions {
    /// Extra origins the tool may reach, beyond its manifest.
    pub grants: Vec<HostGrant>,
    /// Secret values by manifest name; these win over the environment.
    pub secrets: HashMap<String, String>,
    /// The operator's limits for this tool, over the manifest's (still capped
    /// by the host's maxima).
    pub limits: Option<LimitOverrides>,
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

    /// Where components are looked up by name.
    pub fn components_dir(&self) -> &Path {
        &self.config.components_dir
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
        Provider::start(self.engine.clone(), loaded, broker, config).await
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
        Provider::take_over(self.engine.clone(), loaded, broker, current.shared_state()).await
    }

    /// Load a tool and check its actions.
    pub async fn load_tool(&self, name_or_path: &str, options: ToolOptions) -> Result<Tool> {
        let (loaded, broker) =
            self.prepare(name_or_path, options.limits.as_ref(), options.grants, &options.secrets).await?;
        Tool::start(self.engine.clone(), loaded, broker).await
    }

    /// [`Runtime::prepare`] for a provider: its base URL's origin is granted too.
    async fn prepare_provider(
        &self,
        name_or_path: &str,
        options: &ProviderOptions,
    ) -> Result<(component::LoadedComponent, Broker)> {
        let mut grants = options.grants.clone();
        if let Some(base) = &options.base_url {
            let url = url::Url::parse(base).map_err(|err| Error::Config(format!("base URL `{base}`: {err}")))?;
            let origin = Origin::of(&url).map_err(|why| Error::Config(format!("base URL `{base}`: {why}")))?;
            grants.push(HostGrant { origin, with_secrets: true });
        }
        self.prepare(name_or_path, options.limits.as_ref(), grants, &options.secrets).await
    }

    /// Compile and check a component, apply the operator's limits, build its broker.
    async fn prepare(
        &self,
        name_or_path: &str,
        limits: Option<&LimitOverrides>,
        grants: Vec<HostGrant>,
        secrets: &HashMap<String, String>,
    ) -> Result<(component::LoadedComponent, Broker)> {
        let mut loaded = self.inspect(name_or_path).await?;
        if let Some(overrides) = limits {
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
        let broker = Broker::new(&loaded.manifest, &grants, secrets, Arc::clone(&self.dns)).map_err(Error::Config)?;
        Ok((loaded, broker))
    }
}
