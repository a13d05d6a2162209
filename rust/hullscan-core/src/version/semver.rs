//! SemVer 2.0 (npm, crates.io), with node-semver's parsing and range semantics.
//!
//! Versions: `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` as node-semver parses them by default:
//! surrounding JavaScript whitespace and one leading `v` are accepted, at most 256 characters,
//! MAJOR/MINOR/PATCH at most 2^53 - 1, no leading zeros in numeric identifiers. Build metadata
//! is ignored. [`key_loose`] is node-semver's `loose` option (`=`/`v`/spaces in front, leading
//! zeros, `1.2.3beta`).
//!
//! Order: MAJOR, MINOR, PATCH by value; a pre-release sorts before its release; pre-release
//! identifiers compare left to right, numeric ones by value and below alphanumeric ones (ASCII
//! order), and a shorter list sorts first when it is a prefix. node-semver turns all-digit
//! identifiers into JavaScript numbers, so two beyond 2^53 that round to the same double are
//! equal there; hullscan compares them exactly.
//!
//! Ranges: node-semver's `Range` (`^`, `~`, `x`-ranges, hyphen ranges, `||`, comparator sets)
//! as of node-semver 7.8.5 (the version its test fixtures in the vectors describe), reproduced
//! step by step: the range string goes through the same rewrites (hyphen range,
//! comparator/tilde/caret trimming, caret, tilde, x-range and star replacement) with the same
//! patterns, run by the small backtracking matcher in `re`, so odd inputs are read the way
//! node-semver reads them. [`satisfies_with`] takes the `loose` and `includePrerelease` options.
//!
//! Where hullscan differs on purpose: an invalid version or range is an error (node-semver's
//! `satisfies` answers `false`); ranges longer than 1024 characters are refused (node-semver has
//! no limit; the rewrites are quadratic at worst); numeric pre-release identifiers compare exactly
//! beyond 2^53.

use super::push_number;
use std::cmp::Ordering;
use std::sync::OnceLock;

/// node-semver's `Number.MAX_SAFE_INTEGER` limit on MAJOR, MINOR and PATCH.
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;
/// node-semver's limit on the length of a version string.
const MAX_LENGTH: usize = 256;
/// hullscan's limit on the length of a range (node-semver has none): ranges are rewritten with
/// backtracking patterns, quadratic in the worst case.
const MAX_RANGE_LENGTH: usize = 1024;

/// node-semver's options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `loose`: accept `=1.2.3`, `v 1.2.3`, `01.02.03`, `1.2.3beta`, ...
    pub loose: bool,
    /// `includePrerelease`: ranges match pre-releases of any version, not only of versions that
    /// a comparator names with a pre-release.
    pub include_prerelease: bool,
}

/// The order-preserving key of `version` (node-semver's default, strict parsing).
///
/// # Errors
/// Why `version` is not a SemVer version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    SemVer::parse(version, false)?.key()
}

/// The order-preserving key of `version` parsed with node-semver's `loose` option.
///
/// # Errors
/// Why `version` is not a (loose) SemVer version.
pub fn key_loose(version: &str) -> Result<Vec<u8>, String> {
    SemVer::parse(version, true)?.key()
}

/// Whether `version` satisfies the npm range `range`, with node-semver's default options.
///
/// # Errors
/// When the version or the range is invalid (node-semver's `satisfies` answers `false` there).
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    satisfies_with(version, range, Options::default())
}

/// Whether `version` satisfies the npm range `range` under `options`.
///
/// # Errors
/// When the version or the range is invalid (node-semver's `satisfies` answers `false` there).
pub fn satisfies_with(version: &str, range: &str, options: Options) -> Result<bool, String> {
    let range = Range::parse(range, options)?;
    let v = SemVer::parse(version, options.loose)?;
    Ok(range.test(&v))
}

/// A pre-release identifier: all digits (normalised, compared by value) or anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ident {
    Num(String),
    Str(String),
}

impl Ident {
    pub(crate) fn new(s: &str) -> Ident {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            Ident::Num(s.trim_start_matches('0').to_string())
        } else {
            Ident::Str(s.to_string())
        }
    }
}

/// The key shared by SemVer and Go: three numbers (digit strings), then the pre-release
/// (`0x02` for none, which sorts above any pre-release).
pub(crate) fn encode(
    major: &str,
    minor: &str,
    patch: &str,
    pre: &[Ident],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(16);
    push_number(&mut out, major)?;
    push_number(&mut out, minor)?;
    push_number(&mut out, patch)?;
    if pre.is_empty() {
        out.push(2);
        return Ok(out);
    }
    out.push(1);
    for id in pre {
        match id {
            Ident::Num(n) => {
                out.push(1);
                push_number(&mut out, n)?;
            }
            Ident::Str(s) => {
                out.push(2);
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
        }
    }
    out.push(0);
    Ok(out)
}

/// JavaScript's whitespace (`\s`, `String.prototype.trim`).
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

/// `s.split(/\s+/)` in JavaScript: empty pieces at the ends are kept.
fn js_split_ws(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut in_ws = false;
    for c in s.chars() {
        if is_js_space(c) {
            if !in_ws {
                out.push(String::new());
                in_ws = true;
            }
        } else {
            in_ws = false;
            if let Some(last) = out.last_mut() {
                last.push(c);
            }
        }
    }
    out
}

/// `${+s + 1}` in JavaScript for a digit string: exact up to 2^53, then double arithmetic.
fn js_plus_one(s: &str) -> String {
    let digits = s.trim_start_matches('0');
    if digits.len() <= 15 {
        let n: u64 = digits.parse().unwrap_or(0);
        return (n + 1).to_string();
    }
    let f: f64 = digits.parse().unwrap_or(f64::INFINITY) + 1.0;
    if f.is_infinite() {
        "Infinity".into()
    } else if f < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f:e}").replace('e', "e+")
    }
}

