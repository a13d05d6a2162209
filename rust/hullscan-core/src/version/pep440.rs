//! PEP 440 versions (PyPI), with the ordering and the specifier semantics of `packaging` 26.
//!
//! Parsing follows `packaging.version.Version`: surrounding (Unicode) whitespace, an optional
//! `v`, an epoch `N!`, a release `N(.N)*`, then optional pre (`a`/`alpha`, `b`/`beta`,
//! `c`/`rc`/`pre`/`preview`), post (`-N`, `post`/`rev`/`r`) and dev segments, each with optional
//! `.`/`_`/`-` separators and an implicit 0, letters in any ASCII case; then a local version
//! `+seg(.seg)*`. The grammar is deterministic (packaging's regex only uses possessive
//! quantifiers), so a left-to-right parser accepts exactly the same strings.
//!
//! Order: epoch, release with trailing zeros ignored, then a six-part suffix (pre rank with
//! dev-only releases below `a`, pre number, post presence, post number, dev presence (present is
//! lower), dev number), then the local version: none < any; numeric segments compare by value
//! and sort above alphanumeric ones; a shorter local sorts first when it is a prefix.
//!
//! Numbers compare by value (any number of leading zeros); numbers with more than 255
//! significant digits are rejected.

use super::push_number;

/// The order-preserving key of `version`.
///
/// # Errors
/// Why `version` is not a PEP 440 version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    parse(version)?.key()
}

/// Whether `version` satisfies the PEP 440 specifier set `range` (`>=1.0,!=1.3.*,<2`), with
/// pre-releases allowed, as `packaging.specifiers.SpecifierSet(range).contains(version,
/// prereleases=True)`.
///
/// `===` compares strings (case-insensitively), so with `===` in the set `version` need not be a
/// valid version. Without it, an invalid `version` is an error (packaging answers `False`); an
/// empty set matches every valid version.
///
/// # Errors
/// When `range` is not a specifier set, or `version` is not a version and the set has no `===`.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let specs = parse_specifier_set(range)?;
    let has_arbitrary = range.contains("===");
    let parsed = parse(version);
    if !has_arbitrary {
        let v = parsed?;
        for s in &specs {
            if !s.contains(&v)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    // With `===` in the set packaging keeps the raw string and checks every specifier on it:
    // `===` by string, the others only when it parses.
    for s in &specs {
        let ok = match &s.kind {
            Kind::Arbitrary(text) => py_lower(version) == py_lower(text),
            _ => match &parsed {
                Ok(v) => s.contains(v)?,
                Err(_) => false,
            },
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Python's `str.isspace()` set, which is what `\s` and `str.strip()` use in packaging.
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn py_lower(s: &str) -> String {
    s.to_lowercase()
}

/// A number as its significant digits ("" is zero).
fn norm(digits: &str) -> String {
    digits.trim_start_matches('0').to_string()
}

/// `n + 1` for a normalised digit string.
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

#[derive(Clone, Debug, PartialEq, Eq)]
enum Local {
    Num(String),
    Str(String),
}

/// A parsed version; numbers are normalised digit strings.
#[derive(Clone, Debug)]
struct Version {
    epoch: String,
    release: Vec<String>,
    /// (0 = a, 1 = b, 2 = rc, number)
    pre: Option<(u8, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Option<Vec<Local>>,
}

impl Version {
    fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The release without trailing zeros.
    fn trimmed_release(&self) -> &[String] {
        let mut n = self.release.len();
        while n > 0 && self.release[n - 1].is_empty() {
            n -= 1;
        }
        &self.release[..n]
    }

    /// Epoch, trimmed release, pre rank and pre number: the part of the key that `>V` compares.
    fn push_prefix(&self, out: &mut Vec<u8>) -> Result<(), String> {
        push_number(out, &self.epoch)?;
        for r in self.trimmed_release() {
            out.push(1);
            push_number(out, r)?;
        }
        out.push(0);
        let (rank, n) = match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => (0, ""),
            (Some((letter, n)), _, _) => (letter + 1, n.as_str()),
            (None, _, _) => (4, ""),
        };
        out.push(rank);
        push_number(out, n)
    }

    fn public_key(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(16);
        self.push_prefix(&mut out)?;
        match &self.post {
            None => {
                out.push(0);
                out.push(0);
            }
            Some(n) => {
                out.push(1);
                push_number(&mut out, n)?;
            }
        }
        match &self.dev {
            Some(n) => {
                out.push(0);
                push_number(&mut out, n)?;
            }
            None => {
                out.push(1);
                out.push(0);
            }
        }
        Ok(out)
    }

    fn key(&self) -> Result<Vec<u8>, String> {
        let mut out = self.public_key()?;
        match &self.local {
            None => out.push(0),
            Some(segs) => {
                out.push(1);
                for s in segs {
                    match s {
                        Local::Str(t) => {
                            out.push(1);
                            out.extend_from_slice(t.as_bytes());
                            out.push(0);
                        }
                        Local::Num(n) => {
                            out.push(2);
                            push_number(&mut out, n)?;
                        }
                    }
                }
                out.push(0);
            }
        }
        Ok(out)
    }

    fn prefix_key(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.push_prefix(&mut out)?;
        Ok(out)
    }

    /// A version of this epoch and `release` with only `.dev0`.
    fn dev0(&self, release: Vec<String>) -> Version {
        Version {
            epoch: self.epoch.clone(),
            release,
            pre: None,
            post: None,
            dev: Some(String::new()),
            local: None,
        }
    }
}

/// A cursor over the ASCII bytes of a version, with packaging's pieces as methods. Every piece
/// either matches and advances or leaves the position unchanged (possessive groups).
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    /// A non-empty run of bytes of a class.
    fn run(&mut self, f: fn(&u8) -> bool) -> Option<&'a str> {
        let b: &'a [u8] = self.b;
        let start = self.i;
        while b.get(self.i).is_some_and(f) {
            self.i += 1;
        }
        if self.i == start {
            None
        } else {
            std::str::from_utf8(&b[start..self.i]).ok()
        }
    }
    fn digits(&mut self) -> Option<&'a str> {
        self.run(u8::is_ascii_digit)
    }
    fn sep(&mut self) {
        if matches!(self.peek(), Some(b'.' | b'_' | b'-')) {
            self.i += 1;
        }
    }
    /// The first of `words` (in order) that the input continues with, ASCII case-insensitively.
    fn word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let rest = &self.b[self.i..];
        for w in words {
            if rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes()) {
                self.i += w.len();
                return Some(w);
            }
        }
        None
    }
}

