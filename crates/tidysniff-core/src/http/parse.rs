//! Pure HTTP/1.x parsing: content probe, request and response heads, body framing, and the
//! bounded per-direction [`MessageReader`] that finds heads and skips bodies.
//!
//! The head functions take bytes and return borrowed views ([`RequestHead`], [`ResponseHead`]);
//! no I/O, no clock, no allocation beyond what the caller does with the views. The reader keeps
//! at most one head ([`HttpLimits::max_header_bytes`]) and a few counters: bodies are skipped,
//! never stored, so the memory of a direction does not grow with what it carries.
//!
//! No function here panics on any input: every index is checked (`get`), every sum saturates.

use core::fmt;

/// Bounds on what one connection may make the parser keep or do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest head (start line, header lines and the blank line), in bytes. Default 16 KiB.
    pub max_header_bytes: usize,
    /// Most header lines in one head (the start line not counted). Default 100.
    pub max_header_lines: usize,
    /// Most transactions (requests, and responses without a request) per connection. Default 64.
    pub max_transactions: u32,
    /// Bytes of each direction the caller will deliver at most (the engine's `stream_depth`);
    /// 0 when unknown. A body reaching past it stops the direction at once
    /// ([`StreamStatus::BodyBeyondDepth`]) instead of waiting for bytes that never come.
    pub stream_depth: u64,
    /// Client bytes kept after a CONNECT request while its answer is awaited (handed to the
    /// caller with [`crate::http::state::TunnelStart`]). Default 16 KiB.
    pub max_early_data: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_header_bytes: 16 * 1024,
            max_header_lines: 100,
            max_transactions: 64,
            stream_depth: 0,
            max_early_data: 16 * 1024,
        }
    }
}

/// Something odd in the bytes. Each has a stable snake_case [`name`](Anomaly::name) for logs
/// and weird events; the enum may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Anomaly {
    /// No end of head within [`HttpLimits::max_header_bytes`].
    HeaderTooLong,
    /// More than [`HttpLimits::max_header_lines`] header lines.
    TooManyHeaders,
    /// The first line of a request is not `method SP target SP HTTP/1.x`.
    BadRequestLine,
    /// The first line of a response is not `HTTP/1.x SP 3DIGIT [SP reason]`, or the server
    /// sent something that is not HTTP.
    BadStatusLine,
    /// A header line without a colon, with an empty or invalid name, or with space before the
    /// colon (ignored).
    BadHeaderLine,
    /// A header line continued on the next line (obsolete line folding; the continuation is
    /// ignored).
    ObsFold,
    /// `Content-Length` not a number, or several differing values: the body cannot be framed.
    BadContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (a request-smuggling signal; the transfer
    /// coding wins).
    ContentLengthWithTransferEncoding,
    /// A request `Transfer-Encoding` whose final coding is not `chunked`: the body cannot be framed.
    BadTransferEncoding,
    /// A malformed chunk size line, chunk terminator or trailer section.
    BadChunk,
    /// More than one `Host` header (the first is kept).
    DuplicateHost,
    /// An HTTP/1.1 request without `Host`.
    MissingHost,
    /// More than [`HttpLimits::max_transactions`] on the connection; the rest is not parsed.
    TooManyTransactions,
    /// Delivered bytes skipped ahead of where the parser stood, outside a body.
    StreamGap,
    /// A response with no request waiting for it.
    UnmatchedResponse,
    /// A request-target with Go module proxy markers (`/@v/`, `/@latest`) that does not decode.
    GoProxyBadPath,
    /// More client bytes after a CONNECT than [`HttpLimits::max_early_data`] before its answer.
    TunnelEarlyDataTooLong,
}

impl Anomaly {
    /// Every anomaly, in declaration order.
    pub const ALL: [Anomaly; 17] = [
        Anomaly::HeaderTooLong,
        Anomaly::TooManyHeaders,
        Anomaly::BadRequestLine,
        Anomaly::BadStatusLine,
        Anomaly::BadHeaderLine,
        Anomaly::ObsFold,
        Anomaly::BadContentLength,
        Anomaly::ContentLengthWithTransferEncoding,
        Anomaly::BadTransferEncoding,
        Anomaly::BadChunk,
        Anomaly::DuplicateHost,
        Anomaly::MissingHost,
        Anomaly::TooManyTransactions,
        Anomaly::StreamGap,
        Anomaly::UnmatchedResponse,
        Anomaly::GoProxyBadPath,
        Anomaly::TunnelEarlyDataTooLong,
    ];

    /// The stable snake_case id.
    pub const fn name(self) -> &'static str {
        match self {
            Anomaly::HeaderTooLong => "http_header_too_long",
            Anomaly::TooManyHeaders => "http_too_many_headers",
            Anomaly::BadRequestLine => "http_bad_request_line",
            Anomaly::BadStatusLine => "http_bad_status_line",
            Anomaly::BadHeaderLine => "http_bad_header_line",
            Anomaly::ObsFold => "http_obs_fold",
            Anomaly::BadContentLength => "http_bad_content_length",
            Anomaly::ContentLengthWithTransferEncoding => {
                "http_content_length_with_transfer_encoding"
            }
            Anomaly::BadTransferEncoding => "http_bad_transfer_encoding",
            Anomaly::BadChunk => "http_bad_chunk",
            Anomaly::DuplicateHost => "http_duplicate_host",
            Anomaly::MissingHost => "http_missing_host",
            Anomaly::TooManyTransactions => "http_too_many_transactions",
            Anomaly::StreamGap => "http_stream_gap",
            Anomaly::UnmatchedResponse => "http_unmatched_response",
            Anomaly::GoProxyBadPath => "http_goproxy_bad_path",
            Anomaly::TunnelEarlyDataTooLong => "http_tunnel_early_data_too_long",
        }
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A small set of [`Anomaly`] values (non-fatal findings in one head).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Anomalies(u32);

impl Anomalies {
    /// Adds `a`.
    pub fn insert(&mut self, a: Anomaly) {
        self.0 |= a.bit();
    }

