//! Bounded in-order reassembly of the first bytes of one direction of a TCP stream.
//!
//! Only a prefix of each direction is ever reassembled: application parsers need handshakes and
//! headers, not payloads. Bytes that arrive in order are handed out at once, straight from the
//! packet (no copy). Segments that arrive ahead of a hole are copied into a small buffer, bounded
//! by the depth, until the hole is filled; overlapping and retransmitted bytes are delivered once
//! (first copy wins, as most stacks do; a differing overlap is reported). Past the depth nothing
//! is kept.

use super::boxvec::BoxVec;

/// What the reassembler noticed about a segment (for weird events).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Delivery {
    /// The segment overlapped bytes already delivered or buffered with different content.
    pub overlap_mismatch: bool,
    /// The depth was reached with this segment: no more bytes will be delivered.
    pub depth_reached: bool,
}

/// Reassembly state of one direction: 32 bytes, kept inline in the connection (no allocation
/// and no pointer to chase per packet until a segment arrives out of order).
#[derive(Clone, Debug, Default)]
pub struct Reassembler {
    /// Out-of-order segments within the depth: (offset, bytes), sorted by offset, disjoint.
    pending: BoxVec<(u64, Vec<u8>)>,
    /// Stream offset up to which bytes were delivered (never past the depth, itself at most
    /// `u32::MAX`).
    next: u32,
    done: bool,
}

impl Reassembler {
    /// Bytes delivered so far (the in-order prefix length).
    pub fn delivered(&self) -> u64 {
        u64::from(self.next)
    }

    /// Bytes held for a hole to fill.
    pub fn buffered(&self) -> usize {
        self.pending.iter().map(|(_, b)| b.len()).sum()
    }

    /// True once `depth` bytes were delivered or delivery was stopped.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Stops delivery (the parser has what it needs); frees buffers.
    pub fn stop(&mut self) {
        self.done = true;
        self.pending = BoxVec::default();
    }

    /// Takes a segment of `data` at stream offset `off` (negative offsets, before the stream
    /// start, are trimmed) and calls `deliver(offset, bytes)` for each newly in-order run, never
    /// beyond `depth` bytes in total (a depth over `u32::MAX` counts as `u32::MAX`).
    pub fn segment(
        &mut self,
        off: i64,
        data: &[u8],
        depth: u64,
        mut deliver: impl FnMut(u64, &[u8]),
    ) -> Delivery {
        let mut d = Delivery::default();
        if self.done || data.is_empty() {
            return d;
        }
        let depth = depth.min(u64::from(u32::MAX));
        let mut next = u64::from(self.next);
        // Trim what lies before the stream start.
        let (off, data) = if off < 0 {
            let skip = usize::try_from(off.unsigned_abs()).unwrap_or(usize::MAX);
            match data.get(skip..) {
                Some(rest) if !rest.is_empty() => (0u64, rest),
                _ => return d,
            }
        } else {
            (off as u64, data)
        };
        let end = off.saturating_add(data.len() as u64).min(depth);
        if end <= off {
            return d;
        }
        let data = &data[..(end - off) as usize];
        if off <= next {
            // Overlaps or continues the delivered prefix.
            let skip = (next - off) as usize;
            if let Some(fresh) = data.get(skip..) {
                if !fresh.is_empty() {
                    let at = next;
                    next += fresh.len() as u64;
                    deliver(at, fresh);
                }
            }
            next = self.drain_pending(next, &mut deliver);
        } else {
            d.overlap_mismatch |= self.store(off, data);
        }
        // `next` <= `depth` <= u32::MAX: every delivery ends at or before `end`.
        self.next = u32::try_from(next).unwrap_or(u32::MAX);
        if next >= depth {
            d.depth_reached = true;
            self.stop();
        }
        d
    }

    /// Buffers an out-of-order segment; returns true on a differing overlap.
    fn store(&mut self, off: u64, data: &[u8]) -> bool {
        let mut mismatch = false;
        let end = off + data.len() as u64;
        // Keep only bytes not already pending (first copy wins).
        let mut pieces: Vec<(u64, &[u8])> = vec![(off, data)];
        for (p_off, p_data) in self.pending.iter() {
            let p_end = p_off + p_data.len() as u64;
            if p_end <= off || *p_off >= end {
                continue;
            }
            let mut next_pieces = Vec::new();
            for (s, bytes) in pieces {
                let e = s + bytes.len() as u64;
                let lo = s.max(*p_off);
                let hi = e.min(p_end);
                if lo >= hi {
                    next_pieces.push((s, bytes));
                    continue;
                }
                let ours = &bytes[(lo - s) as usize..(hi - s) as usize];
                let theirs = &p_data[(lo - p_off) as usize..(hi - p_off) as usize];
                mismatch |= ours != theirs;
                if s < lo {
                    next_pieces.push((s, &bytes[..(lo - s) as usize]));
                }
                if hi < e {
                    next_pieces.push((hi, &bytes[(hi - s) as usize..]));
                }
            }
            pieces = next_pieces;
        }
        for (s, bytes) in pieces {
            let i = self.pending.partition_point(|(o, _)| *o < s);
            self.pending.vec_mut().insert(i, (s, bytes.to_vec()));
        }
        mismatch
    }

