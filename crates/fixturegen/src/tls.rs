//! TLS 1.3 handshake records in the shape Go's `crypto/tls` (1.24) sends
//! and a typical server answers, for the application-layer fixtures.
//!
//! The ClientHello follows Go's `clientHelloMsg.marshalMsg` extension order
//! and Go 1.24's defaults (cipher suites with AES-GCM hardware, curve
//! preferences, signature algorithms); key shares are deterministic
//! pseudo-random bytes of the right sizes (the ML-KEM-768 encapsulation key
//! is made of in-range 12-bit coefficients, like a real one). The X25519
//! share is the same 32 bytes at the end of the X25519MLKEM768 share and in
//! the separate X25519 share, as Go reuses the ephemeral key.

use crate::rng::XorShift64;

pub const GROUP_X25519: u16 = 0x001d;
pub const GROUP_P256: u16 = 0x0017;
pub const GROUP_P384: u16 = 0x0018;
pub const GROUP_P521: u16 = 0x0019;
pub const GROUP_X25519MLKEM768: u16 = 0x11ec;

/// ML-KEM-768 encapsulation key (1184) + X25519 public key (32).
pub const MLKEM_CLIENT_SHARE: usize = 1216;
/// ML-KEM-768 ciphertext (1088) + X25519 public key (32).
pub const MLKEM_SERVER_SHARE: usize = 1120;

/// Go 1.24 `cipherSuitesPreferenceOrder` filtered by the default suites (TLS
/// 1.2 ECDHE suites), then `defaultCipherSuitesTLS13` (AES-GCM hardware),
/// appended last as Go does.
pub const GO_CIPHER_SUITES: [u16; 13] = [
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014, 0x1301, 0x1302,
    0x1303,
];

/// Go 1.24 `defaultSupportedSignatureAlgorithms`.
pub const GO_SIG_ALGS: [u16; 12] = [
    0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603, 0x0201, 0x0203,
];

/// Go 1.24 default curve preferences.
pub const GO_GROUPS_MLKEM: [u16; 5] = [
    GROUP_X25519MLKEM768,
    GROUP_X25519,
    GROUP_P256,
    GROUP_P384,
    GROUP_P521,
];
/// The same with `GODEBUG=tlsmlkem=0` (or Go 1.22).
pub const GO_GROUPS_CLASSIC: [u16; 4] = [GROUP_X25519, GROUP_P256, GROUP_P384, GROUP_P521];

pub const ALPN_H2_HTTP11: [&str; 2] = ["h2", "http/1.1"];

pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_STATUS_REQUEST: u16 = 5;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_SCT: u16 = 18;
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
pub const EXT_SESSION_TICKET: u16 = 35;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
pub const EXT_KEY_SHARE: u16 = 51;
pub const EXT_RENEGOTIATION_INFO: u16 = 65281;

/// The extension order of a Go ClientHello (`marshalMsg`), for the fields
/// Go sets by default plus session tickets (a `ClientSessionCache`, which
/// also brings psk_key_exchange_modes).
pub const GO_EXT_ORDER: [u16; 13] = [
    EXT_SERVER_NAME,
    EXT_EC_POINT_FORMATS,
    EXT_SESSION_TICKET,
    EXT_RENEGOTIATION_INFO,
    EXT_EXTENDED_MASTER_SECRET,
    EXT_SCT,
    EXT_STATUS_REQUEST,
    EXT_SUPPORTED_GROUPS,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_ALPN,
    EXT_SUPPORTED_VERSIONS,
    EXT_KEY_SHARE,
    EXT_PSK_KEY_EXCHANGE_MODES,
];

pub fn ext_name(t: u16) -> &'static str {
    match t {
        EXT_SERVER_NAME => "server_name",
        EXT_STATUS_REQUEST => "status_request",
        EXT_SUPPORTED_GROUPS => "supported_groups",
        EXT_EC_POINT_FORMATS => "ec_point_formats",
        EXT_SIGNATURE_ALGORITHMS => "signature_algorithms",
        EXT_ALPN => "application_layer_protocol_negotiation",
        EXT_SCT => "signed_certificate_timestamp",
        EXT_EXTENDED_MASTER_SECRET => "extended_master_secret",
        EXT_SESSION_TICKET => "session_ticket",
        EXT_SUPPORTED_VERSIONS => "supported_versions",
        EXT_PSK_KEY_EXCHANGE_MODES => "psk_key_exchange_modes",
        EXT_KEY_SHARE => "key_share",
        EXT_RENEGOTIATION_INFO => "renegotiation_info",
        _ => "unknown",
    }
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

