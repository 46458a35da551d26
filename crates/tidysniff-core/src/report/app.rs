//! `dns`, `tls` and `http` records as JSON Lines.
//!
//! Every record carries `type`, `ts` (seconds since the epoch), `uid` (joins with `conn`) and the
//! connection's endpoints. Field names follow Zeek's dns.log, ssl.log and http.log where the
//! meaning is the same; the README lists the rest.

use core::fmt::Write;
use core::net::SocketAddr;

use super::{json_str, num, push_ip, push_secs, push_u64};
use crate::dns::{self, DnsTransaction, RData, Record, SvcParam};
use crate::flow::{Endpoint, Uid};
use crate::http::HttpTransaction;
use crate::time::Timestamp;
use crate::tls::{self, TlsSummary};

fn head(out: &mut String, kind: &str, ts: Timestamp, uid: Uid) {
    out.push_str("{\"type\":\"");
    out.push_str(kind);
    out.push_str("\",\"ts\":");
    push_secs(out, ts.as_nanos());
    out.push_str(",\"uid\":\"");
    uid.push_to(out);
    out.push('"');
}

/// Appends `prefix` and `true` or `false`.
fn flag(out: &mut String, prefix: &str, v: bool) {
    out.push_str(prefix);
    out.push_str(if v { "true" } else { "false" });
}

fn endpoints(out: &mut String, orig: SocketAddr, resp: SocketAddr) {
    out.push_str(",\"orig_h\":\"");
    push_ip(out, orig.ip());
    out.push_str("\",\"orig_p\":");
    push_u64(out, u64::from(orig.port()));
    out.push_str(",\"resp_h\":\"");
    push_ip(out, resp.ip());
    out.push_str("\",\"resp_p\":");
    push_u64(out, u64::from(resp.port()));
}

fn key_str(out: &mut String, key: &str, v: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    json_str(out, v);
}

/// Appends `,"key":[...]` with `items` as JSON strings.
pub fn str_array<'a>(out: &mut String, key: &str, items: impl IntoIterator<Item = &'a str>) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":[");
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, s);
    }
    out.push(']');
}

/// Text of a record's data, as Zeek's `answers` shows it.
pub fn rdata_text(r: &RData) -> String {
    match r {
        RData::A(a) => a.to_string(),
        RData::Aaaa(a) => a.to_string(),
        RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) | RData::Dname(n) => n.clone(),
        RData::Mx {
            preference,
            exchange,
        } => format!("{preference} {exchange}"),
        RData::Txt(t) => t.join(" "),
        RData::Soa(s) => format!("{} {} {}", s.mname, s.rname, s.serial),
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => format!("{priority} {weight} {port} {target}"),
        RData::Svcb(s) | RData::Https(s) => {
            let mut t = format!(
                "{} {}",
                s.priority,
                if s.target.is_empty() { "." } else { &s.target }
            );
            for p in &s.params {
                match p {
                    SvcParam::Alpn(a) => {
                        let _ = write!(t, " alpn={}", a.join(","));
                    }
                    SvcParam::Ipv4Hint(v) => {
                        let v: Vec<String> = v.iter().map(|a| a.to_string()).collect();
                        let _ = write!(t, " ipv4hint={}", v.join(","));
                    }
                    SvcParam::Ipv6Hint(v) => {
                        let v: Vec<String> = v.iter().map(|a| a.to_string()).collect();
                        let _ = write!(t, " ipv6hint={}", v.join(","));
                    }
                    SvcParam::Port(p) => {
                        let _ = write!(t, " port={p}");
                    }
                    SvcParam::Ech(_) => t.push_str(" ech"),
                    _ => {}
                }
            }
            t
        }
        RData::Opt(_) => "OPT".to_string(),
        RData::Unknown { raw, .. } => format!("\\# {raw}"),
    }
}

/// Appends [`rdata_text`] of `r` as a JSON string, without the intermediate `String` for the
/// common types (addresses and names).
fn rdata_json(out: &mut String, r: &RData) {
    match r {
        RData::A(a) => {
            out.push('"');
            push_ip(out, core::net::IpAddr::V4(*a));
            out.push('"');
        }
        RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) | RData::Dname(n) => json_str(out, n),
        _ => json_str(out, &rdata_text(r)),
    }
}

