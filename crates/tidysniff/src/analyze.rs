//! `tidysniff analyze`: the diagnosis of a `go mod tidy` run.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use tidysniff_core::app::{AppConfig, AppLayer, DEFAULT_STREAM_DEPTH};
use tidysniff_core::diagnose::{render, DiagnoseConfig, Diagnoser, Severity};
use tidysniff_core::engine::{EngineConfig, StreamHandler};
use tidysniff_core::goenv::{self, GoConfig, Layer, Origin};
use tidysniff_core::runtime::{self, RunConfig};

use crate::args::{AnalyzeArgs, Format};
use crate::log::{open_sources, Warnings};

/// Builds the Go configuration from the sources in precedence order and the lines the report
/// prints about it.
pub fn go_config(a: &AnalyzeArgs) -> anyhow::Result<(GoConfig, Vec<render::ConfigLine>)> {
    let mut layers: Vec<Layer> = Vec::new();
    let flags: Vec<(String, String)> = [
        ("GOPROXY", &a.goproxy),
        ("GONOPROXY", &a.gonoproxy),
        ("GOPRIVATE", &a.goprivate),
        ("GONOSUMDB", &a.gonosumdb),
        ("GOSUMDB", &a.gosumdb),
        ("GOINSECURE", &a.goinsecure),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
    .collect();
    layers.push(Layer {
        origin: Origin::Flag,
        vars: flags,
    });
    if let Some(p) = &a.go_env {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        let vars = goenv::parse_go_env_json(&text)
            .map_err(|e| anyhow::anyhow!("{}: not `go env -json` output: {e}", p.display()))?;
        layers.push(Layer {
            origin: Origin::GoEnvFile,
            vars,
        });
    }
    let mut env = Vec::new();
    for k in goenv::VARS {
        for name in [k.to_string(), k.to_ascii_lowercase()] {
            if let Ok(v) = std::env::var(&name) {
                env.push((name, v));
            }
        }
    }
    layers.push(Layer {
        origin: Origin::Environment,
        vars: env,
    });
    if a.go_env.is_none() && !a.no_go_command {
        if let Some(vars) = go_env_command() {
            layers.push(Layer {
                origin: Origin::GoEnvCommand,
                vars,
            });
        }
    }
    let cfg = goenv::resolve(&layers);
    let file = a.go_env.as_ref().map(|p| p.display().to_string());
    let lines = cfg
        .settings()
        .map(|(k, s)| {
            let origin = match (s.origin, &file) {
                (Origin::GoEnvFile, Some(f)) => format!("--go-env {f}"),
                (Origin::GoEnvCommand, _) => "go env -json".to_string(),
                (o, _) => o.as_str().to_string(),
            };
            let origin = match s.defaulted_from {
                Some(v) => format!("{v}'s value, {origin}"),
                None => origin,
            };
            // Credentials in proxy URLs never reach the report.
            (k.to_string(), goenv::redact(&s.value), origin)
        })
        .collect();
    Ok((cfg, lines))
}

/// `go env -json` when `go` is on PATH (bounded: a broken toolchain must not hang us).
fn go_env_command() -> Option<Vec<(String, String)>> {
    let mut child = std::process::Command::new("go")
        .args(["env", "-json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    let mut text = String::new();
    child.stdout.take()?.read_to_string(&mut text).ok()?;
    goenv::parse_go_env_json(&text).ok()
}

pub fn run(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let (go, config_lines) = go_config(&a)?;
    let warnings = Warnings::default();
    // With --evidence and stdin, keep a copy of the input for the second pass.
    let spool = match (&a.evidence, a.captures.iter().any(|p| p == Path::new("-"))) {
        (Some(_), true) => Some(crate::evidence::Spool::new()?),
        _ => None,
    };
    let (mut source, _) = match &spool {
        Some(s) => crate::evidence::open_sources_spooled(&a.captures, &warnings, s)?,
        None => open_sources(&a.captures, &warnings)?,
    };
    let cfg = RunConfig {
        engine: EngineConfig {
            max_flows: a.max_flows,
            stream_depth: DEFAULT_STREAM_DEPTH,
            ..EngineConfig::default()
        },
        shards: 1,
        ..RunConfig::default()
    };
    let mut diag = Diagnoser::new(
        go,
        DiagnoseConfig {
            all: a.all,
            ..DiagnoseConfig::default()
        },
    );
    let factory =
        || -> Box<dyn StreamHandler + Send> { Box::new(AppLayer::new(AppConfig::default())) };
    runtime::run(source.as_mut(), &cfg, Some(&factory), |events| {
        for e in events {
            diag.observe(e);
        }
        Ok::<(), io::Error>(())
    })?;
    drop(source);
    let d = diag.finish();
    for w in warnings.lock().map(|w| w.clone()).unwrap_or_default() {
        eprintln!("tidysniff: warning: {w}");
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut s = String::new();
    match a.format {
        Format::Text => render::text(&mut s, &d, &config_lines),
        Format::Json => {
            for f in &d.findings {
                render::finding_json(&mut s, f);
            }
            render::summary_json(&mut s, &d, &config_lines);
        }
    }
    out.write_all(s.as_bytes())?;
    out.flush()?;
    if let Some(path) = &a.evidence {
        let inputs: Vec<PathBuf> = a
            .captures
            .iter()
            .map(|p| match (&spool, p == Path::new("-")) {
                (Some(s), true) => s.path().to_path_buf(),
                _ => p.clone(),
            })
            .collect();
        let n = crate::evidence::write(path, &inputs, &d)?;
        eprintln!(
            "tidysniff: wrote {n} packets of {} flagged flows to {}",
            d.flows.len(),
            path.display()
        );
    }
    Ok(match d.worst() {
        Some(Severity::Warning | Severity::Error) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
