//! `tidysniff analyze` on the shipped fixtures: which findings fire, with which evidence, and the
//! exit status. The synthetic fixtures come from `fixturegen`; the `golab_*` captures are real
//! `go` runs recorded by `fixtures/lab/go-lab.sh` (their `go env -json` is shipped beside them).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Runs `analyze --format json` with `args`; returns (exit code, findings, summary).
fn analyze(args: &[&str], capture: &Path) -> (i32, Vec<Value>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidysniff"))
        .arg("analyze")
        .args(["--format", "json", "--no-go-command"])
        .args(args)
        .arg(capture)
        // The caller's environment must not leak into the configuration.
        .env_remove("GOPROXY")
        .env_remove("GOPRIVATE")
        .env_remove("GONOPROXY")
        .env_remove("GONOSUMDB")
        .env_remove("GOSUMDB")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut findings = Vec::new();
    let mut summary = Value::Null;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        match v["type"].as_str() {
            Some("finding") => findings.push(v),
            Some("summary") => summary = v,
            other => panic!("unexpected record type {other:?}"),
        }
    }
    assert!(
        summary.is_object(),
        "no summary line; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), findings, summary)
}

fn kinds(f: &[Value]) -> Vec<&str> {
    f.iter().map(|v| v["kind"].as_str().unwrap()).collect()
}

fn of_kind<'a>(f: &'a [Value], kind: &str) -> &'a Value {
    f.iter()
        .find(|v| v["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} finding in {:?}", kinds(f)))
}

