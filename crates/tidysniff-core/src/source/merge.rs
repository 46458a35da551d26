//! Several sources merged into one timeline by timestamp.
//!
//! [`MergedSource`] yields the events of all its inputs in timestamp order; on equal timestamps the
//! input given first comes first, so the merge is deterministic. Ticks (live capture) are ordered
//! like packets by their time: a tick says "nothing before this time from that input".
//!
//! # How the heads are kept
//!
//! A [`PacketSource`] lends each packet only until its next call, so the merge cannot keep the
//! current packet of every input borrowed at once. It keeps a copy of each input's head instead,
//! in a per-input buffer reused for the whole run, and copies only when it must:
//! the input that was just advanced is asked for its next event, and when that event is earlier
//! than every other input's head (the usual case inside a burst from one capture) it is returned
//! as borrowed, with no copy. Otherwise it is copied into its input's buffer and the earliest
//! copied head is returned from there. With one input, events are passed through untouched.
//!
//! # Errors
//!
//! When an input fails, its error is returned once, [`MergedSource::last_error_input`] tells which
//! input it was, that input is dropped and the merge goes on with the others.

use super::{LinkType, Packet, PacketSource, SourceError, SourceEvent};
use crate::time::Timestamp;

/// What the merge knows about one input's next event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeadState {
    /// Unknown: the input must be asked.
    Fetch,
    /// Copied into the [`Head`].
    Ready,
    /// The input ended or failed.
    Done,
}

/// One input's next event, copied.
#[derive(Debug)]
struct Head {
    state: HeadState,
    ts: Timestamp,
    /// `None` for a tick.
    linktype: Option<LinkType>,
    orig_len: u32,
    data: Vec<u8>,
}

impl Head {
    fn store(&mut self, event: &SourceEvent<'_>) {
        self.state = HeadState::Ready;
        match event {
            SourceEvent::Packet(p) => {
                self.ts = p.ts;
                self.linktype = Some(p.linktype);
                self.orig_len = p.orig_len;
                self.data.clear();
                self.data.extend_from_slice(p.data);
            }
            SourceEvent::Tick(ts) => {
                self.ts = *ts;
                self.linktype = None;
            }
        }
    }

    fn event(&self) -> SourceEvent<'_> {
        match self.linktype {
            Some(linktype) => SourceEvent::Packet(Packet {
                ts: self.ts,
                linktype,
                orig_len: self.orig_len,
                data: &self.data,
            }),
            None => SourceEvent::Tick(self.ts),
        }
    }
}

fn event_ts(e: &SourceEvent<'_>) -> Timestamp {
    match e {
        SourceEvent::Packet(p) => p.ts,
        SourceEvent::Tick(ts) => *ts,
    }
}

/// Merges several [`PacketSource`]s into one, in timestamp order (see the [module docs](self)).
///
/// ```no_run
/// use tidysniff_core::source::{CaptureReader, MergedSource, PacketSource};
/// let inputs: Vec<Box<dyn PacketSource + Send>> = vec![
///     Box::new(CaptureReader::open("a.pcap")?),
///     Box::new(CaptureReader::open("b.pcapng")?),
/// ];
/// let mut merged = MergedSource::new(inputs);
/// loop {
///     match merged.next_event() {
///         Ok(Some(_event)) => { /* ... */ }
///         Ok(None) => break,
///         Err(e) => eprintln!("input {:?}: {e}", merged.last_error_input()),
///     }
/// }
/// # Ok::<(), tidysniff_core::source::SourceError>(())
/// ```
pub struct MergedSource {
    /// `None` once dropped after its error.
    sources: Vec<Option<Box<dyn PacketSource + Send>>>,
    heads: Vec<Head>,
    /// The input whose copied head was returned by the last call: it is consumed at the next one.
    returned: Option<usize>,
    last_error: Option<usize>,
}

