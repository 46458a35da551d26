//! TCP and TLS rules: `syn_timeout`, `conn_refused`, `icmp_unreachable`, `ipv6_blackhole`,
//! `tls_reset`, `rst_injected`, `tls_aborted`.

use std::collections::BTreeMap;

use super::model::{Evidence, Finding, Kind, Severity};
use super::{ep, ms, secs, Conn, Ctx};
use crate::flow::{Dir, Endpoint};
use crate::goenv::Role;
use crate::time::{Duration, Timestamp};
use crate::tls::Direction;

/// A single unanswered SYN counts only when the capture ran this long after it (Linux
/// retransmits a SYN after 1 s, so 3 s shows at least one retransmission missing an answer).
const SYN_GRACE: Duration = Duration::from_secs(3);
/// A handshake that stops after the ClientHello counts only when the capture ran this long after.
const TLS_GRACE: Duration = Duration::from_secs(3);

fn state(c: &Conn) -> &str {
    c.rec.as_ref().map_or("", |r| r.conn_state)
}

fn succeeded(c: &Conn) -> bool {
    c.established.is_some() || c.synack.is_some()
}

fn is_v6(e: Endpoint) -> bool {
    e.addr.is_ipv6()
}

pub(crate) fn rules(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    unanswered(ctx, out);
    for (i, c) in ctx.conns.iter().enumerate() {
        tls(ctx, i, c, out);
    }
}

/// Groups failed attempts by destination endpoint and names the failure.
fn unanswered(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    // (dest name, resp endpoint) -> conn indexes
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut lost = 0usize;
    for (i, c) in ctx.conns.iter().enumerate() {
        if succeeded(c) || c.syns.is_empty() {
            continue;
        }
        // The client acknowledged or sent data after its SYN: a SYN-ACK reached it and the
        // capture missed it (capture loss, not a drop on the path).
        if c.rec
            .as_ref()
            .is_some_and(|r| r.history.contains('A') || r.history.contains('D'))
        {
            lost += 1;
            continue;
        }
        groups
            .entry((ctx.dest[i].0.clone(), ep(c.resp)))
            .or_default()
            .push(i);
    }
    // Packets from the far side anywhere in the capture (a TCP answer or a DNS response): if
    // none, the capture may hold only one direction and silence proves nothing.
    if lost > 0 {
        ctx.note(format!(
            "{lost} connection(s) with no SYN-ACK in the capture were acknowledged by the client: the capture missed packets there (not counted as unanswered)"
        ));
    }
    let any_answer_anywhere = ctx.conns.iter().any(|c| {
        succeeded(c) || !c.rsts.is_empty() || c.rec.as_ref().is_some_and(|r| r.resp_stats.pkts > 0)
    }) || ctx.dns.iter().any(|t| !t.responses.is_empty());
    for ((name, resp), idx) in groups {
        let first = &ctx.conns[idx[0]];
        let cl = &ctx.dest[idx[0]].1;
        if !ctx.reported(cl.role) {
            continue;
        }
        // Attempts to the same endpoint that worked.
        let ok_same = ctx
            .conns
            .iter()
            .filter(|c| c.resp == first.resp && succeeded(c))
            .count();
        let refused: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|i| {
                let c = &ctx.conns[*i];
                state(c) == "REJ" || c.rsts.iter().any(|r| r.dir == Dir::Resp)
            })
            .collect();
        let icmp: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|i| ctx.conns[*i].icmp.is_some())
            .collect();
        let silent: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|i| {
                let c = &ctx.conns[*i];
                !refused.contains(i)
                    && c.icmp.is_none()
                    && (c.syns.len() >= 2
                        || c.syns
                            .first()
                            .is_some_and(|s| ctx.end.since(s.ts) >= SYN_GRACE))
            })
            .collect();
        if !refused.is_empty() {
            out.push(refused_finding(ctx, &name, cl, &refused, ok_same));
        }
        if !icmp.is_empty() {
            out.push(icmp_finding(ctx, &name, cl, &icmp, ok_same));
        }
        // IPv6 attempts to a name that then worked over IPv4: Go's dialer races the families
        // and falls back after 300 ms (net.Dialer FallbackDelay), abandoning the IPv6 SYN, so one
        // unanswered SYN followed by a working IPv4 connection is the evidence.
        if is_v6(first.resp) {
            let quiet: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|i| !refused.contains(i) && ctx.conns[*i].icmp.is_none())
                .collect();
            let first_syn = quiet
                .iter()
                .filter_map(|i| ctx.conns[*i].syns.first())
                .map(|s| s.ts)
                .min();
            let v4_ok = ctx.conns.iter().zip(&ctx.dest).find(|(c, (n, _))| {
                *n == name
                    && !is_v6(c.resp)
                    && succeeded(c)
                    && first_syn.is_some_and(|t| c.start.ts >= t)
            });
            if let (false, Some((v4, _))) = (quiet.is_empty(), v4_ok) {
                out.push(v6_finding(ctx, &name, cl, &quiet, v4));
                continue;
            }
        }
        if silent.is_empty() {
            continue;
        }
        out.push(syn_finding(
            ctx,
            &name,
            &resp,
            cl,
            &silent,
            ok_same,
            any_answer_anywhere,
        ));
    }
}

