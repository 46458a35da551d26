//! GOPROXY lists (Go `cmd/go/internal/modfetch/proxy.go` `proxyList`, `TryProxies`) and the
//! HTTP proxy variables (`golang.org/x/net/http/httpproxy`, which `net/http` uses for every
//! request the go command sends).

use std::fmt;
use std::net::IpAddr;

use super::url::{default_port, host_ip, parse_url, redact, UrlParts};

/// One entry of GOPROXY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyEntry {
    /// An `http://` or `https://` module proxy. A bare `host[/path]` entry gets `https://`
    /// prepended, as Go does.
    Url {
        /// The URL with the implicit `https://` added and any password redacted.
        url: String,
        /// Lower-cased host, without IPv6 brackets.
        host: String,
        /// Port: the written one, else 443 or 80 by scheme.
        port: u16,
        /// Whether the scheme is `https`.
        https: bool,
    },
    /// A `file://` proxy: a local directory, no network traffic.
    File {
        /// The URL as written.
        url: String,
    },
    /// `direct`: fetch from the module's origin (version control). Go ignores every entry
    /// after it.
    Direct,
    /// `off`: fail. Go ignores every entry after it.
    Off,
}

impl fmt::Display for ProxyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyEntry::Url { url, .. } | ProxyEntry::File { url } => f.write_str(url),
            ProxyEntry::Direct => f.write_str("direct"),
            ProxyEntry::Off => f.write_str("off"),
        }
    }
}

/// When the go command moves on from an entry to the next one: the separator written after
/// the entry (the last entry gets [`Fallback::OnNotFound`], Go's `fallBackOnError == false`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fallback {
    /// `,`: only after a "not found" answer (HTTP 404 or 410); any other error ends the lookup.
    OnNotFound,
    /// `|`: after any error, timeouts and refused connections included.
    OnAnyError,
}

impl Fallback {
    /// The separator character: `,` or `|`.
    pub fn separator(self) -> char {
        match self {
            Fallback::OnNotFound => ',',
            Fallback::OnAnyError => '|',
        }
    }
}

/// An entry of GOPROXY that Go rejects. Go then fails every module lookup with this error
/// (`proxyList` returns it before any request is sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyProblem {
    /// 1-based position among the non-empty entries.
    pub position: usize,
    /// The entry as written (trimmed, password redacted).
    pub entry: String,
    /// Go's complaint, e.g. `invalid proxy URL missing scheme`.
    pub reason: String,
}

impl fmt::Display for ProxyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entry {} ({}): {}",
            self.position, self.entry, self.reason
        )
    }
}

/// A parsed GOPROXY value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyList {
    /// `(position, entry, fallback)` in order; the position (1-based, among non-empty
    /// entries) is the one [`ProxyProblem`] and classification reasons use.
    pub entries: Vec<(usize, ProxyEntry, Fallback)>,
    /// The first rejected entry; Go stops parsing there.
    pub problem: Option<ProxyProblem>,
    /// Non-empty entries written after `direct` or `off`, which Go ignores.
    pub ignored: Vec<String>,
}

