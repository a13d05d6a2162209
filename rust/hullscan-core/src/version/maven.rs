//! The `maven` version scheme: Maven's `ComparableVersion` (maven-artifact, the 3.9/4.x
//! implementation with combination items, `.X` read as `-X`, ASCII-only numbers) and Maven version
//! ranges (`VersionRange`: `[1.0,2.0)`, `(,1.0],[1.2,)`, `[1.0]`, and a bare version as a soft
//! requirement that every version satisfies).
//!
//! # How the key is built
//! `ComparableVersion` parses a version into a chain of lists: each list holds items (numbers,
//! qualifier strings, "combinations" like `rc1`) and possibly one sub-list, always its last item
//! (a `-` or a digit/letter transition opens it). Flattening the chain gives a sequence of tokens,
//! each a scalar plus a flag telling whether it opens a sub-list (`N`) or continues the current list
//! (`C`). Comparing two versions walks both sequences in step:
//! - same flag: the scalars decide (numbers by value, numbers above strings and combinations,
//!   qualifiers by Maven's qualifier order);
//! - an `N` token against a numeric `C` token: the `C` side is higher (`1.1 > 1-1`);
//! - an `N` token against a non-numeric `C` token: the scalars decide; on a tie the rest of the `N`
//!   side against "nothing" decides, and if that is nothing too, the rest of the `C` side does;
//! - a version that has ended compares as "nothing" against the rest of the other one.
//!
//! Each token gets a class byte, then its value bytes, and qualifier tokens a flag byte. Class bytes
//! rank tokens and the end marker the way those rules do; the "effective sign" of a token (whether
//! the version from that token on is above or below "nothing") places null-valued qualifiers (`ga`,
//! `final`, `release`, `ga0`) on the right side of the end marker, and a trailing run that equals
//! "nothing" is dropped, so `1`, `1.0`, `1-0`, `1-ga` and `1.0.final` share one key. The flag byte
//! of an `N` qualifier carries the sign of what follows it, which is what decides an `N`/`C` tie.
//!
//! # Deliberate differences from maven-artifact
//! - The empty string is not a version (Maven reads it as `0`).
//! - A version in which Maven would read a non-ASCII digit as a number (a combination such as
//!   `a-٨`, whose digit part Java parses with `Character.digit`) is rejected: there Maven types the
//!   number by its length in characters, which breaks transitivity (`1-ga٠٠٠٠٠٠٠٠٠٠` sorts above
//!   `1-ga5` yet equals `1`). Non-ASCII digits elsewhere are plain letters, as in Maven.
//! - Versions on which maven-artifact throws (longer than 256 UTF-16 units, a supplementary
//!   character right after digits) are errors here too.

use std::cmp::Ordering;

const MAX_VERSION_LENGTH: usize = 256;

/// First code point of each block of ten decimal digits (Unicode category Nd) in the Basic
/// Multilingual Plane outside ASCII: Java's `Character.isDigit` on a `char`.
const BMP_DIGIT_ZEROS: [u32; 36] = [
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
];

fn is_non_ascii_java_digit(c: char) -> bool {
    let cp = c as u32;
    cp < 0x1_0000 && BMP_DIGIT_ZEROS.iter().any(|&z| (z..z + 10).contains(&cp))
}

/// Java's `Character.isDigit(char)`.
fn is_java_digit(c: char) -> bool {
    c.is_ascii_digit() || is_non_ascii_java_digit(c)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A number: its significant ASCII digits (empty for zero).
    Num(String),
    /// A qualifier string, lower-cased and with Maven's aliases applied.
    Str(String),
    /// A combination like `rc1`: qualifier part, then the significant digits of the number.
    Comb(String, String),
    /// The sub-list with this index; always the last item of its list.
    List(usize),
}

fn significant(digits: &str) -> String {
    digits.trim_start_matches('0').to_string()
}

/// `StringItem(value, followedByDigit)`: `a1`, `b1` and `m1` mean alpha, beta and milestone; `cr`
/// is `rc`.
fn qualifier(value: &str, followed_by_digit: bool) -> String {
    let v = if followed_by_digit {
        match value {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        }
    } else {
        value
    };
    if v == "cr" { "rc" } else { v }.to_string()
}

