//! Bounded IPv4 and IPv6 fragment reassembly.
//!
//! A [`Defragmenter`] collects the fragments of IP datagrams, keyed by [`FragKey`], and hands back
//! the reassembled payload once every byte is present. It is pure: time comes from the caller
//! (packet timestamps), nothing is printed, and no input makes it panic.
//!
//! # Policy
//!
//! - Fragments may arrive in any order. Exact duplicates and overlaps whose bytes are identical
//!   (retransmissions) are accepted silently.
//! - Overlapping bytes that *differ* fail the datagram with [`DefragWeird::OverlapMismatch`] and
//!   discard it, as RFC 5722 requires for IPv6. The same rule is applied to IPv4: RFC 791 leaves
//!   overlap handling to the receiver, hosts disagree (first-wins vs last-wins, the classic IDS
//!   evasion), and an analyzer cannot know which copy the real receiver kept, so it keeps neither.
//! - A failed datagram leaves a *tombstone* in the table: its other fragments, "including those not
//!   yet received" (RFC 5722), are swallowed silently (the push returns
//!   [`DefragOutcome::Pending`]) until the timeout, when the tombstone vanishes without a report.
//!   Each failed datagram is therefore reported exactly once. A fragment that is a whole datagram
//!   on its own (offset 0, no more fragments) leaves no tombstone when it fails.
//! - The timeout runs from the first fragment seen, like Linux `ipfrag_time` (30 s by default): a
//!   datagram whose first fragment is `timeout` old or older is expired. Expiry happens in
//!   [`Defragmenter::expire`], and also in [`Defragmenter::push`] when a fragment arrives for an
//!   expired datagram (the old one is reported and the fragment starts a new one), so results do
//!   not depend on how often `expire` is called.
//! - A datagram is complete when its final fragment (`more_fragments == false`) has been seen and
//!   every byte from 0 to the final fragment's end is covered. A completed datagram's state is
//!   removed at once (no tombstone: IPv4 identifications are reused quickly).
//!
//! # Bounds
//!
//! - At most [`DefragConfig::max_datagrams`] datagrams (pending plus tombstones) are held, and at
//!   most [`DefragConfig::max_buffered_bytes`] bytes of reassembly buffers. A datagram's buffer
//!   spans 0 to the highest fragment end seen, and that length is what is counted. When a new
//!   fragment needs room, the datagram with the oldest first-seen time is evicted (an exact min-heap
//!   with lazy deletion) and reported as [`DefragWeird::TableFull`].
//! - Besides the counted buffers, each pending datagram keeps a sorted list of covered byte ranges
//!   (8 bytes per range, at most one range per 16 buffered bytes), and a few freed buffers are kept
//!   for reuse; allocated capacity may exceed the counted length by the usual `Vec` growth factor.
//! - Reports of dropped datagrams queue until taken; the queue is capped (at twice
//!   `max_datagrams`, clamped to 256..=65536) and overflow is only counted
//!   ([`Defragmenter::reports_dropped`]).
//!
//! # Reports
//!
//! Datagrams dropped without completing are reported as [`DefragReport`]s: evictions and
//! push-time expiries are queued and delivered by [`Defragmenter::take_evicted`], or by
//! [`Defragmenter::expire`] / [`Defragmenter::drain`], which first move the queue into their
//! output. Every report is delivered exactly once. Failures of the pushed fragment's own datagram
//! are returned directly as [`DefragOutcome::Failed`] and never reported again.

use core::cmp::Ordering;
use core::fmt;
use core::mem;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rustc_hash::FxHashMap;

use crate::time::{Duration, Timestamp};

/// Freed reassembly buffers kept for reuse.
const SPARE_BUFFERS: usize = 4;

/// Limits of a [`Defragmenter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// Most datagrams held at once, pending ones and tombstones of failed ones (default 1024).
    /// Values below 1 act as 1.
    pub max_datagrams: usize,
    /// Largest reassembled payload in bytes, i.e. largest fragment offset plus length (default
    /// 65535). A fragment reaching beyond it fails its datagram with [`DefragWeird::TooLarge`].
    pub max_datagram_len: usize,
    /// Most bytes of reassembly buffers across all pending datagrams (default 8 MiB). Each
    /// datagram's buffer spans 0 to the highest fragment end seen.
    pub max_buffered_bytes: usize,
    /// How long after its first fragment a datagram may stay incomplete (default 30 s, the Linux
    /// `ipfrag_time`). Should be positive.
    pub timeout: Duration,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 1024,
            max_datagram_len: 65535,
            max_buffered_bytes: 8 << 20,
            timeout: Duration::from_secs(30),
        }
    }
}

/// What identifies the fragments of one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IPv4 protocol; for IPv6 the fragment header's next header (or 0, see [`FragKey::v6`]).
    pub protocol: u8,
    /// IPv4: the 16-bit identification; IPv6: the 32-bit fragment identification.
    pub id: u32,
}

impl FragKey {
    /// The key of an IPv4 fragment (RFC 791: source, destination, protocol, identification).
    pub fn v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, id: u16) -> Self {
        FragKey {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst),
            protocol,
            id: u32::from(id),
        }
    }

    /// The key of an IPv6 fragment. RFC 8200 identifies a datagram by source, destination and
    /// identification only; passing the fragment header's next header as `protocol` is stricter
    /// (fragments disagreeing on it never join), passing 0 follows the RFC exactly.
    pub fn v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, id: u32) -> Self {
        FragKey {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            protocol,
            id,
        }
    }
}

/// One fragment, as decoded from its IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// The datagram it belongs to.
    pub key: FragKey,
    /// Position of `data` in the reassembled payload, in bytes (a multiple of 8 on the wire).
    pub offset: u32,
    /// The MF flag: false on the final fragment.
    pub more_fragments: bool,
    /// The fragment's payload: after the IP header and, for IPv6, after the fragment header.
    pub data: &'a [u8],
    /// The captured payload is shorter than the IP header claims (snaplen cut). Such a fragment
    /// makes its datagram unrecoverable: it fails with [`DefragWeird::Truncated`].
    pub truncated: bool,
}

