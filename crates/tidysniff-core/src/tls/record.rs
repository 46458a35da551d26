//! TLS record layer of one stream direction: header check, defragmentation, handshake messages.
//!
//! [`RecordDefragmenter`] takes the in-order bytes of one TCP direction in chunks of any size
//! (as the engine hands them out) and reports what the records carry as [`RecordEvent`]s:
//!
//! - handshake messages, reassembled across records and chunks (one message may span several
//!   records; one record may hold several messages), borrowed from the chunk when a message lies
//!   inside it, else from a buffer;
//! - alerts, ChangeCipherSpec, and the lengths of application data, heartbeat and encrypted
//!   records (their bodies are skipped, never buffered);
//! - anomalies with stable names ([`Anomaly::name`]).
//!
//! Limits: a record body is never buffered (handshake bytes go straight to the message
//! reassembler), and a handshake message is buffered only while incomplete, up to `max_buffer`
//! bytes (64 KiB by default); a longer message is reported ([`Anomaly::BufferOverflow`]) and
//! skipped. Memory per direction is therefore bounded by `max_buffer` plus a 5-byte header.
//!
//! No method panics on any input: every read is length-checked (the fuzz test in this file feeds
//! mutated records in random chunkings).
//!
//! After a ChangeCipherSpec, handshake and alert records of TLS <= 1.2 are encrypted and reported
//! only by length. TLS 1.3 sends a ChangeCipherSpec only for middlebox compatibility (RFC 8446
//! D.4) and may follow it with plaintext handshake records (a ServerHello after a
//! HelloRetryRequest, a second ClientHello): the defragmenter switches to TLS 1.3 rules by itself
//! when it sees a ServerHello that selects TLS 1.3, and [`RecordDefragmenter::set_tls13`] tells the
//! client side.

use super::hello;

/// Length of a record header: content type, version, length.
pub const RECORD_HEADER_LEN: usize = 5;

/// The largest record length accepted: 2^14 plaintext + 2048 (the TLS 1.2 ciphertext bound,
/// RFC 5246 6.2.3).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Default cap on buffered bytes per direction (one incomplete handshake message).
pub const DEFAULT_MAX_BUFFER: usize = 64 * 1024;

/// Smallest accepted buffer cap.
pub const MIN_MAX_BUFFER: usize = 1024;

/// Record content types (RFC 8446 B.1, RFC 6520).
pub mod content_type {
    /// change_cipher_spec
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert
    pub const ALERT: u8 = 21;
    /// handshake
    pub const HANDSHAKE: u8 = 22;
    /// application_data (also every encrypted record of TLS 1.3)
    pub const APPLICATION_DATA: u8 = 23;
    /// heartbeat
    pub const HEARTBEAT: u8 = 24;
}

/// Handshake message types used in this module (RFC 8446 B.3).
pub mod handshake_type {
    /// client_hello
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello (and HelloRetryRequest, which is a ServerHello with a special random)
    pub const SERVER_HELLO: u8 = 2;
    /// certificate
    pub const CERTIFICATE: u8 = 11;
}

/// True when `first` starts like a TLS stream: a handshake record (0x16) with a version from SSL
/// 3.0 to TLS 1.3 (0x03 0x00..=0x04), as Retina's TLS probe. When at least 5 bytes are given,
/// the record length must also be 1..=[`MAX_RECORD_LEN`]. Fewer than 3 bytes give `false`: call
/// again when more bytes arrived.
pub fn probe(first: &[u8]) -> bool {
    let head = match first {
        [0x16, 0x03, minor, ..] => *minor <= 0x04,
        _ => false,
    };
    match first {
        [_, _, _, hi, lo, ..] if head => {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            (1..=MAX_RECORD_LEN).contains(&len)
        }
        _ => head,
    }
}

/// A checked record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type, 20..=24 (see [`content_type`]).
    pub content_type: u8,
    /// Record-layer version, 0x0300..=0x0304.
    pub version: u16,
    /// Length of the body that follows, at most [`MAX_RECORD_LEN`].
    pub len: u16,
}

