//! HTTP/1.x: detection by content, bounded head parsing, body skipping, request/response
//! pairing, CONNECT tunnel hand-off, and Go module proxy request decoding.
//!
//! - [`parse`]: pure functions on bytes ([`probe`], [`parse::parse_request_head`],
//!   [`parse::parse_response_head`], body framing) and the per-direction
//!   [`parse::MessageReader`] that finds heads and skips bodies (bounded, no body is kept).
//! - [`goproxy`]: Go module proxy protocol paths ([`parse_goproxy_target`]).
//! - [`state`]: [`HttpState`], one per TCP connection: fed the reassembled bytes of both
//!   directions, it pairs responses with requests and pushes [`HttpEvent`]s.
//!
//! The module sees bytes only (never packets or flows): the engine's stream handler maps its
//! direction to [`Direction`] and hands over `(offset, bytes)` chunks.
//!
//! ```
//! use tidysniff_core::http::{Direction, HttpEvent, HttpLimits, HttpState};
//! use tidysniff_core::time::Timestamp;
//!
//! let mut http = HttpState::new(HttpLimits::default());
//! let mut out = Vec::new();
//! let ts = Timestamp::from_secs_micros(1_700_000_000, 0);
//! let req = b"GET /github.com/!burnt!sushi/toml/@v/v1.3.2.info HTTP/1.1\r\n\
//!             Host: proxy.golang.org\r\n\r\n";
//! http.on_data(Direction::ClientToServer, 0, req, ts, 4, &mut out);
//! http.on_data(Direction::ServerToClient, 0, b"HTTP/1.1 403 Forbidden\r\n\r\n", ts, 5, &mut out);
//! let HttpEvent::Transaction(tx) = &out[0] else { panic!() };
//! let gp = tx.goproxy.as_ref().unwrap();
//! assert_eq!(gp.module.as_deref(), Some("github.com/BurntSushi/toml"));
//! assert_eq!(tx.response.as_ref().unwrap().status_code, 403);
//! ```

pub mod goproxy;
pub mod parse;
pub mod state;

pub use goproxy::{parse_goproxy_target, GoProxyError, GoProxyKind, GoProxyRequest};
pub use parse::{probe, probe_prefix, Anomaly, HttpLimits, HttpVersion, Probe, StreamStatus};
pub use state::{
    Direction, HttpAnomaly, HttpEvent, HttpMode, HttpRequest, HttpResponse, HttpState,
    HttpTransaction, MissingResponse, TunnelStart,
};
