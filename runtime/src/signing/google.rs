//! Google service-account access tokens (OAuth 2.0 JWT bearer grant, RFC
//! 7523): the host writes the assertion (`iss` = the account, `scope`, `aud` =
//! the token endpoint, `iat`, `exp` an hour on), signs it RS256 with the
//! account's key (`ring`), exchanges it at the key file's `token_uri`, and
//! keeps the access token until shortly before it expires. One exchange is
//! made per expiry however many turns ask at once: the first holds the cache's
//! lock while it exchanges, the others wait for its token.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;

use crate::scrub::Needles;
use crate::signing::SignError;
use crate::signing::credentials::ServiceAccount;
use crate::trust::SecretValue;

/// How long an assertion is valid: an hour, the most Google accepts.
const ASSERTION_LIFETIME_SECS: u64 = 3600;
/// A token is refreshed this long before it expires (or at half its life, if shorter).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The lifetime assumed when the token endpoint names none.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// How much of a failed exchange's body an error quotes.
const BODY_EXCERPT_BYTES: usize = 300;
/// The largest token response read.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// Mints and caches one service account's access tokens.
pub struct TokenSource {
    account: ServiceAccount,
    key: RsaKeyPair,
    scopes: String,
    client: reqwest::Client,
    timeout: Duration,
    cached: tokio::sync::Mutex<Option<Token>>,
}

/// An access token and when to stop using it.
struct Token {
    value: SecretValue,
    refresh_at: Instant,
}

/// A fresh access token, or the one cached.
pub struct Minted {
    /// The token.
    pub token: SecretValue,
    /// Whether it was exchanged for just now (its value is new to the scrubber).
    pub fresh: bool,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

impl TokenSource {
    /// A token source for `account` asking for `scopes`, exchanging over
    /// `client` with `timeout` for each exchange.
    pub fn new(account: ServiceAccount, scopes: &[String], client: reqwest::Client, timeout: Duration) -> Result<TokenSource, String> {
        let key = RsaKeyPair::from_pkcs8(&account.private_key_der)
            .map_err(|why| format!("the service account's `private_key` is not a usable RSA key ({why})"))?;
        Ok(TokenSource { account, key, scopes: scopes.join(" "), client, timeout, cached: tokio::sync::Mutex::new(None) })
    }

    /// Where tokens are exchanged for.
    pub fn token_uri(&self) -> &str {
        &self.account.token_uri
    }

    /// The access token: the cached one while it is fresh, else a new one.
    /// The error says what went wrong and how to fix it.
    pub async fn token(&self) -> Result<Minted, SignError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(Minted { token: token.value.clone(), fresh: false });
        }
        let token = self.exchange().await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(Minted { token: value, fresh: true })
    }

    /// The signed assertion for now.
    fn assertion(&self) -> Result<String, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| "the host's clock is before 1970".to_owned())?
            .as_secs();
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.account.private_key_id {
            header["kid"] = kid.clone().into();
        }
        let claims = serde_json::json!({
            "iss": self.account.client_email,
            "scope": self.scopes,
            "aud": self.account.token_uri,
            "iat": now,
            "exp": now.saturating_add(ASSERTION_LIFETIME_SECS),
        });
        let signed_part = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signed_part.as_bytes(), &mut signature)
            .map_err(|_| "signing the assertion with the service account's key failed".to_owned())?;
        Ok(format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Exchange a new assertion for an access token.
    async fn exchange(&self) -> Result<Token, SignError> {
        let uri = &self.account.token_uri;
        let assertion = self.assertion().map_err(SignError::Failed)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &assertion)
            .finish();
        let started = Instant::now();
        let sent = self
            .client
            .post(uri)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .body(body)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|err| SignError::Unavailable(format!("the token endpoint {uri} could not be reached: {}", chain(&err))))?;
        let status = sent.status();
        let bytes = read_capped(sent).await.map_err(|why| SignError::Unavailable(format!("the token endpoint {uri}: {why}")))?;
        if !status.is_success() {
            // The assertion is a credential for an hour: an error body quoting it is scrubbed before it is cut short.
            let body = Needles::new([assertion.as_str()]).scrub_text(&String::from_utf8_lossy(&bytes));
            let body = excerpt(&body);
            // A 4xx turns the credentials down (a wrong key, a disabled
            // account); anything else is the endpoint failing, which may pass.
            return Err(if status.is_client_error() {
                SignError::Refused(format!(
                    "the token endpoint {uri} refused the service account's assertion: {status}: {body}; check the \
                     key file (its client_email, private_key and token_uri) and that the account is enabled"
                ))
            } else {
                SignError::Unavailable(format!("the token endpoint {uri} failed: {status}: {body}"))
            });
        }
        let parsed: TokenResponse = serde_json::from_slice(&bytes).map_err(|err| {
            SignError::Unavailable(format!("the token endpoint {uri} answered {status} with no token JSON ({err})"))
        })?;
        let value = parsed.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            SignError::Unavailable(format!("the token endpoint {uri} answered {status} without an `access_token`"))
        })?;
        let lifetime = parsed
            .expires_in
            .as_ref()
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        Ok(Token { value: SecretValue::new(value), refresh_at: started + lifetime.saturating_sub(margin) })
    }
}

/// The body, up to a cap.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| format!("reading its answer failed: {}", chain(&err)))? {
        if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(format!("its answer is larger than {MAX_TOKEN_RESPONSE_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The start of a body, on one line.
fn excerpt(text: &str) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(BODY_EXCERPT_BYTES) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None if text.is_empty() => "(an empty body)".to_owned(),
        None => text,
    }
}

/// An error with its causes.
fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("{\"error\":\n \"invalid_grant\"}"), "{\"error\": \"invalid_grant\"}");
        assert_eq!(excerpt(""), "(an empty body)");
        let long = "é".repeat(400);
        assert_eq!(excerpt(&long).chars().count(), BODY_EXCERPT_BYTES + 1);
    }
}
