//! GOSUMDB (Go `cmd/go/internal/modfetch/sumdb.go` `dbDial`, `key.go` `knownGOSUMDB`,
//! `golang.org/x/mod/sumdb/note` `NewVerifier`).

use super::url::{default_port, parse_url};

/// The verifier key Go knows for `sum.golang.org` (Go `cmd/go/internal/modfetch/key.go`).
pub const SUM_GOLANG_ORG_KEY: &str =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

/// The checksum database the go command uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SumDb {
    /// `GOSUMDB=off`: nothing is checked against a database.
    Off,
    /// A database.
    On {
        /// Database name (`sum.golang.org`; may carry a path, `host/path`). Proxies serve it
        /// under `<proxy>/sumdb/<name>/`.
        name: String,
        /// The verifier key (`name+hash+base64key`); `Some` whenever Go accepts the value.
        key: Option<String>,
        /// Where it is reached directly: the URL written after the key, else `https://<name>`.
        url: String,
        /// Lower-cased host of `url`.
        host: String,
        /// Port of `url` (443 by default).
        port: u16,
        /// Whether `url` was written in GOSUMDB (or came from the `sum.golang.google.cn`
        /// alias). Go then uses it only, bypassing the GOPROXY proxies; otherwise Go first
        /// asks each proxy for `<proxy>/sumdb/<name>/supported` and goes to `url` only when
        /// none of them serves it (404/410, or `|`) or on reaching `direct`/`off`.
        explicit_url: bool,
    },
    /// A value Go rejects: every checksum lookup fails with this error (nothing is sent).
    Invalid {
        /// Go's complaint.
        reason: String,
    },
}

/// Parses a GOSUMDB value as Go's `dbDial` does. Forms: `off`; `sum.golang.org` (the only
/// bare name Go knows a key for); `sum.golang.google.cn` (an alias meaning
/// `sum.golang.org https://sum.golang.google.cn`); `name+hash+key`; `name+hash+key url`.
///
/// The key is checked for shape (name without spaces or `+`, 8 hex digits, 44 base64
/// characters of an Ed25519 key) but its hash is not recomputed.
///
/// ```
/// use tidysniff_core::goenv::{parse_gosumdb, SumDb};
/// let SumDb::On { name, host, explicit_url, .. } = parse_gosumdb("sum.golang.google.cn") else {
///     panic!()
/// };
/// assert_eq!((name.as_str(), host.as_str(), explicit_url), ("sum.golang.org", "sum.golang.google.cn", true));
/// ```
pub fn parse_gosumdb(value: &str) -> SumDb {
    if value == "off" {
        return SumDb::Off;
    }
    let value = if value == "sum.golang.google.cn" {
        "sum.golang.org https://sum.golang.google.cn"
    } else {
        value
    };
    let fields: Vec<&str> = value.split_whitespace().collect();
    let invalid = |r: &str| SumDb::Invalid {
        reason: r.to_string(),
    };
    let (first, url_field) = match fields.as_slice() {
        [] => return invalid("missing GOSUMDB"),
        [k] => (*k, None),
        [k, u] => (*k, Some(*u)),
        _ => return invalid("invalid GOSUMDB: too many fields"),
    };
    let key = if first == "sum.golang.org" {
        SUM_GOLANG_ORG_KEY
    } else {
        first
    };
    let name = match check_verifier_key(key) {
        Ok(name) => name,
        Err(e) => return invalid(&format!("invalid GOSUMDB: {e}")),
    };
    // dbDial: "https://" + name must be a plain host[/path].
    let direct = format!("https://{name}");
    let name_ok = parse_url(&direct).is_ok_and(|u| {
        !u.host.is_empty()
            && !u.has_userinfo
            && !u.rest.contains(['?', '#', '%'])
            && !name.ends_with('/')
    });
    if !name_ok {
        return invalid(&format!("invalid sumdb name (must be host[/path]): {name}"));
    }
    let (url, explicit_url) = match url_field {
        Some(u) => (u.to_string(), true),
        None => (direct, false),
    };
    let parts = match parse_url(&url) {
        Ok(p) if !p.host.is_empty() => p,
        Ok(_) => return invalid(&format!("invalid GOSUMDB URL {url}: no host")),
        Err(e) => return invalid(&format!("invalid GOSUMDB URL: {}", e.as_str())),
    };
    let port = parts.port.or(default_port(&parts.scheme)).unwrap_or(443);
    SumDb::On {
        name: name.to_string(),
        key: Some(key.to_string()),
        host: parts.host,
        port,
        url,
        explicit_url,
    }
}

