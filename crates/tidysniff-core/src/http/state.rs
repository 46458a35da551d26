//! Per-connection HTTP/1.x state: two [`MessageReader`]s (one per direction), requests waiting
//! for their responses, the CONNECT tunnel hand-off, and the transactions they make.
//!
//! Feed each direction's reassembled bytes in stream order with [`HttpState::on_data`]; events
//! go into a caller-owned `Vec<HttpEvent>`:
//!
//! - [`HttpEvent::Transaction`] when a final response completes its head (or at
//!   [`HttpState::finish`] for requests never answered, with the reason),
//! - [`HttpEvent::TunnelStart`] when a CONNECT is answered with 2xx: from the given offsets on,
//!   both directions carry the tunnel (TLS, usually) and HTTP stops,
//! - [`HttpEvent::Anomaly`] with a stable name.
//!
//! Memory is bounded by the limits: two head buffers, at most
//! [`HttpLimits::max_transactions`] waiting requests with their strings capped, and the client
//! bytes held after a CONNECT ([`HttpLimits::max_early_data`]).

use std::collections::VecDeque;

use crate::http::goproxy::{parse_goproxy_target, GoProxyRequest};
use crate::http::parse::{
    is_absolute_form, parse_request_head, parse_response_head, probe_prefix, request_framing,
    response_framing, Anomaly, BodyFraming, HttpLimits, HttpVersion, MessageReader, Probe, Step,
    StreamStatus, PROBE_LEN,
};
use crate::time::Timestamp;

/// Longest request-target kept in a transaction, in bytes (longer ones are cut).
pub const MAX_URI_LEN: usize = 4096;
/// Longest header value or reason phrase kept in a transaction, in bytes.
pub const MAX_FIELD_LEN: usize = 1024;

/// Which way bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the connection's originator (the HTTP client).
    ClientToServer,
    /// From the responder (the HTTP server or proxy).
    ServerToClient,
}

/// A request as seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method token.
    pub method: String,
    /// The request-target as sent (at most [`MAX_URI_LEN`] bytes, lossy UTF-8).
    pub uri: String,
    /// The `Host` header.
    pub host: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The protocol version.
    pub version: HttpVersion,
    /// Time of the packet that completed the head.
    pub ts: Timestamp,
    /// Its frame number.
    pub frame: u64,
    /// Stream offset (client to server) where the request began.
    pub offset: u64,
    /// A `Proxy-Authorization` header was sent (its value is never kept).
    pub proxy_authorization: bool,
    /// The `Connection` header.
    pub connection: Option<String>,
    /// The `Content-Length`, when valid.
    pub content_length: Option<u64>,
    /// The body is chunked.
    pub chunked: bool,
}