/// Why 5 bytes are not a usable record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 5 bytes.
    Truncated,
    /// Content type outside 20..=24 or version outside 0x0300..=0x0304: not a TLS record.
    NotARecord,
    /// A plausible header whose length exceeds [`MAX_RECORD_LEN`].
    TooLarge,
}

impl RecordHeader {
    /// Checks the first 5 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<RecordHeader, HeaderError> {
        let [ct, major, minor, hi, lo, ..] = *bytes else {
            return Err(HeaderError::Truncated);
        };
        let version = u16::from_be_bytes([major, minor]);
        if !(20..=24).contains(&ct) || !(0x0300..=0x0304).contains(&version) {
            return Err(HeaderError::NotARecord);
        }
        let len = u16::from_be_bytes([hi, lo]);
        if usize::from(len) > MAX_RECORD_LEN {
            return Err(HeaderError::TooLarge);
        }
        Ok(RecordHeader {
            content_type: ct,
            version,
            len,
        })
    }
}

/// Something wrong with the byte stream of one direction. [`Anomaly::name`] gives a stable
/// snake_case id for logs and weird events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Anomaly {
    /// The first bytes are not a TLS record header. The direction is no longer parsed.
    NotTls,
    /// A record header after valid records is not a TLS record header (desynchronised stream).
    /// The direction is no longer parsed.
    BadRecordHeader,
    /// A record header announces more than [`MAX_RECORD_LEN`] bytes. The direction is no longer
    /// parsed.
    RecordTooLarge,
    /// A handshake message is longer than the buffer cap; it is skipped.
    BufferOverflow,
    /// A record of another type arrived in the middle of a fragmented handshake message
    /// (RFC 8446 5.1 forbids it); the partial message is dropped.
    HandshakeInterleaved,
    /// A handshake, alert or ChangeCipherSpec record of length 0.
    EmptyRecord,
    /// A plaintext alert record whose length is not a multiple of 2.
    AlertMalformed,
    /// Bytes were missing in the stream (a chunk started past the expected offset). The direction
    /// is no longer parsed.
    StreamGap,
    /// A ClientHello could not be parsed.
    ClientHelloMalformed,
    /// A ServerHello could not be parsed.
    ServerHelloMalformed,
    /// A plaintext Certificate message could not be parsed.
    CertificateMalformed,
    /// The capture began mid-connection and the first bytes are not a record header (the stream
    /// is not at a record boundary). Reported by [`super::TlsState`] instead of `NotTls` after
    /// [`super::TlsState::set_midstream`]. The direction is no longer parsed.
    MidstreamUnaligned,
}

impl Anomaly {
    /// The stable snake_case id.
    pub const fn name(self) -> &'static str {
        match self {
            Anomaly::NotTls => "not_tls",
            Anomaly::BadRecordHeader => "tls_bad_record_header",
            Anomaly::RecordTooLarge => "tls_record_too_large",
            Anomaly::BufferOverflow => "tls_buffer_overflow",
            Anomaly::HandshakeInterleaved => "tls_handshake_interleaved",
            Anomaly::EmptyRecord => "tls_empty_record",
            Anomaly::AlertMalformed => "tls_alert_malformed",
            Anomaly::StreamGap => "tls_stream_gap",
            Anomaly::ClientHelloMalformed => "tls_client_hello_malformed",
            Anomaly::ServerHelloMalformed => "tls_server_hello_malformed",
            Anomaly::CertificateMalformed => "tls_certificate_malformed",
            Anomaly::MidstreamUnaligned => "tls_midstream_unaligned",
        }
    }

    /// True when the anomaly stops the parsing of its direction.
    pub const fn is_fatal(self) -> bool {
        matches!(
            self,
            Anomaly::NotTls
                | Anomaly::BadRecordHeader
                | Anomaly::RecordTooLarge
                | Anomaly::StreamGap
                | Anomaly::MidstreamUnaligned
        )
    }
}

