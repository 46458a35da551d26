//! The only clock: timestamps taken from packet headers.
//!
//! Nothing in this crate reads the wall clock except the live source (feature `live`), which turns a
//! read timeout into a [`crate::source::SourceEvent::Tick`]. Every timeout runs on these values, so
//! the analysis of a capture is a pure function of its bytes.

use core::fmt;

/// A point in time, in nanoseconds since the Unix epoch (negative values are allowed and mean
/// before 1970; captures with broken clocks exist).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// A span of time in nanoseconds (may be negative when packets arrive out of time order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl Timestamp {
    /// The earliest representable time, used as "never".
    pub const MIN: Timestamp = Timestamp(i64::MIN);

    /// Builds a timestamp from whole seconds and nanoseconds.
    pub const fn from_secs_nanos(secs: i64, nanos: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// Builds a timestamp from whole seconds and microseconds.
    pub const fn from_secs_micros(secs: i64, micros: i64) -> Self {
        Self::from_secs_nanos(secs, micros.saturating_mul(1000))
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as a float (for display only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier`, saturating.
    pub const fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating.
    pub const fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }
}

impl Duration {
    /// Zero length.
    pub const ZERO: Duration = Duration(0);

    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s.saturating_mul(1_000_000_000))
    }

    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms.saturating_mul(1_000_000))
    }

    /// Nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Milliseconds as a float.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

/// Writes `nanos` as seconds with a fractional part: six digits (microseconds, as Zeek prints),
/// extended to nine when the value has sub-microsecond precision (nanosecond captures). The
/// digits are made here, not by `core::fmt` (the record writers' hot path): one `write_str`.
pub fn write_secs(f: &mut impl fmt::Write, nanos: i64) -> fmt::Result {
    let abs = nanos.unsigned_abs();
    let (secs, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
    let (frac, width) = if frac % 1000 == 0 {
        (frac / 1000, 6)
    } else {
        (frac, 9)
    };
    // Filled from the end: fraction, point, seconds (at most 10 digits), sign.
    let mut buf = [0u8; 24];
    let mut at = buf.len();
    let mut put = |b: u8| {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = b;
        }
    };
    let mut v = frac;
    for _ in 0..width {
        put(b'0' + (v % 10) as u8);
        v /= 10;
    }
    put(b'.');
    let mut v = secs;
    loop {
        put(b'0' + (v % 10) as u8);
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if nanos < 0 {
        put(b'-');
    }
    f.write_str(
        buf.get(at..)
            .and_then(|d| core::str::from_utf8(d).ok())
            .unwrap_or(""),
    )
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_secs(f, self.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_secs(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_are_printed_with_micro_or_nano_digits() {
        assert_eq!(
            Timestamp::from_secs_micros(1_700_000_000, 5).to_string(),
            "1700000000.000005"
        );
        assert_eq!(
            Timestamp::from_secs_nanos(1_700_000_000, 123_456_789).to_string(),
            "1700000000.123456789"
        );
        assert_eq!(Duration(-1_500_000_000).to_string(), "-1.500000");
        assert_eq!(Duration(0).to_string(), "0.000000");
    }

    #[test]
    fn seconds_match_the_format_rule() {
        // The rule, written with `core::fmt`: six decimals when whole microseconds, else nine.
        let reference = |n: i64| {
            let (abs, sign) = (n.unsigned_abs(), if n < 0 { "-" } else { "" });
            let (secs, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
            if frac % 1000 == 0 {
                format!("{sign}{secs}.{:06}", frac / 1000)
            } else {
                format!("{sign}{secs}.{frac:09}")
            }
        };
        for n in [
            0i64,
            1,
            999,
            1_000,
            123_456_789,
            1_000_000_000,
            1_700_000_000_025_947_000,
            1_700_000_000_025_947_123,
            -1,
            -1_500_000_000,
            i64::MIN,
            i64::MAX,
        ] {
            let mut s = String::new();
            write_secs(&mut s, n).unwrap();
            assert_eq!(s, reference(n), "{n}");
        }
    }
}
