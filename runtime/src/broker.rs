//! The HTTP broker: every request a guest makes goes through here. It enforces
//! the origins the operator granted (on the first hop and on every redirect),
//! adds the granted secrets (only to the origins each secret is granted for,
//! never a value the guest can read), caps request and response sizes and the
//! number of requests per turn, applies connect and read timeouts, streams
//! response bodies with back-pressure, and scrubs secret values (and their
//! common encodings, see [`crate::scrub`]) from everything that comes back:
//! bodies, headers and its own error messages. A signing secret
//! ([`crate::signing`]) signs the request as the last step before it is sent,
//! on every hop to an origin it is granted for; its keys, the signature and
//! the tokens it mints are scrubbed too. It owns content coding: it asks
//! for uncompressed bodies and refuses compressed ones, so that nothing reaches
//! a guest unscrubbed.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use tracing::Instrument as _;
use url::Url;

use crate::bindings::http::{HttpError, HttpErrorKind};
use crate::bindings::wit::{Header, OutgoingRequest};
use crate::limits::Limits;
use crate::manifest::SecretScheme;
use crate::policy::{AllowList, Origin, is_internal};
use crate::scrub::{LiveNeedles, Scrubber};
use crate::signing::{SignError, Signer};
use crate::trust::{Granted, GrantedSecret};

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Headers the host sets, or keeps unset, and why a guest may not.
const HOST_OWNED_HEADERS: [(&str, &str); 10] = [
    ("host", "the HTTP client sets it from the URL"),
    ("content-length", "the HTTP client frames the body"),
    ("transfer-encoding", "the HTTP client frames the body"),
    ("connection", "the HTTP client manages connections"),
    ("upgrade", "the HTTP client manages connections"),
    ("te", "the HTTP client manages transfer codings"),
    ("accept-encoding", "the host asks for uncompressed bodies, so that it can scrub secrets from what comes back"),
    ("range", "a part of a reflected secret would pass the host's scrubber"),
    ("if-range", "a part of a reflected secret would pass the host's scrubber"),
    ("proxy-authorization", "the host sends through no proxy"),
];

