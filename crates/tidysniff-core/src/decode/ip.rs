//! Network and transport headers: IPv4/IPv6 through etherparse's lax slicer (so snaplen-cut packets
//! still give what they have), then our own checked views of TCP, UDP and ICMP headers.

use core::net::IpAddr;
use etherparse::LaxIpSlice;

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// What the IP header says, as later stages need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpInfo {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol number (after IPv6 extension headers).
    pub protocol: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (0 for IPv6 unless fragmented: then the fragment identification).
    pub ip_id: u32,
    /// IPv4 don't-fragment bit (false for IPv6).
    pub df: bool,
    /// The captured bytes are fewer than the IP length field says (snaplen cut).
    pub truncated: bool,
}

/// Fragment position of an IP packet that is one piece of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragInfo {
    /// Offset of this piece in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// IPv4 identification or IPv6 fragment identification.
    pub id: u32,
}

/// An IP packet cut into header facts and transport bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPacket<'a> {
    /// Header facts.
    pub ip: IpInfo,
    /// Transport bytes as captured (possibly fewer than `payload_len`).
    pub payload: &'a [u8],
    /// Transport length the IP header claims.
    pub payload_len: u32,
    /// Set when this packet is a fragment.
    pub fragment: Option<FragInfo>,
    /// Whole IP packet length per its header (header + payload), as Zeek's `ip_bytes` counts.
    pub total_len: u32,
}

/// Why a packet could not be decoded; each has a stable snake_case name (see [`DecodeError::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is shorter than its link header.
    LinkTruncated,
    /// A link type we do not decode.
    UnknownLinkType(u16),
    /// Too many VLAN tags.
    VlanTooDeep,
    /// Loopback header with an unknown address family.
    UnknownAddressFamily,
    /// The IP header is cut off.
    IpTruncated,
    /// The IP header is malformed (version, header length, total length).
    IpMalformed,
    /// The TCP header is cut off before its first 20 bytes.
    TcpTruncated,
    /// The TCP data offset is below 5.
    TcpBadOffset,
    /// The UDP header is cut off.
    UdpTruncated,
    /// The ICMP header is cut off.
    IcmpTruncated,
    /// Tunnels nested deeper than [`super::MAX_ENCAPSULATION`].
    TooManyEncapsulations,
}

impl DecodeError {
    /// Stable snake_case identifier (Zeek weird style).
    pub fn name(self) -> &'static str {
        match self {
            DecodeError::LinkTruncated => "link_truncated",
            DecodeError::UnknownLinkType(_) => "unknown_link_type",
            DecodeError::VlanTooDeep => "vlan_too_deep",
            DecodeError::UnknownAddressFamily => "unknown_address_family",
            DecodeError::IpTruncated => "ip_truncated",
            DecodeError::IpMalformed => "ip_malformed",
            DecodeError::TcpTruncated => "tcp_header_truncated",
            DecodeError::TcpBadOffset => "tcp_bad_data_offset",
            DecodeError::UdpTruncated => "udp_header_truncated",
            DecodeError::IcmpTruncated => "icmp_truncated",
            DecodeError::TooManyEncapsulations => "too_many_encapsulations",
        }
    }
}

/// Decodes an IPv4 or IPv6 header (with options / extension headers). Lax: a packet cut by the
/// snaplen keeps what was captured and sets [`IpInfo::truncated`].
#[inline]
pub fn parse_ip(data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    match parse_ipv4_plain(data) {
        Some(p) => Ok(p),
        None => parse_ip_general(data),
    }
}

