//! The bounded flow table: a hash map from [`FlowKey`] to slots in a slab, with one
//! least-recently-seen list per timeout class.
//!
//! Bounds: at most `max_flows` entries. Inserting into a full table evicts the entry seen least
//! recently (over all classes) and hands it back so its final record can still be emitted.
//! Expiry runs on packet time ([`FlowTable::expire`]). To keep the per-packet cost to a field
//! write, an entry is moved to the front of its list at most once per relink granularity of its
//! class (a sixteenth of the class timeout, at least [`RELINK_GRANULARITY`]; moving it on every
//! packet costs two cache misses on its list neighbours). Expiry checks the real last-seen time,
//! so a flow is expired neither early nor late (to within the sweep interval;
//! [`FlowTable::is_idle`] answers exactly, for the packet that finds one). Eviction of a full
//! table takes the least recently seen entry to within the granularity.

use super::FlowKey;
use crate::time::{Duration, Timestamp};
use rustc_hash::FxBuildHasher;

/// Index of an entry in the table's slab.
pub type Slot = u32;

const NIL: Slot = Slot::MAX;

/// The least a class's relink granularity may be: how stale an entry's list position may get
/// before a packet moves it to the front.
pub const RELINK_GRANULARITY: Duration = Duration(1_000_000_000);

/// A class's relink granularity: a sixteenth of its timeout, at least [`RELINK_GRANULARITY`].
fn relink_granularity(timeout: Duration) -> Duration {
    Duration((timeout.0 / 16).max(RELINK_GRANULARITY.0))
}

/// The relink granularity of `class` (the table keeps one per class).
#[inline]
fn class_granularity(relink: &[Duration], class: u8) -> Duration {
    relink
        .get(usize::from(class))
        .copied()
        .unwrap_or(RELINK_GRANULARITY)
}

/// Limits of a [`FlowTable`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowTableConfig {
    /// Most entries kept at once.
    pub max_flows: usize,
    /// Idle timeout of each class (index = class number).
    pub timeouts: Vec<Duration>,
}

// Layout: the key compare of a lookup and `touch` read the first cache line; keep what a packet
// needs next to it.
// The 4- and 1-byte fields fill the key's tail (42 bytes), so the header is 80 bytes, not 88.
// Aligned to a cache line: an entry of the engine's flows is exactly 8 lines (512 bytes), so a
// packet's prefetch brings 8 lines, not the 9 an unaligned entry straddles.
#[repr(C, align(64))]
struct Entry<V> {
    key: FlowKey,
    prev: Slot,
    next: Slot,
    class: u8,
    last_ts: Timestamp,
    linked_ts: Timestamp,
    hash: u64,
    value: Option<V>,
}

#[derive(Clone, Copy)]
struct List {
    head: Slot,
    tail: Slot,
}

/// The flow table. `V` is the per-flow state of the caller.
pub struct FlowTable<V> {
    // Hash tag + slot (8 bytes a bucket); keys live in the entries.
    map: super::index::Index,
    entries: Vec<Entry<V>>,
    free: Vec<Slot>,
    lists: Vec<List>,
    timeouts: Vec<Duration>,
    relink: Vec<Duration>,
    max_flows: usize,
    len: usize,
    // Entries up to this index have been handed to the background pre-faulter.
    prefaulted: usize,
}

/// The flow table's entries are pre-faulted by a helper thread ([`FlowTable::prefault_ahead`])
/// `PREFAULT_STEP` bytes at a time, `PREFAULT_AHEAD` steps ahead of the vector's length, once it
/// holds `PREFAULT_START` entries (a small table never asks). The lead covers a burst of new
/// connections (the 1 GiB bench opens ~50,000 in its first 0.1 s; one step ahead, the analysis
/// thread still zeroed huge pages itself when the kernel was slow to give them) and costs at
/// most that much unused memory when the table stops growing.
const PREFAULT_STEP: usize = 2 << 20;
const PREFAULT_AHEAD: usize = 4;
const PREFAULT_START: usize = 256;

