//! Reporters of a [`Diagnosis`]: JSON Lines (`finding` and `summary` records) and text.

use core::fmt::Write;

use super::model::{Destination, Diagnosis, Finding};
use crate::report::app::str_array;
use crate::report::json_str;
use crate::time::write_secs;

/// One configuration value as the report shows it: (variable, value, where it came from).
pub type ConfigLine = (String, String, String);

/// Appends one `"type":"finding"` JSON object and a newline.
pub fn finding_json(out: &mut String, f: &Finding) {
    out.push_str("{\"type\":\"finding\",\"kind\":");
    json_str(out, f.kind.as_str());
    out.push_str(",\"severity\":");
    json_str(out, f.severity.as_str());
    out.push_str(",\"summary\":");
    json_str(out, &f.summary);
    if let Some(d) = &f.destination {
        out.push_str(",\"destination\":");
        json_str(out, d);
    }
    if let Some(r) = f.role {
        out.push_str(",\"role\":");
        json_str(out, r.as_str());
    }
    if let Some(s) = f.score {
        let _ = write!(out, ",\"score\":{s}");
    }
    let e = &f.evidence;
    out.push_str(",\"evidence\":{\"uids\":[");
    for (i, u) in e.uids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{u}\"");
    }
    out.push_str("],\"frames\":[");
    for (i, n) in e.frames.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{n}");
    }
    out.push(']');
    str_array(out, "names", e.names.iter().map(String::as_str));
    str_array(out, "addrs", e.addrs.iter().map(String::as_str));
    if let Some(t) = e.first_ts {
        out.push_str(",\"first_ts\":");
        let _ = write_secs(out, t.as_nanos());
    }
    if let Some(t) = e.last_ts {
        out.push_str(",\"last_ts\":");
        let _ = write_secs(out, t.as_nanos());
    }
    str_array(out, "rules", e.rules.iter().copied());
    out.push_str(",\"facts\":[");
    for (i, (k, v)) in e.facts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        json_str(out, k);
        out.push(',');
        json_str(out, v);
        out.push(']');
    }
    out.push_str("]},\"hint\":");
    json_str(out, &f.hint);
    out.push_str("}\n");
}

fn dest_json(out: &mut String, d: &Destination) {
    out.push_str("{\"name\":");
    json_str(out, &d.name);
    out.push_str(",\"role\":");
    json_str(out, d.role.as_str());
    out.push_str(",\"reason\":");
    json_str(out, &d.reason);
    str_array(out, "addrs", d.addrs.iter().map(String::as_str));
    for (k, v) in [
        ("dns", &d.dns),
        ("tcp", &d.tcp),
        ("tls", &d.tls),
        ("http", &d.http),
    ] {
        let _ = write!(out, ",\"{k}\":");
        json_str(out, v);
    }
    out.push_str(",\"uids\":[");
    for (i, u) in d.uids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{u}\"");
    }
    out.push_str("]}");
}

/// Appends the `"type":"summary"` JSON object and a newline.
pub fn summary_json(out: &mut String, d: &Diagnosis, config: &[ConfigLine]) {
    out.push_str("{\"type\":\"summary\",\"worst\":");
    match d.worst() {
        Some(s) => json_str(out, s.as_str()),
        None => out.push_str("null"),
    }
    str_array(out, "verdict", d.verdict.iter().map(String::as_str));
    out.push_str(",\"counts\":{");
    for (i, (k, n)) in d.counts().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{}\":{n}", k.as_str());
    }
    out.push_str("},\"config\":[");
    for (i, (k, v, o)) in config.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json_str(out, k);
        out.push_str(",\"value\":");
        json_str(out, v);
        out.push_str(",\"from\":");
        json_str(out, o);
        out.push('}');
    }
    out.push_str("],\"destinations\":[");
    for (i, dst) in d.destinations.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        dest_json(out, dst);
    }
    out.push(']');
    str_array(out, "notes", d.notes.iter().map(String::as_str));
    out.push_str("}\n");
}

