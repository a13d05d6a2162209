//! The `apk` version scheme: apk-tools' (3.x, `src/version.c`) version grammar and order.
//!
//! A version is `digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]`: a number, dot-separated
//! numbers, at most one lower-case letter, any number of suffixes (`alpha`, `beta`, `pre`, `rc`,
//! `cvs`, `svn`, `git`, `hg`, `p`), each optionally numbered, an optional commit hash (lower-case
//! hex digits after `~`), an optional revision `-r` + digits. Anything else is invalid, exactly as
//! apk-tools' `apk_version_validate` decides (see `vectors/apk-validity.tsv`).
//!
//! # Order
//! apk compares token by token. Two tokens of the same kind compare by value: numbers as
//! unsigned 64-bit integers (apk-tools parses them into a `uint64_t`, which wraps around modulo
//! 2^64; hullscan does the same, so that it agrees with apk), except that a dot-separated number
//! where either side has a leading zero compares as a string (`1.01` < `1.1`, `8.2.0015` <
//! `8.2.002`); letters by character; suffixes `alpha` < `beta` < `pre` < `rc` < (none) < `cvs` <
//! `svn` < `git` < `hg` < `p`; hashes as strings. When the kinds differ at a position, a
//! pre-release suffix (`alpha`..`rc`) is lower than anything; otherwise the side whose token kind
//! comes *later* in the grammar is lower, with the end of the string latest of all: so
//! `1.0_rc1` < `1.0` < `1.0-r1` < `1.0_p1` < `1.0a` < `1.0.1`.
//!
//! apk-tools also compares *invalid* versions, up to the first bad token (its own tests order
//! `1.0` < `1.0bc`); hullscan rejects them instead.
//!
//! # Key
//! The first number as 8 big-endian bytes, then one rank byte per following token (chosen so
//! that comparing ranks reproduces the rules above) and its value: numbers 8 big-endian bytes,
//! strings their bytes + 0. The key ends with the end-of-string rank.

use std::cmp::Ordering;

/// A token after the first number, as the rank byte of the key plus its value.
#[derive(Debug, Clone)]
enum Token<'a> {
    /// `.digits`: a number, or (leading zero) a string.
    Digits(&'a str),
    Letter(u8),
    /// A suffix; the value is its rank byte.
    Suffix(u8),
    SuffixNo(u64),
    Hash(&'a str),
    Revision(u64),
}

// Rank bytes. Pre-release suffixes are lowest, then the end, then token kinds in reverse grammar
// order (apk: "the non-terminating version is greater", and a later kind is lower).
const SUFFIXES: [(&str, u8); 9] = [
    ("alpha", 1),
    ("beta", 2),
    ("pre", 3),
    ("rc", 4),
    ("cvs", 14),
    ("svn", 15),
    ("git", 16),
    ("hg", 17),
    ("p", 18),
];
const R_END: u8 = 10;
const R_REVISION: u8 = 11;
const R_HASH: u8 = 12;
const R_SUFFIX_NO: u8 = 13;
const R_LETTER: u8 = 19;
const R_DIGITS_STRING: u8 = 20;
const R_DIGITS_NUMBER: u8 = 21;

/// The grammar position of a token kind, as apk-tools numbers them: each token may only follow
/// tokens at or before certain positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Initial,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    Hash,
    Revision,
}

/// apk's number: the digits' value modulo 2^64, as `apk_blob_pull_uint` computes it.
fn number(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |n, d| {
        n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
    })
}

fn take_while(s: &str, f: impl Fn(u8) -> bool) -> (&str, &str) {
    let n = s.bytes().take_while(|&c| f(c)).count();
    s.split_at(n)
}

struct Parsed<'a> {
    first: u64,
    tokens: Vec<Token<'a>>,
}

