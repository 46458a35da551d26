//! Events: what the engine tells its caller. Each carries the time, the 1-based frame number (as
//! Wireshark numbers packets across the merged input), the connection uid and the direction.

use crate::decode::IcmpMessage;
use crate::flow::{Dir, Endpoint, History, Proto, Uid};
use crate::time::{Duration, Timestamp};
use core::net::IpAddr;

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Packet time of the packet that caused it (for end-of-flow events: the time it was decided).
    pub ts: Timestamp,
    /// 1-based frame number of that packet (0 when no packet caused it, e.g. at end of input).
    pub frame: u64,
    /// The connection it belongs to (None for packet-level anomalies outside any flow).
    pub uid: Option<Uid>,
    /// Which side sent the packet.
    pub dir: Dir,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// A new connection (the first packet of a flow).
    FlowStart {
        /// Originator.
        orig: Endpoint,
        /// Responder.
        resp: Endpoint,
        /// Protocol.
        proto: Proto,
    },
    /// A SYN from the originator; `count` is 1 for the first, more for retransmissions.
    TcpSyn {
        /// SYNs sent so far.
        count: u32,
    },
    /// A SYN-ACK from the responder; `count` > 1 for retransmissions.
    TcpSynAck {
        /// SYN-ACKs sent so far.
        count: u32,
    },
    /// The three-way handshake completed.
    TcpEstablished {
        /// Time from the SYN to its SYN-ACK.
        rtt: Option<Duration>,
    },
    /// A RST (every RST packet, with the header facts injected-reset checks need).
    TcpRst(RstFacts),
    /// A side that sent a RST sent another packet that is neither a RST nor a SYN (the first such
    /// packet only). Genuine stacks go quiet after a RST, so this marks a race: either this
    /// packet or the RST was not sent by that host (Weaver et al., NDSS 2009; Suricata's
    /// `stream.suspected_rst_inject`).
    TcpAfterRst,
    /// A FIN.
    TcpFin,
    /// An ICMP error about this connection (its quoted packet belongs to it).
    IcmpError {
        /// The router or host that sent it.
        from: IpAddr,
        /// The message.
        msg: IcmpMessage,
    },
    /// The connection is over; its final record.
    ConnEnd(Box<ConnRecord>),
    /// A DNS transaction (query and every response to it, or an unanswered query, or an
    /// unsolicited response).
    Dns(Box<crate::dns::DnsTransaction>),
    /// What a TLS connection showed (written when the connection ends).
    Tls {
        /// The connection's originator.
        orig: Endpoint,
        /// The connection's responder.
        resp: Endpoint,
        /// `"dot"` or `"doh"` when the connection carries encrypted DNS (by port 853 or the
        /// server name of a well-known DoH resolver).
        encrypted_dns: Option<&'static str>,
        /// What was seen.
        summary: Box<crate::tls::TlsSummary>,
    },
    /// An HTTP request and its response.
    Http {
        /// The connection's originator.
        orig: Endpoint,
        /// The connection's responder.
        resp: Endpoint,
        /// The transaction.
        tx: Box<crate::http::HttpTransaction>,
    },
    /// Something malformed or unexpected (Zeek's weird), by stable snake_case name.
    Weird {
        /// Stable id such as `ip_truncated`, `frag_overlap_mismatch`.
        name: &'static str,
    },
}

/// Header facts of one RST packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RstFacts {
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification.
    pub ip_id: u32,
    /// IPv4 don't-fragment bit.
    pub df: bool,
    /// Raw sequence number.
    pub seq: u32,
    /// Acknowledgment number when the ACK flag is set.
    pub ack: Option<u32>,
    /// Receive window (unscaled).
    pub window: u16,
    /// Payload bytes the RST carried.
    pub payload_len: u32,
    /// The RST's sequence number minus the next sequence number this side would send (0 for a
    /// RST exactly at its stream position; `None` before any sequence base is known).
    pub seq_gap: Option<i64>,
    /// RSTs this side has sent so far, this one included.
    pub nth: u32,
}

/// Why a connection record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Closed: both FINs acknowledged (reported at once), or FIN/RST seen and quiet for the
    /// linger time.
    Closed,
    /// Idle for its inactivity timeout.
    Idle,
    /// Evicted because the flow table was full.
    Evicted,
    /// A new connection reused the same addresses and ports.
    Reused,
    /// End of input.
    EndOfInput,
}

impl EndReason {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::Idle => "idle",
            EndReason::Evicted => "evicted",
            EndReason::Reused => "reused",
            EndReason::EndOfInput => "end_of_input",
        }
    }
}

/// Last ICMP error seen about a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpNote {
    /// When the last one arrived.
    pub ts: Timestamp,
    /// Who sent it.
    pub from: IpAddr,
    /// The message.
    pub msg: IcmpMessage,
    /// How many such errors quoted this connection.
    pub count: u32,
}

/// Per-direction counters of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    /// Packets.
    pub pkts: u64,
    /// Sum of IP total lengths.
    pub ip_bytes: u64,
    /// Payload bytes: for TCP from sequence numbers (Zeek), for others the sum of payloads.
    pub bytes: u64,
    /// IP TTL / hop limit of the first packet.
    pub ttl: Option<u8>,
    /// Lowest TTL seen.
    pub ttl_min: u8,
    /// Highest TTL seen.
    pub ttl_max: u8,
    /// TCP data segments entirely seen before.
    pub retransmissions: u32,
    /// TCP data segments that filled a hole.
    pub out_of_order: u32,
    /// Packets cut by the snaplen.
    pub truncated: u32,
}

/// The final record of a connection: Zeek conn.log fields and what Zeek lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnRecord {
    /// Connection id.
    pub uid: Uid,
    /// First packet time.
    pub ts: Timestamp,
    /// Last packet time.
    pub last_ts: Timestamp,
    /// Protocol.
    pub proto: Proto,
    /// Originator.
    pub orig: Endpoint,
    /// Responder.
    pub resp: Endpoint,
    /// Zeek's conn_state (S0, S1, SF, REJ, ...).
    pub conn_state: &'static str,
    /// Zeek's history letters.
    pub history: History,
    /// Originator counters.
    pub orig_stats: DirStats,
    /// Responder counters.
    pub resp_stats: DirStats,
    /// Bytes the capture missed (acknowledged but never seen), both directions.
    pub missed_bytes: u64,
    /// SYNs the originator sent, retransmissions included.
    pub syn_count: u32,
    /// SYN-ACKs the responder sent, retransmissions included.
    pub synack_count: u32,
    /// Handshake RTT (SYN-ACK minus the SYN before it).
    pub rtt: Option<Duration>,
    /// Last ICMP error that quoted this connection.
    pub icmp: Option<IcmpNote>,
    /// Outer VLAN id of the first packet.
    pub vlan: Option<u16>,
    /// Frame number of the first packet.
    pub first_frame: u64,
    /// Frame number of the last packet.
    pub last_frame: u64,
    /// Why the record was written.
    pub end: EndReason,
}

impl ConnRecord {
    /// Last minus first packet time.
    pub fn duration(&self) -> Duration {
        self.last_ts.since(self.ts)
    }
}
