//! Re-parses every generated capture with etherparse (an implementation
//! independent of ours) and checks checksums, TCP sequence arithmetic,
//! determinism, and that the committed fixtures are up to date.

use etherparse::{NetSlice, SlicedPacket, TcpSlice, UdpSlice};
use fixturegen::bench::{self, BenchOpts};
use fixturegen::fixtures::{self, Fixture};
use std::collections::HashMap;
use std::net::IpAddr;

struct Rec<'a> {
    ts_ns: u64,
    linktype: u32,
    data: &'a [u8],
    orig_len: u32,
}

fn u32_at(b: &[u8], off: usize, be: bool) -> u32 {
    let a: [u8; 4] = b[off..off + 4].try_into().unwrap();
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Classic pcap; returns the records and whether the file ended mid-record.
fn read_pcap(b: &[u8]) -> (Vec<Rec<'_>>, bool) {
    let (be, nano) = match b[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => panic!("not a pcap file"),
    };
    let linktype = u32_at(b, 20, be);
    let snaplen = u32_at(b, 16, be);
    let mut out = Vec::new();
    let mut off = 24;
    while off < b.len() {
        if off + 16 > b.len() {
            return (out, true);
        }
        let sec = u64::from(u32_at(b, off, be));
        let frac = u64::from(u32_at(b, off + 4, be));
        let cap = u32_at(b, off + 8, be) as usize;
        let orig_len = u32_at(b, off + 12, be);
        assert!(cap as u32 <= snaplen && cap as u32 <= orig_len);
        if off + 16 + cap > b.len() {
            return (out, true);
        }
        let ts_ns = sec * 1_000_000_000 + if nano { frac } else { frac * 1_000 };
        out.push(Rec {
            ts_ns,
            linktype,
            data: &b[off + 16..off + 16 + cap],
            orig_len,
        });
        off += 16 + cap;
    }
    (out, false)
}

/// Little-endian pcapng: IDB (link type, if_tsresol), EPB, SPB; other blocks
/// are skipped. SPBs get the previous packet's timestamp.
fn read_pcapng(b: &[u8]) -> Vec<Rec<'_>> {
    let mut ifaces: Vec<(u32, u32, u64)> = Vec::new(); // linktype, snaplen, units per second
    let mut out = Vec::new();
    let mut off = 0;
    let mut last_ts = 0;
    while off < b.len() {
        let typ = u32_at(b, off, false);
        let len = u32_at(b, off + 4, false) as usize;
        assert!(len % 4 == 0 && len >= 12);
        assert_eq!(
            u32_at(b, off + len - 4, false) as usize,
            len,
            "trailing block length"
        );
        let body = &b[off + 8..off + len - 4];
        match typ {
            0x0A0D_0D0A => assert_eq!(u32_at(body, 0, false), 0x1A2B_3C4D),
            1 => {
                let lt = u32::from(u16::from_le_bytes([body[0], body[1]]));
                let snap = u32_at(body, 4, false);
                let mut units = 1_000_000;
                let mut o = 8;
                while o + 4 <= body.len() {
                    let code = u16::from_le_bytes([body[o], body[o + 1]]);
                    let l = usize::from(u16::from_le_bytes([body[o + 2], body[o + 3]]));
                    if code == 0 {
                        break;
                    }
                    if code == 9 {
                        let r = body[o + 4];
                        units = if r & 0x80 != 0 {
                            1u64 << (r & 0x7f)
                        } else {
                            10u64.pow(u32::from(r))
                        };
                    }
                    o += 4 + ((l + 3) & !3);
                }
                ifaces.push((lt, snap, units));
            }
            6 => {
                let (lt, _, units) = ifaces[u32_at(body, 0, false) as usize];
                let t =
                    (u64::from(u32_at(body, 4, false)) << 32) | u64::from(u32_at(body, 8, false));
                let cap = u32_at(body, 12, false) as usize;
                let ts_ns = t / units * 1_000_000_000 + (t % units) * 1_000_000_000 / units;
                last_ts = ts_ns;
                out.push(Rec {
                    ts_ns,
                    linktype: lt,
                    data: &body[20..20 + cap],
                    orig_len: u32_at(body, 16, false),
                });
            }
            3 => {
                let (lt, snap, _) = ifaces[0];
                let orig = u32_at(body, 0, false);
                let cap = orig.min(if snap == 0 { u32::MAX } else { snap }) as usize;
                out.push(Rec {
                    ts_ns: last_ts,
                    linktype: lt,
                    data: &body[4..4 + cap],
                    orig_len: orig,
                });
            }
            _ => {}
        }
        off += len;
    }
    out
}

