//! The sans-IO engine: packets in, events out.
//!
//! ```text
//! Packet -> decode_frame -> (defrag) -> parse_transport -> FlowTable -> TcpConn / UDP / ICMP -> Event
//! ```
//!
//! The caller owns the event buffer: [`Engine::process`] appends to it, [`Engine::advance`] fires
//! timers up to a time (live capture ticks), [`Engine::finish`] drains every pending flow (for us
//! "nothing came back" is an event). All timers run on packet timestamps.

use crate::decode::defrag::{DefragConfig, DefragOutcome, Defragmenter, FragKey, Fragment};
use crate::decode::{self, tcp_flags, DecodeError, Decoded, IcmpMessage, IpInfo, Transport};
use crate::event::{ConnRecord, DirStats, EndReason, Event, EventKind, IcmpNote, RstFacts};
use crate::flow::tombs::{Tomb, Tombstones};
use crate::flow::{Dir, Endpoint, FlowKey, FlowTable, FlowTableConfig, Proto, Slot, Uid};
use crate::source::{LinkType, Packet};
use crate::tcp::TcpConn;
use crate::time::{Duration, Timestamp};
use core::net::IpAddr;

/// Limits and timeouts of an [`Engine`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Most flows tracked at once; past it the least recently seen is evicted (its record emitted).
    pub max_flows: usize,
    /// Idle timeout of open TCP connections (Zeek `tcp_inactivity_timeout`, 5 min).
    pub tcp_timeout: Duration,
    /// How long a TCP connection closed by FIN/RST is kept for late packets (120 s, 2 x MSL, Windows' TIME_WAIT;
    /// Zeek's 5 s `tcp_close_delay` splits FIN retransmissions at backoff into new connections).
    pub tcp_close_linger: Duration,
    /// Idle timeout of UDP flows (Zeek `udp_inactivity_timeout`, 1 min).
    pub udp_timeout: Duration,
    /// Idle timeout of ICMP and other flows (Zeek `icmp_inactivity_timeout`, 1 min).
    pub other_timeout: Duration,
    /// IP fragment reassembly limits.
    pub defrag: DefragConfig,
    /// Weird events of one name emitted in full before sampling (then every 1000th).
    pub weird_burst: u64,
    /// Bytes of each TCP direction reassembled and handed to the [`StreamHandler`] (0: none).
    pub stream_depth: u32,
    /// Emit the per-packet flow events ([`EventKind::FlowStart`], `TcpSyn`, `TcpSynAck`,
    /// `TcpEstablished`, `TcpRst`, `TcpAfterRst`, `TcpFin`). Off when only records are wanted
    /// (`ConnEnd`, ICMP errors, weirds and the stream handler's events still come), as in Zeek,
    /// which raises no event without a handler: about seven fewer events a connection.
    pub flow_events: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_flows: 200_000,
            tcp_timeout: Duration::from_secs(300),
            tcp_close_linger: Duration::from_secs(120),
            udp_timeout: Duration::from_secs(60),
            other_timeout: Duration::from_secs(60),
            defrag: DefragConfig::default(),
            weird_burst: 100,
            stream_depth: 0,
            flow_events: true,
        }
    }
}

/// Where reassembled TCP bytes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamCtx {
    /// The connection.
    pub uid: Uid,
    /// Which side sent the bytes.
    pub dir: Dir,
    /// Time of the packet that completed them.
    pub ts: Timestamp,
    /// Its 1-based frame number.
    pub frame: u64,
    /// The connection's originator.
    pub orig: Endpoint,
    /// The connection's responder.
    pub resp: Endpoint,
}

/// A UDP datagram as an application parser sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Connection and direction, time, frame.
    pub ctx: StreamCtx,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// IP facts of the packet (TTL, IP ID, DF): evidence for forged-answer detection.
    pub ip: IpInfo,
    /// Payload as captured.
    pub payload: &'a [u8],
}

/// What a [`StreamHandler`] keeps for one connection, stored in the engine's flow entry (so it
/// needs no table of its own and goes when the flow goes): `None` until the handler sets it.
pub type ConnState = Option<Box<dyn core::any::Any + Send>>;

/// The plug point for application parsers: receives the first [`EngineConfig::stream_depth`] bytes
/// of each TCP direction, in order, once each, as they become contiguous; every UDP datagram
/// (when `stream_depth` > 0); and the end of each connection.
pub trait StreamHandler {
    /// Newly in-order bytes at stream `offset`; `state` is this connection's [`ConnState`]. Return
    /// `false` when this direction needs no more.
    fn on_data(
        &mut self,
        ctx: StreamCtx,
        state: &mut ConnState,
        offset: u64,
        data: &[u8],
        out: &mut Vec<Event>,
    ) -> bool;
    /// A UDP datagram.
    fn on_datagram(&mut self, dgram: &Datagram<'_>, out: &mut Vec<Event>) {
        let _ = (dgram, out);
    }
    /// The connection ended; `rec` is its final record (emitted right after) and `state` what
    /// [`StreamHandler::on_data`] left in its [`ConnState`].
    fn on_end(&mut self, rec: &ConnRecord, state: ConnState, out: &mut Vec<Event>) {
        let _ = (rec, state, out);
    }
    /// Time moved to `now` (packet time): expire what waited too long.
    fn on_time(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        let _ = (now, out);
    }
    /// End of input: emit everything pending.
    fn on_finish(&mut self, out: &mut Vec<Event>) {
        let _ = out;
    }
}

