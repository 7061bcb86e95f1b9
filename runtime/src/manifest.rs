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
//! contract = "cordon:provider@0.2.0"   # or 0.1.0: every version the host serves
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
//! [[secrets]]                       # a secret the host signs with instead:
//! name = "aws"
//! description = "AWS credentials; the host signs each request with SigV4"
//! scheme = "aws-sigv4"              # or "google-service-account" (then `scopes`)
//! service = "bedrock"               # the SigV4 service name
//! hosts = ["https://bedrock-runtime.us-east-1.amazonaws.com"]
//!
//! [limits]
//! memory-mib = 64
//! ```

use std::path::Path;

use reqwest::header::HeaderName;
use serde::Deserialize;

use crate::limits::{LimitOverrides, Limits};
use crate::policy::{AllowList, Origin};

use crate::contract::ContractVersion;

/// A checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Component name.
    pub name: String,
    /// Component version.
    pub version: String,
    /// Contract it was built against, e.g. `cordon:provider@0.2.0` (one this host serves).
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
    /// How the host uses it on a request.
    pub scheme: SecretScheme,
    /// The origins it asks the secret be sent to.
    pub hosts: AllowList,
    /// An environment variable the author suggests binding it to: shown to the
    /// operator, never read by the host.
    pub suggested_env: Option<String>,
}

/// How the host uses a secret on the requests that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretScheme {
    /// Written into a header.
    Header {
        /// The header the host writes it to.
        header: HeaderName,
        /// The header value, with `{value}` standing for the secret.
        format: String,
    },
    /// AWS credentials the host signs each request with (Signature Version 4).
    AwsSigV4 {
        /// The SigV4 service name, e.g. `bedrock`.
        service: String,
    },
    /// A Google service account the host mints OAuth access tokens with,
    /// sent as `authorization: Bearer`.
    GoogleServiceAccount {
        /// The OAuth scopes asked for.
        scopes: Vec<String>,
    },
}

/// The scheme name of [`SecretScheme::AwsSigV4`] in a manifest.
pub const AWS_SIGV4: &str = "aws-sigv4";
/// The scheme name of [`SecretScheme::GoogleServiceAccount`] in a manifest.
pub const GOOGLE_SERVICE_ACCOUNT: &str = "google-service-account";
/// The scope a Google service-account secret asks for when it names none.
pub const DEFAULT_GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

impl SecretScheme {
    /// The header a guest may not set itself, because the host writes it
    /// (for signing schemes: `authorization`).
    pub fn header(&self) -> HeaderName {
        match self {
            SecretScheme::Header { header, .. } => header.clone(),
            SecretScheme::AwsSigV4 { .. } | SecretScheme::GoogleServiceAccount { .. } => reqwest::header::AUTHORIZATION,
        }
    }

    /// The scheme's name, as a manifest writes it (`header` for a header secret).
    pub fn name(&self) -> &'static str {
        match self {
            SecretScheme::Header { .. } => "header",
            SecretScheme::AwsSigV4 { .. } => AWS_SIGV4,
            SecretScheme::GoogleServiceAccount { .. } => GOOGLE_SERVICE_ACCOUNT,
        }
    }

    /// Whether the host signs with it (rather than writing it into a header).
    pub fn signs(&self) -> bool {
        !matches!(self, SecretScheme::Header { .. })
    }
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
    header: Option<String>,
    format: Option<String>,
    scheme: Option<String>,
    service: Option<String>,
    scopes: Option<Vec<String>>,
    hosts: Vec<String>,
    suggested_env: Option<String>,
}

