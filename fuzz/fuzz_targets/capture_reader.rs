//! Fuzz target: the pcap/pcapng reader must never panic and must end on any input.
//!
//! `cargo +nightly fuzz run capture_reader` (from `fuzz/`). The reader gets the input through a
//! reader that returns a few bytes per `read` call, chosen by the input's first byte, so that the
//! streaming paths (compaction, growth, records split across reads) are fuzzed as well. With bit
//! 0x40 of that byte the input goes through the read-ahead thread with flow hints (its record
//! walker, the hinted lookahead and `Engine::flow_hint` on every record).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Read;
use tidysniff_core::engine::Engine;
use tidysniff_core::source::file::CaptureReader;
use tidysniff_core::source::{Ahead, PacketSource, SourceEvent};

/// Hands out at most `chunk` bytes per call.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// [`Chunked`] owning its bytes, for the read-ahead thread.
struct OwnedChunked {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl Read for OwnedChunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.at..];
        let n = self.chunk.min(buf.len()).min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let chunk = match mode % 4 {
        0 => usize::MAX,
        1 => 1,
        2 => 7,
        _ => 4096,
    };
    let buffer = if mode & 0x80 != 0 { 64 } else { 1 << 20 };
    let opened = if mode & 0x40 != 0 {
        // Each read fills a 1 MiB chunk: tiny reads would make a run slow (the walker's cuts at
        // every small chunk size are unit-tested in source::file).
        let owned = OwnedChunked {
            data: input.to_vec(),
            at: 0,
            chunk: chunk.max(1021),
        };
        CaptureReader::read_ahead_with_hints(owned, Engine::flow_hint)
            .map(|r| Box::new(r) as Box<dyn Reader>)
    } else {
        CaptureReader::with_buffer_size(Chunked { data: input, chunk }, buffer)
            .map(|r| Box::new(r) as Box<dyn Reader + '_>)
    };
    let Ok(mut reader) = opened else {
        return;
    };
    // Every record takes at least 12 bytes: more events than this is a loop.
    let limit = input.len() / 12 + 2;
    let mut n = 0;
    loop {
        reader.lookahead(12, &mut |a| {
            if let Ahead::Frame(lt, d) = a {
                let _ = Engine::flow_hint(lt, d);
            }
        });
        match reader.next_event() {
            Ok(Some(SourceEvent::Packet(p))) => {
                assert!(p.data.len() <= p.orig_len as usize);
                n += 1;
                assert!(n <= limit);
            }
            Ok(Some(SourceEvent::Tick(_))) => unreachable!("a capture file yields no ticks"),
            Ok(None) => break,
            Err(_) => {
                assert!(matches!(reader.next_event(), Ok(None)));
                break;
            }
        }
    }
    assert!(reader.bytes_read() <= input.len() as u64);
});

/// The reader's calls the target makes, whatever its input type.
trait Reader: PacketSource {
    fn bytes_read(&self) -> u64;
}

impl<R: Read> Reader for CaptureReader<R> {
    fn bytes_read(&self) -> u64 {
        CaptureReader::bytes_read(self)
    }
}
