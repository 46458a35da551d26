//! Names for TLS code points: versions (Zeek style), cipher suites (IANA), groups, alerts.

use std::borrow::Cow;

/// True for the 16 GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ..., 0xfafa), used in cipher
/// suites, extensions, groups, versions and signature algorithms.
pub const fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Zeek's name for a protocol version: `"TLSv12"`, `"TLSv13"`, `"SSLv3"`, `"DTLSv12"`, ...;
/// `"GREASE"` for GREASE values, `"unknown"` otherwise.
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv10",
        0x0302 => "TLSv11",
        0x0303 => "TLSv12",
        0x0304 => "TLSv13",
        0xfeff => "DTLSv10",
        0xfefd => "DTLSv12",
        0xfefc => "DTLSv13",
        0x7f00..=0x7fff => "TLSv13-draft",
        _ if is_grease(v) => "GREASE",
        _ => "unknown",
    }
}

/// The IANA name of a cipher suite (`"TLS_AES_128_GCM_SHA256"`,
/// `"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"`), from tls-parser's IANA table plus the two
/// signalling values; `"GREASE"`; else the hex value (`"0x1f2e"`).
pub fn cipher_name(id: u16) -> Cow<'static, str> {
    match id {
        0x00ff => Cow::Borrowed("TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
        0x5600 => Cow::Borrowed("TLS_FALLBACK_SCSV"),
        _ if is_grease(id) => Cow::Borrowed("GREASE"),
        _ => match tls_parser::TlsCipherSuite::from_id(id) {
            Some(c) => Cow::Borrowed(c.name),
            None => Cow::Owned(format!("0x{id:04x}")),
        },
    }
}

/// The IANA name of a supported group (named curve or hybrid KEM); `"GREASE"`; else
/// `"unknown"`.
pub fn group_name(g: u16) -> &'static str {
    match g {
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x001d => "x25519",
        0x001e => "x448",
        0x001a => "brainpoolP256r1",
        0x001b => "brainpoolP384r1",
        0x001c => "brainpoolP512r1",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x0200 => "MLKEM512",
        0x0201 => "MLKEM768",
        0x0202 => "MLKEM1024",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        _ if is_grease(g) => "GREASE",
        _ => "unknown",
    }
}

/// The RFC 8446 name of an alert description (`"handshake_failure"`); else `"unknown"`.
pub fn alert_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => "unknown",
    }
}

/// `"warning"` (1), `"fatal"` (2), else `"unknown"`.
pub fn alert_level_name(level: u8) -> &'static str {
    match level {
        1 => "warning",
        2 => "fatal",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_is_exactly_the_rfc_8701_table() {
        let all: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        let want: Vec<u16> = (0..16u16)
            .map(|i| (i << 12) | 0x0a00 | (i << 4) | 0x0a)
            .collect();
        assert_eq!(all, want);
    }

    #[test]
    fn names() {
        assert_eq!(version_name(0x0303), "TLSv12");
        assert_eq!(version_name(0x0304), "TLSv13");
        assert_eq!(version_name(0x0300), "SSLv3");
        assert_eq!(version_name(0x2a2a), "GREASE");
        assert_eq!(version_name(0x1234), "unknown");
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0x1303), "TLS_CHACHA20_POLY1305_SHA256");
        assert_eq!(cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
        assert_eq!(cipher_name(0xdada), "GREASE");
        assert_eq!(cipher_name(0xfe1f), "0xfe1f");
        assert_eq!(group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(alert_name(70), "protocol_version");
        assert_eq!(alert_level_name(2), "fatal");
    }
}
