//! Robustness and cross-check over a corpus of real captures (Suricata's verify suite).
//!
//! Runs only when `TIDYSNIFF_CORPUS` names a directory (e.g. `../shared/corpus/suricata-verify`).
//! Every `.pcap`/`.pcapng` under it must be read to the end without panic or hang. When `tshark` is
//! on PATH, the number of TCP connections per file must equal tshark's number of distinct
//! `tcp.stream` values (for files tshark reads without error), except for the files listed with a
//! reason in `corpus-tcp-disagreements.tsv`; a listed file that no longer disagrees fails too, so
//! the list stays true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::event::{Event, EventKind};
use tidysniff_core::flow::Proto;
use tidysniff_core::source::{CaptureReader, PacketSource, SourceEvent};

/// (packets, TCP connections, error message if the capture ended early).
fn analyze(path: &Path) -> (u64, u64, Option<String>) {
    let mut src = match CaptureReader::open(path) {
        Ok(s) => s,
        Err(e) => return (0, 0, Some(e.to_string())),
    };
    let mut engine = Engine::new(EngineConfig::default());
    let mut events: Vec<Event> = Vec::new();
    let mut tcp = 0;
    let mut err = None;
    let mut count = |events: &mut Vec<Event>| {
        for ev in events.drain(..) {
            if let EventKind::ConnEnd(r) = &ev.kind {
                tcp += u64::from(r.proto == Proto::Tcp);
            }
        }
    };
    loop {
        match src.next_event() {
            Ok(Some(SourceEvent::Packet(p))) => engine.process(&p, &mut events),
            Ok(Some(SourceEvent::Tick(t))) => engine.advance(t, &mut events),
            Ok(None) => break,
            Err(e) => {
                err = Some(e.to_string());
                break;
            }
        }
        count(&mut events);
    }
    engine.finish(&mut events);
    count(&mut events);
    (engine.stats().packets, tcp, err)
}

fn tshark_streams(path: &Path) -> Option<u64> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "tcp.stream"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut streams = std::collections::BTreeSet::new();
    for line in text.lines() {
        // ICMP errors quoting TCP list two values ("0,0").
        for v in line.split(',') {
            if !v.is_empty() {
                streams.insert(v.to_string());
            }
        }
    }
    Some(streams.len() as u64)
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "cap")
        ) {
            out.push(p);
        }
    }
}

fn disagreements() -> BTreeMap<String, (u64, u64, String)> {
    let text = include_str!("corpus-tcp-disagreements.tsv");
    let mut m = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        assert_eq!(
            f.len(),
            4,
            "bad line in corpus-tcp-disagreements.tsv: {line}"
        );
        let n = |s: &str| {
            s.parse::<u64>()
                .unwrap_or_else(|_| panic!("bad number in: {line}"))
        };
        m.insert(f[0].to_string(), (n(f[1]), n(f[2]), f[3].to_string()));
    }
    m
}

#[test]
fn corpus_is_read_without_panic_and_agrees_with_tshark() {
    let Some(root) = std::env::var_os("TIDYSNIFF_CORPUS").map(PathBuf::from) else {
        eprintln!("TIDYSNIFF_CORPUS not set: corpus test skipped");
        return;
    };
    let mut files = Vec::new();
    captures(&root, &mut files);
    assert!(!files.is_empty(), "no captures under {}", root.display());
    let use_tshark = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let known = disagreements();

    let queue = Arc::new(Mutex::new(files.clone()));
    let (tx, rx) = mpsc::channel();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    for _ in 0..workers {
        let queue = Arc::clone(&queue);
        let tx = tx.clone();
        std::thread::spawn(move || {
            while let Some(path) = queue.lock().ok().and_then(|mut q| q.pop()) {
                // Analysis on its own thread so a hang is caught by the timeout below.
                let (atx, arx) = mpsc::channel();
                let p2 = path.clone();
                std::thread::spawn(move || {
                    let _ = atx.send(analyze(&p2));
                });
                let ours = arx.recv_timeout(Duration::from_secs(120));
                let theirs = if use_tshark && ours.is_ok() {
                    tshark_streams(&path)
                } else {
                    None
                };
                if tx.send((path, ours, theirs)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    let mut failures = Vec::new();
    let (mut compared, mut read_errors, mut agreed, mut listed) = (0, 0, 0, 0);
    let mut packets = 0u64;
    for (path, ours, theirs) in rx {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let (pkts, tcp, err) = match ours {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                failures.push(format!("{rel}: analysis did not finish in 120 s (hang?)"));
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                failures.push(format!("{rel}: analysis panicked"));
                continue;
            }
        };
        packets += pkts;
        read_errors += u64::from(err.is_some());
        let Some(t) = theirs else { continue };
        compared += 1;
        match known.get(&rel) {
            Some(&(kt, ko, _)) if kt == t && ko == tcp => listed += 1,
            Some(&(kt, ko, _)) => failures.push(format!(
                "{rel}: listed as tshark {kt} / ours {ko} but now tshark {t} / ours {tcp}: update the list"
            )),
            None if t == tcp => agreed += 1,
            None => failures.push(format!("{rel}: tshark {t} TCP streams, tidysniff {tcp} connections")),
        }
    }
    eprintln!(
        "corpus: {} files, {packets} packets, {read_errors} ended early (truncated/corrupt); \
         tshark compared {compared}: {agreed} agree, {listed} listed disagreements",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
