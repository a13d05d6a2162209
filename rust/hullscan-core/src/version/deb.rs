//! The `deb` version scheme: dpkg's `[epoch:]upstream[-revision]` and its `verrevcmp` order.
//!
//! Parsing follows dpkg's `parseversion`: leading and trailing blanks (space, tab) are ignored;
//! the epoch is the part before the first `:`, the revision the part after the last `-`. What
//! dpkg rejects with an *error* is rejected here too: an empty string, embedded blanks, an empty,
//! non-numeric or too big (> `INT_MAX`) epoch, nothing after the colon, an empty upstream
//! version, an empty revision after a `-`.
//!
//! dpkg only *warns* about two more things, and hullscan decides them as follows:
//! - an upstream version that does not start with a digit (`a-0`, `0:b-0`) is **accepted** and
//!   compared as dpkg compares it: dpkg, apt and the upstream test suites all order such
//!   versions, and they do turn up in old security-tracker data;
//! - a character outside dpkg's allowed sets (upstream: letters, digits, `.+-~:`; revision:
//!   letters, digits, `.+~`) is **rejected**: dpkg-source and dpkg-deb refuse to build such a
//!   package, so a string containing one is not a version of an installable package.
//!
//! The epoch must be plain ASCII digits (dpkg's `strtol` would also take a sign or leading
//! whitespace other than blanks; no real package has one). A digit run of more than 255
//! significant digits is rejected (the key stores a number's length in one byte); dpkg has no
//! such limit.
//!
//! # Key
//! `verrevcmp` splits a string into alternating non-digit and digit parts. Non-digit parts
//! compare character by character with `~` < end of part < letters < everything else; digit
//! parts compare as numbers. The key writes, for each (non-digit, digit) pair, the mapped
//! characters of the non-digit part, a terminator that stands for "end of part", then the number
//! (see [`super::push_number`]), and closes the string with one more terminator: an empty final
//! non-digit part, so that `1.0` sorts after `1.0~` and before `1.0.1` and `1.0a`. Every part's
//! encoding is prefix-free, so the epoch, upstream and revision keys concatenate. A missing
//! revision compares as the empty string (which equals `0`), as in dpkg.

use super::push_number;

/// "End of a non-digit part" in the key; `~` sorts below it, everything else above it.
const END_OF_PART: u8 = 2;
const TILDE: u8 = 1;

/// The parts of a dpkg version, borrowed from the input.
struct Parsed<'a> {
    epoch: &'a str,
    upstream: &'a str,
    revision: &'a str,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn parse(version: &str) -> Result<Parsed<'_>, String> {
    let s = version.trim_matches(is_blank);
    if s.is_empty() {
        return Err("version string is empty".into());
    }
    if s.contains(is_blank) {
        return Err("version string has embedded spaces".into());
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() {
                return Err("epoch in version is empty".into());
            }
            if !epoch.bytes().all(|c| c.is_ascii_digit()) {
                return Err("epoch in version is not a number".into());
            }
            let significant = epoch.trim_start_matches('0');
            if significant.len() > 10 || significant.parse::<u64>().unwrap_or(0) > i32::MAX as u64 {
                return Err("epoch in version is too big".into());
            }
            if rest.is_empty() {
                return Err("nothing after colon in version number".into());
            }
            (epoch, rest)
        }
        None => ("0", s),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((_, "")) => return Err("revision number is empty".into()),
        Some((upstream, revision)) => (upstream, revision),
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err("version number is empty".into());
    }
    if let Some(c) = upstream
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".-+~:".contains(c)))
    {
        return Err(format!("invalid character {c:?} in version number"));
    }
    if let Some(c) = revision
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~".contains(c)))
    {
        return Err(format!("invalid character {c:?} in revision number"));
    }
    Ok(Parsed {
        epoch,
        upstream,
        revision,
    })
}

/// The key byte of a non-digit character: `~` < end of part (2) < letters < the rest, each group
/// in ASCII order (dpkg's `order()`: -1, 0, the letter, the character + 256).
fn map_char(c: u8) -> u8 {
    match c {
        b'~' => TILDE,
        c if c.is_ascii_alphabetic() => c,
        // Only `.`, `+`, `-` and `:` get here (parse rejects the rest): 171..=186.
        c => c + 128,
    }
}

/// The prefix-free, order-preserving encoding of one `verrevcmp` operand.
fn push_part(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && !b[i].is_ascii_digit() {
            out.push(map_char(b[i]));
            i += 1;
        }
        out.push(END_OF_PART);
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        push_number(out, &s[start..i])?;
        if i == b.len() {
            break;
        }
    }
    // The final, empty non-digit part.
    out.push(END_OF_PART);
    Ok(())
}

