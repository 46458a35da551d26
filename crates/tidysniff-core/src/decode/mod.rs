//! Decoding: link layer, IP, fragments, transport headers. Pure: bytes in, values out; no I/O, no
//! allocation (fragment reassembly in [`defrag`] owns bounded buffers).
//!
//! Contract: no function here panics on any input. Lengths are checked before every access; a
//! packet that is cut short yields what it has (and says it was cut) or a [`DecodeError`].

pub mod defrag;
pub mod ip;
pub mod link;

pub use ip::{
    parse_ip, parse_transport, tcp_flags, DecodeError, FragInfo, IcmpMessage, IpInfo, IpPacket, QuotedFlow,
    TcpSegment, Transport, UdpDatagram,
};
pub use link::{parse_link, LinkError, LinkInfo};

use crate::source::LinkType;

/// The layers of one frame down to IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// An IPv4 or IPv6 packet.
    Ip {
        /// Link facts (VLAN ids).
        link: LinkInfo,
        /// The IP packet.
        packet: IpPacket<'a>,
    },
    /// A frame that does not carry IP (ARP, LLDP, ...): counted, not analyzed.
    NonIp {
        /// Its EtherType or link protocol.
        ether_type: u16,
    },
}

/// Decodes a frame down to the IP layer.
pub fn decode_frame(linktype: LinkType, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let link = parse_link(linktype, data).map_err(|e| match e {
        LinkError::Truncated => DecodeError::LinkTruncated,
        LinkError::UnknownLinkType(l) => DecodeError::UnknownLinkType(l.0),
        LinkError::TooManyVlanTags => DecodeError::VlanTooDeep,
        LinkError::UnknownAddressFamily(_) => DecodeError::UnknownAddressFamily,
    })?;
    if link.ether_type != link::ETHERTYPE_IPV4 && link.ether_type != link::ETHERTYPE_IPV6 {
        return Ok(Decoded::NonIp { ether_type: link.ether_type });
    }
    let ip_bytes = data.get(link.offset..).unwrap_or(&[]);
    let packet = parse_ip(ip_bytes)?;
    Ok(Decoded::Ip { link, packet })
}