const CLASS_TCP: u8 = 0;
const CLASS_TCP_CLOSED: u8 = 1;
const CLASS_UDP: u8 = 2;
const CLASS_OTHER: u8 = 3;

/// Counters over the whole input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets given to the engine.
    pub packets: u64,
    /// Captured bytes given to the engine.
    pub bytes: u64,
    /// Frames that carry something other than IP.
    pub non_ip: u64,
    /// Packets cut by the snaplen.
    pub truncated: u64,
    /// IP fragments seen.
    pub fragments: u64,
    /// Datagrams rebuilt from fragments.
    pub reassembled: u64,
    /// Connections created.
    pub flows: u64,
    /// Connections evicted because the table was full.
    pub evicted: u64,
    /// Peak number of flows tracked at once.
    pub peak_flows: u64,
    /// Late packets of TCP connections already reported as cleanly closed (absorbed).
    pub after_close: u64,
    /// Weirds by name (all of them, including those not emitted as events).
    pub weirds: Vec<(&'static str, u64)>,
    /// Frames of link types we cannot decode, by link type.
    pub unknown_linktypes: Vec<(LinkType, u64)>,
}

impl Stats {
    fn count_weird(&mut self, name: &'static str) -> u64 {
        match self.weirds.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => {
                *c += 1;
                *c
            }
            None => {
                self.weirds.push((name, 1));
                1
            }
        }
    }
}

#[allow(clippy::large_enum_variant)] // inline on purpose: one cache-line walk per packet, no pointer chase
enum L4 {
    Tcp(TcpConn),
    Udp,
    Other,
}

struct Flow {
    orig_is_lo: bool,
    proto: Proto,
    first_ts: Timestamp,
    first_frame: u64,
    last_frame: u64,
    stats: [DirCount; 2],
    icmp: Option<Box<IcmpNote>>,
    vlan: Option<u16>,
    l4: L4,
    /// The stream handler's state for this connection.
    app: ConnState,
}

impl Flow {
    /// The connection id, made from the frame that opened the flow (kept as that frame: the
    /// entry is 8 bytes shorter).
    #[inline]
    fn uid(&self) -> Uid {
        Uid::from_index(self.first_frame)
    }
}

/// The per-packet counters of one direction: [`DirStats`] without what TCP keeps itself
/// (retransmitted and out-of-order segments), filled in at the end.
#[derive(Clone, Copy, Default)]
struct DirCount {
    pkts: u64,
    ip_bytes: u64,
    bytes: u64,
    ttl: Option<u8>,
    ttl_min: u8,
    ttl_max: u8,
    truncated: u32,
}

impl DirCount {
    fn stats(&self) -> DirStats {
        DirStats {
            pkts: self.pkts,
            ip_bytes: self.ip_bytes,
            bytes: self.bytes,
            ttl: self.ttl,
            ttl_min: self.ttl_min,
            ttl_max: self.ttl_max,
            retransmissions: 0,
            out_of_order: 0,
            truncated: self.truncated,
        }
    }
}

/// The analysis engine. See the module docs.
pub struct Engine {
    cfg: EngineConfig,
    core: Core,
    defrag: Defragmenter,
    frame: u64,
    now: Timestamp,
    next_expiry: Timestamp,
    frag_reports: Vec<(FragKey, Timestamp, crate::decode::defrag::DefragWeird)>,
    /// Slots still to finish, last first (set by the first `finish_some`).
    finishing: Option<Vec<(u64, Slot)>>,
    /// Key hashes of the last prefetch hints (a ring), and how many hints were given.
    prefetch_ring: [u64; PREFETCH_RING],
    prefetch_next: usize,
}

/// Hints between a packet's bucket prefetch and its entry prefetch.
const PREFETCH_STAGES: usize = 6;

/// Hints between a packet's bucket prefetch and the prefetch of its list neighbours (third
/// stage, two packets before it is processed, once its entry is cached).
const NEIGHBOUR_STAGE: usize = 10;

/// Hashes kept for the later stages.
const PREFETCH_RING: usize = 16;

/// The flow-side state, split from the defragmenter so a reassembled datagram (borrowed from it)
/// can be dispatched.
struct Core {
    table: FlowTable<Flow>,
    tombs: Tombstones,
    stats: Stats,
    handler: Option<Box<dyn StreamHandler + Send>>,
    stream_depth: u64,
    weird_burst: u64,
    flow_events: bool,
}

/// Where a transport segment came from, for flow accounting.
struct PacketCtx<'a> {
    ts: Timestamp,
    ip: &'a IpInfo,
    total_len: u32,
    vlan: Option<u16>,
}