/// The order-preserving key of `version` (see the module docs).
///
/// # Errors
/// Why `version` is not a deb version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let v = parse(version)?;
    let mut out = Vec::with_capacity(version.len() * 2 + 8);
    push_number(&mut out, v.epoch)?;
    push_part(&mut out, v.upstream)?;
    push_part(&mut out, v.revision)?;
    Ok(out)
}

/// Split a constraint list into `(operator, version)` clauses: clauses are separated by commas
/// and/or whitespace, an operator is a run of `op_chars`, optionally followed by whitespace, and
/// a version runs up to the next whitespace or comma. Every clause needs an operator. Shared by
/// the deb, rpm and apk schemes, whose versions never contain whitespace, commas or operator
/// characters.
pub(crate) fn clauses<'a>(
    range: &'a str,
    op_chars: &str,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let is_sep = |c: char| c.is_whitespace() || c == ',';
    let mut out = Vec::new();
    let mut rest = range.trim_start_matches(is_sep);
    while !rest.is_empty() {
        let op_len = rest
            .find(|c: char| !op_chars.contains(c))
            .unwrap_or(rest.len());
        let (op, after) = rest.split_at(op_len);
        if op.is_empty() {
            return Err(format!("expected an operator before {rest:?}"));
        }
        let after = after.trim_start();
        let v_len = after.find(is_sep).unwrap_or(after.len());
        let (version, after) = after.split_at(v_len);
        if version.is_empty() {
            return Err(format!("operator {op:?} without a version"));
        }
        out.push((op, version));
        rest = after.trim_start_matches(is_sep);
    }
    if out.is_empty() {
        return Err("empty range".into());
    }
    Ok(out)
}

/// Whether `version` satisfies every clause of `range`: dpkg relations `<<`, `<=`, `=`, `>=`,
/// `>>` followed by a version, separated by commas or whitespace (`>= 1.0, << 2.0`). The obsolete
/// `<` and `>` (which dpkg reads as `<=` and `>=`) are rejected as ambiguous.
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = key(version)?;
    let mut ok = true;
    for (op, bound) in clauses(range, "<>=")? {
        let ord = v.cmp(&key(bound)?);
        ok &= match op {
            "<<" => ord.is_lt(),
            "<=" => ord.is_le(),
            "=" => ord.is_eq(),
            ">=" => ord.is_ge(),
            ">>" => ord.is_gt(),
            "<" | ">" => {
                return Err(format!(
                    "obsolete relation {op:?} (dpkg reads it as {op}=); write {op}{op} or {op}="
                ))
            }
            _ => return Err(format!("unknown relation {op:?}")),
        };
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn cmp(a: &str, b: &str) -> Ordering {
        key(a).unwrap().cmp(&key(b).unwrap())
    }

    #[test]
    fn order() {
        assert_eq!(cmp("1.0", "1.00"), Ordering::Equal);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("1.0~", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0a"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1:0.1", "2.0"), Ordering::Greater);
        assert_eq!(cmp(" 1.0\t", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.2.3-1ubuntu0.22.04.1", "1.2.3-1"), Ordering::Greater);
        assert_eq!(cmp("2.36-9+deb12u4", "2.36-9+deb12u10"), Ordering::Less);
        assert_eq!(cmp("a", "0"), Ordering::Greater);
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            "  ",
            "1 0",
            ":1.0",
            "a:1.0",
            "-1:1.0",
            "2147483648:1",
            "1:",
            "1.0-",
            "-1",
            "1:-1",
            "1_0",
            "1.0-1_1",
            "1.0-a:b",
            "1.0é",
            "+1:1.0",
        ] {
            assert!(key(bad).is_err(), "{bad:?} should be invalid");
        }
        assert!(key("2147483647:1").is_ok());
        assert!(key("0002147483647:1").is_ok());
        assert!(key("7:1-a:b-5").is_ok());
    }

    #[test]
    fn ranges() {
        assert!(satisfies("1.5-1", ">= 1.0, << 2.0").unwrap());
        assert!(satisfies("1.5-1", ">=1.0 <<2.0").unwrap());
        assert!(!satisfies("2.0", ">= 1.0, << 2.0").unwrap());
        assert!(satisfies("2.0", "<= 2.0").unwrap());
        assert!(satisfies("1:1.0", ">> 2.0").unwrap());
        assert!(satisfies("1.0", "= 0:1.0-0").unwrap());
        assert!(!satisfies("1.0~rc1", ">= 1.0").unwrap());
        assert!(satisfies("1.0", "<").is_err());
        assert!(satisfies("1.0", "< 2.0").is_err());
        assert!(satisfies("1.0", "2.0").is_err());
        assert!(satisfies("1.0", "").is_err());
        assert!(satisfies("1.0", "=< 2.0").is_err());
        assert!(satisfies("1.0", ">= 1_0").is_err());
    }
}