/// Parses a GOPROXY value as Go's `proxyList` does.
///
/// Entries are separated by `,` or `|` and trimmed; empty entries are skipped; `off` and
/// `direct` end the list; an entry containing `.`, `:` or `/` but not `:/` and not starting
/// with `/` gets `https://` prepended (so `goproxy.cn` means `https://goproxy.cn`); schemes
/// `http`, `https` and `file` are accepted. The GONOPROXY bypass Go puts before the list (its
/// `noproxy` entry) is not part of the result: see
/// [`GoConfig::module_route`](super::GoConfig::module_route). An empty value gives an empty
/// list; Go then behaves as for `off`.
///
/// ```
/// use tidysniff_core::goenv::{parse_goproxy, Fallback, ProxyEntry};
/// let list = parse_goproxy("goproxy.cn|https://proxy.golang.org,direct");
/// assert_eq!(list.entries.len(), 3);
/// assert_eq!(list.entries[0].2, Fallback::OnAnyError);
/// assert_eq!(list.entries[2].1, ProxyEntry::Direct);
/// ```
pub fn parse_goproxy(value: &str) -> ProxyList {
    let mut list = ProxyList::default();
    let mut rest = value;
    let mut position = 0;
    let mut ended = false;
    while !rest.is_empty() {
        let (raw, fallback) = match rest.find([',', '|']) {
            Some(i) => {
                let sep = rest.as_bytes().get(i).copied();
                let raw = rest.get(..i).unwrap_or("");
                rest = rest.get(i + 1..).unwrap_or("");
                let fb = if sep == Some(b'|') {
                    Fallback::OnAnyError
                } else {
                    Fallback::OnNotFound
                };
                (raw, fb)
            }
            None => {
                let raw = rest;
                rest = "";
                (raw, Fallback::OnNotFound)
            }
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        if ended {
            list.ignored.push(redact(raw));
            continue;
        }
        position += 1;
        match raw {
            "off" => {
                list.entries.push((position, ProxyEntry::Off, fallback));
                ended = true;
                continue;
            }
            "direct" => {
                list.entries.push((position, ProxyEntry::Direct, fallback));
                ended = true;
                continue;
            }
            _ => {}
        }
        match proxy_entry(raw) {
            Ok(entry) => list.entries.push((position, entry, fallback)),
            Err(reason) => {
                list.problem = Some(ProxyProblem {
                    position,
                    entry: redact(raw),
                    reason,
                });
                break;
            }
        }
    }
    list
}

/// One URL entry, after Go's implicit `https://` rule and `newProxyRepo` checks.
fn proxy_entry(raw: &str) -> Result<ProxyEntry, String> {
    let url = if raw.contains(['.', ':', '/']) && !raw.contains(":/") && !raw.starts_with('/') {
        format!("https://{raw}")
    } else {
        raw.to_string()
    };
    let u = parse_url(&url).map_err(|e| format!("invalid proxy URL: {}", e.as_str()))?;
    match u.scheme.as_str() {
        "http" | "https" => {
            if u.host.is_empty() {
                return Err("invalid proxy URL: no host".to_string());
            }
            let https = u.scheme == "https";
            let port = u.port.or(default_port(&u.scheme)).unwrap_or(443);
            Ok(ProxyEntry::Url {
                url: redact(&url),
                host: u.host,
                port,
                https,
            })
        }
        "file" => {
            let only_path = !u.has_userinfo
                && u.host.is_empty()
                && u.port.is_none()
                && u.rest.starts_with('/')
                && !u.rest.contains(['?', '#']);
            if only_path {
                Ok(ProxyEntry::File { url })
            } else {
                Err("invalid file:// proxy URL with non-path elements".to_string())
            }
        }
        "" => Err("invalid proxy URL missing scheme".to_string()),
        _ => Err("invalid proxy URL scheme (must be https, http, file)".to_string()),
    }
}

/// How the go command fetches one module (see [`GoConfig::module_route`](super::GoConfig::module_route)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// GONOPROXY (or GOPRIVATE, its default) matches: fetched from its origin, never through a
    /// proxy, even with GOPROXY=off (Go's `noproxy` entry comes first).
    Direct {
        /// The glob that matched, as written.
        pattern: String,
    },
    /// Tried through these GOPROXY entries in order (the list may end in
    /// [`ProxyEntry::Direct`] or [`ProxyEntry::Off`]).
    Proxies(Vec<(ProxyEntry, Fallback)>),
    /// GOPROXY is `off` (or empty): the lookup fails unless the module is in the cache.
    Off,
    /// GOPROXY has an entry Go rejects: every lookup fails with this error before any request.
    Broken {
        /// The rejected entry and Go's complaint.
        problem: ProxyProblem,
    },
}

