//! Runners: drive a [`PacketSource`] through one engine, or through several engines on their own
//! threads (sharded by a symmetric hash of the innermost IP address pair, so both directions of a
//! connection, its fragments and the ICMP errors that quote it meet in one engine).
//!
//! Output is deterministic for a given number of shards: every event carries a global frame number
//! and events are released in frame order once every shard has passed that frame. Uids come from
//! the frame that opened the connection, so they do not depend on the number of shards.

use std::collections::BinaryHeap;
use std::hash::{Hash, Hasher};
use std::sync::mpsc;

use crate::decode::{self, Decoded, Transport};
use crate::engine::{Engine, EngineConfig, Stats, StreamHandler};
use crate::event::{Event, EventKind};
use crate::source::{Ahead, LinkType, Packet, PacketSource, SourceError, SourceEvent};
use crate::time::Timestamp;

/// Makes one stream handler per engine.
pub type HandlerFactory<'a> = &'a (dyn Fn() -> Box<dyn StreamHandler + Send> + Sync);

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Configuration of each engine (`max_flows` is per engine).
    pub engine: EngineConfig,
    /// Engines (threads); 1 runs on the calling thread.
    pub shards: usize,
    /// Packets read between hand-offs to the shards.
    pub batch_packets: usize,
    /// With one engine: events gathered before the sink is called (at least 1; all that are left
    /// at the end of input are handed over too). 1 hands each packet's events at once (live and
    /// streamed input); a sink that passes events to another thread can take the whole vector
    /// (`std::mem::replace`) when it is called with a batch, so events are not copied.
    pub sink_batch: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            engine: EngineConfig::default(),
            shards: 1,
            batch_packets: 1024,
            sink_batch: 1,
        }
    }
}

/// What a run ends with.
#[derive(Debug)]
pub struct RunSummary {
    /// Counters summed over the engines (`peak_flows` is the sum of each engine's peak).
    pub stats: Stats,
    /// Errors the source reported (truncated or corrupt input, I/O). A file reader ends at its
    /// first error; a merged source drops that input and goes on with the others. Packets read
    /// before an error were analyzed.
    pub source_errors: Vec<SourceError>,
}

/// Consecutive errors after which a source is given up (a source that only fails).
const MAX_CONSECUTIVE_ERRORS: usize = 64;

/// Runs `source` to its end; `sink` receives events in batches, in order. It may take them
/// (`std::mem::take`, `Vec::append`) to hand them to another thread; what it leaves is dropped.
pub fn run<S: PacketSource + ?Sized, E>(
    source: &mut S,
    cfg: &RunConfig,
    handlers: Option<HandlerFactory<'_>>,
    mut sink: impl FnMut(&mut Vec<Event>) -> Result<(), E>,
) -> Result<RunSummary, E> {
    if cfg.shards <= 1 {
        let mut engine = match handlers {
            Some(f) => Engine::with_stream_handler(cfg.engine.clone(), f()),
            None => Engine::new(cfg.engine.clone()),
        };
        let sink_batch = cfg.sink_batch.max(1);
        let mut events = Vec::with_capacity(sink_batch.max(64));
        let mut source_errors = Vec::new();
        let mut failing = 0;
        loop {
            // Start loading the flow entries of the next few packets while this one is analyzed:
            // the flow-table miss is most of a packet's cost on large tables (README, Performance).
            source.lookahead(PREFETCH_AHEAD, &mut |ahead| match ahead {
                Ahead::Frame(lt, data) => engine.prefetch(lt, data),
                Ahead::Hint(h) => engine.prefetch_hint(h),
            });
            match source.next_event() {
                Ok(Some(SourceEvent::Packet(p))) => {
                    failing = 0;
                    engine.process(&p, &mut events)
                }
                Ok(Some(SourceEvent::Tick(t))) => engine.advance(t, &mut events),
                Ok(None) => break,
                Err(e) => {
                    source_errors.push(e);
                    failing += 1;
                    if failing >= MAX_CONSECUTIVE_ERRORS {
                        break;
                    }
                }
            }
            if events.len() >= sink_batch {
                sink(&mut events)?;
                events.clear();
            }
        }
        if !events.is_empty() {
            sink(&mut events)?;
            events.clear();
        }
        while engine.finish_some(FINISH_BATCH, &mut events) {
            sink(&mut events)?;
            events.clear();
        }
        sink(&mut events)?;
        return Ok(RunSummary {
            stats: engine.stats().clone(),
            source_errors,
        });
    }
    run_sharded(source, cfg, handlers, sink)
}

/// Final records made per `finish_some` call at the end of input, handed to the sink before the
/// next: the sink's consumer (a writer thread) frees them while the next are made, so the end of
/// a capture with 200,000 open connections does not hold thousands of records at once (4096
/// added 27 MiB to the peak of the 1 GiB bench with parsers on).
const FINISH_BATCH: usize = 256;

/// How many packets ahead the single-engine loop prefetches flow entries.
pub const PREFETCH_AHEAD: usize = 12;

