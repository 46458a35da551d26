//! Every fixture capture: the scene that produces it, the file format it is
//! written in, and what a Zeek-like analyzer should report for it.
//!
//! Expected `conn_state` and `history` follow Zeek's rules
//! (`scripts/base/protocols/conn/main.zeek` `conn_state()`, and
//! `update_history()` / `update_last_seq()` in
//! `src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`): one letter per
//! kind of packet and direction (upper case from the originator), a repeated
//! SYN/FIN/RST letter only when its sequence number changes, `t` for a
//! segment whose end is not beyond the highest sequence number already seen
//! (retransmission *or* reordering), `g` when an ACK covers bytes the capture
//! never had, `^` when the roles were flipped because the first packet was
//! a SYN-ACK from a well-known port.

use crate::capture::{self, Opt, PcapFormat, PcapNg, Record, TsRes};
use crate::link::{Link, Vlan};
use crate::payload::{self, dns_query, dns_response, http_get, http_response, QTYPE_A};
use crate::rng::XorShift64;
use crate::scene::*;
use crate::wire::{self, flags};
use std::net::{IpAddr, Ipv6Addr};

mod app;

/// One fixture file.
pub struct Fixture {
    pub name: &'static str,
    /// Link type and file format, for the summary table.
    pub format: String,
    /// What the file is for and how it is built (Markdown).
    pub about: String,
    pub scene: Scene,
    /// How many of the scene's frames are in the file (all but for
    /// `truncated.pcap`).
    pub frames_in_file: usize,
    /// Digits after the decimal point in the packet listing.
    pub time_digits: usize,
    pub bytes: Vec<u8>,
}

fn h4() -> IpAddr {
    IpAddr::V4(HOST4)
}
fn h6() -> IpAddr {
    IpAddr::V6(HOST6)
}
fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn pcap_of(scene: &Scene, fmt: &PcapFormat) -> Vec<u8> {
    capture::write_pcap(
        fmt,
        scene.frames.iter().map(|f| Record {
            ts_ns: f.ts,
            data: &f.data,
        }),
    )
}

fn fixture(name: &'static str, about: &str, scene: Scene, fmt: PcapFormat) -> Fixture {
    let bytes = pcap_of(&scene, &fmt);
    let res = if fmt.res == TsRes::Nano { "ns" } else { "µs" };
    let endian = if fmt.big_endian {
        "big-endian"
    } else {
        "little-endian"
    };
    let link = match fmt.linktype {
        1 => "EN10MB (1)".to_string(),
        113 => "LINUX_SLL (113)".to_string(),
        276 => "LINUX_SLL2 (276)".to_string(),
        101 => "RAW (101)".to_string(),
        228 => "IPV4 (228)".to_string(),
        229 => "IPV6 (229)".to_string(),
        0 => "NULL (0)".to_string(),
        108 => "LOOP (108)".to_string(),
        n => n.to_string(),
    };
    let snap = if fmt.snaplen == 262_144 {
        String::new()
    } else {
        format!(", snaplen {}", fmt.snaplen)
    };
    Fixture {
        name,
        format: format!("pcap {res} {endian}, {link}{snap}"),
        about: about.trim().to_string(),
        frames_in_file: scene.frames.len(),
        time_digits: if fmt.res == TsRes::Nano { 9 } else { 6 },
        scene,
        bytes,
    }
}

/// Deterministic text of exactly `len` bytes.
fn filler(tag: &str, len: usize) -> Vec<u8> {
    let line = format!("{tag}\n");
    line.bytes().cycle().take(len).collect()
}

fn http_post(host: &str, len: usize) -> Vec<u8> {
    let head = |n: usize| {
        format!("POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: {n}\r\n\r\n")
    };
    let mut body = len - head(0).len();
    while head(body).len() + body != len {
        body = len - head(body).len();
    }
    let mut v = head(body).into_bytes();
    v.extend(filler("fixturegen upload body", body));
    v
}

/// All fixtures, in README order.
pub fn all() -> Vec<Fixture> {
    vec![
        tcp_fin_close(),
        tcp_syn_rst(),
        tcp_syn_timeout(),
        icmp_admin_prohibited(),
        vlan_qinq(),
        ipv6(),
        fragments(),
        linktype("linktypes_sll.pcap", Link::Sll, 40040, LinkMix::V4TcpV6Udp),
        linktype(
            "linktypes_sll2.pcap",
            Link::Sll2 { ifindex: 2 },
            40042,
            LinkMix::V4TcpV6Udp,
        ),
        linktype("linktypes_raw.pcap", Link::Raw, 40044, LinkMix::Raw),
        linktype("linktypes_ipv4.pcap", Link::Ipv4, 40050, LinkMix::V4Only),
        linktype("linktypes_ipv6.pcap", Link::Ipv6, 40052, LinkMix::V6Only),
        linktype(
            "linktypes_null.pcap",
            Link::Null,
            40054,
            LinkMix::V4TcpV6Udp,
        ),
        linktype(
            "linktypes_loop.pcap",
            Link::Loop,
            40056,
            LinkMix::V4TcpV6Udp,
        ),
        pcapng_two_interfaces(),
        nanosecond(),
        truncated(),
        snaplen(),
        bigendian(),
        tcp_states(),
        app::tls_client_hello_split(),
        app::dns_two_answers(),
        app::dns_tcp(),
        app::http_connect_tunnel(),
        app::goproxy_http_403(),
    ]
}

fn fin_close_scene() -> Scene {
    let mut sc = Scene::new(Link::Ethernet);
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40000),
        sa(v4(192, 0, 2, 10), 80),
        "SF",
        "ShADadFf",
    );
    let req = http_get("example", "/", Some(100));
    let resp = http_response(2000);
    exchange(
        &mut sc,
        &mut t,
        T0,
        &Exchange {
            rtt: 20 * MS,
            req: &req,
            resp: &resp,
            server_ack: true,
        },
    );
    close_by_client(&mut sc, &mut t, T0 + 100 * MS, 20 * MS);
    sc.note(
        t.conn,
        "HTTP GET of exactly 100 bytes, 2000-byte response (1448 + 552)",
    );
    sc
}

fn tcp_fin_close() -> Fixture {
    fixture(
        "tcp_fin_close.pcap",
        "A complete HTTP/1.1 exchange closed with FINs: the reference connection. RTT 20 ms; \
         handshake at t0, request at +20.2 ms, the server's pure ACK at +40.2 ms, its 2000-byte \
         response in two segments (1448 + 552) at +41.0 and +41.1 ms, client ACK, client FIN at \
         +100 ms, server FIN-ACK at +120 ms, final ACK. SYN and SYN-ACK carry MSS 1460, SACK-permitted \
         and window scale 7.",
        fin_close_scene(),
        PcapFormat::micro(1),
    )
}