fn records(out: &mut String, key: &str, rrs: &[Record]) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":[");
    for (i, r) in rrs.iter().filter(|r| r.rtype != 41).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json_str(out, &r.name);
        out.push_str(",\"type\":");
        json_str(out, &dns::qtype_name(r.rtype));
        num(out, ",\"class\":", r.class);
        num(out, ",\"ttl\":", r.ttl);
        out.push_str(",\"data\":");
        rdata_json(out, &r.data);
        out.push('}');
    }
    out.push(']');
}

/// Appends a `dns` record: the query and every response to it, in arrival order.
pub fn dns_json(out: &mut String, t: &DnsTransaction) {
    let (ts, frame) = match (&t.query, t.responses.first()) {
        (Some(q), _) => (q.ts, q.frame),
        (None, Some(r)) => (r.ts, r.frame),
        _ => (Timestamp::default(), 0),
    };
    head(out, "dns", ts, Uid(t.conn));
    endpoints(out, t.client, t.server);
    num(out, ",\"frame\":", frame);
    num(out, ",\"trans_id\":", t.id);
    out.push_str(",\"status\":\"");
    out.push_str(t.status.name());
    out.push('"');
    if let Some(q) = &t.question {
        key_str(out, "query", &q.name);
        num(out, ",\"qtype\":", q.qtype);
        out.push_str(",\"qtype_name\":");
        json_str(out, &dns::qtype_name(q.qtype));
        num(out, ",\"qclass\":", q.qclass);
    }
    if let Some(q) = &t.query {
        flag(out, ",\"RD\":", q.flags.rd);
        num(out, ",\"query_retransmits\":", q.retransmits);
        if let Some(e) = &q.edns {
            let _ = write!(
                out,
                ",\"query_edns\":{{\"udp_size\":{},\"version\":{},\"do\":{}}}",
                e.udp_size, e.version, e.dnssec_ok
            );
        }
    }
    // Zeek's summary fields come from the first response (the one a Go client uses).
    if let Some(r) = t.responses.first() {
        num(out, ",\"rcode\":", r.rcode);
        out.push_str(",\"rcode_name\":");
        json_str(out, &dns::rcode_name(r.rcode));
        if let Some(q) = &t.query {
            out.push_str(",\"rtt\":");
            push_secs(out, r.ts.since(q.ts).as_nanos());
        }
        flag(out, ",\"AA\":", r.flags.aa);
        flag(out, ",\"TC\":", r.flags.tc);
        flag(out, ",\"RA\":", r.flags.ra);
        out.push_str(",\"answers\":[");
        for (i, a) in r.answers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            rdata_json(out, &a.data);
        }
        out.push(']');
        out.push_str(",\"TTLs\":[");
        for (i, a) in r.answers.iter().enumerate() {
            num(out, if i > 0 { "," } else { "" }, a.ttl);
        }
        out.push(']');
    }
    out.push_str(",\"responses\":[");
    for (i, r) in t.responses.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"ts\":");
        push_secs(out, r.ts.as_nanos());
        num(out, ",\"frame\":", r.frame);
        num(out, ",\"ip_ttl\":", r.ip.ttl);
        num(out, ",\"ip_id\":", r.ip.ip_id);
        flag(out, ",\"df\":", r.ip.df);
        num(out, ",\"rcode\":", r.rcode);
        flag(out, ",\"AA\":", r.flags.aa);
        flag(out, ",\"TC\":", r.flags.tc);
        flag(out, ",\"RD\":", r.flags.rd);
        flag(out, ",\"RA\":", r.flags.ra);
        flag(out, ",\"AD\":", r.flags.ad);
        flag(out, ",\"CD\":", r.flags.cd);
        if let Some(e) = &r.edns {
            let _ = write!(
                out,
                ",\"edns\":{{\"udp_size\":{},\"version\":{},\"do\":{}",
                e.udp_size, e.version, e.dnssec_ok
            );
            let ede: Vec<String> = e
                .options
                .iter()
                .filter_map(|o| match o {
                    dns::EdnsOption::ExtendedError { info_code, text } => {
                        Some(format!("{info_code} {text}"))
                    }
                    _ => None,
                })
                .collect();
            if !ede.is_empty() {
                str_array(out, "ede", ede.iter().map(String::as_str));
            }
            out.push('}');
        }
        records(out, "answers", &r.answers);
        records(out, "authority", &r.authority);
        records(out, "additional", &r.additional);
        out.push('}');
    }
    out.push(']');
    out.push_str("}\n");
}

