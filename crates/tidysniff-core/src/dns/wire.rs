//! DNS wire format (RFC 1035 and successors): a pure, lenient message parser and a TCP framer.
//!
//! Contract: no function here panics on any input, and nothing past the 12-byte header is an
//! error. What the parser cannot read is kept as a [`DnsAnomaly`] (Zeek's weird, Suricata's
//! `DNSEvent`) next to everything it could read: an unknown record type or class is a value
//! ([`RData::Unknown`]), a record whose data does not parse is kept raw and parsing goes on after
//! its RDLENGTH, a name with a compression loop ends where the loop starts.
//!
//! Work is bounded by the message length: a name follows at most [`MAX_POINTER_HOPS`]
//! compression pointers, never visits a pointer target twice, and stops growing past
//! [`MAX_NAME_LEN`] wire bytes; counts in the header never size an allocation beyond what the
//! remaining bytes could hold.
//!
//! Names are written without the trailing dot and keep the case they had on the wire (0x20
//! randomisation stays visible); the root name is the empty string. Bytes outside printable ASCII,
//! `.` inside a label and `\` are escaped as `dig` prints them (`\DDD`, `\.`, `\\`).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of the fixed message header.
pub const HEADER_LEN: usize = 12;
/// Compression pointers followed in one name before [`DnsAnomaly::NameTooManyHops`].
pub const MAX_POINTER_HOPS: usize = 64;
/// Longest name in wire bytes (RFC 1035 2.3.4), root label included.
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Record type of OPT (EDNS, RFC 6891).
pub const TYPE_OPT: u16 = 41;
/// EDNS option code of Extended DNS Errors (RFC 8914).
pub const EDNS_EDE: u16 = 15;

/// A message section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// The question section.
    Question,
    /// The answer section.
    Answer,
    /// The authority section.
    Authority,
    /// The additional section.
    Additional,
}

impl Section {
    /// Lower-case name (`"answer"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Section::Question => "question",
            Section::Answer => "answer",
            Section::Authority => "authority",
            Section::Additional => "additional",
        }
    }
}

/// Something odd in a message or a TCP stream that did not stop the parse. Each has a stable
/// snake_case [`name`](DnsAnomaly::name) for logs (Zeek weird style). Offsets are from the start
/// of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsAnomaly {
    /// A compression pointer leads back to a target already visited in this name; the name ends
    /// there.
    NamePointerLoop {
        /// Offset of the pointer that closes the loop.
        at: u16,
    },
    /// A compression pointer points at or after itself (RFC 1035 wants a prior occurrence);
    /// followed anyway.
    NameForwardPointer {
        /// Offset of the pointer.
        at: u16,
    },
    /// A compression pointer points past the end of the message; the name ends there.
    NamePointerOutOfRange {
        /// Offset of the pointer.
        at: u16,
    },
    /// More than [`MAX_POINTER_HOPS`] pointers in one name; the name ends there.
    NameTooManyHops,
    /// A name longer than [`MAX_NAME_LEN`] wire bytes; the text is cut there.
    NameTooLong,
    /// A label length byte of 64..=191 (the reserved and obsolete label types); read as a label
    /// of that length.
    LabelTooLong {
        /// The length byte.
        len: u8,
    },
    /// A name that a pointer leads to runs off the end of the message; the name is cut.
    NameTruncated,
    /// The message ends inside the question section.
    QuestionTruncated,
    /// The message ends inside a resource record (header or data); parsing stops.
    RecordTruncated {
        /// The section of the record.
        section: Section,
    },
    /// A record's data does not parse as its type; kept as [`RData::Unknown`].
    RdataMalformed {
        /// The section of the record.
        section: Section,
        /// Its type.
        rtype: u16,
    },
    /// A record's data parsed but did not fill its RDLENGTH exactly.
    RdataLengthMismatch {
        /// The section of the record.
        section: Section,
        /// Its type.
        rtype: u16,
    },
    /// An SVCB/HTTPS parameter whose value does not parse; kept as [`SvcParam::Other`].
    SvcParamMalformed {
        /// The parameter key.
        key: u16,
    },
    /// An EDNS option whose value does not parse; kept as [`EdnsOption::Other`].
    EdnsOptionMalformed {
        /// The option code.
        code: u16,
    },
    /// More than one OPT record; the first one counts.
    MultipleOpt,
    /// An OPT record outside the additional section or with a name other than the root.
    OptMisplaced,
    /// Bytes after the last record the header announces.
    TrailingBytes {
        /// How many.
        len: u16,
    },
    /// DNS over TCP: a length prefix of zero.
    TcpEmptyMessage,
    /// DNS over TCP: a message longer than the framer's limit; its bytes are skipped.
    TcpMessageTooLarge {
        /// The length prefix.
        len: u16,
    },
    /// DNS over TCP: stream bytes are missing; the framer drops its partial message and assumes
    /// the next bytes start a message.
    TcpGap,
    /// DNS over TCP: the stream ended inside a message.
    TcpTruncatedMessage,
}

impl DnsAnomaly {
    /// Stable snake_case identifier, e.g. `dns_name_pointer_loop`.
    pub fn name(self) -> &'static str {
        match self {
            DnsAnomaly::NamePointerLoop { .. } => "dns_name_pointer_loop",
            DnsAnomaly::NameForwardPointer { .. } => "dns_name_forward_pointer",
            DnsAnomaly::NamePointerOutOfRange { .. } => "dns_name_pointer_out_of_range",
            DnsAnomaly::NameTooManyHops => "dns_name_too_many_hops",
            DnsAnomaly::NameTooLong => "dns_name_too_long",
            DnsAnomaly::LabelTooLong { .. } => "dns_label_too_long",
            DnsAnomaly::NameTruncated => "dns_name_truncated",
            DnsAnomaly::QuestionTruncated => "dns_question_truncated",
            DnsAnomaly::RecordTruncated { .. } => "dns_record_truncated",
            DnsAnomaly::RdataMalformed { .. } => "dns_rdata_malformed",
            DnsAnomaly::RdataLengthMismatch { .. } => "dns_rdata_length_mismatch",
            DnsAnomaly::SvcParamMalformed { .. } => "dns_svc_param_malformed",
            DnsAnomaly::EdnsOptionMalformed { .. } => "dns_edns_option_malformed",
            DnsAnomaly::MultipleOpt => "dns_multiple_opt",
            DnsAnomaly::OptMisplaced => "dns_opt_misplaced",
            DnsAnomaly::TrailingBytes { .. } => "dns_trailing_bytes",
            DnsAnomaly::TcpEmptyMessage => "dns_tcp_empty_message",
            DnsAnomaly::TcpMessageTooLarge { .. } => "dns_tcp_message_too_large",
            DnsAnomaly::TcpGap => "dns_tcp_gap",
            DnsAnomaly::TcpTruncatedMessage => "dns_tcp_truncated_message",
        }
    }

    /// True for the anomalies that mean the message ends early (a section is incomplete).
    pub fn is_truncation(self) -> bool {
        matches!(
            self,
            DnsAnomaly::QuestionTruncated | DnsAnomaly::RecordTruncated { .. }
        )
    }
}

impl fmt::Display for DnsAnomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a message could not be parsed at all. Everything after the header is lenient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsError {
    /// Fewer than [`HEADER_LEN`] bytes.
    HeaderTruncated {
        /// Bytes available.
        len: usize,
    },
}

impl DnsError {
    /// Stable snake_case identifier.
    pub fn name(self) -> &'static str {
        match self {
            DnsError::HeaderTruncated { .. } => "dns_header_truncated",
        }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::HeaderTruncated { len } => {
                write!(f, "DNS header truncated ({len} of {HEADER_LEN} bytes)")
            }
        }
    }
}

impl std::error::Error for DnsError {}

/// Header flags (the 16-bit word after the ID, less the RCODE).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// QR: a response.
    pub qr: bool,
    /// OPCODE (0 query, 1 iquery, 2 status, 4 notify, 5 update, 6 DSO).
    pub opcode: u8,
    /// AA: authoritative answer.
    pub aa: bool,
    /// TC: truncated.
    pub tc: bool,
    /// RD: recursion desired.
    pub rd: bool,
    /// RA: recursion available.
    pub ra: bool,
    /// Z: the reserved bit.
    pub z: bool,
    /// AD: authentic data.
    pub ad: bool,
    /// CD: checking disabled.
    pub cd: bool,
}

impl Flags {
    /// Splits the header's flag word (the RCODE bits are ignored).
    pub fn from_bits(bits: u16) -> Self {
        Flags {
            qr: bits & 0x8000 != 0,
            opcode: ((bits >> 11) & 0xF) as u8,
            aa: bits & 0x0400 != 0,
            tc: bits & 0x0200 != 0,
            rd: bits & 0x0100 != 0,
            ra: bits & 0x0080 != 0,
            z: bits & 0x0040 != 0,
            ad: bits & 0x0020 != 0,
            cd: bits & 0x0010 != 0,
        }
    }