fn tcp_syn_rst() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40001),
        sa(v4(192, 0, 2, 11), 443),
        "REJ",
        "Sr",
    );
    let syn = t.syn();
    sc.tcp(T0, &t, &syn);
    sc.tcp(T0 + 15 * MS, &t, &t.rst_refuse());
    sc.note(
        t.conn,
        "refused: RST-ACK (seq 0, ack ISN+1) 15 ms after the SYN",
    );
    fixture(
        "tcp_syn_rst.pcap",
        "A connection attempt to a closed port: SYN at t0 answered 15 ms later by RST-ACK.",
        sc,
        PcapFormat::micro(1),
    )
}

fn tcp_syn_timeout() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let mut a = Tcp::new(
        &mut sc,
        sa(h4(), 40002),
        sa(v4(203, 0, 113, 5), 443),
        "S0",
        "S",
    );
    sc.note(
        a.conn,
        "7 SYNs, same ISN, at +0/1/3/7/15/31/63 s (Linux backoff); nothing comes back. One flow with \
         6 SYN retransmissions. Stock Zeek would instead log 5 S0 conns, SYNs {0,1,3}, {7}, {15}, \
         {31}, {63}: its attempt timer (tcp_attempt_delay, 5 s) drops a SYN-only connection, so a \
         later SYN starts a new one",
    );
    let mut b = Tcp::new(
        &mut sc,
        sa(h4(), 40003),
        sa(v4(192, 0, 2, 10), 443),
        "SF",
        "ShADdFf",
    );
    sc.note(
        b.conn,
        "200 bytes each way (TLS application_data records), RTT 30 ms, FIN close",
    );
    let mut rng = XorShift64::new(3);
    let syn = a.syn();
    sc.tcp(T0, &a, &syn);
    let req = payload::tls_app_data(200, &mut rng);
    let resp = payload::tls_app_data(200, &mut rng);
    exchange(
        &mut sc,
        &mut b,
        T0 + 900 * MS,
        &Exchange {
            rtt: 30 * MS,
            req: &req,
            resp: &resp,
            server_ack: false,
        },
    );
    sc.tcp(T0 + SEC, &a, &syn);
    close_by_client(&mut sc, &mut b, T0 + 1100 * MS, 30 * MS);
    for s in [3, 7, 15, 31, 63] {
        sc.tcp(T0 + s * SEC, &a, &syn);
    }
    fixture(
        "tcp_syn_timeout.pcap",
        "An unanswered SYN retransmitted with Linux's exponential backoff (same ISN and ports, new IP \
         ID each time), next to a successful connection from the same host at +0.9 s so the file shows \
         the contrast. The first retransmission (+1 s) falls inside the successful connection.",
        sc,
        PcapFormat::micro(1),
    )
}

fn icmp_admin_prohibited() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let gw = IpAddr::V4(GW4);
    // IPv4 SYN refused by the gateway's filter, twice.
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40004),
        sa(v4(198, 51, 100, 7), 443),
        "S0",
        "S",
    );
    sc.note(
        t.conn,
        "SYN + one retransmission at +1 s, each answered by ICMP 3/13 from 10.0.0.1",
    );
    let icmp_a = sc.conn(Proto::Icmp, sa(gw, 3), sa(h4(), 13), "OTH", "-");
    sc.note(
        icmp_a,
        "2 x ICMP dest-unreachable/admin-prohibited, each quoting IP header + 8 bytes of the SYN",
    );
    let syn = t.syn();
    for (i, ts) in [T0, T0 + SEC].into_iter().enumerate() {
        let l3 = sc.tcp(ts, &t, &syn);
        let what = format!("admin prohibited, for SYN #{}", i + 1);
        sc.icmp4(ts + 5 * MS, gw, h4(), 3, 13, &l3[..28], Some(icmp_a), &what);
    }
    // IPv6 SYN refused the same way.
    let gw6 = IpAddr::V6(GW6);
    let mut t6 = Tcp::new(
        &mut sc,
        sa(h6(), 40005),
        sa(v6("2001:db8:1::7"), 443),
        "S0",
        "S",
    );
    sc.note(t6.conn, "answered by ICMPv6 1/1 from 2001:db8::1");
    let icmp6 = sc.conn(Proto::Icmp, sa(gw6, 1), sa(h6(), 1), "OTH", "-");
    sc.note(
        icmp6,
        "ICMPv6 dest-unreachable/admin-prohibited quoting the whole SYN",
    );
    let syn6 = t6.syn();
    let l3 = sc.tcp(T0 + 2 * SEC, &t6, &syn6);
    sc.icmp6(
        T0 + 2 * SEC + 5 * MS,
        GW6,
        HOST6,
        1,
        1,
        &l3,
        Some(icmp6),
        "admin prohibited",
    );
    // UDP with TTL 1: time exceeded from the first hop.
    let dns = sa(v4(192, 0, 2, 53), 53);
    let u1 = sc.conn(Proto::Udp, sa(h4(), 40006), dns, "S0", "D");
    sc.note(u1, "DNS query sent with TTL 1 (traceroute style)");
    let icmp11 = sc.conn(Proto::Icmp, sa(gw, 11), sa(h4(), 0), "OTH", "-");
    sc.note(
        icmp11,
        "ICMP time-exceeded quoting the whole query (TTL 1 as received)",
    );
    let q = dns_query(0x1106, "ttl.example", QTYPE_A, None);
    let ttl1 = Opts {
        ttl: Some(1),
        ..Opts::default()
    };
    let l3 = sc.udp(
        T0 + 3 * SEC,
        sa(h4(), 40006),
        dns,
        &q,
        Some(u1),
        "DNS query id=0x1106 A ttl.example (TTL 1)",
        &ttl1,
    );
    sc.icmp4(
        T0 + 3 * SEC + 2 * MS,
        gw,
        h4(),
        11,
        0,
        &l3,
        Some(icmp11),
        "time exceeded in transit",
    );
    // UDP to a host without a DNS server: port unreachable from the host.
    let srv = v4(192, 0, 2, 54);
    let u2 = sc.conn(Proto::Udp, sa(h4(), 40007), sa(srv, 53), "S0", "D");
    sc.note(u2, "DNS query to a host with nothing on port 53");
    let icmp33 = sc.conn(Proto::Icmp, sa(srv, 3), sa(h4(), 3), "OTH", "-");
    sc.note(
        icmp33,
        "ICMP port unreachable from 192.0.2.54 itself, quoting the whole query",
    );
    let q = dns_query(0x1107, "closed.example", QTYPE_A, None);
    let l3 = sc.udp(
        T0 + 4 * SEC,
        sa(h4(), 40007),
        sa(srv, 53),
        &q,
        Some(u2),
        "DNS query id=0x1107 A closed.example",
        &Opts::default(),
    );
    sc.icmp4(
        T0 + 4 * SEC + 20 * MS,
        srv,
        h4(),
        3,
        3,
        &l3,
        Some(icmp33),
        "port unreachable",
    );
    fixture(
        "icmp_admin_prohibited.pcap",
        "ICMP errors that explain failed attempts. A TCP flow matcher should tie each ICMP error to \
         the flow its quoted packet belongs to: 10.0.0.2:40004 -> 198.51.100.7:443 (twice), \
         [2001:db8::2]:40005 -> [2001:db8:1::7]:443, 10.0.0.2:40006 -> 192.0.2.53:53 (time exceeded) \
         and 10.0.0.2:40007 -> 192.0.2.54:53 (port unreachable). Zeek logs each ICMP error as an icmp \
         conn keyed by sender, type (orig_p) and code (resp_p).",
        sc,
        PcapFormat::micro(1),
    )
}

