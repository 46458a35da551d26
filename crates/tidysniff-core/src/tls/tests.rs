//! End-to-end tests of the TLS layer on real handshakes captured on loopback (OpenSSL 3.0.22
//! `s_server`/`s_client`, `tcpdump -i lo`), fed segment by segment as the engine would, plus a
//! crafted Chrome-like ClientHello with X25519MLKEM768 and ECH.
//!
//! Expected SNI and JA4 values were checked against tshark 4.0.17 (`-e
//! tls.handshake.extensions_server_name`, and the JA4 computed from tshark's cipher, extension,
//! supported_version, ALPN and signature-algorithm fields by an independent Python script; this
//! tshark has no `tls.handshake.ja4` field). Certificate fields were checked against
//! `openssl x509` and tshark's x509 fields.

use super::hello::tests::unhex;
use super::names::{alert_name, cipher_name, version_name};
use super::record::Anomaly;
use super::sha256::sha256;
use super::*;
use crate::time::Timestamp;

/// One piece of a TCP segment's payload.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// Real bytes, as hex.
    Hex(&'static str),
    /// An encrypted record: content type and length; the body is zeros.
    Opaque(u8, u16),
}
use Piece::{Hex, Opaque};

/// (direction, microseconds since the first packet, payload pieces).
type Seg = (Direction, i64, &'static [Piece]);
const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn bytes_of(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match *p {
            Hex(h) => out.extend(unhex(h)),
            Opaque(ct, len) => {
                out.extend([ct, 0x03, 0x03]);
                out.extend(len.to_be_bytes());
                out.resize(out.len() + usize::from(len), 0);
            }
        }
    }
    out
}

fn ts(us: i64) -> Timestamp {
    Timestamp::from_secs_micros(1_795_466_261, us)
}

/// Feeds every segment; returns the state and, per segment, the `on_data` result.
fn replay(segs: &[Seg]) -> (TlsState, Vec<bool>) {
    let mut st = TlsState::new();
    let mut off = [0u64; 2];
    let mut wants = Vec::new();
    for (dir, us, pieces) in segs {
        let b = bytes_of(pieces);
        wants.push(st.on_data(*dir, off[dir.index()], &b, ts(*us)));
        off[dir.index()] += b.len() as u64;
    }
    (st, wants)
}

/// The stream of one direction.
fn stream(segs: &[Seg], dir: Direction) -> Vec<u8> {
    segs.iter()
        .filter(|s| s.0 == dir)
        .flat_map(|s| bytes_of(s.2))
        .collect()
}

/// The ClientHello handshake message (header included) of a stream starting with one record.
fn first_handshake_message(stream: &[u8]) -> Vec<u8> {
    let len = usize::from(u16::from_be_bytes([stream[3], stream[4]]));
    stream[5..5 + len].to_vec()
}

/// Wraps a handshake byte string into records, cutting it at `cuts`.
fn records(hs: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&hs.len())) {
        out.extend([0x16, 0x03, 0x01]);
        out.extend(((c - at) as u16).to_be_bytes());
        out.extend(&hs[at..c]);
        at = c;
    }
    out
}

/// The client hello info of `stream` fed to the client side in chunks cut at `cuts`.
fn client_hello_of(stream: &[u8], cuts: &[usize]) -> ClientHelloInfo {
    let mut st = TlsState::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
        st.on_data(Direction::ToServer, at as u64, &stream[at..c], ts(0));
        at = c;
    }
    st.client_hello().cloned().expect("client hello")
}

const OPENSSL_JA4_R_TAIL: &str = "002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,\
    00ff,1301,1302,1303,c009,c00a,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9,\
    ccaa_000a,000b,000d,0016,0017,0023,002b,002d,0033_0403,0503,0603,0807,0808,0809,080a,080b,\
    0804,0805,0806,0401,0501,0601,0303,0301,0302,0402,0502,0602";

#[test]
fn tls13_openssl_handshake() {
    let (st, wants) = replay(TLS13);
    let s = st.summary();
    assert!(s.is_tls);
    let ch = s.client_hello.as_ref().unwrap();
    // tshark: tls.handshake.extensions_server_name = www.tidysniff.example
    assert_eq!(s.sni.as_deref(), Some("www.tidysniff.example"));
    assert_eq!(s.sni_missing_reason, None);
    assert_eq!(ch.legacy_version, 0x0303);
    assert_eq!(ch.alpn, ["h2", "http/1.1"]);
    assert_eq!(ch.supported_versions(), [0x0304, 0x0303, 0x0302, 0x0301]);
    assert_eq!(ch.cipher_suites().len(), 31);
    assert_eq!(&ch.cipher_suites()[..3], &[0x1302, 0x1303, 0x1301]);
    assert_eq!(
        ch.groups(),
        [0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104]
    );
    assert_eq!(ch.key_share_groups(), [0x001d]);
    assert!(!ch.has_x25519mlkem768 && !ch.ech_offered && !ch.sni_is_ech_outer && !ch.truncated);
    assert_eq!(
        ch.extensions(),
        [0x0000, 0x000b, 0x000a, 0x0023, 0x0010, 0x0016, 0x0017, 0x000d, 0x002b, 0x002d, 0x0033]
    );
    assert_eq!(ch.signature_algorithms().len(), 20);
    // Python JA4 over tshark's fields: t13d3111h2_e8f1e7e78f70_1f22a2ca17c4
    assert_eq!(ch.ja4(), "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4");
    assert_eq!(ch.ja4_r(), format!("t13d3111h2_{OPENSSL_JA4_R_TAIL}"));
    let sh = s.server_hello.as_ref().unwrap();
    assert_eq!(
        (
            sh.version,
            sh.selected_version,
            sh.cipher,
            sh.selected_group
        ),
        (0x0303, Some(0x0304), 0x1302, Some(0x001d))
    );
    assert!(!sh.is_hello_retry_request);
    assert_eq!(s.version.map(version_name), Some("TLSv13"));
    assert_eq!(
        s.cipher.map(cipher_name).as_deref(),
        Some("TLS_AES_256_GCM_SHA384")
    );
    assert_eq!(s.client_hello_ts, Some(ts(0)));
    assert_eq!(s.server_hello_ts, Some(ts(1775)));
    // Completed when the client sent its request (second encrypted record) after Finished.
    assert!(s.handshake_completed);
    assert_eq!(s.handshake_completed_ts, Some(ts(3595)));
    assert_eq!(s.first_app_data_ts, Some(ts(3468)));
    // Both close_notify records are 19 bytes.
    assert_eq!(s.encrypted_alerts, 2);
    assert!(s.certificate.is_none() && s.alerts.is_empty() && s.anomalies.is_empty());
    // Nothing more is needed once complete.
    assert_eq!(wants[..4], [true, true, true, false]);
    let mut st = st;
    st.on_end(EndHow::Fin(Direction::ToServer), ts(4426));
    st.on_end(EndHow::Fin(Direction::ToClient), ts(4493));
    let s = st.summary();
    assert_eq!(s.end, Some(EndHow::Fin(Direction::ToServer)));
    assert_eq!(s.ended, Some("fin_after_handshake"));
}

