//! Go's glob matching: `path.Match` (Go `src/path/match.go`) and
//! `golang.org/x/mod/module.MatchPrefixPatterns` (x/mod `module/module.go`), the matcher behind
//! GOPRIVATE, GONOPROXY, GONOSUMDB and GOINSECURE.
//!
//! Both are ports, byte for byte where it matters: literals compare bytes, `?` and classes
//! decode one UTF-8 character (an invalid byte counts as U+FFFD, one byte long), `*` never
//! crosses `/`, and a malformed pattern never matches (x/mod ignores `path.Match`'s error).

use std::fmt;

/// A malformed `path.Match` pattern (Go's `path.ErrBadPattern`): an unclosed or empty class,
/// a range with a missing end, or a trailing `\`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPattern;

impl fmt::Display for BadPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("syntax error in pattern")
    }
}

impl std::error::Error for BadPattern {}

/// Go's `path.Match(pattern, name)`: whether `name` matches the whole shell `pattern`.
///
/// Syntax: `*` any run of non-`/` characters, `?` one non-`/` character, `[abc]`, `[a-z]`,
/// `[^a-z]` classes (non-empty), `\c` the literal `c`. As in Go, a pattern that turns out
/// malformed is an error even when the part read before the mismatch was fine.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    match_bytes(pattern.as_bytes(), name.as_bytes())
}

/// `x/mod/module.MatchPrefixPatterns(globs, target)`, returning the glob (as written in the
/// list, before its trailing `/` is trimmed) that matched.
///
/// `globs` is a comma-separated list; empty entries are skipped, trailing slashes trimmed
/// (so `/` alone is empty). A glob with N slashes is matched with [`path_match`] against the
/// first N+1 `/`-separated elements of `target`; a target with fewer elements does not match.
/// Malformed globs never match. Spaces are not trimmed (Go does not trim them either).
///
/// ```
/// use tidysniff_core::goenv::match_prefix_patterns;
/// assert_eq!(match_prefix_patterns("corp.example.com,github.com/acme/*", "github.com/acme/x/v2"),
///            Some("github.com/acme/*".to_string()));
/// assert_eq!(match_prefix_patterns("*/quote/v3/x", "rsc.io/quote"), None);
/// ```
pub fn match_prefix_patterns(globs: &str, target: &str) -> Option<String> {
    for written in globs.split(',') {
        let glob = written.strip_suffix('/').unwrap_or(written);
        if glob.is_empty() {
            continue;
        }
        let mut n = glob.bytes().filter(|&b| b == b'/').count();
        let mut prefix = target;
        for (i, b) in target.bytes().enumerate() {
            if b == b'/' {
                if n == 0 {
                    prefix = target.get(..i).unwrap_or(target);
                    break;
                }
                n -= 1;
            }
        }
        if n > 0 {
            continue;
        }
        if path_match(glob, prefix) == Ok(true) {
            return Some(written.to_string());
        }
    }
    None
}

/// Whether `glob` is well-formed for [`path_match`] (x/mod silently skips malformed ones, so
/// a configuration check reports them).
pub fn is_valid_glob(glob: &str) -> bool {
    // Go's Match validates the rest of the pattern before reporting a mismatch, so matching
    // against "" checks every chunk.
    path_match(glob, "").is_ok()
}

fn tail(s: &[u8], n: usize) -> &[u8] {
    s.get(n..).unwrap_or_default()
}

/// `utf8.DecodeRune`: the character at the start of `s` and its length; an invalid or
/// truncated sequence is U+FFFD of length 1; an empty slice is U+FFFD of length 0.
fn decode_rune(s: &[u8]) -> (u32, usize) {
    if s.is_empty() {
        return (0xFFFD, 0);
    }
    let head = s.get(..s.len().min(4)).unwrap_or(s);
    let valid = match std::str::from_utf8(head) {
        Ok(v) => v,
        Err(e) => {
            std::str::from_utf8(head.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default()
        }
    };
    match valid.chars().next() {
        Some(c) => (u32::from(c), c.len_utf8()),
        None => (0xFFFD, 1),
    }
}

fn match_bytes(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, BadPattern> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // Trailing * matches the rest of the name unless it has a /.
            return Ok(!name.contains(&b'/'));
        }
        // Look for a match at the current position; the last chunk must use up the name.
        if let Some(t) = match_chunk(chunk, name)? {
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        if star {
            // Look for a match skipping i+1 bytes; a * cannot skip a /.
            let mut i = 0;
            while let Some(&b) = name.get(i) {
                if b == b'/' {
                    break;
                }
                if let Some(t) = match_chunk(chunk, tail(name, i + 1))? {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // Before returning false, check that the rest of the pattern is well-formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off the next chunk: leading stars, then everything up to the next `*` outside a class.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let [b'*', rest @ ..] = pattern {
        pattern = rest;
        star = true;
    }
    let mut inrange = false;
    let mut i = 0;
    while let Some(&b) = pattern.get(i) {
        match b {
            // A trailing \ is reported by match_chunk.
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => inrange = true,
            b']' => inrange = false,
            b'*' if !inrange => {
                let (chunk, rest) = pattern.split_at(i);
                return (star, chunk, rest);
            }
            _ => {}
        }
        i += 1;
    }
    (star, pattern, &[])
}

/// Matches a star-free chunk against the start of `s`; `Ok(Some(rest))` on a match. After a
/// mismatch the chunk is still read to the end, to report a malformed pattern.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (ch, n) = decode_rune(s);
                    r = ch;
                    s = tail(s, n);
                }
                chunk = tail(chunk, 1);
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = tail(chunk, 1);
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = tail(chunk, 1);
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(tail(chunk, 1))?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s.first() == Some(&b'/') {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = tail(s, n);
                }
                chunk = tail(chunk, 1);
            }
            _ => {
                let lit = if c == b'\\' {
                    chunk = tail(chunk, 1);
                    match chunk.first() {
                        Some(&l) => l,
                        None => return Err(BadPattern),
                    }
                } else {
                    c
                };
                if !failed {
                    if s.first() != Some(&lit) {
                        failed = true;
                    }
                    s = tail(s, 1);
                }
                chunk = tail(chunk, 1);
            }
        }
    }
    if failed {
        Ok(None)
    } else {
        Ok(Some(s))
    }
}

