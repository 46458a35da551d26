//! Per-connection TLS state: fed the in-order stream bytes of both directions and the way the
//! connection ended, it keeps what a TLS handshake told (hellos, certificate, alerts, whether it
//! completed) and summarises it as an owned [`TlsSummary`].
//!
//! Pure: no clock but the timestamps passed in, no I/O. The caller (the engine's stream handler)
//! calls [`TlsState::on_data`] for each in-order chunk and returns its result as "this direction
//! needs more bytes", then [`TlsState::on_end`] and [`TlsState::summary`].
//!
//! # When is a handshake complete
//!
//! - TLS <= 1.2: each side sent ChangeCipherSpec followed by an encrypted record (its Finished,
//!   or application data).
//! - TLS 1.3 (the ServerHello selects 0x0304): every record after the ServerHello is an
//!   application_data record. The handshake is complete once, after the server's first encrypted
//!   record, the client sent an encrypted record (its Finished) and then either side sent another
//!   one (client data, or the server's session ticket / response). A 19-byte record is what an
//!   encrypted alert looks like (2 bytes + content type + 16-byte AEAD tag) and is counted in
//!   `encrypted_alerts` instead (a heuristic: a 2-byte payload would look the same).
//! - Without a ServerHello the version is unknown and the handshake is never called complete.

use super::hello::{
    parse_certificate, parse_client_hello, parse_client_hello_prefix, parse_server_hello, CertInfo,
    ClientHelloInfo, ServerHelloInfo,
};
use super::record::{handshake_type, Anomaly, RecordDefragmenter, RecordEvent};
use crate::time::Timestamp;

/// At most this many alerts are kept per connection.
pub const MAX_ALERTS: usize = 16;
/// At most this many anomalies are kept per connection.
pub const MAX_ANOMALIES: usize = 16;
/// Length of a TLS 1.3 record that can only hold an encrypted alert (AES-GCM / ChaCha20 tags).
pub const TLS13_ALERT_RECORD_LEN: u16 = 19;

/// Which way bytes travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the connection's originator) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// 0 for `ToServer`, 1 for `ToClient`.
    pub const fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    /// The other direction.
    pub const fn flip(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }

    /// `"to_server"` or `"to_client"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        }
    }
}

/// How the connection ended, as the caller saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndHow {
    /// A RST travelling in this direction (`ToServer`: sent by the client).
    Rst(Direction),
    /// A FIN travelling in this direction (`ToServer`: sent by the client).
    Fin(Direction),
    /// Nothing more was seen until the idle timeout.
    Timeout,
    /// The capture ended (or the connection was evicted) while it was open.
    CaptureEnd,
}

impl EndHow {
    /// `"rst"`, `"fin"`, `"timeout"` or `"capture_end"`.
    pub const fn kind(self) -> &'static str {
        match self {
            EndHow::Rst(_) => "rst",
            EndHow::Fin(_) => "fin",
            EndHow::Timeout => "timeout",
            EndHow::CaptureEnd => "capture_end",
        }
    }
}

/// A plaintext alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertInfo {
    /// 1 warning, 2 fatal.
    pub level: u8,
    /// Description code (see [`super::names::alert_name`]).
    pub description: u8,
    /// Who sent it.
    pub dir: Direction,
    /// Time of the chunk that carried it.
    pub ts: Timestamp,
}

/// An anomaly and where it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnomalyInfo {
    /// What.
    pub anomaly: Anomaly,
    /// In which direction's bytes.
    pub dir: Direction,
    /// Time of the chunk.
    pub ts: Timestamp,
}

