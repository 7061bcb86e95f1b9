//! Secrets the host signs with rather than writes into a header: AWS SigV4
//! ([`sigv4`]) and Google service-account access tokens ([`google`]), with
//! their credentials ([`credentials`]). The broker signs a request as the last
//! step before sending it, only to the origins the secret is granted for, on
//! every hop; the guest never sees keys, signatures or tokens, and every one
//! of them is looked for in what comes back (see [`crate::scrub`]).

pub mod credentials;
pub mod google;
pub mod sigv4;

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

pub use credentials::aws_credentials_json;

use crate::manifest::SecretScheme;
use crate::signing::credentials::{AwsCredentials, ServiceAccount};
use crate::signing::google::TokenSource;
use crate::trust::GrantedSecret;

/// How a granted signing secret signs.
pub enum Signer {
    /// AWS SigV4 for one service.
    Aws {
        /// The SigV4 service name.
        service: String,
        /// The keys.
        credentials: AwsCredentials,
    },
    /// Google access tokens.
    Google(Box<TokenSource>),
}

/// Why a request was not signed. Each message says what went wrong and how
/// to fix it, and is fit for the guest (scrubbed).
#[derive(Debug)]
pub enum SignError {
    /// The credentials were turned down (a token endpoint refused the
    /// assertion): the broker answers the request 401 itself, so that the
    /// guest reports an authentication error, as for a refused key.
    Refused(String),
    /// The token endpoint could not be reached or failed: worth a retry.
    Unavailable(String),
    /// Nothing to sign with (no region, an invalid value): the request is refused.
    Failed(String),
}

impl SignError {
    /// The same error, its message led by `secret `name``.
    fn of_secret(self, name: &str) -> SignError {
        let lead = |why: String| format!("secret `{name}`: {why}");
        match self {
            SignError::Refused(why) => SignError::Refused(lead(why)),
            SignError::Unavailable(why) => SignError::Unavailable(lead(why)),
            SignError::Failed(why) => SignError::Failed(lead(why)),
        }
    }
}

/// What signing one request adds.
pub struct Signature {
    /// The headers to set (sensitive: never logged).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Values the scrubber must look for in this request's response only
    /// (a SigV4 signature).
    pub for_this_response: Vec<String>,
    /// Values the scrubber must look for from now on (a token just minted).
    pub from_now_on: Vec<String>,
}

impl Signer {
    /// The signer of `secret`, if it is a signing secret with a value. `timeout`
    /// bounds each token exchange.
    pub fn new(secret: &GrantedSecret, timeout: Duration, connect_timeout: Duration) -> Result<Option<Signer>, String> {
        let Some(value) = &secret.value else { return Ok(None) };
        let from = |why: String| format!("secret `{}` (from {}): {why}", secret.request.name, secret.source);
        match &secret.request.scheme {
            SecretScheme::Header { .. } => Ok(None),
            SecretScheme::AwsSigV4 { service } => {
                let credentials = AwsCredentials::from_json(value.expose()).map_err(from)?;
                Ok(Some(Signer::Aws { service: service.clone(), credentials }))
            }
            SecretScheme::GoogleServiceAccount { scopes } => {
                let account = ServiceAccount::from_json(value.expose()).map_err(from)?;
                // The token endpoint is the operator's (from the key file), not the
                // guest's: it is reached directly, without following redirects.
                let client = crate::tls::client_builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(connect_timeout)
                    .no_proxy()
                    .build()
                    .map_err(|err| from(format!("cannot build the HTTP client for its token endpoint: {err}")))?;
                TokenSource::new(account, scopes, client, timeout).map(|tokens| Some(Signer::Google(Box::new(tokens)))).map_err(from)
            }
        }
    }

    /// The secret values the scrubber looks for from the start: the secret
    /// access key and session token (a Google key never leaves the host).
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Signer::Aws { credentials, .. } => std::iter::once(&credentials.secret_access_key)
                .chain(credentials.session_token.as_ref())
                .map(|value| value.expose().to_owned())
                .collect(),
            Signer::Google(_) => Vec::new(),
        }
    }

    /// Sign a request of `method` to `url` with `headers` and `body`, as
    /// secret `name`.
    pub async fn sign(&self, name: &str, method: &Method, url: &Url, headers: &HeaderMap, body: &[u8]) -> Result<Signature, SignError> {
        match self {
            Signer::Aws { service, credentials } => sign_aws(name, service, credentials, method, url, headers, body).map_err(SignError::Failed),
            Signer::Google(tokens) => {
                let minted = tokens.token().await.map_err(|err| err.of_secret(name))?;
                let value = sensitive(&format!("Bearer {}", minted.token.expose())).ok_or_else(|| {
                    SignError::Unavailable(format!(
                        "secret `{name}`: the token endpoint {} issued a token that is not a valid header value",
                        tokens.token_uri()
                    ))
                })?;
                let fresh = if minted.fresh { vec![minted.token.expose().to_owned()] } else { Vec::new() };
                Ok(Signature { headers: vec![(reqwest::header::AUTHORIZATION, value)], for_this_response: Vec::new(), from_now_on: fresh })
            }
        }
    }
}

/// A header value that is never logged.
fn sensitive(text: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Sign with SigV4 for the region of the credentials, else of the host name.
fn sign_aws(
    name: &str,
    service: &str,
    credentials: &AwsCredentials,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Signature, String> {
    let host = url.host_str().unwrap_or_default();
    let region = credentials.region.clone().or_else(|| credentials::region_of_host(host)).ok_or_else(|| {
        format!(
            "secret `{name}`: no AWS region to sign for: `{host}` is not an AWS host name (*.REGION.amazonaws.com); \
             the operator binds the secret as aws:REGION (or gives `Region` in its credentials JSON)"
        )
    })?;
    let host_header = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut signed: Vec<(String, String)> = vec![("host".to_owned(), host_header)];
    signed.extend(headers.iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())));
    let request = sigv4::Request { method: method.as_str(), path: url.path(), query: url.query().unwrap_or_default(), headers: signed, body };
    let scope = sigv4::Scope {
        access_key_id: &credentials.access_key_id,
        secret_access_key: credentials.secret_access_key.expose(),
        session_token: credentials.session_token.as_ref().map(|t| t.expose()),
        region: &region,
        service,
        time: time::OffsetDateTime::now_utc(),
        content_sha256_header: true,
    };
    let signature = sigv4::sign(&request, &scope);
    let headers = signature
        .headers
        .iter()
        .map(|(header, value)| {
            sensitive(value)
                .map(|value| (HeaderName::from_static(header), value))
                .ok_or_else(|| format!("secret `{name}`: its session token is not a valid header value"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Signature { headers, for_this_response: vec![signature.signature], from_now_on: Vec::new() })
}
