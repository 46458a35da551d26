//! Detectors: events in, findings out.
//!
//! A [`Diagnoser`] is fed every [`Event`] of an analysis (in any order; it keys what it keeps by
//! connection uid) and keeps only what the rules need: per TCP connection its SYN times, RSTs,
//! ICMP errors, TLS summary, HTTP transactions and final record; every DNS transaction. Both are
//! bounded ([`DiagnoseConfig`]). [`Diagnoser::finish`] then names each connection's destination
//! (SNI, Host, CONNECT target, else the DNS name its address was answered for, else the bare
//! address), gives it a [`Role`] under the Go configuration ([`crate::goenv`]) and runs the
//! rules, which return [`Finding`]s with their evidence.
//!
//! The rules and their thresholds are listed with their sources in docs/design.md ("Diagnosis");
//! the forged-DNS and injected-RST scores follow ../shared/reference/dns-forgery-and-rst-injection.md
//! (rule ids D1..D14, T1..T7 there).

mod dest;
mod dns;
pub mod model;
pub mod nets;
pub mod render;
mod tcp;

use std::collections::HashMap;

use crate::decode::IcmpMessage;
use crate::event::{ConnRecord, Event, EventKind, RstFacts};
use crate::flow::{Dir, Endpoint, Proto, Uid};
use crate::goenv::{GoConfig, Role};
use crate::http::HttpTransaction;
use crate::time::{Duration, Timestamp};
use crate::tls::TlsSummary;
use core::net::IpAddr;

pub use model::{Destination, Diagnosis, Evidence, Finding, FlowSpan, Kind, Severity};

/// Limits and options of a diagnosis.
#[derive(Clone, Debug)]
pub struct DiagnoseConfig {
    /// Also report destinations whose role is `other` (traffic unrelated to Go).
    pub all: bool,
    /// Most TCP connections kept; later ones are counted and left out (noted in the report).
    pub max_conns: usize,
    /// Most DNS transactions kept.
    pub max_dns: usize,
}

impl Default for DiagnoseConfig {
    fn default() -> Self {
        DiagnoseConfig {
            all: false,
            max_conns: 200_000,
            max_dns: 200_000,
        }
    }
}

const MAX_SYNS: usize = 16;
const MAX_RSTS: usize = 8;
const MAX_HTTP: usize = 32;

/// A packet's time and 1-based frame number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct At {
    pub ts: Timestamp,
    pub frame: u64,
}

/// One RST as seen.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rst {
    pub at: At,
    pub dir: Dir,
    pub facts: RstFacts,
}

/// What the rules need of one TCP connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub uid: Uid,
    pub orig: Endpoint,
    pub resp: Endpoint,
    pub start: At,
    pub syns: Vec<At>,
    pub synack: Option<At>,
    pub established: Option<(At, Option<Duration>)>,
    pub rsts: Vec<Rst>,
    pub after_rst: [Option<At>; 2],
    pub icmp: Option<(At, IpAddr, IcmpMessage)>,
    pub rec: Option<Box<ConnRecord>>,
    pub tls: Option<(At, Box<TlsSummary>)>,
    pub http: Vec<(At, Box<HttpTransaction>)>,
}

/// Collects events and turns them into a [`Diagnosis`].
pub struct Diagnoser {
    cfg: DiagnoseConfig,
    go: GoConfig,
    conns: HashMap<Uid, Conn>,
    order: Vec<Uid>,
    dns: Vec<crate::dns::DnsTransaction>,
    dropped_conns: u64,
    dropped_dns: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
}

impl Diagnoser {
    /// A diagnoser for a run under `go`.
    pub fn new(go: GoConfig, cfg: DiagnoseConfig) -> Self {
        Diagnoser {
            cfg,
            go,
            conns: HashMap::new(),
            order: Vec::new(),
            dns: Vec::new(),
            dropped_conns: 0,
            dropped_dns: 0,
            first_ts: None,
            last_ts: None,
        }
    }

    /// The Go configuration the roles come from.
    pub fn go(&self) -> &GoConfig {
        &self.go
    }