#[test]
fn tls13_client_hello_in_three_chunks_and_across_records_is_the_same() {
    let client = stream(TLS13, C);
    let ch_record = &client[..345];
    let whole = client_hello_of(ch_record, &[]);
    assert_eq!(whole.sni.as_deref(), Some("www.tidysniff.example"));
    // Three TCP chunks, cut at many places.
    for a in (1..344).step_by(7) {
        for b in (a..345).step_by(11) {
            assert_eq!(client_hello_of(ch_record, &[a, b]), whole, "cuts {a} {b}");
        }
    }
    // The handshake message in three records (cut inside the header and inside extensions),
    // delivered in three chunks that do not follow record boundaries.
    let msg = first_handshake_message(ch_record);
    for cuts in [[2usize, 200], [4, 5], [150, 300], [1, 335]] {
        let framed = records(&msg, &cuts);
        for c in [[3usize, 100], [7, 9], [160, 349]] {
            assert_eq!(
                client_hello_of(&framed, &c),
                whole,
                "records {cuts:?} chunks {c:?}"
            );
        }
    }
}

#[test]
fn tls12_full_handshake_with_certificate() {
    let (mut st, _) = replay(TLS12);
    st.on_end(EndHow::Fin(Direction::ToServer), ts(3896));
    let s = st.summary();
    let ch = s.client_hello.as_ref().unwrap();
    // tshark: test.tidysniff.example; python JA4 over tshark's fields.
    assert_eq!(s.sni.as_deref(), Some("test.tidysniff.example"));
    assert_eq!(ch.alpn, ["http/1.1"]);
    assert_eq!(ch.ja4(), "t13d3111h1_e8f1e7e78f70_1f22a2ca17c4");
    let sh = s.server_hello.as_ref().unwrap();
    assert_eq!(
        (sh.version, sh.selected_version, sh.cipher),
        (0x0303, None, 0xc030)
    );
    assert_eq!(sh.extensions, [0xff01, 0x000b, 0x0023, 0x0017]);
    assert_eq!(sh.alpn, None);
    assert_eq!(s.version.map(version_name), Some("TLSv12"));
    assert_eq!(
        s.cipher.map(cipher_name).as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    );
    // openssl x509 -noout -subject -dates -ext subjectAltName; tshark x509ce.dNSName.
    let cert = s.certificate.as_ref().unwrap();
    assert_eq!(cert.subject_cn.as_deref(), Some("test.tidysniff.example"));
    assert_eq!(cert.issuer_cn.as_deref(), Some("test.tidysniff.example"));
    assert_eq!(
        cert.san_dns,
        ["test.tidysniff.example", "alt.tidysniff.example"]
    );
    assert_eq!(cert.san_ips, [std::net::IpAddr::from([127, 0, 0, 1])]);
    // notBefore Nov 23 20:37:34 2026 GMT, notAfter Nov 20 20:37:34 2036 GMT.
    assert_eq!(cert.not_before, Some(1_795_466_254));
    assert_eq!(cert.not_after, Some(2_110_826_254));
    assert_eq!(cert.chain_len, 1);
    // CCS + Finished both ways: complete with the server's Finished.
    assert!(s.handshake_completed);
    assert_eq!(s.handshake_completed_ts, Some(ts(3091)));
    // `replay` keeps feeding after completion (the engine would stop): the records still count.
    assert_eq!(s.first_app_data_ts, Some(ts(3289)));
    assert_eq!(
        (s.app_data_records_to_server, s.app_data_records_to_client),
        (1, 1)
    );
    assert_eq!(s.encrypted_alerts, 2);
    assert_eq!(s.ended, Some("fin_after_handshake"));
    assert!(s.alerts.is_empty() && s.anomalies.is_empty());
}

#[test]
fn tls12_record_counts_without_stopping() {
    // The record layer alone over the whole server stream: every record accounted for.
    let server = stream(TLS12, S);
    let mut d = RecordDefragmenter::new();
    let mut kinds = Vec::new();
    d.feed(0, &server, &mut |e| {
        kinds.push(match e {
            RecordEvent::Handshake { msg_type, .. } => format!("hs{msg_type}"),
            RecordEvent::ChangeCipherSpec => "ccs".into(),
            RecordEvent::EncryptedHandshake { len } => format!("enc_hs{len}"),
            RecordEvent::ApplicationData { len } => format!("app{len}"),
            RecordEvent::EncryptedAlert { len } => format!("enc_alert{len}"),
            other => format!("{other:?}"),
        })
    });
    assert_eq!(
        kinds,
        [
            "hs2",
            "hs11",
            "hs12",
            "hs14",
            "hs4",
            "ccs",
            "enc_hs40",
            "app5123",
            "enc_alert26"
        ]
    );
}