/// A parsed node-semver version (build metadata dropped).
#[derive(Clone, Debug)]
struct SemVer {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Ident>,
}

impl SemVer {
    fn parse(version: &str, loose: bool) -> Result<SemVer, String> {
        if version.encode_utf16().count() > MAX_LENGTH {
            return Err(format!("longer than {MAX_LENGTH} characters"));
        }
        let t = js_trim(version);
        let (major, minor, patch, pre) = if loose {
            let chars: Vec<char> = t.chars().collect();
            let caps = re::full_match(&regexes(true).version, &chars)
                .ok_or("not a SemVer version (loose)")?;
            let g = |i: usize| re::group(&chars, &caps, i);
            (
                g(1).unwrap_or_default(),
                g(2).unwrap_or_default(),
                g(3).unwrap_or_default(),
                g(4),
            )
        } else {
            let p = parse_strict(t).ok_or("not a SemVer version")?;
            (
                p.0.to_string(),
                p.1.to_string(),
                p.2.to_string(),
                p.3.map(str::to_string),
            )
        };
        let num = |s: &str, what: &str| -> Result<u64, String> {
            let d = s.trim_start_matches('0');
            if d.len() > 16 {
                return Err(format!("invalid {what} version"));
            }
            let n: u64 = if d.is_empty() {
                0
            } else {
                d.parse().map_err(|_| "bad number")?
            };
            if n > MAX_SAFE_INTEGER {
                return Err(format!("invalid {what} version"));
            }
            Ok(n)
        };
        Ok(SemVer {
            major: num(&major, "major")?,
            minor: num(&minor, "minor")?,
            patch: num(&patch, "patch")?,
            pre: pre
                .map(|p| p.split('.').map(Ident::new).collect())
                .unwrap_or_default(),
        })
    }

    fn key(&self) -> Result<Vec<u8>, String> {
        encode(
            &self.major.to_string(),
            &self.minor.to_string(),
            &self.patch.to_string(),
            &self.pre,
        )
    }

