//! Outbound policy: origins (scheme, host, port), the allowlist a component's
//! manifest declares, and which addresses count as internal (loopback, private,
//! link-local, ...). Pure data and checks, no I/O.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use url::Url;

use self::Reach::{Global, Internal};

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

/// Whether `ip` is internal, i.e. not globally reachable: the IANA IPv4 and
/// IPv6 special-purpose address registries (loopback, private, shared/CGNAT,
/// link-local with the cloud metadata address, documentation, benchmarking,
/// reserved, unique-local, discard, ...) plus multicast and broadcast, with
/// the IPv4 address embedded in IPv4-mapped, NAT64 (`64:ff9b::/96`) and 6to4
/// (`2002::/16`) addresses judged as itself. A guest reaches such an address
/// only through an allowlist entry that names it as an IP literal (or names
/// `localhost`). See [`SPECIAL_V4`] and [`SPECIAL_V6`].
pub fn is_internal(ip: IpAddr) -> bool {
    special_range(ip).is_some_and(|range| match range.reach {
        Reach::Internal => true,
        Reach::Global => false,
        Reach::EmbedsV4 { bit } => match ip {
            IpAddr::V6(v6) => is_internal(IpAddr::V4(embedded_v4(v6, bit))),
            IpAddr::V4(_) => true,
        },
    })
}

/// The most specific special-purpose range `ip` falls in, if any.
pub fn special_range(ip: IpAddr) -> Option<&'static SpecialRange> {
    let (table, bits, value): (&[SpecialRange], u32, u128) = match ip {
        IpAddr::V4(v4) => (SPECIAL_V4, 32, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (SPECIAL_V6, 128, u128::from(v6)),
    };
    table.iter().filter(|range| range.contains(value, bits)).max_by_key(|range| range.prefix)
}

/// How a special-purpose range is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Not globally reachable: refused unless an allowlist entry names the IP.
    Internal,
    /// Globally reachable although special (e.g. AS112 anycast).
    Global,
    /// An IPv6 range that carries an IPv4 address from bit `bit` (counted from
    /// the most significant): judged by that IPv4 address.
    EmbedsV4 {
        /// Where the 32 bits of the IPv4 address start.
        bit: u32,
    },
}

/// One entry of the special-purpose registries.
#[derive(Debug)]
pub struct SpecialRange {
    /// The network address.
    pub network: IpAddr,
    /// The prefix length.
    pub prefix: u32,
    /// The registry's name for it.
    pub name: &'static str,
    /// How the broker treats it.
    pub reach: Reach,
}

impl SpecialRange {
    fn contains(&self, value: u128, bits: u32) -> bool {
        let network = match self.network {
            IpAddr::V4(v4) if bits == 32 => u128::from(u32::from(v4)),
            IpAddr::V6(v6) if bits == 128 => u128::from(v6),
            _ => return false,
        };
        let shift = bits.saturating_sub(self.prefix);
        let mask = if shift >= 128 { 0 } else { !0u128 << shift };
        value & mask == network & mask
    }
}

const fn range(network: IpAddr, prefix: u32, name: &'static str, reach: Reach) -> SpecialRange {
    SpecialRange { network, prefix, name, reach }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

const fn v6(s: [u16; 8]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]))
}

