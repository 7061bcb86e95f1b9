//! The text line logged into a file or a pipe, written straight:
//!
//! ```text
//! 2026-12-05T03:54:05.081323Z  INFO request{id=req_… key=team}: cordon::serve::metering: turn ended model=short input_tokens=140 …
//! ```
//!
//! It is the line tracing-subscriber's default format writes without
//! colours, at a fraction of the cost: no styling calls; the timestamp's
//! date and time re-formatted once a second, not per line; whole numbers and
//! booleans written without `core::fmt`. A gateway at `info` writes one per
//! request, so this is on every request's path.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// `TIME LEVEL span{fields}:…: target: fields`, one line per event.
pub struct PlainLine;

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    N: for<'writer> FormatFields<'writer> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        write_timestamp(&mut writer, SystemTime::now())?;
        let metadata = event.metadata();
        writer.write_str(level_column(*metadata.level()))?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>().filter(|fields| !fields.is_empty()) {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            writer.write_char(' ')?;
        }
        writer.write_str(metadata.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// The level as the default format shows it: right-aligned in five columns,
/// between spaces.
fn level_column(level: Level) -> &'static str {
    match level {
        Level::ERROR => " ERROR ",
        Level::WARN => "  WARN ",
        Level::INFO => "  INFO ",
        Level::DEBUG => " DEBUG ",
        Level::TRACE => " TRACE ",
    }
}

/// The seconds last formatted on this thread, and their text
/// (`2026-12-05T03:54:05`).
struct SecondShown {
    unix_seconds: u64,
    text: String,
}

thread_local! {
    static SECOND_SHOWN: RefCell<SecondShown> = const { RefCell::new(SecondShown { unix_seconds: u64::MAX, text: String::new() }) };
}

/// `now` in RFC 3339, UTC, to the microsecond (`2026-12-05T03:54:05.081323Z`).
fn write_timestamp(writer: &mut Writer<'_>, now: SystemTime) -> fmt::Result {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let unix_seconds = since_epoch.as_secs();
    SECOND_SHOWN.with_borrow_mut(|shown| {
        if shown.unix_seconds != unix_seconds {
            shown.text.clear();
            let at = i64::try_from(unix_seconds).ok().and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok());
            let at = at.unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let (date, clock) = (at.date(), at.time());
            write!(
                shown.text,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                date.year(),
                u8::from(date.month()),
                date.day(),
                clock.hour(),
                clock.minute(),
                clock.second()
            )?;
            shown.unix_seconds = unix_seconds;
        }
        writer.write_str(&shown.text)
    })?;
    let mut micros = itoa::Buffer::new();
    let micros = micros.format(since_epoch.subsec_micros());
    writer.write_char('.')?;
    writer.write_str(&"000000"[micros.len().min(6)..])?;
    writer.write_str(micros)?;
    writer.write_char('Z')
}

/// Fields as `name=value`, space-separated, the message as itself; values as
/// their `Debug` form (strings quoted), numbers and booleans written directly.
pub struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor { writer, first: true, result: Ok(()) };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each field it visits; the first error stops the writing.
struct PlainVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    /// The separator and `name=` before a value (nothing for the message).
    fn start(&mut self, field: &Field) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        if field.name() != "message" {
            self.writer.write_str(field.name())?;
            self.writer.write_char('=')?;
        }
        Ok(())
    }

    fn write_field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.start(field).and_then(|()| value(&mut self.writer));
        }
    }
}

impl Visit for PlainVisitor<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.write_field(field, |writer| writer.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.write_field(field, |writer| writer.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.write_field(field, |writer| writer.write_str(if value { "true" } else { "false" }));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write_field(field, |writer| write!(writer, "{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timestamp(at: SystemTime) -> String {
        let mut text = String::new();
        write_timestamp(&mut Writer::new(&mut text), at).expect("writes");
        text
    }

    #[test]
    fn timestamps_are_rfc_3339_to_the_microsecond() {
        let at = UNIX_EPOCH + std::time::Duration::from_micros(1_764_906_845_000_042);
        assert_eq!(timestamp(at), "2025-12-05T03:54:05.000042Z");
        // The same second again, from the cached text.
        assert_eq!(timestamp(at + std::time::Duration::from_micros(999_000)), "2025-12-05T03:54:05.999042Z");
        assert_eq!(timestamp(at + std::time::Duration::from_secs(1)), "2025-12-05T03:54:06.000042Z");
    }

    #[test]
    fn fields_are_written_as_the_default_format_writes_them() {
        let make = MakeString(std::sync::Arc::default());
        let subscriber = tracing_subscriber::fmt().event_format(PlainLine).fmt_fields(PlainFields).with_writer(make.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", id = %"req_1", key = tracing::field::Empty);
            span.record("key", tracing::field::display("team"));
            span.in_scope(|| tracing::info!(model = "short", tokens = 140u64, delta = -3i64, estimated = true, cost = 0.5f64, "turn ended"));
        });
        let text = make.text();
        let (_, line) = text.split_once("  INFO ").expect("a level column");
        assert_eq!(line, "request{id=req_1 key=team}: cordon::cli::log_line::tests: turn ended model=\"short\" tokens=140 delta=-3 estimated=true cost=0.5\n");
    }

    /// A writer into a shared string.
    #[derive(Clone)]
    struct MakeString(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl MakeString {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8")
        }
    }

    impl std::io::Write for MakeString {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for MakeString {
        type Writer = MakeString;

        fn make_writer(&'writer self) -> MakeString {
            self.clone()
        }
    }
}