    fn cmp(&self, other: &SemVer) -> Ordering {
        let main =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if main != Ordering::Equal {
            return main;
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        for (a, b) in self.pre.iter().zip(&other.pre) {
            let o = match (a, b) {
                (Ident::Num(x), Ident::Num(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                (Ident::Num(_), Ident::Str(_)) => Ordering::Less,
                (Ident::Str(_), Ident::Num(_)) => Ordering::Greater,
                (Ident::Str(x), Ident::Str(y)) => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        self.pre.len().cmp(&other.pre.len())
    }

    /// node-semver's `version` string (used for comparator identity).
    fn format(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        for (i, id) in self.pre.iter().enumerate() {
            s.push(if i == 0 { '-' } else { '.' });
            match id {
                Ident::Num(n) if n.is_empty() => s.push('0'),
                Ident::Num(n) | Ident::Str(n) => s.push_str(n),
            }
        }
        s
    }
}

/// The strict grammar: `v?N.N.N(-id(.id)*)?(+bid(.bid)*)?`; numbers and numeric identifiers
/// without leading zeros. Returns major, minor, patch and the pre-release text.
fn parse_strict(t: &str) -> Option<(&str, &str, &str, Option<&str>)> {
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let number = |i: &mut usize| -> Option<&str> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        let d = &t[start..*i];
        let leading_zero = d.len() > 1 && d.starts_with('0');
        (!d.is_empty() && !leading_zero).then_some(d)
    };
    let major = number(&mut i)?;
    (b.get(i) == Some(&b'.')).then_some(())?;
    i += 1;
    let minor = number(&mut i)?;
    (b.get(i) == Some(&b'.')).then_some(())?;
    i += 1;
    let patch = number(&mut i)?;
    let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
    let mut pre = None;
    if b.get(i) == Some(&b'-') {
        i += 1;
        let start = i;
        while i < b.len() && b[i] != b'+' {
            if !(ident_char(b[i]) || b[i] == b'.') {
                return None;
            }
            i += 1;
        }
        let text = &t[start..i];
        for id in text.split('.') {
            let numeric = id.bytes().all(|c| c.is_ascii_digit());
            if id.is_empty() || (numeric && id.len() > 1 && id.starts_with('0')) {
                return None;
            }
        }
        pre = Some(text);
    }
    if b.get(i) == Some(&b'+') {
        let text = &t[i + 1..];
        if text
            .split('.')
            .any(|id| id.is_empty() || !id.bytes().all(ident_char))
        {
            return None;
        }
        i = b.len();
    }
    (i == b.len()).then_some((major, minor, patch, pre))
}

/// A backtracking matcher for the fixed set of JavaScript regular expressions node-semver
/// uses, written in continuation-passing style: a node tries its alternatives in the order a
/// backtracking engine (V8's) does and calls the continuation for each, so the first match found
/// is JavaScript's match, captures included. node-semver's patterns are built to be safe for such
/// engines (bounded `\s`, `\d` and identifier runs), and ranges are length-limited besides.
mod re {
    pub type Class = fn(char) -> bool;
    pub type Caps = [Option<(usize, usize)>; 16];
    type Cont<'a> = &'a mut dyn FnMut(usize, &mut Caps) -> bool;

    pub enum Node {
        Lit(&'static str),
        /// A character class repeated `min..=max` times, greedily.
        Class(Class, usize, usize),
        Seq(Vec<Node>),
        Alt(Vec<Node>),
        Opt(Box<Node>),
        /// `(?:...)*` of a node that never matches the empty string.
        Star(Box<Node>),
        Cap(usize, Box<Node>),
        Start,
        End,
    }

    fn seq(items: &[Node], s: &[char], pos: usize, caps: &mut Caps, k: Cont<'_>) -> bool {
        match items.split_first() {
            None => k(pos, caps),
            Some((first, rest)) => run(first, s, pos, caps, &mut |p, c| seq(rest, s, p, c, k)),
        }
    }

    pub fn run(node: &Node, s: &[char], pos: usize, caps: &mut Caps, k: Cont<'_>) -> bool {
        match node {
            Node::Lit(l) => {
                let mut p = pos;
                for c in l.chars() {
                    if s.get(p) != Some(&c) {
                        return false;
                    }
                    p += 1;
                }
                k(p, caps)
            }
            Node::Class(f, min, max) => {
                let mut n = 0;
                while n < *max && pos + n < s.len() && f(s[pos + n]) {
                    n += 1;
                }
                (*min..=n).rev().any(|j| k(pos + j, caps))
            }
            Node::Seq(items) => seq(items, s, pos, caps, k),
            Node::Alt(alts) => alts.iter().any(|a| run(a, s, pos, caps, k)),
            Node::Opt(n) => run(n, s, pos, caps, k) || k(pos, caps),
            Node::Star(n) => {
                run(n, s, pos, caps, &mut |p, c| {
                    p > pos && run(node, s, p, c, k)
                }) || k(pos, caps)
            }
            Node::Cap(i, n) => run(n, s, pos, caps, &mut |p, c| {
                let old = c[*i];
                c[*i] = Some((pos, p));
                if k(p, c) {
                    true
                } else {
                    c[*i] = old;
                    false
                }
            }),
            Node::Start => pos == 0 && k(pos, caps),
            Node::End => pos == s.len() && k(pos, caps),
        }
    }

    /// The first match starting at `start`: (end, captures).
    fn at(node: &Node, s: &[char], start: usize) -> Option<(usize, Caps)> {
        let mut found = None;
        let mut caps = [None; 16];
        run(node, s, start, &mut caps, &mut |e, c| {
            found = Some((e, *c));
            true
        });
        found
    }

    /// The first match at or after `from`: (start, end, captures).
    pub fn find(node: &Node, s: &[char], from: usize) -> Option<(usize, usize, Caps)> {
        (from..=s.len()).find_map(|start| at(node, s, start).map(|(e, c)| (start, e, c)))
    }

    /// The match of a pattern anchored with `Start` and `End`.
    pub fn full_match(node: &Node, s: &[char]) -> Option<Caps> {
        at(node, s, 0).map(|(_, c)| c)
    }

    pub fn group(s: &[char], caps: &Caps, i: usize) -> Option<String> {
        caps[i].map(|(a, b)| s[a..b].iter().collect())
    }

    /// `s.replace(re, f)`: the first match only, or every match (`global`), as JavaScript does.
    pub fn replace(
        node: &Node,
        s: &str,
        global: bool,
        f: impl Fn(&[char], &Caps) -> String,
    ) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::new();
        let mut last = 0;
        let mut from = 0;
        while from <= chars.len() {
            let Some((start, end, caps)) = find(node, &chars, from) else {
                break;
            };
            out.extend(&chars[last..start]);
            out.push_str(&f(&chars, &caps));
            last = end;
            from = if end == start { end + 1 } else { end };
            if !global {
                break;
            }
        }
        out.extend(&chars[last.min(chars.len())..]);
        out
    }
}

use re::Node;

/// Builds node-semver's patterns (the "safe" variants it matches with: `\s*` is `\s{0,1}`,
/// `\s+` is `\s{1,1}`, `\d*`/`\d+` at most 256 digits, identifier runs at most 250 characters),
/// numbering capture groups in source order like JavaScript.
struct Builder {
    groups: usize,
    loose: bool,
}

fn digit(c: char) -> bool {
    c.is_ascii_digit()
}
fn nonzero(c: char) -> bool {
    matches!(c, '1'..='9')
}
fn letter_dash(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '-'
}
fn ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}
fn v_eq_space(c: char) -> bool {
    c == 'v' || c == '=' || is_js_space(c)
}

fn lit(s: &'static str) -> Node {
    Node::Lit(s)
}
fn seq(v: Vec<Node>) -> Node {
    Node::Seq(v)
}
fn alt(v: Vec<Node>) -> Node {
    Node::Alt(v)
}
fn opt(n: Node) -> Node {
    Node::Opt(Box::new(n))
}
fn star(n: Node) -> Node {
    Node::Star(Box::new(n))
}
fn class(f: re::Class, min: usize, max: usize) -> Node {
    Node::Class(f, min, max)
}
fn space(min: usize, max: usize) -> Node {
    class(is_js_space, min, max)
}

impl Builder {
    fn new(loose: bool) -> Builder {
        Builder { groups: 0, loose }
    }
    fn cap(&mut self, f: impl FnOnce(&mut Builder) -> Node) -> Node {
        self.groups += 1;
        let i = self.groups;
        Node::Cap(i, Box::new(f(self)))
    }
    /// `0|[1-9]\d*`
    fn numid() -> Node {
        alt(vec![
            lit("0"),
            seq(vec![class(nonzero, 1, 1), class(digit, 0, 256)]),
        ])
    }
    /// `\d+`
    fn numid_loose() -> Node {
        class(digit, 1, 256)
    }
    /// `\d*[a-zA-Z-][a-zA-Z0-9-]*`
    fn nonnumid() -> Node {
        seq(vec![
            class(digit, 0, 256),
            class(letter_dash, 1, 1),
            class(ident, 0, 250),
        ])
    }
    fn mainversion(&mut self, loose: bool) -> Node {
        let n = |_: &mut Builder| {
            if loose {
                Self::numid_loose()
            } else {
                Self::numid()
            }
        };
        let a = self.cap(n);
        let b = self.cap(n);
        let c = self.cap(n);
        seq(vec![a, lit("."), b, lit("."), c])
    }
    fn prerelease(&mut self, loose: bool) -> Node {
        let id = || {
            if loose {
                alt(vec![Self::nonnumid(), Self::numid_loose()])
            } else {
                alt(vec![Self::nonnumid(), Self::numid()])
            }
        };
        let body = self.cap(|_| seq(vec![id(), star(seq(vec![lit("."), id()]))]));
        if loose {
            seq(vec![opt(lit("-")), body])
        } else {
            seq(vec![lit("-"), body])
        }
    }
    fn build(&mut self) -> Node {
        let bid = || class(ident, 1, 250);
        let body = self.cap(|_| seq(vec![bid(), star(seq(vec![lit("."), bid()]))]));
        seq(vec![lit("+"), body])
    }
    fn fullplain(&mut self) -> Node {
        let m = self.mainversion(false);
        let p = self.prerelease(false);
        let b = self.build();
        seq(vec![opt(lit("v")), m, opt(p), opt(b)])
    }
    fn looseplain(&mut self) -> Node {
        let m = self.mainversion(true);
        let p = self.prerelease(true);
        let b = self.build();
        seq(vec![class(v_eq_space, 0, usize::MAX), m, opt(p), opt(b)])
    }
    /// `((?:<|>)?=?)`
    fn gtlt(&mut self) -> Node {
        self.cap(|_| seq(vec![opt(alt(vec![lit("<"), lit(">")])), opt(lit("="))]))
    }
    fn xrid(loose: bool) -> Node {
        let n = if loose {
            Self::numid_loose()
        } else {
            Self::numid()
        };
        alt(vec![n, lit("x"), lit("X"), lit("*")])
    }
    fn xrangeplain(&mut self, loose: bool) -> Node {
        let major = self.cap(|_| Self::xrid(loose));
        let minor = self.cap(|_| Self::xrid(loose));
        let patch = self.cap(|_| Self::xrid(loose));
        let pre = self.prerelease(loose);
        let build = self.build();
        seq(vec![
            class(v_eq_space, 0, usize::MAX),
            major,
            opt(seq(vec![
                lit("."),
                minor,
                opt(seq(vec![lit("."), patch, opt(pre), opt(build)])),
            ])),
        ])
    }
    fn plain(&mut self) -> Node {
        if self.loose {
            self.looseplain()
        } else {
            self.fullplain()
        }
    }
}

/// The compiled patterns for one `loose` setting.
struct Regexes {
    /// `FULL` / `LOOSE`
    version: Node,
    comparator: Node,
    comparator_trim: Node,
    tilde_trim: Node,
    caret_trim: Node,
    hyphen: Node,
    caret: Node,
    tilde: Node,
    xrange: Node,
    star: Node,
    gte0: Node,
    gte0_pre: Node,
    build: Node,
}

fn compile(loose: bool) -> Regexes {
    let fresh = || Builder::new(loose);
    let lx = loose;
    Regexes {
        version: {
            let mut b = fresh();
            seq(vec![Node::Start, b.plain(), Node::End])
        },
        comparator: {
            let mut b = fresh();
            let g = b.gtlt();
            let v = b.cap(Builder::plain);
            alt(vec![
                seq(vec![Node::Start, g, space(0, 1), v, Node::End]),
                seq(vec![Node::Start, Node::End]),
            ])
        },
        comparator_trim: {
            let mut b = fresh();
            let s = b.cap(|_| space(0, 1));
            let g = b.gtlt();
            let v = b.cap(|b| {
                let l = b.looseplain();
                let x = b.xrangeplain(false);
                alt(vec![l, x])
            });
            seq(vec![s, g, space(0, 1), v])
        },
        tilde_trim: {
            let mut b = fresh();
            let s = b.cap(|_| space(0, 1));
            seq(vec![s, lit("~"), opt(lit(">")), space(1, 1)])
        },
        caret_trim: {
            let mut b = fresh();
            let s = b.cap(|_| space(0, 1));
            seq(vec![s, lit("^"), space(1, 1)])
        },
        hyphen: {
            let mut b = fresh();
            let from = b.cap(|b| b.xrangeplain(lx));
            let to = b.cap(|b| b.xrangeplain(lx));
            seq(vec![
                Node::Start,
                space(0, 1),
                from,
                space(1, 1),
                lit("-"),
                space(1, 1),
                to,
                space(0, 1),
                Node::End,
            ])
        },
        caret: {
            let mut b = fresh();
            seq(vec![Node::Start, lit("^"), b.xrangeplain(lx), Node::End])
        },
        tilde: {
            let mut b = fresh();
            seq(vec![
                Node::Start,
                lit("~"),
                opt(lit(">")),
                b.xrangeplain(lx),
                Node::End,
            ])
        },
        xrange: {
            let mut b = fresh();
            let g = b.gtlt();
            seq(vec![
                Node::Start,
                g,
                space(0, 1),
                b.xrangeplain(lx),
                Node::End,
            ])
        },
        star: {
            let mut b = fresh();
            let g = b.cap(|_| alt(vec![lit("<"), lit(">")]));
            seq(vec![opt(g), opt(lit("=")), space(0, 1), lit("*")])
        },
        gte0: seq(vec![
            Node::Start,
            space(0, 1),
            lit(">="),
            space(0, 1),
            lit("0.0.0"),
            space(0, 1),
            Node::End,
        ]),
        gte0_pre: seq(vec![
            Node::Start,
            space(0, 1),
            lit(">="),
            space(0, 1),
            lit("0.0.0-0"),
            space(0, 1),
            Node::End,
        ]),
        build: {
            let mut b = fresh();
            b.build()
        },
    }
}

fn regexes(loose: bool) -> &'static Regexes {
    static STRICT: OnceLock<Regexes> = OnceLock::new();
    static LOOSE: OnceLock<Regexes> = OnceLock::new();
    if loose {
        LOOSE.get_or_init(|| compile(true))
    } else {
        STRICT.get_or_init(|| compile(false))
    }
}

/// node-semver's `isX`: a missing part, `x`, `X` or `*`.
fn is_x(id: Option<&str>) -> bool {
    match id {
        None | Some("") => true,
        Some(s) => s.eq_ignore_ascii_case("x") || s == "*",
    }
}

#[derive(Clone, Debug)]
struct Comparator {
    op: &'static str,
    /// `None` is node-semver's `ANY` (the empty comparator).
    semver: Option<SemVer>,
    value: String,
}

impl Comparator {
    fn parse(comp: &str, options: Options) -> Result<Comparator, String> {
        let comp = js_split_ws(js_trim(comp)).join(" ");
        let chars: Vec<char> = comp.chars().collect();
        let caps = re::full_match(&regexes(options.loose).comparator, &chars)
            .ok_or_else(|| format!("invalid comparator {comp:?}"))?;
        let op = match re::group(&chars, &caps, 1).as_deref() {
            Some("<") => "<",
            Some(">") => ">",
            Some("<=") => "<=",
            Some(">=") => ">=",
            _ => "",
        };
        match re::group(&chars, &caps, 2) {
            Some(v) if !v.is_empty() => {
                let semver = SemVer::parse(&v, options.loose)?;
                let value = format!("{op}{}", semver.format());
                Ok(Comparator {
                    op,
                    semver: Some(semver),
                    value,
                })
            }
            _ => Ok(Comparator {
                op,
                semver: None,
                value: String::new(),
            }),
        }
    }

    fn test(&self, v: &SemVer) -> bool {
        let Some(s) = &self.semver else {
            return true;
        };
        let o = v.cmp(s);
        match self.op {
            "<" => o == Ordering::Less,
            ">" => o == Ordering::Greater,
            "<=" => o != Ordering::Greater,
            ">=" => o != Ordering::Less,
            _ => o == Ordering::Equal,
        }
    }

    fn is_null_set(&self) -> bool {
        self.value == "<0.0.0-0"
    }
}

/// A parsed range: comparator sets joined by `||`.
struct Range {
    set: Vec<Vec<Comparator>>,
    options: Options,
}

impl Range {
    fn parse(range: &str, options: Options) -> Result<Range, String> {
        if range.chars().count() > MAX_RANGE_LENGTH {
            return Err(format!("range longer than {MAX_RANGE_LENGTH} characters"));
        }
        let raw = js_split_ws(js_trim(range)).join(" ");
        let mut set = Vec::new();
        for part in raw.split("||") {
            let comps = parse_range(js_trim(part), options)?;
            if !comps.is_empty() {
                set.push(comps);
            }
        }
        if set.is_empty() {
            return Err(format!("invalid range {range:?}"));
        }
        if set.len() > 1 {
            let first = set[0].clone();
            set.retain(|c| !c[0].is_null_set());
            if set.is_empty() {
                set = vec![first];
            } else if set.len() > 1 {
                if let Some(any) = set.iter().find(|c| c.len() == 1 && c[0].value.is_empty()) {
                    set = vec![any.clone()];
                }
            }
        }
        Ok(Range { set, options })
    }

    fn test(&self, v: &SemVer) -> bool {
        self.set
            .iter()
            .any(|comps| test_set(comps, v, self.options))
    }
}

fn test_set(comps: &[Comparator], v: &SemVer, options: Options) -> bool {
    if !comps.iter().all(|c| c.test(v)) {
        return false;
    }
    if !v.pre.is_empty() && !options.include_prerelease {
        // a pre-release only matches when some comparator names a pre-release of the same
        // MAJOR.MINOR.PATCH
        return comps.iter().any(|c| {
            c.semver.as_ref().is_some_and(|s| {
                !s.pre.is_empty() && (s.major, s.minor, s.patch) == (v.major, v.minor, v.patch)
            })
        });
    }
    true
}

/// One `||` alternative, through node-semver's rewrites, into comparators.
fn parse_range(range: &str, options: Options) -> Result<Vec<Comparator>, String> {
    let rx = regexes(options.loose);
    let inc_pr = options.include_prerelease;
    let mut range = re::replace(&rx.hyphen, range, false, |s, c| {
        hyphen_replace(s, c, inc_pr)
    });
    range = re::replace(&rx.comparator_trim, &range, true, |s, c| {
        let g = |i| re::group(s, c, i).unwrap_or_default();
        format!("{}{}{}", g(1), g(2), g(3))
    });
    range = re::replace(&rx.tilde_trim, &range, true, |s, c| {
        format!("{}~", re::group(s, c, 1).unwrap_or_default())
    });
    range = re::replace(&rx.caret_trim, &range, true, |s, c| {
        format!("{}^", re::group(s, c, 1).unwrap_or_default())
    });
    let joined = range
        .split(' ')
        .map(|c| parse_comparator(c, options))
        .collect::<Vec<_>>()
        .join(" ");
    let mut list: Vec<String> = js_split_ws(&joined)
        .into_iter()
        .map(|c| {
            let gte0 = if inc_pr { &rx.gte0_pre } else { &rx.gte0 };
            re::replace(gte0, js_trim(&c), false, |_, _| String::new())
        })
        .collect();
    if options.loose {
        list.retain(|c| {
            let chars: Vec<char> = c.chars().collect();
            re::full_match(&rx.comparator, &chars).is_some()
        });
    }
    let mut out: Vec<Comparator> = Vec::new();
    for c in &list {
        let comp = Comparator::parse(c, options)?;
        if comp.is_null_set() {
            return Ok(vec![comp]);
        }
        match out.iter_mut().find(|x| x.value == comp.value) {
            Some(slot) => *slot = comp,
            None => out.push(comp),
        }
    }
    if out.len() > 1 {
        out.retain(|c| !c.value.is_empty());
    }
    Ok(out)
}

fn parse_comparator(comp: &str, options: Options) -> String {
    let rx = regexes(options.loose);
    let comp = re::replace(&rx.build, comp, false, |_, _| String::new());
    let comp = js_split_ws(js_trim(&comp))
        .iter()
        .map(|c| replace_caret(c, options))
        .collect::<Vec<_>>()
        .join(" ");
    let comp = js_split_ws(js_trim(&comp))
        .iter()
        .map(|c| replace_tilde(c, options))
        .collect::<Vec<_>>()
        .join(" ");
    let comp = js_split_ws(&comp)
        .iter()
        .map(|c| replace_xrange(c, options))
        .collect::<Vec<_>>()
        .join(" ");
    re::replace(&rx.star, js_trim(&comp), false, |_, _| String::new())
}

fn replace_caret(comp: &str, options: Options) -> String {
    let z = if options.include_prerelease { "-0" } else { "" };
    re::replace(&regexes(options.loose).caret, comp, false, |s, c| {
        let g = |i| re::group(s, c, i);
        let (mj, mn, pt, pr) = (g(1), g(2), g(3), g(4));
        let mjs = mj.clone().unwrap_or_default();
        let mns = mn.clone().unwrap_or_default();
        let pts = pt.clone().unwrap_or_default();
        if is_x(mj.as_deref()) {
            String::new()
        } else if is_x(mn.as_deref()) {
            format!(">={mjs}.0.0{z} <{}.0.0-0", js_plus_one(&mjs))
        } else if is_x(pt.as_deref()) {
            if mjs == "0" {
                format!(">={mjs}.{mns}.0{z} <{mjs}.{}.0-0", js_plus_one(&mns))
            } else {
                format!(">={mjs}.{mns}.0{z} <{}.0.0-0", js_plus_one(&mjs))
            }
        } else if let Some(pr) = pr.filter(|p| !p.is_empty()) {
            if mjs == "0" {
                if mns == "0" {
                    format!(
                        ">={mjs}.{mns}.{pts}-{pr} <{mjs}.{mns}.{}-0",
                        js_plus_one(&pts)
                    )
                } else {
                    format!(">={mjs}.{mns}.{pts}-{pr} <{mjs}.{}.0-0", js_plus_one(&mns))
                }
            } else {
                format!(">={mjs}.{mns}.{pts}-{pr} <{}.0.0-0", js_plus_one(&mjs))
            }
        } else if mjs == "0" {
            // exact 0.x carets keep their release lower bound (node-semver 7.8.4, #872)
            if mns == "0" {
                format!(">={mjs}.{mns}.{pts} <{mjs}.{mns}.{}-0", js_plus_one(&pts))
            } else {
                format!(">={mjs}.{mns}.{pts} <{mjs}.{}.0-0", js_plus_one(&mns))
            }
        } else {
            format!(">={mjs}.{mns}.{pts} <{}.0.0-0", js_plus_one(&mjs))
        }
    })
}

fn replace_tilde(comp: &str, options: Options) -> String {
    // open tildes start at `-0` with includePrerelease (node-semver 7.8.5, #878)
    let z = if options.include_prerelease { "-0" } else { "" };
    re::replace(&regexes(options.loose).tilde, comp, false, |s, c| {
        let g = |i| re::group(s, c, i);
        let (mj, mn, pt, pr) = (g(1), g(2), g(3), g(4));
        let mjs = mj.clone().unwrap_or_default();
        let mns = mn.clone().unwrap_or_default();
        let pts = pt.clone().unwrap_or_default();
        if is_x(mj.as_deref()) {
            String::new()
        } else if is_x(mn.as_deref()) {
            format!(">={mjs}.0.0{z} <{}.0.0-0", js_plus_one(&mjs))
        } else if is_x(pt.as_deref()) {
            format!(">={mjs}.{mns}.0{z} <{mjs}.{}.0-0", js_plus_one(&mns))
        } else if let Some(pr) = pr.filter(|p| !p.is_empty()) {
            format!(">={mjs}.{mns}.{pts}-{pr} <{mjs}.{}.0-0", js_plus_one(&mns))
        } else {
            format!(">={mjs}.{mns}.{pts} <{mjs}.{}.0-0", js_plus_one(&mns))
        }
    })
}

fn replace_xrange(comp: &str, options: Options) -> String {
    let comp = js_trim(comp);
    re::replace(&regexes(options.loose).xrange, comp, false, |s, c| {
        let whole: String = s.iter().collect();
        let g = |i| re::group(s, c, i);
        let mut gtlt = g(1).unwrap_or_default();
        let (mj, mn, pt) = (g(2), g(3), g(4));
        // a number after an x (`1.x.5`, `x.1`) is left for the comparator to reject
        // (node-semver 7.8.4, #874)
        let present: Vec<&String> = [&mj, &mn, &pt].into_iter().flatten().collect();
        if let Some(first_x) = present.iter().position(|p| is_x(Some(p))) {
            if present[first_x..].iter().any(|p| !is_x(Some(p))) {
                return whole;
            }
        }
        let x_major = is_x(mj.as_deref());
        let x_minor = x_major || is_x(mn.as_deref());
        let x_patch = x_minor || is_x(pt.as_deref());
        let any_x = x_patch;
        if gtlt == "=" && any_x {
            gtlt = String::new();
        }
        let mut pr = if options.include_prerelease { "-0" } else { "" };
        let mut major = mj.unwrap_or_default();
        let mut minor = mn.unwrap_or_default();
        if x_major {
            if gtlt == ">" || gtlt == "<" {
                "<0.0.0-0".to_string()
            } else {
                "*".to_string()
            }
        } else if !gtlt.is_empty() && any_x {
            if x_minor {
                minor = "0".into();
            }
            let patch = "0";
            if gtlt == ">" {
                gtlt = ">=".into();
                if x_minor {
                    major = js_plus_one(&major);
                    minor = "0".into();
                } else {
                    minor = js_plus_one(&minor);
                }
            } else if gtlt == "<=" {
                gtlt = "<".into();
                if x_minor {
                    major = js_plus_one(&major);
                } else {
                    minor = js_plus_one(&minor);
                }
            }
            if gtlt == "<" {
                pr = "-0";
            }
            format!("{gtlt}{major}.{minor}.{patch}{pr}")
        } else if x_minor {
            format!(">={major}.0.0{pr} <{}.0.0-0", js_plus_one(&major))
        } else if x_patch {
            format!(
                ">={major}.{minor}.0{pr} <{major}.{}.0-0",
                js_plus_one(&minor)
            )
        } else {
            whole
        }
    })
}

fn hyphen_replace(s: &[char], c: &re::Caps, inc_pr: bool) -> String {
    let g = |i| re::group(s, c, i);
    let (from, fmj, fmn, fpt, fpr) = (g(1), g(2), g(3), g(4), g(5));
    let (to, tmj, tmn, tpt, tpr) = (g(7), g(8), g(9), g(10), g(11));
    let z = if inc_pr { "-0" } else { "" };
    let d = |o: &Option<String>| o.clone().unwrap_or_default();
    let from = if is_x(fmj.as_deref()) {
        String::new()
    } else if is_x(fmn.as_deref()) {
        format!(">={}.0.0{z}", d(&fmj))
    } else if is_x(fpt.as_deref()) {
        format!(">={}.{}.0{z}", d(&fmj), d(&fmn))
    } else if fpr.as_deref().is_some_and(|p| !p.is_empty()) {
        format!(">={}", d(&from))
    } else {
        format!(">={}{z}", d(&from))
    };
    let to = if is_x(tmj.as_deref()) {
        String::new()
    } else if is_x(tmn.as_deref()) {
        format!("<{}.0.0-0", js_plus_one(&d(&tmj)))
    } else if is_x(tpt.as_deref()) {
        format!("<{}.{}.0-0", d(&tmj), js_plus_one(&d(&tmn)))
    } else if tpr.as_deref().is_some_and(|p| !p.is_empty()) {
        format!("<={}.{}.{}-{}", d(&tmj), d(&tmn), d(&tpt), d(&tpr))
    } else if inc_pr {
        format!("<{}.{}.{}-0", d(&tmj), d(&tmn), js_plus_one(&d(&tpt)))
    } else {
        format!("<={}", d(&to))
    };
    format!("{from} {to}").trim_matches(is_js_space).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: &str) -> Vec<u8> {
        key(v).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn order() {
        let seq = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
            "2.0.0",
        ];
        for w in seq.windows(2) {
            assert!(k(w[0]) < k(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(k("1.2.3+a"), k(" v1.2.3+b "));
    }

    #[test]
    fn invalid() {
        for v in [
            "1.2",
            "01.2.3",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "=1.2.3",
            "9007199254740992.0.0",
        ] {
            assert!(key(v).is_err(), "{v}");
        }
        assert_eq!(key_loose("=01.02.03").ok(), key("1.2.3").ok());
        assert_eq!(key_loose("1.2.3beta").ok(), key("1.2.3-beta").ok());
    }

    /// The hand-written strict parser agrees with node-semver's FULL pattern.
    #[test]
    fn strict_parser_matches_pattern() {
        let alphabet = ['0', '1', '9', '.', '-', '+', 'a', 'Z', 'v', ' '];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 14) as usize;
            let mut s = String::new();
            let mut x = seed;
            for _ in 0..len {
                s.push(alphabet[(x % alphabet.len() as u64) as usize]);
                x /= alphabet.len() as u64;
                if x == 0 {
                    x = seed.rotate_left(17);
                }
            }
            // bias towards almost-valid strings
            let s = if seed & 3 == 0 { format!("1.2.{s}") } else { s };
            let chars: Vec<char> = s.chars().collect();
            let by_pattern = re::full_match(&regexes(false).version, &chars).is_some();
            assert_eq!(parse_strict(&s).is_some(), by_pattern, "{s:?}");
        }
    }

    #[test]
    fn ranges() {
        let yes = |v: &str, r: &str| satisfies(v, r).unwrap_or_else(|e| panic!("{v} {r}: {e}"));
        assert!(yes("1.2.3", "^1.2.0"));
        assert!(!yes("2.0.0", "^1.2.0"));
        assert!(yes("1.2.9", "~1.2.3"));
        assert!(yes("1.5.0", "1.0.0 - 2.0.0"));
        assert!(yes("1.2.3", ">= 1.2.3 < 2"));
        assert!(!yes("1.3.0-beta", ">1.2"));
        assert!(satisfies("1.2.3", "blerg").is_err());
        assert!(satisfies("glorp", "*").is_err());
        assert!(satisfies("1.0.5", "1.x.5").is_err());
        assert!(satisfies("1.0.5", "x.1").is_err());
        assert!(yes("1.0.5", "1.x || x"));
    }
}
