//! Flows: bidirectional keys, connection ids and the bounded flow table.

mod history;
mod index;
pub mod table;
pub mod tombs;

use core::fmt;
use core::net::IpAddr;

pub use history::{History, MAX_HISTORY};
pub use table::{FlowTable, FlowTableConfig, Slot};

/// Which side of a connection sent a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// The originator (sent the first SYN, else the first packet).
    Orig,
    /// The responder.
    Resp,
}

impl Dir {
    /// The other side.
    #[inline]
    pub fn flip(self) -> Dir {
        match self {
            Dir::Orig => Dir::Resp,
            Dir::Resp => Dir::Orig,
        }
    }

    /// 0 for the originator, 1 for the responder.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Zeek's `is_orig`.
    #[inline]
    pub fn is_orig(self) -> bool {
        self == Dir::Orig
    }
}

/// Transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Another IP protocol.
    Other(u8),
}

impl Proto {
    /// Zeek's name: `tcp`, `udp`, `icmp`, `unknown_transport`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Other(_) => "unknown_transport",
        }
    }
}

/// One endpoint: address and port (ICMP flows use type/identifier in the port fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
}

/// A direction-free flow key: the two endpoints in canonical order plus the protocol, so both
/// directions of a conversation find the same entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// The lower endpoint.
    pub lo: Endpoint,
    /// The higher endpoint.
    pub hi: Endpoint,
    /// Protocol.
    pub proto: Proto,
}

impl FlowKey {
    /// Builds the key of a packet from `src` to `dst`; the flag is true when `src` is `lo`.
    #[inline]
    pub fn new(src: Endpoint, dst: Endpoint, proto: Proto) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    lo: src,
                    hi: dst,
                    proto,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: dst,
                    hi: src,
                    proto,
                },
                false,
            )
        }
    }
}

/// A connection's unique id, printed Zeek-style (`C` + base62). Deterministic: derived from the
/// connection's sequence number in the analysis, so the same capture always gives the same uids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(pub u64);

impl Uid {
    /// The uid of the `n`-th connection (0-based) of an analysis.
    pub fn from_index(n: u64) -> Uid {
        // splitmix64: distinct inputs give distinct outputs (it is a bijection).
        let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Uid(z ^ (z >> 31))
    }

    /// The text form's bytes: `C` and 11 base-62 digits, all ASCII.
    fn text(self) -> [u8; 12] {
        const ALPHABET: &[u8; 62] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut buf = [b'0'; 12];
        buf[0] = b'C';
        let mut v = self.0;
        for slot in buf[1..].iter_mut().rev() {
            *slot = ALPHABET[(v % 62) as usize];
            v /= 62;
        }
        buf
    }

    /// Appends the text form (as `Display` writes it) without the formatting machinery.
    pub fn push_to(self, out: &mut String) {
        // Base-62 letters and digits, always ASCII: a char each costs less than validating them.
        let text = self.text();
        out.reserve(text.len());
        for b in text {
            out.push(char::from(b));
        }
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(core::str::from_utf8(&self.text()).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_the_same_both_ways() {
        let a = Endpoint {
            addr: "10.0.0.2".parse().unwrap(),
            port: 40000,
        };
        let b = Endpoint {
            addr: "192.0.2.1".parse().unwrap(),
            port: 443,
        };
        let (k1, a_lo) = FlowKey::new(a, b, Proto::Tcp);
        let (k2, b_lo) = FlowKey::new(b, a, Proto::Tcp);
        assert_eq!(k1, k2);
        assert_ne!(a_lo, b_lo);
    }

    #[test]
    fn uids_are_distinct_and_twelve_chars() {
        let u: std::collections::HashSet<String> = (0..10_000)
            .map(|i| Uid::from_index(i).to_string())
            .collect();
        assert_eq!(u.len(), 10_000);
        assert!(u.iter().all(|s| s.len() == 12 && s.starts_with('C')));
        // The writers' form is the Display form.
        for i in (0..10_000).chain([u64::MAX, 0]) {
            let mut s = String::from("x");
            Uid::from_index(i).push_to(&mut s);
            Uid(i).push_to(&mut s);
            assert_eq!(s, format!("x{}{}", Uid::from_index(i), Uid(i)));
        }
    }
}