/// Everything the TLS state knows about a connection (owned, for logs and detectors).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSummary {
    /// At least one valid TLS record was seen in either direction.
    pub is_tls: bool,
    /// Negotiated version (from the ServerHello; see [`super::names::version_name`]).
    pub version: Option<u16>,
    /// Selected cipher suite (see [`super::names::cipher_name`]).
    pub cipher: Option<u16>,
    /// The SNI of the (first) ClientHello, when any.
    pub sni: Option<String>,
    /// Why `sni` is empty: `"no_client_hello_bytes"` (no client bytes, the stream began mid-way or
    /// bytes were missing before a ClientHello), `"not_tls"`, `"client_hello_truncated"`,
    /// `"client_hello_malformed"`, `"no_sni_extension"`. `None` when `sni` is set.
    pub sni_missing_reason: Option<&'static str>,
    /// The first ClientHello (possibly `truncated`: cut by the end of the bytes seen).
    pub client_hello: Option<ClientHelloInfo>,
    /// When the first ClientHello was complete.
    pub client_hello_ts: Option<Timestamp>,
    /// The ClientHello sent after a HelloRetryRequest.
    pub second_client_hello: Option<ClientHelloInfo>,
    /// The HelloRetryRequest, when the server sent one.
    pub hello_retry_request: Option<ServerHelloInfo>,
    /// When the HelloRetryRequest was complete.
    pub hello_retry_request_ts: Option<Timestamp>,
    /// The ServerHello (not a HelloRetryRequest).
    pub server_hello: Option<ServerHelloInfo>,
    /// When the ServerHello was complete.
    pub server_hello_ts: Option<Timestamp>,
    /// The server's end-entity certificate (plaintext only: TLS <= 1.2).
    pub certificate: Option<CertInfo>,
    /// Plaintext alerts, in order (at most [`MAX_ALERTS`]).
    pub alerts: Vec<AlertInfo>,
    /// Encrypted alert records (TLS <= 1.2 after ChangeCipherSpec; TLS 1.3 alert-sized records).
    pub encrypted_alerts: u32,
    /// The handshake completed (see the module docs).
    pub handshake_completed: bool,
    /// When it completed.
    pub handshake_completed_ts: Option<Timestamp>,
    /// First application data: TLS <= 1.2 (or unknown version), the first application_data record;
    /// TLS 1.3, the client's first encrypted record after the server's flight (its Finished,
    /// normally sent with the first request).
    pub first_app_data_ts: Option<Timestamp>,
    /// application_data records from the client.
    pub app_data_records_to_server: u64,
    /// application_data records from the server.
    pub app_data_records_to_client: u64,
    /// Anomalies, in order (at most [`MAX_ANOMALIES`]).
    pub anomalies: Vec<AnomalyInfo>,
    /// How the connection ended, as passed to [`TlsState::on_end`].
    pub end: Option<EndHow>,
    /// When it ended.
    pub end_ts: Option<Timestamp>,
    /// The end and the handshake stage it interrupted, e.g. `"rst_after_client_hello"`,
    /// `"timeout_after_server_hello"`, `"fin_after_handshake"`: `{kind}_{stage}` with kind from
    /// [`EndHow::kind`] and stage one of `before_client_hello`, `during_client_hello` (a
    /// ClientHello was cut), `after_client_hello`, `after_hello_retry_request`,
    /// `after_server_hello`, `after_handshake`.
    pub ended: Option<&'static str>,
}

/// Per-direction bookkeeping.
#[derive(Clone, Debug, Default)]
struct Side {
    defrag: RecordDefragmenter,
    bytes: u64,
    ccs: bool,
    /// TLS <= 1.2: an encrypted record after ChangeCipherSpec.
    finished: bool,
    app_records: u64,
}

