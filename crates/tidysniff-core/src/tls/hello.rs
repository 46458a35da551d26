//! Pure parsers for the plaintext handshake messages: ClientHello (with JA4), ServerHello
//! (HelloRetryRequest included) and the TLS <= 1.2 Certificate message.
//!
//! Input is a handshake message body as [`super::record::RecordEvent::Handshake`] yields it
//! (without the 4-byte header). The fixed fields are parsed with tls-parser
//! (`parse_tls_handshake_client_hello`, `parse_tls_handshake_server_hello`); the extension block is
//! walked here, one `(type, data)` at a time, so that one odd extension never hides the ones
//! after it (tls-parser's `many0` stops at the first one it cannot read) and so that a
//! ClientHello cut short still yields the extensions before the cut. Extension contents (of both
//! hellos) are read here with checked reads, straight into the result (one allocation a list):
//! SNI, ALPN, supported groups and signature algorithms follow the rules of tls-parser's content
//! parsers (a list length that overruns the extension makes it unreadable; a malformed entry
//! ends the list, keeping the entries before it; an odd trailing byte is ignored), whose
//! intermediate vectors cost about half of a ClientHello's allocations.

use super::names::is_grease;
use super::sha256::hash12;
use super::x509;

pub use super::x509::CertInfo;

use tls_parser::parse_tls_handshake_server_hello;

/// Extension types used here (IANA "TLS ExtensionType Values").
pub mod ext {
    /// server_name (SNI)
    pub const SERVER_NAME: u16 = 0x0000;
    /// supported_groups
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    /// signature_algorithms
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    /// application_layer_protocol_negotiation (ALPN)
    pub const ALPN: u16 = 0x0010;
    /// supported_versions
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
    /// key_share
    pub const KEY_SHARE: u16 = 0x0033;
    /// encrypted_client_hello (ECH, draft-ietf-tls-esni)
    pub const ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
}

/// The hybrid post-quantum group X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem).
pub const GROUP_X25519MLKEM768: u16 = 0x11ec;

/// The ServerHello random that marks a HelloRetryRequest (RFC 8446 4.1.3): SHA-256 of
/// "HelloRetryRequest".
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Why a handshake message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HelloError {
    /// The message ends before its fixed fields do.
    Truncated,
    /// A length or value is inconsistent; the text says which.
    Malformed(&'static str),
}

impl core::fmt::Display for HelloError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HelloError::Truncated => f.write_str("handshake message truncated"),
            HelloError::Malformed(what) => write!(f, "malformed handshake message: {what}"),
        }
    }
}

impl std::error::Error for HelloError {}

/// What a ClientHello tells. Lists keep the wire order and GREASE values (the JA4 fingerprint
/// leaves GREASE out, as its specification says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHelloInfo {
    /// `legacy_version` of the ClientHello (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// The first host_name of the server_name extension. With ECH this is the outer (public)
    /// name, see `sni_is_ech_outer`.
    pub sni: Option<String>,
    /// True when an ECH extension is present, so `sni` is the outer ClientHello's public name,
    /// not the real destination. Browsers also send a GREASE ECH extension when they have no ECH
    /// configuration (indistinguishable on the wire by design), in which case `sni` is the real
    /// name: read this as "the SNI may be an ECH outer name".
    pub sni_is_ech_outer: bool,
    /// ALPN protocol names, in order.
    pub alpn: Vec<String>,
    /// The lists of 16-bit values (cipher suites, extension types, supported_versions,
    /// supported_groups, key_share groups, signature_algorithms) in one allocation; read them
    /// with the accessors ([`ClientHelloInfo::cipher_suites`] and the others).
    lists: U16Lists,
    /// X25519MLKEM768 (0x11ec) is in supported_groups or key_share.
    pub has_x25519mlkem768: bool,
    /// An encrypted_client_hello extension (0xfe0d) is present.
    pub ech_offered: bool,
    /// The two ALPN characters of JA4 (from the first ALPN value), kept so that
    /// [`ClientHelloInfo::ja4`] can be made when it is wanted.
    pub ja4_alpn: [u8; 2],
    /// The message was cut short: fields come from the part received (extensions up to the cut).
    pub truncated: bool,
}

/// What a ServerHello (or HelloRetryRequest) tells.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHelloInfo {
    /// `legacy_version` (0x0303 for TLS 1.2 and 1.3).
    pub version: u16,
    /// The version of the supported_versions extension (TLS 1.3: 0x0304).
    pub selected_version: Option<u16>,
    /// Selected cipher suite.
    pub cipher: u16,
    /// The random is the HelloRetryRequest value: the server asks for another ClientHello.
    pub is_hello_retry_request: bool,
    /// Group of the key_share extension (in a HelloRetryRequest: the group asked for).
    pub selected_group: Option<u16>,
    /// The ALPN protocol selected.
    pub alpn: Option<String>,
    /// Extension types, in order.
    pub extensions: Vec<u16>,
}

impl ServerHelloInfo {
    /// The negotiated version: `selected_version` when present, else `version`.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }
}

