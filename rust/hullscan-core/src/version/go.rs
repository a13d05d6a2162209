//! Go module versions, as `golang.org/x/mod/semver` reads them.
//!
//! `vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]`: the `v` is required; `v1` and `v1.2` are
//! shorthands for `v1.0.0` and `v1.2.0` and take no pre-release or build suffix; numbers and
//! numeric pre-release identifiers have no leading zeros; build metadata (`+incompatible`) is
//! ignored. Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`) are ordinary pre-releases.
//! Numbers have no size limit in Go; the key holds up to 255 digits.
//!
//! Invalid versions: Go's `Compare` sorts every invalid string below every valid version and
//! equal to each other. [`key`] rejects them instead, so a scanner never mistakes garbage for the
//! lowest version; [`key_or_lowest`] reproduces Go's total order (an empty key for invalid
//! strings) for callers that sort lists the way Go does.

use super::semver::{encode, Ident};

/// The order-preserving key of the Go module version `version`.
///
/// # Errors
/// Why `version` is not a valid Go semantic version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let p =
        parse(version).ok_or("not a Go semantic version (vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]])")?;
    p.key()
}

/// Go's total order: the key of a valid version, or the empty key (below every valid key, equal
/// for all invalid strings) for anything else, as `semver.Compare` orders them.
#[must_use]
pub fn key_or_lowest(version: &str) -> Vec<u8> {
    parse(version)
        .and_then(|p| p.key().ok())
        .unwrap_or_default()
}

/// The key of a version as the OSV `Go` ecosystem writes it: full `MAJOR.MINOR.PATCH[-PRE]`,
/// with or without the `v`. Shorthands are refused, so OSV's `"introduced": "0"` (meaning "every
/// version", pseudo-versions of v0.0.0 included) is an error here and must be handled by the
/// caller rather than read as `v0.0.0`.
///
/// # Errors
/// When `version` is not a full semantic version.
pub fn key_osv(version: &str) -> Result<Vec<u8>, String> {
    let v = if version.starts_with('v') {
        version.to_string()
    } else {
        format!("v{version}")
    };
    match parse(&v) {
        Some(p) if !p.short => p.key(),
        Some(_) => Err("a shorthand is not a full OSV Go version".into()),
        None => Err("not a Go semantic version".into()),
    }
}

/// Go has no range syntax; this takes comparators (`=`, `==`, `!=`, `<`, `<=`, `>`, `>=`, none
/// meaning `=`) separated by commas or spaces, all of which must hold: `>= v1.2.0, < v1.3.0`.
///
/// # Errors
/// When the version or a comparator's version is invalid, or the range is empty or malformed.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = key(version)?;
    let mut comparators = Vec::new();
    let mut pending: Option<&str> = None;
    let tokens = range.split(|c: char| c == ',' || c.is_whitespace());
    for tok in tokens.filter(|t| !t.is_empty()) {
        let op_len = tok.bytes().take_while(|b| b"<>=!".contains(b)).count();
        let (op, ver) = tok.split_at(op_len);
        let op = match (pending.take(), op.is_empty()) {
            (Some(p), true) => p,
            (Some(_), false) => return Err(format!("two operators before {tok:?}")),
            (None, _) => op,
        };
        if ver.is_empty() {
            pending = Some(op);
            continue;
        }
        if !matches!(op, "" | "=" | "==" | "!=" | "<" | "<=" | ">" | ">=") {
            return Err(format!("unknown operator {op:?}"));
        }
        comparators.push((op, key(ver)?));
    }
    if pending.is_some() {
        return Err("operator without a version".into());
    }
    if comparators.is_empty() {
        return Err("empty range".into());
    }
    Ok(comparators.iter().all(|(op, k)| match *op {
        "!=" => v != *k,
        "<" => v < *k,
        "<=" => v <= *k,
        ">" => v > *k,
        ">=" => v >= *k,
        _ => v == *k,
    }))
}

struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: Option<&'a str>,
    /// `v1` or `v1.2`
    short: bool,
}

impl Parsed<'_> {
    fn key(&self) -> Result<Vec<u8>, String> {
        let pre: Vec<Ident> = self
            .pre
            .map(|p| p.split('.').map(Ident::new).collect())
            .unwrap_or_default();
        encode(self.major, self.minor, self.patch, &pre)
    }
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let (major, rest) = number(rest)?;
    if rest.is_empty() {
        return Some(Parsed {
            major,
            minor: "0",
            patch: "0",
            pre: None,
            short: true,
        });
    }
    let (minor, rest) = number(rest.strip_prefix('.')?)?;
    if rest.is_empty() {
        return Some(Parsed {
            major,
            minor,
            patch: "0",
            pre: None,
            short: true,
        });
    }
    let (patch, mut rest) = number(rest.strip_prefix('.')?)?;
    let mut pre = None;
    if let Some(r) = rest.strip_prefix('-') {
        let end = r.find('+').unwrap_or(r.len());
        let text = &r[..end];
        for id in text.split('.') {
            let numeric = id.bytes().all(|b| b.is_ascii_digit());
            if id.is_empty()
                || !id.bytes().all(ident_char)
                || (numeric && id.len() > 1 && id.starts_with('0'))
            {
                return None;
            }
        }
        pre = Some(text);
        rest = &r[end..];
    }
    if let Some(b) = rest.strip_prefix('+') {
        if b.split('.')
            .any(|id| id.is_empty() || !id.bytes().all(ident_char))
        {
            return None;
        }
        rest = "";
    }
    rest.is_empty().then_some(Parsed {
        major,
        minor,
        patch,
        pre,
        short: false,
    })
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Decimal digits without a leading zero (a lone `0` is fine), and the rest.
fn number(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || (n > 1 && s.starts_with('0')) {
        return None;
    }
    Some(s.split_at(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: &str) -> Vec<u8> {
        key(v).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn order() {
        assert_eq!(k("v1"), k("v1.0.0"));
        assert_eq!(k("v1.2"), k("v1.2.0"));
        assert_eq!(k("v2.0.0+incompatible"), k("v2.0.0"));
        assert!(k("v0.0.0-20191109021931-daa7c04131f5") < k("v0.0.0"));
        assert!(k("v1.9.0") < k("v1.10.0"));
        assert!(k("v1.2.3-pre.1") < k("v1.2.3-pre.a"));
    }

    #[test]
    fn invalid() {
        for v in [
            "1.2.3",
            "v1.2-pre",
            "v1+meta",
            "v01.2.3",
            "v1.2.3-01",
            "v1.2.3+",
            "v1.2.3.4",
            "",
        ] {
            assert!(key(v).is_err(), "{v}");
            assert!(key_or_lowest(v).is_empty());
        }
        assert!(key_osv("0").is_err());
        assert_eq!(key_osv("1.2.3").ok(), key("v1.2.3").ok());
    }

    #[test]
    fn ranges() {
        assert_eq!(satisfies("v1.2.5", ">= v1.2.0, < v1.3.0"), Ok(true));
        assert_eq!(satisfies("v1.3.0", ">=v1.2.0 <v1.3.0"), Ok(false));
        assert_eq!(satisfies("v1.3.0", "!= v1.3.0"), Ok(false));
        assert!(satisfies("v1.3.0", "> bad").is_err());
        assert!(satisfies("v1.3.0", "").is_err());
        assert!(satisfies("v1.3.0", "< v1.0.0, >= nope").is_err());
    }
}