/// Appends a `tls` record for connection `uid` between `orig` and `resp`.
pub fn tls_json(
    out: &mut String,
    ts: Timestamp,
    uid: Uid,
    (orig, resp): (Endpoint, Endpoint),
    encrypted_dns: Option<&str>,
    s: &TlsSummary,
) {
    head(out, "tls", ts, uid);
    endpoints(
        out,
        SocketAddr::new(orig.addr, orig.port),
        SocketAddr::new(resp.addr, resp.port),
    );
    if let Some(v) = s.version {
        key_str(out, "version", tls::version_name(v));
    }
    if let Some(c) = s.cipher {
        key_str(out, "cipher", &tls::cipher_name(c));
    }
    if let Some(n) = &s.sni {
        key_str(out, "server_name", n);
    }
    if let Some(r) = s.sni_missing_reason {
        key_str(out, "server_name_missing", r);
    }
    flag(out, ",\"established\":", s.handshake_completed);
    if let Some(e) = encrypted_dns {
        key_str(out, "encrypted_dns", e);
    }
    if let Some(ch) = &s.client_hello {
        if ch.sni_is_ech_outer {
            out.push_str(",\"server_name_is_ech_outer\":true");
        }
        str_array(out, "client_alpn", ch.alpn.iter().map(String::as_str));
        str_array(
            out,
            "client_versions",
            ch.supported_versions()
                .iter()
                .map(|v| tls::version_name(*v)),
        );
        str_array(
            out,
            "key_share_groups",
            ch.key_share_groups().iter().map(|g| tls::group_name(*g)),
        );
        flag(out, ",\"x25519mlkem768\":", ch.has_x25519mlkem768);
        flag(out, ",\"ech_offered\":", ch.ech_offered);
        key_str(out, "ja4", &ch.ja4());
    }
    if let Some(sh) = &s.server_hello {
        if let Some(a) = &sh.alpn {
            key_str(out, "next_protocol", a);
        }
    }
    if s.hello_retry_request.is_some() {
        out.push_str(",\"hello_retry_request\":true");
    }
    if let Some(c) = &s.certificate {
        if let Some(cn) = &c.subject_cn {
            key_str(out, "subject_cn", cn);
        }
        str_array(out, "san_dns", c.san_dns.iter().map(String::as_str));
        if let Some(nb) = c.not_before {
            let _ = write!(out, ",\"not_valid_before\":{nb}");
        }
        if let Some(na) = c.not_after {
            let _ = write!(out, ",\"not_valid_after\":{na}");
        }
    }
    if !s.alerts.is_empty() {
        out.push_str(",\"alerts\":[");
        for (i, a) in s.alerts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"level\":{},\"description\":{},\"name\":",
                a.level, a.description
            );
            json_str(out, tls::alert_name(a.description));
            let _ = write!(out, ",\"dir\":\"{}\"}}", a.dir.as_str());
        }
        out.push(']');
    }
    if let Some(e) = s.ended {
        key_str(out, "ended", e);
    }
    out.push_str("}\n");
}

/// Appends an `http` record for connection `uid` between `orig` and `resp`.
pub fn http_json(
    out: &mut String,
    ts: Timestamp,
    uid: Uid,
    orig: Endpoint,
    resp: Endpoint,
    t: &HttpTransaction,
) {
    let ts = t.request.as_ref().map_or(ts, |r| r.ts);
    head(out, "http", ts, uid);
    endpoints(
        out,
        SocketAddr::new(orig.addr, orig.port),
        SocketAddr::new(resp.addr, resp.port),
    );
    let _ = write!(out, ",\"trans_depth\":{}", t.index + 1);
    if let Some(r) = &t.request {
        key_str(out, "method", &r.method);
        if let Some(h) = &r.host {
            key_str(out, "host", h);
        }
        key_str(out, "uri", &r.uri);
        if let Some(ua) = &r.user_agent {
            key_str(out, "user_agent", ua);
        }
        let _ = write!(
            out,
            ",\"version\":\"{}.{}\"",
            r.version.major, r.version.minor
        );
    }
    if let Some(r) = &t.response {
        let _ = write!(out, ",\"status_code\":{}", r.status_code);
        key_str(out, "status_msg", &r.reason);
        if let Some(l) = &r.location {
            key_str(out, "location", l);
        }
        if let Some(s) = &r.server {
            key_str(out, "server", s);
        }
    }
    if let Some(m) = &t.missing_response {
        key_str(out, "missing_response", m.name());
    }
    if let Some(c) = &t.connect_target {
        key_str(out, "connect_target", c);
        let _ = write!(out, ",\"tunnel_established\":{}", t.tunnel_established);
    }
    if let Some(g) = &t.goproxy {
        key_str(out, "goproxy_kind", g.kind.name());
        if let Some(m) = &g.module {
            key_str(out, "module", m);
        }
        if let Some(v) = &g.version {
            key_str(out, "module_version", v);
        }
        if let Some(s) = &g.sumdb {
            key_str(out, "sumdb", s);
        }
    }
    out.push_str("}\n");
}

