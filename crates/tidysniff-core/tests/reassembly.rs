//! Reassembled TCP prefixes on the fixtures, checked against a naive oracle: every distinct
//! (direction, seq) payload from the capture, sorted by sequence number and concatenated while
//! contiguous.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tidysniff_core::engine::{ConnState, Engine, EngineConfig, StreamCtx, StreamHandler};
use tidysniff_core::event::{Event, EventKind};
use tidysniff_core::flow::{Dir, Uid};
use tidysniff_core::source::{CaptureReader, PacketSource, SourceEvent};

type Streams = std::sync::Arc<std::sync::Mutex<HashMap<(Uid, Dir), Vec<u8>>>>;

struct Collect(Streams);

impl StreamHandler for Collect {
    fn on_data(
        &mut self,
        ctx: StreamCtx,
        _state: &mut ConnState,
        offset: u64,
        data: &[u8],
        _out: &mut Vec<Event>,
    ) -> bool {
        let mut m = self.0.lock().unwrap();
        let v = m.entry((ctx.uid, ctx.dir)).or_default();
        assert_eq!(v.len() as u64, offset, "bytes must arrive in order, once");
        v.extend_from_slice(data);
        true
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// (our streams keyed by (client port, dir), records' client ports by uid)
fn ours(name: &str, depth: u32) -> HashMap<(u16, Dir), Vec<u8>> {
    let streams: Streams = Default::default();
    let cfg = EngineConfig {
        stream_depth: depth,
        ..EngineConfig::default()
    };
    let mut engine = Engine::with_stream_handler(cfg, Box::new(Collect(streams.clone())));
    let mut src = CaptureReader::open(fixture(name)).unwrap();
    let mut events = Vec::new();
    while let Ok(Some(ev)) = src.next_event() {
        if let SourceEvent::Packet(p) = ev {
            engine.process(&p, &mut events);
        }
    }
    engine.finish(&mut events);
    let ports: HashMap<Uid, u16> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ConnEnd(r) => Some((r.uid, r.orig.port)),
            _ => None,
        })
        .collect();
    let m = streams.lock().unwrap();
    m.iter()
        .map(|((uid, dir), v)| ((ports[uid], *dir), v.clone()))
        .collect()
}

/// The oracle, for the client port's connection: payload by direction from seq-sorted segments.
fn oracle(name: &str, client_port: u16) -> HashMap<Dir, Vec<u8>> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    // pcap (little-endian, µs, Ethernet) as the fixtures are written.
    let mut off = 24;
    let mut segs: HashMap<Dir, BTreeMap<u32, Vec<u8>>> = HashMap::new();
    let mut isn: HashMap<Dir, u32> = HashMap::new();
    while off + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        let frame = &bytes[off + 16..off + 16 + incl];
        off += 16 + incl;
        let Ok(p) = etherparse::SlicedPacket::from_ethernet(frame) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
            continue;
        };
        let dir = if t.source_port() == client_port {
            Dir::Orig
        } else if t.destination_port() == client_port {
            Dir::Resp
        } else {
            continue;
        };
        if t.syn() {
            isn.insert(dir, t.sequence_number().wrapping_add(1));
        }
        if !t.payload().is_empty() {
            segs.entry(dir)
                .or_default()
                .entry(t.sequence_number())
                .or_insert_with(|| t.payload().to_vec());
        }
    }
    let mut out = HashMap::new();
    for (dir, m) in segs {
        let mut next = isn[&dir];
        let mut v = Vec::new();
        for (seq, data) in m {
            if seq != next {
                break;
            }
            v.extend_from_slice(&data);
            next = next.wrapping_add(data.len() as u32);
        }
        out.insert(dir, v);
    }
    out
}

#[test]
fn fin_close_request_and_response_are_reassembled() {
    let s = ours("tcp_fin_close.pcap", 65536);
    let req = &s[&(40000, Dir::Orig)];
    assert_eq!(req.len(), 100);
    assert!(req.starts_with(b"GET / HTTP/1.1\r\n"));
    assert_eq!(s[&(40000, Dir::Resp)].len(), 2000);
    let o = oracle("tcp_fin_close.pcap", 40000);
    assert_eq!(req, &o[&Dir::Orig]);
    assert_eq!(&s[&(40000, Dir::Resp)], &o[&Dir::Resp]);
}

#[test]
fn reordered_retransmitted_and_lost_segments() {
    let s = ours("tcp_states.pcap", 65536);
    for port in [40103u16, 40104, 40105] {
        let o = oracle("tcp_states.pcap", port);
        for dir in [Dir::Orig, Dir::Resp] {
            let want = o.get(&dir).cloned().unwrap_or_default();
            let got = s.get(&(port, dir)).cloned().unwrap_or_default();
            assert_eq!(got, want, "port {port} {dir:?}");
        }
    }
    // 40105 lost a 1448-byte segment: only the prefix before the hole is delivered.
    let lost = &s[&(40105, Dir::Resp)];
    assert!(lost.len() < 3000, "{}", lost.len());
}

#[test]
fn depth_limits_what_is_delivered() {
    let s = ours("tcp_fin_close.pcap", 10);
    assert_eq!(s[&(40000, Dir::Orig)], b"GET / HTTP".to_vec());
    assert_eq!(s[&(40000, Dir::Resp)].len(), 10);
    let none = ours("tcp_fin_close.pcap", 0);
    assert!(none.is_empty());
}
