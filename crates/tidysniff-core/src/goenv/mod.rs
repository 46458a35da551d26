//! Go's module-fetch configuration (GOPROXY, GONOPROXY, GOPRIVATE, GONOSUMDB, GOSUMDB, GOINSECURE,
//! HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and the role of each destination a capture shows under it.
//!
//! Pure: strings in, values out. Nothing here reads the environment, a file or the clock, and no
//! function panics on any input; what Go would reject is reported ([`GoConfig::problems`],
//! [`Route::Broken`], [`SumDb::Invalid`]), never thrown.
//!
//! # Where a value comes from
//!
//! The caller gathers [`Layer`]s (command-line flags, `go env -json` output, the process
//! environment, the go env file) and [`resolve`] takes, for each variable in [`VARS`], the first
//! layer that sets it, then Go's defaults. A variable set to the empty string counts as unset,
//! as in Go's `cfg.Getenv` (Go `cmd/go/internal/cfg/cfg.go`): an empty environment variable falls
//! through to the go env file, and `go env -w X=` deletes `X`. Defaults (same file, and
//! `$GOROOT/go.env` since Go 1.21): `GOPROXY=https://proxy.golang.org,direct`,
//! `GOSUMDB=sum.golang.org`, and GONOPROXY and GONOSUMDB take GOPRIVATE's value (`EnvOrAndChanged(
//! "GONOPROXY", GOPRIVATE)`); [`Setting::defaulted_from`] says so. HTTPS_PROXY, HTTP_PROXY and
//! NO_PROXY also accept their lower-case names, the upper-case one winning when both are
//! non-empty (`golang.org/x/net/http/httpproxy` `getEnvAny`).
//!
//! # What the values mean
//!
//! - GOPROXY ([`parse_goproxy`], Go `cmd/go/internal/modfetch/proxy.go` `proxyList`,
//!   `TryProxies`): entries separated by `,` (go on to the next entry only after a 404 or 410) or
//!   `|` (go on after any error); `direct` (fetch from version control) and `off` end the list;
//!   a bare `host/path` gets `https://`; an invalid entry makes every lookup fail.
//! - GONOPROXY / GONOSUMDB / GOPRIVATE / GOINSECURE ([`match_prefix_patterns`], x/mod
//!   `module.MatchPrefixPatterns`): comma-separated `path.Match` globs, each matched against as
//!   many leading path elements of the module path as it has. A module GONOPROXY matches is
//!   fetched directly even with `GOPROXY=off` (Go `modfetch/repo.go` `lookup`, the `noproxy`
//!   entry). GOINSECURE only relaxes TLS for such direct fetches; it does not skip GOSUMDB.
//! - GOSUMDB ([`parse_gosumdb`], Go `modfetch/sumdb.go` `dbDial`, `initBase`): `off`, a known name
//!   (`sum.golang.org`; `sum.golang.google.cn` is an alias reached at that host), `name+hash+key`,
//!   or `name+hash+key url`. Without a URL the database is reached through the first GOPROXY
//!   proxy that serves `<proxy>/sumdb/<name>/supported`, else directly at `https://<name>`.
//! - HTTPS_PROXY / HTTP_PROXY / NO_PROXY ([`parse_http_proxy`], [`NoProxy`]): the HTTP proxy Go's
//!   `net/http` sends every request through, except NO_PROXY hosts, `localhost` and loopback.
//!
//! # Roles of destinations
//!
//! [`GoConfig::classify_host`] and [`GoConfig::classify_ip`] say what a destination seen in a
//! capture (DNS name, TLS SNI, HTTP `Host`, CONNECT target, bare address) is under this
//! configuration: cloud [`Role::Metadata`], a configured [`Role::Proxy`] or [`Role::Sumdb`], a
//! code host Go may reach ([`Role::DirectAllowed`]) or should not ([`Role::Unexpected`]), or
//! [`Role::Other`]; each with a one-sentence reason naming the setting that decided it.
//!
//! ```
//! use tidysniff_core::goenv::{resolve, Layer, Origin, Role};
//!
//! let env = Layer::new(Origin::Environment, vec![
//!     ("GOPROXY".into(), "https://goproxy.cn".into()),
//!     ("GOPRIVATE".into(), "github.com/acme/*".into()),
//! ]);
//! let cfg = resolve(&[env]);
//! assert_eq!(cfg.gonoproxy.value, "github.com/acme/*");
//! assert_eq!(cfg.gonoproxy.defaulted_from, Some("GOPRIVATE"));
//!
//! let c = cfg.classify_host("goproxy.cn:443", None, &[]);
//! assert_eq!((c.role, c.reason.as_str()), (Role::Proxy, "host of GOPROXY entry 1 (https://goproxy.cn)"));
//! let c = cfg.classify_host("github.com", Some(443), &[]);
//! assert_eq!(c.role, Role::DirectAllowed);
//! assert_eq!(c.reason, "matches GOPRIVATE pattern github.com/acme/*");
//! let c = cfg.classify_host("gitlab.com", Some(443), &[]);
//! assert_eq!(c.role, Role::Unexpected);
//! ```

