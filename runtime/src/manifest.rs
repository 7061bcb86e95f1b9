//! The component manifest: a TOML file beside the component (`openai.wasm` +
//! `openai.toml`), parsed strictly into checked types. Unknown keys are errors.
//!
//! The manifest travels with the component, so it is as untrusted as the
//! component: it only *asks*. Its hosts and secrets are requests the operator
//! grants or not ([`crate::trust`]); nothing here is granted by being written.
//!
//! ```toml
//! name = "openai"
//! version = "0.1.0"
//! contract = "cordon:provider@0.1.0"
//! allowed-hosts = ["https://api.openai.com"]   # hosts it asks to reach
//!
//! [[secrets]]
//! name = "api-key"                  # what the guest names in a request
//! description = "OpenAI API key"    # what it is for, shown to the operator
//! header = "authorization"          # the header the host sets
//! format = "Bearer {value}"         # how the value is written into it
//! hosts = ["https://api.openai.com"]  # where it asks the secret be sent
//! suggested-env = "OPENAI_API_KEY"  # a hint for the operator, never read by the host
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
    /// The origins it asks to reach.
    pub allowed_hosts: AllowList,
    /// The secrets it asks the host to add to its requests.
    pub secrets: Vec<SecretRequest>,
    /// Effective limits (defaults, overridden by the manifest, capped by the host).
    pub limits: Limits,
}

/// A secret a component asks the host to add to its requests. Where its value
/// comes from, and where it may really go, is the operator's grant.
#[derive(Debug, Clone)]
pub struct SecretRequest {
    /// The name a guest uses to ask for it.
    pub name: String,
    /// What it is for, in the component author's words.
    pub description: String,
    /// The header the host writes it to.
    pub header: HeaderName,
    /// The header value, with `{value}` standing for the secret.
    pub format: String,
    /// The origins it asks the secret be sent to.
    pub hosts: AllowList,
    /// An environment variable the author suggests binding it to: shown to the
    /// operator, never read by the host.
    pub suggested_env: Option<String>,
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
    description: Option<String>,
    /// Read only to explain that a manifest may no longer choose it.
    env: Option<String>,
    header: String,
    #[serde(default = "default_format")]
    format: String,
    hosts: Vec<String>,
    suggested_env: Option<String>,
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
            if let Some(env) = secret.env {
                return Err(format!(
                    "secret `{}`: `env` is not read from a manifest: a component may not choose which of the host's \
                     variables it gets. Write `suggested-env = \"{env}\"` instead; the operator binds the secret \
                     (`cordon trust NAME --secret {}=env:VAR`, see README \"Trust\")",
                    secret.name, secret.name
                ));
            }
            let description = secret.description.filter(|d| !d.trim().is_empty()).ok_or_else(|| {
                format!("secret `{}`: add a `description` saying what it is for; the operator reads it before granting it", secret.name)
            })?;
            if let Some(env) = &secret.suggested_env
                && !is_env_name(env)
            {
                return Err(format!("secret `{}`: suggested-env `{env}` is not an environment variable name (A-Z, 0-9, `_`)", secret.name));
            }
            let hosts = parse_origins(&format!("secret `{}` hosts", secret.name), &secret.hosts)?;
            if let Some(stray) = hosts.iter().find(|h| !allowed_hosts.allows(h)) {
                return Err(format!(
                    "secret `{}` may go to {stray}, which is not in allowed-hosts; add it there or remove it",
                    secret.name
                ));
            }
            if secrets.iter().any(|s: &SecretRequest| s.name == secret.name) {
                return Err(format!("secret `{}` is declared twice", secret.name));
            }
            secrets.push(SecretRequest {
                name: secret.name,
                description,
                header,
                format: secret.format,
                hosts: AllowList::new(hosts),
                suggested_env: secret.suggested_env,
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

/// Whether `name` looks like an environment variable name.
pub fn is_env_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !name.starts_with(|c: char| c.is_ascii_digit())
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
        description = "OpenAI API key"
        suggested-env = "OPENAI_API_KEY"
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
            (GOOD.replace("suggested-env", "env"), "suggested-env = \"OPENAI_API_KEY\""),
            (GOOD.replace("description = \"OpenAI API key\"", ""), "description"),
            (GOOD.replace("\"OPENAI_API_KEY\"", "\"OPENAI KEY\""), "not an environment variable name"),
        ];
        for (text, needle) in cases {
            let err = parse(&text).expect_err(needle);
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }
}
