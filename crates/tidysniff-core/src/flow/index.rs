//! The flow table's index: hash -> slot, open addressing with linear probing and backward-shift
//! deletion (no tombstones), sized once from the table's limit.
//!
//! Our own rather than hashbrown's so the engine can prefetch in two stages: the bucket a future
//! packet's key hashes to ([`Index::bucket_ref`]), and a few packets later, once that bucket is
//! cached, the entry its slot names ([`Index::first_candidate`]).

use super::table::Slot;

/// A bucket: the key hash's low 32 bits (which also give its home bucket) and `slot + 1`;
/// 0 is empty.
type Bucket = u64;

pub(crate) struct Index {
    buckets: Vec<Bucket>,
    mask: usize,
}

#[inline]
fn tag(hash: u64) -> u32 {
    hash as u32
}

#[inline]
fn pack(hash: u64, slot: Slot) -> Bucket {
    (u64::from(tag(hash)) << 32) | (u64::from(slot) + 1)
}

#[inline]
fn slot_of(b: Bucket) -> Slot {
    (b as u32).wrapping_sub(1)
}

impl Index {
    /// An index for `max` entries at load factor 1/2 (the table grows it by rebuilding).
    pub fn new(max: usize) -> Self {
        let cap = max.saturating_mul(2).max(16).next_power_of_two();
        Index {
            buckets: vec![0; cap],
            mask: cap - 1,
        }
    }

    /// Entries it holds at load factor 1/2.
    pub fn capacity(&self) -> usize {
        self.buckets.len() / 2
    }

    #[inline]
    fn home_of_tag(&self, t: u32) -> usize {
        t as usize & self.mask
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        self.home_of_tag(tag(hash))
    }

    /// The bucket `hash` starts probing at (for a prefetch hint).
    #[inline]
    pub fn bucket_ref(&self, hash: u64) -> Option<&Bucket> {
        self.buckets.get(self.home(hash))
    }

    /// The first slot whose stored hash matches `hash`, without checking the key.
    #[inline]
    pub fn first_candidate(&self, hash: u64) -> Option<Slot> {
        self.find(hash, |_| true)
    }

    /// The slot of `hash` for which `eq` holds.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(Slot) -> bool) -> Option<Slot> {
        let t = tag(hash);
        let mut i = self.home(hash);
        for _ in 0..self.buckets.len() {
            let b = *self.buckets.get(i)?;
            if b == 0 {
                return None;
            }
            if (b >> 32) as u32 == t && eq(slot_of(b)) {
                return Some(slot_of(b));
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Adds `slot` under `hash` (the caller keeps the number of entries within the limit).
    pub fn insert(&mut self, hash: u64, slot: Slot) {
        let mut i = self.home(hash);
        for _ in 0..self.buckets.len() {
            match self.buckets.get_mut(i) {
                Some(b) if *b == 0 => {
                    *b = pack(hash, slot);
                    return;
                }
                Some(_) => i = (i + 1) & self.mask,
                None => return,
            }
        }
    }

    /// Removes `slot` stored under `hash`; later buckets of the probe run shift back so no
    /// lookup stops early.
    pub fn remove(&mut self, hash: u64, slot: Slot) {
        let want = pack(hash, slot);
        let mut i = self.home(hash);
        let mut found = None;
        for _ in 0..self.buckets.len() {
            match self.buckets.get(i) {
                Some(0) | None => break,
                Some(&b) if b == want => {
                    found = Some(i);
                    break;
                }
                Some(_) => i = (i + 1) & self.mask,
            }
        }
        let Some(mut hole) = found else { return };
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask;
            let b = self.buckets.get(j).copied().unwrap_or(0);
            if b == 0 {
                break;
            }
            let k = self.home_of_tag((b >> 32) as u32);
            // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < k && k <= j
            } else {
                hole < k || k <= j
            };
            if !stays {
                if let Some(h) = self.buckets.get_mut(hole) {
                    *h = b;
                }
                hole = j;
            }
        }
        if let Some(h) = self.buckets.get_mut(hole) {
            *h = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_remove_with_collisions_and_wraparound() {
        let mut ix = Index::new(8); // 16 buckets
                                    // Hashes sharing home bucket 15 (wrap to 0, 1, ...) and a distinct tag each.
        let hs: Vec<u64> = (0..6u64).map(|n| (n << 8) | 15).collect();
        for (s, h) in hs.iter().enumerate() {
            ix.insert(*h, s as Slot);
        }
        for (s, h) in hs.iter().enumerate() {
            assert_eq!(ix.find(*h, |x| x == s as Slot), Some(s as Slot));
            assert_eq!(ix.first_candidate(*h), Some(s as Slot));
        }
        // Remove from the middle of the run: the rest must stay findable.
        ix.remove(hs[2], 2);
        assert_eq!(ix.find(hs[2], |x| x == 2), None);
        for s in [0usize, 1, 3, 4, 5] {
            assert_eq!(
                ix.find(hs[s], |x| x == s as Slot),
                Some(s as Slot),
                "slot {s}"
            );
        }
        for s in [0usize, 1, 3, 4, 5] {
            ix.remove(hs[s], s as Slot);
        }
        assert!(ix.buckets.iter().all(|b| *b == 0));
    }

    #[test]
    fn random_operations_match_a_model() {
        let mut ix = Index::new(64);
        let mut model: Vec<(u64, Slot)> = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct home buckets, many collisions.
            let h = (x & 0xffff_0000_0000_0000) | (x & 0x3f);
            if model.len() < 60 && (x >> 20) % 3 != 0 {
                ix.insert(h, step);
                model.push((h, step));
            } else if !model.is_empty() {
                let (h, s) = model.swap_remove((x >> 30) as usize % model.len());
                ix.remove(h, s);
            }
            if step % 97 == 0 {
                for (h, s) in &model {
                    assert_eq!(ix.find(*h, |y| y == *s), Some(*s));
                }
            }
        }
    }
}
