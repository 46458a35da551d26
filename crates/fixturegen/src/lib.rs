//! `fixturegen`: the synthetic captures tidysniff is tested and benchmarked
//! on.
//!
//! Everything is written by hand and deterministic: IPv4/IPv6/TCP/UDP/ICMP
//! headers with correct checksums ([`wire`]), link-layer framing for every
//! link type we read ([`link`]), classic pcap and pcapng writers
//! ([`capture`]), scripted TCP connections with exact sequence arithmetic
//! ([`scene`]), the fixture files and their expected analysis
//! ([`fixtures`], documented by [`docs`]), and the large benchmark capture
//! ([`bench`](mod@bench)).

pub mod bench;
pub mod capture;
pub mod docs;
pub mod fixtures;
pub mod link;
pub mod payload;
pub mod rng;
pub mod scene;
pub mod split;
pub mod tls;
pub mod wire;

use std::io;
use std::path::Path;

/// Writes every fixture, `README.md` and `expected_conns.tsv` into `dir`
/// (overwriting); returns the names and sizes written.
pub fn write_fixtures(dir: &Path) -> io::Result<Vec<(String, usize)>> {
    std::fs::create_dir_all(dir)?;
    let all = fixtures::all();
    let mut written = Vec::new();
    for f in &all {
        std::fs::write(dir.join(f.name), &f.bytes)?;
        written.push((f.name.to_string(), f.bytes.len()));
    }
    for (name, text) in [
        ("README.md", docs::readme(&all)),
        ("expected_conns.tsv", docs::expected_tsv(&all)),
    ] {
        std::fs::write(dir.join(name), &text)?;
        written.push((name.to_string(), text.len()));
    }
    Ok(written)
}
