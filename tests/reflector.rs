//! A hostile upstream for the trust-boundary tests: it answers every request
//! with the request's own headers (the secret the host added among them),
//! transformed the ways a reflection can hide a secret from a naive scrubber:
//! compressed, base64, percent-encoded, one byte per chunk, or quoted in a
//! redirect target.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How the request's headers come back.
#[derive(Debug, Clone)]
pub enum Reflection {
    /// Deflate-compressed, with `content-encoding: deflate` (whatever was asked).
    Deflate,
    /// Standard base64.
    Base64,
    /// URL-safe base64 without padding.
    Base64Url,
    /// Percent-encoded, as a query string would carry it.
    Percent,
    /// As they are, one byte per body chunk.
    ByteByByte,
    /// A redirect to this URL, `{secret}` replaced by the `authorization` header's token.
    RedirectTo(String),
}

/// The headers of each request received, in order.
type Received = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A running reflecting upstream.
pub struct Reflector {
    addr: SocketAddr,
    received: Received,
    task: tokio::task::JoinHandle<()>,
}

impl Reflector {
    /// Serve on 127.0.0.1.
    pub async fn start(reflection: Reflection) -> Reflector {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (reflection, log) = (reflection.clone(), Arc::clone(&log));
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(reflection.clone(), Arc::clone(&log), request));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Reflector { addr, received, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The headers of each request received.
    pub fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Reflector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    reflection: Reflection,
    log: Received,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    if let Ok(mut log) = log.lock() {
        log.push(headers.clone());
    }
    let json = serde_json::Value::Object(headers.iter().map(|(n, v)| (n.clone(), v.clone().into())).collect()).to_string();
    let mut response = hyper::Response::builder().status(200);
    let chunks: Vec<Bytes> = match &reflection {
        Reflection::Deflate => {
            let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(json.as_bytes()).expect("compress");
            response = response.header("content-encoding", "deflate");
            vec![Bytes::from(encoder.finish().expect("compress"))]
        }
        Reflection::Base64 => vec![Bytes::from(base64::engine::general_purpose::STANDARD.encode(&json))],
        Reflection::Base64Url => vec![Bytes::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&json))],
        Reflection::Percent => {
            let encoded = percent_encoding::utf8_percent_encode(&json, percent_encoding::NON_ALPHANUMERIC).to_string();
            vec![Bytes::from(format!("q={encoded}"))]
        }
        Reflection::ByteByByte => json.into_bytes().into_iter().map(|b| Bytes::from(vec![b])).collect(),
        Reflection::RedirectTo(target) => {
            let token = headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .map(|(_, v)| v.trim_start_matches("Bearer ").to_owned())
                .unwrap_or_default();
            response = response.status(302).header("location", target.replace("{secret}", &token));
            Vec::new()
        }
    };
    let frames = futures_util::stream::iter(chunks.into_iter().map(|c| Ok::<_, Infallible>(Frame::data(c))));
    let response = response.body(StreamBody::new(frames).boxed()).expect("a response");
    Ok(response)
}
