//! DNS rules: `forged_dns` (scored per transaction, the reference's D rules) and `dns_failure`.

use std::collections::{BTreeSet, HashMap};

use super::model::{Evidence, Finding, Kind, Severity};
use super::{ms, nets, norm_name, Ctx};
use crate::dns::{DnsResponse, DnsTransaction, DnsTxStatus, RData, Record};
use crate::goenv::Role;
use crate::time::Duration;
use core::net::IpAddr;

const QTYPE_A: u16 = 1;
const QTYPE_AAAA: u16 = 28;
/// Extended DNS Error codes that say the resolver filtered (RFC 8914): Forged Answer, Blocked,
/// Censored, Filtered, Prohibited.
const EDE_FILTER: &[u16] = &[4, 15, 16, 17, 18];
/// An unanswered query counts as a timeout only when the capture ran this long after it.
const TIMEOUT_GRACE: Duration = Duration::from_secs(2);

/// The address of an A or AAAA record.
pub(crate) fn record_ip(r: &Record) -> Option<IpAddr> {
    match r.data {
        RData::A(a) => Some(IpAddr::V4(a)),
        RData::Aaaa(a) => Some(IpAddr::V6(a)),
        _ => None,
    }
}

fn ips(r: &DnsResponse) -> BTreeSet<IpAddr> {
    r.answers.iter().filter_map(record_ip).collect()
}

/// Per-resolver baseline from responses that are not themselves under suspicion.
#[derive(Default, Debug)]
struct Baseline {
    ttls: BTreeSet<u8>,
    samples: u32,
    with_opt: u32,
    df: u32,
    ip_id_zero: u32,
    v4: u32,
    rtts: Vec<Duration>,
}

fn suspicious_content(r: &DnsResponse) -> bool {
    ips(r)
        .iter()
        .any(|ip| nets::forged_pool(*ip).is_some() || nets::bogon(*ip).is_some())
}

fn baselines(txs: &[DnsTransaction]) -> HashMap<IpAddr, Baseline> {
    let mut m: HashMap<IpAddr, Baseline> = HashMap::new();
    for tx in txs {
        if tx.responses.len() != 1 || tx.status != DnsTxStatus::Answered {
            continue;
        }
        let r = &tx.responses[0];
        if suspicious_content(r) {
            continue;
        }
        let b = m.entry(tx.server.ip()).or_default();
        b.ttls.insert(r.ip.ttl);
        b.samples += 1;
        b.with_opt += u32::from(r.edns.is_some());
        b.df += u32::from(r.ip.df);
        if tx.server.is_ipv4() {
            b.v4 += 1;
            b.ip_id_zero += u32::from(r.ip.ip_id == 0);
        }
        if let Some(q) = &tx.query {
            b.rtts.push(r.ts.since(q.ts));
        }
    }
    m
}

/// One response's signals.
#[derive(Default)]
struct Signals {
    score: i32,
    strong: bool,
    rules: Vec<&'static str>,
    facts: Vec<(String, String)>,
}

impl Signals {
    fn add(&mut self, rule: &'static str, points: i32, strong: bool, fact: String) {
        self.score += points;
        self.strong |= strong;
        if !self.rules.contains(&rule) {
            self.rules.push(rule);
        }
        self.facts.push((rule.to_string(), fact));
    }
}

fn describe(r: &DnsResponse, t0: Option<crate::time::Timestamp>) -> String {
    let rtt = t0.map_or(String::new(), |t| format!(" after {}", ms(r.ts.since(t))));
    let addrs: Vec<String> = r.answers.iter().map(|rr| rdata_short(&rr.data)).collect();
    format!(
        "frame {}{rtt}: rcode {} IP TTL {} IP-ID {} DF {} OPT {} AN={} NS={} AR={} answers [{}]",
        r.frame,
        r.rcode,
        r.ip.ttl,
        r.ip.ip_id,
        if r.ip.df { "set" } else { "clear" },
        if r.edns.is_some() { "yes" } else { "no" },
        r.answers.len(),
        r.authority.len(),
        r.additional.len() + usize::from(r.edns.is_some()),
        addrs.join(", ")
    )
}

