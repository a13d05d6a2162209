//! The `composer` version scheme: composer/semver's `VersionParser::normalize` (`1.0` becomes
//! `1.0.0.0`, `v1.2-beta2` becomes `1.2.0.0-beta2`, `1.x-dev` becomes
//! `1.9999999.9999999.9999999-dev`, `dev-main` stays a branch, aliases `1.0 as 2.0`, stability
//! flags `@dev` and build metadata are stripped), versions then ordered by PHP's `version_compare`
//! as composer's `Comparator` uses it; `satisfies` is `Semver::satisfies` (constraints with `^`, `~`,
//! `*`/`x` wildcards, hyphen ranges, `||`/`|` for OR, `,`/space for AND, `@stability` flags).
//!
//! # The key
//! `version_compare` splits a version into elements at `.`, `-`, `_`, `+` and digit/letter
//! changes, and compares them in order: numbers by value, words by the class of their first
//! letters (`dev` < `alpha`/`a` < `beta`/`b` < `RC`/`rc` < `pl`/`p`, any other word below `dev`),
//! a number above the words up to `RC` and below `p`; a version that has run out of elements ranks
//! as a number against words and below any number (`1.0.0.0-beta` < `1.0.0.0` < `1.0.0.0.0` <
//! `1.0.0.0-patch`). So each element is a class byte (numbers followed by their value, clamped to
//! PHP's `LONG_MAX` as `strtol` does) and the key ends with the end class.
//!
//! # Deliberate differences
//! - Composer's comparator treats two different branches (`dev-a`, `dev-b`) as unordered (neither
//!   lower, higher nor equal); here branches sort below every numbered version (as composer ranks a
//!   branch against a number) and among themselves by their bytes, equal only when identical.
//!   `satisfies` follows composer: a branch matches only `==`/`!=` constraints and `*`.
//! - A version or constraint with a line break inside is rejected (PCRE's `$` and `.` make
//!   composer read such strings in surprising ways).
//! - A constraint whose upper bound would need a number above PHP's `PHP_INT_MAX` (composer
//!   silently turns it into a float) is rejected.

use std::cmp::Ordering;

/// PHP's `trim()`: space, tab, LF, CR, NUL and vertical tab.
fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\u{b}'])
}

/// PCRE's `\s` without the UTF flag.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn ci_starts_with(s: &[u8], prefix: &str) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn digit_run(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// A match of composer's modifier regex
/// `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?`.
struct Modifier<'a> {
    stability: &'a str,
    digits: &'a str,
    dev: bool,
}

const STABILITIES: [&str; 9] = [
    "stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p",
];

/// `(?:[.-]?\d+)*+`: how many bytes the stability number takes.
fn stability_digits(s: &[u8]) -> usize {
    let mut i = 0;
    loop {
        let sep = usize::from(matches!(s.get(i), Some(b'.' | b'-')));
        let n = digit_run(&s[(i + sep).min(s.len())..]);
        if n == 0 {
            return i;
        }
        i += sep + n;
    }
}

/// The modifier regex matching all of `s` (case-insensitively), with PCRE's choice of captures.
fn modifier(s: &str) -> Option<Modifier<'_>> {
    modifier_with(s, true)
}

fn modifier_with(s: &str, case_insensitive: bool) -> Option<Modifier<'_>> {
    let same = |a: &[u8], b: &[u8]| {
        if case_insensitive {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let b = s.as_bytes();
    let seps: &[usize] = if matches!(b.first(), Some(b'.' | b'_' | b'-')) {
        &[1, 0]
    } else {
        &[0]
    };
    for &sep in seps {
        let r = &b[sep..];
        let options = STABILITIES.iter().map(Some).chain(std::iter::once(None));
        for option in options {
            let (stability, digits, after) = match option {
                Some(word) => {
                    if r.len() < word.len() || !same(&r[..word.len()], word.as_bytes()) {
                        continue;
                    }
                    let n = stability_digits(&r[word.len()..]);
                    let start = sep + word.len();
                    (&s[sep..start], &s[start..start + n], word.len() + n)
                }
                None => ("", "", 0),
            };
            let rest = &r[after..];
            let dev = match rest {
                [] => Some(false),
                [b'.' | b'-', tail @ ..] if same(tail, b"dev") => Some(true),
                _ if same(rest, b"dev") => Some(true),
                _ => None,
            };
            if let Some(dev) = dev {
                return Some(Modifier {
                    stability,
                    digits,
                    dev,
                });
            }
        }
    }
    None
}

fn expand_stability(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "a" => "alpha".into(),
        "b" => "beta".into(),
        "p" | "pl" => "patch".into(),
        "rc" => "RC".into(),
        _ => lower,
    }
}

