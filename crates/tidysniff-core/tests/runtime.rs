//! `runtime::run` hands the same events in the same order whatever `sink_batch` is, and with a
//! batch the sink is called with at least that many events while packets are read (so a sink can
//! take the whole vector instead of copying it).

use tidysniff_core::app::{AppConfig, AppLayer, DEFAULT_STREAM_DEPTH};
use tidysniff_core::engine::{EngineConfig, StreamHandler};
use tidysniff_core::event::Event;
use tidysniff_core::runtime::{self, RunConfig};
use tidysniff_core::source::CaptureReader;

/// Every event of the fixture, and the sizes of the sink calls, with `sink_batch` = `batch`. The
/// sink takes the whole vector each time (as the CLI's writer does).
fn run(name: &str, batch: usize) -> (Vec<Event>, Vec<usize>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    let mut src = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let factory =
        || -> Box<dyn StreamHandler + Send> { Box::new(AppLayer::new(AppConfig::default())) };
    let cfg = RunConfig {
        engine: EngineConfig {
            stream_depth: DEFAULT_STREAM_DEPTH,
            ..EngineConfig::default()
        },
        sink_batch: batch,
        ..RunConfig::default()
    };
    let (mut all, mut calls) = (Vec::new(), Vec::new());
    runtime::run(&mut src, &cfg, Some(&factory), |ev| {
        calls.push(ev.len());
        all.extend(std::mem::take(ev));
        Ok::<(), ()>(())
    })
    .unwrap();
    (all, calls)
}

#[test]
fn batched_sinks_get_the_same_events_in_whole_batches() {
    let (one, one_calls) = run("golab_clean.pcap", 1);
    assert!(one.len() >= 30, "the fixture gives events: {}", one.len());
    for batch in [2, 4, 8] {
        let (got, calls) = run("golab_clean.pcap", batch);
        assert_eq!(got, one, "batch {batch}");
        assert_eq!(calls.iter().sum::<usize>(), one.len());
        assert!(calls.len() < one_calls.len(), "batch {batch}: fewer calls");
        // While packets are read every call has a whole batch; only the end of input may have
        // fewer (the rest, then the connections still open: fewer than the 256 made at a time).
        let first_small = calls.iter().position(|n| *n < batch).unwrap_or(calls.len());
        assert!(first_small > 0, "batch {batch}: {calls:?}");
        assert!(calls.len() - first_small <= 2, "batch {batch}: {calls:?}");
    }
}
