//! A minimal, bounds-checked DER walk over one X.509 certificate: subject and issuer common
//! names, subjectAltName DNS names and IP addresses, validity. Nothing is verified (no
//! signatures, no chains); unknown or odd fields are skipped, and any length that does not fit
//! ends the walk with what was read so far.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// At most this many subjectAltName entries are kept.
pub const MAX_SAN_ENTRIES: usize = 256;

/// What the end-entity certificate of a TLS <= 1.2 Certificate message says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's commonName (the first one).
    pub subject_cn: Option<String>,
    /// The issuer's commonName (the first one).
    pub issuer_cn: Option<String>,
    /// subjectAltName dNSName entries, in order (at most [`MAX_SAN_ENTRIES`]).
    pub san_dns: Vec<String>,
    /// subjectAltName iPAddress entries, in order (at most [`MAX_SAN_ENTRIES`]).
    pub san_ips: Vec<IpAddr>,
    /// notBefore, Unix seconds (UTC).
    pub not_before: Option<i64>,
    /// notAfter, Unix seconds (UTC).
    pub not_after: Option<i64>,
    /// Certificates in the message (the chain as sent).
    pub chain_len: usize,
}

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_VERSION: u8 = 0xa0;
const TAG_EXTENSIONS: u8 = 0xa3;
const TAG_SAN_DNS: u8 = 0x82;
const TAG_SAN_IP: u8 = 0x87;

/// 2.5.4.3 commonName
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17 subjectAltName
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

/// One DER element: `(tag, content, rest)`. Single-byte tags, definite lengths up to 4 bytes.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&l0, mut rest) = rest.split_first()?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let lb = rest.get(..n)?;
        rest = rest.get(n..)?;
        lb.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x))
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// The next element, which must have tag `want`.
fn expect(b: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    match tlv(b)? {
        (t, v, rest) if t == want => Some((v, rest)),
        _ => None,
    }
}

/// Elements of a constructed value, until the first unreadable one.
fn elements(mut b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    core::iter::from_fn(move || {
        let (t, v, rest) = tlv(b)?;
        b = rest;
        Some((t, v))
    })
}

/// Parses a DER certificate; `None` when its outer structure up to the subject is unreadable.
pub(crate) fn parse(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = expect(der, TAG_SEQUENCE)?;
    let (tbs, _) = expect(cert, TAG_SEQUENCE)?;
    let mut rest = tbs;
    if let Some((t, _, r)) = tlv(rest) {
        if t == TAG_VERSION {
            rest = r;
        }
    }
    let (_serial, rest) = expect(rest, TAG_INTEGER)?;
    let (_sig_alg, rest) = expect(rest, TAG_SEQUENCE)?;
    let (issuer, rest) = expect(rest, TAG_SEQUENCE)?;
    let (validity, rest) = expect(rest, TAG_SEQUENCE)?;
    let (subject, rest) = expect(rest, TAG_SEQUENCE)?;
    let mut info = CertInfo {
        subject_cn: common_name(subject),
        issuer_cn: common_name(issuer),
        ..CertInfo::default()
    };
    let mut times = elements(validity).map(|(t, v)| time(t, v));
    info.not_before = times.next().flatten();
    info.not_after = times.next().flatten();
    // subjectPublicKeyInfo, optional unique ids, then [3] extensions.
    if let Some((_spki, rest)) = expect(rest, TAG_SEQUENCE) {
        for (t, v) in elements(rest) {
            if t == TAG_EXTENSIONS {
                if let Some((exts, _)) = expect(v, TAG_SEQUENCE) {
                    extensions(exts, &mut info);
                }
            }
        }
    }
    Some(info)
}

fn extensions(exts: &[u8], info: &mut CertInfo) {
    for (t, e) in elements(exts) {
        if t != TAG_SEQUENCE {
            continue;
        }
        let Some((oid, rest)) = expect(e, TAG_OID) else {
            continue;
        };
        if oid != OID_SAN {
            continue;
        }
        // An optional `critical` BOOLEAN comes before the OCTET STRING.
        let value = elements(rest).find(|(t, _)| *t == TAG_OCTET_STRING);
        let Some((_, value)) = value else {
            continue;
        };
        let Some((names, _)) = expect(value, TAG_SEQUENCE) else {
            continue;
        };
        for (t, v) in elements(names) {
            match t {
                TAG_SAN_DNS if info.san_dns.len() < MAX_SAN_ENTRIES => {
                    info.san_dns.push(String::from_utf8_lossy(v).into_owned());
                }
                TAG_SAN_IP if info.san_ips.len() < MAX_SAN_ENTRIES => {
                    if let Ok(a) = <[u8; 4]>::try_from(v) {
                        info.san_ips.push(IpAddr::V4(Ipv4Addr::from(a)));
                    } else if let Ok(a) = <[u8; 16]>::try_from(v) {
                        info.san_ips.push(IpAddr::V6(Ipv6Addr::from(a)));
                    }
                }
                _ => {}
            }
        }
    }
}