/// The IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its updates),
/// with multicast and the reserved class E space. "Globally reachable: False"
/// entries are internal; the few special ranges that are globally reachable are
/// listed as such so that a more general entry does not catch them.
pub const SPECIAL_V4: &[SpecialRange] = &[
    range(v4(0, 0, 0, 0), 8, "\"this network\" (RFC 791)", Internal),
    range(v4(10, 0, 0, 0), 8, "private use (RFC 1918)", Internal),
    range(v4(100, 64, 0, 0), 10, "shared address space, carrier-grade NAT (RFC 6598)", Internal),
    range(v4(127, 0, 0, 0), 8, "loopback (RFC 1122)", Internal),
    range(v4(169, 254, 0, 0), 16, "link local, cloud metadata services (RFC 3927)", Internal),
    range(v4(172, 16, 0, 0), 12, "private use (RFC 1918)", Internal),
    range(v4(192, 0, 0, 0), 24, "IETF protocol assignments (RFC 6890)", Internal),
    range(v4(192, 0, 0, 9), 32, "port control protocol anycast (RFC 7723)", Global),
    range(v4(192, 0, 0, 10), 32, "traversal using relays around NAT anycast (RFC 8155)", Global),
    range(v4(192, 0, 2, 0), 24, "documentation, TEST-NET-1 (RFC 5737)", Internal),
    range(v4(192, 31, 196, 0), 24, "AS112-v4 (RFC 7535)", Global),
    range(v4(192, 52, 193, 0), 24, "AMT (RFC 7450)", Global),
    range(v4(192, 88, 99, 0), 24, "deprecated 6to4 relay anycast (RFC 7526)", Internal),
    range(v4(192, 168, 0, 0), 16, "private use (RFC 1918)", Internal),
    range(v4(192, 175, 48, 0), 24, "direct delegation AS112 service (RFC 7534)", Global),
    range(v4(198, 18, 0, 0), 15, "benchmarking (RFC 2544)", Internal),
    range(v4(198, 51, 100, 0), 24, "documentation, TEST-NET-2 (RFC 5737)", Internal),
    range(v4(203, 0, 113, 0), 24, "documentation, TEST-NET-3 (RFC 5737)", Internal),
    range(v4(224, 0, 0, 0), 4, "multicast (RFC 5771)", Internal),
    range(v4(240, 0, 0, 0), 4, "reserved (RFC 1112)", Internal),
    range(v4(255, 255, 255, 255), 32, "limited broadcast (RFC 919)", Internal),
];

