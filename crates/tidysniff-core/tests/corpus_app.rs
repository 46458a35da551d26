//! Application layer over the corpus, cross-checked with tshark (runs when `TIDYSNIFF_CORPUS` is
//! set and tshark is installed): per file, the set of TLS server names, and the set of DNS
//! (query name, query type, A/AAAA answers) of responses, must equal tshark's, except for the
//! files listed with a reason in `corpus-app-disagreements.tsv` (and a listed file that agrees
//! again fails, so the list stays true).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};

use tidysniff_core::app::{AppConfig, AppLayer, DEFAULT_STREAM_DEPTH};
use tidysniff_core::dns::RData;
use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::event::EventKind;
use tidysniff_core::source::{CaptureReader, PacketSource, SourceEvent};

type Dns = BTreeSet<(String, u16, Vec<String>)>;

fn ours(path: &Path) -> (BTreeSet<String>, Dns) {
    let mut sni = BTreeSet::new();
    let mut dns = BTreeSet::new();
    let Ok(mut src) = CaptureReader::open(path) else {
        return (sni, dns);
    };
    let cfg = EngineConfig {
        stream_depth: DEFAULT_STREAM_DEPTH,
        ..EngineConfig::default()
    };
    let mut engine =
        Engine::with_stream_handler(cfg, Box::new(AppLayer::new(AppConfig::default())));
    let mut events = Vec::new();
    loop {
        match src.next_event() {
            Ok(Some(SourceEvent::Packet(p))) => engine.process(&p, &mut events),
            Ok(Some(SourceEvent::Tick(t))) => engine.advance(t, &mut events),
            _ => break,
        }
    }
    engine.finish(&mut events);
    for ev in &events {
        match &ev.kind {
            EventKind::Tls { summary, .. } => {
                if let Some(n) = &summary.sni {
                    sni.insert(n.clone());
                }
            }
            EventKind::Dns(tx) => {
                for r in &tx.responses {
                    let Some(q) = r.question.as_ref().or(tx.question.as_ref()) else {
                        continue;
                    };
                    // tshark's dns.a / dns.aaaa hold the addresses of every section.
                    let mut answers: Vec<String> = r
                        .answers
                        .iter()
                        .chain(&r.authority)
                        .chain(&r.additional)
                        .filter_map(|a| match &a.data {
                            RData::A(x) => Some(x.to_string()),
                            RData::Aaaa(x) => Some(x.to_string()),
                            _ => None,
                        })
                        .collect();
                    answers.sort();
                    dns.insert((q.name.to_ascii_lowercase(), q.qtype, answers));
                }
            }
            _ => {}
        }
    }
    (sni, dns)
}

fn tshark(path: &Path, filter: &str, fields: &[&str]) -> Option<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r"])
        .arg(path)
        .args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect(),
    )
}

fn theirs(path: &Path) -> Option<(BTreeSet<String>, Dns)> {
    let sni: BTreeSet<String> = tshark(
        path,
        "tls.handshake.type == 1",
        &["tls.handshake.extensions_server_name"],
    )?
    .into_iter()
    .filter_map(|r| r.into_iter().next())
    .flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
    .filter(|v| !v.is_empty())
    .collect();
    let mut dns = BTreeSet::new();
    for r in tshark(
        path,
        "dns.flags.response == 1",
        &["dns.qry.name", "dns.qry.type", "dns.a", "dns.aaaa"],
    )? {
        let name = r.first().cloned().unwrap_or_default();
        let Ok(qtype) = r
            .get(1)
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
            .next()
            .unwrap_or("")
            .parse::<u16>()
        else {
            continue;
        };
        let mut answers: Vec<String> = r[2..]
            .iter()
            .flat_map(|v| v.split(','))
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<std::net::IpAddr>()
                    .map(|a| a.to_string())
                    .unwrap_or(v.to_string())
            })
            .collect();
        answers.sort();
        // Several questions per message are rare; tshark joins them with commas.
        dns.insert((
            name.split(',').next().unwrap_or("").to_ascii_lowercase(),
            qtype,
            answers,
        ));
    }
    Some((sni, dns))
}

fn listed() -> BTreeMap<String, String> {
    include_str!("corpus-app-disagreements.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            l.split_once('\t')
                .map(|(p, why)| (p.to_string(), why.to_string()))
        })
        .collect()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for p in rd.flatten().map(|e| e.path()) {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_server_names_and_dns_answers_agree_with_tshark() {
    let Some(root) = std::env::var_os("TIDYSNIFF_CORPUS").map(PathBuf::from) else {
        eprintln!("TIDYSNIFF_CORPUS not set: skipped");
        return;
    };
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("tshark not installed: skipped");
        return;
    }
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    // TIDYSNIFF_CORPUS_ONLY=<file of relative paths>: check just those (for iterating on a fix).
    if let Some(list) = std::env::var_os("TIDYSNIFF_CORPUS_ONLY") {
        let keep: BTreeSet<String> = std::fs::read_to_string(list)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        all.retain(|p| {
            keep.contains(
                &p.strip_prefix(&root)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned(),
            )
        });
    }
    let queue = Arc::new(Mutex::new(all.clone()));
    let (tx, rx) = mpsc::channel();
    for _ in 0..std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4)
    {
        let (queue, tx) = (Arc::clone(&queue), tx.clone());
        std::thread::spawn(move || {
            while let Some(p) = queue.lock().ok().and_then(|mut q| q.pop()) {
                let o = ours(&p);
                let t = theirs(&p);
                if tx.send((p, o, t)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let known = listed();
    let mut failures = Vec::new();
    let (mut compared, mut with_tls, mut with_dns, mut agreed_listed) = (0, 0, 0, 0);
    for (p, (o_sni, o_dns), t) in rx {
        let Some((t_sni, t_dns)) = t else { continue };
        compared += 1;
        with_tls += usize::from(!t_sni.is_empty());
        with_dns += usize::from(!t_dns.is_empty());
        let rel = p
            .strip_prefix(&root)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        let differs = o_sni != t_sni || o_dns != t_dns;
        match (differs, known.contains_key(&rel)) {
            (true, false) => {
                let sni_only_ours: Vec<_> = o_sni.difference(&t_sni).collect();
                let sni_only_theirs: Vec<_> = t_sni.difference(&o_sni).collect();
                let dns_only_ours: Vec<_> = o_dns.difference(&t_dns).take(3).collect();
                let dns_only_theirs: Vec<_> = t_dns.difference(&o_dns).take(3).collect();
                failures.push(format!(
                    "{rel}: sni ours-only {sni_only_ours:?} tshark-only {sni_only_theirs:?}; dns ours-only {dns_only_ours:?} tshark-only {dns_only_theirs:?}"
                ));
            }
            (false, true) => failures.push(format!(
                "{rel}: listed as a disagreement but agrees now: remove it"
            )),
            (true, true) => agreed_listed += 1,
            (false, false) => {}
        }
    }
    eprintln!(
        "corpus app layer: {} files, {compared} compared with tshark ({with_tls} with TLS, {with_dns} with DNS answers), {agreed_listed} listed disagreements",
        all.len()
    );
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
