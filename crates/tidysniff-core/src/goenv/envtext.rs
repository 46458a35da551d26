//! Readers for the three texts a Go configuration comes in: `go env -json` output (a flat JSON
//! object of strings, Go `cmd/go/internal/envcmd/env.go` `printEnvAsJSON`), the go env file
//! written by `go env -w` (`$GOENV`, Go `cmd/go/internal/cfg/cfg.go` `readEnvFile`), and the
//! shell-style text `go env` prints without `-json`.
//!
//! All three return the `(name, value)` pairs in file order; a later duplicate overrides an
//! earlier one when a [`Layer`](super::Layer) is looked up, as a later key does in Go.

use std::fmt;

/// Why `go env -json` output did not parse; `offset` is a byte offset into the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoEnvError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was wrong there.
    pub kind: GoEnvErrorKind,
}

/// The kinds of [`GoEnvError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GoEnvErrorKind {
    /// The text does not start with `{` (after white space).
    NotAnObject,
    /// A member does not start with a `"` key.
    ExpectedKey,
    /// A key is not followed by `:`.
    ExpectedColon,
    /// A value is not a string (numbers, `true`, `null`, arrays and objects never appear in
    /// `go env -json`).
    NotAString,
    /// A member is followed by neither `,` nor `}`.
    ExpectedCommaOrEnd,
    /// The text ends inside a string or before the closing `}`.
    UnexpectedEnd,
    /// A `\` escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
    BadEscape,
    /// A raw control character (below U+0020) inside a string.
    ControlCharacter,
    /// Something other than white space after the closing `}`.
    TrailingData,
}

impl GoEnvErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            GoEnvErrorKind::NotAnObject => "expected a JSON object",
            GoEnvErrorKind::ExpectedKey => "expected a string key",
            GoEnvErrorKind::ExpectedColon => "expected ':' after a key",
            GoEnvErrorKind::NotAString => "value is not a string",
            GoEnvErrorKind::ExpectedCommaOrEnd => "expected ',' or '}'",
            GoEnvErrorKind::UnexpectedEnd => "unexpected end of input",
            GoEnvErrorKind::BadEscape => "invalid escape in string",
            GoEnvErrorKind::ControlCharacter => "control character in string",
            GoEnvErrorKind::TrailingData => "data after the closing '}'",
        }
    }
}

impl fmt::Display for GoEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "go env -json: {} at byte {}",
            self.kind.as_str(),
            self.offset
        )
    }
}

impl std::error::Error for GoEnvError {}

/// Parses `go env -json` output: one JSON object whose values are all strings.
///
/// Standard JSON string escapes are decoded, `\uXXXX` included; a surrogate pair becomes one
/// character and a lone surrogate becomes U+FFFD, as Go's `encoding/json` decodes it. A UTF-8
/// byte-order mark before the object is skipped (Windows redirections add one). Duplicate keys
/// are all returned, in order.
///
/// ```
/// use tidysniff_core::goenv::parse_go_env_json;
/// let vars = parse_go_env_json(r#"{ "GOPROXY": "https://goproxy.cn,direct", "GOFLAGS": "" }"#)?;
/// assert_eq!(vars[0], ("GOPROXY".to_string(), "https://goproxy.cn,direct".to_string()));
/// # Ok::<(), tidysniff_core::goenv::GoEnvError>(())
/// ```
pub fn parse_go_env_json(text: &str) -> Result<Vec<(String, String)>, GoEnvError> {
    let mut p = Json {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    if text.starts_with('\u{feff}') {
        p.i = '\u{feff}'.len_utf8();
    }
    let mut out = Vec::new();
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(p.err(GoEnvErrorKind::NotAnObject));
    }
    p.i += 1;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            match p.peek() {
                Some(b'"') => {}
                None => return Err(p.err(GoEnvErrorKind::UnexpectedEnd)),
                Some(_) => return Err(p.err(GoEnvErrorKind::ExpectedKey)),
            }
            let key = p.string()?;
            p.ws();
            match p.peek() {
                Some(b':') => p.i += 1,
                None => return Err(p.err(GoEnvErrorKind::UnexpectedEnd)),
                Some(_) => return Err(p.err(GoEnvErrorKind::ExpectedColon)),
            }
            p.ws();
            match p.peek() {
                Some(b'"') => {}
                None => return Err(p.err(GoEnvErrorKind::UnexpectedEnd)),
                Some(_) => return Err(p.err(GoEnvErrorKind::NotAString)),
            }
            let value = p.string()?;
            out.push((key, value));
            p.ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                None => return Err(p.err(GoEnvErrorKind::UnexpectedEnd)),
                Some(_) => return Err(p.err(GoEnvErrorKind::ExpectedCommaOrEnd)),
            }
        }
    }
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err(GoEnvErrorKind::TrailingData));
    }
    Ok(out)
}

