//! Tests of resolution, routing and classification; parsers are tested in their own files.

use super::*;
use std::net::IpAddr;

fn layer(origin: Origin, vars: &[(&str, &str)]) -> Layer {
    Layer::from_pairs(origin, vars.iter().copied())
}

fn env(vars: &[(&str, &str)]) -> GoConfig {
    resolve(&[layer(Origin::Environment, vars)])
}

fn role(cfg: &GoConfig, host: &str) -> (Role, String) {
    let c = cfg.classify_host(host, None, &[]);
    (c.role, c.reason)
}

#[test]
fn defaults() {
    let cfg = GoConfig::default();
    assert_eq!(cfg.goproxy.value, DEFAULT_GOPROXY);
    assert_eq!(cfg.goproxy.origin, Origin::Default);
    assert_eq!(cfg.gosumdb.value, "sum.golang.org");
    assert_eq!(cfg.gonoproxy.value, "");
    assert_eq!(cfg.gonoproxy.defaulted_from, None);
    assert!(cfg.problems().is_empty());
    let names: Vec<&str> = cfg.settings().map(|(n, _)| n).collect();
    assert_eq!(names, VARS);
    assert_eq!(
        cfg.get("GOPROXY").map(|s| s.to_string()).as_deref(),
        Some("https://proxy.golang.org,direct (default)")
    );
    assert_eq!(cfg.get("GOFLAGS"), None);
}

#[test]
fn layer_precedence_and_origins() {
    let flags = layer(Origin::Flag, &[("GOPROXY", "https://flag.example")]);
    let goenv = layer(
        Origin::GoEnvCommand,
        &[("GOPROXY", "https://goenv.example"), ("GOSUMDB", "off")],
    );
    let environ = layer(
        Origin::Environment,
        &[
            ("GOPROXY", "https://env.example"),
            ("GOSUMDB", "sum.golang.google.cn"),
            ("GOPRIVATE", "corp.example"),
            ("GOINSECURE", ""),
        ],
    );
    let file = layer(
        Origin::GoEnvFile,
        &[
            ("GOINSECURE", "insecure.example"),
            ("GOPRIVATE", "file.example"),
        ],
    );
    let cfg = resolve(&[flags, goenv, environ, file]);
    assert_eq!(
        (cfg.goproxy.value.as_str(), cfg.goproxy.origin),
        ("https://flag.example", Origin::Flag)
    );
    assert_eq!(
        (cfg.gosumdb.value.as_str(), cfg.gosumdb.origin),
        ("off", Origin::GoEnvCommand)
    );
    assert_eq!(cfg.goprivate.origin, Origin::Environment);
    // An empty value falls through, as Go's cfg.Getenv does.
    assert_eq!(
        (cfg.goinsecure.value.as_str(), cfg.goinsecure.origin),
        ("insecure.example", Origin::GoEnvFile)
    );
    assert_eq!(Origin::GoEnvFile.as_str(), "go env file");
    assert_eq!(Origin::GoEnvCommand.as_str(), "go env");
}

#[test]
fn empty_goproxy_and_gosumdb_mean_default() {
    let cfg = env(&[("GOPROXY", ""), ("GOSUMDB", "")]);
    assert_eq!(cfg.goproxy.value, DEFAULT_GOPROXY);
    assert_eq!(cfg.goproxy.origin, Origin::Default);
    assert_eq!(cfg.gosumdb.value, DEFAULT_GOSUMDB);
}

#[test]
fn later_duplicate_wins_within_a_layer() {
    let cfg = resolve(&[Layer::new(
        Origin::GoEnvFile,
        parse_go_env_file("GOPROXY=https://a.example\nGOPROXY=https://b.example\n"),
    )]);
    assert_eq!(cfg.goproxy.value, "https://b.example");
}