/// Appends the modifiers to a normalised number, as `normalize` does.
fn with_modifier(mut version: String, m: &Modifier) -> String {
    if !m.stability.is_empty() {
        if m.stability == "stable" {
            return version;
        }
        version.push('-');
        version.push_str(&expand_stability(m.stability));
        version.push_str(m.digits.trim_start_matches(['.', '-']));
    }
    if m.dev {
        version.push_str("-dev");
    }
    version
}

/// `^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?MODIFIER$`, case-insensitive.
fn classical(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'v' | b'V')));
    let major = digit_run(&b[i..]);
    if !(1..=5).contains(&major) {
        return None;
    }
    let mut parts = vec![&v[i..i + major]];
    i += major;
    while parts.len() < 4 && b.get(i) == Some(&b'.') {
        let n = digit_run(&b[i + 1..]);
        if n == 0 {
            break;
        }
        parts.push(&v[i + 1..i + 1 + n]);
        i += 1 + n;
    }
    let m = modifier(&v[i..])?;
    let mut out = parts.join(".");
    for _ in parts.len()..4 {
        out.push_str(".0");
    }
    Some(with_modifier(out, &m))
}

/// End positions of `\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?` from `start`, in PCRE's order.
fn date_ends(b: &[u8], start: usize) -> Vec<usize> {
    fn sep(b: &[u8], p: usize) -> usize {
        usize::from(matches!(b.get(p), Some(b'.' | b':' | b'-')))
    }
    fn groups(b: &[u8], p: usize, count: usize, out: &mut Vec<usize>) {
        if count < 6 {
            let q = p + sep(b, p);
            if digit_run(&b[q.min(b.len())..]) >= 2 {
                groups(b, q + 2, count + 1, out);
            }
        }
        if count >= 1 {
            let q = p + sep(b, p);
            let n = digit_run(&b[q.min(b.len())..]).min(3);
            for k in (1..=n).rev() {
                out.push(q + k);
            }
            out.push(p);
        }
    }
    let mut out = Vec::new();
    if digit_run(&b[start..]) >= 4 {
        groups(b, start + 4, 0, &mut out);
    }
    out
}

/// `^v?(DATE)MODIFIER$`, case-insensitive.
fn date(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let start = usize::from(matches!(b.first(), Some(b'v' | b'V')));
    for end in date_ends(b, start) {
        if let Some(m) = modifier(&v[end..]) {
            let d: String = v[start..end]
                .chars()
                .map(|c| if c.is_ascii_digit() { c } else { '.' })
                .collect();
            return Some(with_modifier(d, &m));
        }
    }
    None
}

/// `normalizeBranch` for numeric branches (`1.x`, `2.1.*`); `None` for the others.
fn numeric_branch(name: &str) -> Option<String> {
    let name = php_trim(name);
    let b = name.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'v' | b'V')));
    let n = digit_run(&b[i..]);
    if n == 0 {
        return None;
    }
    let mut out = name[i..i + n].to_string();
    i += n;
    let mut groups = 1;
    while groups < 4 && b.get(i) == Some(&b'.') {
        let n = digit_run(&b[i + 1..]);
        if n > 0 {
            out.push('.');
            out.push_str(&name[i + 1..i + 1 + n]);
            i += 1 + n;
        } else if matches!(b.get(i + 1), Some(b'x' | b'X' | b'*')) {
            out.push_str(".x");
            i += 2;
        } else {
            break;
        }
        groups += 1;
    }
    if i != b.len() {
        return None;
    }
    for _ in groups..4 {
        out.push_str(".x");
    }
    Some(out.replace('x', "9999999") + "-dev")
}

