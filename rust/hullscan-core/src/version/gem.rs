//! RubyGems versions (`Gem::Version`) and requirements (`Gem::Requirement`).
//!
//! A version is `N(.X)*(-P(.P)*)?` with `N` digits, `X` ASCII alphanumerics and `P`
//! alphanumerics or `-`, with surrounding ASCII whitespace; an empty string is `0`. A `-` stands
//! for `.pre.`. The version splits into segments, runs of digits (numbers) or of letters
//! (strings): `1.2.b1` is `1, 2, "b", 1`, the same as `1.2.b.1`.
//!
//! Order (`Gem::Version#<=>`): the canonical segments (trailing zeros dropped from the numeric
//! part before the first string and from the rest) compare one by one, a missing segment counting
//! as 0; a string is below any number, strings compare by bytes, numbers by value.
//!
//! The key encodes that padded comparison: each segment with the run of zeros before it (a string
//! after k zeros sorts above one after fewer; a number after k zeros below one after fewer), and
//! an end marker between strings and numbers, since "nothing more" is an endless run of zeros.
//! Numbers may have up to 255 significant digits.

use super::push_number;
use std::cmp::Ordering;

/// The order-preserving key of `version`.
///
/// # Errors
/// Why `version` is not a RubyGems version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    Gem::parse(version)?.key()
}

/// Whether `version` satisfies the RubyGems requirement list `range` (`~> 1.4`,
/// `>= 1.4, != 1.5, < 2`; no operator means `=`); every requirement must hold. Pre-releases are
/// not excluded (as `Gem::Requirement#satisfied_by?`).
///
/// # Errors
/// When the version or a requirement is invalid, or the list is empty.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = Gem::parse(version)?;
    let kv = v.key()?;
    let mut reqs = Vec::new();
    for part in range.split(',') {
        reqs.push(parse_requirement(part)?);
    }
    if reqs.is_empty() {
        return Err("empty requirement".into());
    }
    for (op, r) in &reqs {
        let kr = r.key()?;
        let o = kv.cmp(&kr);
        let ok = match *op {
            "=" => o == Ordering::Equal,
            "!=" => o != Ordering::Equal,
            ">" => o == Ordering::Greater,
            "<" => o == Ordering::Less,
            ">=" => o != Ordering::Less,
            "<=" => o != Ordering::Greater,
            // "~>": at least r, and the release of v below r bumped
            _ => o != Ordering::Less && v.release_key()? < r.bump_key()?,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Ruby's `\s`.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    /// significant digits ("" is 0)
    Num(String),
    Str(String),
}

impl Seg {
    fn is_zero(&self) -> bool {
        matches!(self, Seg::Num(n) if n.is_empty())
    }
}

struct Gem {
    /// the segments as written (`Gem::Version#segments`)
    segments: Vec<Seg>,
}

/// Whether `s` (already stripped) matches `VERSION_PATTERN`.
fn valid_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if i == 0 {
        return false;
    }
    while b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
            i += 1;
        }
    }
    if b.get(i) == Some(&b'-') {
        let part = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-';
        let rest = &s[i + 1..];
        if rest
            .split('.')
            .any(|p| p.is_empty() || !p.as_bytes().iter().all(part))
        {
            return false;
        }
        i = b.len();
    }
    i == b.len()
}

impl Gem {
    fn parse(version: &str) -> Result<Gem, String> {
        let s = version.trim_matches(is_ruby_space);
        if !s.is_empty() && !valid_pattern(s) {
            return Err("malformed version number string".into());
        }
        let s = if s.is_empty() {
            "0".to_string()
        } else {
            s.replace('-', ".pre.")
        };
        let mut segments = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                segments.push(Seg::Num(s[start..i].trim_start_matches('0').to_string()));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segments.push(Seg::Str(s[start..i].to_string()));
            } else {
                i += 1;
            }
        }
        Ok(Gem { segments })
    }

    /// `canonical_segments`: trailing zeros dropped from the numeric part and from the part that
    /// starts at the first string.
    fn canonical(&self) -> Vec<&Seg> {
        let split = self
            .segments
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(self.segments.len());
        let (num, rest) = self.segments.split_at(split);
        let trim = |p: &'_ [Seg]| {
            let mut n = p.len();
            while n > 0 && p[n - 1].is_zero() {
                n -= 1;
            }
            n
        };
        let mut out: Vec<&Seg> = num[..trim(num)].iter().collect();
        out.extend(rest[..trim(rest)].iter());
        out
    }

    fn key(&self) -> Result<Vec<u8>, String> {
        encode(&self.canonical())
    }

    /// `release`: the segments before the first string.
    fn release_key(&self) -> Result<Vec<u8>, String> {
        let n = self
            .segments
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(self.segments.len());
        numeric_key(&self.segments[..n])
    }

    /// `bump`: the segments before the first string, less the last one if more than one is
    /// left, with the last incremented.
    fn bump_key(&self) -> Result<Vec<u8>, String> {
        let n = self
            .segments
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(self.segments.len());
        let mut segs = self.segments[..n].to_vec();
        if segs.len() > 1 {
            segs.pop();
        }
        if let Some(Seg::Num(last)) = segs.last_mut() {
            *last = increment(last);
        }
        numeric_key(&segs)
    }
}

