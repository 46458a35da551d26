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