fn rdata_short(d: &RData) -> String {
    match d {
        RData::A(a) => a.to_string(),
        RData::Aaaa(a) => a.to_string(),
        RData::Cname(c) => format!("CNAME {c}"),
        _ => "other".into(),
    }
}

/// Scores one response of `tx` against the resolver baseline.
fn response_signals(
    ctx: &Ctx<'_>,
    tx: &DnsTransaction,
    r: &DnsResponse,
    name: &str,
    base: Option<&Baseline>,
) -> Signals {
    let mut s = Signals::default();
    let qtype = tx.question.as_ref().map_or(0, |q| q.qtype);
    let server = tx.server.ip();
    let query_opt = tx.query.as_ref().is_some_and(|q| q.edns.is_some());
    for ip in ips(r) {
        if let Some(src) = nets::forged_pool(ip) {
            s.add(
                "D2",
                4,
                true,
                format!(
                    "answer {ip} is in the published forged-address pool ({src}, list of {})",
                    nets::FORGED_POOL_VERSION
                ),
            );
        }
        if let Some(range) = nets::bogon(ip) {
            if !nets::is_public_name(name) {
                continue;
            }
            if nets::is_local_resolver(server) && range.starts_with("198.18.") {
                ctx.note(format!(
                    "{name} answered {ip} by the local resolver {server}: a fake-ip proxy (Clash/mihomo) context, not forgery; DNS rules apply to its upstream leg"
                ));
                continue;
            }
            if nets::is_provider_internal(name) {
                continue;
            }
            if nets::bogon(server).is_some() && !nets::is_go_public_endpoint(name) {
                ctx.note(format!(
                    "{name} answered {ip} by the private resolver {server}: split-horizon DNS is normal inside a VPC or LAN; only public Go endpoints are checked there"
                ));
                continue;
            }
            if let Some(p) = nets::cloud_resolver(server) {
                if !nets::is_go_public_endpoint(name) {
                    ctx.note(format!(
                        "{name} answered {ip} by {p} {server}: provider-internal answers may be private"
                    ));
                    continue;
                }
            }
            let well_known = nets::is_go_public_endpoint(name);
            s.add(
                "D7",
                if well_known { 4 } else { 2 },
                well_known,
                format!("answer {ip} for the public name {name} is in {range}"),
            );
        }
    }
    if qtype != QTYPE_A
        && qtype != QTYPE_AAAA
        && r.answers.iter().any(|rr| matches!(rr.data, RData::A(_)))
    {
        s.add(
            "D3",
            4,
            true,
            format!("an A record answers a query of type {qtype}"),
        );
    }
    let bare = r.answers.len() == 1
        && r.authority.is_empty()
        && r.additional.is_empty()
        && r.edns.is_none();
    if query_opt && bare {
        s.add(
            "D3",
            2,
            false,
            "injector shape: AN=1 NS=0 AR=0 although the query carried EDNS (OPT)".into(),
        );
    } else if query_opt && r.edns.is_none() {
        if let Some(b) = base.filter(|b| b.samples >= 3 && b.with_opt == b.samples) {
            s.add(
                "D4",
                2,
                false,
                format!(
                    "no OPT echo, while {}/{} other answers of {server} echoed it",
                    b.with_opt, b.samples
                ),
            );
        }
    }
    if let Some(b) = base.filter(|b| b.samples >= 3) {
        if b.ttls.iter().all(|t| t.abs_diff(r.ip.ttl) > 2) {
            s.add(
                "D5",
                2,
                false,
                format!(
                    "IP TTL {} while {server}'s other answers came with {:?} (n={})",
                    r.ip.ttl, b.ttls, b.samples
                ),
            );
        }
        // DF and IP-ID zero-ness (IPv4): a stable resolver always sends the same; a different
        // sender (an injector) often does not. Part of D5, counted once.
        if tx.server.is_ipv4() && b.v4 == b.samples && !s.rules.contains(&"D5") {
            let df_always = b.df == b.samples;
            let df_never = b.df == 0;
            let id_zero_always = b.ip_id_zero == b.v4;
            let id_zero_never = b.ip_id_zero == 0;
            let mut odd = Vec::new();
            if (df_always && !r.ip.df) || (df_never && r.ip.df) {
                odd.push(format!(
                    "DF {} while {server}'s other {} answers had it {}",
                    if r.ip.df { "set" } else { "clear" },
                    b.samples,
                    if df_always { "set" } else { "clear" }
                ));
            }
            if (id_zero_always && r.ip.ip_id != 0) || (id_zero_never && r.ip.ip_id == 0) {
                odd.push(format!(
                    "IP-ID {} while {server}'s other {} answers had {} IDs",
                    r.ip.ip_id,
                    b.v4,
                    if id_zero_always { "zero" } else { "non-zero" }
                ));
            }
            if !odd.is_empty() {
                s.add("D5", 2, false, odd.join("; "));
            }
        }
        if let (Some(q), Some(min)) = (&tx.query, b.rtts.iter().min()) {
            let rtt = r.ts.since(q.ts);
            // On a LAN the fastest answer is tens of microseconds and the ratio is noise.
            if b.rtts.len() >= 3
                && *min >= Duration::from_millis(1)
                && rtt.as_nanos() * 2 < min.as_nanos()
            {
                s.add(
                    "D6",
                    2,
                    false,
                    format!(
                        "answered after {}, under half of {server}'s fastest other answer ({})",
                        ms(rtt),
                        ms(*min)
                    ),
                );
            }
        }
    }
    for (code, text) in r.extended_errors() {
        if EDE_FILTER.contains(&code) {
            s.add(
                "D14",
                4,
                true,
                format!("Extended DNS Error {code} ({text}) from {server}"),
            );
        }
    }
    s
}