#[test]
fn hello_retry_request_then_second_client_hello() {
    let (mut st, _) = replay(HRR);
    st.on_end(EndHow::Fin(Direction::ToServer), ts(5367));
    let s = st.summary();
    let ch1 = s.client_hello.as_ref().unwrap();
    let ch2 = s.second_client_hello.as_ref().unwrap();
    assert_eq!(s.sni.as_deref(), Some("hrr.tidysniff.example"));
    assert_eq!(ch1.groups(), [0x001d, 0x0017]);
    assert_eq!(ch1.key_share_groups(), [0x001d]);
    assert_eq!(ch2.key_share_groups(), [0x0017]);
    // tshark shows the same JA4 inputs for both hellos.
    assert_eq!(ch1.ja4(), "t13d311000_e8f1e7e78f70_1f22a2ca17c4");
    assert_eq!(ch2.ja4(), ch1.ja4());
    let hrr = s.hello_retry_request.as_ref().unwrap();
    assert!(hrr.is_hello_retry_request);
    assert_eq!(
        (hrr.selected_version, hrr.cipher, hrr.selected_group),
        (Some(0x0304), 0x1302, Some(0x0017))
    );
    assert_eq!(s.hello_retry_request_ts, Some(ts(325)));
    let sh = s.server_hello.as_ref().unwrap();
    assert!(!sh.is_hello_retry_request);
    assert_eq!(sh.selected_group, Some(0x0017));
    assert_eq!(s.server_hello_ts, Some(ts(2288)));
    assert!(s.handshake_completed);
    assert_eq!(s.handshake_completed_ts, Some(ts(3991)));
    assert_eq!(s.ended, Some("fin_after_handshake"));
    assert!(s.anomalies.is_empty());
    // Cut after the HelloRetryRequest: the stage is named.
    let (mut st, _) = replay(&HRR[..2]);
    st.on_end(EndHow::Rst(Direction::ToClient), ts(400));
    assert_eq!(st.summary().ended, Some("rst_after_hello_retry_request"));
}

#[test]
fn alert_after_client_hello() {
    let (mut st, wants) = replay(ALERT);
    assert_eq!(wants, [true, true]);
    st.on_end(EndHow::Fin(Direction::ToClient), ts(552));
    let s = st.summary();
    assert_eq!(s.sni.as_deref(), Some("alert.tidysniff.example"));
    // Python JA4 over tshark's fields.
    assert_eq!(
        s.client_hello.as_ref().unwrap().ja4(),
        "t13d041000_16476d049b0b_78f1d400d464"
    );
    // tshark: tls.alert_message.level 2, tls.alert_message.desc 70.
    assert_eq!(
        s.alerts,
        [AlertInfo {
            level: 2,
            description: 70,
            dir: Direction::ToClient,
            ts: ts(92)
        }]
    );
    assert_eq!(alert_name(s.alerts[0].description), "protocol_version");
    assert!(s.server_hello.is_none() && !s.handshake_completed);
    assert_eq!(s.end, Some(EndHow::Fin(Direction::ToClient)));
    assert_eq!(s.ended, Some("fin_after_client_hello"));
}

#[test]
fn rst_after_client_hello() {
    let (mut st, _) = replay(&TLS13[..1]);
    st.on_end(EndHow::Rst(Direction::ToClient), ts(20_000));
    let s = st.summary();
    assert_eq!(s.sni.as_deref(), Some("www.tidysniff.example"));
    assert_eq!(s.end, Some(EndHow::Rst(Direction::ToClient)));
    assert_eq!(s.end_ts, Some(ts(20_000)));
    assert_eq!(s.ended, Some("rst_after_client_hello"));
    let (mut st, _) = replay(&TLS13[..2]);
    st.on_end(EndHow::Timeout, ts(300_000_000));
    assert_eq!(st.summary().ended, Some("timeout_after_server_hello"));
    let mut st = TlsState::new();
    st.on_end(EndHow::CaptureEnd, ts(1));
    assert_eq!(st.summary().ended, Some("capture_end_before_client_hello"));
}

