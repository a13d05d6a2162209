//! The `nuget` version scheme: NuGet.Versioning's `NuGetVersion.TryParse` (2 to 4 numeric parts,
//! SemVer 2 release labels, build metadata ignored), `VersionComparer.Default` (release labels
//! case-insensitive, a label that `int.TryParse` accepts is numeric and sorts below the others) and
//! `VersionRange.TryParse` with floating ranges (`1.0.0`, `[1.0,2.0)`, `(,1.0]`, `[1.0]`, `1.*`,
//! `1.0.0-beta*`, `*`); `satisfies` is `VersionRange.Satisfies`, which checks the bounds (a float
//! range's lower bound is its lowest matching version).
//!
//! The key: the four numbers as big-endian `u32`, then `0x02` for a release or `0x01`, the labels
//! and `0x00` for a prerelease; a numeric label is `0x01` and its `i32` with the sign bit flipped, an
//! alphanumeric one `0x02`, its upper-cased ASCII and `0x00`.

use std::cmp::Ordering;

/// A parsed NuGet version: the four numbers and the release labels, if any.
struct Version {
    numbers: [u32; 4],
    labels: Option<Vec<String>>,
}

/// .NET's `char.IsWhiteSpace` is Unicode `White_Space`, as is Rust's `char::is_whitespace`.
fn net_trim(s: &str) -> &str {
    s.trim_matches(char::is_whitespace)
}

/// `int.TryParse(s, NumberStyles.Integer, InvariantCulture)`: white space (U+0009-U+000D, space)
/// around, an optional sign, ASCII digits, trailing NULs, and the value within `i32`.
fn net_int(s: &str) -> Option<i32> {
    let white = |c: char| c == ' ' || ('\u{9}'..='\u{d}').contains(&c);
    let s = s.trim_start_matches(white);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    if digits.is_empty() || !rest.trim_start_matches(white).chars().all(|c| c == '\0') {
        return None;
    }
    let mut value: i64 = 0;
    for d in digits.bytes() {
        value = value * 10 + i64::from(d - b'0');
        if value > 1 << 31 {
            return None;
        }
    }
    i32::try_from(if negative { -value } else { value }).ok()
}

/// `System.Version.TryParse`: 2 to 4 non-negative `int` components.
fn system_version(s: &str) -> Option<[u32; 4]> {
    let parts: Vec<&str> = s.split('.').collect();
    if !(2..=4).contains(&parts.len()) {
        return None;
    }
    let mut numbers = [0u32; 4];
    for (n, part) in numbers.iter_mut().zip(&parts) {
        *n = u32::try_from(net_int(part)?).ok()?;
    }
    Some(numbers)
}

fn is_valid_part(s: &str, allow_leading_zeros: bool) -> bool {
    if s.is_empty() {
        return false;
    }
    if !allow_leading_zeros
        && s.len() > 1
        && s.starts_with('0')
        && s.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `ParseSections`: the version part, the release labels and the build metadata. The version
/// part runs to the first `-` or `+` (and keeps it when it is the last character).
fn sections(value: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let bytes = value.as_bytes();
    let mut version = None;
    let mut labels = None;
    let mut metadata = None;
    let mut dash: Option<usize> = None;
    let mut plus: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        let end = i == bytes.len() - 1;
        let end_pos = i + usize::from(end);
        match (dash, plus) {
            (None, _) => {
                if end || b == b'-' || b == b'+' {
                    version = Some(&value[..end_pos]);
                    dash = Some(i);
                    if b == b'+' {
                        plus = Some(i);
                    }
                }
            }
            (Some(d), None) => {
                if end || b == b'+' {
                    labels = Some(&value[d + 1..end_pos]);
                    plus = Some(i);
                }
            }
            (Some(_), Some(p)) => {
                if end {
                    metadata = Some(&value[p + 1..end_pos]);
                }
            }
        }
    }
    (version, labels, metadata)
}

