//! Per-direction sequence-space bookkeeping: which bytes were seen, retransmissions,
//! out-of-order arrivals and bytes the capture missed (acknowledged by the peer, never seen).
//!
//! Offsets are 64-bit stream positions relative to the direction's base (ISN + 1 when the SYN was
//! seen, else the first sequence number seen), unwrapped across 32-bit sequence wraparound.
//! Memory is bounded: at most [`MAX_RANGES`] disjoint seen-ranges beyond the contiguous prefix are
//! kept; past that the farthest ranges are merged, which can only under-count missed bytes.

use super::boxvec::BoxVec;

/// Most disjoint ranges kept above the contiguous prefix.
pub const MAX_RANGES: usize = 16;

/// Largest jump of an acknowledgment beyond the highest byte seen that is believed (bytes).
/// A peer cannot acknowledge more than one receive window of unseen data at once; 16 MiB is above
/// any common window. Larger jumps are bogus ACKs (challenge ACKs, ACKs answering a SYN on a stale
/// tuple, injected packets) and must not turn into gigabytes of "missed" data.
pub const MAX_ACK_JUMP: i64 = 16 << 20;

/// How a data segment relates to what was seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentClass {
    /// New bytes at or beyond the highest byte seen so far.
    New,
    /// Every byte was seen before.
    Retransmission,
    /// New bytes below the highest byte seen (filled a hole: arrived out of order).
    OutOfOrder,
}

/// Sequence tracking of one direction.
#[derive(Clone, Debug, Default)]
pub struct SeqSpace {
    /// A base is known (the offsets below are relative to it; its value is not needed again).
    has_base: bool,
    last_seq: u32,
    last_off: i64,
    /// Every byte below this offset was seen (or declared missed).
    contiguous: i64,
    /// One past the highest byte seen.
    max_end: i64,
    ranges: BoxVec<(i64, i64)>,
    /// Bytes acknowledged by the peer that the capture never saw.
    pub missed: u64,
}

impl SeqSpace {
    /// Sets the base from a SYN's sequence number (data starts one after it).
    pub fn set_isn(&mut self, isn: u32) {
        if !self.has_base {
            self.has_base = true;
            self.last_seq = isn.wrapping_add(1);
        }
    }

    /// True once a base is known.
    pub fn has_base(&self) -> bool {
        self.has_base
    }

    /// Unwraps a sequence number to a stream offset (sets the base on first use).
    pub fn offset(&mut self, seq: u32) -> i64 {
        if !self.has_base {
            self.has_base = true;
            self.last_seq = seq;
        }
        let d = seq.wrapping_sub(self.last_seq) as i32 as i64;
        let off = self.last_off + d;
        if d > 0 {
            self.last_seq = seq;
            self.last_off = off;
        }
        off
    }

    /// Offset of `seq` without changing the unwrapping state (None before a base is known).
    pub fn peek_offset(&self, seq: u32) -> Option<i64> {
        if !self.has_base {
            return None;
        }
        Some(self.last_off + seq.wrapping_sub(self.last_seq) as i32 as i64)
    }

    /// One past the highest byte seen: the payload byte count as Zeek reports it.
    pub fn max_end(&self) -> i64 {
        self.max_end
    }

    /// Records a segment carrying `len > 0` bytes at offset `off` and classifies it.
    pub fn on_data(&mut self, off: i64, len: u32) -> SegmentClass {
        let end = off + i64::from(len);
        if len == 0 {
            return SegmentClass::New;
        }
        if end <= self.contiguous || self.ranges.iter().any(|&(s, e)| s <= off && end <= e) {
            return SegmentClass::Retransmission;
        }
        let class = if off < self.max_end {
            SegmentClass::OutOfOrder
        } else {
            SegmentClass::New
        };
        self.max_end = self.max_end.max(end);
        self.add_range(off.max(self.contiguous), end);
        class
    }