/// Which of `shards` engines a packet belongs to.
pub fn shard_of(linktype: LinkType, data: &[u8], shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let Ok(Decoded::Ip { packet, .. }) = decode::decode_frame(linktype, data) else {
        return 0;
    };
    let (mut a, mut b) = (packet.ip.src, packet.ip.dst);
    // An ICMP error goes with the flow it quotes (only ICMP and ICMPv6 are parsed further).
    if matches!(
        packet.ip.protocol,
        decode::ip::PROTO_ICMP | decode::ip::PROTO_ICMPV6
    ) && packet.fragment.is_none_or(|f| f.offset == 0)
    {
        if let Ok(Transport::Icmp(m)) =
            decode::parse_transport(packet.ip.protocol, packet.payload, packet.payload_len)
        {
            if let Some(q) = m.quoted {
                (a, b) = (q.src, q.dst);
            }
        }
    }
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = rustc_hash::FxHasher::default();
    lo.hash(&mut h);
    hi.hash(&mut h);
    // Fold the high bits in: Fx leaves the low bits weak.
    let v = h.finish();
    ((v ^ (v >> 29) ^ (v >> 47)) % shards as u64) as usize
}

struct Meta {
    ts: Timestamp,
    linktype: LinkType,
    orig_len: u32,
    frame: u64,
    start: usize,
    len: usize,
}

#[derive(Default)]
struct Batch {
    meta: Vec<Meta>,
    data: Vec<u8>,
    /// Latest packet time of the whole input so far.
    now: Option<Timestamp>,
    /// Global frame number of the last packet read so far.
    last_frame: u64,
    /// Live ticks seen while this batch was filled.
    tick: Option<Timestamp>,
}

struct Output {
    shard: usize,
    events: Vec<Event>,
    done_frame: u64,
    spent: Batch,
}