/// Which list of a [`ClientHelloInfo`] a span of [`U16Lists`] holds.
#[derive(Clone, Copy)]
enum List {
    CipherSuites,
    Extensions,
    SupportedVersions,
    Groups,
    KeyShareGroups,
    SignatureAlgorithms,
}

/// Six lists of 16-bit values in one vector: a ClientHello costs one allocation for them instead
/// of six (each block a record carries is later freed by the writer thread, a cold miss for the
/// allocating thread). A list set again (a repeated extension) replaces the earlier one.
#[derive(Clone, Default)]
struct U16Lists {
    data: Vec<u16>,
    /// (start, end) in `data` of each [`List`].
    spans: [(u32, u32); 6],
}

impl U16Lists {
    fn get(&self, l: List) -> &[u16] {
        let (a, b) = self.spans.get(l as usize).copied().unwrap_or_default();
        self.data.get(a as usize..b as usize).unwrap_or(&[])
    }

    /// Sets list `l` to `items`.
    fn set(&mut self, l: List, items: impl IntoIterator<Item = u16>) {
        self.set_with(l, |data| data.extend(items));
    }

    /// Sets list `l` to the values `fill` appends to the vector; returns what `fill` returns.
    fn set_with<R>(&mut self, l: List, fill: impl FnOnce(&mut Vec<u16>) -> R) -> R {
        let start = self.data.len();
        let r = fill(&mut self.data);
        let end = self.data.len();
        if let (Some(span), Ok(a), Ok(b)) = (
            self.spans.get_mut(l as usize),
            u32::try_from(start),
            u32::try_from(end),
        ) {
            *span = (a, b);
        }
        r
    }

    fn all(&self) -> [(&'static str, &[u16]); 6] {
        [
            ("cipher_suites", self.get(List::CipherSuites)),
            ("extensions", self.get(List::Extensions)),
            ("supported_versions", self.get(List::SupportedVersions)),
            ("groups", self.get(List::Groups)),
            ("key_share_groups", self.get(List::KeyShareGroups)),
            ("signature_algorithms", self.get(List::SignatureAlgorithms)),
        ]
    }
}

impl PartialEq for U16Lists {
    fn eq(&self, other: &Self) -> bool {
        self.all() == other.all()
    }
}

impl Eq for U16Lists {}

impl core::fmt::Debug for U16Lists {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut m = f.debug_map();
        for (name, v) in self.all() {
            m.entry(&name, &v);
        }
        m.finish()
    }
}

/// Checked big-endian reads over a byte slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader { rest: b }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.rest.get(..n)?, self.rest.get(n..)?);
        self.rest = b;
        Some(a)
    }
    /// A vector with a 1-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    /// A vector with a 2-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    /// A vector with a 3-byte length prefix.
    pub(crate) fn vec24(&mut self) -> Option<&'a [u8]> {
        let b = self.take(3)?;
        let n = match *b {
            [x, y, z] => (usize::from(x) << 16) | (usize::from(y) << 8) | usize::from(z),
            _ => return None,
        };
        self.take(n)
    }
}

/// Big-endian u16 values of `b` (a trailing odd byte is ignored).
fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|p| match *p {
        [x, y] => u16::from_be_bytes([x, y]),
        _ => 0,
    })
}

/// Walks an extension block: `(type, data)` pairs until the block ends. Returns false when the
/// block ends inside an extension (truncated or inconsistent).
fn walk_extensions<'a>(block: &'a [u8], mut f: impl FnMut(u16, &'a [u8])) -> bool {
    let mut r = Reader::new(block);
    while !r.is_empty() {
        let (Some(t), Some(data)) = (r.u16(), r.vec16()) else {
            return false;
        };
        f(t, data);
    }
    true
}

/// Parses a complete ClientHello body.
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHelloInfo, HelloError> {
    client_hello(body, false)
}

/// Parses the start of a ClientHello that was cut short (the rest never arrived): the fixed
/// fields must be complete; extensions are read up to the cut. The result has `truncated` set
/// and no JA4.
pub fn parse_client_hello_prefix(body: &[u8]) -> Result<ClientHelloInfo, HelloError> {
    client_hello(body, true)
}

/// The fixed fields of a ClientHello body that [`client_hello`] uses, read as tls-parser 0.12's
/// `parse_tls_handshake_client_hello` reads them (same acceptance, same errors: the tests
/// compare the two) without its two vectors.
struct FixedFields<'a> {
    version: u16,
    /// The cipher_suites bytes (an even number).
    ciphers: &'a [u8],
    /// The extension block when it is complete.
    ext: Option<&'a [u8]>,
    /// What follows the block (or, when it is incomplete, from its length on).
    rest: &'a [u8],
}

/// Why [`fixed_fields`] failed: the body ends early (tls-parser's `Incomplete`) or a length is
/// impossible (its `Error`).
#[derive(Debug, PartialEq)]
enum FixedError {
    Incomplete,
    Invalid,
}

