//! Which responses the fetch tool reads: text only, judged by the
//! `content-type` header; HTML is recognised so it can be turned into text.

/// How a readable body is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// HTML (or XHTML): converted to readable text.
    Html,
    /// Any other text: passed on as it is.
    Plain,
}

/// The media type of a `content-type` value: before any `;`, trimmed, lowercase.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The `charset` parameter of a `content-type` value, lowercase, if any.
pub fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// Classify a response by its `content-type` (`None` when it has none, which
/// counts as text). `Err` carries the media type of a body that is not text.
pub fn classify(content_type: Option<&str>) -> Result<TextKind, String> {
    let Some(content_type) = content_type else { return Ok(TextKind::Plain) };
    let media = media_type(content_type);
    let is_text = media.is_empty()
        || media.starts_with("text/")
        || matches!(media.as_str(), "application/json" | "application/xml" | "application/javascript")
        || media.ends_with("+json")
        || media.ends_with("+xml");
    if !is_text {
        return Err(media);
    }
    if media == "text/html" || media == "application/xhtml+xml" { Ok(TextKind::Html) } else { Ok(TextKind::Plain) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_are_read() {
        assert_eq!(classify(None), Ok(TextKind::Plain));
        assert_eq!(classify(Some("")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("text/html; charset=utf-8")), Ok(TextKind::Html));
        assert_eq!(classify(Some("TEXT/HTML")), Ok(TextKind::Html));
        assert_eq!(classify(Some("application/xhtml+xml")), Ok(TextKind::Html));
        assert_eq!(classify(Some("text/plain")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("text/markdown; charset=UTF-8")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("application/json")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("application/vnd.github+json")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("application/problem+json; charset=utf-8")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("application/xml")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("application/atom+xml")), Ok(TextKind::Plain));
        assert_eq!(classify(Some("application/javascript")), Ok(TextKind::Plain));
    }

    #[test]
    fn other_types_are_refused() {
        assert_eq!(classify(Some("image/png")), Err("image/png".to_owned()));
        assert_eq!(classify(Some("application/octet-stream")), Err("application/octet-stream".to_owned()));
        assert_eq!(classify(Some("application/pdf; q=1")), Err("application/pdf".to_owned()));
        assert_eq!(classify(Some("application/jsonx")), Err("application/jsonx".to_owned()));
    }

    #[test]
    fn charsets() {
        assert_eq!(charset("text/html; charset=ISO-8859-1"), Some("iso-8859-1".to_owned()));
        assert_eq!(charset("text/html;charset=\"utf-8\""), Some("utf-8".to_owned()));
        assert_eq!(charset("text/html"), None);
    }
}