/// A final response as seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The protocol version.
    pub version: HttpVersion,
    /// The status code.
    pub status_code: u16,
    /// The reason phrase (lossy UTF-8, may be empty).
    pub reason: String,
    /// Time of the packet that completed the head.
    pub ts: Timestamp,
    /// Its frame number.
    pub frame: u64,
    /// Stream offset (server to client) where the response began.
    pub offset: u64,
    /// The `Location` header.
    pub location: Option<String>,
    /// The `Server` header.
    pub server: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Content-Length`, when valid.
    pub content_length: Option<u64>,
    /// The body is chunked.
    pub chunked: bool,
}

/// Why a request has no response at [`HttpState::finish`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingResponse {
    /// The server sent nothing more (the capture saw its direction up to a message boundary).
    NoReply,
    /// The server's next response head began but did not complete.
    PartialHead,
    /// An earlier response body reached past the stream depth, was delimited by the close,
    /// or was cut by the end of the capture: later responses could not be seen.
    BodyNotSeen,
    /// The server direction stopped being parsed (not HTTP, an anomaly, a limit).
    Unparsed,
}

impl MissingResponse {
    /// A stable snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            MissingResponse::NoReply => "no_reply",
            MissingResponse::PartialHead => "partial_head",
            MissingResponse::BodyNotSeen => "body_not_seen",
            MissingResponse::Unparsed => "unparsed",
        }
    }
}

/// A request and its response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTransaction {
    /// 0-based position on the connection (requests and unmatched responses, in order).
    pub index: u32,
    /// The request; `None` for a response no parsed request waited for (after a request the
    /// parser rejected, or one beyond the depth) — also reported as
    /// [`Anomaly::UnmatchedResponse`].
    pub request: Option<HttpRequest>,
    /// The final response; `None` when the transaction was flushed by [`HttpState::finish`].
    pub response: Option<HttpResponse>,
    /// Why `response` is `None`.
    pub missing_response: Option<MissingResponse>,
    /// The request-target decoded as a Go module proxy request (GET and HEAD only).
    pub goproxy: Option<GoProxyRequest>,
    /// The authority of a CONNECT request (`proxy.example:443`).
    pub connect_target: Option<String>,
    /// A CONNECT answered with 2xx: the tunnel started (see [`TunnelStart`]).
    pub tunnel_established: bool,
}

/// A CONNECT was answered with 2xx: from these stream offsets on, both directions belong to
/// the tunnel. HTTP parsing of the connection has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelStart {
    /// Client-to-server offset just after the CONNECT request's blank line.
    pub offset_client: u64,
    /// Server-to-client offset just after the 2xx response's blank line.
    pub offset_server: u64,
    /// Client bytes from `offset_client` already given to [`HttpState::on_data`] (sent before
    /// the answer, at most [`HttpLimits::max_early_data`]).
    pub client_early: Vec<u8>,
    /// Server bytes from `offset_server` given in the call that produced this event.
    pub server_early: Vec<u8>,
    /// `client_early` misses bytes (the limit, or a capture hole).
    pub client_early_truncated: bool,
    /// Time of the packet with the 2xx response.
    pub ts: Timestamp,
    /// Its frame number.
    pub frame: u64,
}

/// An anomaly with where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpAnomaly {
    /// What.
    pub anomaly: Anomaly,
    /// The direction it was found in.
    pub dir: Direction,
    /// Stream offset of that direction when it was found.
    pub offset: u64,
    /// Time of the packet.
    pub ts: Timestamp,
    /// Its frame number.
    pub frame: u64,
}

impl HttpAnomaly {
    /// The anomaly's stable name (`http_bad_request_line`, ...).
    pub const fn name(&self) -> &'static str {
        self.anomaly.name()
    }
}

/// What [`HttpState`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpEvent {
    /// A request with its final response, or without one (at finish), or a response without a
    /// request.
    Transaction(Box<HttpTransaction>),
    /// The CONNECT tunnel starts.
    TunnelStart(Box<TunnelStart>),
    /// Something odd.
    Anomaly(HttpAnomaly),
}

/// What the connection turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMode {
    /// Not decided yet (fewer than a few bytes seen).
    Probing,
    /// HTTP/1.x.
    Http,
    /// Not HTTP: the client's first bytes are not a request, or the server spoke first with
    /// something that is not a response.
    NotHttp,
    /// A CONNECT tunnel started; HTTP has ended.
    Tunnel,
    /// The protocol was switched (101); HTTP has ended.
    Upgraded,
    /// [`HttpState::finish`] was called.
    Finished,
}

/// Probing the first bytes of one direction.
#[derive(Clone, Copy, Debug)]
struct ProbeBuf {
    bytes: [u8; PROBE_LEN],
    len: usize,
    verdict: Probe,
}

impl ProbeBuf {
    const fn new() -> Self {
        ProbeBuf {
            bytes: [0; PROBE_LEN],
            len: 0,
            verdict: Probe::NeedMore,
        }
    }

    /// Adds bytes from `data` until decided; returns how many were taken.
    fn take(&mut self, data: &[u8]) -> usize {
        let n = (PROBE_LEN - self.len).min(data.len());
        if let (Some(dst), Some(src)) = (self.bytes.get_mut(self.len..self.len + n), data.get(..n))
        {
            dst.copy_from_slice(src);
        }
        self.len += n;
        self.verdict = match probe_prefix(self.seen()) {
            // A full buffer that is still a prefix cannot happen (PROBE_LEN covers every
            // method), but never wait forever.
            Probe::NeedMore if self.len >= PROBE_LEN => Probe::NotHttp,
            v => v,
        };
        n
    }

    fn seen(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// A parsed request waiting for its response.
#[derive(Clone, Debug)]
struct Pending {
    index: u32,
    request: HttpRequest,
    goproxy: Option<GoProxyRequest>,
    connect_target: Option<String>,
    /// Client offset just after the head (the tunnel start for CONNECT).
    head_end: u64,
}

/// Client bytes held after a CONNECT until its answer: a contiguous prefix of what followed
/// the CONNECT head.
#[derive(Clone, Debug, Default)]
struct Held {
    bytes: Vec<u8>,
    /// Bytes are missing after `bytes` (the limit was reached, or a capture hole): why.
    truncated: Option<Anomaly>,
    ts: Timestamp,
    frame: u64,
}

/// HTTP/1.x state of one TCP connection. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct HttpState {
    limits: HttpLimits,
    mode: HttpMode,
    client: MessageReader,
    server: MessageReader,
    probe: [ProbeBuf; 2],
    /// Bytes received per direction (the next expected stream offset).
    seen: [u64; 2],
    pending: VecDeque<Pending>,
    /// Transactions started (requests parsed plus unmatched responses).
    started: u32,
    /// Client parsing waits for the answer to a CONNECT; later client bytes are held.
    held: Option<Held>,
    proxy: bool,
}

/// What handling a response head asks the caller's loop to do.
enum After {
    Continue,
    /// Release the client bytes held after a refused CONNECT.
    ReleaseHeld,
    /// The tunnel starts after this head.
    Tunnel {
        offset_client: u64,
    },
    /// HTTP stops.
    Stop,
}

fn idx(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

/// Lossy UTF-8 of at most `cap` bytes of `b` (cut on a character boundary).
fn text(b: &[u8], cap: usize) -> String {
    let mut s = String::from_utf8_lossy(b.get(..cap).unwrap_or(b)).into_owned();
    if s.len() > cap {
        let mut end = cap;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn opt_text(b: Option<&[u8]>) -> Option<String> {
    b.map(|b| text(b, MAX_FIELD_LEN))
}

fn anomaly(
    out: &mut Vec<HttpEvent>,
    anomaly: Anomaly,
    dir: Direction,
    offset: u64,
    ts: Timestamp,
    frame: u64,
) {
    out.push(HttpEvent::Anomaly(HttpAnomaly {
        anomaly,
        dir,
        offset,
        ts,
        frame,
    }));
}

impl HttpState {
    /// A connection not seen yet. `limits.stream_depth` should be the depth the caller
    /// delivers (0 if unknown).
    pub fn new(limits: HttpLimits) -> Self {
        HttpState {
            limits,
            mode: HttpMode::Probing,
            client: MessageReader::new(limits),
            server: MessageReader::new(limits),
            probe: [ProbeBuf::new(), ProbeBuf::new()],
            seen: [0; 2],
            pending: VecDeque::new(),
            started: 0,
            held: None,
            proxy: false,
        }
    }

    /// What the connection turned out to be.
    pub fn mode(&self) -> HttpMode {
        self.mode
    }

    /// Whether the connection talks to a proxy: a request in absolute form, a CONNECT, or a
    /// `Proxy-Authorization` header.
    pub fn is_proxy(&self) -> bool {
        self.proxy
    }

    /// Where the reader of `dir` stands.
    pub fn status(&self, dir: Direction) -> StreamStatus {
        match dir {
            Direction::ClientToServer => self.client.status(),
            Direction::ServerToClient => self.server.status(),
        }
    }

    /// Whether more bytes of `dir` would be used (the engine handler's return value while
    /// the connection is HTTP).
    pub fn wants_more(&self, dir: Direction) -> bool {
        match self.mode {
            HttpMode::Probing => true,
            HttpMode::Http => match dir {
                Direction::ClientToServer => self.held.is_some() || self.client.wants_more(),
                // Responses matter only while requests may come or wait.
                Direction::ServerToClient => self.server.wants_more(),
            },
            _ => false,
        }
    }

    /// Heap bytes held (an estimate: buffers and strings, for memory bounds).
    pub fn heap_bytes(&self) -> usize {
        let req = |r: &HttpRequest| {
            r.method.capacity()
                + r.uri.capacity()
                + r.host.as_ref().map_or(0, String::capacity)
                + r.user_agent.as_ref().map_or(0, String::capacity)
                + r.connection.as_ref().map_or(0, String::capacity)
        };
        let goproxy = |g: &GoProxyRequest| {
            [&g.module, &g.version, &g.sumdb, &g.base, &g.tile]
                .iter()
                .map(|s| s.as_ref().map_or(0, String::capacity))
                .sum::<usize>()
        };
        self.client.heap_bytes()
            + self.server.heap_bytes()
            + self.pending.capacity() * core::mem::size_of::<Pending>()
            + self
                .pending
                .iter()
                .map(|p| {
                    req(&p.request)
                        + p.goproxy.as_ref().map_or(0, goproxy)
                        + p.connect_target.as_ref().map_or(0, String::capacity)
                })
                .sum::<usize>()
            + self.held.as_ref().map_or(0, |h| h.bytes.capacity())
    }

    /// Takes `data`, the bytes of `dir` at stream `offset`, from the packet at `ts` (frame
    /// `frame`); pushes what they complete into `out`. Returns [`wants_more`](Self::wants_more)
    /// for `dir`. Bytes before the expected offset (already seen) are ignored; a jump ahead
    /// is a capture hole (skipped inside a body, else [`Anomaly::StreamGap`]).
    pub fn on_data(
        &mut self,
        dir: Direction,
        offset: u64,
        data: &[u8],
        ts: Timestamp,
        frame: u64,
        out: &mut Vec<HttpEvent>,
    ) -> bool {
        let d = idx(dir);
        let expected = self.seen[d];
        let data = if offset < expected {
            let skip = usize::try_from(expected - offset).unwrap_or(usize::MAX);
            data.get(skip..).unwrap_or(&[])
        } else {
            data
        };
        if data.is_empty() || !matches!(self.mode, HttpMode::Probing | HttpMode::Http) {
            return self.wants_more(dir);
        }
        let gap = offset.saturating_sub(expected);
        self.seen[d] = offset.max(expected).saturating_add(data.len() as u64);
        let mut data = data;
        if self.probe[d].verdict == Probe::NeedMore {
            // A hole before the direction was recognised: it cannot be.
            let n = if gap > 0 {
                self.probe[d].verdict = Probe::NotHttp;
                0
            } else {
                self.probe[d].take(data)
            };
            if self.decide(dir, ts, frame, out) != Some(true) {
                return self.wants_more(dir);
            }
            // Feed what the probe saw first (from earlier calls and this one), then the rest.
            let seen = self.probe[d];
            self.feed(dir, seen.seen(), ts, frame, out);
            data = data.get(n..).unwrap_or(&[]);
        } else if gap > 0 {
            self.on_gap(dir, gap, ts, frame, out);
        }
        self.feed(dir, data, ts, frame, out);
        self.wants_more(dir)
    }

    /// Acts on a direction's probe verdict: `None` undecided, `Some(true)` feed, `Some(false)`
    /// ignore.
    fn decide(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        frame: u64,
        out: &mut Vec<HttpEvent>,
    ) -> Option<bool> {
        let verdict = self.probe[idx(dir)].verdict;
        let client_verdict = self.probe[0].verdict;
        match (dir, verdict) {
            (_, Probe::NeedMore) => None,
            (Direction::ClientToServer, Probe::Request) => {
                self.mode = HttpMode::Http;
                Some(true)
            }
            (Direction::ClientToServer, _) => {
                self.mode = HttpMode::NotHttp;
                self.client.stop(StreamStatus::NotHttp);
                self.server.stop(StreamStatus::NotHttp);
                Some(false)
            }
            (Direction::ServerToClient, Probe::Response) => {
                self.mode = HttpMode::Http;
                Some(true)
            }
            (Direction::ServerToClient, _) => {
                if client_verdict == Probe::Request {
                    // An HTTP client got something else back: evidence, not a reason to drop
                    // the requests.
                    anomaly(out, Anomaly::BadStatusLine, dir, 0, ts, frame);
                    self.server
                        .stop(StreamStatus::Error(Anomaly::BadStatusLine));
                } else {
                    // The server spoke first, and not HTTP (SMTP, SSH, FTP banners).
                    self.mode = HttpMode::NotHttp;
                    self.client.stop(StreamStatus::NotHttp);
                    self.server.stop(StreamStatus::NotHttp);
                }
                Some(false)
            }
        }
    }

    fn on_gap(
        &mut self,
        dir: Direction,
        gap: u64,
        ts: Timestamp,
        frame: u64,
        out: &mut Vec<HttpEvent>,
    ) {
        if dir == Direction::ClientToServer {
            if let Some(h) = self.held.as_mut() {
                if h.truncated.is_none() {
                    h.truncated = Some(Anomaly::StreamGap);
                    let at = self.client.offset().saturating_add(h.bytes.len() as u64);
                    anomaly(out, Anomaly::StreamGap, dir, at, ts, frame);
                }
                return;
            }
        }
        let reader = match dir {
            Direction::ClientToServer => &mut self.client,
            Direction::ServerToClient => &mut self.server,
        };
        let at = reader.offset();
        if let Some(a) = reader.gap(gap) {
            anomaly(out, a, dir, at, ts, frame);
        }
    }

    fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        frame: u64,
        out: &mut Vec<HttpEvent>,
    ) {
        match dir {
            Direction::ClientToServer => self.feed_client(data, ts, frame, out),
            Direction::ServerToClient => self.feed_server(data, ts, frame, out),
        }
    }

    fn hold(&mut self, data: &[u8], ts: Timestamp, frame: u64, out: &mut Vec<HttpEvent>) {
        let max = self.limits.max_early_data;
        let Some(h) = self.held.as_mut() else {
            return;
        };
        h.ts = ts;
        h.frame = frame;
        if h.truncated.is_some() {
            return;
        }
        let room = max.saturating_sub(h.bytes.len());
        if data.len() > room {
            h.truncated = Some(Anomaly::TunnelEarlyDataTooLong);
            let at = self.client.offset().saturating_add(max as u64);
            anomaly(
                out,
                Anomaly::TunnelEarlyDataTooLong,
                Direction::ClientToServer,
                at,
                ts,
                frame,
            );
        }
        h.bytes
            .extend_from_slice(data.get(..room.min(data.len())).unwrap_or(&[]));
    }

    fn feed_client(&mut self, data: &[u8], ts: Timestamp, frame: u64, out: &mut Vec<HttpEvent>) {
        let mut rest = data;
        // Each head uses at least one byte: the loop ends.
        loop {
            if self.held.is_some() {
                if !rest.is_empty() {
                    self.hold(rest, ts, frame, out);
                }
                return;
            }
            let (n, step) = self.client.step(rest);
            rest = rest.get(n..).unwrap_or(&[]);
            match step {
                Step::NeedMore | Step::Stopped => return,
                Step::Error(a) => {
                    // Where the reader stopped: the same whatever the chunking.
                    let at = self.client.offset();
                    anomaly(out, a, Direction::ClientToServer, at, ts, frame);
                    return;
                }
                Step::Head => self.on_request_head(ts, frame, out),
            }
        }
    }

    fn on_request_head(&mut self, ts: Timestamp, frame: u64, out: &mut Vec<HttpEvent>) {
        let dir = Direction::ClientToServer;
        let start = self.client.head_start();
        let end = self.client.offset();
        let head = match parse_request_head(self.client.head(), &self.limits) {
            Ok(h) => h,
            Err(a) => {
                anomaly(out, a, dir, start, ts, frame);
                self.client.stop(StreamStatus::Error(a));
                return;
            }
        };
        for a in head.anomalies.iter() {
            anomaly(out, a, dir, start, ts, frame);
        }
        if self.started >= self.limits.max_transactions {
            anomaly(out, Anomaly::TooManyTransactions, dir, start, ts, frame);
            self.client.stop(StreamStatus::Limit);
            return;
        }
        let connect = head.method == "CONNECT";
        let absolute = is_absolute_form(head.target);
        self.proxy |= connect || absolute || head.proxy_authorization;
        let mut goproxy = None;
        if matches!(head.method, "GET" | "HEAD") {
            match core::str::from_utf8(head.target).map(parse_goproxy_target) {
                Ok(Ok(g)) => goproxy = g,
                Ok(Err(_)) => anomaly(out, Anomaly::GoProxyBadPath, dir, start, ts, frame),
                Err(_) => {}
            }
        }
        let request = HttpRequest {
            method: text(head.method.as_bytes(), MAX_FIELD_LEN),
            uri: text(head.target, MAX_URI_LEN),
            host: opt_text(head.host),
            user_agent: opt_text(head.user_agent),
            version: head.version,
            ts,
            frame,
            offset: start,
            proxy_authorization: head.proxy_authorization,
            connection: opt_text(head.body.connection),
            content_length: head.body.content_length,
            chunked: head.body.chunked,
        };
        let framing = if connect {
            // The tunnel (or the next request, if refused) follows the head.
            Ok(BodyFraming::None)
        } else {
            request_framing(&head)
        };
        if self.pending.capacity() == 0 {
            // One request at a time is the rule (pipelining grows it): a first push would
            // reserve four (~1 KB for the connection's whole life).
            self.pending.reserve_exact(1);
        }
        self.pending.push_back(Pending {
            index: self.started,
            connect_target: connect.then(|| request.uri.clone()),
            request,
            goproxy,
            head_end: end,
        });
        self.started += 1;
        match framing {
            Ok(f) => self.client.set_body(f),
            Err(a) => {
                anomaly(out, a, dir, start, ts, frame);
                self.client.stop(StreamStatus::Error(a));
            }
        }
        if connect {
            self.held = Some(Held {
                ts,
                frame,
                ..Held::default()
            });
        }
    }

    fn feed_server(&mut self, data: &[u8], ts: Timestamp, frame: u64, out: &mut Vec<HttpEvent>) {
        let mut rest = data;
        loop {
            let (n, step) = self.server.step(rest);
            rest = rest.get(n..).unwrap_or(&[]);
            match step {
                Step::NeedMore | Step::Stopped => return,
                Step::Error(a) => {
                    let at = self.server.offset();
                    anomaly(out, a, Direction::ServerToClient, at, ts, frame);
                    return;
                }
                Step::Head => match self.on_response_head(ts, frame, out) {
                    After::Continue => {}
                    After::ReleaseHeld => {
                        if let Some(h) = self.held.take() {
                            self.feed_client(&h.bytes, h.ts, h.frame, out);
                            if let Some(a) = h.truncated {
                                // Bytes are missing after the held ones: the rest of the
                                // client stream cannot be parsed.
                                self.client.stop(StreamStatus::Error(a));
                                self.held = None;
                            }
                        }
                    }
                    After::Tunnel { offset_client } => {
                        let held = self.held.take().unwrap_or_default();
                        out.push(HttpEvent::TunnelStart(Box::new(TunnelStart {
                            offset_client,
                            offset_server: self.server.offset(),
                            client_early: held.bytes,
                            server_early: rest.to_vec(),
                            client_early_truncated: held.truncated.is_some(),
                            ts,
                            frame,
                        })));
                        self.end(HttpMode::Tunnel);
                        return;
                    }
                    After::Stop => {
                        self.end(HttpMode::Upgraded);
                        return;
                    }
                },
            }
        }
    }

    /// Ends HTTP on the connection (tunnel or upgrade).
    fn end(&mut self, mode: HttpMode) {
        let status = if mode == HttpMode::Tunnel {
            StreamStatus::Tunnel
        } else {
            StreamStatus::Upgraded
        };
        self.mode = mode;
        self.client.stop(status);
        self.server.stop(status);
        self.held = None;
    }

    fn on_response_head(&mut self, ts: Timestamp, frame: u64, out: &mut Vec<HttpEvent>) -> After {
        let dir = Direction::ServerToClient;
        let start = self.server.head_start();
        let head = match parse_response_head(self.server.head(), &self.limits) {
            Ok(h) => h,
            Err(a) => {
                anomaly(out, a, dir, start, ts, frame);
                self.server.stop(StreamStatus::Error(a));
                return After::Continue;
            }
        };
        for a in head.anomalies.iter() {
            anomaly(out, a, dir, start, ts, frame);
        }
        let interim = (100..200).contains(&head.status) && head.status != 101;
        let method = self.pending.front().map(|p| p.request.method.as_str());
        let framing = response_framing(&head, method);
        if interim {
            // 100 Continue and friends: the final response follows.
            self.server.set_body(BodyFraming::None);
            return After::Continue;
        }
        let response = HttpResponse {
            version: head.version,
            status_code: head.status,
            reason: text(head.reason, MAX_FIELD_LEN),
            ts,
            frame,
            offset: start,
            location: opt_text(head.location),
            server: opt_text(head.server),
            content_type: opt_text(head.content_type),
            content_length: head.body.content_length,
            chunked: head.body.chunked,
        };
        let mut head_end = 0;
        let mut tx = match self.pending.pop_front() {
            Some(p) => {
                head_end = p.head_end;
                HttpTransaction {
                    index: p.index,
                    request: Some(p.request),
                    response: Some(response),
                    missing_response: None,
                    goproxy: p.goproxy,
                    connect_target: p.connect_target,
                    tunnel_established: false,
                }
            }
            None => {
                anomaly(out, Anomaly::UnmatchedResponse, dir, start, ts, frame);
                if self.started >= self.limits.max_transactions {
                    anomaly(out, Anomaly::TooManyTransactions, dir, start, ts, frame);
                    self.server.stop(StreamStatus::Limit);
                    return After::Continue;
                }
                self.started += 1;
                HttpTransaction {
                    index: self.started - 1,
                    request: None,
                    response: Some(response),
                    missing_response: None,
                    goproxy: None,
                    connect_target: None,
                    tunnel_established: false,
                }
            }
        };
        let was_connect = tx.connect_target.is_some();
        let after = match framing {
            Ok(BodyFraming::Tunnel) => {
                tx.tunnel_established = true;
                self.server.set_body(BodyFraming::Tunnel);
                After::Tunnel {
                    offset_client: head_end,
                }
            }
            Ok(BodyFraming::Upgrade) => {
                self.server.set_body(BodyFraming::Upgrade);
                After::Stop
            }
            Ok(f) => {
                self.server.set_body(f);
                if was_connect {
                    After::ReleaseHeld
                } else {
                    After::Continue
                }
            }
            Err(a) => {
                anomaly(out, a, dir, start, ts, frame);
                self.server.stop(StreamStatus::Error(a));
                if was_connect {
                    After::ReleaseHeld
                } else {
                    After::Continue
                }
            }
        };
        out.push(HttpEvent::Transaction(Box::new(tx)));
        after
    }

    /// End of input: requests without a response become transactions (with the reason), and
    /// the state stops taking bytes.
    pub fn finish(&mut self, out: &mut Vec<HttpEvent>) {
        let reason = match self.server.status() {
            StreamStatus::Idle | StreamStatus::AwaitingBody => MissingResponse::NoReply,
            StreamStatus::Head => MissingResponse::PartialHead,
            StreamStatus::Body | StreamStatus::BodyBeyondDepth | StreamStatus::BodyUntilClose => {
                MissingResponse::BodyNotSeen
            }
            StreamStatus::Tunnel
            | StreamStatus::Upgraded
            | StreamStatus::NotHttp
            | StreamStatus::Limit
            | StreamStatus::Error(_) => MissingResponse::Unparsed,
        };
        for p in self.pending.drain(..) {
            out.push(HttpEvent::Transaction(Box::new(HttpTransaction {
                index: p.index,
                request: Some(p.request),
                response: None,
                missing_response: Some(reason),
                goproxy: p.goproxy,
                connect_target: p.connect_target,
                tunnel_established: false,
            })));
        }
        if matches!(self.mode, HttpMode::Probing | HttpMode::Http) {
            self.mode = HttpMode::Finished;
        }
        self.held = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ClientToServer as C, ServerToClient as S};

    const TS: Timestamp = Timestamp(1_700_000_000_000_000_000);

    /// Feeds `script` (each segment cut by `split`, which returns a piece length), with the
    /// segment number as the frame, then finishes.
    fn run_with(
        script: &[(Direction, &[u8])],
        limits: HttpLimits,
        mut split: impl FnMut(usize) -> usize,
    ) -> (Vec<HttpEvent>, HttpState) {
        let mut st = HttpState::new(limits);
        let mut out = Vec::new();
        let mut off = [0u64; 2];
        for (frame, (dir, bytes)) in script.iter().enumerate() {
            let mut rest: &[u8] = bytes;
            while !rest.is_empty() {
                let n = split(rest.len()).clamp(1, rest.len());
                let (piece, tail) = rest.split_at(n);
                st.on_data(*dir, off[idx(*dir)], piece, TS, frame as u64 + 1, &mut out);
                off[idx(*dir)] += n as u64;
                rest = tail;
            }
        }
        st.finish(&mut out);
        (out, st)
    }

    fn run(script: &[(Direction, &[u8])]) -> (Vec<HttpEvent>, HttpState) {
        run_with(script, HttpLimits::default(), |n| n)
    }

    fn txs(ev: &[HttpEvent]) -> Vec<&HttpTransaction> {
        ev.iter()
            .filter_map(|e| match e {
                HttpEvent::Transaction(t) => Some(&**t),
                _ => None,
            })
            .collect()
    }

    fn anomalies(ev: &[HttpEvent]) -> Vec<&'static str> {
        ev.iter()
            .filter_map(|e| match e {
                HttpEvent::Anomaly(a) => Some(a.name()),
                _ => None,
            })
            .collect()
    }

    fn tunnel(ev: &[HttpEvent]) -> Option<&TunnelStart> {
        ev.iter().find_map(|e| match e {
            HttpEvent::TunnelStart(t) => Some(&**t),
            _ => None,
        })
    }

    fn pos(hay: &[u8], needle: &[u8]) -> u64 {
        hay.windows(needle.len()).position(|w| w == needle).unwrap() as u64
    }

    fn status(t: &HttpTransaction) -> Option<u16> {
        t.response.as_ref().map(|r| r.status_code)
    }

    const GET_PIPELINED: &[u8] = b"GET /index.html HTTP/1.1\r\n\
        Host: www.example.com\r\n\
        User-Agent: curl/8.5.0\r\n\
        Accept: */*\r\n\r\n\
        GET /favicon.ico HTTP/1.1\r\n\
        Host: www.example.com\r\n\
        User-Agent: curl/8.5.0\r\n\r\n";
    const TWO_RESPONSES: &[u8] = b"HTTP/1.1 200 OK\r\n\
        Server: nginx/1.24.0\r\n\
        Content-Type: text/html\r\n\
        Content-Length: 13\r\n\r\n\
        <html></html>\
        HTTP/1.1 404 Not Found\r\n\
        Server: nginx/1.24.0\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn get_with_body_then_pipelined_second_request() {
        let (ev, st) = run(&[(C, GET_PIPELINED), (S, TWO_RESPONSES)]);
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
        let t = txs(&ev);
        assert_eq!(t.len(), 2);
        let r = t[0].request.as_ref().unwrap();
        assert_eq!(
            (r.method.as_str(), r.uri.as_str(), r.version),
            ("GET", "/index.html", HttpVersion::HTTP_11)
        );
        assert_eq!(r.host.as_deref(), Some("www.example.com"));
        assert_eq!(r.user_agent.as_deref(), Some("curl/8.5.0"));
        assert_eq!((r.ts, r.frame, r.offset), (TS, 1, 0));
        let resp = t[0].response.as_ref().unwrap();
        assert_eq!((resp.status_code, resp.reason.as_str()), (200, "OK"));
        assert_eq!(resp.server.as_deref(), Some("nginx/1.24.0"));
        assert_eq!(resp.content_type.as_deref(), Some("text/html"));
        assert_eq!(
            (resp.content_length, resp.frame, resp.offset),
            (Some(13), 2, 0)
        );
        let r2 = t[1].request.as_ref().unwrap();
        assert_eq!(r2.uri, "/favicon.ico");
        assert_eq!(r2.offset, pos(GET_PIPELINED, b"GET /favicon"));
        assert_eq!(status(t[1]), Some(404));
        assert_eq!(
            t[1].response.as_ref().unwrap().offset,
            pos(TWO_RESPONSES, b"HTTP/1.1 404")
        );
        assert_eq!((t[0].index, t[1].index), (0, 1));
        assert!(t
            .iter()
            .all(|t| t.goproxy.is_none() && !t.tunnel_established));
        assert!(!st.is_proxy());
        assert_eq!(st.mode(), HttpMode::Finished);
    }

    #[test]
    fn one_request_at_a_time_holds_room_for_one() {
        // The Go tool's requests: one at a time on a kept-alive connection.
        let (ev, st) = run(&[
            (C, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            (C, b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
        ]);
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
        assert_eq!(st.pending.capacity(), 1);
    }

    #[test]
    fn keep_alive_request_response_request_response() {
        let (ev, _) = run(&[
            (C, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            (
                C,
                b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
            ),
            (
                S,
                b"HTTP/1.1 201 Created\r\nLocation: /b/1\r\nContent-Length: 0\r\n\r\n",
            ),
            (C, b"GET /c HTTP/1.0\r\n\r\n"),
            (S, b"HTTP/1.0 200 OK\r\n\r\nuntil close"),
        ]);
        let t = txs(&ev);
        let got: Vec<_> = t
            .iter()
            .map(|t| (t.request.as_ref().unwrap().uri.as_str(), status(t)))
            .collect();
        assert_eq!(
            got,
            [("/a", Some(200)), ("/b", Some(201)), ("/c", Some(200))]
        );
        let resp = t[1].response.as_ref().unwrap();
        assert_eq!(resp.location.as_deref(), Some("/b/1"));
        assert_eq!(resp.frame, 4);
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
    }

    const CHUNKED_THEN_CL: &[u8] = b"HTTP/1.1 200 OK\r\n\
        Content-Type: application/json\r\n\
        Transfer-Encoding: chunked\r\n\r\n\
        7\r\n{\"a\":1}\r\n\
        1a;name=value\r\n{\"b\":\"abcdefghijklmnopq\"}!\r\n\
        0\r\n\
        Trailer-Checksum: x\r\n\r\n\
        HTTP/1.1 304 Not Modified\r\n\
        ETag: \"abc\"\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz";

    #[test]
    fn chunked_response_followed_by_another_response() {
        let client = b"GET /a.json HTTP/1.1\r\nHost: api\r\n\r\n\
            GET /b HTTP/1.1\r\nHost: api\r\nIf-None-Match: \"abc\"\r\n\r\n\
            GET /c HTTP/1.1\r\nHost: api\r\n\r\n";
        let (ev, st) = run(&[(C, client), (S, CHUNKED_THEN_CL)]);
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
        let t = txs(&ev);
        assert_eq!(
            t.iter().map(|t| status(t)).collect::<Vec<_>>(),
            [Some(200), Some(304), Some(200)]
        );
        assert!(t[0].response.as_ref().unwrap().chunked);
        assert_eq!(t[2].request.as_ref().unwrap().uri, "/c");
        assert_eq!(st.status(S), StreamStatus::Idle);
    }

    #[test]
    fn chunked_request_body_then_next_request() {
        // An extra CRLF after a body is tolerated (RFC 9112 section 2.2).
        let client = b"POST /api/upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
            4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n\r\n\
            GET /after HTTP/1.1\r\nHost: h\r\n\r\n";
        let server = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let (ev, _) = run(&[(C, client), (S, server)]);
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
        let t = txs(&ev);
        assert!(t[0].request.as_ref().unwrap().chunked);
        assert_eq!(t[1].request.as_ref().unwrap().uri, "/after");
        assert_eq!(status(t[1]), Some(200));
    }

    #[test]
    fn state_and_event_sizes_stay_small() {
        assert!(
            core::mem::size_of::<HttpState>() <= 512,
            "{}",
            core::mem::size_of::<HttpState>()
        );
        assert!(
            core::mem::size_of::<HttpEvent>() <= 48,
            "{}",
            core::mem::size_of::<HttpEvent>()
        );
    }

    /// The realistic exchanges of these tests, as scripts.
    fn scripts() -> Vec<Vec<(Direction, &'static [u8])>> {
        vec![
            vec![(C, GET_PIPELINED), (S, TWO_RESPONSES)],
            vec![
                (
                    C,
                    b"GET /a.json HTTP/1.1\r\nHost: api\r\n\r\nGET /b HTTP/1.1\r\nHost: api\r\n\r\n\
                      GET /c HTTP/1.1\r\nHost: api\r\n\r\n",
                ),
                (S, CHUNKED_THEN_CL),
            ],
            vec![(C, CONNECT), (C, CLIENT_HELLO), (S, CONNECT_OK), (S, SERVER_HELLO)],
            vec![
                (C, CONNECT),
                (S, PROXY_AUTH_REQUIRED),
                (C, CONNECT_WITH_AUTH),
                (S, CONNECT_OK),
                (C, CLIENT_HELLO),
            ],
            vec![(C, GOPROXY_INFO), (S, FORBIDDEN)],
            vec![(C, GOPROXY_PIPELINE), (S, GOPROXY_ANSWERS)],
            vec![(C, HEAD_THEN_GET), (S, HEAD_ANSWERS)],
            vec![(C, NO_BODY_REQUESTS), (S, NO_BODY_ANSWERS)],
            vec![
                (C, b"POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
                (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
                (C, b"data"),
                (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            ],
            vec![
                (C, b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
                (S, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
                (C, b"\x81\x85abcdxxxxx"),
            ],
        ]
    }

    /// Events with the split-dependent part (server bytes given with the tunnel start) cleared.
    fn normalized(mut ev: Vec<HttpEvent>) -> Vec<HttpEvent> {
        for e in &mut ev {
            if let HttpEvent::TunnelStart(t) = e {
                t.server_early.clear();
            }
        }
        ev
    }

    #[test]
    fn byte_by_byte_split_gives_same_result() {
        for script in scripts() {
            let (whole, _) = run(&script);
            assert!(!txs(&whole).is_empty());
            let (bytes, _) = run_with(&script, HttpLimits::default(), |_| 1);
            assert_eq!(normalized(whole.clone()), normalized(bytes), "{script:?}");
            let mut k = 0;
            let (odd, _) = run_with(&script, HttpLimits::default(), |_| {
                k += 1;
                [2, 3, 5, 7, 11][k % 5]
            });
            assert_eq!(normalized(whole), normalized(odd), "{script:?}");
        }
    }

    const CONNECT: &[u8] = b"CONNECT proxy.example:443 HTTP/1.1\r\n\
        Host: proxy.example:443\r\n\
        User-Agent: Go-http-client/1.1\r\n\r\n";
    const CONNECT_WITH_AUTH: &[u8] = b"CONNECT proxy.example:443 HTTP/1.1\r\n\
        Host: proxy.example:443\r\n\
        Proxy-Authorization: Basic dXNlcjpodW50ZXIy\r\n\r\n";
    const CONNECT_OK: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
    const PROXY_AUTH_REQUIRED: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
        Proxy-Authenticate: Basic realm=\"proxy\"\r\n\
        Content-Type: text/plain\r\n\
        Content-Length: 23\r\n\r\n\
        authentication required";
    /// A TLS record header and the start of a ClientHello.
    const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x00\xf8\x01\x00\x00\xf4\x03\x03\x1a\x2b";
    const SERVER_HELLO: &[u8] = b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03";

    #[test]
    fn connect_tunnel_starts_after_the_blank_lines() {
        // The client sends its ClientHello before the proxy answers.
        let mut server = CONNECT_OK.to_vec();
        server.extend_from_slice(SERVER_HELLO);
        let (ev, st) = run(&[(C, CONNECT), (C, CLIENT_HELLO), (S, &server)]);
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
        let t = txs(&ev);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].connect_target.as_deref(), Some("proxy.example:443"));
        assert!(t[0].tunnel_established);
        assert_eq!(status(t[0]), Some(200));
        assert_eq!(
            t[0].response.as_ref().unwrap().reason,
            "Connection established"
        );
        let tun = tunnel(&ev).unwrap();
        assert_eq!(tun.offset_client, CONNECT.len() as u64);
        assert_eq!(tun.offset_server, CONNECT_OK.len() as u64);
        assert_eq!(tun.client_early, CLIENT_HELLO);
        assert_eq!(tun.server_early, SERVER_HELLO);
        assert!(!tun.client_early_truncated);
        assert!(st.is_proxy());
        assert_eq!(st.mode(), HttpMode::Tunnel);
        // The transaction comes before the tunnel start.
        assert!(matches!(ev[0], HttpEvent::Transaction(_)));
    }

    #[test]
    fn after_the_tunnel_http_wants_nothing() {
        let mut st = HttpState::new(HttpLimits::default());
        let mut out = Vec::new();
        assert!(st.on_data(C, 0, CONNECT, TS, 1, &mut out));
        // HTTP is over with the answer: the caller routes later bytes to the tunnel's parser.
        assert!(!st.on_data(S, 0, CONNECT_OK, TS, 2, &mut out));
        let tun = tunnel(&out).unwrap();
        assert!(tun.client_early.is_empty() && tun.server_early.is_empty());
        let n = out.len();
        assert!(!st.on_data(C, CONNECT.len() as u64, CLIENT_HELLO, TS, 3, &mut out));
        assert!(!st.on_data(S, CONNECT_OK.len() as u64, SERVER_HELLO, TS, 4, &mut out));
        assert!(!st.wants_more(C) && !st.wants_more(S));
        assert_eq!(out.len(), n);
        st.finish(&mut out);
        assert_eq!(out.len(), n);
    }

    #[test]
    fn early_tunnel_data_is_capped() {
        let early = vec![0x17u8; 20_000];
        let (ev, _) = run(&[(C, CONNECT), (C, &early), (S, CONNECT_OK)]);
        assert_eq!(anomalies(&ev), ["http_tunnel_early_data_too_long"]);
        let tun = tunnel(&ev).unwrap();
        assert_eq!(tun.client_early.len(), 16 * 1024);
        assert!(tun.client_early_truncated);

        // A hole in the held bytes: only the prefix before it is kept.
        let mut st = HttpState::new(HttpLimits::default());
        let mut out = Vec::new();
        let at = CONNECT.len() as u64;
        st.on_data(C, 0, CONNECT, TS, 1, &mut out);
        st.on_data(C, at, b"abc", TS, 2, &mut out);
        st.on_data(C, at + 10, b"xyz", TS, 3, &mut out);
        st.on_data(S, 0, CONNECT_OK, TS, 4, &mut out);
        assert_eq!(anomalies(&out), ["http_stream_gap"]);
        let tun = tunnel(&out).unwrap();
        assert_eq!(
            (tun.client_early.as_slice(), tun.client_early_truncated),
            (&b"abc"[..], true)
        );
    }

    #[test]
    fn connect_refused_with_407_then_retried_with_credentials() {
        let (ev, st) = run(&[
            (C, CONNECT),
            (S, PROXY_AUTH_REQUIRED),
            (C, CONNECT_WITH_AUTH),
            (S, CONNECT_OK),
            (C, CLIENT_HELLO),
        ]);
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
        let t = txs(&ev);
        assert_eq!(t.len(), 2);
        assert_eq!(status(t[0]), Some(407));
        assert!(!t[0].tunnel_established);
        assert!(!t[0].request.as_ref().unwrap().proxy_authorization);
        assert_eq!(status(t[1]), Some(200));
        assert!(t[1].tunnel_established);
        assert!(t[1].request.as_ref().unwrap().proxy_authorization);
        assert!(!format!("{ev:?}").contains("dXNlcjpodW50ZXIy"));
        let tun = tunnel(&ev).unwrap();
        assert_eq!(
            tun.offset_client,
            (CONNECT.len() + CONNECT_WITH_AUTH.len()) as u64
        );
        assert_eq!(
            tun.offset_server,
            (PROXY_AUTH_REQUIRED.len() + CONNECT_OK.len()) as u64
        );
        assert_eq!(st.mode(), HttpMode::Tunnel);
    }

    #[test]
    fn connect_answered_407_only() {
        let (ev, st) = run(&[(C, CONNECT), (S, PROXY_AUTH_REQUIRED)]);
        let t = txs(&ev);
        assert_eq!(t.len(), 1);
        assert_eq!(status(t[0]), Some(407));
        assert_eq!(t[0].connect_target.as_deref(), Some("proxy.example:443"));
        assert!(tunnel(&ev).is_none());
        assert!(st.is_proxy());
        assert_eq!(st.status(S), StreamStatus::Idle);
    }

    #[test]
    fn refused_connect_releases_pipelined_request() {
        // A request sent after the CONNECT, before its answer, is parsed once it is refused.
        let mut client = CONNECT.to_vec();
        client.extend_from_slice(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
        let mut server = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec();
        server.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let (ev, _) = run(&[(C, &client), (S, &server)]);
        let t = txs(&ev);
        assert_eq!(t.len(), 2);
        assert_eq!(status(t[0]), Some(403));
        assert_eq!(t[1].request.as_ref().unwrap().uri, "http://example.com/");
        assert_eq!(status(t[1]), Some(200));
    }

    const GOPROXY_INFO: &[u8] = b"GET /github.com/!burnt!sushi/toml/@v/v1.3.2.info HTTP/1.1\r\n\
        Host: proxy.golang.org\r\n\
        User-Agent: Go-http-client/1.1\r\n\
        Accept-Encoding: gzip\r\n\r\n";
    const FORBIDDEN: &[u8] = b"HTTP/1.1 403 Forbidden\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Length: 9\r\n\r\nForbidden";

    #[test]
    fn goproxy_info_answered_403() {
        let (ev, _) = run(&[(C, GOPROXY_INFO), (S, FORBIDDEN)]);
        let t = txs(&ev);
        assert_eq!(t.len(), 1);
        let g = t[0].goproxy.as_ref().unwrap();
        assert_eq!(g.kind, crate::http::GoProxyKind::Info);
        assert_eq!(g.module.as_deref(), Some("github.com/BurntSushi/toml"));
        assert_eq!(g.version.as_deref(), Some("v1.3.2"));
        let r = t[0].response.as_ref().unwrap();
        assert_eq!((r.status_code, r.reason.as_str()), (403, "Forbidden"));
        assert_eq!(r.content_type.as_deref(), Some("text/plain; charset=utf-8"));
    }

    const GOPROXY_PIPELINE: &[u8] = b"GET /sumdb/sum.golang.org/supported HTTP/1.1\r\n\
        Host: goproxy.internal\r\n\r\n\
        GET /sumdb/sum.golang.org/lookup/golang.org/x/text@v0.14.0 HTTP/1.1\r\n\
        Host: goproxy.internal\r\n\r\n\
        GET /golang.org/x/text/@latest HTTP/1.1\r\n\
        Host: goproxy.internal\r\n\r\n";
    const GOPROXY_ANSWERS: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n\
        21226111\n...\
        HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn goproxy_sumdb_and_latest_requests() {
        use crate::http::GoProxyKind::*;
        let (ev, _) = run(&[(C, GOPROXY_PIPELINE), (S, GOPROXY_ANSWERS)]);
        let t = txs(&ev);
        let got: Vec<_> = t
            .iter()
            .map(|t| {
                let g = t.goproxy.as_ref().unwrap();
                (
                    g.kind,
                    g.module.as_deref(),
                    g.version.as_deref(),
                    g.sumdb.as_deref(),
                    status(t),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    SumdbSupported,
                    None,
                    None,
                    Some("sum.golang.org"),
                    Some(200)
                ),
                (
                    SumdbLookup,
                    Some("golang.org/x/text"),
                    Some("v0.14.0"),
                    Some("sum.golang.org"),
                    Some(200)
                ),
                (Latest, Some("golang.org/x/text"), None, None, Some(404)),
            ]
        );
    }

    #[test]
    fn absolute_form_with_base_path_is_a_proxy_request() {
        let req = b"GET http://proxy.example/goproxy/golang.org/x/text/@v/list HTTP/1.1\r\n\
            Host: proxy.example\r\n\r\n";
        let (ev, st) = run(&[
            (C, req),
            (
                S,
                b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nv0.13.0\nv0.14.0\n",
            ),
        ]);
        assert!(st.is_proxy());
        let t = txs(&ev);
        let g = t[0].goproxy.as_ref().unwrap();
        assert_eq!(g.kind, crate::http::GoProxyKind::List);
        assert_eq!(g.module.as_deref(), Some("golang.org/x/text"));
        assert_eq!(g.base.as_deref(), Some("/goproxy"));
        assert_eq!(status(t[0]), Some(200));
    }

    #[test]
    fn bad_goproxy_escape_is_an_anomaly() {
        let (ev, _) = run(&[(
            C,
            b"GET /github.com/!!x/@v/list HTTP/1.1\r\nHost: p\r\n\r\n",
        )]);
        assert_eq!(anomalies(&ev), ["http_goproxy_bad_path"]);
        assert!(txs(&ev)[0].goproxy.is_none());
    }

    const HEAD_THEN_GET: &[u8] = b"HEAD /big.iso HTTP/1.1\r\nHost: mirror\r\n\r\n\
        GET /small HTTP/1.1\r\nHost: mirror\r\n\r\n";
    const HEAD_ANSWERS: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4700000000\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

    #[test]
    fn head_response_with_content_length_has_no_body() {
        let (ev, st) = run(&[(C, HEAD_THEN_GET), (S, HEAD_ANSWERS)]);
        let t = txs(&ev);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0].response.as_ref().unwrap().content_length,
            Some(4_700_000_000)
        );
        assert_eq!(t[1].request.as_ref().unwrap().uri, "/small");
        assert_eq!(status(t[1]), Some(200));
        assert_eq!(st.status(S), StreamStatus::Idle);
    }

    const NO_BODY_REQUESTS: &[u8] = b"DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n\
        GET /y HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n\r\n\
        GET /z HTTP/1.1\r\nHost: h\r\n\r\n";
    const NO_BODY_ANSWERS: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n\
        HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz";

    #[test]
    fn no_body_for_204_and_304() {
        let (ev, _) = run(&[(C, NO_BODY_REQUESTS), (S, NO_BODY_ANSWERS)]);
        let t = txs(&ev);
        assert_eq!(
            t.iter().map(|t| status(t)).collect::<Vec<_>>(),
            [Some(204), Some(304), Some(200)]
        );
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
    }

    #[test]
    fn interim_100_continue_is_not_the_answer() {
        let (ev, _) = run(&scripts()[8]);
        let t = txs(&ev);
        assert_eq!(t.len(), 1);
        assert_eq!(status(t[0]), Some(200));
        assert_eq!(t[0].response.as_ref().unwrap().frame, 4);
    }

    #[test]
    fn switching_protocols_ends_http() {
        let (ev, st) = run(&scripts()[9]);
        let t = txs(&ev);
        assert_eq!(status(t[0]), Some(101));
        assert_eq!(st.mode(), HttpMode::Upgraded);
        assert!(tunnel(&ev).is_none());
        assert_eq!(anomalies(&ev), Vec::<&str>::new());
    }

    #[test]
    fn header_too_long_is_an_anomaly_not_a_panic() {
        let mut req = b"GET / HTTP/1.1\r\nHost: h\r\nCookie: ".to_vec();
        req.resize(20_000, b'a');
        req.extend_from_slice(b"\r\n\r\n");
        let resp = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";
        for piece in [1, 1460, 100_000] {
            let (ev, st) = run_with(&[(C, &req), (S, resp)], HttpLimits::default(), |_| piece);
            assert_eq!(
                anomalies(&ev),
                ["http_header_too_long", "http_unmatched_response"]
            );
            match ev.first() {
                Some(HttpEvent::Anomaly(a)) => assert_eq!(a.offset, 16 * 1024),
                other => panic!("{other:?}"),
            }
            let t = txs(&ev);
            assert!(t[0].request.is_none());
            assert_eq!(status(t[0]), Some(431));
            assert_eq!(st.status(C), StreamStatus::Error(Anomaly::HeaderTooLong));
        }
    }

    #[test]
    fn unanswered_requests_are_flushed_at_finish_with_a_reason() {
        let (ev, _) = run(&[(C, b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")]);
        let t = txs(&ev);
        assert_eq!(t.len(), 1);
        assert!(t[0].response.is_none());
        assert_eq!(t[0].missing_response, Some(MissingResponse::NoReply));

        // The first body runs past the depth: the second answer cannot be seen.
        let limits = HttpLimits {
            stream_depth: 4096,
            ..HttpLimits::default()
        };
        let (ev, st) = run_with(
            &[
                (
                    C,
                    b"GET /big HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
                ),
                (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nxxxx"),
            ],
            limits,
            |n| n,
        );
        let t = txs(&ev);
        assert_eq!(status(t[0]), Some(200));
        assert_eq!(t[1].missing_response, Some(MissingResponse::BodyNotSeen));
        assert_eq!(st.status(S), StreamStatus::BodyBeyondDepth);

        // A partial response head.
        let (ev, _) = run(&[
            (C, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-"),
        ]);
        assert_eq!(
            txs(&ev)[0].missing_response,
            Some(MissingResponse::PartialHead)
        );
    }

    #[test]
    fn request_body_beyond_depth_stops_the_client_direction() {
        let limits = HttpLimits {
            stream_depth: 1024,
            ..HttpLimits::default()
        };
        let mut st = HttpState::new(limits);
        let mut out = Vec::new();
        let req = b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\nabc";
        assert!(!st.on_data(C, 0, req, TS, 1, &mut out));
        assert_eq!(st.status(C), StreamStatus::BodyBeyondDepth);
        assert!(st.on_data(S, 0, b"HTTP/1.1 100 Continue\r\n\r\n", TS, 2, &mut out));
    }

    #[test]
    fn not_http_is_left_alone() {
        let mut st = HttpState::new(HttpLimits::default());
        let mut out = Vec::new();
        // A ClientHello arriving one byte at a time: undecided, then not HTTP.
        assert!(st.on_data(C, 0, &CLIENT_HELLO[..0], TS, 1, &mut out));
        assert!(!st.on_data(C, 0, &CLIENT_HELLO[..1], TS, 1, &mut out));
        assert_eq!(st.mode(), HttpMode::NotHttp);
        assert!(!st.on_data(S, 0, SERVER_HELLO, TS, 2, &mut out));
        st.finish(&mut out);
        assert!(out.is_empty());

        // A server banner before any client byte.
        let (ev, st) = run(&[(S, b"SSH-2.0-OpenSSH_9.6\r\n"), (C, b"SSH-2.0-Go\r\n")]);
        assert!(ev.is_empty());
        assert_eq!(st.status(C), StreamStatus::NotHttp);

        // Undecided until enough bytes come.
        let mut st = HttpState::new(HttpLimits::default());
        assert!(st.on_data(C, 0, b"GE", TS, 1, &mut out));
        assert_eq!(st.mode(), HttpMode::Probing);
        assert!(st.on_data(C, 2, b"T / HTTP/1.1\r\nHost: h\r\n\r\n", TS, 2, &mut out));
        assert_eq!(st.mode(), HttpMode::Http);
    }

    #[test]
    fn http_client_answered_with_something_else() {
        let (ev, _) = run(&[
            (C, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"\x15\x03\x03\x00\x02\x02\x46"),
        ]);
        assert_eq!(anomalies(&ev), ["http_bad_status_line"]);
        assert_eq!(
            txs(&ev)[0].missing_response,
            Some(MissingResponse::Unparsed)
        );
    }

    #[test]
    fn transactions_are_capped() {
        let one = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
        let client: Vec<u8> = one.iter().copied().cycle().take(one.len() * 70).collect();
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let server: Vec<u8> = ok.iter().copied().cycle().take(ok.len() * 70).collect();
        let (ev, _) = run(&[(C, &client), (S, &server)]);
        let t = txs(&ev);
        assert_eq!(t.len(), 64);
        assert!(t.iter().all(|t| status(t) == Some(200)));
        assert_eq!(anomalies(&ev)[0], "http_too_many_transactions");
        // Answers beyond the cap have no request: one more anomaly and the server stops.
        assert_eq!(
            anomalies(&ev)[1..],
            ["http_unmatched_response", "http_too_many_transactions"]
        );
    }

    #[test]
    fn overlapping_and_repeated_chunks_are_trimmed() {
        let mut st = HttpState::new(HttpLimits::default());
        let mut out = Vec::new();
        let req = GOPROXY_INFO;
        st.on_data(C, 0, &req[..30], TS, 1, &mut out);
        st.on_data(C, 0, &req[..30], TS, 2, &mut out);
        st.on_data(C, 20, &req[20..], TS, 3, &mut out);
        st.on_data(S, 0, FORBIDDEN, TS, 4, &mut out);
        let t = txs(&out);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].request.as_ref().unwrap().frame, 3);
        assert!(anomalies(&out).is_empty());
    }

    #[test]
    fn gap_outside_a_body_stops_the_direction() {
        let mut st = HttpState::new(HttpLimits::default());
        let mut out = Vec::new();
        st.on_data(C, 0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", TS, 1, &mut out);
        st.on_data(C, 100, b"GET /b HTTP/1.1\r\n\r\n", TS, 2, &mut out);
        assert_eq!(anomalies(&out), ["http_stream_gap"]);
        assert!(!st.wants_more(C));
    }

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"\r\n\r\n",
        b"\n",
        b" ",
        b":",
        b"0\r\n\r\n",
        b"ffffffffffffffff\r\n",
        b"Content-Length: 99999\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"CONNECT a:1 HTTP/1.1\r\n\r\n",
        b"GET /x.org/!a/@v/list HTTP/1.1\r\n",
        b"!",
        b"%",
        b"\xff\xfe",
    ];

    fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + rng.below(6) {
            let at = rng.below(v.len() + 1);
            match rng.below(7) {
                0 if !v.is_empty() => {
                    let i = rng.below(v.len());
                    v[i] = rng.next() as u8;
                }
                1 => {
                    let t = TOKENS[rng.below(TOKENS.len())];
                    v.splice(at..at, t.iter().copied());
                }
                2 => {
                    let end = (at + rng.below(40)).min(v.len());
                    v.drain(at..end);
                }
                3 => {
                    let end = (at + rng.below(200)).min(v.len());
                    let dup = v[at..end].to_vec();
                    v.splice(at..at, dup);
                }
                4 if !v.is_empty() => {
                    let i = rng.below(v.len());
                    v[i] ^= 1 << rng.below(8);
                }
                5 => {
                    // A long run, to reach the limits.
                    let b = [b'a', b'\r', b'\n', b'0', b' '][rng.below(5)];
                    v.splice(at..at, std::iter::repeat_n(b, rng.below(20_000)));
                }
                _ => {}
            }
        }
        v
    }

    #[test]
    fn mutated_exchanges_do_not_panic_and_memory_stays_bounded() {
        let seeds = scripts();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut total_tx = 0usize;
        for case in 0..20_000 {
            let script = &seeds[case % seeds.len()];
            let mut segs: Vec<(Direction, Vec<u8>)> = script
                .iter()
                .map(|(d, b)| {
                    (
                        *d,
                        if rng.below(3) == 0 {
                            b.to_vec()
                        } else {
                            mutate(&mut rng, b)
                        },
                    )
                })
                .collect();
            if rng.below(10) == 0 && segs.len() > 1 {
                let i = rng.below(segs.len());
                let j = rng.below(segs.len());
                segs.swap(i, j);
            }
            if rng.below(20) == 0 {
                // Many repetitions: transaction and pending limits.
                let (d, b) = segs[0].clone();
                segs.insert(1, (d, b.repeat(80)));
            }
            let limits = HttpLimits {
                stream_depth: [0, 0, 64, 512, 4096][rng.below(5)],
                max_header_bytes: [16 * 1024, 16 * 1024, 64][rng.below(3)],
                max_early_data: [16 * 1024, 8][rng.below(2)],
                ..HttpLimits::default()
            };
            let input_len: usize = segs.iter().map(|(_, b)| b.len()).sum();
            let bound = 3 * limits.max_header_bytes
                + limits.max_early_data
                + 64 * core::mem::size_of::<Pending>()
                + 8 * input_len;
            let mut st = HttpState::new(limits);
            let mut out = Vec::new();
            let mut off = [0u64; 2];
            for (frame, (dir, bytes)) in segs.iter().enumerate() {
                let mut rest: &[u8] = bytes;
                while !rest.is_empty() {
                    let n = match rng.below(4) {
                        0 => 1,
                        1 => 1 + rng.below(16),
                        _ => rest.len(),
                    }
                    .min(rest.len());
                    let d = idx(*dir);
                    // Occasional repeats and holes.
                    let at = match rng.below(50) {
                        0 => off[d].saturating_sub(rng.below(8) as u64),
                        1 => off[d] + rng.below(8) as u64,
                        _ => off[d],
                    };
                    st.on_data(*dir, at, &rest[..n], TS, frame as u64, &mut out);
                    off[d] = at + n as u64;
                    rest = &rest[n..];
                    assert!(
                        st.heap_bytes() <= bound,
                        "case {case}: {} > {bound}",
                        st.heap_bytes()
                    );
                }
            }
            st.finish(&mut out);
            let t = txs(&out);
            assert!(t.len() <= limits.max_transactions as usize, "case {case}");
            assert!(
                out.len() <= 8 * limits.max_transactions as usize + input_len,
                "case {case}"
            );
            total_tx += t.len();
        }
        // The mutations leave most exchanges parseable.
        assert!(total_tx > 20_000, "{total_tx}");
    }
}