impl RawSecret {
    /// The checked scheme: a header template, or a signing scheme with only
    /// the fields that scheme reads.
    fn scheme(&mut self) -> Result<SecretScheme, String> {
        let name = &self.name;
        let Some(scheme) = self.scheme.take() else {
            if let Some(field) = [("service", self.service.is_some()), ("scopes", self.scopes.is_some())].iter().find(|f| f.1) {
                return Err(format!(
                    "secret `{name}`: `{}` belongs to a signing scheme; add `scheme = \"{}\"` (and remove `header`/`format`)",
                    field.0,
                    if field.0 == "service" { AWS_SIGV4 } else { GOOGLE_SERVICE_ACCOUNT }
                ));
            }
            let header = self.header.take().ok_or_else(|| {
                format!(
                    "secret `{name}`: say how the host uses it: `header = \"NAME\"` (and `format`) for a value written \
                     into a header, or `scheme = \"{AWS_SIGV4}\"` / `\"{GOOGLE_SERVICE_ACCOUNT}\"` for one it signs with"
                )
            })?;
            let header = HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| format!("secret `{name}`: `{header}` is not a valid header name"))?;
            let format = self.format.take().unwrap_or_else(|| "{value}".to_owned());
            if !format.contains("{value}") {
                return Err(format!("secret `{name}`: format `{format}` must contain `{{value}}`"));
            }
            return Ok(SecretScheme::Header { header, format });
        };
        if let Some(field) = [("header", self.header.is_some()), ("format", self.format.is_some())].iter().find(|f| f.1) {
            return Err(format!(
                "secret `{name}`: scheme `{scheme}` signs the request itself, so `{}` has no use; remove `header` and `format` \
                 (they are for a value the host writes into a header)",
                field.0
            ));
        }
        match scheme.as_str() {
            AWS_SIGV4 => {
                if self.scopes.is_some() {
                    return Err(format!("secret `{name}`: `scopes` is for scheme `{GOOGLE_SERVICE_ACCOUNT}`, not `{AWS_SIGV4}`; remove it"));
                }
                let service = self.service.take().ok_or_else(|| {
                    format!("secret `{name}`: scheme `{AWS_SIGV4}` needs `service`, the SigV4 service name the requests are signed for (e.g. `service = \"bedrock\"`)")
                })?;
                let valid = !service.is_empty()
                    && service.len() <= 64
                    && service.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !valid {
                    return Err(format!("secret `{name}`: service `{service}` is not a SigV4 service name (a-z, 0-9, `-`, e.g. `bedrock`)"));
                }
                Ok(SecretScheme::AwsSigV4 { service })
            }
            GOOGLE_SERVICE_ACCOUNT => {
                if self.service.is_some() {
                    return Err(format!("secret `{name}`: `service` is for scheme `{AWS_SIGV4}`, not `{GOOGLE_SERVICE_ACCOUNT}`; remove it"));
                }
                let scopes = self.scopes.take().unwrap_or_else(|| vec![DEFAULT_GOOGLE_SCOPE.to_owned()]);
                if scopes.is_empty() {
                    return Err(format!("secret `{name}`: `scopes` is empty; name the OAuth scopes, or leave it out for `{DEFAULT_GOOGLE_SCOPE}`"));
                }
                if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())) {
                    return Err(format!("secret `{name}`: scope `{bad}` must be one non-empty word without spaces, such as `{DEFAULT_GOOGLE_SCOPE}`"));
                }
                Ok(SecretScheme::GoogleServiceAccount { scopes })
            }
            other => Err(format!(
                "secret `{name}`: unknown scheme `{other}`; the host signs with `{AWS_SIGV4}` or `{GOOGLE_SERVICE_ACCOUNT}` \
                 (or leave `scheme` out and give `header` for a value written into a header)"
            )),
        }
    }
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
        if ContractVersion::of_manifest(&raw.contract).is_none() {
            return Err(format!(
                "contract `{}` is not served by this host, which serves {}; \
                 rebuild the component against this host's wit/ and update the manifest",
                raw.contract,
                ContractVersion::served_list()
            ));
        }
        let allowed_hosts = AllowList::new(parse_origins("allowed-hosts", &raw.allowed_hosts)?);
        let mut secrets = Vec::with_capacity(raw.secrets.len());
        for mut secret in raw.secrets {
            let scheme = secret.scheme()?;
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
                scheme,
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
pub(crate) mod tests {
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
        assert_eq!(m.secrets[0].scheme.header().as_str(), "authorization");
        assert!(!m.secrets[0].scheme.signs());
        assert_eq!(m.limits.memory_bytes(), 32 * 1024 * 1024);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (GOOD.replace("allowed-hosts", "allowed_hosts"), "unknown field"),
            (GOOD.replace("@0.1.0", "@0.3.0"), "not served by this host, which serves cordon:provider@0.1.0, cordon:provider@0.2.0"),
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

    /// A manifest with one secret of each signing scheme (the trust tests use it too).
    pub(crate) const SIGNING: &str = r#"
        name = "bedrock"
        version = "0.1.0"
        contract = "cordon:provider@0.1.0"
        allowed-hosts = ["https://bedrock-runtime.us-east-1.amazonaws.com", "https://us-central1-aiplatform.googleapis.com"]
        [[secrets]]
        name = "aws"
        description = "AWS credentials"
        scheme = "aws-sigv4"
        service = "bedrock"
        hosts = ["https://bedrock-runtime.us-east-1.amazonaws.com"]
        [[secrets]]
        name = "google"
        description = "a service account"
        scheme = "google-service-account"
        hosts = ["https://us-central1-aiplatform.googleapis.com"]
    "#;

    #[test]
    fn signing_schemes_parse() {
        let m = parse(SIGNING).expect("valid");
        assert_eq!(m.secrets[0].scheme, SecretScheme::AwsSigV4 { service: "bedrock".to_owned() });
        assert_eq!(m.secrets[1].scheme, SecretScheme::GoogleServiceAccount { scopes: vec![DEFAULT_GOOGLE_SCOPE.to_owned()] });
        assert!(m.secrets.iter().all(|s| s.scheme.signs() && s.scheme.header() == "authorization"));
        let scoped = parse(&SIGNING.replace(
            "scheme = \"google-service-account\"",
            "scheme = \"google-service-account\"\nscopes = [\"https://www.googleapis.com/auth/cloud-platform.read-only\"]",
        ))
        .expect("valid");
        assert!(matches!(&scoped.secrets[1].scheme, SecretScheme::GoogleServiceAccount { scopes } if scopes[0].ends_with("read-only")));
    }

    #[test]
    fn signing_scheme_mistakes_are_named() {
        let aws = "scheme = \"aws-sigv4\"\n        service = \"bedrock\"";
        let cases = [
            (SIGNING.replace(aws, "scheme = \"aws-sigv4\"\nservice = \"bedrock\"\nheader = \"authorization\""), "remove `header` and `format`"),
            (SIGNING.replace(aws, "scheme = \"aws-sigv4\"\nservice = \"bedrock\"\nformat = \"AWS {value}\""), "`format` has no use"),
            (SIGNING.replace(aws, "scheme = \"aws-sigv4\""), "needs `service`"),
            (SIGNING.replace(aws, "scheme = \"aws-sigv2\"\nservice = \"bedrock\""), "unknown scheme `aws-sigv2`"),
            (SIGNING.replace(aws, "scheme = \"aws-sigv4\"\nservice = \"Bed Rock\""), "not a SigV4 service name"),
            (SIGNING.replace(aws, "scheme = \"aws-sigv4\"\nservice = \"bedrock\"\nscopes = []"), "`scopes` is for scheme `google-service-account`"),
            (SIGNING.replace(aws, "service = \"bedrock\""), "add `scheme = \"aws-sigv4\"`"),
            (SIGNING.replace(aws, ""), "say how the host uses it"),
            (SIGNING.replace("scheme = \"google-service-account\"", "scheme = \"google-service-account\"\nscopes = []"), "`scopes` is empty"),
            (SIGNING.replace("scheme = \"google-service-account\"", "scheme = \"google-service-account\"\nscopes = [\"a b\"]"), "scope `a b`"),
            (SIGNING.replace("scheme = \"google-service-account\"", "scheme = \"google-service-account\"\nservice = \"x\""), "`service` is for scheme `aws-sigv4`"),
        ];
        for (text, needle) in cases {
            let err = parse(&text).expect_err(needle);
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }
}