    /// The peer acknowledged everything below `ack_off` (excluding a FIN at `fin_off`): any byte
    /// in that span never seen is counted as missed.
    pub fn on_ack(&mut self, ack_off: i64, fin_off: Option<i64>) {
        let limit = match fin_off {
            Some(f) if ack_off > f => f,
            _ => ack_off,
        };
        if limit <= self.contiguous || limit - self.max_end.max(self.contiguous) > MAX_ACK_JUMP {
            return;
        }
        let mut missed = 0i64;
        let mut pos = self.contiguous;
        let mut keep = Vec::new();
        for &(s, e) in self.ranges.iter() {
            if s >= limit {
                keep.push((s, e));
                continue;
            }
            if s > pos {
                missed += s - pos;
            }
            pos = pos.max(e);
        }
        if limit > pos {
            missed += limit - pos;
            pos = limit;
        }
        self.missed += missed as u64;
        self.contiguous = pos;
        self.max_end = self.max_end.max(pos);
        self.ranges.set(keep);
        self.advance_contiguous();
    }

    fn add_range(&mut self, s: i64, e: i64) {
        if s >= e {
            return;
        }
        if s <= self.contiguous {
            self.contiguous = self.contiguous.max(e);
            self.advance_contiguous();
            return;
        }
        let i = self.ranges.partition_point(|&(rs, _)| rs < s);
        self.ranges.vec_mut().insert(i, (s, e));
        // Merge overlapping or adjacent neighbours.
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.ranges.len());
        for &(rs, re) in self.ranges.iter() {
            match merged.last_mut() {
                Some(last) if rs <= last.1 => last.1 = last.1.max(re),
                _ => merged.push((rs, re)),
            }
        }
        while merged.len() > MAX_RANGES {
            // Merge the two farthest ranges: loses only the hole between them.
            if let (Some(b), Some(a)) = (merged.pop(), merged.last_mut()) {
                a.1 = a.1.max(b.1);
            }
        }
        self.ranges.set(merged);
    }

    fn advance_contiguous(&mut self) {
        while let Some(&(s, e)) = self.ranges.first() {
            if s > self.contiguous {
                break;
            }
            self.contiguous = self.contiguous.max(e);
            self.ranges.remove_first();
        }
    }

    /// Called at the end of the connection: holes below the highest byte seen are missed bytes.
    pub fn close_holes(&mut self) {
        let end = self.max_end;
        if end > self.contiguous {
            self.on_ack(end, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_new_retransmitted_and_out_of_order() {
        let mut s = SeqSpace::default();
        s.set_isn(999);
        let o = s.offset(1000);
        assert_eq!(o, 0);
        assert_eq!(s.on_data(0, 100), SegmentClass::New);
        assert_eq!(s.on_data(0, 100), SegmentClass::Retransmission);
        assert_eq!(s.on_data(200, 100), SegmentClass::New); // ahead: a hole at 100..200
        assert_eq!(s.on_data(100, 100), SegmentClass::OutOfOrder);
        assert_eq!(s.on_data(150, 50), SegmentClass::Retransmission);
        assert_eq!(s.max_end(), 300);
        s.on_ack(300, None);
        assert_eq!(s.missed, 0);
    }

    #[test]
    fn acked_but_unseen_bytes_are_missed() {
        let mut s = SeqSpace::default();
        s.set_isn(0);
        s.on_data(0, 1448);
        s.on_data(2896, 1448); // segment 1448..2896 never captured
        s.on_ack(4344, None);
        assert_eq!(s.missed, 1448);
        // The FIN's sequence number is not a byte.
        s.on_ack(4345, Some(4344));
        assert_eq!(s.missed, 1448);
    }

    #[test]
    fn implausible_ack_jumps_are_not_missed_bytes() {
        let mut s = SeqSpace::default();
        s.set_isn(0);
        s.on_data(0, 100);
        s.on_ack(2_000_000_000, None);
        assert_eq!((s.missed, s.max_end()), (0, 100));
    }

    #[test]
    fn sequence_wraparound_unwraps() {
        let mut s = SeqSpace::default();
        s.set_isn(u32::MAX - 10);
        let a = s.offset(u32::MAX - 9);
        let b = s.offset(5);
        assert_eq!((a, b), (0, 15));
    }

    #[test]
    fn ranges_stay_bounded() {
        let mut s = SeqSpace::default();
        s.set_isn(0);
        for i in 0..1000 {
            s.on_data(i * 200 + 100, 50);
        }
        assert!(s.ranges.len() <= MAX_RANGES);
    }
}
