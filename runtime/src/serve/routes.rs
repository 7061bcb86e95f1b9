//! The gateway's HTTP server and its routes, on hyper (HTTP/1.1, TCP_NODELAY
//! on every accepted socket):
//!
//! - `GET /health/live`: 200 while the process serves; `GET /health/ready`:
//!   200 when every configured provider is loaded and none with
//!   `health-check` is `down` (degraded is still ready; each checked
//!   provider's verdict is in the answer), 503 otherwise (on SIGTERM the
//!   listener closes at once, so a probe fails from then on). Both need no key
//!   and are logged only at `debug`;
//! - `GET /metrics`: the Prometheus metrics ([`crate::serve::metrics`]), no key;
//! - every `/v1` route needs one of the config's `[keys]` when it has any
//!   (401 in the API's own error shape otherwise), and a key serves only the
//!   models it may use;
//! - `GET /v1/models`: the public model names (those the key may use), then
//!   the upstream models of providers with `list-models` as `PROVIDER/MODEL`;
//!   in the Anthropic API's shape when the request carries `anthropic-version`;
//! - `POST /v1/chat/completions`: a turn through the model's chain, streamed
//!   as `chat.completion.chunk` events or answered whole;
//! - `POST /v1/messages`: the same in the Anthropic Messages API;
//! - `POST /v1/responses`: the same in the OpenAI Responses API (`response.*`
//!   events, or a whole `response`).
//!
//! A stream is written as the guest's events arrive: each write carries every
//! event ready at that moment (one syscall for a batch, not one per event),
//! and the next is read only when the client has taken the last, so a slow
//! client slows the turn rather than filling memory. A client that goes away
//! drops the body, and with it the turn: the guest instance and the upstream
//! connection are closed at once.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::Stream as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::error::Error;
use crate::models::HealthStatus;
use crate::provider::TurnStream;
use crate::serve::anthropic;
use crate::serve::gateway::{Gateway, ModelTurn};
use crate::serve::keys::{ClientKey, Refusal};
use crate::serve::openai_request::{self, ChatRequest};
use crate::serve::openai_response::{self, ChunkEncoder, ErrorReply};
use crate::serve::responses::{self, ResponseEncoder, ResponsesRequest};
use crate::types::{Event, Request, TurnError};

/// A stream write is sent once this much is ready, even if more is.
const WRITE_BYTES: usize = 16 << 10;

type Body = http_body_util::Either<Full<Bytes>, ChatStream>;

/// The gateway a request is answered by: replaced whole by a reload, while
/// the requests already in flight finish on the one they started with.
type Current = Arc<RwLock<Arc<Gateway>>>;

/// A running gateway server; stops accepting when dropped.
pub struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
    stop: Option<oneshot::Sender<oneshot::Sender<GracefulShutdown>>>,
    current: Current,
}