    /// The flag word (RCODE bits zero).
    pub fn bits(self) -> u16 {
        let b = |on: bool, m: u16| if on { m } else { 0 };
        b(self.qr, 0x8000)
            | (u16::from(self.opcode & 0xF) << 11)
            | b(self.aa, 0x0400)
            | b(self.tc, 0x0200)
            | b(self.rd, 0x0100)
            | b(self.ra, 0x0080)
            | b(self.z, 0x0040)
            | b(self.ad, 0x0020)
            | b(self.cd, 0x0010)
    }
}

/// One entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Question {
    /// Queried name (case kept, no trailing dot, root = "").
    pub name: String,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS (raw: mDNS puts the unicast-response bit in the top bit).
    pub qclass: u16,
}

/// A resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name (case kept, no trailing dot, root = "").
    pub name: String,
    /// TYPE.
    pub rtype: u16,
    /// CLASS (raw; for OPT the requestor's UDP payload size).
    pub class: u16,
    /// TTL (raw; for OPT the extended RCODE, version and flags).
    pub ttl: u32,
    /// The decoded data.
    pub data: RData,
}

/// Record data, decoded for the types a network monitor reads; the rest kept raw.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RData {
    /// A (1).
    A(Ipv4Addr),
    /// AAAA (28).
    Aaaa(Ipv6Addr),
    /// CNAME (5).
    Cname(String),
    /// NS (2).
    Ns(String),
    /// PTR (12).
    Ptr(String),
    /// DNAME (39).
    Dname(String),
    /// MX (15).
    Mx {
        /// Preference.
        preference: u16,
        /// Mail exchanger.
        exchange: String,
    },
    /// TXT (16): the character-strings, escaped like names (`\DDD`, `\\`, `\"`).
    Txt(Vec<String>),
    /// SOA (6).
    Soa(Box<Soa>),
    /// SRV (33).
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host.
        target: String,
    },
    /// SVCB (64).
    Svcb(Box<Svcb>),
    /// HTTPS (65).
    Https(Box<Svcb>),
    /// OPT (41), the EDNS pseudo-record.
    Opt(Box<Opt>),
    /// Any other type, or a record whose data did not parse: the data in lower-case hex.
    Unknown {
        /// The record type.
        rtype: u16,
        /// RDATA as hex.
        raw: String,
    },
}

/// SOA record data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soa {
    /// Primary name server.
    pub mname: String,
    /// Responsible mailbox.
    pub rname: String,
    /// Serial.
    pub serial: u32,
    /// Refresh interval (s).
    pub refresh: u32,
    /// Retry interval (s).
    pub retry: u32,
    /// Expire limit (s).
    pub expire: u32,
    /// Negative-caching TTL (s).
    pub minimum: u32,
}

/// SVCB/HTTPS record data (RFC 9460).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Svcb {
    /// SvcPriority (0 = alias form).
    pub priority: u16,
    /// TargetName ("" = the root, meaning the owner name in service form).
    pub target: String,
    /// SvcParams in wire order.
    pub params: Vec<SvcParam>,
}

impl Svcb {
    /// The ALPN ids, if an `alpn` parameter is present.
    pub fn alpn(&self) -> Option<&[String]> {
        self.params.iter().find_map(|p| match p {
            SvcParam::Alpn(v) => Some(v.as_slice()),
            _ => None,
        })
    }
}

/// One SVCB/HTTPS parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SvcParam {
    /// `mandatory` (0): keys the client must understand.
    Mandatory(Vec<u16>),
    /// `alpn` (1): protocol ids (escaped like TXT strings).
    Alpn(Vec<String>),
    /// `no-default-alpn` (2).
    NoDefaultAlpn,
    /// `port` (3).
    Port(u16),
    /// `ipv4hint` (4).
    Ipv4Hint(Vec<Ipv4Addr>),
    /// `ech` (5): ECHConfigList as hex.
    Ech(String),
    /// `ipv6hint` (6).
    Ipv6Hint(Vec<Ipv6Addr>),
    /// `dohpath` (7, RFC 9461): URI template (escaped like TXT strings).
    DohPath(String),
    /// Any other key, or a value that did not parse: the value as hex.
    Other {
        /// The key.
        key: u16,
        /// The value as hex.
        value: String,
    },
}

/// The EDNS OPT pseudo-record (RFC 6891), its TTL and CLASS fields split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opt {
    /// Requestor's UDP payload size (the CLASS field).
    pub udp_size: u16,
    /// Upper 8 bits of the 12-bit RCODE.
    pub ext_rcode: u8,
    /// EDNS version.
    pub version: u8,
    /// DO: DNSSEC OK.
    pub dnssec_ok: bool,
    /// The other 15 flag bits (should be zero).
    pub z: u16,
    /// Options in wire order.
    pub options: Vec<EdnsOption>,
}

impl Opt {
    /// The Extended DNS Errors carried (info code, extra text).
    pub fn extended_errors(&self) -> impl Iterator<Item = (u16, &str)> {
        self.options.iter().filter_map(|o| match o {
            EdnsOption::ExtendedError { info_code, text } => Some((*info_code, text.as_str())),
            _ => None,
        })
    }
}

/// One EDNS option.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EdnsOption {
    /// Extended DNS Error (15, RFC 8914).
    ExtendedError {
        /// INFO-CODE (see [`ede_name`]).
        info_code: u16,
        /// EXTRA-TEXT (UTF-8, invalid bytes replaced).
        text: String,
    },
    /// Client subnet (8, RFC 7871).
    ClientSubnet {
        /// Address family (1 IPv4, 2 IPv6).
        family: u16,
        /// Source prefix length.
        source_prefix: u8,
        /// Scope prefix length.
        scope_prefix: u8,
        /// The address, zero-filled past the bytes sent (None for other families).
        addr: Option<IpAddr>,
    },
    /// Cookie (10, RFC 7873): client and server cookie as hex.
    Cookie {
        /// Client cookie (8 bytes) as hex.
        client: String,
        /// Server cookie (8 to 32 bytes, or none) as hex.
        server: String,
    },
    /// Any other option, or a value that did not parse: the data as hex.
    Other {
        /// OPTION-CODE.
        code: u16,
        /// OPTION-DATA as hex.
        data: String,
    },
}

/// A parsed message. Counts are those of the header; the vectors hold what could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Transaction ID.
    pub id: u16,
    /// Header flags.
    pub flags: Flags,
    /// RCODE: the header's 4 bits, extended by the OPT record's upper 8 bits when present.
    pub rcode: u16,
    /// QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT as the header gives them.
    pub counts: [u16; 4],
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section (OPT included).
    pub additional: Vec<Record>,
    /// What was odd, in the order met.
    pub anomalies: Vec<DnsAnomaly>,
}

impl Message {
    /// True for a response (QR set).
    pub fn is_response(&self) -> bool {
        self.flags.qr
    }

    /// The first question, if any.
    pub fn question(&self) -> Option<&Question> {
        self.questions.first()
    }

    /// The EDNS OPT record of the additional section, if any (the first one).
    pub fn edns(&self) -> Option<&Opt> {
        self.additional.iter().find_map(|r| match &r.data {
            RData::Opt(o) => Some(&**o),
            _ => None,
        })
    }

    /// True when every section the header announces was read in full (anomalies inside records,
    /// such as a compression loop or trailing bytes, may still be present).
    pub fn is_complete(&self) -> bool {
        !self.anomalies.iter().any(|a| a.is_truncation())
    }

    /// All records of the three record sections, in wire order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
    }
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

#[inline]
fn be32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    let a: [u8; 4] = b.try_into().ok()?;
    Some(u32::from_be_bytes(a))
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

/// Appends `bytes` escaped: printable ASCII as is, `\` and `extra` with a backslash, the rest as
/// `\DDD`.
fn push_escaped(out: &mut String, bytes: &[u8], extra: u8) {
    // The common case: nothing to escape.
    if bytes
        .iter()
        .all(|&b| (0x21..=0x7E).contains(&b) && b != b'\\' && b != extra)
    {
        if let Ok(s) = std::str::from_utf8(bytes) {
            out.push_str(s);
            return;
        }
    }
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            _ if b == extra => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x21..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

/// Text of a character-string (TXT, ALPN): printable ASCII and spaces as is, `"` and `\` with a
/// backslash, the rest as `\DDD`.
fn escaped_text(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' | b'"' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7E => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:03}");
            }
        }
    }
    s
}