fn base_evidence(ctx: &Ctx<'_>, name: &str, idx: &[usize]) -> Evidence {
    let mut ev = Evidence::default();
    if name.parse::<core::net::IpAddr>().is_err() {
        ev.name(name);
    }
    for &i in idx {
        let c = &ctx.conns[i];
        ev.uid(c.uid);
        ev.addr(ep(c.resp));
        for s in &c.syns {
            ev.packet(s.ts, s.frame);
        }
    }
    ev
}

/// "from the DNS answer in frame N" for the address of conn `i`.
fn resolved_from(ctx: &Ctx<'_>, i: usize, ev: &mut Evidence) {
    let c = &ctx.conns[i];
    if let Some(a) = ctx.name_of(c.resp.addr, c.start.ts) {
        ev.fact(
            "address from",
            format!("DNS answer for {} in frame {}", a.name, a.at.frame),
        );
        ev.frames.push(a.at.frame);
    }
}

fn intervals(syns: &[super::At]) -> Vec<f64> {
    syns.windows(2)
        .map(|w| w[1].ts.since(w[0].ts).as_nanos() as f64 / 1e9)
        .collect()
}

/// True when the gaps double from about 1 s as Linux's SYN backoff does (RFC 6298 initial RTO 1 s).
fn linux_backoff(gaps: &[f64]) -> bool {
    !gaps.is_empty()
        && gaps.iter().enumerate().all(|(k, g)| {
            let want = (1u64 << k.min(10)) as f64;
            (g - want).abs() <= 0.25 * want + 0.05
        })
}