/// The host's own answer to a request whose credentials were turned down
/// before it was sent ([`SignError::Refused`]): 401, with an error body in
/// the shape most providers use (`error.message`), so that the guest reports
/// an authentication error in its own words, as for a key the upstream refuses.
/// `x-cordon-credentials: refused` tells it from an upstream's 401.
fn credentials_refused(why: &str) -> reqwest::Response {
    let body = serde_json::json!({
        "error": { "message": why, "type": "authentication_error", "code": 401, "status": "UNAUTHENTICATED" }
    });
    let mut answer = hyper::Response::new(body.to_string());
    *answer.status_mut() = StatusCode::UNAUTHORIZED;
    answer.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer.headers_mut().insert(HeaderName::from_static("x-cordon-credentials"), HeaderValue::from_static("refused"));
    reqwest::Response::from(answer)
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

/// The broker of one loaded component.
pub struct Broker {
    component: String,
    client: reqwest::Client,
    allowed: AllowList,
    secrets: Vec<BrokerSecret>,
    needles: LiveNeedles,
    limits: Limits,
}

/// A granted secret and, for a signing secret with a value, its signer.
struct BrokerSecret {
    granted: GrantedSecret,
    signer: Option<Signer>,
}

fn error(kind: HttpErrorKind, message: impl Into<String>) -> HttpError {
    HttpError { kind, message: message.into() }
}

impl Broker {
    /// A broker for `component` with what the operator `granted` it.
    pub fn new(component: &str, granted: Granted, limits: &Limits, dns: Arc<DnsOverrides>) -> Result<Broker, String> {
        let client = crate::tls::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver { overrides: dns })
            .connect_timeout(Duration::from_millis(limits.connect_timeout_ms))
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        let read_timeout = Duration::from_millis(limits.read_timeout_ms);
        let connect_timeout = Duration::from_millis(limits.connect_timeout_ms);
        let mut secrets = Vec::with_capacity(granted.secrets.len());
        let mut values = Vec::new();
        for granted in granted.secrets {
            let signer = Signer::new(&granted, read_timeout, connect_timeout)?;
            match &signer {
                Some(signer) => values.extend(signer.secrets()),
                None if !granted.request.scheme.signs() => values.extend(granted.value.as_ref().map(|v| v.expose().to_owned())),
                None => {}
            }
            secrets.push(BrokerSecret { granted, signer });
        }
        Ok(Broker {
            component: component.to_owned(),
            client,
            allowed: granted.hosts,
            secrets,
            needles: LiveNeedles::new(values),
            limits: limits.clone(),
        })
    }

    /// The origins the component may reach (what the operator granted).
    pub fn allowed(&self) -> &AllowList {
        &self.allowed
    }

    /// Send a guest's request. `requests_made` counts this turn's requests.
    /// Every error message is scrubbed too: a redirect target or a host name
    /// could quote a secret back.
    pub async fn send(
        &self,
        request: OutgoingRequest,
        requests_made: &mut u32,
    ) -> Result<(u16, Vec<Header>, IncomingBody), HttpError> {
        // The span names the origin only: a path or query could carry what a log must not.
        let origin = Url::parse(&request.url).ok().map(|url| url.origin().ascii_serialization()).unwrap_or_default();
        let span = tracing::debug_span!("upstream", method = %request.method, origin = %origin, status = tracing::field::Empty);
        let sent = self.send_unscrubbed(request, requests_made).instrument(span.clone()).await;
        if let Ok((status, _, _)) = &sent {
            span.record("status", status);
        }
        sent.map_err(|mut error| {
            error.message = self.needles.current().scrub_text(&error.message);
            error
        })
    }

    async fn send_unscrubbed(
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
            if !url.username().is_empty() || url.password().is_some() {
                return Err(error(
                    HttpErrorKind::Denied,
                    format!(
                        "{} carries a user name or password; credentials come from the operator's secrets, never from a URL",
                        if hop > 0 { "a redirect target" } else { "the URL" }
                    ),
                ));
            }
            let origin = Origin::of(&url).map_err(|why| error(HttpErrorKind::Denied, why))?;
            if !self.allowed.allows(&origin) {
                return Err(error(
                    HttpErrorKind::Denied,
                    format!(
                        "component `{}` may not reach {origin}{}: it is granted {}; the operator grants \
                         origins (`cordon trust`, or a base URL when loading it)",
                        self.component,
                        if hop > 0 { " (a redirect target)" } else { "" },
                        self.allowed.describe()
                    ),
                ));
            }
            *requests_made = requests_made.saturating_add(1);
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
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
            let mut signing = None;
            for BrokerSecret { granted: secret, signer } in &secrets {
                let ask = &secret.request;
                if !secret.hosts.allows(&origin) {
                    if hop == 0 {
                        return Err(error(
                            HttpErrorKind::Denied,
                            format!(
                                "secret `{}` may not be sent to {origin}: it is granted for {}",
                                ask.name,
                                secret.hosts.describe()
                            ),
                        ));
                    }
                    continue; // a redirect to another allowed origin does not carry the secret
                }
                let Some(value) = &secret.value else {
                    tracing::debug!(
                        component = %self.component,
                        "secret `{}` has no value (it is bound to {}); sending without it",
                        ask.name,
                        secret.source
                    );
                    continue;
                };
                if let Some(signer) = signer {
                    signing = Some((ask.name.as_str(), signer));
                    continue;
                }
                // A signing secret has a signer whenever it has a value.
                let SecretScheme::Header { header: name, format } = &ask.scheme else { continue };
                let text = format.replace("{value}", value.expose());
                let mut header = HeaderValue::from_str(&text).map_err(|_| {
                    error(HttpErrorKind::InvalidRequest, format!("the value of secret `{}` is not a valid header value", ask.name))
                })?;
                header.set_sensitive(true);
                headers.insert(name.clone(), header);
            }
            // Signing is the last step: it covers every header above and the body.
            let mut needles = self.needles.current();
            let mut refused = None;
            if let Some((name, signer)) = signing {
                match signer.sign(name, &method, &url, &headers, &body).await {
                    Ok(signature) => {
                        for secret in signature.from_now_on {
                            self.needles.learn(secret);
                        }
                        needles = self.needles.current().extended(signature.for_this_response.iter().map(String::as_str));
                        headers.extend(signature.headers);
                    }
                    Err(SignError::Refused(why)) => refused = Some(credentials_refused(&why)),
                    Err(SignError::Unavailable(why)) => return Err(error(HttpErrorKind::Connect, why)),
                    Err(SignError::Failed(why)) => return Err(error(HttpErrorKind::Denied, why)),
                }
            }

            let response = match refused {
                Some(answer) => answer,
                None => {
                    let sent = self.client.request(method.clone(), url.clone()).headers(headers).body(body.clone()).send();
                    tokio::time::timeout(self.read_timeout(), sent)
                        .await
                        .map_err(|_| self.timeout_error("the response head"))?
                        .map_err(|err| self.transport_error(&err))?
                }
            };

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
            if let Some(coding) = response.headers().get(CONTENT_ENCODING)
                && !coding.as_bytes().trim_ascii().eq_ignore_ascii_case(b"identity")
            {
                return Err(error(
                    HttpErrorKind::Protocol,
                    format!(
                        "the upstream answered with content-encoding `{}`, which the host did not ask for (it asks for \
                         identity) and does not decode: compressed bytes would pass its secret scrubber",
                        String::from_utf8_lossy(coding.as_bytes())
                    ),
                ));
            }
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| Header {
                    name: needles.scrub_text(name.as_str()),
                    value: needles.scrub_text(&String::from_utf8_lossy(value.as_bytes())),
                })
                .collect();
            let body = IncomingBody {
                response,
                raw: VecDeque::new(),
                pending: Vec::new(),
                taken: 0,
                received: 0,
                cap: self.limits.response_bytes(),
                read_timeout: self.read_timeout(),
                scrubber: Scrubber::new(needles),
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
            if let Some((_, why)) = HOST_OWNED_HEADERS.iter().find(|(owned, _)| *owned == name.as_str()) {
                return Err(error(
                    HttpErrorKind::InvalidRequest,
                    format!("header `{name}` is the host's to set ({why}); do not set it"),
                ));
            }
            if let Some(secret) = self.secrets.iter().map(|s| &s.granted.request).find(|s| signs_header(&s.scheme, &name)) {
                return Err(error(
                    HttpErrorKind::Denied,
                    format!(
                        "header `{name}` is the host's to set: it signs requests with secret `{}` ({}); name the \
                         secret in the request's `secrets` and leave the header out",
                        secret.name,
                        secret.scheme.name()
                    ),
                ));
            }
            if let Some(secret) = self.secrets.iter().map(|s| &s.granted).find(|s| s.request.scheme.header() == name) {
                return Err(error(
                    HttpErrorKind::Denied,
                    format!(
                        "header `{name}` is reserved for secret `{}`; name the secret in the request's \
                         `secrets` instead of setting the header",
                        secret.request.name
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

    fn named_secrets(&self, names: &[String]) -> Result<Vec<&BrokerSecret>, HttpError> {
        let named = names
            .iter()
            .map(|name| {
                self.secrets.iter().find(|s| &s.granted.request.name == name).ok_or_else(|| {
                    error(
                        HttpErrorKind::Denied,
                        format!("no secret named `{name}` in the manifest of `{}`", self.component),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signing: Vec<&str> =
            named.iter().filter(|s| s.granted.request.scheme.signs()).map(|s| s.granted.request.name.as_str()).collect();
        if signing.len() > 1 {
            return Err(error(
                HttpErrorKind::InvalidRequest,
                format!("a request is signed by one secret, but it names {}; name one", signing.join(" and ")),
            ));
        }
        if let Some(signer) = signing.first() {
            let header = reqwest::header::AUTHORIZATION;
            if let Some(clash) = named.iter().find(|s| !s.granted.request.scheme.signs() && s.granted.request.scheme.header() == header) {
                return Err(error(
                    HttpErrorKind::InvalidRequest,
                    format!(
                        "secrets `{}` and `{signer}` both set `authorization`; a request names one of them",
                        clash.granted.request.name
                    ),
                ));
            }
        }
        Ok(named)
    }
}

/// Whether `name` is a header the host sets when it signs with `scheme`:
/// `authorization`, and for SigV4 every `x-amz-*` header.
fn signs_header(scheme: &SecretScheme, name: &HeaderName) -> bool {
    match scheme {
        SecretScheme::Header { .. } => false,
        SecretScheme::GoogleServiceAccount { .. } => name == reqwest::header::AUTHORIZATION,
        SecretScheme::AwsSigV4 { .. } => name == reqwest::header::AUTHORIZATION || name.as_str().starts_with("x-amz-"),
    }
}

/// A response body being read by a guest.
pub struct IncomingBody {
    response: reqwest::Response,
    /// Bytes received and not yet scrubbed, oldest first. They are scrubbed
    /// as the guest asks for them, so a large chunk is not scanned whole
    /// before the guest gets its first bytes.
    raw: VecDeque<Bytes>,
    /// Bytes scrubbed and not yet read by the guest: `pending[taken..]`.
    pending: Vec<u8>,
    taken: usize,
    received: u64,
    cap: u64,
    read_timeout: Duration,
    scrubber: Scrubber,
    /// The upstream's body has ended (`raw` may still hold some of it).
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
        loop {
            self.scrub_up_to(max);
            if self.pending.len() > self.taken || (self.ended && self.raw.is_empty()) {
                break;
            }
            let next = tokio::time::timeout(self.read_timeout, self.response.chunk())
                .await
                .map_err(|_| error(HttpErrorKind::Timeout, format!("no body bytes within {} ms (limits.read-timeout-ms)", self.read_timeout.as_millis())))?;
            self.accept(next)?;
            // Take whatever else has already arrived, without waiting.
            while self.raw.iter().map(Bytes::len).sum::<usize>() < max && !self.ended {
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

    /// Scrub received bytes until `max` are ready for the guest or none are
    /// left; at the end of the body, release what the scrubber held back.
    fn scrub_up_to(&mut self, max: usize) {
        // Room for all of it at once, not grown (and copied) piece by piece.
        let received: usize = self.raw.iter().map(Bytes::len).sum();
        self.pending.reserve(received.min(max.saturating_sub(self.pending.len() - self.taken)));
        while self.pending.len() - self.taken < max {
            let Some(chunk) = self.raw.front_mut() else {
                if self.ended {
                    self.scrubber.finish(&mut self.pending);
                }
                return;
            };
            let wanted = max - (self.pending.len() - self.taken);
            let piece = chunk.split_to(wanted.min(chunk.len()));
            if chunk.is_empty() {
                self.raw.pop_front();
            }
            self.scrubber.push(&piece, &mut self.pending);
        }
    }

    fn accept(&mut self, next: reqwest::Result<Option<Bytes>>) -> Result<(), HttpError> {
        match next {
            Ok(Some(chunk)) => {
                self.received = self.received.saturating_add(chunk.len() as u64);
                if self.received > self.cap {
                    return Err(error(
                        HttpErrorKind::TooLarge,
                        format!("response body exceeds the limit of {} bytes (limits.response-mib)", self.cap),
                    ));
                }
                if !chunk.is_empty() {
                    self.raw.push_back(chunk);
                }
            }
            Ok(None) => self.ended = true,
            Err(err) => {
                let kind = if err.is_timeout() { HttpErrorKind::Timeout } else { HttpErrorKind::Protocol };
                return Err(error(kind, format!("reading the response body failed: {err}")));
            }
        }
        Ok(())
    }
}
