//! Outbound policy: origins (scheme, host, port) and the allowlist a component's
//! manifest declares. Pure data and checks, no I/O.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// `http` or `https`: the only schemes a guest may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// Scheme, host and port: what an allowlist entry names and what a request goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: Scheme,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`, or why it has none a guest may use.
    pub fn of(url: &Url) -> Result<Origin, String> {
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(format!("scheme `{other}` is not allowed: use http or https")),
        };
        let host = url
            .host_str()
            .ok_or_else(|| format!("`{url}` has no host"))?
            .to_ascii_lowercase();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("`{url}` has no port"))?;
        Ok(Origin { scheme, host, port })
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl FromStr for Origin {
    type Err = String;

    /// Parse `scheme://host[:port]` (a trailing `/` is tolerated; paths are not).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let url = Url::parse(text).map_err(|err| {
            format!("`{text}` is not an origin ({err}); write it as scheme://host[:port]")
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("`{text}`: an origin takes no user name or password"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{text}`: an origin takes no path or query; write scheme://host[:port]"));
        }
        Origin::of(&url)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// The origins a component may reach.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    origins: Vec<Origin>,
}

impl AllowList {
    /// An allowlist of exactly these origins.
    pub fn new(origins: Vec<Origin>) -> Self {
        AllowList { origins }
    }

    /// Add an origin (an operator's grant).
    pub fn grant(&mut self, origin: Origin) {
        if !self.allows(&origin) {
            self.origins.push(origin);
        }
    }

    /// Whether `origin` is allowed.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }

    /// The allowed origins, for messages and `cordon inspect`.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// The allowed origins as one line, for error messages.
    pub fn describe(&self) -> String {
        if self.origins.is_empty() {
            return "none".to_owned();
        }
        self.origins.iter().map(Origin::to_string).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        text.parse().expect("valid origin")
    }

    #[test]
    fn default_ports_and_case_are_normalized() {
        assert_eq!(origin("https://API.openai.com"), origin("https://api.openai.com:443/"));
        assert_eq!(origin("http://127.0.0.1").to_string(), "http://127.0.0.1:80");
    }

    #[test]
    fn scheme_host_and_port_must_all_match() {
        let list = AllowList::new(vec![origin("https://api.openai.com")]);
        let allowed = |u: &str| list.allows(&Origin::of(&Url::parse(u).expect("url")).expect("origin"));
        assert!(allowed("https://api.openai.com/v1/chat/completions"));
        assert!(!allowed("http://api.openai.com/v1"), "scheme differs");
        assert!(!allowed("https://api.openai.com:8443/v1"), "port differs");
        assert!(!allowed("https://api.openai.com.evil.test/v1"), "suffix trick");
    }

    #[test]
    fn bad_entries_are_explained() {
        assert!("ftp://x".parse::<Origin>().expect_err("an error").contains("scheme"));
        assert!("https://x/v1".parse::<Origin>().expect_err("an error").contains("path"));
        assert!("https://u:p@x".parse::<Origin>().expect_err("an error").contains("password"));
        assert!("not a url".parse::<Origin>().is_err());
    }
}
