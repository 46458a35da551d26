//! `tidysniff`: explains from packets why `go mod tidy` could not fetch.
//!
//! Exit codes: 0 success; 1 findings of warning or error severity (`analyze`); 2 bad arguments or
//! unreadable input. A broken pipe on stdout is success.

mod analyze;
mod args;
mod evidence;
mod log;

use std::io;
use std::process::ExitCode;

/// mimalloc instead of glibc malloc: per-connection parser state and records are many small,
/// short-lived allocations; measured 25 % faster on `log --type conn` and 19 % with DNS/TLS/HTTP
/// (docs/design.md, Decisions). Wrapped so that a helper thread faults in the heap's next fresh
/// pages before the analysis thread touches them (`tidysniff_prefetch::PrefaultingAlloc`).
#[global_allocator]
static GLOBAL: tidysniff_prefetch::PrefaultingAlloc<mimalloc::MiMalloc> =
    tidysniff_prefetch::PrefaultingAlloc(mimalloc::MiMalloc);

use clap::Parser;

fn main() -> ExitCode {
    // mimalloc (`no_thp`) keeps the heap in small pages; the flow table asks for huge pages for
    // its entries (fewer TLB misses on a table read at random), which needs THP allowed again.
    tidysniff_prefetch::allow_huge_pages();
    tidysniff_prefetch::start_heap_prefault();
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("tidysniff: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: args::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        args::Command::Log(a) => log::run(a),
        args::Command::Analyze(a) => analyze::run(a),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
