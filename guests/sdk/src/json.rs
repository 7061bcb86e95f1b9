//! Borrowing strings out of a provider's JSON while it is parsed.
//!
//! serde borrows a `Cow<'a, str>` field from the input only when the field is
//! the `Cow` itself; inside an `Option` every string is copied into a new
//! `String`, two allocations and a copy per field per chunk. Streams are parsed
//! chunk by chunk, so stream structs mark their optional text fields:
//!
//! ```ignore
//! #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
//! id: Option<Cow<'a, str>>,
//! ```
//!
//! A string without escapes is then borrowed; one with escapes (the parser must
//! unescape it) is still copied.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::Visitor;

/// Deserialize an optional string (a string, `null` or absent), borrowing it
/// from the input when it has no escapes.
pub fn borrowed<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    deserializer.deserialize_option(OptionalText)
}

/// Visits a string or `null`.
struct OptionalText;

impl<'de> Visitor<'de> for OptionalText {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(text)))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Chunk<'a> {
        #[serde(borrow, default, deserialize_with = "borrowed")]
        text: Option<Cow<'a, str>>,
    }

    fn parse(json: &str) -> Option<Cow<'_, str>> {
        serde_json::from_str::<Chunk<'_>>(json).expect("valid JSON").text
    }

    #[test]
    fn plain_strings_are_borrowed_and_escaped_ones_unescaped() {
        assert!(matches!(parse(r#"{"text":"plain"}"#), Some(Cow::Borrowed("plain"))));
        let escaped = parse(r#"{"text":"line\nbreak \"quoted\" \u00e9"}"#);
        assert!(matches!(&escaped, Some(Cow::Owned(_))));
        assert_eq!(escaped.as_deref(), Some("line\nbreak \"quoted\" é"));
    }

    #[test]
    fn null_and_absent_are_none_and_other_types_are_errors() {
        assert_eq!(parse(r#"{"text":null}"#), None);
        assert_eq!(parse("{}"), None);
        let error = serde_json::from_str::<Chunk<'_>>(r#"{"text":3}"#).err().expect("a number is not text");
        assert!(error.to_string().contains("a string or null"), "{error}");
    }
}