    /// Whether `a` is in the set.
    pub fn contains(self, a: Anomaly) -> bool {
        self.0 & a.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in [`Anomaly::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Anomaly> {
        Anomaly::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

/// What the first bytes of a direction look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A known method token followed by a space.
    Request,
    /// `HTTP/1.`
    Response,
    /// Neither, whatever follows.
    NotHttp,
    /// A prefix of a request or a response start: more bytes decide.
    NeedMore,
}

/// Methods that make [`probe`] say "HTTP" (RFC 9110, PATCH, common WebDAV). Other method
/// tokens are parsed once a connection is known to be HTTP.
pub const KNOWN_METHODS: [&str; 16] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
];

/// Bytes [`probe_prefix`] needs at most to decide (the longest method plus a space).
pub const PROBE_LEN: usize = 10;

const RESPONSE_MAGIC: &[u8] = b"HTTP/1.";

/// Detection by content on any port: a known method and a space, or `HTTP/1.`. Short input
/// (fewer than [`PROBE_LEN`] bytes) may say `false` where more bytes would say `true`; use
/// [`probe_prefix`] to tell "no" from "not yet".
pub fn probe(bytes: &[u8]) -> bool {
    matches!(probe_prefix(bytes), Probe::Request | Probe::Response)
}

/// Like [`probe`], with [`Probe::NeedMore`] when `bytes` is a proper prefix of an HTTP start.
pub fn probe_prefix(bytes: &[u8]) -> Probe {
    if bytes.starts_with(RESPONSE_MAGIC) {
        return Probe::Response;
    }
    let mut need_more = RESPONSE_MAGIC.starts_with(bytes);
    for m in KNOWN_METHODS {
        let m = m.as_bytes();
        match bytes.get(..m.len()) {
            Some(head) if head == m => match bytes.get(m.len()) {
                Some(b' ') => return Probe::Request,
                Some(_) => {}
                None => need_more = true,
            },
            Some(_) => {}
            None => need_more |= m.starts_with(bytes),
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::NotHttp
    }
}

/// An HTTP version `major.minor` (only major 1 is parsed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpVersion {
    /// Major digit.
    pub major: u8,
    /// Minor digit.
    pub minor: u8,
}

impl HttpVersion {
    /// HTTP/1.0.
    pub const HTTP_10: HttpVersion = HttpVersion { major: 1, minor: 0 };
    /// HTTP/1.1.
    pub const HTTP_11: HttpVersion = HttpVersion { major: 1, minor: 1 };

    /// Parses `HTTP/1.x`.
    pub fn parse(b: &[u8]) -> Option<HttpVersion> {
        match b {
            [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => {
                Some(HttpVersion {
                    major: 1,
                    minor: minor - b'0',
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for HttpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/{}.{}", self.major, self.minor)
    }
}

/// The framing headers common to requests and responses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyHeaders<'a> {
    /// The `Content-Length` value, when present and valid (see [`Anomaly::BadContentLength`]).
    pub content_length: Option<u64>,
    /// The first `Transfer-Encoding` value as sent.
    pub transfer_encoding: Option<&'a [u8]>,
    /// The final transfer coding (of the last `Transfer-Encoding` line) is `chunked`.
    pub chunked: bool,
    /// The first `Connection` value as sent.
    pub connection: Option<&'a [u8]>,
}

/// A parsed request head, borrowing the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// The method token (ASCII, case kept).
    pub method: &'a str,
    /// The request-target as sent (origin-, absolute-, authority- or asterisk-form).
    pub target: &'a [u8],
    /// The protocol version.
    pub version: HttpVersion,
    /// The first `Host` value.
    pub host: Option<&'a [u8]>,
    /// The first `User-Agent` value.
    pub user_agent: Option<&'a [u8]>,
    /// A `Proxy-Authorization` header was present (its value is never kept).
    pub proxy_authorization: bool,
    /// Framing headers.
    pub body: BodyHeaders<'a>,
    /// Number of header lines.
    pub header_lines: usize,
    /// Non-fatal findings.
    pub anomalies: Anomalies,
}

/// A parsed response head, borrowing the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    /// The protocol version.
    pub version: HttpVersion,
    /// The three-digit status code (100..=999).
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: &'a [u8],
    /// The first `Location` value.
    pub location: Option<&'a [u8]>,
    /// The first `Server` value.
    pub server: Option<&'a [u8]>,
    /// The first `Content-Type` value.
    pub content_type: Option<&'a [u8]>,
    /// Framing headers.
    pub body: BodyHeaders<'a>,
    /// Number of header lines.
    pub header_lines: usize,
    /// Non-fatal findings.
    pub anomalies: Anomalies,
}

/// How the body after a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body: the next message starts right after the head.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the connection closes (a response without length): nothing after it
    /// can be parsed.
    UntilClose,
    /// A 2xx answer to CONNECT: the bytes after the head belong to the tunnel.
    Tunnel,
    /// `101 Switching Protocols`: the bytes after the head are another protocol.
    Upgrade,
}

/// Finds the end of a head in `buf` (the index just past the blank line that ends it),
/// scanning from `from` (a resume point: pass the previous `buf.len()` minus 3 or less).
/// Bare LF line ends are accepted. The head must not start with an empty line.
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(rel) = buf
        .get(i..)
        .and_then(|s| s.iter().position(|&b| b == b'\n'))
    {
        let lf = i + rel;
        match buf.get(lf + 1) {
            Some(b'\n') => return Some(lf + 2),
            Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => return Some(lf + 3),
            _ => {}
        }
        i = lf + 1;
    }
    None
}

/// Splits a head into lines (without `\r\n` / `\n`), stopping at the first empty line.
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Header fields a head keeps; the rest are skipped.
#[derive(Default)]
struct Fields<'a> {
    host: Option<&'a [u8]>,
    user_agent: Option<&'a [u8]>,
    proxy_authorization: bool,
    location: Option<&'a [u8]>,
    server: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    body: BodyHeaders<'a>,
    content_length_seen: bool,
    lines: usize,
    anomalies: Anomalies,
}

fn first<'a>(slot: &mut Option<&'a [u8]>, v: &'a [u8]) {
    if slot.is_none() {
        *slot = Some(v);
    }
}

/// Parses the header lines after the start line.
fn parse_fields<'a>(
    rest: impl Iterator<Item = &'a [u8]>,
    limits: &HttpLimits,
) -> Result<Fields<'a>, Anomaly> {
    let mut f = Fields::default();
    for line in rest {
        f.lines += 1;
        if f.lines > limits.max_header_lines {
            return Err(Anomaly::TooManyHeaders);
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            f.anomalies.insert(Anomaly::ObsFold);
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            f.anomalies.insert(Anomaly::BadHeaderLine);
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            f.anomalies.insert(Anomaly::BadHeaderLine);
            continue;
        }
        let value = trim_ows(value);
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("host") {
            if f.host.is_some() {
                f.anomalies.insert(Anomaly::DuplicateHost);
            }
            first(&mut f.host, value);
        } else if is("user-agent") {
            first(&mut f.user_agent, value);
        } else if is("proxy-authorization") {
            f.proxy_authorization = true;
        } else if is("location") {
            first(&mut f.location, value);
        } else if is("server") {
            first(&mut f.server, value);
        } else if is("content-type") {
            first(&mut f.content_type, value);
        } else if is("connection") {
            first(&mut f.body.connection, value);
        } else if is("content-length") {
            // A list of identical values is allowed (RFC 9110 section 8.6); anything else
            // leaves the body unframeable.
            let mut ok = true;
            for item in value.split(|&b| b == b',') {
                match (parse_decimal(trim_ows(item)), f.body.content_length) {
                    (Some(n), None) if !f.content_length_seen => f.body.content_length = Some(n),
                    (Some(n), Some(prev)) if n == prev => {}
                    _ => ok = false,
                }
                f.content_length_seen = true;
            }
            if !ok {
                f.anomalies.insert(Anomaly::BadContentLength);
                f.body.content_length = None;
            }
        } else if is("transfer-encoding") {
            first(&mut f.body.transfer_encoding, value);
            let last = value
                .rsplit(|&b| b == b',')
                .map(trim_ows)
                .find(|c| !c.is_empty());
            // The final coding of the last line decides; parameters (`;q=`) do not apply to
            // chunked.
            f.body.chunked = last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        }
    }
    if f.body.transfer_encoding.is_some() && f.content_length_seen {
        f.anomalies
            .insert(Anomaly::ContentLengthWithTransferEncoding);
    }
    Ok(f)
}

/// Parses a request head: `head` holds the start line through the blank line that ends it
/// (as found by [`find_head_end`]; trailing bytes after the blank line are ignored).
pub fn parse_request_head<'a>(
    head: &'a [u8],
    limits: &HttpLimits,
) -> Result<RequestHead<'a>, Anomaly> {
    if head.len() > limits.max_header_bytes {
        return Err(Anomaly::HeaderTooLong);
    }
    let mut it = lines(head);
    let line = it.next().ok_or(Anomaly::BadRequestLine)?;
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Anomaly::BadRequestLine);
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(Anomaly::BadRequestLine);
    }
    if target.is_empty() || target.iter().any(|&b| b.is_ascii_control() || b == b' ') {
        return Err(Anomaly::BadRequestLine);
    }
    let version = HttpVersion::parse(version).ok_or(Anomaly::BadRequestLine)?;
    let method = core::str::from_utf8(method).map_err(|_| Anomaly::BadRequestLine)?;
    let mut f = parse_fields(it, limits)?;
    if f.host.is_none() && version >= HttpVersion::HTTP_11 {
        f.anomalies.insert(Anomaly::MissingHost);
    }
    Ok(RequestHead {
        method,
        target,
        version,
        host: f.host,
        user_agent: f.user_agent,
        proxy_authorization: f.proxy_authorization,
        body: f.body,
        header_lines: f.lines,
        anomalies: f.anomalies,
    })
}

/// Parses a response head (same contract as [`parse_request_head`]).
pub fn parse_response_head<'a>(
    head: &'a [u8],
    limits: &HttpLimits,
) -> Result<ResponseHead<'a>, Anomaly> {
    if head.len() > limits.max_header_bytes {
        return Err(Anomaly::HeaderTooLong);
    }
    let mut it = lines(head);
    let line = it.next().ok_or(Anomaly::BadStatusLine)?;
    let version = line
        .get(..8)
        .and_then(HttpVersion::parse)
        .ok_or(Anomaly::BadStatusLine)?;
    let (status, reason) = match line.get(8..) {
        Some([b' ', a, b, c, rest @ ..])
            if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() =>
        {
            let status = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            match rest {
                [] => (status, &[][..]),
                [b' ', reason @ ..] => (status, reason),
                _ => return Err(Anomaly::BadStatusLine),
            }
        }
        _ => return Err(Anomaly::BadStatusLine),
    };
    if status < 100 || reason.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return Err(Anomaly::BadStatusLine);
    }
    let f = parse_fields(it, limits)?;
    Ok(ResponseHead {
        version,
        status,
        reason,
        location: f.location,
        server: f.server,
        content_type: f.content_type,
        body: f.body,
        header_lines: f.lines,
        anomalies: f.anomalies,
    })
}

/// Parses a request from the start of `buf`: `Ok(None)` when the head is not complete yet,
/// else the head and the bytes after it. The body is not consumed (see [`request_framing`]).
pub fn parse_request<'a>(
    buf: &'a [u8],
    limits: &HttpLimits,
) -> Result<Option<(&'a [u8], RequestHead<'a>)>, Anomaly> {
    match find_head_end(buf, 0) {
        Some(end) if end <= limits.max_header_bytes => {
            let (head, rest) = buf.split_at(end);
            parse_request_head(head, limits).map(|h| Some((rest, h)))
        }
        Some(_) => Err(Anomaly::HeaderTooLong),
        None if buf.len() >= limits.max_header_bytes => Err(Anomaly::HeaderTooLong),
        None => Ok(None),
    }
}

/// Parses a response from the start of `buf` (same contract as [`parse_request`]).
pub fn parse_response<'a>(
    buf: &'a [u8],
    limits: &HttpLimits,
) -> Result<Option<(&'a [u8], ResponseHead<'a>)>, Anomaly> {
    match find_head_end(buf, 0) {
        Some(end) if end <= limits.max_header_bytes => {
            let (head, rest) = buf.split_at(end);
            parse_response_head(head, limits).map(|h| Some((rest, h)))
        }
        Some(_) => Err(Anomaly::HeaderTooLong),
        None if buf.len() >= limits.max_header_bytes => Err(Anomaly::HeaderTooLong),
        None => Ok(None),
    }
}

/// The body of a request (RFC 9112 section 6.3): chunked when the final transfer coding is
/// chunked, an error for any other transfer coding or an invalid length, else
/// `Content-Length` bytes, else none.
pub fn request_framing(head: &RequestHead<'_>) -> Result<BodyFraming, Anomaly> {
    if head.body.transfer_encoding.is_some() {
        return if head.body.chunked {
            Ok(BodyFraming::Chunked)
        } else {
            Err(Anomaly::BadTransferEncoding)
        };
    }
    if head.anomalies.contains(Anomaly::BadContentLength) {
        return Err(Anomaly::BadContentLength);
    }
    Ok(match head.body.content_length {
        Some(n) => BodyFraming::Length(n),
        None => BodyFraming::None,
    })
}

/// The body of a response to a request with method `request_method` (`None`: unknown), RFC 9112
/// section 6.3: none after HEAD and for 1xx, 204 and 304; the tunnel after a 2xx to CONNECT;
/// then transfer coding, `Content-Length`, or until close.
pub fn response_framing(
    head: &ResponseHead<'_>,
    request_method: Option<&str>,
) -> Result<BodyFraming, Anomaly> {
    let status = head.status;
    if status == 101 {
        return Ok(BodyFraming::Upgrade);
    }
    if request_method == Some("CONNECT") && (200..300).contains(&status) {
        return Ok(BodyFraming::Tunnel);
    }
    if request_method == Some("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(BodyFraming::None);
    }
    if head.body.transfer_encoding.is_some() {
        return Ok(if head.body.chunked {
            BodyFraming::Chunked
        } else {
            BodyFraming::UntilClose
        });
    }
    if head.anomalies.contains(Anomaly::BadContentLength) {
        return Err(Anomaly::BadContentLength);
    }
    Ok(match head.body.content_length {
        Some(n) => BodyFraming::Length(n),
        None => BodyFraming::UntilClose,
    })
}

/// Whether a request-target is in absolute form (`scheme://...`), as sent to a proxy.
pub fn is_absolute_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &target[..colon];
    matches!(scheme.first(), Some(b) if b.is_ascii_alphabetic())
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && target.get(colon + 1..colon + 3) == Some(b"//")
}

/// Where a [`MessageReader`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStatus {
    /// Between messages.
    Idle,
    /// Inside a head (some of it received).
    Head,
    /// A head was returned; waiting for [`MessageReader::set_body`].
    AwaitingBody,
    /// Inside a body (skipping it).
    Body,
    /// A body reaches past [`HttpLimits::stream_depth`]: nothing after it will be seen.
    BodyBeyondDepth,
    /// A body delimited by the end of the connection: nothing after it can be parsed.
    BodyUntilClose,
    /// The bytes after the last head belong to a CONNECT tunnel.
    Tunnel,
    /// The bytes after the last head are another protocol (101 Switching Protocols).
    Upgraded,
    /// The bytes are not HTTP.
    NotHttp,
    /// [`HttpLimits::max_transactions`] reached.
    Limit,
    /// Parsing stopped on this anomaly.
    Error(Anomaly),
}

impl StreamStatus {
    /// Whether the reader will do anything with more bytes.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            StreamStatus::Idle
                | StreamStatus::Head
                | StreamStatus::AwaitingBody
                | StreamStatus::Body
        )
    }
}