/// `forged_dns` and `dns_failure`.
pub(crate) fn rules(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let base = baselines(&ctx.dns);
    for tx in &ctx.dns {
        if let Some(f) = forged(ctx, tx, base.get(&tx.server.ip())) {
            out.push(f);
        }
    }
    failures(ctx, out);
}

fn forged(ctx: &Ctx<'_>, tx: &DnsTransaction, base: Option<&Baseline>) -> Option<Finding> {
    let q = tx.question.as_ref()?;
    let name = norm_name(&q.name);
    if tx.responses.is_empty() {
        return None;
    }
    let t0 = tx.query.as_ref().map(|q| q.ts);
    let mut per: Vec<Signals> = tx
        .responses
        .iter()
        .map(|r| response_signals(ctx, tx, r, &name, base))
        .collect();
    // D5 inside the episode: two answers to one query from different IP TTLs.
    if tx.responses.len() >= 2 {
        for (i, r) in tx.responses.iter().enumerate() {
            let other_ttls: Vec<u8> = tx
                .responses
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, o)| o.ip.ttl)
                .collect();
            if !per[i].rules.contains(&"D5")
                && per[i].score > 0
                && other_ttls.iter().all(|t| t.abs_diff(r.ip.ttl) > 2)
            {
                per[i].add(
                    "D5",
                    2,
                    false,
                    format!(
                        "IP TTL {} while the other answer(s) to this query came with {:?}",
                        r.ip.ttl, other_ttls
                    ),
                );
            }
        }
    }
    let mut total = Signals::default();
    // D1: two answers with disjoint address sets.
    let sets: Vec<BTreeSet<IpAddr>> = tx.responses.iter().map(ips).collect();
    let mut disjoint = false;
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            if !sets[i].is_empty() && !sets[j].is_empty() && sets[i].is_disjoint(&sets[j]) {
                disjoint = true;
            }
        }
    }
    if disjoint {
        let retrans = tx.query.as_ref().map_or(0, |q| q.retransmits);
        total.add(
            "D1",
            if retrans > 0 { 2 } else { 4 },
            retrans == 0,
            format!(
                "{} answers to one query with disjoint address sets{}",
                tx.responses.len(),
                if retrans > 0 {
                    " (the query was retransmitted, so weaker)"
                } else {
                    ""
                }
            ),
        );
    }
    if tx.status == DnsTxStatus::Unsolicited {
        total.add(
            "D10",
            1,
            false,
            "a response no captured query asked for".into(),
        );
    }
    // The suspect response: the highest-scoring one; with D1 alone, the first.
    let (suspect, _) = per
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (s.score, core::cmp::Reverse(*i)))?;
    let s = std::mem::take(&mut per[suspect]);
    total.score += s.score;
    total.strong |= s.strong;
    for r in s.rules {
        if !total.rules.contains(&r) {
            total.rules.push(r);
        }
    }
    total.facts.extend(s.facts);
    if total.score <= 0 {
        return None;
    }
    // Outcome of the suspect answer: connections to its addresses.
    let suspect_ips = ips(&tx.responses[suspect]);
    let mut used_ok = false;
    let mut used_failed = 0;
    for c in &ctx.conns {
        if !suspect_ips.contains(&c.resp.addr) || c.start.ts < tx.responses[suspect].ts {
            continue;
        }
        let tls_ok = c.tls.as_ref().is_some_and(|(_, t)| {
            t.handshake_completed && t.sni.as_deref().map(norm_name).as_deref() == Some(&name)
        });
        if tls_ok {
            used_ok = true;
        } else if c.established.is_none() {
            used_failed += 1;
        }
    }
    if used_ok {
        total.add(
            "D13",
            -4,
            false,
            format!(
                "a TLS handshake for {name} completed with the answered address: the answer worked"
            ),
        );
    } else if used_failed > 0 {
        total.add(
            "COR-DNS-USE",
            1,
            false,
            format!(
                "{used_failed} connection(s) to the answered address never completed a handshake"
            ),
        );
    }
    if !total.strong {
        total.score = total.score.min(3);
        // One medium signal alone has common benign causes (EDNS-stripping forwarders, split
        // horizon): it is reported only with a second, independent signal.
        let positive = total
            .rules
            .iter()
            .filter(|r| !matches!(**r, "D13" | "COR-DNS-USE" | "D10"))
            .count();
        if positive < 2 {
            return None;
        }
    }
    let severity = match total.score {
        s if s >= 4 => Severity::Error,
        2 | 3 => Severity::Warning,
        _ => return None,
    };
    let role = ctx.classify_name(&name, None);
    let mut ev = Evidence::default();
    ev.name(&name);
    ev.addr(tx.server.ip().to_string());
    if let Some(q) = &tx.query {
        ev.packet(q.ts, q.frame);
        ev.fact(
            "query",
            format!(
                "frame {} {} type {} id {} from {} OPT {}",
                q.frame,
                name,
                tx.question.as_ref().map_or(0, |q| q.qtype),
                tx.id,
                tx.client,
                if q.edns.is_some() { "yes" } else { "no" }
            ),
        );
    }
    for (i, r) in tx.responses.iter().enumerate() {
        ev.packet(r.ts, r.frame);
        let tag = if i == suspect { " (suspect)" } else { "" };
        ev.fact(format!("answer {}{tag}", i + 1), describe(r, t0));
    }
    ev.fact(
        "client used",
        format!(
            "answer 1 (Go's resolver takes the first reply whose ID and question match){}",
            if suspect == 0 {
                ", the suspect one"
            } else {
                ""
            }
        ),
    );
    if let Some(b) = base {
        ev.fact(
            "baseline",
            format!(
                "{}: IP TTL {:?}, OPT echoed {}/{}, DF {}/{}, fastest answer {}",
                tx.server.ip(),
                b.ttls,
                b.with_opt,
                b.samples,
                b.df,
                b.samples,
                b.rtts.iter().min().map_or("-".into(), |d| ms(*d))
            ),
        );
    }
    for (rule, fact) in &total.facts {
        ev.fact(rule.clone(), fact.clone());
    }
    for r in &total.rules {
        ev.rule(r);
    }
    let shown: Vec<String> = suspect_ips.iter().map(|i| i.to_string()).collect();
    Some(Finding {
        kind: Kind::ForgedDns,
        severity,
        summary: format!(
            "DNS answer for {name} looks forged (score {}): {} from {}",
            total.score,
            if shown.is_empty() {
                "no address".to_string()
            } else {
                shown.join(", ")
            },
            tx.server.ip()
        ),
        destination: Some(name.clone()),
        role: Some(role.role),
        score: Some(total.score),
        evidence: ev,
        hint: format!(
            "The resolver path is tampered with for {name}. Use a resolver reached over an encrypted or trusted path (DoT/DoH, or the cloud provider's VPC resolver), or pin {name}'s genuine address in /etc/hosts (the genuine answer, when captured, is shown above)."
        ),
    })
}