#[test]
fn gonoproxy_and_gonosumdb_default_to_goprivate() {
    let cfg = resolve(&[
        layer(Origin::Flag, &[("GONOSUMDB", "other.example")]),
        layer(Origin::Environment, &[("GOPRIVATE", "github.com/acme/*")]),
    ]);
    assert_eq!(cfg.gonoproxy.value, "github.com/acme/*");
    assert_eq!(cfg.gonoproxy.origin, Origin::Environment);
    assert_eq!(cfg.gonoproxy.defaulted_from, Some("GOPRIVATE"));
    assert_eq!(
        cfg.gonoproxy.to_string(),
        "github.com/acme/* (from GOPRIVATE, environment)"
    );
    assert_eq!(cfg.gonosumdb.value, "other.example");
    assert_eq!(cfg.gonosumdb.defaulted_from, None);
    assert!(cfg.sumdb_checked("github.com/acme/lib"));
    assert!(!cfg.sumdb_checked("other.example/x"));
    assert_eq!(
        cfg.module_route("github.com/acme/lib/v2"),
        Route::Direct {
            pattern: "github.com/acme/*".into()
        }
    );
}

#[test]
fn proxy_vars_accept_lower_case_upper_wins() {
    let cfg = env(&[
        ("https_proxy", "http://lower.example:3128"),
        ("HTTPS_PROXY", "http://upper.example:3128"),
        ("http_proxy", "http://only-lower.example:8080"),
        ("HTTP_PROXY", ""),
        ("no_proxy", ".corp.example"),
    ]);
    assert_eq!(cfg.https_proxy.value, "http://upper.example:3128");
    assert_eq!(cfg.http_proxy.value, "http://only-lower.example:8080");
    assert_eq!(cfg.no_proxy.value, ".corp.example");
    let p = cfg.http_proxy_for("proxy.golang.org", 443, true).unwrap();
    assert_eq!(
        (p.var, p.host.as_str(), p.port),
        ("HTTPS_PROXY", "upper.example", 3128)
    );
    assert_eq!(cfg.http_proxy_for("git.corp.example", 443, true), None);
    assert_eq!(cfg.http_proxy_for("localhost", 443, true), None);
    // Lower-case GOPROXY is not a Go variable.
    assert_eq!(env(&[("goproxy", "off")]).goproxy.value, DEFAULT_GOPROXY);
}

#[test]
fn routes() {
    let cfg = env(&[(
        "GOPROXY",
        "https://goproxy.cn|https://proxy.golang.org,direct",
    )]);
    let Route::Proxies(list) = cfg.module_route("rsc.io/quote") else {
        panic!()
    };
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].1, Fallback::OnAnyError);
    assert_eq!(list[2], (ProxyEntry::Direct, Fallback::OnNotFound));
    assert_eq!(
        env(&[("GOPROXY", "off")]).module_route("rsc.io/quote"),
        Route::Off
    );
    // GONOPROXY goes direct even with GOPROXY=off (Go's noproxy entry).
    assert_eq!(
        env(&[("GOPROXY", "off"), ("GONOPROXY", "rsc.io")]).module_route("rsc.io/quote"),
        Route::Direct {
            pattern: "rsc.io".into()
        }
    );
    assert!(matches!(
        env(&[("GOPROXY", "proxy"), ("GOPRIVATE", "rsc.io")]).module_route("rsc.io/quote"),
        Route::Broken { .. }
    ));
    assert_eq!(
        env(&[("GOPROXY", "direct")]).module_route("rsc.io/quote"),
        Route::Proxies(vec![(ProxyEntry::Direct, Fallback::OnNotFound)])
    );
    assert_eq!(
        env(&[("GOPROXY", ",")]).module_route("rsc.io/quote"),
        Route::Off
    );
}

#[test]
fn gosumdb_off_and_insecure() {
    let cfg = env(&[("GOSUMDB", "off"), ("GOINSECURE", "*.corp.example")]);
    assert_eq!(cfg.sumdb(), SumDb::Off);
    assert!(!cfg.sumdb_checked("rsc.io/quote"));
    assert_eq!(
        cfg.insecure_pattern("git.corp.example/x").as_deref(),
        Some("*.corp.example")
    );
    // GOINSECURE does not turn the checksum database off.
    assert!(env(&[("GOINSECURE", "rsc.io")]).sumdb_checked("rsc.io/quote"));
}

