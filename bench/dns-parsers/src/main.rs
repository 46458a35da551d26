//! Measures DNS message parsers on the DNS messages of a pcap corpus.
//!
//! Usage: `cargo run --release -- <corpus dir> [runs]` (see README in RESULTS.md).
//!
//! Messages: UDP payloads with port 53 on either side, and DNS-over-TCP messages (port 53, each
//! direction reassembled in order from its first segment and cut by `DnsTcpFramer`). IP
//! fragments are skipped.
//!
//! For each parser:
//! - parsed: the parser accepts the whole message (every question and record, data included);
//! - answers complete: among messages whose header says ANCOUNT > 0, the share where the parser
//!   returns ANCOUNT answer records with their data decoded;
//! - answer RRs: answer records returned with decoded data, against the sum of ANCOUNT;
//! - A/AAAA: A and AAAA answer records returned;
//! - speed: messages per second over the whole set, best of `runs` passes.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tidysniff_core::decode::{decode_frame, parse_transport, Decoded, Transport};
use tidysniff_core::dns::{parse_message, DnsAnomaly, DnsTcpFramer, RData, TcpFrame};
use tidysniff_core::source::CaptureReader;

/// What one parser made of one message.
#[derive(Clone, Copy, Default)]
struct Outcome {
    /// The whole message was accepted.
    parsed: bool,
    /// Answer records returned with decoded data.
    answers: u32,
    /// Of which A or AAAA.
    addr: u32,
    /// Records of all three record sections returned with decoded data (OPT and TSIG
    /// included, wherever the crate keeps them).
    records: u32,
}

type ParseFn = fn(&[u8]) -> Outcome;

fn ours(b: &[u8]) -> Outcome {
    let Ok(m) = parse_message(b) else {
        return Outcome::default();
    };
    let malformed = |s| {
        m.anomalies
            .iter()
            .filter(|a| matches!(a, DnsAnomaly::RdataMalformed { section, .. } if *section == s))
            .count() as u32
    };
    let parsed = m.is_complete()
        && !m
            .anomalies
            .iter()
            .any(|a| matches!(a, DnsAnomaly::RdataMalformed { .. }));
    Outcome {
        parsed,
        records: m.records().count() as u32
            - m.anomalies
                .iter()
                .filter(|a| matches!(a, DnsAnomaly::RdataMalformed { .. }))
                .count() as u32,
        answers: m.answers.len() as u32 - malformed(tidysniff_core::dns::Section::Answer),
        addr: m
            .answers
            .iter()
            .filter(|r| matches!(r.data, RData::A(_) | RData::Aaaa(_)))
            .count() as u32,
    }
}

fn dns_parser(b: &[u8]) -> Outcome {
    match dns_parser::Packet::parse(b) {
        Ok(p) => Outcome {
            parsed: true,
            records: (p.answers.len() + p.nameservers.len() + p.additional.len()) as u32
                + u32::from(p.opt.is_some()),
            answers: p.answers.len() as u32,
            addr: p
                .answers
                .iter()
                .filter(|r| matches!(r.data, dns_parser::RData::A(_) | dns_parser::RData::AAAA(_)))
                .count() as u32,
        },
        Err(_) => Outcome::default(),
    }
}

fn simple_dns(b: &[u8]) -> Outcome {
    match simple_dns::Packet::parse(b) {
        Ok(p) => Outcome {
            parsed: true,
            records: (p.answers.len() + p.name_servers.len() + p.additional_records.len()) as u32
                + u32::from(p.opt().is_some()),
            answers: p.answers.len() as u32,
            addr: p
                .answers
                .iter()
                .filter(|r| {
                    matches!(
                        r.rdata,
                        simple_dns::rdata::RData::A(_) | simple_dns::rdata::RData::AAAA(_)
                    )
                })
                .count() as u32,
        },
        Err(_) => Outcome::default(),
    }
}

fn hickory(b: &[u8]) -> Outcome {
    use hickory_proto::rr::RData as H;
    match hickory_proto::op::Message::from_vec(b) {
        Ok(m) => Outcome {
            parsed: true,
            records: (m.answers.len() + m.authorities.len() + m.additionals.len()) as u32
                + u32::from(m.edns.is_some())
                + u32::from(m.signature.is_some()),
            answers: m.answers.len() as u32,
            addr: m
                .answers
                .iter()
                .filter(|r| matches!(r.data, H::A(_) | H::AAAA(_)))
                .count() as u32,
        },
        Err(_) => Outcome::default(),
    }
}