/// Builds the crafted Chrome-like ClientHello (same bytes as the Python script that wrote the
/// pcap checked with tshark): GREASE cipher/extensions/groups/versions, X25519MLKEM768 +
/// x25519 key shares, an ECH outer extension, ALPS.
fn crafted_mlkem_ech_client_hello(with_sni: bool) -> Vec<u8> {
    fn v8(b: &[u8]) -> Vec<u8> {
        let mut v = vec![b.len() as u8];
        v.extend(b);
        v
    }
    fn v16(b: &[u8]) -> Vec<u8> {
        let mut v = (b.len() as u16).to_be_bytes().to_vec();
        v.extend(b);
        v
    }
    fn ext(t: u16, data: &[u8]) -> Vec<u8> {
        let mut v = t.to_be_bytes().to_vec();
        v.extend(v16(data));
        v
    }
    fn list(items: &[u16]) -> Vec<u8> {
        items.iter().flat_map(|x| x.to_be_bytes()).collect()
    }
    let ciphers = [
        0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let sni = b"public.tidysniff.example";
    let mut key_share = list(&[0xdada]);
    key_share.extend(v16(&[0]));
    key_share.extend(list(&[0x11ec]));
    key_share.extend(v16(&[0x33; 1216]));
    key_share.extend(list(&[0x001d]));
    key_share.extend(v16(&[0x44; 32]));
    let mut ech = vec![0x00, 0x00, 0x01, 0x00, 0x01, 0x5c];
    ech.extend(v16(&[0x55; 32]));
    ech.extend(v16(&[0x66; 208]));
    let mut alpn = v8(b"h2");
    alpn.extend(v8(b"http/1.1"));
    let mut sni_ext = vec![0];
    sni_ext.extend(v16(sni));
    let exts: Vec<Vec<u8>> = vec![
        ext(0x8a8a, &[]),
        if with_sni {
            ext(0x0000, &v16(&sni_ext))
        } else {
            vec![]
        },
        ext(0x0017, &[]),
        ext(0xff01, &[0]),
        ext(
            0x000a,
            &v16(&list(&[0xdada, 0x11ec, 0x001d, 0x0017, 0x0018])),
        ),
        ext(0x000b, &v8(&[0])),
        ext(0x0023, &[]),
        ext(0x0010, &v16(&alpn)),
        ext(0x0005, &[1, 0, 0, 0, 0]),
        ext(
            0x000d,
            &v16(&list(&[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ])),
        ),
        ext(0x0012, &[]),
        ext(0x0033, &v16(&key_share)),
        ext(0x002d, &v8(&[1])),
        ext(0x002b, &v8(&list(&[0x4a4a, 0x0304, 0x0303]))),
        ext(0x001b, &v8(&list(&[0x0002]))),
        ext(0x44cd, &v16(&v8(b"h2"))),
        ext(0xfe0d, &ech),
        ext(0x1a1a, &[0]),
    ];
    let mut body = vec![0x03, 0x03];
    body.extend([0x11; 32]);
    body.extend(v8(&[0x22; 32]));
    body.extend(v16(&list(&ciphers)));
    body.extend(v8(&[0]));
    body.extend(v16(&exts.concat()));
    let mut hs = vec![0x01];
    hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend(v16(&hs));
    rec
}

#[test]
fn x25519mlkem768_and_ech_client_hello() {
    let rec = crafted_mlkem_ech_client_hello(true);
    // The same 1798 bytes as the pcap that tshark parsed (SHA-256 printed by the script).
    assert_eq!(rec.len(), 1798);
    let digest: String = sha256(&rec).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        digest,
        "007714472348da171fd7050f0c1b3d51621ccbb04a39b00743b37ea2682b40bd"
    );
    // Two TCP segments, as in the pcap (cut at 1000, inside the key share).
    let (a, b) = rec.split_at(1000);
    let mut st = TlsState::new();
    assert!(st.on_data(Direction::ToServer, 0, a, ts(3000)));
    assert!(st.client_hello().is_none());
    st.on_data(Direction::ToServer, 1000, b, ts(4000));
    let s = st.summary();
    let ch = s.client_hello.as_ref().unwrap();
    // tshark: server_name public.tidysniff.example, key share groups 56026,4588,29.
    assert_eq!(s.sni.as_deref(), Some("public.tidysniff.example"));
    assert_eq!(s.client_hello_ts, Some(ts(4000)));
    assert_eq!(ch.key_share_groups(), [0xdada, 0x11ec, 0x001d]);
    assert_eq!(ch.groups(), [0xdada, 0x11ec, 0x001d, 0x0017, 0x0018]);
    assert!(ch.has_x25519mlkem768);
    assert!(ch.ech_offered && ch.sni_is_ech_outer);
    assert_eq!(ch.supported_versions(), [0x4a4a, 0x0304, 0x0303]);
    assert_eq!(ch.extensions().len(), 18);
    assert_eq!(ch.alpn, ["h2", "http/1.1"]);
    // Python JA4 over tshark's fields; also the JA4 published for Chrome 143 (same suites and
    // extension set).
    assert_eq!(ch.ja4(), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    assert_eq!(
        ch.ja4_r(),
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
         cca9_0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,fe0d,ff01_0403,0804,\
         0401,0503,0805,0501,0806,0601"
    );
}

#[test]
fn truncated_client_hello_keeps_the_sni_it_carried() {
    let client = stream(TLS13, C);
    // The SNI extension ends at byte 174 of the record.
    let mut st = TlsState::new();
    st.on_data(Direction::ToServer, 0, &client[..200], ts(0));
    st.on_end(EndHow::Rst(Direction::ToClient), ts(10));
    let s = st.summary();
    assert_eq!(s.sni.as_deref(), Some("www.tidysniff.example"));
    assert_eq!(s.sni_missing_reason, None);
    let ch = s.client_hello.as_ref().unwrap();
    assert!(ch.truncated && ch.ja4().is_empty());
    // Extensions up to the cut: supported_groups (ends at byte 208) is not complete.
    assert_eq!(ch.extensions(), [0x0000, 0x000b]);
    assert_eq!(s.client_hello_ts, None);
    assert_eq!(s.ended, Some("rst_during_client_hello"));
    // Cut before the SNI is complete.
    let mut st = TlsState::new();
    st.on_data(Direction::ToServer, 0, &client[..160], ts(0));
    let s = st.summary();
    assert_eq!(s.sni, None);
    assert_eq!(s.sni_missing_reason, Some("client_hello_truncated"));
    // A large ClientHello cut inside the key share (Go 1.24 / Chrome with X25519MLKEM768).
    let rec = crafted_mlkem_ech_client_hello(true);
    let mut st = TlsState::new();
    st.on_data(Direction::ToServer, 0, &rec[..1000], ts(0));
    assert_eq!(
        st.summary().sni.as_deref(),
        Some("public.tidysniff.example")
    );
    // Every prefix: never a panic, and once the SNI is in, it is reported.
    for n in 0..=client[..345].len() {
        let mut st = TlsState::new();
        st.on_data(Direction::ToServer, 0, &client[..n], ts(0));
        let s = st.summary();
        assert_eq!(s.sni.is_some(), n >= 174, "prefix {n}");
    }
}

#[test]
fn sni_missing_reasons() {
    let reason = |st: &TlsState| st.summary().sni_missing_reason;
    // Nothing from the client.
    let st = TlsState::new();
    assert_eq!(reason(&st), Some("no_client_hello_bytes"));
    // Not TLS.
    let mut st = TlsState::new();
    assert!(!st.on_data(Direction::ToServer, 0, b"GET / HTTP/1.1\r\n\r\n", ts(0)));
    assert_eq!(reason(&st), Some("not_tls"));
    assert!(!st.summary().is_tls);
    assert_eq!(st.anomalies()[0].anomaly.name(), "not_tls");
    // A server speaking first, not TLS.
    let mut st = TlsState::new();
    st.on_data(Direction::ToClient, 0, b"SSH-2.0-OpenSSH_9.6\r\n", ts(0));
    assert_eq!(reason(&st), Some("not_tls"));
    // No SNI extension.
    let mut st = TlsState::new();
    st.on_data(
        Direction::ToServer,
        0,
        &crafted_mlkem_ech_client_hello(false),
        ts(0),
    );
    assert_eq!(reason(&st), Some("no_sni_extension"));
    let ch = st.client_hello().unwrap();
    assert!(ch.ech_offered && !ch.sni_is_ech_outer);
    // SNI counts in the a part only: the hashes are those of the hello with SNI.
    assert_eq!(ch.ja4(), "t13i1515h2_8daaf6152771_d8a2da3f94cd");
    // The capture began mid-connection: encrypted records only.
    let mut st = TlsState::new();
    st.set_midstream();
    st.on_data(Direction::ToServer, 0, &bytes_of(&[Opaque(23, 100)]), ts(0));
    assert_eq!(reason(&st), Some("no_client_hello_bytes"));
    assert!(st.summary().is_tls);
    // Even without the hint, a client stream starting with application data.
    let mut st = TlsState::new();
    st.on_data(Direction::ToServer, 0, &bytes_of(&[Opaque(23, 100)]), ts(0));
    assert_eq!(reason(&st), Some("no_client_hello_bytes"));
    // The capture began inside the ClientHello: not at a record boundary.
    let mut st = TlsState::new();
    st.set_midstream();
    let client = stream(TLS13, C);
    assert!(!st.on_data(Direction::ToServer, 40, &client[40..345], ts(0)));
    assert_eq!(reason(&st), Some("no_client_hello_bytes"));
    assert_eq!(st.anomalies()[0].anomaly.name(), "tls_midstream_unaligned");
    // Bytes missing inside the ClientHello (a jump in offsets).
    let mut st = TlsState::new();
    st.on_data(Direction::ToServer, 0, &client[..100], ts(0));
    assert!(!st.on_data(Direction::ToServer, 120, &client[120..345], ts(0)));
    assert_eq!(reason(&st), Some("client_hello_truncated"));
    assert_eq!(st.anomalies()[0].anomaly, Anomaly::StreamGap);
    // A tunnel: the TLS bytes start at stream offset 1000.
    let mut st = TlsState::new();
    st.on_data(Direction::ToServer, 1000, &client[..345], ts(0));
    assert_eq!(st.summary().sni.as_deref(), Some("www.tidysniff.example"));
    // A ClientHello whose extension block length is wrong.
    let mut bad = client[..345].to_vec();
    bad[143] ^= 0x10; // extension block length 00 c9 -> 00 d9
    let mut st = TlsState::new();
    st.on_data(Direction::ToServer, 0, &bad, ts(0));
    assert_eq!(reason(&st), Some("client_hello_malformed"));
    assert_eq!(
        st.anomalies()[0].anomaly.name(),
        "tls_client_hello_malformed"
    );
}

#[test]
fn record_too_large_is_an_anomaly() {
    let mut st = TlsState::new();
    // 16 03 01 48 01: a handshake record of 2^14 + 2049 bytes.
    assert!(!st.on_data(
        Direction::ToServer,
        0,
        &[0x16, 0x03, 0x01, 0x48, 0x01, 0x01],
        ts(7)
    ));
    let a = st.anomalies();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].anomaly.name(), "tls_record_too_large");
    assert_eq!((a[0].dir, a[0].ts), (Direction::ToServer, ts(7)));
    assert!(a[0].anomaly.is_fatal());
}

