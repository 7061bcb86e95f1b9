//! The turn plumbing: the [`Provider`] and [`StreamHandler`] traits a provider
//! implements, and [`TurnRunner`], the `turn` resource that sends the request,
//! reads the body through the host, decodes frames and hands out event batches.
//!
//! The body is decoded as the native request's `framing` says, or as AWS's
//! binary event stream when the handler asks for it ([`StreamHandler::body_framing`]):
//! the contract's `framing` has no name for that one.

use std::cell::RefCell;

use crate::bindings::exports::cordon::provider::provider::GuestTurn;
use crate::emit::Emitter;
use crate::errors::{self, from_http_error};
use crate::eventstream::{self, EventStreamDecoder};
use crate::http::{self, Body};
use crate::ndjson::NdjsonDecoder;
use crate::sse::{SseDecoder, SseEvent};
use crate::{
    Event, Finalized, Framing, Header, NativeRequest, ProviderConfig, ProviderError,
    ProviderInfo, Request, State,
};

/// The most body the guest asks the host for at a time: large enough that a
/// fast stream crosses the boundary a handful of times. The host returns what
/// has arrived, up to this.
pub const READ_CHUNK_BYTES: u32 = 64 * 1024;

/// The first read is small, about one event of a chat stream, so the first
/// event is decoded and handed over without waiting for more to be parsed
/// (in wasm a 300-byte OpenAI chunk takes ~5 µs); each read then doubles.
/// Against 2 KiB, the first event comes ~10 µs sooner, for two more reads a turn.
pub const FIRST_READ_BYTES: u32 = 512;

/// The most of an error body the guest reads to classify it.
pub const ERROR_BODY_BYTES: usize = 64 * 1024;

/// A provider: describes itself, checks its configuration, translates requests,
/// and makes a [`StreamHandler`] for each turn.
pub trait Provider: 'static {
    /// The per-turn stream handler.
    type Stream: StreamHandler + 'static;

    /// Name, version, models, capabilities.
    fn info() -> ProviderInfo;

    /// Validate `config`; return the initial state.
    fn init(config: ProviderConfig) -> Result<State, ProviderError>;

    /// Translate a normalized request into the provider's HTTP request.
    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError>;

    /// A handler for the answer to `request`.
    fn stream(state: &State, request: &NativeRequest) -> Self::Stream;

    /// The state after a finished turn. By default, unchanged.
    fn next_state(state: State) -> State {
        state
    }

    /// The request that lists the upstream's models (contract 0.2.0, see
    /// [`crate::models`]), framed `json`; `None` (the default) when the
    /// upstream has none, which `list-models` reports as unsupported.
    #[cfg(not(feature = "contract-0-1"))]
    fn models_request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
        let _ = state;
        Ok(None)
    }

    /// Parse one page of a 2xx models answer (called only when
    /// [`models_request`](Self::models_request) gives a request).
    #[cfg(not(feature = "contract-0-1"))]
    fn parse_models(state: &State, body: &[u8]) -> Result<crate::models::ModelPage, ProviderError> {
        let _ = (state, body);
        Ok(crate::models::ModelPage::default())
    }

    /// The cheap request `health` sends: by default the models request. A 2xx
    /// answer is `ok`; an error answer is classified by the provider's
    /// [`StreamHandler::on_http_error`] and mapped by [`crate::models::status_of`].
    #[cfg(not(feature = "contract-0-1"))]
    fn health_request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
        Self::models_request(state)
    }
}