/// Reads the (possibly compressed) name at `start`. Returns the name and the offset just past it
/// in the record stream, or `None` when the message ends before the name does (without a pointer
/// having been taken, so the next field's position is unknown).
fn read_name(msg: &[u8], start: usize, anomalies: &mut Vec<DnsAnomaly>) -> Option<(String, usize)> {
    let mut out = String::with_capacity(32);
    let mut pos = start;
    // Position after the first pointer: where the record stream continues.
    let mut end: Option<usize> = None;
    // Uncompressed wire length so far (the root byte counted at the end).
    let mut wire_len = 0usize;
    let mut too_long = false;
    let mut hops = 0usize;
    let mut visited = [0u16; MAX_POINTER_HOPS];
    loop {
        let Some(&len) = msg.get(pos) else {
            return cut_name(out, end, anomalies);
        };
        if len < 0xC0 {
            if len == 0 {
                pos += 1;
                break;
            }
            if len > MAX_LABEL_LEN as u8 {
                anomalies.push(DnsAnomaly::LabelTooLong { len });
            }
            let l = usize::from(len);
            let Some(label) = msg.get(pos + 1..pos + 1 + l) else {
                return cut_name(out, end, anomalies);
            };
            pos += 1 + l;
            if too_long {
                // Only looking for where the name ends in the record stream.
                continue;
            }
            wire_len += 1 + l;
            if wire_len + 1 > MAX_NAME_LEN {
                anomalies.push(DnsAnomaly::NameTooLong);
                too_long = true;
                if end.is_some() {
                    break;
                }
                continue;
            }
            if !out.is_empty() {
                out.push('.');
            }
            push_escaped(&mut out, label, b'.');
        } else {
            let Some(&lo) = msg.get(pos + 1) else {
                return cut_name(out, end, anomalies);
            };
            let at = pos as u16;
            let target = (usize::from(len & 0x3F) << 8) | usize::from(lo);
            if end.is_none() {
                end = Some(pos + 2);
            }
            if too_long {
                break;
            }
            if target == pos || visited.iter().take(hops).any(|&v| usize::from(v) == target) {
                anomalies.push(DnsAnomaly::NamePointerLoop { at });
                break;
            }
            if hops == MAX_POINTER_HOPS {
                anomalies.push(DnsAnomaly::NameTooManyHops);
                break;
            }
            if target >= msg.len() {
                anomalies.push(DnsAnomaly::NamePointerOutOfRange { at });
                break;
            }
            if target > pos {
                anomalies.push(DnsAnomaly::NameForwardPointer { at });
            }
            if let Some(slot) = visited.get_mut(hops) {
                *slot = target as u16;
            }
            hops += 1;
            pos = target;
        }
    }
    Some((out, end.unwrap_or(pos)))
}

fn cut_name(
    out: String,
    end: Option<usize>,
    anomalies: &mut Vec<DnsAnomaly>,
) -> Option<(String, usize)> {
    let end = end?;
    anomalies.push(DnsAnomaly::NameTruncated);
    Some((out, end))
}

/// A cursor over one record's data, `msg[pos..end]`, with names resolved against the whole
/// message.
struct Rd<'a, 'v> {
    msg: &'a [u8],
    pos: usize,
    end: usize,
    anomalies: &'v mut Vec<DnsAnomaly>,
}

impl<'a> Rd<'a, '_> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let stop = self.pos.checked_add(n)?;
        if stop > self.end {
            return None;
        }
        let b = self.msg.get(self.pos..stop)?;
        self.pos = stop;
        Some(b)
    }

    fn u8(&mut self) -> Option<u8> {
        self.bytes(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        be16(b, 0)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        be32(b, 0)
    }

    fn rest(&mut self) -> &'a [u8] {
        let b = self.msg.get(self.pos..self.end).unwrap_or(&[]);
        self.pos = self.end;
        b
    }

    fn name(&mut self) -> Option<String> {
        let (name, next) = read_name(self.msg, self.pos, self.anomalies)?;
        if next > self.end {
            return None;
        }
        self.pos = next;
        Some(name)
    }

    fn char_string(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }

    fn done(&self) -> bool {
        self.pos >= self.end
    }
}

fn parse_svcb(rd: &mut Rd<'_, '_>) -> Option<Svcb> {
    let priority = rd.u16()?;
    let target = rd.name()?;
    let mut params = Vec::new();
    while !rd.done() {
        let key = rd.u16()?;
        let len = rd.u16()?;
        let value = rd.bytes(usize::from(len))?;
        let param = svc_param(key, value).unwrap_or_else(|| {
            rd.anomalies.push(DnsAnomaly::SvcParamMalformed { key });
            SvcParam::Other {
                key,
                value: to_hex(value),
            }
        });
        params.push(param);
    }
    Some(Svcb {
        priority,
        target,
        params,
    })
}

fn svc_param(key: u16, v: &[u8]) -> Option<SvcParam> {
    Some(match key {
        0 => {
            if v.len() % 2 != 0 {
                return None;
            }
            SvcParam::Mandatory(v.chunks_exact(2).filter_map(|c| be16(c, 0)).collect())
        }
        1 => {
            let mut ids = Vec::new();
            let mut rest = v;
            while let Some((&n, tail)) = rest.split_first() {
                let id = tail.get(..usize::from(n))?;
                ids.push(escaped_text(id));
                rest = tail.get(usize::from(n)..)?;
            }
            if ids.is_empty() {
                return None;
            }
            SvcParam::Alpn(ids)
        }
        2 if v.is_empty() => SvcParam::NoDefaultAlpn,
        3 => SvcParam::Port(be16(v, 0).filter(|_| v.len() == 2)?),
        4 => {
            if v.is_empty() || v.len() % 4 != 0 {
                return None;
            }
            SvcParam::Ipv4Hint(
                v.chunks_exact(4)
                    .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                    .map(Ipv4Addr::from)
                    .collect(),
            )
        }
        5 => SvcParam::Ech(to_hex(v)),
        6 => {
            if v.is_empty() || v.len() % 16 != 0 {
                return None;
            }
            SvcParam::Ipv6Hint(
                v.chunks_exact(16)
                    .filter_map(|c| <[u8; 16]>::try_from(c).ok())
                    .map(Ipv6Addr::from)
                    .collect(),
            )
        }
        7 => SvcParam::DohPath(escaped_text(v)),
        _ => SvcParam::Other {
            key,
            value: to_hex(v),
        },
    })
}

fn parse_opt(class: u16, ttl: u32, rd: &mut Rd<'_, '_>) -> Option<Opt> {
    let mut options = Vec::new();
    while !rd.done() {
        let code = rd.u16()?;
        let len = rd.u16()?;
        let data = rd.bytes(usize::from(len))?;
        let opt = edns_option(code, data).unwrap_or_else(|| {
            rd.anomalies.push(DnsAnomaly::EdnsOptionMalformed { code });
            EdnsOption::Other {
                code,
                data: to_hex(data),
            }
        });
        options.push(opt);
    }
    Some(Opt {
        udp_size: class,
        ext_rcode: (ttl >> 24) as u8,
        version: (ttl >> 16) as u8,
        dnssec_ok: ttl & 0x8000 != 0,
        z: (ttl & 0x7FFF) as u16,
        options,
    })
}

fn edns_option(code: u16, d: &[u8]) -> Option<EdnsOption> {
    Some(match code {
        EDNS_EDE => EdnsOption::ExtendedError {
            info_code: be16(d, 0)?,
            text: String::from_utf8_lossy(d.get(2..)?).into_owned(),
        },
        8 => {
            let family = be16(d, 0)?;
            let source_prefix = *d.get(2)?;
            let scope_prefix = *d.get(3)?;
            let a = d.get(4..)?;
            let addr = match family {
                1 if a.len() <= 4 => {
                    let mut b = [0u8; 4];
                    b.get_mut(..a.len())?.copy_from_slice(a);
                    Some(IpAddr::from(b))
                }
                2 if a.len() <= 16 => {
                    let mut b = [0u8; 16];
                    b.get_mut(..a.len())?.copy_from_slice(a);
                    Some(IpAddr::from(b))
                }
                1 | 2 => return None,
                _ => None,
            };
            EdnsOption::ClientSubnet {
                family,
                source_prefix,
                scope_prefix,
                addr,
            }
        }
        10 => {
            if d.len() != 8 && !(16..=40).contains(&d.len()) {
                return None;
            }
            EdnsOption::Cookie {
                client: to_hex(d.get(..8)?),
                server: to_hex(d.get(8..)?),
            }
        }
        _ => EdnsOption::Other {
            code,
            data: to_hex(d),
        },
    })
}