/// The common case of [`parse_ip`] without etherparse: IPv4 without options whose total length
/// lies within the captured bytes and is not an authentication header (the only IPv4 extension).
/// `None` for anything else. Gives exactly what [`parse_ip_general`] gives for the same bytes
/// (unit test and the `decode` fuzz target compare them).
#[inline]
pub(crate) fn parse_ipv4_plain(data: &[u8]) -> Option<IpPacket<'_>> {
    let h: &[u8; 20] = data.get(..20)?.try_into().ok()?;
    if h[0] != 0x45 {
        return None;
    }
    let total = u16::from_be_bytes([h[2], h[3]]);
    let protocol = h[9];
    if total < 20 || usize::from(total) > data.len() || protocol == 51 {
        return None;
    }
    let payload = data.get(20..usize::from(total))?;
    let id = u16::from_be_bytes([h[4], h[5]]);
    let flags = u16::from_be_bytes([h[6], h[7]]);
    let more = flags & 0x2000 != 0;
    let offset = u32::from(flags & 0x1fff) * 8;
    Some(IpPacket {
        ip: IpInfo {
            src: IpAddr::V4([h[12], h[13], h[14], h[15]].into()),
            dst: IpAddr::V4([h[16], h[17], h[18], h[19]].into()),
            protocol,
            ttl: h[8],
            ip_id: u32::from(id),
            df: flags & 0x4000 != 0,
            truncated: false,
        },
        payload,
        payload_len: u32::from(total) - 20,
        fragment: (more || offset != 0).then_some(FragInfo {
            offset,
            more,
            id: u32::from(id),
        }),
        total_len: u32::from(total),
    })
}

/// [`parse_ip`] for every header, through etherparse's lax slicing. Public only so that the fuzz
/// target can compare it with the common-case path.
#[doc(hidden)]
pub fn parse_ip_general(data: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    use etherparse::err::ip::LaxHeaderSliceError;
    let (slice, _ext_err) = LaxIpSlice::from_slice(data).map_err(|e| match e {
        LaxHeaderSliceError::Len(_) => DecodeError::IpTruncated,
        LaxHeaderSliceError::Content(_) => DecodeError::IpMalformed,
    })?;
    let p = slice.payload();
    let payload = p.payload;
    let truncated = p.incomplete;
    let claimed = payload.len() as u32;
    match &slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = u32::from(h.total_len());
            let hl = u32::from(h.ihl()) * 4;
            let payload_len = if total >= hl && total != 0 {
                total - hl
            } else {
                claimed
            };
            let frag_off = u32::from(h.fragments_offset().value()) * 8;
            let fragment = (h.more_fragments() || frag_off != 0).then_some(FragInfo {
                offset: frag_off,
                more: h.more_fragments(),
                id: u32::from(h.identification()),
            });
            Ok(IpPacket {
                ip: IpInfo {
                    src: IpAddr::V4(h.source_addr()),
                    dst: IpAddr::V4(h.destination_addr()),
                    protocol: p.ip_number.0,
                    ttl: h.ttl(),
                    ip_id: u32::from(h.identification()),
                    df: h.dont_fragment(),
                    truncated,
                },
                payload,
                payload_len: payload_len.max(payload.len() as u32),
                fragment,
                total_len: hl + payload_len.max(payload.len() as u32),
            })
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            // Our own checked walk: etherparse 0.21's extension iterator trusts headers that its
            // lax parser did not validate and reads out of bounds (found by fuzzing).
            let fragment = ipv6_fragment(h.next_header().0, v6.extensions().slice());
            // The IPv6 payload length covers extension headers; what follows them is ours.
            let ext_len = v6.extensions().slice().len() as u32;
            let payload_len = u32::from(h.payload_length()).saturating_sub(ext_len);
            Ok(IpPacket {
                ip: IpInfo {
                    src: IpAddr::V6(h.source_addr()),
                    dst: IpAddr::V6(h.destination_addr()),
                    protocol: p.ip_number.0,
                    ttl: h.hop_limit(),
                    ip_id: fragment.map_or(0, |f| f.id),
                    df: false,
                    truncated,
                },
                payload,
                payload_len: payload_len.max(payload.len() as u32),
                fragment,
                total_len: 40 + ext_len + payload_len.max(payload.len() as u32),
            })
        }
    }
}

/// Finds the IPv6 Fragment header among extension headers (`first` = the IPv6 next-header
/// value), checking every length.
fn ipv6_fragment(first: u8, mut exts: &[u8]) -> Option<FragInfo> {
    let mut next = first;
    for _ in 0..16 {
        match next {
            // Fragment: next header, reserved, offset/flags (2), identification (4).
            44 => {
                let b = exts.get(..8)?;
                let off_flags = u16::from_be_bytes([b[2], b[3]]);
                let offset = u32::from(off_flags >> 3) * 8;
                let more = off_flags & 1 == 1;
                if offset == 0 && !more {
                    return None; // atomic fragment: a whole datagram
                }
                let id = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                return Some(FragInfo { offset, more, id });
            }
            // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
            0 | 43 | 60 => {
                let len = (usize::from(*exts.get(1)?) + 1) * 8;
                next = *exts.first()?;
                exts = exts.get(len..)?;
            }
            // Authentication header: (len + 2) * 4 bytes.
            51 => {
                let len = (usize::from(*exts.get(1)?) + 2) * 4;
                next = *exts.first()?;
                exts = exts.get(len..)?;
            }
            _ => return None,
        }
    }
    None
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// A TCP segment header and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful with ACK).
    pub ack: u32,
    /// Flag bits (see [`tcp_flags`]).
    pub flags: u8,
    /// Receive window (unscaled).
    pub window: u16,
    /// Payload bytes as captured.
    pub payload: &'a [u8],
    /// Payload length per the IP header (>= `payload.len()` when cut by the snaplen).
    pub payload_len: u32,
}

