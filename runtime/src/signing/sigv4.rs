//! AWS Signature Version 4 (header signing): the canonical request, the
//! string to sign, the derived signing key and the `authorization` header, as
//! AWS specifies them and as its published test suite checks them. The
//! primitives (SHA-256, HMAC-SHA256) are `ring`'s; this file only writes the
//! canonical forms.
//!
//! The path is canonicalised the way AWS services (all but S3) do: dot
//! segments and repeated slashes removed, then every byte but the unreserved
//! ones and `/` percent-encoded — applied to the path as sent, so an encoded
//! character is encoded again (`%3A` becomes `%253A`), as botocore does. Query
//! parameters are decoded, encoded strictly and sorted by name, then value,
//! as AWS's SDKs do (botocore keeps the query as sent: the two agree for a
//! query encoded strictly, as every AWS API's is).
//! Header values are trimmed, their inner runs of spaces collapsed, repeated
//! headers joined with `,`.

use percent_encoding::{AsciiSet, utf8_percent_encode};
use ring::{digest, hmac};
use time::OffsetDateTime;

use crate::scrub::URI_COMPONENT;

/// The algorithm's name, as the string to sign and `authorization` write it.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What the path encoding leaves alone: the unreserved characters and `/`.
const PATH_SAFE: &AsciiSet = &URI_COMPONENT.remove(b'/');

/// Headers never signed: a proxy or the client may change them on the way.
const UNSIGNED_HEADERS: [&str; 5] = ["authorization", "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"];

/// A request as the signature covers it.
pub struct Request<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path as sent (percent-encoded as it goes on the wire).
    pub path: &'a str,
    /// The query as sent, without `?` (empty for none).
    pub query: &'a str,
    /// The headers to sign, `host` included, as (name, value).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: &'a [u8],
}

/// Who signs, for what, and when.
pub struct Scope<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials: sent, and signed, as
    /// `x-amz-security-token`.
    pub session_token: Option<&'a str>,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The service, e.g. `bedrock`.
    pub service: &'a str,
    /// The signing time.
    pub time: OffsetDateTime,
    /// Whether to send, and sign, `x-amz-content-sha256` (the body's hash).
    pub content_sha256_header: bool,
}

/// A signature and what it was made from.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The headers to add to the request: `x-amz-date`, and as asked
    /// `x-amz-content-sha256` and `x-amz-security-token`, then `authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// The signature, hex.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
}