/// `^([^,\s]++) ++as ++([^,\s]++)$`: the aliased part.
fn strip_alias(s: &str) -> &str {
    let b = s.as_bytes();
    let first = b.iter().take_while(|&&c| c != b',' && !is_space(c)).count();
    let spaces = |from: usize| b[from..].iter().take_while(|&&c| c == b' ').count();
    let s1 = spaces(first);
    if first == 0 || s1 == 0 || !b[first + s1..].starts_with(b"as") {
        return s;
    }
    let after_as = first + s1 + 2;
    let s2 = spaces(after_as);
    let tail = &b[after_as + s2..];
    if s2 > 0 && !tail.is_empty() && tail.iter().all(|&c| c != b',' && !is_space(c)) {
        &s[..first]
    } else {
        s
    }
}

const FLAG_STABILITIES: [&str; 5] = ["stable", "RC", "beta", "alpha", "dev"];

/// `VersionParser::normalize`.
///
/// # Errors
/// Why composer rejects the version.
pub fn normalize(version: &str) -> Result<String, String> {
    let mut v = php_trim(version);
    if v.contains('\n') {
        return Err("line break in version".into());
    }
    v = strip_alias(v);
    if let Some(at) = v.rfind('@') {
        if FLAG_STABILITIES
            .iter()
            .any(|w| v[at + 1..].eq_ignore_ascii_case(w))
        {
            v = &v[..at];
        }
    }
    if matches!(v, "master" | "trunk" | "default") {
        return Ok(format!("dev-{v}"));
    }
    if ci_starts_with(v.as_bytes(), "dev-") {
        return Ok(format!("dev-{}", &v[4..]));
    }
    // build metadata: ^([^,\s+]++)\+[^\s]++$
    let b = v.as_bytes();
    let head = b
        .iter()
        .take_while(|&&c| c != b',' && c != b'+' && !is_space(c))
        .count();
    if head > 0
        && b.get(head) == Some(&b'+')
        && head + 1 < b.len()
        && b[head + 1..].iter().all(|&c| !is_space(c))
    {
        v = &v[..head];
    }
    if let Some(n) = classical(v).or_else(|| date(v)) {
        return Ok(n);
    }
    // (.*?)[.-]?dev$ : numeric branches only
    let b = v.as_bytes();
    if b.len() >= 3 && b[b.len() - 3..].eq_ignore_ascii_case(b"dev") {
        let mut prefix = &v[..v.len() - 3];
        if prefix.ends_with(['.', '-']) {
            prefix = &prefix[..prefix.len() - 1];
        }
        if let Some(n) = numeric_branch(prefix) {
            return Ok(n);
        }
    }
    Err("not a composer version".into())
}

// Element classes of version_compare, in its order.
const WORD_OTHER: u8 = 1;
const WORD_DEV: u8 = 2;
const WORD_ALPHA: u8 = 3;
const WORD_BETA: u8 = 4;
const WORD_RC: u8 = 5;
const END: u8 = 6;
const NUMBER: u8 = 7;
const WORD_PATCH: u8 = 8;
const BRANCH: u8 = 0;

/// PHP's `php_canonicalize_version`: separators become `.`, and a `.` goes between digits and
/// non-digits.
fn canonicalize(s: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = s.split_first() else {
        return Vec::new();
    };
    let isdig = |c: u8| c.is_ascii_digit();
    let isndig = |c: u8| !c.is_ascii_digit() && c != b'.';
    let mut out = vec![first];
    let mut lp = first;
    for &c in rest {
        let dot = |out: &mut Vec<u8>| {
            if out.last() != Some(&b'.') {
                out.push(b'.');
            }
        };
        if matches!(c, b'-' | b'_' | b'+') {
            dot(&mut out);
        } else if (isndig(lp) && isdig(c)) || (isdig(lp) && isndig(c)) {
            dot(&mut out);
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            dot(&mut out);
        } else {
            out.push(c);
        }
        lp = c;
    }
    out
}