/// Where the chunked-body machine stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// In a chunk-size line: the value so far, its digits, whether whitespace or an extension
    /// began (no more digits then), and the line length.
    Size {
        value: u64,
        digits: u8,
        after: bool,
        len: u32,
    },
    /// Skipping chunk data.
    Data(u64),
    /// After chunk data: CR or LF expected.
    DataEnd,
    /// After chunk data and CR: LF expected.
    DataLf,
    /// In the trailer section: current line length, lines, total bytes.
    Trailer { len: u32, lines: u32, total: u32 },
}

const CHUNK_SIZE_START: Chunk = Chunk::Size {
    value: 0,
    digits: 0,
    after: false,
    len: 0,
};

/// Longest chunk-size line (with extensions) accepted.
const MAX_CHUNK_LINE: u32 = 4096;

/// The reader's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Head,
    AwaitBody,
    Length(u64),
    Chunked(Chunk),
    Done(StreamStatus),
}

/// What [`MessageReader::step`] stopped on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// All input used; send more.
    NeedMore,
    /// A complete head is in [`MessageReader::head`]; call [`MessageReader::set_body`] (or
    /// [`MessageReader::stop`]) before the next step.
    Head,
    /// The reader stopped (see [`MessageReader::status`]); input is not used.
    Stopped,
    /// The reader stopped on this anomaly just now.
    Error(Anomaly),
}