impl Engine {
    /// An engine with the given limits.
    pub fn new(cfg: EngineConfig) -> Self {
        let timeouts = vec![
            cfg.tcp_timeout,
            cfg.tcp_close_linger,
            cfg.udp_timeout,
            cfg.other_timeout,
        ];
        Engine {
            core: Core {
                table: FlowTable::new(FlowTableConfig {
                    max_flows: cfg.max_flows,
                    timeouts,
                }),
                tombs: Tombstones::new(cfg.max_flows, cfg.tcp_close_linger),
                stats: Stats::default(),
                handler: None,
                stream_depth: u64::from(cfg.stream_depth),
                flow_events: cfg.flow_events,
                weird_burst: cfg.weird_burst,
            },
            defrag: Defragmenter::new(cfg.defrag.clone()),
            cfg,
            frame: 0,
            now: Timestamp::MIN,
            next_expiry: Timestamp::MIN,
            frag_reports: Vec::new(),
            finishing: None,
            prefetch_ring: [0; PREFETCH_RING],
            prefetch_next: 0,
        }
    }

    /// An engine that hands reassembled TCP bytes to `handler` (see [`StreamHandler`]).
    pub fn with_stream_handler(cfg: EngineConfig, handler: Box<dyn StreamHandler + Send>) -> Self {
        let mut e = Engine::new(cfg);
        e.core.handler = Some(handler);
        e
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// Flows tracked right now.
    pub fn active_flows(&self) -> usize {
        self.core.table.len()
    }

    /// A hint that the packet `data` will be processed soon: its flow's entry starts loading into
    /// the cache (see [`FlowTable::prefetch_entry`]). Cheap, no effect on results; sources that can
    /// look ahead ([`crate::source::PacketSource::lookahead`]) call it a few packets early.
    pub fn prefetch(&mut self, linktype: LinkType, data: &[u8]) {
        if let Some(h) = Engine::flow_hint(linktype, data) {
            self.prefetch_hint(h);
        }
    }

    /// The hint [`Engine::prefetch_hint`] takes for a packet: the flow table's hash of its flow
    /// key, for TCP and UDP that is not fragmented (`None` otherwise). Pure, so a read-ahead
    /// thread computes it while the engine works on earlier packets
    /// ([`crate::source::CaptureReader::read_ahead_with_hints`]).
    pub fn flow_hint(linktype: LinkType, data: &[u8]) -> Option<u64> {
        if linktype == LinkType::ETHERNET {
            if let Some(key) = ethernet_key(data) {
                return Some(FlowTable::<Flow>::hash_of(&key));
            }
        }
        let Ok(Decoded::Ip { packet, .. }) = decode::decode_frame(linktype, data) else {
            return None;
        };
        if packet.fragment.is_some() {
            return None;
        }
        let proto = match packet.ip.protocol {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            _ => return None,
        };
        let p = packet.payload.get(..4)?;
        let src = Endpoint {
            addr: packet.ip.src,
            port: u16::from_be_bytes([p[0], p[1]]),
        };
        let dst = Endpoint {
            addr: packet.ip.dst,
            port: u16::from_be_bytes([p[2], p[3]]),
        };
        Some(FlowTable::<Flow>::hash_of(&FlowKey::new(src, dst, proto).0))
    }

    /// Like [`Engine::prefetch`] with the packet's [`Engine::flow_hint`]. In three stages: this
    /// packet's index bucket now; the entry of the packet six hints earlier, whose bucket has
    /// arrived by now; and for the packet ten hints earlier, whose entry has arrived, the links of
    /// its list neighbours when that packet will move it to the front of its list. A wrong hint
    /// costs a wasted prefetch, nothing else.
    pub fn prefetch_hint(&mut self, hash: u64) {
        let n = self.prefetch_next;
        self.core.table.prefetch_bucket(hash);
        if n >= PREFETCH_STAGES {
            if let Some(h) = self
                .prefetch_ring
                .get((n - PREFETCH_STAGES) % PREFETCH_RING)
            {
                self.core.table.prefetch_entry(*h);
            }
        }
        if n >= NEIGHBOUR_STAGE {
            if let Some(h) = self
                .prefetch_ring
                .get((n - NEIGHBOUR_STAGE) % PREFETCH_RING)
            {
                self.core.table.prefetch_neighbours(*h, self.now);
            }
        }
        if let Some(slot) = self.prefetch_ring.get_mut(n % PREFETCH_RING) {
            *slot = hash;
        }
        self.prefetch_next = n + 1;
    }

    /// Analyzes one packet, appending what it caused to `out`.
    pub fn process(&mut self, pkt: &Packet<'_>, out: &mut Vec<Event>) {
        self.process_frame(self.frame + 1, pkt, out);
    }

    /// Like [`Engine::process`] with the packet's 1-based frame number given by the caller (when
    /// several engines share one input, each sees only some of its frames).
    pub fn process_frame(&mut self, frame: u64, pkt: &Packet<'_>, out: &mut Vec<Event>) {
        self.frame = frame;
        self.core.stats.packets += 1;
        self.core.stats.bytes += pkt.data.len() as u64;
        let ts = pkt.ts;
        self.advance(ts, out);
        if (pkt.data.len() as u64) < u64::from(pkt.orig_len) {
            self.core.stats.truncated += 1;
        }
        let (link, packet) = match decode::decode_frame(pkt.linktype, pkt.data) {
            Ok(Decoded::Ip { link, packet, .. }) => (link, packet),
            Ok(Decoded::NonIp { .. }) => {
                self.core.stats.non_ip += 1;
                return;
            }
            Err(e) => {
                if let DecodeError::UnknownLinkType(_) = e {
                    match self
                        .core
                        .stats
                        .unknown_linktypes
                        .iter_mut()
                        .find(|(l, _)| *l == pkt.linktype)
                    {
                        Some((_, c)) => *c += 1,
                        None => self.core.stats.unknown_linktypes.push((pkt.linktype, 1)),
                    }
                }
                self.weird(ts, None, e.name(), out);
                return;
            }
        };
        let ip = packet.ip;
        let ctx = PacketCtx {
            ts,
            ip: &ip,
            total_len: packet.total_len,
            vlan: link.vlan,
        };
        if let Some(frag) = packet.fragment {
            self.core.stats.fragments += 1;
            let fragment = Fragment {
                key: FragKey {
                    src: ip.src,
                    dst: ip.dst,
                    protocol: ip.protocol,
                    id: frag.id,
                },
                offset: frag.offset,
                more_fragments: frag.more,
                data: packet.payload,
                truncated: ip.truncated,
            };
            let frame = self.frame;
            let burst = self.cfg.weird_burst;
            match self.defrag.push(ts, &fragment) {
                DefragOutcome::Pending => {}
                DefragOutcome::Failed(w) => {
                    emit_weird(&mut self.core.stats, burst, ts, frame, None, w.name(), out)
                }
                DefragOutcome::Complete { payload, .. } => {
                    self.core.stats.reassembled += 1;
                    // Split borrows: the payload lives in `self.defrag`, the rest is separate.
                    let len = payload.len() as u32;
                    match decode::parse_transport(ip.protocol, payload, len) {
                        Ok(t) => self.core.dispatch(frame, &ctx, t, out),
                        Err(e) => {
                            emit_weird(&mut self.core.stats, burst, ts, frame, None, e.name(), out)
                        }
                    }
                }
            }
            self.defrag.take_evicted(&mut self.frag_reports);
            self.drain_frag_reports(ts, out);
            return;
        }
        match decode::parse_transport(ip.protocol, packet.payload, packet.payload_len) {
            Ok(t) => self.core.dispatch(self.frame, &ctx, t, out),
            Err(e) => self.weird(ts, None, e.name(), out),
        }
    }

    /// Moves time forward to `now`, expiring idle flows and fragments. Called by `process` with each
    /// packet's time; call it with ticks when no packets arrive (live capture).
    pub fn advance(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        if now > self.now {
            self.now = now;
        }
        if self.now < self.next_expiry {
            return;
        }
        self.sweep(out);
    }

    /// Expires what is idle at `self.now`: flows, the handler's pending state, tombstones and
    /// fragments. `advance` runs it at most once a second of packet time; `finish_some` once more
    /// at the end, so what was idle before the input ended is reported as idle whenever the last
    /// periodic sweep happened to run (and so whatever the number of shards).
    fn sweep(&mut self, out: &mut Vec<Event>) {
        self.next_expiry = self.now.add(Duration::from_secs(1));
        let frame = self.frame;
        let at = self.now;
        // Each expired flow goes straight to its record (no list of 700-byte flows in between).
        let Core { table, handler, .. } = &mut self.core;
        table.expire(at, |key, flow, last| {
            let reason = match &flow.l4 {
                L4::Tcp(c) if c.is_finished() => EndReason::Closed,
                _ => EndReason::Idle,
            };
            end_of(handler, (key, flow, last), at, frame, reason, out);
        });
        if let Some(h) = self.core.handler.as_deref_mut() {
            let n = out.len();
            h.on_time(at, out);
            restamp(out, n, frame);
        }
        self.core.tombs.expire(at);
        self.defrag.expire(at, &mut self.frag_reports);
        self.drain_frag_reports(at, out);
    }

    /// Moves time forward to `now` as seen at global frame `frame` (events it causes carry that
    /// frame). For runners that feed several engines parts of one input.
    pub fn advance_at(&mut self, now: Timestamp, frame: u64, out: &mut Vec<Event>) {
        self.frame = self.frame.max(frame);
        self.advance(now, out);
    }

    /// End of input: every flow still tracked gets its final record, pending fragments are reported.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        while self.finish_some(usize::MAX, out) {}
    }

