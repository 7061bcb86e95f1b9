//! The admin endpoint of a long-running host: a small HTTP API on a listener
//! of its own over a [`Registry`], used by `cordon status`, `cordon reload`
//! and `cordon rollback`.
//!
//! - `GET /status`: every provider's versions, as JSON.
//! - `GET /keys`: each client key's models, limits, budget and spend (a gateway's).
//! - `POST /reload/<name>`: swap to the file named in the body (or the current file, re-read).
//! - `POST /rollback/<name>`: return to the previous version.
//!
//! Every request must carry the operator's token (`Authorization: Bearer
//! TOKEN`), compared in constant time; without it the answer is `401`, and
//! nothing else is said. Answers are JSON; failures are `409` with
//! `{"error": "..."}`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use subtle::ConstantTimeEq;

use crate::registry::Registry;
use crate::trust::{SecretSource, SecretValue};

/// What `GET /keys` answers: a gateway's client keys, as JSON.
pub type KeysReport = Arc<dyn Fn() -> BoxFuture<'static, serde_json::Value> + Send + Sync>;

/// A running admin endpoint; stops when dropped.
pub struct Admin {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Admin {
    /// Serve `registry`'s admin API on `addr` (use port 0 for any free port)
    /// to requests carrying the token `token` holds (read now; an empty one is refused).
    pub async fn start(registry: Arc<Registry>, addr: SocketAddr, token: &SecretSource, keys: Option<KeysReport>) -> std::io::Result<Admin> {
        let token = match token.read() {
            Ok(Some(token)) => Arc::new(token),
            Ok(None) => return Err(std::io::Error::other(format!("the admin token ({}) is not set", token.describe()))),
            Err(why) => return Err(std::io::Error::other(format!("the admin token {why}"))),
        };
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let registry = Arc::clone(&registry);
                let token = Arc::clone(&token);
                let keys = keys.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&registry), Arc::clone(&token), keys.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Admin { addr, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response
}

/// Whether `request` carries the token, compared in constant time.
fn authorized(request: &hyper::Request<Incoming>, token: &SecretValue) -> bool {
    let presented = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(presented.as_bytes().ct_eq(token.expose().as_bytes()))
}

async fn answer(
    registry: Arc<Registry>,
    token: Arc<SecretValue>,
    keys: Option<KeysReport>,
    request: hyper::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !authorized(&request, &token) {
        let mut refused = json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "error": "the admin endpoint needs its token: send `Authorization: Bearer TOKEN` (cordon status|reload|rollback read CORDON_ADMIN_TOKEN)" }),
        );
        refused.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, hyper::header::HeaderValue::from_static("Bearer"));
        return Ok(refused);
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let failed = |err: crate::Error| json(StatusCode::CONFLICT, serde_json::json!({ "error": err.to_string() }));
    let reply = match (method, path.split('/').collect::<Vec<_>>().as_slice()) {
        (Method::GET, ["", "status"]) => json(StatusCode::OK, serde_json::json!(registry.status())),
        (Method::GET, ["", "keys"]) => match &keys {
            Some(report) => json(StatusCode::OK, report().await),
            None => json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "this host has no client keys (it is not a gateway)" })),
        },
        (Method::POST, ["", "reload", name]) => {
            let file = String::from_utf8_lossy(&body).trim().to_owned();
            let file = (!file.is_empty()).then(|| PathBuf::from(file));
            match registry.reload(name, file.as_deref()).await {
                Ok(status) => json(StatusCode::OK, serde_json::json!(status)),
                Err(err) => failed(err),
            }
        }
        (Method::POST, ["", "rollback", name]) => match registry.rollback(name) {
            Ok(status) => json(StatusCode::OK, serde_json::json!(status)),
            Err(err) => failed(err),
        },
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": "use GET /status, GET /keys, POST /reload/<name> or POST /rollback/<name>" }),
        ),
    };
    Ok(reply)
}
