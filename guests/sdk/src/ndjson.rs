//! An incremental newline-delimited JSON decoder: bytes in, lines out.
//!
//! Each non-blank line is one JSON document (parsing it is the caller's job, so
//! it can borrow from the line). Lines end in LF or CRLF and may be split across
//! chunks at any byte; a last line without a newline is delivered by
//! [`NdjsonDecoder::finish`].

/// Incremental decoder. Feed it chunks as they arrive, then call [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct NdjsonDecoder {
    partial: Vec<u8>,
}

impl NdjsonDecoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode `chunk`, calling `on_line` for each complete non-blank line.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut on_line: impl FnMut(&str) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() {
                deliver(&rest[..end], &mut on_line)?;
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                let result = deliver(&self.partial, &mut on_line);
                self.partial.clear();
                result?;
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// End of input: deliver a last line that had no newline.
    pub fn finish<E>(&mut self, mut on_line: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        let line = std::mem::take(&mut self.partial);
        deliver(&line, &mut on_line)
    }
}

fn deliver<E>(line: &[u8], on_line: &mut impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = match std::str::from_utf8(line) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(line),
    };
    let text = text.trim();
    if text.is_empty() { Ok(()) } else { on_line(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"{\"a\":1}\n\r\n{\"b\":\"\xc3\xa9\"}\r\n\n{\"done\":true}";

    fn lines(cuts: &[usize]) -> Vec<String> {
        let mut decoder = NdjsonDecoder::new();
        let mut out = Vec::new();
        let mut push = |l: &str| -> Result<(), ()> {
            out.push(l.to_owned());
            Ok(())
        };
        let mut start = 0;
        for &cut in cuts {
            decoder.feed(&STREAM[start..cut], &mut push).expect("no error");
            start = cut;
        }
        decoder.feed(&STREAM[start..], &mut push).expect("no error");
        decoder.finish(&mut push).expect("no error");
        out
    }

    #[test]
    fn same_lines_at_every_split() {
        let whole = lines(&[]);
        assert_eq!(whole, ["{\"a\":1}", "{\"b\":\"é\"}", "{\"done\":true}"]);
        for cut in 0..=STREAM.len() {
            assert_eq!(lines(&[cut]), whole, "split at byte {cut}");
        }
    }
}
