//! Every link type's decoder, then the transport parser, on arbitrary bytes; the common-case
//! paths (plain IPv4, untagged Ethernet) must give exactly what the general ones give.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tidysniff_core::decode::ip::parse_ip_general;
use tidysniff_core::decode::{
    decode_frame, decode_frame_general, parse_ip, parse_transport, Decoded,
};
use tidysniff_core::source::LinkType;

fuzz_target!(|data: &[u8]| {
    assert_eq!(parse_ip(data), parse_ip_general(data));
    for lt in [0u16, 1, 9, 12, 50, 101, 104, 108, 113, 228, 229, 276] {
        let d = decode_frame(LinkType(lt), data);
        assert_eq!(d, decode_frame_general(LinkType(lt), data));
        if let Ok(Decoded::Ip { packet, .. }) = d {
            let _ = parse_transport(packet.ip.protocol, packet.payload, packet.payload_len);
        }
    }
});
