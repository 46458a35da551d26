//! The whole analysis behind `tidysniff analyze`: engine, application parsers and the diagnosis
//! rules, on packets cut from arbitrary bytes (same framing as `engine.rs`), under a Go
//! configuration that makes every destination interesting (`all`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tidysniff_core::app::{AppConfig, AppLayer};
use tidysniff_core::diagnose::{render, DiagnoseConfig, Diagnoser};
use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::goenv::{self, Layer, Origin};
use tidysniff_core::source::{LinkType, Packet};
use tidysniff_core::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let cfg = EngineConfig {
        max_flows: 16,
        stream_depth: 4096,
        ..EngineConfig::default()
    };
    let mut engine =
        Engine::with_stream_handler(cfg, Box::new(AppLayer::new(AppConfig::default())));
    let go = goenv::resolve(&[Layer::new(
        Origin::Flag,
        vec![
            ("GOPROXY".into(), "https://goproxy.cn,direct".into()),
            ("GOPRIVATE".into(), "github.com/a/*".into()),
        ],
    )]);
    let mut diag = Diagnoser::new(
        go,
        DiagnoseConfig {
            all: true,
            ..DiagnoseConfig::default()
        },
    );
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
        for e in out.drain(..) {
            diag.observe(&e);
        }
        rest = &rest[2 + len..];
    }
    engine.finish(&mut out);
    for e in out.drain(..) {
        diag.observe(&e);
    }
    let d = diag.finish();
    let mut s = String::new();
    render::text(&mut s, &d, &[]);
    for f in &d.findings {
        render::finding_json(&mut s, f);
    }
    render::summary_json(&mut s, &d, &[]);
});