fn vlan_qinq() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let tagged = Opts {
        vlans: vec![Vlan::dot1q(100)],
        ..Opts::default()
    };
    let qinq = Opts {
        vlans: vec![Vlan::dot1ad(200), Vlan::dot1q(300)],
        ..Opts::default()
    };
    for (i, (port, srv, o, what)) in [
        (40030, v4(192, 0, 2, 10), tagged.clone(), "802.1Q VID 100"),
        (
            40031,
            v4(192, 0, 2, 11),
            qinq,
            "QinQ: 802.1ad VID 200 outside, 802.1Q VID 300 inside",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut t = Tcp::new(&mut sc, sa(h4(), port), sa(srv, 80), "SF", "ShADdFf");
        t.o = o;
        sc.note(t.conn, &format!("{what}; 10 bytes each way"));
        let t0 = T0 + i as u64 * SEC;
        let last = exchange(
            &mut sc,
            &mut t,
            t0,
            &Exchange {
                rtt: 10 * MS,
                req: b"ping vlan\n",
                resp: b"pong vlan\n",
                server_ack: false,
            },
        );
        close_by_client(&mut sc, &mut t, last + 5 * MS, 10 * MS);
    }
    dns_exchange(
        &mut sc,
        T0 + 2 * SEC,
        8 * MS,
        sa(h4(), 40032),
        sa(v4(192, 0, 2, 53), 53),
        0x3232,
        "vlan.example",
        v4(192, 0, 2, 80),
        &tagged,
    );
    let last = sc.conns.len() - 1;
    sc.note(last, "802.1Q VID 100");
    fixture(
        "vlan_qinq.pcap",
        "VLAN-tagged traffic on Ethernet: a TCP connection with one 802.1Q tag (VID 100) at t0, one \
         with an 802.1ad outer tag (TPID 0x88a8, VID 200) and an 802.1Q inner tag (VID 300) at +1 s, \
         and a DNS query/response with one 802.1Q tag (VID 100) at +2 s. The decoder must skip the \
         tags to find IPv4.",
        sc,
        PcapFormat::micro(1),
    )
}

fn ipv6() -> Fixture {
    use wire::Ext;
    let mut sc = Scene::new(Link::Ethernet);
    let mut rng = XorShift64::new(6);
    let mut t = Tcp::new(
        &mut sc,
        sa(h6(), 40010),
        sa(v6("2001:db8:1::10"), 443),
        "SF",
        "ShADdFf",
    );
    sc.note(
        t.conn,
        "300 bytes each way; some packets carry Hop-by-Hop and/or Destination Options headers",
    );
    let hbh = Opts {
        exts: vec![Ext::hop_by_hop_padn()],
        ..Opts::default()
    };
    let both = Opts {
        exts: vec![Ext::hop_by_hop_padn(), Ext::dest_opts_padn()],
        ..Opts::default()
    };
    let dst = Opts {
        exts: vec![Ext::dest_opts_padn()],
        ..Opts::default()
    };
    let plain = Opts::default();
    let rtt = 25 * MS;
    let syn = t.syn();
    sc.tcp_with(T0, &t, &syn, &hbh);
    let s = t.syn_ack();
    sc.tcp_with(T0 + rtt, &t, &s, &plain);
    let a = t.ack(Side::C);
    sc.tcp_with(T0 + rtt + 100 * US, &t, &a, &plain);
    let d = t.data(Side::C, &payload::tls_app_data(300, &mut rng));
    sc.tcp_with(T0 + rtt + 200 * US, &t, &d, &both);
    let d = t.data(Side::S, &payload::tls_app_data(300, &mut rng));
    sc.tcp_with(T0 + 2 * rtt + 200 * US, &t, &d, &dst);
    let a = t.ack(Side::C);
    sc.tcp_with(T0 + 2 * rtt + 300 * US, &t, &a, &plain);
    let f = t.fin(Side::C);
    sc.tcp_with(T0 + 100 * MS, &t, &f, &hbh);
    let f = t.fin(Side::S);
    sc.tcp_with(T0 + 100 * MS + rtt, &t, &f, &plain);
    let a = t.ack(Side::C);
    sc.tcp_with(T0 + 100 * MS + rtt + 100 * US, &t, &a, &plain);
    dns_exchange(
        &mut sc,
        T0 + SEC,
        12 * MS,
        sa(h6(), 40011),
        sa(v6("2001:db8:1::53"), 53),
        0x6a6a,
        "v6.example",
        v6("2001:db8:1::10"),
        &plain,
    );
    fixture(
        "ipv6.pcap",
        "IPv6 over Ethernet. The TCP connection's SYN and client FIN carry an 8-byte Hop-by-Hop Options \
         header (one PadN option), the client's data carries Hop-by-Hop then Destination Options, the \
         server's data a Destination Options header; the other packets have none. The decoder must walk \
         the extension-header chain to reach TCP. At +1 s a DNS AAAA query/response over IPv6.",
        sc,
        PcapFormat::micro(1),
    )
}