/// The public version grammar (release and pre/post/dev, no local) from the cursor position.
fn parse_public(c: &mut Cursor<'_>) -> Result<Version, String> {
    // epoch
    let save = c.i;
    let mut epoch = String::new();
    if let Some(d) = c.digits() {
        if c.peek() == Some(b'!') {
            epoch = norm(d);
            c.i += 1;
        } else {
            c.i = save;
        }
    }
    // release
    let mut release = vec![norm(c.digits().ok_or("no release number")?)];
    loop {
        let save = c.i;
        if c.peek() == Some(b'.') {
            c.i += 1;
            if let Some(d) = c.digits() {
                release.push(norm(d));
                continue;
            }
        }
        c.i = save;
        break;
    }
    // pre-release
    let save = c.i;
    c.sep();
    let pre = match c.word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]) {
        Some(w) => {
            c.sep();
            let n = c.digits().map(norm).unwrap_or_default();
            let letter = match w {
                "alpha" | "a" => 0,
                "beta" | "b" => 1,
                _ => 2,
            };
            Some((letter, n))
        }
        None => {
            c.i = save;
            None
        }
    };
    // post-release: `-N`, or `[sep](post|rev|r)[sep][N]`
    let save = c.i;
    let mut post = None;
    if c.peek() == Some(b'-') {
        c.i += 1;
        match c.digits() {
            Some(d) => post = Some(norm(d)),
            None => c.i = save,
        }
    }
    if post.is_none() {
        c.sep();
        if c.word(&["post", "rev", "r"]).is_some() {
            c.sep();
            post = Some(c.digits().map(norm).unwrap_or_default());
        } else {
            c.i = save;
        }
    }
    // dev release
    let save = c.i;
    c.sep();
    let dev = if c.word(&["dev"]).is_some() {
        c.sep();
        Some(c.digits().map(norm).unwrap_or_default())
    } else {
        c.i = save;
        None
    };
    Ok(Version {
        epoch,
        release,
        pre,
        post,
        dev,
        local: None,
    })
}

