//! The `rpm` version scheme: `[epoch:]version[-release]` compared with `rpmvercmp`.
//!
//! # Parsing
//! As rpm's `parseEVR`: leading digits followed by `:` are the epoch (missing: 0); the release is
//! what follows the last `-`. hullscan also checks what `rpmbuild` allows in a version and a
//! release, so that garbage is an error rather than an arbitrary order: letters, digits and
//! `._+~^` only (no `-` inside the version, no whitespace, no unexpanded `%{macro}`), neither may
//! be empty, and the epoch must not be empty (`:1.0`). A digit run of more than 255 significant
//! digits is rejected (the key stores a number's length in one byte); rpm has no such limit.
//!
//! # Order
//! `rpmvercmp` skips separators (anything but letters, digits, `~` and `^`), then compares
//! segments: maximal runs of digits (as numbers) or of letters (as byte strings), with
//! `~` < end of string < `^` < letters < digits at any one position; the epoch, version and
//! release compare in that order. A missing release compares as the empty release, which is
//! lower than any release (`1.0` < `1.0-1`): this is `rpm.labelCompare` with an empty release,
//! and a total order. rpm's *dependency* comparison instead ignores the release when either side
//! lacks one (`1.0` matches `= 1.0-5`); [`satisfies`] follows that rule, [`key`] cannot (it is
//! not transitive).
//!
//! # Key
//! One byte per token: `~` 1, end 2, `^` 3, a letter run 4 + the letters + 0, a digit run 5 +
//! [`super::push_number`]. Every string ends with the end byte, so the epoch, version and
//! release keys concatenate.

use std::cmp::Ordering;

use super::push_number;

const TILDE: u8 = 1;
const END: u8 = 2;
const CARET: u8 = 3;
const ALPHA: u8 = 4;
const DIGITS: u8 = 5;

/// An rpm EVR, borrowed from the input. `release` is `None` when the string has no `-`.
struct Evr<'a> {
    epoch: &'a str,
    version: &'a str,
    release: Option<&'a str>,
}

fn check_chars(what: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} is empty"));
    }
    match s
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "._+~^".contains(c)))
    {
        Some(c) => Err(format!("invalid character {c:?} in {what}")),
        None => Ok(()),
    }
}

fn parse(s: &str) -> Result<Evr<'_>, String> {
    if s.is_empty() {
        return Err("version string is empty".into());
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, rest) = if s[digits..].starts_with(':') {
        if digits == 0 {
            return Err("epoch is empty".into());
        }
        (&s[..digits], &s[digits + 1..])
    } else {
        ("0", s)
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((v, r)) => (v, Some(r)),
        None => (rest, None),
    };
    check_chars("version", version)?;
    if let Some(r) = release {
        check_chars("release", r)?;
    }
    Ok(Evr {
        epoch,
        version,
        release,
    })
}

/// The prefix-free, order-preserving encoding of one `rpmvercmp` operand.
fn push_vercmp(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && !(b[i].is_ascii_alphanumeric() || b[i] == b'~' || b[i] == b'^') {
            i += 1;
        }
        let Some(&c) = b.get(i) else {
            out.push(END);
            return Ok(());
        };
        let start = i;
        match c {
            b'~' => {
                out.push(TILDE);
                i += 1;
            }
            b'^' => {
                out.push(CARET);
                i += 1;
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(DIGITS);
                push_number(out, &s[start..i])?;
            }
            _ => {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                out.push(ALPHA);
                out.extend_from_slice(&b[start..i]);
                out.push(0);
            }
        }
    }
}

fn vercmp_key(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() + 8);
    push_vercmp(&mut out, s)?;
    Ok(out)
}

/// The order-preserving key of `version` (see the module docs).
///
/// # Errors
/// Why `version` is not an rpm version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let evr = parse(version)?;
    let mut out = Vec::with_capacity(version.len() * 2 + 8);
    push_number(&mut out, evr.epoch)?;
    push_vercmp(&mut out, evr.version)?;
    push_vercmp(&mut out, evr.release.unwrap_or(""))?;
    Ok(out)
}

/// rpm's dependency comparison (`rpmverCmp`): epoch, version, and the release only when both
/// sides have one.
fn dependency_cmp(a: &Evr<'_>, b: &Evr<'_>) -> Result<Ordering, String> {
    let mut ka = Vec::new();
    push_number(&mut ka, a.epoch)?;
    push_vercmp(&mut ka, a.version)?;
    let mut kb = Vec::new();
    push_number(&mut kb, b.epoch)?;
    push_vercmp(&mut kb, b.version)?;
    Ok(ka.cmp(&kb).then(match (a.release, b.release) {
        (Some(ra), Some(rb)) => vercmp_key(ra)?.cmp(&vercmp_key(rb)?),
        _ => Ordering::Equal,
    }))
}

/// Whether `version` satisfies every clause of `range`: `<`, `<=`, `=`, `>=`, `>` followed by an
/// EVR, separated by commas or whitespace (`>= 1.0-1, < 2.0`). As in rpm's dependency matching,
/// a bound without a release (`< 2.0`) compares epoch and version only.
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = parse(version)?;
    let mut ok = true;
    for (op, bound) in super::deb::clauses(range, "<>=")? {
        let ord = dependency_cmp(&v, &parse(bound)?)?;
        ok &= match op {
            "<" => ord.is_lt(),
            "<=" => ord.is_le(),
            "=" | "==" => ord.is_eq(),
            ">=" => ord.is_ge(),
            ">" => ord.is_gt(),
            _ => return Err(format!("unknown operator {op:?}")),
        };
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        key(a).unwrap().cmp(&key(b).unwrap())
    }

    #[test]
    fn order() {
        assert_eq!(cmp("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1_0"), Ordering::Equal);
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(cmp("1.0", "1.0-1"), Ordering::Less);
        assert_eq!(cmp("1.0-1.el9_2.1", "1.0-1.el9_2"), Ordering::Greater);
        assert_eq!(
            cmp("8.5.0-1.amzn2023.0.4", "8.5.0-1.amzn2023.0.10"),
            Ordering::Less
        );
        assert_eq!(cmp("1.0-010", "1.0-10"), Ordering::Equal);
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            ":1.0",
            "1:",
            "1.0-",
            "-1",
            "1-2-3",
            "1.0 1",
            "1.0-%{dist}",
            "a:1.0",
            "1.0é",
        ] {
            assert!(key(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn ranges() {
        assert!(satisfies("1.0-5", "= 1.0").unwrap());
        assert!(satisfies("1.0-5", ">= 1.0-5, < 2.0").unwrap());
        assert!(!satisfies("1.0-4", ">= 1.0-5").unwrap());
        assert!(satisfies("1.0", ">= 1.0-5").unwrap());
        assert!(satisfies("1:0.5-1", "> 2.0").unwrap());
        assert!(!satisfies("2.0-1", "<2.0").unwrap());
        assert!(satisfies("1.9.9-1", "<2.0").unwrap());
        assert!(satisfies("1.0", "=> 1.0").is_err());
        assert!(satisfies("1.0", "1.0").is_err());
        assert!(satisfies("1.0", "<").is_err());
    }
}
