//! Destination rules (`sni_not_proxy`, `http_not_proxy`, `connect_not_proxy`, `ssh_not_proxy`,
//! `http_error`, `metadata_access`) and the destinations table.

use std::collections::BTreeSet;

use super::model::{Destination, Evidence, Finding, Kind, Severity};
use super::{ep, norm_name, secs, Conn, Ctx};
use crate::dns::DnsTxStatus;
use crate::goenv::Role;

fn tls_ok(c: &Conn) -> bool {
    c.tls.as_ref().is_some_and(|(_, t)| t.handshake_completed)
}

fn failed(c: &Conn) -> bool {
    c.established.is_none() || c.tls.as_ref().is_some_and(|(_, t)| !t.handshake_completed)
}

/// Destinations in first-seen order: (name, indexes of its connections).
fn groups(ctx: &Ctx<'_>) -> Vec<(String, Vec<usize>)> {
    let mut v: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, (name, _)) in ctx.dest.iter().enumerate() {
        match v.iter_mut().find(|(n, _)| n == name) {
            Some((_, idx)) => idx.push(i),
            None => v.push((name.clone(), vec![i])),
        }
    }
    v
}

pub(crate) fn rules(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (name, idx) in groups(ctx) {
        let cl = &ctx.dest[idx[0]].1;
        not_proxy(ctx, &name, cl, &idx, out);
        http_errors(ctx, &name, cl, &idx, out);
        if cl.role == Role::Metadata {
            metadata(ctx, &name, cl, &idx, out);
        }
    }
}

fn not_proxy(
    ctx: &Ctx<'_>,
    name: &str,
    cl: &crate::goenv::Classification,
    idx: &[usize],
    out: &mut Vec<Finding>,
) {
    if !matches!(
        cl.role,
        Role::Unexpected | Role::DirectAllowed | Role::Sumdb
    ) {
        return;
    }
    let conns: Vec<&Conn> = idx.iter().map(|i| &ctx.conns[*i]).collect();
    let via_connect = conns
        .iter()
        .any(|c| c.http.iter().any(|(_, t)| t.connect_target.is_some()));
    let sni = conns.iter().any(|c| {
        c.tls
            .as_ref()
            .and_then(|(_, t)| t.sni.as_deref())
            .is_some_and(|s| norm_name(s) == name)
    });
    let plain = conns.iter().any(|c| {
        c.tls.is_none()
            && c.http
                .iter()
                .any(|(_, t)| t.request.as_ref().is_some_and(|r| r.method != "CONNECT"))
    });
    let ssh = conns.iter().any(|c| c.resp.port == 22);
    let kind = if via_connect {
        Kind::ConnectNotProxy
    } else if sni {
        Kind::SniNotProxy
    } else if plain {
        Kind::HttpNotProxy
    } else if ssh {
        Kind::SshNotProxy
    } else if cl.role == Role::Sumdb {
        return;
    } else {
        // A bare TCP connection to a code host's address (e.g. TLS not seen): report as SNI-less.
        Kind::SniNotProxy
    };
    // A directly reached sumdb through the proxy's CONNECT is not "direct".
    if cl.role == Role::Sumdb && via_connect {
        return;
    }
    let any_failed = conns.iter().any(|c| failed(c));
    let severity = match cl.role {
        Role::Unexpected if any_failed => Severity::Error,
        Role::Unexpected => Severity::Warning,
        Role::Sumdb => Severity::Warning,
        _ => Severity::Info,
    };
    let mut ev = Evidence::default();
    ev.name(name);
    ev.rule(match kind {
        Kind::ConnectNotProxy => "DEST-CONNECT",
        Kind::HttpNotProxy => "DEST-HTTP",
        Kind::SshNotProxy => "DEST-SSH",
        _ => "DEST-SNI",
    });
    for c in &conns {
        ev.uid(c.uid);
        ev.addr(ep(c.resp));
        ev.packet(c.start.ts, c.start.frame);
        if let Some((_, t)) = &c.tls {
            if let Some(ts) = t.client_hello_ts {
                ev.fact(
                    format!("{} ClientHello", c.uid),
                    format!(
                        "at {} SNI {} to {}: {}",
                        secs(ts),
                        t.sni.as_deref().unwrap_or("-"),
                        ep(c.resp),
                        if t.handshake_completed {
                            "handshake completed"
                        } else {
                            t.ended.unwrap_or("handshake not completed")
                        }
                    ),
                );
            }
        }
        for (at, tx) in &c.http {
            if let Some(r) = &tx.request {
                ev.packet(at.ts, r.frame);
                ev.fact(
                    format!("{} request frame {}", c.uid, r.frame),
                    format!(
                        "{} {} Host {}",
                        r.method,
                        r.uri,
                        r.host.as_deref().unwrap_or("-")
                    ),
                );
            }
        }
    }
    ev.fact("role", format!("{} ({})", cl.role.as_str(), cl.reason));
    // The capture's own evidence for a `,direct` fallback: proxy answers 404/410 before.
    let first_ts = conns.iter().map(|c| c.start.ts).min();
    let mut fallthrough = Vec::new();
    for (i, c) in ctx.conns.iter().enumerate() {
        if ctx.dest[i].1.role != Role::Proxy {
            continue;
        }
        for (at, tx) in &c.http {
            let (Some(r), Some(resp)) = (&tx.request, &tx.response) else {
                continue;
            };
            if matches!(resp.status_code, 404 | 410) && first_ts.is_some_and(|f| resp.ts <= f) {
                ev.packet(at.ts, resp.frame);
                fallthrough.push(format!(
                    "frame {}: proxy answered {} to {}",
                    resp.frame, resp.status_code, r.uri
                ));
            }
        }
    }
    let cause = if !fallthrough.is_empty() {
        ev.fact("fallback", fallthrough.join("; "));
        format!("{}; the proxy answered 404/410 first", cl.reason)
    } else {
        cl.reason.clone()
    };
    let verb = match kind {
        Kind::ConnectNotProxy => "tunnelled through HTTPS_PROXY to",
        Kind::HttpNotProxy => "fetched over plain HTTP from",
        Kind::SshNotProxy => "ran git over SSH to",
        _ => "connected with TLS directly to",
    };
    let hint = match cl.role {
        Role::Sumdb => format!("Go checks go.sum against {name} directly because the proxy does not serve it: use GOSUMDB=sum.golang.google.cn with GOPROXY=https://goproxy.cn (the proxy serves /sumdb/), or GONOSUMDB for private modules."),
        Role::DirectAllowed => format!("Allowed by the configuration ({cause}). If {name} is unreachable from this network, narrow GOPRIVATE/GONOPROXY to your own modules or drop ',direct' from GOPROXY."),
        _ => format!("Go should not reach {name} under this configuration ({cause}): make the module go through the proxy (check GONOPROXY/GOPRIVATE patterns and ',direct'/'|direct' in GOPROXY), or if it is private, allow egress to {name}."),
    };
    out.push(Finding {
        kind,
        severity,
        summary: format!(
            "Go {verb} {name} ({}), not the proxy: {cause}",
            cl.role.as_str()
        ),
        destination: Some(name.to_string()),
        role: Some(cl.role),
        score: None,
        evidence: ev,
        hint,
    });
}

