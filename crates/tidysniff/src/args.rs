//! Command-line flags as the user typed them (validated in each command's module).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Reads packet captures and explains what happened on the wire.
#[derive(Parser, Debug)]
#[command(name = "tidysniff", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One record per connection (Zeek conn.log fields), as JSON Lines or an aligned table.
    Log(LogArgs),
    /// Explains why `go mod tidy` / `go mod download` could not fetch: findings with evidence
    /// and fixes. Exit 0 when nothing is wrong, 1 on a warning or error, 2 on bad input.
    Analyze(AnalyzeArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines: one object per line.
    Json,
    /// An aligned table for people.
    Text,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RecordType {
    /// One record per connection (Zeek conn.log).
    Conn,
    /// DNS transactions with every response (Zeek dns.log and more).
    Dns,
    /// TLS handshakes (Zeek ssl.log and more).
    Tls,
    /// HTTP requests and responses (Zeek http.log and more).
    Http,
}

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// Most connections tracked at once (least recently seen are evicted and reported).
    #[arg(long, default_value_t = 200_000)]
    pub max_flows: usize,
    /// Print packet and decode statistics to stderr at the end.
    #[arg(long)]
    pub stats: bool,
    /// Record types to write, comma-separated: conn, dns, tls, http.
    #[arg(
        long = "type",
        value_delimiter = ',',
        default_value = "conn,dns,tls,http"
    )]
    pub types: Vec<RecordType>,
    /// Analysis engines, each on its own thread (default: 1 for stdin, inputs under 64 MiB and
    /// machines with fewer than 4 cores; else cores - 1, at most 8).
    #[arg(long)]
    pub threads: Option<usize>,
    /// pcap or pcapng files, or `-` for standard input; several are merged by timestamp.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Output format: a text report, or JSON Lines (`finding` records and one `summary`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// GOPROXY of the run (overrides every other source).
    #[arg(long)]
    pub goproxy: Option<String>,
    /// GONOPROXY of the run.
    #[arg(long)]
    pub gonoproxy: Option<String>,
    /// GOPRIVATE of the run.
    #[arg(long)]
    pub goprivate: Option<String>,
    /// GONOSUMDB of the run.
    #[arg(long)]
    pub gonosumdb: Option<String>,
    /// GOSUMDB of the run.
    #[arg(long)]
    pub gosumdb: Option<String>,
    /// GOINSECURE of the run.
    #[arg(long)]
    pub goinsecure: Option<String>,
    /// The output of `go env -json` on the machine of the run (ranks below the flags, above the
    /// environment).
    #[arg(long, value_name = "FILE")]
    pub go_env: Option<PathBuf>,
    /// Do not run `go env -json` for settings no other source gave.
    #[arg(long)]
    pub no_go_command: bool,
    /// Also report destinations unrelated to Go (role `other`).
    #[arg(long)]
    pub all: bool,
    /// Write the packets of every flagged flow (and the DNS packets that named it) to this pcap.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Most connections tracked at once.
    #[arg(long, default_value_t = 200_000)]
    pub max_flows: usize,
    /// pcap or pcapng files, or `-` for standard input; several are merged by timestamp.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
}