fn fragments() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    // (a) + (e): 3008-byte UDP datagram, fragments sent 2, 3, 2 again, 1.
    let dns = sa(v4(192, 0, 2, 53), 53);
    let ca = sc.conn(Proto::Udp, sa(h4(), 40020), dns, "SF", "Dd");
    sc.note(
        ca,
        "(a)+(e) 3000-byte DNS query (EDNS0 padding) in 3 IPv4 fragments sent in the order 2, 3, 2 \
         (exact duplicate), 1; reply unfragmented. Counted once, after reassembly",
    );
    let q = dns_query(0xf2a0, "fragmented.example", QTYPE_A, Some(3000));
    let l4 = wire::udp(h4(), dns.ip(), 40020, 53, &q);
    let meta = Meta {
        note: "UDP 10.0.0.2:40020 -> 192.0.2.53:53 len=3000 DNS query id=0xf2a0 A fragmented.example (padded)".into(),
        conn: Some((ca, true)),
        payload: q.len(),
        stream_end: None,
    };
    let last = sc.ipv4_fragments(
        T0,
        h4(),
        dns.ip(),
        wire::PROTO_UDP,
        &l4,
        1480,
        &[1, 2, 1, 0],
        meta,
    );
    let r = dns_response(
        0xf2a0,
        "fragmented.example",
        QTYPE_A,
        &[v4(192, 0, 2, 80)],
        300,
    );
    sc.udp(
        last + 25 * MS,
        dns,
        sa(h4(), 40020),
        &r,
        Some(ca),
        "DNS response id=0xf2a0 A fragmented.example -> 192.0.2.80",
        &Opts::default(),
    );

    // (b) one 2000-byte TCP segment split into 2 IPv4 fragments.
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40021),
        sa(v4(192, 0, 2, 10), 80),
        "SF",
        "ShADdFf",
    );
    sc.note(t.conn, "(b) the 2000-byte POST travels as one TCP segment (DF clear) in 2 IPv4 fragments, in order");
    let rtt = 20 * MS;
    let ts = handshake(&mut sc, &mut t, T0 + SEC, rtt);
    let post = http_post("example", 2000);
    let d = t.data(Side::C, &post);
    let ts = sc.tcp_fragmented(ts + 100 * US, &t, &d, 1480);
    let resp = http_response(300);
    let d = t.data(Side::S, &resp);
    sc.tcp(ts + rtt, &t, &d);
    let a = t.ack(Side::C);
    sc.tcp(ts + rtt + 100 * US, &t, &a);
    close_by_client(&mut sc, &mut t, ts + rtt + 5 * MS, rtt);

    // (c) IPv6: 2508-byte UDP datagram in 2 fragments behind a Fragment header.
    let dns6 = sa(v6("2001:db8:1::53"), 53);
    let cc = sc.conn(Proto::Udp, sa(h6(), 40022), dns6, "SF", "Dd");
    sc.note(cc, "(c) 2500-byte DNS query in 2 IPv6 fragments (1448 + 1060 bytes of fragmentable part); reply unfragmented");
    let q = dns_query(0xf6a0, "fragmented6.example", QTYPE_A, Some(2500));
    let l4 = wire::udp(h6(), dns6.ip(), 40022, 53, &q);
    let meta = Meta {
        note: "UDP [2001:db8::2]:40022 -> [2001:db8:1::53]:53 len=2500 DNS query id=0xf6a0 A fragmented6.example (padded)".into(),
        conn: Some((cc, true)),
        payload: q.len(),
        stream_end: None,
    };
    let last = sc.ipv6_fragments(
        T0 + 2 * SEC,
        HOST6,
        "2001:db8:1::53".parse().unwrap(),
        wire::PROTO_UDP,
        &l4,
        1448,
        meta,
    );
    let r = dns_response(
        0xf6a0,
        "fragmented6.example",
        QTYPE_A,
        &[v4(192, 0, 2, 81)],
        300,
    );
    sc.udp(
        last + 30 * MS,
        dns6,
        sa(h6(), 40022),
        &r,
        Some(cc),
        "DNS response id=0xf6a0 A fragmented6.example -> 192.0.2.81",
        &Opts::default(),
    );

    // (d) first fragment of a datagram whose other fragment never comes.
    let dst = v4(192, 0, 2, 99);
    let cd = sc.conn(Proto::Udp, sa(h4(), 40023), sa(dst, 9999), "none", "-");
    sc.note(
        cd,
        "(d) only the first fragment (1480 of 2008 bytes, MF=1) is ever sent: the datagram never \
         completes, so a reassembling analyzer has no UDP packet (Zeek logs no conn); report an \
         incomplete fragment train",
    );
    let body = filler("incomplete fragment train", 2000);
    let l4 = wire::udp(h4(), dst, 40023, 9999, &body);
    sc.ipv4_fragments(
        T0 + 3 * SEC,
        h4(),
        dst,
        wire::PROTO_UDP,
        &l4,
        1480,
        &[0],
        Meta::default(),
    );

    fixture(
        "fragments.pcap",
        "IP fragmentation. (a) at t0: a 3000-byte DNS query (UDP 40020 -> 192.0.2.53:53, EDNS0-padded) \
         in 3 IPv4 fragments (1480 + 1480 + 48 bytes of IP payload) delivered out of order 2, 3, 1, \
         where (e) fragment 2 is also sent a second time, identical, between 3 and 1; the reply is not \
         fragmented. (b) at +1 s: a TCP connection (40021 -> 192.0.2.10:80) whose 2000-byte request is \
         one TCP segment split into 2 IPv4 fragments (1480 + 540). (c) at +2 s: a 2500-byte DNS query \
         over IPv6 (40022 -> [2001:db8:1::53]:53) in 2 fragments behind a Fragment extension header; \
         reply unfragmented. (d) at +3 s: the first fragment of a UDP datagram 40023 -> \
         192.0.2.99:9999 whose rest never arrives. Fragmented packets have DF clear; all fragments of \
         a datagram share one IP ID.",
        sc,
        PcapFormat::micro(1),
    )
}

#[derive(Clone, Copy)]
enum LinkMix {
    /// TCP over IPv4, UDP over IPv6.
    V4TcpV6Udp,
    /// TCP over IPv4, TCP over IPv6, UDP over IPv4.
    Raw,
    V4Only,
    V6Only,
}