/// A record of `content_type` with the given legacy version.
pub fn record(content_type: u8, version: u16, body: &[u8]) -> Vec<u8> {
    assert!(body.len() <= 16384 + 256);
    let mut v = vec![content_type];
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![msg_type];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

/// An ML-KEM-768 encapsulation key: 768 coefficients below q = 3329 packed
/// as 12-bit pairs (1152 bytes), then the 32-byte seed rho.
fn mlkem768_encapsulation_key(rng: &mut XorShift64) -> Vec<u8> {
    let mut v = Vec::with_capacity(1184);
    for _ in 0..384 {
        let a = rng.below(3329);
        let b = rng.below(3329);
        v.push(a as u8);
        v.push(((a >> 8) | ((b & 0xf) << 4)) as u8);
        v.push((b >> 4) as u8);
    }
    let mut rho = [0u8; 32];
    rng.fill(&mut rho);
    v.extend_from_slice(&rho);
    debug_assert_eq!(v.len(), 1184);
    v
}

/// A Go-shaped TLS 1.3 ClientHello record and the facts a test asserts.
pub struct ClientHello {
    /// The whole record (type 22, legacy record version 0x0301).
    pub record: Vec<u8>,
    /// Offset of the SNI host name inside `record`.
    pub sni_offset: usize,
    pub session_id: [u8; 32],
    pub groups: Vec<u16>,
    /// (group, key_exchange length) in order.
    pub key_shares: Vec<(u16, usize)>,
    pub ext_order: Vec<u16>,
}

/// Go 1.24's ClientHello for `sni` with ALPN h2/http/1.1 and session
/// tickets enabled: X25519MLKEM768 + X25519 key shares when `mlkem`, else
/// X25519 only (`GODEBUG=tlsmlkem=0`).
pub fn go_client_hello(sni: &str, mlkem: bool, rng: &mut XorShift64) -> ClientHello {
    let groups: Vec<u16> = if mlkem {
        GO_GROUPS_MLKEM.to_vec()
    } else {
        GO_GROUPS_CLASSIC.to_vec()
    };
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    let mut session_id = [0u8; 32];
    rng.fill(&mut session_id);
    let mut x25519 = [0u8; 32];
    rng.fill(&mut x25519);
    let mut shares: Vec<(u16, Vec<u8>)> = Vec::new();
    if mlkem {
        let mut hybrid = mlkem768_encapsulation_key(rng);
        hybrid.extend_from_slice(&x25519);
        debug_assert_eq!(hybrid.len(), MLKEM_CLIENT_SHARE);
        shares.push((GROUP_X25519MLKEM768, hybrid));
    }
    shares.push((GROUP_X25519, x25519.to_vec()));

    let mut exts = Vec::with_capacity(1500);
    let mut order = Vec::new();
    let mut sni_in_exts = 0;
    for &t in &GO_EXT_ORDER {
        let data: Vec<u8> = match t {
            EXT_SERVER_NAME => {
                let mut d = ((sni.len() + 3) as u16).to_be_bytes().to_vec();
                d.push(0); // host_name
                d.extend_from_slice(&(sni.len() as u16).to_be_bytes());
                sni_in_exts = exts.len() + 4 + d.len();
                d.extend_from_slice(sni.as_bytes());
                d
            }
            EXT_EC_POINT_FORMATS => vec![1, 0],
            EXT_SESSION_TICKET | EXT_EXTENDED_MASTER_SECRET | EXT_SCT => vec![],
            EXT_RENEGOTIATION_INFO => vec![0],
            EXT_STATUS_REQUEST => vec![1, 0, 0, 0, 0],
            EXT_SUPPORTED_GROUPS => u16_list(&groups),
            EXT_SIGNATURE_ALGORITHMS => u16_list(&GO_SIG_ALGS),
            EXT_ALPN => {
                let mut l = Vec::new();
                for p in ALPN_H2_HTTP11 {
                    l.push(p.len() as u8);
                    l.extend_from_slice(p.as_bytes());
                }
                let mut d = (l.len() as u16).to_be_bytes().to_vec();
                d.extend_from_slice(&l);
                d
            }
            EXT_SUPPORTED_VERSIONS => vec![4, 0x03, 0x04, 0x03, 0x03],
            EXT_KEY_SHARE => {
                let mut l = Vec::new();
                for (g, k) in &shares {
                    l.extend_from_slice(&g.to_be_bytes());
                    l.extend_from_slice(&(k.len() as u16).to_be_bytes());
                    l.extend_from_slice(k);
                }
                let mut d = (l.len() as u16).to_be_bytes().to_vec();
                d.extend_from_slice(&l);
                d
            }
            EXT_PSK_KEY_EXCHANGE_MODES => vec![1, 1], // psk_dhe_ke
            _ => unreachable!(),
        };
        ext(&mut exts, t, &data);
        order.push(t);
    }

    let mut body = Vec::with_capacity(100 + exts.len());
    body.extend_from_slice(&[0x03, 0x03]); // legacy_version TLS 1.2
    body.extend_from_slice(&random);
    body.push(32);
    body.extend_from_slice(&session_id);
    body.extend_from_slice(&u16_list(&GO_CIPHER_SUITES));
    body.extend_from_slice(&[1, 0]); // compression: null
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    let exts_at = 5 + 4 + body.len();
    body.extend_from_slice(&exts);
    let rec = record(0x16, 0x0301, &handshake(1, &body));
    let sni_offset = exts_at + sni_in_exts;
    debug_assert_eq!(&rec[sni_offset..sni_offset + sni.len()], sni.as_bytes());
    ClientHello {
        record: rec,
        sni_offset,
        session_id,
        groups,
        key_shares: shares.iter().map(|(g, k)| (*g, k.len())).collect(),
        ext_order: order,
    }
}

/// A TLS 1.3 ServerHello record (record and legacy version 0x0303,
/// supported_versions 0x0304, the given cipher suite, a key share of
/// `group`) echoing `session_id`, followed by a ChangeCipherSpec record.
pub fn server_hello_ccs(
    group: u16,
    cipher: u16,
    session_id: &[u8; 32],
    rng: &mut XorShift64,
) -> Vec<u8> {
    let share_len = match group {
        GROUP_X25519MLKEM768 => MLKEM_SERVER_SHARE,
        GROUP_X25519 => 32,
        _ => panic!("no share size for group {group:#06x}"),
    };
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    let mut share = vec![0u8; share_len];
    rng.fill(&mut share);
    let mut exts = Vec::new();
    ext(&mut exts, EXT_SUPPORTED_VERSIONS, &[0x03, 0x04]);
    let mut ks = group.to_be_bytes().to_vec();
    ks.extend_from_slice(&(share_len as u16).to_be_bytes());
    ks.extend_from_slice(&share);
    ext(&mut exts, EXT_KEY_SHARE, &ks);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random);
    body.push(32);
    body.extend_from_slice(session_id);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0); // null compression
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut v = record(0x16, 0x0303, &handshake(2, &body));
    v.extend_from_slice(&change_cipher_spec());
    v
}

