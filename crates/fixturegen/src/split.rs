//! Splits a classic pcap into two captures by a symmetric hash of each packet's IP address pair,
//! so both directions of a connection land in the same half. `bench/split.sh` runs `tidysniff`
//! on the halves as two processes at once: a perfect two-way split of the analysis (no
//! dispatching, no merge), the upper bound of what any sharing of the work between two cores
//! can give on the benchmark capture.
//!
//! Only what `fixturegen bench` writes needs to be understood: Ethernet (with 802.1Q/802.1ad
//! tags) carrying IPv4 or IPv6. Anything else goes to the first half.

use std::io::{self, Read, Write};

/// Counts of the records written to each half.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SplitStats {
    /// Records in each half.
    pub records: [u64; 2],
}

/// Reads a classic pcap from `input` and writes its records to `out[half]`, each half with the
/// input's file header.
pub fn split(mut input: impl Read, out: &mut [&mut dyn Write; 2]) -> io::Result<SplitStats> {
    let mut header = [0u8; 24];
    input.read_exact(&mut header)?;
    let big_endian = match header[..4] {
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a classic pcap",
            ))
        }
    };
    for w in out.iter_mut() {
        w.write_all(&header)?;
    }
    let mut stats = SplitStats::default();
    let mut rec = [0u8; 16];
    let mut data = Vec::new();
    loop {
        match input.read_exact(&mut rec) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(stats),
            Err(e) => return Err(e),
        }
        let caplen = [rec[8], rec[9], rec[10], rec[11]];
        let caplen = if big_endian {
            u32::from_be_bytes(caplen)
        } else {
            u32::from_le_bytes(caplen)
        } as usize;
        if caplen > 1 << 28 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record too large",
            ));
        }
        data.resize(caplen, 0);
        input.read_exact(&mut data)?;
        let half = usize::from(half_of(&data));
        let w = &mut out[half];
        w.write_all(&rec)?;
        w.write_all(&data)?;
        stats.records[half] += 1;
    }
}

/// 0 or 1: FNV-1a of the lower address then the higher one (so both directions agree).
fn half_of(frame: &[u8]) -> bool {
    let Some((src, dst)) = addresses(frame) else {
        return false;
    };
    let (lo, hi) = if src <= dst { (src, dst) } else { (dst, src) };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in lo.iter().chain(hi) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) & 1 == 1
}

/// The source and destination address bytes of an Ethernet frame's IP header.
fn addresses(frame: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut at = 12;
    let mut ethertype = frame.get(at..at + 2)?;
    while ethertype == [0x81, 0x00] || ethertype == [0x88, 0xa8] {
        at += 4;
        ethertype = frame.get(at..at + 2)?;
    }
    let ip = at + 2;
    match ethertype {
        [0x08, 0x00] => Some((frame.get(ip + 12..ip + 16)?, frame.get(ip + 16..ip + 20)?)),
        [0x86, 0xdd] => Some((frame.get(ip + 8..ip + 24)?, frame.get(ip + 24..ip + 40)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{self, BenchOpts};

    #[test]
    fn every_record_goes_to_one_half_with_its_reverse_direction() {
        let opts = BenchOpts {
            bytes: 2 << 20,
            flows: 200,
            seed: 3,
            mbps: bench::DEFAULT_MBPS,
        };
        let (written, capture) = bench::run(&opts, Vec::new()).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let stats = split(&capture[..], &mut [&mut a, &mut b]).unwrap();
        assert_eq!(stats.records[0] + stats.records[1], written.packets);
        // Both halves are substantial (a hash, not a constant).
        assert!(stats.records[0] > written.packets / 4, "{stats:?}");
        assert!(stats.records[1] > written.packets / 4, "{stats:?}");
        // Same bytes in total, each half a capture with the input's header.
        assert_eq!(a.len() + b.len(), capture.len() + 24);
        assert_eq!(a[..24], capture[..24]);
        assert_eq!(b[..24], capture[..24]);
        // An address pair is never in both halves, whichever way round it is written.
        let pairs = |c: &[u8]| {
            let mut set = std::collections::HashSet::new();
            let mut at = 24;
            while at + 16 <= c.len() {
                let len = u32::from_le_bytes(c[at + 8..at + 12].try_into().unwrap()) as usize;
                let (s, d) = addresses(&c[at + 16..at + 16 + len]).unwrap();
                set.insert(if s <= d {
                    (s.to_vec(), d.to_vec())
                } else {
                    (d.to_vec(), s.to_vec())
                });
                at += 16 + len;
            }
            set
        };
        let (pa, pb) = (pairs(&a), pairs(&b));
        assert!(!pa.is_empty() && !pb.is_empty());
        assert!(pa.is_disjoint(&pb));
    }

    #[test]
    fn rejects_what_is_not_a_classic_pcap() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let e = split(&[0u8; 24][..], &mut [&mut a, &mut b]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