/// Sign `request` as `scope` says.
pub fn sign(request: &Request<'_>, scope: &Scope<'_>) -> Signed {
    let amz_date = amz_date(scope.time);
    let date = &amz_date[..8];
    let payload_hash = hex(digest::digest(&digest::SHA256, request.body).as_ref());
    let mut added: Vec<(&'static str, String)> = vec![("x-amz-date", amz_date.clone())];
    if scope.content_sha256_header {
        added.push(("x-amz-content-sha256", payload_hash.clone()));
    }
    if let Some(token) = scope.session_token {
        added.push(("x-amz-security-token", token.to_owned()));
    }
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .filter(|(name, _)| !UNSIGNED_HEADERS.contains(&name.as_str()) && !added.iter().any(|(a, _)| a == name))
        .collect();
    headers.extend(added.iter().map(|(name, value)| ((*name).to_owned(), value.clone())));
    let (canonical_headers, signed_headers) = canonical_headers(&headers);
    let canonical_request = [
        request.method.to_owned(),
        canonical_uri(request.path),
        canonical_query(request.query),
        canonical_headers,
        signed_headers.clone(),
        payload_hash,
    ]
    .join("\n");
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
    );
    let mut key = hmac_sha256(format!("AWS4{}", scope.secret_access_key).as_bytes(), date.as_bytes());
    for part in [scope.region, scope.service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    added.push((
        "authorization",
        format!(
            "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
            scope.access_key_id
        ),
    ));
    Signed { headers: added, signature, canonical_request, string_to_sign }
}

/// `YYYYMMDDTHHMMSSZ` of `time` in UTC.
fn amz_date(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The path without dot segments and repeated slashes, encoded.
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut normalized = format!("/{}", segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    utf8_percent_encode(&normalized, PATH_SAFE).to_string()
}

/// The query's parameters, decoded as a form (`+` is a space), strictly
/// encoded, sorted by name then value: as AWS's SDKs and services do.
fn canonical_query(query: &str) -> String {
    let encode = |text: &str| utf8_percent_encode(text, URI_COMPONENT).to_string();
    let mut pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_bytes()).map(|(name, value)| (encode(&name), encode(&value))).collect();
    pairs.sort();
    pairs.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&")
}

/// The canonical header block (each `name:value\n`) and the signed header names.
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut joined: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match joined.iter_mut().find(|(n, _)| n == name) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => joined.push((name.clone(), value)),
        }
    }
    joined.sort_by(|a, b| a.0.cmp(&b.0));
    let block: String = joined.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let names: Vec<&str> = joined.iter().map(|(name, _)| name.as_str()).collect();
    (block, names.join(";"))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// AWS's published SigV4 test suite, in the shared fixtures.
    fn suite() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/sigv4");
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!("skipped: {} is absent (AWS's SigV4 test suite is read from ../shared/fixtures)", dir.display());
            None
        }
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    /// `2015-08-30T12:36:00Z` (fractions of a second ignored).
    fn time(text: &str) -> OffsetDateTime {
        let number = |range: std::ops::Range<usize>| -> u16 {
            text.get(range).and_then(|digits| digits.parse().ok()).unwrap_or_else(|| panic!("`{text}` is not an RFC 3339 UTC time"))
        };
        let byte = |range| u8::try_from(number(range)).expect("small");
        let month = time::Month::try_from(byte(5..7)).expect("a month");
        let date = time::Date::from_calendar_date(i32::from(number(0..4)), month, byte(8..10)).expect("a date");
        let clock = time::Time::from_hms(byte(11..13), byte(14..16), byte(17..19)).expect("a time");
        time::PrimitiveDateTime::new(date, clock).assume_utc()
    }

    /// A request of the suite's `request.txt`: request line, headers, blank line, body.
    fn parse_request(text: &str) -> (String, String, String, Vec<(String, String)>, Vec<u8>) {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let request_line = lines.next().expect("a request line");
        let mut parts = request_line.splitn(2, ' ');
        let method = parts.next().expect("a method").to_owned();
        let target = parts.next().expect("a target").rsplit_once(' ').expect("HTTP version").0.to_owned();
        let (path, query) = target.split_once('?').map_or((target.clone(), String::new()), |(p, q)| (p.to_owned(), q.to_owned()));
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("header line `{line}`"));
                (name.to_owned(), value.to_owned())
            })
            .collect();
        (method, path, query, headers, body.as_bytes().to_vec())
    }

    #[test]
    fn aws_test_suite_vectors_pass() {
        let Some(suite) = suite() else { return };
        let mut cases = 0;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&suite).expect("the suite").filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for case in entries.iter().filter(|p| p.join("request.txt").is_file()) {
            let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let context: serde_json::Value = serde_json::from_str(&read(&case.join("context.json"))).expect("context.json");
            let (method, path, query, headers, body) = parse_request(&read(&case.join("request.txt")));
            let credentials = &context["credentials"];
            let str_of = |value: &serde_json::Value| value.as_str().unwrap_or_else(|| panic!("{name}: {value} is not a string")).to_owned();
            let (id, secret) = (str_of(&credentials["access_key_id"]), str_of(&credentials["secret_access_key"]));
            let token = credentials["token"].as_str();
            let (region, service) = (str_of(&context["region"]), str_of(&context["service"]));
            let scope = Scope {
                access_key_id: &id,
                secret_access_key: &secret,
                session_token: token,
                region: &region,
                service: &service,
                time: time(&str_of(&context["timestamp"])),
                content_sha256_header: context["sign_body"].as_bool() == Some(true),
            };
            let signed = sign(&Request { method: &method, path: &path, query: &query, headers, body: &body }, &scope);
            assert_eq!(signed.canonical_request, read(&case.join("header-canonical-request.txt")), "{name}: canonical request");
            assert_eq!(signed.string_to_sign, read(&case.join("header-string-to-sign.txt")), "{name}: string to sign");
            assert_eq!(signed.signature, read(&case.join("header-signature.txt")), "{name}: signature");
            let authorization = signed.headers.iter().find(|(n, _)| *n == "authorization").map(|(_, v)| v.clone());
            let expected = read(&case.join("header-signed-request.txt"));
            let line = expected.lines().find_map(|l| l.strip_prefix("Authorization:")).map(str::to_owned);
            assert_eq!(authorization, line, "{name}: authorization header");
            cases += 1;
        }
        assert!(cases >= 5, "only {cases} cases found in {}", suite.display());
    }

    #[test]
    fn a_json_post_with_a_session_token_signs_as_recorded() {
        let Some(suite) = suite() else { return };
        let case: serde_json::Value = serde_json::from_str(&read(&suite.join("post-json-session-token.json"))).expect("json");
        let text = |value: &serde_json::Value| value.as_str().expect("a string").to_owned();
        let url = url::Url::parse(&text(&case["request"]["url"])).expect("url");
        let body = text(&case["request"]["body"]);
        let host = url.host_str().expect("host").to_owned();
        let headers = vec![("content-type".to_owned(), text(&case["request"]["contentType"])), ("host".to_owned(), host)];
        let credentials = &case["credentials"];
        let (id, secret, token) = (text(&credentials["accessKeyId"]), text(&credentials["secretAccessKey"]), text(&credentials["sessionToken"]));
        let (region, service) = (text(&case["region"]), text(&case["service"]));
        let scope = Scope {
            access_key_id: &id,
            secret_access_key: &secret,
            session_token: Some(&token),
            region: &region,
            service: &service,
            time: time(&text(&case["signingDate"])),
            content_sha256_header: true,
        };
        let method = text(&case["request"]["method"]);
        let signed = sign(&Request { method: &method, path: url.path(), query: "", headers, body: body.as_bytes() }, &scope);
        let expected = &case["expected"];
        let header = |name: &str| signed.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(header("x-amz-date"), text(&expected["date"]));
        assert_eq!(header("x-amz-content-sha256"), text(&expected["payloadHash"]));
        assert_eq!(hex(digest::digest(&digest::SHA256, signed.canonical_request.as_bytes()).as_ref()), text(&expected["canonicalRequestHash"]));
        assert_eq!(header("authorization"), text(&expected["authorization"]));
        assert_eq!(header("x-amz-security-token"), token);
    }

    #[test]
    fn paths_and_queries_are_canonicalised_as_aws_does() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("//example//"), "/example/");
        assert_eq!(canonical_uri("/example/.."), "/");
        assert_eq!(canonical_uri("/./a/b/../c"), "/a/c");
        assert_eq!(canonical_uri("/model/m-v1:0/converse-stream"), "/model/m-v1%3A0/converse-stream");
        assert_eq!(canonical_uri("/model/m-v1%3A0/x"), "/model/m-v1%253A0/x", "an encoded path is encoded again");
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
        assert_eq!(canonical_query("b=2&a=x y&a=1&&c"), "a=1&a=x%20y&b=2&c=");
        assert_eq!(canonical_query("k=%7e%2f"), "k=~%2F");
        assert_eq!(canonical_query("k=a+b%2B"), "k=a%20b%2B", "a form's `+` is a space");
        let (block, names) = canonical_headers(&[
            ("my-header".into(), "  a   b  ".into()),
            ("host".into(), "h".into()),
            ("my-header".into(), "c".into()),
        ]);
        assert_eq!(block, "host:h\nmy-header:a b,c\n");
        assert_eq!(names, "host;my-header");
    }
}
