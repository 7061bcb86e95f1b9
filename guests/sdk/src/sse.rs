//! An incremental server-sent events decoder: bytes in, events out.
//!
//! Follows the WHATWG event-stream rules: lines end in LF, CRLF or CR; a blank
//! line dispatches the event; `data:` lines are joined with `\n`; lines starting
//! with `:` are comments; one space after the colon is dropped; unknown fields are
//! ignored. Events may be split across chunks at any byte. The decoder keeps only
//! the unfinished line between calls and reuses its buffers, so decoding does not
//! allocate per event once warmed up.

/// One decoded event. Borrowed from the decoder; copy what you keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, or `""` when absent (the spec's default type `message`).
    pub event: &'a str,
    /// The `data:` lines joined with `\n`.
    pub data: &'a str,
    /// The `id:` field of this event, if it had one.
    pub id: Option<&'a str>,
}

/// Incremental decoder. Feed it chunks as they arrive, then call [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of a line that has not ended yet.
    partial: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF belongs to that line end.
    skip_leading_lf: bool,
    event: String,
    data: String,
    id: String,
    has_data: bool,
    has_id: bool,
}

impl SseDecoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode `chunk`, calling `on_event` for each complete event. Stops at the
    /// first error `on_event` returns.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        // An empty chunk says nothing about the byte after a CR: keep waiting.
        if self.skip_leading_lf && !rest.is_empty() {
            self.skip_leading_lf = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            let line_end_len = match (rest[end], rest.get(end + 1)) {
                (b'\r', Some(b'\n')) => 2,
                (b'\r', None) => {
                    self.skip_leading_lf = true;
                    1
                }
                _ => 1,
            };
            if self.partial.is_empty() {
                self.line(&rest[..end], &mut on_event)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                let result = self.line(&line, &mut on_event);
                line.clear();
                self.partial = line;
                result?;
            }
            rest = &rest[end + line_end_len..];
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// End of input: a final event that lacks its blank line is still delivered
    /// (servers often omit it), an unfinished line is treated as ended.
    pub fn finish<E>(
        &mut self,
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut on_event)?;
        }
        self.dispatch(&mut on_event)
    }

    fn line<E>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        // Valid UTF-8 is the norm: check it once, fast, and repair only when broken.
        let value = match std::str::from_utf8(value) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(value),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&value);
            }
            b"id" if !value.contains('\0') => {
                self.id.clear();
                self.id.push_str(&value);
                self.has_id = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(
        &mut self,
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = if self.has_data {
            on_event(SseEvent {
                event: &self.event,
                data: &self.data,
                id: self.has_id.then_some(self.id.as_str()),
            })
        } else {
            Ok(())
        };
        self.event.clear();
        self.data.clear();
        self.has_data = false;
        self.has_id = false;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Owned {
        event: String,
        data: String,
        id: Option<String>,
    }

    fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Vec<Owned> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let mut push = |e: SseEvent<'_>| -> Result<(), ()> {
            out.push(Owned {
                event: e.event.to_owned(),
                data: e.data.to_owned(),
                id: e.id.map(str::to_owned),
            });
            Ok(())
        };
        let mut start = 0;
        for &cut in cuts {
            decoder.feed(&input[start..cut], &mut push).expect("no error");
            start = cut;
        }
        decoder.feed(&input[start..], &mut push).expect("no error");
        decoder.finish(&mut push).expect("no error");
        out
    }

    const STREAM: &[u8] = b": keep-alive comment\r\n\
        event: message_start\r\n\
        data: {\"a\":1}\r\n\
        \r\n\
        data: first line\n\
        data: second line\n\
        id: 7\n\
        \n\
        data:no-space\r\r\
        event: ping\n\
        \n\
        data: \xc3\xa9t\xc3\xa9 \xe2\x9c\x93\n\
        \n\
        data: [DONE]\n\n";

    fn expected() -> Vec<Owned> {
        let ev = |event: &str, data: &str, id: Option<&str>| Owned {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        };
        vec![
            ev("message_start", "{\"a\":1}", None),
            ev("", "first line\nsecond line", Some("7")),
            ev("", "no-space", None),
            ev("", "été ✓", None),
            ev("", "[DONE]", None),
        ]
    }

    #[test]
    fn decodes_whole_stream() {
        assert_eq!(decode_in_pieces(STREAM, &[]), expected());
    }

    #[test]
    fn same_events_at_every_single_split() {
        for cut in 0..=STREAM.len() {
            assert_eq!(decode_in_pieces(STREAM, &[cut]), expected(), "split at byte {cut}");
        }
    }

    #[test]
    fn same_events_one_byte_at_a_time() {
        let cuts: Vec<usize> = (1..STREAM.len()).collect();
        assert_eq!(decode_in_pieces(STREAM, &cuts), expected());
    }

    /// Found by the `sse` fuzz target: an empty chunk between a CR and its LF
    /// made the LF a second line end, splitting one event in two.
    #[test]
    fn an_empty_chunk_between_cr_and_lf_changes_nothing() {
        let input = b"data: a\r\ndata: b\r\n\r\n";
        let cut = b"data: a\r".len();
        assert_eq!(decode_in_pieces(input, &[cut, cut]), decode_in_pieces(input, &[]));
        assert_eq!(decode_in_pieces(input, &[cut, cut])[0].data, "a\nb");
    }

    #[test]
    fn final_event_without_blank_line_is_delivered() {
        let events = decode_in_pieces(b"data: {\"x\":1}\n\ndata: last", &[]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data, "last");
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        assert!(decode_in_pieces(b"event: ping\n\n: only a comment\n\n", &[]).is_empty());
    }

    #[test]
    fn callback_error_stops_decoding() {
        let mut decoder = SseDecoder::new();
        let mut seen = 0;
        let result = decoder.feed(b"data: 1\n\ndata: 2\n\n", |_| {
            seen += 1;
            Err("stop")
        });
        assert_eq!(result, Err("stop"));
        assert_eq!(seen, 1);
    }
}