/// One direction of an HTTP/1.x connection: finds each head (bounded) and skips each body
/// (by length or chunked coding, keeping only counters). Bytes are fed in stream order with
/// [`step`](MessageReader::step); what a head means (request or response, and so which body
/// follows) is the caller's business.
#[derive(Clone, Debug)]
pub struct MessageReader {
    limits: HttpLimits,
    /// The head being gathered (or the last complete head, until the next step).
    buf: Vec<u8>,
    /// `buf` was scanned for the end of head up to here.
    scanned: usize,
    /// Stream offset of the next byte to consume.
    offset: u64,
    /// Stream offset where the current (or last) head began.
    head_start: u64,
    state: State,
}

/// Capacity above which the head buffer is released between messages.
const KEEP_CAPACITY: usize = 2048;

impl MessageReader {
    /// A reader at stream offset 0.
    pub fn new(limits: HttpLimits) -> Self {
        MessageReader {
            limits,
            buf: Vec::new(),
            scanned: 0,
            offset: 0,
            head_start: 0,
            state: State::Idle,
        }
    }

    /// Stream offset of the next byte the reader will consume.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Stream offset where the last head began.
    pub fn head_start(&self) -> u64 {
        self.head_start
    }

    /// The complete head after [`Step::Head`] (empty otherwise).
    pub fn head(&self) -> &[u8] {
        if self.state == State::AwaitBody {
            &self.buf
        } else {
            &[]
        }
    }

