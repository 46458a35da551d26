//! The application layer: routes reassembled TCP bytes and UDP datagrams to the DNS, TLS and HTTP
//! parsers (detected by content, DNS by port) and turns what they find into events.
//!
//! It is a [`StreamHandler`]: build one with [`AppLayer::new`] and give it to
//! [`Engine::with_stream_handler`](crate::engine::Engine::with_stream_handler) with
//! [`EngineConfig::stream_depth`](crate::engine::EngineConfig::stream_depth) set (see
//! [`DEFAULT_STREAM_DEPTH`]). State is per connection and dropped when the connection ends.

use std::net::SocketAddr;

use crate::dns::{
    self, DnsConfig, DnsTcpFramer, DnsTracker, DnsTransaction, IpFacts, PacketMeta, TcpFrame,
};
use crate::engine::{ConnState, Datagram, StreamCtx, StreamHandler};
use crate::event::{ConnRecord, EndReason, Event, EventKind};
use crate::flow::{Dir, Endpoint, Uid};
use crate::http::{self, HttpEvent, HttpLimits, HttpState};
use crate::time::Timestamp;
use crate::tls::{self, EndHow, TlsState};

/// Bytes of each TCP direction the parsers see: a ClientHello with a post-quantum key share
/// (about 1.8 KB), a TLS 1.2 certificate chain (often 3-6 KB) and HTTP headers fit.
pub const DEFAULT_STREAM_DEPTH: u32 = 32 * 1024;

/// Ports DNS is parsed on over UDP. Multicast DNS and LLMNR are left out: their answers come from
/// the responding host, not the multicast address asked, so transactions would never pair.
const DNS_PORTS: [u16; 1] = [53];

/// Ports DNS is parsed on over TCP (unicast, so mDNS/LLMNR ports pair fine there).
const DNS_TCP_PORTS: [u16; 3] = [53, 5353, 5355];

/// DoH resolvers recognized by server name (kept as data: `app/doh_servers.txt`).
const DOH_SERVERS: &str = include_str!("doh_servers.txt");

/// Whether a TLS connection to `port` with server name `sni` carries encrypted DNS: `"dot"` (DNS
/// over TLS, TCP 853) or `"doh"` (DNS over HTTPS to a well-known resolver). Lookups made this way
/// cannot be read from the capture, and a later analysis must know they happened.
pub fn encrypted_dns(port: u16, sni: Option<&str>) -> Option<&'static str> {
    if port == 853 {
        return Some("dot");
    }
    let sni = sni?.trim_end_matches('.');
    let listed = doh_servers().iter().any(|l| match l.strip_prefix('.') {
        Some(suffix) => ends_with_ignore_case(sni, l) || sni.eq_ignore_ascii_case(suffix),
        None => sni.eq_ignore_ascii_case(l),
    });
    listed.then_some("doh")
}

/// The entries of [`DOH_SERVERS`], read once.
fn doh_servers() -> &'static [&'static str] {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        DOH_SERVERS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// `s` ends with `suffix`, ASCII case ignored.
fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len()
        .checked_sub(suffix.len())
        .and_then(|start| s.as_bytes().get(start..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
}

/// Application layer settings.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Bytes of each TCP direction given to the parsers (also set it in the engine config).
    pub stream_depth: u32,
    /// DNS transaction limits.
    pub dns: DnsConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            stream_depth: DEFAULT_STREAM_DEPTH,
            dns: DnsConfig::default(),
        }
    }
}

/// A connection's parser, in one allocation (the engine's [`ConnState`] box holds it directly:
/// a packet reaches its parser state with one pointer). The variants differ in size on purpose:
/// boxing the large one again would put back the pointer chase this layout removes.
#[allow(clippy::large_enum_variant)]
enum Parser {
    Tls(TlsState),
    /// HTTP, and TLS inside a CONNECT tunnel once it is established (with the stream offsets,
    /// client and server, where the tunnel starts).
    Http(HttpState, Option<(Box<TlsState>, [u64; 2])>),
    DnsTcp([DnsTcpFramer; 2]),
}

/// The state of a connection whose bytes are not a protocol we parse: zero-sized, so its box
/// allocates nothing.
struct NotParsed;