impl<V> FlowTable<V> {
    /// An empty table. `timeouts` has one entry per class; at least one class is made.
    pub fn new(cfg: FlowTableConfig) -> Self {
        let mut timeouts = cfg.timeouts;
        if timeouts.is_empty() {
            timeouts.push(Duration::from_secs(60));
        }
        let max_flows = cfg.max_flows.clamp(1, NIL as usize - 1);
        let mut entries = Vec::with_capacity(max_flows);
        tidysniff_prefetch::advise_huge_pages(entries.spare_capacity_mut());
        FlowTable {
            // Grown by doubling up to the limit: a large limit costs nothing until used.
            map: super::index::Index::new(max_flows.min(1 << 15)),
            // Reserved once (address space only until used): growing by doubling would copy the
            // whole table and hold both copies at the peak.
            entries,
            free: Vec::new(),
            lists: vec![
                List {
                    head: NIL,
                    tail: NIL
                };
                timeouts.len()
            ],
            relink: timeouts.iter().map(|t| relink_granularity(*t)).collect(),
            timeouts,
            max_flows,
            len: 0,
            prefaulted: 0,
        }
    }

    /// Before the entry vector grows: keep the helper thread `PREFAULT_AHEAD` steps ahead of it,
    /// so the analysis thread does not wait for fresh (huge) pages to be allocated and zeroed.
    #[inline]
    fn prefault_ahead(&mut self) {
        let step = (PREFAULT_STEP / core::mem::size_of::<Entry<V>>().max(1)).max(1);
        let n = self.entries.len();
        if n < PREFAULT_START || n + (PREFAULT_AHEAD - 1) * step < self.prefaulted {
            return;
        }
        let spare_len = self.entries.capacity() - n;
        while self.prefaulted < n + PREFAULT_AHEAD * step {
            let lo = self.prefaulted.max(n) - n;
            let hi = (lo + step).min(spare_len);
            if lo >= hi {
                break;
            }
            if let Some(range) = self.entries.spare_capacity_mut().get(lo..hi) {
                tidysniff_prefetch::prefault_in_background(range);
            }
            self.prefaulted = n + hi;
        }
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn hash_key(&self, key: &FlowKey) -> u64 {
        Self::hash_of(key)
    }

    /// The hash a table gives `key` (the same in every table: the hasher has no state), so
    /// another thread can compute it ahead of time (see [`FlowTable::prefetch_bucket`]).
    #[inline]
    pub fn hash_of(key: &FlowKey) -> u64 {
        use core::hash::BuildHasher;
        let h = FxBuildHasher.hash_one(key);
        // Fx leaves the low bits (bucket index) weak for structured keys: fold the high bits in.
        h ^ (h >> 32)
    }

    /// The slot holding `key`.
    #[inline]
    pub fn get(&self, key: &FlowKey) -> Option<Slot> {
        let hash = self.hash_key(key);
        let entries = &self.entries;
        self.map.find(hash, |s| {
            entries
                .get(s as usize)
                .is_some_and(|e| e.value.is_some() && e.key == *key)
        })
    }

    /// The hash [`FlowTable::prefetch_bucket`] and [`FlowTable::prefetch_entry`] take.
    #[inline]
    pub fn key_hash(&self, key: &FlowKey) -> u64 {
        self.hash_key(key)
    }

    /// First prefetch stage for a packet a few packets ahead: starts loading the index bucket
    /// its key hashes to.
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        if let Some(b) = self.map.bucket_ref(hash) {
            tidysniff_prefetch::read(b);
        }
    }

    /// Starts loading a known slot's entry (for walks over many slots, such as the end of input).
    #[inline]
    pub fn prefetch_slot(&self, slot: Slot) {
        if let Some(e) = self.entries.get(slot as usize) {
            tidysniff_prefetch::read_bytes(e, core::mem::size_of::<Entry<V>>());
        }
    }

    /// Third stage, once the entry is cached: when a packet at `now` would move the entry to the
    /// front of its list ([`FlowTable::touch`]), starts loading the links of its list neighbours,
    /// which that move writes (two misses otherwise).
    #[inline]
    pub fn prefetch_neighbours(&self, hash: u64, now: Timestamp) {
        let Some(e) = self
            .map
            .first_candidate(hash)
            .and_then(|s| self.entries.get(s as usize))
        else {
            return;
        };
        let granularity = class_granularity(&self.relink, e.class);
        if e.value.is_some() && now.since(e.linked_ts) >= granularity {
            if let Some(p) = self.entries.get(e.prev as usize) {
                tidysniff_prefetch::read(&p.next);
            }
            if let Some(n) = self.entries.get(e.next as usize) {
                tidysniff_prefetch::read(&n.prev);
            }
        }
    }

    /// Second stage, once the bucket is cached: starts loading the entry the bucket names (no
    /// key compare, which would wait for the entry), so the later [`FlowTable::get`] hits.
    #[inline]
    pub fn prefetch_entry(&self, hash: u64) {
        if let Some(e) = self
            .map
            .first_candidate(hash)
            .and_then(|s| self.entries.get(s as usize))
        {
            // The whole entry: key, list links and the per-flow state a packet updates.
            tidysniff_prefetch::read_bytes(e, core::mem::size_of::<Entry<V>>());
        }
    }