/// The result of [`Defragmenter::push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefragOutcome<'d> {
    /// The fragment was absorbed and nothing is ready. This includes fragments of a datagram that
    /// already failed, which are swallowed silently until its timeout.
    Pending,
    /// The fragment completed its datagram.
    Complete {
        /// The reassembled payload (what followed the IP header, or the IPv6 fragment header). It
        /// borrows an internal buffer, valid until the next call on the defragmenter.
        payload: &'d [u8],
        /// How many fragments were accepted for the datagram, duplicates included (saturating).
        fragments: u16,
        /// When the datagram's first fragment was seen.
        first_ts: Timestamp,
    },
    /// The fragment's datagram cannot be reassembled and was discarded (a tombstone swallows its
    /// remaining fragments).
    Failed(DefragWeird),
}

/// Why a datagram could not be reassembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefragWeird {
    /// Overlapping fragments carry different bytes for the same positions: evasion or corruption.
    /// The datagram is dropped (RFC 5722 for IPv6; applied to IPv4 too).
    OverlapMismatch,
    /// The reassembled payload would exceed [`DefragConfig::max_datagram_len`] (or the datagram
    /// alone would exceed [`DefragConfig::max_buffered_bytes`]).
    TooLarge,
    /// The table was full (datagrams or bytes): this datagram, the oldest pending one, was
    /// evicted to make room. Reported through the report queue, never as a push outcome.
    TableFull,
    /// A fragment was cut short by the capture's snaplen.
    Truncated,
    /// A non-final fragment whose length is not a multiple of 8, a zero-length fragment, an
    /// offset that is not a multiple of 8, a fragment reaching past the end set by a final
    /// fragment, or a final fragment disagreeing with the data or final fragment already seen.
    BadLength,
    /// The datagram stayed incomplete for [`DefragConfig::timeout`] after its first fragment.
    Timeout,
    /// The input ended while the datagram was incomplete (reported by [`Defragmenter::drain`]).
    Incomplete,
}

impl DefragWeird {
    /// A stable snake_case identifier, e.g. `"frag_overlap_mismatch"`.
    pub fn name(self) -> &'static str {
        match self {
            DefragWeird::OverlapMismatch => "frag_overlap_mismatch",
            DefragWeird::TooLarge => "frag_too_large",
            DefragWeird::TableFull => "frag_table_full",
            DefragWeird::Truncated => "frag_truncated",
            DefragWeird::BadLength => "frag_bad_length",
            DefragWeird::Timeout => "frag_timeout",
            DefragWeird::Incomplete => "frag_incomplete",
        }
    }
}

impl fmt::Display for DefragWeird {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A datagram dropped without completing: its key, when its first fragment was seen, and why.
pub type DefragReport = (FragKey, Timestamp, DefragWeird);

/// State of one datagram in the table.
struct Datagram {
    first_ts: Timestamp,
    /// Unique per table entry; matches the entry's [`Age`] in the heap.
    seq: u64,
    /// Reassembly buffer, `0..highest end seen`. Empty for tombstones.
    buf: Vec<u8>,
    /// Covered byte ranges `[start, end)`: sorted, disjoint and never adjacent.
    ranges: Vec<(u32, u32)>,
    /// End of the final fragment, once seen.
    total: Option<u32>,
    fragments: u16,
    /// A tombstone: the datagram failed and its fragments are swallowed.
    dead: bool,
}

/// Eviction-order entry: ordered so that the max-heap yields the oldest first-seen time first.
#[derive(Clone, Copy, Debug)]
struct Age {
    first_ts: Timestamp,
    seq: u64,
    key: FragKey,
}

impl Ord for Age {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.first_ts, other.seq).cmp(&(self.first_ts, self.seq))
    }
}

impl PartialOrd for Age {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Age {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Age {}

/// Bounded reassembly of IPv4 and IPv6 fragments (see the [module docs](self) for the policy).
pub struct Defragmenter {
    cfg: DefragConfig,
    table: FxHashMap<FragKey, Datagram>,
    /// One valid entry per table entry (matching `seq`) plus stale ones, deleted lazily.
    ages: BinaryHeap<Age>,
    next_seq: u64,
    buffered: usize,
    tombstones: usize,
    reports: Vec<DefragReport>,
    report_cap: usize,
    reports_dropped: u64,
    /// Payload of the last completed datagram.
    done: Vec<u8>,
    spare: Vec<Vec<u8>>,
}

impl fmt::Debug for Defragmenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Defragmenter")
            .field("cfg", &self.cfg)
            .field("pending", &self.pending())
            .field("tombstones", &self.tombstones)
            .field("buffered_bytes", &self.buffered)
            .field("queued_reports", &self.reports.len())
            .field("reports_dropped", &self.reports_dropped)
            .finish()
    }
}

