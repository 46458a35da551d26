//! TCP connection state: Zeek's endpoint states and history letters, plus what Zeek folds away
//! (SYN and SYN-ACK retransmission counts, handshake RTT, retransmitted and out-of-order segments,
//! bytes the capture missed).
//!
//! [`TcpConn::on_segment`] takes a decoded segment and its direction and returns what happened
//! ([`SegmentOutcome`]); it never sees bytes beyond the header and never emits anything itself.

mod boxvec;
pub mod reassembly;
pub mod seq;

use crate::decode::{tcp_flags, TcpSegment};
use crate::flow::Dir;
use crate::time::{Duration, Timestamp};
pub use seq::{SegmentClass, SeqSpace};

/// Zeek's TCP endpoint states (`TCP_Endpoint.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EndpointState {
    /// Nothing seen from this side.
    #[default]
    Inactive,
    /// Sent a SYN.
    SynSent,
    /// Sent a SYN-ACK.
    SynAckSent,
    /// Seen mid-stream (no SYN).
    Partial,
    /// Handshake completed.
    Established,
    /// Sent a FIN.
    Closed,
    /// Sent a RST.
    Reset,
}

/// One side of a TCP connection.
#[derive(Clone, Debug)]
pub struct TcpEndpoint {
    /// Zeek endpoint state.
    pub state: EndpointState,
    /// Sequence bookkeeping of the bytes this side sent.
    pub seq: SeqSpace,
    /// The ISN of this side's first SYN or SYN-ACK.
    pub isn: Option<u32>,
    /// SYNs (originator) or SYN-ACKs (responder) sent, retransmissions included.
    pub syns: u32,
    /// Stream offset of this side's FIN ([`NO_OFFSET`] before one: a sentinel instead of an
    /// `Option` keeps the flow entry a cache line shorter, see `fin_off()`).
    fin_off: i64,
    /// The peer acknowledged this side's FIN.
    pub fin_acked: bool,
    /// Data segments whose every byte was seen before.
    pub retransmissions: u32,
    /// Data segments that filled a hole.
    pub out_of_order: u32,
    /// Timestamp of the last SYN / SYN-ACK this side sent (`Timestamp::MIN` before one).
    last_syn_ts: Timestamp,
    /// RSTs sent.
    pub rsts: u32,
    /// Packets other than RST or SYN sent after this side's first RST.
    pub after_rst: u32,
    seen_letters: u16,
    /// Zeek's logarithmic letters: the next T (G) letter is due at the 10^n-th occurrence.
    next_t_exp: u8,
    next_g_exp: u8,
    gaps: u32,
}

/// [`TcpEndpoint`]'s "no FIN seen" offset.
const NO_OFFSET: i64 = i64::MIN;

impl Default for TcpEndpoint {
    fn default() -> Self {
        TcpEndpoint {
            state: EndpointState::default(),
            seq: SeqSpace::default(),
            isn: None,
            syns: 0,
            fin_off: NO_OFFSET,
            fin_acked: false,
            retransmissions: 0,
            out_of_order: 0,
            last_syn_ts: Timestamp::MIN,
            rsts: 0,
            after_rst: 0,
            seen_letters: 0,
            next_t_exp: 0,
            next_g_exp: 0,
            gaps: 0,
        }
    }
}

impl TcpEndpoint {
    /// Stream offset of this side's FIN, once one was seen.
    pub fn fin_off(&self) -> Option<i64> {
        (self.fin_off != NO_OFFSET).then_some(self.fin_off)
    }

    /// Timestamp of the last SYN / SYN-ACK this side sent.
    pub fn last_syn_ts(&self) -> Option<Timestamp> {
        (self.last_syn_ts != Timestamp::MIN).then_some(self.last_syn_ts)
    }
}