mod classify;
mod envtext;
mod pattern;
mod proxy;
mod sumdb;
mod url;

use std::fmt;

pub use classify::{
    is_code_host, metadata_provider, metadata_provider_ip, Classification, CodeHost, MetadataAddr,
    MetadataEndpoint, Role, CODE_HOSTS, KNOWN_PROXIES, KNOWN_SUMDBS, METADATA_ENDPOINTS,
    VANITY_HOSTS,
};
pub use envtext::{
    parse_go_env_file, parse_go_env_json, parse_go_env_text, GoEnvError, GoEnvErrorKind,
};
pub use pattern::{is_valid_glob, match_prefix_patterns, path_match, BadPattern};
pub use proxy::{
    parse_goproxy, parse_http_proxy, Fallback, HttpProxy, NoProxy, ProxyEntry, ProxyList,
    ProxyProblem, Route,
};
pub use sumdb::{parse_gosumdb, SumDb, SUM_GOLANG_ORG_KEY};
pub use url::redact;

/// Go's default GOPROXY (`$GOROOT/go.env`; built in before Go 1.21).
pub const DEFAULT_GOPROXY: &str = "https://proxy.golang.org,direct";
/// Go's default GOSUMDB.
pub const DEFAULT_GOSUMDB: &str = "sum.golang.org";

/// The variables [`resolve`] reads, in the order [`GoConfig::settings`] lists them.
pub const VARS: &[&str] = &[
    "GOPROXY",
    "GONOPROXY",
    "GOPRIVATE",
    "GONOSUMDB",
    "GOSUMDB",
    "GOINSECURE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
];

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A tidysniff command-line flag.
    Flag,
    /// The go env file written by `go env -w` (`$GOENV`).
    GoEnvFile,
    /// The process environment.
    Environment,
    /// `go env` / `go env -json` output supplied by the user (already Go's effective values).
    GoEnvCommand,
    /// Go's built-in default.
    Default,
}

impl Origin {
    /// `"flag"`, `"go env file"`, `"environment"`, `"go env"` or `"default"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Flag => "flag",
            Origin::GoEnvFile => "go env file",
            Origin::Environment => "environment",
            Origin::GoEnvCommand => "go env",
            Origin::Default => "default",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value a variable resolved to and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The value as written (may hold credentials: print [`Setting::redacted`]).
    pub value: String,
    /// The layer that set it, or [`Origin::Default`].
    pub origin: Origin,
    /// For GONOPROXY and GONOSUMDB left unset while GOPRIVATE is set: `Some("GOPRIVATE")`, the
    /// value and origin then being GOPRIVATE's.
    pub defaulted_from: Option<&'static str>,
}

impl Setting {
    fn default_value(value: &str) -> Setting {
        Setting {
            value: value.to_string(),
            origin: Origin::Default,
            defaulted_from: None,
        }
    }