fn linktype(name: &'static str, link: Link, port: u16, mix: LinkMix) -> Fixture {
    let mut sc = Scene::new(link);
    let srv4 = v4(192, 0, 2, 10);
    let srv6 = v6("2001:db8:1::10");
    let dns4 = v4(192, 0, 2, 53);
    let dns6 = v6("2001:db8:1::53");
    let (tcps, udp): (Vec<(IpAddr, IpAddr)>, (IpAddr, IpAddr)) = match mix {
        LinkMix::V4TcpV6Udp => (vec![(h4(), srv4)], (h6(), dns6)),
        LinkMix::Raw => (vec![(h4(), srv4), (h6(), srv6)], (h4(), dns4)),
        LinkMix::V4Only => (vec![(h4(), srv4)], (h4(), dns4)),
        LinkMix::V6Only => (vec![(h6(), srv6)], (h6(), dns6)),
    };
    let mut p = port;
    let mut ts = T0;
    let mut parts = Vec::new();
    for (c, s) in tcps {
        let mut t = Tcp::new(&mut sc, sa(c, p), sa(s, 7), "SF", "ShADdFf");
        sc.note(t.conn, "echo: 50 bytes each way, FIN close");
        let msg = filler(&format!("echo over {name}"), 50);
        let last = exchange(
            &mut sc,
            &mut t,
            ts,
            &Exchange {
                rtt: 10 * MS,
                req: &msg,
                resp: &msg,
                server_ack: false,
            },
        );
        close_by_client(&mut sc, &mut t, last + 5 * MS, 10 * MS);
        parts.push(format!(
            "a TCP echo connection {} -> {} at +{} s",
            sa(c, p),
            sa(s, 7),
            (ts - T0) / SEC
        ));
        p += 1;
        ts += SEC;
    }
    let (c, s) = udp;
    let answer = if c.is_ipv4() { v4(192, 0, 2, 10) } else { srv6 };
    dns_exchange(
        &mut sc,
        ts,
        8 * MS,
        sa(c, p),
        sa(s, 53),
        p,
        "link.example",
        answer,
        &Opts::default(),
    );
    parts.push(format!(
        "a DNS query/response {} -> {} at +{} s",
        sa(c, p),
        sa(s, 53),
        (ts - T0) / SEC
    ));
    let header = match link {
        Link::Sll => "a 16-byte Linux cooked header (packet type 4 = outgoing / 0 = to us, ARPHRD_ETHER, the sender's MAC, protocol)",
        Link::Sll2 { .. } => "a 20-byte Linux cooked v2 header (protocol, reserved, if_index 2, ARPHRD_ETHER, packet type, MAC)",
        Link::Raw => "no link header: each record starts with the IP header (version nibble tells IPv4 from IPv6)",
        Link::Ipv4 => "no link header: bare IPv4",
        Link::Ipv6 => "no link header: bare IPv6",
        Link::Null => "a 4-byte address family in little-endian (AF_INET 2, AF_INET6 30 as on macOS)",
        Link::Loop => "a 4-byte address family in big-endian (AF_INET 2, AF_INET6 24 as on OpenBSD)",
        Link::Ethernet => "Ethernet",
    };
    let about = format!(
        "Link type {}: {}. Content: {}.",
        link.linktype(),
        header,
        parts.join("; ")
    );
    fixture(name, &about, sc, PcapFormat::micro(link.linktype()))
}

fn pcapng_two_interfaces() -> Fixture {
    let mut sc = Scene::with_ifaces(vec![Link::Ethernet, Link::Sll2 { ifindex: 3 }]);
    let mut rng = XorShift64::new(9);
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40060),
        sa(v4(192, 0, 2, 10), 443),
        "SF",
        "ShADdFf",
    );
    t.o = Opts {
        iface: 0,
        ..Opts::default()
    };
    t.o_s = Some(Opts {
        iface: 1,
        ..Opts::default()
    });
    sc.note(t.conn, "client->server packets on interface 0 (Ethernet, µs), server->client on interface 1 (SLL2, ns): still one connection");
    let hello = payload::client_hello("pcapng.example", &mut rng);
    let mut resp = payload::server_hello(&mut rng, &[7; 32]);
    resp.extend(payload::tls_app_data(2000 - resp.len(), &mut rng));
    // Sub-microsecond offsets show on the nanosecond interface only.
    let t0 = T0 + 500 * MS + 123;
    let last = exchange(
        &mut sc,
        &mut t,
        t0,
        &Exchange {
            rtt: 20 * MS + 456,
            req: &hello,
            resp: &resp,
            server_ack: false,
        },
    );
    close_by_client(&mut sc, &mut t, last + 10 * MS + 789, 20 * MS + 456);
    let on1 = Opts {
        iface: 1,
        ..Opts::default()
    };
    dns_exchange(
        &mut sc,
        T0 + SEC + 77,
        8 * MS + 1,
        sa(h4(), 40061),
        sa(v4(192, 0, 2, 53), 53),
        0x6e67,
        "pcapng.example",
        v4(192, 0, 2, 10),
        &on1,
    );
    let dnsc = sc.conns.len() - 1;
    sc.note(dnsc, "both packets on interface 1 (SLL2)");
    // The Simple Packet Block: an NTP client request, interface 0, no timestamp.
    let ntp = sc.conn(
        Proto::Udp,
        sa(h4(), 40062),
        sa(v4(192, 0, 2, 123), 123),
        "S0",
        "D",
    );
    sc.note(ntp, "in the Simple Packet Block at the end of the file: no timestamp of its own (listed with the previous packet's)");
    let mut req = vec![0u8; 48];
    req[0] = 0x23; // LI 0, version 4, mode 3 (client)
    let last_ts = sc.frames.last().unwrap().ts;
    sc.udp(
        last_ts,
        sa(h4(), 40062),
        sa(v4(192, 0, 2, 123), 123),
        &req,
        Some(ntp),
        "NTP v4 client request (SPB)",
        &Opts::default(),
    );

    let mut ng = PcapNg::new(&[Opt(capture::SHB_USERAPPL, b"tidysniff fixturegen".to_vec())]);
    ng.idb(
        1,
        262_144,
        &[
            Opt(capture::IF_NAME, b"eth0".to_vec()),
            Opt(capture::IF_TSRESOL, vec![6]),
        ],
    );
    ng.idb(
        276,
        262_144,
        &[
            Opt(capture::IF_NAME, b"any".to_vec()),
            Opt(capture::IF_TSRESOL, vec![9]),
        ],
    );
    ng.idb(
        101,
        65_535,
        &[Opt(
            capture::IF_NAME,
            b"tun0 (no packets, default resolution)".to_vec(),
        )],
    );
    ng.nrb(&[
        (v4(192, 0, 2, 10), "www.example"),
        (v4(192, 0, 2, 53), "dns.example"),
        (v6("2001:db8:1::10"), "www6.example"),
    ]);
    // The file stores interface-0 times in microseconds: list them so.
    for f in sc.frames.iter_mut().filter(|f| f.iface == 0) {
        f.ts = f.ts / 1_000 * 1_000;
    }
    let n = sc.frames.len();
    let mut counts = [0u64; 2];
    for (i, f) in sc.frames.iter().enumerate() {
        if i + 1 == n {
            ng.spb(&f.data);
            break;
        }
        let units = if f.iface == 0 { f.ts / 1_000 } else { f.ts };
        ng.epb(f.iface, units, &f.data, &[]);
        counts[f.iface as usize] += 1;
        if i == 2 {
            ng.custom(
                0x0000_0BAD,
                32473,
                b"fixturegen custom block: readers skip this",
            );
        }
    }
    let end = sc.frames[n - 1].ts / 1_000;
    ng.isb(
        0,
        end,
        &[
            PcapNg::ts_opt(capture::ISB_STARTTIME, sc.frames[0].ts / 1_000),
            PcapNg::ts_opt(capture::ISB_ENDTIME, end),
            Opt(capture::ISB_IFRECV, (counts[0] + 1).to_le_bytes().to_vec()),
            Opt(capture::ISB_IFDROP, 0u64.to_le_bytes().to_vec()),
        ],
    );
    Fixture {
        name: "pcapng_two_interfaces.pcapng",
        format: "pcapng little-endian, IDB0 EN10MB µs, IDB1 LINUX_SLL2 ns, IDB2 RAW (unused)".into(),
        about: "A pcapng section with three interfaces: IDB0 Ethernet `eth0` (if_tsresol 6), IDB1 \
                LINUX_SLL2 `any` (if_tsresol 9, nanoseconds), IDB2 RAW `tun0` (no if_tsresol: default \
                microseconds; no packets). Block order: SHB, IDB0, IDB1, IDB2, a Name Resolution Block \
                (192.0.2.10 www.example, 192.0.2.53 dns.example, 2001:db8:1::10 www6.example), 3 EPBs, \
                a Custom Block (type 0x00000BAD, PEN 32473) that readers must skip, the remaining EPBs, \
                one Simple Packet Block (an NTP request; interface 0, no timestamp), then an Interface \
                Statistics Block for interface 0. The TLS connection's client->server packets are on \
                interface 0 and its server->client packets on interface 1, so flow tracking across \
                interfaces must still see one connection; the DNS exchange is on interface 1 only. \
                Interface-1 timestamps have non-zero sub-microsecond digits."
            .into(),
        frames_in_file: sc.frames.len(),
        time_digits: 9,
        scene: sc,
        bytes: ng.buf,
    }
}

