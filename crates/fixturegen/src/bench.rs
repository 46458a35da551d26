//! The benchmark capture: a large, realistic pcap written as fast as the
//! disk takes it.
//!
//! Speed comes from three things. Packets are assembled in place in a 4 MiB
//! chunk buffer (one 70-byte header array patched per packet, then the
//! payload copied in). Checksums never touch the payload: the 16 bulk-data
//! blocks and the per-flow first payloads have their ones'-complement sums
//! precomputed, and a packet's TCP checksum is pseudo-header + header +
//! block sum. Full chunks go to a writer thread through a bounded channel, so
//! generation overlaps the `write(2)` calls (a double-buffered `BufWriter`).
//!
//! Deterministic for a given `--bytes`, `--flows` and `--seed`.

use crate::link::{MAC_GATEWAY, MAC_HOST};
use crate::payload::{self, QTYPE_A, QTYPE_AAAA};
use crate::rng::XorShift64;
use crate::scene::T0;
use crate::wire::{self, flags};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHUNK: usize = 4 << 20;
const SEG: usize = 1448;
const BLOCKS: usize = 16;
const DNS_SERVER: u32 = 0xC000_0235; // 192.0.2.53
const SNAPLEN: u32 = 262_144;
/// Bytes of a TLS client's first application-data record (a TLS 1.3 Finished and an HTTP/2
/// request, both encrypted).
const CLIENT_APP_LEN: usize = 120;

#[derive(Clone, Debug)]
pub struct BenchOpts {
    /// Stop at the first record boundary at or past this many bytes.
    pub bytes: u64,
    /// TCP flows active at once.
    pub flows: usize,
    pub seed: u64,
    /// Link rate the timestamps follow, in Mbit/s (each packet's gap is its size at this rate,
    /// jittered). At the default a 1 GiB capture spans about 7 minutes, longer than every idle
    /// timeout of the analyzer, so its flow table reaches the steady state of the traffic mix.
    pub mbps: u64,
}

/// Default of [`BenchOpts::mbps`].
pub const DEFAULT_MBPS: u64 = 20;

#[derive(Clone, Debug, Default)]
pub struct BenchStats {
    pub bytes: u64,
    pub packets: u64,
    pub flows: u64,
    pub dns_queries: u64,
    pub retransmissions: u64,
    pub elapsed: Duration,
}

impl BenchStats {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Parses `1073741824`, `512M`, `1G`, `4GiB`, `100k` (powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let t = lower.trim_end_matches("ib").trim_end_matches('b');
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1u64 << 10),
        'm' => (&t[..t.len() - 1], 1 << 20),
        'g' => (&t[..t.len() - 1], 1 << 30),
        't' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult);
    }
    let f: f64 = num.parse().ok()?;
    (f >= 0.0).then_some((f * mult as f64) as u64)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Normal,
    SynOnly,
    Refused,
    ServerReset,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Syn,
    Refuse,
    SynAck,
    Ack,
    ClientFirst,
    ServerFirst,
    Data,
    ClientAck,
    ClientFin,
    ServerFin,
    LastAck,
    ServerRst,
    Done,
}

#[derive(Clone, Debug)]
struct Flow {
    n: u64,
    kind: Kind,
    phase: Phase,
    cip: u32,
    sip: u32,
    cport: u16,
    sport: u16,
    c_isn: u32,
    cseq: u32,
    sseq: u32,
    cid: u16,
    sid: u16,
    segs_total: u32,
    segs_sent: u32,
    since_ack: u32,
    reset_after: u32,
    /// A data segment to send again next step: (seq, block).
    retx: Option<(u32, u8)>,
    /// TLS: the client has sent its first application-data record (its Finished and request).
    client_app: bool,
}

/// A packet due later: a DNS response or a SYN retransmission.
#[derive(Clone, Debug)]
struct Timer {
    due: u64,
    cip: u32,
    sip: u32,
    cport: u16,
    sport: u16,
    seq: u32,
    id: u16,
    /// DNS: name number; SYN: retransmissions left after this one.
    extra: u32,
    aaaa: bool,
}

