//! The `get` action: one GET through the host's broker, the status checked,
//! the content type checked, the body read up to the budget and turned into text.

use cordon_sdk::tool::http::{self, Response};
use cordon_sdk::tool::{Header, OutgoingRequest, ToolError, ToolErrorKind, from_http_error};
use serde::Deserialize;

use crate::body::{self, Read};
use crate::content_type::{self, TextKind};
use crate::html;

/// What the tool tells servers it reads.
pub const ACCEPT: &str = "text/*, application/json;q=0.9, */*;q=0.1";

/// Bytes read when `max_bytes` is not given.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024;

/// The most `max_bytes` may be.
pub const MAX_MAX_BYTES: u64 = 256 * 1024;

/// Bytes of an error answer's body quoted in the error.
const EXCERPT_BYTES: usize = 512;

/// Characters of an error answer's body quoted in the error.
const EXCERPT_CHARS: usize = 300;

/// The arguments of `get`.
#[derive(Debug, Deserialize)]
pub struct GetArgs {
    /// The http(s) URL to fetch.
    pub url: String,
    /// How many bytes of the body to read at most.
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

/// Check the arguments the schema cannot fully check; returns the byte budget.
pub fn check(args: &GetArgs) -> Result<usize, ToolError> {
    let scheme_ok = ["http://", "https://"]
        .iter()
        .any(|scheme| args.url.get(..scheme.len()).is_some_and(|start| start.eq_ignore_ascii_case(scheme)));
    if !scheme_ok {
        return Err(ToolError::invalid(format!("`{}` is not an http:// or https:// URL", args.url)));
    }
    let max = args.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    if !(1..=MAX_MAX_BYTES).contains(&max) {
        return Err(ToolError::invalid(format!("max_bytes must be from 1 to {MAX_MAX_BYTES}, got {max}")));
    }
    usize::try_from(max).map_err(|_| ToolError::invalid("max_bytes is too large"))
}

/// Fetch `args.url` and answer with the action's JSON output.
pub fn get(args: &GetArgs) -> Result<String, ToolError> {
    let max = check(args)?;
    let request = OutgoingRequest {
        method: "GET".into(),
        url: args.url.clone(),
        headers: vec![Header { name: "accept".into(), value: ACCEPT.into() }],
        body: Vec::new(),
        secrets: Vec::new(),
    };
    // A refused host comes back as `denied`, with the host's message naming it.
    let response = http::send(&request).map_err(from_http_error)?;
    let content_type = header(&response, "content-type");
    if !(200..300).contains(&response.status) {
        let excerpt =
            read(&response, EXCERPT_BYTES).map(|read| excerpt(&read, content_type.as_deref())).unwrap_or_default();
        return Err(status_error(&args.url, response.status, &excerpt));
    }
    let kind = content_type::classify(content_type.as_deref()).map_err(|media| {
        ToolError::new(
            ToolErrorKind::Failed,
            format!(
                "`{}` answered with `{media}` content, which is not text; this tool reads only text \
                 (text/*, JSON, XML, JavaScript)",
                args.url
            ),
        )
    })?;
    let read = read(&response, max)?;
    // The body resource is dropped with `response` when this function returns.
    let charset = content_type.as_deref().and_then(content_type::charset);
    let decoded = body::decode(&read.bytes, charset.as_deref(), read.truncated);
    let text = match kind {
        TextKind::Html => html::to_text(&decoded),
        TextKind::Plain => decoded,
    };
    let output = serde_json::json!({
        "url": args.url,
        "status": response.status,
        "content_type": content_type,
        "text": text,
        "truncated": read.truncated,
    });
    Ok(output.to_string())
}

/// The first value of header `name` (case-insensitive).
fn header(response: &Response, name: &str) -> Option<String> {
    response.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.clone())
}

/// Read up to `max` bytes of the response's body.
fn read(response: &Response, max: usize) -> Result<Read, ToolError> {
    body::read_limited(|ask| response.body.read(ask), max).map_err(from_http_error)
}

/// A short, single-line excerpt of an error answer's body.
pub fn excerpt(read: &Read, content_type: Option<&str>) -> String {
    let text = body::decode(&read.bytes, None, true);
    let text = match content_type::classify(content_type) {
        Ok(TextKind::Html) => html::to_text(&text),
        _ => text,
    };
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = flat.chars().take(EXCERPT_CHARS).collect();
    if short.len() < flat.len() || read.truncated {
        short.push_str("...");
    }
    short
}

/// The error for a non-2xx status: 404 is not-found, anything else upstream.
pub fn status_error(url: &str, status: u16, excerpt: &str) -> ToolError {
    let body = if excerpt.is_empty() { String::new() } else { format!(": {excerpt}") };
    if status == 404 {
        ToolError::new(ToolErrorKind::NotFound, format!("`{url}` answered HTTP 404 Not Found{body}"))
    } else {
        ToolError::new(ToolErrorKind::Upstream, format!("`{url}` answered HTTP {status}{body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str, max_bytes: Option<u64>) -> GetArgs {
        GetArgs { url: url.to_owned(), max_bytes }
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(check(&args("https://example.com/", None)).ok(), Some(65536));
        assert_eq!(check(&args("HTTP://example.com/", Some(1))).ok(), Some(1));
        assert_eq!(check(&args("https://example.com/", Some(262_144))).ok(), Some(262_144));
        for bad in [
            args("ftp://example.com/", None),
            args("example.com", None),
            args("https://x/", Some(0)),
            args("https://x/", Some(262_145)),
        ] {
            assert_eq!(check(&bad).expect_err("refused").kind, ToolErrorKind::InvalidArguments);
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        let err = status_error("https://example.com/x", 404, "");
        assert_eq!(err.kind, ToolErrorKind::NotFound);
        assert_eq!(err.message, "`https://example.com/x` answered HTTP 404 Not Found");
        let err = status_error("https://example.com/x", 503, "try later");
        assert_eq!(err.kind, ToolErrorKind::Upstream);
        assert_eq!(err.message, "`https://example.com/x` answered HTTP 503: try later");
    }

    #[test]
    fn excerpts_are_short_and_flat() {
        let read = Read {
            bytes: b"<html><body><h1>Oops</h1>\n<p>Server   error</p></body></html>".to_vec(),
            truncated: false,
        };
        assert_eq!(excerpt(&read, Some("text/html")), "Oops Server error");
        let long = Read { bytes: vec![b'x'; 512], truncated: true };
        let short = excerpt(&long, None);
        assert_eq!(short.len(), EXCERPT_CHARS + 3);
        assert!(short.ends_with("..."));
    }
}
