//! The per-turn stream: the Gemini provider's parser for Google's models, the
//! Anthropic provider's for Claude's (Vertex relays both streams as the
//! publishers' own APIs send them). HTTP errors go to [`crate::errors`].

use cordon_anthropic::stream::MessagesStream;
use cordon_gemini::stream::GeminiStream;
use cordon_sdk::{Emitter, Frame, Header, ProviderError, StreamHandler};

use crate::publisher::Publisher;

/// The stream of one turn, by publisher.
#[derive(Debug)]
pub enum VertexStream {
    /// `streamGenerateContent?alt=sse`: `GenerateContentResponse` chunks.
    Google(GeminiStream),
    /// `streamRawPredict`: Messages API events.
    Anthropic(MessagesStream),
}

impl VertexStream {
    /// A fresh stream for `publisher`.
    pub fn new(publisher: Publisher) -> VertexStream {
        match publisher {
            Publisher::Google => VertexStream::Google(GeminiStream::default()),
            Publisher::Anthropic => VertexStream::Anthropic(MessagesStream::default()),
        }
    }

    fn handler(&mut self) -> &mut dyn StreamHandler {
        match self {
            VertexStream::Google(stream) => stream,
            VertexStream::Anthropic(stream) => stream,
        }
    }
}

impl StreamHandler for VertexStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        self.handler().on_frame(frame, out)
    }

    fn on_end(&mut self, out: &mut Emitter) -> Result<(), ProviderError> {
        self.handler().on_end(out)
    }

    fn on_http_error(&mut self, status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
        crate::errors::classify_http_error(status, headers, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::Event;
    use cordon_sdk::sse::SseDecoder;

    /// The recorded Vertex stream (streamed function-call arguments), CRLF-framed
    /// as Vertex sends it and fed a byte at a time: one call, complete once, and
    /// one usage report (the chunks before the last hold only `trafficType`).
    #[test]
    fn recorded_vertex_stream_fed_byte_by_byte() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/wire/vertex/tool-call-nested-arguments.chunks.txt");
        let Ok(recording) = std::fs::read_to_string(&path) else {
            eprintln!("SKIPPED: no recorded Vertex stream at {}", path.display());
            return;
        };
        let body: String = recording.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("data: {l}\r\n\r\n")).collect();
        let mut stream = VertexStream::new(Publisher::Google);
        let mut out = Emitter::default();
        let mut decoder = SseDecoder::new();
        for byte in body.as_bytes().chunks(1) {
            decoder.feed(byte, |event| stream.on_frame(Frame::Sse(event), &mut out)).expect("frame");
        }
        decoder.finish(|event| stream.on_frame(Frame::Sse(event), &mut out)).expect("last frame");
        stream.on_end(&mut out).expect("complete");
        let events = out.take_batch();
        let count = |wanted: fn(&Event) -> bool| events.iter().filter(|e| wanted(e)).count();
        assert_eq!(count(|e| matches!(e, Event::ToolCallStart(_))), 1);
        assert_eq!(count(|e| matches!(e, Event::ToolCall(_))), 1);
        assert_eq!(count(|e| matches!(e, Event::Usage(_))), 1, "only the last chunk counts tokens");
        assert!(out.has_finish());
    }
}