impl Server {
    /// Serve `gateway` on `addr` (port 0: any free port).
    pub async fn start(gateway: Arc<Gateway>, addr: SocketAddr) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let current: Current = Arc::new(RwLock::new(gateway));
        let serving = Arc::clone(&current);
        let (stop, mut stopping) = oneshot::channel::<oneshot::Sender<GracefulShutdown>>();
        let task = tokio::spawn(async move {
            let connections = GracefulShutdown::new();
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    handover = &mut stopping => {
                        // Stop accepting; the caller drains what is open.
                        if let Ok(handover) = handover {
                            let _ = handover.send(connections);
                        }
                        return;
                    }
                };
                let Ok((stream, _)) = accepted else { continue };
                // Nagle's algorithm would hold each small event back for an ACK.
                let _ = stream.set_nodelay(true);
                let requests = Arc::clone(&requests);
                let serving = Arc::clone(&serving);
                let request_timeout = gateway_now(&serving).limits().request;
                let service = service_fn(move |request| {
                    let id = format!("req_{:016x}", requests.fetch_add(1, Ordering::Relaxed));
                    answer(gateway_now(&serving), request, id)
                });
                // A slowloris client cannot hold a connection: it has this
                // long for a request's head (and, kept alive, to start the next).
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(request_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = connections.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        Ok(Server { addr, task, stop: Some(stop), current })
    }

    /// Answer new requests with `gateway` (a reloaded configuration); requests
    /// in flight finish on the gateway they started with.
    pub fn replace(&self, gateway: Arc<Gateway>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = gateway;
    }

    /// The gateway answering new requests.
    pub fn gateway(&self) -> Arc<Gateway> {
        gateway_now(&self.current)
    }

    /// What `GET /keys` of the admin endpoint answers: the client keys of
    /// the gateway serving at the time of the request.
    pub fn keys_report(&self) -> crate::admin::KeysReport {
        let current = Arc::clone(&self.current);
        Arc::new(move || {
            let gateway = gateway_now(&current);
            Box::pin(async move { gateway.keys_report().await })
        })
    }

    /// Stop accepting, let the answers in flight finish for up to `deadline`
    /// (idle connections close at once), and say whether all did.
    pub async fn shutdown(mut self, deadline: Duration) -> bool {
        let (handover, connections) = oneshot::channel();
        let Some(stop) = self.stop.take() else { return true };
        if stop.send(handover).is_err() {
            return true;
        }
        match connections.await {
            Ok(connections) => tokio::time::timeout(deadline, connections.shutdown()).await.is_ok(),
            Err(_) => true,
        }
    }

    /// `http://ADDRESS:PORT`; clients use `{url}/v1` as their base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn gateway_now(current: &Current) -> Arc<Gateway> {
    Arc::clone(&current.read().unwrap_or_else(PoisonError::into_inner))
}

/// Answer one request. With `CORDON_LOG=info` it is logged in one line: a
/// request that ran a turn when the turn ends (`turn ended`, with its usage
/// and cost), any other when it is answered (`answered`; server errors at
/// `warn`, health probes at `debug`). What is logged while answering carries
/// the request's id, path and key's name (never the key).
async fn answer(gateway: Arc<Gateway>, request: hyper::Request<Incoming>, id: String) -> Result<Response<Body>, Infallible> {
    let started = std::time::Instant::now();
    let (method, uri) = (request.method().clone(), request.uri().clone());
    if let Some(response) = health(&gateway, &request).await {
        tracing::debug!(%method, path = %uri.path(), status = response.status().as_u16(), "health probe");
        return Ok(response);
    }
    if method == Method::GET && uri.path() == "/metrics" {
        let mut response = Response::new(Body::Left(Full::new(Bytes::from(gateway.metrics().render()))));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(crate::serve::metrics::CONTENT_TYPE));
        return Ok(response);
    }
    let metrics = Arc::clone(gateway.metrics());
    let identified = gateway.keys().identify(request.headers());
    let key = identified.as_ref().ok().and_then(Option::as_ref).map(|caller| tracing::field::display(&caller.name));
    let span = tracing::info_span!("request", id = %id, path = %uri.path(), key);
    let mut response = match identified {
        Ok(caller) => route(gateway, request, caller).instrument(span.clone()).await,
        Err(refusal) => {
            discard_body(request.into_body()).await;
            unauthorized(uri.path(), refusal)
        }
    };
    let status = response.status().as_u16();
    metrics.request(route_name(uri.path()), status);
    let head_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let ran_turn = response.extensions_mut().remove::<TurnLogged>().is_some();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(%method, status, head_us, "answered with a server error");
        } else if !ran_turn {
            tracing::info!(%method, status, head_us, "answered");
        }
    });
    // `x-request-id` for the OpenAI clients, `request-id` for Anthropic's.
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", value.clone());
        response.headers_mut().insert("x-request-id", value);
    }
    Ok(response)
}

