//! An incremental decoder of AWS's binary event-stream framing
//! (`application/vnd.amazon.eventstream`, the body of Bedrock's
//! ConverseStream): bytes in, messages out.
//!
//! A message is a 12-byte prelude (its total length and its headers' length,
//! big-endian `u32`s, then the CRC-32 of those 8 bytes), the headers, the
//! payload, and the CRC-32 of everything before it. Messages may be split
//! across chunks at any byte. Both checksums are checked and the lengths are
//! bounded before a byte is buffered, so a corrupted or hostile stream gets a
//! [`FrameError`] saying what is wrong, never a panic or an unbounded buffer.
//!
//! A message that arrives whole in one chunk is decoded where it lies; only
//! one split across chunks is copied, into a buffer the decoder reuses.

use std::fmt;

/// Bytes of the prelude: total length, headers length, prelude CRC.
const PRELUDE_BYTES: usize = 12;
/// Bytes of the message CRC that ends a message.
const CRC_BYTES: usize = 4;
/// The smallest message: a prelude and the message CRC, nothing between.
const MIN_MESSAGE_BYTES: usize = PRELUDE_BYTES + CRC_BYTES;

/// The largest message accepted, in bytes. A Bedrock event is one delta (bytes
/// to a few KiB); a guest has tens of MiB, and a message is buffered whole, so
/// the bound stays well below that (AWS's own decoders stop at 24 MiB).
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// The largest headers section, in bytes (AWS's decoders: 128 KiB).
pub const MAX_HEADERS_BYTES: usize = 128 * 1024;

/// The most headers one message may carry. Bedrock sends three or four; the
/// bound keeps the check for duplicate names small.
pub const MAX_HEADERS: usize = 64;

/// A header's value, by its wire type (0-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// Types 0 (true) and 1 (false).
    Bool(bool),
    /// Type 2: a signed byte.
    Byte(i8),
    /// Type 3: a signed 16-bit integer.
    Short(i16),
    /// Type 4: a signed 32-bit integer.
    Integer(i32),
    /// Type 5: a signed 64-bit integer.
    Long(i64),
    /// Type 6: bytes.
    Bytes(&'a [u8]),
    /// Type 7: UTF-8 text.
    String(&'a str),
    /// Type 8: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Type 9: a UUID's 16 bytes.
    Uuid([u8; 16]),
}

/// One header of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Its name, e.g. `:event-type`.
    pub name: &'a str,
    /// Its value.
    pub value: HeaderValue<'a>,
}

/// One decoded message, borrowed from the decoder (copy what you keep). Its
/// checksums and headers were checked when it was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The headers section, already checked to parse.
    headers: &'a [u8],
    /// The payload (for Bedrock, a JSON object).
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The headers, in order.
    pub fn headers(&self) -> Headers<'a> {
        Headers { rest: self.headers }
    }

    /// The value of the header called `name`.
    pub fn header(&self, name: &str) -> Option<HeaderValue<'a>> {
        self.headers().find(|header| header.name == name).map(|header| header.value)
    }

    /// The text of the string header called `name` (`None` if absent or not a string).
    pub fn string_header(&self, name: &str) -> Option<&'a str> {
        match self.header(name) {
            Some(HeaderValue::String(text)) => Some(text),
            _ => None,
        }
    }
}

/// The headers of a [`Message`], in order.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        // The section was checked when the message was decoded, so this parses.
        let (header, rest) = parse_header(self.rest).ok()?;
        self.rest = rest;
        Some(header)
    }
}

