//! Address and name facts the DNS rules compare answers with. Kept as data, each list with its
//! source (docs/design.md; ../shared/reference/dns-forgery-and-rst-injection.md, "the reference").

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Version of the forged-address list below (the date it was last checked against its sources).
pub const FORGED_POOL_VERSION: &str = "2026-11-30";

/// Addresses the GFW's DNS injectors are published to answer with (the reference, rule D2:
/// OONI's CN DNS fingerprints). A seed list: pools drift (GFWatch saw 1,510 shrink to 216), so a
/// match is strong evidence and a miss is no evidence at all.
pub const FORGED_POOL_V4: &[(Ipv4Addr, &str)] = &[
    (
        Ipv4Addr::new(8, 7, 198, 45),
        "OONI fingerprints_dns.csv (CN)",
    ),
    (
        Ipv4Addr::new(159, 106, 121, 75),
        "OONI fingerprints_dns.csv (CN)",
    ),
    (
        Ipv4Addr::new(243, 185, 187, 39),
        "OONI fingerprints_dns.csv (CN)",
    ),
];

/// The special-purpose IPv4 range `a` falls in, with its name (IANA registry; the reference D7).
pub fn bogon_v4(a: Ipv4Addr) -> Option<&'static str> {
    let n = u32::from(a);
    let within = |net: u32, bits: u32| bits == 0 || (n ^ net) >> (32 - bits) == 0;
    const RANGES: &[(u32, u32, &str)] = &[
        (0x0000_0000, 8, "0.0.0.0/8 (this network)"),
        (0x0a00_0000, 8, "10.0.0.0/8 (private, RFC 1918)"),
        (
            0x6440_0000,
            10,
            "100.64.0.0/10 (shared CGN space, RFC 6598)",
        ),
        (0x7f00_0000, 8, "127.0.0.0/8 (loopback)"),
        (0xa9fe_0000, 16, "169.254.0.0/16 (link-local)"),
        (0xac10_0000, 12, "172.16.0.0/12 (private, RFC 1918)"),
        (0xc000_0000, 24, "192.0.0.0/24 (IETF protocol assignments)"),
        (0xc000_0200, 24, "192.0.2.0/24 (documentation)"),
        (0xc0a8_0000, 16, "192.168.0.0/16 (private, RFC 1918)"),
        (
            0xc612_0000,
            15,
            "198.18.0.0/15 (benchmarking; fake-ip proxies)",
        ),
        (0xc633_6400, 24, "198.51.100.0/24 (documentation)"),
        (0xcb00_7100, 24, "203.0.113.0/24 (documentation)"),
        (0xe000_0000, 4, "224.0.0.0/4 (multicast)"),
        (0xf000_0000, 4, "240.0.0.0/4 (reserved)"),
    ];
    RANGES
        .iter()
        .find(|(net, bits, _)| within(*net, *bits))
        .map(|(_, _, name)| *name)
}

/// The special-purpose IPv6 range `a` falls in (the reference D7). `64:ff9b::/96` (DNS64) is not
/// a bogon.
pub fn bogon_v6(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    if a.is_unspecified() {
        return Some("::/128 (unspecified)");
    }
    if a.is_loopback() {
        return Some("::1/128 (loopback)");
    }
    if s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        return Some("::ffff:0:0/96 (IPv4-mapped)");
    }
    if s[0] & 0xfe00 == 0xfc00 {
        return Some("fc00::/7 (unique local)");
    }
    if s[0] & 0xffc0 == 0xfe80 {
        return Some("fe80::/10 (link-local)");
    }
    if s[0] == 0x2001 && s[1] == 0x0db8 {
        return Some("2001:db8::/32 (documentation)");
    }
    if s[0] & 0xff00 == 0xff00 {
        return Some("ff00::/8 (multicast)");
    }
    None
}

/// A bogon answer, by family.
pub fn bogon(a: IpAddr) -> Option<&'static str> {
    match a {
        IpAddr::V4(v4) => bogon_v4(v4),
        IpAddr::V6(v6) => bogon_v6(v6),
    }
}

/// Teredo (2001::/32): every forged AAAA GFWatch saw was in it (the reference D2).
pub fn is_teredo(a: Ipv6Addr) -> bool {
    let s = a.segments();
    s[0] == 0x2001 && s[1] == 0
}

/// The published forged-pool entry `a` matches, if any.
pub fn forged_pool(a: IpAddr) -> Option<&'static str> {
    match a {
        IpAddr::V4(v4) => FORGED_POOL_V4
            .iter()
            .find(|(p, _)| *p == v4)
            .map(|(_, src)| *src),
        IpAddr::V6(v6) if is_teredo(v6) => Some("Teredo 2001::/32 (GFWatch: all forged AAAA)"),
        IpAddr::V6(_) => None,
    }
}

