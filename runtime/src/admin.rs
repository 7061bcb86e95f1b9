//! The admin endpoint of a long-running host: a small HTTP API on loopback
//! over a [`Registry`], used by `cordon status`, `cordon reload` and `cordon rollback`.
//!
//! - `GET /status`: every provider's versions, as JSON.
//! - `POST /reload/<name>`: swap to the file named in the body (or the current file, re-read).
//! - `POST /rollback/<name>`: return to the previous version.
//!
//! Answers are JSON; failures are `409` with `{"error": "..."}`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::registry::Registry;

/// A running admin endpoint; stops when dropped.
pub struct Admin {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Admin {
    /// Serve `registry`'s admin API on `addr` (use port 0 for any free port).
    pub async fn start(registry: Arc<Registry>, addr: SocketAddr) -> std::io::Result<Admin> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other(format!(
                "the admin endpoint only listens on loopback, not {addr}: it can swap components"
            )));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let registry = Arc::clone(&registry);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&registry), request));
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

async fn answer(registry: Arc<Registry>, request: hyper::Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let failed = |err: crate::Error| json(StatusCode::CONFLICT, serde_json::json!({ "error": err.to_string() }));
    let reply = match (method, path.split('/').collect::<Vec<_>>().as_slice()) {
        (Method::GET, ["", "status"]) => json(StatusCode::OK, serde_json::json!(registry.status())),
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
            serde_json::json!({ "error": "use GET /status, POST /reload/<name> or POST /rollback/<name>" }),
        ),
    };
    Ok(reply)
}
