//! The role of a destination under a [`GoConfig`]: the data tables (cloud metadata endpoints,
//! code hosts, vanity import hosts, public proxies and checksum databases) and the rules.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::pattern::path_match;
use super::proxy::{ProxyEntry, ProxyList};
use super::sumdb::SumDb;
use super::url::{host_ip, normalize_host, split_destination};
use super::{GoConfig, HttpProxy};

/// What a destination is to the go command under the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The host of a GOPROXY entry, or of HTTPS_PROXY / HTTP_PROXY.
    Proxy,
    /// The GOSUMDB host.
    Sumdb,
    /// A code or module host that Go may fetch from directly (GONOPROXY/GOPRIVATE, or `direct`
    /// in GOPROXY).
    DirectAllowed,
    /// A code, module, proxy or checksum host that this configuration gives Go no reason to
    /// reach.
    Unexpected,
    /// A cloud instance metadata (or platform) endpoint.
    Metadata,
    /// None of the above.
    Other,
}

impl Role {
    /// `"proxy"`, `"sumdb"`, `"direct-allowed"`, `"unexpected"`, `"metadata"` or `"other"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Proxy => "proxy",
            Role::Sumdb => "sumdb",
            Role::DirectAllowed => "direct-allowed",
            Role::Unexpected => "unexpected",
            Role::Metadata => "metadata",
            Role::Other => "other",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role and the reason for it: a short sentence naming the setting that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// The role.
    pub role: Role,
    /// Why, e.g. `host of GOPROXY entry 1 (https://goproxy.cn)`.
    pub reason: String,
}

impl Classification {
    fn new(role: Role, reason: impl Into<String>) -> Classification {
        Classification {
            role,
            reason: reason.into(),
        }
    }
}

/// The address of a [`MetadataEndpoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataAddr {
    /// An IP address.
    Ip(IpAddr),
    /// A host name (lower case, no trailing dot).
    Name(&'static str),
}

/// A cloud instance metadata or platform endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataEndpoint {
    /// Its address.
    pub addr: MetadataAddr,
    /// Who serves it, for the reason text.
    pub provider: &'static str,
}

const fn ip4(a: u8, b: u8, c: u8, d: u8) -> MetadataAddr {
    MetadataAddr::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
}

const fn ec2_v6(last: u16) -> MetadataAddr {
    MetadataAddr::Ip(IpAddr::V6(Ipv6Addr::new(
        0xfd00, 0xec2, 0, 0, 0, 0, 0, last,
    )))
}

/// Cloud metadata and platform endpoints. Traffic to them in a `go mod tidy` capture is not Go's
/// (credential helpers, SDKs, DNS through the platform resolver) but explains neighbours.
pub const METADATA_ENDPOINTS: &[MetadataEndpoint] = &[
    MetadataEndpoint {
        addr: ip4(169, 254, 169, 254),
        provider: "link-local instance metadata (AWS, GCP, Azure, OpenStack, Oracle and others)",
    },
    MetadataEndpoint {
        addr: ec2_v6(0x254),
        provider: "AWS instance metadata, IPv6",
    },
    MetadataEndpoint {
        addr: ip4(169, 254, 169, 253),
        provider: "AWS VPC DNS resolver",
    },
    MetadataEndpoint {
        addr: ec2_v6(0x253),
        provider: "AWS VPC DNS resolver, IPv6",
    },
    MetadataEndpoint {
        addr: ip4(169, 254, 170, 2),
        provider: "AWS ECS task metadata and credentials",
    },
    MetadataEndpoint {
        addr: ip4(169, 254, 170, 23),
        provider: "AWS EKS Pod Identity agent",
    },
    MetadataEndpoint {
        addr: ec2_v6(0x23),
        provider: "AWS EKS Pod Identity agent, IPv6",
    },
    MetadataEndpoint {
        addr: ip4(100, 100, 100, 200),
        provider: "Alibaba Cloud instance metadata",
    },
    MetadataEndpoint {
        addr: ip4(169, 254, 0, 23),
        provider: "Tencent Cloud instance metadata",
    },
    MetadataEndpoint {
        addr: ip4(168, 63, 129, 16),
        provider: "Azure WireServer (platform DNS and agent)",
    },
    MetadataEndpoint {
        addr: MetadataAddr::Name("metadata.google.internal"),
        provider: "GCP metadata server",
    },
    MetadataEndpoint {
        addr: MetadataAddr::Name("metadata"),
        provider: "GCP metadata server (short name)",
    },
    MetadataEndpoint {
        addr: MetadataAddr::Name("metadata.tencentyun.com"),
        provider: "Tencent Cloud instance metadata",
    },
    MetadataEndpoint {
        addr: MetadataAddr::Name("instance-data"),
        provider: "AWS instance metadata",
    },
    MetadataEndpoint {
        addr: MetadataAddr::Name("instance-data.ec2.internal"),
        provider: "AWS instance metadata",
    },
];

