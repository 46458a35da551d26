//! `tidysniff log`: connection records.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context;
use tidysniff_core::app::{AppConfig, AppLayer, DEFAULT_STREAM_DEPTH};
use tidysniff_core::engine::{Engine, EngineConfig, StreamHandler};
use tidysniff_core::event::{Event, EventKind};
use tidysniff_core::flow::Uid;
use tidysniff_core::report;
use tidysniff_core::runtime::{self, RunConfig};
use tidysniff_core::source::{
    Ahead, CaptureReader, MergedSource, PacketSource, SourceError, SourceEvent,
};

use crate::args::{Format, LogArgs, RecordType};

/// Warnings about inputs that ended early, each naming its input.
pub type Warnings = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A source that records its errors with its name (the merged timeline hides which input failed).
struct Labeled<S> {
    inner: S,
    label: String,
    warnings: Warnings,
}

impl<S: PacketSource> PacketSource for Labeled<S> {
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, SourceError> {
        let r = self.inner.next_event();
        if let Err(e) = &r {
            if let Ok(mut w) = self.warnings.lock() {
                w.push(format!("{}: {e}; analyzed up to that point", self.label));
            }
        }
        r
    }

    fn lookahead(&mut self, max_ahead: usize, f: &mut dyn FnMut(Ahead<'_>)) {
        self.inner.lookahead(max_ahead, f)
    }
}

/// A reader that writes what it reads to a file.
struct Tee<R> {
    inner: R,
    copy: std::fs::File,
}

impl<R: io::Read> io::Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Opens every capture before reading any, so a bad path fails fast with exit 2.
pub fn open_sources(
    paths: &[std::path::PathBuf],
    warnings: &Warnings,
) -> anyhow::Result<(Box<dyn PacketSource + Send>, bool)> {
    open_sources_tee(paths, warnings, None)
}

/// Like [`open_sources`]; standard input is also copied to `tee` as it is read.
pub fn open_sources_tee(
    paths: &[std::path::PathBuf],
    warnings: &Warnings,
    tee: Option<std::fs::File>,
) -> anyhow::Result<(Box<dyn PacketSource + Send>, bool)> {
    let mut tee = tee;
    let mut sources: Vec<Box<dyn PacketSource + Send>> = Vec::new();
    let mut stdin_used = false;
    for p in paths {
        if p == Path::new("-") {
            anyhow::ensure!(!stdin_used, "standard input (-) given twice");
            stdin_used = true;
            let input: Box<dyn io::Read + Send> = match tee.take() {
                Some(f) => Box::new(Tee {
                    inner: io::stdin(),
                    copy: f,
                }),
                None => Box::new(io::stdin()),
            };
            let r = CaptureReader::new(input).context("reading standard input")?;
            sources.push(Box::new(Labeled {
                inner: r,
                label: "standard input".into(),
                warnings: warnings.clone(),
            }));
        } else {
            // Files are read by a thread of their own (the kernel's copy runs on another core).
            let f = std::fs::File::open(p).with_context(|| format!("{}", p.display()))?;
            let r = CaptureReader::read_ahead_with_hints(f, Engine::flow_hint)
                .with_context(|| format!("{}", p.display()))?;
            sources.push(Box::new(Labeled {
                inner: r,
                label: p.display().to_string(),
                warnings: warnings.clone(),
            }));
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
    let warnings = Warnings::default();
    let (mut source, streaming) = open_sources(&args.captures, &warnings)?;
    let shards = threads_for(&args.captures, streaming, args.threads);
    let want = |t: RecordType| args.types.contains(&t);
    let app = want(RecordType::Dns) || want(RecordType::Tls) || want(RecordType::Http);
    let stream_depth = if app { DEFAULT_STREAM_DEPTH } else { 0 };
    let cfg = RunConfig {
        engine: EngineConfig {
            max_flows: args.max_flows,
            stream_depth,
            // Records only: the per-packet TCP events would be made and dropped.
            flow_events: false,
            ..EngineConfig::default()
        },
        shards,
        ..RunConfig::default()
    };
    let factory =
        || -> Box<dyn StreamHandler + Send> { Box::new(AppLayer::new(AppConfig::default())) };
    let handlers: Option<runtime::HandlerFactory<'_>> = if app { Some(&factory) } else { None };
    let summary = if streaming {
        // Records as traffic flows: format and flush on this thread after every batch.
        let stdout = io::stdout();
        let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
        write_header(&mut out, args.format, &args.types)?;
        let mut line = String::with_capacity(512);
        let summary = runtime::run(source.as_mut(), &cfg, handlers, |events| {
            write_events(&mut out, &mut line, events, args.format, &args.types)?;
            out.flush()
        })?;
        out.flush()?;
        summary
    } else {
        let writer = Writer::spawn(args.format, args.types.clone())?;
        let mut pending: Vec<Event> = Vec::with_capacity(WRITER_BATCH);
        let result = runtime::run(source.as_mut(), &cfg, handlers, |events| {
            pending.append(events);
            if pending.len() >= WRITER_BATCH {
                writer.send(&mut pending)?;
            }
            Ok::<(), io::Error>(())
        });
        let sent = match result {
            Ok(_) => writer.send(&mut pending),
            Err(_) => Ok(()),
        };
        // The writer's own error (a closed pipe) explains a failed send: report it first.
        writer.finish()?;
        sent?;
        result?
    };
    for w in warnings.lock().map(|w| w.clone()).unwrap_or_default() {
        eprintln!("tidysniff: warning: {w}");
    }
    if args.stats {
        eprintln!("{:#?}", summary.stats);
    }
    Ok(ExitCode::SUCCESS)
}

/// The text table's header line, when the connection table is written.
fn write_header(out: &mut impl Write, format: Format, types: &[RecordType]) -> io::Result<()> {
    if format == Format::Text && types.contains(&RecordType::Conn) {
        out.write_all(report::CONN_TEXT_HEADER.as_bytes())?;
    }
    Ok(())
}

/// Events handed to the writer thread at a time.
const WRITER_BATCH: usize = 256;

/// Formats and writes records on a thread of its own, so a capture file's analysis and the
/// formatting of its records run on two cores (the text is identical and in the same order).
struct Writer {
    tx: mpsc::SyncSender<Vec<Event>>,
    recycled: mpsc::Receiver<Vec<Event>>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

impl Writer {
    fn spawn(format: Format, types: Vec<RecordType>) -> io::Result<Writer> {
        let (tx, rx) = mpsc::sync_channel::<Vec<Event>>(2);
        let (back, recycled) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("record-writer".into())
            .spawn(move || -> io::Result<()> {
                let stdout = io::stdout();
                let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
                let mut line = String::with_capacity(512);
                write_header(&mut out, format, &types)?;
                for mut batch in rx {
                    write_events(&mut out, &mut line, &batch, format, &types)?;
                    batch.clear();
                    let _ = back.send(batch);
                }
                out.flush()
            })?;
        Ok(Writer {
            tx,
            recycled,
            thread,
        })
    }

    /// Hands `pending` over, leaving a recycled empty buffer in its place.
    fn send(&self, pending: &mut Vec<Event>) -> io::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let next = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(WRITER_BATCH));
        self.tx
            .send(std::mem::replace(pending, next))
            .map_err(|_| io::Error::other("record writer stopped"))
    }

    /// Waits for everything to be written.
    fn finish(self) -> io::Result<()> {
        drop(self.tx);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("record writer panicked")))
    }
}