#[test]
fn probe_on_captured_streams() {
    assert!(probe(&stream(TLS13, C)));
    assert!(probe(&stream(TLS12, S)));
    assert!(!probe(&stream(ALERT, S)));
    assert!(!probe(&bytes_of(&[Opaque(23, 10)])));
}

/// Xorshift mutations of the captured streams, fed in random chunks to both sides: never a
/// panic, buffers stay bounded, and the summary is always available.
#[test]
fn mutated_and_truncated_streams_never_panic() {
    let bases: Vec<(Vec<u8>, Vec<u8>)> = [TLS13, TLS12, HRR, ALERT]
        .iter()
        .map(|s| (stream(s, C), stream(s, S)))
        .chain(std::iter::once((
            crafted_mlkem_ech_client_hello(true),
            Vec::new(),
        )))
        .collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for case in 0..20_000 {
        let (c, s) = &bases[case % bases.len()];
        let mut c = c.clone();
        let mut s = s.clone();
        for buf in [&mut c, &mut s] {
            if buf.is_empty() {
                continue;
            }
            // Mutate mostly the plaintext start, where the parsers look.
            let span = buf.len().min(2048);
            for _ in 0..(next() % 6) {
                let i = (next() as usize) % span;
                buf[i] = match next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    _ => next() as u8,
                };
            }
            let cut = (next() as usize) % (buf.len() + 1);
            buf.truncate(cut);
        }
        let mut st = TlsState::new();
        let (mut oc, mut os) = (0usize, 0usize);
        while oc < c.len() || os < s.len() {
            let step = 1 + (next() as usize) % 400;
            if (next() & 1 == 0 && oc < c.len()) || os >= s.len() {
                let end = (oc + step).min(c.len());
                st.on_data(Direction::ToServer, oc as u64, &c[oc..end], ts(oc as i64));
                oc = end;
            } else {
                let end = (os + step).min(s.len());
                st.on_data(Direction::ToClient, os as u64, &s[os..end], ts(os as i64));
                os = end;
            }
        }
        st.on_end(EndHow::Timeout, ts(1 << 30));
        let sum = st.summary();
        assert!(sum.ended.is_some());
        assert!(sum.alerts.len() <= state::MAX_ALERTS);
        assert!(sum.anomalies.len() <= state::MAX_ANOMALIES);
    }
}

