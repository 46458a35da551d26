//! The few URL and `host:port` rules the settings need, after Go's `net/url` (`getScheme`,
//! `parseAuthority`, `parseHost`, `validOptionalPort`) and `net.SplitHostPort`. Not a general
//! URL parser: it splits scheme, authority and the rest, checks the port, lower-cases the host.

use std::net::IpAddr;

/// The parts of a URL the settings look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UrlParts<'a> {
    /// Lower-cased scheme; empty when there is none.
    pub scheme: String,
    /// Whether `//authority` was present.
    pub has_authority: bool,
    /// Whether the authority had `user[:password]@`.
    pub has_userinfo: bool,
    /// Host, lower-cased, without IPv6 brackets; may be empty.
    pub host: String,
    /// Port, when one was written.
    pub port: Option<u16>,
    /// Everything after the authority (path, query, fragment), or after `scheme:` when there
    /// is no authority (Go's opaque part).
    pub rest: &'a str,
}

/// Why a URL did not parse (wording after Go's `net/url` errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum UrlError {
    /// `:` at the very start.
    MissingScheme,
    /// A port that is not digits or does not fit in 16 bits.
    BadPort,
    /// A host with spaces, control characters or an unclosed `[`.
    BadHost,
}

impl UrlError {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            UrlError::MissingScheme => "missing protocol scheme",
            UrlError::BadPort => "invalid port",
            UrlError::BadHost => "invalid host",
        }
    }
}

/// Go's `getScheme`: a letter, then letters, digits, `+`, `-`, `.`, then `:`. Anything else
/// before the first `:` means there is no scheme.
fn split_scheme(s: &str) -> Result<(&str, &str), UrlError> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err(UrlError::MissingScheme),
            ':' => return Ok((s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or(""))),
            _ => return Ok(("", s)),
        }
    }
    Ok(("", s))
}

/// Parses `scheme://[userinfo@]host[:port]/rest` (scheme and authority both optional).
pub(super) fn parse_url(s: &str) -> Result<UrlParts<'_>, UrlError> {
    let (scheme, after) = split_scheme(s)?;
    let mut parts = UrlParts {
        scheme: scheme.to_ascii_lowercase(),
        has_authority: false,
        has_userinfo: false,
        host: String::new(),
        port: None,
        rest: after,
    };
    let Some(auth_and_rest) = after.strip_prefix("//") else {
        return Ok(parts);
    };
    let end = auth_and_rest
        .find(['/', '?', '#'])
        .unwrap_or(auth_and_rest.len());
    let (authority, rest) = auth_and_rest.split_at(end);
    parts.has_authority = true;
    parts.rest = rest;
    let hostport = match authority.rfind('@') {
        Some(i) => {
            parts.has_userinfo = true;
            authority.get(i + 1..).unwrap_or("")
        }
        None => authority,
    };
    let (host, port) = split_url_host(hostport)?;
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '@'))
    {
        return Err(UrlError::BadHost);
    }
    parts.host = normalize_host(host);
    parts.port = port;
    Ok(parts)
}

/// Go's `parseHost` for an authority's `host[:port]` / `[v6]:port`.
fn split_url_host(hostport: &str) -> Result<(&str, Option<u16>), UrlError> {
    if let Some(inner) = hostport.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Err(UrlError::BadHost);
        };
        let host = inner.get(..close).unwrap_or("");
        let after = inner.get(close + 1..).unwrap_or("");
        if after.is_empty() {
            return Ok((host, None));
        }
        let Some(port) = after.strip_prefix(':') else {
            return Err(UrlError::BadPort);
        };
        return Ok((host, parse_port(port)?));
    }
    match hostport.rfind(':') {
        Some(i) => {
            let port = hostport.get(i + 1..).unwrap_or("");
            Ok((hostport.get(..i).unwrap_or(""), parse_port(port)?))
        }
        None => Ok((hostport, None)),
    }
}

/// Go's `validOptionalPort`: empty, or digits (here also: fits in 16 bits).
fn parse_port(p: &str) -> Result<Option<u16>, UrlError> {
    if p.is_empty() {
        return Ok(None);
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::BadPort);
    }
    p.parse::<u16>().map(Some).map_err(|_| UrlError::BadPort)
}

/// Default port of a scheme (Go `net/http` and `httpproxy` `portMap`).
pub(super) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "socks5" | "socks5h" => Some(1080),
        _ => None,
    }
}