fn records(f: &Fixture) -> Vec<Rec<'_>> {
    if f.name.ends_with(".pcapng") {
        read_pcapng(&f.bytes)
    } else {
        read_pcap(&f.bytes).0
    }
}

/// Strips the link layer (etherparse handles Ethernet, VLANs and SLL).
fn slice(linktype: u32, d: &[u8]) -> SlicedPacket<'_> {
    let r = match linktype {
        1 => SlicedPacket::from_ethernet(d),
        113 => SlicedPacket::from_linux_sll(d),
        276 => SlicedPacket::from_ip(&d[20..]),
        101 | 228 | 229 => SlicedPacket::from_ip(d),
        0 | 108 => SlicedPacket::from_ip(&d[4..]),
        n => panic!("link type {n}"),
    };
    r.unwrap_or_else(|e| panic!("etherparse rejects a frame of link type {linktype}: {e:?}"))
}

#[derive(Default, Debug)]
struct Checked {
    ipv4: usize,
    tcp: usize,
    udp: usize,
    icmp4: usize,
    icmp6: usize,
    reassembled: usize,
}

/// One transport-layer packet, after IP reassembly.
struct L4 {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    /// The bytes in the capture (shorter than `len` when cut by snaplen).
    data: Vec<u8>,
    /// The true length from the IP header.
    len: usize,
}

type FragKey = (IpAddr, IpAddr, u32);

