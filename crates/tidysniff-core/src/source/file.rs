//! pcap and pcapng reader over any [`std::io::Read`]: a file, a pipe or stdin.
//!
//! [`CaptureReader`] detects the format from the first four bytes and yields every packet record
//! as a [`Packet`] borrowed from one reusable buffer (no allocation per packet).
//!
//! # Formats
//!
//! - **pcap**, magics `a1b2c3d4` (microseconds) and `a1b23c4d` (nanoseconds), either byte order.
//!   The link type is the low 16 bits of the header's link-type field (the upper bits carry FCS
//!   information). A record whose original length is below its captured length is reported with
//!   `orig_len` raised to the captured length.
//! - **modified pcap** (Alexey Kuznetzov's patches, magic `a1b2cd34`, 24-byte record headers with
//!   interface index, protocol and packet type, which are skipped), microseconds, either byte order.
//! - **pcapng**: Section Header Blocks (a new one resets the interfaces and may switch the byte
//!   order), Interface Description Blocks (link type, snap length, `if_tsresol`, `if_tsoffset`),
//!   Enhanced, Simple and obsolete Packet Blocks. Every other block type (name resolution,
//!   statistics, decryption secrets, custom, ...) is skipped by its length. A Simple Packet Block
//!   has no timestamp: it is given the timestamp of the previous packet (0 for the first).
//!
//! # Streaming
//!
//! The reader asks its input for bytes only when the current record is incomplete, so a record is
//! yielded as soon as its last byte has arrived: piping `tcpdump -w -` into it works. One buffer
//! (1 MiB by default) is reused for the whole input; a record that straddles its end is moved to the
//! front, and the buffer grows only while one record is larger than it, up to [`MAX_RECORD_LEN`].
//!
//! # Errors
//!
//! Input that is not a capture is rejected by [`CaptureReader::new`] with
//! [`SourceError::NotACapture`]. An input that ends inside a header or record gives
//! [`SourceError::Truncated`]; a malformed structure gives [`SourceError::Corrupt`]. After either
//! error the reader yields `Ok(None)` forever; the packets read before it stay valid. A
//! [`SourceError::Io`] error consumes nothing and may be retried. No input makes the reader panic:
//! every length read from the input is checked before it is used.

use super::{Ahead, LinkType, Packet, PacketSource, SourceError, SourceEvent};
use crate::time::Timestamp;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// Largest pcap record (captured length) or pcapng block (total length) accepted, in bytes.
/// A larger one is [`SourceError::Corrupt`].
pub const MAX_RECORD_LEN: usize = 256 << 20;

/// Default size of the reusable read buffer.
pub const DEFAULT_BUFFER_SIZE: usize = 1 << 20;

/// Smallest buffer [`CaptureReader::with_buffer_size`] accepts (smaller requests are raised).
const MIN_BUFFER_SIZE: usize = 64;

/// Largest the buffer ever becomes: one maximal record plus its header.
const MAX_BUFFER_SIZE: usize = MAX_RECORD_LEN + 64;

const PCAP_HEADER_LEN: usize = 24;
const PCAP_RECORD_HEADER_LEN: usize = 16;
const PCAP_MODIFIED_RECORD_HEADER_LEN: usize = 24;

/// pcapng block types (the SHB type is a palindrome: the same in both byte orders).
mod block {
    pub const SHB: u32 = 0x0A0D_0D0A;
    pub const IDB: u32 = 1;
    pub const PB: u32 = 2;
    pub const SPB: u32 = 3;
    pub const EPB: u32 = 6;
}

/// pcapng byte-order magic as read little-endian.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// The capture format detected from the first bytes of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Timestamps have nanosecond resolution (magic `a1b23c4d`) instead of microseconds.
        nanos: bool,
        /// The file was written big-endian.
        big_endian: bool,
    },
    /// Kuznetzov's modified pcap (magic `a1b2cd34`): microsecond timestamps, 24-byte record headers.
    PcapModified {
        /// The file was written big-endian.
        big_endian: bool,
    },
    /// pcapng (each section carries its own byte order).
    Pcapng,
}

/// Per-file settings of a pcap capture.
#[derive(Clone, Copy, Debug)]
struct PcapHeader {
    big_endian: bool,
    nanos: bool,
    record_header_len: usize,
    linktype: LinkType,
}

/// How an interface's raw timestamp units become nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsResolution {
    /// 10^-n with n <= 9: multiply by 10^(9-n).
    Mul(u64),
    /// 10^-n with 9 < n <= 28: divide by 10^(n-9).
    Div(u64),
    /// 10^-n with n > 28: every 64-bit value is below one nanosecond.
    Zero,
    /// 2^-n.
    Pow2(u32),
}

impl TsResolution {
    /// The pcapng default: microseconds.
    const MICROS: TsResolution = TsResolution::Mul(1000);

    /// Decodes an `if_tsresol` option value.
    fn from_option(v: u8) -> Self {
        let n = u32::from(v & 0x7f);
        if v & 0x80 != 0 {
            TsResolution::Pow2(n)
        } else if n <= 9 {
            TsResolution::Mul(10u64.pow(9 - n))
        } else if n - 9 <= 19 {
            TsResolution::Div(10u64.pow(n - 9))
        } else {
            TsResolution::Zero
        }
    }

    /// Nanoseconds for `units` (exact, rounded down).
    fn to_nanos(self, units: u64) -> i128 {
        match self {
            TsResolution::Mul(f) => i128::from(units) * i128::from(f),
            TsResolution::Div(d) => i128::from(units / d),
            TsResolution::Zero => 0,
            // units * 10^9 < 2^94, and n < 128.
            TsResolution::Pow2(n) => ((u128::from(units) * 1_000_000_000) >> n) as i128,
        }
    }
}

/// A pcapng interface, from its Interface Description Block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interface {
    linktype: LinkType,
    snaplen: u32,
    resolution: TsResolution,
    /// `if_tsoffset` in nanoseconds.
    offset_ns: i128,
}