/// The key of a version made of numbers only.
fn numeric_key(segs: &[Seg]) -> Result<Vec<u8>, String> {
    let g = Gem {
        segments: segs.to_vec(),
    };
    g.key()
}

fn increment(n: &str) -> String {
    let mut d: Vec<u8> = n.bytes().collect();
    let mut i = d.len();
    loop {
        if i == 0 {
            d.insert(0, b'1');
            break;
        }
        i -= 1;
        if d[i] == b'9' {
            d[i] = b'0';
        } else {
            d[i] += 1;
            break;
        }
    }
    String::from_utf8(d).unwrap_or_default()
}

/// Each segment with the run of zeros before it, then the end marker (2): strings (1) sort below
/// the end, numbers (3) above it.
fn encode(canonical: &[&Seg]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(16);
    let mut zeros: u32 = 0;
    for s in canonical {
        match s {
            Seg::Num(n) if n.is_empty() => zeros += 1,
            Seg::Num(n) => {
                out.push(3);
                out.extend_from_slice(&(u32::MAX - zeros).to_be_bytes());
                push_number(&mut out, n)?;
                zeros = 0;
            }
            Seg::Str(t) => {
                out.push(1);
                out.extend_from_slice(&zeros.to_be_bytes());
                out.extend_from_slice(t.as_bytes());
                out.push(0);
                zeros = 0;
            }
        }
    }
    out.push(2);
    Ok(out)
}

/// `[op] version`, op one of `=`, `!=`, `>`, `<`, `>=`, `<=`, `~>` (default `=`).
fn parse_requirement(req: &str) -> Result<(&'static str, Gem), String> {
    let bad = || format!("{req:?} is not a RubyGems requirement");
    let s = req.trim_matches(is_ruby_space);
    let ops = ["!=", ">=", "<=", "~>", "=", ">", "<"];
    let (op, rest) = ops
        .iter()
        .find_map(|op| s.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("=", s));
    let v = rest.trim_start_matches(is_ruby_space);
    if !valid_pattern(v) {
        return Err(bad());
    }
    Ok((op, Gem::parse(v)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: &str) -> Vec<u8> {
        key(v).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn order() {
        assert_eq!(k("1.2.b1"), k("1.2.b.1"));
        assert_eq!(k(""), k("0"));
        assert_eq!(k("1.0.a"), k("1.a"));
        assert_eq!(k("0.beta.1"), k("0.0.beta.1"));
        let seq = [
            "1.0.0-1",
            "1",
            "1.0.1",
            "1.1.a",
            "1.1",
            "1.1.0.0.1",
            "1.1.1",
        ];
        for w in seq.windows(2) {
            assert!(k(w[0]) < k(w[1]), "{} < {}", w[0], w[1]);
        }
        assert!(k("1.a.0.0.1") > k("1.a"));
        assert!(k("1.a.0.0.b") < k("1.a"));
        assert!(k("1.a.0.b") < k("1.a.0.0.b"));
    }

    #[test]
    fn invalid() {
        for v in ["1.0-", "a", "1..0", "1.0 x", "-1", "1.0+b"] {
            assert!(key(v).is_err(), "{v}");
        }
    }

    #[test]
    fn requirements() {
        assert_eq!(satisfies("1.4.9", "~> 1.4.4"), Ok(true));
        assert_eq!(satisfies("1.5", "~> 1.4.4"), Ok(false));
        assert_eq!(satisfies("1.5.0.rc1", ">= 1.4.4, < 1.5"), Ok(true));
        assert!(satisfies("1.0", "~>").is_err());
        assert!(satisfies("1.0", "").is_err());
    }
}
