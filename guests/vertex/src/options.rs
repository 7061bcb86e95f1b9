//! The provider's options (`init`'s `options`, a JSON object): the Google Cloud
//! `project` and `location` (both required), and an optional `publisher` that
//! fixes which model family every request goes to. Each is checked here, so a
//! value can never change the shape of a URL it is written into.

use cordon_sdk::ProviderError;
use serde::{Deserialize, Serialize};

use crate::publisher::Publisher;

/// The options as the operator writes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    project: Option<String>,
    location: Option<String>,
    publisher: Option<String>,
}

/// The checked options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// The Google Cloud project id (or number).
    pub project: String,
    /// The Vertex AI location: a region such as `us-central1`, `global`, or a
    /// multi-region (`us`, `eu`).
    pub location: String,
    /// The publisher every request goes to; `None` picks it from the model name.
    pub publisher: Option<Publisher>,
}

/// An example of the options, for error messages.
const EXAMPLE: &str = r#"{"project": "my-project", "location": "us-central1"}"#;

/// Parse and check `text` (`None` when the operator gave no options).
pub fn parse(text: Option<&str>) -> Result<Options, ProviderError> {
    let raw: RawOptions = match text {
        Some(text) => serde_json::from_str(text).map_err(|err| {
            ProviderError::config(format!(
                "invalid vertex options ({err}): the options are `project`, `location` and the optional \
                 `publisher` (`google` or `anthropic`), e.g. {EXAMPLE}"
            ))
        })?,
        None => RawOptions::default(),
    };
    let project = required(raw.project, "project", "the Google Cloud project id")?;
    let location = required(raw.location, "location", "the Vertex AI region, or `global`")?;
    check_project(&project)?;
    check_location(&location)?;
    let publisher = raw.publisher.as_deref().map(Publisher::named).transpose()?;
    Ok(Options { project, location, publisher })
}

/// The value of a required option, or an error naming it and how to set it.
fn required(value: Option<String>, name: &str, what: &str) -> Result<String, ProviderError> {
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ProviderError::config(format!(
            "the vertex provider needs the `{name}` option ({what}): pass options such as {EXAMPLE} \
             (`options = {{ project = \"my-project\", location = \"us-central1\" }}` in a serve config)"
        ))),
    }
}

/// A project id (`my-project-123`), a domain-scoped one (`example.com:my-project`)
/// or a project number. It starts with a letter or digit (so it is never `..`).
fn check_project(project: &str) -> Result<(), ProviderError> {
    let valid = project.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && project.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(ProviderError::config(format!(
            "`project` `{project}` is not a Google Cloud project id: use lower-case letters, digits and `-` \
             (as `gcloud projects list` shows it, e.g. `my-project-123`)"
        )))
    }
}

/// A location: lower-case letters, digits and `-` (it becomes part of a host name).
fn check_location(location: &str) -> Result<(), ProviderError> {
    let valid = location.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !location.starts_with('-')
        && !location.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(ProviderError::config(format!(
            "`location` `{location}` is not a Vertex AI location: use a region such as `us-central1` or \
             `europe-west4`, `global`, or a multi-region (`us`, `eu`)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_location_are_required_and_named() {
        let missing_project = parse(Some(r#"{"location":"us-central1"}"#)).expect_err("no project");
        assert!(missing_project.message.contains("`project`"), "{}", missing_project.message);
        let missing_location = parse(Some(r#"{"project":"p-1"}"#)).expect_err("no location");
        assert!(missing_location.message.contains("`location`"), "{}", missing_location.message);
        let none = parse(None).expect_err("no options");
        assert!(none.message.contains("`project`"), "{}", none.message);
        assert!(parse(Some(r#"{"project":"","location":"global"}"#)).is_err());
    }

    #[test]
    fn values_that_would_change_a_url_are_refused() {
        for project in ["a/b", "p?x", "P-UPPER", "p#1", "p q", "..", ".p"] {
            let options = format!(r#"{{"project":"{project}","location":"us-central1"}}"#);
            assert!(parse(Some(&options)).is_err(), "{project}");
        }
        for location in ["us-central1.evil.com", "a/b", "-x", "x-", "US"] {
            let options = format!(r#"{{"project":"p","location":"{location}"}}"#);
            assert!(parse(Some(&options)).is_err(), "{location}");
        }
    }

    #[test]
    fn unknown_options_and_publishers_are_refused() {
        let region = parse(Some(r#"{"project":"p","region":"us-central1"}"#)).expect_err("unknown");
        assert!(region.message.contains("`location`"), "{}", region.message);
        assert!(parse(Some(r#"{"project":"p","location":"global","publisher":"meta"}"#)).is_err());
    }

    #[test]
    fn good_options_are_kept() {
        let options = parse(Some(r#"{"project":"example.com:my-project","location":"global","publisher":"anthropic"}"#))
            .expect("valid");
        assert_eq!(options.project, "example.com:my-project");
        assert_eq!(options.location, "global");
        assert_eq!(options.publisher, Some(Publisher::Anthropic));
    }
}