/// The application layer (see the module docs).
pub struct AppLayer {
    cfg: AppConfig,
    dns: DnsTracker,
    dns_out: Vec<DnsTransaction>,
    http_out: Vec<HttpEvent>,
}

fn weird(ctx: &StreamCtx, name: &'static str) -> Event {
    Event {
        ts: ctx.ts,
        frame: ctx.frame,
        uid: Some(ctx.uid),
        dir: ctx.dir,
        kind: EventKind::Weird { name },
    }
}

fn sock(e: Endpoint) -> SocketAddr {
    SocketAddr::new(e.addr, e.port)
}

fn tls_dir(d: Dir) -> tls::Direction {
    match d {
        Dir::Orig => tls::Direction::ToServer,
        Dir::Resp => tls::Direction::ToClient,
    }
}

fn http_dir(d: Dir) -> http::Direction {
    match d {
        Dir::Orig => http::Direction::ClientToServer,
        Dir::Resp => http::Direction::ServerToClient,
    }
}

impl AppLayer {
    /// A new application layer.
    pub fn new(cfg: AppConfig) -> Self {
        AppLayer {
            dns: DnsTracker::new(cfg.dns),
            cfg,
            dns_out: Vec::new(),
            http_out: Vec::new(),
        }
    }

    /// One DNS message from `src` to `dst`: its anomalies as weirds, then the tracker.
    fn dns_message(
        &mut self,
        ctx: &StreamCtx,
        src: Endpoint,
        dst: Endpoint,
        ip: IpFacts,
        msg: dns::Message,
        out: &mut Vec<Event>,
    ) {
        out.extend(msg.anomalies.iter().map(|a| weird(ctx, a.name())));
        let meta = PacketMeta {
            ts: ctx.ts,
            frame: ctx.frame,
            conn: ctx.uid.0,
        };
        self.dns
            .on_message(meta, sock(src), sock(dst), ip, msg, &mut self.dns_out);
        self.emit_dns(out);
    }

    fn emit_dns(&mut self, out: &mut Vec<Event>) {
        for tx in self.dns_out.drain(..) {
            let (ts, frame) = match (&tx.query, tx.responses.first()) {
                (Some(q), _) => (q.ts, q.frame),
                (None, Some(r)) => (r.ts, r.frame),
                (None, None) => (Timestamp::default(), 0),
            };
            out.push(Event {
                ts,
                frame,
                uid: Some(Uid(tx.conn)),
                dir: Dir::Orig,
                kind: EventKind::Dns(Box::new(tx)),
            });
        }
    }

    fn emit_http(
        http_out: &mut Vec<HttpEvent>,
        ctx: &StreamCtx,
        out: &mut Vec<Event>,
    ) -> Option<Box<http::TunnelStart>> {
        let mut tunnel = None;
        for ev in http_out.drain(..) {
            match ev {
                HttpEvent::Transaction(tx) => out.push(Event {
                    ts: ctx.ts,
                    frame: ctx.frame,
                    uid: Some(ctx.uid),
                    dir: ctx.dir,
                    kind: EventKind::Http {
                        orig: ctx.orig,
                        resp: ctx.resp,
                        tx,
                    },
                }),
                HttpEvent::TunnelStart(t) => tunnel = Some(t),
                HttpEvent::Anomaly(a) => out.push(Event {
                    ts: a.ts,
                    frame: a.frame,
                    uid: Some(ctx.uid),
                    dir: ctx.dir,
                    kind: EventKind::Weird {
                        name: a.anomaly.name(),
                    },
                }),
            }
        }
        tunnel
    }

    /// The parser for a connection whose first bytes (of either side) are `data`.
    fn probe(&self, ctx: &StreamCtx, offset: u64, data: &[u8]) -> Box<dyn core::any::Any + Send> {
        // Either port: a capture that starts mid-connection may have the sides reversed.
        if DNS_TCP_PORTS.contains(&ctx.resp.port) || DNS_TCP_PORTS.contains(&ctx.orig.port) {
            Box::new(Parser::DnsTcp(Default::default()))
        } else if tls::probe(data) {
            let mut t = TlsState::new();
            if offset > 0 || ctx.dir == Dir::Resp {
                t.set_midstream();
            }
            Box::new(Parser::Tls(t))
        } else if !matches!(http::probe_prefix(data), http::Probe::NotHttp) {
            let limits = HttpLimits {
                stream_depth: u64::from(self.cfg.stream_depth),
                ..HttpLimits::default()
            };
            Box::new(Parser::Http(HttpState::new(limits), None))
        } else {
            Box::new(NotParsed)
        }
    }
}