/// An HTTP proxy from HTTPS_PROXY or HTTP_PROXY (or their lower-case forms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpProxy {
    /// `HTTPS_PROXY` or `HTTP_PROXY` (the upper-case name even when the lower-case one was set).
    pub var: &'static str,
    /// The URL, `http://` added when there was no usable scheme, password redacted.
    pub url: String,
    /// `http`, `https`, `socks5` or `socks5h`.
    pub scheme: String,
    /// Lower-cased host.
    pub host: String,
    /// Port: the written one, else 80, 443 or 1080 by scheme.
    pub port: u16,
}

/// Parses an HTTPS_PROXY / HTTP_PROXY value as `httpproxy.parseProxy` does: a URL with scheme
/// `http`, `https` or `socks5` (here also `socks5h`), otherwise `http://` is prepended (so
/// `proxy.corp:3128` means `http://proxy.corp:3128`). One deviation: a value with `://` that
/// does not parse (`http://h:port`) is an error here, where Go prepends `http://` anyway and
/// then dials a host named `http`.
pub fn parse_http_proxy(var: &'static str, value: &str) -> Result<HttpProxy, String> {
    let value = value.trim();
    let usable = |u: &UrlParts<'_>| {
        matches!(u.scheme.as_str(), "http" | "https" | "socks5" | "socks5h") && !u.host.is_empty()
    };
    let (url, scheme, host, port) = match parse_url(value) {
        Ok(u) if usable(&u) => (value.to_string(), u.scheme, u.host, u.port),
        // Go would prepend http:// here too and dial a host named after the scheme
        // ("http://h:x" becomes host "http:"); that is no usable proxy either.
        Err(e) if value.contains("://") => {
            return Err(format!("invalid proxy address {value:?}: {}", e.as_str()))
        }
        _ => {
            let with = format!("http://{value}");
            match parse_url(&with) {
                Ok(u) if !u.host.is_empty() => {
                    let (scheme, host, port) = (u.scheme, u.host, u.port);
                    (with, scheme, host, port)
                }
                Ok(_) => return Err(format!("invalid proxy address {value:?}: no host")),
                Err(e) => return Err(format!("invalid proxy address {value:?}: {}", e.as_str())),
            }
        }
    };
    let port = port.or(default_port(&scheme)).unwrap_or(80);
    Ok(HttpProxy {
        var,
        url: redact(&url),
        scheme,
        host,
        port,
    })
}

/// A parsed NO_PROXY value (`httpproxy.config.init`): hosts Go reaches without the HTTP proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    ips: Vec<(IpAddr, Option<u16>)>,
    cidrs: Vec<(IpAddr, u8)>,
    domains: Vec<(String, Option<u16>, bool)>,
}

impl NoProxy {
    /// Parses the comma-separated list: `*` (nothing is proxied), IP addresses and CIDR
    /// prefixes, `[v6]:port` / `ip:port`, domain names (`foo.com` matches itself and
    /// subdomains, `.foo.com` and `*.foo.com` subdomains only), each optionally with `:port`.
    /// Entries that fit none of these are ignored, as in Go.
    pub fn parse(value: &str) -> NoProxy {
        let mut np = NoProxy::default();
        for p in value.split(',') {
            let p = p.trim().to_ascii_lowercase();
            if p.is_empty() {
                continue;
            }
            if p == "*" {
                return NoProxy {
                    all: true,
                    ..NoProxy::default()
                };
            }
            if let Some(cidr) = parse_cidr(&p) {
                np.cidrs.push(cidr);
                continue;
            }
            let (mut phost, pport) = match split_host_port_strict(&p) {
                Some((h, port)) => {
                    if h.is_empty() {
                        continue;
                    }
                    (h.to_string(), port)
                }
                None => (p.clone(), None),
            };
            if let Some(inner) = phost.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                phost = inner.to_string();
            }
            if let Ok(ip) = phost.parse::<IpAddr>() {
                np.ips.push((ip, pport));
                continue;
            }
            if phost.is_empty() {
                continue;
            }
            if let Some(rest) = phost.strip_prefix("*.") {
                phost = format!(".{rest}");
            }
            let match_host = !phost.starts_with('.');
            if match_host {
                phost = format!(".{phost}");
            }
            np.domains.push((phost, pport, match_host));
        }
        np
    }

    /// Whether NO_PROXY exempts `host:port` (`httpproxy.useProxy` negated). `localhost` and
    /// loopback addresses are always exempt.
    pub fn exempts(&self, host: &str, port: u16) -> bool {
        let host = super::url::normalize_host(host);
        if host == "localhost" {
            return true;
        }
        let ip = host_ip(&host);
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        if self.all {
            return true;
        }
        if let Some(ip) = ip {
            if self
                .ips
                .iter()
                .any(|(m, p)| *m == ip && p.is_none_or(|p| p == port))
            {
                return true;
            }
            if self
                .cidrs
                .iter()
                .any(|&(net, len)| cidr_contains(net, len, ip))
            {
                return true;
            }
        }
        self.domains.iter().any(|(suffix, p, match_host)| {
            let hit = host.ends_with(suffix.as_str())
                || (*match_host && Some(host.as_str()) == suffix.get(1..));
            hit && p.is_none_or(|p| p == port)
        })
    }
}

