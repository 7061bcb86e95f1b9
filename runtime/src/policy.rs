//! Outbound policy: origins (scheme, host, port), the allowlist a component's
//! manifest declares, and which addresses count as internal (loopback, private,
//! link-local, ...). Pure data and checks, no I/O.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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

/// Whether `ip` is internal: loopback, private (RFC 1918), carrier-grade NAT,
/// link-local (169.254.0.0/16, the cloud metadata address among them),
/// unique-local or link-local IPv6, unspecified, broadcast or multicast, also in
/// IPv4-mapped IPv6 form. A guest reaches such an address only through an
/// allowlist entry that names it as an IP literal (or names `localhost`).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
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
    fn internal_addresses() {
        for internal in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "255.255.255.255", "::1", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(internal.parse().expect("ip")), "{internal} is internal");
        }
        for public in ["8.8.8.8", "104.18.6.192", "2606:4700::6810:1", "::ffff:8.8.8.8"] {
            assert!(!is_internal(public.parse().expect("ip")), "{public} is public");
        }
    }

    #[test]
    fn bad_entries_are_explained() {
        assert!("ftp://x".parse::<Origin>().expect_err("an error").contains("scheme"));
        assert!("https://x/v1".parse::<Origin>().expect_err("an error").contains("path"));
        assert!("https://u:p@x".parse::<Origin>().expect_err("an error").contains("password"));
        assert!("not a url".parse::<Origin>().is_err());
    }
}