#[test]
fn problems_are_reported() {
    let cfg = env(&[
        ("GOPROXY", "https://u:secret@goproxy.corp,bogus"),
        ("GOSUMDB", "sum.corp.example"),
        ("GOPRIVATE", "github.com/[acme"),
        ("HTTPS_PROXY", "http://h:port"),
    ]);
    let p: Vec<String> = cfg.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(
        p,
        vec![
            "GOPROXY: entry 2 (bogus): invalid proxy URL missing scheme; go fails every module lookup with this error",
            "GOSUMDB: invalid GOSUMDB: malformed verifier id; go fails every checksum database lookup",
            "GOPRIVATE: pattern \"github.com/[acme\" is malformed and never matches",
            "HTTPS_PROXY: invalid proxy address \"http://h:port\": invalid port; go cannot use this proxy",
        ]
    );
    let p = env(&[("GOPROXY", "direct,https://x.example")]).problems();
    assert_eq!(
        p[0].message,
        "entries after direct or off are ignored: https://x.example"
    );
    assert_eq!(
        env(&[("GOPROXY", "https://u:secret@goproxy.corp")])
            .goproxy
            .to_string(),
        "https://u:xxxxx@goproxy.corp (environment)"
    );
}

#[test]
fn classify_proxy_hosts() {
    let cfg = env(&[
        (
            "GOPROXY",
            "https://goproxy.cn,http://athens.corp:3000,direct",
        ),
        ("HTTPS_PROXY", "proxy.corp:3128"),
    ]);
    assert_eq!(
        role(&cfg, "GOPROXY.cn."),
        (
            Role::Proxy,
            "host of GOPROXY entry 1 (https://goproxy.cn)".into()
        )
    );
    let c = cfg.classify_host("athens.corp", Some(3000), &[]);
    assert_eq!(
        (c.role, c.reason.as_str()),
        (
            Role::Proxy,
            "host of GOPROXY entry 2 (http://athens.corp:3000)"
        )
    );
    let c = cfg.classify_host("athens.corp:80", None, &[]);
    assert_eq!(c.role, Role::Unexpected);
    assert_eq!(
        c.reason,
        "host of GOPROXY entry 2 (http://athens.corp:3000), but on port 80 instead of 3000"
    );
    let c = cfg.classify_host("proxy.corp:3128", None, &[]);
    assert_eq!(
        (c.role, c.reason.as_str()),
        (Role::Proxy, "host of HTTPS_PROXY (http://proxy.corp:3128)")
    );
}

#[test]
fn classify_sumdb() {
    let cfg = GoConfig::default();
    assert_eq!(
        role(&cfg, "sum.golang.org"),
        (Role::Sumdb, "host of GOSUMDB sum.golang.org".into())
    );
    // Default GOPROXY lists proxy.golang.org.
    assert_eq!(role(&cfg, "proxy.golang.org").0, Role::Proxy);
    let cn = env(&[("GOSUMDB", "sum.golang.google.cn")]);
    assert_eq!(
        role(&cn, "sum.golang.google.cn"),
        (
            Role::Sumdb,
            "host of GOSUMDB sum.golang.org (https://sum.golang.google.cn)".into()
        )
    );
    assert_eq!(
        role(&cn, "sum.golang.org"),
        (
            Role::Unexpected,
            "checksum database sum.golang.org reached although GOSUMDB uses sum.golang.org at https://sum.golang.google.cn".into()
        )
    );
    assert_eq!(
        role(&env(&[("GOSUMDB", "off")]), "sum.golang.org"),
        (
            Role::Unexpected,
            "checksum database sum.golang.org reached although GOSUMDB=off".into()
        )
    );
}

