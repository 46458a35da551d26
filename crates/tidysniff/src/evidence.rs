//! `analyze --evidence`: the packets of every flagged flow, written to a pcap for Wireshark.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tidysniff_core::decode::{decode_frame, Decoded};
use tidysniff_core::diagnose::Diagnosis;
use tidysniff_core::flow::Endpoint;
use tidysniff_core::source::{PacketSource, SourceEvent};

use crate::log::{open_sources, open_sources_tee, Warnings};

/// A temporary copy of standard input, removed on drop.
pub struct Spool {
    path: PathBuf,
}

impl Spool {
    pub fn new() -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "tidysniff-stdin-{}-{}.pcap",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        Ok(Spool { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub fn open_sources_spooled(
    paths: &[PathBuf],
    warnings: &Warnings,
    spool: &Spool,
) -> anyhow::Result<(Box<dyn PacketSource + Send>, bool)> {
    let f =
        std::fs::File::create(&spool.path).with_context(|| format!("{}", spool.path.display()))?;
    open_sources_tee(paths, warnings, Some(f))
}

fn ports(proto: u8, payload: &[u8]) -> Option<(u16, u16)> {
    if proto != 6 && proto != 17 {
        return None;
    }
    let b = payload.get(..4)?;
    Some((
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    ))
}

fn same(a: Endpoint, ip: core::net::IpAddr, port: u16) -> bool {
    a.addr == ip && a.port == port
}

/// Re-reads `inputs` and writes every packet of a flagged flow, and every frame a finding names,
/// to `path` (pcap, nanosecond timestamps, the link type of the first such packet; packets of
/// other link types are skipped with a warning). Returns the number of packets written.
pub fn write(path: &Path, inputs: &[PathBuf], d: &Diagnosis) -> anyhow::Result<u64> {
    let mut frames: Vec<u64> = d
        .findings
        .iter()
        .flat_map(|f| f.evidence.frames.iter().copied())
        .collect();
    frames.sort_unstable();
    frames.dedup();
    let warnings = Warnings::default();
    let (mut src, _) = open_sources(inputs, &warnings)?;
    let file = std::fs::File::create(path).with_context(|| format!("{}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut linktype = None;
    let mut frame = 0u64;
    let mut written = 0u64;
    let mut skipped = 0u64;
    loop {
        let ev = match src.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(_) => break,
        };
        let SourceEvent::Packet(p) = ev else { continue };
        frame += 1;
        let mut keep = frames.binary_search(&frame).is_ok();
        if !keep {
            if let Ok(Decoded::Ip { packet, .. }) = decode_frame(p.linktype, p.data) {
                if let Some((sp, dp)) = ports(packet.ip.protocol, packet.payload) {
                    let (s, t) = (packet.ip.src, packet.ip.dst);
                    keep = d.flows.iter().any(|f| {
                        p.ts >= f.first_ts
                            && p.ts <= f.last_ts
                            && ((same(f.orig, s, sp) && same(f.resp, t, dp))
                                || (same(f.resp, s, sp) && same(f.orig, t, dp)))
                    });
                }
            }
        }
        if !keep {
            continue;
        }
        let lt = *linktype.get_or_insert_with(|| {
            let lt = p.linktype.0;
            let _ = write_header(&mut out, lt);
            lt
        });
        if lt != p.linktype.0 {
            skipped += 1;
            continue;
        }
        let ns = p.ts.as_nanos();
        let secs = ns.div_euclid(1_000_000_000) as u32;
        let frac = ns.rem_euclid(1_000_000_000) as u32;
        out.write_all(&secs.to_le_bytes())?;
        out.write_all(&frac.to_le_bytes())?;
        out.write_all(&(p.data.len() as u32).to_le_bytes())?;
        out.write_all(&p.orig_len.to_le_bytes())?;
        out.write_all(p.data)?;
        written += 1;
    }
    if linktype.is_none() {
        write_header(&mut out, 1)?;
    }
    out.flush()?;
    if skipped > 0 {
        eprintln!("tidysniff: warning: {skipped} flagged packets of another link type left out of the evidence file");
    }
    Ok(written)
}

fn write_header(out: &mut impl Write, linktype: u16) -> io::Result<()> {
    out.write_all(&0xa1b2_3c4du32.to_le_bytes())?; // nanosecond pcap
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&0i32.to_le_bytes())?;
    out.write_all(&0u32.to_le_bytes())?;
    out.write_all(&262_144u32.to_le_bytes())?;
    out.write_all(&u32::from(linktype).to_le_bytes())
}
