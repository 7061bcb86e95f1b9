//! The HTTP broker: every request a guest makes goes through here. It enforces
//! the component's allowlist (on the first hop and on every redirect), adds the
//! secrets the manifest declares (only to the origins each secret names, never
//! a value the guest can read), caps request and response sizes and the number
//! of requests per turn, applies connect and read timeouts, streams response
//! bodies with back-pressure, and scrubs secret values from what comes back.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::bindings::http::{HttpError, HttpErrorKind};
use crate::bindings::wit::{Header, OutgoingRequest};
use crate::limits::Limits;
use crate::manifest::{Manifest, SecretSpec};
use crate::policy::{AllowList, Origin, is_internal};

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Headers the HTTP client owns; a guest setting them would desynchronise framing.
const CLIENT_OWNED_HEADERS: [&str; 5] = ["host", "content-length", "transfer-encoding", "connection", "upgrade"];

/// What replaces a secret value found in a response.
const REDACTED: &[u8] = b"[REDACTED]";

/// A secret's value. Never printed.
#[derive(Clone)]
pub struct SecretValue(String);

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

struct Secret {
    spec: SecretSpec,
    value: Option<SecretValue>,
}

/// Fixed name-to-address answers (like curl's `--resolve`), consulted before DNS.
pub type DnsOverrides = HashMap<String, Vec<IpAddr>>;

/// A host name resolved only to internal addresses: refused.
#[derive(Debug, thiserror::Error)]
#[error("`{host}` resolves to {addresses}, an internal (loopback, private or link-local) address; a guest may reach internal addresses only through an allowlist entry that names the IP itself")]
pub struct InternalAddress {
    host: String,
    addresses: String,
}