/// Shape check of `name+hash+key` (`note.NewVerifier` without the hash recomputation);
/// returns the name.
fn check_verifier_key(key: &str) -> Result<&str, &'static str> {
    let (name, rest) = key.split_once('+').ok_or("malformed verifier id")?;
    let (hash, key64) = rest.split_once('+').ok_or("malformed verifier id")?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err("malformed verifier id");
    }
    if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("malformed verifier id");
    }
    let b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    // 33 bytes (algorithm 1 = Ed25519, then 32 key bytes) are 44 base64 characters, the
    // first being 'A' (high bits of 0x01) and the second in 'Q'..='f' (its low bits 01).
    let bytes = key64.as_bytes();
    let alg_ok =
        bytes.first() == Some(&b'A') && bytes.get(1).is_some_and(|&c| (b'Q'..=b'f').contains(&c));
    if bytes.len() != 44 || !bytes.iter().all(|&b| b64(b)) || !alg_ok {
        return Err("malformed verifier id");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(v: &str) -> (String, String, u16, bool) {
        match parse_gosumdb(v) {
            SumDb::On {
                name,
                host,
                port,
                explicit_url,
                ..
            } => (name, host, port, explicit_url),
            other => panic!("{v}: {other:?}"),
        }
    }

    #[test]
    fn gosumdb_forms() {
        assert_eq!(parse_gosumdb("off"), SumDb::Off);
        assert_eq!(
            on("sum.golang.org"),
            ("sum.golang.org".into(), "sum.golang.org".into(), 443, false)
        );
        let SumDb::On { key, url, .. } = parse_gosumdb("sum.golang.org") else {
            panic!()
        };
        assert_eq!(key.as_deref(), Some(SUM_GOLANG_ORG_KEY));
        assert_eq!(url, "https://sum.golang.org");
        assert_eq!(
            on("sum.golang.google.cn"),
            (
                "sum.golang.org".into(),
                "sum.golang.google.cn".into(),
                443,
                true
            )
        );
        assert_eq!(
            on("sum.golang.org https://sumdb.corp.example:8443/x"),
            (
                "sum.golang.org".into(),
                "sumdb.corp.example".into(),
                8443,
                true
            )
        );
        let custom = "sum.corp.example+1a2b3c4d+AbcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR";
        assert_eq!(
            on(custom),
            (
                "sum.corp.example".into(),
                "sum.corp.example".into(),
                443,
                false
            )
        );
        assert_eq!(
            on(&format!("{custom} http://10.0.0.5")),
            ("sum.corp.example".into(), "10.0.0.5".into(), 80, true)
        );
    }

    #[test]
    fn gosumdb_rejected_like_go() {
        let bad = |v: &str| match parse_gosumdb(v) {
            SumDb::Invalid { reason } => reason,
            other => panic!("{v}: {other:?}"),
        };
        assert_eq!(
            bad("sum.corp.example"),
            "invalid GOSUMDB: malformed verifier id"
        );
        assert_eq!(bad("   "), "missing GOSUMDB");
        assert_eq!(bad("a b c"), "invalid GOSUMDB: too many fields");
        assert_eq!(bad("x+zz+short"), "invalid GOSUMDB: malformed verifier id");
        // "Off" is not "off".
        assert!(matches!(parse_gosumdb("Off"), SumDb::Invalid { .. }));
    }
}