    /// Like [`Engine::finish`], emitting at most `max` final records a call, so a caller can hand
    /// them on before the next batch (memory stays flat at the end of a large capture). Returns
    /// true while records remain; the first call after the last packet fixes the order (by first
    /// packet), later calls continue it.
    pub fn finish_some(&mut self, max: usize, out: &mut Vec<Event>) -> bool {
        let frame = self.frame;
        let at = self.now;
        if self.finishing.is_none() {
            self.sweep(out);
            let mut order: Vec<(u64, Slot)> = self
                .core
                .table
                .slots()
                .filter_map(|s| Some((self.core.table.peek(s)?.first_frame, s)))
                .collect();
            // Deterministic order: by first packet (a packet opens at most one connection).
            order.sort_unstable();
            order.reverse();
            self.finishing = Some(order);
        }
        let mut emitted = 0;
        while emitted < max {
            let Some((_, slot)) = self.finishing.as_mut().and_then(|o| o.pop()) else {
                break;
            };
            // The order is by first frame, not by slot: prefetch a few removals ahead.
            if let Some(&(_, ahead)) = self
                .finishing
                .as_ref()
                .and_then(|o| o.len().checked_sub(8).and_then(|i| o.get(i)))
            {
                self.core.table.prefetch_slot(ahead);
            }
            if let Some((key, flow, last)) = self.core.table.remove(slot) {
                end_of(
                    &mut self.core.handler,
                    (key, flow, last),
                    at,
                    frame,
                    EndReason::EndOfInput,
                    out,
                );
                emitted += 1;
            }
        }
        if self.finishing.as_ref().is_some_and(|o| !o.is_empty()) {
            return true;
        }
        if let Some(h) = self.core.handler.as_deref_mut() {
            let n = out.len();
            h.on_finish(out);
            restamp(out, n, frame);
        }
        self.defrag.drain(&mut self.frag_reports);
        self.drain_frag_reports(at, out);
        false
    }

