//! Decoding: link layer, IP, fragments, transport headers. Pure: bytes in, values out; no I/O, no
//! allocation (fragment reassembly in [`defrag`] owns bounded buffers).
//!
//! Contract: no function here panics on any input. Lengths are checked before every access; a
//! packet that is cut short yields what it has (and says it was cut) or a [`DecodeError`].

pub mod defrag;
pub mod ip;
pub mod link;

pub use ip::{
    parse_ip, parse_transport, tcp_flags, DecodeError, FragInfo, IcmpMessage, IpInfo, IpPacket,
    QuotedFlow, TcpSegment, Transport, UdpDatagram,
};
pub use link::{parse_link, LinkError, LinkInfo};

use crate::source::LinkType;

/// Deepest tunnel nesting followed (IP-in-IP, GRE, VXLAN, Teredo, PPPoE, MPLS count one each).
pub const MAX_ENCAPSULATION: usize = 4;

/// The layers of one frame down to IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// An IPv4 or IPv6 packet (the innermost one when tunneled).
    Ip {
        /// Link facts (VLAN ids of the outer frame).
        link: LinkInfo,
        /// The IP packet.
        packet: IpPacket<'a>,
        /// Tunnel layers removed to reach it (0 = not tunneled).
        tunnels: u8,
    },
    /// A frame that does not carry IP (ARP, LLDP, ...): counted, not analyzed.
    NonIp {
        /// Its EtherType or link protocol.
        ether_type: u16,
    },
}

const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_ETAG: u16 = 0x893F;
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_ERSPAN2: u16 = 0x88BE;
const ETHERTYPE_ERSPAN3: u16 = 0x22EB;
const ETHERTYPE_PPP: u16 = 0x880B;
/// Pseudo EtherType: "Ethernet frame follows" (VXLAN, GRE TEB).
const INNER_ETHERNET: u16 = 0xFFFF;

/// Decodes a frame down to the (innermost) IP layer.
pub fn decode_frame(linktype: LinkType, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    // The common frame (untagged Ethernet, plain IPv4, not a tunnel) without the general walk;
    // the same result (unit test below, and the `decode` fuzz target).
    if linktype == LinkType::ETHERNET && be16(data, 12) == Some(link::ETHERTYPE_IPV4) {
        if let Some(packet) = data.get(14..).and_then(ip::parse_ipv4_plain) {
            if packet.fragment.is_some() || tunnel_payload(&packet).is_none() {
                return Ok(Decoded::Ip {
                    link: LinkInfo {
                        ether_type: link::ETHERTYPE_IPV4,
                        offset: 14,
                        vlan: None,
                        inner_vlan: None,
                    },
                    packet,
                    tunnels: 0,
                });
            }
        }
    }
    decode_frame_general(linktype, data)
}