/// The TLS state of one connection; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct TlsState {
    sides: [Side; 2],
    midstream: bool,
    client_hello: Option<(ClientHelloInfo, Timestamp)>,
    client_hello_malformed: bool,
    // Rare or TLS 1.2-only parts are boxed: a connection's state stays small while it is open.
    second_client_hello: Option<Box<ClientHelloInfo>>,
    hrr: Option<Box<(ServerHelloInfo, Timestamp)>>,
    server_hello: Option<(ServerHelloInfo, Timestamp)>,
    certificate: Option<Box<CertInfo>>,
    alerts: Vec<AlertInfo>,
    encrypted_alerts: u32,
    anomalies: Vec<AnomalyInfo>,
    tls13: bool,
    server_enc_seen: bool,
    client_enc_after_server: u32,
    server_enc_after_client: bool,
    completed_ts: Option<Timestamp>,
    first_app_ts: Option<Timestamp>,
    end: Option<(EndHow, Timestamp)>,
}

impl TlsState {
    /// A fresh state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells that the start of the connection was not captured (no SYN from the client): byte 0
    /// of the streams is not the start of the TLS session, so a missing ClientHello is reported as
    /// `"no_client_hello_bytes"`.
    pub fn set_midstream(&mut self) {
        self.midstream = true;
    }

    /// In-order bytes of `dir` at stream `offset`, as the engine's reassembly gives them. The first
    /// chunk of a direction may start past 0 (a CONNECT tunnel's TLS bytes); after it, offsets
    /// must be contiguous (a jump is a gap: `tls_stream_gap`, and the direction stops). Returns
    /// whether this direction still needs bytes: `false` once the handshake completed or the
    /// direction's bytes are not parseable TLS.
    pub fn on_data(&mut self, dir: Direction, offset: u64, bytes: &[u8], ts: Timestamp) -> bool {
        let i = dir.index();
        if let Some(side) = self.sides.get_mut(i) {
            side.bytes = side.bytes.saturating_add(bytes.len() as u64);
            let mut defrag = core::mem::take(&mut side.defrag);
            defrag.feed(offset, bytes, &mut |ev| self.on_event(dir, ev, ts));
            if let Some(side) = self.sides.get_mut(i) {
                side.defrag = defrag;
            }
        }
        self.wants_more(dir)
    }

    /// Whether `dir` still needs bytes (see [`TlsState::on_data`]).
    pub fn wants_more(&self, dir: Direction) -> bool {
        self.completed_ts.is_none()
            && self
                .sides
                .get(dir.index())
                .is_some_and(|s| s.defrag.stopped().is_none())
    }

    /// The connection ended. The first call counts; later ones are ignored.
    pub fn on_end(&mut self, how: EndHow, ts: Timestamp) {
        if self.end.is_none() {
            self.end = Some((how, ts));
        }
    }

    /// The first complete ClientHello, if any.
    pub fn client_hello(&self) -> Option<&ClientHelloInfo> {
        self.client_hello.as_ref().map(|(c, _)| c)
    }

    /// The ServerHello (not a HelloRetryRequest), if any.
    pub fn server_hello(&self) -> Option<&ServerHelloInfo> {
        self.server_hello.as_ref().map(|(s, _)| s)
    }

    /// Alerts so far (the caller may turn new ones into events by remembering the length).
    pub fn alerts(&self) -> &[AlertInfo] {
        &self.alerts
    }

    /// Anomalies so far (as for `alerts`).
    pub fn anomalies(&self) -> &[AnomalyInfo] {
        &self.anomalies
    }

    /// The handshake completed.
    pub fn handshake_completed(&self) -> bool {
        self.completed_ts.is_some()
    }

    /// At least one valid TLS record was seen.
    pub fn is_tls(&self) -> bool {
        self.sides.iter().any(|s| s.defrag.records() > 0)
    }