/// One possibly escaped character of a class; the class must go on after it.
fn get_esc(mut chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = tail(chunk, 1);
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode_rune(chunk);
    if r == 0xFFFD && n == 1 {
        return Err(BadPattern);
    }
    let rest = tail(chunk, n);
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(globs: &str, target: &str) -> bool {
        match_prefix_patterns(globs, target).is_some()
    }

    /// x/mod `module/module_test.go` TestMatchPrefixPatterns, every case.
    #[test]
    fn x_mod_match_prefix_patterns_cases() {
        let cases: &[(&str, &str, bool)] = &[
            ("", "rsc.io/quote", false),
            ("/", "rsc.io/quote", false),
            ("*/quote", "rsc.io/quote", true),
            ("*/quo", "rsc.io/quote", false),
            ("*/quo??", "rsc.io/quote", true),
            ("*/quo*", "rsc.io/quote", true),
            ("*quo*", "rsc.io/quote", false),
            ("rsc.io", "rsc.io/quote", true),
            ("*.io", "rsc.io/quote", true),
            ("rsc.io/", "rsc.io/quote", true),
            ("rsc", "rsc.io/quote", false),
            ("rsc*", "rsc.io/quote", true),
            ("rsc.io", "rsc.io/quote/v3", true),
            ("*/quote", "rsc.io/quote/v3", true),
            ("*/quote/", "rsc.io/quote/v3", true),
            ("*/quote/*", "rsc.io/quote/v3", true),
            ("*/quote/*/", "rsc.io/quote/v3", true),
            ("*/v3", "rsc.io/quote/v3", false),
            ("*/*/v3", "rsc.io/quote/v3", true),
            ("*/*/*", "rsc.io/quote/v3", true),
            ("*/*/*/", "rsc.io/quote/v3", true),
            ("*/*/*", "rsc.io/quote", false),
            ("*/*/*/", "rsc.io/quote", false),
            ("*/*/*,,", "rsc.io/quote", false),
            ("*/*/*,,*/quote", "rsc.io/quote", true),
            (",,*/quote", "rsc.io/quote", true),
        ];
        for &(globs, target, want) in cases {
            assert_eq!(
                m(globs, target),
                want,
                "MatchPrefixPatterns({globs:?}, {target:?})"
            );
        }
    }

    #[test]
    fn returns_the_glob_as_written() {
        assert_eq!(
            match_prefix_patterns("x.org,*/quote/,y.org", "rsc.io/quote/v3").as_deref(),
            Some("*/quote/")
        );
        assert_eq!(
            match_prefix_patterns("rsc.io/quote/v3/x", "rsc.io/quote"),
            None
        );
        assert_eq!(match_prefix_patterns(",,,", "rsc.io/quote"), None);
        // A malformed glob is skipped, the next one still counts.
        assert_eq!(
            match_prefix_patterns("[,rsc.io", "rsc.io/quote").as_deref(),
            Some("rsc.io")
        );
        assert_eq!(match_prefix_patterns("[", "rsc.io/quote"), None);
        // Spaces are part of the glob, as in Go.
        assert_eq!(match_prefix_patterns(" rsc.io", "rsc.io/quote"), None);
    }

    /// Cases from Go `src/path/match_test.go` (matchTests).
    #[test]
    fn go_path_match_cases() {
        let ok: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("[\\-x]", "-", true),
            ("[\\-x]", "a", false),
            ("*x", "xxx", true),
        ];
        for &(p, s, want) in ok {
            assert_eq!(path_match(p, s), Ok(want), "Match({p:?}, {s:?})");
        }
        let bad: &[(&str, &str)] = &[
            ("[]a]", "]"),
            ("[-]", "-"),
            ("[x-]", "x"),
            ("[x-]", "-"),
            ("[x-]", "z"),
            ("[-x]", "x"),
            ("[-x]", "-"),
            ("[-x]", "a"),
            ("\\", "a"),
            ("[a-b-c]", "a"),
            ("[", "a"),
            ("[^", "a"),
            ("[^bc", "a"),
            ("a[", "a"),
            ("a[", "ab"),
            ("a[", "x"),
            ("a/b[", "x"),
            ("*x\\", "xxx"),
        ];
        for &(p, s) in bad {
            assert_eq!(path_match(p, s), Err(BadPattern), "Match({p:?}, {s:?})");
        }
        assert!(is_valid_glob("github.com/acme/*"));
        assert!(!is_valid_glob("github.com/[acme"));
    }
}