fn parse_item(is_combination: bool, is_digit: bool, buf: &[char]) -> Result<Item, String> {
    if is_combination {
        let s: Vec<char> = buf.iter().copied().filter(|&c| c != '-').collect();
        let index = s.iter().position(|&c| is_java_digit(c)).unwrap_or(0);
        let digits = &s[index..];
        if digits.is_empty() || !digits.iter().all(char::is_ascii_digit) {
            return Err(format!(
                "{:?} would be read as a number with non-ASCII or non-digit characters",
                digits.iter().collect::<String>()
            ));
        }
        let text: String = s[..index].iter().collect();
        let digits: String = digits.iter().collect();
        return Ok(Item::Comb(qualifier(&text, true), significant(&digits)));
    }
    let text: String = buf.iter().collect();
    if is_digit {
        if !buf.iter().all(char::is_ascii_digit) {
            return Err(format!("{text:?} is not a number"));
        }
        return Ok(Item::Num(significant(&text)));
    }
    Ok(Item::Str(qualifier(&text, false)))
}

struct Parsed {
    lists: Vec<Vec<Item>>,
}

impl Parsed {
    fn open(&mut self, current: &mut usize) {
        self.lists.push(Vec::new());
        let index = self.lists.len() - 1;
        self.lists[*current].push(Item::List(index));
        *current = index;
    }

    fn is_null(&self, item: &Item) -> bool {
        match item {
            Item::Num(d) => d.is_empty(),
            Item::Str(s) => s.is_empty(),
            Item::Comb(..) => false,
            Item::List(i) => self.lists[*i].is_empty(),
        }
    }

    /// `ListItem.normalize()`: drop null items (0, "", empty lists) at the end and before
    /// qualifiers, then unwrap a list whose only item is a list.
    fn normalize(&mut self, k: usize) {
        let mut items = std::mem::take(&mut self.lists[k]);
        let mut i = items.len();
        while i > 0 {
            i -= 1;
            if !self.is_null(&items[i]) {
                continue;
            }
            let remove = match items.get(i + 1) {
                None | Some(Item::Str(_)) => true,
                Some(Item::List(j)) => {
                    matches!(self.lists[*j].first(), Some(Item::Comb(..) | Item::Str(_)))
                }
                Some(_) => false,
            };
            if remove {
                items.remove(i);
            }
        }
        if let [Item::List(j)] = items[..] {
            items = std::mem::take(&mut self.lists[j]);
        }
        self.lists[k] = items;
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `ComparableVersion.parseVersion`, then normalisation: the chain of lists.
fn parse(version: &str) -> Result<Parsed, String> {
    if version.is_empty() {
        return Err("empty version".into());
    }
    if utf16_len(version) > MAX_VERSION_LENGTH {
        return Err(format!(
            "longer than {MAX_VERSION_LENGTH} UTF-16 code units"
        ));
    }
    let chars: Vec<char> = version.to_lowercase().chars().collect();
    let n = chars.len();
    let mut p = Parsed {
        lists: vec![Vec::new()],
    };
    let mut current = 0usize;
    let mut is_digit = false;
    let mut is_combination = false;
    let mut start = 0usize;
    let mut i = 0usize;
    while i < n {
        let c = chars[i];
        if c == '.' {
            let item = if i == start {
                Item::Num(String::new())
            } else {
                parse_item(is_combination, is_digit, &chars[start..i])?
            };
            p.lists[current].push(item);
            is_combination = false;
            start = i + 1;
        } else if c == '-' {
            if i == start {
                p.lists[current].push(Item::Num(String::new()));
            } else {
                if !is_digit && i != n - 1 {
                    let next = chars[i + 1];
                    if next.is_ascii_digit() {
                        // X-1 is read as X1
                        is_combination = true;
                        i += 1;
                        continue;
                    }
                    if is_non_ascii_java_digit(next) {
                        return Err(format!(
                            "Maven would read the non-ASCII digit {next:?} as a number"
                        ));
                    }
                }
                let item = parse_item(is_combination, is_digit, &chars[start..i])?;
                p.lists[current].push(item);
            }
            start = i + 1;
            if !p.lists[current].is_empty() {
                p.open(&mut current);
            }
            is_combination = false;
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                is_combination = true;
                if !p.lists[current].is_empty() {
                    p.open(&mut current);
                }
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                if c.len_utf16() > 1 {
                    // Java steps past the low surrogate first and hands the high one to
                    // Integer.parseInt along with the digits, which throws.
                    return Err(format!("supplementary character {c:?} right after digits"));
                }
                let item = parse_item(is_combination, true, &chars[start..i])?;
                p.lists[current].push(item);
                start = i;
                p.open(&mut current);
                is_combination = false;
            }
            is_digit = false;
        }
        i += 1;
    }
    if n > start {
        // 1.0.0.X1 < 1.0.0-X2: a trailing .X is read as -X
        if !is_digit && !p.lists[current].is_empty() {
            p.open(&mut current);
        }
        let item = parse_item(is_combination, is_digit, &chars[start..])?;
        p.lists[current].push(item);
    }
    for k in (0..p.lists.len()).rev() {
        p.normalize(k);
    }
    Ok(p)
}

/// A scalar token of the flattened chain.
enum Scalar<'a> {
    Num(&'a str),
    /// A qualifier or combination: its qualifier rank (or unknown text) and `d'`: -1 for a plain
    /// non-release qualifier, 0 for a plain release qualifier, the number of a combination.
    Qual(Rank<'a>, Option<&'a str>),
}

#[derive(Clone, Copy)]
enum Rank<'a> {
    Known(u8),
    Unknown(&'a str),
}

const RELEASE_RANK: u8 = 5;

fn rank(q: &str) -> Rank<'_> {
    match q {
        "alpha" => Rank::Known(0),
        "beta" => Rank::Known(1),
        "milestone" => Rank::Known(2),
        "rc" => Rank::Known(3),
        "snapshot" => Rank::Known(4),
        "" | "ga" | "final" | "release" => Rank::Known(RELEASE_RANK),
        "sp" => Rank::Known(6),
        other => Rank::Unknown(other),
    }
}

