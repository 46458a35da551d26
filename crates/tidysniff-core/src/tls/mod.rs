//! TLS: what a connection's handshake says, from its reassembled stream bytes.
//!
//! Pure and layered like the rest of the crate (uses only [`crate::time`]):
//!
//! ```text
//!  stream bytes (per direction, in order)
//!    -> record::RecordDefragmenter   records, handshake messages across records, anomalies
//!    -> hello::parse_*               ClientHello (SNI, ALPN, groups, ECH, JA4), ServerHello, X.509
//!    -> state::TlsState              per connection: hellos, HRR, certificate, alerts,
//!                                    completion, how it ended -> TlsSummary
//! ```
//!
//! - [`record`]: [`probe`] (is this TLS, on any port), [`RecordDefragmenter`] (size-capped, never
//!   panics), [`Anomaly`] with stable snake_case names.
//! - [`hello`]: [`parse_client_hello`] (with the FoxIO JA4 fingerprint), [`parse_server_hello`],
//!   [`parse_certificate`] (a minimal DER walk: subject/issuer CN, SANs, validity).
//! - [`x509`]: [`CertInfo`], the few certificate fields read.
//! - [`names`]: Zeek-style version names, IANA cipher suite, group and alert names.
//! - [`state`]: [`TlsState`], fed by the engine's stream handler, summarised as [`TlsSummary`].
//!
//! ```
//! use tidysniff_core::time::Timestamp;
//! use tidysniff_core::tls::{Direction, EndHow, TlsState};
//!
//! let mut tls = TlsState::new();
//! // The first bytes of a ClientHello record, then the client resets the connection.
//! tls.on_data(Direction::ToServer, 0, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01], Timestamp(0));
//! tls.on_end(EndHow::Rst(Direction::ToServer), Timestamp(1_000));
//! let s = tls.summary();
//! assert!(s.is_tls);
//! assert_eq!(s.sni_missing_reason, Some("client_hello_truncated"));
//! assert_eq!(s.ended, Some("rst_during_client_hello"));
//! ```

pub mod hello;
pub mod names;
pub mod record;
mod sha256;
pub mod state;
pub mod x509;

pub use hello::{
    parse_certificate, parse_client_hello, parse_client_hello_prefix, parse_server_hello, CertInfo,
    ClientHelloInfo, HelloError, ServerHelloInfo,
};
pub use names::{alert_name, cipher_name, group_name, is_grease, version_name};
pub use record::{probe, Anomaly, RecordDefragmenter, RecordEvent};
pub use state::{AlertInfo, AnomalyInfo, Direction, EndHow, TlsState, TlsSummary};

#[cfg(test)]
mod tests;