fn http_errors(
    ctx: &Ctx<'_>,
    name: &str,
    cl: &crate::goenv::Classification,
    idx: &[usize],
    out: &mut Vec<Finding>,
) {
    // One finding per status code: Go asks for every prefix of a module path, so one refusal
    // shows up as several requests.
    let mut statuses: Vec<u16> = Vec::new();
    for &i in idx {
        for (_, tx) in &ctx.conns[i].http {
            if let Some(r) = &tx.response {
                if r.status_code >= 400 && !statuses.contains(&r.status_code) {
                    statuses.push(r.status_code);
                }
            }
        }
    }
    for status in statuses {
        let mut ev = Evidence::default();
        ev.name(name);
        ev.rule("HTTP-STATUS");
        let mut reason = String::new();
        let mut what: Vec<String> = Vec::new();
        let mut best: Option<(String, Option<String>)> = None;
        for &i in idx {
            let c = &ctx.conns[i];
            for (_, tx) in &c.http {
                let (Some(req), Some(resp)) = (&tx.request, &tx.response) else {
                    continue;
                };
                if resp.status_code != status {
                    continue;
                }
                ev.uid(c.uid);
                ev.addr(ep(c.resp));
                ev.packet(req.ts, req.frame);
                ev.packet(resp.ts, resp.frame);
                reason = resp.reason.clone();
                let gp = tx.goproxy.as_ref();
                let module = gp.and_then(|g| g.module.clone());
                let version = gp.and_then(|g| g.version.clone());
                ev.fact(
                    format!("request frame {}", req.frame),
                    format!(
                        "{} {} Host {} -> frame {}: {} {}{}",
                        req.method,
                        req.uri,
                        req.host.as_deref().unwrap_or("-"),
                        resp.frame,
                        resp.status_code,
                        resp.reason,
                        match (gp, &module) {
                            (Some(g), Some(m)) => format!(
                                " [go {} {m}{}]",
                                g.kind.name(),
                                version
                                    .as_deref()
                                    .map(|v| format!("@{v}"))
                                    .unwrap_or_default()
                            ),
                            _ => String::new(),
                        }
                    ),
                );
                let label = match (&module, &version) {
                    (Some(m), Some(v)) => format!("{m}@{v}"),
                    (Some(m), None) => m.clone(),
                    _ => req.uri.clone(),
                };
                if !what.contains(&label) {
                    what.push(label);
                }
                // The longest module path (Go tries prefixes), preferring one with a version.
                if let Some(m) = module {
                    let better = match &best {
                        None => true,
                        Some((bm, bv)) => {
                            (version.is_some() && bv.is_none())
                                || (version.is_some() == bv.is_some() && m.len() > bm.len())
                        }
                    };
                    if better {
                        best = Some((m, version));
                    }
                }
            }
        }
        if let Some((m, v)) = &best {
            ev.fact("module", m.clone());
            if let Some(v) = v {
                ev.fact("version", v.clone());
            }
        }
        let not_found = matches!(status, 404 | 410);
        let severity = if not_found && cl.role == Role::Proxy {
            Severity::Info
        } else {
            Severity::Error
        };
        let subject = match &best {
            Some((m, Some(v))) => format!("{m}@{v}"),
            Some((m, None)) => m.clone(),
            None => what.first().cloned().unwrap_or_default(),
        };
        let n = what.len();
        out.push(Finding {
            kind: Kind::HttpError,
            severity,
            summary: format!(
                "{name} answered {status} {reason} for {subject}{}",
                if n > 1 {
                    format!(" ({n} requests)")
                } else {
                    String::new()
                }
            ),
            destination: Some(name.to_string()),
            role: Some(cl.role),
            score: None,
            evidence: ev,
            hint: match status {
                401 | 403 => format!("The proxy {name} refuses {subject}: check its access rules or credentials (user:password in the GOPROXY URL, .netrc), whether the module is private (then list it in GOPRIVATE), or use another proxy."),
                404 | 410 => format!("{subject} is not on {name}: Go falls through to the next GOPROXY entry after ',' (or 'direct'); check the module path and version."),
                _ => format!("{name} failed with {status}: retry later or list a second proxy after '|' in GOPROXY so errors fall through."),
            },
        });
    }
}