fn facts(v: &Value) -> String {
    v["evidence"]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| format!("{}: {}", kv[0].as_str().unwrap(), kv[1].as_str().unwrap()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn clean_connection_gives_no_finding_and_exit_0() {
    let (code, f, s) = analyze(&["--all"], &fixtures().join("tcp_fin_close.pcap"));
    assert_eq!(f.len(), 0, "{f:?}");
    assert_eq!(code, 0);
    assert!(s["worst"].is_null());
}

#[test]
fn unrelated_traffic_is_hidden_without_all() {
    // The SYN timeout is to a bare address no Go setting names: role `other`.
    let (code, f, _) = analyze(&[], &fixtures().join("tcp_syn_timeout.pcap"));
    assert_eq!(kinds(&f), Vec::<&str>::new());
    assert_eq!(code, 0);
}

#[test]
fn syn_timeout_with_linux_backoff() {
    let (code, f, _) = analyze(&["--all"], &fixtures().join("tcp_syn_timeout.pcap"));
    assert_eq!(code, 1);
    assert_eq!(kinds(&f), vec!["syn_timeout"]);
    let st = of_kind(&f, "syn_timeout");
    assert_eq!(st["severity"], "error");
    assert_eq!(st["evidence"]["addrs"][0], "203.0.113.5:443");
    assert_eq!(st["evidence"]["frames"].as_array().unwrap().len(), 7);
    let fx = facts(st);
    assert!(fx.contains("7 SYN(s) to 203.0.113.5:443"), "{fx}");
    assert!(fx.contains("Linux backoff"), "{fx}");
    assert_eq!(st["evidence"]["rules"][0], "TCP-SYN-UNANSWERED");
}

#[test]
fn syn_answered_by_rst_is_conn_refused() {
    let (code, f, _) = analyze(&["--all"], &fixtures().join("tcp_syn_rst.pcap"));
    assert_eq!(code, 1);
    assert_eq!(kinds(&f), vec!["conn_refused"]);
    assert_eq!(f[0]["evidence"]["frames"], serde_json::json!([1, 2]));
}

#[test]
fn icmp_admin_prohibited_points_at_a_firewall() {
    let (_, f, _) = analyze(&["--all"], &fixtures().join("icmp_admin_prohibited.pcap"));
    let icmp: Vec<&Value> = f
        .iter()
        .filter(|v| v["kind"] == "icmp_unreachable")
        .collect();
    assert_eq!(icmp.len(), 2, "{:?}", kinds(&f));
    for v in icmp {
        assert!(
            facts(v).contains("unreach/admin-prohibited"),
            "{}",
            facts(v)
        );
        assert!(v["hint"].as_str().unwrap().contains("firewall"));
    }
}

#[test]
fn two_different_answers_to_one_query_are_forged_dns() {
    let (code, f, _) = analyze(&[], &fixtures().join("dns_two_answers.pcap"));
    assert_eq!(code, 1);
    let fd: Vec<&Value> = f
        .iter()
        .filter(|v| v["kind"] == "forged_dns" && v["destination"] == "proxy.golang.org")
        .collect();
    assert_eq!(fd.len(), 1, "{f:?}");
    let rules: Vec<&str> = fd[0]["evidence"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(rules.contains(&"D1"), "{rules:?}");
    assert_eq!(fd[0]["role"], "proxy");
    let fx = facts(fd[0]);
    assert!(fx.contains("answer 1"), "{fx}");
    assert!(fx.contains("answer 2"), "{fx}");
    assert!(fx.contains("client used"), "{fx}");
}

#[test]
fn proxy_403_names_module_and_version() {
    let (code, f, _) = analyze(
        &["--goproxy", "http://goproxy.example:8080"],
        &fixtures().join("goproxy_http_403.pcap"),
    );
    assert_eq!(code, 1);
    assert_eq!(kinds(&f), vec!["http_error"]);
    let h = &f[0];
    assert_eq!(h["severity"], "error");
    assert_eq!(h["role"], "proxy");
    let fx = facts(h);
    assert!(fx.contains("module: github.com/BurntSushi/toml"), "{fx}");
    assert!(fx.contains("version: v1.3.2"), "{fx}");
    assert!(h["summary"].as_str().unwrap().contains("403"));
}

#[test]
fn config_sources_are_reported() {
    let (_, _, s) = analyze(
        &["--goproxy", "https://goproxy.cn,direct"],
        &fixtures().join("tcp_fin_close.pcap"),
    );
    let cfg = s["config"].as_array().unwrap();
    let gp = cfg.iter().find(|c| c["name"] == "GOPROXY").unwrap();
    assert_eq!(gp["value"], "https://goproxy.cn,direct");
    assert_eq!(gp["from"], "flag");
    let sd = cfg.iter().find(|c| c["name"] == "GOSUMDB").unwrap();
    assert_eq!(sd["value"], "sum.golang.org");
    assert_eq!(sd["from"], "default");
}

#[test]
fn bad_go_env_file_is_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_tidysniff"))
        .args(["analyze", "--go-env"])
        .arg(fixtures().join("tcp_fin_close.pcap"))
        .arg(fixtures().join("tcp_fin_close.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn evidence_file_holds_the_flagged_packets() {
    let dir = std::env::temp_dir().join(format!("tidysniff-ev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ev = dir.join("ev.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_tidysniff"))
        .args(["analyze", "--no-go-command", "--all", "--evidence"])
        .arg(&ev)
        .arg(fixtures().join("tcp_syn_timeout.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // The flagged flow's 7 SYNs, not the healthy connection's 9 packets.
    let log = Command::new(env!("CARGO_BIN_EXE_tidysniff"))
        .args(["log", "--format", "json", "--type", "conn"])
        .arg(&ev)
        .output()
        .unwrap();
    let text = String::from_utf8(log.stdout).unwrap();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 1, "{text}");
    assert_eq!(recs[0]["resp_h"], "203.0.113.5");
    assert_eq!(recs[0]["orig_pkts"], 7);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Over every capture of the corpus (when `TIDYSNIFF_CORPUS` points at it): `analyze --all`
/// finishes with 0 or 1 and valid JSON, and every `forged_dns` / `rst_injected` finding is one
/// reviewed in docs/corpus-findings.md (listed in `fixtures/expected/corpus-scored-findings.tsv`).
#[test]
fn corpus_analyze_runs_and_scored_findings_are_reviewed() {
    let Some(root) = std::env::var_os("TIDYSNIFF_CORPUS") else {
        eprintln!("TIDYSNIFF_CORPUS not set; skipped");
        return;
    };
    let root = PathBuf::from(root);
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            ) {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 1000, "{} captures", files.len());
    let listed =
        std::fs::read_to_string(fixtures().join("expected/corpus-scored-findings.tsv")).unwrap();
    let listed: Vec<&str> = listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let mut scored = Vec::new();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for f in &files {
        let (code, findings, _) = analyze(&["--all"], f);
        assert!(code == 0 || code == 1, "{}: exit {code}", f.display());
        for v in &findings {
            let kind = v["kind"].as_str().unwrap();
            *counts.entry(kind.to_string()).or_default() += 1;
            if kind == "forged_dns" || kind == "rst_injected" {
                let rel = f.strip_prefix(&root).unwrap().display().to_string();
                scored.push(format!(
                    "{rel}\t{kind}\t{}",
                    v["destination"].as_str().unwrap_or("-")
                ));
            }
        }
    }
    eprintln!("findings over the corpus: {counts:?}");
    scored.sort();
    scored.dedup();
    let unreviewed: Vec<&String> = scored
        .iter()
        .filter(|s| !listed.contains(&s.as_str()))
        .collect();
    assert!(
        unreviewed.is_empty(),
        "scored findings not reviewed in docs/corpus-findings.md:\n{}",
        unreviewed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

const LAB_SCENARIOS: &[&str] = &[
    "clean",
    "syn_drop",
    "dns_forged",
    "dns_private",
    "goprivate_direct",
    "direct_fallback",
    "sni_reset",
    "http_403",
    "ipv6_blackhole",
    "metadata",
];

fn rules_of(v: &Value) -> Vec<&str> {
    v["evidence"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

/// What `analyze` must say about each lab scenario (captures in `dir`, named as the lab names
/// them, with the run's `go env -json` beside each).
fn check_lab_scenario(dir: &Path, s: &str) {
    let pcap = dir.join(format!("golab_{s}.pcap"));
    let env = dir.join(format!("golab_{s}.goenv.json"));
    let (code, f, sum) = analyze(&["--go-env", env.to_str().unwrap()], &pcap);
    let k = kinds(&f);
    let ctx = format!("{s}: {k:?}");
    let errors_or_warnings = f.iter().filter(|v| v["severity"] != "info").count();
    match s {
        "clean" => {
            assert!(f.is_empty(), "{ctx}");
            assert_eq!(code, 0, "{ctx}");
            let d = &sum["destinations"][0];
            assert_eq!(d["name"], "goproxy.cn", "{ctx}");
            assert_eq!(d["role"], "proxy", "{ctx}");
        }
        "syn_drop" => {
            assert_eq!(k, vec!["syn_timeout"], "{ctx}");
            let st = &f[0];
            assert_eq!(st["severity"], "error");
            assert_eq!(st["destination"], "goproxy.cn");
            assert_eq!(st["role"], "proxy");
            assert!(facts(st).contains("Linux backoff"), "{}", facts(st));
            assert!(
                facts(st).contains("DNS answer for goproxy.cn"),
                "{}",
                facts(st)
            );
            assert_eq!(code, 1);
        }
        "dns_forged" => {
            let a = f
                .iter()
                .find(|v| {
                    v["kind"] == "forged_dns"
                        && v["summary"].as_str().unwrap().contains("8.7.198.45")
                })
                .unwrap_or_else(|| panic!("{ctx}"));
            let r = rules_of(a);
            assert!(r.contains(&"D1") && r.contains(&"D2"), "{r:?}");
            assert_eq!(a["severity"], "error");
            assert_eq!(a["role"], "proxy");
            let fx = facts(a);
            assert!(fx.contains("answer 1 (suspect)"), "{fx}");
            assert!(
                fx.contains("77.77.77.10"),
                "the genuine answer is shown: {fx}"
            );
            assert!(k.contains(&"syn_timeout"), "{ctx}");
            assert_eq!(code, 1);
        }
        "dns_private" => {
            let d = of_kind(&f, "forged_dns");
            assert!(rules_of(d).contains(&"D7"), "{:?}", rules_of(d));
            assert!(facts(d).contains("10.77.9.9"));
            assert_eq!(d["severity"], "error");
            assert!(k.contains(&"syn_timeout"), "{ctx}");
            assert_eq!(code, 1);
        }
        "goprivate_direct" | "direct_fallback" => {
            let d = of_kind(&f, "sni_not_proxy");
            assert_eq!(d["destination"], "github.com", "{ctx}");
            assert_eq!(d["role"], "direct-allowed", "{ctx}");
            assert_eq!(d["severity"], "info", "{ctx}");
            let why = d["summary"].as_str().unwrap();
            if s == "goprivate_direct" {
                // `go env -json` prints GONOPROXY already defaulted from GOPRIVATE.
                assert!(
                    (why.contains("GOPRIVATE") || why.contains("GONOPROXY"))
                        && why.contains("github.com/lab/private"),
                    "{why}"
                );
            } else {
                assert!(why.contains("direct"), "{why}");
            }
            assert_eq!(errors_or_warnings, 0, "{ctx}");
            assert_eq!(code, 0);
        }
        "sni_reset" => {
            let r = of_kind(&f, "tls_reset");
            assert_eq!(r["destination"], "goproxy.cn");
            assert_eq!(r["severity"], "error");
            // A REJECT one hop away on a veth: no race, TTL off by one, microsecond RTT. The
            // injection rules must not claim more than the packets show.
            assert!(!k.contains(&"rst_injected"), "{ctx}");
            assert_eq!(code, 1);
        }
        "http_403" => {
            assert_eq!(k, vec!["http_error"], "{ctx}");
            let fx = facts(&f[0]);
            assert!(fx.contains("module: github.com/lab/hello"), "{fx}");
            assert!(fx.contains("version: v1.0.0"), "{fx}");
            assert_eq!(code, 1);
        }
        "ipv6_blackhole" => {
            assert_eq!(k, vec!["ipv6_blackhole"], "{ctx}");
            assert!(facts(&f[0]).contains("falls back after 300 ms"));
            assert_eq!(code, 1);
        }
        "metadata" => {
            assert_eq!(k, vec!["metadata_access"], "{ctx}");
            assert_eq!(f[0]["destination"], "169.254.169.254");
            assert_eq!(code, 1);
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn lab_captures_shipped_in_fixtures() {
    for s in LAB_SCENARIOS {
        check_lab_scenario(&fixtures(), s);
    }
}

/// Re-records every lab scenario with the real Go toolchain in network namespaces and checks
/// the fresh captures. Needs root, iptables, git, go, tcpdump: `.ci/run` sets TIDYSNIFF_LAB=1.
#[test]
fn lab_fresh_captures_when_enabled() {
    if std::env::var_os("TIDYSNIFF_LAB").is_none() {
        eprintln!("TIDYSNIFF_LAB not set; skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("tidysniff-lab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("bash")
        .arg(fixtures().join("lab/go-lab.sh"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "go-lab.sh failed");
    for s in LAB_SCENARIOS {
        check_lab_scenario(&dir, s);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evidence_from_standard_input_is_spooled() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("tidysniff-ev-stdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ev = dir.join("ev.pcap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidysniff"))
        .args([
            "analyze",
            "--no-go-command",
            "--all",
            "--format",
            "json",
            "--evidence",
        ])
        .arg(&ev)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(fixtures().join("tcp_syn_timeout.pcap")).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"kind\":\"syn_timeout\""));
    let log = Command::new(env!("CARGO_BIN_EXE_tidysniff"))
        .args(["log", "--format", "json", "--type", "conn"])
        .arg(&ev)
        .output()
        .unwrap();
    let text = String::from_utf8(log.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("\"orig_pkts\":7"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Classic little-endian pcap with record `skip` (0-based) left out.
fn pcap_without_record(src: &[u8], skip: usize) -> Vec<u8> {
    assert_eq!(
        &src[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian microsecond pcap"
    );
    let mut out = src[..24].to_vec();
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= src.len() {
        let incl = u32::from_le_bytes(src[at + 8..at + 12].try_into().unwrap()) as usize;
        let end = at + 16 + incl;
        if n != skip {
            out.extend_from_slice(&src[at..end]);
        }
        at = end;
        n += 1;
    }
    out
}

#[test]
fn a_syn_ack_the_capture_missed_is_capture_loss_not_a_timeout() {
    // A normal connection with its SYN-ACK (frame 2) removed: the client's ACK and data show the
    // SYN-ACK reached it, so this is capture loss, not an unanswered SYN.
    let src = std::fs::read(fixtures().join("tcp_fin_close.pcap")).unwrap();
    let dir = std::env::temp_dir().join(format!("tidysniff-loss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("no-synack.pcap");
    std::fs::write(&cut, pcap_without_record(&src, 1)).unwrap();
    let (code, f, s) = analyze(&["--all"], &cut);
    assert_eq!(kinds(&f), Vec::<&str>::new());
    assert_eq!(code, 0);
    let notes: Vec<&str> = s["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("the capture missed packets")),
        "{notes:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