fn failures(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    // Names asked, in first-seen order, with their A/AAAA transactions.
    let mut names: Vec<(String, Vec<&DnsTransaction>)> = Vec::new();
    for tx in &ctx.dns {
        let Some(q) = &tx.question else { continue };
        if q.qtype != QTYPE_A && q.qtype != QTYPE_AAAA {
            continue;
        }
        if tx.status == DnsTxStatus::Unsolicited {
            continue;
        }
        let n = norm_name(&q.name);
        match names.iter_mut().find(|(m, _)| *m == n) {
            Some((_, v)) => v.push(tx),
            None => names.push((n, vec![tx])),
        }
    }
    let asked: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();
    for (name, txs) in &names {
        // A search-list expansion of a name asked on its own (`goproxy.cn.lan`) is Go trying
        // its resolv.conf suffixes: not a name Go needed.
        if asked
            .iter()
            .any(|a| a != name && name.starts_with(a.as_str()) && name[a.len()..].starts_with('.'))
        {
            continue;
        }
        let usable = txs.iter().any(|t| {
            t.responses
                .iter()
                .any(|r| r.rcode == 0 && !ips(r).is_empty())
        });
        if usable {
            continue;
        }
        let cl = ctx.classify_name(name, None);
        if cl.role == Role::Other && !ctx.cfg.all {
            continue;
        }
        let mut ev = Evidence::default();
        ev.name(name);
        let mut what: Vec<&'static str> = Vec::new();
        for t in txs {
            ev.addr(t.server.ip().to_string());
            let qt = t.question.as_ref().map_or(0, |q| q.qtype);
            let qn = if qt == QTYPE_AAAA { "AAAA" } else { "A" };
            match t.responses.first() {
                None => {
                    let Some(q) = &t.query else { continue };
                    if ctx.end.since(q.ts) < TIMEOUT_GRACE && q.retransmits == 0 {
                        continue;
                    }
                    ev.packet(q.ts, q.frame);
                    ev.fact(
                        format!("{qn} query frame {}", q.frame),
                        format!(
                            "no answer from {} (copies sent: {})",
                            t.server,
                            q.retransmits + 1
                        ),
                    );
                    push_once(&mut what, "timeout");
                }
                Some(r) => {
                    let rc = match r.rcode {
                        2 => "SERVFAIL",
                        3 => "NXDOMAIN",
                        5 => "REFUSED",
                        0 => "NOERROR without addresses",
                        _ => "error",
                    };
                    ev.packet(r.ts, r.frame);
                    ev.fact(
                        format!("{qn} answer frame {}", r.frame),
                        format!("{rc} (rcode {}) from {}", r.rcode, t.server),
                    );
                    if r.rcode != 0 {
                        push_once(&mut what, rc);
                    }
                }
            }
        }
        if what.is_empty() {
            continue;
        }
        ev.rule("DNS-FAIL");
        out.push(Finding {
            kind: Kind::DnsFailure,
            severity: Severity::Error,
            summary: format!(
                "lookup of {name} ({}) failed: {}",
                cl.role.as_str(),
                what.join(", ")
            ),
            destination: Some(name.clone()),
            role: Some(cl.role),
            score: None,
            evidence: ev,
            hint: if what.contains(&"timeout") {
                format!("The resolver in /etc/resolv.conf did not answer for {name}: check that UDP/TCP 53 to it is allowed (security group, firewall) or use the cloud provider's resolver.")
            } else {
                format!("The resolver refused or could not resolve {name}: check the name in GOPROXY/GOSUMDB, the resolver's configuration, or use another resolver.")
            },
        });
    }
}