/// Engines to run: as asked, else one for streams and small inputs (latency, and nothing to
/// gain), else one per core but one (the reader's) when there are four or more cores. On two
/// cores a second engine measured no faster: the reader thread and the per-packet flow-table
/// miss dominate (see README, Performance).
pub fn threads_for(paths: &[std::path::PathBuf], streaming: bool, asked: Option<usize>) -> usize {
    if let Some(n) = asked {
        return n.clamp(1, 64);
    }
    if streaming {
        return 1;
    }
    let total: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if total < 64 << 20 {
        return 1;
    }
    match std::thread::available_parallelism().map_or(1, |n| n.get()) {
        n if n >= 4 => (n - 1).min(8),
        _ => 1,
    }
}

fn write_events(
    out: &mut impl Write,
    line: &mut String,
    events: &[Event],
    format: Format,
    types: &[RecordType],
) -> io::Result<()> {
    use report::app;
    let text = format == Format::Text;
    for ev in events {
        line.clear();
        let uid = ev.uid.unwrap_or(Uid(0));
        match &ev.kind {
            EventKind::ConnEnd(rec) if types.contains(&RecordType::Conn) => {
                if text {
                    report::conn_text(line, rec)
                } else {
                    report::conn_json(line, rec)
                }
            }
            EventKind::Dns(tx) if types.contains(&RecordType::Dns) => {
                if text {
                    app::dns_text(line, tx)
                } else {
                    app::dns_json(line, tx)
                }
            }
            EventKind::Tls {
                orig,
                resp,
                encrypted_dns,
                summary,
            } if types.contains(&RecordType::Tls) => {
                if text {
                    app::tls_text(line, ev.ts, uid, (*orig, *resp), summary)
                } else {
                    app::tls_json(line, ev.ts, uid, (*orig, *resp), *encrypted_dns, summary)
                }
            }
            EventKind::Http { orig, resp, tx } if types.contains(&RecordType::Http) => {
                if text {
                    app::http_text(line, ev.ts, uid, (*orig, *resp), tx)
                } else {
                    app::http_json(line, ev.ts, uid, *orig, *resp, tx)
                }
            }
            _ => continue,
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}