    /// Takes one event.
    pub fn observe(&mut self, ev: &Event) {
        if ev.ts != Timestamp::MIN {
            self.first_ts = Some(self.first_ts.map_or(ev.ts, |t| t.min(ev.ts)));
            self.last_ts = Some(self.last_ts.map_or(ev.ts, |t| t.max(ev.ts)));
        }
        let at = At {
            ts: ev.ts,
            frame: ev.frame,
        };
        if let EventKind::Dns(tx) = &ev.kind {
            if self.dns.len() < self.cfg.max_dns {
                self.dns.push((**tx).clone());
            } else {
                self.dropped_dns += 1;
            }
            return;
        }
        let Some(uid) = ev.uid else { return };
        if let EventKind::FlowStart {
            orig,
            resp,
            proto: Proto::Tcp,
        } = &ev.kind
        {
            if self.conns.len() >= self.cfg.max_conns {
                self.dropped_conns += 1;
                return;
            }
            self.order.push(uid);
            self.conns.insert(
                uid,
                Conn {
                    uid,
                    orig: *orig,
                    resp: *resp,
                    start: at,
                    syns: Vec::new(),
                    synack: None,
                    established: None,
                    rsts: Vec::new(),
                    after_rst: [None, None],
                    icmp: None,
                    rec: None,
                    tls: None,
                    http: Vec::new(),
                },
            );
            return;
        }
        let Some(c) = self.conns.get_mut(&uid) else {
            return;
        };
        match &ev.kind {
            EventKind::TcpSyn { .. } if ev.dir == Dir::Orig && c.syns.len() < MAX_SYNS => {
                c.syns.push(at)
            }
            EventKind::TcpSynAck { .. } if c.synack.is_none() => c.synack = Some(at),
            EventKind::TcpEstablished { rtt } => c.established = Some((at, *rtt)),
            EventKind::TcpRst(facts) if c.rsts.len() < MAX_RSTS => c.rsts.push(Rst {
                at,
                dir: ev.dir,
                facts: *facts,
            }),
            EventKind::TcpAfterRst if c.after_rst[ev.dir.index()].is_none() => {
                c.after_rst[ev.dir.index()] = Some(at)
            }
            EventKind::IcmpError { from, msg } if c.icmp.is_none() => {
                c.icmp = Some((at, *from, *msg))
            }
            EventKind::ConnEnd(rec) => c.rec = Some(rec.clone()),
            EventKind::Tls { summary, .. } if c.tls.is_none() => {
                c.tls = Some((at, summary.clone()))
            }
            EventKind::Http { tx, .. } if c.http.len() < MAX_HTTP => c.http.push((at, tx.clone())),
            _ => {}
        }
    }

    /// Runs the rules over everything observed.
    pub fn finish(self) -> Diagnosis {
        let conns: Vec<Conn> = {
            let mut map = self.conns;
            self.order.iter().filter_map(|u| map.remove(u)).collect()
        };
        let ctx = Ctx::new(
            &self.go,
            &self.cfg,
            conns,
            self.dns,
            self.last_ts.unwrap_or(Timestamp(0)),
        );
        let mut findings = Vec::new();
        dns::rules(&ctx, &mut findings);
        tcp::rules(&ctx, &mut findings);
        dest::rules(&ctx, &mut findings);
        findings.retain(|f| self.cfg.all || f.role != Some(Role::Other));
        let mut findings = merge_per_connection(findings);
        for f in &mut findings {
            f.evidence.normalize();
        }
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(kind_rank(a.kind).cmp(&kind_rank(b.kind)))
                .then(a.evidence.first_ts.cmp(&b.evidence.first_ts))
        });
        let destinations = dest::table(&ctx);
        let mut notes = ctx.notes.borrow().clone();
        if self.dropped_conns > 0 {
            notes.push(format!(
                "{} TCP connections beyond the limit of {} were not diagnosed",
                self.dropped_conns, self.cfg.max_conns
            ));
        }
        if self.dropped_dns > 0 {
            notes.push(format!(
                "{} DNS transactions beyond the limit of {} were not diagnosed",
                self.dropped_dns, self.cfg.max_dns
            ));
        }
        let verdict = verdict(&findings, &destinations);
        let mut flows = Vec::new();
        for f in &findings {
            for u in &f.evidence.uids {
                if flows.iter().any(|s: &FlowSpan| s.uid == *u) {
                    continue;
                }
                if let Some(c) = ctx.conns.iter().find(|c| c.uid == *u) {
                    flows.push(FlowSpan {
                        uid: c.uid,
                        orig: c.orig,
                        resp: c.resp,
                        first_ts: c.start.ts,
                        last_ts: c.rec.as_ref().map_or(ctx.end, |r| r.last_ts),
                    });
                }
            }
        }
        Diagnosis {
            verdict,
            destinations,
            findings,
            notes,
            flows,
        }
    }
}

