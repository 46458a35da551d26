//! A scene is a scripted capture: hosts with their own IP ID counters and
//! TTLs, TCP connections with exact sequence arithmetic, and the frames they
//! produce, each with a one-line description for the README.
//!
//! The capture point is the client host (10.0.0.2 / 2001:db8::2): its own
//! packets appear at send time, the server's when they arrive.

use crate::link::{encap, Link, Vlan};
use crate::rng::splitmix64;
use crate::wire::{self, flags, Ext, Ipv4Hdr, TcpHdr};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const US: u64 = 1_000;
pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z, the start of every fixture.
pub const T0: u64 = 1_700_000_000 * SEC;

/// Largest TCP payload per segment (1500 MTU, IPv4, timestamps' room kept).
pub const SEG: usize = 1448;

pub const HOST4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const GW4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
pub const GW6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// The capturing host sends its own frames (outgoing direction).
pub fn is_host(a: IpAddr) -> bool {
    a == IpAddr::V4(HOST4) || a == IpAddr::V6(HOST6)
}

/// Initial TTL / hop limit as seen at the capture point: 64 for the client
/// and its gateway, 52 for everything farther away (12 hops).
pub fn ttl_of(a: IpAddr) -> u8 {
    if is_host(a) || a == IpAddr::V4(GW4) || a == IpAddr::V6(GW6) {
        64
    } else {
        52
    }
}

pub fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

pub fn sa(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }
}

/// One connection as a Zeek-like analyzer should report it. Packet and byte
/// counts are not written here: they are counted from the frames.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub proto: Proto,
    /// Originator; for ICMP the port is the type.
    pub orig: SocketAddr,
    /// Responder; for ICMP the port is the code.
    pub resp: SocketAddr,
    pub state: String,
    pub history: String,
    pub note: String,
}

/// One captured frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Nanoseconds since the epoch.
    pub ts: u64,
    /// Interface (pcapng only; 0 otherwise).
    pub iface: u32,
    /// The frame as it was on the wire.
    pub data: Vec<u8>,
    /// Human description for the README.
    pub note: String,
    /// The connection this frame counts toward, and whether it is from the
    /// originator. IP fragments count once, on the fragment that completes
    /// the datagram.
    pub conn: Option<(usize, bool)>,
    /// Layer-4 payload bytes this frame contributes.
    pub payload: usize,
    /// TCP only: relative sequence number just past this frame's data.
    pub stream_end: Option<u64>,
}

/// How to wrap one packet.
#[derive(Clone, Debug, Default)]
pub struct Opts {
    pub vlans: Vec<Vlan>,
    /// IPv6 extension headers placed before the upper-layer header.
    pub exts: Vec<Ext>,
    pub iface: u32,
    pub ttl: Option<u8>,
    /// IPv4 Don't Fragment (default set).
    pub df: Option<bool>,
    /// IPv4 identification to use instead of the sender's next one (the
    /// sender's counter does not advance): a packet someone else forged.
    pub ip_id: Option<u16>,
}

/// What a frame means, for the README and the per-connection counts.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub note: String,
    pub conn: Option<(usize, bool)>,
    pub payload: usize,
    pub stream_end: Option<u64>,
}

pub struct Scene {
    pub ifaces: Vec<Link>,
    pub frames: Vec<Frame>,
    pub conns: Vec<ConnInfo>,
    ip_ids: HashMap<IpAddr, u16>,
    frag_ids: HashMap<IpAddr, u32>,
}

fn src_of(l3: &[u8]) -> IpAddr {
    if l3[0] >> 4 == 6 {
        let a: [u8; 16] = l3[8..24].try_into().unwrap();
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        let a: [u8; 4] = l3[12..16].try_into().unwrap();
        IpAddr::V4(Ipv4Addr::from(a))
    }
}

fn addr_seed(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let x = u128::from(a);
            (x as u64) ^ ((x >> 64) as u64)
        }
    }
}

impl Scene {
    pub fn new(link: Link) -> Self {
        Scene::with_ifaces(vec![link])
    }

