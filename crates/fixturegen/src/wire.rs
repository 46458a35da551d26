//! Hand-written network-layer and transport-layer serialization.
//!
//! Every function returns the exact bytes of one header plus payload, with the
//! checksum filled in (the Internet checksum of RFC 1071, with the IPv4 or
//! IPv6 pseudo-header where the protocol asks for one). The tests re-parse the
//! output with etherparse and recompute every checksum independently.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const PROTO_HOPOPT: u8 = 0;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_FRAG: u8 = 44;
pub const PROTO_ICMPV6: u8 = 58;
pub const PROTO_DSTOPTS: u8 = 60;

/// TCP flag bits (byte 13 of the header).
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// Ones'-complement partial sum of `data` (big-endian 16-bit words), added to
/// `acc`, not yet folded. Summing 32-bit words is equivalent modulo 0xffff
/// and twice as fast; `data` must start at an even offset of the checksummed
/// area for partial sums to be combinable.
#[inline]
pub fn sum(data: &[u8], mut acc: u64) -> u64 {
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut i = 0;
    while i + 1 < rest.len() {
        acc += u64::from(u16::from_be_bytes([rest[i], rest[i + 1]]));
        i += 2;
    }
    if i < rest.len() {
        acc += u64::from(rest[i]) << 8;
    }
    acc
}

/// Folds a partial sum to 16 bits and complements it.
#[inline]
pub fn finish(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Partial sum of the TCP/UDP/ICMPv6 pseudo-header.
pub fn pseudo(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u64 {
    let acc = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => sum(&d.octets(), sum(&s.octets(), 0)),
        (IpAddr::V6(s), IpAddr::V6(d)) => sum(&d.octets(), sum(&s.octets(), 0)),
        _ => panic!("pseudo-header with mixed address families"),
    };
    acc + u64::from(proto) + len as u64
}

/// The fields of a TCP header we vary.
#[derive(Clone, Debug, Default)]
pub struct TcpHdr {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Encoded options, padded to a multiple of 4 bytes.
    pub options: Vec<u8>,
}

/// A TCP segment (header, options, payload) with its checksum.
pub fn tcp(src: IpAddr, dst: IpAddr, h: &TcpHdr, payload: &[u8]) -> Vec<u8> {
    assert!(h.options.len() % 4 == 0 && h.options.len() <= 40);
    let hl = 20 + h.options.len();
    let mut v = Vec::with_capacity(hl + payload.len());
    v.extend_from_slice(&h.sport.to_be_bytes());
    v.extend_from_slice(&h.dport.to_be_bytes());
    v.extend_from_slice(&h.seq.to_be_bytes());
    v.extend_from_slice(&h.ack.to_be_bytes());
    v.push(((hl / 4) as u8) << 4);
    v.push(h.flags);
    v.extend_from_slice(&h.window.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    v.extend_from_slice(&h.options);
    v.extend_from_slice(payload);
    let c = finish(sum(&v, pseudo(src, dst, PROTO_TCP, v.len())));
    v[16..18].copy_from_slice(&c.to_be_bytes());
    v
}

/// SYN options as Linux sends them without timestamps:
/// MSS, NOP NOP SACK-permitted, NOP window-scale.
pub fn syn_options(mss: u16, wscale: u8) -> Vec<u8> {
    let m = mss.to_be_bytes();
    vec![2, 4, m[0], m[1], 1, 1, 4, 2, 1, 3, 3, wscale]
}

/// A UDP datagram with its checksum (0 is sent as 0xffff).
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    let mut c = finish(sum(&v, pseudo(src, dst, PROTO_UDP, len)));
    if c == 0 {
        c = 0xffff;
    }
    v[6..8].copy_from_slice(&c.to_be_bytes());
    v
}

/// An ICMPv4 message: type, code, the 4 "rest of header" bytes and a body.
pub fn icmp4(typ: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = vec![typ, code, 0, 0];
    v.extend_from_slice(&rest);
    v.extend_from_slice(body);
    let c = finish(sum(&v, 0));
    v[2..4].copy_from_slice(&c.to_be_bytes());
    v
}

/// An ICMPv6 message; its checksum covers the IPv6 pseudo-header.
pub fn icmp6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    typ: u8,
    code: u8,
    rest: [u8; 4],
    body: &[u8],
) -> Vec<u8> {
    let mut v = vec![typ, code, 0, 0];
    v.extend_from_slice(&rest);
    v.extend_from_slice(body);
    let c = finish(sum(
        &v,
        pseudo(IpAddr::V6(src), IpAddr::V6(dst), PROTO_ICMPV6, v.len()),
    ));
    v[2..4].copy_from_slice(&c.to_be_bytes());
    v
}