/// `GET /health/live` and `GET /health/ready`, or `None` for any other request.
async fn health(gateway: &Gateway, request: &hyper::Request<Incoming>) -> Option<Response<Body>> {
    if request.method() != Method::GET {
        return None;
    }
    match request.uri().path() {
        "/health/live" => Some(json(200, &serde_json::json!({"status": "live"}))),
        "/health/ready" if !gateway.ready() => Some(json(503, &serde_json::json!({"status": "loading"}))),
        "/health/ready" => Some(readiness(gateway).await),
        _ => None,
    }
}

/// Ready unless a health-checked provider is `down`, with each one's verdict.
async fn readiness(gateway: &Gateway) -> Response<Body> {
    let verdicts = gateway.upstreams().health().await;
    if verdicts.is_empty() {
        return json(200, &serde_json::json!({"status": "ready"}));
    }
    let down = verdicts.values().any(|health| health.status == HealthStatus::Down);
    let (status, word) = if down { (503, "down") } else { (200, "ready") };
    json(status, &serde_json::json!({"status": word, "providers": verdicts}))
}

/// At most this much of a refused request's body is read before the answer.
const DISCARD_BYTES: usize = 64 << 10;
/// For at most this long.
const DISCARD_TIME: Duration = Duration::from_secs(1);

/// Read and drop the start of a refused request's body: answered unread, a
/// body still arriving makes hyper close the connection, and a client still
/// writing it gets a reset instead of the answer (the OpenAI client then
/// retries a 401 it never saw). A body over the bound is not waited for.
async fn discard_body(body: Incoming) {
    let _ = tokio::time::timeout(DISCARD_TIME, Limited::new(body, DISCARD_BYTES).collect()).await;
}

/// A request's route for the metrics: one of the gateway's own paths, never
/// what a client sent.
fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/chat/completions" => "/v1/chat/completions",
        "/v1/messages" => "/v1/messages",
        "/v1/responses" => "/v1/responses",
        "/v1/models" => "/v1/models",
        _ => "other",
    }
}

/// The 401 for a request without a valid key, in the shape of the API it
/// called (the Anthropic one for `/v1/messages`).
fn unauthorized(path: &str, refusal: Refusal) -> Response<Body> {
    let mut response = if path.starts_with("/v1/messages") {
        let body = serde_json::json!({"type": "error", "error": {"type": "authentication_error", "message": refusal.message()}});
        error(ErrorReply { status: 401, headers: vec![("x-should-retry", "false".to_owned())], body })
    } else {
        error(openai_response::refusal(401, "invalid_request_error", None, Some("invalid_api_key"), refusal.message()))
    };
    response.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The caller a request was let in as (`None` when the gateway has no keys).
type Caller = Option<Arc<ClientKey>>;

/// Whether `caller` may use `model`.
fn may_use(caller: &Caller, model: &str) -> bool {
    caller.as_ref().is_none_or(|key| key.may_use(model))
}

async fn route(gateway: Arc<Gateway>, request: hyper::Request<Incoming>, caller: Caller) -> Response<Body> {
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/v1/models") => models(&gateway, &caller, request.headers().contains_key("anthropic-version")).await,
        (&Method::POST, "/v1/chat/completions") => chat(&gateway, request, &caller).await,
        (&Method::POST, "/v1/messages") => messages(&gateway, request, &caller).await,
        (&Method::POST, "/v1/responses") => responses(&gateway, request, &caller).await,
        (_, path) => error(openai_response::refusal(
            404,
            "not_found_error",
            None,
            None,
            &format!(
                "no route {path}: this gateway serves GET /v1/models, POST /v1/chat/completions, POST /v1/messages, \
                 POST /v1/responses, GET /health/live and GET /health/ready"
            ),
        )),
    }
}