impl core::fmt::Debug for MergedSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MergedSource")
            .field("inputs", &self.sources.len())
            .field("last_error_input", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl MergedSource {
    /// Merges `sources`; their index in this vector is their input number.
    pub fn new(sources: Vec<Box<dyn PacketSource + Send>>) -> Self {
        let heads = sources
            .iter()
            .map(|_| Head {
                state: HeadState::Fetch,
                ts: Timestamp(0),
                linktype: None,
                orig_len: 0,
                data: Vec::new(),
            })
            .collect();
        MergedSource {
            sources: sources.into_iter().map(Some).collect(),
            heads,
            returned: None,
            last_error: None,
        }
    }

    /// The number of inputs given to [`MergedSource::new`] (failed ones included).
    pub fn inputs(&self) -> usize {
        self.sources.len()
    }

    /// The input (index into the vector given to [`MergedSource::new`]) whose error the last call
    /// to `next_event` returned; `None` when that call did not fail.
    pub fn last_error_input(&self) -> Option<usize> {
        self.last_error
    }

    /// Records that input `i` failed: it is dropped at the next call.
    fn fail(heads: &mut [Head], last_error: &mut Option<usize>, i: usize) {
        if let Some(h) = heads.get_mut(i) {
            h.state = HeadState::Done;
        }
        *last_error = Some(i);
    }

    /// The earliest copied head: (timestamp, input).
    fn earliest(heads: &[Head]) -> Option<(Timestamp, usize)> {
        heads
            .iter()
            .enumerate()
            .filter(|(_, h)| h.state == HeadState::Ready)
            .map(|(i, h)| (h.ts, i))
            .min()
    }
}

impl PacketSource for MergedSource {
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, SourceError> {
        let MergedSource {
            sources,
            heads,
            returned,
            last_error,
        } = self;
        *last_error = None;
        if let Some(j) = returned.take() {
            if let Some(h) = heads.get_mut(j) {
                h.state = HeadState::Fetch;
            }
        }
        for (s, h) in sources.iter_mut().zip(heads.iter()) {
            if h.state == HeadState::Done {
                *s = None;
            }
        }

        // One input: pass through.
        if sources.len() == 1 && sources.first().is_some_and(Option::is_some) {
            let Some(Some(only)) = sources.first_mut() else {
                return Ok(None);
            };
            return match only.next_event() {
                Ok(Some(e)) => Ok(Some(e)),
                Ok(None) => {
                    heads[0].state = HeadState::Done;
                    Ok(None)
                }
                Err(e) => {
                    Self::fail(heads, last_error, 0);
                    Err(e)
                }
            };
        }

        // Copy the heads of the inputs not asked yet, all but the last of them (at the start: all
        // inputs but the last; later there is only the one consumed last, which goes below).
        let Some(last) = heads.iter().rposition(|h| h.state == HeadState::Fetch) else {
            return Ok(Self::earliest(heads).map(|(_, j)| {
                *returned = Some(j);
                heads[j].event()
            }));
        };
        for i in 0..last {
            if heads[i].state != HeadState::Fetch {
                continue;
            }
            let Some(src) = sources.get_mut(i).and_then(Option::as_mut) else {
                heads[i].state = HeadState::Done;
                continue;
            };
            match src.next_event() {
                Ok(Some(e)) => heads[i].store(&e),
                Ok(None) => heads[i].state = HeadState::Done,
                Err(e) => {
                    Self::fail(heads, last_error, i);
                    return Err(e);
                }
            }
        }

        // Ask the last pending input; return its event without a copy when it is the earliest.
        let min = Self::earliest(heads);
        if let Some(src) = sources.get_mut(last).and_then(Option::as_mut) {
            match src.next_event() {
                Ok(Some(e)) => {
                    if min.is_none_or(|m| (event_ts(&e), last) < m) {
                        return Ok(Some(e));
                    }
                    heads[last].store(&e);
                }
                Ok(None) => heads[last].state = HeadState::Done,
                Err(e) => {
                    Self::fail(heads, last_error, last);
                    return Err(e);
                }
            }
        } else {
            heads[last].state = HeadState::Done;
        }
        Ok(min.map(|(_, j)| {
            *returned = Some(j);
            heads[j].event()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::file::build::{Ng, Pcap};
    use crate::source::CaptureReader;

    /// A scripted source: packets are (ts, payload) with link type = input marker; `Err` items fail.
    struct Script {
        items: Vec<Result<SourceEvent<'static>, &'static str>>,
        at: usize,
        buf: Vec<u8>,
    }

    fn script(
        items: Vec<Result<SourceEvent<'static>, &'static str>>,
    ) -> Box<dyn PacketSource + Send> {
        Box::new(Script {
            items,
            at: 0,
            buf: Vec::new(),
        })
    }

    fn p(ts: i64, data: &'static [u8]) -> Result<SourceEvent<'static>, &'static str> {
        Ok(SourceEvent::Packet(Packet {
            ts: Timestamp(ts),
            linktype: LinkType(1),
            orig_len: data.len() as u32,
            data,
        }))
    }

    fn tick(ts: i64) -> Result<SourceEvent<'static>, &'static str> {
        Ok(SourceEvent::Tick(Timestamp(ts)))
    }

    impl PacketSource for Script {
        fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, SourceError> {
            let Some(item) = self.items.get(self.at) else {
                return Ok(None);
            };
            self.at += 1;
            match item {
                // Lend from our own buffer, as a real source does, and scribble over it on the
                // next call so that a merge holding a stale borrow would see garbage.
                Ok(SourceEvent::Packet(pk)) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(pk.data);
                    Ok(Some(SourceEvent::Packet(Packet {
                        data: &self.buf,
                        ..*pk
                    })))
                }
                Ok(t) => Ok(Some(*t)),
                Err(reason) => Err(SourceError::Corrupt {
                    offset: self.at as u64,
                    reason,
                }),
            }
        }
    }

    /// Events as text: "ts:payload" or "tick:ts", and "err(input)" for errors.
    fn drain(m: &mut MergedSource) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..1000 {
            match m.next_event() {
                Ok(Some(SourceEvent::Packet(pk))) => {
                    out.push(format!("{}:{}", pk.ts.0, String::from_utf8_lossy(pk.data)))
                }
                Ok(Some(SourceEvent::Tick(t))) => out.push(format!("tick:{}", t.0)),
                Ok(None) => {
                    assert!(m.next_event().unwrap().is_none());
                    return out;
                }
                Err(_) => out.push(format!("err({})", m.last_error_input().unwrap())),
            }
        }
        panic!("no end");
    }

    #[test]
    fn merge_orders_by_timestamp_stable_on_ties() {
        let mut m = MergedSource::new(vec![
            script(vec![p(1, b"a1"), p(5, b"a5"), p(5, b"a5'"), p(9, b"a9")]),
            script(vec![p(0, b"b0"), p(5, b"b5"), p(6, b"b6")]),
            script(vec![]),
            script(vec![p(5, b"c5"), p(100, b"c100")]),
        ]);
        assert_eq!(m.inputs(), 4);
        assert_eq!(
            drain(&mut m),
            ["0:b0", "1:a1", "5:a5", "5:a5'", "5:b5", "5:c5", "6:b6", "9:a9", "100:c100"]
        );
    }

    #[test]
    fn merge_single_input_passes_through() {
        let mut m = MergedSource::new(vec![script(vec![
            p(3, b"x"),
            p(1, b"y"),
            tick(2),
            Err("bad"),
            p(4, b"z"),
        ])]);
        assert_eq!(drain(&mut m), ["3:x", "1:y", "tick:2", "err(0)"]);
    }

    #[test]
    fn merge_error_is_reported_once_then_input_dropped() {
        let mut m = MergedSource::new(vec![
            script(vec![
                p(1, b"a1"),
                p(3, b"a3"),
                Err("broken"),
                p(4, b"never"),
            ]),
            script(vec![p(2, b"b2"), p(5, b"b5")]),
            script(vec![Err("at once")]),
        ]);
        assert_eq!(
            drain(&mut m),
            ["err(2)", "1:a1", "2:b2", "3:a3", "err(0)", "5:b5"]
        );
        assert_eq!(m.last_error_input(), None);
    }

    #[test]
    fn merge_orders_ticks_with_packets() {
        let mut m = MergedSource::new(vec![
            script(vec![tick(10), p(12, b"live"), tick(20)]),
            script(vec![p(5, b"f5"), p(15, b"f15"), p(25, b"f25")]),
        ]);
        assert_eq!(
            drain(&mut m),
            ["5:f5", "tick:10", "12:live", "15:f15", "tick:20", "25:f25"]
        );
    }

    #[test]
    fn merge_of_capture_files() {
        let mut a = Pcap::new(false, false, 1);
        a.record(1, 0, b"a-1s", 4)
            .record(3, 0, b"a-3s", 4)
            .record(3, 500_000, b"a-3.5s", 6);
        let mut b = Ng::new(true);
        b.idb(101, 0, &[(9, vec![9])]);
        b.epb(0, 2_000_000_000, b"b-2s", 4)
            .epb(0, 3_000_000_000, b"b-3s", 4)
            .epb(0, 9_000_000_000, b"b-9s", 4);
        // A truncated third input: its packets before the cut still count.
        let mut c = Pcap::new(true, true, 1);
        c.record(0, 1, b"c-0s", 4).record(4, 0, b"c-cut", 5);
        let cut = c.bytes.len() - 2;
        c.bytes.truncate(cut);
        let mut m = MergedSource::new(vec![
            Box::new(CaptureReader::new(std::io::Cursor::new(a.bytes)).unwrap()),
            Box::new(CaptureReader::new(std::io::Cursor::new(b.bytes)).unwrap()),
            Box::new(CaptureReader::new(std::io::Cursor::new(c.bytes)).unwrap()),
        ]);
        assert_eq!(
            drain(&mut m),
            [
                "1:c-0s",
                "err(2)",
                "1000000000:a-1s",
                "2000000000:b-2s",
                "3000000000:a-3s",
                "3000000000:b-3s",
                "3500000000:a-3.5s",
                "9000000000:b-9s"
            ]
        );
    }

    #[test]
    fn merge_of_nothing_is_empty() {
        let mut m = MergedSource::new(Vec::new());
        assert!(m.next_event().unwrap().is_none());
    }
}