fn domain(b: &[u8]) -> Outcome {
    use domain::base::iana::Rtype;
    use domain::base::name::ParsedName;
    use domain::rdata::AllRecordData;
    let Ok(msg) = domain::base::Message::from_octets(b) else {
        return Outcome::default();
    };
    let mut out = Outcome {
        parsed: true,
        ..Outcome::default()
    };
    for q in msg.question() {
        if q.is_err() {
            out.parsed = false;
            break;
        }
    }
    // Sections are walked one by one; a record whose data fails is counted as lost, and the
    // walk goes on while the section iterator does.
    let mut section = match msg.answer() {
        Ok(s) => Some(s),
        Err(_) => {
            out.parsed = false;
            None
        }
    };
    let mut index = 0;
    while let Some(sec) = section {
        for rr in sec {
            let Ok(rr) = rr else {
                out.parsed = false;
                break;
            };
            match rr.to_any_record::<AllRecordData<&[u8], ParsedName<&[u8]>>>() {
                Ok(r) => {
                    out.records += 1;
                    if index == 0 {
                        out.answers += 1;
                        if matches!(r.rtype(), Rtype::A | Rtype::AAAA) {
                            out.addr += 1;
                        }
                    }
                    black_box(&r);
                }
                Err(_) => out.parsed = false,
            }
        }
        index += 1;
        section = match sec.next_section() {
            Ok(s) => s,
            Err(_) => {
                out.parsed = false;
                None
            }
        };
    }
    if index < 3 {
        out.parsed = false;
    }
    out
}

const PARSERS: &[(&str, ParseFn)] = &[
    ("dns-parser 0.8.0", dns_parser),
    ("simple-dns 0.13.0", simple_dns),
    ("hickory-proto 0.26.3 (no default features)", hickory),
    ("domain 0.12.3 (AllRecordData)", domain),
    ("tidysniff `dns::wire` (ours)", ours),
];

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
        {
            out.push(p);
        }
    }
}

type Dir = (IpAddr, u16, IpAddr, u16);

struct TcpDir {
    base: u32,
    framer: DnsTcpFramer,
}

/// The DNS messages of one capture: (bytes, over TCP).
fn messages(path: &Path, out: &mut Vec<(Vec<u8>, bool)>) {
    let Ok(mut reader) = CaptureReader::open(path) else {
        return;
    };
    let mut tcp: HashMap<Dir, TcpDir> = HashMap::new();
    while let Ok(Some(p)) = reader.next_packet() {
        let Ok(Decoded::Ip { packet, .. }) = decode_frame(p.linktype, p.data) else {
            continue;
        };
        if packet.fragment.is_some() {
            continue;
        }
        let Ok(t) = parse_transport(packet.ip.protocol, packet.payload, packet.payload_len) else {
            continue;
        };
        match t {
            Transport::Udp(u) if u.src_port == 53 || u.dst_port == 53 => {
                out.push((u.payload.to_vec(), false));
            }
            Transport::Tcp(s) if s.src_port == 53 || s.dst_port == 53 => {
                let key = (packet.ip.src, s.src_port, packet.ip.dst, s.dst_port);
                let syn = s.flags & 0x02 != 0;
                let d = tcp.entry(key).or_insert_with(|| TcpDir {
                    base: if syn { s.seq.wrapping_add(1) } else { s.seq },
                    framer: DnsTcpFramer::new(),
                });
                if syn {
                    *d = TcpDir {
                        base: s.seq.wrapping_add(1),
                        framer: DnsTcpFramer::new(),
                    };
                }
                if s.payload.is_empty() {
                    continue;
                }
                let off = u64::from(s.seq.wrapping_sub(d.base));
                d.framer.push(off, s.payload, |f| {
                    if let TcpFrame::Message(m) = f {
                        out.push((m.to_vec(), true));
                    }
                });
            }
            _ => {}
        }
    }
}

/// Wire form of a dotted name.
fn wire_name(name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        b.push(l.len() as u8);
        b.extend(l.as_bytes());
    }
    b.push(0);
    b
}

/// A resource record with an explicit owner name (wire bytes) and data.
fn rr(owner: &[u8], rtype: u16, class: u16, rdata: &[u8]) -> Vec<u8> {
    let mut b = owner.to_vec();
    b.extend(rtype.to_be_bytes());
    b.extend(class.to_be_bytes());
    b.extend(300u32.to_be_bytes());
    b.extend((rdata.len() as u16).to_be_bytes());
    b.extend(rdata);
    b
}

