//! DNS: a pure wire parser and a transaction tracker.
//!
//! - [`wire`]: [`parse_message`] turns one message into an owned [`Message`] (header flags, full
//!   RCODE, questions, every record with decoded data for the common types, EDNS with Extended
//!   DNS Errors) and never fails past the header: oddities are [`DnsAnomaly`] values with stable
//!   snake_case names. [`DnsTcpFramer`] cuts a reassembled TCP stream into messages.
//! - [`tracker`]: [`DnsTracker`] matches queries with every response they get (forged-answer
//!   races stay visible), on packet time, with bounded memory.
//!
//! Our own parser rather than a crate: measured on the suricata-verify corpus and on edge cases
//! (`bench/dns-parsers/RESULTS.md`), it recovers at least as many messages and records as the
//! best of dns-parser, simple-dns, hickory-proto and domain, keeps what they reject (a record that
//! does not parse, a compression loop, an unknown class, the Z bit) as data with a named anomaly,
//! and adds no dependency.

pub mod tracker;
pub mod wire;

pub use tracker::{
    DnsConfig, DnsQuery, DnsResponse, DnsTracker, DnsTransaction, DnsTxStatus, EdnsFacts, IpFacts,
    PacketMeta,
};
pub use wire::{
    class_name, ede_name, opcode_name, parse_message, qtype_name, rcode_name, DnsAnomaly, DnsError,
    DnsTcpFramer, EdnsOption, Flags, Message, Opt, Question, RData, Record, Section, Soa, SvcParam,
    Svcb, TcpFrame,
};
