//! The gateway's configuration file (`cordon serve --config FILE`): where it
//! listens, the **providers** (instances of provider components, each with its
//! upstream, the sources of its secrets and its limits), the **models** clients
//! name (each a chain of `provider:model` routes tried in order, with a retry
//! policy, and the tools the host may run for it) and the **tools**.
//!
//! What a provider is given here is the operator's grant: its base URL's
//! origin, the extra `hosts`, and each secret bound to `env:VAR` or
//! `file:PATH` (sent only to the base URL's origin unless `secret-hosts` says
//! more). So one file says everything a deployment allows.
//!
//! A bad file never half-starts: unknown keys are refused, every error names
//! the file, the line and the key and says how to fix it, and secrets bound to
//! unset variables or unreadable files are all reported at start.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! drain-seconds = 30                # on SIGTERM, answers in flight may finish
//! components = "dist/components"   # relative to this file
//! # allow-unauthenticated = true    # needed to listen beyond loopback without [keys]
//!
//! [admin]                           # cordon status|reload|rollback, on a listener of its own
//! listen = "127.0.0.1:7700"
//! token = "env:CORDON_ADMIN_TOKEN"  # or file:PATH; sent as `Authorization: Bearer TOKEN`
//!
//! [keys.team-a]                     # with keys, every request must present one
//! sha256 = "f3abf2a6…"              # printf %s "$KEY" | sha256sum (or key = "env:VAR")
//! models = ["fast"]                 # the models it may use (default: all)
//! limits = { requests-per-minute = 60, tokens-per-minute = 100000, concurrent-streams = 8 }
//! budget = { usd = 25.0, period = "day" }   # or "month"; needs a price for its models' routes
//!
//! [telemetry]                       # spans over OTLP/HTTP (JSON) to {otlp-endpoint}/v1/traces
//! otlp-endpoint = "http://127.0.0.1:4318"
//! service-name = "cordon"
//!
//! [prices."gpt-4.1-mini"]           # USD per million tokens, over runtime/data/prices.toml
//! input = 0.40
//! cached-input = 0.10
//! output = 1.60
//!
//! [limits]                          # the gateway's own; these are the defaults
//! body-mib = 32
//! concurrent-turns = 256          # also sizes the instance pool (at a restart)
//! request-seconds = 30              # to send a request's head, then its body
//! first-output-seconds = 120
//! turn-seconds = 600
//!
//! [providers.openai]
//! component = "openai"
//! base-url = "https://api.openai.com/v1"
//! secrets = { api-key = "env:OPENAI_API_KEY" }
//! limits = { turn-ms = 120000 }
//!
//! [providers.groq]                  # a named service (`cordon providers`): its
//! preset = "groq"                   # component, base URL, options, and the key
//!                                   # from $GROQ_API_KEY; anything given here wins
//!
//! [models.fast]
//! routes = ["openai:gpt-4.1-mini", "openai:gpt-4.1-nano"]
//! retry = { attempts = 2 }
//! limits = { requests-per-minute = 600 }   # for all callers together
//! tools = ["calculator"]
//! tool-steps = 8                    # provider turns the host's tool loop takes at most
//!
//! [tools.calculator]
//! component = "calculator"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::limits::LimitOverrides;
use crate::policy::Origin;
use crate::presets::{self, Preset};
use crate::retry::RetryPolicy;
use crate::serve::keys::{self, KeyConfig};
use crate::serve::ledger::{Budget, Period, RateLimits};
use crate::serve::prices::{Price, Prices};
use crate::serve::traces::OtlpConfig;
use crate::serve::limits::{self, ServeLimits};
use crate::tool_loop::DEFAULT_MAX_STEPS;
use crate::trust::SecretSource;

/// Where the gateway listens unless the file says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How long answers in flight may run on after SIGTERM, unless `drain-seconds` says.
pub const DEFAULT_DRAIN_SECONDS: u64 = 30;

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The file it was read from.
    pub path: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// How long answers in flight may take to finish once SIGTERM arrives.
    pub drain: Duration,
    /// The admin endpoint, if any.
    pub admin: Option<AdminConfig>,
    /// Client keys by name; when there are any, every request must present one.
    pub keys: BTreeMap<String, KeyConfig>,
    /// Whether the operator allows listening beyond loopback without keys.
    pub allow_unauthenticated: bool,
    /// The price table: the shipped one with the file's `[prices]` over it.
    pub prices: Prices,
    /// Where spans are exported, if anywhere.
    pub otlp: Option<OtlpConfig>,
    /// The gateway's own limits.
    pub limits: ServeLimits,
    /// The components folder.
    pub components: PathBuf,
    /// The compiled-component cache (`cache` beside the components by default).
    pub cache: PathBuf,
    /// Providers by their name in the file.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Models by the public name clients send.
    pub models: BTreeMap<String, ModelConfig>,
    /// Tools by their name in the file.
    pub tools: BTreeMap<String, ToolConfig>,
}

/// The admin endpoint: where it listens and the token it requires.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Its own listener, apart from the API's.
    pub listen: SocketAddr,
    /// Where the token comes from (`env:VAR` or `file:PATH`).
    pub token: SecretSource,
}

/// One provider: an instance of a provider component.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The component's name in the components folder.
    pub component: String,
    /// The upstream; the component's default when absent.
    pub base_url: Option<String>,
    /// The model for requests that name none.
    pub default_model: Option<String>,
    /// Provider-specific options, as JSON.
    pub options: Option<serde_json::Value>,
    /// Origins it may reach besides its base URL's.
    pub hosts: Vec<Origin>,
    /// Each secret the component asks for, bound to where its value comes from.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Origins its secrets may go to besides its base URL's.
    pub secret_hosts: Vec<Origin>,
    /// The operator's limits over the manifest's.
    pub limits: Option<LimitOverrides>,
    /// Whether `GET /v1/models` lists its upstream's models (`list-models`),
    /// each callable as `PROVIDER/MODEL`.
    pub list_models: bool,
    /// Whether `GET /health/ready` consults its `health` probe (`health-check`).
    pub health_check: bool,
}