impl Scalar<'_> {
    /// How the token compares with "nothing" (Maven's `compareTo(null)`).
    fn sign(&self) -> i8 {
        match self {
            Scalar::Num(d) => i8::from(!d.is_empty()),
            Scalar::Qual(Rank::Known(r), digits) => match (*r).cmp(&RELEASE_RANK) {
                Ordering::Less => -1,
                Ordering::Greater => 1,
                Ordering::Equal => i8::from(digits.is_some_and(|d| !d.is_empty())),
            },
            Scalar::Qual(Rank::Unknown(_), _) => 1,
        }
    }
}

fn push_num(out: &mut Vec<u8>, digits: &str) {
    // at most 256 digits: a version is at most 256 UTF-16 code units
    let len = digits.len();
    if len < 255 {
        out.push(len as u8);
    } else {
        out.push(255);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
    out.extend_from_slice(digits.as_bytes());
}

/// Qualifier text in the order of Java's `String.compareTo` (UTF-16 code units), prefix-free and
/// terminated by 0.
fn push_text(out: &mut Vec<u8>, text: &str) {
    for unit in text.encode_utf16() {
        if unit < 0x7F {
            out.push(unit as u8 + 1);
        } else {
            out.push(0x80);
            out.extend_from_slice(&unit.to_be_bytes());
        }
    }
    out.push(0);
}

// Class bytes, in the order the comparison rules rank tokens.
const QUAL_BELOW: u8 = 1;
const QUAL_NULL_THEN_BELOW: u8 = 2;
const END: u8 = 3;
const QUAL_NULL_THEN_ABOVE: u8 = 4;
const QUAL_ABOVE: u8 = 5;
const NUM_OPENS_LIST: u8 = 6;
const NUM: u8 = 7;
// Flag bytes of a qualifier token.
const OPENS_LIST_REST_BELOW: u8 = 1;
const CONTINUES: u8 = 2;
const OPENS_LIST_REST_ABOVE: u8 = 3;

/// The order-preserving key of `version` (see the module docs of `version`).
///
/// # Errors
/// Why `version` is not a maven version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let parsed = parse(version)?;
    // flatten the chain: (opens a sub-list, scalar)
    let mut tokens: Vec<(bool, Scalar)> = Vec::new();
    let mut list = 0usize;
    let mut opens = false;
    loop {
        let mut next = None;
        for (k, item) in parsed.lists[list].iter().enumerate() {
            let flag = opens && k == 0;
            match item {
                Item::List(j) => next = Some(*j),
                Item::Num(d) => tokens.push((flag, Scalar::Num(d))),
                Item::Str(s) => {
                    let r = rank(s);
                    let d = matches!(r, Rank::Known(RELEASE_RANK)).then_some("");
                    tokens.push((flag, Scalar::Qual(r, d)));
                }
                Item::Comb(s, d) => tokens.push((flag, Scalar::Qual(rank(s), Some(d)))),
            }
        }
        match next {
            Some(j) => {
                list = j;
                opens = true;
            }
            None => break,
        }
    }
    // effective[i]: how the version from token i on compares with "nothing"
    let mut effective = vec![0i8; tokens.len() + 1];
    for i in (0..tokens.len()).rev() {
        let s = tokens[i].1.sign();
        effective[i] = if s != 0 { s } else { effective[i + 1] };
    }
    // a tail that equals "nothing" is dropped: 1-ga == 1
    let cut = effective
        .iter()
        .position(|&e| e == 0)
        .unwrap_or(tokens.len());
    let mut out = Vec::with_capacity(cut * 4 + 1);
    for (i, (opens_list, scalar)) in tokens.iter().take(cut).enumerate() {
        match scalar {
            Scalar::Num(d) => {
                out.push(if *opens_list { NUM_OPENS_LIST } else { NUM });
                push_num(&mut out, d);
            }
            Scalar::Qual(r, digits) => {
                let value = |out: &mut Vec<u8>| {
                    match r {
                        Rank::Known(k) => out.push(*k),
                        Rank::Unknown(text) => {
                            out.push(7);
                            push_text(out, text);
                        }
                    }
                    match digits {
                        None => out.push(0),
                        Some(d) => {
                            out.push(1);
                            push_num(out, d);
                        }
                    }
                };
                match scalar.sign() {
                    -1 => {
                        out.push(QUAL_BELOW);
                        value(&mut out);
                    }
                    1 => {
                        out.push(QUAL_ABOVE);
                        value(&mut out);
                    }
                    _ => out.push(if effective[i] < 0 {
                        QUAL_NULL_THEN_BELOW
                    } else {
                        QUAL_NULL_THEN_ABOVE
                    }),
                }
                out.push(if !*opens_list {
                    CONTINUES
                } else {
                    match effective.get(i + 1).copied().filter(|_| i + 1 < cut) {
                        Some(1) => OPENS_LIST_REST_ABOVE,
                        Some(-1) => OPENS_LIST_REST_BELOW,
                        _ => CONTINUES,
                    }
                });
            }
        }
    }
    out.push(END);
    Ok(out)
}