/// The 6-byte middlebox-compatibility ChangeCipherSpec record.
pub fn change_cipher_spec() -> Vec<u8> {
    vec![0x14, 0x03, 0x03, 0x00, 0x01, 0x01]
}

/// An opaque application_data record of exactly `len` bytes (>= 6).
pub fn app_data(len: usize, rng: &mut XorShift64) -> Vec<u8> {
    assert!(len >= 6);
    let mut body = vec![0u8; len - 5];
    rng.fill(&mut body);
    record(0x17, 0x0303, &body)
}

pub fn hex_list(items: &[u16]) -> String {
    items
        .iter()
        .map(|i| format!("0x{i:04x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks the ClientHello the way a parser would.
    #[test]
    fn client_hello_structure() {
        let mut rng = XorShift64::new(1);
        let ch = go_client_hello("proxy.golang.org", true, &mut rng);
        let r = &ch.record;
        assert_eq!(r[0], 0x16);
        assert_eq!(usize::from(u16::from_be_bytes([r[3], r[4]])), r.len() - 5);
        assert_eq!(r[5], 1);
        let hs_len = u32::from_be_bytes([0, r[6], r[7], r[8]]) as usize;
        assert_eq!(hs_len, r.len() - 9);
        let mut p = 9 + 2 + 32;
        assert_eq!(r[p], 32);
        p += 33;
        let cs = usize::from(u16::from_be_bytes([r[p], r[p + 1]]));
        assert_eq!(cs, 26);
        p += 2 + cs + 2;
        let el = usize::from(u16::from_be_bytes([r[p], r[p + 1]]));
        p += 2;
        assert_eq!(p + el, r.len());
        let mut seen = Vec::new();
        while p < r.len() {
            let t = u16::from_be_bytes([r[p], r[p + 1]]);
            let l = usize::from(u16::from_be_bytes([r[p + 2], r[p + 3]]));
            if t == EXT_KEY_SHARE {
                let d = &r[p + 4..p + 4 + l];
                assert_eq!(&d[2..4], &[0x11, 0xec]);
                assert_eq!(u16::from_be_bytes([d[4], d[5]]), 1216);
                let x = &d[6 + 1216 + 4..];
                assert_eq!(&d[6 + 1184..6 + 1216], x, "X25519 share reused");
            }
            seen.push(t);
            p += 4 + l;
        }
        assert_eq!(seen, GO_EXT_ORDER);
        assert_eq!(&r[ch.sni_offset..ch.sni_offset + 16], b"proxy.golang.org");
        let small = go_client_hello("proxy.golang.org", false, &mut rng);
        assert!(small.record.len() < 400, "{}", small.record.len());
    }
}