    fn on_event(&mut self, dir: Direction, ev: RecordEvent<'_>, ts: Timestamp) {
        let i = dir.index();
        match ev {
            RecordEvent::Handshake { msg_type, body } => self.on_handshake(dir, msg_type, body, ts),
            RecordEvent::ChangeCipherSpec => {
                if let (false, Some(side)) = (self.tls13, self.sides.get_mut(i)) {
                    side.ccs = true;
                }
            }
            RecordEvent::EncryptedHandshake { .. } => {
                if let Some(side) = self.sides.get_mut(i) {
                    side.finished |= side.ccs;
                }
            }
            RecordEvent::Alert { level, description } => {
                if self.alerts.len() < MAX_ALERTS {
                    self.alerts.push(AlertInfo {
                        level,
                        description,
                        dir,
                        ts,
                    });
                }
            }
            RecordEvent::EncryptedAlert { .. } => {
                self.encrypted_alerts = self.encrypted_alerts.saturating_add(1);
            }
            RecordEvent::ApplicationData { len } => self.on_app_data(dir, len, ts),
            RecordEvent::Heartbeat { .. } => {}
            RecordEvent::Anomaly(a) => self.anomaly(a, dir, ts),
        }
        self.check_completed(ts);
    }

    fn anomaly(&mut self, anomaly: Anomaly, dir: Direction, ts: Timestamp) {
        let anomaly = match anomaly {
            Anomaly::NotTls if self.midstream => Anomaly::MidstreamUnaligned,
            a => a,
        };
        if self.anomalies.len() < MAX_ANOMALIES {
            self.anomalies.push(AnomalyInfo { anomaly, dir, ts });
        }
    }

    fn on_handshake(&mut self, dir: Direction, msg_type: u8, body: &[u8], ts: Timestamp) {
        match (dir, msg_type) {
            (Direction::ToServer, handshake_type::CLIENT_HELLO) => {
                if self.client_hello.is_none() && !self.client_hello_malformed {
                    match parse_client_hello(body) {
                        Ok(ch) => self.client_hello = Some((ch, ts)),
                        Err(_) => {
                            self.client_hello_malformed = true;
                            self.anomaly(Anomaly::ClientHelloMalformed, dir, ts);
                        }
                    }
                } else if self.hrr.is_some() && self.second_client_hello.is_none() {
                    match parse_client_hello(body) {
                        Ok(ch) => self.second_client_hello = Some(Box::new(ch)),
                        Err(_) => self.anomaly(Anomaly::ClientHelloMalformed, dir, ts),
                    }
                }
            }
            (Direction::ToClient, handshake_type::SERVER_HELLO) => match parse_server_hello(body) {
                Ok(sh) => {
                    let tls13 = sh.is_hello_retry_request || sh.selected_version == Some(0x0304);
                    if sh.is_hello_retry_request {
                        if self.hrr.is_none() {
                            self.hrr = Some(Box::new((sh, ts)));
                        }
                    } else if self.server_hello.is_none() {
                        self.server_hello = Some((sh, ts));
                    }
                    if tls13 {
                        self.tls13 = true;
                        for side in &mut self.sides {
                            side.defrag.set_tls13();
                            side.ccs = false;
                        }
                    }
                }
                Err(_) => self.anomaly(Anomaly::ServerHelloMalformed, dir, ts),
            },
            (Direction::ToClient, handshake_type::CERTIFICATE)
                if self.certificate.is_none() && !self.tls13 =>
            {
                match parse_certificate(body) {
                    Ok(c) => self.certificate = Some(Box::new(c)),
                    Err(_) => self.anomaly(Anomaly::CertificateMalformed, dir, ts),
                }
            }
            _ => {}
        }
    }

    fn on_app_data(&mut self, dir: Direction, len: u16, ts: Timestamp) {
        let tls13 = self.tls13 && self.server_hello.is_some();
        if let Some(side) = self.sides.get_mut(dir.index()) {
            side.app_records = side.app_records.saturating_add(1);
            side.finished |= side.ccs;
        }
        if !tls13 {
            self.first_app_ts.get_or_insert(ts);
            return;
        }
        match dir {
            Direction::ToClient => {
                if !self.server_enc_seen {
                    self.server_enc_seen = true;
                } else if self.client_enc_after_server > 0 {
                    if len == TLS13_ALERT_RECORD_LEN {
                        self.encrypted_alerts = self.encrypted_alerts.saturating_add(1);
                    } else {
                        self.server_enc_after_client = true;
                    }
                }
            }
            Direction::ToServer => {
                if self.server_enc_seen {
                    if len == TLS13_ALERT_RECORD_LEN {
                        self.encrypted_alerts = self.encrypted_alerts.saturating_add(1);
                    } else {
                        self.client_enc_after_server =
                            self.client_enc_after_server.saturating_add(1);
                        self.first_app_ts.get_or_insert(ts);
                    }
                }
            }
        }
    }