/// The fields of an IPv4 header we vary (no options; IHL is always 5).
#[derive(Clone, Debug)]
pub struct Ipv4Hdr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub ttl: u8,
    pub id: u16,
    pub df: bool,
    pub mf: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_off: u16,
}

/// An IPv4 packet with its header checksum.
pub fn ipv4(h: &Ipv4Hdr, payload: &[u8]) -> Vec<u8> {
    assert!(h.frag_off % 8 == 0);
    let total = 20 + payload.len();
    assert!(total <= 0xffff);
    let mut v = Vec::with_capacity(total);
    v.push(0x45);
    v.push(0); // DSCP/ECN
    v.extend_from_slice(&(total as u16).to_be_bytes());
    v.extend_from_slice(&h.id.to_be_bytes());
    let ff = (u16::from(h.df) << 14) | (u16::from(h.mf) << 13) | (h.frag_off / 8);
    v.extend_from_slice(&ff.to_be_bytes());
    v.push(h.ttl);
    v.push(h.proto);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&h.src.octets());
    v.extend_from_slice(&h.dst.octets());
    let c = finish(sum(&v, 0));
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// One IPv6 extension header. `body` is the complete header; its first byte
/// (Next Header) is filled in when the chain is assembled.
#[derive(Clone, Debug)]
pub struct Ext {
    pub kind: u8,
    pub body: Vec<u8>,
}

impl Ext {
    /// Hop-by-Hop Options header of 8 bytes holding one PadN option.
    pub fn hop_by_hop_padn() -> Ext {
        Ext {
            kind: PROTO_HOPOPT,
            body: vec![0, 0, 1, 4, 0, 0, 0, 0],
        }
    }

    /// Destination Options header of 8 bytes holding one PadN option.
    pub fn dest_opts_padn() -> Ext {
        Ext {
            kind: PROTO_DSTOPTS,
            body: vec![0, 0, 1, 4, 0, 0, 0, 0],
        }
    }

    /// Fragment header: offset in bytes (multiple of 8), M flag, identification.
    pub fn fragment(offset: u16, more: bool, id: u32) -> Ext {
        assert!(offset % 8 == 0);
        let o = (offset | u16::from(more)).to_be_bytes();
        let i = id.to_be_bytes();
        Ext {
            kind: PROTO_FRAG,
            body: vec![0, 0, o[0], o[1], i[0], i[1], i[2], i[3]],
        }
    }
}

/// An IPv6 packet: fixed header, extension headers in order, then the
/// upper-layer payload of protocol `proto`.
pub fn ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hlim: u8,
    exts: &[Ext],
    proto: u8,
    payload: &[u8],
) -> Vec<u8> {
    let ext_len: usize = exts.iter().map(|e| e.body.len()).sum();
    let plen = ext_len + payload.len();
    assert!(plen <= 0xffff);
    let mut v = Vec::with_capacity(40 + plen);
    v.extend_from_slice(&[0x60, 0, 0, 0]);
    v.extend_from_slice(&(plen as u16).to_be_bytes());
    v.push(exts.first().map_or(proto, |e| e.kind));
    v.push(hlim);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    for (i, e) in exts.iter().enumerate() {
        let start = v.len();
        v.extend_from_slice(&e.body);
        v[start] = exts.get(i + 1).map_or(proto, |n| n.kind);
    }
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum(&d, 0)), !0xddf2);
        // Odd lengths pad with a zero byte.
        assert_eq!(finish(sum(&[0x12, 0x34, 0x56], 0)), !(0x1234u16 + 0x5600));
    }

    #[test]
    fn ipv4_header_verifies() {
        let h = Ipv4Hdr {
            src: Ipv4Addr::new(10, 0, 0, 2),
            dst: Ipv4Addr::new(192, 0, 2, 10),
            proto: PROTO_TCP,
            ttl: 64,
            id: 0x1234,
            df: true,
            mf: false,
            frag_off: 0,
        };
        let p = ipv4(&h, &[]);
        assert_eq!(finish(sum(&p[..20], 0)), 0);
        assert_eq!(p[6], 0x40);
    }

    #[test]
    fn ipv6_chain_links_next_headers() {
        let p = ipv6(
            "2001:db8::2".parse().unwrap(),
            "2001:db8:1::10".parse().unwrap(),
            64,
            &[Ext::hop_by_hop_padn(), Ext::dest_opts_padn()],
            PROTO_TCP,
            &[0; 20],
        );
        assert_eq!(p[6], PROTO_HOPOPT);
        assert_eq!(p[40], PROTO_DSTOPTS);
        assert_eq!(p[48], PROTO_TCP);
        assert_eq!(u16::from_be_bytes([p[4], p[5]]), 36);
    }
}
