//! Go module proxy protocol paths (<https://go.dev/ref/mod#goproxy-protocol>), decoded from a
//! request-target.
//!
//! ```text
//! <base>/<module>/@v/list                        List
//! <base>/<module>/@v/<version>.info|.mod|.zip    Info, Mod, Zip
//! <base>/<module>/@latest                        Latest
//! <base>/sumdb/<name>/supported                  SumdbSupported
//! <base>/sumdb/<name>/lookup/<module>@<version>  SumdbLookup
//! <base>/sumdb/<name>/tile/<H>/<L>/<K>[.p/<W>]   SumdbTile
//! <base>/sumdb/<name>/latest                     SumdbLatest
//! ```
//!
//! `<base>` is the path of the `GOPROXY` URL (often empty, `/goproxy`, or an Artifactory
//! repository path) and is not known to an observer: the module path is taken to start at the
//! first path element that can begin one (lowercase letters, digits, `-` and `.`, with a dot;
//! `module.CheckPath`'s rule for the first element), after percent-decoding. Module paths and
//! versions are case-encoded (`!b` for `B`, `module.EscapePath`); that is undone, and invalid
//! escapes are errors, as in `module.UnescapePath`.
//!
//! Requests made straight to a checksum database host (`/lookup/...` without `/sumdb/<name>`)
//! are not recognised: the paths are too generic to tell from ordinary web requests.

use core::fmt;

/// Which endpoint of the protocol a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GoProxyKind {
    /// `@v/list`: known versions.
    List,
    /// `@v/<version>.info`: version metadata.
    Info,
    /// `@v/<version>.mod`: the go.mod file.
    Mod,
    /// `@v/<version>.zip`: the module zip.
    Zip,
    /// `@latest`: the latest version when there is no list.
    Latest,
    /// `sumdb/<name>/supported`: whether the proxy proxies that checksum database.
    SumdbSupported,
    /// `sumdb/<name>/lookup/<module>@<version>`: a checksum database record.
    SumdbLookup,
    /// `sumdb/<name>/tile/...`: a tile of the checksum database log.
    SumdbTile,
    /// `sumdb/<name>/latest`: the signed tree head.
    SumdbLatest,
}

impl GoProxyKind {
    /// A stable snake_case name (`list`, `info`, ..., `sumdb_latest`).
    pub const fn name(self) -> &'static str {
        match self {
            GoProxyKind::List => "list",
            GoProxyKind::Info => "info",
            GoProxyKind::Mod => "mod",
            GoProxyKind::Zip => "zip",
            GoProxyKind::Latest => "latest",
            GoProxyKind::SumdbSupported => "sumdb_supported",
            GoProxyKind::SumdbLookup => "sumdb_lookup",
            GoProxyKind::SumdbTile => "sumdb_tile",
            GoProxyKind::SumdbLatest => "sumdb_latest",
        }
    }
}

/// A decoded Go module proxy request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GoProxyRequest {
    /// The endpoint.
    pub kind: GoProxyKind,
    /// The module path, case-decoded (`github.com/BurntSushi/toml`); `None` for sumdb
    /// endpoints other than lookup.
    pub module: Option<String>,
    /// The version, case-decoded (`v1.3.2`), for Info, Mod, Zip and SumdbLookup.
    pub version: Option<String>,
    /// The checksum database name (`sum.golang.org`) for the sumdb endpoints.
    pub sumdb: Option<String>,
    /// The path before the module path or `/sumdb/` (`/goproxy`), when not empty.
    pub base: Option<String>,
    /// The tile path after `tile/` (`8/0/x001/234.p/5`) for SumdbTile.
    pub tile: Option<String>,
}

/// Why a request-target that looks like the Go module proxy protocol does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GoProxyError {
    /// A `%` not followed by two hex digits.
    BadPercent,
    /// Percent-decoding gave bytes that are not UTF-8.
    BadUtf8,
    /// An invalid case escape: `!` not followed by a lowercase letter, an unescaped uppercase
    /// letter, or a non-ASCII character.
    BadEscape,
    /// No path element that can start a module path, or an empty element.
    BadModulePath,
    /// An empty version or one containing `/`.
    BadVersion,
    /// An `@v/` file that is not `list`, `.info`, `.mod` or `.zip`.
    UnknownEndpoint,
}

impl fmt::Display for GoProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GoProxyError::BadPercent => "invalid percent-encoding",
            GoProxyError::BadUtf8 => "percent-decoded path is not UTF-8",
            GoProxyError::BadEscape => "invalid case-encoding escape",
            GoProxyError::BadModulePath => "no valid module path",
            GoProxyError::BadVersion => "invalid version",
            GoProxyError::UnknownEndpoint => "unknown @v/ endpoint",
        })
    }
}

