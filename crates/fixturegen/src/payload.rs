//! Application payloads: DNS messages, a TLS 1.3 ClientHello, HTTP/1.1
//! requests and responses, all in real wire format.

use crate::rng::XorShift64;
use std::net::IpAddr;

pub const QTYPE_A: u16 = 1;
pub const QTYPE_AAAA: u16 = 28;

fn put_name(v: &mut Vec<u8>, name: &str) {
    for label in name.trim_end_matches('.').split('.') {
        assert!(!label.is_empty() && label.len() < 64);
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
}

/// A DNS query (RD set) for `name`/`qtype`, class IN. With `pad_to`, an EDNS0
/// OPT record carrying a Padding option (RFC 7830) makes the message exactly
/// that many bytes long.
pub fn dns_query(id: u16, name: &str, qtype: u16, pad_to: Option<usize>) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    v.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    v.extend_from_slice(&[0, 0, 0, 0]); // ANCOUNT, NSCOUNT
    v.extend_from_slice(&u16::from(pad_to.is_some()).to_be_bytes()); // ARCOUNT
    put_name(&mut v, name);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    if let Some(total) = pad_to {
        // OPT RR: root name, TYPE 41, UDP size 4096, ext-rcode/version/flags
        // 0, RDLEN, then option 12 (Padding) of `pad` zero bytes.
        let fixed = v.len() + 11 + 4;
        assert!(total >= fixed, "DNS message cannot be padded to {total}");
        let pad = total - fixed;
        v.push(0);
        v.extend_from_slice(&41u16.to_be_bytes());
        v.extend_from_slice(&4096u16.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(&((4 + pad) as u16).to_be_bytes());
        v.extend_from_slice(&12u16.to_be_bytes());
        v.extend_from_slice(&(pad as u16).to_be_bytes());
        v.resize(v.len() + pad, 0);
        debug_assert_eq!(v.len(), total);
    }
    v
}

/// A DNS response (QR, RD, RA, NOERROR) echoing the question and carrying one
/// answer per address, each with a compression pointer to the question name.
pub fn dns_response(id: u16, name: &str, qtype: u16, answers: &[IpAddr], ttl: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + 28 * answers.len());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&0x8180u16.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    put_name(&mut v, name);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    for a in answers {
        v.extend_from_slice(&[0xc0, 0x0c]);
        let (t, rdata) = match a {
            IpAddr::V4(a) => (QTYPE_A, a.octets().to_vec()),
            IpAddr::V6(a) => (QTYPE_AAAA, a.octets().to_vec()),
        };
        v.extend_from_slice(&t.to_be_bytes());
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        v.extend_from_slice(&rdata);
    }
    v
}