    pub fn with_ifaces(ifaces: Vec<Link>) -> Self {
        Scene {
            ifaces,
            frames: Vec::new(),
            conns: Vec::new(),
            ip_ids: HashMap::new(),
            frag_ids: HashMap::new(),
        }
    }

    pub fn conn(
        &mut self,
        proto: Proto,
        orig: SocketAddr,
        resp: SocketAddr,
        state: &str,
        history: &str,
    ) -> usize {
        self.conns.push(ConnInfo {
            proto,
            orig,
            resp,
            state: state.into(),
            history: history.into(),
            note: String::new(),
        });
        self.conns.len() - 1
    }

    pub fn note(&mut self, conn: usize, note: &str) {
        self.conns[conn].note = note.into();
    }

    /// Next IPv4 identification of `src`: per sender, incrementing, starting
    /// from a value derived from the address.
    pub fn next_ip_id(&mut self, src: IpAddr) -> u16 {
        let id = self
            .ip_ids
            .entry(src)
            .or_insert_with(|| (splitmix64(addr_seed(src)) & 0x7fff) as u16 + 0x1000);
        let v = *id;
        *id = id.wrapping_add(1);
        v
    }

    /// Next IPv6 Fragment header identification of `src`.
    pub fn next_frag_id(&mut self, src: IpAddr) -> u32 {
        let id = self
            .frag_ids
            .entry(src)
            .or_insert_with(|| splitmix64(addr_seed(src) ^ 0xf7a9) as u32);
        let v = *id;
        *id = id.wrapping_add(1);
        v
    }

    /// Records an already-built IP packet.
    pub fn push_l3(&mut self, ts: u64, l3: &[u8], o: &Opts, meta: Meta) {
        let outgoing = is_host(src_of(l3));
        let link = self.ifaces[o.iface as usize];
        let data = encap(link, outgoing, &o.vlans, l3);
        if let Some(last) = self.frames.last() {
            assert!(
                ts >= last.ts,
                "frames must be pushed in time order: {}",
                meta.note
            );
        }
        self.frames.push(Frame {
            ts,
            iface: o.iface,
            data,
            note: meta.note,
            conn: meta.conn,
            payload: meta.payload,
            stream_end: meta.stream_end,
        });
    }

