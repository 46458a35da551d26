//! Link-layer dispatch: find where the network layer starts.
//!
//! Every accessor here checks lengths first; nothing panics on short input.

use crate::source::LinkType;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// Deepest VLAN tag stack we follow (more is a weird).
pub const MAX_VLAN_TAGS: usize = 4;

/// Where the network layer starts in a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// EtherType (or the equivalent protocol for non-Ethernet links) of what follows.
    pub ether_type: u16,
    /// Byte offset of the network-layer header.
    pub offset: usize,
    /// Outermost VLAN id, when tagged.
    pub vlan: Option<u16>,
    /// Innermost VLAN id when there are two or more tags (QinQ).
    pub inner_vlan: Option<u16>,
}

/// Why the link layer could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The frame is shorter than its link header.
    Truncated,
    /// A link type we do not decode.
    UnknownLinkType(LinkType),
    /// More VLAN tags than [`MAX_VLAN_TAGS`].
    TooManyVlanTags,
    /// A loopback header with an address family we do not know.
    UnknownAddressFamily(u32),
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[inline]
fn bytes4(d: &[u8], at: usize) -> Option<[u8; 4]> {
    let b = d.get(at..at + 4)?;
    Some([b[0], b[1], b[2], b[3]])
}

/// Finds the network layer of a frame of the given link type.
pub fn parse_link(linktype: LinkType, data: &[u8]) -> Result<LinkInfo, LinkError> {
    let plain = |ether_type, offset| LinkInfo {
        ether_type,
        offset,
        vlan: None,
        inner_vlan: None,
    };
    match linktype.0 {
        1 => parse_ethernet(data),
        // RAW: the IP version is in the first nibble.
        12 | 14 | 101 => match data.first().map(|b| b >> 4) {
            Some(4) => Ok(plain(ETHERTYPE_IPV4, 0)),
            Some(6) => Ok(plain(ETHERTYPE_IPV6, 0)),
            Some(_) => Ok(plain(0, 0)),
            None => Err(LinkError::Truncated),
        },
        228 => Ok(plain(ETHERTYPE_IPV4, 0)),
        229 => Ok(plain(ETHERTYPE_IPV6, 0)),
        0 | 108 => {
            let b = bytes4(data, 0).ok_or(LinkError::Truncated)?;
            // NULL is in the capturing host's byte order, LOOP in network order; accept both.
            let af = if linktype.0 == 108 {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            };
            let af = if af > 0xffff { af.swap_bytes() } else { af };
            match af {
                2 => Ok(plain(ETHERTYPE_IPV4, 4)),
                // AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
                10 | 24 | 28 | 30 => Ok(plain(ETHERTYPE_IPV6, 4)),
                other => Err(LinkError::UnknownAddressFamily(other)),
            }
        }
        113 => {
            // Linux cooked v1: packet type, ARPHRD, addr len, addr[8], protocol.
            let proto = be16(data, 14).ok_or(LinkError::Truncated)?;
            Ok(plain(proto, 16))
        }
        276 => {
            // Linux cooked v2: protocol first, 20-byte header.
            if data.len() < 20 {
                return Err(LinkError::Truncated);
            }
            let proto = be16(data, 0).ok_or(LinkError::Truncated)?;
            Ok(plain(proto, 20))
        }
        // PPP (9), PPP in HDLC framing (50): the PPP protocol selects what follows.
        9 | 50 => Ok(plain(0x880B, 0)),
        // Cisco HDLC (104): address, control, then an EtherType.
        104 => Ok(plain(be16(data, 2).ok_or(LinkError::Truncated)?, 4)),
        _ => Err(LinkError::UnknownLinkType(linktype)),
    }
}

fn parse_ethernet(data: &[u8]) -> Result<LinkInfo, LinkError> {
    let mut ether_type = be16(data, 12).ok_or(LinkError::Truncated)?;
    let mut offset = 14;
    let mut vlan = None;
    let mut inner_vlan = None;
    let mut tags = 0;
    while matches!(
        ether_type,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) {
        if tags == MAX_VLAN_TAGS {
            return Err(LinkError::TooManyVlanTags);
        }
        let tci = be16(data, offset).ok_or(LinkError::Truncated)?;
        let id = tci & 0x0fff;
        if vlan.is_none() {
            vlan = Some(id);
        } else {
            inner_vlan = Some(id);
        }
        ether_type = be16(data, offset + 2).ok_or(LinkError::Truncated)?;
        offset += 4;
        tags += 1;
    }
    Ok(LinkInfo {
        ether_type,
        offset,
        vlan,
        inner_vlan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_qinq_reports_both_tags() {
        // dst, src, 88a8 [vid 200] 8100 [vid 300] 0800
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[
            0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x01, 0x2c, 0x08, 0x00, 0x45,
        ]);
        let l = parse_link(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(
            l,
            LinkInfo {
                ether_type: 0x0800,
                offset: 22,
                vlan: Some(200),
                inner_vlan: Some(300)
            }
        );
    }

    #[test]
    fn short_frames_are_truncated_not_panics() {
        for lt in [0u16, 1, 101, 108, 113, 228, 276] {
            for n in 0..4 {
                let _ = parse_link(LinkType(lt), &vec![0x81; n]);
            }
        }
        assert_eq!(
            parse_link(LinkType::ETHERNET, &[0; 13]),
            Err(LinkError::Truncated)
        );
        assert_eq!(
            parse_link(LinkType(9999), &[0; 40]),
            Err(LinkError::UnknownLinkType(LinkType(9999)))
        );
    }

    #[test]
    fn null_and_loop_families_in_either_order() {
        assert_eq!(
            parse_link(LinkType::NULL, &[2, 0, 0, 0])
                .unwrap()
                .ether_type,
            ETHERTYPE_IPV4
        );
        assert_eq!(
            parse_link(LinkType::NULL, &[0, 0, 0, 30])
                .unwrap()
                .ether_type,
            ETHERTYPE_IPV6
        );
        assert_eq!(
            parse_link(LinkType::LOOP, &[0, 0, 0, 24])
                .unwrap()
                .ether_type,
            ETHERTYPE_IPV6
        );
        assert_eq!(
            parse_link(LinkType::NULL, &[7, 0, 0, 0]),
            Err(LinkError::UnknownAddressFamily(7))
        );
    }

    #[test]
    fn sll_and_sll2_protocol_fields() {
        let mut sll = vec![0u8; 16];
        sll[14] = 0x86;
        sll[15] = 0xdd;
        assert_eq!(
            parse_link(LinkType::LINUX_SLL, &sll).unwrap(),
            LinkInfo {
                ether_type: ETHERTYPE_IPV6,
                offset: 16,
                vlan: None,
                inner_vlan: None
            }
        );
        let mut sll2 = vec![0u8; 20];
        sll2[0] = 0x08;
        assert_eq!(parse_link(LinkType::LINUX_SLL2, &sll2).unwrap().offset, 20);
        assert_eq!(
            parse_link(LinkType::LINUX_SLL2, &sll2[..19]),
            Err(LinkError::Truncated)
        );
    }
}