fn fixed_fields(body: &[u8]) -> Result<FixedFields<'_>, FixedError> {
    let mut r = Reader::new(body);
    let version = r.u16().ok_or(FixedError::Incomplete)?;
    r.take(32).ok_or(FixedError::Incomplete)?;
    let sid_len = r.u8().ok_or(FixedError::Incomplete)?;
    if sid_len > 32 {
        return Err(FixedError::Invalid);
    }
    r.take(usize::from(sid_len)).ok_or(FixedError::Incomplete)?;
    let ciphers_len = usize::from(r.u16().ok_or(FixedError::Incomplete)?);
    // A length past the end is an error, not a wait for more bytes (as tls-parser has it).
    if ciphers_len % 2 == 1 {
        return Err(FixedError::Invalid);
    }
    let ciphers = r.take(ciphers_len).ok_or(FixedError::Invalid)?;
    let comp_len = r.u8().ok_or(FixedError::Incomplete)?;
    r.take(usize::from(comp_len)).ok_or(FixedError::Invalid)?;
    let mut ext_r = Reader::new(r.rest());
    let (ext, rest) = match ext_r.vec16() {
        Some(block) => (Some(block), ext_r.rest()),
        None => (None, r.rest()),
    };
    Ok(FixedFields {
        version,
        ciphers,
        ext,
        rest,
    })
}

fn client_hello(body: &[u8], prefix: bool) -> Result<ClientHelloInfo, HelloError> {
    let ch = fixed_fields(body).map_err(|e| match e {
        FixedError::Incomplete => HelloError::Truncated,
        FixedError::Invalid if prefix => HelloError::Truncated,
        FixedError::Invalid => HelloError::Malformed("client hello fixed fields"),
    })?;
    let rest = ch.rest;
    let mut info = ClientHelloInfo {
        legacy_version: ch.version,
        ..ClientHelloInfo::default()
    };
    // The extension block is read only when it is complete; otherwise `rest` starts with its
    // length.
    let (block, complete) = match ch.ext {
        Some(block) => (block, true),
        None if rest.is_empty() => (&[][..], true),
        None => {
            let mut r = Reader::new(rest);
            r.u16();
            (r.rest(), false)
        }
    };
    if !complete && !prefix {
        return Err(HelloError::Malformed("extension block length"));
    }
    // One allocation for the lists, sized exactly: the cipher suites, then the extension types
    // and the lists inside the extensions (counted by a first walk).
    let mut size = ch.ciphers.len() / 2;
    walk_extensions(block, |t, data| size += 1 + list_len(t, data));
    info.lists.data = Vec::with_capacity(size);
    info.lists.set(List::CipherSuites, u16s(ch.ciphers));
    let walked = info.lists.set_with(List::Extensions, |data| {
        walk_extensions(block, |t, _| data.push(t))
    });
    let mut first_alpn: Option<&[u8]> = None;
    walk_extensions(block, |t, data| {
        // An unreadable extension body leaves its fields empty; its type is kept.
        client_extension(&mut info, &mut first_alpn, t, data);
    });
    if !walked && !prefix {
        return Err(HelloError::Malformed("extension lengths"));
    }
    info.has_x25519mlkem768 = info.groups().contains(&GROUP_X25519MLKEM768)
        || info.key_share_groups().contains(&GROUP_X25519MLKEM768);
    info.ech_offered = info.extensions().contains(&ext::ENCRYPTED_CLIENT_HELLO);
    info.sni_is_ech_outer = info.ech_offered && info.sni.is_some();
    info.truncated = prefix && !(complete && walked && rest.is_empty());
    if !info.truncated {
        info.ja4_alpn = alpn_chars(first_alpn);
    }
    Ok(info)
}