    /// Builds the IPv4 or IPv6 header around `l4`, records the frame and
    /// returns the IP packet (for quoting in ICMP errors).
    #[allow(clippy::too_many_arguments)]
    pub fn ip(
        &mut self,
        ts: u64,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        l4: &[u8],
        o: &Opts,
        meta: Meta,
    ) -> Vec<u8> {
        let ttl = o.ttl.unwrap_or_else(|| ttl_of(src));
        let l3 = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let id = match o.ip_id {
                    Some(id) => id,
                    None => self.next_ip_id(src),
                };
                let h = Ipv4Hdr {
                    src: s,
                    dst: d,
                    proto,
                    ttl,
                    id,
                    df: o.df.unwrap_or(true),
                    mf: false,
                    frag_off: 0,
                };
                wire::ipv4(&h, l4)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => wire::ipv6(s, d, ttl, &o.exts, proto, l4),
            _ => panic!("mixed address families"),
        };
        self.push_l3(ts, &l3, o, meta);
        l3
    }

    #[allow(clippy::too_many_arguments)]
    pub fn udp(
        &mut self,
        ts: u64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        conn: Option<usize>,
        what: &str,
        o: &Opts,
    ) -> Vec<u8> {
        let l4 = wire::udp(src.ip(), dst.ip(), src.port(), dst.port(), payload);
        let conn = conn.map(|c| (c, self.conns[c].orig.ip() == src.ip()));
        let note = format!("{src} -> {dst} UDP len={} {what}", payload.len());
        let meta = Meta {
            note,
            conn,
            payload: payload.len(),
            stream_end: None,
        };
        self.ip(ts, src.ip(), dst.ip(), wire::PROTO_UDP, &l4, o, meta)
    }

    /// ICMPv4 error from `src` to `dst` quoting `quoted` (an IP packet).
    #[allow(clippy::too_many_arguments)]
    pub fn icmp4(
        &mut self,
        ts: u64,
        src: IpAddr,
        dst: IpAddr,
        typ: u8,
        code: u8,
        quoted: &[u8],
        conn: Option<usize>,
        what: &str,
    ) -> Vec<u8> {
        let l4 = wire::icmp4(typ, code, [0; 4], quoted);
        let conn = conn.map(|c| (c, self.conns[c].orig.ip() == src));
        let note = format!(
            "{src} -> {dst} ICMP type={typ} code={code} {what}, quotes {} bytes",
            quoted.len()
        );
        let meta = Meta {
            note,
            conn,
            payload: quoted.len(),
            stream_end: None,
        };
        self.ip(ts, src, dst, wire::PROTO_ICMP, &l4, &Opts::default(), meta)
    }

    /// ICMPv6 error from `src` to `dst` quoting `quoted` (an IPv6 packet).
    #[allow(clippy::too_many_arguments)]
    pub fn icmp6(
        &mut self,
        ts: u64,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        typ: u8,
        code: u8,
        quoted: &[u8],
        conn: Option<usize>,
        what: &str,
    ) -> Vec<u8> {
        let l4 = wire::icmp6(src, dst, typ, code, [0; 4], quoted);
        let conn = conn.map(|c| (c, self.conns[c].orig.ip() == IpAddr::V6(src)));
        let note = format!(
            "{src} -> {dst} ICMPv6 type={typ} code={code} {what}, quotes {} bytes",
            quoted.len()
        );
        let meta = Meta {
            note,
            conn,
            payload: quoted.len(),
            stream_end: None,
        };
        self.ip(
            ts,
            IpAddr::V6(src),
            IpAddr::V6(dst),
            wire::PROTO_ICMPV6,
            &l4,
            &Opts::default(),
            meta,
        )
    }

    /// Emits one TCP segment of connection `t` with the connection's options.
    pub fn tcp(&mut self, ts: u64, t: &Tcp, seg: &Seg) -> Vec<u8> {
        let o = match (&t.o_s, seg.side) {
            (Some(o), Side::S) => o.clone(),
            _ => t.o.clone(),
        };
        self.tcp_with(ts, t, seg, &o)
    }

    /// Emits one TCP segment of connection `t` with explicit options.
    pub fn tcp_with(&mut self, ts: u64, t: &Tcp, seg: &Seg, o: &Opts) -> Vec<u8> {
        let l4 = t.segment_bytes(seg);
        let (src, dst) = t.endpoints(seg.side);
        let meta = t.meta(seg);
        self.ip(ts, src.ip(), dst.ip(), wire::PROTO_TCP, &l4, o, meta)
    }

    /// Emits a TCP segment as IPv4 fragments of at most `frag_payload` bytes
    /// of IP payload each, in order, 10 µs apart; returns the time of the last.
    pub fn tcp_fragmented(&mut self, ts: u64, t: &Tcp, seg: &Seg, frag_payload: usize) -> u64 {
        let l4 = t.segment_bytes(seg);
        let (src, dst) = t.endpoints(seg.side);
        let meta = t.meta(seg);
        self.ipv4_fragments(
            ts,
            src.ip(),
            dst.ip(),
            wire::PROTO_TCP,
            &l4,
            frag_payload,
            &[0, 1, 2, 3],
            meta,
        )
    }

    /// Splits `l4` into IPv4 fragments sharing one IP ID and emits them in
    /// `order` (indices into the fragment list; repeats allowed, missing ones
    /// are never sent), 10 µs apart. The frame that completes the datagram
    /// carries `meta`; the others are described as fragments only.
    #[allow(clippy::too_many_arguments)]
    pub fn ipv4_fragments(
        &mut self,
        ts: u64,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        l4: &[u8],
        frag_payload: usize,
        order: &[usize],
        meta: Meta,
    ) -> u64 {
        assert!(frag_payload % 8 == 0);
        let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
            panic!("IPv4 fragments need IPv4")
        };
        let id = self.next_ip_id(src);
        let chunks: Vec<&[u8]> = l4.chunks(frag_payload).collect();
        let mut seen = vec![false; chunks.len()];
        let mut t = ts;
        let mut meta = Some(meta);
        for (n, &i) in order.iter().filter(|&&i| i < chunks.len()).enumerate() {
            let first_time = !seen[i];
            seen[i] = true;
            let h = Ipv4Hdr {
                src: s,
                dst: d,
                proto,
                ttl: ttl_of(src),
                id,
                df: false,
                mf: i + 1 < chunks.len(),
                frag_off: (i * frag_payload) as u16,
            };
            let l3 = wire::ipv4(&h, chunks[i]);
            let frag_note = format!(
                "{src} -> {dst} IPv4 fragment {}/{} id=0x{id:04x} offset={} len={} MF={}{}",
                i + 1,
                chunks.len(),
                i * frag_payload,
                chunks[i].len(),
                u8::from(h.mf),
                if first_time { "" } else { " (duplicate)" }
            );
            let complete = seen.iter().all(|&x| x) && first_time;
            let m = if complete {
                let mut m = meta.take().unwrap();
                m.note = format!("{frag_note}; completes: {}", m.note);
                m
            } else {
                Meta {
                    note: frag_note,
                    ..Meta::default()
                }
            };
            if n > 0 {
                t += 10 * US;
            }
            self.push_l3(t, &l3, &Opts::default(), m);
        }
        t
    }
}

