//! tidysniff core: packet captures in, typed events out.
//!
//! The library behind the `tidysniff` command, for monitoring tools that want TCP connection
//! state (Zeek's `conn_state` and history, SYN retransmission counts, RTT, TTLs, missed bytes) from
//! pcap, pcapng, stdin or a live interface, without a C library in the default build.
//!
//! # Pipeline
//!
//! Data flows one way; each module uses only the modules before it.
//!
//! ```text
//!  source            decode                      flow         tcp                 event
//!  pcap/pcapng  ->   link, VLAN, tunnels,   ->   FlowTable -> TcpConn: states, -> Event { ts, frame,
//!  stdin, live,      IPv4/IPv6, fragments,       key, uid,    history, seq,        uid, dir, kind }
//!  merge             TCP/UDP/ICMP                LRU, expiry  reassembly             |
//!                                                                                   report (JSON, text)
//! ```
//!
//! - [`source`]: [`source::CaptureReader`] (pure-Rust pcap/pcapng, streaming),
//!   [`source::MergedSource`] (several captures, one timeline), `source::live` (feature `live`).
//! - [`decode`]: pure functions from bytes to headers; never panic, report [`decode::DecodeError`].
//! - [`flow`]: bidirectional [`flow::FlowKey`], deterministic [`flow::Uid`], the bounded
//!   [`flow::FlowTable`].
//! - [`tcp`]: per-connection state, retransmission and gap bookkeeping, bounded reassembly.
//! - [`engine`]: the sans-IO [`engine::Engine`]: `process` packets, `advance` time, `finish`.
//! - [`runtime`]: drive a whole source through one engine or sharded engines on threads.
//! - [`report`]: conn records as JSON Lines (schema in its docs) or text.
//!
//! All timeouts run on packet timestamps ([`time`]); only the live source reads the wall clock.
//!
//! # Example
//!
//! ```
//! use tidysniff_core::engine::{Engine, EngineConfig};
//! use tidysniff_core::event::EventKind;
//! use tidysniff_core::source::{CaptureReader, PacketSource, SourceEvent};
//!
//! let bytes: &[u8] = include_bytes!("../../../fixtures/tcp_syn_timeout.pcap");
//! let mut source = CaptureReader::new(bytes)?;
//! let mut engine = Engine::new(EngineConfig::default());
//! let mut events = Vec::new();
//! while let Some(ev) = source.next_event()? {
//!     if let SourceEvent::Packet(p) = ev {
//!         engine.process(&p, &mut events);
//!     }
//! }
//! engine.finish(&mut events);
//! let unanswered: Vec<_> = events
//!     .iter()
//!     .filter_map(|e| match &e.kind {
//!         EventKind::ConnEnd(r) if r.conn_state == "S0" => Some(r.syn_count),
//!         _ => None,
//!     })
//!     .collect();
//! // One connection attempt, 7 SYNs at the Linux backoff (0, 1, 3, 7, 15, 31, 63 s), no answer.
//! assert_eq!(unanswered, vec![7]);
//! # Ok::<(), tidysniff_core::source::SourceError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod decode;
pub mod diagnose;
pub mod dns;
pub mod engine;
pub mod event;
pub mod flow;
pub mod goenv;
pub mod http;
pub mod report;
pub mod runtime;
pub mod source;
pub mod tcp;
pub mod time;
pub mod tls;