/// Public Go endpoints: a bogon answer for one of these is strong evidence (the reference, rule 7
/// DNS-BOGON), unless a local stub or cloud context explains it.
pub const GO_PUBLIC_ENDPOINTS: &[&str] = &[
    "proxy.golang.org",
    "sum.golang.org",
    "sum.golang.google.cn",
    "index.golang.org",
    "golang.org",
    "go.dev",
    "goproxy.cn",
    "goproxy.io",
    "mirrors.aliyun.com",
    "mirrors.cloud.tencent.com",
    "goproxy.baidu.com",
    "github.com",
    "codeload.github.com",
    "api.github.com",
    "gitlab.com",
    "bitbucket.org",
    "gopkg.in",
    "go.googlesource.com",
    "storage.googleapis.com",
];

/// True for a well-known public Go endpoint.
pub fn is_go_public_endpoint(name: &str) -> bool {
    GO_PUBLIC_ENDPOINTS.contains(&name)
}

/// Top-level names that are never public (RFC 6761, RFC 8375, common private use).
const PRIVATE_TLDS: &[&str] = &[
    "test",
    "local",
    "localhost",
    "invalid",
    "example",
    "internal",
    "lan",
    "home",
    "corp",
    "intranet",
    "private",
    "localdomain",
    "arpa",
];

/// True when `name` can be a public DNS name (at least two labels, not under a private-use top
/// level). Only such names make a bogon answer suspicious.
pub fn is_public_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    let Some((_, tld)) = name.rsplit_once('.') else {
        return false;
    };
    !PRIVATE_TLDS.contains(&tld.to_ascii_lowercase().as_str()) && !name.ends_with(".home.arpa")
}

/// Suffixes of names that cloud providers resolve to private addresses inside their networks.
const PROVIDER_INTERNAL: &[&str] = &[
    ".compute.internal",
    ".ec2.internal",
    ".compute.amazonaws.com",
    ".amazonaws.com.cn",
    ".tencentyun.com",
    ".tencentcloudapi.com",
    ".aliyuncs.com",
    ".googleusercontent.com",
    ".cloudapp.net",
    ".internal.cloudapp.net",
];

/// True for a provider-internal name (private answers are normal there).
pub fn is_provider_internal(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    PROVIDER_INTERNAL.iter().any(|s| n.ends_with(s))
}

/// Cloud and VPC resolvers (the reference, section 6 and ref. 33): answers from these for provider
/// names may be private.
pub const CLOUD_RESOLVERS: &[(&str, &str)] = &[
    ("169.254.169.253", "AWS VPC resolver"),
    ("fd00:ec2::253", "AWS VPC resolver"),
    ("168.63.129.16", "Azure resolver"),
    ("169.254.169.254", "GCP metadata resolver"),
    ("100.100.2.136", "Alibaba Cloud resolver"),
    ("100.100.2.138", "Alibaba Cloud resolver"),
    ("183.60.83.19", "Tencent Cloud resolver"),
    ("183.60.82.98", "Tencent Cloud resolver"),
];

/// The provider of a cloud resolver address.
pub fn cloud_resolver(a: IpAddr) -> Option<&'static str> {
    let s = a.to_string();
    CLOUD_RESOLVERS
        .iter()
        .find(|(ip, _)| *ip == s)
        .map(|(_, p)| *p)
}

/// True for a resolver on this host (a stub such as systemd-resolved or a local proxy).
pub fn is_local_resolver(a: IpAddr) -> bool {
    a.is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bogons() {
        assert_eq!(
            bogon("10.77.9.9".parse().unwrap()),
            Some("10.0.0.0/8 (private, RFC 1918)")
        );
        assert!(bogon("198.19.0.1".parse().unwrap()).is_some());
        assert!(bogon("100.127.255.255".parse().unwrap()).is_some());
        assert!(bogon("100.128.0.0".parse().unwrap()).is_none());
        assert!(bogon("172.32.0.1".parse().unwrap()).is_none());
        assert!(bogon("8.8.8.8".parse().unwrap()).is_none());
        assert!(bogon("255.255.255.255".parse().unwrap()).is_some());
        assert!(bogon("fd77::2".parse().unwrap()).is_some());
        assert!(bogon("64:ff9b::1".parse().unwrap()).is_none());
        assert!(bogon("2a05:77:77::10".parse().unwrap()).is_none());
    }

    #[test]
    fn pools_and_names() {
        assert!(forged_pool("8.7.198.45".parse().unwrap()).is_some());
        assert!(forged_pool("2001:0:53aa:64c::1".parse().unwrap()).is_some());
        assert!(forged_pool("2001:db8::1".parse().unwrap()).is_none());
        assert!(forged_pool("77.77.77.10".parse().unwrap()).is_none());
        assert!(is_public_name("goproxy.cn"));
        assert!(is_public_name("proxy.golang.org."));
        assert!(!is_public_name("proxy.lab.test"));
        assert!(!is_public_name("printer"));
        assert!(!is_public_name("nas.home.arpa"));
        assert_eq!(
            cloud_resolver("183.60.83.19".parse().unwrap()),
            Some("Tencent Cloud resolver")
        );
    }
}