    /// The key of a live slot.
    pub fn key(&self, slot: Slot) -> Option<&FlowKey> {
        self.entries
            .get(slot as usize)
            .filter(|e| e.value.is_some())
            .map(|e| &e.key)
    }

    /// The value of a live slot, read-only.
    #[inline]
    pub fn peek(&self, slot: Slot) -> Option<&V> {
        self.entries
            .get(slot as usize)
            .and_then(|e| e.value.as_ref())
    }

    /// The value of a live slot.
    #[inline]
    pub fn value_mut(&mut self, slot: Slot) -> Option<&mut V> {
        self.entries
            .get_mut(slot as usize)
            .and_then(|e| e.value.as_mut())
    }

    /// Inserts a new entry (the key must not be present). When the table is full, the least
    /// recently seen entry is removed first and returned (as [`FlowTable::remove`] returns it).
    pub fn insert(
        &mut self,
        key: FlowKey,
        value: V,
        ts: Timestamp,
        class: u8,
    ) -> (Slot, Option<(FlowKey, V, Timestamp)>) {
        let evicted = if self.len >= self.max_flows {
            self.evict_oldest()
        } else {
            None
        };
        let class = class.min(self.lists.len() as u8 - 1);
        let hash = self.hash_key(&key);
        let slot = match self.free.pop() {
            Some(s) => {
                // Field by field into the free entry: the value is moved once (an `Entry` built
                // first and assigned whole costs another copy of the flow's ~500 bytes).
                let e = &mut self.entries[s as usize];
                e.key = key;
                e.value = Some(value);
                e.last_ts = ts;
                e.linked_ts = ts;
                e.class = class;
                e.prev = NIL;
                e.next = NIL;
                e.hash = hash;
                s
            }
            None => {
                self.prefault_ahead();
                self.entries.push(Entry {
                    key,
                    value: Some(value),
                    last_ts: ts,
                    linked_ts: ts,
                    class,
                    prev: NIL,
                    next: NIL,
                    hash,
                });
                (self.entries.len() - 1) as Slot
            }
        };
        self.push_front(slot);
        if self.len + 1 > self.map.capacity() {
            let mut bigger = super::index::Index::new(self.map.capacity().saturating_mul(2));
            for (s, e) in self.entries.iter().enumerate() {
                if e.value.is_some() && s as Slot != slot {
                    bigger.insert(e.hash, s as Slot);
                }
            }
            self.map = bigger;
        }
        self.map.insert(hash, slot);
        self.len += 1;
        (slot, evicted)
    }

    /// Records activity at `ts` on `slot`.
    #[inline]
    pub fn touch(&mut self, slot: Slot, ts: Timestamp) {
        let Some(e) = self.entries.get_mut(slot as usize) else {
            return;
        };
        if ts > e.last_ts {
            e.last_ts = ts;
        }
        let granularity = class_granularity(&self.relink, e.class);
        if ts.since(e.linked_ts) >= granularity {
            self.unlink(slot);
            self.entries[slot as usize].linked_ts = ts;
            self.push_front(slot);
        }
    }

    /// True when a live `slot` has been idle for at least its class timeout at `now`: a packet
    /// that finds it belongs to a new flow, even if no sweep has removed it yet.
    #[inline]
    pub fn is_idle(&self, slot: Slot, now: Timestamp) -> bool {
        self.entries.get(slot as usize).is_some_and(|e| {
            e.value.is_some()
                && self
                    .timeouts
                    .get(usize::from(e.class))
                    .is_some_and(|t| now.since(e.last_ts) >= *t)
        })
    }

    /// Moves `slot` to another timeout class.
    pub fn set_class(&mut self, slot: Slot, class: u8) {
        let class = class.min(self.lists.len() as u8 - 1);
        let Some(e) = self.entries.get(slot as usize) else {
            return;
        };
        if e.value.is_none() || e.class == class {
            return;
        }
        self.unlink(slot);
        let e = &mut self.entries[slot as usize];
        e.class = class;
        e.linked_ts = e.last_ts;
        self.push_front(slot);
    }

    /// Removes a live entry: its key, value and last-seen time (the latest `ts` given to
    /// `insert` or `touch`; the table keeps it, so values need not).
    pub fn remove(&mut self, slot: Slot) -> Option<(FlowKey, V, Timestamp)> {
        let value = self.entries.get_mut(slot as usize)?.value.take()?;
        self.unlink(slot);
        let (key, hash, last_ts) = (
            self.entries[slot as usize].key,
            self.entries[slot as usize].hash,
            self.entries[slot as usize].last_ts,
        );
        self.map.remove(hash, slot);
        self.free.push(slot);
        self.len -= 1;
        Some((key, value, last_ts))
    }