/// The broker's DNS: resolves with the system (or the overrides), then drops
/// internal addresses, so a public-looking name that points inside is refused at
/// connection time, on every hop.
struct GuardedResolver {
    overrides: Arc<DnsOverrides>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let overrides = Arc::clone(&self.overrides);
        Box::pin(async move {
            let found: Vec<IpAddr> = match overrides.get(&host) {
                Some(addresses) => addresses.clone(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect(),
            };
            // `localhost` named in an allowlist is an explicit choice of loopback.
            let public: Vec<IpAddr> = found
                .iter()
                .copied()
                .filter(|ip| !is_internal(*ip) || (host == "localhost" && ip.is_loopback()))
                .collect();
            if public.is_empty() {
                let addresses = found.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ");
                return Err(Box::new(InternalAddress { host, addresses }) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// An operator's grant: an extra origin a component may reach.
#[derive(Debug, Clone)]
pub struct HostGrant {
    /// The origin.
    pub origin: Origin,
    /// Whether the component's secrets may also go there.
    pub with_secrets: bool,
}

/// The broker of one loaded component.
pub struct Broker {
    component: String,
    client: reqwest::Client,
    allowed: AllowList,
    secrets: Vec<Secret>,
    limits: Limits,
}

fn error(kind: HttpErrorKind, message: impl Into<String>) -> HttpError {
    HttpError { kind, message: message.into() }
}

impl Broker {
    /// A broker for the component described by `manifest`, with the operator's
    /// `grants` and secret values (`overrides` win over the environment).
    pub fn new(
        manifest: &Manifest,
        grants: &[HostGrant],
        overrides: &HashMap<String, String>,
        dns: Arc<DnsOverrides>,
    ) -> Result<Broker, String> {
        let mut allowed = manifest.allowed_hosts.clone();
        let mut secrets: Vec<Secret> = manifest
            .secrets
            .iter()
            .map(|spec| {
                let value = overrides
                    .get(&spec.name)
                    .cloned()
                    .or_else(|| std::env::var(&spec.env).ok())
                    .filter(|v| !v.is_empty())
                    .map(SecretValue);
                Secret { spec: spec.clone(), value }
            })
            .collect();
        for grant in grants {
            allowed.grant(grant.origin.clone());
            if grant.with_secrets {
                for secret in &mut secrets {
                    secret.spec.hosts.grant(grant.origin.clone());
                }
            }
        }
        for name in overrides.keys() {
            if !secrets.iter().any(|s| &s.spec.name == name) {
                return Err(format!("secret `{name}` is not declared in the manifest of `{}`", manifest.name));
            }
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver { overrides: dns })
            .connect_timeout(Duration::from_millis(manifest.limits.connect_timeout_ms))
            .no_proxy()
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        Ok(Broker { component: manifest.name.clone(), client, allowed, secrets, limits: manifest.limits.clone() })
    }

    /// The origins the component may reach (manifest plus grants).
    pub fn allowed(&self) -> &AllowList {
        &self.allowed
    }

    /// Send a guest's request. `requests_made` counts this turn's requests.
    pub async fn send(
        &self,
        request: OutgoingRequest,
        requests_made: &mut u32,
    ) -> Result<(u16, Vec<Header>, IncomingBody), HttpError> {
        if request.body.len() as u64 > self.limits.request_bytes() {
            return Err(error(
                HttpErrorKind::TooLarge,
                format!(
                    "request body of {} bytes exceeds the limit of {} bytes (limits.request-mib)",
                    request.body.len(),
                    self.limits.request_bytes()
                ),
            ));
        }
        let mut method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| error(HttpErrorKind::InvalidRequest, format!("`{}` is not an HTTP method", request.method)))?;
        let mut url = Url::parse(&request.url)
            .map_err(|err| error(HttpErrorKind::InvalidRequest, format!("`{}` is not a valid URL: {err}", request.url)))?;
        let guest_headers = self.guest_headers(&request.headers)?;
        let secrets = self.named_secrets(&request.secrets)?;
        let mut body = Bytes::from(request.body);

        for hop in 0..=MAX_REDIRECTS {
            let origin = Origin::of(&url).map_err(|why| error(HttpErrorKind::Denied, why))?;
            if !self.allowed.allows(&origin) {
                return Err(error(
                    HttpErrorKind::Denied,
                    format!(
                        "component `{}` may not reach {origin}{}: allowed hosts are {}; add it to the \
                         manifest's allowed-hosts, or grant it when loading the provider",
                        self.component,
                        if hop > 0 { " (a redirect target)" } else { "" },
                        self.allowed.describe()
                    ),
                ));
            }
            *requests_made += 1;
            if u64::from(*requests_made) > self.limits.requests_per_turn {
                return Err(error(
                    HttpErrorKind::Limit,
                    format!(
                        "more than {} HTTP requests in one turn (limits.requests-per-turn)",
                        self.limits.requests_per_turn
                    ),
                ));
            }
            let mut headers = guest_headers.clone();
            let mut injected = Vec::new();
            for secret in &secrets {
                if !secret.spec.hosts.allows(&origin) {
                    if hop == 0 {
                        return Err(error(
                            HttpErrorKind::Denied,
                            format!(
                                "secret `{}` may not be sent to {origin}: its manifest entry allows {}",
                                secret.spec.name,
                                secret.spec.hosts.describe()
                            ),
                        ));
                    }
                    continue; // a redirect to another allowed origin does not carry the secret
                }
                let Some(value) = &secret.value else {
                    tracing::debug!(
                        component = %self.component,
                        "secret `{}` has no value (set {}); sending without it",
                        secret.spec.name,
                        secret.spec.env
                    );
                    continue;
                };
                let text = secret.spec.format.replace("{value}", &value.0);
                let mut header = HeaderValue::from_str(&text).map_err(|_| {
                    error(HttpErrorKind::InvalidRequest, format!("the value of secret `{}` is not a valid header value", secret.spec.name))
                })?;
                header.set_sensitive(true);
                headers.insert(secret.spec.header.clone(), header);
                injected.push(value.0.as_bytes().to_vec());
            }

            let sent = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers)
                .body(body.clone())
                .send();
            let response = tokio::time::timeout(self.read_timeout(), sent)
                .await
                .map_err(|_| self.timeout_error("the response head"))?
                .map_err(|err| self.transport_error(&err))?;

            let status = response.status();
            if status.is_redirection() && let Some(location) = response.headers().get(LOCATION) {
                let location = location.to_str().unwrap_or_default();
                url = url.join(location).map_err(|err| {
                    error(HttpErrorKind::Protocol, format!("redirect to an invalid location `{location}`: {err}"))
                })?;
                if status == StatusCode::SEE_OTHER
                    || (method == Method::POST && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND))
                {
                    method = Method::GET;
                    body = Bytes::new();
                }
                continue;
            }
            let scrubber = Scrubber::new(injected);
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| Header {
                    name: name.as_str().to_owned(),
                    value: scrubber.scrub_text(&String::from_utf8_lossy(value.as_bytes())),
                })
                .collect();
            let body = IncomingBody {
                response,
                pending: Vec::new(),
                taken: 0,
                received: 0,
                cap: self.limits.response_bytes(),
                read_timeout: self.read_timeout(),
                scrubber,
                ended: false,
            };
            return Ok((status.as_u16(), headers, body));
        }
        Err(error(HttpErrorKind::Protocol, format!("more than {MAX_REDIRECTS} redirects")))
    }

    fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.read_timeout_ms)
    }

