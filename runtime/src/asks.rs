//! What a component asks for, as the operator reviews it: the hosts it asks to
//! reach and the secrets it asks the host to add, one line each; a digest of
//! those lines (an approval records the asks it was given for); and flags for
//! asks that look wrong: a secret suggested from another service's well-known
//! credential, or an internal address as a destination.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::manifest::{Manifest, SecretRequest, SecretScheme};
use crate::policy::{Origin, is_internal, special_range};

/// Each ask of `manifest`, one line each, in a stable order.
pub fn lines(manifest: &Manifest) -> Vec<String> {
    let mut lines: Vec<String> = manifest.allowed_hosts.origins().iter().map(|o| format!("to reach {o}")).collect();
    lines.extend(manifest.secrets.iter().map(secret_line));
    lines
}

/// One secret ask, as the operator reads it.
pub fn secret_line(secret: &SecretRequest) -> String {
    let to = if secret.hosts.origins().is_empty() {
        "only where the operator grants".to_owned()
    } else {
        format!("to {}", secret.hosts.describe())
    };
    let how = match &secret.scheme {
        SecretScheme::Header { header, .. } => format!("sent as header `{header}`"),
        SecretScheme::AwsSigV4 { service } => format!("AWS credentials the host signs requests with (SigV4, service `{service}`)"),
        SecretScheme::GoogleServiceAccount { scopes } => format!(
            "a Google service account the host mints access tokens with (scopes {}), sent as `authorization: Bearer`",
            scopes.join(" ")
        ),
    };
    format!("secret `{}` ({}), {how} {to}", secret.name, secret.description)
}

/// `sha256:<hex>` of the asks: equal for two versions that ask for the same.
pub fn digest(manifest: &Manifest) -> String {
    let mut canonical = String::new();
    for origin in manifest.allowed_hosts.origins() {
        canonical.push_str(&format!("host {origin}\n"));
    }
    for secret in &manifest.secrets {
        let how = match &secret.scheme {
            SecretScheme::Header { header, format } => format!("header {header} format {format}"),
            SecretScheme::AwsSigV4 { service } => format!("scheme aws-sigv4 service {service}"),
            SecretScheme::GoogleServiceAccount { scopes } => format!("scheme google-service-account scopes {}", scopes.join(" ")),
        };
        canonical.push_str(&format!("secret {} {how} hosts {}\n", secret.name, secret.hosts.describe()));
    }
    hex_digest(canonical.as_bytes())
}

/// `sha256:<hex>` of `bytes`.
pub fn hex_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// An ask that deserves the operator's second look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The ask, as [`lines`] writes it.
    pub ask: String,
    /// Why it is flagged.
    pub why: String,
}

/// The flags of `manifest`'s asks.
pub fn flags(manifest: &Manifest) -> Vec<Flag> {
    let mut flags = Vec::new();
    for origin in manifest.allowed_hosts.origins() {
        if let Some(why) = internal_destination(origin) {
            flags.push(Flag { ask: format!("to reach {origin}"), why });
        }
    }
    for secret in &manifest.secrets {
        if let Some(env) = &secret.suggested_env
            && let Some(why) = binding_mismatch(secret, env)
        {
            flags.push(Flag { ask: format!("{} (suggested from ${env})", secret_line(secret)), why });
        }
        if let Some(why) = foreign_signing_host(secret) {
            flags.push(Flag { ask: secret_line(secret), why });
        }
    }
    flags
}

/// Why binding the variable `env` to `secret` looks wrong, if it does. A
/// signing secret is meant to hold infrastructure credentials (the host keeps
/// them), so only a header secret is checked.
pub fn binding_mismatch(secret: &SecretRequest, env: &str) -> Option<String> {
    if secret.scheme.signs() {
        return None;
    }
    credential_mismatch(env, secret.hosts.origins())
}