    /// Removes every entry idle for at least its class timeout at `now`, oldest first.
    ///
    /// A list is in link order, and an entry is seen at most its class granularity after it was
    /// linked (a later packet relinks it), so the walk from the tail stops at the first entry
    /// linked less than a timeout ago; entries linked earlier but seen since stay where they are
    /// (moving them to the front would put them behind newer entries and expire them late).
    pub fn expire(&mut self, now: Timestamp, mut out: impl FnMut(FlowKey, V, Timestamp)) {
        for class in 0..self.lists.len() {
            let timeout = self.timeouts[class];
            let mut at = self.lists[class].tail;
            while let Some(e) = self.entries.get(at as usize) {
                if now.since(e.linked_ts) < timeout {
                    break;
                }
                let newer = e.prev;
                if now.since(e.last_ts) >= timeout {
                    if let Some((k, v, last)) = self.remove(at) {
                        out(k, v, last);
                    }
                }
                at = newer;
            }
        }
    }

    /// Removes every entry (end of input), in no particular order.
    pub fn drain(&mut self, mut out: impl FnMut(FlowKey, V, Timestamp)) {
        for slot in 0..self.entries.len() as Slot {
            if let Some((k, v, last)) = self.remove(slot) {
                out(k, v, last);
            }
        }
        self.entries.clear();
        self.free.clear();
    }

    /// Iterates over live slots (for inspection; order unspecified).
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.value.is_some())
            .map(|(i, _)| i as Slot)
    }

    fn evict_oldest(&mut self) -> Option<(FlowKey, V, Timestamp)> {
        let oldest = self
            .lists
            .iter()
            .filter_map(|l| {
                self.entries
                    .get(l.tail as usize)
                    .map(|e| (e.linked_ts, l.tail))
            })
            .min_by_key(|&(ts, _)| ts)?
            .1;
        self.remove(oldest)
    }

    fn unlink(&mut self, slot: Slot) {
        let (prev, next, class) = {
            let e = &self.entries[slot as usize];
            (e.prev, e.next, e.class as usize)
        };
        match self.entries.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.lists[class].head = next,
        }
        match self.entries.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.lists[class].tail = prev,
        }
        let e = &mut self.entries[slot as usize];
        e.prev = NIL;
        e.next = NIL;
    }

    fn push_front(&mut self, slot: Slot) {
        let class = self.entries[slot as usize].class as usize;
        let head = self.lists[class].head;
        {
            let e = &mut self.entries[slot as usize];
            e.prev = NIL;
            e.next = head;
        }
        match self.entries.get_mut(head as usize) {
            Some(h) => h.prev = slot,
            None => self.lists[class].tail = slot,
        }
        self.lists[class].head = slot;
    }
}

/// Size of a table entry holding a `V` (layout tests).
#[cfg(test)]
pub(crate) fn entry_size<V>() -> usize {
    core::mem::size_of::<Entry<V>>()
}