impl Interface {
    fn timestamp(&self, units: u64) -> Timestamp {
        let ns = self.resolution.to_nanos(units) + self.offset_ns;
        Timestamp(ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

/// A parsed record: metadata plus where its bytes are in the buffer.
#[derive(Clone, Copy, Debug)]
struct Record {
    ts: Timestamp,
    linktype: LinkType,
    orig_len: u32,
    offset: usize,
    len: usize,
}

/// What one pcapng block was, once parsed from its body.
#[derive(Debug, PartialEq, Eq)]
enum Block {
    /// A Section Header Block in this byte order.
    Section { big_endian: bool },
    /// An Interface Description Block.
    Interface(Interface),
    /// A packet; `data_offset` is relative to the block body. `ts` is `None` for an SPB.
    Packet {
        ts: Option<Timestamp>,
        linktype: LinkType,
        orig_len: u32,
        data_offset: usize,
        data_len: usize,
    },
    /// Any other block.
    Skip,
}

/// Reads pcap and pcapng captures from any [`Read`]; see the [module docs](self).
///
/// ```no_run
/// use tidysniff_core::source::{CaptureReader, PacketSource, SourceEvent};
/// let mut reader = CaptureReader::open("capture.pcapng")?;
/// while let Some(SourceEvent::Packet(p)) = reader.next_event()? {
///     println!("{} {} bytes", p.ts.as_nanos(), p.data.len());
/// }
/// # Ok::<(), tidysniff_core::source::SourceError>(())
/// ```
pub struct CaptureReader<R: Read> {
    reader: R,
    /// Bytes `start..end` are read and not yet parsed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Input offset of `buf[0]`.
    base: u64,
    /// The input has ended (a `read` returned 0).
    eof: bool,
    /// End of input, truncation or corruption was reported: only `Ok(None)` from now on.
    done: bool,
    format: CaptureFormat,
    pcap: PcapHeader,
    /// Byte order of the current pcapng section.
    ng_big_endian: bool,
    /// Interfaces of the current pcapng section, by id.
    interfaces: Vec<Interface>,
    /// Timestamp of the last packet, given to Simple Packet Blocks.
    last_ts: Timestamp,
    /// Lookahead cursor (classic pcap only): input offset of the next record not yet passed to
    /// a lookahead callback, and how many records lie between the position and it.
    ahead_abs: u64,
    ahead_n: usize,
    /// Absolute offset up to which the buffer has been prefetched ahead of the lookahead.
    prefetched_abs: u64,
    /// Read-ahead with hints: (input offset of a record, its hint) for the records of the chunks
    /// taken so far that are not yet behind the position, and how many were passed on.
    hints: VecDeque<(u64, u64)>,
    hints_given: usize,
    hinted: bool,
    /// Read-ahead mode: a thread reads the input into chunks (see [`CaptureReader::read_ahead`]).
    feed: Option<ChunkFeed>,
}

/// Bytes reserved in front of each read-ahead chunk, where the unparsed tail of the previous
/// chunk (the start of a record that straddles the two) is copied.
const CHUNK_RESERVE: usize = 64 * 1024;
/// Bytes a read-ahead chunk holds after the reserve.
const CHUNK_LEN: usize = 1 << 20;
/// Chunks in flight between the reading thread and the parser.
const CHUNKS_IN_FLIGHT: usize = 4;

/// How far past the lookahead the buffer is prefetched, in bytes.
const BUFFER_PREFETCH: u64 = 4096;

/// A filled chunk: the buffer, the number of bytes after the reserve, and the hints of the
/// records that start in it (input offset, hint).
type Filled = (Vec<u8>, usize, Vec<(u64, u64)>);

/// The parser's end of a read-ahead thread: filled chunks arrive; used ones go back for reuse.
struct ChunkFeed {
    filled: std::sync::mpsc::Receiver<std::io::Result<Filled>>,
    spare: std::sync::mpsc::Sender<Vec<u8>>,
    /// Emptied hint vectors go back too (no allocation or cross-thread free per chunk).
    spare_hints: std::sync::mpsc::Sender<Vec<(u64, u64)>>,
}

/// The function a read-ahead thread applies to each classic-pcap record's link type and first
/// bytes (at most [`HINT_BYTES`]; fewer when the record is shorter or cut by the chunk's end).
pub type HintFn = fn(LinkType, &[u8]) -> Option<u64>;

/// Bytes of a record a [`HintFn`] sees at most: enough for Ethernet with two VLAN tags, IPv6
/// and the transport ports.
pub const HINT_BYTES: usize = 128;

/// Finds the records of a classic pcap input in the consecutive chunks the read-ahead thread
/// reads, and applies the hint function to each. Independent of the parser: a hint is only a
/// prefetch, so on anything unexpected (pcapng, a modified pcap, a record length above
/// [`MAX_RECORD_LEN`]) the walk stops and the parser works as without hints.
struct HintWalker {
    hint: HintFn,
    /// Input offset of the next chunk's first byte.
    at: u64,
    /// Input offset of the next record's header; `None` before the file header or once stopped.
    next: Option<u64>,
    big_endian: bool,
    linktype: LinkType,
    /// The bytes of the next record's header that earlier chunks held (from `next` on).
    carry: Vec<u8>,
}

impl HintWalker {
    fn new(hint: HintFn) -> Self {
        HintWalker {
            hint,
            at: 0,
            next: None,
            big_endian: false,
            linktype: LinkType(0),
            carry: Vec::new(),
        }
    }

    /// Walks the next chunk `d` of the input, appending (record offset, hint) to `out`.
    fn walk(&mut self, d: &[u8], out: &mut Vec<(u64, u64)>) {
        let start = self.at;
        self.at = start.saturating_add(d.len() as u64);
        let end = self.at;
        if start == 0 {
            // The file header: a classic pcap, either byte order, micro- or nanoseconds.
            self.big_endian = match d.first_chunk::<4>() {
                Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => false,
                Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => true,
                _ => return,
            };
            if d.len() < PCAP_HEADER_LEN {
                return;
            }
            self.linktype = LinkType(rd32(d, 20, self.big_endian) as u16);
            self.next = Some(PCAP_HEADER_LEN as u64);
        }
        let hlen = PCAP_RECORD_HEADER_LEN as u64;
        while let Some(next) = self.next {
            if next >= end {
                return;
            }
            if next + hlen > end {
                // The header is cut by the end of the chunk: keep its bytes for the next one.
                if next >= start {
                    self.carry.clear();
                    self.carry
                        .extend_from_slice(d.get((next - start) as usize..).unwrap_or(&[]));
                } else {
                    self.carry.extend_from_slice(d);
                }
                return;
            }
            let mut h = [0u8; PCAP_RECORD_HEADER_LEN];
            for (i, b) in h.iter_mut().enumerate() {
                let abs = next + i as u64;
                let byte = if abs < start {
                    self.carry.get((abs - next) as usize)
                } else {
                    d.get((abs - start) as usize)
                };
                *b = byte.copied().unwrap_or(0);
            }
            self.carry.clear();
            let incl = u64::from(rd32(&h, 8, self.big_endian));
            if incl > MAX_RECORD_LEN as u64 {
                self.next = None;
                return;
            }
            // The header ends in this chunk, so the data starts in it (or at its end).
            let rel = (next + hlen).saturating_sub(start) as usize;
            let take = (incl as usize).min(HINT_BYTES);
            let data = d.get(rel..).unwrap_or(&[]);
            let data = data.get(..take).unwrap_or(data);
            if let Some(v) = (self.hint)(self.linktype, data) {
                out.push((next, v));
            }
            self.next = Some(next + hlen + incl);
        }
    }
}

impl<R: Read> core::fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("bytes_read", &self.bytes_read())
            .field("buffer_size", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl CaptureReader<std::fs::File> {
    /// Opens the capture file at `path` and reads its header (see [`CaptureReader::new`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        CaptureReader::new(std::fs::File::open(path)?)
    }
}

impl CaptureReader<std::io::Empty> {
    /// Like [`CaptureReader::new`], with `reader` read by a thread of its own into 1 MiB chunks
    /// that are parsed in place: the copy out of the kernel runs on another core, and the parser
    /// never copies more than the part of one record that straddles two chunks. Each chunk is
    /// handed over as soon as a `read` returns, so pipes still stream.
    pub fn read_ahead<R: Read + Send + 'static>(reader: R) -> Result<Self, SourceError> {
        Self::read_ahead_inner(reader, None)
    }

    /// Like [`CaptureReader::read_ahead`]; for a classic pcap input the reading thread also
    /// applies `hint` to every record (see [`HintFn`]), and [`PacketSource::lookahead`] passes
    /// those values ([`Ahead::Hint`]) instead of the packets, so the work of deriving them (for
    /// the engine, [`crate::engine::Engine::flow_hint`]: parsing the headers and hashing the
    /// flow key) runs on the reading thread's core. Other formats look ahead as before.
    pub fn read_ahead_with_hints<R: Read + Send + 'static>(
        reader: R,
        hint: HintFn,
    ) -> Result<Self, SourceError> {
        Self::read_ahead_inner(reader, Some(HintWalker::new(hint)))
    }

    fn read_ahead_inner<R: Read + Send + 'static>(
        reader: R,
        walker: Option<HintWalker>,
    ) -> Result<Self, SourceError> {
        let hinted = walker.is_some();
        let (tx, filled) = std::sync::mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        let (spare, spares) = std::sync::mpsc::channel::<Vec<u8>>();
        let (spare_hints, hint_spares) = std::sync::mpsc::channel::<Vec<(u64, u64)>>();
        std::thread::Builder::new()
            .name("capture-read".into())
            .spawn(move || read_chunks(reader, &tx, &spares, &hint_spares, walker))?;
        let mut r = Self::start(
            std::io::empty(),
            Vec::new(),
            Some(ChunkFeed {
                filled,
                spare,
                spare_hints,
            }),
        )?;
        r.hinted = hinted && matches!(r.format, CaptureFormat::Pcap { .. });
        Ok(r)
    }
}

