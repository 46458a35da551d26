//! Embedding example: print one line per event of a capture.
//!
//! ```text
//! cargo run -p tidysniff-core --example events -- fixtures/tcp_fin_close.pcap
//! ```

use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::event::{Event, EventKind};
use tidysniff_core::source::{CaptureReader, PacketSource, SourceEvent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: events CAPTURE")?;
    let mut source = CaptureReader::open(&path)?;
    let mut engine = Engine::new(EngineConfig::default());
    // One buffer, reused: the steady state allocates nothing per packet.
    let mut events: Vec<Event> = Vec::new();
    loop {
        match source.next_event() {
            Ok(Some(SourceEvent::Packet(p))) => engine.process(&p, &mut events),
            Ok(Some(SourceEvent::Tick(now))) => engine.advance(now, &mut events),
            Ok(None) => break,
            Err(e) => {
                eprintln!("warning: {e}");
                break;
            }
        }
        print_events(&mut events);
    }
    engine.finish(&mut events);
    print_events(&mut events);
    Ok(())
}

fn print_events(events: &mut Vec<Event>) {
    for ev in events.drain(..) {
        let uid = ev.uid.map(|u| u.to_string()).unwrap_or_else(|| "-".into());
        let what = match &ev.kind {
            EventKind::ConnEnd(rec) => format!(
                "conn_end {} {} {}",
                rec.proto.as_str(),
                rec.conn_state,
                rec.history
            ),
            other => format!("{other:?}"),
        };
        println!("{} #{} {} {:?} {}", ev.ts, ev.frame, uid, ev.dir, what);
    }
}