/// [`decode_frame`] for every frame. Public only so that the fuzz target can compare it with the
/// common-case path.
#[doc(hidden)]
pub fn decode_frame_general(linktype: LinkType, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let link = parse_link(linktype, data).map_err(link_error)?;
    let mut ether_type = link.ether_type;
    let mut bytes = data.get(link.offset..).unwrap_or(&[]);
    let mut tunnels = 0u8;
    loop {
        if usize::from(tunnels) > MAX_ENCAPSULATION {
            return Err(DecodeError::TooManyEncapsulations);
        }
        match ether_type {
            link::ETHERTYPE_IPV4 | link::ETHERTYPE_IPV6 => {
                let packet = parse_ip(bytes)?;
                if packet.fragment.is_none() {
                    if let Some((et, inner)) = tunnel_payload(&packet) {
                        ether_type = et;
                        bytes = inner;
                        tunnels += 1;
                        continue;
                    }
                }
                return Ok(Decoded::Ip {
                    link,
                    packet,
                    tunnels,
                });
            }
            INNER_ETHERNET => {
                let inner = parse_link(LinkType::ETHERNET, bytes).map_err(link_error)?;
                ether_type = inner.ether_type;
                bytes = bytes.get(inner.offset..).unwrap_or(&[]);
            }
            ETHERTYPE_PPPOE_SESSION => {
                // ver/type, code, session id, length, then a PPP frame.
                let (et, rest) = bytes
                    .get(6..)
                    .and_then(ppp_frame)
                    .ok_or(DecodeError::LinkTruncated)?;
                ether_type = et;
                bytes = rest;
                tunnels += 1;
            }
            ETHERTYPE_PPP => {
                let (et, rest) = ppp_frame(bytes).ok_or(DecodeError::LinkTruncated)?;
                ether_type = et;
                bytes = rest;
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => {
                // Labels until bottom-of-stack, then guess IP by its version nibble.
                let mut off = 0;
                loop {
                    let b = bytes.get(off + 2).ok_or(DecodeError::LinkTruncated)?;
                    off += 4;
                    if b & 1 == 1 || off >= 4 * 8 {
                        break;
                    }
                }
                bytes = bytes.get(off..).unwrap_or(&[]);
                ether_type = match bytes.first().map(|b| b >> 4) {
                    Some(4) => link::ETHERTYPE_IPV4,
                    Some(6) => link::ETHERTYPE_IPV6,
                    // Pseudowire with control word: Ethernet follows.
                    Some(0) => {
                        bytes = bytes.get(4..).unwrap_or(&[]);
                        INNER_ETHERNET
                    }
                    _ => {
                        return Ok(Decoded::NonIp {
                            ether_type: ETHERTYPE_MPLS,
                        })
                    }
                };
                tunnels += 1;
            }
            ETHERTYPE_ETAG => {
                // 802.1BR: 6 bytes of tag, then the next EtherType.
                ether_type = be16(bytes, 6).ok_or(DecodeError::LinkTruncated)?;
                bytes = bytes.get(8..).unwrap_or(&[]);
                if ether_type == 0x8100 || ether_type == 0x88A8 {
                    ether_type = be16(bytes, 2).ok_or(DecodeError::LinkTruncated)?;
                    bytes = bytes.get(4..).unwrap_or(&[]);
                }
            }
            other => return Ok(Decoded::NonIp { ether_type: other }),
        }
    }
}

fn link_error(e: LinkError) -> DecodeError {
    match e {
        LinkError::Truncated => DecodeError::LinkTruncated,
        LinkError::UnknownLinkType(l) => DecodeError::UnknownLinkType(l.0),
        LinkError::TooManyVlanTags => DecodeError::VlanTooDeep,
        LinkError::UnknownAddressFamily(_) => DecodeError::UnknownAddressFamily,
    }
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn ppp_to_ethertype(proto: u16) -> u16 {
    match proto {
        0x0021 => link::ETHERTYPE_IPV4,
        0x0057 => link::ETHERTYPE_IPV6,
        0x0281 | 0x0283 => ETHERTYPE_MPLS,
        _ => 0,
    }
}

/// A PPP frame, with or without the HDLC address/control bytes, with a 1- or 2-byte protocol.
pub(crate) fn ppp_frame(bytes: &[u8]) -> Option<(u16, &[u8])> {
    let b = if bytes.starts_with(&[0xff, 0x03]) {
        bytes.get(2..)?
    } else {
        bytes
    };
    let first = *b.first()?;
    if first & 1 == 1 {
        Some((ppp_to_ethertype(u16::from(first)), b.get(1..)?))
    } else {
        Some((ppp_to_ethertype(be16(b, 0)?), b.get(2..)?))
    }
}

/// When `packet` carries a tunnel we follow, the inner EtherType and bytes.
fn tunnel_payload<'a>(packet: &IpPacket<'a>) -> Option<(u16, &'a [u8])> {
    let p = packet.payload;
    match packet.ip.protocol {
        4 => Some((link::ETHERTYPE_IPV4, p)),
        41 => Some((link::ETHERTYPE_IPV6, p)),
        47 => gre_payload(p),
        ip::PROTO_UDP => {
            let sport = be16(p, 0)?;
            let dport = be16(p, 2)?;
            let udp_payload = p.get(8..)?;
            if dport == 4789 || sport == 4789 {
                // VXLAN: 8-byte header with the I flag, then Ethernet.
                let hdr = udp_payload.get(..8)?;
                (hdr[0] & 0x08 != 0).then(|| (INNER_ETHERNET, &udp_payload[8..]))
            } else if dport == 6081 || sport == 6081 {
                // Geneve: 8-byte header plus options (length in 4-byte words), protocol type.
                let opt_len = usize::from(udp_payload.first()? & 0x3f) * 4;
                let proto = be16(udp_payload, 2)?;
                let inner = udp_payload.get(8 + opt_len..)?;
                match proto {
                    ETHERTYPE_TEB => Some((INNER_ETHERNET, inner)),
                    link::ETHERTYPE_IPV4 | link::ETHERTYPE_IPV6 => Some((proto, inner)),
                    _ => None,
                }
            } else if dport == 3544 || sport == 3544 {
                teredo_payload(udp_payload)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn gre_payload(p: &[u8]) -> Option<(u16, &[u8])> {
    let flags = be16(p, 0)?;
    let proto = be16(p, 2)?;
    let version = flags & 0x7;
    let mut off = 4;
    if version == 1 {
        // Enhanced GRE (PPTP): key always present, optional sequence and ack numbers.
        off += 4;
        if flags & 0x1000 != 0 {
            off += 4;
        }
        if flags & 0x0080 != 0 {
            off += 4;
        }
        let rest = p.get(off..)?;
        return if proto == ETHERTYPE_PPP {
            ppp_frame(rest)
        } else {
            None
        };
    }
    if version != 0 {
        return None;
    }
    if flags & 0x8000 != 0 {
        off += 4; // checksum + reserved
    }
    if flags & 0x2000 != 0 {
        off += 4; // key
    }
    if flags & 0x1000 != 0 {
        off += 4; // sequence
    }
    let rest = p.get(off..)?;
    match proto {
        link::ETHERTYPE_IPV4 | link::ETHERTYPE_IPV6 => Some((proto, rest)),
        ETHERTYPE_TEB => Some((INNER_ETHERNET, rest)),
        ETHERTYPE_ERSPAN2 if flags & 0x1000 != 0 => Some((INNER_ETHERNET, rest.get(8..)?)),
        ETHERTYPE_ERSPAN2 => Some((INNER_ETHERNET, rest)), // ERSPAN type I: no header
        ETHERTYPE_ERSPAN3 => {
            let o = rest.get(11)?;
            // Optional 8-byte platform-specific subheader when the O bit is set.
            let skip = if o & 0x01 != 0 { 20 } else { 12 };
            Some((INNER_ETHERNET, rest.get(skip..)?))
        }
        ETHERTYPE_PPP => ppp_frame(rest),
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => Some((ETHERTYPE_MPLS, rest)),
        _ => None,
    }
}

/// Teredo (RFC 4380): optional authentication and origin indication, then an IPv6 packet.
fn teredo_payload(p: &[u8]) -> Option<(u16, &[u8])> {
    let mut b = p;
    if b.starts_with(&[0x00, 0x01]) {
        let id_len = usize::from(*b.get(2)?);
        let au_len = usize::from(*b.get(3)?);
        b = b.get(4 + id_len + au_len + 9..)?;
    }
    if b.starts_with(&[0x00, 0x00]) {
        b = b.get(8..)?;
    }
    // Only a plausible IPv6 header: version 6 and a payload length that fits.
    let plen = usize::from(be16(b, 4)?);
    (b.first()? >> 4 == 6 && b.len() >= 40 && 40 + plen >= b.len().min(40 + plen))
        .then_some((link::ETHERTYPE_IPV6, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_frame_path_gives_what_the_general_walk_gives() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut fast = 0;
        for i in 0..200_000u32 {
            let ip = ip::tests::random_ipv4(&mut seed);
            let mut f = vec![0u8; 12];
            f[0] = i as u8;
            // Mostly IPv4; some VLAN tags and other EtherTypes.
            let et: u16 = match i % 16 {
                0 => 0x8100,
                1 => 0x86dd,
                2 => 0x0806,
                _ => 0x0800,
            };
            f.extend_from_slice(&et.to_be_bytes());
            if et == 0x8100 {
                f.extend_from_slice(&[0, 7, 8, 0]);
            }
            f.extend_from_slice(&ip);
            let cut = if i % 7 == 0 { f.len() / 2 } else { f.len() };
            let f = &f[..cut];
            for lt in [LinkType::ETHERNET, LinkType(101)] {
                assert_eq!(
                    decode_frame(lt, f),
                    decode_frame_general(lt, f),
                    "{lt:?} {f:02x?}"
                );
            }
            fast +=
                usize::from(et == 0x0800 && f.get(14..).and_then(ip::parse_ipv4_plain).is_some());
        }
        assert!(fast > 20_000, "the common path was taken {fast} times");
    }
}
