//! Live capture on a network interface through libpcap (feature `live`, needs libpcap to build).
//!
//! [`LiveSource`] yields a [`SourceEvent::Packet`] per captured packet, timestamped by the kernel,
//! and a [`SourceEvent::Tick`] whenever [`LiveConfig::read_timeout_ms`] passes with no packet, so
//! that timers (an unanswered SYN, a pending DNS query) fire on a quiet link.
//!
//! # Waiting without blocking forever
//!
//! libpcap's read timeout cannot make a read return on a quiet link: its documentation says the
//! timer may only start with the first packet, and on Linux 1.10 a blocking `pcap_next_ex` keeps
//! polling after the timeout (checked: no tick in 5 s on an idle `lo`). So the capture runs in
//! non-blocking mode, and an empty ring is polled again after a short sleep that doubles from
//! 50 µs up to 2 ms while the link stays quiet; any packet resets it. Under traffic there is no
//! sleep at all; after a quiet spell the first packet waits at most 2 ms in the kernel ring. Each
//! packet is copied once into a reused buffer (no allocation), because the borrow of libpcap's
//! ring slot cannot be held across the retry loop.
//!
//! # The wall clock
//!
//! This is the only place in the crate that reads the wall clock: a tick carries
//! [`std::time::SystemTime::now`], so it is comparable with the kernel's packet timestamps. The
//! monotonic clock ([`std::time::Instant`]) only paces the polling. Everything downstream runs on
//! the timestamps of events, never on a clock of its own.

use super::{LinkType, Packet, PacketSource, SourceError, SourceEvent};
use crate::time::Timestamp;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Settings for [`LiveSource::open`]. [`LiveConfig::new`] gives the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    /// Interface name as libpcap knows it (`eth0`, `lo`, `any`).
    pub interface: String,
    /// BPF filter in tcpdump syntax, compiled with optimization; `None` captures everything.
    pub filter: Option<String>,
    /// Bytes kept per packet (default [`LiveConfig::DEFAULT_SNAPLEN`], enough for any packet).
    pub snaplen: i32,
    /// How long a quiet link lasts before a tick, in milliseconds (default
    /// [`LiveConfig::DEFAULT_READ_TIMEOUT_MS`]). 0 or below: no ticks, wait for packets forever
    /// (as libpcap reads 0).
    pub read_timeout_ms: i32,
    /// Capture packets not addressed to this host (default off).
    pub promisc: bool,
    /// Deliver each packet as soon as it arrives instead of in kernel batches (default on).
    pub immediate: bool,
}

impl LiveConfig {
    /// Default [`LiveConfig::snaplen`]: tcpdump's default, enough for any packet.
    pub const DEFAULT_SNAPLEN: i32 = 262_144;
    /// Default [`LiveConfig::read_timeout_ms`].
    pub const DEFAULT_READ_TIMEOUT_MS: i32 = 200;

    /// Defaults for capturing on `interface`: no filter, full snap length, 200 ms read timeout,
    /// not promiscuous, immediate mode.
    pub fn new(interface: impl Into<String>) -> Self {
        LiveConfig {
            interface: interface.into(),
            filter: None,
            snaplen: Self::DEFAULT_SNAPLEN,
            read_timeout_ms: Self::DEFAULT_READ_TIMEOUT_MS,
            promisc: false,
            immediate: true,
        }
    }
}

/// Packet counters kept by libpcap since the capture started (see [`LiveSource::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets received by the filter.
    pub received: u32,
    /// Packets dropped because the capture buffer was full: they are missing from the analysis.
    pub dropped: u32,
    /// Packets dropped by the interface or its driver (not supported everywhere: then 0).
    pub if_dropped: u32,
}

/// A libpcap capture on one interface; see the [module docs](self).
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    linktype: LinkType,
    interface: String,
    /// Quiet time before a tick; `None`: no ticks.
    tick_after: Option<Duration>,
    /// The current packet, copied out of libpcap's ring.
    buf: Vec<u8>,
}

/// First pause when the ring is empty; it doubles up to [`MAX_PAUSE`].
const MIN_PAUSE: Duration = Duration::from_micros(50);
/// Longest pause between two polls of an empty ring.
const MAX_PAUSE: Duration = Duration::from_millis(2);

impl core::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LiveSource")
            .field("interface", &self.interface)
            .field("linktype", &self.linktype)
            .finish_non_exhaustive()
    }
}

fn live_error(what: &str, interface: &str, e: pcap::Error) -> SourceError {
    SourceError::Live(format!("{what} on {interface}: {e}"))
}

