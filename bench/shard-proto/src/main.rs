//! Experiment (not part of the product): `shard-proto CAPTURE [SHARDS]` analyzes a classic
//! pcap (Ethernet) like `tidysniff log` (conn, dns, tls, http records as JSON on stdout), with
//! one read-ahead thread that reads the file in 1 MiB chunks and computes each record's flow hint
//! and shard (`runtime::shard_of`: address pair), and SHARDS engines on threads of their own that
//! take every chunk without a copy (shared, returned for reuse by the last engine done with it)
//! and analyze only their records, prefetching 12 of them ahead as the CLI's single engine does.
//! A writer thread merges the engines' records in frame order and formats them.
//!
//! It measures how much of the two-process ceiling (`bench/split.sh`) an in-process split can
//! keep. Output is the same set of records as `tidysniff log` but not in the same order, and
//! every engine's timers move once a chunk. With `NOMERGE` set in the environment the engines
//! format their own records and drop the text (no writer, no merge: the split's ceiling without
//! them). Each engine prints to stderr how long it waited for chunks and how long it worked on
//! them (wall time). Results: RESULTS.md.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{mpsc, Arc};

use tidysniff_core::app::{AppConfig, AppLayer, DEFAULT_STREAM_DEPTH};
use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::event::{Event, EventKind};
use tidysniff_core::flow::Uid;
use tidysniff_core::report::{self, app};
use tidysniff_core::runtime::shard_of;
use tidysniff_core::source::{LinkType, Packet};
use tidysniff_core::time::Timestamp;

#[global_allocator]
static GLOBAL: tidysniff_prefetch::PrefaultingAlloc<mimalloc::MiMalloc> =
    tidysniff_prefetch::PrefaultingAlloc(mimalloc::MiMalloc);

const CHUNK: usize = 1 << 20;
const AHEAD: usize = 12;
const QUEUE: usize = 8;

#[derive(Clone, Copy)]
struct Rec {
    start: u32,
    caplen: u32,
    orig_len: u32,
    ts: Timestamp,
    hint: u64,
    shard: u8,
    frame: u64,
}

struct Chunk {
    buf: Vec<u8>,
    recs: Vec<Rec>,
    max_ts: Timestamp,
    last_frame: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: shard-proto CAPTURE [SHARDS]");
    let shards: usize = args.get(2).map_or(2, |s| s.parse().expect("shards"));
    tidysniff_prefetch::allow_huge_pages();
    tidysniff_prefetch::start_heap_prefault();
    let mut file = std::fs::File::open(path).expect("open");
    let mut header = [0u8; 24];
    file.read_exact(&mut header).expect("header");
    let nanos = match header[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => false,
        [0x4d, 0x3c, 0xb2, 0xa1] => true,
        _ => panic!("only little-endian classic pcap"),
    };
    let linktype = LinkType(u16::from_le_bytes([header[20], header[21]]));