/// The entries of a list with a 2-byte length (`None` when the length overruns `data`), read by
/// `entry` until the list ends or an entry is malformed.
fn list16<'a, T, F>(data: &'a [u8], mut entry: F) -> Option<impl Iterator<Item = T> + use<'a, T, F>>
where
    F: FnMut(&mut Reader<'a>) -> Option<T>,
{
    let mut r = Reader::new(Reader::new(data).vec16()?);
    Some(core::iter::from_fn(move || {
        if r.is_empty() {
            None
        } else {
            entry(&mut r)
        }
    }))
}

/// The group of one KeyShareEntry (group, key_exchange<1..2^16-1>); `None` when malformed.
fn key_share_group(r: &mut Reader<'_>) -> Option<u16> {
    let group = r.u16()?;
    r.vec16()?;
    Some(group)
}

/// The protocol names of an ALPN extension body (ProtocolName<1..2^8-1>*), up to a malformed one;
/// `None` when the list length overruns the body.
fn alpn_protocols(data: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    list16(data, |r| r.vec8())
}

/// How many values [`client_extension`] stores for extension `t` (an upper bound when the body is
/// malformed).
fn list_len(t: u16, data: &[u8]) -> usize {
    match t {
        ext::SUPPORTED_GROUPS | ext::SIGNATURE_ALGORITHMS => {
            Reader::new(data).vec16().map_or(0, |l| l.len() / 2)
        }
        ext::SUPPORTED_VERSIONS => Reader::new(data).vec8().map_or(0, |l| l.len() / 2),
        ext::KEY_SHARE => list16(data, key_share_group).map_or(0, Iterator::count),
        _ => 0,
    }
}

/// Reads one ClientHello extension into `info`; false when its body is unreadable.
fn client_extension<'a>(
    info: &mut ClientHelloInfo,
    first_alpn: &mut Option<&'a [u8]>,
    t: u16,
    data: &'a [u8],
) -> bool {
    match t {
        // server_name_list: (name_type, HostName<1..2^16-1>)*; the first host_name (type 0).
        ext::SERVER_NAME => match list16(data, |r| Some((r.u8()?, r.vec16()?))) {
            Some(mut names) => {
                if info.sni.is_none() {
                    info.sni = names
                        .find(|(kind, _)| *kind == 0)
                        .map(|(_, name)| String::from_utf8_lossy(name).into_owned());
                }
                true
            }
            None => false,
        },
        ext::ALPN => match alpn_protocols(data) {
            Some(protos) => {
                let mut alpn = Vec::new();
                for p in protos {
                    first_alpn.get_or_insert(p);
                    alpn.push(String::from_utf8_lossy(p).into_owned());
                }
                info.alpn = alpn;
                true
            }
            None => false,
        },
        ext::SUPPORTED_GROUPS | ext::SIGNATURE_ALGORITHMS => match Reader::new(data).vec16() {
            Some(list) => {
                let which = if t == ext::SUPPORTED_GROUPS {
                    List::Groups
                } else {
                    List::SignatureAlgorithms
                };
                info.lists.set(which, u16s(list));
                true
            }
            None => false,
        },
        ext::SUPPORTED_VERSIONS => match Reader::new(data).vec8() {
            Some(list) => {
                info.lists.set(List::SupportedVersions, u16s(list));
                true
            }
            None => false,
        },
        ext::KEY_SHARE => match list16(data, key_share_group) {
            Some(groups) => {
                info.lists.set(List::KeyShareGroups, groups);
                true
            }
            None => false,
        },
        _ => true,
    }
}

impl ClientHelloInfo {
    /// Cipher suites, in order.
    pub fn cipher_suites(&self) -> &[u16] {
        self.lists.get(List::CipherSuites)
    }

    /// Extension types, in order.
    pub fn extensions(&self) -> &[u16] {
        self.lists.get(List::Extensions)
    }

    /// supported_versions, in order.
    pub fn supported_versions(&self) -> &[u16] {
        self.lists.get(List::SupportedVersions)
    }

    /// supported_groups, in order.
    pub fn groups(&self) -> &[u16] {
        self.lists.get(List::Groups)
    }

    /// Groups of the key_share entries, in order.
    pub fn key_share_groups(&self) -> &[u16] {
        self.lists.get(List::KeyShareGroups)
    }

    /// signature_algorithms, in order.
    pub fn signature_algorithms(&self) -> &[u16] {
        self.lists.get(List::SignatureAlgorithms)
    }

    /// The JA4 fingerprint (FoxIO), for TLS over TCP (`t`); empty when `truncated`. Made on demand
    /// (sorting and two SHA-256 hashes): the record writer calls it, not the per-packet path.
    pub fn ja4(&self) -> String {
        if self.truncated {
            return String::new();
        }
        JA4_CACHE.with(|c| match c.try_borrow_mut() {
            Ok(mut cache) => cache.get(self),
            Err(_) => ja4_parts(self, self.ja4_alpn).hashed(),
        })
    }

    /// JA4_r, the raw (unhashed, sorted) form of [`ClientHelloInfo::ja4`]; empty when `truncated`.
    pub fn ja4_r(&self) -> String {
        if self.truncated {
            return String::new();
        }
        ja4_parts(self, self.ja4_alpn).raw()
    }
}

std::thread_local! {
    /// The fingerprints this thread made last: a client sends the same ClientHello lists on every
    /// connection (the Go toolchain's, a browser's), so most JA4s repeat, and a hit skips the
    /// sorting, the hex lists and the two SHA-256 hashes.
    static JA4_CACHE: core::cell::RefCell<Ja4Cache> = core::cell::RefCell::new(Ja4Cache::default());
}

/// Entries of [`JA4_CACHE`] (replaced round-robin).
const JA4_CACHE_ENTRIES: usize = 16;

/// Recent JA4 fingerprints with exactly the inputs they were made from.
#[derive(Default)]
struct Ja4Cache {
    entries: Vec<(Ja4Key, String)>,
    next: usize,
}

/// What a JA4 is made of: the legacy version, the ALPN characters and four of the lists.
struct Ja4Key {
    legacy_version: u16,
    alpn: [u8; 2],
    lists: U16Lists,
}

/// The lists a JA4 reads.
const JA4_LISTS: [List; 4] = [
    List::CipherSuites,
    List::Extensions,
    List::SupportedVersions,
    List::SignatureAlgorithms,
];