fn syn_finding(
    ctx: &Ctx<'_>,
    name: &str,
    resp: &str,
    cl: &crate::goenv::Classification,
    idx: &[usize],
    ok_same: usize,
    any_answer: bool,
) -> Finding {
    let mut ev = base_evidence(ctx, name, idx);
    ev.rule("TCP-SYN-UNANSWERED");
    let syns: usize = idx.iter().map(|i| ctx.conns[*i].syns.len()).sum();
    let c0 = &ctx.conns[idx[0]];
    ev.fact(
        "attempts",
        format!(
            "{} connection(s), {syns} SYN(s) to {resp}, none answered",
            idx.len()
        ),
    );
    let gaps = intervals(&c0.syns);
    if !gaps.is_empty() {
        let shown: Vec<String> = gaps.iter().map(|g| format!("{g:.2} s")).collect();
        ev.fact(
            "SYN intervals",
            format!(
                "{}{}",
                shown.join(", "),
                if linux_backoff(&gaps) {
                    " (Linux backoff 1 s, 2 s, 4 s...: the SYNs left this host, nothing came back)"
                } else {
                    ""
                }
            ),
        );
    }
    if let (Some(f), Some(l)) = (c0.syns.first(), c0.syns.last()) {
        ev.fact("first SYN", secs(f.ts));
        ev.fact("last SYN", secs(l.ts));
    }
    resolved_from(ctx, idx[0], &mut ev);
    ev.fact("role", format!("{} ({})", cl.role.as_str(), cl.reason));
    let mut severity = if ok_same == 0 {
        Severity::Error
    } else {
        ev.fact(
            "other attempts",
            format!("{ok_same} connection(s) to {resp} were answered: intermittent"),
        );
        Severity::Warning
    };
    if !any_answer {
        ev.fact(
            "caution",
            "no connection in the whole capture got an answer: the capture may hold only one direction",
        );
        severity = Severity::Warning;
    }
    let port = c0.resp.port;
    // An address that itself looks forged: the SYNs are lost because of the answer.
    let suspect_addr = super::nets::forged_pool(c0.resp.addr).is_some()
        || (super::nets::bogon(c0.resp.addr).is_some()
            && super::nets::is_public_name(name)
            && ctx.name_of(c0.resp.addr, c0.start.ts).is_some());
    if suspect_addr {
        ev.fact(
            "address",
            format!(
                "{} came from a suspect DNS answer for {name} (see forged_dns)",
                c0.resp.addr
            ),
        );
        return Finding {
            kind: Kind::SynTimeout,
            severity,
            summary: format!("{syns} SYN(s) to {name} ({resp}) got no answer: the address came from a suspect DNS answer"),
            destination: Some(name.to_string()),
            role: Some(cl.role),
            score: None,
            evidence: ev,
            hint: format!("Fix name resolution first (see the forged_dns finding): {resp} is not where {name} lives, so no firewall change helps."),
        };
    }
    Finding {
        kind: Kind::SynTimeout,
        severity,
        summary: format!(
            "{syns} SYN(s) to {name} ({resp}) got no answer",
        ),
        destination: Some(name.to_string()),
        role: Some(cl.role),
        score: None,
        evidence: ev,
        hint: match cl.role {
            Role::Proxy => format!("Outbound TCP {port} to {resp} ({name}) is silently dropped: allow it in the security group / firewall egress rules (or the cloud's network ACL), or set GOPROXY to a proxy this network can reach (e.g. a mirror inside your VPC)."),
            Role::Unexpected | Role::DirectAllowed => format!("Go fetched {name} directly and TCP {port} is dropped: route the module through the proxy (remove it from GOPRIVATE/GONOPROXY or drop ',direct' from GOPROXY), or allow egress to {resp}."),
            Role::Sumdb => format!("The checksum database {name} is unreachable: use a proxy that serves it (GOSUMDB=sum.golang.google.cn with GOPROXY=https://goproxy.cn) or allow egress to {resp}; GONOSUMDB/GOSUMDB=off only for private modules."),
            _ => format!("TCP {port} to {resp} is silently dropped: check the security group / firewall egress rules."),
        },
    }
}