    let (back_tx, back_rx) = mpsc::channel::<Chunk>();
    let mut to_engines = Vec::new();
    let (out_tx, out_rx) = mpsc::sync_channel::<(usize, Vec<Event>, u64)>(256);
    let mut engines = Vec::new();
    for shard in 0..shards {
        let (tx, rx) = mpsc::sync_channel::<Arc<Chunk>>(QUEUE);
        to_engines.push(tx);
        let out_tx = out_tx.clone();
        let back_tx = back_tx.clone();
        engines.push(std::thread::spawn(move || {
            let cfg = EngineConfig {
                stream_depth: DEFAULT_STREAM_DEPTH,
                flow_events: false,
                ..EngineConfig::default()
            };
            let mut engine =
                Engine::with_stream_handler(cfg, Box::new(AppLayer::new(AppConfig::default())));
            let mut mine: Vec<u32> = Vec::new();
            let mut events = Vec::with_capacity(512);
            let mut last = 0;
            let nomerge = std::env::var_os("NOMERGE").is_some();
            let mut text = String::with_capacity(1 << 16);
            let mut sink = std::io::sink();
            let mut send = |ev: Vec<Event>, d: u64| {
                if nomerge {
                    text.clear();
                    for e in &ev {
                        format(&mut text, e);
                    }
                    let _ = sink.write_all(text.as_bytes());
                    drop(ev);
                    let _ = out_tx.send((shard, Vec::new(), d));
                } else {
                    let _ = out_tx.send((shard, ev, d));
                }
            };
            let mut waited = std::time::Duration::ZERO;
            let mut busy = std::time::Duration::ZERO;
            let mut rx = rx.into_iter();
            loop {
                let t0 = std::time::Instant::now();
                let Some(chunk) = rx.next() else { break };
                let t1 = std::time::Instant::now();
                waited += t1 - t0;
                mine.clear();
                mine.extend(
                    (0..chunk.recs.len() as u32)
                        .filter(|&i| usize::from(chunk.recs[i as usize].shard) == shard),
                );
                // As the CLI's lookahead does: the flow hint and the record's first lines.
                let ahead = |engine: &mut Engine, a: u32| {
                    let r = chunk.recs[a as usize];
                    for off in [0, 40, 80] {
                        if let Some(x) = chunk.buf.get(r.start as usize - 16 + off) {
                            tidysniff_prefetch::read(x);
                        }
                    }
                    engine.prefetch_hint(r.hint);
                };
                for r in mine.iter().take(AHEAD) {
                    ahead(&mut engine, *r);
                }
                for (j, &i) in mine.iter().enumerate() {
                    if let Some(&a) = mine.get(j + AHEAD) {
                        ahead(&mut engine, a);
                    }
                    let r = chunk.recs[i as usize];
                    let s = r.start as usize;
                    let p = Packet {
                        ts: r.ts,
                        linktype,
                        orig_len: r.orig_len,
                        data: &chunk.buf[s..s + r.caplen as usize],
                    };
                    engine.process_frame(r.frame, &p, &mut events);
                    if events.len() >= 256 {
                        send(std::mem::take(&mut events), r.frame - 1);
                    }
                }
                engine.advance_at(chunk.max_ts, chunk.last_frame, &mut events);
                last = chunk.last_frame;
                send(std::mem::take(&mut events), last);
                if let Ok(c) = Arc::try_unwrap(chunk) {
                    let _ = back_tx.send(c);
                }
                busy += t1.elapsed();
            }
            eprintln!("engine {shard}: waited {:?}, busy {:?}", waited, busy);
            engine.advance_at(Timestamp::MIN, last, &mut events);
            while engine.finish_some(256, &mut events) {
                send(std::mem::take(&mut events), last);
            }
            send(std::mem::take(&mut events), u64::MAX);
        }));
    }
    drop(out_tx);
    drop(back_tx);