fn nanosecond() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40070),
        sa(v4(192, 0, 2, 10), 80),
        "SF",
        "ShADdFf",
    );
    sc.note(
        t.conn,
        "every timestamp has non-zero sub-microsecond digits",
    );
    let req = http_get("example", "/ns", Some(100));
    let resp = http_response(1448);
    let t0 = T0 + 123_456_789;
    let rtt = 12_345_679;
    let last = exchange(
        &mut sc,
        &mut t,
        t0,
        &Exchange {
            rtt,
            req: &req,
            resp: &resp,
            server_ack: false,
        },
    );
    close_by_client(&mut sc, &mut t, last + 50 * MS + 333, rtt);
    fixture(
        "nanosecond.pcap",
        "Nanosecond pcap (magic a1b23c4d). t0 = 1700000000.123456789, RTT 12.345679 ms, so the \
         SYN-ACK is at 1700000000.135802468; no timestamp is a whole microsecond. A reader that \
         treats the fraction as microseconds would be off by a factor of 1000.",
        sc,
        PcapFormat {
            res: TsRes::Nano,
            ..PcapFormat::micro(1)
        },
    )
}

fn truncated() -> Fixture {
    let full = fin_close_scene();
    let fmt = PcapFormat::micro(1);
    let bytes = pcap_of(&full, &fmt);
    // Cut 10 bytes into the data of the 6th record.
    let mut off = 24;
    for f in &full.frames[..5] {
        off += 16 + f.data.len();
    }
    let cut = off + 16 + 10;
    let mut sc = full;
    sc.frames.truncate(6);
    sc.frames[5].note = format!(
        "TRUNCATED RECORD: header + 10 of {} bytes: {}",
        sc.frames[5].data.len(),
        sc.frames[5].note
    );
    sc.conns[0].state = "S1".into();
    sc.conns[0].history = "ShADa".into();
    sc.conns[0].note =
        "the file ends inside record 6: 5 complete packets, then a partial record".into();
    Fixture {
        name: "truncated.pcap",
        format: "pcap µs little-endian, EN10MB (1), cut short".into(),
        about: format!(
            "The bytes of tcp_fin_close.pcap cut off at byte {cut}: 5 complete records, then the 16-byte \
             header of record 6 (the server's first 1448-byte data segment, caplen {}) followed by only 10 \
             of its bytes. A reader must return the 5 packets, then report a truncated file (not a \
             panic, not silent success).",
            sc.frames[5].data.len()
        ),
        frames_in_file: 5,
        time_digits: 6,
        scene: sc,
        bytes: bytes[..cut].to_vec(),
    }
}

fn snaplen() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40080),
        sa(v4(192, 0, 2, 10), 80),
        "SF",
        "ShADadFf",
    );
    sc.note(
        t.conn,
        "4 x 1448-byte server segments captured with caplen 96 (orig_len 1502)",
    );
    let req = http_get("example", "/big", Some(100));
    let resp = http_response(4 * SEG);
    let last = exchange(
        &mut sc,
        &mut t,
        T0,
        &Exchange {
            rtt: 20 * MS,
            req: &req,
            resp: &resp,
            server_ack: true,
        },
    );
    close_by_client(&mut sc, &mut t, last + 20 * MS, 20 * MS);
    fixture(
        "snaplen.pcap",
        "Captured with snaplen 96: every frame longer than 96 bytes is stored as its first 96 bytes \
         with orig_len = its true length (the 100-byte request frame is 154 bytes, each 1448-byte data \
         segment 1502). Headers are intact; payload sizes must come from the IP/TCP lengths or \
         orig_len, not caplen, and checksums of cut packets cannot be verified.",
        sc,
        PcapFormat { snaplen: 96, ..PcapFormat::micro(1) },
    )
}

fn bigendian() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let mut t = Tcp::new(
        &mut sc,
        sa(h4(), 40090),
        sa(v4(192, 0, 2, 10), 80),
        "RSTO",
        "ShAR",
    );
    sc.note(
        t.conn,
        "handshake, then the client aborts with RST-ACK after 50 ms",
    );
    let ts = handshake(&mut sc, &mut t, T0, 20 * MS);
    let r = t.rst(Side::C);
    sc.tcp(ts + 50 * MS, &t, &r);
    fixture(
        "bigendian.pcap",
        "A big-endian pcap file (magic bytes a1 b2 c3 d4 on disk; every header field big-endian, as \
         written by a big-endian host). One handshake followed by a client RST (RSTO).",
        sc,
        PcapFormat { big_endian: true, ..PcapFormat::micro(1) },
    )
}