/// Every prefix and every single-byte corruption of the real plaintext messages through the pure
/// parsers.
#[test]
fn hello_and_certificate_parsers_on_prefixes_and_flips() {
    let client = stream(TLS13, C);
    let server12 = stream(TLS12, S);
    let ch = first_handshake_message(&client[..345]);
    let sh = first_handshake_message(&server12);
    let cert_msg = first_handshake_message(&server12[70..]);
    for (msg, which) in [(&ch, 0), (&sh, 1), (&cert_msg, 2)] {
        let body = &msg[4..];
        for n in 0..body.len() {
            let p = &body[..n];
            let _ = (parse_client_hello(p), parse_client_hello_prefix(p));
            let _ = (parse_server_hello(p), parse_certificate(p));
        }
        for i in 0..body.len() {
            let mut b = body.to_vec();
            b[i] ^= 0xa5;
            match which {
                0 => {
                    let _ = parse_client_hello(&b);
                }
                1 => {
                    let _ = parse_server_hello(&b);
                }
                _ => {
                    let _ = parse_certificate(&b);
                }
            }
        }
    }
    assert!(parse_certificate(&cert_msg[4..]).is_ok());
}

/// ClientHello of `openssl s_client -servername www.tidysniff.example -alpn h2,http/1.1`
/// (OpenSSL 3.0.22, loopback), one 345-byte segment:
/// ```text
/// 16 03 01 01 54     handshake record, TLS 1.0, 340 bytes
/// 01 00 01 50        client_hello, 336 bytes
/// 03 03 ca 62 ..     legacy_version TLS 1.2, random (32)
/// 20 91 47 ..        session id (32)
/// 00 3e 13 02 ..     31 cipher suites
/// 01 00              compression: null
/// 00 c9              201 bytes of extensions: 0000 sni (26), 000b, 000a, 0023, 0010 alpn (14),
///                    0016, 0017, 000d (42), 002b (9), 002d, 0033 key_share (38)
/// ```
const TLS13_C0_0: &str = "\
    1603010154010001500303ca62a8352ebddb0c7b17e56f05245e15f0412947ac5b5b10303866cd3803273b209147d831
    442cd8f1bf69963d6de31dcf0e8a783e6f14872f57f78fa5290de670003e130213031301c02cc030009fcca9cca8ccaa
    c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000c9
    0000001a00180000157777772e74696479736e6966662e6578616d706c65000b000403000102000a00160014001d0017
    001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d
    002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009
    080304030303020301002d00020101003300260024001d0020528f27979924672bb58e9742cefe352341c06ac6555bb2
    16a395154d54414676";
/// The server's first segment: ServerHello then a ChangeCipherSpec (middlebox compatibility):
/// ```text
/// 16 03 03 00 7a     handshake record, 122 bytes
/// 02 00 00 76        server_hello, 118 bytes
/// 03 03 dd ab ..     legacy_version, random, session id echo (32), cipher 13 02, compression 00
/// 00 2e              46 bytes of extensions: 002b (2) = 03 04, 0033 (36) = x25519 key share
/// 14 03 03 00 01 01  change_cipher_spec
/// ```
const TLS13_S1_0: &str = "\
    160303007a020000760303ddabd84df38c20dd3f236694cfa669e0671d8e914af55150559072048edcb73b209147d831
    442cd8f1bf69963d6de31dcf0e8a783e6f14872f57f78fa5290de670130200002e002b0002030400330024001d00203d
    94f2d35bffa4a938a142d8768fbe1f3b68d833ae14188c5a92c57eb0cc236c140303000101";
/// The client's ChangeCipherSpec (before its encrypted Finished).
const TLS13_C2_0: &str = "\
    140303000101";
/// TLS 1.3 handshake and one HTTP request (`openssl s_server -www`), segment by segment:
/// (direction, microseconds since the first packet, contents). Encrypted records keep their
/// header and length; their bodies are zeros here.
const TLS13: &[Seg] = &[
    (C, 0, &[Hex(TLS13_C0_0)]),
    (
        S,
        1775,
        &[
            Hex(TLS13_S1_0),
            Opaque(23, 23),
            Opaque(23, 953),
            Opaque(23, 281),
            Opaque(23, 69),
        ],
    ),
    (C, 3468, &[Hex(TLS13_C2_0), Opaque(23, 69)]),
    (C, 3595, &[Opaque(23, 35)]),
    (S, 3702, &[Opaque(23, 250)]),
    (S, 3777, &[Opaque(23, 250)]),
    (S, 3921, &[Opaque(23, 5193)]),
    (S, 3950, &[Opaque(23, 19)]),
    (C, 4009, &[Opaque(23, 19)]),
];
/// ClientHello of `openssl s_client -servername test.tidysniff.example -alpn http/1.1` to an
/// `openssl s_server -tls1_2`, 343 bytes:
/// ```text
/// 16 03 01 01 52     handshake record, 338 bytes
/// 01 00 01 4e        client_hello, 334 bytes
/// 03 03 5e 29 ..     legacy_version, random, session id (32), 31 suites, null compression
/// 00 c7              199 bytes of extensions: 0000 sni (27), ..., 0010 alpn (11), ..., 0033 (38)
/// ```
const TLS12_C0_0: &str = "\
    16030101520100014e03035e29b17170c69aa703d7dcb0f1642f461cc9d80cfb3567102a97d5e8b5a8071720cff282a1
    6af86929b6e096f08d3015ad0a3827febf70d1e1181258f6858883e4003e130213031301c02cc030009fcca9cca8ccaa
    c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000c7
    0000001b0019000016746573742e74696479736e6966662e6578616d706c65000b000403000102000a00160014001d00
    17001e0019001801000101010201030104002300000010000b000908687474702f312e310016000000170000000d002a
    0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b00090803
    04030303020301002d00020101003300260024001d0020d965f95eda5396237bc0b6c9132e412d6aa209619f3befa5f5
    3bd3781492535d";