/// The provider of the metadata endpoint named `host` (any case, trailing dot ignored; an IP
/// literal is looked up as an address).
pub fn metadata_provider(host: &str) -> Option<&'static str> {
    let h = normalize_host(host);
    if let Some(ip) = host_ip(&h) {
        return metadata_provider_ip(ip);
    }
    METADATA_ENDPOINTS
        .iter()
        .find(|m| matches!(m.addr, MetadataAddr::Name(n) if n == h))
        .map(|m| m.provider)
}

/// The provider of the metadata endpoint at `ip` (an IPv4-mapped IPv6 address counts as IPv4).
pub fn metadata_provider_ip(ip: IpAddr) -> Option<&'static str> {
    let ip = canonical_ip(ip);
    METADATA_ENDPOINTS
        .iter()
        .find(|m| m.addr == MetadataAddr::Ip(ip))
        .map(|m| m.provider)
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// A host Go fetches module source from when it goes `direct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeHost {
    /// The domain.
    pub domain: &'static str,
    /// Whether subdomains count too (`codeload.github.com`).
    pub subdomains: bool,
    /// The host module paths name for it (`raw.githubusercontent.com` belongs to `github.com`),
    /// matched against GONOPROXY globs.
    pub family: &'static str,
}

const fn code(domain: &'static str, subdomains: bool, family: &'static str) -> CodeHost {
    CodeHost {
        domain,
        subdomains,
        family,
    }
}

/// Code hosts: the version-control services Go knows by name (Go
/// `cmd/go/internal/vcs/vcs.go` `vcsPaths`) and other common module hosts.
pub const CODE_HOSTS: &[CodeHost] = &[
    code("github.com", true, "github.com"),
    code("githubusercontent.com", true, "github.com"),
    code("gitlab.com", true, "gitlab.com"),
    code("bitbucket.org", true, "bitbucket.org"),
    code("googlesource.com", true, "googlesource.com"),
    code("golang.org", false, "golang.org"),
    code("gopkg.in", false, "gopkg.in"),
    code("gitee.com", true, "gitee.com"),
    code("codeberg.org", true, "codeberg.org"),
    code("git.sr.ht", false, "git.sr.ht"),
    code("launchpad.net", true, "launchpad.net"),
    code("opendev.org", true, "opendev.org"),
];