    /// The value with URL passwords replaced by `xxxxx` (see [`redact`]).
    pub fn redacted(&self) -> String {
        redact(&self.value)
    }
}

/// `value (origin)`, or `value (from GOPRIVATE, origin)`; passwords redacted, an empty value
/// shown as `""`.
impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            f.write_str("\"\"")?;
        } else {
            f.write_str(&self.redacted())?;
        }
        match self.defaulted_from {
            Some(from) => write!(f, " (from {from}, {})", self.origin),
            None => write!(f, " ({})", self.origin),
        }
    }
}

/// One source of variables, e.g. the environment or parsed `go env -json` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Where these values come from.
    pub origin: Origin,
    /// `(name, value)` pairs; other names are ignored, and a later duplicate wins.
    pub vars: Vec<(String, String)>,
}

impl Layer {
    /// A layer from pairs.
    pub fn new(origin: Origin, vars: Vec<(String, String)>) -> Layer {
        Layer { origin, vars }
    }

    /// A layer from any pairs of strings, e.g. `std::env::vars()`.
    pub fn from_pairs<I, K, V>(origin: Origin, pairs: I) -> Layer
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Layer {
            origin,
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value this layer gives `name`, if non-empty (the last occurrence counts). For
    /// HTTPS_PROXY, HTTP_PROXY and NO_PROXY the lower-case name is tried when the upper-case
    /// one is unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        let last = |n: &str| {
            self.vars
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        last(name).or_else(|| match name {
            "HTTPS_PROXY" | "HTTP_PROXY" | "NO_PROXY" => last(&name.to_ascii_lowercase()),
            _ => None,
        })
    }
}

/// The resolved configuration: one [`Setting`] per variable of [`VARS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoConfig {
    /// GOPROXY.
    pub goproxy: Setting,
    /// GONOPROXY (GOPRIVATE's value when unset).
    pub gonoproxy: Setting,
    /// GOPRIVATE.
    pub goprivate: Setting,
    /// GONOSUMDB (GOPRIVATE's value when unset).
    pub gonosumdb: Setting,
    /// GOSUMDB.
    pub gosumdb: Setting,
    /// GOINSECURE.
    pub goinsecure: Setting,
    /// HTTPS_PROXY (or https_proxy).
    pub https_proxy: Setting,
    /// HTTP_PROXY (or http_proxy).
    pub http_proxy: Setting,
    /// NO_PROXY (or no_proxy).
    pub no_proxy: Setting,
}

impl Default for GoConfig {
    /// Go's defaults: `resolve(&[])`.
    fn default() -> GoConfig {
        resolve(&[])
    }
}

/// Resolves each variable from `layers`, highest precedence first: the first layer with a
/// non-empty value wins, then Go's default. A suggested order is flags, then `go env -json`
/// output (Go's own view, when the user captured it), then the environment, then the go env
/// file: the environment overrides the go env file in Go itself.
///
/// Caveat: `go env -json` prints the effective values, so a GONOPROXY taken from it shows
/// GOPRIVATE's value without [`Setting::defaulted_from`].
pub fn resolve(layers: &[Layer]) -> GoConfig {
    let lookup = |name: &str| {
        layers.iter().find_map(|l| {
            l.get(name).map(|v| Setting {
                value: v.to_string(),
                origin: l.origin,
                defaulted_from: None,
            })
        })
    };
    let find =
        |name: &str, default: &str| lookup(name).unwrap_or_else(|| Setting::default_value(default));
    let goprivate = find("GOPRIVATE", "");
    let from_private = |name: &str| {
        lookup(name).unwrap_or_else(|| Setting {
            value: goprivate.value.clone(),
            origin: goprivate.origin,
            defaulted_from: (!goprivate.value.is_empty()).then_some("GOPRIVATE"),
        })
    };
    GoConfig {
        goproxy: find("GOPROXY", DEFAULT_GOPROXY),
        gonoproxy: from_private("GONOPROXY"),
        gonosumdb: from_private("GONOSUMDB"),
        gosumdb: find("GOSUMDB", DEFAULT_GOSUMDB),
        goinsecure: find("GOINSECURE", ""),
        https_proxy: find("HTTPS_PROXY", ""),
        http_proxy: find("HTTP_PROXY", ""),
        no_proxy: find("NO_PROXY", ""),
        goprivate,
    }
}

