//! Writes `fixtures/README.md` and `fixtures/expected_conns.tsv` from the
//! fixtures themselves, so the packet listings and counts cannot drift from
//! the captures.

use crate::fixtures::Fixture;
use crate::scene::{Proto, T0};
use std::fmt::Write;

/// Per-connection numbers counted from the frames that are in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    /// Layer-4 payload bytes in captured packets (retransmissions included).
    pub orig_payload: u64,
    pub resp_payload: u64,
    /// Zeek's orig_bytes/resp_bytes: TCP from sequence numbers (highest data
    /// byte seen, so bytes missing from the capture count and
    /// retransmissions do not), UDP and ICMP the payload sum.
    pub orig_bytes: u64,
    pub resp_bytes: u64,
}

pub fn counts(f: &Fixture) -> Vec<Counts> {
    let mut out = vec![Counts::default(); f.scene.conns.len()];
    for fr in &f.scene.frames[..f.frames_in_file] {
        let Some((c, is_orig)) = fr.conn else {
            continue;
        };
        let k = &mut out[c];
        let tcp = f.scene.conns[c].proto == Proto::Tcp;
        let (pkts, payload, bytes) = if is_orig {
            (&mut k.orig_pkts, &mut k.orig_payload, &mut k.orig_bytes)
        } else {
            (&mut k.resp_pkts, &mut k.resp_payload, &mut k.resp_bytes)
        };
        *pkts += 1;
        *payload += fr.payload as u64;
        if tcp {
            if let Some(end) = fr.stream_end {
                *bytes = (*bytes).max(end);
            }
        } else {
            *bytes += fr.payload as u64;
        }
    }
    out
}

fn endpoint(a: std::net::SocketAddr, proto: Proto) -> String {
    if proto == Proto::Icmp {
        a.ip().to_string()
    } else {
        a.to_string()
    }
}

const INTRO: &str = r#"# Fixtures

Every capture in this directory is produced by the `fixturegen` crate
(`crates/fixturegen`) and so is this README (with `expected_conns.tsv`),
except the `lab_*.pcap` captures, which are recorded from real OpenSSL and
Go programs by `lab/tls-lab.sh` (see [`lab/README.md`](lab/README.md)).
Do not edit them by hand: change the generator and run

```sh
fixtures/regenerate.sh        # = cargo run --release -p fixturegen -- fixtures fixtures/
```

The output is deterministic: fixed timestamps, ISNs, IP IDs, and a seeded
xorshift for the few random-looking bytes (TLS randoms, key shares), so
regenerating leaves `git status` clean. `cargo test -p fixturegen` re-parses
every fixture with etherparse and checks IP/TCP/UDP/ICMP checksums, TCP
sequence/ack continuity and byte-for-byte determinism.

## Conventions

- **Vantage point**: the captures are taken on the client host, 10.0.0.2 /
  2001:db8::2 (MAC 00:00:5e:00:53:02), behind the gateway 10.0.0.1 /
  2001:db8::1 (MAC 00:00:5e:00:53:01). Client packets appear at send time,
  server packets when they arrive; an RTT of 20 ms shows as SYN at t and
  SYN-ACK at t + 20 ms.
- **Addresses**: servers in 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
  and 2001:db8:1::/48 (documentation ranges). Every flow of every fixture has
  its own client port (40000-40399), so a test can pick a flow by port.
- **IP**: IPv4 DF set (except on fragments), IP ID incrementing per sender,
  TTL / hop limit 64 from the client and the gateway, 52 from servers (one
  deliberate exception: the forged-looking DNS answer in
  `dns_two_answers.pcap`).
  Received Ethernet frames are zero-padded to 60 bytes (sent frames are not,
  as on Linux): use the IP total length, not the frame length.
- **TCP**: SYN and SYN-ACK carry MSS 1460 (1440 over IPv6), SACK-permitted
  and window scale 7; other segments have a plain 20-byte header. Full data
  segments carry 1448 bytes. Sequence numbers in the listings are relative
  (seq 0 = the ISN, like Wireshark); ISNs in the files are fixed
  pseudo-random values.
- **Timestamps** start at t0 = 1700000000 s (2023-11-14T22:13:20Z); listing
  times are seconds after the file's first packet.

## What an analyzer should report

For each connection the tables give `conn_state` and `history` by Zeek's
rules (`scripts/base/protocols/conn/main.zeek` `conn_state()`, and
`update_history()` / `update_last_seq()` in Zeek's
`TCPSessionAdapter.cc`): one history letter per kind of packet and
direction, upper case from the originator (`S` SYN, `h` SYN-ACK, `A` pure
ACK, `D` data, `F` FIN, `R` RST); a SYN, FIN or RST letter repeats only when
its sequence number changes; `t` marks a segment that does not extend past
the highest sequence number seen (a retransmission *or* a reordered
segment); `g` a content gap (the peer ACKs bytes the capture never had);
`^` roles flipped because the first packet seen was a SYN-ACK from a likely
server port. UDP is `SF`/`Dd` with a reply and `S0`/`D` without; ICMP errors
are their own `icmp` conns (orig_p = type, resp_p = code), state `OTH`.

Columns: `pkts` = packets per direction in the file (IP fragments count
once, on the fragment that completes the datagram); `payload` = layer-4
payload bytes in those packets (retransmitted bytes counted again; for ICMP
the bytes after the 8-byte ICMP header, i.e. the quoted packet);
`bytes` = Zeek's `orig_bytes`/`resp_bytes` (for TCP the sequence space
covered by data, so a segment missing from the capture still counts and a
retransmission does not). `expected_conns.tsv` has the same rows,
machine-readable.
"#;