/// Vanity import prefixes and the host that serves their source, so that a GONOPROXY glob for
/// the vanity path also allows its code host (`golang.org/x/*` lets Go reach
/// `go.googlesource.com`). An approximation: a glob counts when its first element matches the
/// prefix's first element.
pub const VANITY_HOSTS: &[(&str, &str)] = &[
    ("golang.org/x", "go.googlesource.com"),
    ("google.golang.org/protobuf", "go.googlesource.com"),
    ("google.golang.org/grpc", "github.com"),
    ("google.golang.org/genproto", "github.com"),
    ("google.golang.org/api", "github.com"),
    ("cloud.google.com/go", "github.com"),
    ("gopkg.in", "github.com"),
    ("go.uber.org", "github.com"),
    ("k8s.io", "github.com"),
    ("sigs.k8s.io", "github.com"),
    ("go.opentelemetry.io", "github.com"),
    ("go.etcd.io", "github.com"),
    ("go.mongodb.org", "github.com"),
    ("go.yaml.in", "github.com"),
    ("gotest.tools", "github.com"),
    ("honnef.co", "github.com"),
    ("gocloud.dev", "github.com"),
    ("gonum.org", "github.com"),
    ("gorm.io", "github.com"),
    ("mvdan.cc", "github.com"),
    ("rsc.io", "github.com"),
    ("modernc.org", "gitlab.com"),
];

/// Public Go module proxies: reached while GOPROXY does not list them, they show that Go ran
/// with another GOPROXY than the one analysed.
pub const KNOWN_PROXIES: &[&str] = &[
    "proxy.golang.org",
    "goproxy.cn",
    "goproxy.io",
    "proxy.golang.com.cn",
];

/// Public checksum database hosts.
pub const KNOWN_SUMDBS: &[&str] = &["sum.golang.org", "sum.golang.google.cn"];

fn code_host_entry(h: &str) -> Option<&'static CodeHost> {
    CODE_HOSTS.iter().find(|c| {
        h == c.domain
            || (c.subdomains
                && h.strip_suffix(c.domain)
                    .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1))
    })
}

/// Whether `host` (any case, trailing dot and `:port` ignored) is a code host of
/// [`CODE_HOSTS`], subdomains included where the table says so.
pub fn is_code_host(host: &str) -> bool {
    let (h, _) = split_destination(host);
    code_host_entry(&h).is_some()
}

/// The parsed settings one classification needs.
struct View {
    proxies: ProxyList,
    http: Vec<HttpProxy>,
    sumdb: SumDb,
}

