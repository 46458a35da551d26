//! Link-layer framing, written by hand for every link type we emit.
//!
//! The fixtures are captured "on the client host": a frame is *outgoing* when
//! the client sent it and *incoming* otherwise. That decides the Ethernet MAC
//! addresses, the Linux cooked-capture packet type and whether the frame is
//! padded to the Ethernet minimum (received frames are padded to 60 bytes,
//! frames we send are captured before the NIC pads them, as on Linux).

/// Link types (the pcap LINKTYPE_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113), 16-byte header.
    Sll,
    /// LINKTYPE_LINUX_SLL2 (276), 20-byte header.
    Sll2 { ifindex: u32 },
    /// LINKTYPE_RAW (101): bare IPv4 or IPv6.
    Raw,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_NULL (0): 4-byte address family in the writer's byte order
    /// (little-endian here); AF_INET6 is written as 30 (macOS).
    Null,
    /// LINKTYPE_LOOP (108): 4-byte address family, big-endian (OpenBSD);
    /// AF_INET6 is 24.
    Loop,
}

impl Link {
    pub fn linktype(self) -> u32 {
        match self {
            Link::Ethernet => 1,
            Link::Sll => 113,
            Link::Sll2 { .. } => 276,
            Link::Raw => 101,
            Link::Ipv4 => 228,
            Link::Ipv6 => 229,
            Link::Null => 0,
            Link::Loop => 108,
        }
    }
}

/// MAC of the capturing client (RFC 7042 documentation range).
pub const MAC_HOST: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x53, 0x02];
/// MAC of the default gateway (RFC 7042 documentation range).
pub const MAC_GATEWAY: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x53, 0x01];

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const TPID_8021Q: u16 = 0x8100;
pub const TPID_8021AD: u16 = 0x88a8;

/// One VLAN tag, outermost first in a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vlan {
    pub tpid: u16,
    pub vid: u16,
}

impl Vlan {
    pub fn dot1q(vid: u16) -> Vlan {
        Vlan {
            tpid: TPID_8021Q,
            vid,
        }
    }
    pub fn dot1ad(vid: u16) -> Vlan {
        Vlan {
            tpid: TPID_8021AD,
            vid,
        }
    }
}

fn ethertype_of(l3: &[u8]) -> u16 {
    match l3.first().map(|b| b >> 4) {
        Some(6) => ETHERTYPE_IPV6,
        _ => ETHERTYPE_IPV4,
    }
}

/// Wraps an IP packet in the given link layer.
pub fn encap(link: Link, outgoing: bool, vlans: &[Vlan], l3: &[u8]) -> Vec<u8> {
    let et = ethertype_of(l3);
    let v6 = et == ETHERTYPE_IPV6;
    let mut f = Vec::with_capacity(l3.len() + 24);
    match link {
        Link::Ethernet => {
            let (src, dst) = if outgoing {
                (MAC_HOST, MAC_GATEWAY)
            } else {
                (MAC_GATEWAY, MAC_HOST)
            };
            f.extend_from_slice(&dst);
            f.extend_from_slice(&src);
            for v in vlans {
                f.extend_from_slice(&v.tpid.to_be_bytes());
                f.extend_from_slice(&(v.vid & 0x0fff).to_be_bytes());
            }
            f.extend_from_slice(&et.to_be_bytes());
            f.extend_from_slice(l3);
            if !outgoing && f.len() < 60 {
                f.resize(60, 0);
            }
            return f;
        }
        Link::Sll => {
            // packet type: 0 = to us, 4 = sent by us; address = sender's MAC.
            let (ptype, addr) = if outgoing {
                (4u16, MAC_HOST)
            } else {
                (0u16, MAC_GATEWAY)
            };
            f.extend_from_slice(&ptype.to_be_bytes());
            f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            f.extend_from_slice(&6u16.to_be_bytes());
            f.extend_from_slice(&addr);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&et.to_be_bytes());
        }
        Link::Sll2 { ifindex } => {
            let (ptype, addr) = if outgoing {
                (4u8, MAC_HOST)
            } else {
                (0u8, MAC_GATEWAY)
            };
            f.extend_from_slice(&et.to_be_bytes());
            f.extend_from_slice(&[0, 0]); // reserved
            f.extend_from_slice(&ifindex.to_be_bytes());
            f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            f.push(ptype);
            f.push(6);
            f.extend_from_slice(&addr);
            f.extend_from_slice(&[0, 0]);
        }
        Link::Raw | Link::Ipv4 | Link::Ipv6 => {}
        Link::Null => f.extend_from_slice(&(if v6 { 30u32 } else { 2 }).to_le_bytes()),
        Link::Loop => f.extend_from_slice(&(if v6 { 24u32 } else { 2 }).to_be_bytes()),
    }
    assert!(
        vlans.is_empty() || link == Link::Ethernet,
        "VLAN tags need Ethernet"
    );
    f.extend_from_slice(l3);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        let ip = [0x45u8; 20];
        assert_eq!(encap(Link::Sll, true, &[], &ip).len(), 36);
        assert_eq!(encap(Link::Sll2 { ifindex: 2 }, true, &[], &ip).len(), 40);
        assert_eq!(encap(Link::Null, true, &[], &ip)[..4], [2, 0, 0, 0]);
        assert_eq!(
            encap(Link::Loop, true, &[], &[0x60; 40])[..4],
            [0, 0, 0, 24]
        );
        assert_eq!(encap(Link::Ethernet, false, &[], &ip).len(), 60);
        assert_eq!(encap(Link::Ethernet, true, &[], &ip).len(), 34);
        let q = encap(
            Link::Ethernet,
            true,
            &[Vlan::dot1ad(200), Vlan::dot1q(300)],
            &ip,
        );
        assert_eq!(
            q[12..22],
            [0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x01, 0x2c, 0x08, 0x00]
        );
    }
}
