//! DNS, TLS and HTTP records on the application-layer fixtures: the facts each fixture was built
//! to show (fixtures/README.md, fixtures/lab/README.md), and SNIs cross-checked with tshark.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn records(name: &str, kind: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tidysniff"))
        .args(["log", "--type", kind])
        .arg(fixture(name))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn client_hello_split_out_of_order_over_three_segments() {
    let t = records("tls_client_hello_split.pcap", "tls");
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t["server_name"], "proxy.golang.org");
    assert_eq!(t["version"], "TLSv13");
    assert_eq!(t["cipher"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(t["x25519mlkem768"], true);
    assert_eq!(
        t["key_share_groups"],
        serde_json::json!(["X25519MLKEM768", "x25519"])
    );
    assert_eq!(t["client_alpn"], serde_json::json!(["h2", "http/1.1"]));
    assert_eq!(t["established"], true);
    assert_eq!(t["ended"], "fin_after_handshake");
}

#[test]
fn two_responses_to_one_query_are_both_kept_in_order() {
    let d = records("dns_two_answers.pcap", "dns");
    let tx = d
        .iter()
        .find(|r| r["query"] == "proxy.golang.org")
        .expect("transaction");
    let resp = tx["responses"].as_array().unwrap();
    assert_eq!(resp.len(), 2);
    // The first (forged-looking) answer arrives 2 ms after the query, off the resolver's TTL.
    assert_eq!(resp[0]["ip_ttl"], 59);
    assert_eq!(resp[0]["ip_id"], 0);
    assert_eq!(resp[0]["answers"][0]["data"], "203.0.113.66");
    assert!(resp[0].get("edns").is_none());
    assert_eq!(resp[1]["ip_ttl"], 52);
    let genuine: Vec<&str> = resp[1]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["data"].as_str().unwrap())
        .collect();
    assert_eq!(genuine, ["142.250.0.1", "142.250.0.2"]);
    // Zeek-style summary fields describe the first answer: the one a Go client uses.
    assert_eq!(tx["answers"], serde_json::json!(["203.0.113.66"]));
    let base = d.iter().find(|r| r["query"] == "sum.golang.org").unwrap();
    assert_eq!(base["responses"].as_array().unwrap().len(), 1);
}

#[test]
fn dns_over_tcp_two_queries_in_one_segment_one_answer_split() {
    let d = records("dns_tcp.pcap", "dns");
    let mut q: Vec<(String, String, String)> = d
        .iter()
        .map(|r| {
            (
                r["qtype_name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["answers"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    q.sort();
    assert_eq!(
        q,
        [
            (
                "A".to_string(),
                "answered".to_string(),
                "192.0.2.91".to_string()
            ),
            (
                "AAAA".to_string(),
                "answered".to_string(),
                "2001:db8:1::91".to_string()
            )
        ]
    );
}

#[test]
fn connect_tunnel_then_tls_inside() {
    let h = records("http_connect_tunnel.pcap", "http");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["method"], "CONNECT");
    assert_eq!(h[0]["connect_target"], "proxy.golang.org:443");
    assert_eq!(h[0]["status_code"], 200);
    assert_eq!(h[0]["tunnel_established"], true);
    let t = records("http_connect_tunnel.pcap", "tls");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["uid"], h[0]["uid"], "same connection");
    assert_eq!(t[0]["server_name"], "proxy.golang.org");
    assert_eq!(t[0]["established"], true);
}

#[test]
fn go_module_proxy_over_http_ending_in_403() {
    let h = records("goproxy_http_403.pcap", "http");
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["goproxy_kind"], "list");
    assert_eq!(h[0]["status_code"], 200);
    assert_eq!(h[1]["status_code"], 403);
    assert_eq!(h[1]["goproxy_kind"], "info");
    assert_eq!(h[1]["module"], "github.com/BurntSushi/toml");
    assert_eq!(h[1]["module_version"], "v1.3.2");
    assert_eq!(h[1]["user_agent"], "Go-http-client/1.1");
}

#[test]
fn real_handshakes_from_the_capture_lab() {
    let t12 = records("lab_tls12_openssl.pcap", "tls");
    assert_eq!(t12.len(), 1);
    assert_eq!(t12[0]["version"], "TLSv12");
    assert_eq!(t12[0]["server_name"], "proxy.lab.test");
    assert_eq!(t12[0]["subject_cn"], "proxy.lab.test");
    assert_eq!(t12[0]["san_dns"], serde_json::json!(["proxy.lab.test"]));
    assert_eq!(t12[0]["established"], true);
    let t13 = records("lab_tls13_openssl.pcap", "tls");
    assert_eq!(t13[0]["version"], "TLSv13");
    assert_eq!(t13[0]["server_name"], "proxy.lab.test");
    assert_eq!(t13[0]["established"], true);
    let go = records("lab_go_https.pcap", "tls");
    assert_eq!(go[0]["server_name"], "proxy.lab.test");
    // TLS 1.3 encrypts the server's ALPN choice; the client's offer is visible.
    assert!(go[0].get("next_protocol").is_none());
    assert_eq!(go[0]["client_alpn"], serde_json::json!(["h2", "http/1.1"]));
    assert_eq!(go[0]["established"], true);
}

/// The SNIs we report equal tshark's on every fixture with TLS (when tshark is installed).
#[test]
fn server_names_agree_with_tshark() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("tshark not installed: skipped");
        return;
    }
    for name in [
        "tls_client_hello_split.pcap",
        "http_connect_tunnel.pcap",
        "lab_tls12_openssl.pcap",
        "lab_tls13_openssl.pcap",
        "lab_go_https.pcap",
    ] {
        let out = Command::new("tshark")
            .args([
                "-n",
                "-o",
                "tcp.reassemble_out_of_order:TRUE",
                "-d",
                "tcp.port==3128,http",
                "-r",
            ])
            .arg(fixture(name))
            .args([
                "-Y",
                "tls.handshake.type == 1",
                "-T",
                "fields",
                "-e",
                "tls.handshake.extensions_server_name",
            ])
            .output()
            .unwrap();
        let mut theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let mut ours: Vec<String> = records(name, "tls")
            .iter()
            .filter_map(|r| r["server_name"].as_str().map(str::to_string))
            .collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "{name}");
    }
}