fn parse(version: &str) -> Result<Parsed<'_>, String> {
    let (first, mut rest) = take_while(version, |c| c.is_ascii_digit());
    if first.is_empty() {
        return Err("does not start with a digit".into());
    }
    let mut kind = Kind::Initial;
    let mut tokens = Vec::new();
    while let Some(c) = rest.bytes().next() {
        let bad = |what: &str| Err(format!("{what} at {rest:?}"));
        match c {
            b'a'..=b'z' => {
                if kind > Kind::Digit {
                    return bad("a letter may only follow a number");
                }
                tokens.push(Token::Letter(c));
                kind = Kind::Letter;
                rest = &rest[1..];
            }
            b'.' => {
                if kind > Kind::Digit {
                    return bad("'.' may only follow a number");
                }
                let (digits, after) = take_while(&rest[1..], |c| c.is_ascii_digit());
                if digits.is_empty() {
                    return bad("'.' must be followed by a number");
                }
                tokens.push(Token::Digits(digits));
                kind = Kind::Digit;
                rest = after;
            }
            b'0'..=b'9' => {
                // Only a suffix's number can start here: every other number is read whole.
                if kind != Kind::Suffix {
                    return bad("unexpected number");
                }
                let (digits, after) = take_while(rest, |c| c.is_ascii_digit());
                tokens.push(Token::SuffixNo(number(digits)));
                kind = Kind::SuffixNo;
                rest = after;
            }
            b'_' => {
                if kind > Kind::SuffixNo {
                    return bad("a suffix may not follow a hash or revision");
                }
                let (name, after) = take_while(&rest[1..], |c| c.is_ascii_lowercase());
                let Some(&(_, rank)) = SUFFIXES.iter().find(|(s, _)| *s == name) else {
                    return bad("unknown suffix");
                };
                tokens.push(Token::Suffix(rank));
                kind = Kind::Suffix;
                rest = after;
            }
            b'~' => {
                if kind >= Kind::Hash {
                    return bad("a commit hash may not follow a hash or revision");
                }
                let (hex, after) = take_while(&rest[1..], |c| {
                    c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
                });
                if hex.is_empty() {
                    return bad("'~' must be followed by lower-case hex digits");
                }
                tokens.push(Token::Hash(hex));
                kind = Kind::Hash;
                rest = after;
            }
            b'-' => {
                if kind >= Kind::Revision {
                    return bad("a second revision");
                }
                let Some(after) = rest.strip_prefix("-r") else {
                    return bad("'-' must start a revision '-rN'");
                };
                let (digits, after) = take_while(after, |c| c.is_ascii_digit());
                if digits.is_empty() {
                    return bad("a revision needs a number");
                }
                tokens.push(Token::Revision(number(digits)));
                kind = Kind::Revision;
                rest = after;
            }
            _ => return bad("invalid character"),
        }
    }
    Ok(Parsed {
        first: number(first),
        tokens,
    })
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