/// Java's `String.trim()`: strips every character up to U+0020.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

struct Restriction {
    lower: Option<(Vec<u8>, bool)>,
    upper: Option<(Vec<u8>, bool)>,
}

impl Restriction {
    fn contains(&self, v: &[u8]) -> bool {
        if let Some((lower, inclusive)) = &self.lower {
            match lower.as_slice().cmp(v) {
                Ordering::Greater => return false,
                Ordering::Equal if !inclusive => return false,
                _ => {}
            }
        }
        if let Some((upper, inclusive)) = &self.upper {
            return match upper.as_slice().cmp(v) {
                Ordering::Less => false,
                Ordering::Equal => *inclusive,
                Ordering::Greater => true,
            };
        }
        true
    }
}

fn parse_restriction(spec: &str) -> Result<Restriction, String> {
    let lower_inclusive = spec.starts_with('[');
    let upper_inclusive = spec.ends_with(']');
    let inner = java_trim(&spec[1..spec.len() - 1]);
    match inner.find(',') {
        None => {
            if !lower_inclusive || !upper_inclusive {
                return Err(format!("single version must be surrounded by []: {spec}"));
            }
            let v = key(inner)?;
            Ok(Restriction {
                lower: Some((v.clone(), true)),
                upper: Some((v, true)),
            })
        }
        Some(comma) => {
            let lower = java_trim(&inner[..comma]);
            let upper = java_trim(&inner[comma + 1..]);
            let lower = if lower.is_empty() {
                None
            } else {
                Some(key(lower)?)
            };
            let upper = if upper.is_empty() {
                None
            } else {
                Some(key(upper)?)
            };
            if let (Some(l), Some(u)) = (&lower, &upper) {
                let order = u.cmp(l);
                if order == Ordering::Less
                    || (order == Ordering::Equal && !(lower_inclusive && upper_inclusive))
                {
                    return Err(format!("range defies version ordering: {spec}"));
                }
            }
            Ok(Restriction {
                lower: lower.map(|l| (l, lower_inclusive)),
                upper: upper.map(|u| (u, upper_inclusive)),
            })
        }
    }
}

