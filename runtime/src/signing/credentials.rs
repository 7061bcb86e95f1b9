//! Where signing credentials come from, and their shapes. AWS credentials come
//! from the standard chain (the `AWS_*` variables, else the shared credentials
//! file and `AWS_PROFILE`), or as a JSON document in the shape AWS's
//! `credential_process` prints (`AccessKeyId`, `SecretAccessKey`, optional
//! `SessionToken`, plus Cordon's optional `Region`), which is how code and
//! tests give them. A Google service account is its JSON key file
//! (`client_email`, `private_key`, `private_key_id`, `token_uri`). Every
//! problem is named: which variables and file were tried, which field is
//! missing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::trust::SecretValue;

/// AWS credentials, as the signer uses them.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key id (`AKIA…`, `ASIA…`): not secret, it names the key.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretValue,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretValue>,
    /// The region to sign for, when the operator names one.
    pub region: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials").field("access_key_id", &self.access_key_id).field("region", &self.region).finish_non_exhaustive()
    }
}

/// The JSON shape of AWS credentials (AWS's `credential_process` output, plus `Region`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsCredentialsJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u8>,
    access_key_id: String,
    secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

/// AWS credentials as the JSON document a secret of scheme `aws-sigv4` may be
/// given as in code (`ProviderOptions::secrets`) or in a file.
pub fn aws_credentials_json(access_key_id: &str, secret_access_key: &str, session_token: Option<&str>, region: Option<&str>) -> String {
    let json = AwsCredentialsJson {
        version: Some(1),
        access_key_id: access_key_id.to_owned(),
        secret_access_key: secret_access_key.to_owned(),
        session_token: session_token.map(str::to_owned),
        region: region.map(str::to_owned),
        expiration: None,
    };
    serde_json::to_string(&json).unwrap_or_default()
}

impl AwsCredentials {
    /// Parse the JSON document (see [`aws_credentials_json`]).
    pub fn from_json(text: &str) -> Result<AwsCredentials, String> {
        let json: AwsCredentialsJson = serde_json::from_str(text).map_err(|err| {
            format!(
                "its value is not AWS credentials JSON ({}): give {{\"AccessKeyId\": …, \"SecretAccessKey\": …, \
                 \"SessionToken\": … (optional), \"Region\": … (optional)}}, or bind it to `aws` for the standard AWS credentials",
                serde_error(&err)
            )
        })?;
        if let Some(region) = &json.region {
            check_region(region)?;
        }
        AwsCredentials::new(json.access_key_id, json.secret_access_key, json.session_token, json.region, "its value")
    }

    fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        region: Option<String>,
        from: &str,
    ) -> Result<AwsCredentials, String> {
        if access_key_id.trim().is_empty() || secret_access_key.trim().is_empty() {
            return Err(format!("{from} has an empty access key id or secret access key"));
        }
        Ok(AwsCredentials {
            access_key_id: access_key_id.trim().to_owned(),
            secret_access_key: SecretValue::new(secret_access_key.trim()),
            session_token: session_token.filter(|t| !t.trim().is_empty()).map(|t| SecretValue::new(t.trim())),
            region,
        })
    }

    /// The credentials as JSON (what [`AwsCredentials::from_json`] reads).
    fn to_json(&self) -> SecretValue {
        SecretValue::new(aws_credentials_json(
            &self.access_key_id,
            self.secret_access_key.expose(),
            self.session_token.as_ref().map(SecretValue::expose),
            self.region.as_deref(),
        ))
    }
}

/// Whether `region` looks like an AWS region name (`us-east-1`, `us-gov-west-1`).
pub fn check_region(region: &str) -> Result<(), String> {
    if is_region(region) {
        Ok(())
    } else {
        Err(format!("`{region}` is not an AWS region name (such as `us-east-1`)"))
    }
}

fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && parts.first().is_some_and(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The region an AWS host name is in: `bedrock-runtime.us-east-1.amazonaws.com`
/// is in `us-east-1` (also for `.amazonaws.com.cn`, `.api.aws`, and VPC
/// endpoint names).
pub fn region_of_host(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let inner = [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"].iter().find_map(|suffix| host.strip_suffix(suffix))?;
    inner.rsplit('.').find(|label| is_region(label)).map(str::to_owned)
}

/// The variables the standard AWS chain reads first.
const ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
const SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";

/// AWS credentials from the standard chain: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; else the profile
/// `AWS_PROFILE` (or `default`) of the shared credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`). As JSON, with
/// `region` when the operator names one.
pub fn aws_standard_chain(region: Option<&str>) -> Result<SecretValue, String> {
    aws_chain(&|name| std::env::var(name).ok(), region)
}

/// [`aws_standard_chain`] with the environment read through `env`.
fn aws_chain(env: &dyn Fn(&str) -> Option<String>, region: Option<&str>) -> Result<SecretValue, String> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let mut credentials = match (var(ACCESS_KEY_ID), var(SECRET_ACCESS_KEY)) {
        (Some(id), Some(key)) => AwsCredentials::new(id, key, var(SESSION_TOKEN), None, "the AWS_* variables")?,
        (Some(_), None) => return Err(format!("${ACCESS_KEY_ID} is set but ${SECRET_ACCESS_KEY} is not: set both")),
        (None, Some(_)) => return Err(format!("${SECRET_ACCESS_KEY} is set but ${ACCESS_KEY_ID} is not: set both")),
        (None, None) => shared_credentials_file(&var)?,
    };
    credentials.region = region.map(str::to_owned);
    Ok(credentials.to_json())
}

/// The profile's credentials in the shared credentials file.
fn shared_credentials_file(var: &dyn Fn(&str) -> Option<String>) -> Result<AwsCredentials, String> {
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let (path, named_by) = match var("AWS_SHARED_CREDENTIALS_FILE") {
        Some(path) => (PathBuf::from(path), "$AWS_SHARED_CREDENTIALS_FILE"),
        None => match var("HOME") {
            Some(home) => (PathBuf::from(home).join(".aws").join("credentials"), "the default"),
            None => {
                return Err(format!(
                    "no AWS credentials: ${ACCESS_KEY_ID} and ${SECRET_ACCESS_KEY} are not set, and there is no shared \
                     credentials file (neither $AWS_SHARED_CREDENTIALS_FILE nor $HOME is set)"
                ));
            }
        },
    };
    let tried = format!(
        "${ACCESS_KEY_ID} and ${SECRET_ACCESS_KEY} are not set, and the shared credentials file {} ({named_by})",
        path.display()
    );
    let text = std::fs::read_to_string(&path).map_err(|err| format!("no AWS credentials: {tried} cannot be read ({err})"))?;
    let section = ini_section(&text, &profile)
        .ok_or_else(|| format!("no AWS credentials: {tried} has no profile `[{profile}]` ($AWS_PROFILE chooses it)"))?;
    let field = |key: &str| section.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let missing = |key: &str| format!("no AWS credentials: profile `[{profile}]` of {} has no `{key}`", path.display());
    let id = field("aws_access_key_id").ok_or_else(|| missing("aws_access_key_id"))?;
    let key = field("aws_secret_access_key").ok_or_else(|| missing("aws_secret_access_key"))?;
    let from = format!("profile `[{profile}]` of {}", path.display());
    AwsCredentials::new(id, key, field("aws_session_token"), None, &from)
}

/// The `key = value` pairs of section `[name]` of an INI text.
fn ini_section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if pairs.is_some() {
                break;
            }
            if header.trim() == name {
                pairs = Some(Vec::new());
            }
            continue;
        }
        if let (Some(pairs), Some((key, value))) = (pairs.as_mut(), line.split_once('=')) {
            pairs.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    pairs
}

/// A Google service account's key, as the token minter uses it.
#[derive(Clone)]
pub struct ServiceAccount {
    /// The account's e-mail address: the assertion's issuer.
    pub client_email: String,
    /// The private key, PKCS#8 DER.
    pub private_key_der: Vec<u8>,
    /// The key's id, written as the assertion's `kid`.
    pub private_key_id: Option<String>,
    /// Where the assertion is exchanged for an access token.
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount").field("client_email", &self.client_email).field("token_uri", &self.token_uri).finish_non_exhaustive()
    }
}

/// The environment variable naming the standard service-account file.
pub const GOOGLE_APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The service-account JSON named by `$GOOGLE_APPLICATION_CREDENTIALS`.
pub fn google_application_credentials() -> Result<SecretValue, String> {
    let path = std::env::var_os(GOOGLE_APPLICATION_CREDENTIALS)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("${GOOGLE_APPLICATION_CREDENTIALS} is not set: set it to the service account's key file, or bind the secret to file:PATH"))?;
    let path = PathBuf::from(path);
    std::fs::read_to_string(&path)
        .map(SecretValue::new)
        .map_err(|err| format!("the file {} (${GOOGLE_APPLICATION_CREDENTIALS}) cannot be read: {err}", path.display()))
}

