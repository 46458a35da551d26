//! DNS transactions: queries matched with every response they got, on packet time.
//!
//! A transaction is keyed by (client address, client port, server address, transaction ID,
//! question name and type); names match without regard to ASCII case, since 0x20 randomisation
//! makes the response echo the query's case. The tracker is pure: the caller hands it parsed
//! [`Message`]s with the packet's time, frame number, its own connection key (`conn`, returned
//! untouched) and IP header facts, and calls [`DnsTracker::expire`] as time passes.
//!
//! Unlike a resolver, the tracker does not close a transaction on the first response: it keeps
//! collecting responses for [`DnsConfig::answer_window`] after the first one, so a second, different
//! answer to the same query (the forged-answer race) lands in the same transaction, in arrival
//! order. A response that matches no pending query is reported at once as
//! [`DnsTxStatus::Unsolicited`]; a query with no response by [`DnsConfig::timeout`] (or at
//! [`DnsTracker::drain`]) as [`DnsTxStatus::Unanswered`].
//!
//! Memory is bounded: at most [`DnsConfig::max_pending`] open transactions (the oldest is evicted
//! and emitted with `evicted: true`), [`DnsConfig::max_responses_per_query`] responses each, and
//! [`DnsConfig::max_records_per_response`] records per response (the excess is counted).

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use crate::dns::wire::{DnsAnomaly, Flags, Message, Opt, Question, RData, Record};
use crate::time::{Duration, Timestamp};

/// Limits and timers of a [`DnsTracker`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    /// Open transactions kept; the oldest is evicted beyond this (at least 1).
    pub max_pending: usize,
    /// How long a query waits for its first response before it is reported unanswered.
    pub timeout: Duration,
    /// How long after the first response further responses are still attached.
    pub answer_window: Duration,
    /// Responses kept per transaction; later ones are only counted.
    pub max_responses_per_query: usize,
    /// Records (answer + authority + additional) kept per response; the rest are counted.
    pub max_records_per_response: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            max_pending: 10_000,
            timeout: Duration::from_secs(10),
            answer_window: Duration::from_secs(2),
            max_responses_per_query: 8,
            max_records_per_response: 256,
        }
    }
}

/// Where a message was seen: time, 1-based frame number and the caller's connection key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketMeta {
    /// Capture time.
    pub ts: Timestamp,
    /// Frame number.
    pub frame: u64,
    /// The caller's connection key (a flow uid), carried through untouched.
    pub conn: u64,
}

/// IP header facts of the packet that carried a message (for forged-answer checks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpFacts {
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (IPv6: 0, or the fragment identification).
    pub ip_id: u32,
    /// IPv4 don't-fragment bit.
    pub df: bool,
}

/// EDNS facts of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdnsFacts {
    /// Advertised UDP payload size.
    pub udp_size: u16,
    /// EDNS version.
    pub version: u8,
    /// DO bit.
    pub dnssec_ok: bool,
}

impl From<&Opt> for EdnsFacts {
    fn from(o: &Opt) -> Self {
        EdnsFacts {
            udp_size: o.udp_size,
            version: o.version,
            dnssec_ok: o.dnssec_ok,
        }
    }
}

/// The query of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsQuery {
    /// When it was seen (the first copy).
    pub ts: Timestamp,
    /// Its frame (the first copy).
    pub frame: u64,
    /// IP facts of the first copy.
    pub ip: IpFacts,
    /// Header flags.
    pub flags: Flags,
    /// EDNS of the query, if it had an OPT record.
    pub edns: Option<EdnsFacts>,
    /// Parse anomalies of the query.
    pub anomalies: Vec<DnsAnomaly>,
    /// Further copies of the same query seen before any response.
    pub retransmits: u32,
}

/// One response, as it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsResponse {
    /// Arrival time.
    pub ts: Timestamp,
    /// Its frame.
    pub frame: u64,
    /// The caller's connection key of the packet.
    pub conn: u64,
    /// IP header facts.
    pub ip: IpFacts,
    /// Header flags.
    pub flags: Flags,
    /// Full RCODE (extended by OPT).
    pub rcode: u16,
    /// The question as the response echoed it (case kept), if it had one.
    pub question: Option<Question>,
    /// The OPT record (UDP size, version, DO, options incl. Extended DNS Errors).
    pub edns: Option<Opt>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section, less the OPT record.
    pub additional: Vec<Record>,
    /// Records not kept (beyond [`DnsConfig::max_records_per_response`]).
    pub records_dropped: u32,
    /// Parse anomalies of the response.
    pub anomalies: Vec<DnsAnomaly>,
}

