//! Sources: where packets come from.
//!
//! A source yields [`SourceEvent`]s: packets with their capture metadata, and (live capture only)
//! ticks that carry the current time so timers can fire while no traffic arrives. Sources do I/O and
//! nothing else: they never decode beyond the capture-file record.
//!
//! - [`file`](mod@file): pure-Rust pcap and pcapng reader over any [`std::io::Read`] (file or stdin), streaming.
//! - [`merge`]: several sources merged into one timeline by timestamp.
//! - `live` (feature `live`): libpcap capture on an interface.

use crate::time::Timestamp;
use core::fmt;

pub mod file;
#[cfg(feature = "live")]
pub mod live;
pub mod merge;

pub use file::CaptureReader;
pub use merge::MergedSource;

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ registry.
/// Unknown values are kept as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (and 802.3).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP as DLT_RAW is numbered on most BSDs (seen in old files).
    pub const RAW_BSD: LinkType = LinkType(12);
    /// Raw IP as DLT_RAW is numbered on OpenBSD.
    pub const RAW_OPENBSD: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, version from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`tcpdump -i any`, older libpcap).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (`tcpdump -i any`, libpcap >= 1.10).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// A short name for reports (`"EN10MB"`, `"LINUX_SLL2"`, ...), or `None` when unknown.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NULL",
            1 => "EN10MB",
            9 => "PPP",
            12 | 14 | 101 => "RAW",
            50 => "PPP_HDLC",
            104 => "C_HDLC",
            108 => "LOOP",
            113 => "LINUX_SLL",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "linktype {}", self.0),
        }
    }
}

/// One captured packet, borrowed from the source's buffer until the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Link-layer type of `data`.
    pub linktype: LinkType,
    /// Length of the packet on the wire; `data.len() < orig_len` means snaplen truncation.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// What a source yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceEvent<'a> {
    /// A packet.
    Packet(Packet<'a>),
    /// No packet arrived before the read timeout; time is now this (live capture only).
    Tick(Timestamp),
}

/// A stream of packets. `Ok(None)` is the end of input.
pub trait PacketSource {
    /// The next packet or tick; the borrow ends at the next call.
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, SourceError>;

    /// Passes packets that are already buffered beyond the current position to `f`, each once,
    /// keeping at most `max_ahead` of them between the position and the last one passed. A hint
    /// for prefetching (see [`crate::engine::Engine::prefetch`]); sources that cannot look ahead
    /// pass nothing (the default).
    fn lookahead(&mut self, max_ahead: usize, f: &mut dyn FnMut(Ahead<'_>)) {
        let _ = (max_ahead, f);
    }
}

/// A packet ahead of a source's position, as [`PacketSource::lookahead`] passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ahead<'a> {
    /// The packet's link type and bytes.
    Frame(LinkType, &'a [u8]),
    /// What the hint function given to [`CaptureReader::read_ahead_with_hints`] computed from
    /// the packet on the read-ahead thread (for the engine: [`crate::engine::Engine::flow_hint`]).
    Hint(u64),
}

/// Why a source could not go on. A [`SourceError::Truncated`] or [`SourceError::Corrupt`] after some
/// packets is the end of that capture: what was read before it stays valid.
#[derive(Debug)]
#[non_exhaustive]
pub enum SourceError {
    /// Reading failed.
    Io(std::io::Error),
    /// The input is not a pcap or pcapng capture (the first four bytes are given).
    NotACapture {
        /// The first bytes of the input (fewer when the input is shorter).
        magic: [u8; 4],
        /// How many bytes the input had when shorter than four, else 4.
        len: usize,
    },
    /// The input ended in the middle of a header or record.
    Truncated {
        /// Byte offset in the input where the incomplete header or record starts.
        offset: u64,
        /// Bytes it needs.
        needed: u64,
        /// Bytes that were there.
        available: u64,
    },
    /// A header or record is malformed (offset and reason).
    Corrupt {
        /// Byte offset in the input where the malformed structure starts.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Live capture failed (feature `live`).
    Live(String),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Io(e) => write!(f, "read error: {e}"),
            SourceError::NotACapture { magic, len } => {
                write!(f, "not a pcap or pcapng capture (starts with")?;
                for b in &magic[..(*len).min(4)] {
                    write!(f, " {b:02x}")?;
                }
                if *len == 0 {
                    write!(f, " nothing: empty input")?;
                }
                write!(f, ")")
            }
            SourceError::Truncated { offset, needed, available } => write!(
                f,
                "capture truncated at byte {offset}: record needs {needed} bytes, {available} present"
            ),
            SourceError::Corrupt { offset, reason } => write!(f, "corrupt capture at byte {offset}: {reason}"),
            SourceError::Live(m) => write!(f, "live capture: {m}"),
        }
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SourceError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for SourceError {
    fn from(e: std::io::Error) -> Self {
        SourceError::Io(e)
    }
}