fn json(status: u16, value: &serde_json::Value) -> Response<Body> {
    // `to_vec` writes straight into the buffer (`to_string` goes through `fmt`); a `Value` always serializes.
    let mut response = Response::new(Body::Left(Full::new(Bytes::from(serde_json::to_vec(value).unwrap_or_default()))));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(reply: ErrorReply) -> Response<Body> {
    let mut response = json(reply.status, &reply.body);
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The models `caller` may use: the public names, then the upstream models
/// (`PROVIDER/MODEL`), in OpenAI's list shape or, for an Anthropic client,
/// Anthropic's (one page).
async fn models(gateway: &Gateway, caller: &Caller, anthropic: bool) -> Response<Body> {
    let public = gateway.model_names().map(|name| (name.to_owned(), "cordon".to_owned(), None));
    let upstream = gateway.upstreams().models().await.into_iter().map(|model| (model.id, model.provider, model.display_name));
    let listed: Vec<(String, String, Option<String>)> = public.chain(upstream).filter(|(id, _, _)| may_use(caller, id)).collect();
    if anthropic {
        let data: Vec<serde_json::Value> = listed
            .iter()
            .map(|(id, _, display)| {
                serde_json::json!({"type": "model", "id": id, "display_name": display.as_deref().unwrap_or(id), "created_at": "1970-01-01T00:00:00Z"})
            })
            .collect();
        let (first, last) = (listed.first().map(|m| &m.0), listed.last().map(|m| &m.0));
        return json(200, &serde_json::json!({"data": data, "has_more": false, "first_id": first, "last_id": last}));
    }
    let data: Vec<serde_json::Value> = listed
        .iter()
        .map(|(id, owner, _)| serde_json::json!({"id": id, "object": "model", "created": 0, "owned_by": owner}))
        .collect();
    json(200, &serde_json::json!({"object": "list", "data": data}))
}

/// Why a request's body was not read.
struct Unread {
    /// 413 (too large), 408 (too slow) or 400 (cut).
    status: u16,
    message: String,
}

/// The request's body, or why it could not be read: over `limits.body-mib`,
/// slower than `limits.request-seconds`, or cut.
async fn read_body(gateway: &Gateway, request: hyper::Request<Incoming>) -> Result<Bytes, Unread> {
    let limits = gateway.limits();
    let too_large = || Unread {
        status: 413,
        message: format!("the request body is over {} MiB (`limits.body-mib` in the gateway's config)", limits.body_bytes >> 20),
    };
    // A `content-length` over the limit is refused from the head: nothing of the body is read.
    if hyper::body::Body::size_hint(request.body()).lower() > u64::try_from(limits.body_bytes).unwrap_or(u64::MAX) {
        return Err(too_large());
    }
    let read = Limited::new(request.into_body(), limits.body_bytes).collect();
    match tokio::time::timeout(limits.request, read).await {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(err)) => Err(Unread { status: 400, message: format!("the request body could not be read: {err}") }),
        Err(_) => Err(Unread {
            status: 408,
            message: format!("the request body took longer than {} s to arrive (`limits.request-seconds`)", limits.request.as_secs()),
        }),
    }
}

async fn chat(gateway: &Gateway, request: hyper::Request<Incoming>, caller: &Caller) -> Response<Body> {
    let body = match read_body(gateway, request).await {
        Ok(body) => body,
        Err(unread) => return error(openai_response::refusal(unread.status, "invalid_request_error", None, None, &unread.message)),
    };
    let ChatRequest { request, stream, include_usage, ignored } = match openai_request::parse(&body) {
        Ok(chat) => chat,
        Err(bad) => return error(openai_response::refusal(400, "invalid_request_error", bad.param.as_deref(), None, &bad.message)),
    };
    let model = request.model.clone();
    let chain = match openai_chain(gateway, &request, &body, caller).await {
        Ok(chain) => chain,
        Err(refused) => return error(refused),
    };
    let id = format!("chatcmpl-{:016x}", rand_id());
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut warnings: Vec<String> = ignored.into_iter().map(|field| format!("{field}: not supported by this gateway, ignored")).collect();
    let mut turn = chain.stream(request);
    let first = match until_output(&mut turn, &mut warnings).await {
        Ok(first) => first,
        Err(failure) => return turn_answer(error(openai_response::error_reply(&failure)), &warnings),
    };
    let response = if stream {
        event_stream(turn, Encoder::OpenAi(ChunkEncoder::new(id, created, model, include_usage)), first)
    } else {
        match turn.into_result().await {
            Ok(result) => json(200, &openai_response::completion(&result, &id, created, &model)),
            Err(err) => error(openai_response::error_reply(&turn_error(err))),
        }
    };
    turn_answer(response, &warnings)
}

/// `POST /v1/responses`: as [`chat`], in the Responses API's grammar.
async fn responses(gateway: &Gateway, request: hyper::Request<Incoming>, caller: &Caller) -> Response<Body> {
    let body = match read_body(gateway, request).await {
        Ok(body) => body,
        Err(unread) => return error(openai_response::refusal(unread.status, "invalid_request_error", None, None, &unread.message)),
    };
    let ResponsesRequest { request, stream, mut warnings, echo } = match responses::parse(&body) {
        Ok(parsed) => parsed,
        Err(bad) => return error(openai_response::refusal(400, "invalid_request_error", bad.param.as_deref(), None, &bad.message)),
    };
    let model = request.model.clone();
    let chain = match openai_chain(gateway, &request, &body, caller).await {
        Ok(chain) => chain,
        Err(refused) => return error(refused),
    };
    let id = format!("resp_{:016x}", rand_id());
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut turn = chain.stream(request);
    let first = match until_output(&mut turn, &mut warnings).await {
        Ok(first) => first,
        Err(failure) => return turn_answer(error(openai_response::error_reply(&failure)), &warnings),
    };
    let response = if stream {
        event_stream(turn, Encoder::Responses(ResponseEncoder::new(id, created, model, echo)), first)
    } else {
        match turn.into_result().await {
            Ok(result) => json(200, &responses::response(&result, &id, created, &model, &echo)),
            Err(err) => error(openai_response::error_reply(&turn_error(err))),
        }
    };
    turn_answer(response, &warnings)
}

/// The turn of `model` in an OpenAI API, or the answer refusing it (a 404
/// naming the models there are, or the turn's error, such as `busy`). A
/// model the key may not use is answered as OpenAI does: 404, as if absent.
async fn openai_chain(gateway: &Gateway, request: &Request, body: &Bytes, caller: &Caller) -> Result<ModelTurn, ErrorReply> {
    let model = request.model.as_str();
    if let Some(key) = caller.as_ref().filter(|key| !key.may_use(model)) {
        let message = format!("the model `{model}` does not exist or the key `{}` may not use it; GET /v1/models lists those it may", key.name);
        return Err(openai_response::refusal(404, "invalid_request_error", Some("model"), Some("model_not_found"), &message));
    }
    match gateway.chain(model, caller.as_deref(), request, body.len()).await {
        Some(Ok(chain)) => Ok(chain),
        Some(Err(err)) => Err(openai_response::error_reply(&turn_error(err))),
        None => {
            let known: Vec<&str> = gateway.model_names().collect();
            let message = format!("the model `{model}` does not exist here; GET /v1/models lists them: {}", known.join(", "));
            Err(openai_response::refusal(404, "invalid_request_error", Some("model"), Some("model_not_found"), &message))
        }
    }
}

/// Read `turn` to its first output, or its end: the provider's warnings join
/// `warnings`, and a failure before any output is returned, so that the
/// answer's status can still say how the turn went.
async fn until_output(turn: &mut TurnStream, warnings: &mut Vec<String>) -> Result<Option<Event>, TurnError> {
    loop {
        match turn.next().await {
            Some(Event::StreamStart { warnings: provider_warnings, .. }) => {
                warnings.extend(provider_warnings.into_iter().map(|w| format!("{}: {}", w.setting.unwrap_or_default(), w.message)));
            }
            Some(Event::Error(failure)) => return Err(failure),
            other => return Ok(other),
        }
    }
}

/// A streamed answer in `encoder`'s grammar: `first` (the turn's first
/// output, or `None` when it ended without any), then the rest of `turn`.
fn event_stream(turn: TurnStream, mut encoder: Encoder, first: Option<Event>) -> Response<Body> {
    let mut head = Vec::new();
    let finished = match &first {
        Some(event) => {
            encoder.event(event, &mut head);
            false
        }
        None => {
            encoder.end(&mut head);
            true
        }
    };
    let mut response = Response::new(Body::Right(ChatStream::new(turn, encoder, head, finished)));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}

/// A failed turn in the Anthropic shape, with the status and retry headers
/// the Anthropic clients read.
fn anthropic_turn_error(failure: &TurnError) -> Response<Body> {
    error(anthropic::error_reply(failure))
}

async fn messages(gateway: &Gateway, request: hyper::Request<Incoming>, caller: &Caller) -> Response<Body> {
    // The gateway's own refusals: a retry cannot help.
    let refuse = |status: u16, kind: &str, message: &str| {
        let body = serde_json::json!({"type": "error", "error": {"type": kind, "message": message}});
        error(ErrorReply { status, headers: vec![("x-should-retry", "false".to_owned())], body })
    };
    let body = match read_body(gateway, request).await {
        Ok(body) => body,
        Err(Unread { status: 413, message }) => return refuse(413, "request_too_large", &message),
        Err(unread) => return refuse(unread.status, "invalid_request_error", &unread.message),
    };
    let anthropic::MessagesRequest { request, stream } = match anthropic::parse(&body) {
        Ok(parsed) => parsed,
        Err(bad) => {
            let message = match bad.param {
                Some(param) => format!("{param}: {}", bad.message),
                None => bad.message,
            };
            return refuse(400, "invalid_request_error", &message);
        }
    };
    let model = request.model.clone();
    if let Some(key) = caller.as_ref().filter(|key| !key.may_use(&model)) {
        return refuse(403, "permission_error", &format!("model: the key `{}` may not use `{model}`; GET /v1/models lists those it may", key.name));
    }
    let chain = match gateway.chain(&model, caller.as_deref(), &request, body.len()).await {
        Some(Ok(chain)) => chain,
        Some(Err(err)) => return anthropic_turn_error(&turn_error(err)),
        None => return refuse(404, "not_found_error", &format!("model: the model `{model}` does not exist here; GET /v1/models lists them")),
    };
    let id = format!("msg_{:016x}", rand_id());
    let mut turn = chain.stream(request);
    let mut warnings = Vec::new();
    let first = match until_output(&mut turn, &mut warnings).await {
        Ok(first) => first,
        Err(failure) => return turn_answer(anthropic_turn_error(&failure), &warnings),
    };
    let response = if stream {
        event_stream(turn, Encoder::Anthropic(anthropic::MessageEncoder::new(id, model)), first)
    } else {
        match turn.into_result().await {
            Ok(result) => json(200, &anthropic::message(&result, &id, &model)),
            Err(err) => anthropic_turn_error(&turn_error(err)),
        }
    };
    turn_answer(response, &warnings)
}

/// Marks the answer of a request that ran a turn: the turn's end logs it.
#[derive(Clone, Copy)]
struct TurnLogged;

/// The answer of a request that ran a turn, with the turn's `warnings`; its
/// log line is the turn's end ([`crate::serve::metering`]).
fn turn_answer(response: Response<Body>, warnings: &[String]) -> Response<Body> {
    let mut response = with_warnings(response, warnings);
    response.extensions_mut().insert(TurnLogged);
    response
}

/// The warnings in `x-cordon-warnings`, as one header line of visible ASCII:
/// line breaks become spaces, other characters `\u{...}` escapes, so no
/// warning (a client's field name, a provider's message) can drop the header.
fn with_warnings(mut response: Response<Body>, warnings: &[String]) -> Response<Body> {
    if warnings.is_empty() {
        return response;
    }
    let mut line = String::new();
    for (index, warning) in warnings.iter().enumerate() {
        if index > 0 {
            line.push_str("; ");
        }
        for character in warning.chars() {
            match character {
                '\r' | '\n' | '\t' => line.push(' '),
                ' '..='~' => line.push(character),
                other => line.extend(other.escape_unicode()),
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(&line) {
        response.headers_mut().insert("x-cordon-warnings", value);
    }
    response
}

fn turn_error(err: Error) -> TurnError {
    match err {
        Error::Turn(error) => error,
        other => TurnError::new(crate::types::ErrorKind::Config, other.to_string()),
    }
}

/// A random-enough answer id (not a secret).
fn rand_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(SystemTime::now())
}

/// The grammar a stream is written in.
enum Encoder {
    OpenAi(ChunkEncoder),
    Anthropic(anthropic::MessageEncoder),
    Responses(ResponseEncoder),
}

impl Encoder {
    fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(encoder) => encoder.event(event, out),
            Encoder::Anthropic(encoder) => encoder.event(event, out),
            Encoder::Responses(encoder) => encoder.event(event, out),
        }
    }

    fn error(&mut self, error: &TurnError, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(encoder) => encoder.error(error, out),
            Encoder::Anthropic(encoder) => encoder.error(error, out),
            Encoder::Responses(encoder) => encoder.error(error, out),
        }
    }

    /// The end of a stream: OpenAI's usage chunk and `[DONE]`, or the
    /// Responses API's `response.completed`; the Messages grammar ended with
    /// `message_stop` already.
    fn end(&mut self, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(encoder) => encoder.end(out),
            Encoder::Responses(encoder) => encoder.end(out),
            Encoder::Anthropic(_) => {}
        }
    }
}