impl DnsResponse {
    fn new(meta: PacketMeta, ip: IpFacts, msg: Message, max_records: usize) -> Self {
        let Message {
            flags,
            rcode,
            questions,
            answers,
            authority,
            additional,
            anomalies,
            ..
        } = msg;
        let mut edns = None;
        let mut other = Vec::with_capacity(additional.len());
        for r in additional {
            match r.data {
                RData::Opt(o) if edns.is_none() => edns = Some(*o),
                _ => other.push(r),
            }
        }
        let mut budget = max_records;
        let mut dropped = 0u32;
        let mut cap = |mut v: Vec<Record>| {
            if v.len() > budget {
                dropped = dropped.saturating_add((v.len() - budget) as u32);
                v.truncate(budget);
            }
            budget -= v.len();
            v
        };
        let answers = cap(answers);
        let authority = cap(authority);
        let additional = cap(other);
        DnsResponse {
            ts: meta.ts,
            frame: meta.frame,
            conn: meta.conn,
            ip,
            flags,
            rcode,
            question: questions.into_iter().next(),
            edns,
            answers,
            authority,
            additional,
            records_dropped: dropped,
            anomalies,
        }
    }

    /// Extended DNS Errors of the response (info code, extra text).
    pub fn extended_errors(&self) -> impl Iterator<Item = (u16, &str)> {
        self.edns.iter().flat_map(|o| o.extended_errors())
    }
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DnsTxStatus {
    /// A query with at least one response.
    Answered,
    /// A query with no response by the timeout, eviction or the end of input.
    Unanswered,
    /// A response that matched no pending query.
    Unsolicited,
}

impl DnsTxStatus {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            DnsTxStatus::Answered => "answered",
            DnsTxStatus::Unanswered => "unanswered",
            DnsTxStatus::Unsolicited => "unsolicited",
        }
    }
}

/// A query and every response to it (or a lone response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsTransaction {
    /// The caller's connection key of the query (of the response when unsolicited).
    pub conn: u64,
    /// The side that asked.
    pub client: SocketAddr,
    /// The side that answered.
    pub server: SocketAddr,
    /// Transaction ID.
    pub id: u16,
    /// The question (of the query; of the response when unsolicited).
    pub question: Option<Question>,
    /// The query (`None` when unsolicited).
    pub query: Option<DnsQuery>,
    /// Responses in arrival order.
    pub responses: Vec<DnsResponse>,
    /// Responses beyond [`DnsConfig::max_responses_per_query`], counted only.
    pub responses_dropped: u32,
    /// How it ended.
    pub status: DnsTxStatus,
    /// Emitted early because [`DnsConfig::max_pending`] was reached.
    pub evicted: bool,
}

impl DnsTransaction {
    /// Time from the query to the first response.
    pub fn rtt(&self) -> Option<Duration> {
        let q = self.query.as_ref()?;
        Some(self.responses.first()?.ts.since(q.ts))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct IdKey {
    client: IpAddr,
    client_port: u16,
    server: IpAddr,
    id: u16,
}

/// An open transaction's place: its creation sequence number and its slot in
/// [`DnsTracker::slots`]. A queue or heap entry whose slot no longer holds that sequence number
/// belongs to a closed transaction and is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    seq: u64,
    slot: u32,
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    key: IdKey,
    deadline: Timestamp,
    tx: DnsTransaction,
}

/// The open transactions of one key, oldest first; nearly always one, kept inline.
#[derive(Debug)]
struct Places {
    first: Place,
    rest: Vec<Place>,
}

fn same_question(a: Option<&Question>, b: Option<&Question>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.qtype == b.qtype && a.name.eq_ignore_ascii_case(&b.name),
        (None, None) => true,
        _ => false,
    }
}

/// The open transaction at `place`, if that slot still holds it.
fn open_at(slots: &[Option<Pending>], place: Place) -> Option<&Pending> {
    slots
        .get(place.slot as usize)?
        .as_ref()
        .filter(|p| p.seq == place.seq)
}

/// Stale queue and heap entries tolerated before they are swept out: this many plus twice the
/// open transactions.
const STALE_SLACK: usize = 1024;

/// Matches queries and responses; see the module docs.
///
/// Open transactions live in reused slots (no per-transaction node or map entry to allocate, and
/// no large values moved inside a tree's nodes); creation order and deadlines are a queue and a
/// min-heap whose entries for closed transactions are skipped when met and swept out when they
/// outnumber the open ones.
#[derive(Debug)]
pub struct DnsTracker {
    cfg: DnsConfig,
    /// Open transactions (`None`: a free slot, listed in `free`).
    slots: Vec<Option<Pending>>,
    free: Vec<u32>,
    /// Places in creation order (the first open one is the oldest transaction).
    order: VecDeque<Place>,
    /// Open transactions by (client, port, server, id). Fx-hashed, as the flow table is: the map
    /// is bounded by `max_pending`, so crafted collisions can slow a lookup to that many steps,
    /// never grow it.
    index: HashMap<IdKey, Places, rustc_hash::FxBuildHasher>,
    /// Deadlines, earliest first (ties by creation order); an entry is current only while its
    /// transaction is open with that deadline.
    timers: BinaryHeap<Reverse<(Timestamp, Place)>>,
    next_seq: u64,
    evicted: u64,
}