/// Lower-case, without surrounding spaces, IPv6 brackets or a trailing dot.
pub(super) fn normalize_host(h: &str) -> String {
    let h = h.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    let h = h.strip_suffix('.').unwrap_or(h);
    h.to_ascii_lowercase()
}

/// Splits a destination as seen on the wire (DNS name, SNI, `Host:` header, CONNECT target):
/// `host`, `host:port`, `[v6]:port`, or a bare IPv6 address (two or more colons, no port).
/// The host comes back normalized; a port that does not parse is dropped.
pub(super) fn split_destination(s: &str) -> (String, Option<u16>) {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('[') {
        if let Some(close) = inner.find(']') {
            let host = inner.get(..close).unwrap_or("");
            let port = inner
                .get(close + 1..)
                .and_then(|a| a.strip_prefix(':'))
                .and_then(|p| p.parse::<u16>().ok());
            return (normalize_host(host), port);
        }
        return (normalize_host(inner), None);
    }
    if s.bytes().filter(|&b| b == b':').count() == 1 {
        if let Some((h, p)) = s.split_once(':') {
            return (normalize_host(h), p.parse::<u16>().ok());
        }
    }
    (normalize_host(s), None)
}

/// The address of a host written as an IP literal (an IPv6 zone is ignored).
pub(super) fn host_ip(host: &str) -> Option<IpAddr> {
    let h = host.split('%').next().unwrap_or(host);
    h.parse::<IpAddr>().ok()
}

/// Replaces the password of every `scheme://user:password@host` in `s` with `xxxxx`, as Go's
/// `url.URL.Redacted` does, so reports never print credentials kept in GOPROXY or HTTPS_PROXY.
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | ',' | '|') || c.is_whitespace())
            .unwrap_or(tail.len());
        let (authority, after) = tail.split_at(end);
        match authority.rfind('@') {
            Some(at) => {
                let (userinfo, hostport) = authority.split_at(at);
                match userinfo.split_once(':') {
                    Some((user, _password)) => {
                        out.push_str(user);
                        out.push_str(":xxxxx");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(hostport);
            }
            None => out.push_str(authority),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_like_go() {
        let u = parse_url("https://User:Pw@GoProxy.CN:8443/a/b?x#y").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "goproxy.cn");
        assert_eq!(u.port, Some(8443));
        assert!(u.has_userinfo);
        assert_eq!(u.rest, "/a/b?x#y");
        let u = parse_url("http://[2001:DB8::1]:3128").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("2001:db8::1", Some(3128)));
        let u = parse_url("http://[2001:db8::1]").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("2001:db8::1", None));
        assert_eq!(parse_url("http://h:x").unwrap_err(), UrlError::BadPort);
        assert_eq!(parse_url("http://h:70000").unwrap_err(), UrlError::BadPort);
        assert_eq!(parse_url("http://[::1").unwrap_err(), UrlError::BadHost);
        assert_eq!(parse_url(":x").unwrap_err(), UrlError::MissingScheme);
        let u = parse_url("proxy.corp:3128").unwrap();
        assert_eq!((u.scheme.as_str(), u.has_authority), ("proxy.corp", false));
        let u = parse_url("file:///srv/goproxy").unwrap();
        assert_eq!((u.host.as_str(), u.rest), ("", "/srv/goproxy"));
        assert_eq!(parse_url("foo").unwrap().scheme, "");
    }

    #[test]
    fn splits_destinations() {
        assert_eq!(
            split_destination("GitHub.com.:443"),
            ("github.com".into(), Some(443))
        );
        assert_eq!(split_destination("github.com"), ("github.com".into(), None));
        assert_eq!(
            split_destination("[fd00:ec2::254]:80"),
            ("fd00:ec2::254".into(), Some(80))
        );
        assert_eq!(
            split_destination("fd00:ec2::254"),
            ("fd00:ec2::254".into(), None)
        );
        assert_eq!(split_destination("h:notaport"), ("h".into(), None));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("https://u:secret@goproxy.corp/x,https://proxy.golang.org,direct"),
            "https://u:xxxxx@goproxy.corp/x,https://proxy.golang.org,direct"
        );
        assert_eq!(redact("http://token@h:1"), "http://token@h:1");
        assert_eq!(redact("direct"), "direct");
    }
}