/// The IANA IPv6 Special-Purpose Address Registry (RFC 6890 and its updates),
/// with multicast and the deprecated site-local and IPv4-compatible forms.
pub const SPECIAL_V6: &[SpecialRange] = &[
    range(v6([0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 96, "IPv4-compatible, deprecated (RFC 4291)", Internal),
    range(v6([0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 128, "unspecified (RFC 4291)", Internal),
    range(v6([0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x1]), 128, "loopback (RFC 4291)", Internal),
    range(v6([0x0, 0x0, 0x0, 0x0, 0x0, 0xffff, 0x0, 0x0]), 96, "IPv4-mapped (RFC 4291)", Reach::EmbedsV4 { bit: 96 }),
    range(v6([0x64, 0xff9b, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 96, "IPv4-IPv6 translation, NAT64 (RFC 6052)", Reach::EmbedsV4 { bit: 96 }),
    range(v6([0x64, 0xff9b, 0x1, 0x0, 0x0, 0x0, 0x0, 0x0]), 48, "IPv4-IPv6 translation, local use (RFC 8215)", Internal),
    range(v6([0x100, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 64, "discard-only (RFC 6666)", Internal),
    range(v6([0x100, 0x0, 0x0, 0x1, 0x0, 0x0, 0x0, 0x0]), 64, "dummy IPv6 prefix (RFC 9780)", Internal),
    range(v6([0x2001, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 23, "IETF protocol assignments (RFC 2928)", Internal),
    range(v6([0x2001, 0x1, 0x0, 0x0, 0x0, 0x0, 0x0, 0x1]), 128, "port control protocol anycast (RFC 7723)", Global),
    range(v6([0x2001, 0x1, 0x0, 0x0, 0x0, 0x0, 0x0, 0x2]), 128, "traversal using relays around NAT anycast (RFC 8155)", Global),
    range(v6([0x2001, 0x1, 0x0, 0x0, 0x0, 0x0, 0x0, 0x3]), 128, "DNS-SD service registration protocol anycast (RFC 9665)", Global),
    range(v6([0x2001, 0x3, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 32, "AMT (RFC 7450)", Global),
    range(v6([0x2001, 0x4, 0x112, 0x0, 0x0, 0x0, 0x0, 0x0]), 48, "AS112-v6 (RFC 7535)", Global),
    range(v6([0x2001, 0x20, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 28, "ORCHIDv2 (RFC 7343)", Global),
    range(v6([0x2001, 0x30, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 28, "drone remote ID protocol entity tags (RFC 9374)", Global),
    range(v6([0x2001, 0xdb8, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 32, "documentation (RFC 3849)", Internal),
    range(v6([0x2002, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 16, "6to4 (RFC 3056)", Reach::EmbedsV4 { bit: 16 }),
    range(v6([0x2620, 0x4f, 0x8000, 0x0, 0x0, 0x0, 0x0, 0x0]), 48, "direct delegation AS112 service (RFC 7534)", Global),
    range(v6([0x3fff, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 20, "documentation (RFC 9637)", Internal),
    range(v6([0x5f00, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 16, "segment routing SIDs (RFC 9602)", Internal),
    range(v6([0xfc00, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 7, "unique local (RFC 4193)", Internal),
    range(v6([0xfe80, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 10, "link-local unicast (RFC 4291)", Internal),
    range(v6([0xfec0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 10, "site-local, deprecated (RFC 3879)", Internal),
    range(v6([0xff00, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]), 8, "multicast (RFC 4291)", Internal),
];

/// The IPv4 address carried in `ip` from bit `bit` on.
fn embedded_v4(ip: Ipv6Addr, bit: u32) -> Ipv4Addr {
    let value = u128::from(ip);
    let shift = 128u32.saturating_sub(bit.saturating_add(32));
    Ipv4Addr::from((value >> shift) as u32)
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

    /// The first and last address of a range, and the addresses just outside it.
    fn ends(range: &SpecialRange) -> (IpAddr, IpAddr, Option<IpAddr>, Option<IpAddr>) {
        let network = range.network;
        let (bits, value) = match network {
            IpAddr::V4(v4) => (32u32, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (128, u128::from(v6)),
        };
        let size_bits = bits - range.prefix;
        let host_mask = if size_bits == 0 { 0 } else { (!0u128) >> (128 - size_bits) };
        let first = value & !host_mask;
        let last = first | host_mask;
        let make = |v: u128| match network {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(v as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(v)),
        };
        let max = if bits == 32 { u128::from(u32::MAX) } else { u128::MAX };
        (make(first), make(last), first.checked_sub(1).map(make), (last < max).then(|| make(last + 1)))
    }

    #[test]
    fn every_special_range_is_classified_at_both_ends() {
        for range in SPECIAL_V4.iter().chain(SPECIAL_V6) {
            let (first, last, _, _) = ends(range);
            for ip in [first, last] {
                // A more specific entry may sit inside (e.g. a global anycast
                // address in a reserved block): check against the entry that wins.
                let winner = special_range(ip).expect("inside a listed range");
                assert!(winner.prefix >= range.prefix, "{ip}: {} lost to a less specific entry", range.name);
                if !std::ptr::eq(winner, range) {
                    continue;
                }
                let expected = match range.reach {
                    Reach::Internal => true,
                    Reach::Global => false,
                    Reach::EmbedsV4 { .. } => continue, // judged by the embedded address, below
                };
                assert_eq!(is_internal(ip), expected, "{ip} ({})", range.name);
            }
        }
    }

    #[test]
    fn neighbours_of_the_private_ranges_are_public() {
        for (network, prefix) in [("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16), ("100.64.0.0", 10), ("169.254.0.0", 16)] {
            let network: IpAddr = network.parse().expect("ip");
            let range = SPECIAL_V4.iter().find(|r| r.network == network && r.prefix == prefix).expect("listed");
            let (_, _, before, after) = ends(range);
            for ip in [before, after].into_iter().flatten() {
                assert!(!is_internal(ip), "{ip}, next to {}, is public", range.name);
            }
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_as_itself() {
        for internal in [
            "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1",
            "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::", "64:ff9b:1::8.8.8.8", "::127.0.0.1",
        ] {
            assert!(is_internal(internal.parse().expect("ip")), "{internal} is internal");
        }
        for public in ["::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"] {
            assert!(!is_internal(public.parse().expect("ip")), "{public} is public");
        }
    }

    #[test]
    fn common_addresses() {
        for internal in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "255.255.255.255", "240.0.0.1", "224.0.0.251", "198.18.0.1", "::1", "::", "fd00::1", "fe80::1",
            "fec0::1", "ff02::1", "2001:db8::1", "100::1", "2001::1",
        ] {
            assert!(is_internal(internal.parse().expect("ip")), "{internal} is internal");
        }
        for public in ["8.8.8.8", "104.18.6.192", "1.1.1.1", "2606:4700::6810:1", "2a00:1450::1", "192.0.0.9", "2001:4:112::1"] {
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
