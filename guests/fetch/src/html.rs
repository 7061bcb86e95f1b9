//! HTML to readable text: drops `<script>`/`<style>` (and `<noscript>`,
//! `<template>`) contents, comments and tags, decodes the common character
//! references, collapses whitespace, and keeps line and paragraph breaks where
//! block elements begin and end. A forgiving scanner, not a full HTML parser:
//! it runs in one pass, in time linear in the input.

/// Elements whose contents are not text.
const SKIPPED: [&str; 4] = ["script", "style", "noscript", "template"];

/// Elements that stand apart as paragraphs (a blank line before and after).
const PARAGRAPHS: [&str; 24] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "title",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "dl",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "figure",
    "form",
    "hr",
];

/// Elements that start on a line of their own.
const LINES: [&str; 12] =
    ["br", "div", "li", "tr", "dt", "dd", "option", "caption", "figcaption", "address", "details", "summary"];

/// Elements separated from their neighbours by a space.
const CELLS: [&str; 2] = ["td", "th"];

/// Turn `html` into text.
pub fn to_text(html: &str) -> String {
    // ASCII lowercasing keeps every byte offset, so positions found in `lower`
    // are valid in `html`.
    let lower = html.to_ascii_lowercase();
    let mut out = Writer::default();
    let mut i = 0;
    while let Some(rest) = html.get(i..) {
        let Some(c) = rest.chars().next() else { break };
        match c {
            '<' => match markup(&lower, i) {
                Markup::Skip(end) => i = end,
                Markup::Tag { name, closing, end } => {
                    i = end;
                    if !closing && SKIPPED.contains(&name) {
                        i = skip_element(&lower, name, end);
                    } else {
                        out.tag(name);
                    }
                }
                Markup::Text => {
                    out.push('<');
                    i += 1;
                }
            },
            '&' => match entity(rest) {
                Some((decoded, len)) => {
                    out.push(decoded);
                    i += len;
                }
                None => {
                    out.push('&');
                    i += 1;
                }
            },
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out.finish()
}

/// What a `<` starts.
enum Markup<'a> {
    /// A comment, doctype or processing instruction, ending before this index.
    Skip(usize),
    /// A tag (its lowercase name), ending before `end`.
    Tag { name: &'a str, closing: bool, end: usize },
    /// Not markup: a literal `<`.
    Text,
}

/// Read the markup at `start` (a `<`) in the lowercased document. Markup that
/// never ends runs to the end of the document, as in a browser.
fn markup(lower: &str, start: usize) -> Markup<'_> {
    let rest = lower.get(start..).unwrap_or("");
    if rest.starts_with("<!--") {
        return Markup::Skip(find(lower, start + 4, "-->").map_or(lower.len(), |at| at + 3));
    }
    if rest.starts_with("<!") || rest.starts_with("<?") {
        return Markup::Skip(find(lower, start + 2, ">").map_or(lower.len(), |at| at + 1));
    }
    let closing = rest.starts_with("</");
    let name_start = start + if closing { 2 } else { 1 };
    let after = lower.get(name_start..).unwrap_or("");
    if !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Markup::Text;
    }
    let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':')).unwrap_or(after.len());
    let name = after.get(..name_len).unwrap_or("");
    Markup::Tag { name, closing, end: tag_end(lower, name_start + name_len) }
}

/// The index after the `>` closing a tag whose attributes start at `from`,
/// skipping quoted attribute values (a quote right after `=` opens one); the
/// document's end if there is none.
fn tag_end(lower: &str, from: usize) -> usize {
    let mut quote = None;
    let mut previous = b' ';
    for (offset, &b) in lower.as_bytes().iter().enumerate().skip(from) {
        match quote {
            Some(q) if q == b => quote = None,
            Some(_) => {}
            None if b == b'>' => return offset + 1,
            None if (b == b'"' || b == b'\'') && previous == b'=' => quote = Some(b),
            None => {}
        }
        if !b.is_ascii_whitespace() {
            previous = b;
        }
    }
    lower.len()
}

/// The index after `</name ...>` following `from`, or the document's end.
fn skip_element(lower: &str, name: &str, from: usize) -> usize {
    let closing = format!("</{name}");
    match find(lower, from, &closing) {
        Some(at) => tag_end(lower, at + closing.len()),
        None => lower.len(),
    }
}

/// Where `needle` next occurs in `haystack` at or after `from`.
fn find(haystack: &str, from: usize, needle: &str) -> Option<usize> {
    haystack.get(from..)?.find(needle).map(|at| at + from)
}

