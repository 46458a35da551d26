//! What a diagnosis says: findings with their evidence, and the destinations table.

use crate::flow::Uid;
use crate::goenv::Role;
use crate::time::Timestamp;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; not a cause of failure.
    Info,
    /// Likely slows or endangers the fetch, or is against the configuration.
    Warning,
    /// A fetch failed or was tampered with.
    Error,
}

impl Severity {
    /// `"info"`, `"warning"` or `"error"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The stable kind of a finding (the JSON `kind` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// SYNs that nothing answered.
    SynTimeout,
    /// A SYN answered by a RST.
    ConnRefused,
    /// An ICMP unreachable answer to a connection attempt.
    IcmpUnreachable,
    /// AAAA answered, IPv6 SYNs unanswered, IPv4 to the same name works.
    Ipv6Blackhole,
    /// A DNS answer that scores as forged or hijacked.
    ForgedDns,
    /// A lookup of a needed name that timed out or failed.
    DnsFailure,
    /// TLS to a module or checksum host other than the proxy.
    SniNotProxy,
    /// Plain HTTP to a module or checksum host other than the proxy.
    HttpNotProxy,
    /// A proxy tunnel (CONNECT) to a module or checksum host other than the module proxy.
    ConnectNotProxy,
    /// Git over SSH to a code host.
    SshNotProxy,
    /// The server side reset the connection right after the ClientHello.
    TlsReset,
    /// A reset that scores as injected by a middlebox.
    RstInjected,
    /// A TLS handshake begun and not completed (alert, close, silence).
    TlsAborted,
    /// A 4xx/5xx answer to a module request.
    HttpError,
    /// Traffic to a cloud metadata service.
    MetadataAccess,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 15] = [
        Kind::DnsFailure,
        Kind::ForgedDns,
        Kind::SynTimeout,
        Kind::Ipv6Blackhole,
        Kind::ConnRefused,
        Kind::IcmpUnreachable,
        Kind::RstInjected,
        Kind::TlsReset,
        Kind::TlsAborted,
        Kind::HttpError,
        Kind::SniNotProxy,
        Kind::HttpNotProxy,
        Kind::ConnectNotProxy,
        Kind::SshNotProxy,
        Kind::MetadataAccess,
    ];

    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::SynTimeout => "syn_timeout",
            Kind::ConnRefused => "conn_refused",
            Kind::IcmpUnreachable => "icmp_unreachable",
            Kind::Ipv6Blackhole => "ipv6_blackhole",
            Kind::ForgedDns => "forged_dns",
            Kind::DnsFailure => "dns_failure",
            Kind::SniNotProxy => "sni_not_proxy",
            Kind::HttpNotProxy => "http_not_proxy",
            Kind::ConnectNotProxy => "connect_not_proxy",
            Kind::SshNotProxy => "ssh_not_proxy",
            Kind::TlsReset => "tls_reset",
            Kind::RstInjected => "rst_injected",
            Kind::TlsAborted => "tls_aborted",
            Kind::HttpError => "http_error",
            Kind::MetadataAccess => "metadata_access",
        }
    }
}

/// The facts behind a finding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence {
    /// Connection uids (the `uid` of `tidysniff log` records).
    pub uids: Vec<Uid>,
    /// 1-based frame numbers of the packets that matter, as Wireshark numbers them.
    pub frames: Vec<u64>,
    /// Names involved (DNS question, SNI, Host).
    pub names: Vec<String>,
    /// Addresses involved (`ip` or `ip:port`).
    pub addrs: Vec<String>,
    /// Time of the first packet that matters.
    pub first_ts: Option<Timestamp>,
    /// Time of the last packet that matters.
    pub last_ts: Option<Timestamp>,
    /// Ids of the rules that fired (see docs/design.md, Diagnosis).
    pub rules: Vec<&'static str>,
    /// Raw field values and the baselines they were compared to, in order.
    pub facts: Vec<(String, String)>,
}

impl Evidence {
    /// Widens the time range to include `ts` and records `frame`.
    pub fn packet(&mut self, ts: Timestamp, frame: u64) {
        self.first_ts = Some(self.first_ts.map_or(ts, |t| t.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |t| t.max(ts)));
        if frame > 0 {
            self.frames.push(frame);
        }
    }

    /// Adds a fact.
    pub fn fact(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.facts.push((key.into(), value.into()));
    }

    /// Adds a uid once.
    pub fn uid(&mut self, uid: Uid) {
        if !self.uids.contains(&uid) {
            self.uids.push(uid);
        }
    }

    /// Adds a name once.
    pub fn name(&mut self, name: &str) {
        if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_string());
        }
    }

    /// Adds an address once.
    pub fn addr(&mut self, addr: String) {
        if !self.addrs.contains(&addr) {
            self.addrs.push(addr);
        }
    }

    /// Adds a rule id once.
    pub fn rule(&mut self, id: &'static str) {
        if !self.rules.contains(&id) {
            self.rules.push(id);
        }
    }

    pub(crate) fn normalize(&mut self) {
        self.frames.sort_unstable();
        self.frames.dedup();
    }
}

/// One thing that went wrong (or is worth knowing), with its evidence and the fix.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Stable kind.
    pub kind: Kind,
    /// Severity.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// The destination it concerns (name, or address when no name is known).
    pub destination: Option<String>,
    /// The destination's role under the Go configuration.
    pub role: Option<Role>,
    /// Score of the scored kinds (`forged_dns`, `rst_injected`, `tls_reset`).
    pub score: Option<i32>,
    /// Evidence.
    pub evidence: Evidence,
    /// The concrete fix.
    pub hint: String,
}

/// One destination the capture shows, with what happened at each layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    /// Name (DNS name, SNI, Host, CONNECT target) or bare address.
    pub name: String,
    /// Role under the Go configuration.
    pub role: Role,
    /// Why that role.
    pub reason: String,
    /// Addresses (DNS answers and connection peers).
    pub addrs: Vec<String>,
    /// DNS outcome (`"-"` when no lookup was seen).
    pub dns: String,
    /// TCP outcome.
    pub tcp: String,
    /// TLS outcome.
    pub tls: String,
    /// HTTP outcome.
    pub http: String,
    /// Connection uids.
    pub uids: Vec<Uid>,
}

/// The result of a diagnosis.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnosis {
    /// A few lines: what went wrong, most important first.
    pub verdict: Vec<String>,
    /// Destinations, proxy first, then by role and name.
    pub destinations: Vec<Destination>,
    /// Findings, by severity (error first), then kind, then time.
    pub findings: Vec<Finding>,
    /// Facts about the analysis itself (limits reached, capture direction).
    pub notes: Vec<String>,
    /// The connections the findings name, for extracting their packets.
    pub flows: Vec<FlowSpan>,
}

/// A flagged connection: its endpoints and when it was seen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowSpan {
    /// Uid.
    pub uid: Uid,
    /// Originator.
    pub orig: crate::flow::Endpoint,
    /// Responder.
    pub resp: crate::flow::Endpoint,
    /// First packet.
    pub first_ts: Timestamp,
    /// Last packet.
    pub last_ts: Timestamp,
}

impl Diagnosis {
    /// The highest severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Findings per kind, in [`Kind::ALL`] order, kinds with none left out.
    pub fn counts(&self) -> Vec<(Kind, usize)> {
        Kind::ALL
            .iter()
            .map(|k| (*k, self.findings.iter().filter(|f| f.kind == *k).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