fn cut(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('~');
        t
    }
}

/// The text report: verdict, configuration, destinations, findings grouped by kind.
pub fn text(out: &mut String, d: &Diagnosis, config: &[ConfigLine]) {
    out.push_str("Verdict\n");
    for v in &d.verdict {
        let _ = writeln!(out, "  {v}");
    }
    out.push_str("\nGo configuration used\n");
    for (k, v, o) in config {
        let _ = writeln!(
            out,
            "  {k:<11} {:<44} ({o})",
            if v.is_empty() { "(empty)" } else { v }
        );
    }
    out.push_str("\nDestinations\n");
    if d.destinations.is_empty() {
        out.push_str("  (none)\n");
    } else {
        // Columns as wide as their widest cell (capped; longer cells are cut with `~`).
        const CAP: [usize; 7] = [40, 14, 40, 48, 32, 48, 24];
        let rows: Vec<[String; 7]> = d
            .destinations
            .iter()
            .map(|x| {
                [
                    x.name.clone(),
                    x.role.as_str().to_string(),
                    x.addrs.join(" "),
                    x.dns.clone(),
                    x.tcp.clone(),
                    x.tls.clone(),
                    x.http.clone(),
                ]
            })
            .collect();
        let head = ["NAME", "ROLE", "ADDRESSES", "DNS", "TCP", "TLS", "HTTP"];
        let mut width = head.map(str::len);
        for r in &rows {
            for (w, (cell, cap)) in width.iter_mut().zip(r.iter().zip(CAP)) {
                *w = (*w).max(cell.chars().count().min(cap));
            }
        }
        let line = |out: &mut String, cells: [&str; 7]| {
            out.push(' ');
            for (i, c) in cells.iter().enumerate() {
                let c = cut(c, CAP[i]);
                if i + 1 == cells.len() {
                    let _ = write!(out, " {c}");
                } else {
                    let _ = write!(out, " {c:<w$}", w = width[i]);
                }
            }
            out.push('\n');
        };
        line(out, head);
        for r in &rows {
            line(out, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]]);
        }
    }
    out.push_str("\nFindings\n");
    if d.findings.is_empty() {
        out.push_str("  (none)\n");
    }
    let mut kinds: Vec<super::Kind> = Vec::new();
    for f in &d.findings {
        if !kinds.contains(&f.kind) {
            kinds.push(f.kind);
        }
    }
    for k in kinds {
        let fs: Vec<&Finding> = d.findings.iter().filter(|f| f.kind == k).collect();
        let _ = writeln!(out, "  == {} ({})", k.as_str(), fs.len());
        for f in fs {
            let _ = writeln!(out, "  [{}] {}", f.severity.as_str(), f.summary);
            let e = &f.evidence;
            if !e.uids.is_empty() {
                let u: Vec<String> = e.uids.iter().map(|u| u.to_string()).collect();
                let _ = writeln!(out, "      uids:   {}", u.join(" "));
            }
            if !e.frames.is_empty() {
                let fr: Vec<String> = e.frames.iter().map(|n| n.to_string()).collect();
                let _ = writeln!(out, "      frames: {}", fr.join(" "));
            }
            if let (Some(a), Some(b)) = (e.first_ts, e.last_ts) {
                let mut s = String::new();
                let _ = write_secs(&mut s, a.as_nanos());
                s.push_str(" .. ");
                let _ = write_secs(&mut s, b.as_nanos());
                let _ = writeln!(out, "      time:   {s}");
            }
            for (k, v) in &e.facts {
                let _ = writeln!(out, "      {k}: {v}");
            }
            let _ = writeln!(out, "      rules:  {}", e.rules.join(" "));
            let _ = writeln!(out, "      fix:    {}", f.hint);
        }
    }
    if !d.notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in &d.notes {
            let _ = writeln!(out, "  {n}");
        }
    }
}