impl std::error::Error for GoProxyError {}

/// Decodes a request-target (origin-form `/path?query` or absolute-form
/// `http://host/path`). `Ok(None)`: not a Go module proxy path; `Err`: it has the protocol's
/// markers but does not decode.
pub fn parse_goproxy_target(target: &str) -> Result<Option<GoProxyRequest>, GoProxyError> {
    let path = origin_path(target);
    if !path.starts_with('/') {
        return Ok(None);
    }
    let path = percent_decode(path)?;
    if let Some(i) = path.find("/@v/") {
        let (module, base) = module_with_base(&path[..i])?;
        let file = &path[i + 4..];
        let (kind, version) = if file == "list" {
            (GoProxyKind::List, None)
        } else {
            let (stem, kind) = if let Some(s) = file.strip_suffix(".info") {
                (s, GoProxyKind::Info)
            } else if let Some(s) = file.strip_suffix(".mod") {
                (s, GoProxyKind::Mod)
            } else if let Some(s) = file.strip_suffix(".zip") {
                (s, GoProxyKind::Zip)
            } else {
                return Err(GoProxyError::UnknownEndpoint);
            };
            (kind, Some(unescape_version(stem)?))
        };
        return Ok(Some(GoProxyRequest {
            kind,
            module: Some(module),
            version,
            sumdb: None,
            base,
            tile: None,
        }));
    }
    if let Some(before) = path.strip_suffix("/@latest") {
        let (module, base) = module_with_base(before)?;
        return Ok(Some(GoProxyRequest {
            kind: GoProxyKind::Latest,
            module: Some(module),
            version: None,
            sumdb: None,
            base,
            tile: None,
        }));
    }
    sumdb(&path)
}

/// The `/sumdb/<name>/...` endpoints; `Ok(None)` when the path is not one.
fn sumdb(path: &str) -> Result<Option<GoProxyRequest>, GoProxyError> {
    let Some(i) = path.find("/sumdb/") else {
        return Ok(None);
    };
    let base = non_empty(&path[..i]);
    let rest = &path[i + 7..];
    let Some((name, endpoint)) = rest.split_once('/') else {
        return Ok(None);
    };
    // Checksum database names are host names.
    if !name.contains('.') || name.starts_with('.') || name.contains('@') {
        return Ok(None);
    }
    let mut req = GoProxyRequest {
        kind: GoProxyKind::SumdbSupported,
        module: None,
        version: None,
        sumdb: Some(name.to_string()),
        base,
        tile: None,
    };
    match endpoint {
        "supported" => {}
        "latest" => req.kind = GoProxyKind::SumdbLatest,
        _ => {
            if let Some(rec) = endpoint.strip_prefix("lookup/") {
                let Some((module, version)) = rec.split_once('@') else {
                    return Err(GoProxyError::BadVersion);
                };
                req.kind = GoProxyKind::SumdbLookup;
                req.module = Some(unescape_module(module)?);
                req.version = Some(unescape_version(version)?);
            } else if let Some(tile) = endpoint.strip_prefix("tile/") {
                if tile.is_empty() {
                    return Ok(None);
                }
                req.kind = GoProxyKind::SumdbTile;
                req.tile = Some(tile.to_string());
            } else {
                return Ok(None);
            }
        }
    }
    Ok(Some(req))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The path of a request-target: absolute-form loses scheme and authority, query and
/// fragment are dropped.
fn origin_path(target: &str) -> &str {
    let mut t = target;
    if let Some(i) = t.find("://") {
        let scheme = &t[..i];
        if !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            let after = &t[i + 3..];
            t = match after.find(['/', '?', '#']) {
                Some(j) if after[j..].starts_with('/') => &after[j..],
                _ => "/",
            };
        }
    }
    match t.find(['?', '#']) {
        Some(j) => &t[..j],
        None => t,
    }
}

/// Percent-decodes a path.
fn percent_decode(s: &str) -> Result<String, GoProxyError> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = |k: usize| {
                b.get(k)
                    .and_then(|&h| (h as char).to_digit(16))
                    .ok_or(GoProxyError::BadPercent)
            };
            let v = hex(i + 1)? * 16 + hex(i + 2)?;
            out.push(v as u8);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| GoProxyError::BadUtf8)
}