impl core::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the records of one direction carry, in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordEvent<'a> {
    /// A complete plaintext handshake message: its type and body (without the 4-byte header).
    Handshake {
        /// Handshake type (see [`handshake_type`]).
        msg_type: u8,
        /// The message body.
        body: &'a [u8],
    },
    /// A ChangeCipherSpec record.
    ChangeCipherSpec,
    /// A plaintext alert.
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// Alert description (see [`super::names::alert_name`]).
        description: u8,
    },
    /// An alert record sent after ChangeCipherSpec (TLS <= 1.2): its content is encrypted.
    EncryptedAlert {
        /// Record length.
        len: u16,
    },
    /// A handshake record sent after ChangeCipherSpec (TLS <= 1.2; normally Finished).
    EncryptedHandshake {
        /// Record length.
        len: u16,
    },
    /// An application_data record (in TLS 1.3 every encrypted record has this type).
    ApplicationData {
        /// Record length.
        len: u16,
    },
    /// A heartbeat record.
    Heartbeat {
        /// Record length.
        len: u16,
    },
    /// Something wrong; see [`Anomaly::is_fatal`].
    Anomaly(Anomaly),
}

/// An incomplete handshake message still buffered (for example a ClientHello cut by the end of
/// the capture).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialHandshake<'a> {
    /// Handshake type.
    pub msg_type: u8,
    /// Declared body length, when the 4-byte header was complete.
    pub declared_len: Option<usize>,
    /// The body bytes received so far.
    pub body: &'a [u8],
}

/// How the body of the current record is consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// Skipped (length already reported).
    Skip,
    /// Fed to the handshake message reassembler.
    Handshake,
    /// Read two bytes at a time as alerts.
    Alert,
}

/// Per-direction TLS record defragmenter; see the module docs.
#[derive(Clone, Debug)]
pub struct RecordDefragmenter {
    max_buffer: usize,
    /// Stream offset of the next byte expected (set by the first chunk).
    next_offset: u64,
    started: bool,
    /// Bytes of a record header received so far.
    hdr: [u8; RECORD_HEADER_LEN],
    hdr_len: usize,
    /// Body bytes of the current record still to come, and how to treat them.
    body_left: usize,
    body: Body,
    /// First byte of an alert whose second byte is in the next chunk.
    alert_half: Option<u8>,
    /// Incomplete handshake message: header and body so far.
    hs: Vec<u8>,
    /// Bytes of an oversized handshake message still to skip.
    hs_skip: usize,
    /// Records whose header was accepted.
    records: u64,
    /// A ChangeCipherSpec was seen and TLS 1.3 rules do not apply: handshake and alert records
    /// are encrypted.
    encrypted: bool,
    tls13: bool,
    stopped: Option<Anomaly>,
}

impl Default for RecordDefragmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordDefragmenter {
    /// A defragmenter with the default buffer cap ([`DEFAULT_MAX_BUFFER`]).
    pub fn new() -> Self {
        Self::with_max_buffer(DEFAULT_MAX_BUFFER)
    }

    /// A defragmenter that buffers at most `max_buffer` bytes of an incomplete handshake message
    /// (at least [`MIN_MAX_BUFFER`]).
    pub fn with_max_buffer(max_buffer: usize) -> Self {
        RecordDefragmenter {
            max_buffer: max_buffer.max(MIN_MAX_BUFFER),
            next_offset: 0,
            started: false,
            hdr: [0; RECORD_HEADER_LEN],
            hdr_len: 0,
            body_left: 0,
            body: Body::Skip,
            alert_half: None,
            hs: Vec::new(),
            hs_skip: 0,
            records: 0,
            encrypted: false,
            tls13: false,
            stopped: None,
        }
    }

    /// Switches to TLS 1.3 rules: a ChangeCipherSpec no longer makes the following handshake and
    /// alert records encrypted. Call it for the client side once the server selected TLS 1.3.
    pub fn set_tls13(&mut self) {
        self.tls13 = true;
        self.encrypted = false;
    }

    /// True once TLS 1.3 rules apply.
    pub fn is_tls13(&self) -> bool {
        self.tls13
    }

    /// Records whose header was accepted so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Stream offset of the next byte expected.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// The fatal anomaly that stopped parsing, if any.
    pub fn stopped(&self) -> Option<Anomaly> {
        self.stopped
    }