fn push_token(out: &mut Vec<u8>, t: &Token<'_>) {
    match *t {
        Token::Digits(d) if d.starts_with('0') => {
            out.push(R_DIGITS_STRING);
            push_string(out, d);
        }
        Token::Digits(d) => {
            out.push(R_DIGITS_NUMBER);
            out.extend_from_slice(&number(d).to_be_bytes());
        }
        Token::Letter(c) => out.extend_from_slice(&[R_LETTER, c]),
        Token::Suffix(rank) => out.push(rank),
        Token::SuffixNo(n) => {
            out.push(R_SUFFIX_NO);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Token::Hash(h) => {
            out.push(R_HASH);
            push_string(out, h);
        }
        Token::Revision(n) => {
            out.push(R_REVISION);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// The key without its final end byte: a fuzzy bound (`~1.2`) matches the versions whose key
/// starts with this.
fn key_body(p: &Parsed<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 * (p.tokens.len() + 1) + 1);
    out.extend_from_slice(&p.first.to_be_bytes());
    for t in &p.tokens {
        push_token(&mut out, t);
    }
    out
}

/// The order-preserving key of `version` (see the module docs).
///
/// # Errors
/// Why `version` is not an apk version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let mut out = key_body(&parse(version)?);
    out.push(R_END);
    Ok(out)
}

const LESS: u8 = 1;
const EQUAL: u8 = 2;
const GREATER: u8 = 4;
const FUZZY: u8 = 8;

/// apk's comparison with its fuzzy mode: with `fuzzy`, `a` is equal to `b` when `b`'s tokens
/// are a prefix of `a`'s (`3.6.9_p1` ~ `3.6`).
fn compare_fuzzy(a: &Parsed<'_>, b: &Parsed<'_>, fuzzy: bool) -> Ordering {
    let (mut ka, mut kb) = (key_body(a), key_body(b));
    // Token encodings are prefix-free: a key prefix is a token prefix.
    if fuzzy && ka.starts_with(&kb) {
        return Ordering::Equal;
    }
    ka.push(R_END);
    kb.push(R_END);
    ka.cmp(&kb)
}

/// Whether `version` satisfies every clause of `range`: apk's dependency operators `<`, `<=`,
/// `=`, `>=`, `>`, the fuzzy `~` (same leading tokens: `~3.6` holds for `3.6`, `3.6.9`,
/// `3.6_pre1`, not `3.7`) and `<~`, `>~` (lower or fuzzy-equal, higher or fuzzy-equal), each
/// followed by a version (`~3.6`, `>=1.2 <2`); clauses are separated by whitespace or commas.
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = parse(version)?;
    let mut ok = true;
    for (op, bound) in super::deb::clauses(range, "<>=~")? {
        let mut mask = 0u8;
        for c in op.bytes() {
            mask |= match c {
                b'<' => LESS,
                b'>' => GREATER,
                b'=' => EQUAL,
                _ => FUZZY | EQUAL,
            };
        }
        if mask & (LESS | GREATER) == LESS | GREATER || op.len() > 2 {
            return Err(format!("unknown operator {op:?}"));
        }
        let result = match compare_fuzzy(&v, &parse(bound)?, mask & FUZZY != 0) {
            Ordering::Less => LESS,
            Ordering::Equal => EQUAL,
            Ordering::Greater => GREATER,
        };
        ok &= mask & result != 0;
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
        let chain = [
            "1.0_alpha",
            "1.0_alpha1",
            "1.0_beta",
            "1.0_pre1",
            "1.0_rc1",
            "1.0",
            "1.0-r1",
            "1.0_cvs",
            "1.0_svn",
            "1.0_git",
            "1.0_hg",
            "1.0_p1",
            "1.0_p2",
            "1.0a",
            "1.0b",
            "1.0.0",
            "1.0.1",
            "1.1",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1.01", "1.1"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.00"), Ordering::Less);
        assert_eq!(cmp("01.1", "1.1"), Ordering::Equal);
        assert_eq!(cmp("1.0~abc", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0~abc", "1.0-r1"), Ordering::Greater);
        assert_eq!(cmp("1.0~abc", "1.0~abd"), Ordering::Less);
        assert_eq!(cmp("1.0~abc-r1", "1.0~abc"), Ordering::Greater);
        // apk's uint64_t wraps: 18446744073709551616 == 0.
        assert_eq!(cmp("18446744073709551616", "0"), Ordering::Equal);
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            "a",
            ".1",
            "1.",
            "1..2",
            "1.0bc",
            "1.0a1",
            "1_foo",
            "1_",
            "1-r",
            "1-1",
            "1-r1-r2",
            "1-r1_p1",
            "1~",
            "1~ABC",
            "1~abc~def",
            "1.0 ",
            "1.0A",
        ] {
            assert!(key(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn ranges() {
        assert!(satisfies("1.2.3-r0", ">=1.2 <2").unwrap());
        assert!(satisfies("1.2.3-r0", ">= 1.2, < 2").unwrap());
        assert!(!satisfies("2.0", ">=1.2 <2").unwrap());
        assert!(satisfies("3.6.0", "~3.6").unwrap());
        assert!(!satisfies("3.7", "~3.6").unwrap());
        assert!(satisfies("3.5", "<~3.6").unwrap());
        assert!(satisfies("3.6.1", "<~3.6").unwrap());
        assert!(!satisfies("3.7", "<~3.6").unwrap());
        assert!(satisfies("1.0-r1", "=1.0-r1").unwrap());
        assert!(!satisfies("1.0-r1", "=1.0").unwrap());
        assert!(satisfies("1.0", "<>2.0").is_err());
        assert!(satisfies("1.0", "2.0").is_err());
        assert!(satisfies("1.0", "~1.0bc").is_err());
    }
}