impl Defragmenter {
    /// An empty defragmenter with the given limits.
    pub fn new(cfg: DefragConfig) -> Self {
        let report_cap = cfg.max_datagrams.saturating_mul(2).clamp(256, 1 << 16);
        Defragmenter {
            cfg,
            table: FxHashMap::default(),
            ages: BinaryHeap::new(),
            next_seq: 0,
            buffered: 0,
            tombstones: 0,
            reports: Vec::new(),
            report_cap,
            reports_dropped: 0,
            done: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &DefragConfig {
        &self.cfg
    }

    /// Adds one fragment seen at `ts`.
    ///
    /// Returns [`DefragOutcome::Complete`] when it completes its datagram (the payload borrows an
    /// internal buffer valid until the next call), [`DefragOutcome::Failed`] when it makes its
    /// datagram unrecoverable, and [`DefragOutcome::Pending`] otherwise. Other datagrams evicted
    /// to make room, or found expired, are queued for [`Defragmenter::take_evicted`].
    pub fn push(&mut self, ts: Timestamp, frag: &Fragment<'_>) -> DefragOutcome<'_> {
        let key = frag.key;
        if let Some((first_ts, dead)) = self.table.get(&key).map(|d| (d.first_ts, d.dead)) {
            if self.expired(first_ts, ts) {
                if let Some((first_ts, true)) = self.take_entry(&key) {
                    self.report(key, first_ts, DefragWeird::Timeout);
                }
            } else if dead {
                return DefragOutcome::Pending;
            }
        }

        // A fragment that is a whole datagram by itself leaves no tombstone when it fails alone.
        let whole = frag.offset == 0 && !frag.more_fragments;
        let (start, end) = match self.check(frag) {
            Ok(span) => span,
            Err(w) => return self.fail(ts, key, w, !whole),
        };
        let have = match self.table.get(&key) {
            Some(d) => match conflict(d, frag.more_fragments, frag.data, start, end) {
                Ok(()) => Some(d.buf.len()),
                Err(w) => return self.fail(ts, key, w, true),
            },
            None => None,
        };
        if have.is_none() && whole {
            self.done.clear();
            self.done.extend_from_slice(frag.data);
            return DefragOutcome::Complete {
                payload: &self.done,
                fragments: 1,
                first_ts: ts,
            };
        }

        // Make room: a table slot for a new datagram, then bytes for the buffer's growth.
        let end_us = end as usize;
        let growth = end_us.saturating_sub(have.unwrap_or(0));
        if have.is_none() {
            self.make_slot();
        }
        while self.buffered.saturating_add(growth) > self.cfg.max_buffered_bytes {
            if !self.evict_oldest(Some(key)) {
                return self.fail(ts, key, DefragWeird::TooLarge, true);
            }
        }
        if have.is_none() {
            let buf = self.spare.pop().unwrap_or_default();
            self.insert(key, ts, buf, false);
        }

        let Some(d) = self.table.get_mut(&key) else {
            return DefragOutcome::Pending;
        };
        if d.buf.len() < end_us {
            self.buffered = self.buffered.saturating_add(end_us - d.buf.len());
            d.buf.resize(end_us, 0);
        }
        if let Some(dst) = d.buf.get_mut(start as usize..end_us) {
            if dst.len() == frag.data.len() {
                dst.copy_from_slice(frag.data);
            }
        }
        merge(&mut d.ranges, start, end);
        d.fragments = d.fragments.saturating_add(1);
        if !frag.more_fragments {
            d.total = Some(end);
        }
        let complete = d.total.is_some_and(|t| d.ranges.as_slice() == [(0, t)]);
        if !complete {
            return DefragOutcome::Pending;
        }

        let Some(d) = self.table.remove(&key) else {
            return DefragOutcome::Pending;
        };
        self.buffered = self.buffered.saturating_sub(d.buf.len());
        let old = mem::replace(&mut self.done, d.buf);
        self.recycle(old);
        DefragOutcome::Complete {
            payload: &self.done,
            fragments: d.fragments,
            first_ts: d.first_ts,
        }
    }

    /// Drops every datagram whose first fragment is `timeout` old or older at `now`, appending to
    /// `out` first the queued reports (as [`Defragmenter::take_evicted`] does), then one
    /// [`DefragWeird::Timeout`] report per expired pending datagram, oldest first. Expired
    /// tombstones vanish without a report.
    pub fn expire(&mut self, now: Timestamp, out: &mut Vec<DefragReport>) {
        out.append(&mut self.reports);
        while let Some(&age) = self.ages.peek() {
            if !self.expired(age.first_ts, now) {
                break;
            }
            self.ages.pop();
            if self.is_current(&age) {
                if let Some((first_ts, true)) = self.take_entry(&age.key) {
                    out.push((age.key, first_ts, DefragWeird::Timeout));
                }
            }
        }
    }

    /// End of input: appends the queued reports, then one [`DefragWeird::Incomplete`] report per
    /// pending datagram (oldest first), and empties the table.
    pub fn drain(&mut self, out: &mut Vec<DefragReport>) {
        out.append(&mut self.reports);
        let mut left: Vec<(Timestamp, u64, FragKey)> = Vec::new();
        for (key, d) in self.table.drain() {
            if !d.dead {
                left.push((d.first_ts, d.seq, key));
            }
            if self.spare.len() < SPARE_BUFFERS && d.buf.capacity() > 0 {
                let mut buf = d.buf;
                buf.clear();
                self.spare.push(buf);
            }
        }
        left.sort_unstable_by_key(|&(ts, seq, _)| (ts, seq));
        out.extend(
            left.into_iter()
                .map(|(ts, _, key)| (key, ts, DefragWeird::Incomplete)),
        );
        self.ages.clear();
        self.buffered = 0;
        self.tombstones = 0;
    }

    /// Appends the queued reports (evictions, and datagrams found expired by `push`) to `out`.
    pub fn take_evicted(&mut self, out: &mut Vec<DefragReport>) {
        out.append(&mut self.reports);
    }

    /// Number of datagrams waiting for fragments (tombstones not included).
    pub fn pending(&self) -> usize {
        self.table.len().saturating_sub(self.tombstones)
    }

    /// Number of tombstones: failed datagrams whose late fragments are still being swallowed.
    pub fn tombstones(&self) -> usize {
        self.tombstones
    }

    /// Bytes held in reassembly buffers (each pending datagram's `0..highest end seen`).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Reports lost because the report queue was full (it is capped to bound memory); call
    /// [`Defragmenter::take_evicted`] or [`Defragmenter::expire`] regularly to keep this at 0.
    pub fn reports_dropped(&self) -> u64 {
        self.reports_dropped
    }

    /// Validates a fragment on its own; returns its byte span `[start, end)`.
    fn check(&self, frag: &Fragment<'_>) -> Result<(u32, u32), DefragWeird> {
        if frag.truncated {
            return Err(DefragWeird::Truncated);
        }
        let len = frag.data.len();
        if len == 0 || frag.offset % 8 != 0 || (frag.more_fragments && len % 8 != 0) {
            return Err(DefragWeird::BadLength);
        }
        match u32::try_from(len)
            .ok()
            .and_then(|l| frag.offset.checked_add(l))
        {
            Some(end) if end as usize <= self.cfg.max_datagram_len => Ok((frag.offset, end)),
            _ => Err(DefragWeird::TooLarge),
        }
    }

    fn expired(&self, first_ts: Timestamp, now: Timestamp) -> bool {
        now.since(first_ts) >= self.cfg.timeout
    }

    /// Discards the datagram of `key`, leaving a tombstone (a new one only if `tombstone_new`).
    fn fail(
        &mut self,
        ts: Timestamp,
        key: FragKey,
        weird: DefragWeird,
        tombstone_new: bool,
    ) -> DefragOutcome<'static> {
        if let Some(d) = self.table.get_mut(&key) {
            if !d.dead {
                d.dead = true;
                d.ranges = Vec::new();
                d.total = None;
                let buf = mem::take(&mut d.buf);
                self.tombstones = self.tombstones.saturating_add(1);
                self.buffered = self.buffered.saturating_sub(buf.len());
                self.recycle(buf);
            }
        } else if tombstone_new {
            self.make_slot();
            self.insert(key, ts, Vec::new(), true);
            self.tombstones = self.tombstones.saturating_add(1);
        }
        DefragOutcome::Failed(weird)
    }

    /// Evicts the oldest datagrams until a new one fits under `max_datagrams`.
    fn make_slot(&mut self) {
        while self.table.len() >= self.cfg.max_datagrams.max(1) {
            if !self.evict_oldest(None) {
                break;
            }
        }
    }

    /// Whether a heap entry is the one of a datagram in the table (not stale).
    fn is_current(&self, age: &Age) -> bool {
        self.table.get(&age.key).is_some_and(|d| d.seq == age.seq)
    }

    /// Evicts the datagram with the oldest first-seen time, other than `except`; reports it as
    /// [`DefragWeird::TableFull`] unless it is a tombstone. False when there is none.
    fn evict_oldest(&mut self, except: Option<FragKey>) -> bool {
        let mut held = None;
        let mut evicted = false;
        while let Some(age) = self.ages.pop() {
            if !self.is_current(&age) {
                continue;
            }
            if except == Some(age.key) {
                held = Some(age);
                continue;
            }
            if let Some((first_ts, true)) = self.take_entry(&age.key) {
                self.report(age.key, first_ts, DefragWeird::TableFull);
            }
            evicted = true;
            break;
        }
        if let Some(age) = held {
            self.ages.push(age);
        }
        evicted
    }

    /// Adds a table entry (the caller made room) and its eviction-order entry.
    fn insert(&mut self, key: FragKey, first_ts: Timestamp, buf: Vec<u8>, dead: bool) {
        // Stale heap entries come from removals; rebuild once they dominate.
        if self.ages.len() > self.table.len().saturating_mul(2).saturating_add(64) {
            self.ages.clear();
            self.ages.extend(self.table.iter().map(|(&key, d)| Age {
                first_ts: d.first_ts,
                seq: d.seq,
                key,
            }));
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.ages.push(Age { first_ts, seq, key });
        self.table.insert(
            key,
            Datagram {
                first_ts,
                seq,
                buf,
                ranges: Vec::new(),
                total: None,
                fragments: 0,
                dead,
            },
        );
    }

    /// Removes a table entry; returns its first-seen time and whether it was live (not a
    /// tombstone). Its heap entry goes stale.
    fn take_entry(&mut self, key: &FragKey) -> Option<(Timestamp, bool)> {
        let d = self.table.remove(key)?;
        self.buffered = self.buffered.saturating_sub(d.buf.len());
        if d.dead {
            self.tombstones = self.tombstones.saturating_sub(1);
        }
        self.recycle(d.buf);
        Some((d.first_ts, !d.dead))
    }

    fn report(&mut self, key: FragKey, first_ts: Timestamp, weird: DefragWeird) {
        if self.reports.len() < self.report_cap {
            self.reports.push((key, first_ts, weird));
        } else {
            self.reports_dropped = self.reports_dropped.saturating_add(1);
        }
    }

    /// Keeps a freed buffer for reuse if there is room and it is not oversized.
    fn recycle(&mut self, mut buf: Vec<u8>) {
        let cap = buf.capacity();
        if cap > 0
            && cap <= self.cfg.max_datagram_len.saturating_mul(2)
            && self.spare.len() < SPARE_BUFFERS
        {
            buf.clear();
            self.spare.push(buf);
        }
    }
}

/// Checks a valid fragment `[start, end)` against a live datagram's state.
fn conflict(
    d: &Datagram,
    more_fragments: bool,
    data: &[u8],
    start: u32,
    end: u32,
) -> Result<(), DefragWeird> {
    let max_end = d.ranges.last().map_or(0, |r| r.1);
    match (more_fragments, d.total) {
        (false, Some(total)) if total != end => return Err(DefragWeird::BadLength),
        (false, _) if max_end > end => return Err(DefragWeird::BadLength),
        (true, Some(total)) if end > total => return Err(DefragWeird::BadLength),
        _ => {}
    }
    let first = d.ranges.partition_point(|r| r.1 <= start);
    for &(rs, re) in d.ranges.get(first..).unwrap_or_default() {
        if rs >= end {
            break;
        }
        let lo = rs.max(start);
        let hi = re.min(end);
        let old = d.buf.get(lo as usize..hi as usize);
        let new = data.get(lo.saturating_sub(start) as usize..hi.saturating_sub(start) as usize);
        if old.is_none() || old != new {
            return Err(DefragWeird::OverlapMismatch);
        }
    }
    Ok(())
}

/// Adds `[start, end)` to sorted, disjoint, non-adjacent `ranges`, merging what it touches.
fn merge(ranges: &mut Vec<(u32, u32)>, start: u32, end: u32) {
    let i = ranges.partition_point(|r| r.1 < start);
    let (mut s, mut e) = (start, end);
    let mut j = i;
    while let Some(&(rs, re)) = ranges.get(j) {
        if rs > e {
            break;
        }
        s = s.min(rs);
        e = e.max(re);
        j += 1;
    }
    ranges.splice(i..j, core::iter::once((s, e)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key4(id: u16) -> FragKey {
        FragKey::v4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            17,
            id,
        )
    }

    fn frag(key: FragKey, offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key,
            offset,
            more_fragments: more,
            data,
            truncated: false,
        }
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs_nanos(secs, 0)
    }

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Pushes and returns `Some((payload, fragments, first_ts))` on completion.
    fn push(
        d: &mut Defragmenter,
        ts: Timestamp,
        f: &Fragment<'_>,
    ) -> Result<Option<(Vec<u8>, u16, Timestamp)>, DefragWeird> {
        match d.push(ts, f) {
            DefragOutcome::Pending => Ok(None),
            DefragOutcome::Complete {
                payload,
                fragments,
                first_ts,
            } => Ok(Some((payload.to_vec(), fragments, first_ts))),
            DefragOutcome::Failed(w) => Err(w),
        }
    }

    impl Defragmenter {
        /// Checks every internal invariant; used after each step of the randomized tests.
        fn assert_invariants(&self) {
            let cfg = &self.cfg;
            assert!(self.table.len() <= cfg.max_datagrams.max(1));
            assert!(self.buffered <= cfg.max_buffered_bytes);
            assert!(self.reports.len() <= self.report_cap);
            assert!(self.spare.len() <= SPARE_BUFFERS);
            let sum: usize = self.table.values().map(|d| d.buf.len()).sum();
            assert_eq!(sum, self.buffered);
            let dead = self.table.values().filter(|d| d.dead).count();
            assert_eq!(dead, self.tombstones);
            for (key, d) in &self.table {
                let ages = self.ages.iter().filter(|a| a.key == *key && a.seq == d.seq);
                assert_eq!(ages.count(), 1, "one live heap entry per datagram");
                if d.dead {
                    assert!(d.buf.is_empty() && d.ranges.is_empty());
                    continue;
                }
                assert!(d.buf.len() <= cfg.max_datagram_len);
                let mut prev_end: Option<u32> = None;
                for &(s, e) in &d.ranges {
                    assert!(s < e);
                    if let Some(p) = prev_end {
                        assert!(s > p, "ranges sorted, disjoint, not adjacent");
                    }
                    prev_end = Some(e);
                }
                assert_eq!(prev_end.map_or(0, |e| e as usize), d.buf.len());
                if let Some(total) = d.total {
                    assert!(prev_end.is_some_and(|e| e <= total));
                }
            }
        }
    }

    /// Splits `payload` into fragments of `size` bytes (a multiple of 8).
    fn split(key: FragKey, payload: &[u8], size: usize) -> Vec<Fragment<'_>> {
        let n = payload.chunks(size).count();
        payload
            .chunks(size)
            .enumerate()
            .map(|(i, c)| frag(key, (i * size) as u32, i + 1 < n, c))
            .collect()
    }

    #[test]
    fn in_order_reassembles() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(3000, 1);
        let frags = split(key4(1), &data, 1480);
        assert_eq!(push(&mut d, t(1), &frags[0]), Ok(None));
        assert_eq!(push(&mut d, t(2), &frags[1]), Ok(None));
        assert_eq!(d.pending(), 1);
        assert_eq!(d.buffered_bytes(), 2960);
        assert_eq!(push(&mut d, t(3), &frags[2]), Ok(Some((data, 3, t(1)))));
        assert_eq!(d.pending(), 0);
        assert_eq!(d.buffered_bytes(), 0);
        d.assert_invariants();
    }

    #[test]
    fn reverse_order_reassembles() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(5000, 2);
        let frags = split(key4(2), &data, 1000);
        let mut last = None;
        for (i, f) in frags.iter().rev().enumerate() {
            last = push(&mut d, t(10 + i as i64), f).unwrap();
            d.assert_invariants();
        }
        assert_eq!(last, Some((data, 5, t(10))));
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn middle_first_reassembles() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(2500, 3);
        let f = split(key4(3), &data, 1000);
        assert_eq!(push(&mut d, t(5), &f[1]), Ok(None));
        assert_eq!(push(&mut d, t(6), &f[2]), Ok(None));
        assert_eq!(push(&mut d, t(7), &f[0]), Ok(Some((data, 3, t(5)))));
    }