#[derive(Deserialize)]
struct ServiceAccountJson {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Parse a service account's JSON key, naming the field that is wrong.
    pub fn from_json(text: &str) -> Result<ServiceAccount, String> {
        let json: ServiceAccountJson = serde_json::from_str(text).map_err(|err| {
            format!("its value is not a service account's JSON key ({}); download one from the Google Cloud console (IAM, Service accounts, Keys)", serde_error(&err))
        })?;
        if let Some(kind) = json.kind.as_deref().filter(|k| *k != "service_account") {
            return Err(format!(
                "its JSON is of `type` `{kind}`, not `service_account`; the host mints tokens only from a service account's key"
            ));
        }
        let field = |value: Option<String>, name: &str| {
            value.filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("the service account's JSON has no `{name}`"))
        };
        let client_email = field(json.client_email, "client_email")?;
        let pem = field(json.private_key, "private_key")?;
        let token_uri = field(json.token_uri, "token_uri")?;
        let parsed = url::Url::parse(&token_uri)
            .map_err(|err| format!("the service account's `token_uri` `{token_uri}` is not a URL: {err}"))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(format!("the service account's `token_uri` `{token_uri}` is not an http(s) URL"));
        }
        let private_key_der = pkcs8_from_pem(&pem).map_err(|why| format!("the service account's `private_key` {why}"))?;
        Ok(ServiceAccount { client_email, private_key_der, private_key_id: json.private_key_id.filter(|k| !k.is_empty()), token_uri })
    }
}

/// The DER bytes of a `-----BEGIN PRIVATE KEY-----` PEM block.
fn pkcs8_from_pem(pem: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem.find(BEGIN).ok_or_else(|| {
        if pem.contains("BEGIN RSA PRIVATE KEY") {
            "is a PKCS#1 key; a service account's key is PKCS#8 (`-----BEGIN PRIVATE KEY-----`)".to_owned()
        } else {
            format!("is not a PEM private key (no `{BEGIN}` line)")
        }
    })?;
    let body = &pem[start + BEGIN.len()..];
    let end = body.find(END).ok_or_else(|| format!("has no `{END}` line"))?;
    let base64: String = body[..end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&base64)
        .map_err(|err| format!("is not valid PEM (its base64 does not decode: {err})"))
}

