//! The whole engine (decode, fragments, flows, TCP state, reassembly) on a stream of packets cut
//! from arbitrary bytes: each packet is [linktype selector, len, bytes...], timestamps advance.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tidysniff_core::engine::{ConnState, Engine, EngineConfig, StreamCtx, StreamHandler};
use tidysniff_core::event::Event;
use tidysniff_core::source::{LinkType, Packet};
use tidysniff_core::time::Timestamp;

struct Sink;
impl StreamHandler for Sink {
    fn on_data(
        &mut self,
        _: StreamCtx,
        _: &mut ConnState,
        _: u64,
        _: &[u8],
        _: &mut Vec<Event>,
    ) -> bool {
        true
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = EngineConfig {
        max_flows: 8,
        stream_depth: 256,
        ..EngineConfig::default()
    };
    let mut engine = Engine::with_stream_handler(cfg, Box::new(Sink));
    let mut out = Vec::new();
    let mut rest = data;
    let mut t = 1_700_000_000_000_000_000i64;
    while rest.len() >= 3 {
        let lt = [1u16, 101, 113, 276, 0][usize::from(rest[0]) % 5];
        let len = usize::from(rest[1]).min(rest.len() - 2);
        let bytes = &rest[2..2 + len];
        t += i64::from(rest[0]) * 100_000_000;
        let p = Packet {
            ts: Timestamp(t),
            linktype: LinkType(lt),
            orig_len: len as u32 + 4,
            data: bytes,
        };
        engine.process(&p, &mut out);
        out.clear();
        rest = &rest[2 + len..];
    }
    engine.finish(&mut out);
});