fn parse_rdata(rtype: u16, class: u16, ttl: u32, rd: &mut Rd<'_, '_>) -> Option<RData> {
    Some(match rtype {
        1 => RData::A(Ipv4Addr::from(<[u8; 4]>::try_from(rd.bytes(4)?).ok()?)),
        28 => RData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(rd.bytes(16)?).ok()?)),
        2 => RData::Ns(rd.name()?),
        5 => RData::Cname(rd.name()?),
        12 => RData::Ptr(rd.name()?),
        39 => RData::Dname(rd.name()?),
        15 => RData::Mx {
            preference: rd.u16()?,
            exchange: rd.name()?,
        },
        16 => {
            let mut strings = Vec::new();
            while !rd.done() {
                strings.push(escaped_text(rd.char_string()?));
            }
            RData::Txt(strings)
        }
        6 => RData::Soa(Box::new(Soa {
            mname: rd.name()?,
            rname: rd.name()?,
            serial: rd.u32()?,
            refresh: rd.u32()?,
            retry: rd.u32()?,
            expire: rd.u32()?,
            minimum: rd.u32()?,
        })),
        33 => RData::Srv {
            priority: rd.u16()?,
            weight: rd.u16()?,
            port: rd.u16()?,
            target: rd.name()?,
        },
        64 => RData::Svcb(Box::new(parse_svcb(rd)?)),
        65 => RData::Https(Box::new(parse_svcb(rd)?)),
        TYPE_OPT => RData::Opt(Box::new(parse_opt(class, ttl, rd)?)),
        _ => RData::Unknown {
            rtype,
            raw: to_hex(rd.rest()),
        },
    })
}

/// Reads the record at `pos`; `None` when the message ends inside it.
fn read_record(
    msg: &[u8],
    pos: usize,
    section: Section,
    anomalies: &mut Vec<DnsAnomaly>,
) -> Option<(Record, usize)> {
    let (name, p) = read_name(msg, pos, anomalies)?;
    let rtype = be16(msg, p)?;
    let class = be16(msg, p + 2)?;
    let ttl = be32(msg, p + 4)?;
    let rdlen = usize::from(be16(msg, p + 8)?);
    let start = p + 10;
    let end = start + rdlen;
    let raw = msg.get(start..end)?;
    let before = anomalies.len();
    let mut rd = Rd {
        msg,
        pos: start,
        end,
        anomalies,
    };
    let data = match parse_rdata(rtype, class, ttl, &mut rd) {
        Some(data) => {
            if rd.pos != end {
                rd.anomalies
                    .push(DnsAnomaly::RdataLengthMismatch { section, rtype });
            }
            data
        }
        None => {
            // Anomalies met on the way (a name cut short, ...) are replaced by one verdict.
            anomalies.truncate(before);
            anomalies.push(DnsAnomaly::RdataMalformed { section, rtype });
            RData::Unknown {
                rtype,
                raw: to_hex(raw),
            }
        }
    };
    Some((
        Record {
            name,
            rtype,
            class,
            ttl,
            data,
        },
        end,
    ))
}

/// Parses one DNS message (a UDP payload, or one message of a TCP stream without its length
/// prefix). Only a message shorter than the header is an error; see the module docs.
pub fn parse_message(bytes: &[u8]) -> Result<Message, DnsError> {
    let header: &[u8; HEADER_LEN] = bytes
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(DnsError::HeaderTruncated { len: bytes.len() })?;
    let word = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let id = word(0);
    let flag_word = word(2);
    let counts = [word(4), word(6), word(8), word(10)];
    let mut anomalies = Vec::new();
    // Never reserve more than the remaining bytes could hold (a question is at least 5 bytes,
    // a record at least 11).
    let room = |count: u16, min: usize| usize::from(count).min((bytes.len() - HEADER_LEN) / min);
    let mut questions = Vec::with_capacity(room(counts[0], 5));
    let mut pos = HEADER_LEN;
    let mut cut = false;
    for _ in 0..counts[0] {
        let q = read_name(bytes, pos, &mut anomalies).and_then(|(name, p)| {
            Some((
                Question {
                    name,
                    qtype: be16(bytes, p)?,
                    qclass: be16(bytes, p + 2)?,
                },
                p + 4,
            ))
        });
        match q {
            Some((q, next)) => {
                questions.push(q);
                pos = next;
            }
            None => {
                anomalies.push(DnsAnomaly::QuestionTruncated);
                cut = true;
                break;
            }
        }
    }
    let mut sections: [Vec<Record>; 3] = Default::default();
    let kinds = [Section::Answer, Section::Authority, Section::Additional];
    for ((records, section), count) in sections.iter_mut().zip(kinds).zip(&counts[1..]) {
        if cut {
            break;
        }
        records.reserve(room(*count, 11));
        for _ in 0..*count {
            match read_record(bytes, pos, section, &mut anomalies) {
                Some((r, next)) => {
                    records.push(r);
                    pos = next;
                }
                None => {
                    anomalies.push(DnsAnomaly::RecordTruncated { section });
                    cut = true;
                    break;
                }
            }
        }
    }
    if !cut && pos < bytes.len() {
        anomalies.push(DnsAnomaly::TrailingBytes {
            len: u16::try_from(bytes.len() - pos).unwrap_or(u16::MAX),
        });
    }
    let [answers, authority, additional] = sections;
    let mut rcode = flag_word & 0xF;
    if answers
        .iter()
        .chain(&authority)
        .any(|r| r.rtype == TYPE_OPT)
    {
        anomalies.push(DnsAnomaly::OptMisplaced);
    }
    let mut opts = 0;
    for r in &additional {
        if let RData::Opt(o) = &r.data {
            opts += 1;
            if opts == 1 {
                rcode |= u16::from(o.ext_rcode) << 4;
                if !r.name.is_empty() {
                    anomalies.push(DnsAnomaly::OptMisplaced);
                }
            } else if opts == 2 {
                anomalies.push(DnsAnomaly::MultipleOpt);
            }
        }
    }
    Ok(Message {
        id,
        flags: Flags::from_bits(flag_word),
        rcode,
        counts,
        questions,
        answers,
        authority,
        additional,
        anomalies,
    })
}

/// Mnemonic of a record or query type (`"A"`, `"HTTPS"`, ...; `"TYPE123"` otherwise, RFC 3597).
pub fn qtype_name(t: u16) -> Cow<'static, str> {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        56 => "NINFO",
        57 => "RKEY",
        58 => "TALINK",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        66 => "DSYNC",
        99 => "SPF",
        100 => "UINFO",
        101 => "UID",
        102 => "GID",
        103 => "UNSPEC",
        104 => "NID",
        105 => "L32",
        106 => "L64",
        107 => "LP",
        108 => "EUI48",
        109 => "EUI64",
        128 => "NXNAME",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        258 => "AVC",
        259 => "DOA",
        260 => "AMTRELAY",
        261 => "RESINFO",
        262 => "WALLET",
        263 => "CLA",
        264 => "IPN",
        32768 => "TA",
        32769 => "DLV",
        _ => return Cow::Owned(format!("TYPE{t}")),
    };
    Cow::Borrowed(s)
}

/// Mnemonic of an RCODE, extended ones included (`"NXDOMAIN"`, ...; `"RCODE123"` otherwise).
/// 16 is `BADVERS` (an OPT response; in TSIG it means BADSIG).
pub fn rcode_name(rcode: u16) -> Cow<'static, str> {
    let s = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => return Cow::Owned(format!("RCODE{rcode}")),
    };
    Cow::Borrowed(s)
}

/// Mnemonic of a class (`"IN"`, `"CH"`, ...; `"CLASS123"` otherwise).
pub fn class_name(class: u16) -> Cow<'static, str> {
    let s = match class {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        254 => "NONE",
        255 => "ANY",
        _ => return Cow::Owned(format!("CLASS{class}")),
    };
    Cow::Borrowed(s)
}

/// Mnemonic of an OPCODE (`"QUERY"`, `"NOTIFY"`, ...; `"OPCODE7"` otherwise).
pub fn opcode_name(opcode: u8) -> Cow<'static, str> {
    let s = match opcode {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        6 => "DSO",
        _ => return Cow::Owned(format!("OPCODE{opcode}")),
    };
    Cow::Borrowed(s)
}