/// `+seg([._-]seg)*` with ASCII alphanumeric segments, lower-cased; numeric ones by value.
fn parse_local(c: &mut Cursor<'_>) -> Option<Vec<Local>> {
    let alnum = |c: &mut Cursor<'_>| c.run(u8::is_ascii_alphanumeric).map(str::to_string);
    let seg = |s: &str| {
        if s.bytes().all(|x| x.is_ascii_digit()) {
            Local::Num(norm(s))
        } else {
            Local::Str(s.to_ascii_lowercase())
        }
    };
    if c.peek() != Some(b'+') {
        return None;
    }
    let save = c.i;
    c.i += 1;
    let Some(first) = alnum(c) else {
        c.i = save;
        return None;
    };
    let mut out = vec![seg(&first)];
    loop {
        let save = c.i;
        if matches!(c.peek(), Some(b'.' | b'_' | b'-')) {
            c.i += 1;
            if let Some(s) = alnum(c) {
                out.push(seg(&s));
                continue;
            }
        }
        c.i = save;
        break;
    }
    Some(out)
}

fn parse(version: &str) -> Result<Version, String> {
    let s = py_strip(version);
    if !s.is_ascii() {
        return Err("not a PEP 440 version (non-ASCII characters)".into());
    }
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    if matches!(c.peek(), Some(b'v' | b'V')) {
        c.i += 1;
    }
    let mut v = parse_public(&mut c).map_err(|e| format!("not a PEP 440 version: {e}"))?;
    v.local = parse_local(&mut c);
    if c.i != c.b.len() {
        return Err(format!(
            "not a PEP 440 version: unexpected {:?}",
            String::from_utf8_lossy(&c.b[c.i..])
        ));
    }
    Ok(v)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Compatible,
    Eq,
    Ne,
    Le,
    Ge,
    Lt,
    Gt,
}

#[derive(Debug)]
enum Kind {
    /// `===text`
    Arbitrary(String),
    /// `==V.*` / `!=V.*`; the version is the prefix.
    Wildcard(Op, Version),
    /// Any other operator; `bool` is whether the text had a `+local` part.
    Standard(Op, Version, bool),
}

#[derive(Debug)]
struct Specifier {
    kind: Kind,
}

fn parse_specifier(spec: &str) -> Result<Specifier, String> {
    let bad = || format!("{spec:?} is not a PEP 440 specifier");
    let s = py_strip(spec);
    let (op, rest) = if let Some(r) = s.strip_prefix("===") {
        let text = r.trim_start_matches(is_py_space);
        if text.is_empty() || text.chars().any(|c| is_py_space(c) || c == ';' || c == ')') {
            return Err(bad());
        }
        return Ok(Specifier {
            kind: Kind::Arbitrary(text.to_string()),
        });
    } else if let Some(r) = s.strip_prefix("~=") {
        (Op::Compatible, r)
    } else if let Some(r) = s.strip_prefix("==") {
        (Op::Eq, r)
    } else if let Some(r) = s.strip_prefix("!=") {
        (Op::Ne, r)
    } else if let Some(r) = s.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = s.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = s.strip_prefix('<') {
        (Op::Lt, r)
    } else if let Some(r) = s.strip_prefix('>') {
        (Op::Gt, r)
    } else {
        return Err(bad());
    };
    let text = rest.trim_start_matches(is_py_space);
    if !text.is_ascii() || text.is_empty() {
        return Err(bad());
    }
    let b = text.as_bytes();
    let mut c = Cursor { b, i: 0 };
    if matches!(c.peek(), Some(b'v' | b'V')) {
        c.i += 1;
    }
    let v = parse_public(&mut c).map_err(|_| bad())?;
    if matches!(op, Op::Eq | Op::Ne) && &b[c.i..] == b".*" {
        // only `v?(N!)?N(.N)*` may precede `.*`
        if v.pre.is_some() || v.post.is_some() || v.dev.is_some() {
            return Err(bad());
        }
        let body = &b[..c.i];
        let body = body
            .strip_prefix(b"v")
            .or_else(|| body.strip_prefix(b"V"))
            .unwrap_or(body);
        if !body
            .iter()
            .all(|x| x.is_ascii_digit() || *x == b'.' || *x == b'!')
        {
            return Err(bad());
        }
        v.key()?;
        return Ok(Specifier {
            kind: Kind::Wildcard(op, v),
        });
    }
    let mut v = v;
    let has_local = matches!(op, Op::Eq | Op::Ne) && c.peek() == Some(b'+');
    if has_local {
        v.local = parse_local(&mut c);
        if v.local.is_none() {
            return Err(bad());
        }
    }
    if c.i != b.len() {
        return Err(bad());
    }
    if op == Op::Compatible && v.release.len() < 2 {
        return Err(bad());
    }
    v.key()?;
    Ok(Specifier {
        kind: Kind::Standard(op, v, has_local),
    })
}

