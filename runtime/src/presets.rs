//! Named services: the preset table shipped with the project
//! (`runtime/data/presets.toml`). A preset says which component speaks the
//! service's wire format, where the service is, which variable its key is
//! usually kept in, and the provider options that shape requests the way the
//! service wants them. It is data: the component applies the options.
//!
//! A preset grants nothing by itself. Its base URL is granted as any base URL
//! the operator names is (its origin, with the secrets), and its variable is
//! only the suggested binding of the component's secret: the operator's own
//! binding wins. `cordon providers` lists the table, `cordon chat --preset`
//! and a gateway's `preset = "NAME"` resolve a row with [`Preset::resolve`].

use std::sync::OnceLock;

use serde::Deserialize;

use crate::trust::SecretSource;

/// The table shipped with the project.
const SHIPPED: &str = include_str!("../data/presets.toml");

/// The secret a preset binds when it names none.
const DEFAULT_SECRET: &str = "api-key";

/// One named service.
#[derive(Debug, Clone)]
pub struct Preset {
    /// The name `--preset` and `preset =` take.
    pub name: String,
    /// The service's name.
    pub title: String,
    /// The provider component that speaks its wire format.
    pub component: String,
    /// Where requests go; may hold one `{placeholder}` the operator fills.
    pub base_url: String,
    /// The component's secret the suggested binding is for.
    pub secret_name: String,
    /// The suggested binding (`env:VAR`, or `aws` / `google` for signing).
    pub secret: SecretSource,
    /// Whether the service runs without a key (a local server).
    pub key_optional: bool,
    /// The provider options (a JSON object).
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Where the service streams reasoning, for the record.
    pub reasoning: Option<String>,
    /// What else differs.
    pub notes: Option<String>,
}

/// A preset resolved against what the operator gave: what to load.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The component to load.
    pub component: String,
    /// The base URL (the operator's, else the preset's).
    pub base_url: String,
    /// The provider options: the preset's, the operator's merged over them.
    pub options: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    presets: Vec<RawPreset>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPreset {
    name: String,
    title: String,
    component: String,
    base_url: String,
    secret: String,
    secret_name: Option<String>,
    #[serde(default)]
    key_optional: bool,
    reasoning: Option<String>,
    #[serde(default)]
    options: toml::Table,
    notes: Option<String>,
}

/// Every preset, in the table's order.
pub fn all() -> Result<&'static [Preset], String> {
    static TABLE: OnceLock<Result<Vec<Preset>, String>> = OnceLock::new();
    TABLE.get_or_init(|| parse(SHIPPED)).as_deref().map_err(|why| format!("the shipped preset table: {why}"))
}

/// The preset named `name`, or an error naming the closest ones and `cordon providers`.
pub fn find(name: &str) -> Result<&'static Preset, String> {
    let presets = all()?;
    if let Some(preset) = presets.iter().find(|p| p.name == name) {
        return Ok(preset);
    }
    let close = closest(name, presets);
    let hint = if close.is_empty() { String::new() } else { format!("did you mean {}? ", close.join(", ")) };
    Err(format!("no preset named `{name}`: {hint}`cordon providers` lists all {}", presets.len()))
}

/// The names most like `name` (at most three, best first).
fn closest(name: &str, presets: &[Preset]) -> Vec<String> {
    let wanted = name.to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = presets
        .iter()
        .map(|p| {
            let mut score = strsim::normalized_damerau_levenshtein(&wanted, &p.name);
            let title = p.title.to_ascii_lowercase();
            if !wanted.is_empty() && (p.name.contains(&wanted) || wanted.contains(&p.name) || title.contains(&wanted)) {
                score = score.max(0.75);
            }
            (score, p.name.as_str())
        })
        .filter(|(score, _)| *score >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, name)| format!("`{name}`")).collect()
}