/// Short name of an Extended DNS Error INFO-CODE (RFC 8914 and the IANA registry), `None` when
/// unassigned.
pub fn ede_name(info_code: u16) -> Option<&'static str> {
    Some(match info_code {
        0 => "Other Error",
        1 => "Unsupported DNSKEY Algorithm",
        2 => "Unsupported DS Digest Type",
        3 => "Stale Answer",
        4 => "Forged Answer",
        5 => "DNSSEC Indeterminate",
        6 => "DNSSEC Bogus",
        7 => "Signature Expired",
        8 => "Signature Not Yet Valid",
        9 => "DNSKEY Missing",
        10 => "RRSIGs Missing",
        11 => "No Zone Key Bit Set",
        12 => "NSEC Missing",
        13 => "Cached Error",
        14 => "Not Ready",
        15 => "Blocked",
        16 => "Censored",
        17 => "Filtered",
        18 => "Prohibited",
        19 => "Stale NXDomain Answer",
        20 => "Not Authoritative",
        21 => "Not Supported",
        22 => "No Reachable Authority",
        23 => "Network Error",
        24 => "Invalid Data",
        25 => "Signature Expired before Valid",
        26 => "Too Early",
        27 => "Unsupported NSEC3 Iterations Value",
        28 => "Unable to conform to policy",
        29 => "Synthesized",
        30 => "Invalid Query Type",
        _ => return None,
    })
}

/// What [`DnsTcpFramer::push`] hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpFrame<'a> {
    /// One complete message, without its length prefix.
    Message(&'a [u8]),
    /// Something odd in the stream ([`DnsAnomaly::TcpGap`], ...).
    Anomaly(DnsAnomaly),
}

/// Cuts one direction of a DNS-over-TCP stream into messages (RFC 1035 4.2.2: each message is
/// preceded by a 2-byte length). Feed it reassembled bytes in stream order; several messages in
/// one chunk and one message over several chunks both work. Messages that lie whole inside a
/// chunk are handed out without copying; only a message split over chunks is buffered, at most
/// `2 + max_message` bytes.
#[derive(Clone, Debug)]
pub struct DnsTcpFramer {
    /// Bytes of the current message collected so far, length prefix included.
    buf: Vec<u8>,
    /// Stream offset of the next expected byte (`None` before the first chunk).
    next: Option<u64>,
    /// Bytes of an oversized message still to skip.
    skip: usize,
    max_message: usize,
}

impl Default for DnsTcpFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl DnsTcpFramer {
    /// Largest message a 2-byte prefix can announce.
    pub const MAX_MESSAGE: usize = u16::MAX as usize;

    /// A framer that accepts any message (buffer bound 64 KiB + 2).
    pub fn new() -> Self {
        Self::with_max_message(Self::MAX_MESSAGE)
    }

    /// A framer that skips messages longer than `max_message` bytes, reporting
    /// [`DnsAnomaly::TcpMessageTooLarge`].
    pub fn with_max_message(max_message: usize) -> Self {
        DnsTcpFramer {
            buf: Vec::new(),
            next: None,
            skip: 0,
            max_message: max_message.min(Self::MAX_MESSAGE),
        }
    }