fn metadata(
    ctx: &Ctx<'_>,
    name: &str,
    cl: &crate::goenv::Classification,
    idx: &[usize],
    out: &mut Vec<Finding>,
) {
    let mut ev = Evidence::default();
    ev.name(name);
    ev.rule("METADATA");
    for &i in idx {
        let c = &ctx.conns[i];
        ev.uid(c.uid);
        ev.addr(ep(c.resp));
        ev.packet(c.start.ts, c.start.frame);
        for (_, tx) in &c.http {
            if let Some(r) = &tx.request {
                ev.packet(r.ts, r.frame);
                ev.fact(
                    format!("request frame {}", r.frame),
                    format!("{} {}", r.method, r.uri),
                );
            }
        }
    }
    ev.fact("role", cl.reason.clone());
    out.push(Finding {
        kind: Kind::MetadataAccess,
        severity: Severity::Warning,
        summary: format!(
            "{} connection(s) to the cloud metadata service {name} during the run",
            idx.len()
        ),
        destination: Some(name.to_string()),
        role: Some(cl.role),
        score: None,
        evidence: ev,
        hint: "Something in the run queried the instance metadata service (credentials live there). Go itself never does: find the script or tool (cloud-init, SDKs), and on AWS require IMDSv2 tokens.".into(),
    });
}