/// A serde error without the input it quotes (which could be a secret).
fn serde_error(err: &serde_json::Error) -> String {
    match err.classify() {
        serde_json::error::Category::Data => {
            let text = err.to_string();
            // "missing field `x` at line 1 column 2": keep the part before " at line".
            text.split(" at line").next().unwrap_or("a field is wrong").to_owned()
        }
        _ => format!("not JSON: line {}, column {}", err.line(), err.column()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_read_from_aws_host_names() {
        assert_eq!(region_of_host("bedrock-runtime.us-east-1.amazonaws.com").as_deref(), Some("us-east-1"));
        assert_eq!(region_of_host("bedrock-mantle.eu-west-3.api.aws").as_deref(), Some("eu-west-3"));
        assert_eq!(region_of_host("vpce-0a1b.bedrock-runtime.us-gov-west-1.vpce.amazonaws.com").as_deref(), Some("us-gov-west-1"));
        assert_eq!(region_of_host("bedrock.cn-north-1.amazonaws.com.cn").as_deref(), Some("cn-north-1"));
        assert_eq!(region_of_host("s3.amazonaws.com"), None);
        assert_eq!(region_of_host("us-east-1.example.com"), None);
        assert!(check_region("us-east-1").is_ok() && check_region("us east").is_err() && check_region("1-a-b").is_err());
    }

    #[test]
    fn aws_credentials_json_round_trips_and_mistakes_are_named() {
        let json = aws_credentials_json("AKIDEXAMPLE", "secret/key+1", Some("token"), Some("us-west-2"));
        let parsed = AwsCredentials::from_json(&json).expect("parses");
        assert_eq!(parsed.access_key_id, "AKIDEXAMPLE");
        assert_eq!(parsed.secret_access_key.expose(), "secret/key+1");
        assert_eq!(parsed.session_token.as_ref().map(SecretValue::expose), Some("token"));
        assert_eq!(parsed.region.as_deref(), Some("us-west-2"));
        let err = AwsCredentials::from_json(r#"{"AccessKeyId":"A"}"#).expect_err("no secret key");
        assert!(err.contains("missing field `SecretAccessKey`"), "{err}");
        let err = AwsCredentials::from_json("wJalrXUtnFEMI/K7MDENG").expect_err("not JSON");
        assert!(!err.contains("wJalr"), "the value is not quoted: {err}");
        let err = AwsCredentials::from_json(&aws_credentials_json("A", "B", None, Some("mars"))).expect_err("bad region");
        assert!(err.contains("not an AWS region"), "{err}");
    }

    #[test]
    fn the_standard_chain_reads_the_variables_then_the_shared_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("credentials");
        std::fs::write(&file, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n[work]\naws_access_key_id = AKIDWORK\n")
            .expect("write");
        let file_name = file.display().to_string();
        let chain = |vars: &[(&str, &str)], region: Option<&str>| {
            let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            aws_chain(&move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()), region)
                .and_then(|json| AwsCredentials::from_json(json.expose()))
        };
        let from_env = chain(&[("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "env-secret"), ("AWS_SESSION_TOKEN", "tok")], Some("eu-west-1"))
            .expect("from the variables");
        assert_eq!((from_env.access_key_id.as_str(), from_env.secret_access_key.expose()), ("AKIDENV", "env-secret"));
        assert_eq!((from_env.session_token.as_ref().map(SecretValue::expose), from_env.region.as_deref()), (Some("tok"), Some("eu-west-1")));
        let from_file = chain(&[("AWS_SHARED_CREDENTIALS_FILE", &file_name)], None).expect("from the file");
        assert_eq!((from_file.access_key_id.as_str(), from_file.secret_access_key.expose()), ("AKIDFILE", "file-secret"));
        let half = chain(&[("AWS_ACCESS_KEY_ID", "AKIDENV")], None).expect_err("half set");
        assert!(half.contains("$AWS_SECRET_ACCESS_KEY is not"), "{half}");
        let no_key = chain(&[("AWS_SHARED_CREDENTIALS_FILE", &file_name), ("AWS_PROFILE", "work")], None).expect_err("no key");
        assert!(no_key.contains("[work]") && no_key.contains("aws_secret_access_key"), "{no_key}");
        let no_profile = chain(&[("AWS_SHARED_CREDENTIALS_FILE", &file_name), ("AWS_PROFILE", "prod")], None).expect_err("none");
        assert!(no_profile.contains("no profile `[prod]`") && no_profile.contains("$AWS_PROFILE"), "{no_profile}");
        let home = dir.path().display().to_string();
        let nothing = chain(&[("HOME", &home)], None).expect_err("nothing");
        for named in ["$AWS_ACCESS_KEY_ID", "$AWS_SECRET_ACCESS_KEY", ".aws/credentials", "cannot be read"] {
            assert!(nothing.contains(named), "`{named}` missing from: {nothing}");
        }
    }

    #[test]
    fn shared_credentials_sections_are_read() {
        let text = "[default]\naws_access_key_id = A\n\n[work]\n# a comment\naws_access_key_id=B\nAWS_SECRET_ACCESS_KEY = s\n[other]\nx=y\n";
        let work = ini_section(text, "work").expect("section");
        assert_eq!(work, [("aws_access_key_id".to_owned(), "B".to_owned()), ("aws_secret_access_key".to_owned(), "s".to_owned())]);
        assert!(ini_section(text, "missing").is_none());
    }

    #[test]
    fn service_account_mistakes_name_the_field() {
        let good = serde_json::json!({
            "type": "service_account",
            "client_email": "svc@project.iam.gserviceaccount.com",
            "private_key": "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n",
            "private_key_id": "k1",
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        let parsed = ServiceAccount::from_json(&good.to_string()).expect("parses");
        assert_eq!(parsed.private_key_der, [0, 1, 2]);
        for (field, value, needle) in [
            ("client_email", serde_json::Value::Null, "no `client_email`"),
            ("private_key", serde_json::Value::Null, "no `private_key`"),
            ("token_uri", serde_json::Value::Null, "no `token_uri`"),
            ("token_uri", "ftp://x".into(), "not an http(s) URL"),
            ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nAA\n".into(), "PKCS#1"),
            ("private_key", "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----".into(), "base64"),
            ("type", "authorized_user".into(), "not `service_account`"),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            let err = ServiceAccount::from_json(&bad.to_string()).expect_err(needle);
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }
}