fn push_once(v: &mut Vec<&'static str>, s: &'static str) {
    if !v.contains(&s) {
        v.push(s);
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnose::{DiagnoseConfig, Diagnoser, Kind};
    use crate::dns::{
        DnsQuery, DnsResponse, DnsTransaction, DnsTxStatus, EdnsFacts, Flags, IpFacts, Opt,
        Question, RData, Record,
    };
    use crate::event::{Event, EventKind};
    use crate::flow::Dir;
    use crate::time::Timestamp;

    fn opt() -> Opt {
        Opt {
            udp_size: 1232,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
            z: 0,
            options: Vec::new(),
        }
    }

    fn resp(ms: i64, frame: u64, ip: IpFacts, a: [u8; 4], with_opt: bool) -> DnsResponse {
        DnsResponse {
            ts: Timestamp(ms * 1_000_000),
            frame,
            conn: 1,
            ip,
            flags: Flags::from_bits(0x8180),
            rcode: 0,
            question: None,
            edns: with_opt.then(opt),
            answers: vec![Record {
                name: "goproxy.cn".into(),
                rtype: 1,
                class: 1,
                ttl: 60,
                data: RData::A(a.into()),
            }],
            authority: Vec::new(),
            additional: Vec::new(),
            records_dropped: 0,
            anomalies: Vec::new(),
        }
    }

    fn tx(id: u16, t0: i64, responses: Vec<DnsResponse>) -> Event {
        Event {
            ts: Timestamp(t0 * 1_000_000),
            frame: 1,
            uid: None,
            dir: Dir::Orig,
            kind: EventKind::Dns(Box::new(DnsTransaction {
                conn: 1,
                client: "10.0.0.2:40000".parse().unwrap(),
                server: "9.9.9.9:53".parse().unwrap(),
                id,
                question: Some(Question {
                    name: "goproxy.cn".into(),
                    qtype: 1,
                    qclass: 1,
                }),
                query: Some(DnsQuery {
                    ts: Timestamp(t0 * 1_000_000),
                    frame: 1,
                    ip: IpFacts::default(),
                    flags: Flags::from_bits(0x0100),
                    edns: Some(EdnsFacts {
                        udp_size: 1232,
                        version: 0,
                        dnssec_ok: false,
                    }),
                    anomalies: Vec::new(),
                    retransmits: 0,
                }),
                status: DnsTxStatus::Answered,
                responses,
                responses_dropped: 0,
                evicted: false,
            })),
        }
    }

    const GENUINE: IpFacts = IpFacts {
        ttl: 57,
        ip_id: 4242,
        df: true,
    };

    fn diagnose(events: &[Event]) -> Vec<crate::diagnose::Finding> {
        let mut d = Diagnoser::new(crate::goenv::GoConfig::default(), DiagnoseConfig::default());
        for e in events {
            d.observe(e);
        }
        d.finish().findings
    }

    fn baseline() -> Vec<Event> {
        (0..4)
            .map(|k| {
                tx(
                    k,
                    k as i64 * 1000,
                    vec![resp(k as i64 * 1000 + 20, 2, GENUINE, [1, 2, 3, 4], true)],
                )
            })
            .collect()
    }

    #[test]
    fn clean_answers_give_no_finding() {
        assert!(diagnose(&baseline()).is_empty());
    }

    #[test]
    fn a_racing_answer_with_another_df_and_ip_id_is_forged() {
        let mut ev = baseline();
        // Same IP TTL as the resolver (an injector mirroring it), but DF clear and IP-ID 0.
        let forged = IpFacts {
            ttl: 57,
            ip_id: 0,
            df: false,
        };
        ev.push(tx(
            99,
            9000,
            vec![
                resp(9001, 5, forged, [31, 13, 0, 1], true),
                resp(9020, 6, GENUINE, [1, 2, 3, 4], true),
            ],
        ));
        let f = diagnose(&ev);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, Kind::ForgedDns);
        let rules = &f[0].evidence.rules;
        assert!(rules.contains(&"D1") && rules.contains(&"D5"), "{rules:?}");
        let d5 = f[0]
            .evidence
            .facts
            .iter()
            .find(|(k, _)| k == "D5")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        assert!(d5.contains("DF clear") && d5.contains("IP-ID 0"), "{d5}");
    }

    #[test]
    fn two_overlapping_answers_are_not_forged() {
        // A retransmitted query answered twice with rotated, overlapping sets: no D1.
        let mut ev = baseline();
        let mut second = resp(9030, 6, GENUINE, [1, 2, 3, 4], true);
        second.answers.push(Record {
            name: "goproxy.cn".into(),
            rtype: 1,
            class: 1,
            ttl: 60,
            data: RData::A([5, 6, 7, 8].into()),
        });
        ev.push(tx(
            98,
            9000,
            vec![resp(9020, 5, GENUINE, [1, 2, 3, 4], true), second],
        ));
        assert!(diagnose(&ev).is_empty());
    }
}
