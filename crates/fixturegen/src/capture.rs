//! Minimal pcap and pcapng writers.
//!
//! pcap: the classic 24-byte file header and 16-byte record headers, with the
//! microsecond (`a1b2c3d4`) or nanosecond (`a1b23c4d`) magic, written in
//! little- or big-endian byte order.
//!
//! pcapng: Section Header, Interface Description (with `if_tsresol`),
//! Enhanced Packet, Simple Packet, Name Resolution, Interface Statistics and
//! Custom blocks, all little-endian, each padded to 32 bits.

/// Timestamp resolution of a classic pcap file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsRes {
    Micro,
    Nano,
}

/// The global parameters of a classic pcap file.
#[derive(Clone, Copy, Debug)]
pub struct PcapFormat {
    pub res: TsRes,
    pub big_endian: bool,
    pub snaplen: u32,
    pub linktype: u32,
}

impl PcapFormat {
    pub fn micro(linktype: u32) -> Self {
        PcapFormat {
            res: TsRes::Micro,
            big_endian: false,
            snaplen: 262_144,
            linktype,
        }
    }

    fn u32(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u16(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// The 24-byte file header.
    pub fn file_header(&self) -> [u8; 24] {
        let magic = match self.res {
            TsRes::Micro => 0xa1b2_c3d4,
            TsRes::Nano => 0xa1b2_3c4d,
        };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&self.u32(magic));
        h[4..6].copy_from_slice(&self.u16(2));
        h[6..8].copy_from_slice(&self.u16(4));
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&self.u32(self.snaplen));
        h[20..24].copy_from_slice(&self.u32(self.linktype));
        h
    }

    /// The 16-byte record header for a packet at `ts_ns` nanoseconds since
    /// the epoch (truncated to microseconds for the µs format).
    pub fn record_header(&self, ts_ns: u64, caplen: u32, orig_len: u32) -> [u8; 16] {
        let sec = (ts_ns / 1_000_000_000) as u32;
        let frac = match self.res {
            TsRes::Micro => ((ts_ns % 1_000_000_000) / 1_000) as u32,
            TsRes::Nano => (ts_ns % 1_000_000_000) as u32,
        };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&self.u32(sec));
        h[4..8].copy_from_slice(&self.u32(frac));
        h[8..12].copy_from_slice(&self.u32(caplen));
        h[12..16].copy_from_slice(&self.u32(orig_len));
        h
    }
}

/// One packet to write: timestamp in ns, frame bytes as on the wire.
pub struct Record<'a> {
    pub ts_ns: u64,
    pub data: &'a [u8],
}

/// Writes a whole classic pcap file. Frames longer than the snap length are
/// cut to it, with the original length kept in the record header.
pub fn write_pcap<'a>(fmt: &PcapFormat, records: impl IntoIterator<Item = Record<'a>>) -> Vec<u8> {
    let mut out = fmt.file_header().to_vec();
    for r in records {
        let caplen = r.data.len().min(fmt.snaplen as usize);
        out.extend_from_slice(&fmt.record_header(r.ts_ns, caplen as u32, r.data.len() as u32));
        out.extend_from_slice(&r.data[..caplen]);
    }
    out
}

/// A pcapng option: code and raw value (padded when written).
pub struct Opt(pub u16, pub Vec<u8>);

pub const OPT_COMMENT: u16 = 1;
pub const SHB_USERAPPL: u16 = 4;
pub const IF_NAME: u16 = 2;
pub const IF_TSRESOL: u16 = 9;
pub const ISB_STARTTIME: u16 = 2;
pub const ISB_ENDTIME: u16 = 3;
pub const ISB_IFRECV: u16 = 4;
pub const ISB_IFDROP: u16 = 5;

fn pad4(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

fn encode_options(opts: &[Opt]) -> Vec<u8> {
    let mut v = Vec::new();
    if opts.is_empty() {
        return v;
    }
    for Opt(code, val) in opts {
        v.extend_from_slice(&code.to_le_bytes());
        v.extend_from_slice(&(val.len() as u16).to_le_bytes());
        v.extend_from_slice(val);
        pad4(&mut v);
    }
    v.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    v
}

/// Splits a timestamp counted in interface units into the high and low words.
fn ts_words(units: u64) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0..4].copy_from_slice(&((units >> 32) as u32).to_le_bytes());
    b[4..8].copy_from_slice(&(units as u32).to_le_bytes());
    b
}

/// An in-memory little-endian pcapng section.
pub struct PcapNg {
    pub buf: Vec<u8>,
    snaplens: Vec<u32>,
}

