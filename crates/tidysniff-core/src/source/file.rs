//! pcap and pcapng reader (being written).
/// Placeholder.
pub struct CaptureReader;