/// The `version_compare` key of a numbered version.
fn elements_key(v: &str) -> Result<Vec<u8>, String> {
    let canonical = canonicalize(v.as_bytes());
    let mut out = Vec::with_capacity(canonical.len() * 3);
    for element in canonical.split(|&c| c == b'.') {
        if element.is_empty() || !element.iter().all(u8::is_ascii_alphanumeric) {
            return Err(format!("{v:?} has an element version_compare cannot order"));
        }
        if element[0].is_ascii_digit() {
            // strtol: saturates at LONG_MAX
            let value = element.iter().try_fold(0i64, |acc, d| {
                acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
            });
            out.push(NUMBER);
            out.extend_from_slice(&value.unwrap_or(i64::MAX).to_be_bytes());
        } else {
            let starts = |p: &str| element.starts_with(p.as_bytes());
            out.push(if starts("dev") {
                WORD_DEV
            } else if starts("a") {
                WORD_ALPHA
            } else if starts("b") {
                WORD_BETA
            } else if starts("RC") || starts("rc") {
                WORD_RC
            } else if starts("p") {
                WORD_PATCH
            } else {
                WORD_OTHER
            });
        }
    }
    out.push(END);
    Ok(out)
}

fn is_branch(v: &str) -> bool {
    v.starts_with("dev-")
}

fn normalized_key(n: &str) -> Result<Vec<u8>, String> {
    if is_branch(n) {
        let mut out = vec![BRANCH];
        out.extend_from_slice(n.as_bytes());
        Ok(out)
    } else {
        elements_key(n)
    }
}

/// The order-preserving key of `version` (see the module docs of `version`).
///
/// # Errors
/// Why `version` is not a composer version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    normalized_key(&normalize(version)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum Constraint {
    All,
    Cmp(Op, String),
}

/// `Constraint::matchSpecific` against `== version` with branches not comparable.
fn matches(c: &Constraint, version: &str) -> Result<bool, String> {
    let Constraint::Cmp(op, v) = c else {
        return Ok(true);
    };
    let (vb, xb) = (is_branch(v), is_branch(version));
    if *op == Op::Ne && (vb || xb) {
        return Ok(v != version);
    }
    if vb || xb {
        return Ok(*op == Op::Eq && vb && xb && v == version);
    }
    let order = elements_key(version)?.cmp(&elements_key(v)?);
    Ok(match op {
        Op::Eq => order == Ordering::Equal,
        Op::Ne => order != Ordering::Equal,
        Op::Lt => order == Ordering::Less,
        Op::Le => order != Ordering::Greater,
        Op::Gt => order == Ordering::Greater,
        Op::Ge => order != Ordering::Less,
    })
}

/// The groups of composer's `$versionRegex`: numbers, stability, its number, `-dev`, `.x-dev`.
struct VersionMatch<'a> {
    numbers: [&'a str; 4],
    stability: &'a str,
    dev: bool,
    x_dev: bool,
}

/// `v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.(\d++))?(?:MODIFIER|\.([xX*][.-]?dev))(?:\+[^\s]+)?`
/// matching all of `s`, case-insensitively.
fn version_regex(s: &str) -> Option<VersionMatch<'_>> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'v' | b'V')));
    let mut numbers = [""; 4];
    let n = digit_run(&b[i..]);
    if n == 0 {
        return None;
    }
    numbers[0] = &s[i..i + n];
    i += n;
    let mut k = 1;
    while k < 4 && b.get(i) == Some(&b'.') {
        let n = digit_run(&b[i + 1..]);
        if n == 0 {
            break;
        }
        numbers[k] = &s[i + 1..i + 1 + n];
        i += 1 + n;
        k += 1;
    }
    let rest = &s[i..];
    let (body, plus) = match rest.find('+') {
        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
        None => (rest, None),
    };
    if let Some(p) = plus {
        if p.is_empty() || p.bytes().any(is_space) {
            return None;
        }
    }
    if let Some(m) = modifier(body) {
        return Some(VersionMatch {
            numbers,
            stability: m.stability,
            dev: m.dev,
            x_dev: false,
        });
    }
    let bb = body.as_bytes();
    let x_dev = bb.len() >= 5 && bb[0] == b'.' && matches!(bb[1], b'x' | b'X' | b'*') && {
        let tail = if matches!(bb[2], b'.' | b'-') {
            &bb[3..]
        } else {
            &bb[2..]
        };
        tail.eq_ignore_ascii_case(b"dev")
    };
    x_dev.then_some(VersionMatch {
        numbers,
        stability: "",
        dev: false,
        x_dev: true,
    })
}

