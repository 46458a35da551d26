//! `fixturegen fixtures <DIR>`, `fixturegen bench --bytes <N> <OUT.pcap>` and
//! `fixturegen split <IN.pcap> <OUT0.pcap> <OUT1.pcap>`.

use fixturegen::bench::{self, BenchOpts};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  fixturegen fixtures <DIR>
      write every fixture capture, README.md and expected_conns.tsv into DIR
  fixturegen bench --bytes <N> [--flows 50000] [--seed 1] [--mbps 20] <OUT.pcap>
      write a benchmark capture of at least N bytes (N may end in K, M, G, T)
  fixturegen split <IN.pcap> <OUT0.pcap> <OUT1.pcap>
      split a classic pcap in two by IP address pair (both directions of a connection
      in the same half), for bench/split.sh";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fixturegen: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("fixtures") => {
            let [_, dir] = &args[..] else {
                return Err(format!("expected one directory\n{USAGE}"));
            };
            let written = fixturegen::write_fixtures(&PathBuf::from(dir))
                .map_err(|e| format!("{dir}: {e}"))?;
            for (name, size) in written {
                println!("{size:>9}  {dir}/{name}");
            }
            Ok(())
        }
        Some("bench") => bench_cmd(&args[1..]),
        Some("split") => split_cmd(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    }
}

fn split_cmd(args: &[String]) -> Result<(), String> {
    let [input, out0, out1] = args else {
        return Err(format!("expected an input and two outputs\n{USAGE}"));
    };
    // The input first: a wrong path must not leave two empty outputs behind.
    let file = std::fs::File::open(input).map_err(|e| format!("{input}: {e}"))?;
    let create = |p: &String| {
        std::fs::File::create(p)
            .map(std::io::BufWriter::new)
            .map_err(|e| format!("{p}: {e}"))
    };
    let (mut a, mut b) = (create(out0)?, create(out1)?);
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let stats = fixturegen::split::split(reader, &mut [&mut a, &mut b])
        .and_then(|s| {
            use std::io::Write;
            a.flush()?;
            b.flush()?;
            Ok(s)
        })
        .map_err(|e| format!("{input}: {e}"))?;
    println!(
        "{} records to {out0}, {} to {out1}",
        stats.records[0], stats.records[1]
    );
    Ok(())
}

fn bench_cmd(args: &[String]) -> Result<(), String> {
    let mut opts = BenchOpts {
        bytes: 0,
        flows: 50_000,
        seed: 1,
        mbps: bench::DEFAULT_MBPS,
    };
    let mut bytes = None;
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--bytes" => {
                bytes = Some(bench::parse_size(&value("--bytes")?).ok_or("bad --bytes size")?)
            }
            "--flows" => opts.flows = value("--flows")?.parse().map_err(|_| "bad --flows")?,
            "--seed" => opts.seed = value("--seed")?.parse().map_err(|_| "bad --seed")?,
            "--mbps" => opts.mbps = value("--mbps")?.parse().map_err(|_| "bad --mbps")?,
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            s if out.is_none() => out = Some(PathBuf::from(s)),
            s => return Err(format!("unexpected argument {s}\n{USAGE}")),
        }
    }
    opts.bytes = bytes.ok_or(format!("--bytes is required\n{USAGE}"))?;
    if opts.mbps == 0 {
        return Err("--mbps must be at least 1".into());
    }
    if opts.flows == 0 {
        return Err("--flows must be at least 1".into());
    }
    let path = out.ok_or(format!("missing output file\n{USAGE}"))?;
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (s, _) = bench::run(&opts, file).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "wrote {} bytes, {} packets, {} flows, {} DNS queries, {} retransmissions in {:.2} s: {:.0} MB/s",
        s.bytes,
        s.packets,
        s.flows,
        s.dns_queries,
        s.retransmissions,
        s.elapsed.as_secs_f64(),
        s.mb_per_s()
    );
    Ok(())
}