    fn timeout_error(&self, what: &str) -> HttpError {
        error(
            HttpErrorKind::Timeout,
            format!("no {what} within {} ms (limits.read-timeout-ms)", self.limits.read_timeout_ms),
        )
    }

    fn transport_error(&self, err: &reqwest::Error) -> HttpError {
        let mut cause = std::error::Error::source(err);
        while let Some(inner) = cause {
            if let Some(internal) = inner.downcast_ref::<InternalAddress>() {
                return error(HttpErrorKind::Denied, internal.to_string());
            }
            cause = inner.source();
        }
        let kind = if err.is_timeout() {
            HttpErrorKind::Timeout
        } else if err.is_connect() {
            HttpErrorKind::Connect
        } else {
            HttpErrorKind::Protocol
        };
        // reqwest's message names the URL, never header values.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        error(kind, message)
    }

    fn guest_headers(&self, headers: &[Header]) -> Result<HeaderMap, HttpError> {
        let mut map = HeaderMap::with_capacity(headers.len());
        for header in headers {
            let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
                error(HttpErrorKind::InvalidRequest, format!("`{}` is not a valid header name", header.name))
            })?;
            if CLIENT_OWNED_HEADERS.contains(&name.as_str()) {
                return Err(error(
                    HttpErrorKind::InvalidRequest,
                    format!("header `{name}` is set by the host's HTTP client; do not set it"),
                ));
            }
            if let Some(secret) = self.secrets.iter().find(|s| s.spec.header == name) {
                return Err(error(
                    HttpErrorKind::Denied,
                    format!(
                        "header `{name}` is reserved for secret `{}`; name the secret in the request's \
                         `secrets` instead of setting the header",
                        secret.spec.name
                    ),
                ));
            }
            let value = HeaderValue::from_str(&header.value).map_err(|_| {
                error(
                    HttpErrorKind::InvalidRequest,
                    format!("header `{name}` has an invalid value (control characters such as CR or LF are refused)"),
                )
            })?;
            map.append(name, value);
        }
        Ok(map)
    }

    fn named_secrets(&self, names: &[String]) -> Result<Vec<&Secret>, HttpError> {
        names
            .iter()
            .map(|name| {
                self.secrets.iter().find(|s| &s.spec.name == name).ok_or_else(|| {
                    error(
                        HttpErrorKind::Denied,
                        format!("no secret named `{name}` in the manifest of `{}`", self.component),
                    )
                })
            })
            .collect()
    }
}

/// A response body being read by a guest.
pub struct IncomingBody {
    response: reqwest::Response,
    /// Bytes received and not yet read by the guest: `pending[taken..]`.
    pending: Vec<u8>,
    taken: usize,
    received: u64,
    cap: u64,
    read_timeout: Duration,
    scrubber: Scrubber,
    ended: bool,
}

impl IncomingBody {
    /// Up to `max` bytes: what has arrived, waiting only if nothing has. `None` at the end.
    pub async fn read(&mut self, max: u32) -> Result<Option<Vec<u8>>, HttpError> {
        let max = (max as usize).max(1);
        if self.taken == self.pending.len() {
            self.pending.clear();
            self.taken = 0;
        }
        while self.pending.is_empty() && !self.ended {
            let next = tokio::time::timeout(self.read_timeout, self.response.chunk())
                .await
                .map_err(|_| error(HttpErrorKind::Timeout, format!("no body bytes within {} ms (limits.read-timeout-ms)", self.read_timeout.as_millis())))?;
            self.accept(next)?;
            // Take whatever else has already arrived, without waiting.
            while self.pending.len() < max && !self.ended {
                match self.response.chunk().now_or_never() {
                    Some(next) => self.accept(next)?,
                    None => break,
                }
            }
        }
        let available = self.pending.len() - self.taken;
        if available == 0 {
            return Ok(None);
        }
        if self.taken == 0 && available <= max {
            return Ok(Some(std::mem::take(&mut self.pending)));
        }
        let end = self.taken + available.min(max);
        let out = self.pending[self.taken..end].to_vec();
        self.taken = end;
        Ok(Some(out))
    }