/// The server's first flight, 1322 bytes, one message per record:
/// ```text
/// 16 03 03 00 41 | 02 00 00 3d   server_hello: 03 03, random, no session id, cipher c0 30,
///                                extensions ff01, 000b, 0023, 0017
/// 16 03 03 03 a5 | 0b 00 03 a1   certificate, 929 bytes: 00 03 9e list, 00 03 9b DER (RSA,
///                                CN=test.tidysniff.example, SAN test/alt.tidysniff.example, 127.0.0.1)
/// 16 03 03 01 2c | 0c 00 01 28   server_key_exchange
/// 16 03 03 00 04 | 0e 00 00 00   server_hello_done
/// ```
const TLS12_S1_0: &str = "\
    16030300410200003d0303dadb7846ddaa703f46bb230eb7c3bd1f2e4a1ba2e83e24746242941de21ad46500c0300000
    15ff01000100000b000403000102002300000017000016030303a50b0003a100039e00039b308203973082027fa00302
    0102021438b05dbc76918213a0dbc03168da13e1f749c48c300d06092a864886f70d01010b0500303a311f301d060355
    04030c16746573742e74696479736e6966662e6578616d706c6531173015060355040a0c0e54696479736e6966662054
    657374301e170d3236313132333230333733345a170d3336313132303230333733345a303a311f301d06035504030c16
    746573742e74696479736e6966662e6578616d706c6531173015060355040a0c0e54696479736e696666205465737430
    820122300d06092a864886f70d01010105000382010f003082010a0282010100dee9564fc9afcde54b1beec456a4bce7
    b2185a95d0b90723a10c520b3063067a55f356302dc574aa0c6c341ca392b9e068a7ec6fea456f981d642e54b514f97e
    e9966c099760bcbcd164f7083723e3af33759d3474d612d2603076fa4904364e31fbddaf2bb2dda21bbead2a76d3a67e
    95fd374dbbbff0f809c9139393d10c2bec2911f12ddcbc77363158a995cca2166ddeb3a5f2588dcf6500a20919493def
    336132f9a26771f452154fcc48867a3953e050bff1e4c00da76afd39edd9bdac0f8bcb2f9131d24be51c4868ac01397a
    7b79136068a13b7bcfcacc138cdd53bab93a243bb72a1913ec2de013138df67c93a870fe1e4592895e436686a06a6e9d
    0203010001a38194308191301d0603551d0e041604146751b578e13a38c8756508b67a25ae7efb708a6b301f0603551d
    230418301680146751b578e13a38c8756508b67a25ae7efb708a6b300f0603551d130101ff040530030101ff303e0603
    551d11043730358216746573742e74696479736e6966662e6578616d706c658215616c742e74696479736e6966662e65
    78616d706c6587047f000001300d06092a864886f70d01010b0500038201010059ee786b34e3305dcbcac88e4a421a9e
    c56db06f32e897c0f60f95e06b4aa697d8ec8318d7c9bb8a7877451a9c559ae41734b211bfc2d8f94e7fd91a5417a7f7
    b973cf9352b0e6ca1ea855018a0bd43ad3d42e37d02ee62a74cec8bdc3ecf7e86af249987f7c1f961f9b29931a646a17
    25209a62efad9d5a395cbc17f45bacc68e68cdd7b0b70c7579b90f53ef73b62d5001cd2d9865df7b5d636568770116fe
    775d1faaff644166d28d51ede70c8a0bc92e44cd79abef618773ff2c68ac455aa104b1ed56787d5ab33d01b4017db334
    4d4d812b9c722e42240f4cc33b94d16102d4a7711f9ff2d294be30b21266f84229f57bd24901592b03b002858af6e664
    160303012c0c00012803001d20fe2c6b006c4dc31ac7da449096dfb50e7902025c7bfa169b2a1d584b04df2756080401
    006bade2a7834fdf77a268430f81c20f6ecd4e146641bc9617f3898ce9d854e97047c4d73f1f7907d3c4ae1307eac3b3
    4efb5dcfaffafad6d13cee78ce60323286bbe00693b73a80833dd5772f15375628d1186ce6ad7b282ef0a646369ddf7a
    23648dedabace36f7715f043c11deb6126c31614f48c9d35755808bf977b864f6969c301cfcd0f8af6ca97521b2aca9b
    8798ea21a1fff994f46f74360e9ba1f6f9455a5c4cc8f5d123bddd89298371d8717f245addac424349b853290e0dcfb1
    b35d4f02913cb96a5296a0bbee98a00f037252f4abc1553779aed7f6969d50ff9f35b73c0d5c77aa35cd81e256740f22
    dbdfe4352377623d07094fd3a1b1b928c716030300040e000000";
/// client_key_exchange (16 03 03 00 25 | 10 00 00 21 ..) and change_cipher_spec.
const TLS12_C2_0: &str = "\
    16030300251000002120cb0690b40b69932de61b7f6249827731b9e7acbf6ec2f5a4b290c8f0b9a5a268140303000101";
/// new_session_ticket (16 03 03 00 ba | 04 00 00 b6 ..) and change_cipher_spec.
const TLS12_S3_0: &str = "\
    16030300ba040000b600001c2000b0640e9bfc84c290aec49a84abce62a64c41a1550b4afacd428dc1ac9f60da2ea648
    0db30b7063628d83d15906f7f1ac5c1f1866ceb3338f1fd8ffe72f5c2abd55af5702851878a25651d738b04c11971cde
    64f64168aab3e98363a5f84ece7b7c3f02bc73104b4dbb2b15942e15a0fbd881be6df56b45534185f318a60a4054eb2f
    e80b0835b0c95495d74763dd96f9a420ec19ff0a7964ea9afbee3038716aadd3d09caa8fbc77108d6209ecd7aa194c14
    0303000101";