    fn drain_frag_reports(&mut self, ts: Timestamp, out: &mut Vec<Event>) {
        if self.frag_reports.is_empty() {
            return;
        }
        let reports = std::mem::take(&mut self.frag_reports);
        for (_, _, w) in &reports {
            self.weird(ts, None, w.name(), out);
        }
        self.frag_reports = reports;
        self.frag_reports.clear();
    }

    fn weird(&mut self, ts: Timestamp, uid: Option<Uid>, name: &'static str, out: &mut Vec<Event>) {
        emit_weird(
            &mut self.core.stats,
            self.cfg.weird_burst,
            ts,
            self.frame,
            uid,
            name,
            out,
        );
    }
}

impl Core {
    fn dispatch(
        &mut self,
        frame: u64,
        ctx: &PacketCtx<'_>,
        t: Transport<'_>,
        out: &mut Vec<Event>,
    ) {
        let Core {
            table,
            tombs,
            stats,
            handler,
            stream_depth,
            weird_burst,
            flow_events,
        } = self;
        let (stream_depth, weird_burst) = (*stream_depth, *weird_burst);
        let ip = ctx.ip;
        let (proto, sport, dport) = match &t {
            Transport::Tcp(s) => (Proto::Tcp, s.src_port, s.dst_port),
            Transport::Udp(d) => (Proto::Udp, d.src_port, d.dst_port),
            Transport::Icmp(m) => {
                if m.is_error() {
                    if let Some(slot) = icmp_target(table, m) {
                        let uid = note_icmp(table, slot, ctx, *m);
                        if let Some(uid) = uid {
                            out.push(Event {
                                ts: ctx.ts,
                                frame,
                                uid: Some(uid),
                                dir: Dir::Resp,
                                kind: EventKind::IcmpError {
                                    from: ip.src,
                                    msg: *m,
                                },
                            });
                            return;
                        }
                    }
                }
                // Zeek's convention: ports carry type and code; echoes pair by identifier.
                let (a, b) = if m.is_echo() {
                    (m.echo_id, m.echo_id)
                } else {
                    (u16::from(m.icmp_type), u16::from(m.code))
                };
                (Proto::Icmp, a, b)
            }
            Transport::Other(p) => (Proto::Other(*p), 0, 0),
        };
        let src = Endpoint {
            addr: ip.src,
            port: sport,
        };
        let dst = Endpoint {
            addr: ip.dst,
            port: dport,
        };
        let (key, src_is_lo) = FlowKey::new(src, dst, proto);

        let mut slot = table.get(&key);
        // Idle past its timeout but not swept yet (sweeps run once a second and find an idle
        // flow up to a relink granularity late): this packet starts a new flow, as it would
        // have after the sweep.
        if let Some(s) = slot.filter(|&s| table.is_idle(s, ctx.ts)) {
            if let Some((k, old, last)) = table.remove(s) {
                let reason = match &old.l4 {
                    L4::Tcp(c) if c.is_finished() => EndReason::Closed,
                    _ => EndReason::Idle,
                };
                end_of(handler, (k, old, last), ctx.ts, frame, reason, out);
            }
            slot = None;
        }
        if let (None, Transport::Tcp(seg), false) = (slot, &t, tombs.is_empty()) {
            if let Some(tomb) = tombs.get(&key) {
                // Reported already: a late packet is absorbed; a SYN with a new ISN reuses the port.
                let pure_syn = seg.flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST)
                    == tcp_flags::SYN;
                let isn = tomb.isn[tomb.dir(src_is_lo).index()];
                if pure_syn && isn != Some(seg.seq) {
                    tombs.remove(&key);
                } else {
                    stats.after_close += 1;
                    return;
                }
            }
        }
        // A new SYN on a finished connection with a new ISN starts a new connection (port reuse).
        if let (Some(s), Transport::Tcp(seg)) = (slot, &t) {
            if seg.flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST) == tcp_flags::SYN {
                if let Some(f) = table.value_mut(s) {
                    if let L4::Tcp(c) = &f.l4 {
                        let dir = if src_is_lo == f.orig_is_lo {
                            Dir::Orig
                        } else {
                            Dir::Resp
                        };
                        if c.is_closing() && c.ep[dir.index()].isn != Some(seg.seq) {
                            if let Some(removed) = table.remove(s) {
                                end_of(handler, removed, ctx.ts, frame, EndReason::Reused, out);
                            }
                            slot = None;
                        }
                    }
                }
            }
        }

        let slot = match slot {
            Some(s) => s,
            None => {
                // Orientation: a SYN-ACK seen first means the receiver is the originator.
                let flipped = matches!(&t, Transport::Tcp(s)
                    if s.flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST) == tcp_flags::SYN | tcp_flags::ACK);
                let orig_is_lo = src_is_lo != flipped;
                // From the frame that opened it: unique (a packet opens at most one connection)
                // and independent of how packets are sharded across engines.
                let uid = Uid::from_index(frame);
                stats.flows += 1;
                let (orig, resp) = if flipped { (dst, src) } else { (src, dst) };
                let l4 = match proto {
                    Proto::Tcp => L4::Tcp(TcpConn::new(flipped)),
                    Proto::Udp => L4::Udp,
                    _ => L4::Other,
                };
                let class = match proto {
                    Proto::Tcp => CLASS_TCP,
                    Proto::Udp => CLASS_UDP,
                    _ => CLASS_OTHER,
                };
                let flow = Flow {
                    orig_is_lo,
                    proto,
                    first_ts: ctx.ts,
                    first_frame: frame,
                    last_frame: frame,
                    stats: [DirCount::default(); 2],
                    icmp: None,
                    vlan: ctx.vlan,
                    l4,
                    app: None,
                };
                let (slot, evicted) = table.insert(key, flow, ctx.ts, class);
                if let Some(removed) = evicted {
                    stats.evicted += 1;
                    end_of(handler, removed, ctx.ts, frame, EndReason::Evicted, out);
                }
                stats.peak_flows = stats.peak_flows.max(table.len() as u64);
                if *flow_events {
                    out.push(Event {
                        ts: ctx.ts,
                        frame,
                        uid: Some(uid),
                        dir: Dir::Orig,
                        kind: EventKind::FlowStart { orig, resp, proto },
                    });
                }
                slot
            }
        };
        table.touch(slot, ctx.ts);
        let Some(flow) = table.value_mut(slot) else {
            return;
        };
        let dir = if src_is_lo == flow.orig_is_lo {
            Dir::Orig
        } else {
            Dir::Resp
        };
        flow.last_frame = frame;
        let uid = flow.uid();
        let st = &mut flow.stats[dir.index()];
        st.pkts += 1;
        st.ip_bytes += u64::from(ctx.total_len);
        if ip.truncated {
            st.truncated += 1;
        }
        match st.ttl {
            None => {
                st.ttl = Some(ip.ttl);
                st.ttl_min = ip.ttl;
                st.ttl_max = ip.ttl;
            }
            Some(_) => {
                st.ttl_min = st.ttl_min.min(ip.ttl);
                st.ttl_max = st.ttl_max.max(ip.ttl);
            }
        }
        let (orig_ep, resp_ep) = if flow.orig_is_lo {
            (key.lo, key.hi)
        } else {
            (key.hi, key.lo)
        };
        let mut new_class = None;
        let mut closed_now = false;
        let app_state = &mut flow.app;
        match (&mut flow.l4, &t) {
            (L4::Tcp(conn), Transport::Tcp(seg)) => {
                let was_finished = conn.is_finished();
                let o = conn.on_segment(dir, ctx.ts, seg);
                let ev = |kind| Event {
                    ts: ctx.ts,
                    frame,
                    uid: Some(uid),
                    dir,
                    kind,
                };
                if let (Some(count), true) = (o.syn, *flow_events) {
                    out.push(ev(EventKind::TcpSyn { count }));
                }
                if let (Some(count), true) = (o.syn_ack, *flow_events) {
                    out.push(ev(EventKind::TcpSynAck { count }));
                }
                if o.established && *flow_events {
                    out.push(ev(EventKind::TcpEstablished { rtt: conn.rtt() }));
                }
                if o.rst && *flow_events {
                    out.push(ev(EventKind::TcpRst(RstFacts {
                        ttl: ip.ttl,
                        ip_id: ip.ip_id,
                        df: ip.df,
                        seq: seg.seq,
                        ack: seg.has(tcp_flags::ACK).then_some(seg.ack),
                        window: seg.window,
                        payload_len: seg.payload_len,
                        seq_gap: o.rst_seq_gap,
                        nth: o.rst_nth,
                    })));
                }
                if o.after_rst && *flow_events {
                    out.push(ev(EventKind::TcpAfterRst));
                }
                if o.fin && *flow_events {
                    out.push(ev(EventKind::TcpFin));
                }
                if let (Some(_), Some(h)) = (o.data, handler.as_deref_mut()) {
                    let r = &mut conn.streams[dir.index()];
                    if stream_depth > 0 && !r.is_done() {
                        let sctx = StreamCtx {
                            uid,
                            dir,
                            ts: ctx.ts,
                            frame,
                            orig: orig_ep,
                            resp: resp_ep,
                        };
                        let mut keep = true;
                        let d =
                            r.segment(o.data_offset, seg.payload, stream_depth, |off, bytes| {
                                if keep {
                                    let n = out.len();
                                    keep = h.on_data(sctx, app_state, off, bytes, out);
                                    restamp(out, n, frame);
                                }
                            });
                        if !keep {
                            r.stop();
                        }
                        if d.overlap_mismatch {
                            emit_weird(
                                stats,
                                weird_burst,
                                ctx.ts,
                                frame,
                                Some(uid),
                                "tcp_overlap_mismatch",
                                out,
                            );
                        }
                    }
                }
                if conn.is_finished() && !was_finished {
                    new_class = Some(CLASS_TCP_CLOSED);
                }
                closed_now = conn.closed_and_acked();
            }
            (L4::Udp, Transport::Udp(d)) => {
                st.bytes += u64::from(d.payload_len);
                if let (Some(h), true) = (handler.as_deref_mut(), stream_depth > 0) {
                    let dgram = Datagram {
                        ctx: StreamCtx {
                            uid,
                            dir,
                            ts: ctx.ts,
                            frame,
                            orig: orig_ep,
                            resp: resp_ep,
                        },
                        src: Endpoint {
                            addr: ip.src,
                            port: d.src_port,
                        },
                        dst: Endpoint {
                            addr: ip.dst,
                            port: d.dst_port,
                        },
                        ip: *ip,
                        payload: d.payload,
                    };
                    let n = out.len();
                    h.on_datagram(&dgram, out);
                    restamp(out, n, frame);
                }
            }
            _ => {}
        }
        if closed_now {
            // Both FINs acknowledged: report now and keep only a tombstone (see `flow::tombs`).
            if let Some((k, old, last)) = table.remove(slot) {
                let isn = match &old.l4 {
                    L4::Tcp(c) => [c.ep[0].isn, c.ep[1].isn],
                    _ => [None, None],
                };
                tombs.insert(
                    k,
                    Tomb {
                        orig_is_lo: old.orig_is_lo,
                        isn,
                        closed: ctx.ts,
                    },
                );
                end_of(
                    handler,
                    (k, old, last),
                    ctx.ts,
                    frame,
                    EndReason::Closed,
                    out,
                );
            }
        } else if let Some(c) = new_class {
            table.set_class(slot, c);
        }
    }
}