/// A message: header, one question for `example.com`, answers, then `tail` (additional records
/// or junk) with ARCOUNT `ar`.
fn message(flags: u16, qtype: u16, answers: &[Vec<u8>], ar: u16, tail: &[u8]) -> Vec<u8> {
    let mut b = vec![0x12, 0x34];
    b.extend(flags.to_be_bytes());
    b.extend([0, 1, 0, answers.len() as u8, 0, 0]);
    b.extend(ar.to_be_bytes());
    b.extend(wire_name("example.com"));
    b.extend(qtype.to_be_bytes());
    b.extend([0, 1]);
    for a in answers {
        b.extend(a);
    }
    b.extend(tail);
    b
}

/// Hand-made messages for what the corpus has little of: (what, message, A/AAAA answers a
/// parser that keeps going should return).
fn robustness_cases() -> Vec<(&'static str, Vec<u8>, u32)> {
    const Q: &[u8] = &[0xc0, 0x0c]; // pointer to the question name
    let a = rr(Q, 1, 1, &[192, 0, 2, 1]);
    // HTTPS: priority 1, target ".", alpn h2, ipv4hint 192.0.2.1.
    let https = [
        &[0, 1, 0][..],
        &[0, 1, 0, 3, 2, b'h', b'2'],
        &[0, 4, 0, 4, 192, 0, 2, 1],
    ]
    .concat();
    // OPT, UDP 1232, with an Extended DNS Error 18 (Prohibited).
    let opt = rr(&[0], 41, 1232, &[0, 15, 0, 2, 0, 18]);
    vec![
        ("HTTPS (65) query", message(0x0100, 65, &[], 0, &[]), 0),
        (
            "HTTPS answer (alpn, ipv4hint), then A",
            message(0x8180, 65, &[rr(Q, 65, 1, &https), a.clone()], 0, &[]),
            1,
        ),
        (
            "answer of unknown type 65280, then A",
            message(0x8180, 1, &[rr(Q, 65280, 1, &[1, 2]), a.clone()], 0, &[]),
            1,
        ),
        (
            "A of unknown class 4064, then A",
            message(
                0x8180,
                1,
                &[rr(Q, 1, 4064, &[10, 0, 0, 1]), a.clone()],
                0,
                &[],
            ),
            2,
        ),
        (
            "A with RDLENGTH 3, then A",
            message(0x8180, 1, &[rr(Q, 1, 1, &[1, 2, 3]), a.clone()], 0, &[]),
            1,
        ),
        (
            "CNAME whose name loops, then A",
            message(
                0x8180,
                1,
                &[rr(Q, 5, 1, &[1, b'x', 0xc0, 0x29]), a.clone()],
                0,
                &[],
            ),
            1,
        ),
        (
            "Z flag set, A",
            message(0x81c0, 1, std::slice::from_ref(&a), 0, &[]),
            1,
        ),
        (
            "trailing bytes after the last record, A",
            message(0x8180, 1, std::slice::from_ref(&a), 0, &[0xde, 0xad]),
            1,
        ),
        (
            "SERVFAIL with OPT + Extended DNS Error",
            message(0x8182, 1, &[], 1, &opt),
            0,
        ),
    ]
}

/// A header count, read independently of any parser.
fn count(m: &[u8], i: usize) -> u32 {
    m.get(4 + 2 * i..6 + 2 * i)
        .map_or(0, |b| u32::from(b[0]) << 8 | u32::from(b[1]))
}