/// TLS 1.2 full handshake with a certificate (`openssl s_server -tls1_2 -www`, self-signed
/// RSA certificate), segment by segment; encrypted record bodies are zeros.
const TLS12: &[Seg] = &[
    (C, 0, &[Hex(TLS12_C0_0)]),
    (S, 1448, &[Hex(TLS12_S1_0)]),
    (C, 2690, &[Hex(TLS12_C2_0), Opaque(22, 40)]),
    (S, 3091, &[Hex(TLS12_S3_0), Opaque(22, 40)]),
    (C, 3289, &[Opaque(23, 42)]),
    (S, 3454, &[Opaque(23, 5123)]),
    (S, 3479, &[Opaque(21, 26)]),
    (C, 3555, &[Opaque(21, 26)]),
];
/// First ClientHello of `openssl s_client -groups X25519:P-256` (key share for x25519 only) to an
/// `openssl s_server -groups P-256`:
/// ```text
/// 16 03 01 01 32 | 01 00 01 2e   client_hello, 302 bytes; sni hrr.tidysniff.example,
///                                supported_groups 001d 0017, key_share (38): 00 1d, 32-byte key
/// ```
const HRR_C0_0: &str = "\
    16030101320100012e0303dbfe8d4293a50f54e7312f3b43d089bd6d36b8117a439fc77c02466e586da2c820eb0c45c5
    28032e97faff4a3bc7faa9380909a8cbc5baf4a092eb6cf4eb4ef8e2003e130213031301c02cc030009fcca9cca8ccaa
    c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000a7
    0000001a00180000156872722e74696479736e6966662e6578616d706c65000b000403000102000a00060004001d0017
    002300000016000000170000000d002a0028040305030603080708080809080a080b0804080508060401050106010303
    03010302040205020602002b0009080304030303020301002d00020101003300260024001d0020b433603a66c0610522
    2609c9fb2d5ff44852761d1269ce3c4c3885918f4ad049";
/// HelloRetryRequest and ChangeCipherSpec:
/// ```text
/// 16 03 03 00 58 | 02 00 00 54   server_hello, 84 bytes
/// 03 03 cf 21 ad 74 e5 9a ..     random = SHA-256("HelloRetryRequest"): the HRR marker
/// .. 13 02 00 | 00 0c            cipher 13 02; extensions 002b (2) = 03 04, 0033 (2) = 00 17
/// 14 03 03 00 01 01              change_cipher_spec
/// ```
const HRR_S1_0: &str = "\
    1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c20eb0c45c5
    28032e97faff4a3bc7faa9380909a8cbc5baf4a092eb6cf4eb4ef8e2130200000c002b00020304003300020017140303
    000101";
/// The client's ChangeCipherSpec, then its second ClientHello in plaintext (key_share 00 17):
/// ```text
/// 14 03 03 00 01 01
/// 16 03 03 01 53 | 01 00 01 4f   client_hello, 335 bytes, key_share (71): secp256r1 key
/// ```
const HRR_C2_0: &str = "\
    14030300010116030301530100014f0303dbfe8d4293a50f54e7312f3b43d089bd6d36b8117a439fc77c02466e586da2
    c820eb0c45c528032e97faff4a3bc7faa9380909a8cbc5baf4a092eb6cf4eb4ef8e2003e130213031301c02cc030009f
    cca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f
    00ff010000c80000001a00180000156872722e74696479736e6966662e6578616d706c65000b000403000102000a0006
    0004001d0017002300000016000000170000000d002a0028040305030603080708080809080a080b0804080508060401
    05010601030303010302040205020602002b0009080304030303020301002d000201010033004700450017004104be8a
    91f665cb8806be25e6c4c1ade35a03cd10ff097b9c7c3fab8b13a755d2f7794c5edb61b19b9cd07319c85ed540cd8aee
    8b9f309ecf23fa4b075ef89a53d3";
/// The real ServerHello (16 03 03 00 9b | 02 00 00 97, key_share 00 17 + 65-byte key), sent after
/// the server's ChangeCipherSpec: still plaintext in TLS 1.3.
const HRR_S3_0: &str = "\
    160303009b0200009703034caea47cdfbb9c5c24a5c4945541a9c217c83600baa828eaabc7098cfd269bde20eb0c45c5
    28032e97faff4a3bc7faa9380909a8cbc5baf4a092eb6cf4eb4ef8e2130200004f002b00020304003300450017004104
    7e132efba4acbcd77da1d3bb054ab5f280d965dfbef10f9d43bd03d388213ade76526202ca37d197730e4c8501d0625b
    b78c4b21cc3720406a8bae3f45175e97";
/// TLS 1.3 with a HelloRetryRequest, segment by segment; encrypted record bodies are zeros.
const HRR: &[Seg] = &[
    (C, 0, &[Hex(HRR_C0_0)]),
    (S, 325, &[Hex(HRR_S1_0)]),
    (C, 550, &[Hex(HRR_C2_0)]),
    (
        S,
        2288,
        &[
            Hex(HRR_S3_0),
            Opaque(23, 23),
            Opaque(23, 953),
            Opaque(23, 281),
            Opaque(23, 69),
        ],
    ),
    (C, 3857, &[Opaque(23, 69)]),
    (C, 3991, &[Opaque(23, 35)]),
    (S, 4182, &[Opaque(23, 250)]),
    (S, 4330, &[Opaque(23, 250)]),
    (S, 4498, &[Opaque(23, 5050)]),
    (S, 4523, &[Opaque(23, 19)]),
    (C, 4877, &[Opaque(23, 19)]),
];
/// ClientHello of `openssl s_client -tls1_3 -servername alert.tidysniff.example` (3 TLS 1.3
/// suites + SCSV, supported_versions = 03 04 only) to an `openssl s_server -tls1_2`:
/// `16 03 01 00 fc | 01 00 00 f8 ..`.
const ALERT_C0_0: &str = "\
    16030100fc010000f8030316bf041a0f23abc426dd15415fd9165e1b8f89caf77e6e66e191f58872fadf2920ba6297a4
    bd7bcec6135c9d9165210475901de1356f3aa936828fe05176905149000813021303130100ff010000a70000001c001a
    000017616c6572742e74696479736e6966662e6578616d706c65000b000403000102000a00160014001d0017001e0019
    001801000101010201030104002300000016000000170000000d001e001c040305030603080708080809080a080b0804
    08050806040105010601002b0003020304002d00020101003300260024001d002051013c7766610feb2c95371dfe1031
    fcd0e867aa6873d2fe8577b7b0daf08a66";
/// The server's answer: `15 03 03 00 02 | 02 46`, fatal protocol_version.
const ALERT_S1_0: &str = "\
    15030300020246";
/// A TLS 1.3-only client against a TLS 1.2-only server.
const ALERT: &[Seg] = &[(C, 0, &[Hex(ALERT_C0_0)]), (S, 92, &[Hex(ALERT_S1_0)])];