/// The flow key of an untagged Ethernet frame carrying unfragmented IPv4 or IPv6 (no extension
/// headers) with TCP or UDP, read at fixed offsets; `None` for anything else (the caller falls
/// back to the full decoder). Only a prefetch hint uses it, so a wrong key costs nothing but time.
fn ethernet_key(d: &[u8]) -> Option<FlowKey> {
    let be16 = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*d.get(i)?, *d.get(i + 1)?])) };
    let (src, dst, proto, l4) = match be16(12)? {
        0x0800 => {
            let ihl = usize::from(d.get(14)? & 0x0f) * 4;
            let frag = be16(14 + 6)? & 0x3fff;
            if *d.get(14)? >> 4 != 4 || ihl < 20 || frag != 0 {
                return None;
            }
            let a: [u8; 4] = d.get(26..30)?.try_into().ok()?;
            let b: [u8; 4] = d.get(30..34)?.try_into().ok()?;
            (IpAddr::from(a), IpAddr::from(b), *d.get(14 + 9)?, 14 + ihl)
        }
        0x86dd => {
            let a: [u8; 16] = d.get(22..38)?.try_into().ok()?;
            let b: [u8; 16] = d.get(38..54)?.try_into().ok()?;
            (IpAddr::from(a), IpAddr::from(b), *d.get(14 + 6)?, 54)
        }
        _ => return None,
    };
    let proto = match proto {
        6 => Proto::Tcp,
        17 => Proto::Udp,
        _ => return None,
    };
    let (sp, dp) = (be16(l4)?, be16(l4 + 2)?);
    Some(
        FlowKey::new(
            Endpoint {
                addr: src,
                port: sp,
            },
            Endpoint {
                addr: dst,
                port: dp,
            },
            proto,
        )
        .0,
    )
}