/// Decode the character reference at the start of `text` (which starts with
/// `&`): the character and the reference's length in bytes. `None` when it is
/// not one this decoder knows (the `&` is then kept as it is).
fn entity(text: &str) -> Option<(char, usize)> {
    let semi = text.bytes().take(12).position(|b| b == b';')?;
    let name = text.get(1..semi)?;
    let decoded = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        // Like a browser: NUL, surrogates and out-of-range numbers become U+FFFD.
        char::from_u32(code).filter(|c| *c != '\0').unwrap_or('\u{FFFD}')
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{A0}',
            "ndash" => '\u{2013}',
            "mdash" => '\u{2014}',
            "hellip" => '\u{2026}',
            "lsquo" => '\u{2018}',
            "rsquo" => '\u{2019}',
            "ldquo" => '\u{201C}',
            "rdquo" => '\u{201D}',
            "copy" => '\u{A9}',
            _ => return None,
        }
    };
    Some((decoded, semi + 1))
}

/// Collects text, collapsing whitespace runs to one space and keeping the
/// strongest break asked for between two pieces of text.
#[derive(Default)]
struct Writer {
    out: String,
    /// Whitespace was seen since the last character written.
    space: bool,
    /// Newlines owed before the next character: 1 for a line, 2 for a paragraph.
    breaks: u8,
}

impl Writer {
    fn push(&mut self, c: char) {
        // Whitespace, including the no-break space of `&nbsp;`, collapses.
        if c.is_whitespace() {
            self.space = true;
            return;
        }
        if !self.out.is_empty() {
            if self.breaks > 0 {
                for _ in 0..self.breaks {
                    self.out.push('\n');
                }
            } else if self.space {
                self.out.push(' ');
            }
        }
        self.breaks = 0;
        self.space = false;
        self.out.push(c);
    }

    /// A tag (opening or closing) named `name`.
    fn tag(&mut self, name: &str) {
        if PARAGRAPHS.contains(&name) {
            self.breaks = self.breaks.max(2);
        } else if LINES.contains(&name) {
            self.breaks = self.breaks.max(1);
        } else if CELLS.contains(&name) {
            self.space = true;
        }
    }

    fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_markup_scripts_styles_and_comments() {
        let html = r#"<!DOCTYPE html><html><head><title>T</title><style>p { color: red }</style>
            <script type="text/javascript">if (a < b && c > d) { alert("</p>"); }</script></head>
            <body><!-- a comment <p>hidden</p> --><p class="x">Hello <b>bold</b> <a href="/x?a=1&amp;b=2" title="a>b">link</a>.</p>
            <SCRIPT>evil()</SCRIPT><noscript>Enable JS</noscript></body></html>"#;
        assert_eq!(to_text(html), "T\n\nHello bold link.");
    }

    #[test]
    fn keeps_line_and_paragraph_breaks() {
        let html = "<h1>Title</h1><p>One\n   two</p><p>Three<br>Four</p><ul><li>a</li><li>b</li></ul><div>c</div>end";
        assert_eq!(to_text(html), "Title\n\nOne two\n\nThree\nFour\n\na\nb\n\nc\nend");
        assert_eq!(to_text("<table><tr><td>x</td><td>y</td></tr><tr><th>z</th></tr></table>"), "x y\nz");
        assert_eq!(to_text("<span>a</span><span>b</span>"), "ab");
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(to_text("a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39; f&nbsp;g"), "a & b <c> \"d\" 'e' f g");
        assert_eq!(
            to_text("&#65;&#x42;&#X43; &#x1F600; &#0; &#xD800; &#99999999;"),
            "ABC 😀 \u{FFFD} \u{FFFD} \u{FFFD}"
        );
        assert_eq!(to_text("AT&T &unknown; &amp &#xZZ;"), "AT&T &unknown; &amp &#xZZ;");
        assert_eq!(to_text("&mdash;&hellip;"), "\u{2014}\u{2026}");
    }

    #[test]
    fn tolerates_broken_markup() {
        assert_eq!(to_text("1 < 2 and 3 <= 4"), "1 < 2 and 3 <= 4");
        assert_eq!(to_text("text <b unclosed"), "text");
        assert_eq!(to_text("a <!-- never closed"), "a");
        assert_eq!(to_text("<script>never closed"), "");
        assert_eq!(to_text("<p>x</p   ><P>y</P>"), "x\n\ny");
        assert_eq!(to_text("  \n\t "), "");
        assert_eq!(to_text("é<br/>ü"), "é\nü");
        assert_eq!(to_text("<p class=it's>a</p><p title = \"x>y\">b</p>"), "a\n\nb");
    }

    #[test]
    fn is_linear_on_hostile_input() {
        let nasty = "<a".repeat(50_000) + &"&#".repeat(50_000) + &"<!".repeat(10_000);
        let started = std::time::Instant::now();
        let _ = to_text(&nasty);
        assert!(started.elapsed().as_secs() < 2);
    }
}