    /// Bytes currently buffered.
    pub fn buffered(&self) -> usize {
        self.hs.len() + self.hdr_len
    }

    /// The incomplete handshake message at the end of the bytes seen, if any.
    pub fn pending_handshake(&self) -> Option<PartialHandshake<'_>> {
        let (&msg_type, rest) = self.hs.split_first()?;
        let declared_len = match rest {
            [a, b, c, ..] => Some(u24(*a, *b, *c)),
            _ => None,
        };
        Some(PartialHandshake {
            msg_type,
            declared_len,
            body: self.hs.get(4..).unwrap_or(&[]),
        })
    }

    /// Feeds the bytes of this direction at stream `offset` and calls `sink` for each event, in
    /// stream order. The first non-empty chunk's offset is where the TLS bytes start (not
    /// necessarily 0: a tunnel's bytes start after its CONNECT request). Later bytes before the
    /// expected offset (overlap) are ignored; a chunk that starts past it is a gap
    /// ([`Anomaly::StreamGap`]), after which nothing more is parsed.
    pub fn feed<F>(&mut self, offset: u64, data: &[u8], sink: &mut F)
    where
        F: FnMut(RecordEvent<'_>),
    {
        if self.stopped.is_some() || data.is_empty() {
            return;
        }
        if !self.started {
            self.started = true;
            self.next_offset = offset;
        }
        let data = if offset > self.next_offset {
            self.stop(Anomaly::StreamGap, sink);
            return;
        } else {
            let skip = usize::try_from(self.next_offset - offset).unwrap_or(usize::MAX);
            match data.get(skip..) {
                Some(rest) if !rest.is_empty() => rest,
                _ => return,
            }
        };
        self.next_offset = self.next_offset.saturating_add(data.len() as u64);
        let mut data = data;
        while !data.is_empty() && self.stopped.is_none() {
            if self.body_left > 0 {
                let n = self.body_left.min(data.len());
                let (now, rest) = data.split_at(n);
                self.body_left -= n;
                match self.body {
                    Body::Skip => {}
                    Body::Handshake => self.handshake_bytes(now, sink),
                    Body::Alert => self.alert_bytes(now, sink),
                }
                if self.body_left == 0 && self.body == Body::Alert && self.alert_half.is_some() {
                    self.alert_half = None;
                    sink(RecordEvent::Anomaly(Anomaly::AlertMalformed));
                }
                data = rest;
                continue;
            }
            // A record header, possibly split across chunks.
            let header = if self.hdr_len == 0 && data.len() >= RECORD_HEADER_LEN {
                let (h, rest) = data.split_at(RECORD_HEADER_LEN);
                data = rest;
                RecordHeader::parse(h)
            } else {
                let n = (RECORD_HEADER_LEN - self.hdr_len).min(data.len());
                let (h, rest) = data.split_at(n);
                if let Some(dst) = self.hdr.get_mut(self.hdr_len..self.hdr_len + n) {
                    dst.copy_from_slice(h);
                }
                self.hdr_len += n;
                data = rest;
                if self.hdr_len < RECORD_HEADER_LEN {
                    break;
                }
                self.hdr_len = 0;
                RecordHeader::parse(&self.hdr)
            };
            match header {
                Ok(h) => self.start_record(h, sink),
                Err(HeaderError::TooLarge) => self.stop(Anomaly::RecordTooLarge, sink),
                Err(_) if self.records == 0 => self.stop(Anomaly::NotTls, sink),
                Err(_) => self.stop(Anomaly::BadRecordHeader, sink),
            }
        }
    }

    fn stop<F: FnMut(RecordEvent<'_>)>(&mut self, why: Anomaly, sink: &mut F) {
        self.stopped = Some(why);
        self.body_left = 0;
        self.hdr_len = 0;
        self.hs_skip = 0;
        // Keep `hs`: an incomplete message (a truncated ClientHello) is still evidence.
        sink(RecordEvent::Anomaly(why));
    }

    fn start_record<F: FnMut(RecordEvent<'_>)>(&mut self, h: RecordHeader, sink: &mut F) {
        use content_type::*;
        self.records += 1;
        let len = h.len;
        let is_plain_handshake = h.content_type == HANDSHAKE && !self.encrypted;
        if !is_plain_handshake && (!self.hs.is_empty() || self.hs_skip > 0) {
            self.hs.clear();
            self.hs_skip = 0;
            sink(RecordEvent::Anomaly(Anomaly::HandshakeInterleaved));
        }
        if len == 0 && h.content_type != APPLICATION_DATA && h.content_type != HEARTBEAT {
            sink(RecordEvent::Anomaly(Anomaly::EmptyRecord));
            return;
        }
        self.body_left = usize::from(len);
        self.body = Body::Skip;
        match h.content_type {
            CHANGE_CIPHER_SPEC => {
                if !self.tls13 {
                    self.encrypted = true;
                }
                sink(RecordEvent::ChangeCipherSpec);
            }
            ALERT if self.encrypted => sink(RecordEvent::EncryptedAlert { len }),
            ALERT => {
                self.body = Body::Alert;
                self.alert_half = None;
            }
            HANDSHAKE if self.encrypted => sink(RecordEvent::EncryptedHandshake { len }),
            HANDSHAKE => self.body = Body::Handshake,
            APPLICATION_DATA => sink(RecordEvent::ApplicationData { len }),
            _ => sink(RecordEvent::Heartbeat { len }),
        }
    }

    fn alert_bytes<F: FnMut(RecordEvent<'_>)>(&mut self, mut data: &[u8], sink: &mut F) {
        if let Some(level) = self.alert_half {
            let Some((&description, rest)) = data.split_first() else {
                return;
            };
            self.alert_half = None;
            sink(RecordEvent::Alert { level, description });
            data = rest;
        }
        let mut pairs = data.chunks_exact(2);
        for p in &mut pairs {
            if let [level, description] = *p {
                sink(RecordEvent::Alert { level, description });
            }
        }
        if let [b] = *pairs.remainder() {
            self.alert_half = Some(b);
        }
    }

    /// Handshake record body bytes: split into messages, buffering an incomplete one.
    fn handshake_bytes<F: FnMut(RecordEvent<'_>)>(&mut self, mut data: &[u8], sink: &mut F) {
        while !data.is_empty() {
            if self.hs_skip > 0 {
                let n = self.hs_skip.min(data.len());
                self.hs_skip -= n;
                data = data.get(n..).unwrap_or(&[]);
                continue;
            }
            if self.hs.is_empty() {
                // Whole messages straight from the chunk, without a copy.
                if let [t, a, b, c, ..] = *data {
                    let total = 4 + u24(a, b, c);
                    if let (Some(body), Some(rest)) = (data.get(4..total), data.get(total..)) {
                        self.emit_handshake(t, body, sink);
                        data = rest;
                        continue;
                    }
                    if total > self.max_buffer {
                        self.hs_skip = total.saturating_sub(data.len());
                        sink(RecordEvent::Anomaly(Anomaly::BufferOverflow));
                        return;
                    }
                    self.hs.reserve_exact(total);
                }
                self.hs.extend_from_slice(data);
                return;
            }
            // Complete the buffered header first.
            if self.hs.len() < 4 {
                let n = (4 - self.hs.len()).min(data.len());
                let (h, rest) = data.split_at(n);
                self.hs.extend_from_slice(h);
                data = rest;
                if self.hs.len() < 4 {
                    return;
                }
            }
            let total = match self.hs[..] {
                [_, a, b, c, ..] => 4 + u24(a, b, c),
                _ => return,
            };
            if total > self.max_buffer {
                self.hs_skip = total.saturating_sub(self.hs.len());
                self.hs = Vec::new();
                sink(RecordEvent::Anomaly(Anomaly::BufferOverflow));
                continue;
            }
            let n = total.saturating_sub(self.hs.len()).min(data.len());
            let (now, rest) = data.split_at(n);
            self.hs.extend_from_slice(now);
            data = rest;
            if self.hs.len() >= total {
                let buf = core::mem::take(&mut self.hs);
                if let Some((&t, _)) = buf.split_first() {
                    self.emit_handshake(t, buf.get(4..).unwrap_or(&[]), sink);
                }
                // Keep small allocations for the next message; drop big ones.
                if buf.capacity() <= 4096 {
                    self.hs = buf;
                    self.hs.clear();
                }
            }
        }
    }

    fn emit_handshake<F: FnMut(RecordEvent<'_>)>(
        &mut self,
        msg_type: u8,
        body: &[u8],
        sink: &mut F,
    ) {
        if msg_type == handshake_type::SERVER_HELLO && hello::server_hello_selects_tls13(body) {
            self.set_tls13();
        }
        sink(RecordEvent::Handshake { msg_type, body });
    }
}

