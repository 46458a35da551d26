//! Cleanly closed TCP connections are reported at their last ACK, and their tombstone absorbs
//! late packets for the linger time (a SYN with a new ISN still starts a new connection).

use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::event::{EndReason, Event, EventKind};
use tidysniff_core::source::{LinkType, Packet};
use tidysniff_core::time::Timestamp;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;

/// An IPv4/TCP packet (raw IP link type) from the client (`c2s`) or the server.
fn tcp(c2s: bool, cport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if c2s {
        ([10, 0, 0, 2], [192, 0, 2, 10], cport, 443)
    } else {
        ([192, 0, 2, 10], [10, 0, 0, 2], 443, cport)
    };
    let b = etherparse::PacketBuilder::ipv4(src, dst, 64).tcp(sport, dport, seq, 64_000);
    let b = if flags & SYN != 0 { b.syn() } else { b };
    let b = if flags & FIN != 0 { b.fin() } else { b };
    let b = if flags & PSH != 0 { b.psh() } else { b };
    let b = if flags & ACK != 0 { b.ack(ack) } else { b };
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

struct Run {
    engine: Engine,
    events: Vec<Event>,
    ms: i64,
}

impl Run {
    fn new() -> Self {
        Self::with(EngineConfig::default())
    }

    fn with(cfg: EngineConfig) -> Self {
        Run {
            engine: Engine::new(cfg),
            events: Vec::new(),
            ms: 0,
        }
    }

    /// Feeds one packet `ms_later` after the previous one; returns the conn records it caused.
    fn feed(&mut self, ms_later: i64, data: Vec<u8>) -> Vec<(EndReason, u64, u64)> {
        self.ms += ms_later;
        let p = Packet {
            ts: Timestamp::from_secs_nanos(1_700_000_000, self.ms * 1_000_000),
            linktype: LinkType::RAW,
            orig_len: data.len() as u32,
            data: &data,
        };
        let n = self.events.len();
        self.engine.process(&p, &mut self.events);
        ends(&self.events[n..])
    }
}

fn ends(events: &[Event]) -> Vec<(EndReason, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ConnEnd(r) => Some((r.end, r.orig_stats.pkts, r.resp_stats.pkts)),
            _ => None,
        })
        .collect()
}

/// Handshake, one request, FIN from each side; the client's last ACK is optional.
fn close(r: &mut Run, port: u16, isn: u32, last_ack: bool) -> Vec<(EndReason, u64, u64)> {
    let (c, s) = (isn, 9_000u32);
    assert!(r.feed(0, tcp(true, port, c, 0, SYN, b"")).is_empty());
    assert!(r
        .feed(20, tcp(false, port, s, c + 1, SYN | ACK, b""))
        .is_empty());
    assert!(r
        .feed(20, tcp(true, port, c + 1, s + 1, ACK, b""))
        .is_empty());
    assert!(r
        .feed(1, tcp(true, port, c + 1, s + 1, PSH | ACK, b"hello"))
        .is_empty());
    assert!(r
        .feed(1, tcp(true, port, c + 6, s + 1, FIN | ACK, b""))
        .is_empty());
    let mut got = r.feed(20, tcp(false, port, s + 1, c + 7, FIN | ACK, b""));
    if last_ack {
        assert!(
            got.is_empty(),
            "reported before the last FIN was acknowledged"
        );
        got = r.feed(20, tcp(true, port, c + 7, s + 2, ACK, b""));
    }
    got
}

#[test]
fn reported_at_the_last_ack_and_late_packets_are_absorbed() {
    let mut r = Run::new();
    // Reported by the packet that acknowledged the second FIN, with every packet counted.
    assert_eq!(
        close(&mut r, 40_000, 1_000, true),
        vec![(EndReason::Closed, 5, 2)]
    );
    assert_eq!(r.engine.active_flows(), 0);
    // A retransmitted FIN a second later: absorbed, no new connection.
    assert!(r
        .feed(1_000, tcp(false, 40_000, 9_001, 1_007, FIN | ACK, b""))
        .is_empty());
    assert!(r
        .feed(1, tcp(true, 40_000, 1_007, 9_002, ACK, b""))
        .is_empty());
    assert_eq!(r.engine.active_flows(), 0);
    assert_eq!(r.engine.stats().after_close, 2);
    assert_eq!(r.engine.stats().flows, 1);
    // Nothing left to report at the end.
    let mut tail = Vec::new();
    r.engine.finish(&mut tail);
    assert!(ends(&tail).is_empty());
}

#[test]
fn a_new_syn_on_the_port_starts_a_new_connection() {
    let mut r = Run::new();
    assert_eq!(close(&mut r, 40_001, 1_000, true).len(), 1);
    // Same ISN (a stale SYN): absorbed. New ISN: a new connection, reported in turn.
    assert!(r.feed(10, tcp(true, 40_001, 1_000, 0, SYN, b"")).is_empty());
    assert_eq!(r.engine.stats().flows, 1);
    assert_eq!(
        close(&mut r, 40_001, 50_000, true),
        vec![(EndReason::Closed, 5, 2)]
    );
    assert_eq!(r.engine.stats().flows, 2);
}

#[test]
fn without_the_last_ack_the_connection_waits_in_the_table() {
    let mut r = Run::new();
    assert!(close(&mut r, 40_002, 1_000, false).is_empty());
    assert_eq!(r.engine.active_flows(), 1);
    let mut tail = Vec::new();
    r.engine.finish(&mut tail);
    assert_eq!(ends(&tail), vec![(EndReason::EndOfInput, 4, 2)]);
}

#[test]
fn tombstones_expire_after_the_linger_time() {
    let mut r = Run::new();
    assert_eq!(close(&mut r, 40_003, 1_000, true).len(), 1);
    // Past the 120 s linger a late ACK is a new (partial) connection again.
    assert!(r
        .feed(121_000, tcp(true, 40_003, 1_007, 9_002, ACK, b""))
        .is_empty());
    assert_eq!(r.engine.stats().after_close, 0);
    assert_eq!(r.engine.active_flows(), 1);
}

#[test]
fn without_flow_events_only_the_record_comes() {
    let kinds = |flow_events| {
        let mut r = Run::with(EngineConfig {
            flow_events,
            ..EngineConfig::default()
        });
        assert_eq!(
            close(&mut r, 40_004, 1_000, true),
            vec![(EndReason::Closed, 5, 2)]
        );
        let names: Vec<String> = r
            .events
            .iter()
            .map(|e| {
                format!("{:?}", e.kind)
                    .split([' ', '('])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        names
    };
    assert_eq!(
        kinds(true),
        [
            "FlowStart",
            "TcpSyn",
            "TcpSynAck",
            "TcpEstablished",
            "TcpFin",
            "TcpFin",
            "ConnEnd"
        ]
    );
    assert_eq!(kinds(false), ["ConnEnd"]);
}