/// Decodes every record down to its transport layer: checks each IPv4 header
/// checksum, reassembles IP fragments (duplicates allowed), and keeps the
/// transport bytes of records cut by the snap length.
fn logical(name: &str, recs: &[Rec<'_>], n: &mut Checked) -> Vec<L4> {
    let mut out = Vec::new();
    let mut frags: HashMap<FragKey, Vec<(usize, Vec<u8>, bool)>> = HashMap::new();
    let mut add_frag = |key: FragKey,
                        part: (usize, Vec<u8>, bool),
                        proto: u8,
                        n: &mut Checked,
                        out: &mut Vec<L4>| {
        frags.entry(key).or_default().push(part);
        if let Some(l4) = reassemble(&frags[&key]) {
            n.reassembled += 1;
            frags.remove(&key);
            out.push(L4 {
                src: key.0,
                dst: key.1,
                proto,
                len: l4.len(),
                data: l4,
            });
        }
    };
    for (i, r) in recs.iter().enumerate() {
        let what = format!("{name} packet {}", i + 1);
        if (r.data.len() as u32) < r.orig_len {
            assert_eq!(
                r.linktype, 1,
                "{what}: only Ethernet fixtures are cut by snaplen"
            );
            let p = etherparse::LaxSlicedPacket::from_ethernet(r.data).unwrap();
            let Some(etherparse::LaxNetSlice::Ipv4(ip)) = p.net else {
                panic!("{what}: no IPv4")
            };
            let h = ip.header();
            assert_eq!(
                h.to_header().calc_header_checksum(),
                h.header_checksum(),
                "{what}: IPv4 header checksum"
            );
            n.ipv4 += 1;
            let len = usize::from(h.total_len()) - h.slice().len();
            let pl = ip.payload();
            assert!(pl.incomplete, "{what}: lax payload should be incomplete");
            out.push(L4 {
                src: h.source_addr().into(),
                dst: h.destination_addr().into(),
                proto: pl.ip_number.0,
                data: pl.payload.to_vec(),
                len,
            });
            continue;
        }
        let p = slice(r.linktype, r.data);
        match &p.net {
            Some(NetSlice::Ipv4(ip)) => {
                let h = ip.header();
                assert_eq!(
                    h.to_header().calc_header_checksum(),
                    h.header_checksum(),
                    "{what}: IPv4 header checksum"
                );
                n.ipv4 += 1;
                let (s, d) = (IpAddr::from(h.source()), IpAddr::from(h.destination()));
                let pl = ip.payload();
                if ip.is_payload_fragmented() {
                    let off = usize::from(h.fragments_offset().value()) * 8;
                    let key = (s, d, u32::from(h.identification()));
                    add_frag(
                        key,
                        (off, pl.payload.to_vec(), h.more_fragments()),
                        pl.ip_number.0,
                        n,
                        &mut out,
                    );
                } else {
                    out.push(L4 {
                        src: s,
                        dst: d,
                        proto: pl.ip_number.0,
                        data: pl.payload.to_vec(),
                        len: pl.payload.len(),
                    });
                }
            }
            Some(NetSlice::Ipv6(ip)) => {
                let h = ip.header();
                let (s, d) = (IpAddr::from(h.source()), IpAddr::from(h.destination()));
                let pl = ip.payload();
                if ip.is_payload_fragmented() {
                    // Our fragmented IPv6 packets carry the Fragment header first.
                    let start = r.data.len() - (40 + usize::from(h.payload_length()));
                    let all = &r.data[start..];
                    assert_eq!(all[6], 44, "{what}: Fragment header expected first");
                    let fh = &all[40..48];
                    let off = usize::from(u16::from_be_bytes([fh[2], fh[3]]) & !7);
                    let key = (s, d, u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]));
                    add_frag(
                        key,
                        (off, all[48..].to_vec(), fh[3] & 1 == 1),
                        fh[0],
                        n,
                        &mut out,
                    );
                } else {
                    out.push(L4 {
                        src: s,
                        dst: d,
                        proto: pl.ip_number.0,
                        data: pl.payload.to_vec(),
                        len: pl.payload.len(),
                    });
                }
            }
            other => panic!("{what}: no IP layer ({other:?})"),
        }
    }
    out
}

/// Verifies the checksum of a complete transport packet.
fn check_l4(p: &L4, what: &str, n: &mut Checked) {
    let l4 = &p.data[..];
    match (p.proto, p.src, p.dst) {
        (6, IpAddr::V4(s), IpAddr::V4(d)) => {
            let t = TcpSlice::from_slice(l4).unwrap();
            assert_eq!(
                t.calc_checksum_ipv4(s.octets(), d.octets()).unwrap(),
                t.checksum(),
                "{what}: TCP checksum"
            );
            n.tcp += 1;
        }
        (6, IpAddr::V6(s), IpAddr::V6(d)) => {
            let t = TcpSlice::from_slice(l4).unwrap();
            assert_eq!(
                t.calc_checksum_ipv6(s.octets(), d.octets()).unwrap(),
                t.checksum(),
                "{what}: TCP checksum"
            );
            n.tcp += 1;
        }
        (17, IpAddr::V4(s), IpAddr::V4(d)) => {
            let u = UdpSlice::from_slice(l4).unwrap();
            let c = u
                .to_header()
                .calc_checksum_ipv4_raw(s.octets(), d.octets(), u.payload())
                .unwrap();
            assert_eq!(c, u.checksum(), "{what}: UDP checksum");
            n.udp += 1;
        }
        (17, IpAddr::V6(s), IpAddr::V6(d)) => {
            let u = UdpSlice::from_slice(l4).unwrap();
            let c = u
                .to_header()
                .calc_checksum_ipv6_raw(s.octets(), d.octets(), u.payload())
                .unwrap();
            assert_eq!(c, u.checksum(), "{what}: UDP checksum");
            n.udp += 1;
        }
        (1, _, _) => {
            let icmp = etherparse::Icmpv4Slice::from_slice(l4).unwrap();
            assert_eq!(
                icmp.icmp_type().calc_checksum(icmp.payload()),
                icmp.checksum(),
                "{what}: ICMP checksum"
            );
            n.icmp4 += 1;
        }
        (58, IpAddr::V6(s), IpAddr::V6(d)) => {
            let icmp = etherparse::Icmpv6Slice::from_slice(l4).unwrap();
            assert!(
                icmp.is_checksum_valid(s.octets(), d.octets()),
                "{what}: ICMPv6 checksum"
            );
            n.icmp6 += 1;
        }
        (proto, ..) => panic!("{what}: unexpected protocol {proto}"),
    }
}

