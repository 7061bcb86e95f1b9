//! A guest's stdout and stderr: every line goes to the host's log (target
//! `cordon::guest`, with the component's name and the stream), the first bytes
//! are also kept so a trap can say what the guest printed (a Rust panic message,
//! a Python traceback), and past a cap the rest is dropped. Writing never fails
//! and never blocks: a guest that prints without end loses its output, not its
//! turn.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line logged; a longer one is cut.
const LINE_BYTES: usize = 4 * 1024;

/// What a guest may write at once: it is always taken at once.
const WRITE_PERMIT: usize = 1024 * 1024;

/// What one instance's stdout and stderr share: the bytes kept, the budget left.
struct Shared {
    component: Arc<str>,
    kept: Vec<u8>,
    budget: usize,
    cut_noted: bool,
}

/// The guest's output, shared by its stdout and stderr.
#[derive(Clone)]
pub struct GuestOutput {
    shared: Arc<Mutex<Shared>>,
}

/// One of the two streams, as WASI hands it to the guest.
#[derive(Clone)]
pub struct GuestStream {
    shared: Arc<Mutex<Shared>>,
    name: &'static str,
    /// The current line, until its newline comes.
    line: Arc<Mutex<Vec<u8>>>,
}

impl GuestOutput {
    /// Output of `component`, at most `budget` bytes of it kept and logged.
    pub fn new(component: Arc<str>, budget: usize) -> GuestOutput {
        let shared = Shared { component, kept: Vec::new(), budget, cut_noted: false };
        GuestOutput { shared: Arc::new(Mutex::new(shared)) }
    }

    /// The guest's stdout.
    pub fn stdout(&self) -> GuestStream {
        self.stream("stdout")
    }

    /// The guest's stderr.
    pub fn stderr(&self) -> GuestStream {
        self.stream("stderr")
    }

    fn stream(&self, name: &'static str) -> GuestStream {
        GuestStream { shared: Arc::clone(&self.shared), name, line: Arc::new(Mutex::new(Vec::new())) }
    }

    /// What the guest printed so far (both streams), trimmed.
    pub fn printed(&self) -> String {
        let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&shared.kept).trim().to_owned()
    }
}

impl GuestStream {
    /// Take `bytes`: keep and log what the budget allows, drop the rest.
    fn take(&self, bytes: &[u8]) {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let allowed = bytes.len().min(shared.budget);
        if allowed < bytes.len() && !shared.cut_noted {
            shared.cut_noted = true;
            tracing::warn!(target: "cordon::guest", component = &*shared.component, "the guest's output passed its cap; the rest is dropped");
        }
        shared.budget -= allowed;
        let bytes = &bytes[..allowed];
        shared.kept.extend_from_slice(bytes);
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            if line.len() < LINE_BYTES {
                let room = LINE_BYTES - line.len();
                line.extend_from_slice(&piece[..piece.len().min(room)]);
            }
            if piece.ends_with(b"\n") {
                log_line(&shared.component, self.name, &line);
                line.clear();
            }
        }
    }
}

fn log_line(component: &str, stream: &str, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    if !text.is_empty() {
        tracing::info!(target: "cordon::guest", component, stream, "{text}");
    }
}

impl Drop for GuestStream {
    fn drop(&mut self) {
        // The last line of the last handle, if it had no newline.
        if Arc::strong_count(&self.line) == 1 {
            let line = self.line.lock().unwrap_or_else(|p| p.into_inner());
            let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            log_line(&shared.component, self.name, &line);
        }
    }
}

impl AsyncWrite for GuestStream {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    /// Written synchronously in the guest's call: no background task per write.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestStream {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_past_the_cap_is_dropped_not_fatal() {
        let output = GuestOutput::new("guest".into(), 10);
        let stdout = output.stdout();
        stdout.take(b"hello\n");
        output.stderr().take(b"world, and a great deal more\n");
        assert_eq!(output.printed(), "hello\nworl");
        stdout.take(b"more");
        assert_eq!(output.printed(), "hello\nworl", "nothing is kept past the cap");
    }
}
