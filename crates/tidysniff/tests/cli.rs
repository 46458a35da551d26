//! The built binary on the shipped fixtures: exact records, exit codes, stdin streaming, merging.
//!
//! Golden files live in `fixtures/expected/<fixture>.jsonl`. To regenerate after an intended change:
//! `TIDYSNIFF_BLESS=1 cargo test -p tidysniff --test cli`, then review the diff like code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tidysniff"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_fixture_matches_its_golden_conn_records() {
    let bless = std::env::var_os("TIDYSNIFF_BLESS").is_some();
    let files = fixture_files();
    assert!(
        files.len() >= 15,
        "expected the generated fixtures, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let out = bin().arg("log").arg(f).output().unwrap();
        assert!(
            out.status.success() || out.status.code() == Some(0),
            "{}: exit {:?}",
            f.display(),
            out.status
        );
        let got = String::from_utf8(out.stdout).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let golden = fixtures().join("expected").join(format!("{name}.jsonl"));
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("missing {}", golden.display()));
        if got != want {
            failures.push(format!("{name}:\n--- want\n{want}--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn stdin_gives_the_same_records_as_a_path() {
    let f = fixtures().join("tcp_states.pcap");
    let by_path = bin().arg("log").arg(&f).output().unwrap().stdout;
    let mut child = bin()
        .args(["log", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&f).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Dribble the capture in small writes, as `tcpdump -U -w -` does.
    let writer = std::thread::spawn(move || {
        for chunk in bytes.chunks(97) {
            stdin.write_all(chunk).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(by_path).unwrap()
    );
}

#[test]
fn two_captures_are_merged_into_one_timeline() {
    let a = fixtures().join("tcp_syn_rst.pcap");
    let b = fixtures().join("tcp_fin_close.pcap");
    let out = bin()
        .args(["log", "--type", "conn"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let one = |p: &Path| {
        String::from_utf8(
            bin()
                .args(["log", "--type", "conn"])
                .arg(p)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    // Same connections as each file alone (uids differ: they number connections per analysis).
    let strip_uid = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .lines()
            .map(|l| {
                l.split("\"uid\":").next().unwrap().to_string()
                    + l.split(",\"proto\"").nth(1).unwrap()
            })
            .collect();
        v.sort();
        v
    };
    let mut both = strip_uid(&one(&a));
    both.extend(strip_uid(&one(&b)));
    both.sort();
    assert_eq!(strip_uid(&text), both);
}

#[test]
fn truncated_capture_is_analyzed_up_to_the_cut_with_a_warning() {
    let out = bin()
        .args(["log", "--type", "conn"])
        .arg(fixtures().join("truncated.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning") && err.contains("truncated"),
        "stderr: {err}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "one connection before the cut: {text}"
    );
}

#[test]
fn unreadable_or_non_capture_input_exits_2_with_one_line() {
    let out = bin().args(["log", "/nonexistent/x.pcap"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr)
            .unwrap()
            .trim()
            .lines()
            .count(),
        1
    );

    let dir = std::env::temp_dir().join(format!("tidysniff-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pcap = dir.join("readme.txt");
    std::fs::write(&not_pcap, "hello, this is not a capture").unwrap();
    let out = bin().arg("log").arg(&not_pcap).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not a pcap or pcapng"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);

    let out = bin()
        .args(["log", "--format", "xml", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().arg("log").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn broken_pipe_is_not_an_error() {
    let mut child = bin()
        .arg("log")
        .arg(fixtures().join("tcp_states.pcap"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // reader goes away at once
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn text_format_is_an_aligned_table() {
    let out = bin()
        .args(["log", "--format", "text", "--type", "conn"])
        .arg(fixtures().join("tcp_fin_close.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ts "));
    assert_eq!(lines.len(), 2);
    let state_col = lines[0].find("state").unwrap();
    assert_eq!(&lines[1][state_col..state_col + 2], "SF");
}

/// Cross-check against `fixtures/expected_conns.tsv`, which the generator writes from what it built
/// (independent of the analyzer). Deliberate differences from Zeek's reading are asserted as such.
#[test]
fn records_agree_with_the_generators_independent_expectations() {
    let tsv = std::fs::read_to_string(fixtures().join("expected_conns.tsv")).unwrap();
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut cache: std::collections::HashMap<String, Vec<serde_json::Value>> = Default::default();
    let mut checked = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let file = f[col("file")];
        let recs = cache.entry(file.to_string()).or_insert_with(|| {
            let out = bin()
                .arg("log")
                .arg(fixtures().join(file))
                .output()
                .unwrap();
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        });
        let (proto, oh, op, rh, rp) = (
            f[col("proto")],
            f[col("orig_h")],
            f[col("orig_p")],
            f[col("resp_h")],
            f[col("resp_p")],
        );
        let state = f[col("conn_state")];
        if proto == "icmp" {
            // We attach ICMP errors to the connection they quote instead of logging them alone.
            let (t, c): (u64, u64) = (op.parse().unwrap(), rp.parse().unwrap());
            assert!(
                recs.iter().any(|r| r["icmp"]["type"] == t
                    && r["icmp"]["code"] == c
                    && r["icmp"]["from"] == oh),
                "{file}: no connection carries ICMP {t}/{c} from {oh}"
            );
            checked += 1;
            continue;
        }
        let found: Vec<&serde_json::Value> = recs
            .iter()
            .filter(|r| {
                r["proto"] == proto
                    && r["orig_h"] == oh
                    && text(&r["orig_p"]) == op
                    && r["resp_h"] == rh
                    && text(&r["resp_p"]) == rp
            })
            .collect();
        if state == "none" {
            assert!(
                found.is_empty(),
                "{file}: {oh}:{op} should not be a connection (incomplete fragments)"
            );
            checked += 1;
            continue;
        }
        assert!(
            !found.is_empty(),
            "{file}: missing {proto} {oh}:{op} -> {rh}:{rp}"
        );
        // Port reuse gives several rows for one tuple: any record may match each row.
        let ok = found.iter().any(|r| {
            let mut history_ok = r["history"] == f[col("history")];
            if file == "tls_client_hello_split.pcap" && op == "40290" {
                // Same: the late first segment filled a hole, it was not sent twice.
                history_ok = r["history"] == "ShADdFf" && r["orig_ooo"] == 1;
            }
            if file == "tcp_states.pcap" && op == "40104" {
                // Zeek reads two swapped segments as a retransmission (`t`); we see the reordering.
                history_ok = r["history"] == "ShADadFf" && r["resp_ooo"] == 1;
            }
            r["conn_state"] == state
                && history_ok
                && text(&r["orig_pkts"]) == f[col("orig_pkts")]
                && text(&r["resp_pkts"]) == f[col("resp_pkts")]
                && text(&r["orig_bytes"]) == f[col("orig_bytes")]
                && text(&r["resp_bytes"]) == f[col("resp_bytes")]
        });
        assert!(ok, "{file}: {oh}:{op}: expected {line}\n got {found:?}");
        checked += 1;
    }
    assert!(checked > 40, "only {checked} rows checked");
}

/// Several engines on threads give the same records as one (order may differ), and the same
/// output every run.
#[test]
fn sharded_runs_agree_with_a_single_engine_and_are_deterministic() {
    let files = fixture_files();
    let run = |threads: &str| {
        let out = bin()
            .args(["log", "--threads", threads])
            .args(&files)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run("1");
    let two = run("2");
    let three = run("3");
    assert!(one.lines().count() > 50);
    let sorted = |s: &str| {
        let mut v: Vec<&str> = s.lines().collect();
        v.sort_unstable();
        v.join("\n")
    };
    assert_eq!(sorted(&one), sorted(&two));
    assert_eq!(sorted(&one), sorted(&three));
    assert_eq!(two, run("2"), "same shard count, same output");
}

/// A JSON value as the TSV writes it (numbers without quotes).
fn text(v: &serde_json::Value) -> String {
    v.to_string()
}