/// Checks every checksum in one capture; fragments are reassembled first,
/// packets cut by the snap length only get their IPv4 header checked.
fn check_capture(name: &str, recs: &[Rec<'_>]) -> Checked {
    let mut n = Checked::default();
    for (i, p) in logical(name, recs, &mut n).iter().enumerate() {
        if p.data.len() == p.len {
            check_l4(p, &format!("{name} transport packet {}", i + 1), &mut n);
        }
    }
    n
}

/// Reassembles fragments (duplicates allowed) once offset 0 through the
/// last fragment are contiguous.
fn reassemble(parts: &[(usize, Vec<u8>, bool)]) -> Option<Vec<u8>> {
    let total = parts.iter().find(|p| !p.2).map(|p| p.0 + p.1.len())?;
    let mut buf = vec![0u8; total];
    let mut have = vec![false; total];
    for (off, data, _) in parts {
        buf[*off..off + data.len()].copy_from_slice(data);
        have[*off..off + data.len()]
            .iter_mut()
            .for_each(|h| *h = true);
    }
    have.iter().all(|&h| h).then_some(buf)
}

#[test]
fn every_fixture_has_valid_checksums() {
    let mut total = Checked::default();
    for f in fixtures::all() {
        let recs = records(&f);
        assert_eq!(recs.len(), f.frames_in_file, "{}: record count", f.name);
        let n = check_capture(f.name, &recs);
        total.ipv4 += n.ipv4;
        total.tcp += n.tcp;
        total.udp += n.udp;
        total.icmp4 += n.icmp4;
        total.icmp6 += n.icmp6;
        total.reassembled += n.reassembled;
    }
    // Every kind of check ran: a parse failure would have shown as a panic,
    // a silently skipped layer would show here.
    assert!(total.tcp > 250 && total.udp > 20, "{total:?}");
    assert_eq!((total.icmp4, total.icmp6), (4, 1), "{total:?}");
    // fragments.pcap: (a) once despite the duplicate, (b), (c); (d) never.
    assert_eq!(total.reassembled, 3, "{total:?}");
}

#[test]
fn fixtures_are_deterministic() {
    let a = fixtures::all();
    let b = fixtures::all();
    for (x, y) in a.iter().zip(&b) {
        assert!(x.bytes == y.bytes, "{} differs between two runs", x.name);
    }
    assert_eq!(fixturegen::docs::readme(&a), fixturegen::docs::readme(&b));
}

#[test]
fn committed_fixtures_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut compared = 0;
    for f in fixtures::all() {
        if let Ok(on_disk) = std::fs::read(dir.join(f.name)) {
            assert!(
                on_disk == f.bytes,
                "fixtures/{} is stale: run fixtures/regenerate.sh",
                f.name
            );
            compared += 1;
        }
    }
    if compared == 0 {
        eprintln!("no committed fixtures found in {}", dir.display());
    }
}

/// (src, sport, dst, dport, seq, ack, flags, payload length) of a TCP packet.
type TcpFields = (IpAddr, u16, IpAddr, u16, u32, u32, u8, usize);