impl StreamHandler for AppLayer {
    fn on_data(
        &mut self,
        ctx: StreamCtx,
        state: &mut ConnState,
        offset: u64,
        data: &[u8],
        out: &mut Vec<Event>,
    ) -> bool {
        if state.is_none() {
            *state = Some(self.probe(&ctx, offset, data));
        }
        let Some(parser) = state.as_mut().and_then(|b| b.downcast_mut::<Parser>()) else {
            return false;
        };
        match parser {
            Parser::Tls(t) => t.on_data(tls_dir(ctx.dir), offset, data, ctx.ts),
            Parser::DnsTcp(framers) => {
                let mut msgs: Vec<Result<dns::Message, &'static str>> = Vec::new();
                framers[ctx.dir.index()].push(offset, data, |f| match f {
                    TcpFrame::Message(m) => match dns::parse_message(m) {
                        Ok(msg) => msgs.push(Ok(msg)),
                        Err(e) => msgs.push(Err(e.name())),
                    },
                    TcpFrame::Anomaly(a) => msgs.push(Err(a.name())),
                });
                let (src, dst) = match ctx.dir {
                    Dir::Orig => (ctx.orig, ctx.resp),
                    Dir::Resp => (ctx.resp, ctx.orig),
                };
                for m in msgs {
                    match m {
                        // TCP: the per-packet IP facts of a reassembled message are not kept.
                        Ok(msg) => self.dns_message(&ctx, src, dst, IpFacts::default(), msg, out),
                        Err(name) => out.push(weird(&ctx, name)),
                    }
                }
                self.emit_dns(out);
                true
            }
            Parser::Http(h, tunnel) => {
                if let Some((t, base)) = tunnel {
                    // The tunnel's stream starts at its own offset 0.
                    let b = base[ctx.dir.index()];
                    let skip = usize::try_from(b.saturating_sub(offset)).unwrap_or(usize::MAX);
                    let Some(rest) = data.get(skip.min(data.len())..) else {
                        return true;
                    };
                    return t.on_data(tls_dir(ctx.dir), offset.max(b) - b, rest, ctx.ts);
                }
                let more = h.on_data(
                    http_dir(ctx.dir),
                    offset,
                    data,
                    ctx.ts,
                    ctx.frame,
                    &mut self.http_out,
                );
                if let Some(start) = Self::emit_http(&mut self.http_out, &ctx, out) {
                    // The tunnel's bytes are TLS (the Go tool's HTTPS_PROXY): hand the rest over.
                    let mut t = TlsState::new();
                    let base = [start.offset_client, start.offset_server];
                    t.on_data(tls::Direction::ToServer, 0, &start.client_early, ctx.ts);
                    t.on_data(tls::Direction::ToClient, 0, &start.server_early, ctx.ts);
                    *tunnel = Some((Box::new(t), base));
                    return true;
                }
                more
            }
        }
    }

    fn on_datagram(&mut self, d: &Datagram<'_>, out: &mut Vec<Event>) {
        if !DNS_PORTS.contains(&d.src.port) && !DNS_PORTS.contains(&d.dst.port) {
            return;
        }
        match dns::parse_message(d.payload) {
            Ok(msg) => {
                let ip = IpFacts {
                    ttl: d.ip.ttl,
                    ip_id: d.ip.ip_id,
                    df: d.ip.df,
                };
                self.dns_message(&d.ctx, d.src, d.dst, ip, msg, out);
            }
            Err(e) => out.push(weird(&d.ctx, e.name())),
        }
    }