/// Parse and check a preset table.
fn parse(text: &str) -> Result<Vec<Preset>, String> {
    let raw: RawTable = toml::from_str(text).map_err(|err| err.to_string())?;
    let mut presets: Vec<Preset> = Vec::with_capacity(raw.presets.len());
    for raw in raw.presets {
        let at = |why: String| format!("preset `{}`: {why}", raw.name);
        let valid_name = !raw.name.is_empty()
            && raw.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_name {
            return Err(at("a name is lower-case letters, digits and `-`".into()));
        }
        if presets.iter().any(|p| p.name == raw.name) {
            return Err(at("named twice".into()));
        }
        check_base_url(&raw.base_url).map_err(at)?;
        let secret = SecretSource::parse(&raw.secret).map_err(at)?;
        if matches!(secret, SecretSource::File(_)) {
            return Err(at("a preset suggests a variable (env:VAR), or `aws` / `google`, not a file".into()));
        }
        let options = serde_json::to_value(&raw.options)
            .map_err(|err| at(format!("options: {err}")))?
            .as_object()
            .cloned()
            .unwrap_or_default();
        presets.push(Preset {
            secret_name: raw.secret_name.unwrap_or_else(|| DEFAULT_SECRET.to_owned()),
            name: raw.name,
            title: raw.title,
            component: raw.component,
            base_url: raw.base_url,
            secret,
            key_optional: raw.key_optional,
            options,
            reasoning: raw.reasoning,
            notes: raw.notes,
        });
    }
    Ok(presets)
}

