//! The component manifest: a TOML file beside the component (`openai.wasm` +
//! `openai.toml`), parsed strictly into checked types. Unknown keys are errors.
//!
//! ```toml
//! name = "openai"
//! version = "0.1.0"
//! contract = "cordon:provider@0.1.0"
//! allowed-hosts = ["https://api.openai.com"]
//!
//! [[secrets]]
//! name = "api-key"              # what the guest names in a request
//! env = "OPENAI_API_KEY"        # where the host reads the value
//! header = "authorization"      # the header the host sets
//! format = "Bearer {value}"     # how the value is written into it
//! hosts = ["https://api.openai.com"]
//!
//! [limits]
//! memory-mib = 64
//! ```

use std::path::Path;

use reqwest::header::HeaderName;
use serde::Deserialize;

use crate::limits::{LimitOverrides, Limits};
use crate::policy::{AllowList, Origin};

/// The contract version this host serves.
pub const CONTRACT_VERSION: &str = "0.1.0";
/// The contract package and version, as a manifest writes it.
pub const CONTRACT: &str = "cordon:provider@0.1.0";

/// A checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Component name.
    pub name: String,
    /// Component version.
    pub version: String,
    /// Contract it was built against, e.g. `cordon:provider@0.1.0`.
    pub contract: String,
    /// One-line description.
    pub description: Option<String>,
    /// Where it may send requests.
    pub allowed_hosts: AllowList,
    /// Secrets the host adds to its requests.
    pub secrets: Vec<SecretSpec>,
    /// Effective limits (defaults, overridden by the manifest, capped by the host).
    pub limits: Limits,
}

/// A secret the host adds to a component's requests.
#[derive(Debug, Clone)]
pub struct SecretSpec {
    /// The name a guest uses to ask for it.
    pub name: String,
    /// The environment variable the host reads the value from.
    pub env: String,
    /// The header the host writes it to.
    pub header: HeaderName,
    /// The header value, with `{value}` standing for the secret.
    pub format: String,
    /// The only origins this secret may be sent to.
    pub hosts: AllowList,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawManifest {
    name: String,
    version: String,
    contract: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    secrets: Vec<RawSecret>,
    #[serde(default)]
    limits: LimitOverrides,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSecret {
    name: String,
    env: String,
    header: String,
    #[serde(default = "default_format")]
    format: String,
    hosts: Vec<String>,
}

fn default_format() -> String {
    "{value}".to_owned()
}

impl Manifest {
    /// Read and check the manifest at `path`.
    pub fn load(path: &Path, max: &Limits) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            format!("cannot read it ({err}); every component needs a manifest beside it (see README, \"Manifest\")")
        })?;
        Manifest::parse(&text, max)
    }

    /// Parse and check manifest text.
    pub fn parse(text: &str, max: &Limits) -> Result<Manifest, String> {
        let raw: RawManifest = toml::from_str(text).map_err(|err| err.to_string())?;
        let valid_name = !raw.name.is_empty()
            && raw.name.len() <= 64
            && raw.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_name {
            return Err(format!(
                "name `{}` must be 1-64 characters of a-z, 0-9, `-` or `_`",
                raw.name
            ));
        }
        if raw.version.split('.').count() != 3
            || !raw.version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("version `{}` must be MAJOR.MINOR.PATCH", raw.version));
        }
        if raw.contract != CONTRACT {
            return Err(format!(
                "contract `{}` is not served by this host, which serves `{CONTRACT}`; \
                 rebuild the component against this host's wit/ and update the manifest",
                raw.contract
            ));
        }
        let allowed_hosts = AllowList::new(parse_origins("allowed-hosts", &raw.allowed_hosts)?);
        let mut secrets = Vec::with_capacity(raw.secrets.len());
        for secret in raw.secrets {
            let header = HeaderName::from_bytes(secret.header.as_bytes()).map_err(|_| {
                format!("secret `{}`: `{}` is not a valid header name", secret.name, secret.header)
            })?;
            if !secret.format.contains("{value}") {
                return Err(format!(
                    "secret `{}`: format `{}` must contain `{{value}}`",
                    secret.name, secret.format
                ));
            }
            if secret.env.is_empty() {
                return Err(format!("secret `{}`: env must name an environment variable", secret.name));
            }
            let hosts = parse_origins(&format!("secret `{}` hosts", secret.name), &secret.hosts)?;
            if let Some(stray) = hosts.iter().find(|h| !allowed_hosts.allows(h)) {
                return Err(format!(
                    "secret `{}` may go to {stray}, which is not in allowed-hosts; add it there or remove it",
                    secret.name
                ));
            }
            if secrets.iter().any(|s: &SecretSpec| s.name == secret.name) {
                return Err(format!("secret `{}` is declared twice", secret.name));
            }
            secrets.push(SecretSpec {
                name: secret.name,
                env: secret.env,
                header,
                format: secret.format,
                hosts: AllowList::new(hosts),
            });
        }
        let limits = raw.limits.resolve(&Limits::DEFAULT, max)?;
        Ok(Manifest {
            name: raw.name,
            version: raw.version,
            contract: raw.contract,
            description: raw.description,
            allowed_hosts,
            secrets,
            limits,
        })
    }
}

fn parse_origins(what: &str, entries: &[String]) -> Result<Vec<Origin>, String> {
    entries
        .iter()
        .map(|entry| entry.parse::<Origin>().map_err(|err| format!("{what}: {err}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        name = "openai"
        version = "0.1.0"
        contract = "cordon:provider@0.1.0"
        allowed-hosts = ["https://api.openai.com"]
        [[secrets]]
        name = "api-key"
        env = "OPENAI_API_KEY"
        header = "authorization"
        format = "Bearer {value}"
        hosts = ["https://api.openai.com"]
        [limits]
        memory-mib = 32
    "#;

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, &Limits::HOST_MAX)
    }

    #[test]
    fn a_good_manifest_parses() {
        let m = parse(GOOD).expect("valid");
        assert_eq!(m.name, "openai");
        assert_eq!(m.secrets[0].header.as_str(), "authorization");
        assert_eq!(m.limits.memory_bytes(), 32 * 1024 * 1024);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (GOOD.replace("allowed-hosts", "allowed_hosts"), "unknown field"),
            (GOOD.replace("@0.1.0", "@0.2.0"), "not served"),
            (GOOD.replace("hosts = [\"https://api.openai.com\"]\n        [limits]", "hosts = [\"https://evil.test\"]\n        [limits]"), "not in allowed-hosts"),
            (GOOD.replace("Bearer {value}", "Bearer"), "{value}"),
            (GOOD.replace("name = \"openai\"", "name = \"Open AI\""), "name"),
            (GOOD.replace("memory-mib = 32", "memory-mib = 99999"), "host maximum"),
            (GOOD.replace("header = \"authorization\"", "header = \"bad header\""), "header name"),
        ];
        for (text, needle) in cases {
            let err = parse(&text).expect_err(needle);
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }
}