    fn accept(&mut self, next: reqwest::Result<Option<Bytes>>) -> Result<(), HttpError> {
        match next {
            Ok(Some(chunk)) => {
                self.received += chunk.len() as u64;
                if self.received > self.cap {
                    return Err(error(
                        HttpErrorKind::TooLarge,
                        format!("response body exceeds the limit of {} bytes (limits.response-mib)", self.cap),
                    ));
                }
                self.scrubber.push(&chunk, &mut self.pending);
            }
            Ok(None) => {
                self.ended = true;
                self.scrubber.finish(&mut self.pending);
            }
            Err(err) => {
                let kind = if err.is_timeout() { HttpErrorKind::Timeout } else { HttpErrorKind::Protocol };
                return Err(error(kind, format!("reading the response body failed: {err}")));
            }
        }
        Ok(())
    }
}

/// Replaces secret values in a byte stream, even when a value is split across
/// chunks. Holds back only a tail that could still become a secret, so streams
/// without secrets are never delayed.
struct Scrubber {
    secrets: Vec<Vec<u8>>,
    held: Vec<u8>,
}

impl Scrubber {
    fn new(secrets: Vec<Vec<u8>>) -> Self {
        Scrubber { secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(), held: Vec::new() }
    }

    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.secrets.is_empty() {
            out.extend_from_slice(chunk);
            return;
        }
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(chunk);
        let mut data = self.replace(data);
        let keep = self.partial_tail(&data);
        self.held = data.split_off(data.len() - keep);
        out.extend_from_slice(&data);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.held);
    }

    fn scrub_text(&self, text: &str) -> String {
        if self.secrets.is_empty() {
            return text.to_owned();
        }
        String::from_utf8_lossy(&self.replace(text.as_bytes().to_vec())).into_owned()
    }

    fn replace(&self, mut data: Vec<u8>) -> Vec<u8> {
        for secret in &self.secrets {
            if memchr::memmem::find(&data, secret).is_none() {
                continue;
            }
            let mut replaced = Vec::with_capacity(data.len());
            let mut last = 0;
            for at in memchr::memmem::find_iter(&data, secret) {
                if at < last {
                    continue;
                }
                replaced.extend_from_slice(&data[last..at]);
                replaced.extend_from_slice(REDACTED);
                last = at + secret.len();
            }
            replaced.extend_from_slice(&data[last..]);
            data = replaced;
        }
        data
    }

    /// Length of the longest suffix of `data` that is a proper prefix of a secret.
    fn partial_tail(&self, data: &[u8]) -> usize {
        let mut keep = 0;
        for secret in &self.secrets {
            let longest = (secret.len() - 1).min(data.len());
            for len in (keep + 1..=longest).rev() {
                if data[data.len() - len..] == secret[..len] {
                    keep = len;
                    break;
                }
            }
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub_in_pieces(input: &[u8], cut: usize) -> Vec<u8> {
        let mut scrubber = Scrubber::new(vec![b"sk-secret-123".to_vec()]);
        let mut out = Vec::new();
        scrubber.push(&input[..cut], &mut out);
        scrubber.push(&input[cut..], &mut out);
        scrubber.finish(&mut out);
        out
    }

    #[test]
    fn secret_is_scrubbed_wherever_the_stream_splits() {
        let input = b"{\"echo\":\"Bearer sk-secret-123\",\"again\":\"sk-secret-123\"} sk-sec";
        let expected = b"{\"echo\":\"Bearer [REDACTED]\",\"again\":\"[REDACTED]\"} sk-sec".to_vec();
        for cut in 0..=input.len() {
            assert_eq!(scrub_in_pieces(input, cut), expected, "split at {cut}");
        }
    }

    #[test]
    fn streams_without_secrets_are_not_held_back() {
        let mut scrubber = Scrubber::new(vec![b"sk-secret-123".to_vec()]);
        let mut out = Vec::new();
        scrubber.push(b"data: {}\n\n", &mut out);
        assert_eq!(out, b"data: {}\n\n", "nothing that could start a secret is held");
    }
}