/// One public model name.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// `(provider, model)` routes, tried in order.
    pub routes: Vec<(String, String)>,
    /// How each route is retried before the next is tried.
    pub retry: RetryPolicy,
    /// Tools the host runs for this model (names in `[tools]`).
    pub tools: Vec<String>,
    /// Provider turns the host's tool loop takes at most.
    pub tool_steps: u32,
    /// Its rate limits, over all callers.
    pub limits: RateLimits,
}

/// One tool: an instance of a tool component.
#[derive(Debug, Clone)]
pub struct ToolConfig {
    /// The component's name in the components folder.
    pub component: String,
    /// Origins it may reach.
    pub hosts: Vec<Origin>,
    /// The operator's limits over the manifest's.
    pub limits: Option<LimitOverrides>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    listen: Option<Spanned<String>>,
    drain_seconds: Option<u64>,
    components: Option<PathBuf>,
    cache: Option<PathBuf>,
    admin: Option<Spanned<toml::Value>>,
    allow_unauthenticated: Option<bool>,
    #[serde(default)]
    keys: BTreeMap<String, RawKey>,
    #[serde(default)]
    prices: BTreeMap<String, Spanned<Price>>,
    telemetry: Option<Spanned<RawTelemetry>>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    models: BTreeMap<String, RawModel>,
    #[serde(default)]
    tools: BTreeMap<String, RawTool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProvider {
    component: Option<Spanned<String>>,
    preset: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    default_model: Option<String>,
    options: Option<toml::Table>,
    #[serde(default)]
    hosts: Vec<Spanned<String>>,
    #[serde(default)]
    secrets: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    secret_hosts: Vec<Spanned<String>>,
    limits: Option<LimitOverrides>,
    #[serde(default)]
    list_models: bool,
    #[serde(default)]
    health_check: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawModel {
    routes: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    retry: RawRetry,
    #[serde(default)]
    tools: Vec<Spanned<String>>,
    tool_steps: Option<Spanned<u32>>,
    #[serde(default)]
    limits: RawRateLimits,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRateLimits {
    requests_per_minute: Option<Spanned<u32>>,
    tokens_per_minute: Option<Spanned<u64>>,
    concurrent_streams: Option<Spanned<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLimits {
    body_mib: Option<Spanned<u64>>,
    concurrent_turns: Option<Spanned<usize>>,
    request_seconds: Option<Spanned<u64>>,
    first_output_seconds: Option<Spanned<u64>>,
    turn_seconds: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRetry {
    attempts: Option<Spanned<u32>>,
    base_delay_ms: Option<u64>,
    max_delay_ms: Option<u64>,
    max_retry_after_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAdmin {
    listen: String,
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawKey {
    sha256: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    models: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    limits: RawRateLimits,
    budget: Option<Spanned<RawBudget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTelemetry {
    otlp_endpoint: String,
    service_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBudget {
    usd: f64,
    #[serde(default = "default_period")]
    period: RawPeriod,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum RawPeriod {
    Day,
    Month,
}

fn default_period() -> RawPeriod {
    RawPeriod::Month
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTool {
    component: Spanned<String>,
    #[serde(default)]
    hosts: Vec<Spanned<String>>,
    limits: Option<LimitOverrides>,
}

/// The errors of one file, each naming its line and key.
struct Problems<'a> {
    path: &'a Path,
    text: &'a str,
    found: Vec<String>,
}

impl Problems<'_> {
    fn add<T>(&mut self, at: &Spanned<T>, key: &str, why: impl std::fmt::Display) {
        let line = self.text.get(..at.span().start).map_or(1, |before| before.matches('\n').count() + 1);
        self.found.push(format!("{}:{line}: `{key}`: {why}", self.path.display()));
    }

    /// The `[limits]` table; a zero is refused (it would refuse everything).
    fn limits(&mut self, raw: &RawLimits) -> ServeLimits {
        let mut checked = ServeLimits::default();
        let mut positive = |value: &Option<Spanned<u64>>, key: &str| {
            let value = value.as_ref()?;
            if *value.get_ref() == 0 {
                self.add(value, &format!("limits.{key}"), "must be at least 1 (leave it out for the default)");
                return None;
            }
            Some(*value.get_ref())
        };
        if let Some(body) = positive(&raw.body_mib, "body-mib") {
            checked.body_bytes = limits::mib(body);
        }
        if let Some(seconds) = positive(&raw.request_seconds, "request-seconds") {
            checked.request = Duration::from_secs(seconds);
        }
        if let Some(seconds) = positive(&raw.first_output_seconds, "first-output-seconds") {
            checked.first_output = Duration::from_secs(seconds);
        }
        if let Some(seconds) = positive(&raw.turn_seconds, "turn-seconds") {
            checked.turn = Duration::from_secs(seconds);
        }
        if let Some(turns) = &raw.concurrent_turns {
            if *turns.get_ref() == 0 {
                self.add(turns, "limits.concurrent-turns", "must be at least 1 (leave it out for the default)");
            } else {
                checked.concurrent_turns = *turns.get_ref();
            }
        }
        checked
    }

    /// A key's or a model's `limits`; a zero is refused (it would refuse everything).
    fn rate_limits(&mut self, raw: &RawRateLimits, at: &str) -> RateLimits {
        let mut positive = |value: Option<&Spanned<u64>>, key: &str| {
            let value = value?;
            if *value.get_ref() == 0 {
                self.add(value, &format!("{at}.limits.{key}"), "must be at least 1 (leave it out for no limit)");
                return None;
            }
            Some(*value.get_ref())
        };
        let widen = |value: &Spanned<u32>| Spanned::new(value.span(), u64::from(*value.get_ref()));
        let requests = raw.requests_per_minute.as_ref().map(widen);
        let streams = raw.concurrent_streams.as_ref().map(widen);
        RateLimits {
            requests_per_minute: positive(requests.as_ref(), "requests-per-minute").and_then(|n| u32::try_from(n).ok()),
            tokens_per_minute: positive(raw.tokens_per_minute.as_ref(), "tokens-per-minute"),
            concurrent_streams: positive(streams.as_ref(), "concurrent-streams").and_then(|n| u32::try_from(n).ok()),
        }
    }

    /// The `[admin]` table: its own address, and a token the endpoint requires.
    fn admin(&mut self, raw: &Spanned<toml::Value>) -> Option<AdminConfig> {
        const EXAMPLE: &str = "write [admin] with listen = \"127.0.0.1:7700\" and token = \"env:CORDON_ADMIN_TOKEN\"";
        let table: RawAdmin = match raw.get_ref() {
            toml::Value::String(_) => {
                self.add(raw, "admin", format!("the admin endpoint now requires a token: {EXAMPLE}"));
                return None;
            }
            value => match value.clone().try_into() {
                Ok(table) => table,
                Err(err) => {
                    self.add(raw, "admin", format!("{}: {EXAMPLE}", err.message()));
                    return None;
                }
            },
        };
        let listen = table.listen.parse::<SocketAddr>().map_err(|err| {
            self.add(raw, "admin.listen", format!("{err}: write an address and port, such as \"127.0.0.1:7700\""));
        });
        let token = SecretSource::parse(&table.token).and_then(|token| check_source(&token).map(|()| token)).map_err(|why| {
            self.add(raw, "admin.token", why);
        });
        Some(AdminConfig { listen: listen.ok()?, token: token.ok()? })
    }

    /// The `[keys]` tables: each a digest, or a key read now from its source
    /// (and kept only as its digest), and the models it may use.
    fn keys(&mut self, raw: &BTreeMap<String, RawKey>, models: &BTreeMap<String, RawModel>) -> BTreeMap<String, KeyConfig> {
        let mut keys = BTreeMap::new();
        for (name, key) in raw {
            let at = |field: &str| format!("keys.{name}.{field}");
            let digest = match (&key.sha256, &key.key) {
                (Some(sha256), None) => keys::parse_hex(sha256.get_ref().trim()).map_err(|why| {
                    self.add(sha256, &at("sha256"), format!("{why}: write what `printf %s \"$KEY\" | sha256sum` prints"));
                }),
                (None, Some(source)) => match SecretSource::parse(source.get_ref()).and_then(|parsed| parsed.read()) {
                    Ok(Some(value)) => Ok(keys::digest(value.expose())),
                    Ok(None) => {
                        let why = format!("{} is not set in the gateway's environment: set it, or give the key's `sha256`", source.get_ref());
                        self.add(source, &at("key"), why);
                        Err(())
                    }
                    Err(why) => {
                        self.add(source, &at("key"), why);
                        Err(())
                    }
                },
                (Some(sha256), Some(_)) => {
                    self.add(sha256, &format!("keys.{name}"), "give `sha256` or `key`, not both");
                    Err(())
                }
                (None, None) => {
                    self.found.push(format!(
                        "{}: `keys.{name}`: give the key's `sha256` (what `printf %s \"$KEY\" | sha256sum` prints) or `key = \"env:VAR\"`",
                        self.path.display()
                    ));
                    Err(())
                }
            };
            let allowed = key.models.as_ref().map(|list| {
                let mut allowed = std::collections::BTreeSet::new();
                for model in list {
                    if models.contains_key(model.get_ref()) {
                        allowed.insert(model.get_ref().clone());
                    } else {
                        let known: Vec<&str> = models.keys().map(String::as_str).collect();
                        self.add(model, &at("models"), format!("no model `{}` in [models] (there are: {})", model.get_ref(), known.join(", ")));
                    }
                }
                allowed
            });
            let limits = self.rate_limits(&key.limits, &format!("keys.{name}"));
            let budget = key.budget.as_ref().and_then(|raw| {
                let usd = raw.get_ref().usd;
                if !(usd.is_finite() && usd > 0.0) {
                    self.add(raw, &at("budget.usd"), "US dollars per period: more than 0");
                    return None;
                }
                let period = match raw.get_ref().period {
                    RawPeriod::Day => Period::Day,
                    RawPeriod::Month => Period::Month,
                };
                // `as` saturates: an absurd budget is simply very large.
                Some(Budget { micro_usd: (usd * 1_000_000.0).round() as u64, period })
            });
            if let Ok(digest) = digest {
                if let Some((other, _)) = keys.iter().find(|(_, config): &(&String, &KeyConfig)| config.digest == digest) {
                    self.found.push(format!("{}: `keys.{name}`: the same key as `keys.{other}`: give each its own", self.path.display()));
                }
                keys.insert(name.clone(), KeyConfig { digest, models: allowed, limits, budget });
            }
        }
        keys
    }

    /// The component a `[providers.NAME]` table loads: its `component`, else
    /// its preset's (the two must agree when both are given).
    fn component(&mut self, name: &str, raw: &RawProvider, preset: Option<&Preset>) -> Option<Spanned<String>> {
        match (&raw.component, preset, &raw.preset) {
            (Some(component), Some(preset), _) if component.get_ref() != &preset.component => {
                self.add(component, &format!("providers.{name}.component"), format!(
                    "preset `{}` is served by component `{}`: remove `component`, or the preset",
                    preset.name, preset.component
                ));
                None
            }
            (Some(component), _, _) => Some(component.clone()),
            (None, Some(preset), Some(named)) => Some(Spanned::new(named.span(), preset.component.clone())),
            // A preset that is not in the table was reported already.
            (None, None, Some(_)) | (None, Some(_), None) => None,
            (None, None, None) => {
                self.found.push(format!(
                    "{}: `providers.{name}`: give `component = \"NAME\"` (a component in the components folder) \
                     or `preset = \"NAME\"` (a named service: `cordon providers` lists them)",
                    self.path.display()
                ));
                None
            }
        }
    }

    /// The binding a preset suggests for its component's secret, when the
    /// table binds it no other way: a key in an unset variable is reported
    /// (unless the service runs without one, as a local server does).
    fn preset_secret(&mut self, preset: &Preset, named: &Spanned<String>, key: &str) -> Option<SecretSource> {
        if let Some(var) = preset.secret_env()
            && !preset.key_optional
            && std::env::var_os(var).is_none_or(|value| value.is_empty())
        {
            self.add(named, key, format!(
                "preset `{}` reads its key from ${var}, which is not set in the gateway's environment: set it, \
                 or bind the secret yourself: secrets = {{ {} = \"env:VARIABLE\" }}",
                preset.name, preset.secret_name
            ));
            return None;
        }
        Some(preset.secret.clone())
    }

    fn origins(&mut self, list: &[Spanned<String>], key: &str) -> Vec<Origin> {
        let mut origins = Vec::new();
        for item in list {
            match item.get_ref().parse::<Origin>() {
                Ok(origin) => origins.push(origin),
                Err(why) => self.add(item, key, why),
            }
        }
        origins
    }
}

impl ServeConfig {
    /// Read and check the file at `path`.
    pub fn load(path: &Path) -> Result<ServeConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read the config file {}: {err}", path.display()))?;
        ServeConfig::parse(path, &text)
    }

    /// Check `text`, the content of the file at `path` (relative folders are
    /// taken from the file's folder). Every problem is reported, not the first.
    pub fn parse(path: &Path, text: &str) -> Result<ServeConfig, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| format!("{}: {err}", path.display()))?;
        let mut problems = Problems { path, text, found: Vec::new() };
        let base = path.parent().unwrap_or(Path::new("."));

        let listen = match &raw.listen {
            None => DEFAULT_LISTEN.parse().map_err(|err| format!("{err}"))?,
            Some(listen) => listen.get_ref().parse().unwrap_or_else(|err| {
                problems.add(listen, "listen", format!("{err}: write an address and port, such as \"127.0.0.1:8080\""));
                SocketAddr::from(([127, 0, 0, 1], 0))
            }),
        };
        let admin = raw.admin.as_ref().and_then(|admin| problems.admin(admin));
        let limits = problems.limits(&raw.limits);
        let keys = problems.keys(&raw.keys, &raw.models);
        let mut overrides = BTreeMap::new();
        for (model, price) in &raw.prices {
            match price.get_ref().check() {
                Ok(()) => {
                    overrides.insert(model.clone(), *price.get_ref());
                }
                Err(why) => problems.add(price, &format!("prices.\"{model}\""), why),
            }
        }
        let prices = Prices::with(&overrides);
        let otlp = raw.telemetry.as_ref().and_then(|telemetry| {
            let raw_endpoint = &telemetry.get_ref().otlp_endpoint;
            match url::Url::parse(raw_endpoint) {
                Ok(url) if url.scheme() == "http" => Some(OtlpConfig {
                    endpoint: raw_endpoint.trim_end_matches('/').to_owned(),
                    service_name: telemetry.get_ref().service_name.clone().unwrap_or_else(|| "cordon".to_owned()),
                }),
                Ok(url) => {
                    problems.add(telemetry, "telemetry.otlp-endpoint", format!(
                        "`{}` spans are sent over plain HTTP (OTLP/HTTP, JSON), to a collector beside the gateway: write http://HOST:4318", url.scheme()
                    ));
                    None
                }
                Err(err) => {
                    problems.add(telemetry, "telemetry.otlp-endpoint", format!("{err}: write a URL such as \"http://127.0.0.1:4318\""));
                    None
                }
            }
        });
        let allow_unauthenticated = raw.allow_unauthenticated.unwrap_or(false);
        if keys.is_empty() && !allow_unauthenticated && !listen.ip().is_loopback()
            && let Some(at) = &raw.listen
        {
            problems.add(at, "listen", format!(
                "{listen} is reachable beyond this machine and there are no [keys]: anyone who reaches it would spend the providers' keys. \
                 Add [keys.NAME] tables, or set `allow-unauthenticated = true` if something in front of the gateway checks callers"
            ));
        }
        let components = base.join(raw.components.unwrap_or_else(|| PathBuf::from("dist/components")));
        let cache = match raw.cache {
            Some(cache) => base.join(cache),
            None => components.parent().map_or_else(|| PathBuf::from("cache"), |dir| dir.join("cache")),
        };

        let mut providers = BTreeMap::new();
        for (name, mut raw) in raw.providers {
            let key = |field: &str| format!("providers.{name}.{field}");
            let preset = raw.preset.as_ref().and_then(|named| {
                presets::find(named.get_ref()).map_err(|why| problems.add(named, &key("preset"), why)).ok()
            });
            let Some(component) = problems.component(&name, &raw, preset) else { continue };
            let options = raw.options.take().map(serde_json::to_value).transpose().unwrap_or_else(|err| {
                problems.add(&component, &key("options"), format!("cannot be given as JSON: {err}"));
                None
            });
            // With a preset, what this table gives wins over what the preset suggests.
            let (base_url, options) = match (preset, &raw.preset) {
                (Some(preset), Some(named)) => {
                    match preset.resolve(raw.base_url.as_ref().map(|url| url.get_ref().as_str()), options.as_ref()) {
                        Ok(resolved) => {
                            let span = raw.base_url.as_ref().map_or(named.span(), Spanned::span);
                            (Some(Spanned::new(span, resolved.base_url)), resolved.options)
                        }
                        Err(why) => {
                            problems.add(named, &key("preset"), why);
                            (None, options)
                        }
                    }
                }
                _ => (raw.base_url.clone(), options),
            };
            let base_origin = match &base_url {
                None => None,
                Some(url) => match url::Url::parse(url.get_ref()).map_err(|err| err.to_string()).and_then(|url| Origin::of(&url)) {
                    Ok(origin) => Some(origin),
                    Err(why) => {
                        problems.add(url, &key("base-url"), format!("{why}: write a URL such as \"https://api.openai.com/v1\""));
                        None
                    }
                },
            };
            let mut secrets = BTreeMap::new();
            for (secret, source) in &raw.secrets {
                match SecretSource::parse(source.get_ref()) {
                    Ok(parsed) => {
                        if let Err(why) = check_source(&parsed) {
                            problems.add(source, &key(&format!("secrets.{secret}")), why);
                        }
                        secrets.insert(secret.clone(), parsed);
                    }
                    Err(why) => problems.add(source, &key(&format!("secrets.{secret}")), why),
                }
            }
            if let (Some(preset), Some(named)) = (preset, &raw.preset)
                && !secrets.contains_key(&preset.secret_name)
                && let Some(source) = problems.preset_secret(preset, named, &key("preset"))
            {
                secrets.insert(preset.secret_name.clone(), source);
            }
            if !secrets.is_empty() && base_origin.is_none() && raw.secret_hosts.is_empty() {
                problems.add(&component, &key("secrets"), "a secret needs somewhere to go: set `base-url` (its origin gets the secrets) or `secret-hosts`");
            }
            let mut hosts = problems.origins(&raw.hosts, &key("hosts"));
            let mut secret_hosts = problems.origins(&raw.secret_hosts, &key("secret-hosts"));
            if let Some(origin) = base_origin {
                hosts.insert(0, origin.clone());
                secret_hosts.insert(0, origin);
            }
            providers.insert(
                name.clone(),
                ProviderConfig {
                    component: component.into_inner(),
                    base_url: base_url.map(Spanned::into_inner),
                    default_model: raw.default_model,
                    options,
                    hosts,
                    secrets,
                    secret_hosts,
                    limits: raw.limits,
                    list_models: raw.list_models,
                    health_check: raw.health_check,
                },
            );
        }

        let mut tools = BTreeMap::new();
        for (name, raw) in raw.tools {
            let hosts = problems.origins(&raw.hosts, &format!("tools.{name}.hosts"));
            tools.insert(name, ToolConfig { component: raw.component.into_inner(), hosts, limits: raw.limits });
        }

        let mut models = BTreeMap::new();
        for (name, raw) in raw.models {
            let key = |field: &str| format!("models.{name}.{field}");
            if raw.routes.get_ref().is_empty() {
                problems.add(&raw.routes, &key("routes"), "give at least one route, as \"PROVIDER:MODEL\"");
            }
            let mut routes = Vec::new();
            for route in raw.routes.get_ref() {
                match route.get_ref().split_once(':') {
                    Some((provider, model)) if providers.contains_key(provider) && !model.is_empty() => {
                        routes.push((provider.to_owned(), model.to_owned()));
                    }
                    Some((provider, model)) if !model.is_empty() => {
                        let known: Vec<&str> = providers.keys().map(String::as_str).collect();
                        problems.add(route, &key("routes"), format!("no provider `{provider}` in [providers] (there are: {})", known.join(", ")));
                    }
                    _ => problems.add(route, &key("routes"), format!("`{}` is not a route: write \"PROVIDER:MODEL\"", route.get_ref())),
                }
            }
            let mut retry = RetryPolicy::default();
            if let Some(attempts) = &raw.retry.attempts {
                if *attempts.get_ref() == 0 {
                    problems.add(attempts, &key("retry.attempts"), "counts the first attempt too: at least 1");
                }
                retry.attempts = *attempts.get_ref();
            }
            let millis = |ms: Option<u64>, default: Duration| ms.map_or(default, Duration::from_millis);
            retry.base_delay = millis(raw.retry.base_delay_ms, retry.base_delay);
            retry.max_delay = millis(raw.retry.max_delay_ms, retry.max_delay);
            retry.max_retry_after = millis(raw.retry.max_retry_after_ms, retry.max_retry_after);
            let mut model_tools = Vec::new();
            for tool in &raw.tools {
                if tools.contains_key(tool.get_ref()) {
                    model_tools.push(tool.get_ref().clone());
                } else {
                    problems.add(tool, &key("tools"), format!("no tool `{}` in [tools]", tool.get_ref()));
                }
            }
            let tool_steps = match &raw.tool_steps {
                Some(steps) if *steps.get_ref() == 0 => {
                    problems.add(steps, &key("tool-steps"), "counts the provider turns of the tool loop: at least 1");
                    DEFAULT_MAX_STEPS
                }
                Some(steps) => *steps.get_ref(),
                None => DEFAULT_MAX_STEPS,
            };
            if raw.tool_steps.is_some() && model_tools.is_empty()
                && let Some(steps) = &raw.tool_steps
            {
                problems.add(steps, &key("tool-steps"), "this model has no `tools`: name some, or remove `tool-steps`");
            }
            let limits = problems.rate_limits(&raw.limits, &format!("models.{name}"));
            models.insert(name, ModelConfig { routes, retry, tools: model_tools, tool_steps, limits });
        }

        // A budget is charged at the price of what its key's turns use: every
        // route of every model it may use needs one.
        for (name, key) in &keys {
            let Some(budget) = raw.keys.get(name).and_then(|raw| raw.budget.as_ref()) else { continue };
            if key.budget.is_none() {
                continue;
            }
            let unpriced: Vec<String> = models
                .iter()
                .filter(|(model, _)| key.models.as_ref().is_none_or(|allowed| allowed.contains(*model)))
                .flat_map(|(model, config)| config.routes.iter().map(move |(_, route)| (model, route)))
                .filter(|(_, route)| prices.of(route).is_none())
                .map(|(model, route)| format!("`{route}` (model `{model}`)"))
                .collect();
            if !unpriced.is_empty() {
                problems.add(budget, &format!("keys.{name}.budget"), format!(
                    "no price for {}: add a [prices.\"MODEL\"] table with input and output (US dollars per million tokens)",
                    unpriced.join(", ")
                ));
            }
        }

        if problems.found.is_empty() {
            let drain = Duration::from_secs(raw.drain_seconds.unwrap_or(DEFAULT_DRAIN_SECONDS));
            Ok(ServeConfig {
                path: path.to_owned(),
                listen,
                drain,
                admin,
                keys,
                allow_unauthenticated,
                prices,
                otlp,
                limits,
                components,
                cache,
                providers,
                models,
                tools,
            })
        } else {
            Err(problems.found.join("\n"))
        }
    }
}

/// Whether the source has a value now: a secret bound to an unset variable or
/// an unreadable file is reported at start, not at the first request.
fn check_source(source: &SecretSource) -> Result<(), String> {
    match source {
        SecretSource::Env(var) if std::env::var_os(var).is_none_or(|value| value.is_empty()) => {
            Err(format!("${var} is not set in the gateway's environment: set it, or bind the secret to another source"))
        }
        SecretSource::File(path) => std::fs::metadata(path)
            .map(drop)
            .map_err(|err| format!("{} cannot be read ({err}): create it, or bind the secret to another source", path.display())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServeConfig, String> {
        ServeConfig::parse(Path::new("/etc/cordon/serve.toml"), text)
    }

    const GOOD: &str = r#"
listen = "127.0.0.1:9000"
components = "components"

[providers.main]
component = "openai"
base-url = "http://127.0.0.1:4000/v1"
secrets = { api-key = "env:PATH" }
options = { organization = "acme" }
limits = { turn-ms = 5000 }

[models.fast]
routes = ["main:gpt-4.1-mini", "main:gpt-4.1-nano"]
retry = { attempts = 2, base-delay-ms = 10 }
tools = ["calc"]

[tools.calc]
component = "calculator"
"#;

    #[test]
    fn a_full_file_is_read() {
        let config = parse(GOOD).expect("valid");
        assert_eq!(config.listen, "127.0.0.1:9000".parse().expect("address"));
        assert_eq!(config.components, PathBuf::from("/etc/cordon/components"));
        assert_eq!(config.cache, PathBuf::from("/etc/cordon/cache"));
        let main = &config.providers["main"];
        assert_eq!(main.hosts.iter().map(Origin::to_string).collect::<Vec<_>>(), ["http://127.0.0.1:4000"]);
        assert_eq!(main.secret_hosts, main.hosts);
        assert_eq!(main.options, Some(serde_json::json!({"organization": "acme"})));
        assert_eq!(main.limits.as_ref().and_then(|l| l.turn_ms), Some(5000));
        let fast = &config.models["fast"];
        assert_eq!(fast.routes, [("main".into(), "gpt-4.1-mini".into()), ("main".into(), "gpt-4.1-nano".into())]);
        assert_eq!((fast.retry.attempts, fast.retry.base_delay), (2, Duration::from_millis(10)));
        assert_eq!(fast.tools, ["calc"]);
        assert_eq!(config.tools["calc"].component, "calculator");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = parse(&GOOD.replace("default-model", "x").replace("limits = { turn-ms = 5000 }", "limit = 1")).expect_err("refused");
        assert!(err.starts_with("/etc/cordon/serve.toml: TOML parse error at line 10"), "{err}");
        assert!(err.contains("unknown field `limit`"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_key() {
        let text = GOOD
            .replace("127.0.0.1:9000", "nowhere")
            .replace("env:PATH", "env:CORDON_TEST_SURELY_UNSET")
            .replace("\"main:gpt-4.1-nano\"", "\"other:m\", \"no-colon\"")
            .replace("attempts = 2", "attempts = 0")
            .replace("tools = [\"calc\"]", "tools = [\"calc\", \"sum\"]");
        let err = parse(&text).expect_err("refused");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 6, "{err}");
        for (line, key, why) in [
            (2, "listen", "write an address and port"),
            (8, "providers.main.secrets.api-key", "$CORDON_TEST_SURELY_UNSET is not set"),
            (13, "models.fast.routes", "no provider `other` in [providers] (there are: main)"),
            (13, "models.fast.routes", "`no-colon` is not a route"),
            (14, "models.fast.retry.attempts", "at least 1"),
            (15, "models.fast.tools", "no tool `sum` in [tools]"),
        ] {
            let prefix = format!("/etc/cordon/serve.toml:{line}: `{key}`: ");
            assert!(lines.iter().any(|l| l.starts_with(&prefix) && l.contains(why)), "{prefix}{why} in:\n{err}");
        }
    }

    #[test]
    fn limits_admin_and_tool_steps_are_checked() {
        let config = parse(&format!("{GOOD}\n[limits]\nbody-mib = 2\nconcurrent-turns = 8\nturn-seconds = 60\n")).expect("valid");
        assert_eq!((config.limits.body_bytes, config.limits.concurrent_turns), (2 << 20, 8));
        assert_eq!(config.limits.turn, Duration::from_secs(60));
        assert_eq!(config.limits.first_output, ServeLimits::default().first_output, "unset limits keep their defaults");
        assert_eq!(config.models["fast"].tool_steps, DEFAULT_MAX_STEPS);

        let text = format!("{GOOD}\n[limits]\nconcurrent-turns = 0\nrequest-seconds = 0\n")
            .replace("tools = [\"calc\"]", "tool-steps = 3");
        let line_of = |start: &str| text.lines().position(|line| line.starts_with(start)).map_or(0, |index| index + 1);
        let err = parse(&text).expect_err("refused");
        for needle in [
            format!("serve.toml:{}: `limits.concurrent-turns`: must be at least 1", line_of("concurrent-turns")),
            format!("serve.toml:{}: `limits.request-seconds`: must be at least 1", line_of("request-seconds")),
            format!("serve.toml:{}: `models.fast.tool-steps`: this model has no `tools`", line_of("tool-steps")),
        ] {
            assert!(err.contains(&needle), "`{needle}` in:\n{err}");
        }
        let err = parse("[limits]\nbody-kib = 1\n").expect_err("refused");
        assert!(err.contains("unknown field `body-kib`"), "{err}");
    }

    #[test]
    fn the_admin_endpoint_needs_a_token() {
        let config = parse(&format!("{GOOD}\n[admin]\nlisten = \"0.0.0.0:7700\"\ntoken = \"env:PATH\"\n")).expect("valid");
        let admin = config.admin.expect("an admin endpoint");
        assert_eq!(admin.listen.to_string(), "0.0.0.0:7700", "any address: the token protects it");
        assert_eq!(admin.token.describe(), "$PATH");

        let err = parse(&format!("admin = \"127.0.0.1:7700\"\n{GOOD}")).expect_err("refused");
        assert!(err.contains("serve.toml:1: `admin`: the admin endpoint now requires a token: write [admin] with listen"), "{err}");
        let err = parse(&format!("{GOOD}\n[admin]\nlisten = \"127.0.0.1:7700\"\n")).expect_err("refused");
        assert!(err.contains("`admin`: missing field `token`"), "{err}");
        let err = parse(&format!("{GOOD}\n[admin]\nlisten = \"127.0.0.1:7700\"\ntoken = \"env:CORDON_TEST_SURELY_UNSET\"\n")).expect_err("refused");
        assert!(err.contains("`admin.token`: $CORDON_TEST_SURELY_UNSET is not set"), "{err}");
    }

    #[test]
    fn keys_are_digests_of_their_models() {
        let digest = keys::hex(&keys::digest("sk-team"));
        let text = format!(
            "{GOOD}\n[keys.team]\nsha256 = \"{digest}\"\nmodels = [\"fast\"]\n[keys.ops]\nkey = \"file:/nonexistent/key\"\n\
             [keys.env]\nkey = \"env:CORDON_TEST_SURELY_UNSET\"\n[keys.both]\nsha256 = \"{digest}\"\nkey = \"env:PATH\"\n\
             [keys.neither]\nmodels = [\"slow\"]\n[keys.short]\nsha256 = \"abc\"\n"
        );
        let err = parse(&text).expect_err("refused");
        for needle in [
            "`keys.ops.key`: its file /nonexistent/key cannot be read",
            "`keys.env.key`: env:CORDON_TEST_SURELY_UNSET is not set",
            "`keys.both`: give `sha256` or `key`, not both",
            "`keys.neither`: give the key's `sha256`",
            "`keys.neither.models`: no model `slow` in [models] (there are: fast)",
            "`keys.short.sha256`: has 3 characters where a SHA-256 digest has 64 hex digits",
        ] {
            assert!(err.contains(needle), "`{needle}` in:\n{err}");
        }
        let config = parse(&format!("{GOOD}\n[keys.team]\nsha256 = \"{digest}\"\nmodels = [\"fast\"]\n[keys.all]\nkey = \"env:PATH\"\n")).expect("valid");
        assert_eq!(config.keys["team"].digest, keys::digest("sk-team"));
        assert_eq!(config.keys["team"].models, Some(["fast".to_owned()].into()));
        assert_eq!(config.keys["all"].digest, keys::digest(&std::env::var("PATH").expect("PATH")));
        assert_eq!(config.keys["all"].models, None);
        let err = parse(&format!("{GOOD}\n[keys.a]\nsha256 = \"{digest}\"\n[keys.b]\nsha256 = \"{digest}\"\n")).expect_err("refused");
        assert!(err.contains("`keys.b`: the same key as `keys.a`"), "{err}");
    }

    #[test]
    fn keys_and_models_have_rate_limits() {
        let digest = keys::hex(&keys::digest("k"));
        let text = format!(
            "{}\n[keys.k]\nsha256 = \"{digest}\"\nlimits = {{ requests-per-minute = 60, tokens-per-minute = 1000, concurrent-streams = 2 }}\n",
            GOOD.replace("tools = [\"calc\"]", "tools = [\"calc\"]\nlimits = { concurrent-streams = 8 }")
        );
        let config = parse(&text).expect("valid");
        let limits = RateLimits { requests_per_minute: Some(60), tokens_per_minute: Some(1000), concurrent_streams: Some(2) };
        assert_eq!(config.keys["k"].limits, limits);
        assert_eq!(config.models["fast"].limits, RateLimits { concurrent_streams: Some(8), ..RateLimits::default() });

        let err = parse(&text.replace("requests-per-minute = 60", "requests-per-minute = 0").replace("= 8 }", "= 8, tokens-per-minute = 0 }"))
            .expect_err("refused");
        assert!(err.contains("`keys.k.limits.requests-per-minute`: must be at least 1"), "{err}");
        assert!(err.contains("`models.fast.limits.tokens-per-minute`: must be at least 1"), "{err}");
        let err = parse(&text.replace("concurrent-streams = 2", "streams = 2")).expect_err("refused");
        assert!(err.contains("unknown field `streams`"), "{err}");
    }

    #[test]
    fn a_budget_needs_a_price_for_every_route_it_may_use() {
        let digest = keys::hex(&keys::digest("k"));
        let budgeted = format!("{GOOD}\n[keys.k]\nsha256 = \"{digest}\"\nbudget = {{ usd = 25.5, period = \"day\" }}\n");
        let config = parse(&budgeted).expect("gpt-4.1-mini and -nano are in the shipped table");
        assert_eq!(config.keys["k"].budget, Some(Budget { micro_usd: 25_500_000, period: Period::Day }));
        assert!(config.prices.of("gpt-4.1-nano").is_some());

        let local = budgeted.replace("main:gpt-4.1-nano", "main:local-llama");
        let err = parse(&local).expect_err("no price for local-llama");
        assert!(err.contains("`keys.k.budget`: no price for `local-llama` (model `fast`): add a [prices.\"MODEL\"] table"), "{err}");
        let priced = format!("{local}\n[prices.\"local-llama\"]\ninput = 0.0\noutput = 0.0\n");
        assert_eq!(parse(&priced).expect("priced").prices.of("local-llama").map(|p| p.output), Some(0.0));

        let err = parse(&priced.replace("output = 0.0", "output = -1.0")).expect_err("negative");
        assert!(err.contains("`prices.\"local-llama\"`: prices are US dollars per million tokens: 0 or more"), "{err}");
        let err = parse(&budgeted.replace("usd = 25.5", "usd = 0.0")).expect_err("zero");
        assert!(err.contains("`keys.k.budget.usd`: US dollars per period: more than 0"), "{err}");
        let err = parse(&budgeted.replace("\"day\"", "\"week\"")).expect_err("no weeks");
        assert!(err.contains("unknown variant `week`, expected `day` or `month`"), "{err}");
        let monthly = parse(&budgeted.replace(", period = \"day\"", "")).expect("a month by default");
        assert_eq!(monthly.keys["k"].budget.map(|b| b.period), Some(Period::Month));
    }

    #[test]
    fn spans_go_to_a_plain_http_otlp_endpoint() {
        let config = parse(&format!("{GOOD}\n[telemetry]\notlp-endpoint = \"http://127.0.0.1:4318/\"\n")).expect("valid");
        assert_eq!(config.otlp, Some(OtlpConfig { endpoint: "http://127.0.0.1:4318".into(), service_name: "cordon".into() }));
        let err = parse(&format!("{GOOD}\n[telemetry]\notlp-endpoint = \"https://collector:4318\"\n")).expect_err("https");
        assert!(err.contains("`telemetry.otlp-endpoint`: `https` spans are sent over plain HTTP"), "{err}");
        let err = parse(&format!("{GOOD}\n[telemetry]\notlp-endpoint = \"collector\"\n")).expect_err("not a URL");
        assert!(err.contains("`telemetry.otlp-endpoint`: relative URL without a base"), "{err}");
        assert!(parse(&format!("{GOOD}\n[telemetry]\nendpoint = \"http://x\"\n")).expect_err("unknown").contains("unknown field `endpoint`"));
    }

    #[test]
    fn listening_beyond_loopback_needs_keys_or_an_explicit_yes() {
        let open = GOOD.replace("127.0.0.1:9000", "0.0.0.0:9000");
        let err = parse(&open).expect_err("refused");
        assert!(err.contains("serve.toml:2: `listen`: 0.0.0.0:9000 is reachable beyond this machine and there are no [keys]"), "{err}");
        assert!(parse(&format!("allow-unauthenticated = true\n{open}")).is_ok());
        let digest = keys::hex(&keys::digest("k"));
        assert!(parse(&format!("{open}\n[keys.k]\nsha256 = \"{digest}\"\n")).is_ok());
    }

    #[test]
    fn a_preset_fills_in_what_the_table_leaves_out() {
        let text = "[providers.fast]\npreset = \"groq\"\nsecrets = { api-key = \"env:PATH\" }\n\n\
                    [providers.local]\npreset = \"lmstudio\"\n\n\
                    [providers.mine]\npreset = \"mistral\"\nbase-url = \"http://127.0.0.1:9/v1\"\noptions = { tool_result_name = false }\n\
                    secrets = { api-key = \"env:PATH\" }\n";
        let config = parse(text).expect("valid");
        let fast = &config.providers["fast"];
        assert_eq!((fast.component.as_str(), fast.base_url.as_deref()), ("openai", Some("https://api.groq.com/openai/v1")));
        assert_eq!(fast.hosts.iter().map(Origin::to_string).collect::<Vec<_>>(), ["https://api.groq.com:443"]);
        assert_eq!(fast.secret_hosts, fast.hosts, "the key goes to the preset's origin only");
        assert_eq!(fast.secrets["api-key"].describe(), "$PATH", "the table's own binding wins");
        let local = &config.providers["local"];
        assert_eq!(local.secrets["api-key"].describe(), "$LM_STUDIO_API_KEY", "a local server's key may be unset");
        let mine = &config.providers["mine"];
        assert_eq!(mine.base_url.as_deref(), Some("http://127.0.0.1:9/v1"), "the table's base URL wins");
        assert_eq!(
            mine.options,
            Some(serde_json::json!({"rename": {"seed": "random_seed"}, "tool_result_name": false})),
            "the table's options are merged over the preset's"
        );
    }

    #[test]
    fn preset_mistakes_are_named() {
        let err = parse("[providers.a]\npreset = \"grok\"\n").expect_err("unknown");
        assert!(err.contains("serve.toml:2: `providers.a.preset`: no preset named `grok`: did you mean"), "{err}");
        assert!(err.contains("`cordon providers` lists all"), "{err}");
        let err = parse("[providers.a]\npreset = \"azure\"\nsecrets = { api-key = \"env:PATH\" }\n").expect_err("no resource");
        assert!(err.contains("`providers.a.preset`: preset `azure` needs your own resource"), "{err}");
        let err = parse("[providers.a]\npreset = \"groq\"\ncomponent = \"anthropic\"\nsecrets = { api-key = \"env:PATH\" }\n").expect_err("mismatch");
        assert!(err.contains("serve.toml:3: `providers.a.component`: preset `groq` is served by component `openai`"), "{err}");
        let err = parse("[providers.a]\nbase-url = \"http://127.0.0.1:9\"\n").expect_err("neither");
        assert!(err.contains("`providers.a`: give `component = \"NAME\"`") && err.contains("or `preset = \"NAME\"`"), "{err}");
    }

    #[test]
    fn secrets_need_a_destination_and_origins_a_scheme() {
        let text = "[providers.p]\ncomponent = \"openai\"\nsecrets = { k = \"file:/nonexistent/key\" }\nhosts = [\"ftp://x\"]\n";
        let err = parse(text).expect_err("refused");
        assert!(err.contains("serve.toml:3: `providers.p.secrets.k`: /nonexistent/key cannot be read"), "{err}");
        assert!(err.contains("serve.toml:2: `providers.p.secrets`: a secret needs somewhere to go"), "{err}");
        assert!(err.contains("serve.toml:4: `providers.p.hosts`: scheme `ftp` is not allowed"), "{err}");
        let defaults = parse("").expect("an empty file is a gateway with nothing to serve");
        assert_eq!(defaults.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(defaults.drain, Duration::from_secs(DEFAULT_DRAIN_SECONDS));
    }
}