/// What one segment did to the connection (for event emission).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentOutcome {
    /// A SYN without ACK (the number of SYNs from this side so far, retransmissions included).
    pub syn: Option<u32>,
    /// A SYN-ACK (count so far from this side).
    pub syn_ack: Option<u32>,
    /// The handshake completed with this segment.
    pub established: bool,
    /// The segment carried RST.
    pub rst: bool,
    /// For a RST: its sequence number minus this side's next sequence number.
    pub rst_seq_gap: Option<i64>,
    /// For a RST: the RSTs this side has sent, this one included.
    pub rst_nth: u32,
    /// The first packet other than a RST or SYN from a side that had sent a RST.
    pub after_rst: bool,
    /// The segment carried FIN.
    pub fin: bool,
    /// Classification of a segment with payload (None for no payload).
    pub data: Option<SegmentClass>,
    /// Stream offset of the payload's first byte.
    pub data_offset: i64,
}

const L_SYN: u16 = 1;
const L_SYNACK: u16 = 2;
const L_ACK: u16 = 4;
const L_DATA: u16 = 8;
const L_FIN: u16 = 16;
const L_RST: u16 = 32;
const L_SYNFIN: u16 = 64;

pub use crate::flow::{History, MAX_HISTORY};

/// A TCP connection seen from both sides.
#[derive(Clone, Debug)]
pub struct TcpConn {
    /// Originator (index 0) and responder (index 1).
    pub ep: [TcpEndpoint; 2],
    /// Zeek's history letters, inline (no allocation, and no pointer to chase at the end).
    history: History,
    /// The originator was decided by a SYN-ACK seen before its SYN (Zeek's `^`).
    pub flipped: bool,
    /// Handshake RTT: first SYN-ACK minus the SYN it answered (`NO_RTT` before; see `rtt()`).
    rtt: Duration,
    /// When the handshake completed (`Timestamp::MIN` before; see `established_at()`).
    established_at: Timestamp,
    /// Reassembly of the first bytes of each direction (originator, responder), inline: a
    /// packet's parser path reads no other allocation.
    pub streams: [reassembly::Reassembler; 2],
}

/// [`TcpConn`]'s "no RTT measured" value.
const NO_RTT: Duration = Duration(i64::MIN);

impl Default for TcpConn {
    fn default() -> Self {
        TcpConn::new(false)
    }
}

impl TcpConn {
    /// A new connection; `flipped` when the first packet was a SYN-ACK from the responder.
    pub fn new(flipped: bool) -> Self {
        let mut c = TcpConn {
            ep: Default::default(),
            history: History::default(),
            flipped,
            rtt: NO_RTT,
            established_at: Timestamp::MIN,
            streams: Default::default(),
        };
        if flipped {
            c.push_history(b'^');
        }
        c
    }

    /// Handshake RTT: first SYN-ACK minus the SYN it answered.
    pub fn rtt(&self) -> Option<Duration> {
        (self.rtt != NO_RTT).then_some(self.rtt)
    }

    /// When the handshake completed.
    pub fn established_at(&self) -> Option<Timestamp> {
        (self.established_at != Timestamp::MIN).then_some(self.established_at)
    }

    /// Zeek's history letters.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Appends a letter unless the history is full.
    fn push_history(&mut self, letter: u8) {
        self.history.push(letter);
    }

    fn letter(&mut self, dir: Dir, mask: u16, upper: u8) {
        let ep = &mut self.ep[dir.index()];
        if ep.seen_letters & mask != 0 {
            return;
        }
        ep.seen_letters |= mask;
        self.push_letter(dir, upper);
    }

    fn push_letter(&mut self, dir: Dir, upper: u8) {
        self.push_history(if dir.is_orig() {
            upper
        } else {
            upper.to_ascii_lowercase()
        });
    }

    /// Records a letter at the 1st, 10th, 100th... occurrence (Zeek's logarithmic letters).
    fn log_letter(&mut self, dir: Dir, upper: u8, count: u32) {
        let ep = &mut self.ep[dir.index()];
        let exp = if upper == b'T' {
            &mut ep.next_t_exp
        } else {
            &mut ep.next_g_exp
        };
        // 10^10 is past any u32 count: the letters stop there.
        if *exp < 10 && u64::from(count) >= 10u64.pow(u32::from(*exp)) {
            *exp += 1;
            self.push_letter(dir, upper);
        }
    }