/// Records the bytes after the header could hold at most (11 bytes each, at least).
fn room(m: &[u8]) -> u32 {
    (m.len().saturating_sub(12) / 11) as u32
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| {
        eprintln!("usage: dns-parsers-bench <corpus dir> [runs]");
        std::process::exit(2)
    }));
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let mut files = Vec::new();
    captures(&root, &mut files);
    files.sort();
    let mut msgs = Vec::new();
    for f in &files {
        let before = msgs.len();
        messages(f, &mut msgs);
        if std::env::var_os("DNS_BENCH_FILES").is_some() {
            eprintln!("{} {}", msgs.len() - before, f.display());
        }
    }
    let tcp = msgs.iter().filter(|m| m.1).count();
    let msgs: Vec<Vec<u8>> = msgs.into_iter().map(|m| m.0).collect();
    let an = |m: &[u8]| count(m, 1);
    let rrs = |m: &[u8]| count(m, 1) + count(m, 2) + count(m, 3);
    let with_answers = msgs.iter().filter(|m| an(m) > 0).count();
    let with_records = msgs.iter().filter(|m| rrs(m) > 0).count();
    let sum_an: u64 = msgs.iter().map(|m| u64::from(an(m).min(room(m)))).sum();
    let sum_rr: u64 = msgs.iter().map(|m| u64::from(rrs(m).min(room(m)))).sum();
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    println!(
        "Corpus: {} captures, {} DNS messages ({} over TCP), {} bytes; {} with ANCOUNT > 0, \
         {} with any record; reference sums (each count capped at what the message length can \
         hold): {} answer RRs, {} RRs in all sections.\n",
        files.len(),
        msgs.len(),
        tcp,
        bytes,
        with_answers,
        with_records,
        sum_an,
        sum_rr
    );
    println!(
        "| parser | whole message parsed | every answer recovered (of {with_answers}) | \
         every RR recovered (of {with_records}) | answer RRs (of {sum_an}) | RRs (of {sum_rr}) | \
         A+AAAA answers | messages/s (best of {runs}) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let ours_out: Vec<Outcome> = msgs.iter().map(|m| ours(m)).collect();
    let pct = |n: u64, d: u64| 100.0 * n as f64 / d.max(1) as f64;
    for (name, f) in PARSERS {
        let outs: Vec<Outcome> = msgs.iter().map(|m| f(m)).collect();
        let parsed = outs.iter().filter(|o| o.parsed).count() as u64;
        let answers_ok = msgs
            .iter()
            .zip(&outs)
            .filter(|(m, o)| an(m) > 0 && o.answers == an(m))
            .count() as u64;
        let records_ok = msgs
            .iter()
            .zip(&outs)
            .filter(|(m, o)| rrs(m) > 0 && o.records == rrs(m))
            .count() as u64;
        let answer_rrs: u64 = outs.iter().map(|o| u64::from(o.answers)).sum();
        let all_rrs: u64 = outs.iter().map(|o| u64::from(o.records)).sum();
        let addr: u64 = outs.iter().map(|o| u64::from(o.addr)).sum();
        let mut best = f64::INFINITY;
        // One run parses the set `passes` times (about 500,000 messages).
        let passes = (500_000 / msgs.len().max(1)).max(1);
        for _ in 0..runs {
            let t = Instant::now();
            for _ in 0..passes {
                for m in &msgs {
                    black_box(f(black_box(m)));
                }
            }
            best = best.min(t.elapsed().as_secs_f64() / passes as f64);
        }
        println!(
            "| {name} | {parsed} ({:.2} %) | {answers_ok} ({:.2} %) | {records_ok} ({:.2} %) | \
             {answer_rrs} ({:.2} %) | {all_rrs} ({:.2} %) | {addr} | {:.2} M |",
            pct(parsed, msgs.len() as u64),
            pct(answers_ok, with_answers as u64),
            pct(records_ok, with_records as u64),
            pct(answer_rrs, sum_an),
            pct(all_rrs, sum_rr),
            msgs.len() as f64 / best / 1e6
        );
        // Where this parser and ours disagree (stderr, for the notes).
        let diff: Vec<_> = msgs
            .iter()
            .zip(outs.iter().zip(&ours_out))
            .filter(|(_, (o, w))| {
                o.parsed != w.parsed || o.answers != w.answers || o.records != w.records
            })
            .collect();
        eprintln!("{name}: {} messages differ from ours", diff.len());
        if std::env::var_os("DNS_BENCH_SHOW").is_some() {
            for (m, (o, w)) in diff {
                let anomalies = parse_message(m)
                    .map(|x| x.anomalies.iter().map(|a| a.name()).collect::<Vec<_>>());
                eprintln!(
                    "  {} bytes: parsed {} (ours {}), answers {} (ours {}), records {} (ours {}), \
                     our anomalies {:?}, first bytes {:02x?}",
                    m.len(),
                    o.parsed,
                    w.parsed,
                    o.answers,
                    w.answers,
                    o.records,
                    w.records,
                    anomalies,
                    &m[..m.len().min(48)]
                );
            }
        }
    }

    // What each parser makes of hand-made edge cases.
    let cases = robustness_cases();
    println!(
        "\n| case |{}",
        PARSERS
            .iter()
            .map(|(n, _)| format!(" {n} |"))
            .collect::<String>()
    );
    println!("|---|{}", "---|".repeat(PARSERS.len()));
    for (what, m, want) in &cases {
        let cells: String = PARSERS
            .iter()
            .map(|(name, f)| {
                let o = f(m);
                let mut mark = if o.parsed { "parsed" } else { "rejected" }.to_string();
                if name.contains("ours") {
                    if let Ok(m) = parse_message(m) {
                        for a in &m.anomalies {
                            mark.push_str(&format!(" `{}`", a.name()));
                        }
                    }
                }
                if *want > 0 {
                    format!(" {mark}, A {}/{want} |", o.addr)
                } else {
                    format!(" {mark} |")
                }
            })
            .collect();
        println!("| {what} |{cells}");
    }
}