/// The read-ahead thread: fills chunks after their reserve and sends them until the input ends
/// (then the channel closes), an error (sent) or the parser is gone.
fn read_chunks<R: Read>(
    mut reader: R,
    tx: &std::sync::mpsc::SyncSender<std::io::Result<Filled>>,
    spares: &std::sync::mpsc::Receiver<Vec<u8>>,
    hint_spares: &std::sync::mpsc::Receiver<Vec<(u64, u64)>>,
    mut walker: Option<HintWalker>,
) {
    loop {
        let mut v = spares
            .try_recv()
            .unwrap_or_else(|_| vec![0; CHUNK_RESERVE + CHUNK_LEN]);
        let n = loop {
            match reader.read(&mut v[CHUNK_RESERVE..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        };
        let mut hints = Vec::new();
        if walker.is_some() {
            hints = hint_spares.try_recv().unwrap_or_default();
            hints.clear();
        }
        if let (Some(w), Some(d)) = (&mut walker, v.get(CHUNK_RESERVE..CHUNK_RESERVE + n)) {
            w.walk(d, &mut hints);
        }
        if n == 0 || tx.send(Ok((v, n, hints))).is_err() {
            return;
        }
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the magic and the file header (pcap) or first Section Header Block (pcapng) from
    /// `reader`, with a buffer of [`DEFAULT_BUFFER_SIZE`].
    ///
    /// Fails with [`SourceError::NotACapture`] when the input is shorter than four bytes or does
    /// not start with a known magic, [`SourceError::Truncated`] or [`SourceError::Corrupt`] when
    /// the header is incomplete or malformed.
    pub fn new(reader: R) -> Result<Self, SourceError> {
        Self::with_buffer_size(reader, DEFAULT_BUFFER_SIZE)
    }

    /// Like [`CaptureReader::new`] with an initial buffer of `size` bytes (at least 64). The
    /// buffer still grows for a record larger than it.
    pub fn with_buffer_size(reader: R, size: usize) -> Result<Self, SourceError> {
        Self::start(
            reader,
            vec![0; size.clamp(MIN_BUFFER_SIZE, MAX_BUFFER_SIZE)],
            None,
        )
    }

    /// Builds the reader and parses the file header.
    fn start(reader: R, buf: Vec<u8>, feed: Option<ChunkFeed>) -> Result<Self, SourceError> {
        let mut r = CaptureReader {
            reader,
            buf,
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            done: false,
            format: CaptureFormat::Pcapng,
            pcap: PcapHeader {
                big_endian: false,
                nanos: false,
                record_header_len: PCAP_RECORD_HEADER_LEN,
                linktype: LinkType(0),
            },
            ng_big_endian: false,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
            ahead_abs: 0,
            ahead_n: 0,
            prefetched_abs: 0,
            hints: VecDeque::new(),
            hints_given: 0,
            hinted: false,
            feed,
        };
        let avail = r.fill(4)?;
        let mut magic = [0u8; 4];
        for (m, b) in magic.iter_mut().zip(&r.buf[r.start..r.end]) {
            *m = *b;
        }
        if avail < 4 {
            return Err(SourceError::NotACapture { magic, len: avail });
        }
        let (nanos, big_endian, modified) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (false, true, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (true, false, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true, false),
            [0x34, 0xcd, 0xb2, 0xa1] => (false, false, true),
            [0xa1, 0xb2, 0xcd, 0x34] => (false, true, true),
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                // The first block is this Section Header Block: parse it now so that a broken one
                // is reported by `new`.
                r.next_block()?;
                return Ok(r);
            }
            _ => return Err(SourceError::NotACapture { magic, len: 4 }),
        };
        let avail = r.fill(PCAP_HEADER_LEN)?;
        if avail < PCAP_HEADER_LEN {
            return Err(r.truncated(PCAP_HEADER_LEN, avail));
        }
        let h = &r.buf[r.start..r.end];
        r.pcap = PcapHeader {
            big_endian,
            nanos,
            record_header_len: if modified {
                PCAP_MODIFIED_RECORD_HEADER_LEN
            } else {
                PCAP_RECORD_HEADER_LEN
            },
            linktype: LinkType(rd32(h, 20, big_endian) as u16),
        };
        r.format = if modified {
            CaptureFormat::PcapModified { big_endian }
        } else {
            CaptureFormat::Pcap { nanos, big_endian }
        };
        r.start += PCAP_HEADER_LEN;
        Ok(r)
    }

    /// The detected format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Input bytes parsed so far: the file header and every record returned or skipped, that is the
    /// offset where the next record starts. Bytes fetched from the input but not yet parsed are not
    /// counted.
    pub fn bytes_read(&self) -> u64 {
        self.base.wrapping_add(self.start as u64)
    }

    /// The next packet, or `Ok(None)` at the end of input (a capture file never yields ticks).
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, SourceError> {
        if self.done {
            return Ok(None);
        }
        let rec = match self.format {
            CaptureFormat::Pcapng => self.next_ng_record(),
            _ => self.next_pcap_record(),
        };
        match rec {
            Ok(Some(r)) => {
                self.last_ts = r.ts;
                Ok(Some(Packet {
                    ts: r.ts,
                    linktype: r.linktype,
                    orig_len: r.orig_len,
                    data: &self.buf[r.offset..r.offset + r.len],
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                if !matches!(e, SourceError::Io(_)) {
                    self.done = true;
                }
                Err(e)
            }
        }
    }

    /// Makes at least `need` unparsed bytes available (`need <= MAX_BUFFER_SIZE`) and returns how
    /// many there are, which is less than `need` only at the end of input.
    #[inline(always)]
    fn fill(&mut self, need: usize) -> Result<usize, SourceError> {
        let avail = self.end - self.start;
        if avail >= need {
            return Ok(avail);
        }
        self.fill_slow(need)
    }

    #[inline(never)]
    fn fill_slow(&mut self, need: usize) -> Result<usize, SourceError> {
        if self.eof {
            return Ok(self.end - self.start);
        }
        if self.feed.is_some() {
            return self.fill_from_chunks(need);
        }
        if self.start == self.end {
            // Nothing pending: read into the whole buffer.
            self.base += self.start as u64;
            self.start = 0;
            self.end = 0;
        } else if need > self.buf.len() - self.start {
            // The record straddles the end of the buffer: move its start to the front.
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < need {
            if self.end == self.buf.len() {
                // One record larger than the buffer (start is 0 here): grow as its bytes arrive,
                // so a bogus length in a short input costs no more memory than the input.
                let len = self.buf.len().saturating_mul(2).min(need);
                self.buf.resize(len.max(self.end + 1), 0);
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n.min(self.buf.len() - self.end),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(SourceError::Io(e)),
            }
        }
        Ok(self.end - self.start)
    }

    /// [`Self::fill_slow`] in read-ahead mode: takes chunks from the reading thread, carrying the
    /// unparsed bytes over into the new chunk's reserve (or, for a record longer than the reserve,
    /// appending the chunk to the current buffer).
    fn fill_from_chunks(&mut self, need: usize) -> Result<usize, SourceError> {
        while self.end - self.start < need && !self.eof {
            let Some(feed) = &self.feed else { break };
            let (mut chunk, n, mut hints) = match feed.filled.recv() {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Err(SourceError::Io(e)),
                Err(_) => {
                    self.eof = true;
                    break;
                }
            };
            if !hints.is_empty() {
                self.hints.extend(hints.drain(..));
                let _ = feed.spare_hints.send(hints);
            }
            let pending = self.end - self.start;
            let fits = pending <= CHUNK_RESERVE
                && chunk.len() >= CHUNK_RESERVE
                && n <= chunk.len() - CHUNK_RESERVE;
            if fits {
                let at = CHUNK_RESERVE - pending;
                if let (Some(dst), Some(src)) = (
                    chunk.get_mut(at..CHUNK_RESERVE),
                    self.buf.get(self.start..self.end),
                ) {
                    dst.copy_from_slice(src);
                }
                // Input offsets: buf[start] (old) is chunk[at] (new).
                self.base = self
                    .base
                    .wrapping_add(self.start as u64)
                    .wrapping_sub(at as u64);
                let old = core::mem::replace(&mut self.buf, chunk);
                self.start = at;
                self.end = CHUNK_RESERVE + n;
                if old.len() == CHUNK_RESERVE + CHUNK_LEN {
                    let _ = feed.spare.send(old);
                }
            } else {
                // A record longer than the reserve: grow the current buffer instead.
                self.buf.truncate(self.end);
                self.buf.drain(..self.start);
                self.base = self.base.wrapping_add(self.start as u64);
                self.start = 0;
                let data = chunk
                    .get(CHUNK_RESERVE..CHUNK_RESERVE.saturating_add(n))
                    .unwrap_or(&[]);
                self.buf.extend_from_slice(data);
                self.end = self.buf.len();
                let _ = feed.spare.send(chunk);
            }
        }
        Ok(self.end - self.start)
    }

    /// The error for an input that ends `available` bytes into a record of `needed` bytes that
    /// starts at the current position.
    fn truncated(&self, needed: usize, available: usize) -> SourceError {
        SourceError::Truncated {
            offset: self.bytes_read(),
            needed: needed as u64,
            available: available as u64,
        }
    }

    fn corrupt(&self, reason: &'static str) -> SourceError {
        SourceError::Corrupt {
            offset: self.bytes_read(),
            reason,
        }
    }

    fn next_pcap_record(&mut self) -> Result<Option<Record>, SourceError> {
        let h = self.pcap;
        let hlen = h.record_header_len;
        let avail = self.fill(hlen)?;
        if avail < hlen {
            if avail == 0 {
                return Ok(None);
            }
            return Err(self.truncated(hlen, avail));
        }
        let b = &self.buf[self.start..self.end];
        let be = h.big_endian;
        let (sec, frac, incl, orig) = (
            rd32(b, 0, be),
            rd32(b, 4, be),
            rd32(b, 8, be),
            rd32(b, 12, be),
        );
        if incl as usize > MAX_RECORD_LEN {
            return Err(self.corrupt("pcap record length above 256 MiB"));
        }
        let need = hlen + incl as usize;
        let avail = self.fill(need)?;
        if avail < need {
            return Err(self.truncated(need, avail));
        }
        let nanos = if h.nanos {
            i64::from(frac)
        } else {
            i64::from(frac) * 1000
        };
        let rec = Record {
            ts: Timestamp::from_secs_nanos(i64::from(sec), nanos),
            linktype: h.linktype,
            orig_len: orig.max(incl),
            offset: self.start + hlen,
            len: incl as usize,
        };
        self.start += need;
        self.ahead_n = self.ahead_n.saturating_sub(1);
        Ok(Some(rec))
    }

    /// See [`PacketSource::lookahead`]: walks buffered classic-pcap records ahead of the position.
    fn lookahead_pcap(&mut self, max_ahead: usize, f: &mut dyn FnMut(Ahead<'_>)) {
        if !matches!(self.format, CaptureFormat::Pcap { .. }) || self.done {
            return;
        }
        if self.hinted {
            return self.lookahead_hints(max_ahead, f);
        }
        let cur = self.base.wrapping_add(self.start as u64);
        if self.ahead_abs < cur {
            self.ahead_abs = cur;
            self.ahead_n = 0;
        }
        let h = self.pcap;
        let hlen = h.record_header_len;
        while self.ahead_n < max_ahead {
            let Some(at) = self.ahead_abs.wrapping_sub(self.base).try_into().ok() else {
                return;
            };
            let Some(head) = self.buf.get(at..self.end).filter(|b| b.len() >= hlen) else {
                return;
            };
            let incl = rd32(head, 8, h.big_endian) as usize;
            let Some(data) = head.get(hlen..hlen.saturating_add(incl)) else {
                return;
            };
            f(Ahead::Frame(h.linktype, data));
            self.ahead_abs += (hlen + incl) as u64;
            self.ahead_n += 1;
            // The chunk was filled by the read-ahead thread on another core: start loading the
            // next few KiB here, so the record headers read next are not each a cache miss.
            let target = self.ahead_abs.saturating_add(BUFFER_PREFETCH);
            let mut pf = self.prefetched_abs.max(self.ahead_abs);
            while pf < target {
                let Some(b) = pf
                    .checked_sub(self.base)
                    .and_then(|o| usize::try_from(o).ok())
                    .and_then(|o| self.buf.get(o..self.end))
                    .and_then(|b| b.first())
                else {
                    break;
                };
                tidysniff_prefetch::read(b);
                pf += 64;
            }
            self.prefetched_abs = pf;
        }
    }

    /// [`Self::lookahead_pcap`] with the read-ahead thread's hints: passes the hints of the next
    /// `max_ahead` records and prefetches their first bytes (record header, link, IP and
    /// transport headers) out of the chunk, which was written on the reading thread's core.
    fn lookahead_hints(&mut self, max_ahead: usize, f: &mut dyn FnMut(Ahead<'_>)) {
        let cur = self.base.wrapping_add(self.start as u64);
        while self.hints.front().is_some_and(|&(at, _)| at < cur) {
            self.hints.pop_front();
            self.hints_given = self.hints_given.saturating_sub(1);
        }
        while self.hints_given < max_ahead {
            let Some(&(at, hint)) = self.hints.get(self.hints_given) else {
                return;
            };
            let first = at
                .checked_sub(self.base)
                .and_then(|o| usize::try_from(o).ok())
                .and_then(|o| self.buf.get(o..self.end));
            if let Some(b) = first {
                // Every line of the first 81 bytes (lines are 64 bytes, so 40 apart hit each).
                for off in [0, 40, 80] {
                    if let Some(x) = b.get(off) {
                        tidysniff_prefetch::read(x);
                    }
                }
            }
            f(Ahead::Hint(hint));
            self.hints_given += 1;
        }
    }

    fn next_ng_record(&mut self) -> Result<Option<Record>, SourceError> {
        loop {
            if let Some(rec) = self.next_block()? {
                return Ok(Some(rec));
            }
            if self.end == self.start && self.eof {
                return Ok(None);
            }
        }
    }

    /// Reads and applies one pcapng block; returns the packet when it was one. `Ok(None)` with no
    /// bytes left at end of input is the end.
    fn next_block(&mut self) -> Result<Option<Record>, SourceError> {
        // Type, total length, and the first body word (the byte-order magic of an SHB).
        let avail = self.fill(12)?;
        if avail < 12 {
            if avail == 0 {
                return Ok(None);
            }
            return Err(self.truncated(12, avail));
        }
        let b = &self.buf[self.start..self.end];
        let mut be = self.ng_big_endian;
        let btype = rd32(b, 0, be);
        if btype == block::SHB {
            be = match rd32(b, 8, false) {
                BYTE_ORDER_MAGIC => false,
                m if m == BYTE_ORDER_MAGIC.swap_bytes() => true,
                _ => return Err(self.corrupt("pcapng section header has a bad byte-order magic")),
            };
        }
        let len = rd32(b, 4, be) as usize;
        if len < 12 {
            return Err(self.corrupt("pcapng block length below 12"));
        }
        if len % 4 != 0 {
            return Err(self.corrupt("pcapng block length not a multiple of 4"));
        }
        if len > MAX_RECORD_LEN {
            return Err(self.corrupt("pcapng block length above 256 MiB"));
        }
        let avail = self.fill(len)?;
        if avail < len {
            return Err(self.truncated(len, avail));
        }
        let b = &self.buf[self.start..self.start + len];
        if rd32(b, len - 4, be) as usize != len {
            return Err(
                self.corrupt("pcapng block trailing length differs from its leading length")
            );
        }
        let body = &b[8..len - 4];
        let parsed = match parse_block(btype, body, be, &self.interfaces) {
            Ok(p) => p,
            Err(reason) => return Err(self.corrupt(reason)),
        };
        let body_start = self.start + 8;
        self.start += len;
        match parsed {
            Block::Section { big_endian } => {
                self.ng_big_endian = big_endian;
                self.interfaces.clear();
                Ok(None)
            }
            Block::Interface(i) => {
                self.interfaces.push(i);
                Ok(None)
            }
            Block::Packet {
                ts,
                linktype,
                orig_len,
                data_offset,
                data_len,
            } => Ok(Some(Record {
                ts: ts.unwrap_or(self.last_ts),
                linktype,
                orig_len,
                offset: body_start + data_offset,
                len: data_len,
            })),
            Block::Skip => Ok(None),
        }
    }
}

impl<R: Read> PacketSource for CaptureReader<R> {
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, SourceError> {
        Ok(self.next_packet()?.map(SourceEvent::Packet))
    }

    fn lookahead(&mut self, max_ahead: usize, f: &mut dyn FnMut(Ahead<'_>)) {
        self.lookahead_pcap(max_ahead, f)
    }
}

/// Parses the body of one pcapng block (everything between the leading length and the trailing
/// length). Pure: the caller applies the result.
fn parse_block(
    btype: u32,
    body: &[u8],
    be: bool,
    interfaces: &[Interface],
) -> Result<Block, &'static str> {
    match btype {
        block::SHB => {
            // byte-order magic, major, minor, section length.
            if body.len() < 16 {
                return Err("pcapng section header block too short");
            }
            if rd16(body, 4, be) != 1 {
                return Err("pcapng section header has an unsupported major version");
            }
            Ok(Block::Section { big_endian: be })
        }
        block::IDB => parse_interface(body, be).map(Block::Interface),
        block::EPB => {
            // interface id, timestamp high, timestamp low, captured length, original length.
            if body.len() < 20 {
                return Err("pcapng enhanced packet block too short");
            }
            let iface = interface(interfaces, rd32(body, 0, be))?;
            let units = (u64::from(rd32(body, 4, be)) << 32) | u64::from(rd32(body, 8, be));
            let caplen = rd32(body, 12, be);
            packet(
                iface.timestamp(units),
                iface,
                caplen,
                rd32(body, 16, be),
                body.len() - 20,
            )
        }
        block::PB => {
            // interface id (16 bits), drops count (16 bits), timestamp high, timestamp low,
            // captured length, original length.
            if body.len() < 20 {
                return Err("pcapng packet block too short");
            }
            let iface = interface(interfaces, u32::from(rd16(body, 0, be)))?;
            let units = (u64::from(rd32(body, 4, be)) << 32) | u64::from(rd32(body, 8, be));
            let caplen = rd32(body, 12, be);
            packet(
                iface.timestamp(units),
                iface,
                caplen,
                rd32(body, 16, be),
                body.len() - 20,
            )
        }
        block::SPB => {
            // original length, then data up to the snap length of interface 0.
            if body.len() < 4 {
                return Err("pcapng simple packet block too short");
            }
            let iface = interface(interfaces, 0)?;
            let orig_len = rd32(body, 0, be);
            let mut caplen = (orig_len as usize).min(body.len() - 4);
            if iface.snaplen != 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
            Ok(Block::Packet {
                ts: None,
                linktype: iface.linktype,
                orig_len,
                data_offset: 4,
                data_len: caplen,
            })
        }
        _ => Ok(Block::Skip),
    }
}

fn interface(interfaces: &[Interface], id: u32) -> Result<&Interface, &'static str> {
    interfaces
        .get(id as usize)
        .ok_or("pcapng packet references an unknown interface")
}

/// An EPB or PB whose data starts at body offset 20, with `room` body bytes after the header.
fn packet(
    ts: Timestamp,
    iface: &Interface,
    caplen: u32,
    orig_len: u32,
    room: usize,
) -> Result<Block, &'static str> {
    if caplen as usize > room {
        return Err("pcapng packet captured length exceeds its block");
    }
    Ok(Block::Packet {
        ts: Some(ts),
        linktype: iface.linktype,
        orig_len: orig_len.max(caplen),
        data_offset: 20,
        data_len: caplen as usize,
    })
}

/// Parses an Interface Description Block body: link type, reserved, snap length, options.
fn parse_interface(body: &[u8], be: bool) -> Result<Interface, &'static str> {
    if body.len() < 8 {
        return Err("pcapng interface description block too short");
    }
    let mut iface = Interface {
        linktype: LinkType(rd16(body, 0, be)),
        snaplen: rd32(body, 4, be),
        resolution: TsResolution::MICROS,
        offset_ns: 0,
    };
    let mut opts = body.get(8..).unwrap_or_default();
    while opts.len() >= 4 {
        let code = rd16(opts, 0, be);
        let len = usize::from(rd16(opts, 2, be));
        if code == 0 {
            break; // opt_endofopt
        }
        let Some(value) = opts.get(4..4 + len) else {
            return Err("pcapng interface option overruns its block");
        };
        match (code, value) {
            // if_tsresol
            (9, [v, ..]) => iface.resolution = TsResolution::from_option(*v),
            // if_tsoffset: signed seconds.
            (14, v) if v.len() >= 8 => {
                iface.offset_ns = i128::from(rd64(v, 0, be) as i64) * 1_000_000_000
            }
            _ => {}
        }
        // Values are padded to 4 bytes; a missing pad after the last option is tolerated.
        opts = opts.get(4 + ((len + 3) & !3)..).unwrap_or_default();
    }
    Ok(iface)
}

/// The 16-bit value at `at`; 0 when out of range (callers check lengths first).
#[inline(always)]
fn rd16(b: &[u8], at: usize, be: bool) -> u16 {
    match b.get(at..).and_then(<[u8]>::first_chunk::<2>) {
        Some(&c) if be => u16::from_be_bytes(c),
        Some(&c) => u16::from_le_bytes(c),
        None => 0,
    }
}

/// The 32-bit value at `at`; 0 when out of range (callers check lengths first).
#[inline(always)]
fn rd32(b: &[u8], at: usize, be: bool) -> u32 {
    match b.get(at..).and_then(<[u8]>::first_chunk::<4>) {
        Some(&c) if be => u32::from_be_bytes(c),
        Some(&c) => u32::from_le_bytes(c),
        None => 0,
    }
}

/// The 64-bit value at `at`; 0 when out of range (callers check lengths first).
#[inline(always)]
fn rd64(b: &[u8], at: usize, be: bool) -> u64 {
    match b.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        Some(&c) if be => u64::from_be_bytes(c),
        Some(&c) => u64::from_le_bytes(c),
        None => 0,
    }
}

/// Builders of capture bytes for tests (also used by the merge tests).
#[cfg(test)]
pub(crate) mod build {
    /// A classic pcap file being built.
    pub(crate) struct Pcap {
        pub(crate) be: bool,
        pub(crate) modified: bool,
        pub(crate) bytes: Vec<u8>,
    }

    impl Pcap {
        pub(crate) fn new(be: bool, nanos: bool, linktype_field: u32) -> Self {
            Self::with_magic(be, nanos, false, linktype_field)
        }

        pub(crate) fn with_magic(
            be: bool,
            nanos: bool,
            modified: bool,
            linktype_field: u32,
        ) -> Self {
            let magic: u32 = match (nanos, modified) {
                (_, true) => 0xa1b2_cd34,
                (true, false) => 0xa1b2_3c4d,
                (false, false) => 0xa1b2_c3d4,
            };
            let mut p = Pcap {
                be,
                modified,
                bytes: Vec::new(),
            };
            p.u32(magic);
            p.u16(2);
            p.u16(4);
            p.u32(0); // thiszone
            p.u32(0); // sigfigs
            p.u32(65535); // snaplen
            p.u32(linktype_field);
            p
        }

        pub(crate) fn u16(&mut self, v: u16) {
            let b = if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.bytes.extend_from_slice(&b);
        }

        pub(crate) fn u32(&mut self, v: u32) {
            let b = if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.bytes.extend_from_slice(&b);
        }

        /// A record; `frac` is in the file's unit (µs or ns).
        pub(crate) fn record(
            &mut self,
            sec: u32,
            frac: u32,
            data: &[u8],
            orig_len: u32,
        ) -> &mut Self {
            self.u32(sec);
            self.u32(frac);
            self.u32(data.len() as u32);
            self.u32(orig_len);
            if self.modified {
                self.u32(7); // ifindex
                self.u16(0x0800); // protocol
                self.bytes.push(0); // pkt_type
                self.bytes.push(0); // pad
            }
            self.bytes.extend_from_slice(data);
            self
        }
    }

    /// A pcapng file being built (byte order can change at each SHB).
    pub(crate) struct Ng {
        pub(crate) be: bool,
        pub(crate) bytes: Vec<u8>,
    }

    impl Ng {
        pub(crate) fn new(be: bool) -> Self {
            let mut n = Ng {
                be,
                bytes: Vec::new(),
            };
            n.shb(be);
            n
        }

        fn enc32(&self, v: u32) -> [u8; 4] {
            if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        fn enc16(&self, v: u16) -> [u8; 2] {
            if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        /// A block with this body (padded to 4 here).
        pub(crate) fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
            let padded = (body.len() + 3) & !3;
            let total = (12 + padded) as u32;
            let (t, l) = (self.enc32(btype), self.enc32(total));
            self.bytes.extend_from_slice(&t);
            self.bytes.extend_from_slice(&l);
            self.bytes.extend_from_slice(body);
            self.bytes.resize(self.bytes.len() + padded - body.len(), 0);
            self.bytes.extend_from_slice(&l);
            self
        }

        pub(crate) fn shb(&mut self, be: bool) -> &mut Self {
            self.be = be;
            let mut body = Vec::new();
            body.extend_from_slice(&self.enc32(0x1A2B_3C4D));
            body.extend_from_slice(&self.enc16(1));
            body.extend_from_slice(&self.enc16(0));
            body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown (-1)
            self.block(0x0A0D_0D0A, &body)
        }

        /// An IDB; options as (code, value).
        pub(crate) fn idb(
            &mut self,
            linktype: u16,
            snaplen: u32,
            opts: &[(u16, Vec<u8>)],
        ) -> &mut Self {
            let mut body = Vec::new();
            body.extend_from_slice(&self.enc16(linktype));
            body.extend_from_slice(&self.enc16(0));
            body.extend_from_slice(&self.enc32(snaplen));
            for (code, v) in opts {
                body.extend_from_slice(&self.enc16(*code));
                body.extend_from_slice(&self.enc16(v.len() as u16));
                body.extend_from_slice(v);
                body.resize((body.len() + 3) & !3, 0);
            }
            if !opts.is_empty() {
                body.extend_from_slice(&[0, 0, 0, 0]);
            }
            self.block(1, &body)
        }

        /// An `if_tsoffset` option value in this section's byte order.
        pub(crate) fn tsoffset(&self, secs: i64) -> Vec<u8> {
            if self.be {
                secs.to_be_bytes().to_vec()
            } else {
                secs.to_le_bytes().to_vec()
            }
        }

        pub(crate) fn epb(
            &mut self,
            iface: u32,
            units: u64,
            data: &[u8],
            orig_len: u32,
        ) -> &mut Self {
            let mut body = Vec::new();
            for v in [
                iface,
                (units >> 32) as u32,
                units as u32,
                data.len() as u32,
                orig_len,
            ] {
                body.extend_from_slice(&self.enc32(v));
            }
            body.extend_from_slice(data);
            self.block(6, &body)
        }

        pub(crate) fn pb(
            &mut self,
            iface: u16,
            units: u64,
            data: &[u8],
            orig_len: u32,
        ) -> &mut Self {
            let mut body = Vec::new();
            body.extend_from_slice(&self.enc16(iface));
            body.extend_from_slice(&self.enc16(0));
            for v in [
                (units >> 32) as u32,
                units as u32,
                data.len() as u32,
                orig_len,
            ] {
                body.extend_from_slice(&self.enc32(v));
            }
            body.extend_from_slice(data);
            self.block(2, &body)
        }

        pub(crate) fn spb(&mut self, data: &[u8], orig_len: u32) -> &mut Self {
            let mut body = self.enc32(orig_len).to_vec();
            body.extend_from_slice(data);
            self.block(3, &body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::{Ng, Pcap};
    use super::*;

    /// An owned copy of a packet, for comparisons.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Owned {
        ts: i64,
        linktype: u16,
        orig_len: u32,
        data: Vec<u8>,
    }

    fn owned(p: &Packet<'_>) -> Owned {
        Owned {
            ts: p.ts.0,
            linktype: p.linktype.0,
            orig_len: p.orig_len,
            data: p.data.to_vec(),
        }
    }

    /// Every packet, and the error that ended the input if any.
    fn read_all<R: Read>(mut r: CaptureReader<R>) -> (Vec<Owned>, Option<SourceError>) {
        let mut out = Vec::new();
        loop {
            match r.next_packet() {
                Ok(Some(p)) => out.push(owned(&p)),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// A hint of the first four data bytes (None when fewer are given).
    fn first4(_: LinkType, d: &[u8]) -> Option<u64> {
        Some(u64::from(u32::from_le_bytes(*d.first_chunk::<4>()?)))
    }

    /// A capture whose records carry their number in their first four bytes, with sizes that
    /// put record headers across chunk ends of every small size; and its record offsets.
    fn numbered(be: bool, nanos: bool, n: u32) -> (Vec<u8>, Vec<u64>) {
        let mut p = Pcap::new(be, nanos, 1);
        let mut offsets = Vec::new();
        for i in 0..n {
            offsets.push(p.bytes.len() as u64);
            let len = 4 + (i as usize * 37) % 300;
            let mut data = vec![0xee; len];
            data[..4].copy_from_slice(&i.to_le_bytes());
            p.record(1_700_000_000, i, &data, len as u32);
        }
        (p.bytes, offsets)
    }

    #[test]
    fn hint_walker_finds_every_record_whatever_the_chunk_sizes() {
        for be in [false, true] {
            let (bytes, offsets) = numbered(be, be, 400);
            for chunk in [1, 2, 3, 7, 15, 16, 17, 23, 64, 333, 4096, bytes.len()] {
                let mut w = HintWalker::new(first4);
                let mut got = Vec::new();
                for c in bytes.chunks(chunk) {
                    w.walk(c, &mut got);
                }
                // Every hint names a record start and that record's value; a record whose first
                // four data bytes were cut by a chunk end may have none.
                for &(at, v) in &got {
                    let i = offsets.binary_search(&at).expect("not a record start");
                    assert_eq!(v, i as u64, "chunk {chunk}");
                }
                assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
                if chunk >= 4096 {
                    let cut = got.len().abs_diff(offsets.len());
                    assert!(
                        cut <= bytes.len() / chunk + 1,
                        "chunk {chunk}: {cut} missing"
                    );
                } else if chunk >= 64 {
                    assert!(got.len() * 10 >= offsets.len() * 9, "chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn hint_walker_stops_on_other_formats_and_bogus_lengths() {
        let mut got = Vec::new();
        let mut w = HintWalker::new(first4);
        w.walk(&Ng::new(false).bytes, &mut got);
        assert!(got.is_empty() && w.next.is_none());
        // A modified pcap (24-byte record headers) is not walked.
        let mut m = Pcap::with_magic(false, false, true, 1);
        m.record(1, 0, &[1, 2, 3, 4], 4);
        let mut w = HintWalker::new(first4);
        w.walk(&m.bytes, &mut got);
        assert!(got.is_empty());
        // A record length above the maximum ends the walk; nothing after it is hinted.
        let (mut bytes, offsets) = numbered(false, false, 10);
        let at = offsets[3] as usize + 8;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut w = HintWalker::new(first4);
        w.walk(&bytes, &mut got);
        assert_eq!(got.iter().map(|h| h.1).collect::<Vec<_>>(), [0, 1, 2]);
        w.walk(&[0; 100], &mut got);
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn read_ahead_with_hints_passes_each_records_hint_in_order() {
        // Several chunks' worth: 1 MiB chunks, ~4,000 records of up to 1,200 bytes.
        let mut p = Pcap::new(false, false, 1);
        let n = 4000u32;
        for i in 0..n {
            let len = 4 + (i as usize * 7919) % 1200;
            let mut data = vec![0x55; len];
            data[..4].copy_from_slice(&i.to_le_bytes());
            p.record(1_700_000_000, i, &data, len as u32);
        }
        let (want, _) = read_bytes(&p.bytes);
        let mut r =
            CaptureReader::read_ahead_with_hints(std::io::Cursor::new(p.bytes), first4).unwrap();
        let mut got = Vec::new();
        let mut hinted = Vec::new();
        loop {
            r.lookahead(12, &mut |a| match a {
                Ahead::Hint(v) => hinted.push(v),
                Ahead::Frame(..) => panic!("a frame from a hinted reader"),
            });
            match r.next_packet() {
                Ok(Some(pk)) => got.push(owned(&pk)),
                Ok(None) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(got == want, "hinted read-ahead packets differ");
        // Each hint once, in record order; only records cut by a chunk end may lack one.
        assert!(hinted.windows(2).all(|w| w[0] < w[1]), "hints out of order");
        assert!(hinted.len() as u32 >= n - 8, "{} hints", hinted.len());
        // pcapng is read without hints (and without lookahead).
        let ng = Ng::new(false).bytes;
        let r = CaptureReader::read_ahead_with_hints(std::io::Cursor::new(ng), first4).unwrap();
        assert!(!r.hinted);
    }

    #[test]
    fn read_ahead_yields_the_same_packets_across_chunk_boundaries() {
        // 3.5 MiB of records of varied sizes, some larger than the chunk reserve, so records
        // straddle chunk boundaries both ways; plus a lookahead walk at every step.
        let mut p = Pcap::new(false, true, 1);
        let mut n = 0u32;
        let mut size = 0usize;
        while p.bytes.len() < 3_600_000 {
            let len = match n % 50 {
                7 => 200_000,
                13 => 70_000,
                _ => 1 + (n as usize * 7919) % 1600,
            };
            let data: Vec<u8> = (0..len).map(|i| (i as u32 ^ n) as u8).collect();
            p.record(1_700_000_000 + n, 5, &data, len as u32);
            n += 1;
            size += len;
        }
        assert!(size > 3 * CHUNK_LEN);
        let (want, err) = read_bytes(&p.bytes);
        assert!(err.is_none());
        let mut r = CaptureReader::read_ahead(std::io::Cursor::new(p.bytes.clone())).unwrap();
        let mut got = Vec::new();
        let mut seen_ahead = Vec::new();
        loop {
            r.lookahead(12, &mut |a| {
                if let Ahead::Frame(_, d) = a {
                    seen_ahead.push(d.len())
                }
            });
            match r.next_packet() {
                Ok(Some(pk)) => got.push(owned(&pk)),
                Ok(None) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got.len(), want.len());
        assert!(got == want, "read-ahead packets differ");
        // Lookahead passes packets in order, each at most once, and never a wrong one.
        let lens: Vec<usize> = want.iter().map(|w| w.data.len()).collect();
        let mut i = 0;
        for l in &seen_ahead {
            while i < lens.len() && lens[i] != *l {
                i += 1;
            }
            assert!(i < lens.len(), "lookahead length {l} out of order");
            i += 1;
        }
        assert!(
            seen_ahead.len() * 10 > want.len() * 9,
            "{} of {}",
            seen_ahead.len(),
            want.len()
        );
        // A truncated tail is still reported as truncated.
        let cut = &p.bytes[..p.bytes.len() - 10];
        let mut r = CaptureReader::read_ahead(std::io::Cursor::new(cut.to_vec())).unwrap();
        let err = loop {
            match r.next_packet() {
                Ok(Some(_)) => {}
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        assert!(
            matches!(err, Some(SourceError::Truncated { .. })),
            "{err:?}"
        );
    }

    fn read_bytes(bytes: &[u8]) -> (Vec<Owned>, Option<SourceError>) {
        read_all(CaptureReader::new(bytes).expect("header"))
    }

    /// A reader that hands out at most `chunk` bytes per `read` call.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn pkt(ts: i64, linktype: u16, orig_len: u32, data: &[u8]) -> Owned {
        Owned {
            ts,
            linktype,
            orig_len,
            data: data.to_vec(),
        }
    }

    #[test]
    fn pcap_all_magics_both_byte_orders() {
        for be in [false, true] {
            for nanos in [false, true] {
                let mut p = Pcap::new(be, nanos, 0x1000_0001); // FCS bits above the link type
                p.record(1_700_000_000, 123_456, b"abcd", 60);
                p.record(1_700_000_001, 999_999, b"", 0);
                let mut r = CaptureReader::new(&p.bytes[..]).unwrap();
                assert_eq!(
                    r.format(),
                    CaptureFormat::Pcap {
                        nanos,
                        big_endian: be
                    }
                );
                let a = owned(&r.next_packet().unwrap().unwrap());
                let frac_ns = if nanos { 123_456 } else { 123_456_000 };
                assert_eq!(
                    a,
                    pkt(1_700_000_000 * 1_000_000_000 + frac_ns, 1, 60, b"abcd"),
                    "be={be} ns={nanos}"
                );
                let b = owned(&r.next_packet().unwrap().unwrap());
                let frac_ns = if nanos { 999_999 } else { 999_999_000 };
                assert_eq!(b, pkt(1_700_000_001 * 1_000_000_000 + frac_ns, 1, 0, b""));
                assert!(r.next_packet().unwrap().is_none());
                assert!(r.next_packet().unwrap().is_none());
                assert_eq!(r.bytes_read(), p.bytes.len() as u64);
            }
        }
    }

    #[test]
    fn pcap_orig_len_below_captured_len_is_raised() {
        let mut p = Pcap::new(false, false, 1);
        p.record(1, 2, b"0123456789", 4);
        let (pkts, err) = read_bytes(&p.bytes);
        assert!(err.is_none());
        assert_eq!(pkts[0].orig_len, 10);
    }

    #[test]
    fn pcap_modified_magic() {
        for be in [false, true] {
            let mut p = Pcap::with_magic(be, false, true, 113);
            p.record(10, 500_000, b"xyz", 3).record(11, 0, b"", 0);
            let r = CaptureReader::new(&p.bytes[..]).unwrap();
            assert_eq!(r.format(), CaptureFormat::PcapModified { big_endian: be });
            let (pkts, err) = read_all(r);
            assert!(err.is_none());
            assert_eq!(
                pkts,
                vec![
                    pkt(10_500_000_000, 113, 3, b"xyz"),
                    pkt(11_000_000_000, 113, 0, b"")
                ]
            );
        }
    }

    /// Two interfaces (Ethernet at µs, raw IP at ns with a +100 s offset), EPBs on both.
    fn two_interface_ng(be: bool) -> Vec<u8> {
        let mut n = Ng::new(be);
        n.idb(1, 0, &[]);
        let off = n.tsoffset(100);
        n.idb(101, 0, &[(9, vec![9]), (14, off)]);
        n.epb(0, 1_700_000_000_123_456, b"eth-frame", 9);
        n.epb(1, 1_700_000_000_123_456_789, b"ip", 1500);
        n.bytes
    }

    #[test]
    fn pcapng_two_interfaces_tsresol_and_tsoffset() {
        for be in [false, true] {
            let bytes = two_interface_ng(be);
            let r = CaptureReader::new(&bytes[..]).unwrap();
            assert_eq!(r.format(), CaptureFormat::Pcapng);
            let (pkts, err) = read_all(r);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(
                pkts,
                vec![
                    pkt(1_700_000_000_123_456_000, 1, 9, b"eth-frame"),
                    pkt(1_700_000_100_123_456_789, 101, 1500, b"ip"),
                ]
            );
        }
    }

    #[test]
    fn pcapng_tsresol_other_units() {
        let mut n = Ng::new(false);
        n.idb(1, 0, &[(9, vec![0x80 | 10])]); // 2^-10 s
        n.idb(1, 0, &[(9, vec![12])]); // picoseconds
        n.idb(1, 0, &[(9, vec![0])]); // seconds
        n.idb(1, 0, &[(9, vec![0x80 | 127])]); // 2^-127 s
        n.idb(1, 0, &[(9, vec![100])]); // 10^-100 s
        n.epb(0, 3 * 1024 + 1, b"", 0); // 3 s + 1/1024 s = 3.0009765625 s
        n.epb(1, 5_000_000_000_123_999, b"", 0);
        n.epb(2, 7, b"", 0);
        n.epb(3, u64::MAX, b"", 0);
        n.epb(4, u64::MAX, b"", 0);
        let (pkts, err) = read_bytes(&n.bytes);
        assert!(err.is_none());
        let ts: Vec<i64> = pkts.iter().map(|p| p.ts).collect();
        assert_eq!(
            ts,
            vec![3_000_976_562, 5_000_000_000_123, 7_000_000_000, 0, 0]
        );
    }

    #[test]
    fn tsresol_decoding() {
        assert_eq!(TsResolution::from_option(6), TsResolution::Mul(1000));
        assert_eq!(TsResolution::from_option(9), TsResolution::Mul(1));
        assert_eq!(TsResolution::from_option(10), TsResolution::Div(10));
        assert_eq!(
            TsResolution::from_option(28),
            TsResolution::Div(10u64.pow(19))
        );
        assert_eq!(TsResolution::from_option(29), TsResolution::Zero);
        assert_eq!(
            TsResolution::from_option(0x80 | 30).to_nanos(1 << 30),
            1_000_000_000
        );
        // Saturates instead of overflowing.
        let i = Interface {
            linktype: LinkType(1),
            snaplen: 0,
            resolution: TsResolution::Mul(1_000_000_000),
            offset_ns: 0,
        };
        assert_eq!(i.timestamp(u64::MAX), Timestamp(i64::MAX));
    }

    #[test]
    fn pcapng_simple_packet_block() {
        let mut n = Ng::new(false);
        n.idb(1, 4, &[]); // snaplen 4
        n.epb(0, 2_000_000, b"ab", 2);
        n.spb(b"0123456789", 10); // cut to snaplen 4
        n.spb(b"01", 2);
        n.spb(b"012345", 3); // original length below the block's data
        let (pkts, err) = read_bytes(&n.bytes);
        assert!(err.is_none());
        assert_eq!(
            pkts,
            vec![
                pkt(2_000_000_000, 1, 2, b"ab"),
                pkt(2_000_000_000, 1, 10, b"0123"),
                pkt(2_000_000_000, 1, 2, b"01"),
                pkt(2_000_000_000, 1, 3, b"012"),
            ]
        );
        // Without snaplen, the block's padded body limits it.
        let mut n = Ng::new(true);
        n.idb(1, 0, &[]);
        n.spb(b"abcde", 9);
        let (pkts, _) = read_bytes(&n.bytes);
        assert_eq!(pkts, vec![pkt(0, 1, 9, b"abcde\0\0\0")]);
    }

    #[test]
    fn pcapng_obsolete_packet_block() {
        let mut n = Ng::new(true);
        n.idb(0, 0, &[]).idb(113, 0, &[]);
        n.pb(1, 1_000_001, b"sll", 70);
        let (pkts, err) = read_bytes(&n.bytes);
        assert!(err.is_none());
        assert_eq!(pkts, vec![pkt(1_000_001_000, 113, 70, b"sll")]);
    }

    #[test]
    fn pcapng_unknown_blocks_are_skipped() {
        let mut n = Ng::new(false);
        n.block(4, b"name resolution"); // NRB before any interface
        n.idb(1, 0, &[]);
        n.block(5, &[0; 40]); // ISB
        n.block(0x0BAD, &[1, 2, 3]);
        n.block(0x4000_0BAD, &[]); // custom
        n.epb(0, 1, b"x", 1);
        n.block(10, &[9; 100]); // DSB
        let (pkts, err) = read_bytes(&n.bytes);
        assert!(err.is_none());
        assert_eq!(pkts, vec![pkt(1000, 1, 1, b"x")]);
    }

    #[test]
    fn pcapng_second_section_other_byte_order_resets_interfaces() {
        let mut n = Ng::new(false);
        n.idb(1, 0, &[]).idb(101, 0, &[(9, vec![9])]);
        n.epb(1, 5, b"le", 2);
        n.shb(true);
        n.idb(113, 0, &[(9, vec![3])]);
        n.epb(0, 5, b"be", 2);
        let (pkts, err) = read_bytes(&n.bytes);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            pkts,
            vec![pkt(5, 101, 2, b"le"), pkt(5_000_000, 113, 2, b"be")]
        );

        // Interface 1 of the first section is gone in the second.
        n.epb(1, 5, b"??", 2);
        let (pkts, err) = read_bytes(&n.bytes);
        assert_eq!(pkts.len(), 2);
        assert!(
            matches!(err, Some(SourceError::Corrupt { reason, .. }) if reason.contains("unknown interface"))
        );
    }

    #[test]
    fn truncated_record_then_none() {
        let mut p = Pcap::new(false, false, 1);
        p.record(1, 0, b"first", 5);
        let second = p.bytes.len();
        p.record(2, 0, b"second", 6);
        for cut in [second + 3, p.bytes.len() - 1] {
            let mut r = CaptureReader::new(&p.bytes[..cut]).unwrap();
            assert!(r.next_packet().unwrap().is_some());
            match r.next_packet() {
                Err(SourceError::Truncated {
                    offset,
                    needed,
                    available,
                }) => {
                    assert_eq!(offset, second as u64);
                    let needed_expected = if cut == second + 3 { 16 } else { 22 };
                    assert_eq!(
                        (needed, available),
                        (needed_expected, (cut - second) as u64)
                    );
                }
                other => panic!("expected Truncated, got {other:?}"),
            }
            assert!(r.next_packet().unwrap().is_none());
            assert!(r.next_packet().unwrap().is_none());
        }

        let bytes = two_interface_ng(false);
        let last = bytes.len() - 36; // the last EPB: 32 bytes of header and trailer + "ip" padded
        let mut r = CaptureReader::new(&bytes[..bytes.len() - 1]).unwrap();
        assert!(r.next_event().unwrap().is_some());
        match r.next_event() {
            Err(SourceError::Truncated {
                offset,
                needed: 36,
                available: 35,
            }) => assert_eq!(offset, last as u64),
            other => panic!("expected Truncated, got {other:?}"),
        }
        assert!(r.next_event().unwrap().is_none());
    }

    #[test]
    fn short_or_foreign_input_is_not_a_capture() {
        for input in [&b""[..], b"\xd4", b"\xd4\xc3\xb2", b"GET / HTTP/1.1"] {
            match CaptureReader::new(input) {
                Err(SourceError::NotACapture { magic, len }) => {
                    let n = input.len().min(4);
                    assert_eq!(len, n);
                    assert_eq!(&magic[..n], &input[..n]);
                }
                other => panic!("expected NotACapture, got {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_file_header() {
        let p = Pcap::new(false, false, 1);
        assert!(matches!(
            CaptureReader::new(&p.bytes[..10]),
            Err(SourceError::Truncated {
                offset: 0,
                needed: 24,
                available: 10
            })
        ));
        let n = Ng::new(false);
        assert!(matches!(
            CaptureReader::new(&n.bytes[..20]),
            Err(SourceError::Truncated {
                offset: 0,
                needed: 28,
                available: 20
            })
        ));
    }

    #[test]
    fn corrupt_block_lengths() {
        let base = Ng::new(false).idb(1, 0, &[]).bytes.clone();
        let at = base.len();
        let mut with_epb = Ng::new(false);
        with_epb.idb(1, 0, &[]).epb(0, 1, b"data", 4);
        let good = with_epb.bytes;
        let set_len = |bytes: &mut Vec<u8>, pos: usize, v: u32| {
            bytes[pos..pos + 4].copy_from_slice(&v.to_le_bytes())
        };

        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                {
                    let mut b = good.clone();
                    set_len(&mut b, at + 4, 8);
                    b
                },
                "below 12",
            ),
            (
                {
                    let mut b = good.clone();
                    set_len(&mut b, at + 4, 38);
                    b
                },
                "multiple of 4",
            ),
            (
                {
                    let mut b = good.clone();
                    set_len(&mut b, at + 4, 300 << 20);
                    b
                },
                "256 MiB",
            ),
            (
                {
                    let mut b = good.clone();
                    let end = b.len();
                    set_len(&mut b, end - 4, 40);
                    b
                },
                "trailing",
            ),
            (
                {
                    let mut b = good.clone();
                    set_len(&mut b, at + 20, 5000);
                    b
                },
                "captured length exceeds",
            ),
            (
                {
                    let mut b = good.clone();
                    set_len(&mut b, at + 8, 3);
                    b
                },
                "unknown interface",
            ),
        ];
        for (bytes, want) in cases {
            let mut r = CaptureReader::new(&bytes[..]).unwrap();
            match r.next_packet() {
                Err(SourceError::Corrupt { offset, reason }) => {
                    assert!(reason.contains(want), "{reason} vs {want}");
                    assert_eq!(offset, at as u64);
                }
                other => panic!("{want}: expected Corrupt, got {other:?}"),
            }
            assert!(r.next_packet().unwrap().is_none());
        }

        // A bad byte-order magic in the first section is reported by `new`.
        let mut b = base.clone();
        b[8] = 0;
        assert!(matches!(
            CaptureReader::new(&b[..]),
            Err(SourceError::Corrupt { offset: 0, .. })
        ));
        // A pcap record length above the cap.
        let mut p = Pcap::new(false, false, 1);
        p.record(1, 0, b"", 0);
        set_len(&mut p.bytes, 24 + 8, (256 << 20) + 1);
        let (_, err) = read_bytes(&p.bytes);
        assert!(matches!(err, Some(SourceError::Corrupt { offset: 24, .. })));
    }

    #[test]
    fn interface_option_overrun_is_corrupt() {
        let mut n = Ng::new(false);
        n.block(1, &[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 200, 0, 6, 0, 0, 0]);
        let mut r = CaptureReader::new(&n.bytes[..]).unwrap();
        assert!(
            matches!(r.next_packet(), Err(SourceError::Corrupt { reason, .. }) if reason.contains("option"))
        );
    }

    #[test]
    fn one_byte_reads_give_the_same_packets() {
        let mut p = Pcap::new(true, true, 1);
        for i in 0..50u32 {
            p.record(i, i * 7, &vec![i as u8; i as usize * 3], i * 3);
        }
        let mut n = Ng::new(false);
        n.idb(1, 0, &[]).idb(101, 0, &[(9, vec![9])]);
        for i in 0..50u32 {
            n.epb(
                i % 2,
                u64::from(i) * 1_000_003,
                &vec![i as u8; i as usize],
                i,
            );
            if i % 7 == 0 {
                n.block(5, &[0; 20]);
            }
            if i == 25 {
                n.shb(true).idb(1, 0, &[]).idb(101, 0, &[(9, vec![9])]);
            }
        }
        for bytes in [p.bytes, n.bytes] {
            let (want, err) = read_bytes(&bytes);
            assert!(err.is_none());
            assert_eq!(want.len(), 50);
            for chunk in [1, 2, 3, 7, 64, 1000] {
                for bufsize in [64, 100, 4096] {
                    let r = CaptureReader::with_buffer_size(
                        Trickle {
                            data: &bytes,
                            chunk,
                        },
                        bufsize,
                    )
                    .unwrap();
                    let (got, err) = read_all(r);
                    assert!(err.is_none());
                    assert_eq!(got, want, "chunk {chunk} buffer {bufsize}");
                }
            }
        }
    }

    /// A reader that, once armed, fails every other call.
    struct Flaky<'a> {
        inner: Trickle<'a>,
        armed: bool,
        fail_next: bool,
    }

    impl Read for Flaky<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.fail_next = self.armed && !self.fail_next;
            if self.fail_next {
                return Err(std::io::Error::new(ErrorKind::WouldBlock, "later"));
            }
            self.inner.read(buf)
        }
    }

    #[test]
    fn io_errors_consume_nothing() {
        let bytes = two_interface_ng(false);
        let (want, _) = read_bytes(&bytes);
        let flaky = Flaky {
            inner: Trickle {
                data: &bytes,
                chunk: 5,
            },
            armed: false,
            fail_next: false,
        };
        let mut r = CaptureReader::with_buffer_size(flaky, 64).unwrap();
        r.reader.armed = true;
        let mut got = Vec::new();
        let mut errors = 0;
        loop {
            match r.next_packet() {
                Ok(Some(p)) => got.push(owned(&p)),
                Ok(None) => break,
                Err(SourceError::Io(_)) => errors += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(errors > 0);
        assert_eq!(got, want);
    }

    #[test]
    fn records_larger_than_the_buffer() {
        let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let mut p = Pcap::new(false, false, 1);
        p.record(1, 0, b"small", 5)
            .record(2, 0, &big, 5000)
            .record(3, 0, b"after", 5);
        let mut n = Ng::new(false);
        n.idb(1, 0, &[])
            .epb(0, 1, b"small", 5)
            .epb(0, 2, &big, 5000)
            .epb(0, 3, b"after", 5);
        for bytes in [p.bytes, n.bytes] {
            for chunk in [1, 333, 1 << 20] {
                let r = CaptureReader::with_buffer_size(
                    Trickle {
                        data: &bytes,
                        chunk,
                    },
                    64,
                )
                .unwrap();
                let (got, err) = read_all(r);
                assert!(err.is_none());
                assert_eq!(got.len(), 3);
                assert_eq!(got[1].data, big);
                assert_eq!(got[2].data, b"after");
            }
        }
        // Larger than the default buffer.
        let huge = vec![0x5a; 3 * DEFAULT_BUFFER_SIZE + 7];
        let mut p = Pcap::new(false, false, 1);
        p.record(1, 0, b"x", 1)
            .record(2, 0, &huge, huge.len() as u32)
            .record(3, 0, b"y", 1);
        let (got, err) = read_bytes(&p.bytes);
        assert!(err.is_none());
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].data.len(), huge.len());
        assert_eq!(got[2].data, b"y");
    }

    #[test]
    fn bogus_length_in_short_input_does_not_allocate_it() {
        let mut p = Pcap::new(false, false, 1);
        p.bytes
            .extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f, 0, 0, 0, 0, 1, 2, 3]);
        let mut r = CaptureReader::with_buffer_size(&p.bytes[..], 64).unwrap();
        assert!(
            matches!(r.next_packet(), Err(SourceError::Truncated { needed, available: 19, .. }) if needed == 16 + (0x0f << 24))
        );
        assert!(r.buf.len() < 4096);
    }

    #[test]
    fn open_reads_a_file() {
        let mut p = Pcap::new(false, true, 1);
        p.record(1, 2, b"file", 4);
        let path = std::env::temp_dir().join(format!("tidysniff-open-{}.pcap", std::process::id()));
        std::fs::write(&path, &p.bytes).unwrap();
        let r = CaptureReader::open(&path);
        std::fs::remove_file(&path).unwrap();
        let (got, err) = read_all(r.unwrap());
        assert!(err.is_none());
        assert_eq!(got, vec![pkt(1_000_000_002, 1, 4, b"file")]);
        assert!(matches!(
            CaptureReader::open(&path),
            Err(SourceError::Io(_))
        ));
    }

    /// Deterministic pseudo-random numbers for the mutation test.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        for _ in 0..=rng.below(4) {
            match rng.below(7) {
                0 => {
                    let i = rng.below(b.len());
                    if let Some(x) = b.get_mut(i) {
                        *x ^= 1 << rng.below(8);
                    }
                }
                1 => {
                    let i = rng.below(b.len());
                    let v = [0u8, 0xff, 0x7f, 0x80, 1, 4, 12, 0x0a][rng.below(8)];
                    if let Some(x) = b.get_mut(i) {
                        *x = v;
                    }
                }
                2 => b.truncate(rng.below(b.len() + 1)),
                3 => {
                    // An interesting 32-bit value at a 4-aligned offset (lengths, ids, types).
                    let i = rng.below(b.len() / 4) * 4;
                    let v: u32 = [
                        0,
                        1,
                        2,
                        3,
                        6,
                        11,
                        12,
                        13,
                        0xffff_ffff,
                        0x0A0D_0D0A,
                        0x1000_0000,
                        256 << 20,
                    ][rng.below(12)];
                    if i + 4 <= b.len() {
                        b[i..i + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
                4 => {
                    let i = rng.below(b.len() + 1);
                    let n = rng.below(16);
                    let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                    b.splice(i..i, bytes);
                }
                5 => {
                    let i = rng.below(b.len());
                    let n = rng.below(16).min(b.len() - i.min(b.len()));
                    b.drain(i..i + n);
                }
                _ => {
                    // Duplicate a slice (repeats blocks, such as a second SHB).
                    let i = rng.below(b.len());
                    let n = rng.below(64).min(b.len() - i.min(b.len()));
                    let dup = b[i..i + n].to_vec();
                    let at = rng.below(b.len() + 1);
                    b.splice(at..at, dup);
                }
            }
        }
        b
    }

    #[test]
    fn mutated_inputs_never_panic_and_terminate() {
        let mut p = Pcap::new(false, false, 1);
        for i in 0..6u32 {
            p.record(i, i, &vec![i as u8; 10 + i as usize], 64);
        }
        let mut pn = Pcap::new(true, true, 276);
        pn.record(1, 1, b"0123456789", 10).record(2, 2, b"", 0);
        let mut n = Ng::new(false);
        n.idb(1, 8, &[(9, vec![9])]).idb(
            101,
            0,
            &[(9, vec![0x85]), (14, 7i64.to_le_bytes().to_vec())],
        );
        n.epb(0, 1, b"abcdefghij", 10)
            .epb(1, 2, b"ab", 2)
            .spb(b"spb-data", 8)
            .pb(1, 3, b"pb", 9);
        n.block(4, &[0; 8]);
        n.shb(true).idb(113, 0, &[]).epb(0, 4, b"be", 2);
        let seeds = [p.bytes, pn.bytes, n.bytes];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let (mut packets, mut errors) = (0usize, 0usize);
        for case in 0..20_000 {
            let seed = &seeds[case % seeds.len()];
            let input = mutate(&mut rng, seed);
            let chunk = [1, 3, 1 << 20][rng.below(3)];
            let bufsize = [64, 128, 4096][rng.below(3)];
            let mut r = match CaptureReader::with_buffer_size(
                Trickle {
                    data: &input,
                    chunk,
                },
                bufsize,
            ) {
                Ok(r) => r,
                Err(_) => continue,
            };
            // Every record takes at least 12 bytes, so this bounds a reader that terminates.
            let limit = input.len() / 12 + 2;
            let mut n = 0;
            loop {
                match r.next_event() {
                    Ok(Some(SourceEvent::Packet(p))) => {
                        assert!(p.data.len() <= p.orig_len as usize);
                        assert!(p.data.len() <= input.len());
                        n += 1;
                        packets += 1;
                        assert!(n <= limit, "case {case}: no termination");
                    }
                    Ok(Some(SourceEvent::Tick(_))) => panic!("a file yielded a tick"),
                    Ok(None) => break,
                    Err(_) => {
                        errors += 1;
                        assert!(r.next_event().unwrap().is_none());
                        break;
                    }
                }
            }
            assert!(r.bytes_read() <= input.len() as u64);
        }
        assert!(
            packets > 10_000 && errors > 1_000,
            "mutations too mild: {packets} packets, {errors} errors"
        );
    }

    /// Counts packet records by walking lengths over the whole file, independently of the reader.
    /// `None` when the walk finds something it cannot follow.
    fn independent_count(b: &[u8]) -> Option<usize> {
        let word = |at: usize, be: bool| -> Option<u32> {
            let c: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            Some(if be {
                u32::from_be_bytes(c)
            } else {
                u32::from_le_bytes(c)
            })
        };
        let magic = word(0, false)?;
        let mut count = 0;
        if magic == 0x0A0D_0D0A {
            let mut at = 0;
            let mut be = false;
            while at < b.len() {
                if word(at, false)? == 0x0A0D_0D0A {
                    be = word(at + 8, false)? != 0x1A2B_3C4D;
                }
                let t = word(at, be)?;
                let len = word(at + 4, be)? as usize;
                if len < 12 || at + len > b.len() {
                    return None;
                }
                count += usize::from(matches!(t, 2 | 3 | 6));
                at += len;
            }
        } else {
            let be = matches!(magic, 0xd4c3_b2a1 | 0x4d3c_b2a1 | 0x34cd_b2a1);
            let header = if matches!(magic, 0xa1b2_cd34 | 0x34cd_b2a1) {
                24
            } else {
                16
            };
            let mut at = 24;
            while at < b.len() {
                at += header + word(at + 8, be)? as usize;
                count += 1;
            }
            if at != b.len() {
                return None;
            }
        }
        Some(count)
    }

    /// Reads every capture under `$TIDYSNIFF_CORPUS` (e.g. suricata-verify); skipped when unset.
    #[test]
    fn corpus_files_read_fully() {
        let Some(root) = std::env::var_os("TIDYSNIFF_CORPUS") else {
            eprintln!("TIDYSNIFF_CORPUS not set: corpus test skipped");
            return;
        };
        let mut files = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(root)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path
                    .extension()
                    .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
                {
                    files.push(path);
                }
            }
        }
        files.sort();
        assert!(!files.is_empty());
        let (mut pcap, mut pcapng, mut not_capture, mut errors, mut packets) = (0, 0, 0, 0, 0);
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            let r = match CaptureReader::open(path) {
                Ok(r) => r,
                Err(SourceError::NotACapture { .. }) => {
                    not_capture += 1;
                    eprintln!("not a capture: {}", path.display());
                    continue;
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("{}: {e}", path.display());
                    continue;
                }
            };
            match r.format() {
                CaptureFormat::Pcapng => pcapng += 1,
                _ => pcap += 1,
            }
            let (got, err) = read_all(r);
            packets += got.len();
            match err {
                Some(e) => {
                    errors += 1;
                    eprintln!("{}: {e} after {} packets", path.display(), got.len());
                }
                None => {
                    if let Some(n) = independent_count(&bytes) {
                        assert_eq!(got.len(), n, "{}", path.display());
                    }
                }
            }
        }
        eprintln!(
            "corpus: {} files, {pcap} pcap, {pcapng} pcapng, {not_capture} not captures, {errors} errors, {packets} packets",
            files.len()
        );
    }
}