/// Why bytes are not a valid event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The prelude's CRC does not match its bytes: its lengths cannot be trusted.
    PreludeChecksum {
        /// The CRC the prelude carries.
        carried: u32,
        /// The CRC of the prelude's bytes.
        computed: u32,
    },
    /// The message's CRC does not match its bytes.
    MessageChecksum {
        /// The CRC the message ends with.
        carried: u32,
        /// The CRC of the message's bytes.
        computed: u32,
    },
    /// The prelude gives a total length below the 16 bytes every message has.
    TooShort {
        /// The total length it gives.
        total: u32,
    },
    /// The prelude gives a total length above [`MAX_MESSAGE_BYTES`].
    TooLarge {
        /// The total length it gives.
        total: u32,
    },
    /// The headers' length does not fit in the message, or exceeds [`MAX_HEADERS_BYTES`].
    HeadersLength {
        /// The headers' length the prelude gives.
        headers: u32,
        /// The total length it gives.
        total: u32,
    },
    /// A header is malformed (the text says how).
    Header(String),
    /// A header name appears twice in one message.
    DuplicateHeader(String),
    /// The input ended inside a message.
    Truncated {
        /// The bytes of the message that arrived.
        received: usize,
        /// Its length, when its prelude arrived.
        total: Option<usize>,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::PreludeChecksum { carried, computed } => write!(
                f,
                "a message prelude carries CRC-32 {carried:#010x} but its bytes give {computed:#010x}: the stream is \
                 corrupted, or the body is not an AWS event stream"
            ),
            FrameError::MessageChecksum { carried, computed } => write!(
                f,
                "a message ends with CRC-32 {carried:#010x} but its bytes give {computed:#010x}: the message was corrupted on the way"
            ),
            FrameError::TooShort { total } => {
                write!(f, "a message prelude gives a length of {total} bytes, below the {MIN_MESSAGE_BYTES} every message has")
            }
            FrameError::TooLarge { total } => {
                write!(f, "a message prelude gives a length of {total} bytes, above the {MAX_MESSAGE_BYTES}-byte limit")
            }
            FrameError::HeadersLength { headers, total } => write!(
                f,
                "a message prelude gives {headers} bytes of headers in a {total}-byte message (at most the message less \
                 {MIN_MESSAGE_BYTES} bytes, and {MAX_HEADERS_BYTES})"
            ),
            FrameError::Header(what) => write!(f, "a message has a malformed header: {what}"),
            FrameError::DuplicateHeader(name) => write!(f, "a message carries the header `{name}` twice"),
            FrameError::Truncated { received, total: Some(total) } => {
                write!(f, "the stream ended inside a message: {received} of its {total} bytes arrived")
            }
            FrameError::Truncated { received, total: None } => {
                write!(f, "the stream ended inside a message's prelude: {received} of its {PRELUDE_BYTES} bytes arrived")
            }
        }
    }
}

impl std::error::Error for FrameError {}

#[cfg(feature = "provider")]
impl From<FrameError> for crate::ProviderError {
    fn from(error: FrameError) -> Self {
        crate::ProviderError::protocol(format!("invalid AWS event stream: {error}"))
    }
}

/// Incremental decoder. Feed it chunks as they arrive, then call [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct EventStreamDecoder {
    /// The start of a message that has not fully arrived.
    partial: Vec<u8>,
}