/// The hosts where a signing scheme's credentials belong (a host matches
/// itself and its subdomains).
fn signing_home(scheme: &SecretScheme) -> Option<(&'static str, &'static [&'static str])> {
    match scheme {
        SecretScheme::Header { .. } => None,
        SecretScheme::AwsSigV4 { .. } => Some(("AWS", &["amazonaws.com", "amazonaws.com.cn", "api.aws"])),
        SecretScheme::GoogleServiceAccount { .. } => Some(("Google Cloud", &["googleapis.com"])),
    }
}

/// Why a signing secret's asked-for hosts look wrong, if they do: AWS
/// signatures or Google access tokens made for a host that is not that cloud's.
fn foreign_signing_host(secret: &SecretRequest) -> Option<String> {
    let (cloud, home) = signing_home(&secret.scheme)?;
    let belongs =
        |origin: &Origin| home.iter().any(|host| origin.host() == *host || origin.host().ends_with(&format!(".{host}")));
    let strangers: Vec<String> = secret.hosts.origins().iter().filter(|o| !belongs(o)).map(Origin::to_string).collect();
    (!strangers.is_empty()).then(|| {
        format!(
            "the host would sign with {cloud} credentials for {}, which is not {cloud}: a request there carries \
             what that host could use against your account",
            strangers.join(", ")
        )
    })
}

/// Why `origin` is an internal destination, if it is: an internal IP literal,
/// or a name that only resolves inside a network.
pub fn internal_destination(origin: &Origin) -> Option<String> {
    let host = origin.host().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !is_internal(ip) {
            return None;
        }
        let range = special_range(ip).map_or("internal", |r| r.name);
        return Some(format!("{ip} is an internal address ({range}): only a component you run next to it should reach it"));
    }
    const INTERNAL_NAMES: [&str; 6] = ["localhost", "local", "internal", "lan", "home.arpa", "intranet"];
    let internal = INTERNAL_NAMES.iter().any(|suffix| host == *suffix || host.ends_with(&format!(".{suffix}")));
    internal.then(|| {
        format!("`{host}` names a machine inside a network (loopback, a LAN or a cloud's metadata service), not a public API")
    })
}

/// Services whose credentials have a well-known variable name, and the hosts
/// those credentials belong to (a host matches itself and its subdomains).
const WELL_KNOWN_CREDENTIALS: &[(&[&str], &str, &[&str])] = &[
    (&["OPENAI_API_KEY"], "OpenAI", &["api.openai.com"]),
    (&["ANTHROPIC_API_KEY"], "Anthropic", &["api.anthropic.com"]),
    (&["GEMINI_API_KEY", "GOOGLE_API_KEY"], "Google AI", &["generativelanguage.googleapis.com", "aiplatform.googleapis.com"]),
    (&["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"], "Azure OpenAI", &["openai.azure.com", "cognitiveservices.azure.com"]),
    (&["MISTRAL_API_KEY"], "Mistral", &["api.mistral.ai"]),
    (&["GROQ_API_KEY"], "Groq", &["api.groq.com"]),
    (&["COHERE_API_KEY", "CO_API_KEY"], "Cohere", &["api.cohere.com", "api.cohere.ai"]),
    (&["DEEPSEEK_API_KEY"], "DeepSeek", &["api.deepseek.com"]),
    (&["XAI_API_KEY"], "xAI", &["api.x.ai"]),
    (&["OPENROUTER_API_KEY"], "OpenRouter", &["openrouter.ai"]),
    (&["TOGETHER_API_KEY"], "Together AI", &["api.together.xyz"]),
    (&["FIREWORKS_API_KEY"], "Fireworks AI", &["api.fireworks.ai"]),
    (&["PERPLEXITY_API_KEY"], "Perplexity", &["api.perplexity.ai"]),
    (&["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"], "Hugging Face", &["huggingface.co"]),
    (&["GITHUB_TOKEN", "GH_TOKEN"], "GitHub", &["api.github.com", "github.com", "models.github.ai"]),
    (&["GITLAB_TOKEN"], "GitLab", &["gitlab.com"]),
    (&["STRIPE_SECRET_KEY", "STRIPE_API_KEY"], "Stripe", &["api.stripe.com"]),
    (&["SLACK_BOT_TOKEN", "SLACK_TOKEN"], "Slack", &["slack.com"]),
    (&["CLOUDFLARE_API_TOKEN"], "Cloudflare", &["api.cloudflare.com"]),
    (&["NPM_TOKEN"], "npm", &["registry.npmjs.org"]),
];

/// Prefixes and suffixes of credentials no provider should get as a header
/// (cloud accounts, signing keys, passwords): flagged wherever they are sent.
const INFRASTRUCTURE_PREFIXES: [&str; 5] = ["AWS_", "AZURE_CLIENT_", "GOOGLE_APPLICATION_", "KUBE", "VAULT_"];
const INFRASTRUCTURE_SUFFIXES: [&str; 4] = ["_PASSWORD", "_PRIVATE_KEY", "_SECRET_ACCESS_KEY", "_SESSION_TOKEN"];

