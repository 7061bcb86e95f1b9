//! Where log lines go: stderr, as text or JSON lines, filtered by
//! `CORDON_LOG`; and, for `cordon serve` with an OTLP endpoint, spans to it.
//!
//! On a terminal each line is written as it is made. Into a file or a pipe
//! (a gateway logging every request), lines gather in memory and a thread of
//! their own writes them every [`WRITE_EVERY`], or as soon as [`WRITE_BYTES`]
//! have gathered, in one `write`: a line costs a copy, not a system call.
//! What has gathered is written when the process exits and before a panic's
//! message.
//!
//! The subscriber is installed once it is known whether spans are exported
//! (`cordon serve` reads its config first): without an exporter, `CORDON_LOG`
//! filters every span and line once, for the whole subscriber, which costs
//! far less per span entered than a filter per layer.

use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cordon::serve::traces::OtlpLayer;

use super::log_line::{PlainFields, PlainLine};
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How long a line may wait in memory.
const WRITE_EVERY: Duration = Duration::from_millis(100);
/// How much may gather before it is written at once.
const WRITE_BYTES: usize = 64 << 10;

/// The format of log lines.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logging, ready to be installed.
pub struct Logging {
    format: LogFormat,
    stderr: Stderr,
}

/// Writes the lines still gathered when dropped (at the end of `main`).
pub struct Flush(Option<Gathered>);

impl Drop for Flush {
    fn drop(&mut self) {
        if let Some(gathered) = &self.0 {
            gathered.write_out();
        }
    }
}

/// Logging in `format` to stderr, and what writes out its last lines.
pub fn prepare(format: LogFormat) -> (Logging, Flush) {
    if std::io::stderr().is_terminal() {
        return (Logging { format, stderr: Stderr::Terminal }, Flush(None));
    }
    let gathered = Gathered::default();
    match start_writing(&gathered) {
        Ok(()) => (Logging { format, stderr: Stderr::Gathered(gathered.clone()) }, Flush(Some(gathered))),
        // No thread to write them: each line is written as it is made.
        Err(_) => (Logging { format, stderr: Stderr::Direct }, Flush(None)),
    }
}

impl Logging {
    /// Log lines from now on; spans also go to `exporter`, if there is one.
    pub fn install(&self, exporter: Option<OtlpLayer>) {
        let lines_filter = tracing_subscriber::EnvFilter::try_from_env("CORDON_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let registry = tracing_subscriber::registry();
        let installed = match exporter {
            None => registry.with(lines_filter).with(self.lines()).try_init(),
            Some(exporter) => registry
                .with(exporter.with_filter(tracing_subscriber::filter::filter_fn(cordon::serve::traces::exported)))
                .with(self.lines().with_filter(lines_filter))
                .try_init(),
        };
        if let Err(err) = installed {
            eprintln!("warning: no log: {err}");
        }
    }

    /// The layer writing lines, in the format asked for.
    fn lines<S>(&self) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        let ansi = matches!(self.stderr, Stderr::Terminal);
        let lines = tracing_subscriber::fmt::layer().with_writer(self.stderr.clone());
        match self.format {
            // Colours for a terminal.
            LogFormat::Text if ansi => lines.boxed(),
            // Plain `name=value` fields for a file or a collector, written
            // straight (the default's styling costs even when it is off).
            LogFormat::Text => lines.with_ansi(false).event_format(PlainLine).fmt_fields(PlainFields).boxed(),
            LogFormat::Json => lines.json().with_current_span(true).with_span_list(true).boxed(),
        }
    }
}

/// Where lines are written.
#[derive(Clone)]
enum Stderr {
    /// To a terminal, as they are made.
    Terminal,
    /// As they are made, for want of a thread to gather them.
    Direct,
    /// Gathered, and written out by a thread.
    Gathered(Gathered),
}

impl<'stderr> MakeWriter<'stderr> for Stderr {
    type Writer = Line<'stderr>;

    fn make_writer(&'stderr self) -> Line<'stderr> {
        match self {
            Stderr::Terminal | Stderr::Direct => Line::Direct(std::io::stderr()),
            Stderr::Gathered(gathered) => Line::Gathered(gathered),
        }
    }
}

/// One line's writer.
pub enum Line<'stderr> {
    /// Written to stderr at once.
    Direct(std::io::Stderr),
    /// Appends to the gathered lines.
    Gathered(&'stderr Gathered),
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Line::Direct(stderr) => stderr.write(bytes),
            Line::Gathered(gathered) => {
                let full = {
                    let mut lines = gathered.0.lock().unwrap_or_else(PoisonError::into_inner);
                    lines.extend_from_slice(bytes);
                    lines.len() >= WRITE_BYTES
                };
                if full {
                    gathered.write_out();
                }
                Ok(bytes.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Line::Direct(stderr) => stderr.flush(),
            Line::Gathered(_) => Ok(()),
        }
    }
}

/// Lines waiting for stderr.
#[derive(Clone, Default)]
pub struct Gathered(Arc<Mutex<Vec<u8>>>);

impl Gathered {
    /// Write what has gathered to stderr.
    fn write_out(&self) {
        // Taken first, so that lines written out by two threads keep their order.
        let mut stderr = std::io::stderr().lock();
        let lines = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        let _ = stderr.write_all(&lines);
    }
}

/// Write out what has gathered every [`WRITE_EVERY`], and before a panic's message.
fn start_writing(gathered: &Gathered) -> std::io::Result<()> {
    let writer = gathered.clone();
    std::thread::Builder::new().name("log-writer".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(WRITE_EVERY);
            writer.write_out();
        }
    })?;
    let before_panic = gathered.clone();
    let panic_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        before_panic.write_out();
        panic_hook(info);
    }));
    Ok(())
}
