//! The import rule of the pipeline: a module uses only the stages before it (docs/design.md).
//! Reads the sources; doc comments are ignored.

use std::path::Path;

const ALLOWED: &[(&str, &[&str])] = &[
    ("time", &[]),
    ("source", &["time", "source"]),
    ("decode", &["time", "source", "decode"]),
    ("flow", &["time", "flow"]),
    ("tcp", &["time", "decode", "flow", "tcp"]),
    ("event", &["time", "decode", "flow", "dns", "tls", "http"]),
    (
        "engine",
        &["time", "source", "decode", "flow", "tcp", "event"],
    ),
    ("report", &["time", "flow", "event", "dns", "tls", "http"]),
    ("runtime", &["time", "source", "decode", "engine", "event"]),
    // Application parsers are pure: bytes in, values out.
    ("dns", &["time", "dns"]),
    ("tls", &["time", "tls"]),
    ("http", &["time", "http"]),
    // Go's configuration model is pure: strings in, roles out.
    ("goenv", &["goenv"]),
    (
        "diagnose",
        &[
            "time", "flow", "decode", "event", "dns", "tls", "http", "goenv", "report", "diagnose",
        ],
    ),
    (
        "app",
        &[
            "time", "flow", "decode", "event", "engine", "dns", "tls", "http",
        ],
    ),
];

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_import_only_earlier_stages() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut violations = Vec::new();
    for path in all {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == "lib.rs" {
            continue;
        }
        let module = rel.split(['/', '.']).next().unwrap().to_string();
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
            violations.push(format!(
                "{rel}: module `{module}` is not in the layering table"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        // Only code outside unit tests counts.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("//") {
                continue;
            }
            let mut rest = t;
            while let Some(i) = rest.find("crate::") {
                let name: String = rest[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !allowed.contains(&name.as_str()) {
                    violations.push(format!("{rel}:{}: `{module}` uses `crate::{name}`", n + 1));
                }
                rest = &rest[i + 7..];
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
