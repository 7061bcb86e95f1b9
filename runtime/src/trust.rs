//! The operator's grants. A component's manifest only asks ([`crate::asks`]);
//! what the component gets is an [`Approval`]: the origins it may reach and,
//! for each secret, where the value comes from and where it may go. Approvals
//! live in a trust file, which `cordon trust NAME` writes (and
//! [`RuntimeConfig::trust`](crate::RuntimeConfig::trust) holds), or come in
//! code with the load options. Loading checks every ask against the approval
//! and refuses the component when one is not granted, naming the ask and how to
//! approve it; so an approval of one version covers a next version only if it
//! asks for nothing more.
//!
//! ```toml
//! # trust.toml: keep it where component authors cannot write.
//! [components.openai]
//! component = "sha256:…"   # the file that was approved (for the record)
//! asks = "sha256:…"        # what it asked for then (`cordon inspect` shows it)
//! hosts = ["https://api.openai.com:443"]
//!
//! [components.openai.secrets.api-key]
//! env = "OPENAI_API_KEY"   # or: file = "/run/secrets/openai"
//! hosts = ["https://api.openai.com:443"]
//!
//! [components.bedrock.secrets.aws]   # a secret of scheme aws-sigv4
//! credentials = "aws"      # the standard AWS chain (or "google": $GOOGLE_APPLICATION_CREDENTIALS)
//! region = "us-east-1"     # optional: else read from the host name
//! hosts = ["https://bedrock-runtime.us-east-1.amazonaws.com:443"]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::asks;
use crate::manifest::{AWS_SIGV4, GOOGLE_SERVICE_ACCOUNT, Manifest, SecretRequest, SecretScheme, is_env_name};
use crate::signing::credentials;
use crate::policy::{AllowList, Origin};

/// A secret's value. Never printed.
#[derive(Clone)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value itself, for the broker that writes it into a header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

/// Where a granted secret's value comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// An environment variable of the host process (unset: sent without it).
    Env(String),
    /// A file (its content, without the trailing newline), read at load.
    File(PathBuf),
    /// A value given in code.
    Value(SecretValue),
    /// AWS's standard credentials, read at load: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, else the shared
    /// credentials file's `AWS_PROFILE`. For a secret of scheme `aws-sigv4`.
    Aws {
        /// The region to sign for; `None` reads it from each request's host
        /// name (`*.{region}.amazonaws.com`).
        region: Option<String>,
    },
    /// The service-account key file named by `$GOOGLE_APPLICATION_CREDENTIALS`,
    /// read at load. For a secret of scheme `google-service-account`.
    GoogleApplicationCredentials,
}

impl SecretSource {
    /// Parse `env:VAR`, `file:PATH`, `aws`, `aws:REGION` or `google`, as
    /// `cordon trust --secret` takes them.
    pub fn parse(text: &str) -> Result<SecretSource, String> {
        match text.split_once(':') {
            Some(("env", var)) if is_env_name(var) => Ok(SecretSource::Env(var.to_owned())),
            Some(("file", path)) if !path.is_empty() => Ok(SecretSource::File(PathBuf::from(path))),
            Some(("aws", region)) => credentials::check_region(region)
                .map(|()| SecretSource::Aws { region: Some(region.to_owned()) })
                .map_err(|why| format!("`{text}`: {why}")),
            None if text == "aws" => Ok(SecretSource::Aws { region: None }),
            None if text == "google" => Ok(SecretSource::GoogleApplicationCredentials),
            _ => Err(format!(
                "`{text}` is not a secret source: write env:VARIABLE or file:PATH (or, for a signing secret, aws, \
                 aws:REGION or google)"
            )),
        }
    }