impl TcpSegment<'_> {
    /// True when all bits in `mask` are set.
    #[inline]
    pub fn has(&self, mask: u8) -> bool {
        self.flags & mask == mask
    }
}

/// A UDP datagram header and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload bytes as captured.
    pub payload: &'a [u8],
    /// Payload length per the UDP/IP headers.
    pub payload_len: u32,
}

/// The flow an ICMP error quotes: the offending packet's addresses, protocol and ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedFlow {
    /// Source of the quoted packet (our side, normally).
    pub src: IpAddr,
    /// Destination of the quoted packet.
    pub dst: IpAddr,
    /// Its transport protocol.
    pub protocol: u8,
    /// Its source port (0 when not TCP/UDP).
    pub src_port: u16,
    /// Its destination port (0 when not TCP/UDP).
    pub dst_port: u16,
}

/// An ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpMessage {
    /// ICMPv6 rather than ICMPv4.
    pub v6: bool,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Identifier of echo request/reply (0 otherwise).
    pub echo_id: u16,
    /// For error messages (unreachable, time exceeded, ...): the flow the quoted packet belongs to.
    pub quoted: Option<QuotedFlow>,
}

impl IcmpMessage {
    /// True for error messages that quote an offending packet.
    pub fn is_error(&self) -> bool {
        if self.v6 {
            matches!(self.icmp_type, 1..=4)
        } else {
            matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
        }
    }

    /// True for echo request or reply.
    pub fn is_echo(&self) -> bool {
        if self.v6 {
            matches!(self.icmp_type, 128 | 129)
        } else {
            matches!(self.icmp_type, 0 | 8)
        }
    }

    /// A short name such as `"unreach/admin-prohibited"`, `"time-exceeded"`.
    pub fn describe(&self) -> &'static str {
        match (self.v6, self.icmp_type, self.code) {
            (false, 3, 0) => "unreach/net",
            (false, 3, 1) => "unreach/host",
            (false, 3, 2) => "unreach/protocol",
            (false, 3, 3) => "unreach/port",
            (false, 3, 4) => "unreach/frag-needed",
            (false, 3, 9) | (false, 3, 10) | (false, 3, 13) => "unreach/admin-prohibited",
            (false, 3, _) => "unreach/other",
            (false, 11, _) | (true, 3, _) => "time-exceeded",
            (false, 4, _) => "source-quench",
            (false, 5, _) => "redirect",
            (false, 12, _) | (true, 4, _) => "parameter-problem",
            (true, 1, 1) => "unreach/admin-prohibited",
            (true, 1, 0) => "unreach/no-route",
            (true, 1, 3) => "unreach/address",
            (true, 1, 4) => "unreach/port",
            (true, 1, 5) | (true, 1, 6) => "unreach/policy",
            (true, 1, _) => "unreach/other",
            (true, 2, _) => "packet-too-big",
            (false, 0, _) | (true, 129, _) => "echo-reply",
            (false, 8, _) | (true, 128, _) => "echo-request",
            _ => "other",
        }
    }

    /// True when the error says a filter refused the packet (IPv4 codes 9, 10, 13; IPv6 codes 1, 5, 6).
    pub fn is_admin_prohibited(&self) -> bool {
        matches!(
            (self.v6, self.icmp_type, self.code),
            (false, 3, 9 | 10 | 13) | (true, 1, 1 | 5 | 6)
        )
    }
}

