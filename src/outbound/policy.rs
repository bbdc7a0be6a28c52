//! The network policy for outbound probes and webhooks (SSRF): which addresses Veiviser may
//! connect to. Everything that is not a public unicast address is refused unless an operator
//! allowed its network explicitly (`--health-allow-net 127.0.0.0/8`).
//!
//! Addresses are judged after parsing, so every spelling of an address (`2130706433`,
//! `0x7f.1`, `[::ffff:127.0.0.1]`) is judged as the address it is.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use url::{Host, Url};

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_match(
                u128::from(net.to_bits()),
                u128::from(ip.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_match(net.to_bits(), ip.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_match(net: u128, ip: u128, width: u8, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width - prefix);
    (net >> shift) == (ip >> shift)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("'{addr}' is not an IP address"))?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("'{p}' is not a prefix length from 0 to {width}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Which networks outbound requests may reach.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    allowed: Vec<Cidr>,
    /// Only the allowed networks, the public internet included in what is refused.
    only: bool,
}

impl NetworkPolicy {
    /// The default policy with `allowed` networks opened by the operator.
    pub fn allowing(allowed: Vec<Cidr>) -> Self {
        NetworkPolicy {
            allowed,
            only: false,
        }
    }

    /// Only `allowed` networks, nothing public: for tests, which must not probe the real
    /// sites of the default catalogue on every run.
    pub fn only(allowed: Vec<Cidr>) -> Self {
        NetworkPolicy {
            allowed,
            only: true,
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        let canonical = canonical(ip);
        if self
            .allowed
            .iter()
            .any(|net| net.contains(ip) || net.contains(canonical))
        {
            return Ok(());
        }
        match special_purpose(canonical) {
            Some(kind) => Err(Refusal(format!(
                "{ip} is a {kind} address, which the network policy does not allow"
            ))),
            None if self.only => Err(Refusal(format!(
                "{ip} is outside the networks this instance may reach"
            ))),
            None => Ok(()),
        }
    }

    /// Whether `url` may be requested: http or https, and an IP-literal host must pass
    /// [`NetworkPolicy::check_ip`]. A host name is judged when it is resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal(format!(
                "the scheme '{}' is not allowed; use http or https",
                url.scheme()
            )));
        }
        match url.host() {
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            // Only allowed networks: a name is not even looked up.
            Some(Host::Domain(name)) if self.only => Err(Refusal(format!(
                "{name} is not resolved: this instance reaches only its allowed networks"
            ))),
            Some(Host::Domain(_)) => Ok(()),
            None => Err(Refusal("the URL has no host".into())),
        }
    }
}

/// The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), or itself.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let bits = v6.to_bits();
    let low32 = Ipv4Addr::from_bits(bits as u32);
    // ::a.b.c.d (deprecated IPv4-compatible), but not :: and ::1 themselves.
    if bits >> 32 == 0 && bits > 1 {
        return IpAddr::V4(low32);
    }
    // 64:ff9b::/96, the NAT64 well-known prefix.
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return IpAddr::V4(low32);
    }
    // 2002::/16, 6to4: the IPv4 address sits in bits 16..48.
    if v6.segments()[0] == 0x2002 {
        return IpAddr::V4(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    ip
}

/// The kind of special-purpose address `ip` is, or `None` for a public unicast address.
fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u8, &str)] = &[
        ([0, 0, 0, 0], 8, "\"this network\""),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "IETF protocol"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "6to4 relay"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved"),
    ];
    RANGES.iter().find_map(|(net, prefix, kind)| {
        let net = Cidr {
            network: IpAddr::V4(Ipv4Addr::from(*net)),
            prefix: *prefix,
        };
        net.contains(IpAddr::V4(ip)).then_some(*kind)
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xffc0 == 0xfec0 {
        Some("site-local")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local")
    } else if first & 0xff00 == 0xff00 {
        Some("multicast")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else if ip.to_bits() >> 64 == 0x0100_0000_0000_0000 {
        Some("discard-only")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &NetworkPolicy, url: &str) -> bool {
        policy.check_url(&Url::parse(url).unwrap()).is_err()
    }

    #[test]
    fn every_spelling_of_a_private_address_is_refused() {
        let policy = NetworkPolicy::default();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/",
            "http://172.31.255.255/",
            "http://192.168.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            "ftp://example.no/",
            "file:///etc/passwd",
        ] {
            assert!(refused(&policy, url), "{url} should be refused");
        }
    }

    #[test]
    fn public_addresses_and_host_names_pass_the_url_check() {
        let policy = NetworkPolicy::default();
        for url in [
            "https://8.8.8.8/",
            "http://[2001:4860:4860::8888]/",
            "https://www.ung.no/",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
        ] {
            assert!(!refused(&policy, url), "{url} should pass");
        }
    }

    #[test]
    fn an_allowed_network_opens_only_itself_in_any_spelling() {
        let policy = NetworkPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(!refused(&policy, "http://127.0.0.1:8080/"));
        assert!(!refused(&policy, "http://2130706433/"));
        assert!(!refused(&policy, "http://[::ffff:127.0.0.1]/"));
        assert!(refused(&policy, "http://10.0.0.1/"));
        assert!(refused(&policy, "http://[::1]/"));
    }

    #[test]
    fn cidrs_parse_and_match() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.255.0.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let host: Cidr = "::1".parse().unwrap();
        assert_eq!(host.to_string(), "::1/128");
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope/8".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("127.0.0.1".parse().unwrap()));
    }
}