fn ep_text(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => v.to_string(),
        SocketAddr::V6(v) => format!("[{}]:{}", v.ip(), v.port()),
    }
}

/// Appends a `dns` record as one line for people.
pub fn dns_text(out: &mut String, t: &DnsTransaction) {
    let ts = t
        .query
        .as_ref()
        .map(|q| q.ts)
        .or(t.responses.first().map(|r| r.ts))
        .unwrap_or_default();
    out.push_str("dns  ");
    push_secs(out, ts.as_nanos());
    let _ = write!(
        out,
        " {} {} -> {}",
        Uid(t.conn),
        ep_text(t.client),
        ep_text(t.server)
    );
    match &t.question {
        Some(q) => {
            let _ = write!(out, " {} {}", q.name, dns::qtype_name(q.qtype));
        }
        None => out.push_str(" -"),
    }
    let _ = write!(out, " {}", t.status.name());
    if let Some(r) = t.responses.first() {
        let answers: Vec<String> = r.answers.iter().map(|a| rdata_text(&a.data)).collect();
        let _ = write!(
            out,
            " {} [{}]",
            dns::rcode_name(r.rcode),
            answers.join(", ")
        );
    }
    if t.responses.len() > 1 {
        let _ = write!(out, " ({} responses)", t.responses.len());
    }
    out.push('\n');
}

/// Appends a `tls` record as one line for people.
pub fn tls_text(
    out: &mut String,
    ts: Timestamp,
    uid: Uid,
    (orig, resp): (Endpoint, Endpoint),
    s: &TlsSummary,
) {
    out.push_str("tls  ");
    push_secs(out, ts.as_nanos());
    let _ = write!(
        out,
        " {uid} {} -> {} sni={} {} {} established={}",
        ep_text(SocketAddr::new(orig.addr, orig.port)),
        ep_text(SocketAddr::new(resp.addr, resp.port)),
        s.sni
            .as_deref()
            .or(s.sni_missing_reason.map(|_| "-"))
            .unwrap_or("-"),
        s.version.map_or("-", tls::version_name),
        s.cipher.map_or_else(|| "-".into(), tls::cipher_name),
        s.handshake_completed
    );
    if let Some(e) = s.ended {
        let _ = write!(out, " ended={e}");
    }
    out.push('\n');
}

/// Appends an `http` record as one line for people.
pub fn http_text(
    out: &mut String,
    ts: Timestamp,
    uid: Uid,
    (orig, resp): (Endpoint, Endpoint),
    t: &HttpTransaction,
) {
    out.push_str("http ");
    let ts = t.request.as_ref().map_or(ts, |r| r.ts);
    push_secs(out, ts.as_nanos());
    let _ = write!(
        out,
        " {uid} {} -> {}",
        ep_text(SocketAddr::new(orig.addr, orig.port)),
        ep_text(SocketAddr::new(resp.addr, resp.port))
    );
    if let Some(r) = &t.request {
        // Origin-form targets are shown with their host; CONNECT and absolute-form stand alone.
        let host = if r.uri.starts_with('/') {
            r.host.as_deref().unwrap_or("")
        } else {
            ""
        };
        let _ = write!(out, " {} {host}{}", r.method, r.uri);
    }
    match &t.response {
        Some(r) => {
            let _ = write!(out, " -> {} {}", r.status_code, r.reason);
        }
        None => out.push_str(" -> (no response)"),
    }
    if let (Some(g), Some(m)) = (
        &t.goproxy,
        t.goproxy.as_ref().and_then(|g| g.module.as_ref()),
    ) {
        let _ = write!(
            out,
            " [go {} {}{}]",
            g.kind.name(),
            m,
            g.version
                .as_deref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default()
        );
    }
    out.push('\n');
}