struct Json<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Json<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, kind: GoEnvErrorKind) -> GoEnvError {
        GoEnvError {
            offset: self.i,
            kind,
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Reads a string starting at the opening quote.
    fn string(&mut self) -> Result<String, GoEnvError> {
        self.i += 1;
        let mut out = String::new();
        let mut run = self.i;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(GoEnvErrorKind::UnexpectedEnd));
            };
            match c {
                b'"' | b'\\' => {
                    // Quote and backslash are ASCII, so `run..i` lies on character boundaries.
                    out.push_str(self.s.get(run..self.i).unwrap_or(""));
                    self.i += 1;
                    if c == b'"' {
                        return Ok(out);
                    }
                    self.escape(&mut out)?;
                    run = self.i;
                }
                0..=0x1f => return Err(self.err(GoEnvErrorKind::ControlCharacter)),
                _ => self.i += 1,
            }
        }
    }

    /// Decodes the escape after a `\` (already consumed).
    fn escape(&mut self, out: &mut String) -> Result<(), GoEnvError> {
        let Some(c) = self.peek() else {
            return Err(self.err(GoEnvErrorKind::UnexpectedEnd));
        };
        self.i += 1;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate: combine with a following \u low surrogate if there is
                    // one; otherwise U+FFFD and the next escape is read on its own.
                    let save = self.i;
                    if self.b.get(self.i) == Some(&b'\\') && self.b.get(self.i + 1) == Some(&b'u') {
                        self.i += 2;
                        match self.hex4() {
                            Ok(second) if (0xDC00..0xE000).contains(&second) => {
                                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                                char::from_u32(c).unwrap_or('\u{fffd}')
                            }
                            _ => {
                                self.i = save;
                                '\u{fffd}'
                            }
                        }
                    } else {
                        '\u{fffd}'
                    }
                } else {
                    char::from_u32(first).unwrap_or('\u{fffd}')
                }
            }
            _ => {
                self.i -= 1;
                return Err(self.err(GoEnvErrorKind::BadEscape));
            }
        };
        out.push(ch);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, GoEnvError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                None => return Err(self.err(GoEnvErrorKind::UnexpectedEnd)),
                Some(_) => return Err(self.err(GoEnvErrorKind::BadEscape)),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }
}

/// Parses a go env file (`$GOENV`, by default `os.UserConfigDir()/go/env`, or `$GOROOT/go.env`)
/// exactly as Go's `readEnvFile` does: lines split on `\n`; a line counts when it has an `=` and
/// starts with an upper-case ASCII letter (so `#` comments and blank lines are skipped); the
/// name is everything before the first `=` and the value everything after, unquoted and
/// untrimmed.
pub fn parse_go_env_file(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter(|line| line.as_bytes().first().is_some_and(u8::is_ascii_uppercase))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Parses what `go env` prints, in any of its forms: `-json` output (text starting with `{`),
/// the POSIX shell form (`GOPROXY='https://proxy.golang.org,direct'`, single quotes with `'\''`
/// for a quote; before Go 1.22 double quotes), or the Windows form (`set GOPROXY=...`). Lines
/// that are not `NAME=value` with an upper-case first letter are skipped; `export ` is
/// accepted as a prefix too.
pub fn parse_go_env_text(text: &str) -> Result<Vec<(String, String)>, GoEnvError> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') {
        return parse_go_env_json(text);
    }
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line
            .strip_prefix("set ")
            .or_else(|| line.strip_prefix("export "))
            .unwrap_or(line)
            .trim_start();
        if !line.as_bytes().first().is_some_and(u8::is_ascii_uppercase) {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        out.push((k.to_string(), shell_unquote(v)));
    }
    Ok(out)
}

