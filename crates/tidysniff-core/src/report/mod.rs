//! Reporters: records to text. Pure formatting into a caller's `String` (no I/O here).
//!
//! # JSON Lines schema of `conn` records
//!
//! One object per line, keys in this order; keys whose value is unknown are omitted (as Zeek's
//! JSON writer does):
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `type` | `"conn"` | record type |
//! | `ts` | number | first packet, seconds since the epoch (6 fractional digits, 9 for ns captures) |
//! | `uid` | string | connection id, joins with other record types |
//! | `proto` | string | `tcp`, `udp`, `icmp`, `unknown_transport` |
//! | `orig_h`, `orig_p`, `resp_h`, `resp_p` | string, number | originator and responder (ICMP: type/code or echo id) |
//! | `duration` | number | last minus first packet, seconds |
//! | `orig_bytes`, `resp_bytes` | number | payload bytes (TCP: from sequence numbers, as Zeek) |
//! | `conn_state` | string | Zeek's conn_state |
//! | `history` | string | Zeek's history letters (`^` = direction flipped) |
//! | `orig_pkts`, `orig_ip_bytes`, `resp_pkts`, `resp_ip_bytes` | number | packets and IP bytes |
//! | `missed_bytes` | number | bytes acknowledged but never captured |
//! | `syn_count`, `synack_count` | number | SYNs / SYN-ACKs sent, retransmissions included (TCP) |
//! | `rtt_ms` | number | handshake RTT, SYN to SYN-ACK, milliseconds (TCP with SYN-ACK) |
//! | `orig_ttl`, `resp_ttl` | number | IP TTL / hop limit of each side's first packet |
//! | `orig_ttl_range`, `resp_ttl_range` | [min, max] | only when the TTL varied |
//! | `orig_retrans`, `resp_retrans`, `orig_ooo`, `resp_ooo` | number | retransmitted / out-of-order data segments (TCP) |
//! | `truncated_pkts` | number | packets cut by the snaplen (omitted when 0) |
//! | `icmp` | object | last ICMP error quoting this connection: `ts`, `from`, `type`, `code`, `name`, `count` |
//! | `vlan` | number | outer VLAN id |
//! | `end` | string | why the record was written: `closed`, `idle`, `evicted`, `reused`, `end_of_input` |

pub mod app;

use crate::event::ConnRecord;
use crate::flow::Proto;
use crate::time::Duration;
use core::fmt::Write;

/// Appends `s` as a JSON string literal.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    // Most strings need no escape: one pass without early exit (it vectorizes), one copy.
    if !s.bytes().fold(false, |esc, b| {
        esc | (b < 0x20) | (b == b'"') | (b == b'\\')
    }) {
        out.push_str(s);
        out.push('"');
        return;
    }
    // Runs of bytes that need no escape are copied whole; every escaped byte is ASCII, so each
    // run ends on a character boundary.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