fn tcp_states() -> Fixture {
    let mut sc = Scene::new(Link::Ethernet);
    let srv = v4(192, 0, 2, 10);
    let rtt = 20 * MS;
    let at = |k: u64| T0 + k * SEC;
    let c = |p: u16| sa(h4(), p);
    let http = sa(srv, 80);

    // S0
    let mut t = Tcp::new(&mut sc, c(40100), sa(v4(192, 0, 2, 20), 80), "S0", "S");
    sc.note(t.conn, "a single SYN, no reply");
    let s = t.syn();
    sc.tcp(at(0), &t, &s);

    // S1
    let mut t = Tcp::new(&mut sc, c(40101), http, "S1", "ShADd");
    sc.note(
        t.conn,
        "handshake, 100-byte request, 500-byte response, client ACK; never closed",
    );
    let req = http_get("example", "/s1", Some(100));
    exchange(
        &mut sc,
        &mut t,
        at(1),
        &Exchange {
            rtt,
            req: &req,
            resp: &http_response(500),
            server_ack: false,
        },
    );

    // SF, clean
    let mut t = Tcp::new(&mut sc, c(40102), http, "SF", "ShADadFf");
    sc.note(
        t.conn,
        "clean: 100-byte request, 2000-byte response, FIN close",
    );
    let req = http_get("example", "/sf", Some(100));
    let last = exchange(
        &mut sc,
        &mut t,
        at(2),
        &Exchange {
            rtt,
            req: &req,
            resp: &http_response(2000),
            server_ack: true,
        },
    );
    close_by_client(&mut sc, &mut t, last + 10 * MS, rtt);

    // SF with a retransmitted data segment.
    let mut t = Tcp::new(&mut sc, c(40103), http, "SF", "ShADadtFf");
    sc.note(
        t.conn,
        "server segment 2 (rel seq 1449, 1448 bytes) is sent twice, 200 ms apart (spurious RTO \
         retransmission; the client answers with a duplicate ACK); 4-segment 4896-byte response",
    );
    let ts = handshake(&mut sc, &mut t, at(3), rtt);
    let d = t.data(Side::C, &http_get("example", "/retx", Some(100)));
    sc.tcp(ts + 100 * US, &t, &d);
    let mut ts = ts + 100 * US + rtt;
    sc.tcp(ts, &t, &t.ack(Side::S));
    let resp = http_response(4896);
    let segs: Vec<Seg> = resp.chunks(SEG).map(|ch| t.data(Side::S, ch)).collect();
    // Build acks by hand: the client has only what it received so far.
    let ack_after = |n: usize| -> Seg {
        let mut a = t.ack(Side::C);
        a.ack = t
            .s_isn
            .wrapping_add(1)
            .wrapping_add((segs[..n].iter().map(|s| s.payload.len()).sum::<usize>()) as u32);
        a
    };
    ts += 800 * US;
    sc.tcp(ts, &t, &segs[0]);
    ts += 100 * US;
    sc.tcp(ts, &t, &segs[1]);
    ts += 100 * US;
    sc.tcp(ts, &t, &ack_after(2));
    ts += 200 * MS;
    sc.tcp(ts, &t, &segs[1]);
    ts += 100 * US;
    sc.tcp(ts, &t, &ack_after(2));
    ts += 100 * US;
    sc.tcp(ts, &t, &segs[2]);
    ts += 100 * US;
    sc.tcp(ts, &t, &segs[3]);
    ts += 100 * US;
    sc.tcp(ts, &t, &ack_after(4));
    close_by_client(&mut sc, &mut t, ts + 10 * MS, rtt);

    // SF with an out-of-order pair.
    let mut t = Tcp::new(&mut sc, c(40104), http, "SF", "ShADadtFf");
    sc.note(
        t.conn,
        "server segments 1 and 2 arrive swapped (2 first, client duplicate-ACKs, then 1); Zeek's \
         history cannot tell this from a retransmission (t); 3496-byte response",
    );
    let ts = handshake(&mut sc, &mut t, at(4), rtt);
    let d = t.data(Side::C, &http_get("example", "/ooo", Some(100)));
    sc.tcp(ts + 100 * US, &t, &d);
    let mut ts = ts + 100 * US + rtt;
    sc.tcp(ts, &t, &t.ack(Side::S));
    let resp = http_response(3496);
    let before = t.ack(Side::C);
    let segs: Vec<Seg> = resp.chunks(SEG).map(|ch| t.data(Side::S, ch)).collect();
    let ack_to = |n: usize| -> Seg {
        let mut a = before.clone();
        a.ack = before
            .ack
            .wrapping_add((segs[..n].iter().map(|s| s.payload.len()).sum::<usize>()) as u32);
        a
    };
    ts += 800 * US;
    sc.tcp(ts, &t, &segs[1]);
    ts += 50 * US;
    sc.tcp(ts, &t, &ack_to(0));
    ts += 50 * US;
    sc.tcp(ts, &t, &segs[0]);
    ts += 50 * US;
    sc.tcp(ts, &t, &ack_to(2));
    ts += 100 * US;
    sc.tcp(ts, &t, &segs[2]);
    ts += 100 * US;
    sc.tcp(ts, &t, &ack_to(3));
    close_by_client(&mut sc, &mut t, ts + 10 * MS, rtt);

    // SF with one server segment missing from the capture (received and ACKed).
    let mut t = Tcp::new(&mut sc, c(40105), http, "SF", "ShADadgFf");
    sc.note(
        t.conn,
        "capture loss: server segment 2 (rel seq 1449-2896, 1448 bytes) is not in the file but the \
         client ACKs it (ack 4345): missed_bytes 1448; resp_bytes counts it (seq-based)",
    );
    let ts = handshake(&mut sc, &mut t, at(5), rtt);
    let d = t.data(Side::C, &http_get("example", "/loss", Some(100)));
    sc.tcp(ts + 100 * US, &t, &d);
    let mut ts = ts + 100 * US + rtt;
    sc.tcp(ts, &t, &t.ack(Side::S));
    let resp = http_response(3 * SEG);
    let segs: Vec<Seg> = resp.chunks(SEG).map(|ch| t.data(Side::S, ch)).collect();
    ts += 800 * US;
    sc.tcp(ts, &t, &segs[0]);
    ts += 200 * US; // segs[1] passed the wire here, unseen by the capture
    sc.tcp(ts, &t, &segs[2]);
    ts += 100 * US;
    sc.tcp(ts, &t, &t.ack(Side::C));
    close_by_client(&mut sc, &mut t, ts + 10 * MS, rtt);

    // REJ
    let mut t = Tcp::new(&mut sc, c(40106), sa(srv, 81), "REJ", "Sr");
    sc.note(t.conn, "SYN to a closed port, RST-ACK after one RTT");
    let s = t.syn();
    sc.tcp(at(6), &t, &s);
    sc.tcp(at(6) + rtt, &t, &t.rst_refuse());

    // RSTO
    let mut t = Tcp::new(&mut sc, c(40107), http, "RSTO", "ShAR");
    sc.note(t.conn, "handshake, then the client aborts with RST-ACK");
    let ts = handshake(&mut sc, &mut t, at(7), rtt);
    sc.tcp(ts + 30 * MS, &t, &t.rst(Side::C));

    // RSTR
    let mut t = Tcp::new(&mut sc, c(40108), http, "RSTR", "ShADdr");
    sc.note(
        t.conn,
        "100-byte request, 200-byte response, client ACK, then the server resets",
    );
    let req = http_get("example", "/rstr", Some(100));
    let last = exchange(
        &mut sc,
        &mut t,
        at(8),
        &Exchange {
            rtt,
            req: &req,
            resp: &http_response(200),
            server_ack: false,
        },
    );
    sc.tcp(last + 5 * MS, &t, &t.rst(Side::S));

    // RSTOS0
    let mut t = Tcp::new(&mut sc, c(40109), sa(v4(192, 0, 2, 22), 80), "RSTOS0", "SR");
    sc.note(
        t.conn,
        "SYN, then 500 ms later a bare RST (seq ISN+1, no ACK) from the client; no SYN-ACK",
    );
    let s = t.syn();
    sc.tcp(at(9), &t, &s);
    let mut r = t.rst(Side::C);
    r.flags = flags::RST;
    r.ack = 0;
    sc.tcp(at(9) + 500 * MS, &t, &r);

    // SH
    let mut t = Tcp::new(&mut sc, c(40110), sa(v4(192, 0, 2, 23), 80), "SH", "SF");
    sc.note(
        t.conn,
        "SYN, then 500 ms later a FIN (seq ISN+1, no ACK) from the client; no answer",
    );
    let s = t.syn();
    sc.tcp(at(10), &t, &s);
    let mut f = t.fin(Side::C);
    f.flags = flags::FIN;
    f.ack = 0;
    sc.tcp(at(10) + 500 * MS, &t, &f);

    // SHR
    let mut t = Tcp::new(&mut sc, c(40111), http, "SHR", "^hf");
    sc.note(
        t.conn,
        "the client's SYN is not in the capture: the server's SYN-ACK, then 10 ms later its FIN-ACK. \
         Zeek flips the roles (source port 80 is a likely server port), so the client is still the \
         originator, with 0 packets",
    );
    let _ = t.syn();
    let sa_seg = t.syn_ack();
    sc.tcp(at(11), &t, &sa_seg);
    let f = t.fin(Side::S);
    sc.tcp(at(11) + 10 * MS, &t, &f);

    // OTH
    let mut t = Tcp::new(&mut sc, c(40112), http, "OTH", "DdA");
    sc.note(t.conn, "picked up mid-stream: 100 bytes from the client, 200 from the server, client ACK; no SYN, FIN or RST");
    t.midstream();
    let d = t.data(Side::C, &filler("mid-stream client bytes", 100));
    sc.tcp(at(12), &t, &d);
    let d = t.data(Side::S, &filler("mid-stream server bytes", 200));
    sc.tcp(at(12) + rtt, &t, &d);
    sc.tcp(at(12) + rtt + 100 * US, &t, &t.ack(Side::C));

    // S2
    let mut t = Tcp::new(&mut sc, c(40113), http, "S2", "ShAF");
    sc.note(t.conn, "handshake, client FIN, the server never answers");
    let ts = handshake(&mut sc, &mut t, at(13), rtt);
    let f = t.fin(Side::C);
    sc.tcp(ts + 10 * MS, &t, &f);

    // S3
    let mut t = Tcp::new(&mut sc, c(40114), http, "S3", "ShAf");
    sc.note(t.conn, "handshake, server FIN, the client never answers");
    let ts = handshake(&mut sc, &mut t, at(14), rtt);
    let f = t.fin(Side::S);
    sc.tcp(ts + 10 * MS, &t, &f);

    // Port reuse: same 5-tuple, two complete connections.
    let mut ends = at(20);
    for n in 0..2 {
        let mut t = Tcp::new(&mut sc, c(40199), http, "SF", "ShADadFf");
        let req = http_get("example", "/again", Some(100));
        let last = exchange(
            &mut sc,
            &mut t,
            ends,
            &Exchange {
                rtt,
                req: &req,
                resp: &http_response(1000),
                server_ack: true,
            },
        );
        let closed = close_by_client(&mut sc, &mut t, last + 10 * MS, rtt);
        let what = if n == 0 {
            "port reuse, connection 1 of 2 on 10.0.0.2:40199 -> 192.0.2.10:80"
        } else {
            "port reuse, connection 2 of 2: same 5-tuple, new ISN, SYN 1 s after connection 1's last packet"
        };
        sc.note(t.conn, what);
        ends = closed + SEC;
    }

    fixture(
        "tcp_states.pcap",
        "One short TCP connection per Zeek conn_state, each on its own client port and starting one \
         second after the previous (port 401NN starts at t0 + NN s): S0, S1, SF (clean), SF with a \
         retransmission, SF with reordering, SF with capture loss, REJ, RSTO, RSTR, RSTOS0, SH, SHR, \
         OTH, S2, S3; then at t0 + 20 s two complete connections on the same 5-tuple 10.0.0.2:40199 -> \
         192.0.2.10:80, the second SYN (new ISN) one second after the first connection's final ACK: \
         they must be two connections.",
        sc,
        PcapFormat::micro(1),
    )
}

/// A sanity check used by the tests: the two classic headers agree.
pub fn pcap_magic(bytes: &[u8]) -> Option<(bool, TsRes)> {
    match bytes.get(..4)? {
        [0xd4, 0xc3, 0xb2, 0xa1] => Some((false, TsRes::Micro)),
        [0x4d, 0x3c, 0xb2, 0xa1] => Some((false, TsRes::Nano)),
        [0xa1, 0xb2, 0xc3, 0xd4] => Some((true, TsRes::Micro)),
        [0xa1, 0xb2, 0x3c, 0x4d] => Some((true, TsRes::Nano)),
        _ => None,
    }
}
