//! A local upstream that serves recorded provider streams over real HTTP on
//! 127.0.0.1, in each provider's own framing. `cordon replay`, `cordon demo`
//! and the tests use it; it records what it receives so tests can check it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How a fixture file is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One `chat.completion.chunk` JSON a line → `data: <line>`, then `data: [DONE]`.
    OpenAiSse,
    /// One event JSON a line → `event: <its "type">` + `data: <line>`.
    AnthropicSse,
    /// One `GenerateContentResponse` a line → `data: <line>`, no terminator.
    GeminiSse,
    /// One JSON object a line, as is.
    Ndjson,
    /// The file exactly as it is.
    Raw,
}

impl FromStr for Framing {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "openai-sse" => Framing::OpenAiSse,
            "anthropic-sse" => Framing::AnthropicSse,
            "gemini-sse" => Framing::GeminiSse,
            "ndjson" => Framing::Ndjson,
            "raw" => Framing::Raw,
            other => {
                return Err(format!(
                    "unknown framing `{other}`; use openai-sse, anthropic-sse, gemini-sse, ndjson or raw"
                ));
            }
        })
    }
}

/// Put `fixture` on the wire in `framing`: one chunk per event (or per line for `raw`).
pub fn frame(fixture: &str, framing: Framing) -> Result<Vec<Bytes>, String> {
    if framing == Framing::Raw {
        return Ok(fixture.split_inclusive('\n').map(|l| Bytes::copy_from_slice(l.as_bytes())).collect());
    }
    let mut chunks = Vec::new();
    for (number, line) in fixture.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let chunk = match framing {
            Framing::OpenAiSse | Framing::GeminiSse => format!("data: {line}\n\n"),
            Framing::Ndjson => format!("{line}\n"),
            Framing::AnthropicSse => {
                let value: serde_json::Value = serde_json::from_str(line)
                    .map_err(|err| format!("line {} is not JSON ({err}); anthropic-sse needs one event a line", number + 1))?;
                let kind = value.get("type").and_then(|t| t.as_str()).ok_or_else(|| {
                    format!("line {} has no \"type\"; anthropic-sse needs it for the `event:` line", number + 1)
                })?;
                format!("event: {kind}\ndata: {line}\n\n")
            }
            Framing::Raw => unreachable!("handled above"),
        };
        chunks.push(Bytes::from(chunk));
    }
    if framing == Framing::OpenAiSse {
        chunks.push(Bytes::from_static(b"data: [DONE]\n\n"));
    }
    Ok(chunks)
}

/// What the server answers one request with.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: ReplyBody,
    /// Pause before each chunk (0 sends them as fast as the socket takes them).
    pub chunk_delay: Duration,
}

/// A reply's body.
#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// These chunks, in order.
    Chunks(Vec<Bytes>),
    /// The request's headers, as JSON text: an upstream that reflects requests.
    EchoHeaders,
    /// This chunk, again and again, until the client goes away: an upstream
    /// that never ends its body.
    Endless(Bytes),
}

impl Reply {
    /// A 200 streaming `chunks` as server-sent events.
    pub fn stream(chunks: Vec<Bytes>) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: ReplyBody::Chunks(chunks),
            chunk_delay: Duration::ZERO,
        }
    }

    /// An error answer with a JSON body.
    pub fn error(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: ReplyBody::Chunks(vec![Bytes::copy_from_slice(body.as_bytes())]),
            chunk_delay: Duration::ZERO,
        }
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

struct Shared {
    replies: Vec<Reply>,
    received: Mutex<Vec<RecordedRequest>>,
    /// Replies whose client went away before the last chunk.
    abandoned: std::sync::atomic::AtomicUsize,
    /// Body bytes handed to the connections so far (they wait when a client reads slowly).
    sent: std::sync::atomic::AtomicU64,
}

/// A running replay upstream; stops when dropped.
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl ReplayServer {
    /// Serve `replies` on 127.0.0.1: the first request gets the first reply and so
    /// on; the last reply answers every later request.
    pub async fn start(replies: Vec<Reply>) -> std::io::Result<ReplayServer> {
        if replies.is_empty() {
            return Err(std::io::Error::other("a replay server needs at least one reply"));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { replies, received: Mutex::new(Vec::new()), abandoned: std::sync::atomic::AtomicUsize::new(0), sent: std::sync::atomic::AtomicU64::new(0) });
        let accept_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Each event goes out as it is written, as a streaming server's
                // should: with Nagle's algorithm a small write waits for the
                // client's delayed ACK (~40 ms) behind the one before it.
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&accept_shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&shared), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(ReplayServer { addr, shared, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many replies were cut short because the client closed the
    /// connection (an endless reply ends only so).
    pub fn abandoned(&self) -> usize {
        self.shared.abandoned.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Body bytes sent so far, over all replies: a client that stops reading
    /// stops this from growing once the buffers between are full.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let index = {
        let mut received = shared.received.lock().unwrap_or_else(|p| p.into_inner());
        received.push(RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
            headers: headers.clone(),
            body,
        });
        (received.len() - 1).min(shared.replies.len() - 1)
    };
    let reply = shared.replies[index].clone();
    let (chunks, endless): (Vec<Bytes>, Option<Bytes>) = match reply.body {
        ReplyBody::Chunks(chunks) => (chunks, None),
        ReplyBody::EchoHeaders => {
            let map: serde_json::Map<String, serde_json::Value> =
                headers.into_iter().map(|(n, v)| (n, v.into())).collect();
            (vec![Bytes::from(serde_json::Value::Object(map).to_string())], None)
        }
        ReplyBody::Endless(chunk) => (Vec::new(), Some(chunk)),
    };
    let (sender, receiver) = mpsc::channel::<Bytes>(16);
    let delay = reply.chunk_delay;
    let counter = Arc::clone(&shared);
    tokio::spawn(async move {
        let repeated = endless.into_iter().flat_map(std::iter::repeat);
        for chunk in chunks.into_iter().chain(repeated) {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let size = chunk.len() as u64;
            if sender.send(chunk).await.is_err() {
                counter.abandoned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            counter.sent.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), receiver))
    });
    let mut response = hyper::Response::new(StreamBody::new(frames).boxed());
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &reply.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framings() {
        let openai = frame("{\"a\":1}\n\n{\"b\":2}\n", Framing::OpenAiSse).expect("frames");
        assert_eq!(openai, ["data: {\"a\":1}\n\n", "data: {\"b\":2}\n\n", "data: [DONE]\n\n"]);
        let anthropic = frame("{\"type\":\"ping\"}", Framing::AnthropicSse).expect("frames");
        assert_eq!(anthropic, ["event: ping\ndata: {\"type\":\"ping\"}\n\n"]);
        let raw = frame("data: x\r\n\r\n", Framing::Raw).expect("frames");
        assert_eq!(raw.concat(), b"data: x\r\n\r\n");
        assert!(frame("not json", Framing::AnthropicSse).expect_err("an error").contains("line 1"));
    }
}