    fn check_completed(&mut self, ts: Timestamp) {
        if self.completed_ts.is_some() || self.server_hello.is_none() {
            return;
        }
        let done = if self.tls13 {
            self.client_enc_after_server >= 1
                && (self.server_enc_after_client || self.client_enc_after_server >= 2)
        } else {
            self.sides.iter().all(|s| s.ccs && s.finished)
        };
        if done {
            self.completed_ts = Some(ts);
        }
    }

    /// The summary so far (call after [`TlsState::on_end`] for `ended`).
    pub fn summary(&self) -> TlsSummary {
        self.summarize(Parts {
            client_hello: self.client_hello.clone(),
            second_client_hello: self.second_client_hello.clone(),
            hrr: self.hrr.clone(),
            server_hello: self.server_hello.clone(),
            certificate: self.certificate.clone(),
            alerts: self.alerts.clone(),
            anomalies: self.anomalies.clone(),
        })
    }

    /// Like [`TlsState::summary`], consuming the state (moves instead of copying: the end of a
    /// connection needs no state afterwards).
    pub fn into_summary(mut self) -> TlsSummary {
        self.take_summary()
    }

    /// Like [`TlsState::into_summary`] for a state that is not owned (it stays, emptied of the
    /// hellos, certificate, alerts and anomalies the summary took).
    pub fn take_summary(&mut self) -> TlsSummary {
        let parts = Parts {
            client_hello: self.client_hello.take(),
            second_client_hello: self.second_client_hello.take(),
            hrr: self.hrr.take(),
            server_hello: self.server_hello.take(),
            certificate: self.certificate.take(),
            alerts: core::mem::take(&mut self.alerts),
            anomalies: core::mem::take(&mut self.anomalies),
        };
        self.summarize(parts)
    }

    fn summarize(&self, p: Parts) -> TlsSummary {
        let client = &self.sides[Direction::ToServer.index()];
        let server = &self.sides[Direction::ToClient.index()];
        let have_client_hello = p.client_hello.is_some();
        // A ClientHello cut short: read what arrived.
        let partial = match (have_client_hello, client.defrag.pending_handshake()) {
            (false, Some(h)) if h.msg_type == handshake_type::CLIENT_HELLO => {
                Some(parse_client_hello_prefix(h.body).ok())
            }
            _ => None,
        };
        let truncated_seen = partial.is_some();
        let (client_hello, client_hello_ts) = match (p.client_hello, partial) {
            (Some((c, t)), _) => (Some(c), Some(t)),
            (None, Some(Some(c))) => (Some(c), None),
            _ => (None, None),
        };
        let sni = client_hello.as_ref().and_then(|c| c.sni.clone());
        let sni_missing_reason = if sni.is_some() {
            None
        } else if have_client_hello {
            Some("no_sni_extension")
        } else if self.client_hello_malformed {
            Some("client_hello_malformed")
        } else if truncated_seen {
            Some("client_hello_truncated")
        } else if self.midstream {
            Some("no_client_hello_bytes")
        } else if client.defrag.stopped() == Some(Anomaly::NotTls)
            || (client.bytes == 0 && server.defrag.stopped() == Some(Anomaly::NotTls))
        {
            Some("not_tls")
        } else {
            Some("no_client_hello_bytes")
        };
        let stage = if self.completed_ts.is_some() {
            5
        } else if p.server_hello.is_some() {
            4
        } else if p.hrr.is_some() {
            3
        } else if have_client_hello {
            2
        } else if truncated_seen {
            1
        } else {
            0
        };
        let ended = self.end.map(|(how, _)| ended_name(how, stage));
        let (server_hello, server_hello_ts) = match p.server_hello {
            Some((s, t)) => (Some(s), Some(t)),
            None => (None, None),
        };
        let (hello_retry_request, hello_retry_request_ts) = match p.hrr.map(|b| *b) {
            Some((h, t)) => (Some(h), Some(t)),
            None => (None, None),
        };
        TlsSummary {
            is_tls: self.is_tls(),
            version: server_hello
                .as_ref()
                .map(ServerHelloInfo::negotiated_version),
            cipher: server_hello.as_ref().map(|s| s.cipher),
            sni,
            sni_missing_reason,
            client_hello,
            client_hello_ts,
            second_client_hello: p.second_client_hello.map(|b| *b),
            hello_retry_request,
            hello_retry_request_ts,
            server_hello,
            server_hello_ts,
            certificate: p.certificate.map(|b| *b),
            alerts: p.alerts,
            encrypted_alerts: self.encrypted_alerts,
            handshake_completed: self.completed_ts.is_some(),
            handshake_completed_ts: self.completed_ts,
            first_app_data_ts: self.first_app_ts,
            app_data_records_to_server: client.app_records,
            app_data_records_to_client: server.app_records,
            anomalies: p.anomalies,
            end: self.end.map(|(h, _)| h),
            end_ts: self.end.map(|(_, t)| t),
            ended,
        }
    }
}