impl PcapNg {
    /// Starts a section with a Section Header Block (version 1.0, unknown
    /// section length).
    pub fn new(opts: &[Opt]) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        body.extend_from_slice(&encode_options(opts));
        let mut s = PcapNg {
            buf: Vec::new(),
            snaplens: Vec::new(),
        };
        s.block(0x0A0D_0D0A, &body);
        s
    }

    /// Appends one block: type, total length, body (padded), total length.
    pub fn block(&mut self, typ: u32, body: &[u8]) {
        let padded = (body.len() + 3) & !3;
        let total = (12 + padded) as u32;
        self.buf.extend_from_slice(&typ.to_le_bytes());
        self.buf.extend_from_slice(&total.to_le_bytes());
        self.buf.extend_from_slice(body);
        self.buf.resize(self.buf.len() + padded - body.len(), 0);
        self.buf.extend_from_slice(&total.to_le_bytes());
    }

    /// Interface Description Block; returns the interface id.
    pub fn idb(&mut self, linktype: u16, snaplen: u32, opts: &[Opt]) -> u32 {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&snaplen.to_le_bytes());
        body.extend_from_slice(&encode_options(opts));
        self.block(1, &body);
        self.snaplens.push(snaplen);
        (self.snaplens.len() - 1) as u32
    }

    /// Enhanced Packet Block; `ts_units` counts the interface's `if_tsresol`
    /// units since the epoch.
    pub fn epb(&mut self, iface: u32, ts_units: u64, data: &[u8], opts: &[Opt]) {
        let snap = self.snaplens[iface as usize] as usize;
        let cap = data.len().min(if snap == 0 { usize::MAX } else { snap });
        let mut body = Vec::with_capacity(28 + cap);
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&ts_words(ts_units));
        body.extend_from_slice(&(cap as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&data[..cap]);
        pad4(&mut body);
        body.extend_from_slice(&encode_options(opts));
        self.block(6, &body);
    }

    /// Simple Packet Block (always interface 0, no timestamp).
    pub fn spb(&mut self, data: &[u8]) {
        let snap = self.snaplens[0] as usize;
        let cap = data.len().min(if snap == 0 { usize::MAX } else { snap });
        let mut body = Vec::with_capacity(4 + cap);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&data[..cap]);
        self.block(3, &body);
    }

    /// Name Resolution Block with IPv4 and IPv6 records.
    pub fn nrb(&mut self, records: &[(std::net::IpAddr, &str)]) {
        let mut body = Vec::new();
        for (addr, name) in records {
            let mut val = match addr {
                std::net::IpAddr::V4(a) => a.octets().to_vec(),
                std::net::IpAddr::V6(a) => a.octets().to_vec(),
            };
            val.extend_from_slice(name.as_bytes());
            val.push(0);
            let typ: u16 = if addr.is_ipv4() { 1 } else { 2 };
            body.extend_from_slice(&typ.to_le_bytes());
            body.extend_from_slice(&(val.len() as u16).to_le_bytes());
            body.extend_from_slice(&val);
            pad4(&mut body);
        }
        body.extend_from_slice(&[0, 0, 0, 0]); // nrb_record_end
        self.block(4, &body);
    }

    /// Interface Statistics Block.
    pub fn isb(&mut self, iface: u32, ts_units: u64, opts: &[Opt]) {
        let mut body = Vec::new();
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&ts_words(ts_units));
        body.extend_from_slice(&encode_options(opts));
        self.block(5, &body);
    }

    /// A Custom Block (type 0x00000BAD or 0x40000BAD): Private Enterprise
    /// Number then opaque data.
    pub fn custom(&mut self, typ: u32, pen: u32, data: &[u8]) {
        let mut body = pen.to_le_bytes().to_vec();
        body.extend_from_slice(data);
        self.block(typ, &body);
    }

    /// Encodes a timestamp option value (high word, low word) in units.
    pub fn ts_opt(code: u16, units: u64) -> Opt {
        Opt(code, ts_words(units).to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_headers() {
        let f = PcapFormat {
            res: TsRes::Nano,
            big_endian: false,
            snaplen: 96,
            linktype: 1,
        };
        assert_eq!(f.file_header()[..4], [0x4d, 0x3c, 0xb2, 0xa1]);
        let b = PcapFormat {
            big_endian: true,
            res: TsRes::Micro,
            ..f
        };
        assert_eq!(b.file_header()[..4], [0xa1, 0xb2, 0xc3, 0xd4]);
        let r = f.record_header(1_700_000_000_123_456_789, 60, 60);
        assert_eq!(u32::from_le_bytes(r[4..8].try_into().unwrap()), 123_456_789);
        let out = write_pcap(
            &f,
            [Record {
                ts_ns: 0,
                data: &[7u8; 100],
            }],
        );
        assert_eq!(out.len(), 24 + 16 + 96);
        assert_eq!(u32::from_le_bytes(out[36..40].try_into().unwrap()), 100);
    }

    #[test]
    fn pcapng_blocks_are_aligned() {
        let mut ng = PcapNg::new(&[]);
        ng.idb(1, 0, &[Opt(IF_TSRESOL, vec![6])]);
        ng.epb(0, 5, &[1, 2, 3], &[]);
        ng.spb(&[1, 2, 3, 4, 5]);
        assert_eq!(ng.buf.len() % 4, 0);
        // SHB 12 + 16; IDB 12 + 8 + 8 (tsresol option, padded) + 4 (end);
        // EPB 12 + 20 + 4 (3 bytes padded); SPB 12 + 4 + 8 (5 bytes padded).
        assert_eq!(ng.buf.len(), 28 + 32 + 36 + 24);
    }
}