    let writer = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut queues: Vec<VecDeque<Event>> = (0..shards).map(|_| VecDeque::new()).collect();
        let mut done = vec![0u64; shards];
        let mut text = String::with_capacity(1 << 16);
        let mut release = |queues: &mut Vec<VecDeque<Event>>, done: &[u64], text: &mut String| {
            let upto = done.iter().copied().min().unwrap_or(0);
            text.clear();
            loop {
                let mut best: Option<(u64, usize)> = None;
                for (k, q) in queues.iter().enumerate() {
                    if let Some(e) = q.front() {
                        if (e.frame < upto || upto == u64::MAX)
                            && best.is_none_or(|(f, _)| e.frame < f)
                        {
                            best = Some((e.frame, k));
                        }
                    }
                }
                let Some((_, k)) = best else { break };
                if let Some(ev) = queues[k].pop_front() {
                    format(text, &ev);
                }
            }
            out.write_all(text.as_bytes()).expect("write");
        };
        for (shard, events, d) in out_rx {
            queues[shard].extend(events);
            done[shard] = done[shard].max(d);
            release(&mut queues, &done, &mut text);
        }
        done.iter_mut().for_each(|d| *d = u64::MAX);
        release(&mut queues, &done, &mut text);
    });

    // The read-ahead thread's work, here on the main thread.
    let mut carry: Vec<u8> = Vec::new();
    let mut frame = 0u64;
    let mut max_ts = Timestamp::MIN;
    loop {
        let mut c = back_rx.try_recv().unwrap_or_else(|_| Chunk {
            buf: Vec::with_capacity(CHUNK + 65536),
            recs: Vec::with_capacity(2048),
            max_ts: Timestamp::MIN,
            last_frame: 0,
        });
        c.buf.clear();
        c.recs.clear();
        c.buf.extend_from_slice(&carry);
        // Appended without zeroing first (read_to_end fills spare capacity).
        let n = (&mut file)
            .take(CHUNK as u64)
            .read_to_end(&mut c.buf)
            .expect("read");
        let mut at = 0;
        while at + 16 <= c.buf.len() {
            let h = &c.buf[at..at + 16];
            let w = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
            let caplen = w(8) as usize;
            if at + 16 + caplen > c.buf.len() {
                break;
            }
            let frac = i64::from(w(4));
            let ts =
                Timestamp(i64::from(w(0)) * 1_000_000_000 + if nanos { frac } else { frac * 1000 });
            let data = &c.buf[at + 16..at + 16 + caplen];
            frame += 1;
            max_ts = max_ts.max(ts);
            c.recs.push(Rec {
                start: (at + 16) as u32,
                caplen: caplen as u32,
                orig_len: w(12),
                ts,
                hint: Engine::flow_hint(linktype, data).unwrap_or(0),
                shard: shard(linktype, data, shards),
                frame,
            });
            at += 16 + caplen;
        }
        carry.clear();
        carry.extend_from_slice(&c.buf[at..]);
        c.max_ts = max_ts;
        c.last_frame = frame;
        let last = n == 0;
        let c = Arc::new(c);
        for tx in &to_engines {
            tx.send(Arc::clone(&c)).expect("engine");
        }
        if last {
            break;
        }
    }
    drop(to_engines);
    for e in engines {
        e.join().expect("engine");
    }
    writer.join().expect("writer");
}

fn format(text: &mut String, ev: &Event) {
    let uid = ev.uid.unwrap_or(Uid(0));
    match &ev.kind {
        EventKind::ConnEnd(rec) => report::conn_json(text, rec),
        EventKind::Dns(tx) => app::dns_json(text, tx),
        EventKind::Tls {
            orig,
            resp,
            encrypted_dns,
            summary,
        } => app::tls_json(text, ev.ts, uid, (*orig, *resp), *encrypted_dns, summary),
        EventKind::Http { orig, resp, tx } => app::http_json(text, ev.ts, uid, *orig, *resp, tx),
        _ => {}
    }
}

/// `runtime::shard_of`, with its answer for untagged Ethernet IPv4 carrying TCP or UDP computed
/// from fixed offsets (the common frame; anything else takes the full decode).
fn shard(linktype: LinkType, data: &[u8], shards: usize) -> u8 {
    if linktype == LinkType(1)
        && data.len() >= 34
        && data[12..14] == [0x08, 0x00]
        && data[14] == 0x45
        && (data[23] == 6 || data[23] == 17)
    {
        use std::hash::{Hash, Hasher};
        let a = std::net::IpAddr::from([data[26], data[27], data[28], data[29]]);
        let b = std::net::IpAddr::from([data[30], data[31], data[32], data[33]]);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = rustc_hash::FxHasher::default();
        lo.hash(&mut h);
        hi.hash(&mut h);
        let v = h.finish();
        return ((v ^ (v >> 29) ^ (v >> 47)) % shards as u64) as u8;
    }
    shard_of(linktype, data, shards) as u8
}