/// `net.SplitHostPort` for NO_PROXY entries: `host:port` or `[v6]:port`; the port must be
/// digits here (a non-numeric one makes Go's match fail anyway).
fn split_host_port_strict(p: &str) -> Option<(&str, Option<u16>)> {
    if p.starts_with('[') {
        let close = p.find(']')?;
        let host = p.get(..=close)?;
        let port = p.get(close + 1..)?.strip_prefix(':')?;
        return Some((host, port.parse().ok()));
    }
    let (h, port) = p.rsplit_once(':')?;
    if h.contains(':') {
        return None;
    }
    Some((h, port.parse().ok()))
}

fn parse_cidr(p: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = p.split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

fn cidr_contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    let (a, b, bits) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            (u128::from(u32::from(n)), u128::from(u32::from(i)), 32u32)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128u32),
        (IpAddr::V6(n), IpAddr::V4(i)) => match n.to_ipv4_mapped() {
            Some(n4) => (u128::from(u32::from(n4)), u128::from(u32::from(i)), 32u32),
            None => return false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => return false,
    };
    let len = u32::from(len).min(bits);
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    a.checked_shr(shift) == b.checked_shr(shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str, host: &str, port: u16, https: bool) -> ProxyEntry {
        ProxyEntry::Url {
            url: u.to_string(),
            host: host.to_string(),
            port,
            https,
        }
    }

    fn entries(v: &str) -> Vec<(ProxyEntry, Fallback)> {
        parse_goproxy(v)
            .entries
            .into_iter()
            .map(|(_, e, f)| (e, f))
            .collect()
    }

    #[test]
    fn separators_give_fallbacks() {
        assert_eq!(
            entries("https://proxy.golang.org,direct"),
            vec![
                (
                    url("https://proxy.golang.org", "proxy.golang.org", 443, true),
                    Fallback::OnNotFound
                ),
                (ProxyEntry::Direct, Fallback::OnNotFound),
            ]
        );
        assert_eq!(
            entries("https://a.example|http://b.example:8080,https://c.example"),
            vec![
                (
                    url("https://a.example", "a.example", 443, true),
                    Fallback::OnAnyError
                ),
                (
                    url("http://b.example:8080", "b.example", 8080, false),
                    Fallback::OnNotFound
                ),
                (
                    url("https://c.example", "c.example", 443, true),
                    Fallback::OnNotFound
                ),
            ]
        );
        assert_eq!(Fallback::OnAnyError.separator(), '|');
    }

    #[test]
    fn off_direct_empty_and_implicit_https() {
        assert_eq!(
            entries("off"),
            vec![(ProxyEntry::Off, Fallback::OnNotFound)]
        );
        assert_eq!(entries(""), vec![]);
        assert_eq!(entries(" , |, "), vec![]);
        let l = parse_goproxy("direct,https://ignored.example,off");
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.ignored, vec!["https://ignored.example", "off"]);
        assert_eq!(
            entries(" goproxy.cn , [2001:db8::1]:8443/p"),
            vec![
                (
                    url("https://goproxy.cn", "goproxy.cn", 443, true),
                    Fallback::OnNotFound
                ),
                (
                    url("https://[2001:db8::1]:8443/p", "2001:db8::1", 8443, true),
                    Fallback::OnNotFound
                ),
            ]
        );
        assert_eq!(
            entries("file:///srv/goproxy,off"),
            vec![
                (
                    ProxyEntry::File {
                        url: "file:///srv/goproxy".into()
                    },
                    Fallback::OnNotFound
                ),
                (ProxyEntry::Off, Fallback::OnNotFound),
            ]
        );
        // Empty entries between separators do not shift positions or fallbacks.
        let l = parse_goproxy("a.example|,,b.example");
        assert_eq!(l.entries[0].2, Fallback::OnAnyError);
        assert_eq!(l.entries[1].0, 2);
    }

    #[test]
    fn rejected_entries_like_go() {
        let p = |v: &str| parse_goproxy(v).problem.map(|p| (p.position, p.reason));
        assert_eq!(
            p("https://goproxy.cn,noproxy"),
            Some((2, "invalid proxy URL missing scheme".to_string()))
        );
        assert_eq!(
            p("ftp://x.example"),
            Some((
                1,
                "invalid proxy URL scheme (must be https, http, file)".into()
            ))
        );
        assert_eq!(
            p("/srv/goproxy"),
            Some((1, "invalid proxy URL missing scheme".into()))
        );
        assert_eq!(
            p("file://host/x"),
            Some((1, "invalid file:// proxy URL with non-path elements".into()))
        );
        assert!(p("https://h:99999").is_some());
        assert!(p("https://").is_some());
        // Go stops at the bad entry.
        assert_eq!(parse_goproxy("bogus,https://x.example").entries.len(), 0);
        // A password never shows up.
        let l = parse_goproxy("https://u:tok@corp.example/go,direct");
        assert_eq!(
            l.entries[0].1.to_string(),
            "https://u:xxxxx@corp.example/go"
        );
    }

    #[test]
    fn http_proxy_values() {
        let p = parse_http_proxy("HTTPS_PROXY", "proxy.corp:3128").unwrap();
        assert_eq!(
            (p.url.as_str(), p.scheme.as_str(), p.host.as_str(), p.port),
            ("http://proxy.corp:3128", "http", "proxy.corp", 3128)
        );
        let p = parse_http_proxy("HTTPS_PROXY", "https://u:pw@Proxy.Corp").unwrap();
        assert_eq!(
            (p.url.as_str(), p.host.as_str(), p.port),
            ("https://u:xxxxx@Proxy.Corp", "proxy.corp", 443)
        );
        let p = parse_http_proxy("HTTP_PROXY", "socks5://10.0.0.1").unwrap();
        assert_eq!((p.scheme.as_str(), p.port), ("socks5", 1080));
        assert!(parse_http_proxy("HTTP_PROXY", "http://h:port").is_err());
    }

    #[test]
    fn no_proxy_matching() {
        let np = NoProxy::parse(
            "corp.example, .internal,*.svc:8443, 10.0.0.0/8, 192.168.1.5:3128, [::2]:80",
        );
        assert!(np.exempts("corp.example", 443));
        assert!(np.exempts("git.corp.example", 443));
        assert!(!np.exempts("xcorp.example", 443));
        assert!(!np.exempts("internal", 443));
        assert!(np.exempts("a.internal", 443));
        assert!(np.exempts("api.svc", 8443));
        assert!(!np.exempts("api.svc", 443));
        assert!(np.exempts("10.1.2.3", 443));
        assert!(np.exempts("192.168.1.5", 3128));
        assert!(!np.exempts("192.168.1.5", 443));
        assert!(np.exempts("::2", 80));
        assert!(np.exempts("localhost", 443));
        assert!(np.exempts("127.0.0.1", 443));
        assert!(!np.exempts("proxy.golang.org", 443));
        assert!(NoProxy::parse("*").exempts("proxy.golang.org", 443));
    }
}