    #[test]
    fn exact_duplicate_is_accepted() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(2000, 4);
        let f = split(key4(4), &data, 1000);
        assert_eq!(push(&mut d, t(1), &f[0]), Ok(None));
        assert_eq!(push(&mut d, t(2), &f[0]), Ok(None));
        assert_eq!(d.buffered_bytes(), 1000);
        assert_eq!(push(&mut d, t(3), &f[1]), Ok(Some((data, 3, t(1)))));
    }

    #[test]
    fn identical_overlap_is_accepted() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(96, 5);
        let k = key4(5);
        assert_eq!(push(&mut d, t(1), &frag(k, 0, true, &data[..48])), Ok(None));
        // Overlaps the first piece by 16 bytes, and sticks out beyond it.
        assert_eq!(
            push(&mut d, t(1), &frag(k, 32, true, &data[32..80])),
            Ok(None)
        );
        // Entirely inside what is covered.
        assert_eq!(
            push(&mut d, t(1), &frag(k, 8, true, &data[8..72])),
            Ok(None)
        );
        // Final piece overlapping the tail of the covered range.
        assert_eq!(
            push(&mut d, t(2), &frag(k, 64, false, &data[64..])),
            Ok(Some((data, 4, t(1))))
        );
    }

    #[test]
    fn overlap_mismatch_discards_and_swallows_the_rest() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(48, 6);
        let k = key4(6);
        assert_eq!(push(&mut d, t(1), &frag(k, 0, true, &data[..24])), Ok(None));
        let mut evil = data[16..40].to_vec();
        evil[5] ^= 0xff; // offset 21: inside the overlap with the first piece
        assert_eq!(
            push(&mut d, t(2), &frag(k, 16, true, &evil)),
            Err(DefragWeird::OverlapMismatch)
        );
        assert_eq!(d.pending(), 0);
        assert_eq!(d.tombstones(), 1);
        assert_eq!(d.buffered_bytes(), 0);
        // The remaining fragments of the discarded datagram are swallowed (RFC 5722).
        assert_eq!(
            push(&mut d, t(3), &frag(k, 24, false, &data[24..])),
            Ok(None)
        );
        assert_eq!(push(&mut d, t(3), &frag(k, 0, true, &data[..24])), Ok(None));
        assert_eq!(d.pending(), 0);
        // The tombstone vanishes at the timeout, without a second report.
        let mut out = Vec::new();
        d.expire(t(31), &mut out);
        assert!(out.is_empty());
        assert_eq!(d.tombstones(), 0);
        d.assert_invariants();
        // After that, the id may be reused.
        assert_eq!(
            push(&mut d, t(40), &frag(k, 0, true, &data[..24])),
            Ok(None)
        );
        assert_eq!(
            push(&mut d, t(40), &frag(k, 24, false, &data[24..])),
            Ok(Some((data, 2, t(40))))
        );
    }

    #[test]
    fn overlap_mismatch_with_a_later_final_fragment() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(40, 7);
        let k = key4(7);
        assert_eq!(
            push(&mut d, t(1), &frag(k, 16, false, &data[16..])),
            Ok(None)
        );
        let mut evil = data[..24].to_vec();
        evil[23] ^= 1;
        assert_eq!(
            push(&mut d, t(1), &frag(k, 0, true, &evil)),
            Err(DefragWeird::OverlapMismatch)
        );
    }

    #[test]
    fn missing_middle_times_out_with_first_ts() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(3000, 8);
        let k = key4(8);
        let f = split(k, &data, 1000);
        assert_eq!(push(&mut d, t(10), &f[0]), Ok(None));
        assert_eq!(push(&mut d, t(11), &f[2]), Ok(None));
        let mut out = Vec::new();
        d.expire(t(39), &mut out);
        assert!(out.is_empty());
        assert_eq!(d.pending(), 1);
        d.expire(t(40), &mut out);
        assert_eq!(out, vec![(k, t(10), DefragWeird::Timeout)]);
        assert_eq!(d.pending(), 0);
        assert_eq!(d.buffered_bytes(), 0);
        d.assert_invariants();
        // The middle arriving late starts a new datagram.
        assert_eq!(push(&mut d, t(41), &f[1]), Ok(None));
        assert_eq!(d.pending(), 1);
    }

    #[test]
    fn stale_datagram_is_expired_by_push() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(2000, 9);
        let k = key4(9);
        let f = split(k, &data, 1000);
        assert_eq!(push(&mut d, t(0), &f[0]), Ok(None));
        // 30 s later the old state is gone: this fragment alone does not complete.
        assert_eq!(push(&mut d, t(30), &f[1]), Ok(None));
        let mut out = Vec::new();
        d.take_evicted(&mut out);
        assert_eq!(out, vec![(k, t(0), DefragWeird::Timeout)]);
        assert_eq!(push(&mut d, t(31), &f[0]), Ok(Some((data, 2, t(30)))));
        out.clear();
        d.take_evicted(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn drain_reports_pending() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(64, 10);
        let (a, b, c) = (key4(100), key4(101), key4(102));
        assert_eq!(push(&mut d, t(5), &frag(b, 0, true, &data[..32])), Ok(None));
        assert_eq!(
            push(&mut d, t(3), &frag(a, 32, false, &data[32..])),
            Ok(None)
        );
        assert_eq!(
            push(&mut d, t(4), &frag(c, 8, true, &data[..3])),
            Err(DefragWeird::BadLength)
        );
        assert_eq!(d.pending(), 2);
        let mut out = Vec::new();
        d.drain(&mut out);
        assert_eq!(
            out,
            vec![
                (a, t(3), DefragWeird::Incomplete),
                (b, t(5), DefragWeird::Incomplete)
            ]
        );
        assert_eq!(d.pending(), 0);
        assert_eq!(d.tombstones(), 0);
        assert_eq!(d.buffered_bytes(), 0);
        d.assert_invariants();
    }

    #[test]
    fn too_large_fails() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let k = key4(11);
        let data = bytes(1480, 11);
        // IPv4 allows offset 65528 + 1480 bytes: beyond 65535.
        assert_eq!(
            push(&mut d, t(1), &frag(k, 65528, false, &data)),
            Err(DefragWeird::TooLarge)
        );
        assert_eq!(d.buffered_bytes(), 0);
        // Its other fragments are swallowed.
        assert_eq!(push(&mut d, t(1), &frag(k, 0, true, &data)), Ok(None));
        assert_eq!(d.buffered_bytes(), 0);
        // Exactly at the limit is fine.
        let k2 = key4(12);
        let last = bytes(65535 - 65528, 12);
        assert_eq!(push(&mut d, t(1), &frag(k2, 65528, false, &last)), Ok(None));
        assert_eq!(d.buffered_bytes(), 65535);
        // Offset overflowing u32 arithmetic.
        assert_eq!(
            push(&mut d, t(1), &frag(key4(13), u32::MAX - 7, false, &data)),
            Err(DefragWeird::TooLarge)
        );
        // A datagram that alone exceeds the byte budget.
        let mut small = Defragmenter::new(DefragConfig {
            max_buffered_bytes: 100,
            ..DefragConfig::default()
        });
        assert_eq!(
            push(&mut small, t(1), &frag(k, 0, true, &data[..200])),
            Err(DefragWeird::TooLarge)
        );
        small.assert_invariants();
    }

    #[test]
    fn table_full_evicts_the_oldest() {
        let mut d = Defragmenter::new(DefragConfig {
            max_datagrams: 2,
            ..DefragConfig::default()
        });
        let data = bytes(16, 12);
        let (a, b, c) = (key4(1), key4(2), key4(3));
        // `b` arrives second but carries the older timestamp: first-seen time decides.
        assert_eq!(push(&mut d, t(20), &frag(a, 0, true, &data[..8])), Ok(None));
        assert_eq!(push(&mut d, t(10), &frag(b, 0, true, &data[..8])), Ok(None));
        // More fragments of existing datagrams need no slot.
        assert_eq!(push(&mut d, t(21), &frag(a, 0, true, &data[..8])), Ok(None));
        let mut out = Vec::new();
        d.take_evicted(&mut out);
        assert!(out.is_empty());
        assert_eq!(push(&mut d, t(30), &frag(c, 0, true, &data[..8])), Ok(None));
        assert_eq!(d.pending(), 2);
        d.take_evicted(&mut out);
        assert_eq!(out, vec![(b, t(10), DefragWeird::TableFull)]);
        // Reports are delivered once.
        out.clear();
        d.expire(t(31), &mut out);
        assert!(out.is_empty());
        // `a` and `c` are intact.
        assert_eq!(
            push(&mut d, t(31), &frag(a, 8, false, &data[8..])),
            Ok(Some((data.clone(), 3, t(20))))
        );
        assert_eq!(
            push(&mut d, t(31), &frag(c, 8, false, &data[8..])),
            Ok(Some((data, 2, t(30))))
        );
        d.assert_invariants();
    }

    #[test]
    fn byte_budget_evicts_the_oldest() {
        let mut d = Defragmenter::new(DefragConfig {
            max_buffered_bytes: 100,
            ..DefragConfig::default()
        });
        let data = bytes(64, 13);
        let (a, b) = (key4(1), key4(2));
        assert_eq!(push(&mut d, t(1), &frag(a, 0, true, &data)), Ok(None));
        assert_eq!(push(&mut d, t(2), &frag(b, 0, true, &data)), Ok(None));
        assert_eq!(d.buffered_bytes(), 64);
        let mut out = Vec::new();
        d.expire(t(3), &mut out);
        assert_eq!(out, vec![(a, t(1), DefragWeird::TableFull)]);
        // Growing the only datagram never evicts itself.
        assert_eq!(
            push(&mut d, t(4), &frag(b, 64, true, &data[..32])),
            Ok(None)
        );
        assert_eq!(d.buffered_bytes(), 96);
        assert_eq!(
            push(&mut d, t(4), &frag(b, 96, false, &data[..8])),
            Err(DefragWeird::TooLarge)
        );
        d.assert_invariants();
    }

    #[test]
    fn truncated_fragment_fails() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(2000, 14);
        let k = key4(14);
        let f = split(k, &data, 1000);
        assert_eq!(push(&mut d, t(1), &f[0]), Ok(None));
        let cut = Fragment {
            data: &data[1000..1100],
            truncated: true,
            ..f[1]
        };
        assert_eq!(push(&mut d, t(2), &cut), Err(DefragWeird::Truncated));
        assert_eq!(d.pending(), 0);
        assert_eq!(d.buffered_bytes(), 0);
        // A retransmitted, complete copy cannot revive the datagram before its timeout.
        assert_eq!(push(&mut d, t(3), &f[1]), Ok(None));
        // A truncated unfragmented packet leaves no tombstone behind.
        let whole = Fragment {
            truncated: true,
            ..frag(key4(15), 0, false, &data[..10])
        };
        assert_eq!(push(&mut d, t(4), &whole), Err(DefragWeird::Truncated));
        assert_eq!(d.tombstones(), 1);
    }

    #[test]
    fn ipv6_key_with_32bit_id() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        // Same low 16 bits, different 32-bit identification: two datagrams.
        let k1 = FragKey::v6(src, dst, 17, 0x1234_5678);
        let k2 = FragKey::v6(src, dst, 17, 0x0000_5678);
        assert_eq!(k1.id, 0x1234_5678);
        let d1 = bytes(1500, 15);
        let d2 = bytes(1500, 16);
        let f1 = split(k1, &d1, 1232);
        let f2 = split(k2, &d2, 1232);
        let mut d = Defragmenter::new(DefragConfig::default());
        assert_eq!(push(&mut d, t(1), &f1[0]), Ok(None));
        assert_eq!(push(&mut d, t(1), &f2[1]), Ok(None));
        assert_eq!(d.pending(), 2);
        assert_eq!(push(&mut d, t(2), &f1[1]), Ok(Some((d1, 2, t(1)))));
        assert_eq!(push(&mut d, t(2), &f2[0]), Ok(Some((d2, 2, t(1)))));
    }

    #[test]
    fn same_id_different_src_are_independent() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let ka = key4(77);
        let kb = FragKey {
            src: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 9)),
            ..ka
        };
        let da = bytes(1600, 17);
        let db = bytes(1600, 18);
        let fa = split(ka, &da, 800);
        let fb = split(kb, &db, 800);
        assert_eq!(push(&mut d, t(1), &fa[0]), Ok(None));
        assert_eq!(push(&mut d, t(1), &fb[0]), Ok(None));
        assert_eq!(push(&mut d, t(2), &fb[1]), Ok(Some((db, 2, t(1)))));
        assert_eq!(push(&mut d, t(2), &fa[1]), Ok(Some((da, 2, t(1)))));
    }

    #[test]
    fn bad_lengths_fail() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let data = bytes(64, 19);
        // Zero-length non-final and final fragments.
        assert_eq!(
            push(&mut d, t(1), &frag(key4(1), 0, true, &[])),
            Err(DefragWeird::BadLength)
        );
        assert_eq!(
            push(&mut d, t(1), &frag(key4(2), 8, false, &[])),
            Err(DefragWeird::BadLength)
        );
        // Non-final fragment whose length is not a multiple of 8.
        assert_eq!(
            push(&mut d, t(1), &frag(key4(3), 0, true, &data[..7])),
            Err(DefragWeird::BadLength)
        );
        // Offset not a multiple of 8 (impossible on the wire).
        assert_eq!(
            push(&mut d, t(1), &frag(key4(4), 4, false, &data[..8])),
            Err(DefragWeird::BadLength)
        );
        // A final fragment may have any length.
        assert_eq!(
            push(&mut d, t(1), &frag(key4(5), 8, false, &data[..5])),
            Ok(None)
        );
        // A fragment beyond the end set by the final fragment.
        let k = key4(6);
        assert_eq!(
            push(&mut d, t(1), &frag(k, 16, false, &data[..8])),
            Ok(None)
        );
        assert_eq!(
            push(&mut d, t(1), &frag(k, 16, true, &data[..16])),
            Err(DefragWeird::BadLength)
        );
        // A second final fragment with a different end.
        let k = key4(7);
        assert_eq!(
            push(&mut d, t(1), &frag(k, 16, false, &data[..8])),
            Ok(None)
        );
        assert_eq!(
            push(&mut d, t(1), &frag(k, 8, false, &data[..8])),
            Err(DefragWeird::BadLength)
        );
        // A final fragment ending before data already received.
        let k = key4(8);
        assert_eq!(
            push(&mut d, t(1), &frag(k, 16, true, &data[..16])),
            Ok(None)
        );
        assert_eq!(
            push(&mut d, t(1), &frag(k, 0, false, &data[..8])),
            Err(DefragWeird::BadLength)
        );
        d.assert_invariants();
    }

    #[test]
    fn unfragmented_packet_completes_at_once() {
        let mut d = Defragmenter::new(DefragConfig {
            max_datagrams: 1,
            ..DefragConfig::default()
        });
        let data = bytes(100, 20);
        assert_eq!(
            push(&mut d, t(1), &frag(key4(1), 0, true, &data[..8])),
            Ok(None)
        );
        assert_eq!(
            push(&mut d, t(2), &frag(key4(2), 0, false, &data)),
            Ok(Some((data, 1, t(2))))
        );
        // It took no slot, so nothing was evicted.
        assert_eq!(d.pending(), 1);
        let mut out = Vec::new();
        d.take_evicted(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn report_queue_is_bounded() {
        let mut d = Defragmenter::new(DefragConfig {
            max_datagrams: 1,
            ..DefragConfig::default()
        });
        let data = bytes(8, 21);
        for id in 0..300u16 {
            assert_eq!(
                push(&mut d, t(1), &frag(key4(id), 0, true, &data)),
                Ok(None)
            );
        }
        let mut out = Vec::new();
        d.take_evicted(&mut out);
        assert_eq!(out.len(), 256);
        assert_eq!(d.reports_dropped(), 43);
        assert!(out.iter().all(|r| r.2 == DefragWeird::TableFull));
    }

    #[test]
    fn weird_names_are_stable() {
        let all = [
            (DefragWeird::OverlapMismatch, "frag_overlap_mismatch"),
            (DefragWeird::TooLarge, "frag_too_large"),
            (DefragWeird::TableFull, "frag_table_full"),
            (DefragWeird::Truncated, "frag_truncated"),
            (DefragWeird::BadLength, "frag_bad_length"),
            (DefragWeird::Timeout, "frag_timeout"),
            (DefragWeird::Incomplete, "frag_incomplete"),
        ];
        for (w, name) in all {
            assert_eq!(w.name(), name);
            assert_eq!(w.to_string(), name);
        }
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    #[test]
    fn randomized_split_shuffle_duplicates_reassemble() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut d = Defragmenter::new(DefragConfig::default());
        for round in 0..600u32 {
            let len = 1 + rng.below(4000) as usize;
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut pieces: Vec<(usize, usize)> = Vec::new();
            let mut start = 0;
            while start < len {
                let end = (start + 8 * (1 + rng.below(80) as usize)).min(len);
                pieces.push((start, end));
                start = end;
            }
            // Duplicates, and overlapping pieces with identical bytes.
            for _ in 0..rng.below(6) {
                if rng.below(2) == 0 {
                    let p = pieces[rng.below(pieces.len() as u64) as usize];
                    pieces.push(p);
                } else {
                    let blocks = len.div_ceil(8) as u64;
                    let a = rng.below(blocks) as usize * 8;
                    let b = (a + 8 * (1 + rng.below(40) as usize)).min(len);
                    pieces.push((a, b));
                }
            }
            for i in (1..pieces.len()).rev() {
                pieces.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let key = FragKey::v6(
                Ipv6Addr::LOCALHOST,
                Ipv6Addr::LOCALHOST,
                6,
                round.wrapping_mul(2_654_435_761),
            );
            let mut completions = 0;
            for &(s, e) in &pieces {
                let f = frag(key, s as u32, e < len, &data[s..e]);
                match d.push(t(i64::from(round)), &f) {
                    DefragOutcome::Pending => {}
                    DefragOutcome::Complete { payload, .. } => {
                        assert_eq!(payload, &data[..], "round {round}");
                        completions += 1;
                    }
                    DefragOutcome::Failed(w) => panic!("round {round}: {w}"),
                }
                d.assert_invariants();
            }
            assert!(completions >= 1, "round {round} never completed");
            // Duplicates pushed after completion may have started a new datagram.
            let mut out = Vec::new();
            d.drain(&mut out);
            assert!(out
                .iter()
                .all(|r| r.0 == key && r.2 == DefragWeird::Incomplete));
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let cfg = DefragConfig {
            max_datagrams: 8,
            max_datagram_len: 2000,
            max_buffered_bytes: 3000,
            timeout: Duration::from_secs(5),
        };
        let max_len = cfg.max_datagram_len;
        let mut d = Defragmenter::new(cfg);
        let pool: Vec<u8> = (0..600).map(|_| (rng.next() % 3) as u8).collect();
        let mut now = 0i64;
        let mut out = Vec::new();
        let mut completes = 0;
        let mut seen: Vec<DefragWeird> = Vec::new();
        for _ in 0..50_000 {
            now += rng.below(300_000_000) as i64 - 50_000_000;
            if rng.below(200) == 0 {
                now += 6_000_000_000;
            }
            let ts = Timestamp(now);
            match rng.below(100) {
                0 => d.expire(ts, &mut out),
                1 => d.take_evicted(&mut out),
                2 if rng.below(10) == 0 => d.drain(&mut out),
                _ => {
                    let id = rng.below(12) as u16;
                    let key = if rng.below(4) == 0 {
                        FragKey::v6(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED, 17, id.into())
                    } else {
                        key4(id)
                    };
                    let offset = match rng.below(8) {
                        0 => rng.next() as u32,
                        1 => u32::MAX - rng.below(16) as u32,
                        _ => rng.below(260) as u32 * 8,
                    };
                    let a = rng.below(pool.len() as u64) as usize;
                    let n = match rng.below(3) {
                        0 => rng.below(20) as usize,
                        _ => 8 * rng.below(40) as usize,
                    };
                    let data = &pool[a..(a + n).min(pool.len())];
                    let f = Fragment {
                        key,
                        offset,
                        more_fragments: rng.below(3) != 0,
                        data,
                        truncated: rng.below(30) == 0,
                    };
                    match d.push(ts, &f) {
                        DefragOutcome::Complete { payload, .. } => {
                            assert!(payload.len() <= max_len);
                            completes += 1;
                        }
                        DefragOutcome::Failed(w) => seen.push(w),
                        DefragOutcome::Pending => {}
                    }
                }
            }
            d.assert_invariants();
            seen.extend(out.drain(..).map(|r| r.2));
        }
        d.drain(&mut out);
        seen.extend(out.drain(..).map(|r| r.2));
        // The garbage exercises every path.
        assert!(completes > 0);
        for w in [
            DefragWeird::OverlapMismatch,
            DefragWeird::TooLarge,
            DefragWeird::TableFull,
            DefragWeird::Truncated,
            DefragWeird::BadLength,
            DefragWeird::Timeout,
            DefragWeird::Incomplete,
        ] {
            assert!(seen.contains(&w), "{w} never happened");
        }
        assert_eq!(d.pending() + d.tombstones() + d.buffered_bytes(), 0);
    }
}