/// Undoes POSIX shell quoting of one word: `'...'` literal, `"..."` with `\` before `"`, `\`,
/// `$` and `` ` ``, and `\c` outside quotes. An unclosed quote runs to the end.
fn shell_unquote(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                            Some(n) => {
                                out.push('\\');
                                out.push(n);
                            }
                            None => out.push('\\'),
                        },
                        _ => out.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    /// Shaped like real `go env -json` output (Go 1.22, Linux), with escapes added.
    const SAMPLE: &str = r#"{
	"AR": "ar",
	"CC": "gcc",
	"CGO_CFLAGS": "-O2 -g",
	"GOENV": "/home/dev/.config/go/env",
	"GOFLAGS": "",
	"GOINSECURE": "",
	"GONOPROXY": "github.com/acme/*",
	"GONOSUMDB": "github.com/acme/*",
	"GOPATH": "C:\\Users\\dev\\go",
	"GOPRIVATE": "github.com/acme/*",
	"GOPROXY": "https://goproxy.cn,direct",
	"GOSUMDB": "sum.golang.google.cn",
	"GOVERSION": "go1.22.5",
	"NOTE": "tab\there \"quoted\" \u00e9\u4e2d \ud83d\ude00 \/ \ud800x",
	"GOWORK": ""
}
"#;

    #[test]
    fn parses_realistic_go_env_json() {
        let v = parse_go_env_json(SAMPLE).unwrap();
        assert_eq!(v.len(), 15);
        assert!(v.contains(&kv("GOPROXY", "https://goproxy.cn,direct")));
        assert!(v.contains(&kv("GOPATH", "C:\\Users\\dev\\go")));
        assert!(v.contains(&kv("GOFLAGS", "")));
        assert!(v.contains(&kv("NOTE", "tab\there \"quoted\" é中 😀 / \u{fffd}x")));
        assert_eq!(v.last(), Some(&kv("GOWORK", "")));
    }

    #[test]
    fn json_edge_cases() {
        assert_eq!(parse_go_env_json("{}").unwrap(), vec![]);
        assert_eq!(parse_go_env_json("\u{feff} { } \n").unwrap(), vec![]);
        // A high surrogate followed by a non-surrogate escape: U+FFFD, then the escape itself.
        assert_eq!(
            parse_go_env_json(r#"{"K":"\ud800\u0041"}"#).unwrap(),
            vec![kv("K", "\u{fffd}A")]
        );
        assert_eq!(
            parse_go_env_json(r#"{"K":"\udc00"}"#).unwrap(),
            vec![kv("K", "\u{fffd}")]
        );
        let e = |s: &str| parse_go_env_json(s).unwrap_err().kind;
        assert_eq!(e(""), GoEnvErrorKind::NotAnObject);
        assert_eq!(e("[]"), GoEnvErrorKind::NotAnObject);
        assert_eq!(e(r#"{"A":1}"#), GoEnvErrorKind::NotAString);
        assert_eq!(e(r#"{"A" "b"}"#), GoEnvErrorKind::ExpectedColon);
        assert_eq!(
            e(r#"{"A":"b" "C":"d"}"#),
            GoEnvErrorKind::ExpectedCommaOrEnd
        );
        assert_eq!(e(r#"{"A":"b",}"#), GoEnvErrorKind::ExpectedKey);
        assert_eq!(e(r#"{"A":"b"} x"#), GoEnvErrorKind::TrailingData);
        assert_eq!(e(r#"{"A":"\x"}"#), GoEnvErrorKind::BadEscape);
        assert_eq!(e(r#"{"A":"\u12"}"#), GoEnvErrorKind::BadEscape);
        assert_eq!(e("{\"A\":\"a\nb\"}"), GoEnvErrorKind::ControlCharacter);
        assert_eq!(e(r#"{"A":"b"#), GoEnvErrorKind::UnexpectedEnd);
        let err = parse_go_env_json(r#"{"A":true}"#).unwrap_err();
        assert_eq!(err.offset, 5);
        assert_eq!(
            err.to_string(),
            "go env -json: value is not a string at byte 5"
        );
    }

    #[test]
    fn go_env_file_like_read_env_file() {
        let text = "# comment\nGOPROXY=https://goproxy.cn,direct\n\nlower=x\nGOPRIVATE=\nNOEQUALS\nGOSUMDB= off \n";
        assert_eq!(
            parse_go_env_file(text),
            vec![
                kv("GOPROXY", "https://goproxy.cn,direct"),
                kv("GOPRIVATE", ""),
                kv("GOSUMDB", " off "),
            ]
        );
    }

    #[test]
    fn go_env_text_forms() {
        let posix = "GO111MODULE=''\nGOPROXY='https://goproxy.cn,direct'\nGONOSUMDB='it'\\''s'\n";
        assert_eq!(
            parse_go_env_text(posix).unwrap(),
            vec![
                kv("GO111MODULE", ""),
                kv("GOPROXY", "https://goproxy.cn,direct"),
                kv("GONOSUMDB", "it's"),
            ]
        );
        let old = "GOPROXY=\"https://proxy.golang.org,direct\"\n";
        assert_eq!(
            parse_go_env_text(old).unwrap(),
            vec![kv("GOPROXY", "https://proxy.golang.org,direct")]
        );
        let windows = "set GOPROXY=https://goproxy.io,direct\r\nset GOSUMDB=off\r\n";
        assert_eq!(
            parse_go_env_text(windows).unwrap(),
            vec![
                kv("GOPROXY", "https://goproxy.io,direct"),
                kv("GOSUMDB", "off")
            ]
        );
        assert_eq!(
            parse_go_env_text("  {\"GOPROXY\":\"off\"}").unwrap(),
            vec![kv("GOPROXY", "off")]
        );
    }
}