impl EventStreamDecoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode `chunk`, calling `on_message` for each complete message. Stops at
    /// the first invalid message or the first error `on_message` returns.
    pub fn feed<E: From<FrameError>>(
        &mut self,
        chunk: &[u8],
        mut on_message: impl FnMut(Message<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        if !self.partial.is_empty() {
            rest = self.complete_partial(rest, &mut on_message)?;
        }
        while !rest.is_empty() {
            let Some(prelude) = rest.first_chunk::<PRELUDE_BYTES>() else {
                self.partial.extend_from_slice(rest);
                return Ok(());
            };
            let lengths = check_prelude(prelude)?;
            let Some((message, after)) = rest.split_at_checked(lengths.total) else {
                self.partial.reserve(lengths.total);
                self.partial.extend_from_slice(rest);
                return Ok(());
            };
            on_message(decode(message, lengths)?)?;
            rest = after;
        }
        Ok(())
    }

    /// End of input: an error if a message was left incomplete.
    pub fn finish(&mut self) -> Result<(), FrameError> {
        if self.partial.is_empty() {
            return Ok(());
        }
        let received = self.partial.len();
        let prelude = self.partial.first_chunk::<PRELUDE_BYTES>();
        let total = prelude.and_then(|prelude| check_prelude(prelude).ok()).map(|lengths| lengths.total);
        self.partial.clear();
        Err(FrameError::Truncated { received, total })
    }

    /// Add from `chunk` to the message begun earlier; deliver it once whole.
    /// Returns what is left of `chunk`.
    fn complete_partial<'c, E: From<FrameError>>(
        &mut self,
        chunk: &'c [u8],
        on_message: &mut impl FnMut(Message<'_>) -> Result<(), E>,
    ) -> Result<&'c [u8], E> {
        let mut rest = chunk;
        if self.partial.len() < PRELUDE_BYTES {
            let (head, tail) = rest.split_at(rest.len().min(PRELUDE_BYTES.saturating_sub(self.partial.len())));
            self.partial.extend_from_slice(head);
            rest = tail;
        }
        let Some(prelude) = self.partial.first_chunk::<PRELUDE_BYTES>() else {
            return Ok(rest);
        };
        let lengths = check_prelude(prelude)?;
        let missing = lengths.total.saturating_sub(self.partial.len());
        let (head, tail) = rest.split_at(rest.len().min(missing));
        self.partial.extend_from_slice(head);
        if self.partial.len() < lengths.total {
            return Ok(tail);
        }
        let message = std::mem::take(&mut self.partial);
        let result = decode(&message, lengths).map_err(E::from).and_then(&mut *on_message);
        self.partial = message;
        self.partial.clear();
        result.map(|()| tail)
    }
}

/// The lengths a checked prelude gives.
#[derive(Debug, Clone, Copy)]
struct Lengths {
    /// The whole message's.
    total: usize,
    /// The headers section's.
    headers: usize,
}

/// Check a prelude's CRC and lengths.
fn check_prelude(prelude: &[u8; PRELUDE_BYTES]) -> Result<Lengths, FrameError> {
    let [t0, t1, t2, t3, h0, h1, h2, h3, c0, c1, c2, c3] = *prelude;
    let total = u32::from_be_bytes([t0, t1, t2, t3]);
    let headers = u32::from_be_bytes([h0, h1, h2, h3]);
    let carried = u32::from_be_bytes([c0, c1, c2, c3]);
    let computed = crc32fast::hash(&[t0, t1, t2, t3, h0, h1, h2, h3]);
    if carried != computed {
        return Err(FrameError::PreludeChecksum { carried, computed });
    }
    let total_bytes = usize::try_from(total).map_err(|_| FrameError::TooLarge { total })?;
    if total_bytes < MIN_MESSAGE_BYTES {
        return Err(FrameError::TooShort { total });
    }
    if total_bytes > MAX_MESSAGE_BYTES {
        return Err(FrameError::TooLarge { total });
    }
    let headers_bytes = usize::try_from(headers).map_err(|_| FrameError::HeadersLength { headers, total })?;
    if headers_bytes > total_bytes.saturating_sub(MIN_MESSAGE_BYTES) || headers_bytes > MAX_HEADERS_BYTES {
        return Err(FrameError::HeadersLength { headers, total });
    }
    Ok(Lengths { total: total_bytes, headers: headers_bytes })
}

/// Decode one whole message (`lengths.total` bytes, its prelude checked): its
/// CRC, then its headers.
fn decode(message: &[u8], lengths: Lengths) -> Result<Message<'_>, FrameError> {
    let truncated = || FrameError::Truncated { received: message.len(), total: Some(lengths.total) };
    let (body, crc) = message.split_last_chunk::<CRC_BYTES>().ok_or_else(truncated)?;
    let carried = u32::from_be_bytes(*crc);
    let computed = crc32fast::hash(body);
    if carried != computed {
        return Err(FrameError::MessageChecksum { carried, computed });
    }
    let sections = body.get(PRELUDE_BYTES..).ok_or_else(truncated)?;
    let (headers, payload) = sections.split_at_checked(lengths.headers).ok_or_else(truncated)?;
    check_headers(headers)?;
    Ok(Message { headers, payload })
}