fn refused_finding(
    ctx: &Ctx<'_>,
    name: &str,
    cl: &crate::goenv::Classification,
    idx: &[usize],
    ok_same: usize,
) -> Finding {
    let mut ev = base_evidence(ctx, name, idx);
    ev.rule("TCP-REJ");
    for &i in idx {
        let c = &ctx.conns[i];
        for r in c.rsts.iter().filter(|r| r.dir == Dir::Resp) {
            ev.packet(r.at.ts, r.at.frame);
            ev.fact(
                format!("RST frame {}", r.at.frame),
                format!(
                    "{} after the SYN, IP TTL {} (the SYN-ACK-less answer of a closed port or a REJECT rule)",
                    c.syns.first().map_or("-".into(), |s| ms(r.at.ts.since(s.ts))),
                    r.facts.ttl
                ),
            );
        }
    }
    resolved_from(ctx, idx[0], &mut ev);
    let c0 = &ctx.conns[idx[0]];
    Finding {
        kind: Kind::ConnRefused,
        severity: if ok_same == 0 {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: format!("connection to {name} ({}) refused with RST", ep(c0.resp)),
        destination: Some(name.to_string()),
        role: Some(cl.role),
        score: None,
        evidence: ev,
        hint: format!(
            "Nothing accepts TCP {} at {} or a firewall rejects it: check the address and port in GOPROXY/HTTPS_PROXY and the egress rules.",
            c0.resp.port, c0.resp.addr
        ),
    }
}

fn icmp_finding(
    ctx: &Ctx<'_>,
    name: &str,
    cl: &crate::goenv::Classification,
    idx: &[usize],
    ok_same: usize,
) -> Finding {
    let mut ev = base_evidence(ctx, name, idx);
    ev.rule("ICMP-UNREACH");
    let mut admin = false;
    let mut what = "";
    for &i in idx {
        if let Some((at, from, msg)) = &ctx.conns[i].icmp {
            ev.packet(at.ts, at.frame);
            admin |= msg.is_admin_prohibited();
            what = msg.describe();
            ev.fact(
                format!("ICMP frame {}", at.frame),
                format!(
                    "{} (type {} code {}) from {from}",
                    msg.describe(),
                    msg.icmp_type,
                    msg.code
                ),
            );
        }
    }
    let c0 = &ctx.conns[idx[0]];
    Finding {
        kind: Kind::IcmpUnreachable,
        severity: if ok_same == 0 {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: format!(
            "connection to {name} ({}) answered by ICMP {what}",
            ep(c0.resp)
        ),
        destination: Some(name.to_string()),
        role: Some(cl.role),
        score: None,
        evidence: ev,
        hint: if admin {
            format!("A firewall refuses TCP {} to {} (administratively prohibited): allow it in the egress rules or use a reachable GOPROXY.", c0.resp.port, c0.resp.addr)
        } else {
            format!("{} is unreachable from here (no route): check routing, or use a reachable GOPROXY.", c0.resp.addr)
        },
    }
}

fn v6_finding(
    ctx: &Ctx<'_>,
    name: &str,
    cl: &crate::goenv::Classification,
    idx: &[usize],
    v4: &Conn,
) -> Finding {
    let mut ev = base_evidence(ctx, name, idx);
    ev.rule("TCP-V6-BLACKHOLE");
    ev.uid(v4.uid);
    ev.addr(ep(v4.resp));
    if let Some((at, rtt)) = v4.established {
        ev.packet(at.ts, at.frame);
        ev.fact(
            "IPv4",
            format!(
                "{} established at {} (RTT {})",
                ep(v4.resp),
                secs(at.ts),
                rtt.map_or("-".into(), ms)
            ),
        );
    }
    let syns: usize = idx.iter().map(|i| ctx.conns[*i].syns.len()).sum();
    ev.fact(
        "IPv6",
        format!("{} connection(s), {syns} SYN(s), none answered", idx.len()),
    );
    if let Some(s6) = idx
        .iter()
        .filter_map(|i| ctx.conns[*i].syns.first())
        .map(|s| s.ts)
        .min()
    {
        ev.fact(
            "fallback",
            format!(
                "IPv4 SYN {} after the first IPv6 SYN (Go's dialer falls back after 300 ms)",
                ms(v4.start.ts.since(s6))
            ),
        );
    }
    ev.packet(v4.start.ts, v4.start.frame);
    resolved_from(ctx, idx[0], &mut ev);
    Finding {
        kind: Kind::Ipv6Blackhole,
        severity: Severity::Warning,
        summary: format!("IPv6 to {name} is black-holed; IPv4 works (each dial waits for the fallback)"),
        destination: Some(name.to_string()),
        role: Some(cl.role),
        score: None,
        evidence: ev,
        hint: "This host has an IPv6 route that goes nowhere: fix IPv6 egress (security group rules for ::/0), or disable IPv6 on the interface (sysctl net.ipv6.conf.all.disable_ipv6=1) so Go dials IPv4 directly.".into(),
    }
}

/// `tls_reset`, `rst_injected` and `tls_aborted` for one connection.
fn tls(ctx: &Ctx<'_>, i: usize, c: &Conn, out: &mut Vec<Finding>) {
    let Some((_, t)) = &c.tls else { return };
    let Some(ch_ts) = t.client_hello_ts else {
        return;
    };
    if t.handshake_completed {
        return;
    }
    let (name, cl) = &ctx.dest[i];
    if !ctx.reported(cl.role) {
        return;
    }
    let mut ev = Evidence::default();
    ev.uid(c.uid);
    ev.name(name);
    ev.addr(ep(c.resp));
    ev.packet(ch_ts, 0);
    ev.fact(
        "ClientHello",
        format!("at {} SNI {}", secs(ch_ts), t.sni.as_deref().unwrap_or("-")),
    );
    let server_rsts: Vec<&super::Rst> = c
        .rsts
        .iter()
        .filter(|r| r.dir == Dir::Resp && r.at.ts >= ch_ts)
        .collect();
    let reset_after_hello = t.server_hello.is_none() && !server_rsts.is_empty();
    if reset_after_hello {
        let first = server_rsts[0];
        for r in &server_rsts {
            ev.packet(r.at.ts, r.at.frame);
            ev.fact(
                format!("RST frame {}", r.at.frame),
                format!(
                    "{} after the ClientHello: IP TTL {} IP-ID {} DF {} seq {} ack {} window {} payload {} B",
                    ms(r.at.ts.since(ch_ts)),
                    r.facts.ttl,
                    r.facts.ip_id,
                    if r.facts.df { "set" } else { "clear" },
                    r.facts.seq,
                    r.facts.ack.map_or("-".into(), |a| a.to_string()),
                    r.facts.window,
                    r.facts.payload_len
                ),
            );
        }
        let (score, strong) = injection_score(ctx, c, t, ch_ts, &server_rsts, &mut ev);
        ev.rule("TLS-SNI-RST");
        let injected = strong && score >= 4;
        out.push(Finding {
            kind: Kind::TlsReset,
            severity: Severity::Error,
            summary: format!(
                "connection to {name} ({}) reset {} after the ClientHello, before any ServerHello",
                ep(c.resp),
                ms(first.at.ts.since(ch_ts))
            ),
            destination: Some(name.to_string()),
            role: Some(cl.role),
            score: Some(score),
            evidence: ev.clone(),
            hint: format!("Something on the path resets TLS for the name {name} (SNI filtering). Point GOPROXY at a proxy whose name is not filtered (another public mirror, or one inside your network), and make sure no GOPRIVATE/GONOPROXY or ',direct' sends Go to {name} directly."),
        });
        if injected {
            let mut e2 = ev;
            e2.rules.retain(|r| *r != "TLS-SNI-RST");
            e2.rule("RST-INJECTED");
            out.push(Finding {
                kind: Kind::RstInjected,
                severity: Severity::Error,
                summary: format!(
                    "the reset of {name} ({}) was not sent by the server (score {score})",
                    ep(c.resp)
                ),
                destination: Some(name.to_string()),
                role: Some(cl.role),
                score: Some(score),
                evidence: e2,
                hint: "An on-path device injects resets for this SNI (censorship or a corporate filter). Retrying will not help: route module traffic through a proxy or tunnel the filter does not see.".into(),
            });
        }
        return;
    }
    // Not a reset right after the hello: did the handshake stop otherwise?
    let ended = t.ended.unwrap_or("");
    let alerts: Vec<String> = t
        .alerts
        .iter()
        .map(|a| {
            format!(
                "{} {} alert {} from the {}",
                if a.level == 2 { "fatal" } else { "warning" },
                crate::tls::names::alert_name(a.description),
                a.description,
                if a.dir == Direction::ToServer {
                    "client"
                } else {
                    "server"
                }
            )
        })
        .collect();
    let silent = ended.starts_with("timeout_after_client_hello")
        || ended.starts_with("capture_end_after_client_hello");
    if silent && ctx.end.since(ch_ts) < TLS_GRACE {
        return;
    }
    if alerts.is_empty() && ended.is_empty() {
        return;
    }
    if ended.starts_with("fin_after_handshake") || ended.starts_with("rst_after_handshake") {
        return;
    }
    // The client dropping a surplus connection (Go dials several at once and closes the ones it
    // does not need) while a sibling to the same server and name completed: not a failure.
    let client_ended = matches!(
        t.end,
        Some(
            crate::tls::EndHow::Rst(Direction::ToServer)
                | crate::tls::EndHow::Fin(Direction::ToServer)
        )
    );
    if client_ended && alerts.is_empty() && t.server_hello.is_some() {
        let sibling_ok = ctx.conns.iter().any(|o| {
            o.resp == c.resp
                && o.tls
                    .as_ref()
                    .is_some_and(|(_, ot)| ot.handshake_completed && ot.sni == t.sni)
        });
        if sibling_ok {
            return;
        }
    }
    ev.rule("TLS-ABORTED");
    ev.fact("ended", ended.to_string());
    for a in &alerts {
        ev.fact("alert", a.clone());
    }
    if let Some(sh) = t.server_hello_ts {
        ev.fact("ServerHello", secs(sh));
    }
    if let Some(cert) = &t.certificate {
        ev.fact("certificate", format!("{cert:?}"));
    }
    let trust = t.alerts.iter().any(|a| {
        a.dir == Direction::ToServer && matches!(a.description, 42 | 43 | 44 | 45 | 46 | 48)
    }) || (ended.starts_with("fin_after_server_hello")
        && matches!(t.end, Some(crate::tls::EndHow::Fin(Direction::ToServer))));
    out.push(Finding {
        kind: Kind::TlsAborted,
        severity: Severity::Error,
        summary: format!(
            "TLS handshake with {name} ({}) not completed: {}",
            ep(c.resp),
            if let Some(a) = alerts.first() {
                a.clone()
            } else {
                ended.replace('_', " ")
            }
        ),
        destination: Some(name.to_string()),
        role: Some(cl.role),
        score: None,
        evidence: ev,
        hint: if trust {
            "The client gave up after the server's certificate: check the system clock (date) and the CA bundle (ca-certificates; SSL_CERT_FILE for a proxy's private CA).".into()
        } else if silent {
            format!("The server (or a filter on the path) never answered the ClientHello for {name}: SNI-based blocking or a broken middlebox; use a proxy whose name is not filtered.")
        } else {
            format!("The TLS handshake with {name} failed: see the alert; check the proxy URL and the CA bundle.")
        },
    });
}

/// The reference's T rules for the server-side RSTs after a ClientHello. Returns the score and
/// whether a strong (content or race) signal fired; header-only evidence is capped at 3.
fn injection_score(
    ctx: &Ctx<'_>,
    c: &Conn,
    t: &crate::tls::TlsSummary,
    ch_ts: Timestamp,
    rsts: &[&super::Rst],
    ev: &mut Evidence,
) -> (i32, bool) {
    let mut score = 0;
    let mut strong = false;
    // T1: the server sent a normal packet after "its" RST.
    if let Some(after) = c.after_rst[Dir::Resp.index()] {
        score += 4;
        strong = true;
        ev.rule("T1");
        ev.packet(after.ts, after.frame);
        ev.fact(
            "T1",
            format!(
                "frame {}: the server sent a non-RST packet after the RST: one of them was not sent by the server",
                after.frame
            ),
        );
    }
    // T2: RST SEQ CHANGE.
    if rsts.len() >= 2 {
        let (a, b) = (rsts[0], rsts[1]);
        if let (Some(ga), Some(gb)) = (a.facts.seq_gap, b.facts.seq_gap) {
            if b.at.ts.since(a.at.ts) < Duration::from_secs(2) && gb > ga + 2 && gb > 0 {
                score += 4;
                strong = true;
                ev.rule("T2");
                ev.fact(
                    "T2",
                    format!(
                        "second RST's sequence jumps {} bytes past the first",
                        gb - ga
                    ),
                );
            }
        }
    }
    // T3: injector fingerprints (report, do not hard-code TTLs).
    let burst =
        rsts.len() >= 3 && rsts[rsts.len() - 1].at.ts.since(rsts[0].at.ts) < Duration::from_secs(1);
    if burst {
        score += 4;
        strong = true;
        ev.rule("T3");
        ev.fact(
            "T3",
            format!(
                "{} RSTs within a second (GFW II / 2025-08-20 style burst)",
                rsts.len()
            ),
        );
    }
    if rsts.iter().any(|r| r.facts.payload_len > 0) {
        score += 4;
        strong = true;
        ev.rule("T3");
        ev.fact("T3", "a RST carrying payload (Henan firewall style)");
    }
    let first = rsts[0];
    if !burst
        && first.facts.ack.is_none()
        && !first.facts.df
        && first.facts.ip_id == 0
        && !c.resp.addr.is_ipv6()
    {
        score += 2;
        ev.rule("T3");
        ev.fact(
            "T3",
            "single RST without ACK, DF clear, IP-ID 0 (GFW type I shape)",
        );
    }
    // T4: header mismatch with the server's own packets (its SYN-ACK TTL).
    if let Some(rec) = &c.rec {
        let (lo, hi) = (rec.resp_stats.ttl_min, rec.resp_stats.ttl_max);
        let synack_ttl = rec.resp_stats.ttl;
        if let Some(st) = synack_ttl {
            if st.abs_diff(first.facts.ttl) > 2 {
                score += 1;
                ev.rule("T4");
                ev.fact(
                    "T4",
                    format!(
                        "RST IP TTL {} vs the server's SYN-ACK TTL {st} (server packets {lo}..{hi})",
                        first.facts.ttl
                    ),
                );
            }
        }
    }
    // T5: faster than the server could have answered.
    if let Some(rtt) = c.established.and_then(|(_, r)| r) {
        let delay = first.at.ts.since(ch_ts);
        if rtt >= Duration::from_millis(1) && delay.as_nanos() * 2 < rtt.as_nanos() {
            let strong_t5 = delay.as_nanos() * 5 < rtt.as_nanos();
            score += if strong_t5 { 4 } else { 2 };
            strong |= strong_t5;
            ev.rule("T5");
            ev.fact(
                "T5",
                format!(
                    "RST {} after the ClientHello, under half the handshake RTT {}: sent from closer than the server",
                    ms(delay),
                    ms(rtt)
                ),
            );
        }
    }
    // T6 with contrast: another SNI to the same server address completed.
    let sni = t.sni.as_deref().unwrap_or("");
    let contrast = ctx.conns.iter().find(|o| {
        o.resp == c.resp
            && o.tls.as_ref().is_some_and(|(_, ot)| {
                ot.handshake_completed && ot.sni.as_deref().unwrap_or("") != sni
            })
    });
    if let Some(o) = contrast {
        score += 2;
        ev.rule("T6");
        ev.uid(o.uid);
        ev.fact(
            "T6",
            format!(
                "{} with SNI {} to the same address completed its handshake",
                o.uid,
                o.tls
                    .as_ref()
                    .and_then(|(_, t)| t.sni.clone())
                    .unwrap_or_default()
            ),
        );
    }
    if !strong {
        score = score.min(3);
    }
    (score, strong)
}