#[test]
fn classify_code_hosts() {
    // Default GOPROXY ends in direct.
    let cfg = GoConfig::default();
    assert_eq!(
        role(&cfg, "github.com"),
        (Role::DirectAllowed, "GOPROXY falls back to direct".into())
    );
    // No direct: a code host is unexpected.
    let cn = env(&[("GOPROXY", "https://goproxy.cn")]);
    assert_eq!(
        role(&cn, "github.com"),
        (
            Role::Unexpected,
            "code host reached although GOPROXY has no direct and no GONOPROXY pattern covers it"
                .into()
        )
    );
    assert_eq!(
        role(&cn, "proxy.golang.org"),
        (
            Role::Unexpected,
            "public Go module proxy proxy.golang.org reached although GOPROXY (https://goproxy.cn) does not list it".into()
        )
    );
    // GOPRIVATE github.com/acme/* allows github.com and its family.
    let private = env(&[
        ("GOPROXY", "https://goproxy.cn"),
        ("GOPRIVATE", "github.com/acme/*"),
    ]);
    assert_eq!(
        role(&private, "github.com:443"),
        (
            Role::DirectAllowed,
            "matches GOPRIVATE pattern github.com/acme/*".into()
        )
    );
    assert_eq!(
        role(&private, "codeload.github.com"),
        (
            Role::DirectAllowed,
            "codeload.github.com belongs to github.com, which matches GOPRIVATE pattern github.com/acme/*".into()
        )
    );
    assert_eq!(role(&private, "gitlab.com").0, Role::Unexpected);
    // An explicit GONOPROXY is named as such; a vanity prefix allows its code host.
    let vanity = env(&[
        ("GOPROXY", "https://goproxy.cn"),
        ("GONOPROXY", "golang.org/x/*"),
    ]);
    assert_eq!(
        role(&vanity, "golang.org"),
        (
            Role::DirectAllowed,
            "matches GONOPROXY pattern golang.org/x/*".into()
        )
    );
    assert_eq!(
        role(&vanity, "go.googlesource.com"),
        (
            Role::DirectAllowed,
            "go.googlesource.com serves golang.org/x modules, which match GONOPROXY pattern golang.org/x/*".into()
        )
    );
    // direct first, direct alone, off.
    assert_eq!(
        role(&env(&[("GOPROXY", "direct")]), "gitlab.com"),
        (
            Role::DirectAllowed,
            "GOPROXY=direct: every module is fetched from its origin".into()
        )
    );
    assert_eq!(
        role(
            &env(&[("GOPROXY", "direct,https://goproxy.cn")]),
            "gitlab.com"
        )
        .1,
        "GOPROXY starts with direct: every module is fetched from its origin"
    );
    assert_eq!(
        role(&env(&[("GOPROXY", "off")]), "bitbucket.org").1,
        "code host reached although GOPROXY=off and no GONOPROXY pattern covers it"
    );
    assert_eq!(
        role(&env(&[("GOPROXY", "nope")]), "gitlab.com").0,
        Role::Unexpected
    );
}

#[test]
fn classify_module_hosts_and_others() {
    let cfg = env(&[
        ("GOPROXY", "https://goproxy.cn"),
        ("GOPRIVATE", "*.corp.example"),
    ]);
    let modules = ["git.corp.example/team/lib", "go.uber.org"];
    let c = cfg.classify_host("git.corp.example", Some(443), &modules);
    assert_eq!(
        (c.role, c.reason.as_str()),
        (
            Role::DirectAllowed,
            "matches GOPRIVATE pattern *.corp.example"
        )
    );
    let c = cfg.classify_host("Go.Uber.Org.", Some(443), &modules);
    assert_eq!(
        (c.role, c.reason.as_str()),
        (
            Role::Unexpected,
            "module host reached although GOPROXY has no direct and no GONOPROXY pattern covers it"
        )
    );
    assert_eq!(
        cfg.classify_host("example.com", Some(443), &modules).role,
        Role::Other
    );
    assert_eq!(cfg.classify_host("", None, &modules).role, Role::Other);
}

#[test]
fn classify_metadata() {
    let cfg = GoConfig::default();
    for ip in [
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.169.253",
        "169.254.170.2",
        "100.100.100.200",
        "169.254.0.23",
        "168.63.129.16",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(cfg.classify_ip(ip, Some(80)).role, Role::Metadata, "{ip}");
    }
    for name in [
        "metadata.google.internal",
        "METADATA",
        "metadata.tencentyun.com.",
        "instance-data",
        "instance-data.ec2.internal",
        "169.254.169.254:80",
        "[fd00:ec2::254]:80",
    ] {
        assert_eq!(role(&cfg, name).0, Role::Metadata, "{name}");
    }
    assert_eq!(
        role(&cfg, "metadata.google.internal").1,
        "cloud instance metadata endpoint (GCP metadata server)"
    );
}