fn tcp_packets(name: &str, recs: &[Rec<'_>]) -> Vec<TcpFields> {
    let mut n = Checked::default();
    logical(name, recs, &mut n)
        .iter()
        .filter(|p| p.proto == 6)
        .map(|p| {
            let t = TcpSlice::from_slice(&p.data).unwrap();
            let len = p.len - t.header_len();
            (
                p.src,
                t.source_port(),
                p.dst,
                t.destination_port(),
                t.sequence_number(),
                t.acknowledgment_number(),
                t.slice()[13],
                len,
            )
        })
        .collect()
}

#[test]
fn tcp_fin_close_sequence_arithmetic() {
    let all = fixtures::all();
    let f = all.iter().find(|f| f.name == "tcp_fin_close.pcap").unwrap();
    let recs = records(f);
    let pkts = tcp_packets(f.name, &recs);
    let flags: Vec<u8> = pkts.iter().map(|p| p.6).collect();
    assert_eq!(
        flags,
        [0x02, 0x12, 0x10, 0x18, 0x10, 0x18, 0x18, 0x10, 0x11, 0x11, 0x10]
    );
    let lens: Vec<usize> = pkts.iter().map(|p| p.7).collect();
    assert_eq!(lens, [0, 0, 0, 100, 0, 1448, 552, 0, 0, 0, 0]);
    let t0 = recs[0].ts_ns;
    let rel: Vec<u64> = recs.iter().map(|r| (r.ts_ns - t0) / 1_000).collect();
    assert_eq!(
        rel,
        [0, 20_000, 20_100, 20_200, 40_200, 41_000, 41_100, 41_200, 100_000, 120_000, 120_100]
    );
    let (c_isn, s_isn) = (pkts[0].4, pkts[1].4);
    let (mut c_next, mut s_next) = (c_isn, s_isn);
    for (i, p) in pkts.iter().enumerate() {
        let from_client = p.1 == 40000;
        let (next, peer_next) = if from_client {
            (&mut c_next, s_next)
        } else {
            (&mut s_next, c_next)
        };
        assert_eq!(p.4, *next, "packet {}: seq", i + 1);
        if p.6 & 0x10 != 0 {
            assert_eq!(p.5, peer_next, "packet {}: ack", i + 1);
        }
        *next =
            next.wrapping_add(p.7 as u32 + u32::from(p.6 & 0x02 != 0) + u32::from(p.6 & 0x01 != 0));
    }
    assert_eq!(c_next.wrapping_sub(c_isn), 1 + 100 + 1);
    assert_eq!(s_next.wrapping_sub(s_isn), 1 + 2000 + 1);
    assert_eq!(&recs[3].data[54..70], b"GET / HTTP/1.1\r\n");
}

/// In every connection without deliberate anomalies (history without t/g),
/// each segment starts where the sender's previous one ended and every ACK
/// acknowledges everything the peer has sent so far.
#[test]
fn tcp_sequence_continuity_everywhere() {
    let all = fixtures::all();
    let mut checked = 0;
    for f in &all {
        let skip: Vec<u16> = f
            .scene
            .conns
            .iter()
            .filter(|c| c.history.contains(['t', 'T', 'g', 'G']))
            .map(|c| c.orig.port())
            .collect();
        // key: (client port, server port) oriented by the lower-numbered side.
        let mut next: HashMap<(IpAddr, u16, IpAddr, u16), u32> = HashMap::new();
        for (s, sp, d, dp, seq, ack, fl, len) in tcp_packets(f.name, &records(f)) {
            if skip.contains(&sp) || skip.contains(&dp) {
                continue;
            }
            let key = (s, sp, d, dp);
            let rev = (d, dp, s, sp);
            if fl & 0x02 != 0 && fl & 0x10 == 0 {
                // A new SYN (first or port reuse) resets both directions.
                next.remove(&rev);
                next.insert(key, seq);
            }
            if let Some(&n) = next.get(&key) {
                if fl & 0x04 == 0 || seq != 0 {
                    assert_eq!(seq, n, "{}: {s}:{sp} -> {d}:{dp} seq", f.name);
                }
            }
            if fl & 0x10 != 0 {
                if let Some(&peer) = next.get(&rev) {
                    assert_eq!(ack, peer, "{}: {s}:{sp} -> {d}:{dp} ack", f.name);
                }
            }
            let adv = len as u32 + u32::from(fl & 0x02 != 0) + u32::from(fl & 0x01 != 0);
            if fl & 0x04 == 0 {
                next.insert(key, seq.wrapping_add(adv));
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "{checked}");
}

#[test]
fn truncated_ends_inside_record_six() {
    let all = fixtures::all();
    let t = all.iter().find(|f| f.name == "truncated.pcap").unwrap();
    let full = all.iter().find(|f| f.name == "tcp_fin_close.pcap").unwrap();
    assert!(full.bytes.starts_with(&t.bytes));
    let (recs, cut) = read_pcap(&t.bytes);
    assert_eq!(recs.len(), 5);
    assert!(cut);
    let done: usize = 24 + recs.iter().map(|r| 16 + r.data.len()).sum::<usize>();
    assert_eq!(t.bytes.len(), done + 16 + 10);
}

#[test]
fn bench_is_deterministic_valid_and_stops_at_a_boundary() {
    let opts = BenchOpts {
        bytes: 3 << 20,
        flows: 100,
        seed: 7,
        mbps: bench::DEFAULT_MBPS,
    };
    let (s1, a) = bench::run(&opts, Vec::new()).unwrap();
    let (_, b) = bench::run(&opts, Vec::new()).unwrap();
    assert!(a == b, "bench output differs between two runs");
    assert_eq!(s1.bytes as usize, a.len());
    let (recs, cut) = read_pcap(&a);
    assert!(!cut);
    let last = 16 + recs.last().unwrap().data.len();
    assert!(a.len() as u64 >= opts.bytes && ((a.len() - last) as u64) < opts.bytes);
    let n = check_capture("bench", &recs);
    assert_eq!(n.tcp + n.udp, recs.len());
    let udp_share = n.udp as f64 / recs.len() as f64;
    assert!((0.03..0.07).contains(&udp_share), "DNS share {udp_share}");
    assert!(recs.windows(2).all(|w| w[0].ts_ns < w[1].ts_ns));
    // Paced at the link rate: the capture spans its bits at `mbps` (within 5 %).
    let span_s = (recs.last().unwrap().ts_ns - recs[0].ts_ns) as f64 / 1e9;
    let want_s = a.len() as f64 * 8.0 / (opts.mbps as f64 * 1e6);
    assert!(
        (span_s / want_s - 1.0).abs() < 0.05,
        "spans {span_s} s, want {want_s} s"
    );
    // Mostly MSS-sized server data.
    let full = recs
        .iter()
        .filter(|r| r.data.len() == 14 + 20 + 20 + 1448)
        .count();
    assert!(full * 2 > recs.len(), "{full} of {}", recs.len());
    // Port 443 carries TLS framed as real traffic is: every payload is whole records (the
    // server's first segment ServerHello + ChangeCipherSpec + application data, then one
    // application-data record a segment), and each client answers the server's first flight
    // with an application-data record (its Finished and request), so handshakes complete.
    let (mut tls_segs, mut client_app) = (0, 0);
    for r in &recs {
        let Ok(p) = SlicedPacket::from_ethernet(r.data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
            continue;
        };
        if (t.source_port() != 443 && t.destination_port() != 443) || t.payload().is_empty() {
            continue;
        }
        let mut rest = t.payload();
        while !rest.is_empty() {
            assert!(rest.len() >= 5, "a record header cut by the segment end");
            assert!(
                matches!(rest[0], 0x14..=0x17) && rest[1] == 3 && matches!(rest[2], 1..=3),
                "{:?}",
                &rest[..5]
            );
            let len = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            assert!(len <= rest.len(), "a record cut by the segment end");
            if t.destination_port() == 443 && rest[0] == 0x17 {
                client_app += 1;
            }
            rest = &rest[len..];
        }
        tls_segs += 1;
    }
    assert!(tls_segs > 1000, "{tls_segs} TLS segments");
    assert!(
        client_app > 20,
        "{client_app} client application-data records"
    );
}

/// Client payloads of `port`'s connection in capture order: (relative seq, bytes).
fn client_segments(f: &Fixture, port: u16) -> Vec<(u32, Vec<u8>)> {
    let recs = records(f);
    let mut n = Checked::default();
    let mut isn = None;
    let mut out = Vec::new();
    for p in logical(f.name, &recs, &mut n) {
        let t = TcpSlice::from_slice(&p.data).unwrap();
        if t.source_port() != port {
            continue;
        }
        if t.syn() {
            isn = Some(t.sequence_number());
        } else if !t.payload().is_empty() {
            let rel = t.sequence_number().wrapping_sub(isn.unwrap());
            out.push((rel, t.payload().to_vec()));
        }
    }
    out
}

#[test]
fn split_client_hello_reassembles_to_one_record() {
    let all = fixtures::all();
    let f = all
        .iter()
        .find(|f| f.name == "tls_client_hello_split.pcap")
        .unwrap();
    let segs = client_segments(f, 40290);
    let order: Vec<u32> = segs.iter().take(3).map(|s| s.0).collect();
    assert_eq!(order, [123, 1025, 1], "sent as parts 2, 3, 1");
    let mut first3 = segs[..3].to_vec();
    first3.sort();
    let rec: Vec<u8> = first3.into_iter().flat_map(|s| s.1).collect();
    assert_eq!(rec[0], 0x16);
    assert_eq!(
        usize::from(u16::from_be_bytes([rec[3], rec[4]])) + 5,
        rec.len()
    );
    assert!(rec.len() > 1448, "{}", rec.len());
    let sni = rec.windows(16).position(|w| w == b"proxy.golang.org");
    assert_eq!(sni, Some(117));
}

#[test]
fn forged_dns_answer_has_its_ip_fingerprints() {
    let all = fixtures::all();
    let f = all
        .iter()
        .find(|f| f.name == "dns_two_answers.pcap")
        .unwrap();
    let recs = records(f);
    // Ethernet + IPv4: TTL at 14 + 8, flags at 14 + 6, ID at 14 + 4.
    let ip = |i: usize| &recs[i].data[14..];
    let (forged, genuine) = (ip(3), ip(4));
    assert_eq!(
        (forged[8], &forged[4..6], forged[6] & 0x40),
        (59, &[0u8, 0][..], 0)
    );
    assert_eq!((genuine[8], genuine[6] & 0x40), (52, 0x40));
    let id = |p: &[u8]| u16::from_be_bytes([p[4], p[5]]);
    assert_eq!(id(genuine), id(ip(1)).wrapping_add(1));
    // Same DNS id; the forged one has no OPT (arcount 0), the genuine one has.
    let dns = |p: &[u8]| p[28..].to_vec();
    assert_eq!(dns(forged)[..2], dns(genuine)[..2]);
    assert_eq!(&dns(forged)[10..12], &[0, 0]);
    assert_eq!(&dns(genuine)[6..12], &[0, 2, 0, 0, 0, 1]);
}

#[test]
fn http_fixtures_start_with_the_documented_request_lines() {
    let all = fixtures::all();
    for (name, port, line) in [
        (
            "http_connect_tunnel.pcap",
            40320,
            &b"CONNECT proxy.golang.org:443 HTTP/1.1\r\nHost: proxy.golang.org:443\r\nUser-Agent: Go-http-client/1.1\r\n\r\n"[..],
        ),
        (
            "goproxy_http_403.pcap",
            40330,
            &b"GET /github.com/!burnt!sushi/toml/@v/list HTTP/1.1\r\n"[..],
        ),
    ] {
        let f = all.iter().find(|f| f.name == name).unwrap();
        let segs = client_segments(f, port);
        assert!(segs[0].1.starts_with(line), "{name}");
    }
}
