//! Idle timeouts run on packet time and end a flow neither early nor late: the once-a-second
//! sweep finds an idle flow within a second of its timeout, whatever else is in the table, and a
//! packet that arrives after the timeout but before the sweep starts a new flow.

use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::event::{EndReason, Event, EventKind};
use tidysniff_core::source::{LinkType, Packet};
use tidysniff_core::time::Timestamp;

/// An IPv4/UDP datagram (raw IP link type) from client port `cport` to 192.0.2.53:53.
fn udp(cport: u16) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 2], [192, 0, 2, 53], 64).udp(cport, 53);
    let mut out = Vec::new();
    b.write(&mut out, b"query").unwrap();
    out
}

fn feed(engine: &mut Engine, events: &mut Vec<Event>, ms: i64, data: &[u8]) {
    let p = Packet {
        ts: Timestamp::from_secs_nanos(1_700_000_000 + ms / 1000, (ms % 1000) * 1_000_000),
        linktype: LinkType::RAW,
        orig_len: data.len() as u32,
        data,
    };
    engine.process(&p, events);
}

/// (client port, end reason, packets, time of the event in ms since the start).
fn ends(events: &[Event]) -> Vec<(u16, EndReason, u64, i64)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ConnEnd(r) => Some((
                r.orig.port,
                r.end,
                r.orig_stats.pkts,
                e.ts.since(Timestamp::from_secs_nanos(1_700_000_000, 0)).0 / 1_000_000,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_flow_seen_twice_in_a_millisecond_expires_on_time_behind_newer_flows() {
    // UDP times out after 60 s. Flow 1 is seen at 0 and 1 ms (a query and its answer), flow 2
    // at 30 s, flow 3 every half second from 30.5 s on (it drives the sweeps).
    let mut e = Engine::new(EngineConfig::default());
    let mut ev = Vec::new();
    feed(&mut e, &mut ev, 0, &udp(1));
    feed(&mut e, &mut ev, 1, &udp(1));
    feed(&mut e, &mut ev, 30_000, &udp(2));
    for n in 0..140 {
        feed(&mut e, &mut ev, 30_500 + n * 500, &udp(3));
    }
    let got = ends(&ev);
    let (f1, f2) = (got[0], got[1]);
    assert_eq!((f1.0, f1.1, f1.2), (1, EndReason::Idle, 2), "{got:?}");
    assert!(
        (60_001..=61_001).contains(&f1.3),
        "flow 1 ended at {} ms",
        f1.3
    );
    assert_eq!((f2.0, f2.1, f2.2), (2, EndReason::Idle, 1), "{got:?}");
    assert!(
        (90_000..=91_000).contains(&f2.3),
        "flow 2 ended at {} ms",
        f2.3
    );
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn a_packet_after_the_timeout_starts_a_new_flow_before_any_sweep() {
    let mut e = Engine::new(EngineConfig::default());
    let mut ev = Vec::new();
    feed(&mut e, &mut ev, 300, &udp(1));
    // A sweep at 59.9 s (flow 1 idle 59.6 s: kept); the next is due at 60.9 s.
    feed(&mut e, &mut ev, 59_900, &udp(2));
    assert!(ends(&ev).is_empty());
    // Flow 1 again at 60.5 s: idle 60.2 s, past its timeout, so this is a new flow.
    feed(&mut e, &mut ev, 60_500, &udp(1));
    assert_eq!(ends(&ev), vec![(1, EndReason::Idle, 1, 60_500)]);
    e.finish(&mut ev);
    let last: Vec<_> = ends(&ev).into_iter().skip(1).map(|x| (x.0, x.2)).collect();
    assert_eq!(last.len(), 2, "{last:?}");
    assert!(last.contains(&(1, 1)) && last.contains(&(2, 1)), "{last:?}");
}

#[test]
fn a_flow_idle_past_its_timeout_when_input_ends_is_reported_idle_whenever_the_last_sweep_ran() {
    let mut e = Engine::new(EngineConfig::default());
    let mut ev = Vec::new();
    feed(&mut e, &mut ev, 300, &udp(1));
    // A sweep at 59.9 s (flow 1 idle 59.6 s: kept); the next would be due at 60.9 s.
    feed(&mut e, &mut ev, 59_900, &udp(2));
    // The last packet, at 60.5 s: flow 1 is idle 60.2 s, but no sweep is due.
    feed(&mut e, &mut ev, 60_500, &udp(2));
    assert!(ends(&ev).is_empty());
    e.finish(&mut ev);
    // Flow 1 timed out before the input ended; flow 2 was still live.
    assert_eq!(
        ends(&ev),
        vec![
            (1, EndReason::Idle, 1, 60_500),
            (2, EndReason::EndOfInput, 2, 60_500)
        ]
    );
}

/// An ICMPv4 port unreachable from 192.0.2.53 quoting the first 28 bytes (IP + UDP headers) of
/// `quoted`.
fn port_unreachable(quoted: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ipv4([192, 0, 2, 53], [10, 0, 0, 2], 64)
        .icmpv4_raw(3, 3, [0; 4]);
    let mut out = Vec::new();
    b.write(&mut out, &quoted[..28]).unwrap();
    out
}

#[test]
fn an_icmp_error_is_noted_on_its_flow_but_is_not_its_traffic() {
    // Flow 1 at 0 s; an ICMP error quoting it at 50 s; flow 3 from 30 s drives the sweeps. The
    // error neither lengthens flow 1 nor keeps it alive: it ends idle at 60 s, duration 0.
    let mut e = Engine::new(EngineConfig::default());
    let mut ev = Vec::new();
    let q = udp(1);
    feed(&mut e, &mut ev, 0, &q);
    for n in 0..100 {
        let ms = 30_000 + n * 500;
        if ms == 50_000 {
            feed(&mut e, &mut ev, ms, &port_unreachable(&q));
        }
        feed(&mut e, &mut ev, ms, &udp(3));
    }
    let rec = ev
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ConnEnd(r) if r.orig.port == 1 => Some((e.ts, r.clone())),
            _ => None,
        })
        .expect("flow 1 ended before 80 s");
    let (at, r) = rec;
    let at_ms = at.since(Timestamp::from_secs_nanos(1_700_000_000, 0)).0 / 1_000_000;
    assert!((60_000..=61_000).contains(&at_ms), "ended at {at_ms} ms");
    assert_eq!(r.end, EndReason::Idle);
    assert_eq!(
        r.last_ts, r.ts,
        "the ICMP error is not the flow's last packet"
    );
    let icmp = r.icmp.expect("the error is noted on the flow");
    assert_eq!((icmp.msg.icmp_type, icmp.msg.code, icmp.count), (3, 3, 1));
}