/// A decoded transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// UDP.
    Udp(UdpDatagram<'a>),
    /// ICMP or ICMPv6.
    Icmp(IcmpMessage),
    /// Another protocol (its number).
    Other(u8),
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[inline]
fn be32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decodes the transport header of `data` (the IP payload), whose length the IP header gave as
/// `claimed_len`.
pub fn parse_transport(
    protocol: u8,
    data: &[u8],
    claimed_len: u32,
) -> Result<Transport<'_>, DecodeError> {
    let claimed_len = claimed_len.max(data.len() as u32);
    match protocol {
        PROTO_TCP => {
            let (
                Some(src_port),
                Some(dst_port),
                Some(seq),
                Some(ack),
                Some(&off),
                Some(&flags),
                Some(window),
            ) = (
                be16(data, 0),
                be16(data, 2),
                be32(data, 4),
                be32(data, 8),
                data.get(12),
                data.get(13),
                be16(data, 14),
            )
            else {
                return Err(DecodeError::TcpTruncated);
            };
            let hl = usize::from(off >> 4) * 4;
            if hl < 20 {
                return Err(DecodeError::TcpBadOffset);
            }
            // Options cut by the snaplen: keep the fixed header, no payload bytes.
            let payload = data.get(hl..).unwrap_or(&[]);
            Ok(Transport::Tcp(TcpSegment {
                src_port,
                dst_port,
                seq,
                ack,
                flags,
                window,
                payload,
                payload_len: claimed_len.saturating_sub(hl as u32),
            }))
        }
        PROTO_UDP => {
            let (Some(src_port), Some(dst_port), Some(ulen)) =
                (be16(data, 0), be16(data, 2), be16(data, 4))
            else {
                return Err(DecodeError::UdpTruncated);
            };
            let ulen = u32::from(ulen);
            // A UDP length of 0 (jumbograms) or beyond the IP length: trust IP.
            let payload_len = if (8..=claimed_len).contains(&ulen) {
                ulen - 8
            } else {
                claimed_len.saturating_sub(8)
            };
            let end = (8 + payload_len as usize).min(data.len());
            Ok(Transport::Udp(UdpDatagram {
                src_port,
                dst_port,
                payload: data.get(8..end).unwrap_or(&[]),
                payload_len,
            }))
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            let v6 = protocol == PROTO_ICMPV6;
            let (Some(&icmp_type), Some(&code)) = (data.first(), data.get(1)) else {
                return Err(DecodeError::IcmpTruncated);
            };
            let mut msg = IcmpMessage {
                v6,
                icmp_type,
                code,
                echo_id: 0,
                quoted: None,
            };
            if msg.is_echo() {
                msg.echo_id = be16(data, 4).unwrap_or(0);
            } else if msg.is_error() {
                msg.quoted = data.get(8..).and_then(parse_quoted);
            }
            Ok(Transport::Icmp(msg))
        }
        other => Ok(Transport::Other(other)),
    }
}