/// The flow an ICMP error quotes, if we track it.
fn icmp_target(table: &FlowTable<Flow>, m: &IcmpMessage) -> Option<Slot> {
    let q = m.quoted?;
    let proto = match q.protocol {
        decode::ip::PROTO_TCP => Proto::Tcp,
        decode::ip::PROTO_UDP => Proto::Udp,
        _ => return None,
    };
    let (key, _) = FlowKey::new(
        Endpoint {
            addr: q.src,
            port: q.src_port,
        },
        Endpoint {
            addr: q.dst,
            port: q.dst_port,
        },
        proto,
    );
    table.get(&key)
}

/// Notes an ICMP error on the flow it quotes. The error is not the flow's own traffic: it does
/// not move the flow's last-seen time (its duration), nor keep it from expiring.
fn note_icmp(
    table: &mut FlowTable<Flow>,
    slot: Slot,
    ctx: &PacketCtx<'_>,
    msg: IcmpMessage,
) -> Option<Uid> {
    let flow = table.value_mut(slot)?;
    let count = flow.icmp.as_ref().map_or(0, |n| n.count) + 1;
    flow.icmp = Some(Box::new(IcmpNote {
        ts: ctx.ts,
        from: ctx.ip.src,
        msg,
        count,
    }));
    Some(flow.uid())
}