fn run_sharded<S: PacketSource + ?Sized, E>(
    source: &mut S,
    cfg: &RunConfig,
    handlers: Option<HandlerFactory<'_>>,
    mut sink: impl FnMut(&mut Vec<Event>) -> Result<(), E>,
) -> Result<RunSummary, E> {
    let n = cfg.shards;
    let batch_packets = cfg.batch_packets.max(1);
    std::thread::scope(|scope| {
        let (out_tx, out_rx) = mpsc::channel::<Output>();
        let mut to_workers = Vec::with_capacity(n);
        let mut joins = Vec::with_capacity(n);
        for shard in 0..n {
            let (tx, rx) = mpsc::sync_channel::<Batch>(4);
            to_workers.push(tx);
            let out_tx = out_tx.clone();
            let engine_cfg = cfg.engine.clone();
            let handler = handlers.map(|f| f());
            joins.push(scope.spawn(move || {
                let mut engine = match handler {
                    Some(h) => Engine::with_stream_handler(engine_cfg, h),
                    None => Engine::new(engine_cfg),
                };
                let mut last = 0;
                for mut batch in rx {
                    let mut events = Vec::new();
                    for m in &batch.meta {
                        let data = batch.data.get(m.start..m.start + m.len).unwrap_or(&[]);
                        let p = Packet {
                            ts: m.ts,
                            linktype: m.linktype,
                            orig_len: m.orig_len,
                            data,
                        };
                        engine.process_frame(m.frame, &p, &mut events);
                    }
                    if let Some(t) = batch.tick.or(batch.now) {
                        engine.advance_at(t, batch.last_frame, &mut events);
                    }
                    last = batch.last_frame;
                    batch.meta.clear();
                    batch.data.clear();
                    if out_tx
                        .send(Output {
                            shard,
                            events,
                            done_frame: last,
                            spent: batch,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
                let mut events = Vec::new();
                engine.advance_at(Timestamp::MIN, last, &mut events);
                engine.finish(&mut events);
                let _ = out_tx.send(Output {
                    shard,
                    events,
                    done_frame: u64::MAX,
                    spent: Batch::default(),
                });
                engine.stats().clone()
            }));
        }
        drop(out_tx);

        let mut merger = Merger::new(n);
        let mut spare: Vec<Batch> = Vec::new();
        let mut batches: Vec<Batch> = (0..n).map(|_| Batch::default()).collect();
        let mut frame = 0u64;
        let mut now: Option<Timestamp> = None;
        let mut source_errors = Vec::new();
        let mut failing = 0;
        let mut in_batch = 0usize;
        let mut sink_error = None;
        let flush = |batches: &mut Vec<Batch>, spare: &mut Vec<Batch>, now, frame, tick| {
            for (i, b) in batches.iter_mut().enumerate() {
                let mut full = std::mem::replace(b, spare.pop().unwrap_or_default());
                full.now = now;
                full.last_frame = frame;
                full.tick = tick;
                // A worker that died (panicked) drops its receiver; its error surfaces at join.
                let _ = to_workers[i].send(full);
            }
        };
        loop {
            let ev = source.next_event();
            let mut tick = None;
            match ev {
                Ok(Some(SourceEvent::Packet(p))) => {
                    failing = 0;
                    frame += 1;
                    now = Some(now.map_or(p.ts, |t: Timestamp| t.max(p.ts)));
                    let shard = shard_of(p.linktype, p.data, n);
                    let b = &mut batches[shard];
                    let start = b.data.len();
                    b.data.extend_from_slice(p.data);
                    b.meta.push(Meta {
                        ts: p.ts,
                        linktype: p.linktype,
                        orig_len: p.orig_len,
                        frame,
                        start,
                        len: p.data.len(),
                    });
                    in_batch += 1;
                }
                Ok(Some(SourceEvent::Tick(t))) => tick = Some(t),
                Ok(None) => break,
                Err(e) => {
                    source_errors.push(e);
                    failing += 1;
                    if failing >= MAX_CONSECUTIVE_ERRORS {
                        break;
                    }
                }
            }
            if in_batch >= batch_packets || tick.is_some() {
                flush(&mut batches, &mut spare, now, frame, tick);
                in_batch = 0;
                // Collect what is ready without waiting.
                while let Ok(o) = out_rx.try_recv() {
                    spare.push(o.spent);
                    merger.add(o.shard, o.events, o.done_frame);
                }
                if sink_error.is_none() {
                    if let Err(e) = merger.release(&mut sink) {
                        sink_error = Some(e);
                        break;
                    }
                }
            }
        }
        flush(&mut batches, &mut spare, now, frame, None);
        drop(to_workers);
        for o in out_rx {
            merger.add(o.shard, o.events, o.done_frame);
            if sink_error.is_none() {
                if let Err(e) = merger.release(&mut sink) {
                    sink_error = Some(e);
                }
            }
        }
        let mut stats = Stats::default();
        for j in joins {
            match j.join() {
                Ok(s) => merge_stats(&mut stats, &s),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        if let Some(e) = sink_error {
            return Err(e);
        }
        merger.release_all(&mut sink)?;
        Ok(RunSummary {
            stats,
            source_errors,
        })
    })
}

/// Orders events of several shards by (frame, end-of-input first-frame, shard, arrival).
struct Merger {
    heap: BinaryHeap<std::cmp::Reverse<(u64, u64, usize, u64)>>,
    store: std::collections::HashMap<u64, Event>,
    done: Vec<u64>,
    seq: u64,
    buf: Vec<Event>,
}

impl Merger {
    fn new(n: usize) -> Self {
        Merger {
            heap: BinaryHeap::new(),
            store: Default::default(),
            done: vec![0; n],
            seq: 0,
            buf: Vec::new(),
        }
    }

    fn add(&mut self, shard: usize, events: Vec<Event>, done: u64) {
        for ev in events {
            let first = match &ev.kind {
                EventKind::ConnEnd(r) => r.first_frame,
                _ => 0,
            };
            self.seq += 1;
            self.heap
                .push(std::cmp::Reverse((ev.frame, first, shard, self.seq)));
            self.store.insert(self.seq, ev);
        }
        if let Some(d) = self.done.get_mut(shard) {
            *d = (*d).max(done);
        }
    }

    fn release<E>(
        &mut self,
        sink: &mut impl FnMut(&mut Vec<Event>) -> Result<(), E>,
    ) -> Result<(), E> {
        let upto = self.done.iter().copied().min().unwrap_or(0);
        self.buf.clear();
        while let Some(std::cmp::Reverse((frame, _, _, seq))) = self.heap.peek().copied() {
            // A shard's later events carry frames at or above what it reported done (ticks and
            // end-of-input drains reuse the last frame), so only frames below every shard's mark
            // are final, until every shard has finished.
            if frame >= upto && upto != u64::MAX {
                break;
            }
            self.heap.pop();
            if let Some(ev) = self.store.remove(&seq) {
                self.buf.push(ev);
            }
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        sink(&mut self.buf)
    }

    fn release_all<E>(
        &mut self,
        sink: &mut impl FnMut(&mut Vec<Event>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.done.iter_mut().for_each(|d| *d = u64::MAX);
        self.release(sink)
    }
}

fn merge_stats(into: &mut Stats, s: &Stats) {
    into.packets += s.packets;
    into.after_close += s.after_close;
    into.bytes += s.bytes;
    into.non_ip += s.non_ip;
    into.truncated += s.truncated;
    into.fragments += s.fragments;
    into.reassembled += s.reassembled;
    into.flows += s.flows;
    into.evicted += s.evicted;
    into.peak_flows += s.peak_flows;
    for (name, c) in &s.weirds {
        match into.weirds.iter_mut().find(|(n, _)| n == name) {
            Some((_, t)) => *t += c,
            None => into.weirds.push((name, *c)),
        }
    }
    for (lt, c) in &s.unknown_linktypes {
        match into.unknown_linktypes.iter_mut().find(|(l, _)| l == lt) {
            Some((_, t)) => *t += c,
            None => into.unknown_linktypes.push((*lt, *c)),
        }
    }
}