impl Scene {
    /// Splits the fragmentable part `l4` (upper-layer header and payload of
    /// protocol `proto`) into IPv6 fragments of at most `frag_payload` bytes
    /// behind a Fragment header, and emits them in order, 10 µs apart. The
    /// last fragment carries `meta`. Returns the time of the last fragment.
    #[allow(clippy::too_many_arguments)]
    pub fn ipv6_fragments(
        &mut self,
        ts: u64,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        proto: u8,
        l4: &[u8],
        frag_payload: usize,
        meta: Meta,
    ) -> u64 {
        assert!(frag_payload % 8 == 0);
        let id = self.next_frag_id(IpAddr::V6(src));
        let chunks: Vec<&[u8]> = l4.chunks(frag_payload).collect();
        let mut t = ts;
        let mut meta = Some(meta);
        for (i, chunk) in chunks.iter().enumerate() {
            let more = i + 1 < chunks.len();
            let ext = Ext::fragment((i * frag_payload) as u16, more, id);
            let l3 = wire::ipv6(src, dst, ttl_of(IpAddr::V6(src)), &[ext], proto, chunk);
            let frag_note = format!(
                "{src} -> {dst} IPv6 fragment {}/{} id=0x{id:08x} offset={} len={} M={}",
                i + 1,
                chunks.len(),
                i * frag_payload,
                chunk.len(),
                u8::from(more)
            );
            let m = if more {
                Meta {
                    note: frag_note,
                    ..Meta::default()
                }
            } else {
                let mut m = meta.take().unwrap();
                m.note = format!("{frag_note}; completes: {}", m.note);
                m
            };
            if i > 0 {
                t += 10 * US;
            }
            self.push_l3(t, &l3, &Opts::default(), m);
        }
        t
    }
}

/// Which end of a TCP connection sends a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    C,
    S,
}

/// One TCP segment before it is wrapped.
#[derive(Clone, Debug)]
pub struct Seg {
    pub side: Side,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub win: u16,
    pub opts: Vec<u8>,
    pub payload: Vec<u8>,
}