struct Gen<W: Write + Send + 'static> {
    rng: XorShift64,
    now: u64,
    buf: Vec<u8>,
    total: u64,
    target: u64,
    mbps: u64,
    stats: BenchStats,
    blocks: Vec<Vec<u8>>,
    block_sums: Vec<u64>,
    /// The same for TLS flows: each block one application-data record filling a segment.
    tls_blocks: Vec<Vec<u8>>,
    tls_block_sums: Vec<u64>,
    /// The client's first application-data record (TLS 1.3: its Finished and first request).
    tls_client: (Vec<u8>, u64),
    tls_first: Vec<(Vec<u8>, u64)>,
    flows: Vec<Flow>,
    next_flow: u64,
    dns_due: VecDeque<Timer>,
    syn_due: VecDeque<Timer>,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    back: mpsc::Receiver<Vec<u8>>,
    writer: Option<std::thread::JoinHandle<io::Result<W>>>,
}

/// Writes the benchmark capture to `out`.
pub fn run<W: Write + Send + 'static>(opts: &BenchOpts, out: W) -> io::Result<(BenchStats, W)> {
    let started = Instant::now();
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(2);
    let (back_tx, back) = mpsc::channel::<Vec<u8>>();
    let writer = std::thread::spawn(move || -> io::Result<W> {
        let mut out = out;
        for mut chunk in rx {
            out.write_all(&chunk)?;
            chunk.clear();
            let _ = back_tx.send(chunk);
        }
        out.flush()?;
        Ok(out)
    });
    let mut rng = XorShift64::new(opts.seed);
    let mut blocks = Vec::with_capacity(BLOCKS);
    let mut block_sums = Vec::with_capacity(BLOCKS);
    for _ in 0..BLOCKS {
        let mut b = vec![0u8; SEG];
        rng.fill(&mut b);
        block_sums.push(wire::sum(&b, 0));
        blocks.push(b);
    }
    let mut tls_blocks = Vec::with_capacity(BLOCKS);
    let mut tls_block_sums = Vec::with_capacity(BLOCKS);
    for _ in 0..BLOCKS {
        let b = payload::tls_app_data(SEG, &mut rng);
        tls_block_sums.push(wire::sum(&b, 0));
        tls_blocks.push(b);
    }
    let client_rec = payload::tls_app_data(CLIENT_APP_LEN, &mut rng);
    let tls_client = (client_rec.clone(), wire::sum(&client_rec, 0));
    let mut tls_first = Vec::with_capacity(BLOCKS);
    for i in 0..BLOCKS {
        let mut p = payload::server_hello(&mut rng, &[i as u8; 32]);
        let rest = SEG - p.len();
        p.extend(payload::tls_app_data(rest, &mut rng));
        let s = wire::sum(&p, 0);
        tls_first.push((p, s));
    }
    let mut g = Gen {
        rng,
        now: T0,
        buf: Vec::with_capacity(CHUNK + 65_536),
        total: 0,
        target: opts.bytes,
        mbps: opts.mbps.max(1),
        stats: BenchStats::default(),
        blocks,
        block_sums,
        tls_blocks,
        tls_block_sums,
        tls_client,
        tls_first,
        flows: Vec::with_capacity(opts.flows.max(1)),
        next_flow: 0,
        dns_due: VecDeque::new(),
        syn_due: VecDeque::new(),
        tx: Some(tx),
        back,
        writer: Some(writer),
    };
    let hdr = crate::capture::PcapFormat {
        snaplen: SNAPLEN,
        ..crate::capture::PcapFormat::micro(1)
    }
    .file_header();
    g.buf.extend_from_slice(&hdr);
    g.total = hdr.len() as u64;
    for _ in 0..opts.flows.max(1) {
        let f = g.new_flow();
        g.flows.push(f);
    }
    let res = g.main_loop();
    let out = g.finish(res)?;
    g.stats.bytes = g.total;
    g.stats.elapsed = started.elapsed();
    Ok((g.stats, out))
}