/// Something in the configuration Go would reject, ignore or never match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The variable (one of [`VARS`]).
    pub var: &'static str,
    /// What is wrong and what Go does about it.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.message)
    }
}

impl GoConfig {
    /// The setting of a variable of [`VARS`] (upper-case name).
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.settings().find(|(n, _)| *n == name).map(|(_, s)| s)
    }

    /// Every variable with its setting, in [`VARS`] order, for the report to print what it
    /// used and where each value came from.
    pub fn settings(&self) -> impl Iterator<Item = (&'static str, &Setting)> {
        [
            ("GOPROXY", &self.goproxy),
            ("GONOPROXY", &self.gonoproxy),
            ("GOPRIVATE", &self.goprivate),
            ("GONOSUMDB", &self.gonosumdb),
            ("GOSUMDB", &self.gosumdb),
            ("GOINSECURE", &self.goinsecure),
            ("HTTPS_PROXY", &self.https_proxy),
            ("HTTP_PROXY", &self.http_proxy),
            ("NO_PROXY", &self.no_proxy),
        ]
        .into_iter()
    }

    /// GOPROXY parsed in full: entries with positions, the rejected entry, ignored entries.
    pub fn goproxy_list(&self) -> ProxyList {
        parse_goproxy(&self.goproxy.value)
    }

    /// The GOPROXY entries Go accepts, each with the fallback written after it. When an entry is
    /// rejected the list stops before it (and Go would fail every lookup: see
    /// [`GoConfig::problems`], [`Route::Broken`]).
    pub fn proxy_list(&self) -> Vec<(ProxyEntry, Fallback)> {
        self.goproxy_list()
            .entries
            .into_iter()
            .map(|(_, e, f)| (e, f))
            .collect()
    }

    /// How Go fetches `module` (a module path such as `github.com/acme/lib`).
    ///
    /// A broken GOPROXY wins (Go fails before looking at the path); then GONOPROXY (direct, even
    /// with GOPROXY=off); then the GOPROXY list, [`Route::Off`] when it is empty or starts with
    /// `off`. `GOPROXY=direct` gives `Route::Proxies(vec![(Direct, OnNotFound)])`.
    pub fn module_route(&self, module: &str) -> Route {
        let list = self.goproxy_list();
        if let Some(problem) = list.problem {
            return Route::Broken { problem };
        }
        if let Some(pattern) = match_prefix_patterns(&self.gonoproxy.value, module) {
            return Route::Direct { pattern };
        }
        let entries: Vec<(ProxyEntry, Fallback)> =
            list.entries.into_iter().map(|(_, e, f)| (e, f)).collect();
        match entries.first() {
            None | Some((ProxyEntry::Off, _)) => Route::Off,
            Some(_) => Route::Proxies(entries),
        }
    }

    /// The checksum database (GOSUMDB parsed).
    pub fn sumdb(&self) -> SumDb {
        parse_gosumdb(&self.gosumdb.value)
    }

    /// Whether Go checks `module` against the checksum database when it is not in go.sum yet
    /// (Go `modfetch/fetch.go` `useSumDB`): GOSUMDB is not `off` and GONOSUMDB (GOPRIVATE by
    /// default) does not match. GOINSECURE plays no part.
    pub fn sumdb_checked(&self, module: &str) -> bool {
        self.gosumdb.value != "off" && self.nosumdb_pattern(module).is_none()
    }

    /// The GONOSUMDB (or defaulted GOPRIVATE) glob that exempts `module`, if any.
    pub fn nosumdb_pattern(&self, module: &str) -> Option<String> {
        match_prefix_patterns(&self.gonosumdb.value, module)
    }

    /// The GOINSECURE glob matching `module`: Go then fetches it directly over plain HTTP or
    /// without certificate checks (Go `modfetch/repo.go` `lookupDirect`).
    pub fn insecure_pattern(&self, module: &str) -> Option<String> {
        match_prefix_patterns(&self.goinsecure.value, module)
    }

    /// The HTTP proxies configured and parsable: HTTPS_PROXY first, then HTTP_PROXY.
    pub fn http_proxies(&self) -> Vec<HttpProxy> {
        [
            ("HTTPS_PROXY", &self.https_proxy),
            ("HTTP_PROXY", &self.http_proxy),
        ]
        .into_iter()
        .filter(|(_, s)| !s.value.is_empty())
        .filter_map(|(var, s)| parse_http_proxy(var, &s.value).ok())
        .collect()
    }

    /// The HTTP proxy Go's `net/http` uses to reach `host:port` over `https` or plain HTTP
    /// (`httpproxy` `proxyForURL`), `None` for a direct connection (no proxy set, NO_PROXY,
    /// `localhost`, loopback).
    pub fn http_proxy_for(&self, host: &str, port: u16, https: bool) -> Option<HttpProxy> {
        let (var, setting) = if https {
            ("HTTPS_PROXY", &self.https_proxy)
        } else {
            ("HTTP_PROXY", &self.http_proxy)
        };
        if setting.value.is_empty() {
            return None;
        }
        let proxy = parse_http_proxy(var, &setting.value).ok()?;
        if NoProxy::parse(&self.no_proxy.value).exempts(host, port) {
            return None;
        }
        Some(proxy)
    }

    /// Values Go rejects (GOPROXY, GOSUMDB, HTTPS_PROXY, HTTP_PROXY), entries it ignores, and
    /// globs that never match (GONOPROXY, GOPRIVATE, GONOSUMDB, GOINSECURE).
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let list = self.goproxy_list();
        if let Some(p) = &list.problem {
            out.push(ConfigProblem {
                var: "GOPROXY",
                message: format!("{p}; go fails every module lookup with this error"),
            });
        } else if list.entries.is_empty() {
            out.push(ConfigProblem {
                var: "GOPROXY",
                message: "no entries: go treats it as off".to_string(),
            });
        }
        if !list.ignored.is_empty() {
            out.push(ConfigProblem {
                var: "GOPROXY",
                message: format!(
                    "entries after direct or off are ignored: {}",
                    list.ignored.join(", ")
                ),
            });
        }
        if let SumDb::Invalid { reason } = self.sumdb() {
            out.push(ConfigProblem {
                var: "GOSUMDB",
                message: format!("{reason}; go fails every checksum database lookup"),
            });
        }
        for (var, s) in [
            ("GONOPROXY", &self.gonoproxy),
            ("GOPRIVATE", &self.goprivate),
            ("GONOSUMDB", &self.gonosumdb),
            ("GOINSECURE", &self.goinsecure),
        ] {
            if s.defaulted_from.is_some() {
                continue; // Reported once, under GOPRIVATE.
            }
            for glob in s.value.split(',') {
                let g = glob.strip_suffix('/').unwrap_or(glob);
                if !g.is_empty() && !is_valid_glob(g) {
                    out.push(ConfigProblem {
                        var,
                        message: format!("pattern {glob:?} is malformed and never matches"),
                    });
                }
            }
        }
        for (var, s) in [
            ("HTTPS_PROXY", &self.https_proxy),
            ("HTTP_PROXY", &self.http_proxy),
        ] {
            if s.value.is_empty() {
                continue;
            }
            if let Err(e) = parse_http_proxy(var, &s.value) {
                out.push(ConfigProblem {
                    var,
                    message: format!("{}; go cannot use this proxy", redact(&e)),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
