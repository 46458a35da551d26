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
        // Streams hand each packet's records to the writer at once; files in batches, which the
        // writer thread takes without a copy.
        sink_batch: if streaming { 1 } else { WRITER_BATCH },
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
        let mut batch_text = String::with_capacity(64 << 10);
        let summary = runtime::run(source.as_mut(), &cfg, handlers, |events| {
            write_events(&mut out, &mut batch_text, events, args.format, &args.types)?;
            out.flush()
        })?;
        out.flush()?;
        summary
    } else {
        let mut writer = Writer::spawn(io::stdout(), 1 << 16, args.format, args.types.clone())?;
        let mut pending: Vec<Event> = Vec::with_capacity(WRITER_BATCH);
        let result = runtime::run(source.as_mut(), &cfg, handlers, |events| {
            if pending.is_empty() && events.len() >= WRITER_BATCH {
                // A whole batch from the engine (`sink_batch`): handed over as it is.
                return writer.send(events);
            }
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
/// When the writer is behind (its queue is full, as at the end of input, when the connections
/// still open are all reported at once) the sending thread formats the batch itself instead of
/// waiting, and hands over the text; the queue keeps the order either way.
struct Writer {
    tx: mpsc::SyncSender<Chunk>,
    recycled: mpsc::Receiver<Chunk>,
    thread: std::thread::JoinHandle<io::Result<()>>,
    format: Format,
    types: Vec<RecordType>,
    batch_text: String,
    /// Batches this (sending) thread formatted because the writer was behind.
    formatted_here: usize,
}

/// What the writer thread is handed: events to format, or text the sender already formatted.
enum Chunk {
    Events(Vec<Event>),
    Text(Vec<u8>),
}

impl Writer {
    /// Starts the thread, writing to `out` (standard output in the CLI) through a buffer of
    /// `buffer` bytes.
    fn spawn(
        out: impl Write + Send + 'static,
        buffer: usize,
        format: Format,
        types: Vec<RecordType>,
    ) -> io::Result<Writer> {
        let (tx, rx) = mpsc::sync_channel::<Chunk>(2);
        let (back, recycled) = mpsc::channel();
        let thread_types = types.clone();
        let thread = std::thread::Builder::new()
            .name("record-writer".into())
            .spawn(move || -> io::Result<()> {
                let types = thread_types;
                let mut out = io::BufWriter::with_capacity(buffer, out);
                let mut batch_text = String::with_capacity(64 << 10);
                write_header(&mut out, format, &types)?;
                for mut chunk in rx {
                    match &mut chunk {
                        Chunk::Events(batch) => {
                            write_events(&mut out, &mut batch_text, batch, format, &types)?;
                            batch.clear();
                        }
                        Chunk::Text(text) => {
                            out.write_all(text)?;
                            text.clear();
                        }
                    }
                    let _ = back.send(chunk);
                }
                out.flush()
            })?;
        Ok(Writer {
            tx,
            recycled,
            thread,
            format,
            types,
            batch_text: String::with_capacity(64 << 10),
            formatted_here: 0,
        })
    }

    /// Hands `pending` over, leaving an empty buffer in its place; formats it on this thread
    /// first when the writer is behind.
    fn send(&mut self, pending: &mut Vec<Event>) -> io::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let stopped = || io::Error::other("record writer stopped");
        let mut text = None;
        let mut next = None;
        while let Ok(chunk) = self.recycled.try_recv() {
            match chunk {
                Chunk::Events(v) if next.is_none() => next = Some(v),
                Chunk::Text(t) if text.is_none() => text = Some(t),
                _ => {}
            }
        }
        let next = next.unwrap_or_else(|| Vec::with_capacity(WRITER_BATCH));
        let batch = std::mem::replace(pending, next);
        match self.tx.try_send(Chunk::Events(batch)) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(Chunk::Events(mut batch))) => {
                let mut text = text.unwrap_or_else(|| Vec::with_capacity(64 << 10));
                write_events(
                    &mut text,
                    &mut self.batch_text,
                    &batch,
                    self.format,
                    &self.types,
                )?;
                batch.clear();
                if pending.capacity() < batch.capacity() {
                    *pending = batch;
                }
                self.formatted_here += 1;
                self.tx.send(Chunk::Text(text)).map_err(|_| stopped())
            }
            Err(_) => Err(stopped()),
        }
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
    batch_text: &mut String,
    events: &[Event],
    format: Format,
    types: &[RecordType],
) -> io::Result<()> {
    use report::app;
    let text = format == Format::Text;
    // The batch's records are formatted into one buffer and written at once: a large write
    // passes BufWriter's buffer by (one copy of the text fewer).
    batch_text.clear();
    for ev in events {
        let uid = ev.uid.unwrap_or(Uid(0));
        match &ev.kind {
            EventKind::ConnEnd(rec) if types.contains(&RecordType::Conn) => {
                if text {
                    report::conn_text(batch_text, rec)
                } else {
                    report::conn_json(batch_text, rec)
                }
            }
            EventKind::Dns(tx) if types.contains(&RecordType::Dns) => {
                if text {
                    app::dns_text(batch_text, tx)
                } else {
                    app::dns_json(batch_text, tx)
                }
            }
            EventKind::Tls {
                orig,
                resp,
                encrypted_dns,
                summary,
            } if types.contains(&RecordType::Tls) => {
                if text {
                    app::tls_text(batch_text, ev.ts, uid, (*orig, *resp), summary)
                } else {
                    app::tls_json(
                        batch_text,
                        ev.ts,
                        uid,
                        (*orig, *resp),
                        *encrypted_dns,
                        summary,
                    )
                }
            }
            EventKind::Http { orig, resp, tx } if types.contains(&RecordType::Http) => {
                if text {
                    app::http_text(batch_text, ev.ts, uid, (*orig, *resp), tx)
                } else {
                    app::http_json(batch_text, ev.ts, uid, *orig, *resp, tx)
                }
            }
            _ => continue,
        }
    }
    out.write_all(batch_text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An output that is slow to take each write, so the writer falls behind its sender.
    #[derive(Clone, Default)]
    struct SlowSink(Arc<Mutex<Vec<u8>>>);

    impl Write for SlowSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            std::thread::sleep(std::time::Duration::from_millis(3));
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn fixture_events(name: &str) -> Vec<Event> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name);
        let mut src = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let factory =
            || -> Box<dyn StreamHandler + Send> { Box::new(AppLayer::new(AppConfig::default())) };
        let cfg = RunConfig {
            engine: EngineConfig {
                stream_depth: DEFAULT_STREAM_DEPTH,
                flow_events: false,
                ..EngineConfig::default()
            },
            ..RunConfig::default()
        };
        let mut all = Vec::new();
        runtime::run(&mut src, &cfg, Some(&factory), |ev| {
            all.append(ev);
            Ok::<(), io::Error>(())
        })
        .unwrap();
        all
    }

    #[test]
    fn a_writer_that_falls_behind_gets_text_formatted_by_its_sender_in_order() {
        let events = fixture_events("golab_clean.pcap");
        let types = vec![
            RecordType::Conn,
            RecordType::Dns,
            RecordType::Tls,
            RecordType::Http,
        ];
        for format in [Format::Json, Format::Text] {
            let mut expected = Vec::new();
            write_header(&mut expected, format, &types).unwrap();
            write_events(&mut expected, &mut String::new(), &events, format, &types).unwrap();
            assert!(expected.len() > 1000, "the fixture gives records");

            let sink = SlowSink::default();
            // Unbuffered, each record is a slow write on the writer thread; the sender's text is
            // one write a batch. With one event a batch the writer thread falls behind.
            let mut writer = Writer::spawn(sink.clone(), 0, format, types.clone()).unwrap();
            for ev in &events {
                let mut pending = vec![ev.clone()];
                writer.send(&mut pending).unwrap();
                assert!(pending.is_empty());
            }
            let here = writer.formatted_here;
            writer.finish().unwrap();
            let got = sink.0.lock().unwrap().clone();
            assert!(here > 0, "the sender never had to format");
            assert!(here < events.len(), "the writer thread formatted nothing");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expected)
            );
        }
    }
}