impl Ja4Key {
    fn matches(&self, info: &ClientHelloInfo) -> bool {
        self.legacy_version == info.legacy_version
            && self.alpn == info.ja4_alpn
            && JA4_LISTS
                .iter()
                .all(|&l| self.lists.get(l) == info.lists.get(l))
    }

    fn of(info: &ClientHelloInfo) -> Self {
        Ja4Key {
            legacy_version: info.legacy_version,
            alpn: info.ja4_alpn,
            lists: info.lists.clone(),
        }
    }
}

impl Ja4Cache {
    /// The JA4 of `info` (not truncated), made once per distinct inputs while they stay cached.
    fn get(&mut self, info: &ClientHelloInfo) -> String {
        if let Some((_, fp)) = self.entries.iter().find(|(k, _)| k.matches(info)) {
            return fp.clone();
        }
        let fp = ja4_parts(info, info.ja4_alpn).hashed();
        let entry = (Ja4Key::of(info), fp.clone());
        if self.entries.len() < JA4_CACHE_ENTRIES {
            self.entries.push(entry);
        } else if let Some(slot) = self.entries.get_mut(self.next) {
            *slot = entry;
        }
        self.next = (self.next + 1) % JA4_CACHE_ENTRIES;
        fp
    }
}

/// JA4 and JA4_r together (tests).
#[cfg(test)]
fn ja4(info: &ClientHelloInfo, alpn: [u8; 2]) -> (String, String) {
    let p = ja4_parts(info, alpn);
    (p.hashed(), p.raw())
}

/// The three sections of JA4: `a` (protocol, version, SNI, counts, ALPN), and the sorted raw lists
/// that `b` and `c` hash (empty lists hash to zeros).
struct Ja4Parts {
    a: String,
    b_raw: String,
    c_raw: String,
    no_ciphers: bool,
    no_exts: bool,
}

impl Ja4Parts {
    /// JA4: `a_sha(b)_sha(c)`.
    fn hashed(&self) -> String {
        let zero = "000000000000";
        let b = if self.no_ciphers {
            zero.to_string()
        } else {
            hash12(&self.b_raw)
        };
        let c = if self.no_exts {
            zero.to_string()
        } else {
            hash12(&self.c_raw)
        };
        [self.a.as_str(), &b, &c].join("_")
    }

    /// JA4_r: `a_b_c` unhashed.
    fn raw(&self) -> String {
        [self.a.as_str(), &self.b_raw, &self.c_raw].join("_")
    }
}

/// The sections of JA4 and JA4_r (FoxIO JA4 specification, TLS over TCP).
fn ja4_parts(info: &ClientHelloInfo, alpn: [u8; 2]) -> Ja4Parts {
    let version = if info.extensions().contains(&ext::SUPPORTED_VERSIONS) {
        info.supported_versions()
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(info.legacy_version)
    } else {
        info.legacy_version
    };
    let version = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0200 | 0x0002 => "s2",
        0x0100 => "s1",
        _ => "00",
    };
    let sni = if info.extensions().contains(&ext::SERVER_NAME) {
        'd'
    } else {
        'i'
    };
    let mut ciphers: Vec<u16> = info
        .cipher_suites()
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let n_exts = info.extensions().iter().filter(|e| !is_grease(**e)).count();
    let mut a = String::with_capacity(10);
    a.push('t');
    a.push_str(version);
    a.push(sni);
    push_2digits(&mut a, ciphers.len().min(99));
    push_2digits(&mut a, n_exts.min(99));
    a.push(char::from(alpn[0]));
    a.push(char::from(alpn[1]));
    ciphers.sort_unstable();
    let mut hashed_exts: Vec<u16> = info
        .extensions()
        .iter()
        .copied()
        .filter(|e| !is_grease(*e) && *e != ext::SERVER_NAME && *e != ext::ALPN)
        .collect();
    hashed_exts.sort_unstable();
    let mut b_raw = String::with_capacity(ciphers.len() * 5);
    hex_list(&mut b_raw, ciphers.iter().copied());
    let mut c_raw =
        String::with_capacity((hashed_exts.len() + info.signature_algorithms().len()) * 5 + 1);
    hex_list(&mut c_raw, hashed_exts.iter().copied());
    let mut sigs = info
        .signature_algorithms()
        .iter()
        .copied()
        .filter(|s| !is_grease(*s))
        .peekable();
    if sigs.peek().is_some() {
        c_raw.push('_');
        hex_list(&mut c_raw, sigs);
    }
    Ja4Parts {
        a,
        b_raw,
        c_raw,
        no_ciphers: ciphers.is_empty(),
        no_exts: hashed_exts.is_empty(),
    }
}