/// Reads the flow out of the packet an ICMP error quotes (IP header + at least 8 bytes).
fn parse_quoted(data: &[u8]) -> Option<QuotedFlow> {
    let inner = parse_ip(data).ok()?;
    let (src_port, dst_port) = match inner.ip.protocol {
        PROTO_TCP | PROTO_UDP if inner.fragment.is_none_or(|f| f.offset == 0) => {
            (be16(inner.payload, 0)?, be16(inner.payload, 2)?)
        }
        _ => (0, 0),
    };
    Some(QuotedFlow {
        src: inner.ip.src,
        dst: inner.ip.dst,
        protocol: inner.ip.protocol,
        src_port,
        dst_port,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Random IPv4-looking headers (and some that only nearly are), xorshift-seeded.
    pub(crate) fn random_ipv4(seed: &mut u64) -> Vec<u8> {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let len = (next() % 120) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if d.len() >= 20 {
            if next() % 8 != 0 {
                d[0] = if next() % 8 == 0 { 0x46 } else { 0x45 };
            }
            let total = match next() % 4 {
                0 => next() as u16,
                _ => (next() % (d.len() as u64 + 8)) as u16,
            };
            d[2..4].copy_from_slice(&total.to_be_bytes());
            d[9] = [1, 4, 6, 17, 41, 47, 51, next() as u8][(next() % 8) as usize];
            if next() % 2 == 0 {
                d[6] &= 0x40; // most packets are not fragments
                d[7] = 0;
            }
            if d[9] == 17 && d.len() >= 24 && next() % 2 == 0 {
                d[22..24].copy_from_slice(&4789u16.to_be_bytes()); // VXLAN
            }
        }
        d
    }

    #[test]
    fn plain_ipv4_path_gives_what_etherparse_gives() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut fast = 0;
        for _ in 0..200_000 {
            let d = random_ipv4(&mut seed);
            let got = parse_ip(&d);
            assert_eq!(got, parse_ip_general(&d), "{d:02x?}");
            fast += usize::from(parse_ipv4_plain(&d).is_some());
        }
        assert!(fast > 30_000, "the fast path was taken {fast} times");
    }

    // IPv4 20 bytes + TCP SYN 20 bytes, 10.0.0.2:40000 -> 192.0.2.10:80
    const SYN: [u8; 40] = [
        0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00,
        0x00, // ver/ihl .. ttl 64 proto 6
        10, 0, 0, 2, 192, 0, 2, 10, // src, dst
        0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00,
        0x00, // ports, seq 1000, ack 0
        0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, // off 5, SYN, window
    ];

    #[test]
    fn ipv4_tcp_syn() {
        let p = parse_ip(&SYN).unwrap();
        assert_eq!(p.ip.ttl, 64);
        assert!(p.ip.df);
        assert_eq!(p.fragment, None);
        let Transport::Tcp(t) = parse_transport(p.ip.protocol, p.payload, p.payload_len).unwrap()
        else {
            panic!("not tcp")
        };
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (40000, 80, 1000, tcp_flags::SYN)
        );
        assert_eq!(t.payload_len, 0);
    }

    #[test]
    fn icmp_admin_prohibited_quotes_the_syn() {
        let mut pkt = vec![
            0x45, 0, 0, 56, 0, 2, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // outer IPv4
            3, 13, 0, 0, 0, 0, 0, 0, // type 3 code 13
        ];
        pkt.extend_from_slice(&SYN[..28]);
        let p = parse_ip(&pkt).unwrap();
        let Transport::Icmp(m) = parse_transport(p.ip.protocol, p.payload, p.payload_len).unwrap()
        else {
            panic!("not icmp")
        };
        assert!(m.is_admin_prohibited());
        let q = m.quoted.unwrap();
        assert_eq!((q.protocol, q.src_port, q.dst_port), (6, 40000, 80));
        assert_eq!(q.dst, "192.0.2.10".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn snaplen_cut_tcp_keeps_claimed_length() {
        let mut pkt = SYN.to_vec();
        pkt[2..4].copy_from_slice(&1500u16.to_be_bytes());
        let p = parse_ip(&pkt).unwrap();
        assert!(p.ip.truncated);
        let Transport::Tcp(t) = parse_transport(6, p.payload, p.payload_len).unwrap() else {
            panic!()
        };
        assert_eq!(t.payload_len, 1460);
        assert!(t.payload.is_empty());
    }

    #[test]
    fn ipv6_with_a_broken_extension_chain_does_not_read_out_of_bounds() {
        // Found by fuzzing (etherparse's iterator read past a header its lax parser rejected):
        // IPv6, next header hop-by-hop, whose length claims more than the packet has.
        let mut pkt = vec![0x60, 0, 0, 0, 0, 16, 0, 64];
        pkt.extend_from_slice(&[0u8; 32]);
        pkt.extend_from_slice(&[44, 200, 0, 0, 0, 0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 9]);
        let _ = parse_ip(&pkt);
        assert_eq!(ipv6_fragment(0, &pkt[40..]), None);
        // A well-formed chain: destination options, then a fragment at offset 1448, more = 1.
        let chain = [44u8, 0, 1, 4, 0, 0, 0, 0, 6, 0, 0x05, 0xa9, 0, 0, 0, 7];
        assert_eq!(
            ipv6_fragment(60, &chain),
            Some(FragInfo {
                offset: 1448,
                more: true,
                id: 7
            })
        );
    }

    #[test]
    fn every_prefix_decodes_or_errors_without_panic() {
        for n in 0..SYN.len() {
            if let Ok(p) = parse_ip(&SYN[..n]) {
                let _ = parse_transport(p.ip.protocol, p.payload, p.payload_len);
            }
        }
        for proto in [1u8, 6, 17, 58, 99] {
            for n in 0..30 {
                let _ = parse_transport(proto, &[0x45; 30][..n], 0);
            }
        }
    }
}