/// A general DNS message: header with `flags`, the question
/// `name`/`qtype`/IN, one answer per `(address, ttl)` (each owner name a
/// compression pointer `C0 0C` to the question), and, with `edns`, an OPT
/// record (RFC 6891: root owner, UDP payload size `edns`, extended RCODE,
/// version and flags 0, no options) in the additional section.
pub fn dns_message(
    id: u16,
    flags: u16,
    name: &str,
    qtype: u16,
    answers: &[(IpAddr, u32)],
    edns: Option<u16>,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + 28 * answers.len());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&flags.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes());
    v.extend_from_slice(&u16::from(edns.is_some()).to_be_bytes());
    put_name(&mut v, name);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    for (a, ttl) in answers {
        v.extend_from_slice(&[0xc0, 0x0c]);
        let (t, rdata) = match a {
            IpAddr::V4(a) => (QTYPE_A, a.octets().to_vec()),
            IpAddr::V6(a) => (QTYPE_AAAA, a.octets().to_vec()),
        };
        v.extend_from_slice(&t.to_be_bytes());
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        v.extend_from_slice(&rdata);
    }
    if let Some(size) = edns {
        v.push(0);
        v.extend_from_slice(&41u16.to_be_bytes());
        v.extend_from_slice(&size.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    v
}

/// A DNS message framed for TCP (RFC 1035 4.2.2): 2-byte length prefix.
pub fn dns_tcp_frame(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

fn ext(v: &mut Vec<u8>, typ: u16, data: &[u8]) {
    v.extend_from_slice(&typ.to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
}

fn u16_list(items: &[u16]) -> Vec<u8> {
    let mut v = ((items.len() * 2) as u16).to_be_bytes().to_vec();
    for i in items {
        v.extend_from_slice(&i.to_be_bytes());
    }
    v
}

/// Size of every ClientHello record we build: 5-byte record header plus a
/// 512-byte handshake message, as browsers pad to (RFC 7685).
pub const CLIENT_HELLO_LEN: usize = 517;

/// A TLS 1.3 ClientHello record (legacy record version 0x0301) with SNI
/// `sni`, ALPN h2/http/1.1, an x25519 key share and a padding extension
/// that brings the record to [`CLIENT_HELLO_LEN`] bytes. Random, session id
/// and key share come from `rng`.
pub fn client_hello(sni: &str, rng: &mut XorShift64) -> Vec<u8> {
    let mut exts = Vec::with_capacity(400);
    // server_name (0): list of one host_name.
    let mut sn = Vec::new();
    sn.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
    sn.push(0);
    sn.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sn.extend_from_slice(sni.as_bytes());
    ext(&mut exts, 0, &sn);
    ext(&mut exts, 23, &[]); // extended_master_secret
    ext(&mut exts, 65281, &[0]); // renegotiation_info
    ext(&mut exts, 10, &u16_list(&[0x001d, 0x0017, 0x0018])); // supported_groups
    ext(&mut exts, 11, &[1, 0]); // ec_point_formats: uncompressed
    ext(&mut exts, 35, &[]); // session_ticket
    let mut alpn = Vec::new();
    for p in ["h2", "http/1.1"] {
        alpn.push(p.len() as u8);
        alpn.extend_from_slice(p.as_bytes());
    }
    let mut a = (alpn.len() as u16).to_be_bytes().to_vec();
    a.extend_from_slice(&alpn);
    ext(&mut exts, 16, &a); // application_layer_protocol_negotiation
    ext(&mut exts, 5, &[1, 0, 0, 0, 0]); // status_request (OCSP)
    let sig = u16_list(&[
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ]);
    ext(&mut exts, 13, &sig); // signature_algorithms
    ext(&mut exts, 18, &[]); // signed_certificate_timestamp
    let mut ks = Vec::new();
    ks.extend_from_slice(&36u16.to_be_bytes());
    ks.extend_from_slice(&0x001du16.to_be_bytes());
    ks.extend_from_slice(&32u16.to_be_bytes());
    let mut key = [0u8; 32];
    rng.fill(&mut key);
    ks.extend_from_slice(&key);
    ext(&mut exts, 51, &ks); // key_share
    ext(&mut exts, 45, &[1, 1]); // psk_key_exchange_modes: psk_dhe_ke
    ext(&mut exts, 43, &[4, 0x03, 0x04, 0x03, 0x03]); // supported_versions
    ext(&mut exts, 27, &[2, 0, 2]); // compress_certificate: brotli

    let mut body = Vec::with_capacity(512);
    body.extend_from_slice(&[0x03, 0x03]); // legacy_version
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    body.push(32);
    let mut sid = [0u8; 32];
    rng.fill(&mut sid);
    body.extend_from_slice(&sid);
    body.extend_from_slice(&u16_list(&[
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
        0x009c, 0x009d, 0x002f, 0x0035,
    ]));
    body.extend_from_slice(&[1, 0]); // compression methods: null
                                     // padding (21) fills the handshake message up to 512 bytes.
    let without_pad = body.len() + 2 + exts.len() + 4;
    let hs_len = CLIENT_HELLO_LEN - 5 - 4;
    assert!(
        without_pad <= hs_len,
        "SNI {sni} too long for a padded ClientHello"
    );
    let pad = hs_len - without_pad;
    ext(&mut exts, 21, &vec![0; pad]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);

    let mut rec = Vec::with_capacity(CLIENT_HELLO_LEN);
    rec.extend_from_slice(&[0x16, 0x03, 0x01]);
    rec.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    rec.push(1); // client_hello
    rec.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    rec.extend_from_slice(&body);
    debug_assert_eq!(rec.len(), CLIENT_HELLO_LEN);
    rec
}

/// A TLS 1.3 ServerHello record followed by a ChangeCipherSpec record, as a
/// server sends them before its encrypted flight.
pub fn server_hello(rng: &mut XorShift64, session_id: &[u8; 32]) -> Vec<u8> {
    let mut exts = Vec::new();
    ext(&mut exts, 43, &[0x03, 0x04]); // supported_versions: TLS 1.3
    let mut ks = vec![0x00, 0x1d, 0x00, 0x20];
    let mut key = [0u8; 32];
    rng.fill(&mut key);
    ks.extend_from_slice(&key);
    ext(&mut exts, 51, &ks);
    let mut body = vec![0x03, 0x03];
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    body.push(32);
    body.extend_from_slice(session_id);
    body.extend_from_slice(&[0x13, 0x01, 0]); // TLS_AES_128_GCM_SHA256, null compression
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut rec = vec![0x16, 0x03, 0x03];
    rec.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    rec.push(2);
    rec.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    rec.extend_from_slice(&body);
    rec.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    rec
}

/// An opaque TLS application_data record of exactly `len` bytes (>= 6).
pub fn tls_app_data(len: usize, rng: &mut XorShift64) -> Vec<u8> {
    assert!(len >= 6);
    let mut v = vec![0x17, 0x03, 0x03];
    v.extend_from_slice(&((len - 5) as u16).to_be_bytes());
    let mut body = vec![0u8; len - 5];
    rng.fill(&mut body);
    v.extend_from_slice(&body);
    v
}

/// `GET <path> HTTP/1.1` with Host and User-Agent, padded with an `X-Pad`
/// header to exactly `len` bytes when `len` is given.
pub fn http_get(host: &str, path: &str, len: Option<usize>) -> Vec<u8> {
    let head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fixturegen/1.0\r\n");
    match len {
        None => format!("{head}\r\n").into_bytes(),
        Some(total) => {
            let fixed = head.len() + "X-Pad: \r\n\r\n".len();
            assert!(total >= fixed, "HTTP request cannot be {total} bytes");
            let pad = "x".repeat(total - fixed);
            let s = format!("{head}X-Pad: {pad}\r\n\r\n");
            debug_assert_eq!(s.len(), total);
            s.into_bytes()
        }
    }
}

/// The request the benchmark clients send, in Go's net/http shape.
pub fn http_get_go(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\n\r\n")
        .into_bytes()
}

/// Response head for a body of `body_len` bytes.
pub fn http_response_head(body_len: usize) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: {body_len}\r\n\r\n"
    )
}

/// A complete `200 OK` response of exactly `len` bytes: head plus a text body.
pub fn http_response(len: usize) -> Vec<u8> {
    // The head length depends on the digits of the body length; iterate.
    let mut body = len.saturating_sub(http_response_head(0).len());
    loop {
        let h = http_response_head(body).len();
        assert!(h <= len, "HTTP response cannot be {len} bytes");
        if h + body == len {
            break;
        }
        body = len - h;
    }
    let mut v = http_response_head(body).into_bytes();
    v.extend((0..body).map(|i| b"tidysniff fixture body\n"[i % 23]));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sizes() {
        assert_eq!(http_get("example", "/", Some(100)).len(), 100);
        assert_eq!(http_response(552).len(), 552);
        assert_eq!(http_response(2000).len(), 2000);
        assert_eq!(dns_query(1, "big.example", QTYPE_A, Some(3000)).len(), 3000);
        let mut r = XorShift64::new(1);
        let ch = client_hello("host123456.example", &mut r);
        assert_eq!(ch.len(), CLIENT_HELLO_LEN);
        assert_eq!(
            u16::from_be_bytes([ch[3], ch[4]]) as usize,
            CLIENT_HELLO_LEN - 5
        );
    }
}