fn parse_specifier_set(range: &str) -> Result<Vec<Specifier>, String> {
    range
        .split(',')
        .map(py_strip)
        .filter(|s| !s.is_empty())
        .map(parse_specifier)
        .collect()
}

impl Specifier {
    /// Membership of a parsed version, pre-releases allowed.
    fn contains(&self, v: &Version) -> Result<bool, String> {
        let kv = v.key()?;
        Ok(match &self.kind {
            // `===` is answered on the raw string by `satisfies`
            Kind::Arbitrary(_) => false,
            Kind::Wildcard(op, base) => {
                let lower = base.dev0(base.release.clone()).key()?;
                let mut next = base.release.clone();
                if let Some(last) = next.last_mut() {
                    *last = increment(last);
                }
                let upper = base.dev0(next).key()?;
                let inside = kv >= lower && kv < upper;
                if *op == Op::Eq {
                    inside
                } else {
                    !inside
                }
            }
            Kind::Standard(op, spec, has_local) => {
                let ks = spec.key()?;
                match op {
                    Op::Ge => kv >= ks,
                    // `<=V` includes V's local versions
                    Op::Le => v.public_key()? <= spec.public_key()?,
                    Op::Lt => {
                        if spec.is_prerelease() {
                            kv < ks
                        } else {
                            // `<V` excludes V's pre-releases: the bound is V.dev0
                            let mut bound = spec.clone();
                            bound.dev = Some(String::new());
                            bound.local = None;
                            kv < bound.key()?
                        }
                    }
                    Op::Gt => {
                        if let Some(d) = &spec.dev {
                            let mut bound = spec.clone();
                            bound.dev = Some(increment(d));
                            kv >= bound.key()?
                        } else if let Some(p) = &spec.post {
                            let mut bound = spec.clone();
                            bound.post = Some(increment(p));
                            bound.dev = Some(String::new());
                            kv >= bound.key()?
                        } else {
                            // `>V` excludes V's post-releases and local versions
                            v.prefix_key()? > spec.prefix_key()?
                        }
                    }
                    Op::Compatible => {
                        let mut prefix = spec.release[..spec.release.len() - 1].to_vec();
                        if let Some(last) = prefix.last_mut() {
                            *last = increment(last);
                        }
                        kv >= ks && kv < spec.dev0(prefix).key()?
                    }
                    Op::Eq | Op::Ne => {
                        let equal = if *has_local {
                            kv == ks
                        } else {
                            v.public_key()? == spec.public_key()?
                        };
                        equal == (*op == Op::Eq)
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: &str) -> Vec<u8> {
        key(v).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn normalisation() {
        assert_eq!(k("1.0"), k("1.0.0"));
        assert_eq!(k("v1.0"), k("1"));
        assert_eq!(k("1.0a1"), k("1.0.alpha.1"));
        assert_eq!(k("1.0-1"), k("1.0.post1"));
        assert_eq!(k("1.0+AbC.00"), k("1.0+abc.0"));
        assert_eq!(k(" 1.0\u{3000}"), k("1.0"));
        assert_eq!(k("1.0a-"), k("1.0a0"));
    }

    #[test]
    fn order() {
        let seq = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.1.dev1",
        ];
        for w in seq.windows(2) {
            assert!(k(w[0]) < k(w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn invalid() {
        for v in [
            "",
            "1.0-",
            "1.0.",
            "1!",
            "1_0",
            "1.0+a..b",
            "français",
            "1.0+",
        ] {
            assert!(key(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn specifiers() {
        assert!(satisfies("1.0.post1", ">1.0").is_ok_and(|b| !b));
        assert!(satisfies("1.1", ">1.0").is_ok_and(|b| b));
        assert!(satisfies("1.0a1", "<1.0").is_ok_and(|b| !b));
        assert!(satisfies("2.0.5", "~=2.0.0").is_ok_and(|b| b));
        assert!(satisfies("2.1", "~=2.0.0").is_ok_and(|b| !b));
        assert!(satisfies("1.2+x", "==1.2.*").is_ok_and(|b| b));
        assert!(satisfies("nope", "===nope").is_ok_and(|b| b));
        assert!(satisfies("nope", ">=1").is_err());
        assert!(satisfies("1.0", "~=1").is_err());
        assert!(satisfies("1.0", ">=1.0+local").is_err());
        assert!(satisfies("1.0", "==1.0a1.*").is_err());
    }
}
