//! Every link type's decoder, then the transport parser, on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tidysniff_core::decode::{decode_frame, parse_transport, Decoded};
use tidysniff_core::source::LinkType;

fuzz_target!(|data: &[u8]| {
    for lt in [0u16, 1, 9, 12, 50, 101, 104, 108, 113, 228, 229, 276] {
        if let Ok(Decoded::Ip { packet, .. }) = decode_frame(LinkType(lt), data) {
            let _ = parse_transport(packet.ip.protocol, packet.payload, packet.payload_len);
        }
    }
});