/// `VersionRange.createFromVersionSpec`: the restrictions; an empty list for the empty spec, one
/// unbounded restriction for a bare (recommended) version.
fn parse_range(spec: &str) -> Result<Vec<Restriction>, String> {
    let mut restrictions: Vec<Restriction> = Vec::new();
    let mut process = spec;
    let mut previous_upper: Option<Vec<u8>> = None;
    while process.starts_with('[') || process.starts_with('(') {
        let close = match (process.find(')'), process.find(']')) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return Err(format!("unbounded range: {spec}")),
        };
        let restriction = parse_restriction(&process[..=close])?;
        if let Some(upper) = &previous_upper {
            match &restriction.lower {
                Some((lower, _)) if lower.as_slice() >= upper.as_slice() => {}
                _ => return Err(format!("ranges overlap: {spec}")),
            }
        }
        previous_upper = restriction.upper.as_ref().map(|(u, _)| u.clone());
        restrictions.push(restriction);
        process = java_trim(&process[close + 1..]);
        if let Some(rest) = process.strip_prefix(',') {
            process = java_trim(rest);
        }
    }
    if !process.is_empty() {
        if !restrictions.is_empty() {
            return Err(format!(
                "only fully-qualified sets allowed in multiple set scenario: {spec}"
            ));
        }
        key(process)?;
        restrictions.push(Restriction {
            lower: None,
            upper: None,
        });
    }
    Ok(restrictions)
}

/// Whether `version` satisfies `range` in maven's own range syntax
/// (`VersionRange.containsVersion`).
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = key(version)?;
    let restrictions = parse_range(range)?;
    Ok(restrictions.iter().any(|r| r.contains(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        key(a).unwrap().cmp(&key(b).unwrap())
    }

    #[test]
    fn basics() {
        assert_eq!(cmp("1", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1-ga", "1"), Ordering::Equal);
        assert_eq!(cmp("1.0-final", "1"), Ordering::Equal);
        assert_eq!(cmp("1-CR1", "1-rc1"), Ordering::Equal);
        assert_eq!(cmp("1.0-alpha-1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0-SNAPSHOT", "1.0"), Ordering::Less);
        assert_eq!(cmp("1-sp", "1"), Ordering::Greater);
        assert_eq!(cmp("1.0.0.RC1", "1.0.0-RC2"), Ordering::Less);
        assert_eq!(cmp("1-1", "1.1"), Ordering::Less);
        assert_eq!(cmp("6.3.0-2", "6.3-7"), Ordering::Greater);
        assert_eq!(cmp("0.x", "x"), Ordering::Equal);
    }

    #[test]
    fn errors() {
        assert!(key("").is_err());
        assert!(key(&"1".repeat(257)).is_err());
        assert!(key(&"1".repeat(256)).is_ok());
        assert!(key("1\u{1D7E4}").is_err());
        assert!(key("\u{1D7E4}").is_ok());
        assert!(key("a-\u{0668}").is_err());
        assert!(key("1-\u{0668}").is_ok());
    }

    #[test]
    fn ranges() {
        assert!(satisfies("1.5", "[1.0,2.0)").unwrap());
        assert!(!satisfies("2.0", "[1.0,2.0)").unwrap());
        assert!(satisfies("0.5", "(,1.0],[1.2,)").unwrap());
        assert!(!satisfies("1.1", "(,1.0],[1.2,)").unwrap());
        assert!(satisfies("9", "1.0").unwrap());
        assert!(satisfies("1.0", "[1.0]").unwrap());
        assert!(satisfies("1", "[1.0, 1.0]").unwrap());
        assert!(satisfies("1", "[2.0,1.0]").is_err());
        assert!(satisfies("1", "[1.0,2.0),[1.5,3)").is_err());
        assert!(satisfies("1", "[1.0").is_err());
        assert!(satisfies("1", "(1.0)").is_err());
        assert!(!satisfies("1", "").unwrap());
    }
}
