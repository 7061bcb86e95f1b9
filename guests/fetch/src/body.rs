//! Reading a response body up to a byte budget, and decoding it to text
//! without splitting a character where it was cut.

/// The most the tool asks the host for in one read.
pub const CHUNK_BYTES: u32 = 16 * 1024;

/// What was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// At most the budget's bytes.
    pub bytes: Vec<u8>,
    /// Whether the body went on past the budget.
    pub truncated: bool,
}

/// Read with `read(max)` (the body resource's `read`) until the body ends or
/// `max` bytes are in. Reading one byte past `max` tells a body of exactly
/// `max` bytes (not truncated) from a longer one.
pub fn read_limited<E>(mut read: impl FnMut(u32) -> Result<Option<Vec<u8>>, E>, max: usize) -> Result<Read, E> {
    let mut bytes = Vec::new();
    loop {
        let wanted = (max + 1).saturating_sub(bytes.len());
        let ask = u32::try_from(wanted).unwrap_or(CHUNK_BYTES).min(CHUNK_BYTES);
        match read(ask)? {
            None => return Ok(Read { bytes, truncated: false }),
            Some(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > max {
                    bytes.truncate(max);
                    return Ok(Read { bytes, truncated: true });
                }
            }
        }
    }
}

/// The length of `bytes` without a UTF-8 sequence cut short at its end.
pub fn utf8_prefix_len(bytes: &[u8]) -> usize {
    let len = bytes.len();
    // The last lead byte (not a continuation byte 10xxxxxx) within the last 4.
    let Some(start) = (len.saturating_sub(4)..len).rev().find(|&i| bytes.get(i).is_some_and(|b| b & 0xC0 != 0x80))
    else {
        return len;
    };
    let needed = match bytes.get(start).copied().unwrap_or(0) {
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        b if b >= 0xC0 => 2,
        _ => 1,
    };
    if len - start < needed { start } else { len }
}

/// Decode `bytes` as text in `charset` (ISO-8859-1 and windows-1252 are read
/// as Latin-1; anything else as UTF-8, invalid bytes replaced). A `truncated`
/// body loses the partial character at its end rather than gaining a U+FFFD.
pub fn decode(bytes: &[u8], charset: Option<&str>, truncated: bool) -> String {
    if matches!(charset, Some("iso-8859-1" | "latin1" | "latin-1" | "windows-1252" | "us-ascii" | "ascii")) {
        return bytes.iter().map(|&b| char::from(b)).collect();
    }
    let end = if truncated { utf8_prefix_len(bytes) } else { bytes.len() };
    String::from_utf8_lossy(bytes.get(..end).unwrap_or(bytes)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body served in `chunk`-byte pieces.
    fn reader(body: &[u8], chunk: usize) -> impl FnMut(u32) -> Result<Option<Vec<u8>>, ()> + '_ {
        let mut at = 0;
        move |max| {
            if at >= body.len() {
                return Ok(None);
            }
            let end = body.len().min(at + chunk.min(max as usize));
            let piece = body[at..end].to_vec();
            at = end;
            Ok(Some(piece))
        }
    }

    #[test]
    fn reads_whole_bodies_and_cuts_long_ones() {
        let body = vec![b'a'; 100];
        assert_eq!(read_limited(reader(&body, 7), 1000), Ok(Read { bytes: body.clone(), truncated: false }));
        assert_eq!(read_limited(reader(&body, 7), 100), Ok(Read { bytes: body.clone(), truncated: false }));
        assert_eq!(read_limited(reader(&body, 7), 99), Ok(Read { bytes: vec![b'a'; 99], truncated: true }));
        assert_eq!(read_limited(reader(&body, 1000), 10), Ok(Read { bytes: vec![b'a'; 10], truncated: true }));
        let big = vec![b'b'; 100_000];
        let mut asked = Vec::new();
        let mut inner = reader(&big, usize::MAX);
        let read = read_limited(
            |max| {
                asked.push(max);
                inner(max)
            },
            40_000,
        )
        .expect("reads");
        assert!(read.truncated && read.bytes.len() == 40_000);
        assert!(asked.iter().all(|&a| a <= CHUNK_BYTES), "{asked:?}");
    }

    #[test]
    fn read_errors_pass_through() {
        assert_eq!(read_limited(|_| Err::<Option<Vec<u8>>, _>("boom"), 10), Err("boom"));
    }

    #[test]
    fn cuts_at_character_boundaries() {
        let text = "aé€😀".as_bytes(); // 1 + 2 + 3 + 4 bytes
        assert_eq!(utf8_prefix_len(text), 10);
        for (cut, expected) in
            [(0, 0), (1, 1), (2, 1), (3, 3), (4, 3), (5, 3), (6, 6), (7, 6), (8, 6), (9, 6), (10, 10)]
        {
            assert_eq!(utf8_prefix_len(&text[..cut]), expected, "cut at {cut}");
        }
        assert_eq!(decode(&text[..8], None, true), "aé€");
        assert_eq!(decode(&text[..8], None, false), "aé€\u{FFFD}");
        assert_eq!(decode(b"caf\xe9", Some("iso-8859-1"), false), "café");
    }
}