/// `manipulateVersionString` with an increment of 0 or 1.
fn manipulate(numbers: [&str; 4], position: usize, increment: bool) -> Result<String, String> {
    let mut parts: Vec<String> = numbers.iter().map(|s| (*s).to_string()).collect();
    for i in (1..=4).rev() {
        if i > position {
            parts[i - 1] = "0".into();
        } else if i == position && increment {
            let value: i64 = parts[i - 1]
                .parse()
                .ok()
                .filter(|v| *v < i64::MAX)
                .ok_or("a bound past PHP_INT_MAX")?;
            parts[i - 1] = (value + 1).to_string();
        }
    }
    Ok(parts.join("."))
}

fn has_stability_suffix(m: &VersionMatch) -> bool {
    !m.stability.is_empty() || m.dev || m.x_dev
}

/// `VersionParser::parseConstraint` for one AND-part.
fn parse_constraint(input: &str) -> Result<Vec<Constraint>, String> {
    let mut c = strip_alias(input).to_string();
    let mut stability_modifier: Option<String> = None;
    // ^([^,\s]*?)@(stable|RC|beta|alpha|dev)$
    if let Some(at) = c.rfind('@') {
        let word = &c[at + 1..];
        let prefix = &c[..at];
        if FLAG_STABILITIES
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
            && prefix.bytes().all(|b| b != b',' && !is_space(b))
        {
            if word != "stable" {
                stability_modifier = Some(word.to_string());
            }
            c = if prefix.is_empty() {
                "*".into()
            } else {
                prefix.into()
            };
        }
    }
    // ^(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+$ : drop #refs
    c = strip_ref(&c).to_string();
    let b = c.as_bytes();
    // ^(v)?[xX*](\.[xX*])*$
    {
        let v = usize::from(matches!(b.first(), Some(b'v' | b'V')));
        let wild = |x: u8| matches!(x, b'x' | b'X' | b'*');
        if b.len() > v
            && wild(b[v])
            && b[v + 1..].chunks_exact(2).remainder().is_empty()
            && b[v + 1..]
                .chunks_exact(2)
                .all(|p| p[0] == b'.' && wild(p[1]))
        {
            return Ok(vec![if v == 1 || b.len() > 1 {
                Constraint::Cmp(Op::Ge, "0.0.0.0-dev".into())
            } else {
                Constraint::All
            }]);
        }
    }
    // tilde
    if let Some(rest) = c.strip_prefix('~') {
        let body = rest.strip_prefix('>').unwrap_or(rest);
        if let Some(m) = version_regex(body) {
            if rest.starts_with('>') {
                return Err("the ~> operator is not composer's; use ~".into());
            }
            let set = m.numbers.iter().rposition(|s| !s.is_empty()).unwrap_or(0);
            let position = set + 1 + usize::from(m.x_dev);
            let suffix = if has_stability_suffix(&m) { "" } else { "-dev" };
            let low = normalize(&format!("{rest}{suffix}"))?;
            let high = manipulate(m.numbers, position.saturating_sub(1).max(1), true)? + "-dev";
            return Ok(vec![
                Constraint::Cmp(Op::Ge, low),
                Constraint::Cmp(Op::Lt, high),
            ]);
        }
    }
    // caret
    if let Some(rest) = c.strip_prefix('^') {
        if let Some(m) = version_regex(rest) {
            let [n1, n2, n3, _] = m.numbers;
            let position = if n1 != "0" || n2.is_empty() {
                1
            } else if n2 != "0" || n3.is_empty() {
                2
            } else {
                3
            };
            let suffix = if has_stability_suffix(&m) { "" } else { "-dev" };
            let low = normalize(&format!("{rest}{suffix}"))?;
            let high = manipulate(m.numbers, position, true)? + "-dev";
            return Ok(vec![
                Constraint::Cmp(Op::Ge, low),
                Constraint::Cmp(Op::Lt, high),
            ]);
        }
    }
    // X-range: ^v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.[xX*])++$ (case-sensitive)
    if let Some(numbers) = x_range(&c) {
        let position = numbers.iter().rposition(|s| !s.is_empty()).unwrap_or(0) + 1;
        let low = manipulate(numbers, position, false)? + "-dev";
        let high = manipulate(numbers, position, true)? + "-dev";
        if low == "0.0.0.0-dev" {
            return Ok(vec![Constraint::Cmp(Op::Lt, high)]);
        }
        return Ok(vec![
            Constraint::Cmp(Op::Ge, low),
            Constraint::Cmp(Op::Lt, high),
        ]);
    }
    // hyphen range: ^(VR) +- +(VR)$
    if let Some(space) = c.find(' ') {
        let (from, tail) = c.split_at(space);
        let tail = tail.trim_start_matches(' ');
        if let Some(to) = tail.strip_prefix('-') {
            let to_trimmed = to.trim_start_matches(' ');
            if to_trimmed.len() < to.len() {
                if let (Some(f), Some(t)) = (version_regex(from), version_regex(to_trimmed)) {
                    let low_suffix = if has_stability_suffix(&f) { "" } else { "-dev" };
                    let low = normalize(from)? + low_suffix;
                    let [t1, t2, t3, _] = t.numbers;
                    let upper = if (!t2.is_empty() && !t3.is_empty())
                        || !t.stability.is_empty()
                        || t.dev
                        || t.x_dev
                    {
                        Constraint::Cmp(Op::Le, normalize(to_trimmed)?)
                    } else {
                        normalize(to_trimmed)?;
                        let position = if t2.is_empty() { 1 } else { 2 };
                        let high = manipulate([t1, t2, t3, t.numbers[3]], position, true)?;
                        Constraint::Cmp(Op::Lt, high + "-dev")
                    };
                    return Ok(vec![Constraint::Cmp(Op::Ge, low), upper]);
                }
            }
        }
    }
    // basic comparators: ^(<>|!=|>=?|<=?|==?)?\s*(.*)
    let (op_text, rest) = ["<>", "!=", ">=", ">", "<=", "<", "==", "="]
        .iter()
        .find_map(|op| c.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("", &c));
    let rest = rest.trim_start_matches(|ch: char| ch.is_ascii() && is_space(ch as u8));
    let mut version = match normalize(rest) {
        Ok(n) => n,
        Err(e) => {
            let b = rest.as_bytes();
            if rest.ends_with("-dev")
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'/'))
            {
                normalize(&format!("dev-{}", &rest[..rest.len() - 4]))?
            } else {
                return Err(format!("could not parse version constraint {input:?}: {e}"));
            }
        }
    };
    let op = match op_text {
        "" | "=" | "==" => Op::Eq,
        "<>" | "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        _ => Op::Ge,
    };
    let stable = stability_of(&version) == "stable";
    if let (false, Some(sm), true) = (op == Op::Eq, &stability_modifier, stable) {
        version = format!("{version}-{sm}");
    } else if matches!(op, Op::Lt | Op::Ge)
        && !has_dash_modifier(&rest.to_ascii_lowercase())
        && !rest.starts_with("dev-")
    {
        version.push_str("-dev");
    }
    Ok(vec![Constraint::Cmp(op, version)])
}

