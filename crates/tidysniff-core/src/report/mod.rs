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
use crate::time::write_secs;
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
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u64(out, u64::from(o));
            }
        }
        core::net::IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Two-digit decimal pairs "00" to "99", for [`push_u64`].
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends `v` in decimal (the record writers' hot path: no formatting machinery; two digits a
/// division, one `push_str`).
#[inline]
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut put2 = |i: &mut usize, d: u64| {
        let d = d as usize * 2;
        *i -= 2;
        if let (Some(to), Some(from)) = (buf.get_mut(*i..*i + 2), DIGIT_PAIRS.get(d..d + 2)) {
            to.copy_from_slice(from);
        }
    };
    while v >= 100 {
        put2(&mut i, v % 100);
        v /= 100;
    }
    if v >= 10 {
        put2(&mut i, v);
    } else {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'0' + v as u8;
        }
    }
    push_ascii(out, buf.get(i..).unwrap_or(b"0"));
}

/// Appends bytes known to be ASCII (digits, base-62 letters): a char each, which costs less
/// than validating them as UTF-8 for a `push_str` (a non-ASCII byte would be pushed as the
/// Latin-1 character of that value, never an invalid string).
#[inline]
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len());
    for &b in bytes {
        out.push(char::from(b));
    }
}

/// Appends `,"key":value`.
#[inline]
fn field_u64(out: &mut String, key: &str, v: u64) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    push_u64(out, v);
}

/// Appends one `conn` record as a JSON object and a newline.
pub fn conn_json(out: &mut String, r: &ConnRecord) {
    let o = &r.orig_stats;
    let p = &r.resp_stats;
    out.push_str("{\"type\":\"conn\",\"ts\":");
    let _ = write_secs(out, r.ts.as_nanos());
    out.push_str(",\"uid\":\"");
    r.uid.push_to(out);
    out.push_str("\",\"proto\":\"");
    out.push_str(r.proto.as_str());
    out.push_str("\",\"orig_h\":\"");
    push_ip(out, r.orig.addr);
    out.push('"');
    field_u64(out, "orig_p", u64::from(r.orig.port));
    out.push_str(",\"resp_h\":\"");
    push_ip(out, r.resp.addr);
    out.push('"');
    field_u64(out, "resp_p", u64::from(r.resp.port));
    out.push_str(",\"duration\":");
    let _ = write_secs(out, r.duration().as_nanos());
    field_u64(out, "orig_bytes", o.bytes);
    field_u64(out, "resp_bytes", p.bytes);
    out.push_str(",\"conn_state\":\"");
    out.push_str(r.conn_state);
    out.push_str("\",\"history\":");
    json_str(out, &r.history);
    field_u64(out, "orig_pkts", o.pkts);
    field_u64(out, "orig_ip_bytes", o.ip_bytes);
    field_u64(out, "resp_pkts", p.pkts);
    field_u64(out, "resp_ip_bytes", p.ip_bytes);
    field_u64(out, "missed_bytes", r.missed_bytes);
    if r.proto == Proto::Tcp {
        field_u64(out, "syn_count", u64::from(r.syn_count));
        field_u64(out, "synack_count", u64::from(r.synack_count));
    }
    if let Some(rtt) = r.rtt {
        let _ = write!(out, ",\"rtt_ms\":{:.3}", rtt.as_millis_f64());
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
        field_u64(out, "orig_retrans", u64::from(o.retransmissions));
        field_u64(out, "resp_retrans", u64::from(p.retransmissions));
        field_u64(out, "orig_ooo", u64::from(o.out_of_order));
        field_u64(out, "resp_ooo", u64::from(p.out_of_order));
    }
    let trunc = u64::from(o.truncated) + u64::from(p.truncated);
    if trunc > 0 {
        let _ = write!(out, ",\"truncated_pkts\":{trunc}");
    }
    if let Some(n) = &r.icmp {
        out.push_str(",\"icmp\":{\"ts\":");
        let _ = write_secs(out, n.ts.as_nanos());
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
    let _ = write_secs(out, r.ts.as_nanos());
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