    /// True when a FIN or RST was seen from either side.
    pub fn is_closing(&self) -> bool {
        self.ep
            .iter()
            .any(|e| matches!(e.state, EndpointState::Closed | EndpointState::Reset))
    }

    /// True when both sides are done: each sent FIN, or anyone sent RST.
    pub fn is_finished(&self) -> bool {
        self.ep.iter().any(|e| e.state == EndpointState::Reset)
            || self.ep.iter().all(|e| e.state == EndpointState::Closed)
    }

    /// True when each side sent a FIN that the other acknowledged and nobody sent a RST: nothing
    /// more belongs to this connection but retransmissions.
    pub fn closed_and_acked(&self) -> bool {
        self.ep
            .iter()
            .all(|e| e.state == EndpointState::Closed && e.fin_acked)
    }

    /// Applies one segment sent by `dir` at `ts`.
    pub fn on_segment(&mut self, dir: Dir, ts: Timestamp, seg: &TcpSegment<'_>) -> SegmentOutcome {
        use EndpointState::*;
        let mut out = SegmentOutcome::default();
        let f = seg.flags;
        let syn = f & tcp_flags::SYN != 0;
        let ack = f & tcp_flags::ACK != 0;
        let fin = f & tcp_flags::FIN != 0;
        let rst = f & tcp_flags::RST != 0;
        let me = dir.index();
        let peer = dir.flip().index();

        if !rst && !syn && self.ep[me].rsts > 0 {
            self.ep[me].after_rst += 1;
            out.after_rst = self.ep[me].after_rst == 1;
        }
        if syn && fin {
            self.letter(dir, L_SYNFIN, b'Q');
        }
        if syn {
            let ep = &mut self.ep[me];
            ep.syns += 1;
            ep.last_syn_ts = ts;
            if ep.isn.is_none() {
                ep.isn = Some(seg.seq);
                ep.seq.set_isn(seg.seq);
            }
            // A side that only sent stray ACKs or a RST before (no data) restarts its handshake.
            let restart = matches!(ep.state, Partial | Reset) && ep.seq.max_end() == 0;
            if ack {
                out.syn_ack = Some(ep.syns);
                if matches!(ep.state, Inactive | SynSent) || restart {
                    ep.state = SynAckSent;
                }
                if self.rtt == NO_RTT {
                    if let Some(syn_ts) = self.ep[peer].last_syn_ts() {
                        self.rtt = ts.since(syn_ts);
                    }
                }
                self.letter(dir, L_SYNACK, b'H');
            } else {
                out.syn = Some(ep.syns);
                if ep.state == Inactive || restart {
                    ep.state = SynSent;
                }
                self.letter(dir, L_SYN, b'S');
            }
        } else if !rst && !fin && ack && matches!(self.ep[me].state, SynSent | SynAckSent) {
            // The ACK (possibly with data) that completes a handshake.
            if self.ep[peer].isn.is_some() {
                self.ep[me].state = Established;
                if matches!(self.ep[peer].state, SynSent | SynAckSent) {
                    self.ep[peer].state = Established;
                }
                if self.established_at == Timestamp::MIN {
                    self.established_at = ts;
                    out.established = true;
                }
            }
        } else if !syn && self.ep[me].state == Inactive {
            self.ep[me].state = Partial;
        }

        // Payload.
        let len = seg.payload_len;
        if len > 0 {
            let off = self.ep[me].seq.offset(seg.seq.wrapping_add(syn as u32));
            let class = self.ep[me].seq.on_data(off, len);
            out.data = Some(class);
            out.data_offset = off;
            self.letter(dir, L_DATA, b'D');
            match class {
                SegmentClass::Retransmission => {
                    self.ep[me].retransmissions += 1;
                    let n = self.ep[me].retransmissions;
                    self.log_letter(dir, b'T', n);
                }
                SegmentClass::OutOfOrder => self.ep[me].out_of_order += 1,
                SegmentClass::New => {}
            }
        } else if !syn && !fin && !rst && ack {
            self.letter(dir, L_ACK, b'A');
        }

        if fin {
            let ep = &mut self.ep[me];
            let fin_seq = seg.seq.wrapping_add(syn as u32).wrapping_add(len);
            let off = ep.seq.offset(fin_seq);
            if ep.fin_off == NO_OFFSET {
                ep.fin_off = off;
            }
            if ep.state != Reset {
                ep.state = Closed;
            }
            out.fin = true;
            self.letter(dir, L_FIN, b'F');
        }
        if rst {
            let ep = &mut self.ep[me];
            ep.rsts += 1;
            out.rst_nth = ep.rsts;
            out.rst_seq_gap = ep
                .seq
                .peek_offset(seg.seq)
                .map(|off| off - ep.seq.max_end());
            ep.state = Reset;
            out.rst = true;
            self.letter(dir, L_RST, b'R');
        }

        // Acknowledgments tell us which of the peer's bytes exist.
        if ack && !rst {
            let peer_ep = &mut self.ep[peer];
            if let Some(ack_off) = peer_ep.seq.peek_offset(seg.ack) {
                let before = peer_ep.seq.missed;
                let fin_off = peer_ep.fin_off();
                if fin_off.is_some_and(|f| ack_off > f) {
                    peer_ep.fin_acked = true;
                }
                peer_ep.seq.on_ack(ack_off, fin_off);
                if peer_ep.seq.missed > before {
                    peer_ep.gaps += 1;
                    let n = peer_ep.gaps;
                    self.log_letter(dir.flip(), b'G', n);
                }
            }
        }
        out
    }

