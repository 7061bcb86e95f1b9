//! What the gateway asks its providers' upstreams through contract 0.2.0,
//! cached: the models of each provider configured with `list-models = true`
//! (for `GET /v1/models`, each callable as `PROVIDER/MODEL`), and the health
//! of each configured with `health-check = true` (for `GET /health/ready`).
//!
//! A listing is kept [`MODELS_TTL`]; one that fails keeps the last good list
//! (or none) and is tried again after [`RETRY_TTL`], so an upstream that is
//! down never fails the endpoint. A probe is kept [`HEALTH_TTL`]. A provider
//! built against contract 0.1.0 has neither call and is skipped. Concurrent
//! callers of a stale entry wait for one refresh rather than each sending one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::error::Error;
use crate::models::{Health, HealthStatus};
use crate::registry::Registry;
use crate::serve::config::ServeConfig;

/// How long a provider's model list is kept.
pub const MODELS_TTL: Duration = Duration::from_secs(300);
/// How long a health probe's verdict is kept.
pub const HEALTH_TTL: Duration = Duration::from_secs(15);
/// How soon a failed listing is tried again.
pub const RETRY_TTL: Duration = Duration::from_secs(30);

/// One cached value and when it goes stale.
struct Cached<T> {
    slot: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Cached<T> {
    fn new() -> Self {
        Cached { slot: Mutex::new(None) }
    }

    /// The value, refreshed by `refresh` (which returns it and how long it
    /// keeps, given the value it replaces) when absent or stale.
    async fn get<F, Fut>(&self, refresh: F) -> T
    where
        F: FnOnce(Option<T>) -> Fut,
        Fut: Future<Output = (T, Duration)>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((until, value)) = slot.as_ref()
            && Instant::now() < *until
        {
            return value.clone();
        }
        let (value, keep) = refresh(slot.take().map(|(_, value)| value)).await;
        *slot = Some((Instant::now().checked_add(keep).unwrap_or_else(Instant::now), value.clone()));
        value
    }
}

/// A model an upstream lists, as the gateway shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamModel {
    /// The provider's name in the config (`owned_by`).
    pub provider: String,
    /// The id clients call it by: `PROVIDER/MODEL`.
    pub id: String,
    /// The upstream's display name, if it gives one.
    pub display_name: Option<String>,
}

/// The caches of one gateway's providers.
pub struct Upstreams {
    registry: Arc<Registry>,
    models: BTreeMap<String, Cached<Vec<UpstreamModel>>>,
    health: BTreeMap<String, Cached<Option<Health>>>,
}

impl Upstreams {
    /// Caches for the providers of `config` that opted in.
    pub fn new(registry: Arc<Registry>, config: &ServeConfig) -> Upstreams {
        let chosen = |wants: fn(&crate::serve::config::ProviderConfig) -> bool| {
            config.providers.iter().filter(move |(_, provider)| wants(provider)).map(|(name, _)| name.clone())
        };
        let models = chosen(|provider| provider.list_models).map(|name| (name, Cached::new())).collect();
        let health = chosen(|provider| provider.health_check).map(|name| (name, Cached::new())).collect();
        Upstreams { registry, models, health }
    }

    /// Whether `provider` lists its models (so `PROVIDER/MODEL` may be called).
    pub fn lists(&self, provider: &str) -> bool {
        self.models.contains_key(provider)
    }

    /// Every listing provider's models, in provider order.
    pub async fn models(&self) -> Vec<UpstreamModel> {
        let mut all = Vec::new();
        for (name, cached) in &self.models {
            all.extend(cached.get(|previous| self.list(name, previous)).await);
        }
        all
    }

    async fn list(&self, name: &str, previous: Option<Vec<UpstreamModel>>) -> (Vec<UpstreamModel>, Duration) {
        let listed = match self.registry.get(name) {
            Ok(provider) => provider.list_models().await,
            Err(err) => Err(err),
        };
        match listed {
            Ok(models) => {
                let shown = models
                    .into_iter()
                    .map(|model| UpstreamModel { provider: name.to_owned(), id: format!("{name}/{}", model.id), display_name: model.display_name })
                    .collect();
                (shown, MODELS_TTL)
            }
            Err(err) => {
                tracing::warn!(provider = name, error = %err, "listing the upstream's models failed; GET /v1/models shows the last list");
                (previous.unwrap_or_default(), RETRY_TTL)
            }
        }
    }

    /// Each health-checked provider's verdict (0.1.0 components left out).
    pub async fn health(&self) -> BTreeMap<String, Health> {
        let mut verdicts = BTreeMap::new();
        for (name, cached) in &self.health {
            if let Some(health) = cached.get(|_| async { (self.probe(name).await, HEALTH_TTL) }).await {
                verdicts.insert(name.clone(), health);
            }
        }
        verdicts
    }

    async fn probe(&self, name: &str) -> Option<Health> {
        let probed = match self.registry.get(name) {
            Ok(provider) => provider.health().await,
            Err(err) => Err(err),
        };
        match probed {
            Ok(health) => Some(health),
            Err(Error::NotSupported { .. }) => None,
            Err(err) => Some(Health { status: HealthStatus::Down, reason: Some(err.to_string()), took_ms: 0 }),
        }
    }
}
