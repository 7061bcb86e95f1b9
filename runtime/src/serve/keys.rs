//! Who is calling: the gateway's client keys (`[keys.NAME]` in its config).
//!
//! A key is configured as the SHA-256 digest of its value (`sha256 = "…"`,
//! so the file holds no key) or read from the environment or a file at start
//! (`key = "env:VAR"`), and is kept only as that digest. A request presents
//! its key as the OpenAI clients send it (`Authorization: Bearer KEY`) or as
//! the Anthropic clients do (`x-api-key: KEY`). The presented key is digested
//! and found by the first 8 bytes of its digest; whether it matches is decided
//! by a constant-time comparison of the whole digest, so the time an answer
//! takes says nothing about how close a guess came. Keys are never logged: a
//! request is logged with its key's name.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use hyper::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::serve::ledger::{Budget, RateLimits};

/// A SHA-256 digest of a key.
pub type KeyDigest = [u8; 32];

/// One configured key, as the config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConfig {
    /// The key's digest.
    pub digest: KeyDigest,
    /// The public model names it may use; `None`: every model.
    pub models: Option<BTreeSet<String>>,
    /// Its rate limits.
    pub limits: RateLimits,
    /// Its budget, if it has one.
    pub budget: Option<Budget>,
}

/// An identified caller.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientKey {
    /// The key's name in the config (what logs and metrics show).
    pub name: String,
    models: Option<BTreeSet<String>>,
    /// Its rate limits.
    pub limits: RateLimits,
    /// Its budget, if it has one.
    pub budget: Option<Budget>,
}

impl ClientKey {
    /// Whether this key may use the public model `model`.
    pub fn may_use(&self, model: &str) -> bool {
        self.models.as_ref().is_none_or(|models| models.contains(model))
    }
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It presented no key.
    Missing,
    /// Its key is none of the gateway's.
    Unknown,
}

impl Refusal {
    /// What the client is told (401).
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Missing => {
                "this gateway needs an API key: send `Authorization: Bearer KEY` (the OpenAI clients' `api_key`) \
                 or `x-api-key: KEY` (the Anthropic clients'); its operator gives out the keys"
            }
            Refusal::Unknown => "the API key is not one of this gateway's keys: check the key your client sends (`api_key`)",
        }
    }
}

/// The gateway's keys.
#[derive(Debug, Default)]
pub struct Keys {
    keys: Vec<(KeyDigest, Arc<ClientKey>)>,
    /// The first 8 bytes of each digest -> positions in `keys`.
    by_prefix: HashMap<u64, Vec<usize>>,
}

impl Keys {
    /// The keys of a config, by name.
    pub fn new<'a>(configured: impl IntoIterator<Item = (&'a String, &'a KeyConfig)>) -> Keys {
        let mut keys = Keys::default();
        for (name, config) in configured {
            let client = Arc::new(ClientKey { name: name.clone(), models: config.models.clone(), limits: config.limits, budget: config.budget });
            keys.by_prefix.entry(prefix(&config.digest)).or_default().push(keys.keys.len());
            keys.keys.push((config.digest, client));
        }
        keys
    }

    /// Whether any key is configured (without keys, every request is let in).
    pub fn required(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The caller a request's headers identify: `Ok(None)` when no keys are
    /// configured, the key when it is one of them, or why it is refused.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Option<Arc<ClientKey>>, Refusal> {
        if !self.required() {
            return Ok(None);
        }
        let presented = presented_key(headers).ok_or(Refusal::Missing)?;
        let digest = digest(presented);
        let candidates = self.by_prefix.get(&prefix(&digest)).map_or(&[][..], Vec::as_slice);
        let mut found = None;
        for &index in candidates {
            if let Some((stored, client)) = self.keys.get(index)
                && bool::from(stored.ct_eq(&digest))
            {
                found = Some(Arc::clone(client));
            }
        }
        found.map(Some).ok_or(Refusal::Unknown)
    }
}

/// The SHA-256 digest of `key`.
pub fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

/// `digest` as 64 lowercase hex digits, as `sha256 = "…"` takes it.
pub fn hex(digest: &KeyDigest) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Read 64 hex digits (as `sha256sum` prints them) into a digest.
pub fn parse_hex(text: &str) -> Result<KeyDigest, String> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return Err(format!("has {} characters where a SHA-256 digest has 64 hex digits", text.len()));
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| "is not hex".to_owned())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| format!("`{pair}` is not a hex byte"))?;
    }
    Ok(digest)
}

fn prefix(digest: &KeyDigest) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// The key a request presents: `Authorization: Bearer KEY`, else `x-api-key: KEY`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")));
    bearer
        .or_else(|| headers.get("x-api-key").and_then(|value| value.to_str().ok()))
        .map(str::trim)
        .filter(|key| !key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn keys() -> Keys {
        let team = KeyConfig { digest: digest("sk-team"), models: Some(BTreeSet::from(["fast".to_owned()])), limits: RateLimits::default(), budget: None };
        let admin = KeyConfig { digest: digest("sk-all"), models: None, limits: RateLimits::default(), budget: None };
        let configured = [("team".to_owned(), team), ("all".to_owned(), admin)];
        Keys::new(configured.iter().map(|(name, config)| (name, config)))
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("a header value"));
        headers
    }

    #[test]
    fn a_key_is_found_by_either_header_and_limited_to_its_models() {
        let keys = keys();
        let team = keys.identify(&headers("authorization", "Bearer sk-team")).expect("let in").expect("a key");
        assert_eq!(team.name, "team");
        assert!(team.may_use("fast") && !team.may_use("smart"));
        let all = keys.identify(&headers("x-api-key", "sk-all")).expect("let in").expect("a key");
        assert_eq!(all.name, "all");
        assert!(all.may_use("smart"));
    }

    #[test]
    fn a_missing_or_unknown_key_is_refused() {
        let keys = keys();
        assert_eq!(keys.identify(&HeaderMap::new()), Err(Refusal::Missing));
        assert_eq!(keys.identify(&headers("authorization", "Bearer ")), Err(Refusal::Missing));
        assert_eq!(keys.identify(&headers("authorization", "Basic sk-team")), Err(Refusal::Missing));
        assert_eq!(keys.identify(&headers("authorization", "Bearer sk-tea")), Err(Refusal::Unknown));
        assert_eq!(keys.identify(&headers("x-api-key", "sk-team2")), Err(Refusal::Unknown));
        assert_eq!(Keys::default().identify(&HeaderMap::new()), Ok(None), "no keys configured: everyone is let in");
    }

    #[test]
    fn digests_read_as_sha256sum_prints_them() {
        // `printf %s sk-test | sha256sum`
        let printed = "f3abf2a6cc4f00987743db5f544ba345b4899ae31f326d8ee9c4816de153c9e0";
        assert_eq!(parse_hex(printed), Ok(digest("sk-test")));
        assert_eq!(hex(&digest("sk-test")), printed);
        assert_eq!(parse_hex(&printed.to_uppercase()), Ok(digest("sk-test")), "either case");
        assert!(parse_hex("abc").expect_err("short").contains("64 hex digits"));
        assert!(parse_hex(&"zz".repeat(32)).expect_err("not hex").contains("`zz` is not a hex byte"));
    }
}