fn first_element(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

impl GoConfig {
    fn view(&self) -> View {
        View {
            proxies: self.goproxy_list(),
            http: self.http_proxies(),
            sumdb: self.sumdb(),
        }
    }

    /// Classifies a destination named on the wire: a DNS query name, TLS SNI, HTTP `Host`, or
    /// CONNECT target. `host` may carry `:port` (`[v6]:port`); case and a trailing dot do not
    /// matter; an IP literal is passed on to [`GoConfig::classify_ip`]. `port` (when known)
    /// takes precedence over one in `host`; without a port, any port of a configured host
    /// matches. `module_hosts` are module paths (or their first elements) seen in the capture:
    /// they are treated like code hosts.
    ///
    /// Rules, first match wins: (1) cloud metadata names; (2) the host of a GOPROXY URL entry,
    /// then of HTTPS_PROXY / HTTP_PROXY → [`Role::Proxy`]; (3) the GOSUMDB host →
    /// [`Role::Sumdb`]; a configured host on another port, `sum.golang.org` (or its alias)
    /// while GOSUMDB names another database or is off, and a public proxy GOPROXY does not list
    /// → [`Role::Unexpected`]; (4) code and module hosts: [`Role::DirectAllowed`] when a
    /// GONOPROXY glob's first element matches the host (or its code-host family, or a vanity
    /// prefix it serves), or when GOPROXY contains `direct`; otherwise [`Role::Unexpected`];
    /// (5) [`Role::Other`].
    pub fn classify_host(
        &self,
        host: &str,
        port: Option<u16>,
        module_hosts: &[&str],
    ) -> Classification {
        let (h, written_port) = split_destination(host);
        let port = port.or(written_port);
        if let Some(ip) = host_ip(&h) {
            return self.classify_ip(ip, port);
        }
        if h.is_empty() {
            return Classification::new(Role::Other, "empty host name");
        }
        if let Some(provider) = metadata_provider(&h) {
            return Classification::new(
                Role::Metadata,
                format!("cloud instance metadata endpoint ({provider})"),
            );
        }
        let view = self.view();
        if let Some(c) = self.configured(&view, &|eh: &str| eh == h, port) {
            return c;
        }
        if KNOWN_SUMDBS.contains(&h.as_str()) {
            let why = match &view.sumdb {
                SumDb::Off => "GOSUMDB=off".to_string(),
                SumDb::On { name, url, .. } => format!("GOSUMDB uses {name} at {url}"),
                SumDb::Invalid { reason } => format!("GOSUMDB is invalid ({reason})"),
            };
            return Classification::new(
                Role::Unexpected,
                format!("checksum database {h} reached although {why}"),
            );
        }
        if KNOWN_PROXIES.contains(&h.as_str()) {
            return Classification::new(
                Role::Unexpected,
                format!(
                    "public Go module proxy {h} reached although GOPROXY ({}) does not list it",
                    self.goproxy.redacted()
                ),
            );
        }
        let is_code = code_host_entry(&h).is_some();
        let is_module = module_hosts
            .iter()
            .any(|m| normalize_host(first_element(m)) == h);
        if is_code || is_module {
            let what = if is_code { "code host" } else { "module host" };
            return self.direct_verdict(&view, &h, what);
        }
        Classification::new(
            Role::Other,
            "not named by GOPROXY, GOSUMDB, HTTPS_PROXY or HTTP_PROXY, and not a code or module host",
        )
    }

    /// Classifies a bare address (no name known): metadata addresses, then GOPROXY, HTTP proxy
    /// and GOSUMDB hosts written as IP literals; anything else is [`Role::Other`] (classify the
    /// name it was resolved from instead).
    pub fn classify_ip(&self, ip: IpAddr, port: Option<u16>) -> Classification {
        if let Some(provider) = metadata_provider_ip(ip) {
            return Classification::new(
                Role::Metadata,
                format!("cloud instance metadata endpoint ({provider})"),
            );
        }
        let ip = canonical_ip(ip);
        let view = self.view();
        let same = |eh: &str| host_ip(eh).map(canonical_ip) == Some(ip);
        if let Some(c) = self.configured(&view, &same, port) {
            return c;
        }
        Classification::new(
            Role::Other,
            "address not named by any setting (classify the name it was resolved from)",
        )
    }

    /// Rules (2) and (3): configured proxy and sumdb hosts, exact port first, then a configured
    /// host on an unexpected port.
    fn configured(
        &self,
        view: &View,
        same_host: &dyn Fn(&str) -> bool,
        port: Option<u16>,
    ) -> Option<Classification> {
        let port_ok = |p: u16| port.is_none_or(|q| q == p);
        let mut wrong_port: Option<String> = None;
        let mut note = |what: String, p: u16| {
            if wrong_port.is_none() {
                wrong_port = Some(format!(
                    "{what}, but on port {} instead of {p}",
                    port.unwrap_or(0)
                ));
            }
        };
        for (position, entry, _) in &view.proxies.entries {
            if let ProxyEntry::Url {
                url, host, port: p, ..
            } = entry
            {
                if same_host(host) {
                    let what = format!("host of GOPROXY entry {position} ({url})");
                    if port_ok(*p) {
                        return Some(Classification::new(Role::Proxy, what));
                    }
                    note(what, *p);
                }
            }
        }
        for hp in &view.http {
            if same_host(&hp.host) {
                let what = format!("host of {} ({})", hp.var, hp.url);
                if port_ok(hp.port) {
                    return Some(Classification::new(Role::Proxy, what));
                }
                note(what, hp.port);
            }
        }
        if let SumDb::On {
            name,
            url,
            host,
            port: p,
            ..
        } = &view.sumdb
        {
            if same_host(host) {
                let what = if *url == format!("https://{name}") {
                    format!("host of GOSUMDB {name}")
                } else {
                    format!("host of GOSUMDB {name} ({url})")
                };
                if port_ok(*p) {
                    return Some(Classification::new(Role::Sumdb, what));
                }
                note(what, *p);
            }
        }
        wrong_port.map(|r| Classification::new(Role::Unexpected, r))
    }

    /// Rule (4) for a code or module host `h`.
    fn direct_verdict(&self, view: &View, h: &str, what: &str) -> Classification {
        if let Some(reason) = self.nonproxy_cover(h) {
            return Classification::new(Role::DirectAllowed, reason);
        }
        if let Some(problem) = &view.proxies.problem {
            return Classification::new(
                Role::Unexpected,
                format!("{what} reached although GOPROXY is invalid and go fails before any fetch ({problem})"),
            );
        }
        let entries = &view.proxies.entries;
        match entries
            .iter()
            .position(|(_, e, _)| *e == ProxyEntry::Direct)
        {
            Some(0) if self.goproxy.value.trim() == "direct" => Classification::new(
                Role::DirectAllowed,
                "GOPROXY=direct: every module is fetched from its origin",
            ),
            Some(0) => Classification::new(
                Role::DirectAllowed,
                "GOPROXY starts with direct: every module is fetched from its origin",
            ),
            Some(_) => Classification::new(Role::DirectAllowed, "GOPROXY falls back to direct"),
            None => {
                let off = matches!(entries.first(), None | Some((_, ProxyEntry::Off, _)));
                let reason = if off {
                    format!(
                        "{what} reached although GOPROXY=off and no GONOPROXY pattern covers it"
                    )
                } else {
                    format!("{what} reached although GOPROXY has no direct and no GONOPROXY pattern covers it")
                };
                Classification::new(Role::Unexpected, reason)
            }
        }
    }

    /// Whether a GONOPROXY (or defaulted GOPRIVATE) glob covers host `h`, with the sentence.
    fn nonproxy_cover(&self, h: &str) -> Option<String> {
        let var = self.gonoproxy.defaulted_from.unwrap_or("GONOPROXY");
        let family = code_host_entry(h).map(|c| c.family).filter(|f| *f != h);
        for written in self.gonoproxy.value.split(',') {
            let glob = written.strip_suffix('/').unwrap_or(written);
            if glob.is_empty() {
                continue;
            }
            let g = first_element(glob);
            let hit = |name: &str| path_match(g, name) == Ok(true);
            if hit(h) {
                return Some(format!("matches {var} pattern {written}"));
            }
            if let Some(f) = family {
                if hit(f) {
                    return Some(format!(
                        "{h} belongs to {f}, which matches {var} pattern {written}"
                    ));
                }
            }
            for (prefix, vcs) in VANITY_HOSTS {
                if (*vcs == h || Some(*vcs) == family) && hit(first_element(prefix)) {
                    return Some(format!(
                        "{h} serves {prefix} modules, which match {var} pattern {written}"
                    ));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert!(is_code_host("GitHub.com."));
        assert!(is_code_host("codeload.github.com:443"));
        assert!(is_code_host("objects.githubusercontent.com"));
        assert!(is_code_host("go.googlesource.com"));
        assert!(is_code_host("gopkg.in"));
        assert!(!is_code_host("notgithub.com"));
        assert!(!is_code_host("proxy.golang.org"));
        assert!(!is_code_host("githubusercontent.com.evil.example"));
        assert_eq!(
            metadata_provider("Metadata.Google.Internal."),
            Some("GCP metadata server")
        );
        assert_eq!(
            metadata_provider_ip("::ffff:169.254.170.2".parse().unwrap()),
            Some("AWS ECS task metadata and credentials")
        );
        assert_eq!(metadata_provider("example.com"), None);
        assert_eq!(Role::DirectAllowed.as_str(), "direct-allowed");
        assert_eq!(Role::Unexpected.to_string(), "unexpected");
    }
}