    fn on_end(&mut self, rec: &ConnRecord, state: ConnState, out: &mut Vec<Event>) {
        let Some(Ok(mut parser)) = state.map(|b| b.downcast::<Parser>()) else {
            return;
        };
        let ctx = StreamCtx {
            uid: rec.uid,
            dir: Dir::Orig,
            ts: rec.last_ts,
            frame: rec.last_frame,
            orig: rec.orig,
            resp: rec.resp,
        };
        let tls_state = match &mut *parser {
            Parser::Tls(t) => Some(t),
            Parser::DnsTcp(framers) => {
                for (i, f) in framers.iter_mut().enumerate() {
                    if let Some(a) = f.finish() {
                        let dir = if i == 0 { Dir::Orig } else { Dir::Resp };
                        out.push(Event {
                            ts: rec.last_ts,
                            frame: rec.last_frame,
                            uid: Some(rec.uid),
                            dir,
                            kind: EventKind::Weird { name: a.name() },
                        });
                    }
                }
                None
            }
            Parser::Http(h, tunnel) => {
                h.finish(&mut self.http_out);
                Self::emit_http(&mut self.http_out, &ctx, out);
                tunnel.as_mut().map(|(t, _)| &mut **t)
            }
        };
        if let Some(t) = tls_state {
            t.on_end(end_how(rec), rec.last_ts);
            let summary = t.take_summary();
            for a in &summary.anomalies {
                out.push(Event {
                    ts: a.ts,
                    frame: rec.last_frame,
                    uid: Some(rec.uid),
                    dir: match a.dir {
                        tls::Direction::ToServer => Dir::Orig,
                        tls::Direction::ToClient => Dir::Resp,
                    },
                    kind: EventKind::Weird {
                        name: a.anomaly.name(),
                    },
                });
            }
            out.push(Event {
                ts: rec.ts,
                frame: rec.first_frame,
                uid: Some(rec.uid),
                dir: Dir::Orig,
                kind: EventKind::Tls {
                    orig: rec.orig,
                    resp: rec.resp,
                    encrypted_dns: encrypted_dns(rec.resp.port, summary.sni.as_deref()),
                    summary: Box::new(summary),
                },
            });
        }
    }

    fn on_time(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        self.dns.expire(now, &mut self.dns_out);
        self.emit_dns(out);
    }

    fn on_finish(&mut self, out: &mut Vec<Event>) {
        self.dns.drain(&mut self.dns_out);
        self.emit_dns(out);
    }
}

/// How a connection ended, as the TLS summary reports it: the first RST (by side) in the history,
/// else the first FIN, else silence or the end of the capture.
fn end_how(rec: &ConnRecord) -> EndHow {
    let h = rec.history.as_bytes();
    let first = |upper: u8| h.iter().position(|&c| c == upper);
    let pick = |o: Option<usize>, r: Option<usize>, mk: fn(tls::Direction) -> EndHow| match (o, r) {
        (Some(a), Some(b)) => Some(if a <= b {
            mk(tls::Direction::ToServer)
        } else {
            mk(tls::Direction::ToClient)
        }),
        (Some(_), None) => Some(mk(tls::Direction::ToServer)),
        (None, Some(_)) => Some(mk(tls::Direction::ToClient)),
        (None, None) => None,
    };
    pick(first(b'R'), first(b'r'), EndHow::Rst)
        .or_else(|| pick(first(b'F'), first(b'f'), EndHow::Fin))
        .unwrap_or(match rec.end {
            EndReason::Idle | EndReason::Evicted => EndHow::Timeout,
            _ => EndHow::CaptureEnd,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_dns_by_port_or_resolver_name() {
        assert_eq!(encrypted_dns(853, None), Some("dot"));
        assert_eq!(encrypted_dns(443, Some("dns.google")), Some("doh"));
        assert_eq!(encrypted_dns(443, Some("Cloudflare-DNS.com.")), Some("doh"));
        assert_eq!(encrypted_dns(443, Some("doh.pub")), Some("doh"));
        assert_eq!(encrypted_dns(443, Some("dns.alidns.com")), Some("doh"));
        assert_eq!(encrypted_dns(443, Some("proxy.golang.org")), None);
        assert_eq!(encrypted_dns(443, Some("notdns.google")), None);
        assert_eq!(encrypted_dns(443, None), None);
    }
}