/// A scripted TCP connection between a client (the capturing host) and a
/// server. `*_nxt` is the next sequence number each side sends, `*_rcv` the
/// acknowledgment number it sends (everything of the peer's it has seen).
/// Data and FINs are assumed received by the peer as soon as they are
/// built; leave a segment out of the scene to model capture loss.
#[derive(Clone, Debug)]
pub struct Tcp {
    pub conn: usize,
    pub c: SocketAddr,
    pub s: SocketAddr,
    pub c_isn: u32,
    pub s_isn: u32,
    pub c_nxt: u32,
    pub s_nxt: u32,
    pub c_rcv: u32,
    pub s_rcv: u32,
    /// SYN and SYN-ACK carry MSS, SACK-permitted and window scale 7.
    pub syn_opts: bool,
    /// How the client's segments are wrapped.
    pub o: Opts,
    /// How the server's segments are wrapped, when different.
    pub o_s: Option<Opts>,
}

pub fn flag_str(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (flags::SYN, 'S'),
        (flags::FIN, 'F'),
        (flags::PSH, 'P'),
        (flags::RST, 'R'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if f & flags::ACK != 0 {
        s.push('.');
    }
    s
}

impl Tcp {
    /// Registers the connection in `scene` with the outcome expected of it.
    pub fn new(scene: &mut Scene, c: SocketAddr, s: SocketAddr, state: &str, history: &str) -> Tcp {
        let conn = scene.conn(Proto::Tcp, c, s, state, history);
        let h = splitmix64(
            (u64::from(c.port()) << 32)
                ^ (u64::from(s.port()) << 16)
                ^ conn as u64
                ^ addr_seed(s.ip()),
        );
        let c_isn = h as u32;
        let s_isn = (h >> 32) as u32;
        Tcp {
            conn,
            c,
            s,
            c_isn,
            s_isn,
            c_nxt: c_isn.wrapping_add(1),
            s_nxt: s_isn.wrapping_add(1),
            c_rcv: 0,
            s_rcv: 0,
            syn_opts: true,
            o: Opts::default(),
            o_s: None,
        }
    }

    fn endpoints(&self, side: Side) -> (SocketAddr, SocketAddr) {
        match side {
            Side::C => (self.c, self.s),
            Side::S => (self.s, self.c),
        }
    }

    fn mss(&self) -> u16 {
        if self.c.is_ipv6() {
            1440
        } else {
            1460
        }
    }

    /// Window field after the handshake (scaled by 2^7 when negotiated).
    fn win(&self, side: Side) -> u16 {
        match (side, self.syn_opts) {
            (Side::C, true) => 502,
            (Side::S, true) => 509,
            (Side::C, false) => 64240,
            (Side::S, false) => 65160,
        }
    }

    fn segment_bytes(&self, seg: &Seg) -> Vec<u8> {
        let (src, dst) = self.endpoints(seg.side);
        let h = TcpHdr {
            sport: src.port(),
            dport: dst.port(),
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.win,
            options: seg.opts.clone(),
        };
        wire::tcp(src.ip(), dst.ip(), &h, &seg.payload)
    }

    fn meta(&self, seg: &Seg) -> Meta {
        let (src, dst) = self.endpoints(seg.side);
        let (own, peer) = match seg.side {
            Side::C => (self.c_isn, self.s_isn),
            Side::S => (self.s_isn, self.c_isn),
        };
        let rel_seq = seg.seq.wrapping_sub(own);
        // A refusing RST carries seq 0, not a number in the server's space.
        let seq_text = if seg.seq == 0 && seg.flags & flags::RST != 0 {
            "0 (absolute)".to_string()
        } else {
            rel_seq.to_string()
        };
        let ack = if seg.flags & flags::ACK != 0 {
            format!(" ack={}", seg.ack.wrapping_sub(peer))
        } else {
            String::new()
        };
        let opts = if seg.opts.is_empty() {
            ""
        } else {
            " <mss,sackOK,wscale 7>"
        };
        let note = format!(
            "{src} -> {dst} TCP [{}] seq={seq_text}{ack} win={} len={}{opts}",
            flag_str(seg.flags),
            seg.win,
            seg.payload.len()
        );
        let data = !seg.payload.is_empty() && seg.flags & flags::RST == 0;
        Meta {
            note,
            conn: Some((self.conn, seg.side == Side::C)),
            payload: seg.payload.len(),
            stream_end: data.then(|| u64::from(rel_seq.wrapping_sub(1)) + seg.payload.len() as u64),
        }
    }

    fn seg(&self, side: Side, flags: u8, payload: &[u8]) -> Seg {
        let (seq, ack) = match side {
            Side::C => (self.c_nxt, self.c_rcv),
            Side::S => (self.s_nxt, self.s_rcv),
        };
        Seg {
            side,
            seq,
            ack,
            flags,
            win: self.win(side),
            opts: Vec::new(),
            payload: payload.to_vec(),
        }
    }

    /// Picks the connection up mid-stream (no handshake in the capture):
    /// both sides acknowledge each other's next sequence number.
    pub fn midstream(&mut self) {
        self.c_rcv = self.s_nxt;
        self.s_rcv = self.c_nxt;
    }

    /// Client SYN (retransmissions: emit the same `Seg` again).
    pub fn syn(&mut self) -> Seg {
        self.c_nxt = self.c_isn.wrapping_add(1);
        let opts = if self.syn_opts {
            wire::syn_options(self.mss(), 7)
        } else {
            Vec::new()
        };
        Seg {
            side: Side::C,
            seq: self.c_isn,
            ack: 0,
            flags: flags::SYN,
            win: 64240,
            opts,
            payload: Vec::new(),
        }
    }

    /// Server SYN-ACK.
    pub fn syn_ack(&mut self) -> Seg {
        self.s_rcv = self.c_isn.wrapping_add(1);
        self.s_nxt = self.s_isn.wrapping_add(1);
        self.c_rcv = self.s_nxt;
        let opts = if self.syn_opts {
            wire::syn_options(self.mss(), 7)
        } else {
            Vec::new()
        };
        Seg {
            side: Side::S,
            seq: self.s_isn,
            ack: self.s_rcv,
            flags: flags::SYN | flags::ACK,
            win: 65160,
            opts,
            payload: Vec::new(),
        }
    }

    /// Pure ACK.
    pub fn ack(&self, side: Side) -> Seg {
        self.seg(side, flags::ACK, &[])
    }

    /// Data segment (PSH|ACK); the peer receives it at once.
    pub fn data(&mut self, side: Side, payload: &[u8]) -> Seg {
        let s = self.seg(side, flags::PSH | flags::ACK, payload);
        let n = payload.len() as u32;
        match side {
            Side::C => {
                self.c_nxt = self.c_nxt.wrapping_add(n);
                self.s_rcv = self.c_nxt;
            }
            Side::S => {
                self.s_nxt = self.s_nxt.wrapping_add(n);
                self.c_rcv = self.s_nxt;
            }
        }
        s
    }

    /// FIN|ACK; the FIN takes one sequence number.
    pub fn fin(&mut self, side: Side) -> Seg {
        let s = self.seg(side, flags::FIN | flags::ACK, &[]);
        match side {
            Side::C => {
                self.c_nxt = self.c_nxt.wrapping_add(1);
                self.s_rcv = self.c_nxt;
            }
            Side::S => {
                self.s_nxt = self.s_nxt.wrapping_add(1);
                self.c_rcv = self.s_nxt;
            }
        }
        s
    }

    /// RST|ACK at the current sequence number, window 0 (an abort).
    pub fn rst(&self, side: Side) -> Seg {
        let mut s = self.seg(side, flags::RST | flags::ACK, &[]);
        s.win = 0;
        s
    }

    /// The RST-ACK a closed port answers a SYN with: seq 0, ack ISN+1.
    pub fn rst_refuse(&self) -> Seg {
        Seg {
            side: Side::S,
            seq: 0,
            ack: self.c_isn.wrapping_add(1),
            flags: flags::RST | flags::ACK,
            win: 0,
            opts: Vec::new(),
            payload: Vec::new(),
        }
    }
}

/// Handshake, one client request and one server response, as seen from the
/// client: SYN at `t0`, SYN-ACK one `rtt` later, ACK 0.1 ms after it, the
/// request 0.1 ms later (in segments of at most [`SEG`] bytes, 10 µs apart);
/// one `rtt` after the request the server's pure ACK (when `server_ack`) and
/// 0.8 ms later its response in segments 0.1 ms apart, the client ACKing
/// every second segment and the last one 0.1 ms after it arrives.
/// Returns the time of the last packet.
pub struct Exchange<'a> {
    pub rtt: u64,
    pub req: &'a [u8],
    pub resp: &'a [u8],
    pub server_ack: bool,
}