    /// `$VAR`, the file's path, or `a value given in code`: never the value.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(var) => format!("${var}"),
            SecretSource::File(path) => path.display().to_string(),
            SecretSource::Value(_) => "a value given in code".to_owned(),
            SecretSource::Aws { region: None } => "the standard AWS credentials".to_owned(),
            SecretSource::Aws { region: Some(region) } => format!("the standard AWS credentials (region {region})"),
            SecretSource::GoogleApplicationCredentials => {
                format!("the service account file ${}", credentials::GOOGLE_APPLICATION_CREDENTIALS)
            }
        }
    }

    /// Why this source cannot bind a secret of `scheme`, if it cannot: the
    /// standard AWS and Google sources hold only their own kind of credentials.
    pub fn misfit(&self, scheme: &SecretScheme) -> Option<String> {
        let (source, wanted) = match self {
            SecretSource::Aws { .. } => ("aws", AWS_SIGV4),
            SecretSource::GoogleApplicationCredentials => ("google", GOOGLE_SERVICE_ACCOUNT),
            SecretSource::Env(_) | SecretSource::File(_) | SecretSource::Value(_) => return None,
        };
        let fits = match scheme {
            SecretScheme::AwsSigV4 { .. } => wanted == AWS_SIGV4,
            SecretScheme::GoogleServiceAccount { .. } => wanted == GOOGLE_SERVICE_ACCOUNT,
            SecretScheme::Header { .. } => false,
        };
        (!fits).then(|| {
            format!(
                "the source `{source}` holds credentials for a secret of scheme `{wanted}`; bind this one to \
                 {}",
                match scheme {
                    SecretScheme::Header { .. } => "env:VARIABLE or file:PATH",
                    SecretScheme::AwsSigV4 { .. } => "aws, aws:REGION, or env:/file: holding AWS credentials JSON",
                    SecretScheme::GoogleServiceAccount { .. } => "google, or env:/file: holding a service account's JSON key",
                }
            )
        })
    }

    /// The value now (`None` for an unset variable).
    pub(crate) fn read(&self) -> Result<Option<SecretValue>, String> {
        match self {
            SecretSource::Env(var) => Ok(std::env::var(var).ok().filter(|v| !v.is_empty()).map(SecretValue)),
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|text| Some(SecretValue(text.trim_end_matches(['\r', '\n']).to_owned())))
                .map_err(|err| format!("its file {} cannot be read: {err}", path.display())),
            SecretSource::Value(value) => Ok(Some(value.clone())),
            SecretSource::Aws { region } => credentials::aws_standard_chain(region.as_deref()).map(Some),
            SecretSource::GoogleApplicationCredentials => credentials::google_application_credentials().map(Some),
        }
    }
}

/// One secret as granted: its value's source and the origins it may go to.
#[derive(Debug, Clone)]
pub struct SecretGrant {
    /// Where the value comes from.
    pub source: SecretSource,
    /// The only origins it may be sent to.
    pub hosts: Vec<Origin>,
}

/// What the operator grants one component.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// The digest of the component file that was approved, for the record.
    pub component: Option<String>,
    /// The digest of what it asked for then ([`asks::digest`]).
    pub asks: Option<String>,
    /// Origins it may reach.
    pub hosts: Vec<Origin>,
    /// Secrets by the manifest's name.
    pub secrets: BTreeMap<String, SecretGrant>,
}

impl Approval {
    /// Grant exactly what `manifest` asks for, each secret bound as `bindings`
    /// say (or as `previous` had it), keeping what `previous` granted.
    /// `component` is the digest of the approved file.
    pub fn for_asks(
        manifest: &Manifest,
        component: &str,
        bindings: &BTreeMap<String, SecretSource>,
        previous: Option<&Approval>,
    ) -> Result<Approval, String> {
        if let Some(stray) = bindings.keys().find(|name| !manifest.secrets.iter().any(|s| &s.name == *name)) {
            return Err(format!("`{}` asks for no secret named `{stray}`", manifest.name));
        }
        let mut approval = previous.cloned().unwrap_or_default();
        approval.component = Some(component.to_owned());
        approval.asks = Some(asks::digest(manifest));
        let mut hosts = AllowList::new(approval.hosts);
        manifest.allowed_hosts.origins().iter().for_each(|o| hosts.grant(o.clone()));
        approval.hosts = hosts.origins().to_vec();
        let mut unbound = Vec::new();
        for secret in &manifest.secrets {
            let source = bindings.get(&secret.name).cloned().or_else(|| approval.secrets.get(&secret.name).map(|g| g.source.clone()));
            let Some(source) = source else {
                unbound.push(secret);
                continue;
            };
            if let Some(why) = source.misfit(&secret.scheme) {
                return Err(format!("secret `{}`: {why}", secret.name));
            }
            let mut hosts = AllowList::new(approval.secrets.get(&secret.name).map(|g| g.hosts.clone()).unwrap_or_default());
            secret.hosts.origins().iter().for_each(|o| hosts.grant(o.clone()));
            approval.secrets.insert(secret.name.clone(), SecretGrant { source, hosts: hosts.origins().to_vec() });
        }
        if !unbound.is_empty() {
            let lines: Vec<String> = unbound.iter().map(|s| format!("  - {}: {}", asks::secret_line(s), bind_hint(s))).collect();
            return Err(format!("bind each secret it asks for to a value source:\n{}", lines.join("\n")));
        }
        Ok(approval)
    }
}

