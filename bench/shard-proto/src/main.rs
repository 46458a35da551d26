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
//! them (wall time). `READERS=2` reads with two threads (`pread` of alternate chunks, the record
//! walk handed on from chunk to chunk). Results: RESULTS.md.

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
/// Room in front of a chunk for the record the previous chunk left unfinished.
const RESERVE: usize = 64 << 10;
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
    /// Chunk number (engines take chunks in this order).
    k: u64,
    /// End of the data in `buf`.
    end: usize,
}

/// Handed from the walk of one chunk to the next: the unfinished record's bytes, the frames so
/// far, the latest time, and whether the input ended.
struct Token {
    tail: Vec<u8>,
    frame: u64,
    max_ts: Timestamp,
    end: bool,
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

    let pool = Arc::new(std::sync::Mutex::new(Vec::<Chunk>::new()));
    let mut to_engines = Vec::new();
    let (out_tx, out_rx) = mpsc::sync_channel::<(usize, Vec<Event>, u64)>(256);
    let mut engines = Vec::new();
    for shard in 0..shards {
        let (tx, rx) = mpsc::sync_channel::<Arc<Chunk>>(QUEUE);
        to_engines.push(tx);
        let out_tx = out_tx.clone();
        let pool = Arc::clone(&pool);
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
            // Chunks come from several readers: taken in chunk order.
            let mut early = std::collections::BTreeMap::<u64, Arc<Chunk>>::new();
            let mut next_k = 0u64;
            loop {
                let t0 = std::time::Instant::now();
                let chunk = loop {
                    if let Some(c) = early.remove(&next_k) {
                        break Some(c);
                    }
                    match rx.next() {
                        Some(c) => {
                            early.insert(c.k, c);
                        }
                        None => break None,
                    }
                };
                let Some(chunk) = chunk else { break };
                next_k += 1;
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
                    pool.lock().expect("pool").push(c);
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

    // The read-ahead work, on READERS threads (default 1): reader r reads chunks k = r, r + R,
    // ... with `pread` (the kernel's copy, the costly part, runs on several threads); the record
    // walk is passed along in order (each chunk needs the previous one's unfinished record), and
    // hints and shards are computed after the walk is handed on.
    let readers: usize = std::env::var("READERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let file = Arc::new(file);
    let mut token_txs = Vec::new();
    let mut token_rxs = Vec::new();
    for _ in 0..readers {
        let (tx, rx) = mpsc::channel::<Token>();
        token_txs.push(tx);
        token_rxs.push(Some(rx));
    }
    token_txs[0]
        .send(Token {
            tail: Vec::new(),
            frame: 0,
            max_ts: Timestamp::MIN,
            end: false,
        })
        .expect("token");
    let mut reader_threads = Vec::new();
    for r in 0..readers {
        let file = Arc::clone(&file);
        let pool = Arc::clone(&pool);
        let to_engines = to_engines.clone();
        let token_rx = token_rxs[r].take().expect("token rx");
        let token_tx = token_txs[(r + 1) % readers].clone();
        reader_threads.push(std::thread::spawn(move || {
            use std::os::unix::fs::FileExt;
            let mut k = r as u64;
            loop {
                let mut c = pool.lock().expect("pool").pop().unwrap_or_else(|| Chunk {
                    buf: Vec::new(),
                    recs: Vec::with_capacity(2048),
                    max_ts: Timestamp::MIN,
                    last_frame: 0,
                    k: 0,
                    end: 0,
                });
                if c.buf.len() < RESERVE + CHUNK {
                    c.buf.resize(RESERVE + CHUNK, 0);
                }
                c.recs.clear();
                let offset = 24 + k * CHUNK as u64;
                let mut n = 0;
                while n < CHUNK {
                    match file.read_at(&mut c.buf[RESERVE + n..RESERVE + CHUNK], offset + n as u64)
                    {
                        Ok(0) => break,
                        Ok(m) => n += m,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                let Ok(token) = token_rx.recv() else { return };
                if token.end {
                    let _ = token_tx.send(token);
                    return;
                }
                let start = RESERVE - token.tail.len();
                c.buf[start..RESERVE].copy_from_slice(&token.tail);
                let end = RESERVE + n;
                let (mut frame, mut max_ts) = (token.frame, token.max_ts);
                let mut at = start;
                while at + 16 <= end {
                    let h = &c.buf[at..at + 16];
                    let w = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
                    let caplen = w(8) as usize;
                    if at + 16 + caplen > end {
                        break;
                    }
                    let frac = i64::from(w(4));
                    let ts = Timestamp(
                        i64::from(w(0)) * 1_000_000_000 + if nanos { frac } else { frac * 1000 },
                    );
                    frame += 1;
                    max_ts = max_ts.max(ts);
                    c.recs.push(Rec {
                        start: (at + 16) as u32,
                        caplen: caplen as u32,
                        orig_len: w(12),
                        ts,
                        hint: 0,
                        shard: 0,
                        frame,
                    });
                    at += 16 + caplen;
                }
                assert!(end - at <= RESERVE, "a record larger than the reserve");
                let last = n < CHUNK;
                let _ = token_tx.send(Token {
                    tail: c.buf[at..end].to_vec(),
                    frame,
                    max_ts,
                    end: last,
                });
                for rec in c.recs.iter_mut() {
                    let s = rec.start as usize;
                    let data = &c.buf[s..s + rec.caplen as usize];
                    rec.hint = Engine::flow_hint(linktype, data).unwrap_or(0);
                    rec.shard = shard(linktype, data, shards);
                }
                c.max_ts = max_ts;
                c.last_frame = frame;
                c.k = k;
                c.end = end;
                let c = Arc::new(c);
                for tx in &to_engines {
                    tx.send(Arc::clone(&c)).expect("engine");
                }
                if last {
                    return;
                }
                k += readers as u64;
            }
        }));
    }
    drop(token_txs);
    drop(to_engines);
    for t in reader_threads {
        t.join().expect("reader");
    }
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
