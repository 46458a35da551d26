//! Zeek's connection history letters, kept inline.

/// Longest history kept (Zeek's letters are mostly one per direction, so this is rarely reached).
pub const MAX_HISTORY: usize = 48;

/// Zeek's history letters (at most [`MAX_HISTORY`] ASCII letters), kept inline: a connection's
/// record needs no allocation for them. Reads as a `&str` (`Deref`, `Display`, `as_str`) and
/// compares with strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct History {
    letters: [u8; MAX_HISTORY],
    len: u8,
}

impl Default for History {
    fn default() -> Self {
        History {
            letters: [0; MAX_HISTORY],
            len: 0,
        }
    }
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `letter` if it is an ASCII letter or `^` and there is room (else nothing).
    pub fn push(&mut self, letter: u8) {
        if !(letter.is_ascii_alphabetic() || letter == b'^') {
            return;
        }
        if let Some(slot) = self.letters.get_mut(usize::from(self.len)) {
            *slot = letter;
            self.len += 1;
        }
    }

    /// The letters.
    pub fn as_str(&self) -> &str {
        let b = self.letters.get(..usize::from(self.len)).unwrap_or(&[]);
        // Only ASCII is ever pushed.
        core::str::from_utf8(b).unwrap_or("")
    }
}

impl From<&str> for History {
    /// The ASCII letters of `s`, up to [`MAX_HISTORY`] (other characters are skipped).
    fn from(s: &str) -> Self {
        let mut h = History::new();
        s.bytes().for_each(|b| h.push(b));
        h
    }
}

impl core::ops::Deref for History {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for History {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl core::fmt::Display for History {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Through `pad`, so width and alignment apply as for a `str`.
        f.pad(self.as_str())
    }
}

impl core::fmt::Debug for History {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for History {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for History {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::{History, MAX_HISTORY};

    #[test]
    fn history_is_an_inline_str_of_letters() {
        let mut h = History::new();
        assert_eq!(h, "");
        for b in *b"^ShAD1 dFf" {
            h.push(b);
        }
        assert_eq!(h, "^ShADdFf");
        assert_eq!(h.as_str(), "^ShADdFf");
        assert!(h.contains('D') && h.starts_with('^'));
        // Width and alignment apply as for a str (the text report pads the column).
        assert_eq!(format!("[{:<10}]", h), "[^ShADdFf  ]");
        assert_eq!(format!("{h:?}"), "\"^ShADdFf\"");
        assert_eq!(History::from("Sh-ADa"), "ShADa");
        // Full: further letters are dropped.
        let mut full = History::new();
        for _ in 0..MAX_HISTORY + 5 {
            full.push(b'T');
        }
        assert_eq!(full.len(), MAX_HISTORY);
    }
}