impl DnsTracker {
    /// An empty tracker.
    pub fn new(cfg: DnsConfig) -> Self {
        DnsTracker {
            cfg,
            slots: Vec::new(),
            free: Vec::new(),
            order: VecDeque::new(),
            index: HashMap::default(),
            timers: BinaryHeap::new(),
            next_seq: 0,
            evicted: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DnsConfig {
        &self.cfg
    }

    /// Open transactions.
    pub fn pending(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Transactions evicted so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// A message from `src` to `dst`: a query when QR is clear, else a response.
    pub fn on_message(
        &mut self,
        meta: PacketMeta,
        src: SocketAddr,
        dst: SocketAddr,
        ip: IpFacts,
        msg: Message,
        out: &mut Vec<DnsTransaction>,
    ) {
        if msg.is_response() {
            self.on_response(meta, dst, src, ip, msg, out);
        } else {
            self.on_query(meta, src, dst, ip, msg, out);
        }
    }

    /// A query from `client` to `server`. A copy of a pending, unanswered query counts as a
    /// retransmission; the same key after a response starts a new transaction (the old one is
    /// emitted). May evict the oldest transaction into `out`.
    pub fn on_query(
        &mut self,
        meta: PacketMeta,
        client: SocketAddr,
        server: SocketAddr,
        ip: IpFacts,
        msg: Message,
        out: &mut Vec<DnsTransaction>,
    ) {
        let key = IdKey {
            client: client.ip(),
            client_port: client.port(),
            server: server.ip(),
            id: msg.id,
        };
        let question = msg.questions.first();
        if let Some(place) = self.find(&key, question, false) {
            if let Some(p) = self.get_mut(place) {
                if p.tx.responses.is_empty() {
                    if let Some(q) = p.tx.query.as_mut() {
                        q.retransmits = q.retransmits.saturating_add(1);
                    }
                    return;
                }
            }
            self.emit(place, false, out);
        }
        while self.pending() >= self.cfg.max_pending.max(1) {
            let Some(oldest) = self.oldest() else {
                break;
            };
            self.evicted += 1;
            self.emit(oldest, true, out);
        }
        let edns = msg.edns().map(EdnsFacts::from);
        let Message {
            id,
            flags,
            questions,
            anomalies,
            ..
        } = msg;
        let deadline = meta.ts.add(self.cfg.timeout);
        let tx = DnsTransaction {
            conn: meta.conn,
            client,
            server,
            id,
            question: questions.into_iter().next(),
            query: Some(DnsQuery {
                ts: meta.ts,
                frame: meta.frame,
                ip,
                flags,
                edns,
                anomalies,
                retransmits: 0,
            }),
            responses: Vec::new(),
            responses_dropped: 0,
            status: DnsTxStatus::Unanswered,
            evicted: false,
        };
        self.insert(key, deadline, tx);
    }

    /// A response from `server` to `client`. Attached to its pending query (the first response
    /// starts the answer window), or emitted at once as unsolicited.
    pub fn on_response(
        &mut self,
        meta: PacketMeta,
        client: SocketAddr,
        server: SocketAddr,
        ip: IpFacts,
        msg: Message,
        out: &mut Vec<DnsTransaction>,
    ) {
        let key = IdKey {
            client: client.ip(),
            client_port: client.port(),
            server: server.ip(),
            id: msg.id,
        };
        let max_records = self.cfg.max_records_per_response;
        let max_responses = self.cfg.max_responses_per_query;
        let answer_window = self.cfg.answer_window;
        let found = self.find(&key, msg.questions.first(), true);
        let Some((place, p)) = found.and_then(|place| Some((place, self.get_mut(place)?))) else {
            let id = msg.id;
            let resp = DnsResponse::new(meta, ip, msg, max_records);
            out.push(DnsTransaction {
                conn: meta.conn,
                client,
                server,
                id,
                question: resp.question.clone(),
                query: None,
                responses: vec![resp],
                responses_dropped: 0,
                status: DnsTxStatus::Unsolicited,
                evicted: false,
            });
            return;
        };
        if p.tx.responses.len() >= max_responses {
            p.tx.responses_dropped = p.tx.responses_dropped.saturating_add(1);
            return;
        }
        let first = p.tx.responses.is_empty();
        if first {
            // Nearly every query gets one answer: a first push would reserve room for four
            // (~1 KB of fresh memory a transaction).
            p.tx.responses.reserve_exact(1);
        }
        p.tx.responses
            .push(DnsResponse::new(meta, ip, msg, max_records));
        p.tx.status = DnsTxStatus::Answered;
        if first {
            // The timeout's heap entry goes stale (the deadline no longer matches).
            p.deadline = meta.ts.add(answer_window);
            let deadline = p.deadline;
            self.timers.push(Reverse((deadline, place)));
            self.sweep_stale();
        }
    }

    /// Emits, in deadline order, every transaction whose answer window or timeout has passed at
    /// `now`.
    pub fn expire(&mut self, now: Timestamp, out: &mut Vec<DnsTransaction>) {
        while let Some(&Reverse((deadline, place))) = self.timers.peek() {
            if self.get(place).is_some_and(|p| p.deadline == deadline) {
                if deadline > now {
                    break;
                }
                self.timers.pop();
                self.emit(place, false, out);
            } else {
                self.timers.pop();
            }
        }
    }

    /// End of input: emits every open transaction, oldest first (unanswered ones as such).
    pub fn drain(&mut self, out: &mut Vec<DnsTransaction>) {
        while let Some(place) = self.oldest() {
            self.emit(place, false, out);
        }
        self.order.clear();
        self.timers.clear();
    }

    fn get(&self, place: Place) -> Option<&Pending> {
        open_at(&self.slots, place)
    }

    fn get_mut(&mut self, place: Place) -> Option<&mut Pending> {
        self.slots
            .get_mut(place.slot as usize)?
            .as_mut()
            .filter(|p| p.seq == place.seq)
    }

    /// The oldest open transaction (closed ones at the front of the queue are dropped).
    fn oldest(&mut self) -> Option<Place> {
        while let Some(&place) = self.order.front() {
            if self.get(place).is_some() {
                return Some(place);
            }
            self.order.pop_front();
        }
        None
    }

    fn insert(&mut self, key: IdKey, deadline: Timestamp, tx: DnsTransaction) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        let place = Place { seq, slot };
        match self.index.entry(key.clone()) {
            Entry::Occupied(mut e) => e.get_mut().rest.push(place),
            Entry::Vacant(e) => {
                e.insert(Places {
                    first: place,
                    rest: Vec::new(),
                });
            }
        }
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = Some(Pending {
                seq,
                key,
                deadline,
                tx,
            });
        }
        self.order.push_back(place);
        self.timers.push(Reverse((deadline, place)));
        self.sweep_stale();
    }

    /// Drops the entries of closed transactions from the queue and the heap once they outnumber
    /// the open ones (amortized: each sweep removes more than it keeps).
    fn sweep_stale(&mut self) {
        let limit = 2 * self.pending() + STALE_SLACK;
        let slots = &self.slots;
        if self.order.len() > limit {
            self.order.retain(|&pl| open_at(slots, pl).is_some());
        }
        if self.timers.len() > limit {
            self.timers.retain(|&Reverse((deadline, pl))| {
                open_at(slots, pl).is_some_and(|p| p.deadline == deadline)
            });
        }
    }

    /// The open transaction for `key` with the same question; a response without a question
    /// matches the oldest one with its ID.
    fn find(&self, key: &IdKey, question: Option<&Question>, response: bool) -> Option<Place> {
        let places = self.index.get(key)?;
        core::iter::once(&places.first)
            .chain(&places.rest)
            .copied()
            .find(|&place| {
                self.get(place).is_some_and(|p| {
                    (response && question.is_none())
                        || same_question(p.tx.question.as_ref(), question)
                })
            })
    }

    fn emit(&mut self, place: Place, evicted: bool, out: &mut Vec<DnsTransaction>) {
        let Some(p) = self
            .slots
            .get_mut(place.slot as usize)
            .filter(|s| s.as_ref().is_some_and(|p| p.seq == place.seq))
            .and_then(Option::take)
        else {
            return;
        };
        self.free.push(place.slot);
        if let Entry::Occupied(mut e) = self.index.entry(p.key) {
            let places = e.get_mut();
            if places.first == place {
                if places.rest.is_empty() {
                    e.remove();
                } else {
                    places.first = places.rest.remove(0);
                }
            } else {
                places.rest.retain(|&pl| pl != place);
            }
        }
        let mut tx = p.tx;
        tx.evicted = evicted;
        out.push(tx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::parse_message;

    const CLIENT: &str = "192.0.2.10:40000";
    const SERVER: &str = "198.51.100.53:53";

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ms(n: i64) -> Timestamp {
        Timestamp(n * 1_000_000)
    }

    /// A message with one question and A answers.
    fn msg(id: u16, response: bool, name: &str, answers: &[[u8; 4]]) -> Message {
        let mut b = id.to_be_bytes().to_vec();
        b.extend(if response { [0x81, 0x80] } else { [0x01, 0x00] });
        b.extend([0, 1, 0, answers.len() as u8, 0, 0, 0, 0]);
        for label in name.split('.') {
            b.push(label.len() as u8);
            b.extend(label.as_bytes());
        }
        b.extend([0, 0, 1, 0, 1]);
        for a in answers {
            // ->12 A IN ttl 60 rdlen 4
            b.extend([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            b.extend(a);
        }
        parse_message(&b).unwrap()
    }

    fn meta(t: i64, frame: u64) -> PacketMeta {
        PacketMeta {
            ts: ms(t),
            frame,
            conn: 7,
        }
    }

    fn ip(ttl: u8, ip_id: u32) -> IpFacts {
        IpFacts {
            ttl,
            ip_id,
            df: false,
        }
    }

    fn query(tr: &mut DnsTracker, t: i64, frame: u64, id: u16, name: &str) -> Vec<DnsTransaction> {
        let mut out = Vec::new();
        tr.on_query(
            meta(t, frame),
            sa(CLIENT),
            sa(SERVER),
            ip(64, 1),
            msg(id, false, name, &[]),
            &mut out,
        );
        out
    }

    fn answer(
        tr: &mut DnsTracker,
        t: i64,
        frame: u64,
        id: u16,
        name: &str,
        a: [u8; 4],
        ttl: u8,
    ) -> Vec<DnsTransaction> {
        let mut out = Vec::new();
        tr.on_response(
            meta(t, frame),
            sa(CLIENT),
            sa(SERVER),
            ip(ttl, u32::from(frame as u16)),
            msg(id, true, name, &[a]),
            &mut out,
        );
        out
    }

    fn addrs(r: &DnsResponse) -> Vec<&RData> {
        r.answers.iter().map(|r| &r.data).collect()
    }

    #[test]
    fn two_different_responses_to_one_query_both_kept_in_order() {
        let mut tr = DnsTracker::new(DnsConfig::default());
        assert!(query(&mut tr, 0, 1, 0x1234, "example.com").is_empty());
        // The forged answer races ahead of the real one.
        assert!(answer(&mut tr, 3, 2, 0x1234, "example.com", [6, 6, 6, 6], 250).is_empty());
        assert!(answer(
            &mut tr,
            21,
            3,
            0x1234,
            "example.com",
            [93, 184, 216, 34],
            55
        )
        .is_empty());
        let mut out = Vec::new();
        tr.expire(ms(2000), &mut out);
        assert!(
            out.is_empty(),
            "the answer window runs 2 s after the first response"
        );
        tr.expire(ms(2003), &mut out);
        assert_eq!(out.len(), 1);
        let tx = &out[0];
        assert_eq!(tx.status, DnsTxStatus::Answered);
        assert_eq!(
            (tx.conn, tx.id, tx.client, tx.server),
            (7, 0x1234, sa(CLIENT), sa(SERVER))
        );
        assert_eq!(tx.question.as_ref().unwrap().name, "example.com");
        assert_eq!(tx.query.as_ref().unwrap().frame, 1);
        assert_eq!(tx.responses.len(), 2);
        assert_eq!(
            addrs(&tx.responses[0]),
            vec![&RData::A([6, 6, 6, 6].into())]
        );
        assert_eq!(tx.responses[0].ip.ttl, 250);
        assert_eq!(tx.responses[0].frame, 2);
        assert_eq!(
            addrs(&tx.responses[1]),
            vec![&RData::A([93, 184, 216, 34].into())]
        );
        assert_eq!(tx.responses[1].ip.ttl, 55);
        assert_eq!(tx.rtt(), Some(Duration::from_millis(3)));
        assert_eq!(tr.pending(), 0);
    }

    #[test]
    fn response_after_the_window_is_unsolicited() {
        let mut tr = DnsTracker::new(DnsConfig {
            answer_window: Duration::from_millis(500),
            ..DnsConfig::default()
        });
        query(&mut tr, 0, 1, 9, "example.com");
        answer(&mut tr, 10, 2, 9, "example.com", [1, 1, 1, 1], 60);
        let mut out = Vec::new();
        tr.expire(ms(510), &mut out);
        assert_eq!(out.len(), 1);
        let late = answer(&mut tr, 600, 3, 9, "example.com", [2, 2, 2, 2], 60);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].status, DnsTxStatus::Unsolicited);
    }

    #[test]
    fn unanswered_query_at_timeout_and_at_drain() {
        let mut tr = DnsTracker::new(DnsConfig::default());
        query(&mut tr, 0, 1, 1, "a.example");
        query(&mut tr, 5000, 2, 2, "b.example");
        let mut out = Vec::new();
        tr.expire(ms(9999), &mut out);
        assert!(out.is_empty());
        tr.expire(ms(10_000), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, DnsTxStatus::Unanswered);
        assert_eq!(out[0].id, 1);
        assert!(out[0].responses.is_empty() && !out[0].evicted);
        out.clear();
        tr.drain(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, DnsTxStatus::Unanswered);
        assert_eq!(out[0].question.as_ref().unwrap().name, "b.example");
        assert_eq!(tr.pending(), 0);
    }

    #[test]
    fn one_answer_reserves_room_for_one() {
        let mut tr = DnsTracker::new(DnsConfig::default());
        query(&mut tr, 0, 1, 5, "example.com");
        answer(&mut tr, 1, 2, 5, "example.com", [1, 2, 3, 4], 60);
        let mut out = Vec::new();
        tr.drain(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, DnsTxStatus::Answered);
        assert_eq!(
            (out[0].responses.len(), out[0].responses.capacity()),
            (1, 1)
        );
    }

    #[test]
    fn unsolicited_response_is_emitted_at_once() {
        let mut tr = DnsTracker::new(DnsConfig::default());
        query(&mut tr, 0, 1, 5, "example.com");
        // Wrong ID, then wrong name.
        let a = answer(&mut tr, 1, 2, 6, "example.com", [1, 2, 3, 4], 60);
        let b = answer(&mut tr, 2, 3, 5, "example.net", [1, 2, 3, 4], 60);
        for out in [&a, &b] {
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].status, DnsTxStatus::Unsolicited);
            assert!(out[0].query.is_none());
            assert_eq!(out[0].responses.len(), 1);
        }
        assert_eq!(b[0].question.as_ref().unwrap().name, "example.net");
        assert_eq!(tr.pending(), 1);
    }

    #[test]
    fn eviction_keeps_memory_bounded() {
        let mut tr = DnsTracker::new(DnsConfig {
            max_pending: 3,
            ..DnsConfig::default()
        });
        let mut evicted = Vec::new();
        for i in 0..5u16 {
            evicted.extend(query(
                &mut tr,
                i64::from(i),
                u64::from(i) + 1,
                i,
                "example.com",
            ));
        }
        assert_eq!(tr.pending(), 3);
        assert_eq!(tr.evicted(), 2);
        assert_eq!(evicted.iter().map(|t| t.id).collect::<Vec<_>>(), vec![0, 1]);
        assert!(evicted
            .iter()
            .all(|t| t.evicted && t.status == DnsTxStatus::Unanswered));
        // An evicted query's response is now unsolicited.
        let late = answer(&mut tr, 10, 9, 0, "example.com", [1, 2, 3, 4], 60);
        assert_eq!(late[0].status, DnsTxStatus::Unsolicited);
    }

    #[test]
    fn closed_transactions_leave_bounded_queue_and_heap_entries() {
        // Each answered query leaves its timeout's heap entry and, once emitted, its queue entry
        // behind: they must be swept, and never change what is emitted or when.
        let mut tr = DnsTracker::new(DnsConfig::default());
        let mut out = Vec::new();
        let n = 20_000u64;
        for i in 0..n {
            let t = i as i64;
            out.extend(query(&mut tr, t, 2 * i + 1, i as u16, "example.com"));
            out.extend(answer(
                &mut tr,
                t,
                2 * i + 2,
                i as u16,
                "example.com",
                [1; 4],
                60,
            ));
            // Swept when a query or a first answer adds an entry.
            let limit = 2 * tr.pending() + STALE_SLACK;
            assert!(tr.order.len() <= limit, "{} > {limit}", tr.order.len());
            assert!(tr.timers.len() <= limit, "{} > {limit}", tr.timers.len());
            tr.expire(ms(t), &mut out);
            // Everything answered 2 s (the answer window) ago or more is out.
            assert_eq!(out.len() as u64, (i + 1).saturating_sub(2000), "at {i}");
        }
        // Without the sweep the heap would hold every timeout entry of the last 10 s.
        assert!(tr.timers.len() < 8_000, "{}", tr.timers.len());
        tr.drain(&mut out);
        assert_eq!(out.len() as u64, n);
        assert!(out.iter().all(|t| t.status == DnsTxStatus::Answered));
        let frames: Vec<u64> = out
            .iter()
            .filter_map(|t| Some(t.query.as_ref()?.frame))
            .collect();
        assert_eq!(frames, (0..n).map(|i| 2 * i + 1).collect::<Vec<_>>());
        assert_eq!(tr.pending(), 0);
    }

    /// The tracker's documented rules written the obvious way (a list in creation order, linear
    /// scans): the reference the slot/queue/heap implementation must match event for event.
    struct Model {
        cfg: DnsConfig,
        /// (sequence, key, deadline, transaction), in creation order.
        open: Vec<(u64, IdKey, Timestamp, DnsTransaction)>,
        next: u64,
    }

    impl Model {
        fn find(&self, key: &IdKey, q: Option<&Question>, response: bool) -> Option<usize> {
            self.open.iter().position(|(_, k, _, tx)| {
                k == key && ((response && q.is_none()) || same_question(tx.question.as_ref(), q))
            })
        }

        fn emit(&mut self, i: usize, evicted: bool, out: &mut Vec<DnsTransaction>) {
            let (_, _, _, mut tx) = self.open.remove(i);
            tx.evicted = evicted;
            out.push(tx);
        }

        fn on_message(
            &mut self,
            meta: PacketMeta,
            ip: IpFacts,
            msg: Message,
        ) -> Vec<DnsTransaction> {
            let mut out = Vec::new();
            let key = IdKey {
                client: sa(CLIENT).ip(),
                client_port: sa(CLIENT).port(),
                server: sa(SERVER).ip(),
                id: msg.id,
            };
            let found = self.find(&key, msg.questions.first(), msg.is_response());
            if !msg.is_response() {
                if let Some(i) = found {
                    if self.open[i].3.responses.is_empty() {
                        if let Some(q) = self.open[i].3.query.as_mut() {
                            q.retransmits += 1;
                        }
                        return out;
                    }
                    self.emit(i, false, &mut out);
                }
                while self.open.len() >= self.cfg.max_pending.max(1) {
                    self.emit(0, true, &mut out);
                }
                let edns = msg.edns().map(EdnsFacts::from);
                let tx = DnsTransaction {
                    conn: meta.conn,
                    client: sa(CLIENT),
                    server: sa(SERVER),
                    id: msg.id,
                    question: msg.questions.into_iter().next(),
                    query: Some(DnsQuery {
                        ts: meta.ts,
                        frame: meta.frame,
                        ip,
                        flags: msg.flags,
                        edns,
                        anomalies: msg.anomalies,
                        retransmits: 0,
                    }),
                    responses: Vec::new(),
                    responses_dropped: 0,
                    status: DnsTxStatus::Unanswered,
                    evicted: false,
                };
                self.open
                    .push((self.next, key, meta.ts.add(self.cfg.timeout), tx));
                self.next += 1;
                return out;
            }
            let max = self.cfg.max_records_per_response;
            let Some(i) = found else {
                let resp = DnsResponse::new(meta, ip, msg, max);
                out.push(DnsTransaction {
                    conn: meta.conn,
                    client: sa(CLIENT),
                    server: sa(SERVER),
                    id: key.id,
                    question: resp.question.clone(),
                    query: None,
                    responses: vec![resp],
                    responses_dropped: 0,
                    status: DnsTxStatus::Unsolicited,
                    evicted: false,
                });
                return out;
            };
            let (_, _, deadline, tx) = &mut self.open[i];
            if tx.responses.len() >= self.cfg.max_responses_per_query {
                tx.responses_dropped += 1;
                return out;
            }
            if tx.responses.is_empty() {
                *deadline = meta.ts.add(self.cfg.answer_window);
            }
            tx.responses.push(DnsResponse::new(meta, ip, msg, max));
            tx.status = DnsTxStatus::Answered;
            out
        }

        fn expire(&mut self, now: Timestamp) -> Vec<DnsTransaction> {
            let mut out = Vec::new();
            while let Some(i) = (0..self.open.len())
                .filter(|&i| self.open[i].2 <= now)
                .min_by_key(|&i| (self.open[i].2, self.open[i].0))
            {
                self.emit(i, false, &mut out);
            }
            out
        }
    }

    /// A response with no question section.
    fn msg_without_question(id: u16) -> Message {
        let mut b = id.to_be_bytes().to_vec();
        b.extend([0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0]);
        parse_message(&b).unwrap()
    }

    #[test]
    fn matches_the_obvious_implementation_on_random_sequences() {
        // xorshift64*: deterministic, no dependency.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        };
        let names = ["a.example", "A.EXAMPLE", "b.example"];
        let mut ops = 0;
        for round in 0..300 {
            let cfg = DnsConfig {
                max_pending: 1 + next(6) as usize,
                timeout: Duration::from_millis(50 + next(100) as i64),
                answer_window: Duration::from_millis(next(60) as i64),
                max_responses_per_query: 1 + next(3) as usize,
                ..DnsConfig::default()
            };
            let mut tr = DnsTracker::new(cfg);
            let mut model = Model {
                cfg,
                open: Vec::new(),
                next: 0,
            };
            let mut t = 0i64;
            for frame in 1..200u64 {
                // Mostly forward, sometimes backward (merged or reordered captures).
                t += next(40) as i64 - 8;
                let id = next(4) as u16;
                let meta = PacketMeta {
                    ts: ms(t),
                    frame,
                    conn: frame,
                };
                let ipf = ip(64, frame as u32);
                let (want, got) = match next(10) {
                    0..=3 => {
                        let m = msg(id, false, names[next(3) as usize], &[]);
                        let mut got = Vec::new();
                        tr.on_message(meta, sa(CLIENT), sa(SERVER), ipf, m.clone(), &mut got);
                        (model.on_message(meta, ipf, m), got)
                    }
                    4..=7 => {
                        let m = if next(8) == 0 {
                            msg_without_question(id)
                        } else {
                            msg(
                                id,
                                true,
                                names[next(3) as usize],
                                &[[10, 0, 0, next(4) as u8]],
                            )
                        };
                        let mut got = Vec::new();
                        tr.on_message(meta, sa(SERVER), sa(CLIENT), ipf, m.clone(), &mut got);
                        (model.on_message(meta, ipf, m), got)
                    }
                    _ => {
                        let mut got = Vec::new();
                        tr.expire(ms(t), &mut got);
                        (model.expire(ms(t)), got)
                    }
                };
                assert_eq!(got, want, "round {round}, frame {frame}");
                assert_eq!(
                    tr.pending(),
                    model.open.len(),
                    "round {round}, frame {frame}"
                );
                ops += 1;
            }
            let mut got = Vec::new();
            tr.drain(&mut got);
            let want: Vec<_> = model.open.drain(..).map(|(_, _, _, tx)| tx).collect();
            assert_eq!(got, want, "round {round}, drain");
        }
        assert_eq!(ops, 300 * 199);
    }

    #[test]
    fn answer_window_ending_at_the_timeout_emits_once_and_spares_the_next_in_its_slot() {
        let mut tr = DnsTracker::new(DnsConfig::default());
        let mut out = Vec::new();
        out.extend(query(&mut tr, 0, 1, 1, "a.example"));
        // Answered 8 s later: the answer window ends at 10 s, when the timeout would have.
        out.extend(answer(&mut tr, 8_000, 2, 1, "a.example", [1; 4], 60));
        tr.expire(ms(10_000), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, DnsTxStatus::Answered);
        // A new query takes the freed slot; the old deadline's second entry must not emit it.
        out.extend(query(&mut tr, 10_000, 3, 2, "b.example"));
        tr.expire(ms(10_000), &mut out);
        tr.expire(ms(19_999), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(tr.pending(), 1);
        tr.expire(ms(20_000), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].status, DnsTxStatus::Unanswered);
        assert_eq!(out[1].id, 2);
    }

    #[test]
    fn responses_beyond_the_limit_are_counted() {
        let mut tr = DnsTracker::new(DnsConfig {
            max_responses_per_query: 2,
            ..DnsConfig::default()
        });
        query(&mut tr, 0, 1, 3, "example.com");
        for i in 0..5 {
            answer(
                &mut tr,
                1 + i,
                2 + i as u64,
                3,
                "example.com",
                [1, 2, 3, i as u8],
                60,
            );
        }
        let mut out = Vec::new();
        tr.drain(&mut out);
        assert_eq!(out[0].responses.len(), 2);
        assert_eq!(out[0].responses_dropped, 3);
    }

    #[test]
    fn retransmission_case_and_id_reuse() {
        let mut tr = DnsTracker::new(DnsConfig::default());
        query(&mut tr, 0, 1, 4, "WwW.Example.COM");
        query(&mut tr, 1000, 2, 4, "WwW.Example.COM");
        assert_eq!(tr.pending(), 1);
        // 0x20 case differences still match; the echoed case is kept.
        answer(&mut tr, 1010, 3, 4, "www.example.com", [1, 2, 3, 4], 60);
        // Same key after an answer: a new transaction; the old one is emitted.
        let out = query(&mut tr, 1500, 4, 4, "www.example.com");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].query.as_ref().unwrap().retransmits, 1);
        assert_eq!(out[0].question.as_ref().unwrap().name, "WwW.Example.COM");
        assert_eq!(
            out[0].responses[0].question.as_ref().unwrap().name,
            "www.example.com"
        );
        assert_eq!(tr.pending(), 1);
    }

    #[test]
    fn on_message_dispatches_by_qr_and_keeps_edns() {
        let mut tr = DnsTracker::new(DnsConfig::default());
        let mut out = Vec::new();
        let mut q = msg(8, false, "example.com", &[]);
        q.additional.push(Record {
            name: String::new(),
            rtype: crate::dns::wire::TYPE_OPT,
            class: 1232,
            ttl: 0x8000,
            data: RData::Opt(Box::new(Opt {
                udp_size: 1232,
                ext_rcode: 0,
                version: 0,
                dnssec_ok: true,
                z: 0,
                options: Vec::new(),
            })),
        });
        tr.on_message(meta(0, 1), sa(CLIENT), sa(SERVER), ip(64, 1), q, &mut out);
        let r = msg(8, true, "example.com", &[[1, 2, 3, 4]]);
        tr.on_message(meta(5, 2), sa(SERVER), sa(CLIENT), ip(60, 2), r, &mut out);
        tr.drain(&mut out);
        assert_eq!(out.len(), 1);
        let q = out[0].query.as_ref().unwrap();
        assert_eq!(
            q.edns,
            Some(EdnsFacts {
                udp_size: 1232,
                version: 0,
                dnssec_ok: true
            })
        );
        assert_eq!(out[0].status, DnsTxStatus::Answered);
        assert_eq!(out[0].responses[0].extended_errors().count(), 0);
    }

    /// The whole path on a capture: `fixtures/dns_two_answers.pcap` (fixturegen) holds a query
    /// answered twice, 38 ms apart, with different addresses. Skipped while the fixture is absent.
    #[test]
    fn fixture_two_answers_end_to_end() {
        use crate::decode::{decode_frame, parse_transport, Decoded, Transport};
        use crate::source::CaptureReader;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/dns_two_answers.pcap"
        );
        let Ok(mut reader) = CaptureReader::open(path) else {
            eprintln!("{path} not found: skipped");
            return;
        };
        let mut tr = DnsTracker::new(DnsConfig::default());
        let mut out = Vec::new();
        let mut frame = 0;
        while let Ok(Some(p)) = reader.next_packet() {
            frame += 1;
            tr.expire(p.ts, &mut out);
            let Ok(Decoded::Ip { packet, .. }) = decode_frame(p.linktype, p.data) else {
                continue;
            };
            let Ok(Transport::Udp(u)) =
                parse_transport(packet.ip.protocol, packet.payload, packet.payload_len)
            else {
                continue;
            };
            let Ok(m) = parse_message(u.payload) else {
                continue;
            };
            let facts = IpFacts {
                ttl: packet.ip.ttl,
                ip_id: packet.ip.ip_id,
                df: packet.ip.df,
            };
            let src = SocketAddr::new(packet.ip.src, u.src_port);
            let dst = SocketAddr::new(packet.ip.dst, u.dst_port);
            let meta = PacketMeta {
                ts: p.ts,
                frame,
                conn: 1,
            };
            tr.on_message(meta, src, dst, facts, m, &mut out);
        }
        tr.drain(&mut out);
        let raced: Vec<_> = out.iter().filter(|t| t.responses.len() > 1).collect();
        assert_eq!(raced.len(), 1, "{out:#?}");
        let tx = raced[0];
        assert_eq!(tx.status, DnsTxStatus::Answered);
        assert_eq!(tx.question.as_ref().unwrap().name, "proxy.golang.org");
        let first: Vec<_> = tx.responses[0].answers.iter().map(|r| &r.data).collect();
        let second: Vec<_> = tx.responses[1].answers.iter().map(|r| &r.data).collect();
        assert_eq!(first, vec![&RData::A([203, 0, 113, 66].into())]);
        assert_eq!(second.len(), 2);
        assert!(tx.responses[0].edns.is_none() && tx.responses[1].edns.is_some());
        assert!(out.iter().all(|t| t.status == DnsTxStatus::Answered));
    }
}