impl<W: Write + Send + 'static> Gen<W> {
    fn main_loop(&mut self) -> io::Result<()> {
        while self.total < self.target {
            // Exactly one packet per iteration, so we stop at the first
            // record boundary past the target.
            if self.dns_due.front().is_some_and(|t| t.due <= self.now) {
                let t = self.dns_due.pop_front().unwrap();
                self.dns_response(&t);
            } else if self.syn_due.front().is_some_and(|t| t.due <= self.now) {
                let t = self.syn_due.pop_front().unwrap();
                self.syn_retransmit(t);
            } else if self.rng.chance(25_000) {
                self.dns_query();
            } else {
                let i = self.rng.below(self.flows.len() as u32) as usize;
                self.step(i);
                if self.flows[i].phase == Phase::Done {
                    self.flows[i] = self.new_flow();
                }
            }
            if self.buf.len() >= CHUNK {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let next = self
            .back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK + 65_536));
        let full = std::mem::replace(&mut self.buf, next);
        if self.tx.as_ref().unwrap().send(full).is_err() {
            // The writer stopped: its error is reported by finish().
            return Err(io::Error::other("writer thread stopped"));
        }
        Ok(())
    }

    fn finish(&mut self, res: io::Result<()>) -> io::Result<W> {
        let sent = if res.is_ok() && !self.buf.is_empty() {
            self.flush()
        } else {
            Ok(())
        };
        drop(self.tx.take());
        let w = self
            .writer
            .take()
            .unwrap()
            .join()
            .map_err(|_| io::Error::other("writer thread panicked"))?;
        let w = w?;
        res?;
        sent?;
        Ok(w)
    }

    fn new_flow(&mut self) -> Flow {
        let r = &mut self.rng;
        let n = self.next_flow;
        self.next_flow += 1;
        self.stats.flows += 1;
        let roll = r.below(1000);
        let kind = match roll {
            0..=9 => Kind::SynOnly,
            10..=14 => Kind::Refused,
            15..=19 => Kind::ServerReset,
            _ => Kind::Normal,
        };
        let cip = (10 << 24) | (r.below(65_536) << 8) | (2 + r.below(253));
        let sip = if r.below(2) == 0 {
            0xC000_0200
        } else {
            0xC633_6400
        } | (1 + r.below(254));
        let sport = if r.below(10) == 0 { 80 } else { 443 };
        let c_isn = r.next_u32();
        let segs_total = ((-40.0 * r.unit().ln()).round() as u32).min(4000);
        let reset_after = 1 + r.below(5);
        Flow {
            n,
            kind,
            phase: Phase::Syn,
            cip,
            sip,
            cport: 32_768 + r.below(28_232) as u16,
            sport,
            c_isn,
            cseq: c_isn,
            sseq: r.next_u32(),
            cid: r.next_u32() as u16,
            sid: r.next_u32() as u16,
            segs_total,
            segs_sent: 0,
            since_ack: 0,
            reset_after,
            retx: None,
            client_app: false,
        }
    }

    /// Appends one Ethernet/IPv4/TCP record. `payload_sum` is
    /// `wire::sum(payload, 0)`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn put_tcp(
        &mut self,
        c2s: bool,
        f: &Flow,
        seq: u32,
        ack: u32,
        fl: u8,
        payload: &[u8],
        payload_sum: u64,
    ) {
        let (src, dst, sport, dport, id, ttl, win) = if c2s {
            (f.cip, f.sip, f.cport, f.sport, f.cid, 64u8, 64_240u16)
        } else {
            (f.sip, f.cip, f.sport, f.cport, f.sid, 52u8, 65_160u16)
        };
        let tcp_len = 20 + payload.len();
        let ip_len = 20 + tcp_len;
        let frame = 14 + ip_len;
        let wire_len = if !c2s && frame < 60 { 60 } else { frame };
        let mut h = [0u8; 70];
        self.record_header(&mut h, wire_len);
        self.eth_header(&mut h, c2s);
        ip_header(&mut h[30..50], ip_len, id, ttl, wire::PROTO_TCP, src, dst);
        let t = &mut h[50..70];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[12] = 0x50;
        t[13] = fl;
        t[14..16].copy_from_slice(&win.to_be_bytes());
        let pseudo = u64::from(src) + u64::from(dst) + u64::from(wire::PROTO_TCP) + tcp_len as u64;
        let c = wire::finish(wire::sum(t, pseudo + payload_sum));
        t[16..18].copy_from_slice(&c.to_be_bytes());
        self.buf.extend_from_slice(&h);
        self.buf.extend_from_slice(payload);
        if wire_len > frame {
            self.buf.resize(self.buf.len() + wire_len - frame, 0);
        }
        self.account(wire_len);
    }

    #[inline]
    fn record_header(&mut self, h: &mut [u8], wire_len: usize) {
        let sec = (self.now / 1_000_000_000) as u32;
        let usec = ((self.now % 1_000_000_000) / 1_000) as u32;
        h[0..4].copy_from_slice(&sec.to_le_bytes());
        h[4..8].copy_from_slice(&usec.to_le_bytes());
        h[8..12].copy_from_slice(&(wire_len as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(wire_len as u32).to_le_bytes());
    }

    #[inline]
    fn eth_header(&self, h: &mut [u8], c2s: bool) {
        let (s, d) = if c2s {
            (MAC_HOST, MAC_GATEWAY)
        } else {
            (MAC_GATEWAY, MAC_HOST)
        };
        h[16..22].copy_from_slice(&d);
        h[22..28].copy_from_slice(&s);
        h[28..30].copy_from_slice(&[0x08, 0x00]);
    }

    #[inline]
    fn account(&mut self, wire_len: usize) {
        self.total += 16 + wire_len as u64;
        self.stats.packets += 1;
        // The packet's time on the wire at `mbps` (ns = bits * 1000 / Mbit/s), times 0.5, 1 or 1.5.
        let ns = (16 + wire_len as u64) * 8_000 / self.mbps;
        self.now += ns * (1 + u64::from(self.rng.below(3))) / 2;
    }

    #[allow(clippy::too_many_arguments)]
    fn put_udp(
        &mut self,
        c2s: bool,
        src: u32,
        dst: u32,
        sport: u16,
        dport: u16,
        id: u16,
        payload: &[u8],
    ) {
        let (s, d) = (
            IpAddr::V4(Ipv4Addr::from(src)),
            IpAddr::V4(Ipv4Addr::from(dst)),
        );
        let l4 = wire::udp(s, d, sport, dport, payload);
        let ip_len = 20 + l4.len();
        let frame = 14 + ip_len;
        let wire_len = if !c2s && frame < 60 { 60 } else { frame };
        let mut h = [0u8; 50];
        self.record_header(&mut h, wire_len);
        self.eth_header(&mut h, c2s);
        ip_header(
            &mut h[30..50],
            ip_len,
            id,
            if c2s { 64 } else { 52 },
            wire::PROTO_UDP,
            src,
            dst,
        );
        self.buf.extend_from_slice(&h);
        self.buf.extend_from_slice(&l4);
        if wire_len > frame {
            self.buf.resize(self.buf.len() + wire_len - frame, 0);
        }
        self.account(wire_len);
    }

    fn dns_query(&mut self) {
        let r = &mut self.rng;
        let t = Timer {
            due: 0,
            cip: (10 << 24) | (r.below(65_536) << 8) | (2 + r.below(253)),
            sip: DNS_SERVER,
            cport: 32_768 + r.below(28_232) as u16,
            sport: 53,
            seq: 0,
            id: r.next_u32() as u16,
            extra: r.below(100_000),
            aaaa: r.below(5) == 0,
        };
        let name = format!("host{}.example", t.extra);
        let q = payload::dns_query(t.id, &name, if t.aaaa { QTYPE_AAAA } else { QTYPE_A }, None);
        let ipid = self.rng.next_u32() as u16;
        self.put_udp(true, t.cip, t.sip, t.cport, 53, ipid, &q);
        self.stats.dns_queries += 1;
        let due = self.now + 900_000 + u64::from(self.rng.below(200_000));
        self.dns_due.push_back(Timer { due, ..t });
    }

    fn dns_response(&mut self, t: &Timer) {
        let name = format!("host{}.example", t.extra);
        let answer = if t.aaaa {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                1,
                0,
                0,
                0,
                0,
                (t.extra % 65_535) as u16 + 1,
            ))
        } else {
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, (t.extra % 254) as u8 + 1))
        };
        let r = payload::dns_response(
            t.id,
            &name,
            if t.aaaa { QTYPE_AAAA } else { QTYPE_A },
            &[answer],
            300,
        );
        let ipid = self.rng.next_u32() as u16;
        self.put_udp(false, t.sip, t.cip, 53, t.cport, ipid, &r);
    }

    fn syn_retransmit(&mut self, t: Timer) {
        let f = Flow {
            n: 0,
            kind: Kind::SynOnly,
            phase: Phase::Done,
            cip: t.cip,
            sip: t.sip,
            cport: t.cport,
            sport: t.sport,
            c_isn: t.seq,
            cseq: t.seq,
            sseq: 0,
            cid: t.id,
            sid: 0,
            segs_total: 0,
            segs_sent: 0,
            since_ack: 0,
            reset_after: 0,
            retx: None,
            client_app: false,
        };
        self.put_tcp(true, &f, t.seq, 0, flags::SYN, &[], 0);
        self.stats.retransmissions += 1;
        if t.extra > 0 {
            // Linux backoff: second retransmission 2 s after the first.
            self.syn_due.push_back(Timer {
                due: self.now + 2_000_000_000,
                id: t.id.wrapping_add(1),
                extra: t.extra - 1,
                ..t
            });
        }
    }

    fn client_first(&mut self, f: &Flow) -> Vec<u8> {
        if f.sport == 443 {
            let sni = format!("host{}.example", f.n % 100_000);
            payload::client_hello(&sni, &mut self.rng)
        } else {
            payload::http_get_go(
                &format!("host{}.example", f.n % 100_000),
                &format!("/obj/{}", f.n),
            )
        }
    }

    /// Takes bulk block `b` (TLS records or raw bytes) and its sum; give it back with
    /// [`Self::put_block`].
    fn block(&mut self, tls: bool, b: usize) -> (Vec<u8>, u64) {
        if tls {
            (
                std::mem::take(&mut self.tls_blocks[b]),
                self.tls_block_sums[b],
            )
        } else {
            (std::mem::take(&mut self.blocks[b]), self.block_sums[b])
        }
    }

    fn put_block(&mut self, tls: bool, b: usize, blk: Vec<u8>) {
        if tls {
            self.tls_blocks[b] = blk;
        } else {
            self.blocks[b] = blk;
        }
    }

    /// Emits the next packet of flow `i`.
    fn step(&mut self, i: usize) {
        let mut f = self.flows[i].clone();
        let ack = flags::ACK;
        match f.phase {
            Phase::Syn => {
                self.put_tcp(true, &f, f.c_isn, 0, flags::SYN, &[], 0);
                f.cseq = f.c_isn.wrapping_add(1);
                f.cid = f.cid.wrapping_add(1);
                f.phase = match f.kind {
                    Kind::Refused => Phase::Refuse,
                    Kind::SynOnly => {
                        self.syn_due.push_back(Timer {
                            due: self.now + 1_000_000_000,
                            cip: f.cip,
                            sip: f.sip,
                            cport: f.cport,
                            sport: f.sport,
                            seq: f.c_isn,
                            id: f.cid,
                            extra: 1,
                            aaaa: false,
                        });
                        Phase::Done
                    }
                    _ => Phase::SynAck,
                };
            }
            Phase::Refuse => {
                self.put_tcp(false, &f, 0, f.cseq, flags::RST | ack, &[], 0);
                f.phase = Phase::Done;
            }
            Phase::SynAck => {
                self.put_tcp(false, &f, f.sseq, f.cseq, flags::SYN | ack, &[], 0);
                f.sseq = f.sseq.wrapping_add(1);
                f.sid = f.sid.wrapping_add(1);
                f.phase = Phase::Ack;
            }
            Phase::Ack => {
                self.put_tcp(true, &f, f.cseq, f.sseq, ack, &[], 0);
                f.cid = f.cid.wrapping_add(1);
                f.phase = Phase::ClientFirst;
            }
            Phase::ClientFirst => {
                let p = self.client_first(&f);
                let s = wire::sum(&p, 0);
                self.put_tcp(true, &f, f.cseq, f.sseq, flags::PSH | ack, &p, s);
                f.cseq = f.cseq.wrapping_add(p.len() as u32);
                f.cid = f.cid.wrapping_add(1);
                f.phase = Phase::ServerFirst;
            }
            Phase::ServerFirst => {
                if f.sport == 443 {
                    let k = (f.n as usize) % BLOCKS;
                    let (p, s) = std::mem::take(&mut self.tls_first[k]);
                    self.put_tcp(false, &f, f.sseq, f.cseq, flags::PSH | ack, &p, s);
                    f.sseq = f.sseq.wrapping_add(p.len() as u32);
                    self.tls_first[k] = (p, s);
                } else {
                    let p = payload::http_response_head(f.segs_total as usize * SEG).into_bytes();
                    let s = wire::sum(&p, 0);
                    self.put_tcp(false, &f, f.sseq, f.cseq, flags::PSH | ack, &p, s);
                    f.sseq = f.sseq.wrapping_add(p.len() as u32);
                }
                f.sid = f.sid.wrapping_add(1);
                f.phase = if f.segs_total > 0 {
                    Phase::Data
                } else {
                    Phase::ClientAck
                };
            }
            Phase::Data => {
                // TLS flows carry whole application-data records, others raw bytes.
                let tls = f.sport == 443;
                if let Some((seq, b)) = f.retx.take() {
                    let b = b as usize;
                    let (blk, s) = self.block(tls, b);
                    self.put_tcp(false, &f, seq, f.cseq, ack, &blk, s);
                    self.put_block(tls, b, blk);
                    self.stats.retransmissions += 1;
                } else {
                    let b = ((f.n + u64::from(f.segs_sent)) % BLOCKS as u64) as usize;
                    let last = f.segs_sent + 1 == f.segs_total;
                    let fl = if last { flags::PSH | ack } else { ack };
                    let (blk, s) = self.block(tls, b);
                    self.put_tcp(false, &f, f.sseq, f.cseq, fl, &blk, s);
                    self.put_block(tls, b, blk);
                    if self.rng.chance(5_000) {
                        f.retx = Some((f.sseq, b as u8));
                    }
                    f.sseq = f.sseq.wrapping_add(SEG as u32);
                    f.segs_sent += 1;
                    f.since_ack += 1;
                }
                f.sid = f.sid.wrapping_add(1);
                if f.retx.is_none() {
                    if f.kind == Kind::ServerReset && f.segs_sent >= f.reset_after.min(f.segs_total)
                    {
                        f.phase = Phase::ServerRst;
                    } else if f.since_ack >= 2 || f.segs_sent == f.segs_total {
                        f.phase = Phase::ClientAck;
                    }
                }
            }
            Phase::ClientAck => {
                if f.sport == 443 && !f.client_app {
                    // A TLS client answers the server's first flight with its Finished and
                    // request (the handshake then completes, as in real traffic).
                    let (p, s) = std::mem::take(&mut self.tls_client);
                    self.put_tcp(true, &f, f.cseq, f.sseq, flags::PSH | ack, &p, s);
                    f.cseq = f.cseq.wrapping_add(p.len() as u32);
                    self.tls_client = (p, s);
                    f.client_app = true;
                } else {
                    self.put_tcp(true, &f, f.cseq, f.sseq, ack, &[], 0);
                }
                f.cid = f.cid.wrapping_add(1);
                f.since_ack = 0;
                f.phase = if f.segs_sent < f.segs_total {
                    Phase::Data
                } else {
                    Phase::ClientFin
                };
            }
            Phase::ClientFin => {
                self.put_tcp(true, &f, f.cseq, f.sseq, flags::FIN | ack, &[], 0);
                f.cseq = f.cseq.wrapping_add(1);
                f.cid = f.cid.wrapping_add(1);
                f.phase = Phase::ServerFin;
            }
            Phase::ServerFin => {
                self.put_tcp(false, &f, f.sseq, f.cseq, flags::FIN | ack, &[], 0);
                f.sseq = f.sseq.wrapping_add(1);
                f.sid = f.sid.wrapping_add(1);
                f.phase = Phase::LastAck;
            }
            Phase::LastAck => {
                self.put_tcp(true, &f, f.cseq, f.sseq, ack, &[], 0);
                f.phase = Phase::Done;
            }
            Phase::ServerRst => {
                self.put_tcp(false, &f, f.sseq, f.cseq, flags::RST | ack, &[], 0);
                f.phase = Phase::Done;
            }
            Phase::Done => {}
        }
        self.flows[i] = f;
    }
}

/// Writes a 20-byte IPv4 header (DF set) with its checksum into `h`.
#[inline]
fn ip_header(h: &mut [u8], ip_len: usize, id: u16, ttl: u8, proto: u8, src: u32, dst: u32) {
    h[0] = 0x45;
    h[1] = 0;
    h[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&[0x40, 0]);
    h[8] = ttl;
    h[9] = proto;
    h[10..12].copy_from_slice(&[0, 0]);
    h[12..16].copy_from_slice(&src.to_be_bytes());
    h[16..20].copy_from_slice(&dst.to_be_bytes());
    let c = wire::finish(wire::sum(h, 0));
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1073741824"), Some(1 << 30));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("4g"), Some(4 << 30));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1.5K"), Some(1536));
        assert_eq!(parse_size("x"), None);
    }
}