/// The first commonName of a Name (SEQUENCE OF SET OF AttributeTypeAndValue).
fn common_name(name: &[u8]) -> Option<String> {
    for (t, set) in elements(name) {
        if t != TAG_SET {
            continue;
        }
        for (t, atv) in elements(set) {
            if t != TAG_SEQUENCE {
                continue;
            }
            let Some((oid, rest)) = expect(atv, TAG_OID) else {
                continue;
            };
            if oid == OID_CN {
                let (t, v, _) = tlv(rest)?;
                return Some(directory_string(t, v));
            }
        }
    }
    None
}

/// Decodes a DirectoryString (UTF8String, PrintableString, IA5String, TeletexString,
/// BMPString, UniversalString); other types are read as UTF-8, lossily.
fn directory_string(tag: u8, v: &[u8]) -> String {
    match tag {
        // BMPString: UTF-16BE.
        0x1e => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|p| match *p {
                    [a, b] => u16::from_be_bytes([a, b]),
                    _ => 0,
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString: UTF-32BE.
        0x1c => v
            .chunks_exact(4)
            .map(|p| match *p {
                [a, b, c, d] => char::from_u32(u32::from_be_bytes([a, b, c, d]))
                    .unwrap_or(char::REPLACEMENT_CHARACTER),
                _ => char::REPLACEMENT_CHARACTER,
            })
            .collect(),
        // TeletexString: in practice Latin-1.
        0x14 => v.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(v).into_owned(),
    }
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950..2049) or GeneralizedTime (`YYYYMMDDHHMMSS[.f]Z`) as Unix
/// seconds; `None` for anything else.
fn time(tag: u8, v: &[u8]) -> Option<i64> {
    let (year, rest) = match tag {
        TAG_UTC_TIME => {
            let yy = digits(v.get(..2)?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, v.get(2..)?)
        }
        TAG_GENERALIZED_TIME => (digits(v.get(..4)?)?, v.get(4..)?),
        _ => return None,
    };
    let month = digits(rest.get(0..2)?)?;
    let day = digits(rest.get(2..4)?)?;
    let hour = digits(rest.get(4..6)?)?;
    let minute = digits(rest.get(6..8)?)?;
    let (second, tail) = match rest.get(8..10).and_then(digits) {
        Some(s) => (s, rest.get(10..)?),
        None => (0, rest.get(8..)?),
    };
    // Fractional seconds (GeneralizedTime) are dropped; the zone must be Z.
    let tail = match tail.split_first() {
        Some((b'.', frac)) => {
            let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
            frac.get(n..)?
        }
        _ => tail,
    };
    if tail != b"Z"
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// A run of ASCII digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0')))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(time(TAG_UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time(TAG_UTC_TIME, b"000229120000Z"), Some(951_825_600));
        assert_eq!(
            time(TAG_GENERALIZED_TIME, b"20380119031408Z"),
            Some(2_147_483_648)
        );
        assert_eq!(
            time(TAG_GENERALIZED_TIME, b"99991231235959Z"),
            Some(253_402_300_799)
        );
        assert_eq!(
            time(TAG_GENERALIZED_TIME, b"20240101000000.123Z"),
            Some(1_704_067_200)
        );
        assert_eq!(time(TAG_UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(TAG_UTC_TIME, b"701301000000Z"), None);
        assert_eq!(time(TAG_UTC_TIME, b"7001010000"), None);
        assert_eq!(time(TAG_UTC_TIME, b"700101000000+0100"), None);
        assert_eq!(time(0x04, b"700101000000Z"), None);
    }

    #[test]
    fn bmp_and_teletex_names() {
        assert_eq!(directory_string(0x1e, &[0, b'a', 0x00, 0xe9]), "a\u{e9}");
        assert_eq!(directory_string(0x14, &[b'a', 0xe9]), "a\u{e9}");
        assert_eq!(directory_string(0x1c, &[0, 0, 0, b'z']), "z");
    }

    #[test]
    fn tlv_lengths() {
        // Long form, 2 length bytes.
        let mut b = vec![0x04, 0x82, 0x01, 0x00];
        b.extend([7u8; 256]);
        let (t, v, rest) = tlv(&b).unwrap();
        assert_eq!((t, v.len(), rest.len()), (0x04, 256, 0));
        // Indefinite length, too-long length, truncated content.
        assert!(tlv(&[0x30, 0x80, 0, 0]).is_none());
        assert!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(tlv(&[0x30, 0x05, 1]).is_none());
        assert!(tlv(&[0x1f, 0x01, 0]).is_none());
    }
}