const BENCH: &str = r#"## Benchmark captures (`fixturegen bench`)

```sh
cargo run --release -p fixturegen -- bench --bytes 1G [--flows 50000] [--seed 1] /tmp/bench.pcap
```

Not stored in the repository; generated on demand. A pcap (µs, Ethernet,
snaplen 262144) streamed through a large buffer until the first record
boundary past `--bytes` (suffixes K/M/G/T, powers of 1024). `--flows` TCP
flows are active at once; a new flow starts whenever one ends, and each step
emits the next packet of a randomly chosen active flow, so the flows
interleave. Timestamps start at t0 and advance 1-3 µs per packet (2 µs on
average). Per flow:

- client 10.a.b.c (a, b random; c in 2..=254), ephemeral port, to a server
  in 192.0.2.0/24 or 198.51.100.0/24; port 443 for 90% of the flows, 80 for
  10%;
- SYN, SYN-ACK, ACK; the client's first payload (port 443: a 517-byte TLS
  1.3 ClientHello record with SNI `host<N>.example`; port 80: `GET /obj/<N>
  HTTP/1.1` with Host and `User-Agent: Go-http-client/1.1`), the server's
  first payload (443: ServerHello + ChangeCipherSpec + an application_data
  record filling a 1448-byte segment; 80: `HTTP/1.1 200 OK` head whose
  Content-Length is exactly the bytes that follow), then a geometric number
  (mean 40) of 1448-byte server segments with a client ACK after every
  second one and after the last, then client FIN, server FIN-ACK, client
  ACK;
- 1% of flows are SYN-only, retransmitted at +1 s and +3 s of capture time
  and never answered; 0.5% are refused (RST-ACK); 0.5% are reset by the
  server after a few data segments; about 0.5% of server data segments are
  sent twice (the copy one step later);
- interleaved, DNS over UDP from the clients to 192.0.2.53:53 (A or AAAA
  queries for `host<N>.example`, answered about 1 ms later with one record):
  about 5% of the packets.

IP, TCP and UDP checksums are all valid: payload checksums are precomputed
per payload block and combined with the pseudo-header and header sums, so
they cost a few additions per packet. The tool prints bytes, packets, flows,
elapsed time and MB/s when done.
"#;

pub fn readme(fixtures: &[Fixture]) -> String {
    let mut s = String::from(INTRO);
    s.push_str("\n## Files\n\n| file | format | packets | bytes |\n|---|---|---:|---:|\n");
    for f in fixtures {
        let _ = writeln!(
            s,
            "| [`{}`](#{}) | {} | {} | {} |",
            f.name,
            anchor(f.name),
            f.format,
            f.frames_in_file,
            f.bytes.len()
        );
    }
    for f in fixtures {
        let _ = write!(s, "\n## {}\n\n{}\n\n", f.name, f.about);
        s.push_str("| proto | orig | resp | conn_state | history | pkts o/r | payload o/r | bytes o/r | notes |\n");
        s.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for (c, k) in f.scene.conns.iter().zip(counts(f)) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | `{}` | {} / {} | {} / {} | {} / {} | {} |",
                c.proto.name(),
                endpoint(c.orig, c.proto),
                endpoint(c.resp, c.proto),
                c.state,
                c.history,
                k.orig_pkts,
                k.resp_pkts,
                k.orig_payload,
                k.resp_payload,
                k.orig_bytes,
                k.resp_bytes,
                c.note
            );
        }
        let first = f.scene.frames.first().map_or(T0, |x| x.ts);
        let multi = f.scene.frames.iter().any(|x| x.iface != 0);
        s.push_str("\n```text\n");
        for (i, fr) in f.scene.frames.iter().enumerate() {
            let dt = fr.ts - first;
            let time = if f.time_digits == 9 {
                format!("{}.{:09}", dt / 1_000_000_000, dt % 1_000_000_000)
            } else {
                format!("{}.{:06}", dt / 1_000_000_000, (dt % 1_000_000_000) / 1_000)
            };
            let iface = if multi {
                format!("if{} ", fr.iface)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "{:>3} {:>12} {}{:>5}B  {}",
                i + 1,
                time,
                iface,
                fr.data.len(),
                fr.note
            );
        }
        s.push_str("```\n");
    }
    s.push('\n');
    s.push_str(BENCH);
    s
}

fn anchor(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

pub fn expected_tsv(fixtures: &[Fixture]) -> String {
    let mut s = String::from(
        "file\tproto\torig_h\torig_p\tresp_h\tresp_p\tconn_state\thistory\torig_pkts\tresp_pkts\torig_payload\tresp_payload\torig_bytes\tresp_bytes\tnote\n",
    );
    for f in fixtures {
        for (c, k) in f.scene.conns.iter().zip(counts(f)) {
            let _ = writeln!(
                s,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                f.name,
                c.proto.name(),
                c.orig.ip(),
                c.orig.port(),
                c.resp.ip(),
                c.resp.port(),
                c.state,
                c.history,
                k.orig_pkts,
                k.resp_pkts,
                k.orig_payload,
                k.resp_payload,
                k.orig_bytes,
                k.resp_bytes,
                c.note.replace(['\t', '\n'], " ")
            );
        }
    }
    s
}