/// `/-MODIFIER$/` on a lower-cased string, without the case-insensitive flag (so `RC` never
/// matches).
fn has_dash_modifier(s: &str) -> bool {
    s.match_indices('-')
        .any(|(i, _)| modifier_with(&s[i + 1..], false).is_some())
}

/// `VersionParser::parseStability`.
fn stability_of(version: &str) -> &'static str {
    let v = match version.find('#') {
        Some(p) if p + 1 < version.len() => &version[..p],
        _ => version,
    };
    if v.starts_with("dev-") || v.ends_with("-dev") {
        return "dev";
    }
    let lower = v.to_ascii_lowercase();
    // MODIFIER(?:\+.*)?$ found anywhere: the leftmost start where it matches to the end
    for start in 0..=lower.len() {
        if !lower.is_char_boundary(start) {
            continue;
        }
        let tail = &lower[start..];
        let body = match tail.find('+') {
            Some(p) => &tail[..p],
            None => tail,
        };
        if let Some(m) = modifier(body) {
            if m.dev {
                return "dev";
            }
            return match m.stability {
                "beta" | "b" => "beta",
                "alpha" | "a" => "alpha",
                "rc" => "RC",
                _ => "stable",
            };
        }
    }
    "stable"
}

/// `^(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+$` (case-insensitive): the part before the `#ref`.
fn strip_ref(c: &str) -> &str {
    let b = c.as_bytes();
    let ok = |x: &u8| *x != b',' && *x != b'@' && !is_space(*x);
    if ci_starts_with(b, "dev-") {
        for idx in 5..b.len() {
            if !ok(&b[idx - 1]) {
                break;
            }
            if b[idx] == b'#' && idx + 1 < b.len() {
                return &c[..idx];
            }
        }
    }
    for idx in 1..b.len() {
        if !ok(&b[idx - 1]) {
            break;
        }
        if ci_starts_with(&b[idx..], ".x-dev#") && idx + 7 < b.len() {
            return &c[..idx + 6];
        }
    }
    c
}