/// `--secret NAME=env:VAR` for `secret`, with its suggested variable when that
/// is not flagged; `NAME=aws` or `NAME=google` for a signing secret.
pub fn bind_hint(secret: &SecretRequest) -> String {
    match secret.scheme {
        SecretScheme::AwsSigV4 { .. } => return format!("--secret {}=aws", secret.name),
        SecretScheme::GoogleServiceAccount { .. } => return format!("--secret {}=google", secret.name),
        SecretScheme::Header { .. } => {}
    }
    let var = secret
        .suggested_env
        .as_deref()
        .filter(|env| asks::credential_mismatch(env, secret.hosts.origins()).is_none())
        .unwrap_or("VARIABLE");
    format!("--secret {}=env:{var}", secret.name)
}

/// An operator's grant given when loading: an extra origin a component may
/// reach (a provider's base URL is one, with its secrets).
#[derive(Debug, Clone)]
pub struct HostGrant {
    /// The origin.
    pub origin: Origin,
    /// Whether the component's secrets may also go there.
    pub with_secrets: bool,
}

/// A secret as the broker uses it: what was asked, the value, where it may go.
#[derive(Debug, Clone)]
pub struct GrantedSecret {
    /// The manifest's ask (name, header, format).
    pub request: SecretRequest,
    /// The value, if its source has one.
    pub value: Option<SecretValue>,
    /// Where the value comes from, for messages.
    pub source: String,
    /// The only origins it may be sent to.
    pub hosts: AllowList,
}

/// Everything a loaded component may use.
#[derive(Debug, Clone, Default)]
pub struct Granted {
    /// The origins it may reach.
    pub hosts: AllowList,
    /// Its secrets.
    pub secrets: Vec<GrantedSecret>,
}

/// What a load adds to an approval, from the operator's options.
pub struct LoadGrants<'a> {
    /// Extra origins (a base URL, `--tool-host`).
    pub hosts: &'a [HostGrant],
    /// Secret values by name, given in code; they bind the secret.
    pub values: &'a HashMap<String, String>,
    /// Load even when asks are not granted: they are simply not granted.
    pub deny_unapproved: bool,
}

/// Why a load's grants fall short of what the manifest asks.
pub enum Refusal {
    /// The operator's configuration is wrong (a value for a secret nobody asked for).
    Config(String),
    /// These asks are not granted.
    Unapproved(Vec<String>),
}