    /// Zeek's conn_state for this connection (`conn/main.zeek` `conn_state`).
    pub fn conn_state(&self, orig_bytes: u64, resp_bytes: u64) -> &'static str {
        use EndpointState::*;
        let os = self.ep[0].state;
        let rs = self.ep[1].state;
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent)
                || (os == Reset && orig_bytes == 0 && resp_bytes == 0)
            {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r_inactive {
                if self.rstos0_history() {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// Zeek's `/\^?S[^HAFGIQ]*R.*/` test on the history.
    fn rstos0_history(&self) -> bool {
        let all = self.history.as_bytes();
        let h = all.strip_prefix(b"^").unwrap_or(all);
        let Some(rest) = h.strip_prefix(b"S") else {
            return false;
        };
        for &c in rest {
            match c {
                b'R' => return true,
                b'H' | b'A' | b'F' | b'G' | b'I' | b'Q' => return false,
                _ => {}
            }
        }
        false
    }

    /// Ends the connection: holes below the highest byte seen count as missed.
    pub fn close(&mut self) {
        for ep in &mut self.ep {
            ep.seq.close_holes();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::*;

    const T0: Timestamp = Timestamp(1_700_000_000_000_000_000);

    fn seg(flags: u8, seq: u32, ack: u32, len: u32) -> TcpSegment<'static> {
        TcpSegment {
            src_port: 1,
            dst_port: 2,
            seq,
            ack,
            flags,
            window: 100,
            payload: &[],
            payload_len: len,
        }
    }

    fn ms(n: i64) -> Timestamp {
        T0.add(Duration::from_millis(n))
    }

    /// Feeds `(dir, flags, seq, ack, len)` lines like a trace.
    fn run(trace: &[(Dir, u8, u32, u32, u32)]) -> TcpConn {
        let mut c = TcpConn::new(false);
        for (i, &(d, f, s, a, l)) in trace.iter().enumerate() {
            c.on_segment(d, ms(i as i64 * 10), &seg(f, s, a, l));
        }
        c
    }

    use Dir::{Orig as O, Resp as R};

    #[test]
    fn full_connection_is_sf_with_zeek_history() {
        let c = run(&[
            (O, SYN, 100, 0, 0),
            (R, SYN | ACK, 500, 101, 0),
            (O, ACK, 101, 501, 0),
            (O, ACK | PSH, 101, 501, 10),
            (R, ACK | PSH, 501, 111, 20),
            (O, FIN | ACK, 111, 521, 0),
            (R, FIN | ACK, 521, 112, 0),
            (O, ACK, 112, 522, 0),
        ]);
        assert_eq!(c.history(), "ShADdFf");
        assert_eq!(c.conn_state(10, 20), "SF");
        assert_eq!(c.rtt(), Some(Duration::from_millis(10)));
        assert_eq!((c.ep[0].seq.max_end(), c.ep[1].seq.max_end()), (10, 20));
    }

    #[test]
    fn syn_answered_by_rst_is_rej() {
        let c = run(&[(O, SYN, 100, 0, 0), (R, RST | ACK, 0, 101, 0)]);
        assert_eq!(c.conn_state(0, 0), "REJ");
        assert_eq!(c.history(), "Sr");
    }

    #[test]
    fn unanswered_syns_are_counted_even_with_the_same_isn() {
        let c = run(&[
            (O, SYN, 100, 0, 0),
            (O, SYN, 100, 0, 0),
            (O, SYN, 100, 0, 0),
        ]);
        assert_eq!(c.conn_state(0, 0), "S0");
        assert_eq!(c.ep[0].syns, 3);
        assert_eq!(c.history(), "S");
    }

    #[test]
    fn handshake_after_a_stray_ack_and_rst_is_a_connection() {
        // SYN, a stray ACK answers it, the client resets, then retries and completes.
        let c = run(&[
            (O, SYN, 100, 0, 0),
            (R, ACK, 7000, 5, 0),
            (O, RST, 5, 0, 0),
            (O, SYN, 100, 0, 0),
            (R, SYN | ACK, 500, 101, 0),
            (O, ACK, 101, 501, 0),
            (O, ACK, 101, 501, 10),
            (O, RST, 111, 0, 0),
        ]);
        assert_eq!(c.conn_state(10, 0), "RSTO");
        assert_eq!(c.ep[0].syns, 2);
        assert_eq!(c.ep[0].seq.missed, 0);
    }

    #[test]
    fn rstos0_sh_and_oth() {
        assert_eq!(
            run(&[(O, SYN, 1, 0, 0), (O, RST, 2, 0, 0)]).conn_state(0, 0),
            "RSTOS0"
        );
        assert_eq!(
            run(&[(O, SYN, 1, 0, 0), (O, FIN, 2, 0, 0)]).conn_state(0, 0),
            "SH"
        );
        assert_eq!(
            run(&[(O, ACK, 1, 9, 5), (R, ACK, 9, 6, 5)]).conn_state(5, 5),
            "OTH"
        );
    }

    #[test]
    fn retransmission_letters_are_logarithmic() {
        let mut trace = vec![
            (O, SYN, 0, 0, 0),
            (R, SYN | ACK, 0, 1, 0),
            (O, ACK, 1, 1, 0),
            (O, ACK, 1, 1, 100),
        ];
        for _ in 0..12 {
            trace.push((O, ACK, 1, 1, 100));
        }
        let c = run(&trace);
        assert_eq!(c.ep[0].retransmissions, 12);
        assert_eq!(c.history(), "ShADTT");
    }

    #[test]
    fn acked_hole_counts_missed_bytes_and_gap_letter() {
        let c = run(&[
            (O, SYN, 0, 0, 0),
            (R, SYN | ACK, 0, 1, 0),
            (O, ACK, 1, 1, 0),
            (R, ACK, 1, 1, 1000),
            (R, ACK, 2001, 1, 1000),
            (O, ACK, 1, 3001, 0),
        ]);
        assert_eq!(c.ep[1].seq.missed, 1000);
        assert_eq!(c.history(), "ShAdg");
    }
}