/// Why binding the variable `env` to a secret sent to `hosts` looks wrong, if
/// it does: it is another service's well-known credential, or an
/// infrastructure credential that no header secret should carry.
pub fn credential_mismatch(env: &str, hosts: &[Origin]) -> Option<String> {
    if let Some((_, service, owned)) = WELL_KNOWN_CREDENTIALS.iter().find(|(names, _, _)| names.contains(&env)) {
        let belongs = |origin: &Origin| {
            owned.iter().any(|host| origin.host() == *host || origin.host().ends_with(&format!(".{host}")))
        };
        let strangers: Vec<String> = hosts.iter().filter(|o| !belongs(o)).map(Origin::to_string).collect();
        if strangers.is_empty() {
            return None;
        }
        return Some(format!(
            "${env} is {service}'s well-known credential, but it would be sent to {}, which is not {service}",
            strangers.join(", ")
        ));
    }
    let infrastructure = INFRASTRUCTURE_PREFIXES.iter().any(|p| env.starts_with(p))
        || INFRASTRUCTURE_SUFFIXES.iter().any(|s| env.ends_with(s));
    infrastructure.then(|| {
        format!(
            "${env} looks like an infrastructure credential (a cloud account, a signing key or a password); \
             no component should get it as a header (signing schemes are the host's job)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn manifest(extra: &str) -> Manifest {
        let text = format!(
            "name = \"x\"\nversion = \"0.1.0\"\ncontract = \"cordon:provider@0.1.0\"\n{extra}"
        );
        Manifest::parse(&text, &Limits::HOST_MAX).expect("valid manifest")
    }

    fn origin(text: &str) -> Origin {
        text.parse().expect("origin")
    }

    #[test]
    fn another_services_credential_is_flagged() {
        let strangers = [origin("https://evil.example")];
        let why = credential_mismatch("OPENAI_API_KEY", &strangers).expect("flagged");
        assert!(why.contains("OpenAI") && why.contains("evil.example"), "{why}");
        assert!(credential_mismatch("OPENAI_API_KEY", &[origin("https://api.openai.com")]).is_none());
        assert!(credential_mismatch("AZURE_OPENAI_API_KEY", &[origin("https://me.openai.azure.com")]).is_none());
        assert!(credential_mismatch("AWS_SECRET_ACCESS_KEY", &[origin("https://bedrock.amazonaws.com")]).is_some());
        assert!(credential_mismatch("DB_PASSWORD", &[]).is_some());
        assert!(credential_mismatch("MY_PROVIDER_KEY", &[origin("https://api.example.com")]).is_none());
    }

    #[test]
    fn internal_destinations_are_flagged() {
        for internal in ["http://169.254.169.254", "http://127.0.0.1:8080", "http://[::1]:80", "http://localhost:11434", "http://metadata.google.internal", "http://printer.local"] {
            assert!(internal_destination(&origin(internal)).is_some(), "{internal}");
        }
        for public in ["https://api.openai.com", "http://8.8.8.8", "https://internal-api.example.com"] {
            assert!(internal_destination(&origin(public)).is_none(), "{public}");
        }
    }

    #[test]
    fn flags_and_digest_of_a_greedy_manifest() {
        let greedy = manifest(
            "allowed-hosts = [\"http://169.254.169.254\", \"https://evil.example\"]\n\
             [[secrets]]\nname = \"k\"\ndescription = \"a key\"\nheader = \"x-key\"\nhosts = [\"https://evil.example\"]\nsuggested-env = \"AWS_SECRET_ACCESS_KEY\"\n",
        );
        let flags = flags(&greedy);
        assert_eq!(flags.len(), 2, "{flags:?}");
        assert!(flags[0].ask.contains("169.254.169.254") && flags[0].why.contains("link local"), "{flags:?}");
        assert!(flags[1].ask.contains("AWS_SECRET_ACCESS_KEY"), "{flags:?}");
        let modest = manifest("allowed-hosts = [\"https://evil.example\"]\n");
        assert_ne!(digest(&greedy), digest(&modest));
        assert_eq!(digest(&modest), digest(&manifest("allowed-hosts = [\"https://EVIL.example:443/\"]\n")));
        assert_eq!(lines(&greedy).len(), 3);
    }

    #[test]
    fn signing_secrets_are_described_and_flagged_off_their_cloud() {
        let asks = |hosts: &str| {
            manifest(&format!(
                "allowed-hosts = [{hosts}]\n[[secrets]]\nname = \"aws\"\ndescription = \"AWS\"\nscheme = \"aws-sigv4\"\n\
                 service = \"bedrock\"\nhosts = [{hosts}]\nsuggested-env = \"AWS_SECRET_ACCESS_KEY\"\n"
            ))
        };
        let at_home = asks("\"https://bedrock-runtime.us-east-1.amazonaws.com\"");
        assert!(flags(&at_home).is_empty(), "AWS credentials suggested for AWS signing: {:?}", flags(&at_home));
        assert!(lines(&at_home)[1].contains("SigV4, service `bedrock`"), "{:?}", lines(&at_home));
        let abroad = asks("\"https://collector.example\"");
        let found = flags(&abroad);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].why.contains("collector.example") && found[0].why.contains("not AWS"), "{found:?}");
        assert_ne!(digest(&at_home), digest(&abroad));
    }
}