/// Check `manifest`'s asks against `approval` plus the load's own grants, and
/// return what the component gets.
pub fn grant(manifest: &Manifest, approval: &Approval, load: &LoadGrants<'_>) -> Result<Granted, Refusal> {
    if let Some(name) = load.values.keys().find(|name| !manifest.secrets.iter().any(|s| &s.name == *name)) {
        return Err(Refusal::Config(format!("secret `{name}` is not asked for by the manifest of `{}`", manifest.name)));
    }
    let mut hosts = AllowList::new(approval.hosts.clone());
    load.hosts.iter().for_each(|g| hosts.grant(g.origin.clone()));
    let mut unapproved: Vec<String> = manifest
        .allowed_hosts
        .origins()
        .iter()
        .filter(|o| !hosts.allows(o))
        .map(|o| format!("to reach {o}"))
        .collect();
    let mut secrets = Vec::with_capacity(manifest.secrets.len());
    for request in &manifest.secrets {
        let grant = approval.secrets.get(&request.name);
        let mut secret_hosts = AllowList::new(grant.map(|g| g.hosts.clone()).unwrap_or_default());
        load.hosts.iter().filter(|g| g.with_secrets).for_each(|g| secret_hosts.grant(g.origin.clone()));
        let source = match (load.values.get(&request.name), grant) {
            (Some(value), _) => Some(SecretSource::Value(SecretValue(value.clone()))),
            (None, Some(grant)) => Some(grant.source.clone()),
            (None, None) => None,
        };
        if let Some(why) = source.as_ref().and_then(|s| s.misfit(&request.scheme)) {
            return Err(Refusal::Config(format!("secret `{}` of `{}`: {why}", request.name, manifest.name)));
        }
        let value = match &source {
            Some(source) => source
                .read()
                .map_err(|why| Refusal::Config(format!("secret `{}` of `{}`: {why}", request.name, manifest.name)))?,
            None => {
                unapproved.push(format!("{} (bound to no value)", asks::secret_line(request)));
                None
            }
        };
        let strays: Vec<String> =
            request.hosts.origins().iter().filter(|o| !secret_hosts.allows(o)).map(Origin::to_string).collect();
        if source.is_some() && !strays.is_empty() {
            unapproved.push(format!("secret `{}` to be sent to {}", request.name, strays.join(", ")));
        }
        secrets.push(GrantedSecret {
            request: request.clone(),
            value,
            source: source.map_or_else(|| "nothing".to_owned(), |s| s.describe()),
            hosts: secret_hosts,
        });
    }
    if !unapproved.is_empty() && !load.deny_unapproved {
        return Err(Refusal::Unapproved(unapproved));
    }
    Ok(Granted { hosts, secrets })
}

/// The operator's approvals by component name, and the file they live in.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    path: Option<PathBuf>,
    approvals: BTreeMap<String, Approval>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    #[serde(default)]
    components: BTreeMap<String, RawApproval>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asks: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    secrets: BTreeMap<String, RawSecretGrant>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecretGrant {
    #[serde(skip_serializing_if = "Option::is_none")]
    env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
    /// `aws` or `google`: the standard credentials of that cloud.
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<String>,
    /// With `credentials = "aws"`: the region to sign for.
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
}

const HEADER: &str = "# Cordon's trust file: what the operator grants each component (see README, \"Trust\").\n\
                      # `cordon trust NAME` adds to it; keep it where component authors cannot write.\n\n";