/// `NuGetVersion.TryParse`.
fn parse(value: &str) -> Result<Version, String> {
    let (version, labels, metadata) = sections(net_trim(value));
    let version = version
        .filter(|v| !v.is_empty())
        .ok_or("no version number")?;
    let numbers = if version.contains('.') {
        system_version(version)
    } else {
        system_version(&format!("{version}.0"))
    }
    .ok_or("the version part is not 1 to 4 non-negative 32-bit numbers")?;
    let labels = match labels {
        None => None,
        Some(l) => {
            let parts: Vec<String> = l.split('.').map(str::to_string).collect();
            if let Some(bad) = parts.iter().find(|p| !is_valid_part(p, false)) {
                return Err(format!("invalid release label {bad:?}"));
            }
            Some(parts)
        }
    };
    if let Some(m) = metadata {
        if !m.split('.').all(|p| is_valid_part(p, true)) {
            return Err(format!("invalid build metadata {m:?}"));
        }
    }
    Ok(Version { numbers, labels })
}

fn encode(v: &Version) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    for n in v.numbers {
        out.extend_from_slice(&n.to_be_bytes());
    }
    match &v.labels {
        None => out.push(2),
        Some(labels) => {
            out.push(1);
            for label in labels {
                match net_int(label) {
                    Some(n) => {
                        out.push(1);
                        out.extend_from_slice(&((n as u32) ^ 0x8000_0000).to_be_bytes());
                    }
                    None => {
                        out.push(2);
                        out.extend(label.bytes().map(|b| b.to_ascii_uppercase()));
                        out.push(0);
                    }
                }
            }
            out.push(0);
        }
    }
    out
}

/// The order-preserving key of `version` (see the module docs of `version`).
///
/// # Errors
/// Why `version` is not a nuget version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    parse(version).map(|v| encode(&v))
}

/// `FloatRange.TryParse`: the lowest version a floating version matches.
fn float_min(s: &str) -> Option<Vec<u8>> {
    if s.chars().all(char::is_whitespace) {
        return None;
    }
    let first = s.find('*');
    let last = s.rfind('*');
    let no_plus = !s.contains('+');
    if s == "*" {
        return key("0.0.0").ok();
    }
    if s == "*-*" {
        return key("0.0.0-0").ok();
    }
    if first != last && last.is_some() && no_plus {
        let (first, last) = (first?, last?);
        let dash = s.find('-')?;
        if last == s.len() - 1 && dash >= 1 && first == dash - 1 {
            let stable = format!("{}0", &s[..dash - 1]);
            let prefix = &s[dash + 1..s.len() - 1];
            let release = if prefix.is_empty() || prefix.ends_with('.') {
                format!("{prefix}0")
            } else {
                prefix.to_string()
            };
            return key(&format!("{stable}-{release}")).ok();
        }
        return None;
    }
    if last == Some(s.len() - 1) && no_plus {
        let mut actual = s[..s.len() - 1].to_string();
        match (s.find('-'), s.rfind('-')) {
            (None, _) => actual.push('0'),
            (Some(a), Some(b)) if a == b => {
                let prefix = &actual[b + 1..];
                if prefix.is_empty() || actual.ends_with('.') {
                    actual.push('0');
                } else if actual.ends_with('-') {
                    actual.push('-');
                }
            }
            _ => {}
        }
        return key(&actual).ok();
    }
    key(s).ok()
}

struct Range {
    min: Option<(Vec<u8>, bool)>,
    max: Option<(Vec<u8>, bool)>,
}