/// Appends `n` (< 100) as two decimal digits.
fn push_2digits(out: &mut String, n: usize) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The two ALPN characters of JA4: first and last character of the first ALPN value; the first
/// and last hex digit of that value when either byte is not an ASCII letter or digit; `00` when
/// there is no value (a one-byte value gives its character twice).
fn alpn_chars(first: Option<&[u8]>) -> [u8; 2] {
    match first {
        Some([f, .., l]) | Some([f @ l]) => {
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                [*f, *l]
            } else {
                [HEX[usize::from(f >> 4)], HEX[usize::from(l & 0x0f)]]
            }
        }
        _ => *b"00",
    }
}

/// Appends `v` as comma-separated 4-digit lower-case hex.
fn hex_list(out: &mut String, v: impl IntoIterator<Item = u16>) {
    for (i, x) in v.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for shift in [12u16, 8, 4, 0] {
            out.push(char::from(HEX[usize::from((x >> shift) & 0x0f)]));
        }
    }
}

/// Parses a ServerHello or HelloRetryRequest body.
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHelloInfo, HelloError> {
    let (_, sh) = parse_tls_handshake_server_hello(body).map_err(|e| match e {
        tls_parser::Err::Incomplete(_) => HelloError::Truncated,
        _ => HelloError::Malformed("server hello fixed fields"),
    })?;
    let is_hrr = sh.random == HRR_RANDOM;
    let mut info = ServerHelloInfo {
        version: sh.version.0,
        cipher: sh.cipher.0,
        is_hello_retry_request: is_hrr,
        ..ServerHelloInfo::default()
    };
    let block = sh.ext.unwrap_or(&[]);
    let walked = walk_extensions(block, |t, data| {
        info.extensions.push(t);
        let mut r = Reader::new(data);
        match t {
            ext::SUPPORTED_VERSIONS => info.selected_version = r.u16(),
            // ServerHello: KeyShareEntry (group, key); HelloRetryRequest: the group alone.
            ext::KEY_SHARE => info.selected_group = r.u16(),
            ext::ALPN => {
                if let Some(mut p) = alpn_protocols(data) {
                    info.alpn = p.next().map(|p| String::from_utf8_lossy(p).into_owned());
                }
            }
            _ => {}
        }
    });
    if !walked {
        return Err(HelloError::Malformed("extension lengths"));
    }
    Ok(info)
}

/// True when a ServerHello body selects TLS 1.3: a HelloRetryRequest, or supported_versions =
/// 0x0304. Cheap and never fails (false on anything unreadable).
pub fn server_hello_selects_tls13(body: &[u8]) -> bool {
    let mut r = Reader::new(body);
    let (Some(_version), Some(random), Some(_sid), Some(_cipher), Some(_comp)) =
        (r.u16(), r.take(32), r.vec8(), r.u16(), r.u8())
    else {
        return false;
    };
    if random == HRR_RANDOM {
        return true;
    }
    let Some(block) = r.vec16() else {
        return false;
    };
    let mut tls13 = false;
    walk_extensions(block, |t, data| {
        if t == ext::SUPPORTED_VERSIONS && data == [0x03, 0x04] {
            tls13 = true;
        }
    });
    tls13
}