/// Tells the stream handler, then emits the final record.
fn end_of(
    handler: &mut Option<Box<dyn StreamHandler + Send>>,
    (key, mut flow, last_ts): (FlowKey, Flow, Timestamp),
    at: Timestamp,
    frame: u64,
    end: EndReason,
    out: &mut Vec<Event>,
) {
    let state = flow.app.take();
    let ev = end_event(key, flow, last_ts, at, frame, end);
    if let (Some(h), EventKind::ConnEnd(rec)) = (handler.as_deref_mut(), &ev.kind) {
        let n = out.len();
        h.on_end(rec, state, out);
        restamp(out, n, frame);
    }
    out.push(ev);
}

/// Handler events carry the frame at which they were emitted (their records keep their own
/// times): runners order output by it.
fn restamp(out: &mut [Event], from: usize, frame: u64) {
    for e in out.iter_mut().skip(from) {
        e.frame = frame;
    }
}

fn end_event(
    key: FlowKey,
    mut flow: Flow,
    last_ts: Timestamp,
    at: Timestamp,
    frame: u64,
    end: EndReason,
) -> Event {
    let (orig, resp) = if flow.orig_is_lo {
        (key.lo, key.hi)
    } else {
        (key.hi, key.lo)
    };
    let mut history = crate::flow::History::new();
    let mut conn_state = "OTH";
    let mut syn_count = 0;
    let mut synack_count = 0;
    let mut rtt = None;
    let mut missed = 0;
    let mut stats = [flow.stats[0].stats(), flow.stats[1].stats()];
    match &mut flow.l4 {
        L4::Tcp(c) => {
            c.close();
            for (st, ep) in stats.iter_mut().zip(c.ep.iter()) {
                st.bytes = ep.seq.max_end().max(0) as u64;
                st.retransmissions = ep.retransmissions;
                st.out_of_order = ep.out_of_order;
                missed += ep.seq.missed;
            }
            conn_state = c.conn_state(stats[0].bytes, stats[1].bytes);
            history = *c.history();
            syn_count = c.ep[0].syns;
            synack_count = c.ep[1].syns;
            rtt = c.rtt();
        }
        L4::Udp => {
            let (o, r) = (flow.stats[0].pkts > 0, flow.stats[1].pkts > 0);
            conn_state = match (o, r) {
                (true, true) => "SF",
                (true, false) => "S0",
                (false, true) => "SHR",
                (false, false) => "OTH",
            };
            if o {
                history.push(b'D');
            }
            if r {
                history.push(b'd');
            }
        }
        L4::Other => {}
    }
    let uid = flow.uid();
    let [orig_stats, resp_stats] = stats;
    let rec = ConnRecord {
        uid,
        ts: flow.first_ts,
        last_ts,
        proto: flow.proto,
        orig,
        resp,
        conn_state,
        history,
        orig_stats,
        resp_stats,
        missed_bytes: missed,
        syn_count,
        synack_count,
        rtt,
        icmp: flow.icmp.map(|b| *b),
        vlan: flow.vlan,
        first_frame: flow.first_frame,
        last_frame: flow.last_frame,
        end,
    };
    Event {
        ts: at,
        frame,
        uid: Some(uid),
        dir: Dir::Orig,
        kind: EventKind::ConnEnd(Box::new(rec)),
    }
}

/// Counts a weird and emits it unless sampled away (first `burst` of a name, then every 1000th).
fn emit_weird(
    stats: &mut Stats,
    burst: u64,
    ts: Timestamp,
    frame: u64,
    uid: Option<Uid>,
    name: &'static str,
    out: &mut Vec<Event>,
) {
    let n = stats.count_weird(name);
    if n <= burst || n % 1000 == 0 {
        out.push(Event {
            ts,
            frame,
            uid,
            dir: Dir::Orig,
            kind: EventKind::Weird { name },
        });
    }
}

#[cfg(test)]
mod layout {
    /// A packet prefetches its whole flow entry, so every byte of it costs: 696 -> 512 bytes
    /// (11.9 -> 8 lines a packet) measured 8 % faster on the 1 GiB bench. Keep it at 8 lines.
    #[test]
    fn flow_entry_is_eight_cache_lines() {
        let size = crate::flow::table::entry_size::<super::Flow>();
        assert!(
            size <= 512,
            "flow table entry grew to {size} bytes (> 8 cache lines)"
        );
        assert_eq!(crate::flow::table::entry_align::<super::Flow>(), 64);
    }
}