/// Per-connection TLS findings about one destination address become one finding.
fn merge_per_connection(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut merged: Vec<usize> = Vec::new();
    for f in findings {
        let per_conn = matches!(
            f.kind,
            Kind::TlsReset | Kind::RstInjected | Kind::TlsAborted
        );
        let same = per_conn
            .then(|| {
                out.iter().position(|o| {
                    o.kind == f.kind
                        && o.destination == f.destination
                        && o.evidence.addrs.first() == f.evidence.addrs.first()
                })
            })
            .flatten();
        match same {
            Some(i) => {
                let o = &mut out[i];
                o.score = o.score.max(f.score);
                o.severity = o.severity.max(f.severity);
                for u in f.evidence.uids {
                    o.evidence.uid(u);
                }
                o.evidence.frames.extend(f.evidence.frames);
                if let Some(t) = f.evidence.first_ts {
                    o.evidence.packet(t, 0);
                }
                if let Some(t) = f.evidence.last_ts {
                    o.evidence.packet(t, 0);
                }
                for r in f.evidence.rules {
                    o.evidence.rule(r);
                }
                o.evidence.facts.extend(f.evidence.facts);
                merged.push(i);
            }
            None => out.push(f),
        }
    }
    for (i, f) in out.iter_mut().enumerate() {
        let n = merged.iter().filter(|m| **m == i).count();
        if n > 0 {
            f.summary
                .push_str(&format!(" (and {n} more connection(s) alike)"));
        }
    }
    out
}

fn kind_rank(k: Kind) -> usize {
    Kind::ALL.iter().position(|x| *x == k).unwrap_or(usize::MAX)
}

fn verdict(findings: &[Finding], dests: &[Destination]) -> Vec<String> {
    let mut v = Vec::new();
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    if errors.is_empty() && warnings == 0 {
        let proxies: Vec<&str> = dests
            .iter()
            .filter(|d| d.role == Role::Proxy)
            .map(|d| d.name.as_str())
            .collect();
        if proxies.is_empty() {
            v.push("No problem found; no module proxy traffic was seen in the capture.".into());
        } else {
            v.push(format!(
                "No problem found: {} reached without errors.",
                proxies.join(", ")
            ));
        }
        return v;
    }
    for f in errors.iter().take(3) {
        v.push(format!("{}: {}", f.kind.as_str(), f.summary));
    }
    if errors.len() > 3 {
        v.push(format!("... and {} more errors", errors.len() - 3));
    }
    if warnings > 0 {
        v.push(format!("{warnings} warning(s); see the findings below."));
    }
    v
}

/// An A/AAAA answer: which name it was for and which transaction gave it.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub name: String,
    pub at: At,
}

/// Shared state of the rules.
pub(crate) struct Ctx<'a> {
    pub go: &'a GoConfig,
    pub cfg: &'a DiagnoseConfig,
    pub conns: Vec<Conn>,
    pub dns: Vec<crate::dns::DnsTransaction>,
    /// Address to the answers that named it, in time order.
    pub answers: HashMap<IpAddr, Vec<Answer>>,
    /// Per connection (same index as `conns`): its destination name and role.
    pub dest: Vec<(String, crate::goenv::Classification)>,
    pub end: Timestamp,
    pub module_hosts: Vec<String>,
    pub notes: std::cell::RefCell<Vec<String>>,
}

impl<'a> Ctx<'a> {
    fn new(
        go: &'a GoConfig,
        cfg: &'a DiagnoseConfig,
        conns: Vec<Conn>,
        dns: Vec<crate::dns::DnsTransaction>,
        end: Timestamp,
    ) -> Self {
        let mut answers: HashMap<IpAddr, Vec<Answer>> = HashMap::new();
        for tx in dns.iter() {
            let Some(q) = &tx.question else { continue };
            let name = norm_name(&q.name);
            for r in &tx.responses {
                for rr in &r.answers {
                    if let Some(ip) = dns::record_ip(rr) {
                        answers.entry(ip).or_default().push(Answer {
                            name: name.clone(),
                            at: At {
                                ts: r.ts,
                                frame: r.frame,
                            },
                        });
                    }
                }
            }
        }
        for v in answers.values_mut() {
            v.sort_by_key(|a| a.at.ts);
        }
        let mut module_hosts: Vec<String> = Vec::new();
        for c in &conns {
            for (_, tx) in &c.http {
                if let Some(m) = tx.goproxy.as_ref().and_then(|g| g.module.as_deref()) {
                    let host = m.split('/').next().unwrap_or("").to_ascii_lowercase();
                    if !host.is_empty() && !module_hosts.contains(&host) {
                        module_hosts.push(host);
                    }
                }
            }
        }
        let mut ctx = Ctx {
            go,
            cfg,
            conns,
            dns,
            answers,
            dest: Vec::new(),
            end,
            module_hosts,
            notes: Default::default(),
        };
        ctx.dest = ctx.conns.iter().map(|c| ctx.name_conn(c)).collect();
        ctx
    }