/// The destinations table.
pub(crate) fn table(ctx: &Ctx<'_>) -> Vec<Destination> {
    let mut out: Vec<Destination> = Vec::new();
    for (name, idx) in groups(ctx) {
        let cl = ctx.dest[idx[0]].1.clone();
        if !ctx.reported(cl.role) {
            continue;
        }
        let conns: Vec<&Conn> = idx.iter().map(|i| &ctx.conns[*i]).collect();
        let mut addrs: BTreeSet<String> = conns.iter().map(|c| c.resp.addr.to_string()).collect();
        let (dns, dns_addrs) = dns_summary(ctx, &name);
        addrs.extend(dns_addrs);
        let est = conns.iter().filter(|c| c.established.is_some()).count();
        let tcp = format!(
            "{} conn(s): {} established{}",
            conns.len(),
            est,
            if est < conns.len() {
                format!(", {} not", conns.len() - est)
            } else {
                String::new()
            }
        );
        let tls_n = conns.iter().filter(|c| c.tls.is_some()).count();
        let tls = if tls_n == 0 {
            "-".to_string()
        } else {
            let ok = conns.iter().filter(|c| tls_ok(c)).count();
            let mut s = format!("{ok}/{tls_n} handshakes ok");
            if let Some(e) = conns
                .iter()
                .filter_map(|c| c.tls.as_ref())
                .find(|(_, t)| !t.handshake_completed)
                .and_then(|(_, t)| t.ended)
            {
                s.push_str(&format!(" ({e})"));
            }
            s
        };
        let mut statuses: Vec<String> = Vec::new();
        for c in &conns {
            for (_, tx) in &c.http {
                if let Some(r) = &tx.response {
                    let s = r.status_code.to_string();
                    if !statuses.contains(&s) {
                        statuses.push(s);
                    }
                }
            }
        }
        out.push(Destination {
            name,
            role: cl.role,
            reason: cl.reason,
            addrs: addrs.into_iter().collect(),
            dns,
            tcp,
            tls,
            http: if statuses.is_empty() {
                "-".into()
            } else {
                statuses.join(",")
            },
            uids: conns.iter().map(|c| c.uid).collect(),
        });
    }
    // Names looked up but never connected to.
    let mut seen: Vec<String> = Vec::new();
    for tx in &ctx.dns {
        let Some(q) = &tx.question else { continue };
        if q.qtype != 1 && q.qtype != 28 {
            continue;
        }
        let name = norm_name(&q.name);
        if seen.contains(&name) || out.iter().any(|d| d.name == name) {
            continue;
        }
        seen.push(name.clone());
        let cl = ctx.classify_name(&name, None);
        if !ctx.reported(cl.role) {
            continue;
        }
        let (dns, addrs) = dns_summary(ctx, &name);
        out.push(Destination {
            name,
            role: cl.role,
            reason: cl.reason,
            addrs,
            dns,
            tcp: "no connection".into(),
            tls: "-".into(),
            http: "-".into(),
            uids: Vec::new(),
        });
    }
    out.sort_by_key(|d| role_rank(d.role));
    out
}

fn role_rank(r: Role) -> u8 {
    match r {
        Role::Proxy => 0,
        Role::Sumdb => 1,
        Role::DirectAllowed => 2,
        Role::Unexpected => 3,
        Role::Metadata => 4,
        Role::Other => 5,
    }
}

fn dns_summary(ctx: &Ctx<'_>, name: &str) -> (String, Vec<String>) {
    let mut parts: Vec<String> = Vec::new();
    let mut addrs: Vec<String> = Vec::new();
    for tx in &ctx.dns {
        let Some(q) = &tx.question else { continue };
        if norm_name(&q.name) != name || !matches!(q.qtype, 1 | 28) {
            continue;
        }
        let qn = if q.qtype == 1 { "A" } else { "AAAA" };
        let s = match (tx.status, tx.responses.len()) {
            (DnsTxStatus::Unanswered, _) => format!("{qn} no answer"),
            (_, n) => {
                let mut ips: Vec<String> = Vec::new();
                for r in &tx.responses {
                    for rr in &r.answers {
                        if let Some(ip) = super::dns::record_ip(rr) {
                            let s = ip.to_string();
                            if !ips.contains(&s) {
                                ips.push(s);
                            }
                        }
                    }
                }
                addrs.extend(ips.iter().cloned());
                let rcode = tx.responses.first().map_or(0, |r| r.rcode);
                let body = if ips.is_empty() {
                    match rcode {
                        0 => "no data".to_string(),
                        2 => "SERVFAIL".into(),
                        3 => "NXDOMAIN".into(),
                        5 => "REFUSED".into(),
                        r => format!("rcode {r}"),
                    }
                } else {
                    ips.join(" ")
                };
                if n > 1 {
                    format!("{qn} {body} ({n} answers)")
                } else {
                    format!("{qn} {body}")
                }
            }
        };
        if !parts.contains(&s) {
            parts.push(s);
        }
    }
    addrs.sort();
    addrs.dedup();
    (
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join("; ")
        },
        addrs,
    )
}