fn u24(a: u8, b: u8, c: u8) -> usize {
    (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned copy of an event, for comparisons.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Hs(u8, Vec<u8>),
        Ccs,
        Alert(u8, u8),
        EncAlert(u16),
        EncHs(u16),
        App(u16),
        Hb(u16),
        An(Anomaly),
    }

    fn own(e: RecordEvent<'_>) -> Ev {
        match e {
            RecordEvent::Handshake { msg_type, body } => Ev::Hs(msg_type, body.to_vec()),
            RecordEvent::ChangeCipherSpec => Ev::Ccs,
            RecordEvent::Alert { level, description } => Ev::Alert(level, description),
            RecordEvent::EncryptedAlert { len } => Ev::EncAlert(len),
            RecordEvent::EncryptedHandshake { len } => Ev::EncHs(len),
            RecordEvent::ApplicationData { len } => Ev::App(len),
            RecordEvent::Heartbeat { len } => Ev::Hb(len),
            RecordEvent::Anomaly(a) => Ev::An(a),
        }
    }

    /// Feeds `stream` cut at the given positions.
    fn run_split(stream: &[u8], cuts: &[usize]) -> Vec<Ev> {
        let mut d = RecordDefragmenter::new();
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
            let c = c.min(stream.len()).max(at);
            d.feed(at as u64, &stream[at..c], &mut |e| out.push(own(e)));
            at = c;
        }
        out
    }

    fn record(ct: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ct, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn hs_msg(t: u8, body: &[u8]) -> Vec<u8> {
        let l = body.len() as u32;
        let mut m = vec![t, (l >> 16) as u8, (l >> 8) as u8, l as u8];
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn probe_accepts_handshake_records_only() {
        // 16 03 01 01 59 | 01 ...: a ClientHello record.
        assert!(probe(&[0x16, 0x03, 0x01, 0x01, 0x59, 0x01]));
        assert!(probe(&[0x16, 0x03, 0x04]));
        assert!(!probe(&[0x16, 0x03]));
        assert!(!probe(&[0x16, 0x03, 0x05]));
        assert!(!probe(&[0x17, 0x03, 0x03, 0x00, 0x10]));
        assert!(!probe(b"GET / HTTP/1.1\r\n"));
        assert!(!probe(b"SSH-2.0-OpenSSH_9.6"));
        // Length 0 and length above the cap.
        assert!(!probe(&[0x16, 0x03, 0x01, 0x00, 0x00]));
        assert!(!probe(&[0x16, 0x03, 0x01, 0x48, 0x01]));
    }

    #[test]
    fn header_checks() {
        assert_eq!(
            RecordHeader::parse(&[0x17, 0x03, 0x03, 0x40, 0x00]),
            Ok(RecordHeader {
                content_type: 23,
                version: 0x0303,
                len: 0x4000
            })
        );
        assert_eq!(
            RecordHeader::parse(&[0x17, 0x03, 0x03]),
            Err(HeaderError::Truncated)
        );
        assert_eq!(
            RecordHeader::parse(&[0x19, 0x03, 0x03, 0, 1]),
            Err(HeaderError::NotARecord)
        );
        assert_eq!(
            RecordHeader::parse(&[0x17, 0x02, 0x00, 0, 1]),
            Err(HeaderError::NotARecord)
        );
        // 2^14 + 2048 is the largest accepted, one more is too large.
        assert!(RecordHeader::parse(&[0x17, 0x03, 0x03, 0x48, 0x00]).is_ok());
        assert_eq!(
            RecordHeader::parse(&[0x17, 0x03, 0x03, 0x48, 0x01]),
            Err(HeaderError::TooLarge)
        );
    }

    #[test]
    fn messages_across_records_and_records_with_several_messages() {
        let m1 = hs_msg(1, &[0xaa; 300]);
        let m2 = hs_msg(11, &[0xbb; 20]);
        let m3 = hs_msg(14, &[]);
        // Record A: first 100 bytes of m1. Record B: the rest of m1, m2, m3.
        let mut stream = record(22, &m1[..100]);
        let mut b = m1[100..].to_vec();
        b.extend_from_slice(&m2);
        b.extend_from_slice(&m3);
        stream.extend(record(22, &b));
        stream.extend(record(23, &[0; 40]));
        let want = vec![
            Ev::Hs(1, vec![0xaa; 300]),
            Ev::Hs(11, vec![0xbb; 20]),
            Ev::Hs(14, vec![]),
            Ev::App(40),
        ];
        assert_eq!(run_split(&stream, &[]), want);
        // Every single cut point, and byte by byte: same events.
        for cut in 0..stream.len() {
            assert_eq!(run_split(&stream, &[cut]), want, "cut at {cut}");
        }
        let all: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(run_split(&stream, &all), want);
    }

    #[test]
    fn ccs_makes_tls12_handshake_and_alerts_opaque() {
        let mut s = record(22, &hs_msg(16, &[1; 33]));
        s.extend(record(20, &[1]));
        s.extend(record(22, &[0; 40])); // Finished, encrypted
        s.extend(record(21, &[9; 26])); // close_notify, encrypted
        assert_eq!(
            run_split(&s, &[7]),
            vec![
                Ev::Hs(16, vec![1; 33]),
                Ev::Ccs,
                Ev::EncHs(40),
                Ev::EncAlert(26)
            ]
        );
    }

    #[test]
    fn alerts_plaintext_and_malformed() {
        // 15 03 03 00 02 | 02 46: fatal protocol_version.
        let mut s = record(21, &[2, 70]);
        s.extend(record(21, &[1, 0, 2, 40]));
        s.extend(record(21, &[2, 40, 1]));
        let want = vec![
            Ev::Alert(2, 70),
            Ev::Alert(1, 0),
            Ev::Alert(2, 40),
            Ev::Alert(2, 40),
            Ev::An(Anomaly::AlertMalformed),
        ];
        for cut in 0..s.len() {
            assert_eq!(run_split(&s, &[cut]), want, "cut at {cut}");
        }
    }

    #[test]
    fn interleaved_record_drops_the_partial_message() {
        let m = hs_msg(1, &[7; 50]);
        let mut s = record(22, &m[..20]);
        s.extend(record(21, &[2, 10]));
        s.extend(record(22, &hs_msg(2, &[1, 2])));
        assert_eq!(
            run_split(&s, &[]),
            vec![
                Ev::An(Anomaly::HandshakeInterleaved),
                Ev::Alert(2, 10),
                Ev::Hs(2, vec![1, 2])
            ]
        );
    }

    #[test]
    fn record_too_large_stops_the_direction() {
        let mut s = record(22, &hs_msg(1, &[0; 4]));
        s.extend([0x17, 0x03, 0x03, 0xff, 0xff]);
        s.extend(record(23, &[0; 10]));
        assert_eq!(
            run_split(&s, &[12]),
            vec![Ev::Hs(1, vec![0; 4]), Ev::An(Anomaly::RecordTooLarge)]
        );
    }

    #[test]
    fn not_tls_and_desync() {
        assert_eq!(
            run_split(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &[2]),
            vec![Ev::An(Anomaly::NotTls)]
        );
        let mut s = record(23, &[0; 3]);
        s.extend(b"garbage!");
        assert_eq!(
            run_split(&s, &[]),
            vec![Ev::App(3), Ev::An(Anomaly::BadRecordHeader)]
        );
    }

    #[test]
    fn oversized_handshake_message_is_skipped_within_the_cap() {
        let mut d = RecordDefragmenter::with_max_buffer(2000);
        // A 5000-byte message in records of 1000, then a small one.
        let big = hs_msg(11, &[3; 4996]);
        let mut s = Vec::new();
        for part in big.chunks(1000) {
            s.extend(record(22, part));
        }
        s.extend(record(22, &hs_msg(14, &[])));
        let mut out = Vec::new();
        let mut max_buffered = 0;
        for (i, c) in s.chunks(333).enumerate() {
            d.feed((i * 333) as u64, c, &mut |e| out.push(own(e)));
            max_buffered = max_buffered.max(d.buffered());
        }
        assert_eq!(
            out,
            vec![Ev::An(Anomaly::BufferOverflow), Ev::Hs(14, vec![])]
        );
        assert!(max_buffered <= 2000);
    }

    #[test]
    fn gaps_and_overlaps() {
        let s = record(22, &hs_msg(1, &[5; 10]));
        // Overlapping re-delivery is trimmed.
        let mut d = RecordDefragmenter::new();
        let mut out = Vec::new();
        d.feed(0, &s[..8], &mut |e| out.push(own(e)));
        d.feed(4, &s[4..], &mut |e| out.push(own(e)));
        assert_eq!(out, vec![Ev::Hs(1, vec![5; 10])]);
        // A gap stops parsing but keeps the partial message.
        let mut d = RecordDefragmenter::new();
        let mut out = Vec::new();
        d.feed(0, &s[..12], &mut |e| out.push(own(e)));
        d.feed(14, &s[14..], &mut |e| out.push(own(e)));
        assert_eq!(out, vec![Ev::An(Anomaly::StreamGap)]);
        let p = d.pending_handshake().unwrap();
        assert_eq!(
            (p.msg_type, p.declared_len, p.body),
            (1, Some(10), &[5u8; 3][..])
        );
        // The first chunk sets the start (a tunnel's TLS bytes start past 0).
        let mut d = RecordDefragmenter::new();
        let mut out = Vec::new();
        d.feed(100, &s[..6], &mut |e| out.push(own(e)));
        d.feed(106, &s[6..], &mut |e| out.push(own(e)));
        assert_eq!(out, vec![Ev::Hs(1, vec![5; 10])]);
    }

    #[test]
    fn empty_records() {
        let mut s = record(22, &[]);
        s.extend(record(23, &[]));
        s.extend(record(22, &hs_msg(20, &[1; 12])));
        assert_eq!(
            run_split(&s, &[3]),
            vec![
                Ev::An(Anomaly::EmptyRecord),
                Ev::App(0),
                Ev::Hs(20, vec![1; 12])
            ]
        );
    }

    #[test]
    fn xorshift_mutations_never_panic() {
        // A valid-looking stream: handshake messages across records, CCS, alerts, app data.
        let mut base = record(22, &hs_msg(1, &[0x41; 700])[..300]);
        base.extend(record(22, &hs_msg(1, &[0x41; 700])[300..]));
        base.extend(record(21, &[2, 40]));
        base.extend(record(20, &[1]));
        base.extend(record(22, &[0; 40]));
        base.extend(record(23, &[0; 100]));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut s = base.clone();
            let n = (next() % 8) as usize;
            for _ in 0..n {
                let i = (next() as usize) % s.len();
                s[i] = next() as u8;
            }
            let cut = (next() as usize) % (s.len() + 1);
            s.truncate(cut.max(1));
            let mut d = RecordDefragmenter::with_max_buffer(1 + (next() % 4096) as usize);
            let mut at = 0usize;
            while at < s.len() {
                let step = 1 + (next() as usize) % 97;
                let end = (at + step).min(s.len());
                d.feed(at as u64, &s[at..end], &mut |_| {});
                at = end;
            }
            let _ = d.pending_handshake();
            assert!(d.buffered() <= 4096 + RECORD_HEADER_LEN + MIN_MAX_BUFFER);
        }
    }
}