/// An http(s) URL without a trailing `/`, with at most one `{placeholder}` in its host.
fn check_base_url(base: &str) -> Result<(), String> {
    let filled = match placeholder_of(base) {
        Some(placeholder) => base.replace(&format!("{{{placeholder}}}"), "example"),
        None => base.to_owned(),
    };
    let url = url::Url::parse(&filled).map_err(|err| format!("base URL `{base}`: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") || base.ends_with('/') || filled.contains(['{', '}']) {
        return Err(format!("base URL `{base}`: write http(s)://HOST/PATH without a trailing `/` and one {{placeholder}} at most"));
    }
    Ok(())
}

/// The name inside the first `{...}` of `text`, if there is one.
fn placeholder_of(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let rest = text.get(start + 1..)?;
    rest.find('}').and_then(|end| rest.get(..end))
}

impl Preset {
    /// The part of the base URL the operator fills in (`resource` for Azure), if any.
    pub fn placeholder(&self) -> Option<&str> {
        placeholder_of(&self.base_url)
    }

    /// The suggested variable of its key, if it is one (not a signing source).
    pub fn secret_env(&self) -> Option<&str> {
        match &self.secret {
            SecretSource::Env(var) => Some(var),
            _ => None,
        }
    }

    /// The component, base URL and options to load, with the operator's
    /// `base_url` (which wins) and `options` (merged over the preset's, key by key).
    pub fn resolve(&self, base_url: Option<&str>, options: Option<&serde_json::Value>) -> Result<Resolved, String> {
        let base_url = match (base_url, self.placeholder()) {
            (Some(given), _) => given.to_owned(),
            (None, Some(placeholder)) => {
                let example = self.base_url.replace(&format!("{{{placeholder}}}"), &placeholder.to_ascii_uppercase());
                return Err(format!(
                    "preset `{}` needs your own {placeholder} in its URL: give the base URL, such as `{example}`",
                    self.name
                ));
            }
            (None, None) => self.base_url.clone(),
        };
        let mut merged = self.options.clone();
        match options {
            None => {}
            Some(serde_json::Value::Object(given)) => merged.extend(given.clone()),
            Some(other) => return Err(format!("options must be a JSON object, not `{other}`")),
        }
        let options = (!merged.is_empty()).then_some(serde_json::Value::Object(merged));
        Ok(Resolved { component: self.component.clone(), base_url, options })
    }

    /// The suggested binding of its key, short: `$GROQ_API_KEY`,
    /// `$OLLAMA_API_KEY (optional)`, `AWS credentials (SigV4)`.
    pub fn describe_secret(&self) -> String {
        let source = match &self.secret {
            SecretSource::Aws { .. } => "AWS credentials (SigV4)".to_owned(),
            SecretSource::GoogleApplicationCredentials => "$GOOGLE_APPLICATION_CREDENTIALS (service account)".to_owned(),
            other => other.describe(),
        };
        if self.key_optional { format!("{source} (optional)") } else { source }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::limits::Limits;
    use crate::manifest::Manifest;

    /// The repository's `guests/` folder.
    fn guests() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests")
    }

    #[test]
    fn the_shipped_table_parses_with_unique_names_and_at_least_thirty_rows() {
        let presets = all().expect("the shipped table is valid");
        assert!(presets.len() >= 30, "{} presets", presets.len());
        let mut names: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), presets.len(), "names are unique");
    }

    /// Every preset names a component the repository builds (a guest folder,
    /// or a manifest variant of one) whose manifest asks for the secret the
    /// preset binds, and suggests no well-known credential for another service's host.
    #[test]
    fn every_component_exists_and_asks_for_the_secret_bound() {
        for preset in all().expect("valid") {
            let own = guests().join(&preset.component).join("cordon.toml");
            let variant = std::fs::read_dir(guests())
                .expect("guests/")
                .flatten()
                .map(|dir| dir.path().join(format!("{}.toml", preset.component)))
                .find(|path| path.is_file());
            let manifest_path = if own.is_file() { own } else { variant.unwrap_or(own) };
            let text = std::fs::read_to_string(&manifest_path)
                .unwrap_or_else(|err| panic!("preset `{}`: component `{}` has no manifest ({err})", preset.name, preset.component));
            let manifest = Manifest::parse(&text, &Limits::HOST_MAX).expect("a valid manifest");
            assert_eq!(manifest.name, preset.component, "preset `{}`", preset.name);
            let secret = manifest.secrets.iter().find(|s| s.name == preset.secret_name);
            let secret = secret.unwrap_or_else(|| panic!("preset `{}`: `{}` asks for no secret `{}`", preset.name, preset.component, preset.secret_name));
            assert!(preset.secret.misfit(&secret.scheme).is_none(), "preset `{}`: its binding fits the secret's scheme", preset.name);
            if let Some(env) = preset.secret_env() {
                let host = url::Url::parse(&preset.base_url.replace("{resource}", "example")).expect("a URL");
                let origin = crate::policy::Origin::of(&host).expect("an origin");
                assert_eq!(crate::asks::credential_mismatch(env, &[origin]), None, "preset `{}`", preset.name);
            }
        }
    }

    #[test]
    fn bad_tables_are_refused_with_the_row_named() {
        let row = |extra: &str| format!("[[presets]]\nname = \"x\"\ntitle = \"X\"\ncomponent = \"openai\"\nsecret = \"env:X_KEY\"\n{extra}\n");
        for (text, needle) in [
            (row("base-url = \"https://x.test/v1/\""), "trailing `/`"),
            (row("base-url = \"ftp://x.test\""), "http(s)"),
            (row("base-url = \"https://{a}.{b}.test\""), "one {placeholder}"),
            (row("base-url = \"https://x.test\"\ncolour = \"red\""), "unknown field"),
            (row("base-url = \"https://x.test\"").replace("env:X_KEY", "file:/k"), "not a file"),
            (format!("{}{}", row("base-url = \"https://x.test\""), row("base-url = \"https://y.test\"")), "named twice"),
            (row("base-url = \"https://x.test\"").replace("name = \"x\"", "name = \"X Y\""), "lower-case"),
        ] {
            let err = parse(&text).expect_err(needle);
            assert!(err.contains(needle), "`{needle}` in: {err}");
        }
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let err = find("grok").expect_err("no such preset");
        assert!(err.contains("did you mean") && err.contains("`groq`") && err.contains("`xai`"), "{err}");
        assert!(err.contains("`cordon providers` lists all"), "{err}");
        let err = find("together-ai").expect_err("no such preset");
        assert!(err.contains("`together`"), "{err}");
        let err = find("zzzzzzzzzzzz").expect_err("nothing close");
        assert!(!err.contains("did you mean"), "{err}");
        assert_eq!(find("groq").map(|p| p.component.as_str()), Ok("openai"));
    }

    #[test]
    fn the_operator_wins_over_the_preset() {
        let groq = find("groq").expect("groq");
        let plain = groq.resolve(None, None).expect("resolves");
        assert_eq!(plain.base_url, "https://api.groq.com/openai/v1");
        assert_eq!(plain.options, None, "groq needs no options");
        let mine = groq
            .resolve(Some("http://127.0.0.1:9/openai/v1"), Some(&serde_json::json!({"max_tokens_field": "max_completion_tokens", "stream_usage": false})))
            .expect("resolves");
        assert_eq!(mine.base_url, "http://127.0.0.1:9/openai/v1");
        assert_eq!(mine.options, Some(serde_json::json!({"max_tokens_field": "max_completion_tokens", "stream_usage": false})));
        assert!(groq.resolve(None, Some(&serde_json::json!([1]))).is_err());

        let azure = find("azure").expect("azure");
        assert_eq!(azure.placeholder(), Some("resource"));
        let err = azure.resolve(None, None).expect_err("needs the resource");
        assert!(err.contains("https://RESOURCE.openai.azure.com/openai/v1"), "{err}");
        assert_eq!(azure.describe_secret(), "$AZURE_OPENAI_API_KEY");
        assert_eq!(find("ollama").map(Preset::describe_secret), Ok("$OLLAMA_API_KEY (optional)".to_owned()));
        assert_eq!(find("bedrock").map(Preset::secret_env), Ok(None));
    }
}