/// Check that `section` parses into at most [`MAX_HEADERS`] headers with distinct names.
fn check_headers(section: &[u8]) -> Result<(), FrameError> {
    let mut rest = section;
    let mut count = 0;
    while !rest.is_empty() {
        let (header, after) = parse_header(rest)?;
        count += 1;
        if count > MAX_HEADERS {
            return Err(FrameError::Header(format!("more than {MAX_HEADERS} headers in one message")));
        }
        let mut earlier = (Headers { rest: section }).take(count - 1);
        if earlier.any(|earlier| earlier.name == header.name) {
            return Err(FrameError::DuplicateHeader(header.name.to_owned()));
        }
        rest = after;
    }
    Ok(())
}

/// Parse the header at the start of `bytes`; return it and the bytes after it.
fn parse_header(bytes: &[u8]) -> Result<(Header<'_>, &[u8]), FrameError> {
    let mut cursor = Cursor { rest: bytes };
    let name_length = usize::from(cursor.array::<1>("a header name's length")?[0]);
    let name = std::str::from_utf8(cursor.take(name_length, "a header name")?)
        .map_err(|_| FrameError::Header("a header name is not UTF-8".to_owned()))?;
    let [kind] = cursor.array::<1>("a header's value type")?;
    let what = |part: &str| format!("header `{name}`'s {part}");
    let value = match kind {
        0 => HeaderValue::Bool(true),
        1 => HeaderValue::Bool(false),
        2 => HeaderValue::Byte(i8::from_be_bytes(cursor.array(&what("byte value"))?)),
        3 => HeaderValue::Short(i16::from_be_bytes(cursor.array(&what("short value"))?)),
        4 => HeaderValue::Integer(i32::from_be_bytes(cursor.array(&what("integer value"))?)),
        5 => HeaderValue::Long(i64::from_be_bytes(cursor.array(&what("long value"))?)),
        6 | 7 => {
            let length = usize::from(u16::from_be_bytes(cursor.array(&what("value length"))?));
            let bytes = cursor.take(length, &what("value"))?;
            if kind == 6 {
                HeaderValue::Bytes(bytes)
            } else {
                HeaderValue::String(
                    std::str::from_utf8(bytes)
                        .map_err(|_| FrameError::Header(format!("header `{name}` is a string that is not UTF-8")))?,
                )
            }
        }
        8 => HeaderValue::Timestamp(i64::from_be_bytes(cursor.array(&what("timestamp"))?)),
        9 => HeaderValue::Uuid(cursor.array(&what("UUID"))?),
        other => return Err(FrameError::Header(format!("header `{name}` has value type {other}, which is not one of 0-9"))),
    };
    Ok((Header { name, value }, cursor.rest))
}