impl LiveSource {
    /// Opens and activates the capture, then sets the filter. Fails with [`SourceError::Live`]
    /// when the interface does not exist, permissions are missing (capturing needs root or
    /// `CAP_NET_RAW`) or the filter does not compile.
    pub fn open(config: LiveConfig) -> Result<Self, SourceError> {
        let iface = config.interface.as_str();
        let mut cap = pcap::Capture::from_device(iface)
            .map_err(|e| live_error("cannot capture", iface, e))?
            .snaplen(config.snaplen)
            .timeout(config.read_timeout_ms)
            .promisc(config.promisc)
            .immediate_mode(config.immediate)
            .open()
            .map_err(|e| live_error("cannot start capture", iface, e))?
            .setnonblock()
            .map_err(|e| live_error("cannot make capture non-blocking", iface, e))?;
        if let Some(filter) = &config.filter {
            cap.filter(filter, true)
                .map_err(|e| live_error(&format!("bad filter {filter:?}"), iface, e))?;
        }
        let linktype = LinkType(cap.get_datalink().0 as u16);
        let tick_after = u64::try_from(config.read_timeout_ms)
            .ok()
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis);
        Ok(LiveSource {
            cap,
            linktype,
            interface: config.interface,
            tick_after,
            buf: Vec::new(),
        })
    }

    /// The link type of the interface (the same for every packet).
    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// The counters libpcap keeps for this capture, to report packets the kernel dropped.
    pub fn stats(&mut self) -> Result<LiveStats, SourceError> {
        let s = self
            .cap
            .stats()
            .map_err(|e| live_error("cannot read statistics", &self.interface, e))?;
        Ok(LiveStats {
            received: s.received,
            dropped: s.dropped,
            if_dropped: s.if_dropped,
        })
    }
}

/// The wall clock as a [`Timestamp`]: the only read of it in the crate.
fn now() -> Timestamp {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        Err(e) => Timestamp(i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n)),
    }
}

impl PacketSource for LiveSource {
    /// The next packet, a tick when the link was quiet for the read timeout, `Ok(None)` when
    /// libpcap reports no more packets, or [`SourceError::Live`].
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, SourceError> {
        let waiting_since = Instant::now();
        let mut pause = MIN_PAUSE;
        let header = loop {
            match self.cap.next_packet() {
                Ok(p) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    break *p.header;
                }
                // Non-blocking mode: the ring is empty.
                Err(pcap::Error::TimeoutExpired) => {
                    let waited = waiting_since.elapsed();
                    let mut sleep = pause;
                    if let Some(limit) = self.tick_after {
                        if waited >= limit {
                            return Ok(Some(SourceEvent::Tick(now())));
                        }
                        sleep = sleep.min(limit - waited);
                    }
                    std::thread::sleep(sleep);
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                Err(pcap::Error::NoMorePackets) => return Ok(None),
                Err(e) => return Err(live_error("capture failed", &self.interface, e)),
            }
        };
        // `time_t` and `suseconds_t` are i64 on 64-bit Linux but narrower elsewhere.
        #[allow(clippy::useless_conversion)]
        let ts =
            Timestamp::from_secs_micros(i64::from(header.ts.tv_sec), i64::from(header.ts.tv_usec));
        Ok(Some(SourceEvent::Packet(Packet {
            ts,
            linktype: self.linktype,
            orig_len: header.len.max(header.caplen),
            data: &self.buf,
        })))
    }
}

#[cfg(all(test, feature = "live"))]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn is_root() -> bool {
        // The effective uid, from procfs: the crate forbids unsafe, so no geteuid().
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("Uid:"))?;
                line.split_whitespace().nth(2).map(|euid| euid == "0")
            })
            .unwrap_or(false)
    }

    #[test]
    fn live_capture_on_loopback_sees_udp() {
        if !is_root() {
            eprintln!("not root: live capture test skipped");
            return;
        }
        let mut config = LiveConfig::new("lo");
        config.filter = Some("udp port 47913".into());
        config.read_timeout_ms = 50;
        let mut src = match LiveSource::open(config) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot open lo ({e}): live capture test skipped");
                return;
            }
        };
        assert!(matches!(
            src.linktype(),
            LinkType::ETHERNET | LinkType::NULL | LinkType::LOOP
        ));
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let payloads: [&[u8]; 3] = [b"tidysniff-1", b"tidysniff-22", b"tidysniff-333"];
        for p in payloads {
            sock.send_to(p, "127.0.0.1:47913").unwrap();
        }
        let before = now();
        let started = Instant::now();
        let mut seen = Vec::new();
        let mut ticks = 0;
        while seen.len() < payloads.len() && started.elapsed() < Duration::from_secs(5) {
            match src.next_event().unwrap() {
                Some(SourceEvent::Packet(p)) => {
                    assert!(p.data.len() as u32 <= p.orig_len);
                    assert!(p.ts.since(before).as_nanos().abs() < 10_000_000_000);
                    if let Some(i) = payloads.iter().position(|x| p.data.ends_with(x)) {
                        seen.push(i);
                    }
                }
                Some(SourceEvent::Tick(t)) => {
                    ticks += 1;
                    assert!(t >= before);
                }
                None => break,
            }
        }
        assert_eq!(seen, [0, 1, 2], "after {ticks} ticks");
        // A quiet link gives ticks.
        let quiet = Instant::now();
        let tick = loop {
            match src.next_event().unwrap() {
                Some(SourceEvent::Tick(t)) => break Some(t),
                _ if quiet.elapsed() > Duration::from_secs(5) => break None,
                _ => {}
            }
        };
        assert!(tick.is_some_and(|t| t >= before), "no tick within 5 s");
        let stats = src.stats().unwrap();
        assert!(stats.received >= 3);
    }
}
