//! Tombstones of TCP connections already reported because they closed cleanly (both FINs
//! acknowledged): what is left of them while late packets may still arrive.
//!
//! A connection whose FINs are both acknowledged is reported at once and leaves the flow table,
//! so the table (and memory) follows the connections that are open, not every connection of the
//! last two minutes. A tombstone keeps the key and the ISNs for the linger time: a late
//! retransmission or ACK is absorbed (counted, not a new connection), while a SYN with a new ISN
//! starts a new connection, as it would on a connection still in the table.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::{Dir, FlowKey};
use crate::time::{Duration, Timestamp};

/// What is kept of a closed connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tomb {
    /// Whether the originator is the key's `lo` endpoint.
    pub orig_is_lo: bool,
    /// ISN of each side (originator, responder).
    pub isn: [Option<u32>; 2],
    /// When the connection was reported.
    pub closed: Timestamp,
}

impl Tomb {
    /// The side a packet whose source is the key's `lo` endpoint (`src_is_lo`) came from.
    pub fn dir(&self, src_is_lo: bool) -> Dir {
        if src_is_lo == self.orig_is_lo {
            Dir::Orig
        } else {
            Dir::Resp
        }
    }
}

/// Tombstones, bounded in number and time (oldest dropped first).
#[derive(Debug)]
pub struct Tombstones {
    map: FxHashMap<FlowKey, Tomb>,
    order: VecDeque<(Timestamp, FlowKey)>,
    max: usize,
    linger: Duration,
}

impl Tombstones {
    /// At most `max` tombstones, each kept for `linger`.
    pub fn new(max: usize, linger: Duration) -> Self {
        Tombstones {
            map: FxHashMap::default(),
            order: VecDeque::new(),
            max: max.max(1),
            linger,
        }
    }

    /// Number kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The tombstone of `key`, if any.
    pub fn get(&self, key: &FlowKey) -> Option<&Tomb> {
        self.map.get(key)
    }

    /// Forgets `key` (a new connection took its place).
    pub fn remove(&mut self, key: &FlowKey) {
        self.map.remove(key);
    }

    /// Keeps `tomb` for `key`, dropping the oldest when full.
    pub fn insert(&mut self, key: FlowKey, tomb: Tomb) {
        while self.map.len() >= self.max {
            if !self.pop_oldest() {
                break;
            }
        }
        self.map.insert(key, tomb);
        self.order.push_back((tomb.closed, key));
    }

    /// Drops tombstones older than the linger time at `now`.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some(&(closed, _)) = self.order.front() {
            if now.since(closed) < self.linger {
                break;
            }
            self.pop_oldest();
        }
    }

    /// Drops the oldest entry of the queue (and its tombstone unless the key was reused since).
    fn pop_oldest(&mut self) -> bool {
        let Some((closed, key)) = self.order.pop_front() else {
            return false;
        };
        if self.map.get(&key).is_some_and(|t| t.closed == closed) {
            self.map.remove(&key);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Endpoint, Proto};

    fn key(port: u16) -> FlowKey {
        let a = Endpoint {
            addr: "10.0.0.1".parse().unwrap(),
            port,
        };
        let b = Endpoint {
            addr: "10.0.0.2".parse().unwrap(),
            port: 443,
        };
        FlowKey::new(a, b, Proto::Tcp).0
    }

    fn tomb(secs: i64) -> Tomb {
        Tomb {
            orig_is_lo: true,
            isn: [Some(1), Some(2)],
            closed: Timestamp(secs * 1_000_000_000),
        }
    }

    #[test]
    fn expire_after_linger_and_bound_by_number() {
        let mut t = Tombstones::new(2, Duration::from_secs(120));
        t.insert(key(1), tomb(0));
        t.insert(key(2), tomb(10));
        t.expire(Timestamp(119_000_000_000));
        assert_eq!(t.len(), 2);
        t.expire(Timestamp(120_000_000_000));
        assert!(t.get(&key(1)).is_none());
        assert!(t.get(&key(2)).is_some());
        // Full: the oldest goes.
        t.insert(key(3), tomb(20));
        t.insert(key(4), tomb(30));
        assert_eq!(t.len(), 2);
        assert!(t.get(&key(2)).is_none());
        assert!(t.get(&key(3)).is_some() && t.get(&key(4)).is_some());
    }

    #[test]
    fn a_key_reused_later_outlives_its_first_queue_entry() {
        let mut t = Tombstones::new(10, Duration::from_secs(120));
        t.insert(key(1), tomb(0));
        t.remove(&key(1));
        t.insert(key(1), tomb(100));
        t.expire(Timestamp(130_000_000_000));
        assert_eq!(t.get(&key(1)), Some(&tomb(100)));
        t.expire(Timestamp(220_000_000_000));
        assert!(t.is_empty());
    }
}