    /// Delivers the pending segments that `next` reached; returns the new `next`.
    fn drain_pending(&mut self, mut next: u64, deliver: &mut impl FnMut(u64, &[u8])) -> u64 {
        while let Some((p_off, _)) = self.pending.first() {
            if *p_off > next {
                break;
            }
            let Some((p_off, bytes)) = self.pending.remove_first() else {
                break;
            };
            let skip = (next - p_off) as usize;
            if let Some(fresh) = bytes.get(skip..) {
                if !fresh.is_empty() {
                    let at = next;
                    next += fresh.len() as u64;
                    deliver(at, fresh);
                }
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(segs: &[(i64, &[u8])], depth: u64) -> (Vec<u8>, Reassembler, bool) {
        let mut r = Reassembler::default();
        let mut out = Vec::new();
        let mut mismatch = false;
        for (off, data) in segs {
            let d = r.segment(*off, data, depth, |at, b| {
                assert_eq!(at as usize, out.len(), "delivered out of order");
                out.extend_from_slice(b);
            });
            mismatch |= d.overlap_mismatch;
        }
        (out, r, mismatch)
    }

    #[test]
    fn three_segments_out_of_order_come_out_in_order() {
        let (out, r, m) = run(
            &[(10, b"KLMNOPQRST"), (20, b"UVWXYZ"), (0, b"ABCDEFGHIJ")],
            100,
        );
        assert_eq!(out, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        assert_eq!(r.buffered(), 0);
        assert!(!m);
    }

    #[test]
    fn retransmissions_and_overlaps_are_delivered_once() {
        let (out, _, m) = run(
            &[
                (0, b"ABCDE"),
                (0, b"ABCDE"),
                (3, b"DEFGH"),
                (6, b"GH"),
                (2, b"CDEFGHIJ"),
            ],
            100,
        );
        assert_eq!(out, b"ABCDEFGHIJ");
        assert!(!m);
    }

    #[test]
    fn differing_overlap_in_buffer_is_reported_first_copy_wins() {
        let (out, _, m) = run(&[(5, b"FGHIJ"), (5, b"fgXIJ"), (0, b"ABCDE")], 100);
        assert_eq!(out, b"ABCDEFGHIJ");
        assert!(m);
    }

    #[test]
    fn depth_bounds_delivery_and_buffering() {
        let (out, r, _) = run(&[(4, b"EFGHIJKL"), (0, b"ABCD"), (12, b"MNOP")], 6);
        assert_eq!(out, b"ABCDEF");
        assert!(r.is_done());
        assert_eq!(r.buffered(), 0);
        let mut r = Reassembler::default();
        r.segment(1000, &[0; 1000], 64, |_, _| panic!("beyond depth"));
        assert_eq!(r.buffered(), 0);
        // Offsets are kept in 32 bits: a larger depth counts as u32::MAX.
        let (out, r, _) = run(&[(3, b"DEF"), (0, b"ABC")], u64::MAX);
        assert_eq!((out.as_slice(), r.delivered()), (&b"ABCDEF"[..], 6));
        assert!(!r.is_done());
    }

    #[test]
    fn random_segmentation_reassembles_the_prefix() {
        let stream: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let mut segs = Vec::new();
            let mut pos = 0usize;
            while pos < stream.len() {
                let len = 1 + (rnd() % 400) as usize;
                let end = (pos + len).min(stream.len());
                segs.push((pos, end));
                if rnd() % 4 == 0 {
                    segs.push((pos, end)); // retransmission
                }
                pos = end;
            }
            // Shuffle.
            for i in (1..segs.len()).rev() {
                let j = (rnd() % (i as u64 + 1)) as usize;
                segs.swap(i, j);
            }
            let depth = 500 + rnd() % 3000;
            let input: Vec<(i64, &[u8])> = segs
                .iter()
                .map(|&(s, e)| (s as i64, &stream[s..e]))
                .collect();
            let (out, r, m) = run(&input, depth);
            assert!(!m);
            assert_eq!(out, &stream[..(depth as usize).min(stream.len())]);
            assert!(r.buffered() <= depth as usize);
        }
    }
}