pub fn handshake(scene: &mut Scene, t: &mut Tcp, t0: u64, rtt: u64) -> u64 {
    let syn = t.syn();
    scene.tcp(t0, t, &syn);
    let sa = t.syn_ack();
    scene.tcp(t0 + rtt, t, &sa);
    let a = t.ack(Side::C);
    scene.tcp(t0 + rtt + 100 * US, t, &a);
    t0 + rtt + 100 * US
}

pub fn exchange(scene: &mut Scene, t: &mut Tcp, t0: u64, ex: &Exchange) -> u64 {
    let mut ts = handshake(scene, t, t0, ex.rtt);
    let mut last_req = ts;
    for (i, chunk) in ex.req.chunks(SEG).enumerate() {
        ts += if i == 0 { 100 * US } else { 10 * US };
        let d = t.data(Side::C, chunk);
        scene.tcp(ts, t, &d);
        last_req = ts;
    }
    ts = last_req + ex.rtt;
    let mut last = last_req;
    if ex.server_ack {
        let a = t.ack(Side::S);
        scene.tcp(ts, t, &a);
        last = ts;
        ts += 800 * US;
    }
    let chunks: Vec<&[u8]> = ex.resp.chunks(SEG).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            ts += 100 * US;
        }
        let d = t.data(Side::S, chunk);
        scene.tcp(ts, t, &d);
        last = ts;
        if i % 2 == 1 || i + 1 == chunks.len() {
            ts += 100 * US;
            let a = t.ack(Side::C);
            scene.tcp(ts, t, &a);
            last = ts;
        }
    }
    last
}