/// The body of a streamed answer: the turn, read as the client reads.
pub struct ChatStream {
    turn: TurnStream,
    encoder: Encoder,
    /// Bytes encoded before the body was first polled.
    pending: Option<Bytes>,
    /// Pause once before the next frame: hyper writes out what it holds only
    /// when the body pauses, so without this the first event, and each full
    /// frame, would wait while a turn whose events are all ready is encoded.
    flush: bool,
    finished: bool,
}

impl ChatStream {
    /// The body of a streamed answer: `head` (the first event, encoded), then
    /// the rest of `turn` in `encoder`'s grammar.
    fn new(turn: TurnStream, encoder: Encoder, head: Vec<u8>, finished: bool) -> ChatStream {
        ChatStream { turn, encoder, pending: Some(Bytes::from(head)), flush: false, finished }
    }
}

impl hyper::body::Body for ChatStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(head) = this.pending.take() {
            this.flush = !this.finished;
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.flush {
            this.flush = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut out = Vec::new();
        while !this.finished && out.len() < WRITE_BYTES {
            match Pin::new(&mut this.turn).poll_next(cx) {
                Poll::Ready(Some(Event::Error(failure))) => {
                    this.encoder.error(&failure, &mut out);
                    this.finished = true;
                }
                Poll::Ready(Some(event)) => this.encoder.event(&event, &mut out),
                Poll::Ready(None) => {
                    this.encoder.end(&mut out);
                    this.finished = true;
                }
                Poll::Pending => break,
            }
        }
        if !out.is_empty() {
            this.flush = out.len() >= WRITE_BYTES && !this.finished;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
        } else if this.finished {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_of_any_text_make_one_header_line() {
        let warnings = ["temperature: ignored — not supported".to_owned(), "naïve\r\nfield".to_owned()];
        let response = with_warnings(json(200, &serde_json::json!({})), &warnings);
        let header = response.headers().get("x-cordon-warnings").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(header, r"temperature: ignored \u{2014} not supported; na\u{ef}ve  field");
    }
}