    /// Bytes held for a message split over chunks.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds `data`, which starts at stream offset `offset`. Bytes already seen are ignored; a
    /// jump forward is a [`DnsAnomaly::TcpGap`]: the partial message is dropped and the new bytes
    /// are taken to start a message. Empty chunks are ignored. Calls `f` for each complete message
    /// and anomaly, in order.
    pub fn push(&mut self, offset: u64, data: &[u8], mut f: impl FnMut(TcpFrame<'_>)) {
        if data.is_empty() {
            return;
        }
        let mut data = data;
        if let Some(next) = self.next {
            if offset < next {
                let seen = usize::try_from(next - offset).unwrap_or(usize::MAX);
                match data.get(seen..) {
                    Some(rest) if !rest.is_empty() => data = rest,
                    _ => return,
                }
            } else if offset > next {
                f(TcpFrame::Anomaly(DnsAnomaly::TcpGap));
                self.buf.clear();
                self.skip = 0;
                self.next = Some(offset);
            }
        } else {
            self.next = Some(offset);
        }
        self.next = self.next.map(|n| n.saturating_add(data.len() as u64));
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = data.get(n..).unwrap_or(&[]);
                continue;
            }
            if self.buf.is_empty() {
                // Whole messages straight from the chunk.
                if let Some(len) = be16(data, 0) {
                    let len = usize::from(len);
                    if let Some(msg) = self.check_len(len, &mut f) {
                        if let Some(m) = data.get(2..2 + msg) {
                            f(TcpFrame::Message(m));
                            data = data.get(2 + msg..).unwrap_or(&[]);
                            continue;
                        }
                    } else {
                        data = data.get(2..).unwrap_or(&[]);
                        continue;
                    }
                }
                self.buf.extend_from_slice(data);
                return;
            }
            // Complete the length prefix, then the message.
            if self.buf.len() < 2 {
                if let Some((&b, rest)) = data.split_first() {
                    self.buf.push(b);
                    data = rest;
                }
                if self.buf.len() < 2 {
                    continue;
                }
                let len = usize::from(be16(&self.buf, 0).unwrap_or(0));
                if self.check_len(len, &mut f).is_none() {
                    self.buf.clear();
                    continue;
                }
            }
            let len = usize::from(be16(&self.buf, 0).unwrap_or(0));
            let want = (2 + len).saturating_sub(self.buf.len());
            let n = want.min(data.len());
            self.buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
            data = data.get(n..).unwrap_or(&[]);
            if self.buf.len() == 2 + len {
                f(TcpFrame::Message(self.buf.get(2..).unwrap_or(&[])));
                self.buf.clear();
            }
        }
    }

    /// Checks a length prefix: `Some(len)` to read the message, `None` when it is empty or too
    /// large (then skipped, and reported).
    fn check_len(&mut self, len: usize, f: &mut impl FnMut(TcpFrame<'_>)) -> Option<usize> {
        if len == 0 {
            f(TcpFrame::Anomaly(DnsAnomaly::TcpEmptyMessage));
            return None;
        }
        if len > self.max_message {
            f(TcpFrame::Anomaly(DnsAnomaly::TcpMessageTooLarge {
                len: u16::try_from(len).unwrap_or(u16::MAX),
            }));
            self.skip = len;
            return None;
        }
        Some(len)
    }

    /// End of the stream: reports [`DnsAnomaly::TcpTruncatedMessage`] if a message was cut, and
    /// resets the framer.
    pub fn finish(&mut self) -> Option<DnsAnomaly> {
        let cut = !self.buf.is_empty() || self.skip > 0;
        *self = Self::with_max_message(self.max_message);
        cut.then_some(DnsAnomaly::TcpTruncatedMessage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Response to `www.example.com A`: a CNAME to `edge.example.net` and two A records for it.
    #[rustfmt::skip]
    const CNAME_CHAIN: &[u8] = &[
        0x1a, 0x2b, 0x81, 0x80, 0x00, 0x01, 0x00, 0x03, /* .+...... id, QR RD RA, qd 1, an 3 */
        0x00, 0x00, 0x00, 0x00,                         /* ....     ns 0, ar 0 */
        0x03, 0x77, 0x77, 0x77, 0x07, 0x65, 0x78, 0x61, /* .www.exa (12) */
        0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, /* mple.com */
        0x00, 0x00, 0x01, 0x00, 0x01,                   /* .....    A IN */
        0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, /* ........ (33) ->12 CNAME IN */
        0x0e, 0x10, 0x00, 0x12, 0x04, 0x65, 0x64, 0x67, /* .....edg ttl 3600, rdlen 18 (45) */
        0x65, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, /* e.exampl */
        0x65, 0x03, 0x6e, 0x65, 0x74, 0x00,             /* e.net.   */
        0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, /* .-...... (63) ->45 A IN */
        0x00, 0x3c, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x0a, /* .<...... ttl 60, 192.0.2.10 */
        0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, /* .-...... (79) ->45 A IN */
        0x00, 0x3c, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x0b, /* .<...... ttl 60, 192.0.2.11 */
    ];

    /// Response to `Example.com AAAA` (0x20 case kept): one AAAA record.
    #[rustfmt::skip]
    const AAAA: &[u8] = &[
        0x00, 0x07, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, /* ........ */
        0x00, 0x00, 0x00, 0x00,                         /* ....     */
        0x07, 0x45, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, /* .Example (12) */
        0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x1c, 0x00, /* .com.... AAAA */
        0x01,                                           /* .        IN */
        0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, /* ........ ->12 AAAA IN */
        0x01, 0x2c, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, /* .,.. ... ttl 300, rdlen 16 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ........ */
        0x00, 0x00, 0x00, 0x01,                         /* ....     2001:db8::1 */
    ];

    /// Query `example.com HTTPS` (type 65: dns-parser 0.8 rejects the whole message).
    #[rustfmt::skip]
    const HTTPS_QUERY: &[u8] = &[
        0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, /* ........ RD, qd 1 */
        0x00, 0x00, 0x00, 0x00,                         /* ....     */
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, /* .example */
        0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x41, 0x00, /* .com..A. HTTPS */
        0x01,                                           /* .        IN */
    ];

    /// Its answer: priority 1, target ".", alpn h3,h2, ipv4hint 192.0.2.1 192.0.2.2, ipv6hint.
    #[rustfmt::skip]
    const HTTPS_ANSWER: &[u8] = &[
        0xbe, 0xef, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, /* ........ */
        0x00, 0x00, 0x00, 0x00,                         /* ....     */
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, /* .example */
        0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x41, 0x00, /* .com..A. */
        0x01,                                           /* .        */
        0xc0, 0x0c, 0x00, 0x41, 0x00, 0x01, 0x00, 0x00, /* ...A.... ->12 HTTPS IN */
        0x01, 0x2c, 0x00, 0x2d, 0x00, 0x01, 0x00, 0x00, /* .,.-.... ttl 300, rdlen 45, prio 1, "." */
        0x01, 0x00, 0x06, 0x02, 0x68, 0x33, 0x02, 0x68, /* ....h3.h alpn (1), len 6 */
        0x32, 0x00, 0x04, 0x00, 0x08, 0xc0, 0x00, 0x02, /* 2....... ipv4hint (4), len 8 */
        0x01, 0xc0, 0x00, 0x02, 0x02, 0x00, 0x06, 0x00, /* ........ ipv6hint (6), len 16 */
        0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, /* . ...... */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ........ */
        0x01,                                           /* .        */
    ];

    /// SERVFAIL with OPT: UDP 1232, DO set, Extended DNS Error 6 (DNSSEC Bogus) "bad sig".
    #[rustfmt::skip]
    const SERVFAIL_EDE: &[u8] = &[
        0x55, 0xaa, 0x81, 0x82, 0x00, 0x01, 0x00, 0x00, /* U....... rcode 2 */
        0x00, 0x00, 0x00, 0x01,                         /* ....     ar 1 */
        0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, /* .example */
        0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, /* .com.... A */
        0x01,                                           /* .        IN */
        0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, /* ..)..... root OPT 1232, ext 0 v0 DO */
        0x00, 0x00, 0x0d, 0x00, 0x0f, 0x00, 0x09, 0x00, /* ........ rdlen 13, EDE len 9 */
        0x06, 0x62, 0x61, 0x64, 0x20, 0x73, 0x69, 0x67, /* .bad sig info 6 */
    ];

    /// NXDOMAIN for `nope.example.com A` with the zone's SOA in the authority section.
    #[rustfmt::skip]
    const NXDOMAIN_SOA: &[u8] = &[
        0x12, 0x34, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, /* .4...... rcode 3 */
        0x00, 0x01, 0x00, 0x00,                         /* ....     ns 1 */
        0x04, 0x6e, 0x6f, 0x70, 0x65, 0x07, 0x65, 0x78, /* .nope.ex (12; "example" at 17) */
        0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, /* ample.co */
        0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,             /* m.....   */
        0xc0, 0x11, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, /* ........ ->17 SOA IN */
        0x0e, 0x10, 0x00, 0x26, 0x02, 0x6e, 0x73, 0xc0, /* ...&.ns. ttl 3600, rdlen 38 */
        0x11, 0x0a, 0x68, 0x6f, 0x73, 0x74, 0x6d, 0x61, /* ..hostma */
        0x73, 0x74, 0x65, 0x72, 0xc0, 0x11, 0x00, 0x00, /* ster.... */
        0x00, 0x01, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x00, /* ..... .. serial 1, refresh 7200 */
        0x0e, 0x10, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00, /* ....u... retry 3600, expire 1209600 */
        0x0e, 0x10,                                     /* ..       minimum 3600 */
    ];

    fn parse(b: &[u8]) -> Message {
        match parse_message(b) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    fn names(m: &Message) -> Vec<&'static str> {
        m.anomalies.iter().map(|a| a.name()).collect()
    }

    #[test]
    fn cname_chain_and_a_records() {
        let m = parse(CNAME_CHAIN);
        assert_eq!(m.id, 0x1a2b);
        assert!(m.flags.qr && m.flags.rd && m.flags.ra && !m.flags.aa && !m.flags.tc);
        assert_eq!(m.flags.bits(), 0x8180);
        assert_eq!(m.rcode, 0);
        assert_eq!(m.counts, [1, 3, 0, 0]);
        let q = m.question().cloned();
        assert_eq!(
            q,
            Some(Question {
                name: "www.example.com".into(),
                qtype: 1,
                qclass: 1
            })
        );
        let a: Vec<_> = m
            .answers
            .iter()
            .map(|r| (&*r.name, r.ttl, &r.data))
            .collect();
        assert_eq!(
            a,
            vec![
                (
                    "www.example.com",
                    3600,
                    &RData::Cname("edge.example.net".into())
                ),
                ("edge.example.net", 60, &RData::A([192, 0, 2, 10].into())),
                ("edge.example.net", 60, &RData::A([192, 0, 2, 11].into())),
            ]
        );
        assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
        assert!(m.is_complete());
        assert!(m.edns().is_none());
    }

    #[test]
    fn aaaa_keeps_case() {
        let m = parse(AAAA);
        assert_eq!(m.questions[0].name, "Example.com");
        assert_eq!(m.questions[0].qtype, 28);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].name, "Example.com");
        assert_eq!(
            m.answers[0].data,
            RData::Aaaa("2001:db8::1".parse().unwrap())
        );
        assert!(m.anomalies.is_empty());
    }

    #[test]
    fn https_query_and_answer() {
        let q = parse(HTTPS_QUERY);
        assert!(!q.is_response());
        assert_eq!(q.questions[0].qtype, 65);
        assert_eq!(qtype_name(q.questions[0].qtype), "HTTPS");
        assert!(q.anomalies.is_empty());

        let m = parse(HTTPS_ANSWER);
        assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
        let RData::Https(s) = &m.answers[0].data else {
            panic!("{:?}", m.answers[0].data)
        };
        assert_eq!(s.priority, 1);
        assert_eq!(s.target, "");
        assert_eq!(s.alpn(), Some(&["h3".to_string(), "h2".to_string()][..]));
        assert_eq!(
            s.params,
            vec![
                SvcParam::Alpn(vec!["h3".into(), "h2".into()]),
                SvcParam::Ipv4Hint(vec![[192, 0, 2, 1].into(), [192, 0, 2, 2].into()]),
                SvcParam::Ipv6Hint(vec!["2001:db8::1".parse().unwrap()]),
            ]
        );
    }

    #[test]
    fn opt_with_extended_dns_error() {
        let m = parse(SERVFAIL_EDE);
        assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
        assert_eq!(rcode_name(m.rcode), "SERVFAIL");
        let o = m.edns().cloned().unwrap();
        assert_eq!(
            (o.udp_size, o.version, o.dnssec_ok, o.z),
            (1232, 0, true, 0)
        );
        assert_eq!(
            o.extended_errors().collect::<Vec<_>>(),
            vec![(6, "bad sig")]
        );
        assert_eq!(ede_name(6), Some("DNSSEC Bogus"));
        assert_eq!(m.additional[0].name, "");
        assert_eq!(m.additional[0].rtype, TYPE_OPT);

        // Extended RCODE: OPT's upper bits 1 over a header RCODE of 0 is BADVERS (16).
        let mut b = SERVFAIL_EDE.to_vec();
        b[3] = 0x80;
        b[34] = 0x01;
        let m = parse(&b);
        assert_eq!(m.rcode, 16);
        assert_eq!(rcode_name(m.rcode), "BADVERS");
    }

    #[test]
    fn nxdomain_with_soa_in_authority() {
        let m = parse(NXDOMAIN_SOA);
        assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
        assert_eq!(m.rcode, 3);
        assert_eq!(rcode_name(m.rcode), "NXDOMAIN");
        assert_eq!(m.questions[0].name, "nope.example.com");
        assert!(m.answers.is_empty());
        assert_eq!(m.authority.len(), 1);
        assert_eq!(m.authority[0].name, "example.com");
        assert_eq!(
            m.authority[0].data,
            RData::Soa(Box::new(Soa {
                mname: "ns.example.com".into(),
                rname: "hostmaster.example.com".into(),
                serial: 1,
                refresh: 7200,
                retry: 3600,
                expire: 1_209_600,
                minimum: 3600,
            }))
        );
    }

    #[test]
    fn compression_loop_is_an_anomaly() {
        // Self pointer as the question name.
        #[rustfmt::skip]
        let selfloop = [
            0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, /* ........ */
            0x00, 0x00, 0x00, 0x00,                         /* ....     */
            0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,             /* ......   ->12 (itself) A IN */
        ];
        let m = parse(&selfloop);
        assert_eq!(names(&m), vec!["dns_name_pointer_loop"]);
        assert_eq!(m.questions.len(), 1);
        assert_eq!(m.questions[0].qtype, 1);

        // Two names pointing at each other: "a" -> 20, "b" -> 12.
        #[rustfmt::skip]
        let twoloop = [
            0x00, 0x02, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, /* ........ */
            0x00, 0x00, 0x00, 0x00,                         /* ....     */
            0x01, 0x61, 0xc0, 0x14, 0x00, 0x01, 0x00, 0x01, /* .a...... (12) "a" ->20 (forward) */
            0x01, 0x62, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, /* .b...... (20) "b" ->12 A IN */
            0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 0x0a, 0x00, /* ...<.... ttl 60, 10.0.0.1 */
            0x00, 0x01,
        ];
        let m = parse(&twoloop);
        assert_eq!(m.questions[0].name, "a.b.a");
        assert_eq!(m.answers[0].name, "b.a.b");
        assert_eq!(m.answers[0].data, RData::A([10, 0, 0, 1].into()));
        assert!(m.is_complete());
        assert!(names(&m).contains(&"dns_name_pointer_loop"));
        assert!(names(&m).contains(&"dns_name_forward_pointer"));
    }

    #[test]
    fn pointer_past_end_is_an_anomaly() {
        #[rustfmt::skip]
        let b = [
            0x00, 0x03, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, /* ........ */
            0x00, 0x00, 0x00, 0x00,                         /* ....     */
            0x03, 0x77, 0x77, 0x77, 0xc0, 0xff, 0x00, 0x01, /* .www.... "www" ->255 */
            0x00, 0x01,                                     /* ..       IN */
        ];
        let m = parse(&b);
        assert_eq!(names(&m), vec!["dns_name_pointer_out_of_range"]);
        assert_eq!(m.questions[0].name, "www");
        assert_eq!(m.questions[0].qclass, 1);
    }

    #[test]
    fn long_labels_and_names_are_anomalies() {
        // A label length byte of 70 (type bits 01): read as a 70-byte label.
        let mut b = vec![0, 4, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 70];
        b.extend([b'x'; 70]);
        b.extend([0, 0, 1, 0, 1]);
        let m = parse(&b);
        assert_eq!(names(&m), vec!["dns_label_too_long"]);
        assert_eq!(m.questions[0].name.len(), 70);

        // 5 labels of 63 bytes: 320 wire bytes.
        let mut b = vec![0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            b.push(63);
            b.extend([b'y'; 63]);
        }
        b.extend([0, 0, 1, 0, 1]);
        let m = parse(&b);
        assert_eq!(names(&m), vec!["dns_name_too_long"]);
        assert!(m.questions[0].name.len() <= MAX_NAME_LEN);
        assert_eq!(m.questions[0].qtype, 1);
        assert!(m.is_complete());
    }

    #[test]
    fn bad_record_is_kept_and_parsing_goes_on() {
        // Answer 1: A with rdlen 3 (malformed); answer 2: TYPE65280 (unknown); answer 3: A.
        #[rustfmt::skip]
        let b = [
            0x00, 0x09, 0x81, 0x80, 0x00, 0x00, 0x00, 0x03, /* ........ an 3 */
            0x00, 0x00, 0x00, 0x00,                         /* ....     */
            0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, /* ........ root A IN */
            0x01, 0x00, 0x03, 0x01, 0x02, 0x03,             /* ......   rdlen 3 */
            0x00, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, /* ........ root TYPE65280 IN */
            0x01, 0x00, 0x02, 0xab, 0xcd,                   /* .....    rdlen 2 */
            0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, /* ........ root A IN */
            0x01, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04,       /* ....... 1.2.3.4 */
            0xee,                                           /* .        trailing */
        ];
        let m = parse(&b);
        assert_eq!(
            m.answers.iter().map(|r| &r.data).collect::<Vec<_>>(),
            vec![
                &RData::Unknown {
                    rtype: 1,
                    raw: "010203".into()
                },
                &RData::Unknown {
                    rtype: 65280,
                    raw: "abcd".into()
                },
                &RData::A([1, 2, 3, 4].into()),
            ]
        );
        assert_eq!(names(&m), vec!["dns_rdata_malformed", "dns_trailing_bytes"]);
        assert_eq!(qtype_name(65280), "TYPE65280");
        assert!(m.is_complete());
    }

    #[test]
    fn header_too_short_is_the_only_error() {
        assert_eq!(
            parse_message(&[0; 11]),
            Err(DnsError::HeaderTruncated { len: 11 })
        );
        let m = parse(&[0xff; 12]);
        assert_eq!(m.flags.opcode, 15);
        assert_eq!(names(&m), vec!["dns_question_truncated"]);
        assert!(!m.is_complete());
    }

    #[test]
    fn every_truncation_prefix_parses_or_errors() {
        for full in [CNAME_CHAIN, AAAA, HTTPS_ANSWER, SERVFAIL_EDE, NXDOMAIN_SOA] {
            assert!(parse(full).is_complete());
            for n in 0..full.len() {
                match parse_message(&full[..n]) {
                    Err(DnsError::HeaderTruncated { len }) => assert!(n < HEADER_LEN && len == n),
                    Ok(m) => {
                        assert!(n >= HEADER_LEN);
                        assert!(!m.is_complete(), "prefix {n} of {full:02x?}");
                    }
                }
            }
        }
    }

    #[test]
    fn names_and_escapes() {
        #[rustfmt::skip]
        let b = [
            0x00, 0x0a, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, /* ........ */
            0x00, 0x00, 0x00, 0x00,                         /* ....     */
            0x04, 0x61, 0x2e, 0x20, 0xff, 0x01, 0x5c, 0x00, /* .a. ..\. "a. \xff" "\\" */
            0x00, 0x10, 0x00, 0x03,                         /* ....     TXT CH */
        ];
        let m = parse(&b);
        assert_eq!(m.questions[0].name, "a\\.\\032\\255.\\\\");
        assert_eq!(qtype_name(16), "TXT");
        assert_eq!(class_name(m.questions[0].qclass), "CH");
        assert_eq!(escaped_text(b"v=spf1 \"x\"\x01"), "v=spf1 \\\"x\\\"\\001");
        assert_eq!(rcode_name(5), "REFUSED");
        assert_eq!(rcode_name(3841), "RCODE3841");
        assert_eq!(opcode_name(4), "NOTIFY");
        assert_eq!(qtype_name(255), "ANY");
        assert_eq!(
            Flags::from_bits(0xffff).bits(),
            0xfff0,
            "every flag bit round-trips"
        );
    }

    /// xorshift64: deterministic pseudo-random numbers for the fuzz-style tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn check_bounds(m: &Message) {
        // Escapes make a wire byte up to 4 characters; a dot separates labels.
        let limit = 4 * (MAX_NAME_LEN + 63) + 64;
        let all_names = m
            .questions
            .iter()
            .map(|q| &q.name)
            .chain(m.records().map(|r| &r.name));
        for n in all_names {
            assert!(n.len() <= limit, "name of {} bytes", n.len());
        }
    }

    #[test]
    fn mutated_messages_never_panic() {
        let seeds = [
            CNAME_CHAIN,
            AAAA,
            HTTPS_QUERY,
            HTTPS_ANSWER,
            SERVFAIL_EDE,
            NXDOMAIN_SOA,
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut anomalies = 0usize;
        for case in 0..20_000 {
            let mut b = seeds[case % seeds.len()].to_vec();
            match rng.below(4) {
                // Flip a few bytes.
                0 => {
                    for _ in 0..1 + rng.below(4) {
                        let i = rng.below(b.len());
                        b[i] = rng.next() as u8;
                    }
                }
                // Plant a compression pointer somewhere.
                1 => {
                    let i = rng.below(b.len() - 1);
                    b[i] = 0xc0 | (rng.next() as u8 & 0x3f);
                    b[i + 1] = rng.next() as u8;
                }
                // Large counts, cut the tail.
                2 => {
                    let i = 4 + 2 * rng.below(4);
                    b[i] = rng.next() as u8;
                    b.truncate(HEADER_LEN + rng.below(b.len()));
                }
                // Random bytes.
                _ => {
                    let n = rng.below(300);
                    b = (0..n).map(|_| rng.next() as u8).collect();
                }
            }
            if let Ok(m) = parse_message(&b) {
                check_bounds(&m);
                anomalies += m.anomalies.len();
                for r in m.records() {
                    let _ = qtype_name(r.rtype);
                }
                let _ = rcode_name(m.rcode);
            }
        }
        assert!(anomalies > 1000);
    }

    /// Many pointers into a long chain of labels: the work per name stays bounded.
    #[test]
    fn pointer_chains_are_bounded() {
        let mut b = vec![0, 1, 0x81, 0x80, 0, 1, 0x0f, 0xff, 0, 0, 0, 0];
        // A question of 2,000 one-byte labels, then a pointer back into their middle.
        for _ in 0..2000 {
            b.extend([1, b'a']);
        }
        b.extend([0xc0, 0x10, 0, 1, 0, 1]);
        // 4,095 records (TYPE99, empty data) whose name points at the start of the chain.
        for _ in 0..4095 {
            b.extend([0xc0, 0x0c, 0, 99, 0, 1, 0, 0, 0, 0, 0, 0]);
        }
        let m = parse(&b);
        assert_eq!(m.answers.len(), 4095);
        check_bounds(&m);
        assert!(m.answers.iter().all(|r| r.name.len() < 300));
    }

    #[test]
    fn pointer_hop_limit() {
        // Question: the root. Answer 1 (TYPE65280) carries 70 pointers, each to the one before,
        // the first to the root name at 12. Answer 2's name points at the last one.
        let mut b = vec![0, 6, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 1];
        b.extend([0, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 140]);
        let base = b.len();
        for i in 0..70usize {
            let target = if i == 0 { 12 } else { base + 2 * (i - 1) };
            b.extend([0xc0 | (target >> 8) as u8, target as u8]);
        }
        let last = base + 2 * 69;
        b.extend([0xc0 | (last >> 8) as u8, last as u8]);
        b.extend([0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        let m = parse(&b);
        assert_eq!(names(&m), vec!["dns_name_too_many_hops"]);
        assert_eq!(m.answers.len(), 2);
        assert_eq!(m.answers[1].data, RData::A([1, 2, 3, 4].into()));
    }

    fn framed(msgs: &[&[u8]]) -> Vec<u8> {
        let mut s = Vec::new();
        for m in msgs {
            s.extend((m.len() as u16).to_be_bytes());
            s.extend(*m);
        }
        s
    }

    fn collect(f: &mut DnsTcpFramer, chunks: &[(u64, &[u8])]) -> (Vec<Vec<u8>>, Vec<DnsAnomaly>) {
        let (mut msgs, mut weird) = (Vec::new(), Vec::new());
        for (off, c) in chunks {
            f.push(*off, c, |fr| match fr {
                TcpFrame::Message(m) => msgs.push(m.to_vec()),
                TcpFrame::Anomaly(a) => weird.push(a),
            });
        }
        (msgs, weird)
    }

    #[test]
    fn tcp_two_messages_in_one_chunk() {
        let s = framed(&[HTTPS_QUERY, CNAME_CHAIN]);
        let mut f = DnsTcpFramer::new();
        let (msgs, weird) = collect(&mut f, &[(0, &s)]);
        assert_eq!(msgs, vec![HTTPS_QUERY.to_vec(), CNAME_CHAIN.to_vec()]);
        assert!(weird.is_empty());
        assert_eq!(f.buffered(), 0);
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn tcp_one_message_over_three_chunks() {
        let s = framed(&[CNAME_CHAIN]);
        // Cut inside the length prefix and inside the message.
        let mut f = DnsTcpFramer::new();
        let (msgs, weird) = collect(
            &mut f,
            &[(1000, &s[..1]), (1001, &s[1..40]), (1040, &s[40..])],
        );
        assert_eq!(msgs, vec![CNAME_CHAIN.to_vec()]);
        assert!(weird.is_empty());
        // Retransmitted bytes are ignored.
        let (msgs, _) = collect(&mut f, &[(1000, &s)]);
        assert!(msgs.is_empty());
    }

    #[test]
    fn tcp_gap_oversize_empty_and_cut() {
        let s = framed(&[AAAA]);
        let mut f = DnsTcpFramer::with_max_message(40);
        let (msgs, weird) = collect(&mut f, &[(0, &s)]);
        assert!(msgs.is_empty());
        assert_eq!(
            weird,
            vec![DnsAnomaly::TcpMessageTooLarge {
                len: AAAA.len() as u16
            }]
        );
        // A gap drops the partial message; the next chunk starts a message.
        let mut f = DnsTcpFramer::new();
        let q = framed(&[HTTPS_QUERY]);
        let (msgs, weird) = collect(
            &mut f,
            &[(0, &s[..10]), (500, &q), (500 + q.len() as u64, &[0, 0])],
        );
        assert_eq!(msgs, vec![HTTPS_QUERY.to_vec()]);
        assert_eq!(weird, vec![DnsAnomaly::TcpGap, DnsAnomaly::TcpEmptyMessage]);
        let (_, _) = collect(&mut f, &[(502 + q.len() as u64, &s[..5])]);
        assert_eq!(f.finish(), Some(DnsAnomaly::TcpTruncatedMessage));
        // Empty chunks (a SYN whose offset wraps below the ISN) set nothing.
        let mut f = DnsTcpFramer::new();
        let (msgs, weird) = collect(&mut f, &[(u64::from(u32::MAX), &[]), (0, &q)]);
        assert_eq!(msgs, vec![HTTPS_QUERY.to_vec()]);
        assert!(weird.is_empty());
    }

    #[test]
    fn tcp_random_chunking_gives_the_same_messages() {
        let all = [
            CNAME_CHAIN,
            AAAA,
            HTTPS_QUERY,
            HTTPS_ANSWER,
            SERVFAIL_EDE,
            NXDOMAIN_SOA,
        ];
        let s = framed(&all);
        let mut rng = Rng(42);
        for _ in 0..500 {
            let mut f = DnsTcpFramer::new();
            let mut chunks = Vec::new();
            let mut at = 0;
            while at < s.len() {
                let n = 1 + rng.below(60);
                let end = (at + n).min(s.len());
                chunks.push((at as u64, &s[at..end]));
                at = end;
            }
            let (msgs, weird) = collect(&mut f, &chunks);
            assert_eq!(msgs, all.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
            assert!(weird.is_empty());
            assert!(f.buffered() <= 2 + DnsTcpFramer::MAX_MESSAGE);
        }
    }

    /// Parses every DNS message (UDP or TCP, port 53) of the captures under `$TIDYSNIFF_CORPUS`;
    /// skipped when unset.
    #[test]
    fn corpus_messages_parse_without_panic() {
        use crate::decode::{decode_frame, parse_transport, Decoded, Transport};
        use crate::source::CaptureReader;
        use std::collections::HashMap;
        let Some(root) = std::env::var_os("TIDYSNIFF_CORPUS") else {
            eprintln!("TIDYSNIFF_CORPUS not set: corpus test skipped");
            return;
        };
        let mut files = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(root)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p
                    .extension()
                    .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
                {
                    files.push(p);
                }
            }
        }
        files.sort();
        let (mut udp, mut tcp, mut errors, mut incomplete, mut clean) = (0, 0, 0, 0, 0);
        let mut weird: HashMap<&'static str, usize> = HashMap::new();
        let mut check = |b: &[u8]| match parse_message(b) {
            Err(_) => errors += 1,
            Ok(m) => {
                check_bounds(&m);
                if !m.is_complete() {
                    incomplete += 1;
                }
                if m.anomalies.is_empty() {
                    clean += 1;
                }
                for a in &m.anomalies {
                    *weird.entry(a.name()).or_default() += 1;
                }
            }
        };
        for path in &files {
            let Ok(mut r) = CaptureReader::open(path) else {
                continue;
            };
            let mut streams: HashMap<_, (u32, DnsTcpFramer)> = HashMap::new();
            while let Ok(Some(p)) = r.next_packet() {
                let Ok(Decoded::Ip { packet, .. }) = decode_frame(p.linktype, p.data) else {
                    continue;
                };
                if packet.fragment.is_some() {
                    continue;
                }
                match parse_transport(packet.ip.protocol, packet.payload, packet.payload_len) {
                    Ok(Transport::Udp(u)) if u.src_port == 53 || u.dst_port == 53 => {
                        udp += 1;
                        check(u.payload);
                    }
                    Ok(Transport::Tcp(s)) if s.src_port == 53 || s.dst_port == 53 => {
                        let key = (packet.ip.src, s.src_port, packet.ip.dst, s.dst_port);
                        let syn = s.flags & 0x02 != 0;
                        let st = streams
                            .entry(key)
                            .or_insert_with(|| (s.seq, DnsTcpFramer::new()));
                        if syn {
                            *st = (s.seq.wrapping_add(1), DnsTcpFramer::new());
                        }
                        let off = u64::from(s.seq.wrapping_sub(st.0));
                        st.1.push(off, s.payload, |f| {
                            if let TcpFrame::Message(m) = f {
                                tcp += 1;
                                check(m);
                            }
                        });
                    }
                    _ => {}
                }
            }
        }
        let mut weird: Vec<_> = weird.into_iter().collect();
        weird.sort();
        eprintln!(
            "dns corpus: {} captures, {udp} UDP + {tcp} TCP messages, {errors} header errors, \
             {incomplete} incomplete, {clean} without anomalies; anomalies: {weird:?}",
            files.len()
        );
        assert!(udp > 0);
    }
}