fn x_range(c: &str) -> Option<[&str; 4]> {
    let b = c.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let mut numbers = [""; 4];
    let n = digit_run(&b[i..]);
    if n == 0 {
        return None;
    }
    numbers[0] = &c[i..i + n];
    i += n;
    let mut k = 1;
    while k < 3 && b.get(i) == Some(&b'.') {
        let n = digit_run(&b[i + 1..]);
        if n == 0 {
            break;
        }
        numbers[k] = &c[i + 1..i + 1 + n];
        i += 1 + n;
        k += 1;
    }
    let rest = &b[i..];
    let valid = !rest.is_empty()
        && rest.chunks_exact(2).remainder().is_empty()
        && rest
            .chunks_exact(2)
            .all(|p| p[0] == b'.' && matches!(p[1], b'x' | b'X' | b'*'));
    valid.then_some(numbers)
}

/// `preg_split('{(?<!^|as|[=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)}', s)`.
fn split_and(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    let mut pos = 0;
    'search: while pos < b.len() {
        let start = pos;
        pos += 1;
        // (?<!^|as|[=>< ,])
        if start == 0
            || (start >= 2 && &b[start - 2..start] == b"as")
            || matches!(b[start - 1], b'=' | b'>' | b'<' | b' ' | b',')
        {
            continue;
        }
        let spaces = b[start..].iter().take_while(|&&c| c == b' ').count();
        for k in (0..=spaces).rev() {
            let p = start + k;
            if p >= b.len() || !matches!(b[p], b',' | b' ') {
                continue;
            }
            if b[p - 1] == b'-' || b.get(p + 1) == Some(&b'-') {
                continue;
            }
            let spaces2 = b[p + 1..].iter().take_while(|&&c| c == b' ').count();
            for m in (0..=spaces2).rev() {
                let q = p + 1 + m;
                if q < b.len() && b[q] != b',' && !b[q..].starts_with(b"as") {
                    pieces.push(&s[piece_start..start]);
                    piece_start = q;
                    pos = q;
                    continue 'search;
                }
            }
        }
    }
    pieces.push(&s[piece_start..]);
    pieces
}

/// `preg_split('{\s*\|\|?\s*}', s)`.
fn split_or(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    let mut i = 0;
    while i < b.len() {
        // leftmost match: a run of spaces followed by '|', or a '|'
        let spaces = b[i..].iter().take_while(|&&c| is_space(c)).count();
        if b.get(i + spaces) == Some(&b'|') {
            let mut j = i + spaces + 1;
            if b.get(j) == Some(&b'|') {
                j += 1;
            }
            j += b[j..].iter().take_while(|&&c| is_space(c)).count();
            pieces.push(&s[piece_start..i]);
            piece_start = j;
            i = j;
        } else {
            i += spaces.max(1);
        }
    }
    pieces.push(&s[piece_start..]);
    pieces
}