    /// The DNS name `ip` was answered for most recently before `ts` (else the first after).
    pub fn name_of(&self, ip: IpAddr, ts: Timestamp) -> Option<&Answer> {
        let v = self.answers.get(&ip)?;
        v.iter().rev().find(|a| a.at.ts <= ts).or_else(|| v.first())
    }

    fn module_hosts(&self) -> Vec<&str> {
        self.module_hosts.iter().map(String::as_str).collect()
    }

    /// Classifies a host name (with an optional port).
    pub fn classify_name(&self, name: &str, port: Option<u16>) -> crate::goenv::Classification {
        self.go.classify_host(name, port, &self.module_hosts())
    }

    fn name_conn(&self, c: &Conn) -> (String, crate::goenv::Classification) {
        // Through a forward proxy the destination's port is the CONNECT target's.
        let target_port = c
            .http
            .iter()
            .find_map(|(_, t)| t.connect_target.as_deref())
            .and_then(|t| t.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok());
        let port = Some(target_port.unwrap_or(c.resp.port));
        let by_ip = self.go.classify_ip(c.resp.addr, port);
        if by_ip.role == Role::Metadata {
            return (c.resp.addr.to_string(), by_ip);
        }
        let name = self.conn_name(c);
        match name {
            Some(n) => {
                let cl = self.classify_name(&n, port);
                (n, cl)
            }
            None => (c.resp.addr.to_string(), by_ip),
        }
    }

    /// The name a connection went to: SNI, else CONNECT target or Host, else its DNS name.
    pub fn conn_name(&self, c: &Conn) -> Option<String> {
        if let Some(sni) = c.tls.as_ref().and_then(|(_, t)| t.sni.as_deref()) {
            return Some(norm_name(sni));
        }
        for (_, tx) in &c.http {
            if let Some(t) = &tx.connect_target {
                return Some(strip_port(t));
            }
            if let Some(h) = tx.request.as_ref().and_then(|r| r.host.as_deref()) {
                if !self.is_forward_proxy(c) {
                    return Some(strip_port(h));
                }
            }
        }
        self.name_of(c.resp.addr, c.start.ts)
            .map(|a| a.name.clone())
    }

    fn is_forward_proxy(&self, c: &Conn) -> bool {
        c.http.iter().any(|(_, t)| t.connect_target.is_some())
    }

    /// Records a note for the report (once).
    pub fn note(&self, s: String) {
        let mut n = self.notes.borrow_mut();
        if !n.contains(&s) {
            n.push(s);
        }
    }

    /// True when the role is worth reporting under the options.
    pub fn reported(&self, role: Role) -> bool {
        self.cfg.all || role != Role::Other
    }
}

/// Lower case, no trailing dot.
pub(crate) fn norm_name(n: &str) -> String {
    n.trim_end_matches('.').to_ascii_lowercase()
}

/// `host:port` or `[v6]:port` to the host, lower-cased.
pub(crate) fn strip_port(h: &str) -> String {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_ascii_lowercase();
    }
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            norm_name(host)
        }
        _ => norm_name(h),
    }
}

/// Seconds with millisecond precision, for facts.
pub(crate) fn secs(ts: Timestamp) -> String {
    let mut s = String::new();
    let _ = crate::time::write_secs(&mut s, ts.as_nanos());
    s
}

/// Milliseconds with two decimals.
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_millis_f64())
}

/// `ip:port`, IPv6 in brackets.
pub(crate) fn ep(e: Endpoint) -> String {
    match e.addr {
        IpAddr::V4(a) => format!("{a}:{}", e.port),
        IpAddr::V6(a) => format!("[{a}]:{}", e.port),
    }
}