/// Client-initiated close: client FIN at `ts`, server FIN-ACK one `rtt`
/// later, final client ACK 0.1 ms after that. Returns the last time.
pub fn close_by_client(scene: &mut Scene, t: &mut Tcp, ts: u64, rtt: u64) -> u64 {
    let f = t.fin(Side::C);
    scene.tcp(ts, t, &f);
    let f2 = t.fin(Side::S);
    scene.tcp(ts + rtt, t, &f2);
    let a = t.ack(Side::C);
    scene.tcp(ts + rtt + 100 * US, t, &a);
    ts + rtt + 100 * US
}

/// A DNS query/response pair over UDP, registered as one connection.
#[allow(clippy::too_many_arguments)]
pub fn dns_exchange(
    scene: &mut Scene,
    ts: u64,
    rtt: u64,
    c: SocketAddr,
    s: SocketAddr,
    id: u16,
    name: &str,
    answer: IpAddr,
    o: &Opts,
) -> u64 {
    use crate::payload::{dns_query, dns_response, QTYPE_A, QTYPE_AAAA};
    let conn = scene.conn(Proto::Udp, c, s, "SF", "Dd");
    let qtype = if answer.is_ipv4() {
        QTYPE_A
    } else {
        QTYPE_AAAA
    };
    let q = dns_query(id, name, qtype, None);
    let tname = if qtype == QTYPE_A { "A" } else { "AAAA" };
    scene.udp(
        ts,
        c,
        s,
        &q,
        Some(conn),
        &format!("DNS query id=0x{id:04x} {tname} {name}"),
        o,
    );
    let r = dns_response(id, name, qtype, &[answer], 300);
    scene.udp(
        ts + rtt,
        s,
        c,
        &r,
        Some(conn),
        &format!("DNS response id=0x{id:04x} {tname} {name} -> {answer}"),
        o,
    );
    ts + rtt
}