/// `VersionParser::parseConstraints`: OR of AND groups.
fn parse_constraints(constraints: &str) -> Result<Vec<Vec<Constraint>>, String> {
    let trimmed = php_trim(constraints);
    if trimmed.contains('\n') {
        return Err("line break in constraint".into());
    }
    let mut groups = Vec::new();
    for or in split_or(trimmed) {
        let mut group = Vec::new();
        for and in split_and(or) {
            group.extend(parse_constraint(and)?);
        }
        groups.push(group);
    }
    Ok(groups)
}

/// Whether `version` satisfies `range` in composer's own constraint syntax
/// (`Semver::satisfies`).
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = normalize(version)?;
    let groups = parse_constraints(range)?;
    for group in &groups {
        let mut all = true;
        for c in group {
            if !matches(c, &v)? {
                all = false;
                break;
            }
        }
        if all {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        for (v, n) in [
            ("1.0", "1.0.0.0"),
            ("v1.2.3", "1.2.3.0"),
            ("1.0.0-beta2.1", "1.0.0.0-beta2.1"),
            ("1.0.0b-2.1", "1.0.0.0-beta2.1"),
            ("1.0-rc1-dev", "1.0.0.0-RC1-dev"),
            ("1.0-p1", "1.0.0.0-patch1"),
            ("1.0-stable", "1.0.0.0"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("2.1.x-dev", "2.1.9999999.9999999-dev"),
            ("dev-main", "dev-main"),
            ("master", "dev-master"),
            ("1.0 as 2.0", "1.0.0.0"),
            ("1.0@dev", "1.0.0.0"),
            ("1.2.3+build.1", "1.2.3.0"),
            ("2010-01-02", "2010.01.02"),
            ("20100102-203040-p1", "20100102.203040-patch1"),
        ] {
            assert_eq!(normalize(v).as_deref(), Ok(n), "{v}");
        }
        for v in ["", "foo", "1.0.0.0.0", "foo-dev", "1.0-gamma", "1234567.0"] {
            assert!(normalize(v).is_err(), "{v}");
        }
    }

    #[test]
    fn order() {
        let cmp = |a: &str, b: &str| key(a).unwrap().cmp(&key(b).unwrap());
        assert_eq!(cmp("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0-dev", "1.0-alpha"), Ordering::Less);
        assert_eq!(cmp("1.0-RC1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0-p1"), Ordering::Less);
        assert_eq!(cmp("dev-foo", "0.0.1"), Ordering::Less);
        assert_eq!(cmp("1.0-beta2.1", "1.0-b.2.1"), Ordering::Equal);
    }

    #[test]
    fn constraints() {
        assert!(satisfies("1.2.3", "^1.2").unwrap());
        assert!(!satisfies("2.0.0", "^1.2").unwrap());
        assert!(satisfies("1.2.9", "~1.2.3").unwrap());
        assert!(!satisfies("1.3.0", "~1.2.3").unwrap());
        assert!(satisfies("1.9", "1.0 - 2.0").unwrap());
        assert!(!satisfies("2.1", "1.0 - 2.0").unwrap());
        assert!(satisfies("3.1", "<2 || >=3").unwrap());
        assert!(satisfies("dev-main", "*").unwrap());
        assert!(!satisfies("dev-main", ">=0").unwrap());
        assert!(satisfies("dev-main", "dev-main").unwrap());
        assert!(satisfies("1.0.0-beta", ">=1.0@beta").unwrap());
        assert!(satisfies("1", "~>1").is_err());
        assert!(satisfies("1", "foo").is_err());
    }

    #[test]
    fn splits() {
        assert_eq!(split_and(">=1.0 <2.0"), vec![">=1.0", "<2.0"]);
        assert_eq!(split_and(">= 1.0"), vec![">= 1.0"]);
        assert_eq!(split_and("1.0 - 2.0"), vec!["1.0 - 2.0"]);
        assert_eq!(split_and("1.0 , 2.0"), vec!["1.0", "2.0"]);
        assert_eq!(split_or("1 || 2|3"), vec!["1", "2", "3"]);
    }
}