/// Appends an IP address as its `Display` form does (IPv4 without the formatting machinery).
#[inline]
pub fn push_ip(out: &mut String, a: core::net::IpAddr) {
    match a {
        core::net::IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            push_lead(out, u64::from(a));
            for o in [b, c, d] {
                out.push('.');
                push_lead(out, u64::from(o));
            }
        }
        core::net::IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// "000" to "999", three digits each. The record writers append numbers three digits at a time
/// as slices of this string: no formatting machinery and no UTF-8 check of the digits.
const TRIPLES: &str = match core::str::from_utf8(&triple_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("digits are ASCII"),
};

const fn triple_bytes() -> [u8; 3000] {
    let mut b = [0u8; 3000];
    let mut i = 0;
    while i < 1000 {
        b[i * 3] = b'0' + (i / 100) as u8;
        b[i * 3 + 1] = b'0' + (i / 10 % 10) as u8;
        b[i * 3 + 2] = b'0' + (i % 10) as u8;
        i += 1;
    }
    b
}

/// Appends `v` (under 1000) without leading zeros.
#[inline]
fn push_lead(out: &mut String, v: u64) {
    let i = v.min(999) as usize * 3;
    let skip = match v {
        0..=9 => 2,
        10..=99 => 1,
        _ => 0,
    };
    out.push_str(TRIPLES.get(i + skip..i + 3).unwrap_or("0"));
}

/// Appends `v` (under 1000) as three digits.
#[inline]
fn push_triple(out: &mut String, v: u64) {
    let i = v.min(999) as usize * 3;
    out.push_str(TRIPLES.get(i..i + 3).unwrap_or("000"));
}

/// Appends `v` in decimal (the record writers' hot path: no formatting machinery).
#[inline]
pub fn push_u64(out: &mut String, v: u64) {
    if v < 1000 {
        return push_lead(out, v);
    }
    // Three-digit groups, least significant first (u64 has at most seven).
    let mut groups = [0u64; 7];
    let mut n = 0;
    let mut v = v;
    while v >= 1000 {
        if let Some(g) = groups.get_mut(n) {
            *g = v % 1000;
        }
        v /= 1000;
        n += 1;
    }
    push_lead(out, v);
    for &g in groups.get(..n).unwrap_or_default().iter().rev() {
        push_triple(out, g);
    }
}

/// Appends `nanos` as [`crate::time::write_secs`] writes it (seconds, a point and six or nine fractional
/// digits), three digits at a time.
pub fn push_secs(out: &mut String, nanos: i64) {
    if nanos < 0 {
        out.push('-');
    }
    let abs = nanos.unsigned_abs();
    let (secs, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
    push_u64(out, secs);
    out.push('.');
    if frac % 1000 == 0 {
        let us = frac / 1000;
        push_triple(out, us / 1000);
        push_triple(out, us % 1000);
    } else {
        push_triple(out, frac / 1_000_000);
        push_triple(out, frac / 1000 % 1000);
        push_triple(out, frac % 1000);
    }
}

/// Appends `d` in milliseconds with three decimals, exactly as `{:.3}` formats
/// [`Duration::as_millis_f64`]: in integers when that is provably the same (a value under 10^15
/// ns, so the float is within 10^-7 ms of the exact quotient, and not a tie at half a
/// microsecond, which the float rounds by its binary value), else by the float.
fn push_millis3(out: &mut String, d: Duration) {
    let n = d.as_nanos();
    match u64::try_from(n) {
        Ok(n) if n < 1_000_000_000_000_000 && n % 1000 != 500 => {
            let us = n / 1000 + u64::from(n % 1000 > 500);
            push_u64(out, us / 1000);
            out.push('.');
            push_triple(out, us % 1000);
        }
        _ => {
            let _ = write!(out, "{:.3}", d.as_millis_f64());
        }
    }
}

/// Appends `prefix` and `v` in decimal (prefix such as `,"orig_pkts":`); the record writers of
/// this module and of [`app`] share it.
#[inline]
fn num(out: &mut String, prefix: &str, v: impl Into<u64>) {
    out.push_str(prefix);
    push_u64(out, v.into());
}

/// Appends one `conn` record as a JSON object and a newline.
pub fn conn_json(out: &mut String, r: &ConnRecord) {
    let o = &r.orig_stats;
    let p = &r.resp_stats;
    out.push_str("{\"type\":\"conn\",\"ts\":");
    push_secs(out, r.ts.as_nanos());
    out.push_str(",\"uid\":\"");
    r.uid.push_to(out);
    out.push_str("\",\"proto\":\"");
    out.push_str(r.proto.as_str());
    out.push_str("\",\"orig_h\":\"");
    push_ip(out, r.orig.addr);
    out.push('"');
    num(out, ",\"orig_p\":", u64::from(r.orig.port));
    out.push_str(",\"resp_h\":\"");
    push_ip(out, r.resp.addr);
    out.push('"');
    num(out, ",\"resp_p\":", u64::from(r.resp.port));
    out.push_str(",\"duration\":");
    push_secs(out, r.duration().as_nanos());
    num(out, ",\"orig_bytes\":", o.bytes);
    num(out, ",\"resp_bytes\":", p.bytes);
    out.push_str(",\"conn_state\":\"");
    out.push_str(r.conn_state);
    out.push_str("\",\"history\":");
    json_str(out, &r.history);
    num(out, ",\"orig_pkts\":", o.pkts);
    num(out, ",\"orig_ip_bytes\":", o.ip_bytes);
    num(out, ",\"resp_pkts\":", p.pkts);
    num(out, ",\"resp_ip_bytes\":", p.ip_bytes);
    num(out, ",\"missed_bytes\":", r.missed_bytes);
    if r.proto == Proto::Tcp {
        num(out, ",\"syn_count\":", u64::from(r.syn_count));
        num(out, ",\"synack_count\":", u64::from(r.synack_count));
    }
    if let Some(rtt) = r.rtt {
        out.push_str(",\"rtt_ms\":");
        push_millis3(out, rtt);
    }
    for (name, s) in [("orig", o), ("resp", p)] {
        if let Some(ttl) = s.ttl {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("_ttl\":");
            push_u64(out, u64::from(ttl));
            if s.ttl_min != s.ttl_max {
                let _ = write!(out, ",\"{name}_ttl_range\":[{},{}]", s.ttl_min, s.ttl_max);
            }
        }
    }
    if r.proto == Proto::Tcp {
        num(out, ",\"orig_retrans\":", u64::from(o.retransmissions));
        num(out, ",\"resp_retrans\":", u64::from(p.retransmissions));
        num(out, ",\"orig_ooo\":", u64::from(o.out_of_order));
        num(out, ",\"resp_ooo\":", u64::from(p.out_of_order));
    }
    let trunc = u64::from(o.truncated) + u64::from(p.truncated);
    if trunc > 0 {
        let _ = write!(out, ",\"truncated_pkts\":{trunc}");
    }
    if let Some(n) = &r.icmp {
        out.push_str(",\"icmp\":{\"ts\":");
        push_secs(out, n.ts.as_nanos());
        let _ = write!(
            out,
            ",\"from\":\"{}\",\"type\":{},\"code\":{},\"name\":\"{}\",\"count\":{}}}",
            n.from,
            n.msg.icmp_type,
            n.msg.code,
            n.msg.describe(),
            n.count
        );
    }
    if let Some(v) = r.vlan {
        let _ = write!(out, ",\"vlan\":{v}");
    }
    out.push_str(",\"end\":\"");
    out.push_str(r.end.as_str());
    out.push_str("\"}\n");
}

/// Header line of the text table written by [`conn_text`].
pub const CONN_TEXT_HEADER: &str = "ts                 uid          proto orig                                           resp                                           state  history          pkts(o/r)     bytes(o/r)          syn rtt_ms   notes\n";

/// Appends one `conn` record as an aligned text line for people.
pub fn conn_text(out: &mut String, r: &ConnRecord) {
    let start = out.len();
    push_secs(out, r.ts.as_nanos());
    pad_to(out, start + 19);
    let _ = write!(out, "{} {:<5} ", r.uid, r.proto.as_str());
    let col = out.len();
    let _ = write!(out, "{}", fmt_ep(r.orig.addr, r.orig.port));
    pad_to(out, col + 47);
    let col = out.len();
    let _ = write!(out, "{}", fmt_ep(r.resp.addr, r.resp.port));
    pad_to(out, col + 47);
    let col = out.len();
    let _ = write!(out, "{:<6} {:<16}", r.conn_state, r.history);
    pad_to(out, col + 24);
    let col = out.len();
    let _ = write!(out, "{}/{}", r.orig_stats.pkts, r.resp_stats.pkts);
    pad_to(out, col + 14);
    let col = out.len();
    let _ = write!(out, "{}/{}", r.orig_stats.bytes, r.resp_stats.bytes);
    pad_to(out, col + 20);
    let col = out.len();
    if r.proto == Proto::Tcp {
        let _ = write!(out, "{}", r.syn_count);
    } else {
        out.push('-');
    }
    pad_to(out, col + 4);
    let col = out.len();
    match r.rtt {
        Some(rtt) => {
            let _ = write!(out, "{:.1}", rtt.as_millis_f64());
        }
        None => out.push('-'),
    }
    pad_to(out, col + 9);
    let mut notes: Vec<String> = Vec::new();
    if r.missed_bytes > 0 {
        notes.push(format!("missed={}", r.missed_bytes));
    }
    if let Some(n) = &r.icmp {
        notes.push(format!(
            "icmp={} from {} x{}",
            n.msg.describe(),
            n.from,
            n.count
        ));
    }
    if let Some(v) = r.vlan {
        notes.push(format!("vlan={v}"));
    }
    let retr = r.orig_stats.retransmissions + r.resp_stats.retransmissions;
    if retr > 0 {
        notes.push(format!("retrans={retr}"));
    }
    out.push_str(&notes.join(" "));
    while out.ends_with(' ') {
        out.pop();
    }
    out.push('\n');
}

fn fmt_ep(addr: core::net::IpAddr, port: u16) -> String {
    match addr {
        core::net::IpAddr::V4(a) => format!("{a}:{port}"),
        core::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn pad_to(out: &mut String, col: usize) {
    if out.len() < col {
        let n = col - out.len();
        out.extend(core::iter::repeat_n(' ', n));
    } else {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values around every power of ten and three-digit group boundary, and the extremes.
    fn telling_values() -> Vec<u64> {
        let mut v = vec![
            0,
            1,
            9,
            10,
            99,
            100,
            999,
            1000,
            1001,
            u64::MAX,
            u64::MAX - 1,
        ];
        let mut p = 1u64;
        while let Some(next) = p.checked_mul(10) {
            v.extend([p - 1, p, p + 1, next - 1]);
            p = next;
        }
        // A deterministic spread of other values.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend([x, x >> 20, x >> 40, x % 100_000]);
        }
        v
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for v in telling_values() {
            let mut s = String::from("x");
            push_u64(&mut s, v);
            assert_eq!(s, format!("x{v}"));
        }
        for a in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 9, 100, 1],
            [192, 0, 2, 53],
        ] {
            let ip = core::net::IpAddr::from(a);
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
    }

    #[test]
    fn seconds_are_written_as_write_secs_writes_them() {
        let mut values: Vec<i64> = vec![0, 1, -1, 999, 1000, 1_000_000_000, i64::MAX, i64::MIN];
        for v in telling_values() {
            values.extend([
                v as i64,
                (v as i64).wrapping_neg(),
                (v % 1_000_000) as i64 * 1000,
            ]);
        }
        for n in values {
            let (mut ours, mut theirs) = (String::new(), String::new());
            push_secs(&mut ours, n);
            crate::time::write_secs(&mut theirs, n).unwrap();
            assert_eq!(ours, theirs, "{n}");
        }
    }

    #[test]
    fn millis_are_written_as_the_float_formatter_writes_them() {
        let mut values: Vec<i64> = vec![0, 1, 499, 500, 501, 1500, 2500, 999_500, -1, -1500];
        for v in telling_values() {
            values.extend([
                v as i64,
                (v % 10_000_000_000) as i64,
                (v % 1_000_000) as i64,
            ]);
            // Ties at half a microsecond, and their neighbours.
            let t = (v % 1_000_000_000_000) as i64 * 1000 + 500;
            values.extend([t - 1, t, t + 1]);
        }
        for n in values {
            let d = Duration(n);
            let mut s = String::new();
            push_millis3(&mut s, d);
            assert_eq!(s, format!("{:.3}", d.as_millis_f64()), "{n}");
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\n\u{1}");
        assert_eq!(s, r#""a\"b\\c\n\u0001""#);
        // Multi-byte characters next to escapes, and a string with nothing to escape.
        s.clear();
        json_str(&mut s, "é\"ü\t\u{7f}中");
        assert_eq!(s, "\"é\\\"ü\\t\u{7f}中\"");
        s.clear();
        json_str(&mut s, "");
        assert_eq!(s, "\"\"");
    }

    #[test]
    fn ip_addresses_and_numbers_match_display() {
        for a in [
            "0.0.0.0",
            "10.72.249.112",
            "255.255.255.255",
            "::1",
            "2001:db8::53",
        ] {
            let ip: core::net::IpAddr = a.parse().unwrap();
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
        // Every length and both parities of digit count, each pair, the ends of the range.
        let mut values = vec![0, 7, 9, 10, 65_535, u64::MAX, u64::MAX - 1];
        values.extend((0..20).map(|e| 10u64.pow(e)));
        values.extend((1..20).map(|e| 10u64.pow(e) - 1));
        values.extend(0..1000);
        values.extend((0..100).map(|p| 1_000_000 + p * 101));
        for v in values {
            let mut s = String::from("x");
            push_u64(&mut s, v);
            assert_eq!(s, format!("x{v}"));
        }
    }
}