/// `VersionRange.TryParse(value, allowFloating: true)`.
fn parse_range(value: &str) -> Result<Range, String> {
    let trimmed = net_trim(value);
    if trimmed.is_empty() {
        return Err("empty range".into());
    }
    if trimmed == "*" {
        return Ok(Range {
            min: Some((key("0.0.0")?, true)),
            max: None,
        });
    }
    let (min_incl, max_incl, min_s, max_s) = match trimmed.as_bytes()[0] {
        b'(' | b'[' => {
            let min_incl = trimmed.starts_with('[');
            let max_incl = match trimmed.as_bytes()[trimmed.len() - 1] {
                b']' => true,
                b')' => false,
                _ => return Err("a range must end with ] or )".into()),
            };
            let parts: Vec<&str> = trimmed[1..trimmed.len() - 1].split(',').collect();
            if parts.len() > 2 {
                return Err("more than two bounds".into());
            }
            if parts.iter().all(|p| p.is_empty()) {
                return Err("a range without bounds".into());
            }
            if parts.len() == 1 && !(min_incl && max_incl) {
                return Err("a single version must be in []".into());
            }
            (
                min_incl,
                max_incl,
                parts[0],
                Some(*parts.last().unwrap_or(&"")),
            )
        }
        _ => (true, false, trimmed, None),
    };
    let blank = |s: &str| s.chars().all(char::is_whitespace);
    let min = if blank(min_s) {
        None
    } else if min_s.contains('*') {
        Some(float_min(min_s).ok_or_else(|| format!("invalid floating version {min_s:?}"))?)
    } else {
        Some(key(min_s)?)
    };
    let max = match max_s {
        Some(s) if !blank(s) => Some(key(s)?),
        _ => None,
    };
    if let (Some(lo), Some(hi)) = (&min, &max) {
        match lo.cmp(hi) {
            Ordering::Greater => return Err("the lower bound is above the upper bound".into()),
            Ordering::Equal if min_incl != max_incl => {
                return Err("an empty range between equal bounds".into())
            }
            _ => {}
        }
    }
    Ok(Range {
        min: min.map(|m| (m, min_incl)),
        max: max.map(|m| (m, max_incl)),
    })
}

/// Whether `version` satisfies `range` in nuget's own range syntax.
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = key(version)?;
    let r = parse_range(range)?;
    let lower_ok = match &r.min {
        None => true,
        Some((m, true)) => m.as_slice() <= v.as_slice(),
        Some((m, false)) => m.as_slice() < v.as_slice(),
    };
    let upper_ok = match &r.max {
        None => true,
        Some((m, true)) => m.as_slice() >= v.as_slice(),
        Some((m, false)) => m.as_slice() > v.as_slice(),
    };
    Ok(lower_ok && upper_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        key(a).unwrap().cmp(&key(b).unwrap())
    }

    #[test]
    fn order() {
        assert_eq!(cmp("1.0", "1.0.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-BETA", "1.0.0-beta+x"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-beta", "1.0.0"), Ordering::Less);
        assert_eq!(cmp("1.0.0-2", "1.0.0-10"), Ordering::Less);
        assert_eq!(cmp("1.0.0-10", "1.0.0-a"), Ordering::Less);
        assert_eq!(cmp("1.0.0-a.-1", "1.0.0-a.0"), Ordering::Less);
        assert_eq!(cmp("1.0.0-2147483648", "1.0.0-3"), Ordering::Greater);
        assert_eq!(cmp(" 1. 2 ", "1.2"), Ordering::Equal);
    }

    #[test]
    fn invalid() {
        for v in [
            "",
            " ",
            "1.0.0-",
            "1.0.0-01",
            "1.2.3.4.5",
            "a",
            "1.0.0-a..b",
            "1.0+",
            "-1",
            "2147483648.0",
        ] {
            assert!(key(v).is_err(), "{v:?}");
        }
        assert!(key("1").is_ok());
        assert!(key("1.0.0-0a").is_ok());
    }

    #[test]
    fn ranges() {
        assert!(satisfies("2.0.0", "1.0.0").unwrap());
        assert!(!satisfies("0.9", "1.0.0").unwrap());
        assert!(satisfies("1.5", "[1.0, 2.0)").unwrap());
        assert!(!satisfies("2.0", "[1.0, 2.0)").unwrap());
        assert!(satisfies("1.0.0-a", "1.0.*-a*").unwrap());
        assert!(satisfies("3.0", "*").unwrap());
        assert!(!satisfies("1", "(1.0.0, 1.0.0)").unwrap());
        assert!(satisfies("1", "[1.0.0, 1.0.0)").is_err());
        assert!(satisfies("1", "(,]").is_err());
        assert!(satisfies("1", "[1.*]").is_err());
    }
}