#[test]
fn classify_ip_literals() {
    let cfg = env(&[
        ("GOPROXY", "http://10.0.0.7:3000,https://[2001:db8::7]"),
        ("HTTP_PROXY", "10.0.0.9:8080"),
    ]);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        cfg.classify_ip(ip("10.0.0.7"), Some(3000)).role,
        Role::Proxy
    );
    assert_eq!(
        cfg.classify_ip(ip("10.0.0.7"), Some(22)).role,
        Role::Unexpected
    );
    assert_eq!(cfg.classify_ip(ip("2001:db8::7"), None).role, Role::Proxy);
    assert_eq!(
        cfg.classify_ip(ip("10.0.0.9"), Some(8080)).reason,
        "host of HTTP_PROXY (http://10.0.0.9:8080)"
    );
    assert_eq!(cfg.classify_ip(ip("8.8.8.8"), Some(53)).role, Role::Other);
    assert_eq!(
        cfg.classify_host("10.0.0.7:3000", None, &[]).role,
        Role::Proxy
    );
}

#[test]
fn go_env_json_drives_resolution() {
    let json = r#"{"GOPROXY":"https://goproxy.cn,direct","GOPRIVATE":"","GONOSUMDB":"","GOSUMDB":"sum.golang.google.cn","GOINSECURE":"\u0067it.corp"}"#;
    let vars = parse_go_env_json(json).unwrap();
    let cfg = resolve(&[Layer::new(Origin::GoEnvCommand, vars)]);
    assert_eq!(cfg.goproxy.origin, Origin::GoEnvCommand);
    assert_eq!(cfg.goinsecure.value, "git.corp");
    assert_eq!(role(&cfg, "goproxy.cn").0, Role::Proxy);
    assert_eq!(role(&cfg, "github.com").1, "GOPROXY falls back to direct");
}

/// Deterministic xorshift generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn string(&mut self, alphabet: &[&str], max: usize) -> String {
        let n = (self.next() % (max as u64 + 1)) as usize;
        let mut s = String::new();
        for _ in 0..n {
            let i = (self.next() % alphabet.len() as u64) as usize;
            s.push_str(alphabet.get(i).copied().unwrap_or(""));
        }
        s
    }
}

#[test]
fn garbage_never_panics() {
    const ALPHABET: &[&str] = &[
        "{",
        "}",
        "\"",
        "\\",
        "u",
        "d",
        "8",
        "0",
        "D",
        "C",
        ":",
        ",",
        "|",
        "/",
        "*",
        "?",
        "[",
        "]",
        "^",
        "-",
        "@",
        "+",
        " ",
        "\n",
        "=",
        "'",
        "a",
        ".",
        "é",
        "😀",
        "\u{0}",
        "%",
        "[",
        "::",
        "https://",
        "file://",
        "direct",
        "off",
        "sum.golang.org",
        "github.com",
        "\\u",
        "\\ud83d",
        "A",
        "set ",
        "#",
        "1",
        "99999",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let a = rng.string(ALPHABET, 24);
        let b = rng.string(ALPHABET, 24);
        let _ = parse_go_env_json(&a);
        let _ = parse_go_env_json(&format!("{{\"{a}\":\"{b}\"}}"));
        let _ = parse_go_env_file(&a);
        let _ = parse_go_env_text(&a);
        let _ = path_match(&a, &b);
        let _ = match_prefix_patterns(&a, &b);
        let _ = is_valid_glob(&a);
        let _ = parse_goproxy(&a);
        let _ = parse_gosumdb(&a);
        let _ = parse_http_proxy("HTTPS_PROXY", &a);
        let _ = NoProxy::parse(&a).exempts(&b, 443);
        let _ = redact(&a);
        let _ = is_code_host(&a);
        let _ = metadata_provider(&a);
        let cfg = env(&[
            ("GOPROXY", &a),
            ("GONOPROXY", &b),
            ("GOSUMDB", &b),
            ("HTTPS_PROXY", &a),
            ("NO_PROXY", &b),
        ]);
        let _ = cfg.problems();
        let _ = cfg.module_route(&b);
        let _ = cfg.sumdb_checked(&b);
        let _ = cfg.http_proxy_for(&b, 443, true);
        let _ = cfg.classify_host(&b, None, &[a.as_str()]);
        let _ = cfg.classify_host(&a, Some(443), &[b.as_str()]);
        let _ = cfg.classify_ip(IpAddr::from([10, 0, 0, 1]), None);
        for (_, s) in cfg.settings() {
            let _ = s.to_string();
        }
    }
}