/// The owned parts of a [`TlsSummary`], copied or moved out of a [`TlsState`].
struct Parts {
    client_hello: Option<(ClientHelloInfo, Timestamp)>,
    second_client_hello: Option<Box<ClientHelloInfo>>,
    hrr: Option<Box<(ServerHelloInfo, Timestamp)>>,
    server_hello: Option<(ServerHelloInfo, Timestamp)>,
    certificate: Option<Box<CertInfo>>,
    alerts: Vec<AlertInfo>,
    anomalies: Vec<AnomalyInfo>,
}

/// `{kind}_{stage}` as a static string.
fn ended_name(how: EndHow, stage: usize) -> &'static str {
    const TABLE: [[&str; 6]; 4] = [
        [
            "rst_before_client_hello",
            "rst_during_client_hello",
            "rst_after_client_hello",
            "rst_after_hello_retry_request",
            "rst_after_server_hello",
            "rst_after_handshake",
        ],
        [
            "fin_before_client_hello",
            "fin_during_client_hello",
            "fin_after_client_hello",
            "fin_after_hello_retry_request",
            "fin_after_server_hello",
            "fin_after_handshake",
        ],
        [
            "timeout_before_client_hello",
            "timeout_during_client_hello",
            "timeout_after_client_hello",
            "timeout_after_hello_retry_request",
            "timeout_after_server_hello",
            "timeout_after_handshake",
        ],
        [
            "capture_end_before_client_hello",
            "capture_end_during_client_hello",
            "capture_end_after_client_hello",
            "capture_end_after_hello_retry_request",
            "capture_end_after_server_hello",
            "capture_end_after_handshake",
        ],
    ];
    let row = match how {
        EndHow::Rst(_) => 0,
        EndHow::Fin(_) => 1,
        EndHow::Timeout => 2,
        EndHow::CaptureEnd => 3,
    };
    TABLE
        .get(row)
        .and_then(|r| r.get(stage))
        .copied()
        .unwrap_or("unknown")
}
#[cfg(test)]
mod size_budget {
    /// One state per open TLS connection (tens of thousands at once): keep the rare parts boxed.
    #[test]
    fn tls_state_stays_small() {
        let n = core::mem::size_of::<super::TlsState>();
        assert!(n <= 704, "TlsState grew to {n} bytes");
    }
}