/// Whether an escaped path element can start a module path (`module.CheckPath`: lowercase
/// letters, digits, `-`, `.`; a dot; no leading `-` or `.`, no trailing `.`).
fn can_start_module(elem: &str) -> bool {
    elem.contains('.')
        && !elem.starts_with(['-', '.'])
        && !elem.ends_with('.')
        && elem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// Splits `<base>/<module>` (starting with `/`) and decodes the module path.
fn module_with_base(path: &str) -> Result<(String, Option<String>), GoProxyError> {
    let mut start = None;
    let mut at = 0usize;
    for elem in path.split('/') {
        if can_start_module(elem) {
            start = Some(at);
            break;
        }
        at += elem.len() + 1;
    }
    let start = start.ok_or(GoProxyError::BadModulePath)?;
    let base = non_empty(path.get(..start.saturating_sub(1)).unwrap_or(""));
    let module = path.get(start..).ok_or(GoProxyError::BadModulePath)?;
    Ok((unescape_module(module)?, base))
}

/// Undoes `module.EscapePath` on a module path; empty elements are errors.
pub fn unescape_module(escaped: &str) -> Result<String, GoProxyError> {
    if escaped.is_empty() || escaped.split('/').any(str::is_empty) {
        return Err(GoProxyError::BadModulePath);
    }
    unescape(escaped)
}

/// Undoes `module.EscapeVersion`; a version is non-empty and has no `/`.
pub fn unescape_version(escaped: &str) -> Result<String, GoProxyError> {
    if escaped.is_empty() || escaped.contains('/') {
        return Err(GoProxyError::BadVersion);
    }
    unescape(escaped)
}

/// The case-encoding of the module proxy protocol: `!x` is `X`; an uppercase letter, a `!`
/// not followed by a lowercase letter, or a non-ASCII character is an error.
fn unescape(escaped: &str) -> Result<String, GoProxyError> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for c in escaped.chars() {
        if !c.is_ascii() {
            return Err(GoProxyError::BadEscape);
        }
        if bang {
            bang = false;
            if !c.is_ascii_lowercase() {
                return Err(GoProxyError::BadEscape);
            }
            out.push(c.to_ascii_uppercase());
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return Err(GoProxyError::BadEscape);
        } else {
            out.push(c);
        }
    }
    if bang {
        return Err(GoProxyError::BadEscape);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(
        kind: GoProxyKind,
        module: Option<&str>,
        version: Option<&str>,
        sumdb: Option<&str>,
    ) -> GoProxyRequest {
        GoProxyRequest {
            kind,
            module: module.map(str::to_string),
            version: version.map(str::to_string),
            sumdb: sumdb.map(str::to_string),
            base: None,
            tile: None,
        }
    }

    fn parse(t: &str) -> GoProxyRequest {
        parse_goproxy_target(t).unwrap().unwrap()
    }

    #[test]
    fn module_endpoints_with_case_escapes() {
        use GoProxyKind::*;
        assert_eq!(
            parse("/github.com/!burnt!sushi/toml/@v/v1.3.2.info"),
            req(
                Info,
                Some("github.com/BurntSushi/toml"),
                Some("v1.3.2"),
                None
            )
        );
        assert_eq!(
            parse("/golang.org/x/text/@v/list"),
            req(List, Some("golang.org/x/text"), None, None)
        );
        assert_eq!(
            parse("/golang.org/x/text/@v/v0.14.0.mod"),
            req(Mod, Some("golang.org/x/text"), Some("v0.14.0"), None)
        );
        assert_eq!(
            parse("/github.com/!azure/azure-sdk-for-go/@v/v68.0.0+incompatible.zip"),
            req(
                Zip,
                Some("github.com/Azure/azure-sdk-for-go"),
                Some("v68.0.0+incompatible"),
                None
            )
        );
        assert_eq!(
            parse("/golang.org/x/text/@latest"),
            req(Latest, Some("golang.org/x/text"), None, None)
        );
        // Versions are case-encoded too.
        assert_eq!(
            parse("/example.com/m/@v/v1.0.0-!r!c1.info")
                .version
                .as_deref(),
            Some("v1.0.0-RC1")
        );
        // Query strings are not part of the path.
        assert_eq!(
            parse("/golang.org/x/text/@v/list?go-get=1").kind,
            GoProxyKind::List
        );
    }

    #[test]
    fn sumdb_endpoints() {
        use GoProxyKind::*;
        assert_eq!(
            parse("/sumdb/sum.golang.org/supported"),
            req(SumdbSupported, None, None, Some("sum.golang.org"))
        );
        assert_eq!(
            parse("/sumdb/sum.golang.org/lookup/golang.org/x/text@v0.14.0"),
            req(
                SumdbLookup,
                Some("golang.org/x/text"),
                Some("v0.14.0"),
                Some("sum.golang.org")
            )
        );
        assert_eq!(
            parse("/sumdb/sum.golang.org/latest"),
            req(SumdbLatest, None, None, Some("sum.golang.org"))
        );
        let t = parse("/sumdb/sum.golang.org/tile/8/0/x088/123.p/45");
        assert_eq!(t.kind, SumdbTile);
        assert_eq!(t.tile.as_deref(), Some("8/0/x088/123.p/45"));
        assert_eq!(
            parse("/sumdb/sum.golang.org/lookup/github.com/!burnt!sushi/toml@v1.3.2").module,
            Some("github.com/BurntSushi/toml".to_string())
        );
    }

    #[test]
    fn base_path_and_absolute_form() {
        let r = parse("/goproxy/golang.org/x/text/@v/list");
        assert_eq!(r.module.as_deref(), Some("golang.org/x/text"));
        assert_eq!(r.base.as_deref(), Some("/goproxy"));
        let r = parse("http://proxy.example/goproxy/golang.org/x/text/@v/v0.14.0.zip");
        assert_eq!(r.kind, GoProxyKind::Zip);
        assert_eq!(r.module.as_deref(), Some("golang.org/x/text"));
        assert_eq!(r.version.as_deref(), Some("v0.14.0"));
        assert_eq!(r.base.as_deref(), Some("/goproxy"));
        let r = parse("https://proxy.example:8443/golang.org/x/text/@latest");
        assert_eq!((r.kind, r.base), (GoProxyKind::Latest, None));
        let r = parse("/artifactory/api/go/go-remote/github.com/!burnt!sushi/toml/@v/list");
        assert_eq!(r.module.as_deref(), Some("github.com/BurntSushi/toml"));
        assert_eq!(r.base.as_deref(), Some("/artifactory/api/go/go-remote"));
        let r = parse("HTTP://proxy.example/athens/sumdb/sum.golang.org/supported");
        assert_eq!(r.kind, GoProxyKind::SumdbSupported);
        assert_eq!(r.base.as_deref(), Some("/athens"));
    }

    #[test]
    fn percent_decoding() {
        let r = parse("/github.com/%21burnt%21sushi/toml/%40v/v1.3.2.info");
        assert_eq!(r.module.as_deref(), Some("github.com/BurntSushi/toml"));
        assert_eq!(r.kind, GoProxyKind::Info);
        assert_eq!(
            parse_goproxy_target("/golang.org/x/text/@v/%zzlist"),
            Err(GoProxyError::BadPercent)
        );
        assert_eq!(
            parse_goproxy_target("/golang.org/x/text/@v/%ff.info"),
            Err(GoProxyError::BadUtf8)
        );
        assert_eq!(
            parse_goproxy_target("/golang.org/x/text/@v/v1%"),
            Err(GoProxyError::BadPercent)
        );
    }

    #[test]
    fn invalid_escapes_are_errors() {
        for (t, e) in [
            (
                "/github.com/BurntSushi/toml/@v/list",
                GoProxyError::BadEscape,
            ),
            ("/github.com/!!x/@v/list", GoProxyError::BadEscape),
            ("/github.com/x!/@v/list", GoProxyError::BadEscape),
            ("/github.com/!1x/@v/list", GoProxyError::BadEscape),
            ("/github.com/é/@v/list", GoProxyError::BadEscape),
            ("/example.com/m/@v/V1.0.0.info", GoProxyError::BadEscape),
            ("/example.com/m/@v/.info", GoProxyError::BadVersion),
            (
                "/example.com/m/@v/v1.0.0.ziphash",
                GoProxyError::UnknownEndpoint,
            ),
            ("/@v/list", GoProxyError::BadModulePath),
            ("/goproxy/@latest", GoProxyError::BadModulePath),
            ("/example.com//m/@v/list", GoProxyError::BadModulePath),
            (
                "/sumdb/sum.golang.org/lookup/golang.org/x/text",
                GoProxyError::BadVersion,
            ),
        ] {
            assert_eq!(parse_goproxy_target(t), Err(e), "{t}");
        }
    }

    #[test]
    fn other_paths_are_not_goproxy() {
        for t in [
            "/",
            "/index.html",
            "*",
            "proxy.example:443",
            "/latest",
            "/lookup/golang.org/x/text@v0.14.0",
            "/sumdb/",
            "/sumdb/local/supported",
            "/sumdb/sum.golang.org/other",
            "http://example.com",
            "http://example.com?x=/@v/list",
        ] {
            assert_eq!(parse_goproxy_target(t), Ok(None), "{t}");
        }
    }
}