impl TrustStore {
    /// An empty store that is not saved anywhere.
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// The store in `path`; a missing file is an empty store (saved there).
    pub fn load(path: &Path) -> Result<TrustStore, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => return Err(format!("trust file {}: cannot read it: {err}", path.display())),
        };
        let mut store = TrustStore::parse(&text).map_err(|why| format!("trust file {}: {why}", path.display()))?;
        store.path = Some(path.to_owned());
        Ok(store)
    }

    /// Parse a trust file's text.
    pub fn parse(text: &str) -> Result<TrustStore, String> {
        let raw: RawStore = toml::from_str(text).map_err(|err| err.to_string())?;
        let origins = |what: &str, list: Vec<String>| -> Result<Vec<Origin>, String> {
            list.iter().map(|o| o.parse::<Origin>().map_err(|err| format!("{what}: {err}"))).collect()
        };
        let mut approvals = BTreeMap::new();
        for (name, raw) in raw.components {
            let mut secrets = BTreeMap::new();
            for (secret, grant) in raw.secrets {
                let at = format!("components.{name}.secrets.{secret}");
                if grant.region.is_some() && grant.credentials.as_deref() != Some("aws") {
                    return Err(format!("{at}: `region` goes with `credentials = \"aws\"` only"));
                }
                let source = match (grant.env, grant.file, grant.credentials.as_deref()) {
                    (Some(env), None, None) if is_env_name(&env) => SecretSource::Env(env),
                    (None, Some(file), None) => SecretSource::File(file),
                    (None, None, Some("aws")) => {
                        if let Some(region) = &grant.region {
                            credentials::check_region(region).map_err(|why| format!("{at}.region: {why}"))?;
                        }
                        SecretSource::Aws { region: grant.region }
                    }
                    (None, None, Some("google")) => SecretSource::GoogleApplicationCredentials,
                    (None, None, Some(other)) => {
                        return Err(format!("{at}.credentials: `{other}` is not a standard source; write \"aws\" or \"google\""));
                    }
                    _ => {
                        return Err(format!(
                            "{at}: give exactly one of `env = \"VARIABLE\"`, `file = \"PATH\"` or `credentials = \"aws\"` / `\"google\"`"
                        ));
                    }
                };
                let hosts = origins(&format!("components.{name}.secrets.{secret}.hosts"), grant.hosts)?;
                secrets.insert(secret, SecretGrant { source, hosts });
            }
            let hosts = origins(&format!("components.{name}.hosts"), raw.hosts)?;
            approvals.insert(name, Approval { component: raw.component, asks: raw.asks, hosts, secrets });
        }
        Ok(TrustStore { path: None, approvals })
    }

    /// The file it is saved to.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The approval of the component named `name`.
    pub fn get(&self, name: &str) -> Option<&Approval> {
        self.approvals.get(name)
    }

    /// Every approval, by component name.
    pub fn approvals(&self) -> impl Iterator<Item = (&String, &Approval)> {
        self.approvals.iter()
    }

    /// Record `approval` for `name` (replacing any earlier one).
    pub fn approve(&mut self, name: &str, approval: Approval) {
        self.approvals.insert(name.to_owned(), approval);
    }

    /// Forget the approval of `name`; whether there was one.
    pub fn revoke(&mut self, name: &str) -> bool {
        self.approvals.remove(name).is_some()
    }

    /// The store as trust-file text. Values given in code are not written.
    pub fn to_text(&self) -> Result<String, String> {
        let strings = |list: &[Origin]| list.iter().map(Origin::to_string).collect::<Vec<_>>();
        let mut raw = RawStore::default();
        for (name, approval) in &self.approvals {
            let mut secrets = BTreeMap::new();
            for (secret, grant) in &approval.secrets {
                let mut raw = RawSecretGrant { env: None, file: None, credentials: None, region: None, hosts: strings(&grant.hosts) };
                match &grant.source {
                    SecretSource::Env(var) => raw.env = Some(var.clone()),
                    SecretSource::File(path) => raw.file = Some(path.clone()),
                    SecretSource::Aws { region } => {
                        raw.credentials = Some("aws".to_owned());
                        raw.region = region.clone();
                    }
                    SecretSource::GoogleApplicationCredentials => raw.credentials = Some("google".to_owned()),
                    SecretSource::Value(_) => {
                        return Err(format!("secret `{secret}` of `{name}` has a value given in code; a trust file holds no values"));
                    }
                }
                secrets.insert(secret.clone(), raw);
            }
            let raw_approval = RawApproval {
                component: approval.component.clone(),
                asks: approval.asks.clone(),
                hosts: strings(&approval.hosts),
                secrets,
            };
            raw.components.insert(name.clone(), raw_approval);
        }
        let body = toml::to_string_pretty(&raw).map_err(|err| format!("cannot write the trust file: {err}"))?;
        Ok(format!("{HEADER}{body}"))
    }

    /// Write the store to its file (atomically: write, then rename).
    pub fn save(&self) -> Result<(), String> {
        let path = self.path.as_deref().ok_or("this trust store has no file to save to")?;
        let text = self.to_text()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        }
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temp, text)
            .and_then(|()| std::fs::rename(&temp, path))
            .map_err(|err| format!("cannot write the trust file {}: {err}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::manifest::tests::SIGNING;

    const ASKING: &str = r#"
        name = "openai"
        version = "0.1.0"
        contract = "cordon:provider@0.1.0"
        allowed-hosts = ["https://api.openai.com"]
        [[secrets]]
        name = "api-key"
        description = "OpenAI API key"
        header = "authorization"
        format = "Bearer {value}"
        hosts = ["https://api.openai.com"]
        suggested-env = "OPENAI_API_KEY"
    "#;

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(text, &Limits::HOST_MAX).expect("valid manifest")
    }

    fn load(approval: &Approval, hosts: &[HostGrant], values: &HashMap<String, String>) -> Result<Granted, Vec<String>> {
        grant(&manifest(ASKING), approval, &LoadGrants { hosts, values, deny_unapproved: false }).map_err(|refusal| match refusal {
            Refusal::Unapproved(asks) => asks,
            Refusal::Config(why) => vec![why],
        })
    }

    #[test]
    fn nothing_asked_is_granted_without_an_approval() {
        let asks = load(&Approval::default(), &[], &HashMap::new()).err().unwrap_or_default();
        assert_eq!(asks.len(), 2, "{asks:?}");
        assert!(asks[0].contains("to reach https://api.openai.com:443"), "{asks:?}");
        assert!(asks[1].contains("secret `api-key`") && asks[1].contains("bound to no value"), "{asks:?}");
    }

    #[test]
    fn an_approval_for_the_asks_grants_them() {
        let bindings = BTreeMap::from([("api-key".to_owned(), SecretSource::Env("CORDON_TRUST_UNIT_TEST".into()))]);
        let approval = Approval::for_asks(&manifest(ASKING), "sha256:x", &bindings, None).expect("approvable");
        let granted = load(&approval, &[], &HashMap::new()).expect("granted");
        assert_eq!(granted.hosts.describe(), "https://api.openai.com:443");
        assert_eq!(granted.secrets[0].source, "$CORDON_TRUST_UNIT_TEST");
        assert!(granted.secrets[0].value.is_none(), "the variable is unset: sent without it");
    }

    #[test]
    fn a_version_that_asks_for_more_is_not_covered() {
        let bindings = BTreeMap::from([("api-key".to_owned(), SecretSource::Env("X".into()))]);
        let approval = Approval::for_asks(&manifest(ASKING), "sha256:x", &bindings, None).expect("approvable");
        let greedier = ASKING.replace(
            "allowed-hosts = [\"https://api.openai.com\"]",
            "allowed-hosts = [\"https://api.openai.com\", \"https://collector.example\"]",
        );
        let refused = grant(&manifest(&greedier), &approval, &LoadGrants { hosts: &[], values: &HashMap::new(), deny_unapproved: false });
        match refused {
            Err(Refusal::Unapproved(asks)) => assert_eq!(asks, ["to reach https://collector.example:443"]),
            _ => panic!("the new host must be refused"),
        }
    }

    #[test]
    fn a_base_url_grants_its_origin_with_the_secrets() {
        let base = HostGrant { origin: "http://127.0.0.1:9".parse().expect("origin"), with_secrets: true };
        let values = HashMap::from([("api-key".to_owned(), "v".to_owned())]);
        // The asked host is still not granted: naming a base URL grants only it.
        let asks = load(&Approval::default(), std::slice::from_ref(&base), &values).err().unwrap_or_default();
        assert!(asks.iter().any(|a| a.contains("to reach https://api.openai.com")), "{asks:?}");
        let granted = grant(
            &manifest(ASKING),
            &Approval::default(),
            &LoadGrants { hosts: &[base], values: &values, deny_unapproved: true },
        )
        .ok()
        .expect("denied asks do not refuse the load");
        assert!(granted.hosts.allows(&"http://127.0.0.1:9".parse().expect("origin")));
        assert!(!granted.hosts.allows(&"https://api.openai.com".parse().expect("origin")));
        assert!(granted.secrets[0].hosts.allows(&"http://127.0.0.1:9".parse().expect("origin")));
    }

    #[test]
    fn trust_files_round_trip_and_bad_ones_are_explained() {
        let bindings = BTreeMap::from([("api-key".to_owned(), SecretSource::Env("OPENAI_API_KEY".into()))]);
        let approval = Approval::for_asks(&manifest(ASKING), "sha256:abc", &bindings, None).expect("approvable");
        let mut store = TrustStore::new();
        store.approve("openai", approval);
        let text = store.to_text().expect("text");
        let again = TrustStore::parse(&text).expect("parses");
        let openai = again.get("openai").expect("kept");
        assert_eq!(openai.component.as_deref(), Some("sha256:abc"));
        assert!(matches!(&openai.secrets["api-key"].source, SecretSource::Env(v) if v == "OPENAI_API_KEY"));
        for (bad, needle) in [
            ("[components.x.secrets.k]\nhosts = []\n", "exactly one of"),
            ("[components.x]\nhosts = [\"ftp://x\"]\n", "scheme"),
            ("[components.x]\nhost = []\n", "unknown field"),
        ] {
            let err = TrustStore::parse(bad).expect_err(needle);
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }

    #[test]
    fn an_unbound_secret_stops_an_approval() {
        let err = Approval::for_asks(&manifest(ASKING), "sha256:x", &BTreeMap::new(), None).expect_err("unbound");
        assert!(err.contains("--secret api-key=env:OPENAI_API_KEY"), "{err}");
        assert!(SecretSource::parse("env:lower case").is_err());
        assert!(matches!(SecretSource::parse("file:/run/key"), Ok(SecretSource::File(_))));
    }

    #[test]
    fn signing_secrets_bind_to_the_standard_sources() {
        let signing = manifest(SIGNING);
        assert_eq!(bind_hint(&signing.secrets[0]), "--secret aws=aws");
        assert_eq!(bind_hint(&signing.secrets[1]), "--secret google=google");
        assert!(matches!(SecretSource::parse("aws"), Ok(SecretSource::Aws { region: None })));
        assert!(matches!(SecretSource::parse("aws:eu-west-1"), Ok(SecretSource::Aws { region: Some(r) }) if r == "eu-west-1"));
        assert!(SecretSource::parse("aws:moon").is_err_and(|e| e.contains("not an AWS region")));
        assert!(matches!(SecretSource::parse("google"), Ok(SecretSource::GoogleApplicationCredentials)));
        let bindings = BTreeMap::from([
            ("aws".to_owned(), SecretSource::Aws { region: Some("us-east-1".into()) }),
            ("google".to_owned(), SecretSource::GoogleApplicationCredentials),
        ]);
        let approval = Approval::for_asks(&signing, "sha256:x", &bindings, None).expect("approvable");
        let mut store = TrustStore::new();
        store.approve("bedrock", approval);
        let text = store.to_text().expect("text");
        assert!(text.contains("credentials = \"aws\"") && text.contains("region = \"us-east-1\""), "{text}");
        let again = TrustStore::parse(&text).expect("parses");
        let kept = again.get("bedrock").expect("kept");
        assert!(matches!(&kept.secrets["aws"].source, SecretSource::Aws { region: Some(r) } if r == "us-east-1"));
        assert!(matches!(&kept.secrets["google"].source, SecretSource::GoogleApplicationCredentials));
        for (bad, needle) in [
            ("[components.x.secrets.k]\ncredentials = \"azure\"\n", "not a standard source"),
            ("[components.x.secrets.k]\ncredentials = \"google\"\nregion = \"us-east-1\"\n", "`region` goes with"),
            ("[components.x.secrets.k]\ncredentials = \"aws\"\nregion = \"east\"\n", "not an AWS region"),
            ("[components.x.secrets.k]\ncredentials = \"aws\"\nenv = \"X\"\n", "exactly one of"),
        ] {
            let err = TrustStore::parse(bad).expect_err(needle);
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }

    #[test]
    fn a_source_for_another_scheme_is_refused() {
        let header_secret = BTreeMap::from([("api-key".to_owned(), SecretSource::Aws { region: None })]);
        let err = Approval::for_asks(&manifest(ASKING), "sha256:x", &header_secret, None).expect_err("misfit");
        assert!(err.contains("source `aws`") && err.contains("env:VARIABLE or file:PATH"), "{err}");
        let google = BTreeMap::from([("aws".to_owned(), SecretSource::GoogleApplicationCredentials)]);
        let err = Approval::for_asks(&manifest(SIGNING), "sha256:x", &google, None).expect_err("misfit");
        assert!(err.contains("source `google`") && err.contains("aws:REGION"), "{err}");
        let approval = Approval {
            secrets: BTreeMap::from([(
                "api-key".to_owned(),
                SecretGrant { source: SecretSource::GoogleApplicationCredentials, hosts: vec![] },
            )]),
            ..Approval::default()
        };
        let refused = grant(&manifest(ASKING), &approval, &LoadGrants { hosts: &[], values: &HashMap::new(), deny_unapproved: true });
        assert!(matches!(refused, Err(Refusal::Config(why)) if why.contains("source `google`")));
    }
}