/// Parses a TLS <= 1.2 Certificate message body and reads the first (end-entity) certificate.
pub fn parse_certificate(body: &[u8]) -> Result<CertInfo, HelloError> {
    let mut r = Reader::new(body);
    let list = r.vec24().ok_or(HelloError::Truncated)?;
    let mut certs = Reader::new(list);
    let mut first = None;
    let mut count = 0usize;
    while !certs.is_empty() {
        let der = certs
            .vec24()
            .ok_or(HelloError::Malformed("certificate list lengths"))?;
        if first.is_none() {
            first = Some(der);
        }
        count += 1;
    }
    let der = first.ok_or(HelloError::Malformed("empty certificate list"))?;
    let mut info = x509::parse(der).ok_or(HelloError::Malformed("certificate DER"))?;
    info.chain_len = count;
    Ok(info)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes hex, ignoring whitespace (test helper).
    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| b.is_ascii_hexdigit())
            .map(|b| match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                _ => b - b'A' + 10,
            })
            .collect();
        digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
    }

    fn info(ciphers: &[u16], exts: &[u16], sigs: &[u16], versions: &[u16]) -> ClientHelloInfo {
        let mut ch = ClientHelloInfo {
            legacy_version: 0x0303,
            ..ClientHelloInfo::default()
        };
        ch.lists.set(List::CipherSuites, ciphers.iter().copied());
        ch.lists.set(List::Extensions, exts.iter().copied());
        ch.lists
            .set(List::SignatureAlgorithms, sigs.iter().copied());
        ch.lists
            .set(List::SupportedVersions, versions.iter().copied());
        ch
    }

    /// Version, cipher suites, complete extension block and rest, or why not.
    type Fixed<'a> = Result<(u16, Vec<u16>, Option<&'a [u8]>, &'a [u8]), FixedError>;

    /// What tls-parser 0.12 makes of a ClientHello body, in the terms of [`fixed_fields`].
    fn tls_parser_fixed(body: &[u8]) -> Fixed<'_> {
        match tls_parser::parse_tls_handshake_client_hello(body) {
            Ok((rest, ch)) => Ok((
                ch.version.0,
                ch.ciphers.iter().map(|c| c.0).collect(),
                ch.ext,
                rest,
            )),
            Err(tls_parser::Err::Incomplete(_)) => Err(FixedError::Incomplete),
            Err(_) => Err(FixedError::Invalid),
        }
    }

    fn ours_fixed(body: &[u8]) -> Fixed<'_> {
        fixed_fields(body).map(|f| (f.version, u16s(f.ciphers).collect(), f.ext, f.rest))
    }

    #[test]
    fn fixed_fields_read_as_tls_parser_reads_them() {
        // version, random, session id (32), 3 cipher suites, null compression, two extensions
        // (server_name "a.example", supported_versions), then two trailing bytes.
        let mut body = vec![0x03, 0x03];
        body.extend((0..32u8).map(|i| i.wrapping_mul(7)));
        body.push(32);
        body.extend(0..32u8);
        body.extend([0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b, 0x01, 0x00]);
        let sni = [
            0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, b'a', b'.', b'e', b'x', b'a',
            b'm', b'p', b'l', b'e',
        ];
        let versions = [0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04];
        let ext_len = (sni.len() + versions.len()) as u16;
        body.extend(ext_len.to_be_bytes());
        body.extend(sni);
        body.extend(versions);
        body.extend([0xaa, 0xbb]);
        let whole = ours_fixed(&body);
        assert!(
            matches!(&whole, Ok((0x0303, c, Some(_), [0xaa, 0xbb])) if c == &[0x1301, 0x1302, 0xc02b])
        );
        let mut cases = 0;
        // Every prefix, and every prefix of every one-byte change to a few telling values
        // (lengths made odd, too long, zero, over 32).
        for at in 0..=body.len() {
            for v in [
                None,
                Some(0x00),
                Some(0x01),
                Some(0x07),
                Some(0x21),
                Some(0xff),
            ] {
                let mut b = body.clone();
                if let (Some(v), Some(slot)) = (v, b.get_mut(at)) {
                    *slot = v;
                } else if v.is_some() {
                    continue;
                }
                for end in 0..=b.len() {
                    let b = &b[..end];
                    assert_eq!(
                        ours_fixed(b),
                        tls_parser_fixed(b),
                        "byte {at} = {v:?}, {end} bytes"
                    );
                    cases += 1;
                }
            }
        }
        assert!(cases > 50_000, "{cases}");
    }

    /// The example of the FoxIO JA4 specification (technical_details/JA4.md).
    #[test]
    fn ja4_foxio_spec_example() {
        let ch = info(
            &[
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            &[
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            &[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            &[0x0304, 0x0303],
        );
        let (fp, fp_r) = ja4(&ch, alpn_chars(Some(b"h2")));
        // The on-demand forms agree with the pair made from the same fields.
        let mut stored = ch.clone();
        stored.ja4_alpn = *b"h2";
        assert_eq!((stored.ja4(), stored.ja4_r()), (fp.clone(), fp_r.clone()));
        assert_eq!(fp, "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            fp_r,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,\
             cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_\
             0403,0804,0401,0503,0805,0501,0806,0601"
        );
        // Without signature algorithms the string ends without an underscore (spec: 6d807ffa2a79).
        let mut no_sig = ch.clone();
        no_sig.lists.set(List::SignatureAlgorithms, []);
        assert!(ja4(&no_sig, alpn_chars(Some(b"h2")))
            .0
            .ends_with("_6d807ffa2a79"));
    }

    #[test]
    fn ja4_cache_returns_each_inputs_own_fingerprint() {
        // More distinct inputs than cache entries, twice over, interleaved: every answer equals
        // the fingerprint made directly.
        let infos: Vec<ClientHelloInfo> = (0..40u16)
            .map(|i| {
                let mut ch = info(
                    &[0x1301, 0x1302 + i % 3],
                    &[0x000d, 0x002b],
                    &[0x0403 + i],
                    &[0x0304],
                );
                ch.ja4_alpn = if i % 2 == 0 { *b"h2" } else { *b"h1" };
                ch
            })
            .collect();
        for round in 0..2 {
            for (i, ch) in infos.iter().enumerate() {
                let direct = ja4_parts(ch, ch.ja4_alpn).hashed();
                assert_eq!(ch.ja4(), direct, "round {round} info {i}");
            }
        }
        // Same lists split differently are different inputs.
        let a = info(&[0x1301, 0x1302], &[0x000d], &[], &[]);
        let b = info(&[0x1301], &[0x1302, 0x000d], &[], &[]);
        assert_ne!(a.ja4(), b.ja4());
        assert_eq!(a.ja4(), ja4_parts(&a, a.ja4_alpn).hashed());
    }

    #[test]
    fn ja4_grease_empty_lists_and_alpn_edge_cases() {
        // GREASE everywhere is ignored; no ciphers and no extensions give zero hashes.
        let ch = info(&[0x0a0a], &[0x1a1a], &[0x2a2a], &[]);
        assert_eq!(
            ja4(&ch, alpn_chars(None)).0,
            "t12i000000_000000000000_000000000000"
        );
        // SNI and ALPN count but are not hashed.
        let ch = info(&[0x1301], &[0x0000, 0x0010], &[], &[]);
        assert!(ja4(&ch, alpn_chars(Some(b"http/1.1")))
            .0
            .starts_with("t12d0102h1_"));
        assert!(ja4(&ch, alpn_chars(Some(b"http/1.1")))
            .0
            .ends_with("_000000000000"));
        assert_eq!(alpn_chars(Some(b"h2")), *b"h2");
        assert_eq!(alpn_chars(Some(b"http/1.1")), *b"h1");
        assert_eq!(alpn_chars(Some(b"h")), *b"hh");
        assert_eq!(alpn_chars(Some(b"")), *b"00");
        assert_eq!(alpn_chars(None), *b"00");
        // Spec examples for non-alphanumeric bytes.
        assert_eq!(alpn_chars(Some(&[0xab])), *b"ab");
        assert_eq!(alpn_chars(Some(&[0xab, 0xcd])), *b"ad");
        assert_eq!(alpn_chars(Some(&[0x30, 0xab])), *b"3b");
        assert_eq!(alpn_chars(Some(&[0x30, 0x31, 0xab, 0xcd])), *b"3d");
        assert_eq!(alpn_chars(Some(&[0x30, 0xab, 0xcd, 0x31])), *b"01");
        // supported_versions decides the version; GREASE in it is ignored.
        let ch = info(&[0x1301], &[0x002b], &[], &[0x7a7a, 0x0304, 0x0303]);
        assert!(ja4(&ch, alpn_chars(None)).0.starts_with("t13i0101"));
    }

    /// A ClientHello body with one cipher suite and the given extensions (type, data).
    fn hello_with(exts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut block = Vec::new();
        for (t, d) in exts {
            block.extend(t.to_be_bytes());
            block.extend((d.len() as u16).to_be_bytes());
            block.extend(*d);
        }
        let mut b = vec![0x03, 0x03];
        b.extend([0x22; 32]);
        b.extend([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
        b.extend((block.len() as u16).to_be_bytes());
        b.extend(block);
        b
    }

    #[test]
    fn extension_lists_follow_tls_parser_rules() {
        // SNI: the first host_name wins, other name types are skipped.
        let sni = [
            0, 13, 1, 0, 2, b'x', b'y', 0, 0, 5, b'a', b'.', b'c', b'o', b'm',
        ];
        // ALPN: a malformed last entry ends the list, keeping the ones before it.
        let alpn = [0, 6, 2, b'h', b'2', 5, b'h', b't'];
        // Groups with an odd trailing byte (ignored).
        let groups = [0, 5, 0x11, 0xec, 0x00, 0x1d, 0x00];
        let ch = parse_client_hello(&hello_with(&[
            (ext::SERVER_NAME, &sni),
            (ext::ALPN, &alpn),
            (ext::SUPPORTED_GROUPS, &groups),
            (ext::SIGNATURE_ALGORITHMS, &[0, 4, 0x04, 0x03, 0x08, 0x04]),
        ]))
        .unwrap();
        assert_eq!(ch.sni.as_deref(), Some("a.com"));
        assert_eq!(ch.alpn, ["h2"]);
        assert_eq!(ch.ja4_alpn, *b"h2");
        assert_eq!(ch.groups(), [GROUP_X25519MLKEM768, 0x001d]);
        assert!(ch.has_x25519mlkem768);
        assert_eq!(ch.signature_algorithms(), [0x0403, 0x0804]);
        assert_eq!(ch.cipher_suites(), [0x1301]);
        // A list length that overruns its extension makes it unreadable; the type is kept and
        // the extensions after it are still read.
        let ch = parse_client_hello(&hello_with(&[
            (ext::SERVER_NAME, &[0, 40, 0, 0, 1, b'a']),
            (ext::ALPN, &[0, 3, 2, b'h', b'2']),
        ]))
        .unwrap();
        assert_eq!(ch.sni, None);
        assert_eq!(ch.extensions(), [ext::SERVER_NAME, ext::ALPN]);
        assert_eq!(ch.alpn, ["h2"]);
    }

    #[test]
    fn server_hello_tls13_detection_never_panics_on_prefixes() {
        // A TLS 1.3 ServerHello body: version, random, sid(0), cipher, comp, ext block with
        // supported_versions = 0x0304.
        let mut sh = vec![0x03, 0x03];
        sh.extend([0x11; 32]);
        sh.extend([0x00, 0x13, 0x01, 0x00]);
        sh.extend([0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
        assert!(server_hello_selects_tls13(&sh));
        let i = parse_server_hello(&sh).unwrap();
        assert_eq!(i.selected_version, Some(0x0304));
        assert_eq!(i.cipher, 0x1301);
        for n in 0..sh.len() {
            assert!(!server_hello_selects_tls13(&sh[..n]));
            let _ = parse_server_hello(&sh[..n]);
        }
    }
}