/// One decoded unit of the response body.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A server-sent event.
    Sse(SseEvent<'a>),
    /// One NDJSON line.
    Line(&'a str),
    /// The whole body of a `json`-framed answer.
    Json(&'a str),
}

/// How the SDK cuts an answer's body into units for the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// Server-sent events, each a [`Frame::Sse`].
    Sse,
    /// Newline-delimited JSON, each line a [`Frame::Line`].
    Ndjson,
    /// One JSON document, the whole body a [`Frame::Json`].
    Json,
    /// AWS's binary event stream (`application/vnd.amazon.eventstream`), each
    /// message handed to [`StreamHandler::on_event_message`].
    EventStream,
}

impl From<Framing> for BodyFraming {
    fn from(framing: Framing) -> Self {
        match framing {
            Framing::Sse => BodyFraming::Sse,
            Framing::Ndjson => BodyFraming::Ndjson,
            Framing::Json => BodyFraming::Json,
        }
    }
}

/// Turns frames into events for one turn.
pub trait StreamHandler {
    /// Handle one frame, pushing events into `out`.
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError>;

    /// How the answer's body is framed. By default as the native request's
    /// `framing` (`declared`) says; a handler that reads AWS's binary event
    /// stream, which the contract's `framing` cannot name, returns
    /// [`BodyFraming::EventStream`].
    fn body_framing(&self, declared: Framing) -> BodyFraming {
        declared.into()
    }

    /// Handle one message of an AWS event stream (only called when
    /// [`body_framing`](Self::body_framing) asks for one; by default a protocol error).
    fn on_event_message(&mut self, message: eventstream::Message<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let _ = (message, out);
        Err(ProviderError::protocol("this provider does not read AWS event streams"))
    }

    /// The body ended. Complete what is pending; fail if the stream was cut short.
    fn on_end(&mut self, out: &mut Emitter) -> Result<(), ProviderError>;

    /// Classify an HTTP error answer (status >= 400). `body` is at most
    /// [`ERROR_BODY_BYTES`] long. The default reads the status and `retry-after`.
    fn on_http_error(&mut self, status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
        errors::status_error(status, headers, body)
    }
}

enum Decoder {
    Sse(SseDecoder),
    Ndjson(NdjsonDecoder),
    Json(Vec<u8>),
    EventStream(EventStreamDecoder),
}

enum Phase {
    NotSent(NativeRequest),
    Reading { body: Body, decoder: Decoder, read_size: u32 },
    Done,
}

struct Inner<H> {
    phase: Phase,
    handler: H,
    out: Emitter,
}

/// The exported `turn` resource, generic over the provider.
pub struct TurnRunner<P: Provider> {
    inner: RefCell<Inner<P::Stream>>,
}

impl<P: Provider> GuestTurn for TurnRunner<P> {
    fn new(state: State, request: NativeRequest) -> Self {
        let handler = P::stream(&state, &request);
        TurnRunner {
            inner: RefCell::new(Inner {
                phase: Phase::NotSent(request),
                handler,
                out: Emitter::default(),
            }),
        }
    }

    fn next(&self) -> Option<Vec<Event>> {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        loop {
            match std::mem::replace(&mut inner.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::NotSent(request) => match send(request, &mut inner.handler) {
                    Ok((body, decoder)) => {
                        inner.phase = Phase::Reading { body, decoder, read_size: FIRST_READ_BYTES }
                    }
                    Err(error) => inner.out.fail(error),
                },
                Phase::Reading { body, mut decoder, read_size } => match body.read(read_size) {
                    Ok(Some(chunk)) => {
                        match decode(&mut decoder, &chunk, &mut inner.handler, &mut inner.out) {
                            Ok(()) => {
                                let read_size = (read_size * 2).min(READ_CHUNK_BYTES);
                                inner.phase = Phase::Reading { body, decoder, read_size }
                            }
                            Err(error) => inner.out.fail(error),
                        }
                    }
                    Ok(None) => match end(decoder, &mut inner.handler, &mut inner.out) {
                        Ok(()) => inner.out.emit_finish(),
                        Err(error) => inner.out.fail(error),
                    },
                    Err(error) => inner.out.fail(from_http_error(error)),
                },
            }
            if inner.out.has_events() {
                return Some(inner.out.take_batch());
            }
        }
    }
}

impl<P: Provider> TurnRunner<P> {
    /// The assembled result and the next state (used by `finalize`).
    pub fn finalize(self, state: State) -> Result<Finalized, ProviderError> {
        let inner = self.inner.into_inner();
        if !matches!(inner.phase, Phase::Done) {
            return Err(ProviderError::protocol(
                "finalize was called before the turn's stream ended",
            ));
        }
        let result = inner.out.into_result()?;
        Ok(Finalized { result, state: P::next_state(state) })
    }
}

fn send<H: StreamHandler>(
    request: NativeRequest,
    handler: &mut H,
) -> Result<(Body, Decoder), ProviderError> {
    let framing = handler.body_framing(request.framing);
    let response = http::send(&request.http).map_err(from_http_error)?;
    if response.status >= 400 {
        let body = read_bounded(&response.body, ERROR_BODY_BYTES);
        return Err(handler.on_http_error(response.status, &response.headers, &body));
    }
    let decoder = match framing {
        BodyFraming::Sse => Decoder::Sse(SseDecoder::new()),
        BodyFraming::Ndjson => Decoder::Ndjson(NdjsonDecoder::new()),
        BodyFraming::Json => Decoder::Json(Vec::new()),
        BodyFraming::EventStream => Decoder::EventStream(EventStreamDecoder::new()),
    };
    Ok((response.body, decoder))
}

/// Read at most `limit` bytes of an error body; a read failure keeps what came.
pub(crate) fn read_bounded(body: &Body, limit: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        let want = (limit - bytes.len()).min(READ_CHUNK_BYTES as usize) as u32;
        match body.read(want) {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes
}

fn decode<H: StreamHandler>(
    decoder: &mut Decoder,
    chunk: &[u8],
    handler: &mut H,
    out: &mut Emitter,
) -> Result<(), ProviderError> {
    match decoder {
        Decoder::Sse(sse) => sse.feed(chunk, |event| handler.on_frame(Frame::Sse(event), out)),
        Decoder::Ndjson(lines) => lines.feed(chunk, |line| handler.on_frame(Frame::Line(line), out)),
        Decoder::Json(whole) => {
            whole.extend_from_slice(chunk);
            Ok(())
        }
        Decoder::EventStream(messages) => messages.feed(chunk, |message| handler.on_event_message(message, out)),
    }
}

fn end<H: StreamHandler>(
    decoder: Decoder,
    handler: &mut H,
    out: &mut Emitter,
) -> Result<(), ProviderError> {
    match decoder {
        Decoder::Sse(mut sse) => sse.finish(|event| handler.on_frame(Frame::Sse(event), out))?,
        Decoder::Ndjson(mut lines) => lines.finish(|line| handler.on_frame(Frame::Line(line), out))?,
        Decoder::Json(whole) => {
            let text = String::from_utf8_lossy(&whole);
            handler.on_frame(Frame::Json(&text), out)?;
        }
        Decoder::EventStream(mut messages) => messages.finish()?,
    }
    handler.on_end(out)
}