/// Reads fixed and counted fields off the front of a headers section.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// The next `length` bytes; `what` names them when the section ends first.
    fn take(&mut self, length: usize, what: &str) -> Result<&'a [u8], FrameError> {
        let (taken, rest) = self
            .rest
            .split_at_checked(length)
            .ok_or_else(|| FrameError::Header(format!("the headers section ends inside {what}")))?;
        self.rest = rest;
        Ok(taken)
    }

    /// The next `N` bytes, as an array.
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FrameError> {
        let (taken, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or_else(|| FrameError::Header(format!("the headers section ends inside {what}")))?;
        self.rest = rest;
        Ok(*taken)
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::PathBuf;

    /// A decoded message, owned, to compare.
    #[derive(Debug, Clone, PartialEq)]
    struct Owned {
        headers: Vec<(String, Value)>,
        payload: Vec<u8>,
    }

    /// A header value as JSON, in the vectors' notation: bytes and UUIDs as hex.
    fn json_of(value: HeaderValue<'_>) -> Value {
        match value {
            HeaderValue::Bool(b) => b.into(),
            HeaderValue::Byte(n) => n.into(),
            HeaderValue::Short(n) => n.into(),
            HeaderValue::Integer(n) => n.into(),
            HeaderValue::Long(n) | HeaderValue::Timestamp(n) => n.into(),
            HeaderValue::Bytes(bytes) => hex(bytes).into(),
            HeaderValue::Uuid(bytes) => hex(&bytes).into(),
            HeaderValue::String(text) => text.into(),
        }
    }

    fn owned(message: Message<'_>) -> Owned {
        Owned {
            headers: message.headers().map(|h| (h.name.to_owned(), json_of(h.value))).collect(),
            payload: message.payload.to_vec(),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
            .collect()
    }

    /// Decode `input` fed in pieces cut at `cuts`.
    fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Result<Vec<Owned>, FrameError> {
        let mut decoder = EventStreamDecoder::new();
        let mut out = Vec::new();
        let mut push = |m: Message<'_>| -> Result<(), FrameError> {
            out.push(owned(m));
            Ok(())
        };
        let mut start = 0;
        for &cut in cuts {
            decoder.feed(&input[start..cut], &mut push)?;
            start = cut;
        }
        decoder.feed(&input[start..], &mut push)?;
        decoder.finish()?;
        Ok(out)
    }

    /// A header to encode: name, value type, value bytes.
    type RawHeader<'a> = (&'a str, u8, &'a [u8]);

    /// A message with `headers` and `payload`, framed with correct checksums.
    fn encode(headers: &[RawHeader<'_>], payload: &[u8]) -> Vec<u8> {
        let mut section = Vec::new();
        for (name, kind, value) in headers {
            section.push(name.len() as u8);
            section.extend_from_slice(name.as_bytes());
            section.push(*kind);
            section.extend_from_slice(value);
        }
        let total = (MIN_MESSAGE_BYTES + section.len() + payload.len()) as u32;
        let mut message = Vec::new();
        message.extend_from_slice(&total.to_be_bytes());
        message.extend_from_slice(&(section.len() as u32).to_be_bytes());
        message.extend_from_slice(&crc32fast::hash(&message).to_be_bytes());
        message.extend_from_slice(&section);
        message.extend_from_slice(payload);
        message.extend_from_slice(&crc32fast::hash(&message).to_be_bytes());
        message
    }

    /// A prelude claiming `total` and `headers` bytes, with a correct CRC.
    fn prelude(total: u32, headers: u32) -> Vec<u8> {
        let mut bytes = total.to_be_bytes().to_vec();
        bytes.extend_from_slice(&headers.to_be_bytes());
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        bytes
    }

    /// `../shared/fixtures` beside the project, if it exists.
    fn shared_fixtures() -> Option<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!("skipping: {} is absent (the recorded fixtures live outside the repository)", dir.display());
            None
        }
    }

    fn vectors() -> Option<Value> {
        let path = shared_fixtures()?.join("eventstream/vectors.json");
        Some(serde_json::from_str(&std::fs::read_to_string(path).expect("vectors.json")).expect("JSON"))
    }

    #[test]
    fn aws_valid_vectors_decode_to_their_headers_and_payload_at_every_split() {
        let Some(vectors) = vectors() else { return };
        let positive = vectors["positive"].as_object().expect("positive vectors");
        assert!(positive.len() >= 8, "the vectors cover every header type");
        for (name, vector) in positive {
            let bytes = unhex(vector["hex"].as_str().expect("hex"));
            let messages = decode_in_pieces(&bytes, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(messages.len(), 1, "{name}");
            let want: Vec<(String, Value)> =
                vector["headers"].as_object().expect("headers").iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let mut got = messages[0].headers.clone();
            let mut want_sorted = want.clone();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            want_sorted.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want_sorted, "{name}: headers");
            assert_eq!(hex(&messages[0].payload), vector["payload_hex"].as_str().expect("payload"), "{name}: payload");
            for cut in 0..=bytes.len() {
                assert_eq!(decode_in_pieces(&bytes, &[cut]).as_ref(), Ok(&messages), "{name}: split at byte {cut}");
            }
        }
    }

    #[test]
    fn aws_every_header_type_is_read_as_its_type() {
        let Some(vectors) = vectors() else { return };
        let bytes = unhex(vectors["positive"]["ALL_HEADERS_TYPES"]["hex"].as_str().expect("hex"));
        let mut decoder = EventStreamDecoder::new();
        let mut seen = 0;
        decoder
            .feed(&bytes, |m: Message<'_>| -> Result<(), FrameError> {
                let values: Vec<HeaderValue<'_>> = m.headers().map(|h| h.value).collect();
                assert!(
                    matches!(values[..], [
                        HeaderValue::Bool(true),
                        HeaderValue::Bool(false),
                        HeaderValue::Byte(2),
                        HeaderValue::Short(3),
                        HeaderValue::Integer(4),
                        HeaderValue::Long(5),
                        HeaderValue::Bytes(b"bytes"),
                        HeaderValue::String("utf8"),
                        HeaderValue::Timestamp(8),
                        HeaderValue::Uuid(_),
                    ]),
                    "{values:?}"
                );
                seen += 1;
                Ok(())
            })
            .expect("valid");
        assert_eq!(seen, 1);
    }

    #[test]
    fn aws_corrupted_vectors_are_rejected_with_the_right_reason() {
        let Some(vectors) = vectors() else { return };
        let negative = vectors["negative"].as_object().expect("negative vectors");
        assert!(negative.len() >= 5);
        for (name, vector) in negative {
            let bytes = unhex(vector["hex"].as_str().expect("hex"));
            let expected = vector["botocore_expected_exception"].as_str().expect("exception");
            for cut in 0..=bytes.len() {
                let error = decode_in_pieces(&bytes, &[cut]).expect_err(name);
                let right = match expected {
                    "ChecksumMismatch" => {
                        matches!(error, FrameError::PreludeChecksum { .. } | FrameError::MessageChecksum { .. })
                    }
                    "DuplicateHeader" => error == FrameError::DuplicateHeader("test".into()),
                    other => panic!("{name}: unknown expectation {other}"),
                };
                assert!(right, "{name} split at {cut}: {error}");
            }
        }
    }

    /// Each recorded Bedrock stream decodes to the frames of its readable view,
    /// cut anywhere.
    #[test]
    fn recorded_bedrock_streams_decode_to_their_readable_view_at_every_split() {
        let Some(fixtures) = shared_fixtures() else { return };
        let dir = fixtures.join("wire/bedrock");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("wire/bedrock")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".eventstream.bin"))
            .collect();
        files.sort();
        assert!(files.len() >= 3, "the recordings are there");
        for path in files {
            let name = path.display().to_string();
            let bytes = std::fs::read(&path).expect("recording");
            let view = std::fs::read_to_string(name.replace(".eventstream.bin", ".decoded.jsonl")).expect("readable view");
            let want: Vec<Value> = view.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
            let whole = decode_in_pieces(&bytes, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(whole.len(), want.len(), "{name}: one message per line of the view");
            for (got, want) in whole.iter().zip(&want) {
                let headers: serde_json::Map<String, Value> = got.headers.iter().cloned().collect();
                assert_eq!(Value::Object(headers), want["headers"], "{name}: headers");
                let payload: Value = serde_json::from_slice(&got.payload).expect("JSON payload");
                assert_eq!(payload, want["payload"], "{name}: payload");
            }
            for cut in 0..=bytes.len() {
                assert_eq!(decode_in_pieces(&bytes, &[cut]).as_ref(), Ok(&whole), "{name}: split at byte {cut}");
            }
            let every_byte: Vec<usize> = (1..bytes.len()).collect();
            assert_eq!(decode_in_pieces(&bytes, &every_byte).as_ref(), Ok(&whole), "{name}: one byte at a time");
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_is_an_error_never_a_wrong_message() {
        let message = encode(&[(":event-type", 7, b"\x00\x05hello")], br#"{"p":"abc"}"#);
        for at in 0..message.len() {
            for bit in 0..8 {
                let mut bad = message.clone();
                bad[at] ^= 1 << bit;
                assert!(decode_in_pieces(&bad, &[]).is_err(), "bit {bit} of byte {at}");
            }
        }
    }

    #[test]
    fn absurd_lengths_are_refused_from_the_prelude_alone() {
        let cases = [
            (prelude(u32::MAX, 0), "TooLarge"),
            (prelude(MAX_MESSAGE_BYTES as u32 + 1, 0), "TooLarge"),
            (prelude(15, 0), "TooShort"),
            (prelude(0, 0), "TooShort"),
            (prelude(40, 25), "HeadersLength"),
            (prelude(MAX_MESSAGE_BYTES as u32, MAX_HEADERS_BYTES as u32 + 1), "HeadersLength"),
        ];
        for (bytes, want) in cases {
            let mut decoder = EventStreamDecoder::new();
            let error = decoder.feed(&bytes, |_| Ok::<(), FrameError>(())).expect_err(want);
            let name = format!("{error:?}");
            assert!(name.starts_with(want), "{want}: {error}");
            assert!(decoder.partial.capacity() < 1024, "{want}: nothing was buffered for it");
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        let cases: [(&[RawHeader<'_>], &str); 4] = [
            (&[("kind", 10, b"")], "value type 10"),
            (&[("text", 7, b"\x00\x09short")], "ends inside header `text`'s value"),
            (&[("text", 7, b"\x00\x02\xff\xfe")], "not UTF-8"),
            (&[("n", 4, b"\x00\x01")], "integer value"),
        ];
        for (headers, want) in cases {
            let error = decode_in_pieces(&encode(headers, b""), &[]).expect_err(want);
            assert!(error.to_string().contains(want), "{want}: {error}");
        }
        let many: Vec<String> = (0..=MAX_HEADERS).map(|n| format!("h{n}")).collect();
        let headers: Vec<RawHeader<'_>> = many.iter().map(|n| (n.as_str(), 0, &b""[..])).collect();
        let error = decode_in_pieces(&encode(&headers, b""), &[]).expect_err("too many");
        assert!(error.to_string().contains("more than"), "{error}");
    }

    #[test]
    fn a_stream_cut_inside_a_message_is_an_error_at_the_end() {
        let message = encode(&[(":message-type", 7, b"\x00\x05event")], b"{}");
        for cut in 1..message.len() {
            let error = decode_in_pieces(&message[..cut], &[]).expect_err("cut");
            let want_total = (cut >= PRELUDE_BYTES).then_some(message.len());
            assert_eq!(error, FrameError::Truncated { received: cut, total: want_total }, "cut at {cut}");
        }
        assert_eq!(decode_in_pieces(b"", &[]), Ok(vec![]), "no bytes, no messages, no error");
    }

    #[test]
    fn header_lookup_and_callback_errors() {
        let one = encode(&[(":event-type", 7, b"\x00\x04ping"), ("n", 4, b"\x00\x00\x00\x07")], b"1");
        let two = encode(&[], b"2");
        let stream = [one, two].concat();
        let mut decoder = EventStreamDecoder::new();
        let mut seen = 0;
        let result = decoder.feed(&stream, |m: Message<'_>| {
            seen += 1;
            assert_eq!(m.string_header(":event-type"), Some("ping"));
            assert_eq!(m.string_header("n"), None, "an integer is not a string");
            assert_eq!(m.header("n"), Some(HeaderValue::Integer(7)));
            assert_eq!(m.header("absent"), None);
            Err(FrameError::Header("stop".into()))
        });
        assert_eq!(result, Err(FrameError::Header("stop".into())));
        assert_eq!(seen, 1, "decoding stops at the callback's error");
    }
}