/// Alignment of a table entry (layout tests).
#[cfg(test)]
pub(crate) fn entry_align<V>() -> usize {
    core::mem::align_of::<Entry<V>>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Endpoint, Proto};

    fn key(n: u16) -> FlowKey {
        FlowKey::new(
            Endpoint {
                addr: "10.0.0.1".parse().unwrap(),
                port: n,
            },
            Endpoint {
                addr: "10.0.0.2".parse().unwrap(),
                port: 80,
            },
            Proto::Udp,
        )
        .0
    }

    fn secs(s: i64) -> Timestamp {
        Timestamp::from_secs_nanos(s, 0)
    }

    fn table(max: usize) -> FlowTable<u16> {
        FlowTable::new(FlowTableConfig {
            max_flows: max,
            timeouts: vec![Duration::from_secs(60), Duration::from_secs(5)],
        })
    }

    #[test]
    fn a_growing_table_keeps_the_prefault_lead_and_a_small_one_asks_nothing() {
        let step = PREFAULT_STEP / core::mem::size_of::<Entry<u16>>();
        let mut t = table(60_000);
        for n in 0..PREFAULT_START as u16 {
            t.insert(key(n), n, secs(1), 0);
        }
        assert_eq!(t.prefaulted, 0, "below PREFAULT_START nothing is asked");
        for n in PREFAULT_START as u16..60_000 {
            t.insert(key(n), n, secs(1), 0);
            let len = t.entries.len();
            let lead = t.prefaulted - len;
            assert!(
                lead >= (PREFAULT_AHEAD - 1) * step || t.prefaulted == t.entries.capacity(),
                "len {len}: lead {lead}"
            );
            assert!(lead <= PREFAULT_AHEAD * step, "len {len}: lead {lead}");
        }
        assert!(t.prefaulted <= t.entries.capacity());
        // Reused slots (after removals) do not grow the vector: nothing more is asked.
        let before = t.prefaulted;
        for n in 0..1000u16 {
            let s = t.get(&key(n)).unwrap();
            t.remove(s);
            t.insert(key(n), n, secs(2), 0);
        }
        assert_eq!(t.prefaulted, before);
    }

    #[test]
    fn full_table_evicts_least_recently_seen() {
        let mut t = table(3);
        for n in 0..3 {
            t.insert(key(n), n, secs(n as i64 * 10), 0);
        }
        // flow 0 is touched later, so 1 is now the oldest.
        let s0 = t.get(&key(0)).unwrap();
        t.touch(s0, secs(40));
        let (_, ev) = t.insert(key(9), 9, secs(41), 0);
        assert_eq!(ev.map(|(_, v, _)| v), Some(1));
        assert_eq!(t.len(), 3);
        assert!(t.get(&key(1)).is_none());
    }

    #[test]
    fn expiry_respects_class_timeouts_and_late_activity() {
        let mut t = table(100);
        t.insert(key(1), 1, secs(0), 0);
        let s2 = t.insert(key(2), 2, secs(0), 1).0;
        let s3 = t.insert(key(3), 3, secs(0), 0).0;
        t.touch(s3, secs(0).add(Duration(500_000_000))); // under the relink granularity
        let mut out = vec![];
        t.expire(secs(6), |_, v, _| out.push(v));
        assert_eq!(out, vec![2]);
        t.touch(s3, secs(59));
        t.expire(secs(60), |_, v, _| out.push(v));
        assert_eq!(out, vec![2, 1]);
        t.expire(secs(118), |_, v, _| out.push(v));
        assert_eq!(out, vec![2, 1]);
        t.expire(secs(119), |_, v, _| out.push(v));
        assert_eq!(out, vec![2, 1, 3]);
        assert!(t.is_empty());
        assert!(t.value_mut(s2).is_none());
    }

    #[test]
    fn entry_seen_soon_after_linking_expires_on_time_behind_newer_entries() {
        let mut t = table(100);
        // Linked at 0 s, seen again at 2 s (under the 3.75 s granularity of a 60 s class).
        let s1 = t.insert(key(1), 1, secs(0), 0).0;
        t.touch(s1, secs(2));
        // Newer entries, one of them active until 100 s.
        t.insert(key(2), 2, secs(30), 0);
        let s3 = t.insert(key(3), 3, secs(31), 0).0;
        t.touch(s3, secs(100));
        let mut out = vec![];
        t.expire(secs(61), |_, v, _| out.push(v));
        assert!(out.is_empty(), "{out:?}");
        assert!(!t.is_idle(s1, secs(61)) && t.is_idle(s1, secs(62)));
        t.expire(secs(62), |_, v, _| out.push(v));
        assert_eq!(out, vec![1]);
        t.expire(secs(90), |_, v, _| out.push(v));
        assert_eq!(out, vec![1, 2]);
        t.expire(secs(159), |_, v, _| out.push(v));
        assert_eq!(out, vec![1, 2]);
        t.expire(secs(160), |_, v, _| out.push(v));
        assert_eq!(out, vec![1, 2, 3]);
    }

    #[test]
    fn bounded_under_endless_new_flows() {
        let mut t = table(1000);
        let mut evicted = 0;
        for n in 0..50_000u32 {
            let (_, ev) = t.insert(
                key((n % 65_000) as u16).clone_with(n),
                n as u16,
                secs(n as i64),
                0,
            );
            evicted += ev.is_some() as u32;
            let mut sink = |_, _, _| evicted += 1;
            t.expire(secs(n as i64), &mut sink);
        }
        assert!(t.len() <= 1000);
        assert_eq!(evicted as usize + t.len(), 50_000);
    }

    trait CloneWith {
        fn clone_with(self, n: u32) -> FlowKey;
    }
    impl CloneWith for FlowKey {
        fn clone_with(mut self, n: u32) -> FlowKey {
            self.lo.addr = core::net::IpAddr::V4(core::net::Ipv4Addr::from(n));
            self
        }
    }
}
