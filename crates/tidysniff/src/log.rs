//! `tidysniff log`: connection records.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tidysniff_core::engine::{Engine, EngineConfig};
use tidysniff_core::event::{Event, EventKind};
use tidysniff_core::report;
use tidysniff_core::source::{CaptureReader, MergedSource, PacketSource, SourceError, SourceEvent};

use crate::args::{Format, LogArgs};

/// Opens every capture before reading any, so a bad path fails fast with exit 2.
pub fn open_sources(
    paths: &[std::path::PathBuf],
) -> anyhow::Result<(Box<dyn PacketSource + Send>, bool)> {
    let mut sources: Vec<Box<dyn PacketSource + Send>> = Vec::new();
    let mut stdin_used = false;
    for p in paths {
        if p == Path::new("-") {
            anyhow::ensure!(!stdin_used, "standard input (-) given twice");
            stdin_used = true;
            let r = CaptureReader::new(io::stdin()).context("reading standard input")?;
            sources.push(Box::new(r));
        } else {
            let r = CaptureReader::open(p).with_context(|| format!("{}", p.display()))?;
            sources.push(Box::new(r));
        }
    }
    let src: Box<dyn PacketSource + Send> = if sources.len() == 1 {
        sources.remove(0)
    } else {
        Box::new(MergedSource::new(sources))
    };
    Ok((src, stdin_used))
}

pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    let (mut source, streaming) = open_sources(&args.captures)?;
    let cfg = EngineConfig {
        max_flows: args.max_flows,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(cfg);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if args.format == Format::Text {
        out.write_all(report::CONN_TEXT_HEADER.as_bytes())?;
    }
    let mut events: Vec<Event> = Vec::with_capacity(64);
    let mut line = String::with_capacity(512);
    loop {
        match source.next_event() {
            Ok(Some(SourceEvent::Packet(p))) => engine.process(&p, &mut events),
            Ok(Some(SourceEvent::Tick(ts))) => engine.advance(ts, &mut events),
            Ok(None) => break,
            Err(e) => {
                warn_source(&e);
                if !matches!(
                    e,
                    SourceError::Truncated { .. } | SourceError::Corrupt { .. }
                ) {
                    // Other errors (I/O) end the input too, but say so plainly.
                }
                break;
            }
        }
        if !events.is_empty() {
            write_events(&mut out, &mut line, &events, args.format)?;
            events.clear();
            if streaming {
                out.flush()?;
            }
        }
    }
    engine.finish(&mut events);
    write_events(&mut out, &mut line, &events, args.format)?;
    out.flush()?;
    if args.stats {
        eprintln!("{:#?}", engine.stats());
    }
    Ok(ExitCode::SUCCESS)
}

fn warn_source(e: &SourceError) {
    eprintln!("tidysniff: warning: {e}; analyzed up to that point");
}

fn write_events(
    out: &mut impl Write,
    line: &mut String,
    events: &[Event],
    format: Format,
) -> io::Result<()> {
    for ev in events {
        if let EventKind::ConnEnd(rec) = &ev.kind {
            line.clear();
            match format {
                Format::Json => report::conn_json(line, rec),
                Format::Text => report::conn_text(line, rec),
            }
            out.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}