    /// Where the reader stands.
    pub fn status(&self) -> StreamStatus {
        match self.state {
            State::Idle => StreamStatus::Idle,
            State::Head => StreamStatus::Head,
            State::AwaitBody => StreamStatus::AwaitingBody,
            State::Length(_) | State::Chunked(_) => StreamStatus::Body,
            State::Done(s) => s,
        }
    }

    /// Whether more bytes can be used: active, and below [`HttpLimits::stream_depth`].
    pub fn wants_more(&self) -> bool {
        self.status().is_active()
            && (self.limits.stream_depth == 0 || self.offset < self.limits.stream_depth)
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Stops the reader for good with `status` (frees the buffer).
    pub fn stop(&mut self, status: StreamStatus) {
        self.state = State::Done(status);
        self.buf = Vec::new();
        self.scanned = 0;
    }

    /// Sets how the body after the head just returned is delimited (ignored unless the
    /// reader is [`StreamStatus::AwaitingBody`]).
    pub fn set_body(&mut self, framing: BodyFraming) {
        if self.state != State::AwaitBody {
            return;
        }
        self.release_head();
        self.state = match framing {
            BodyFraming::None | BodyFraming::Length(0) => State::Idle,
            BodyFraming::Length(n) => {
                if self.beyond_depth(self.offset, n) {
                    State::Done(StreamStatus::BodyBeyondDepth)
                } else {
                    State::Length(n)
                }
            }
            BodyFraming::Chunked => State::Chunked(CHUNK_SIZE_START),
            BodyFraming::UntilClose => State::Done(StreamStatus::BodyUntilClose),
            BodyFraming::Tunnel => State::Done(StreamStatus::Tunnel),
            BodyFraming::Upgrade => State::Done(StreamStatus::Upgraded),
        };
    }

    /// `n` bytes at the current offset were never delivered (a capture hole). Inside a body of
    /// known length they are skipped; elsewhere the reader stops with [`Anomaly::StreamGap`]
    /// (returned).
    pub fn gap(&mut self, n: u64) -> Option<Anomaly> {
        if n == 0 {
            return None;
        }
        match self.state {
            State::Length(rem) if n <= rem => {
                self.offset = self.offset.saturating_add(n);
                self.state = if rem == n {
                    State::Idle
                } else {
                    State::Length(rem - n)
                };
                None
            }
            State::Chunked(Chunk::Data(rem)) if n <= rem => {
                self.offset = self.offset.saturating_add(n);
                self.state = State::Chunked(if rem == n {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(rem - n)
                });
                None
            }
            State::Done(_) => {
                self.offset = self.offset.saturating_add(n);
                None
            }
            _ => {
                self.offset = self.offset.saturating_add(n);
                self.stop(StreamStatus::Error(Anomaly::StreamGap));
                Some(Anomaly::StreamGap)
            }
        }
    }

    fn beyond_depth(&self, at: u64, len: u64) -> bool {
        self.limits.stream_depth != 0 && at.saturating_add(len) > self.limits.stream_depth
    }

    /// Drops the last head from the buffer (keeping a small allocation for the next one).
    fn release_head(&mut self) {
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        self.scanned = 0;
    }

    /// Feeds `data` (the bytes at [`offset`](Self::offset)); returns how many were used and
    /// why it stopped. After [`Step::Head`] feed the rest (`&data[used..]`) again once the body
    /// is set. Every `Head` uses at least one byte of `data`.
    pub fn step(&mut self, data: &[u8]) -> (usize, Step) {
        let mut pos = 0usize;
        let step = loop {
            let rest = data.get(pos..).unwrap_or(&[]);
            match self.state {
                State::Done(_) => break Step::Stopped,
                State::AwaitBody => {
                    // The caller did not say: no body.
                    self.set_body(BodyFraming::None);
                }
                State::Idle => {
                    // Empty lines between messages are ignored (RFC 9112 section 2.2).
                    let skip = rest
                        .iter()
                        .position(|&b| b != b'\r' && b != b'\n')
                        .unwrap_or(rest.len());
                    pos += skip;
                    if skip == rest.len() {
                        break Step::NeedMore;
                    }
                    self.state = State::Head;
                    self.head_start = self.offset.saturating_add(pos as u64);
                    self.buf.clear();
                    self.scanned = 0;
                }
                State::Head => {
                    let (used, step) = self.gather_head(rest);
                    pos += used;
                    break step;
                }
                State::Length(rem) => {
                    let take = usize::try_from(rem).unwrap_or(usize::MAX).min(rest.len());
                    pos += take;
                    let rem = rem - take as u64;
                    if rem > 0 {
                        self.state = State::Length(rem);
                        break Step::NeedMore;
                    }
                    self.state = State::Idle;
                }
                State::Chunked(c) => {
                    let at = self.offset.saturating_add(pos as u64);
                    let (used, next) = self.chunked(c, rest, at);
                    pos += used;
                    match next {
                        Ok(Some(c)) => {
                            self.state = State::Chunked(c);
                            if pos >= data.len() {
                                break Step::NeedMore;
                            }
                        }
                        Ok(None) => {
                            if self.state == State::Chunked(c) {
                                self.state = State::Idle;
                            }
                        }
                        Err(a) => {
                            self.stop(StreamStatus::Error(a));
                            break Step::Error(a);
                        }
                    }
                }
            }
        };
        self.offset = self.offset.saturating_add(pos as u64);
        (pos, step)
    }

    /// Adds `rest` to the head being gathered; at its end, [`Step::Head`].
    fn gather_head(&mut self, rest: &[u8]) -> (usize, Step) {
        let max = self.limits.max_header_bytes;
        let old = self.buf.len();
        let take = rest.len().min(max.saturating_sub(old).max(1));
        self.buf.extend_from_slice(rest.get(..take).unwrap_or(rest));
        match find_head_end(&self.buf, self.scanned.saturating_sub(3)) {
            Some(end) if end <= max => {
                self.buf.truncate(end);
                self.state = State::AwaitBody;
                (end.saturating_sub(old).max(1), Step::Head)
            }
            found => {
                if found.is_some() || self.buf.len() >= max {
                    self.stop(StreamStatus::Error(Anomaly::HeaderTooLong));
                    return (take, Step::Error(Anomaly::HeaderTooLong));
                }
                self.scanned = self.buf.len();
                (take, Step::NeedMore)
            }
        }
    }

    /// Runs the chunked-body machine over `rest` (at stream offset `at`). Returns the bytes
    /// used and the next chunk state (`None`: the body ended).
    fn chunked(
        &mut self,
        mut c: Chunk,
        rest: &[u8],
        at: u64,
    ) -> (usize, Result<Option<Chunk>, Anomaly>) {
        let mut i = 0usize;
        while let Some(&b) = rest.get(i) {
            match c {
                Chunk::Data(rem) => {
                    let avail = rest.len() - i;
                    let take = usize::try_from(rem).unwrap_or(usize::MAX).min(avail);
                    i += take;
                    let rem = rem - take as u64;
                    c = if rem == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(rem)
                    };
                    continue;
                }
                Chunk::Size {
                    value,
                    digits,
                    after,
                    len,
                } => {
                    i += 1;
                    let len = len + 1;
                    if len > MAX_CHUNK_LINE {
                        return (i, Err(Anomaly::BadChunk));
                    }
                    match b {
                        b'\n' => {
                            if digits == 0 {
                                return (i, Err(Anomaly::BadChunk));
                            }
                            if value == 0 {
                                c = Chunk::Trailer {
                                    len: 0,
                                    lines: 0,
                                    total: 0,
                                };
                            } else if self.beyond_depth(at.saturating_add(i as u64), value) {
                                self.stop(StreamStatus::BodyBeyondDepth);
                                return (i, Ok(None));
                            } else {
                                c = Chunk::Data(value);
                            }
                        }
                        b'\r' => {
                            c = Chunk::Size {
                                value,
                                digits,
                                after: true,
                                len,
                            }
                        }
                        _ if !after && b.is_ascii_hexdigit() => {
                            if digits >= 16 {
                                return (i, Err(Anomaly::BadChunk));
                            }
                            let d = (b as char).to_digit(16).unwrap_or(0);
                            c = Chunk::Size {
                                value: (value << 4) | u64::from(d),
                                digits: digits + 1,
                                after,
                                len,
                            };
                        }
                        b' ' | b'\t' | b';' if digits > 0 => {
                            c = Chunk::Size {
                                value,
                                digits,
                                after: true,
                                len,
                            }
                        }
                        // Extension bytes after `;`.
                        _ if after && digits > 0 => {
                            c = Chunk::Size {
                                value,
                                digits,
                                after,
                                len,
                            }
                        }
                        _ => return (i, Err(Anomaly::BadChunk)),
                    }
                }
                Chunk::DataEnd => {
                    i += 1;
                    c = match b {
                        b'\r' => Chunk::DataLf,
                        b'\n' => CHUNK_SIZE_START,
                        _ => return (i, Err(Anomaly::BadChunk)),
                    };
                }
                Chunk::DataLf => {
                    i += 1;
                    if b != b'\n' {
                        return (i, Err(Anomaly::BadChunk));
                    }
                    c = CHUNK_SIZE_START;
                }
                Chunk::Trailer { len, lines, total } => {
                    i += 1;
                    match b {
                        b'\n' if len == 0 => return (i, Ok(None)),
                        b'\n' => {
                            if lines as usize >= self.limits.max_header_lines {
                                return (i, Err(Anomaly::TooManyHeaders));
                            }
                            c = Chunk::Trailer {
                                len: 0,
                                lines: lines + 1,
                                total,
                            };
                        }
                        b'\r' => {}
                        _ => {
                            if total as usize >= self.limits.max_header_bytes {
                                return (i, Err(Anomaly::HeaderTooLong));
                            }
                            c = Chunk::Trailer {
                                len: len + 1,
                                lines,
                                total: total + 1,
                            };
                        }
                    }
                }
            }
        }
        (i, Ok(Some(c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> HttpLimits {
        HttpLimits::default()
    }

    #[test]
    fn probe_detects_methods_and_status_lines() {
        assert!(probe(b"GET / HTTP/1.1\r\n"));
        assert!(probe(b"CONNECT proxy.example:443 HTTP/1.1\r\n"));
        assert!(probe(b"PROPPATCH /x HTTP/1.1\r\n"));
        assert!(probe(b"HTTP/1.0 200 OK\r\n"));
        assert!(!probe(b"GETX / HTTP/1.1"));
        assert!(!probe(b"\x16\x03\x01\x02\x00\x01"));
        assert!(!probe(b"SSH-2.0-OpenSSH_9.6\r\n"));
        assert!(!probe(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        assert!(!probe(b"HTTP/2 200"));
        assert!(!probe(b""));
    }

    #[test]
    fn probe_prefix_tells_not_yet_from_no() {
        assert_eq!(probe_prefix(b""), Probe::NeedMore);
        assert_eq!(probe_prefix(b"G"), Probe::NeedMore);
        assert_eq!(probe_prefix(b"GET"), Probe::NeedMore);
        assert_eq!(probe_prefix(b"GET "), Probe::Request);
        assert_eq!(probe_prefix(b"PROP"), Probe::NeedMore);
        assert_eq!(probe_prefix(b"HTTP/"), Probe::NeedMore);
        assert_eq!(probe_prefix(b"HTTP/1.1 "), Probe::Response);
        assert_eq!(probe_prefix(b"GX"), Probe::NotHttp);
        assert_eq!(probe_prefix(b"\x16\x03"), Probe::NotHttp);
        assert_eq!(probe_prefix(b"get / HTTP/1.1"), Probe::NotHttp);
    }

    #[test]
    fn request_head_fields() {
        let raw = b"GET /github.com/!burnt!sushi/toml/@v/list HTTP/1.1\r\n\
            Host: proxy.golang.org\r\n\
            User-Agent: Go-http-client/1.1\r\n\
            Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\n\
            Connection: keep-alive\r\n\
            Accept-Encoding: gzip\r\n\r\nNEXT";
        let (rest, h) = parse_request(raw, &limits()).unwrap().unwrap();
        assert_eq!(rest, b"NEXT");
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, b"/github.com/!burnt!sushi/toml/@v/list");
        assert_eq!(h.version, HttpVersion::HTTP_11);
        assert_eq!(h.host, Some(&b"proxy.golang.org"[..]));
        assert_eq!(h.user_agent, Some(&b"Go-http-client/1.1"[..]));
        assert!(h.proxy_authorization);
        assert_eq!(h.body.connection, Some(&b"keep-alive"[..]));
        assert_eq!(h.header_lines, 5);
        assert!(h.anomalies.is_empty());
        assert_eq!(request_framing(&h), Ok(BodyFraming::None));
        // The credentials are nowhere in the parsed view.
        assert!(!format!("{h:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn response_head_fields() {
        let raw = b"HTTP/1.1 302 Found\r\nLocation: https://example.org/x\r\n\
            Server: nginx/1.25.3\r\nContent-Type: text/html\r\ncontent-length: 5\r\n\r\nhello";
        let (rest, h) = parse_response(raw, &limits()).unwrap().unwrap();
        assert_eq!(rest, b"hello");
        assert_eq!((h.version, h.status), (HttpVersion::HTTP_11, 302));
        assert_eq!(h.reason, b"Found");
        assert_eq!(h.location, Some(&b"https://example.org/x"[..]));
        assert_eq!(h.server, Some(&b"nginx/1.25.3"[..]));
        assert_eq!(h.content_type, Some(&b"text/html"[..]));
        assert_eq!(
            response_framing(&h, Some("GET")),
            Ok(BodyFraming::Length(5))
        );
        assert_eq!(response_framing(&h, Some("HEAD")), Ok(BodyFraming::None));
        // Reason phrases may be empty or absent; bare LF line ends are accepted.
        let (_, h) = parse_response(b"HTTP/1.0 204 \n\n", &limits())
            .unwrap()
            .unwrap();
        assert_eq!((h.status, h.reason), (204, &b""[..]));
        let (_, h) = parse_response(b"HTTP/1.1 404\r\n\r\n", &limits())
            .unwrap()
            .unwrap();
        assert_eq!(h.status, 404);
        assert_eq!(response_framing(&h, None), Ok(BodyFraming::UntilClose));
    }

    #[test]
    fn bad_start_lines_are_anomalies() {
        for raw in [
            &b"GET /\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(
                parse_request(raw, &limits()),
                Err(Anomaly::BadRequestLine),
                "{raw:?}"
            );
        }
        for raw in [
            &b"HTTP/1.1 20 OK\r\n\r\n"[..],
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/1.x 200 OK\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(
                parse_response(raw, &limits()),
                Err(Anomaly::BadStatusLine),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn header_line_anomalies_are_kept_not_fatal() {
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nHost: b\r\nNoColon\r\nBad Name: 1\r\n \
            folded\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        let (_, h) = parse_request(raw, &limits()).unwrap().unwrap();
        assert_eq!(h.host, Some(&b"a"[..]));
        let got: Vec<_> = h.anomalies.iter().map(Anomaly::name).collect();
        assert_eq!(
            got,
            [
                "http_bad_header_line",
                "http_obs_fold",
                "http_content_length_with_transfer_encoding",
                "http_duplicate_host"
            ]
        );
        assert_eq!(request_framing(&h), Ok(BodyFraming::Chunked));
        let (_, h) = parse_request(b"GET / HTTP/1.1\r\n\r\n", &limits())
            .unwrap()
            .unwrap();
        assert!(h.anomalies.contains(Anomaly::MissingHost));
    }

    #[test]
    fn content_length_rules() {
        let req = |cl: &str| {
            let raw = format!("PUT /x HTTP/1.1\r\nHost: h\r\n{cl}\r\n\r\n");
            let (_, h) = parse_request(raw.as_bytes(), &limits()).unwrap().unwrap();
            request_framing(&h)
        };
        assert_eq!(req("Content-Length: 42"), Ok(BodyFraming::Length(42)));
        assert_eq!(req("Content-Length: 42, 42"), Ok(BodyFraming::Length(42)));
        assert_eq!(
            req("Content-Length: 42\r\nContent-Length: 42"),
            Ok(BodyFraming::Length(42))
        );
        for bad in [
            "Content-Length: 42, 43",
            "Content-Length: 1\r\nContent-Length: 2",
            "Content-Length: -1",
            "Content-Length: 0x10",
            "Content-Length: 99999999999999999999",
            "Content-Length:",
        ] {
            assert_eq!(req(bad), Err(Anomaly::BadContentLength), "{bad}");
        }
        assert_eq!(
            req("Transfer-Encoding: gzip"),
            Err(Anomaly::BadTransferEncoding)
        );
        assert_eq!(
            req("Transfer-Encoding: chunked, gzip"),
            Err(Anomaly::BadTransferEncoding)
        );
        assert_eq!(req("Transfer-Encoding: Chunked"), Ok(BodyFraming::Chunked));
    }

    #[test]
    fn response_framing_rules() {
        let resp = |raw: &[u8], m: Option<&str>| {
            let (_, h) = parse_response(raw, &limits()).unwrap().unwrap();
            response_framing(&h, m)
        };
        let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(resp(cl, Some("GET")), Ok(BodyFraming::Length(10)));
        assert_eq!(resp(cl, Some("CONNECT")), Ok(BodyFraming::Tunnel));
        let c = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(resp(c, Some("GET")), Ok(BodyFraming::None));
        let c = b"HTTP/1.1 100 Continue\r\n\r\n";
        assert_eq!(resp(c, Some("POST")), Ok(BodyFraming::None));
        let c = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(resp(c, Some("GET")), Ok(BodyFraming::Upgrade));
        let c = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(resp(c, Some("CONNECT")), Ok(BodyFraming::Length(0)));
        let c = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(resp(c, Some("GET")), Ok(BodyFraming::UntilClose));
    }

    #[test]
    fn absolute_form() {
        assert!(is_absolute_form(b"http://proxy.example/golang.org/x"));
        assert!(is_absolute_form(b"HTTPS://a"));
        assert!(!is_absolute_form(b"/a://b"));
        assert!(!is_absolute_form(b"proxy.example:443"));
        assert!(!is_absolute_form(b"*"));
    }

    /// Feeds `data` in pieces of `piece` bytes; returns the heads (as strings) and final status.
    fn run(reader: &mut MessageReader, data: &[u8], piece: usize) -> Vec<String> {
        let mut heads = Vec::new();
        for chunk in data.chunks(piece.max(1)) {
            let mut rest = chunk;
            loop {
                let (n, step) = reader.step(rest);
                rest = &rest[n..];
                match step {
                    Step::Head => {
                        let head = parse_response_head(reader.head(), &limits()).unwrap();
                        heads.push(format!("{} {}", head.status, reader.head_start()));
                        let f = response_framing(&head, Some("GET")).unwrap();
                        reader.set_body(f);
                    }
                    Step::NeedMore | Step::Stopped | Step::Error(_) => break,
                }
            }
        }
        heads
    }

    const TWO_RESPONSES: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody\
        HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn reader_skips_bodies_in_any_split() {
        for piece in [1, 2, 3, 7, 64, 4096] {
            let mut r = MessageReader::new(limits());
            let heads = run(&mut r, TWO_RESPONSES, piece);
            assert_eq!(heads, ["200 0", "200 93", "404 135"], "piece {piece}");
            assert_eq!(r.status(), StreamStatus::Idle);
            assert_eq!(r.offset(), TWO_RESPONSES.len() as u64);
        }
    }

    #[test]
    fn reader_bad_chunk_stops() {
        for body in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"5\r\nhelloXX",
            b"11111111111111111\r\n",
        ] {
            let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            raw.extend_from_slice(body);
            let mut r = MessageReader::new(limits());
            run(&mut r, &raw, 4096);
            assert_eq!(
                r.status(),
                StreamStatus::Error(Anomaly::BadChunk),
                "{body:?}"
            );
            assert!(!r.wants_more());
        }
    }

    #[test]
    fn reader_body_beyond_depth() {
        let lim = HttpLimits {
            stream_depth: 100,
            ..limits()
        };
        let mut r = MessageReader::new(lim);
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nxxxx";
        let (n, step) = r.step(raw);
        assert_eq!(step, Step::Head);
        let h = parse_response_head(r.head(), &lim).unwrap();
        r.set_body(response_framing(&h, Some("GET")).unwrap());
        assert_eq!(r.status(), StreamStatus::BodyBeyondDepth);
        assert_eq!(r.step(&raw[n..]), (0, Step::Stopped));
        assert!(!r.wants_more());
        // Chunked: the chunk that crosses the depth stops it too.
        let mut r = MessageReader::new(lim);
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\nxx";
        run(&mut r, raw, 3);
        assert_eq!(r.status(), StreamStatus::BodyBeyondDepth);
    }

    #[test]
    fn reader_header_too_long() {
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        while raw.len() < 20_000 {
            raw.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        for piece in [1, 1000, 100_000] {
            let mut r = MessageReader::new(limits());
            let mut last = Step::NeedMore;
            for c in raw.chunks(piece) {
                last = r.step(c).1;
                if last != Step::NeedMore {
                    break;
                }
            }
            assert_eq!(last, Step::Error(Anomaly::HeaderTooLong));
            assert_eq!(r.status(), StreamStatus::Error(Anomaly::HeaderTooLong));
            assert_eq!(r.heap_bytes(), 0);
        }
        assert_eq!(parse_request(&raw, &limits()), Err(Anomaly::HeaderTooLong));
        // 101 short header lines fit in 16 KiB but are too many.
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..101 {
            raw.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        assert_eq!(parse_request(&raw, &limits()), Err(Anomaly::TooManyHeaders));
    }

    #[test]
    fn reader_gap_inside_body_is_skipped() {
        let mut r = MessageReader::new(limits());
        let (_, s) = r.step(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
        assert_eq!(s, Step::Head);
        r.set_body(BodyFraming::Length(10));
        assert_eq!(r.step(b"ab"), (2, Step::NeedMore));
        assert_eq!(r.gap(5), None);
        assert_eq!(r.step(b"xyzHTTP/1.1 204 No Content\r\n\r\n").1, Step::Head);
        r.set_body(BodyFraming::None);
        assert_eq!(r.gap(3), Some(Anomaly::StreamGap));
        assert!(!r.wants_more());
    }
}
