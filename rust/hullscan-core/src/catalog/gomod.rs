//! `go.mod` files anywhere: the modules a Go module requires, as syft's go-mod-file cataloger
//! reports them (syft 1.18):
//! - every `require` (single lines and blocks, `// indirect` or not) at its version;
//! - each `replace old [v] => new [v]` removes `old` and adds `new` at its version (whether or not
//!   `old` was required); a replacement by a local directory (`=> ../fork`) has no version and is
//!   not a module anyone publishes advisories for, so it is left out (syft lists it with an empty
//!   version);
//! - `exclude` removes the module (any version, as syft does).
//!
//! `go.sum` is not read: syft takes only the `h1:` digests from it, and hullscan has no field for
//! them; the versions come from `go.mod` either way. The `module` line itself is not a dependency.

use super::Cataloger;
use crate::model::{FileResult, RawPackage};
use crate::paths;
use std::collections::BTreeMap;

pub struct GoModCataloger;

impl Cataloger for GoModCataloger {
    fn name(&self) -> &'static str {
        "go-mod"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &["**/go.mod"]
    }
    fn wants(&self, path: &str) -> bool {
        paths::split(path).1 == "go.mod"
    }
    fn max_size(&self) -> u64 {
        16 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let text = super::text(data);
        let mut modules: BTreeMap<String, String> = BTreeMap::new();
        let mut replaces = Vec::new();
        let mut excludes = Vec::new();
        let mut block: Option<String> = None;
        for raw in text.lines() {
            let toks = tokens(raw);
            let Some(first) = toks.first() else { continue };
            let (verb, args): (String, &[String]) = match &block {
                Some(_) if first == ")" => {
                    block = None;
                    continue;
                }
                Some(v) => (v.clone(), &toks[..]),
                None if toks.len() == 2 && toks[1] == "(" => {
                    block = Some(first.clone());
                    continue;
                }
                None => (first.clone(), &toks[1..]),
            };
            match verb.as_str() {
                "require" if args.len() >= 2 => {
                    modules.insert(args[0].clone(), args[1].clone());
                }
                "replace" => {
                    if let Some(i) = args.iter().position(|a| a == "=>") {
                        if i >= 1 && args.len() > i + 1 {
                            let new_version = args.get(i + 2).cloned().unwrap_or_default();
                            replaces.push((args[0].clone(), args[i + 1].clone(), new_version));
                        }
                    }
                }
                "exclude" if !args.is_empty() => excludes.push(args[0].clone()),
                _ => {}
            }
            if modules.len() > super::MAX_PACKAGES_PER_FILE {
                return Err(super::too_many_packages());
            }
        }
        for (old, new, version) in replaces {
            modules.remove(&old);
            if !version.is_empty() {
                modules.insert(new, version);
            }
        }
        for e in excludes {
            modules.remove(&e);
        }
        let packages = modules
            .into_iter()
            .map(|(name, version)| RawPackage {
                kind: "go-module".into(),
                name,
                version,
                ..RawPackage::default()
            })
            .collect();
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages,
            release: None,
            ..FileResult::default()
        })
    }
}

/// A go.mod line's tokens: comments (`//`) dropped, `"..."` and `` `...` `` strings unquoted,
/// `(`, `)` and `=>` their own tokens.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let push = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            c if c.is_whitespace() => push(&mut cur, &mut out),
            '(' | ')' => {
                push(&mut cur, &mut out);
                out.push(c.to_string());
            }
            '=' if chars.peek() == Some(&'>') => {
                chars.next();
                push(&mut cur, &mut out);
                out.push("=>".into());
            }
            '"' | '`' => {
                push(&mut cur, &mut out);
                let mut s = String::new();
                while let Some(d) = chars.next() {
                    if d == c {
                        break;
                    }
                    if d == '\\' && c == '"' {
                        if let Some(e) = chars.next() {
                            s.push(e);
                        }
                        continue;
                    }
                    s.push(d);
                }
                out.push(s);
            }
            c => cur.push(c),
        }
    }
    push(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_replaces_excludes() {
        let gomod = "module example.com/app // the app\n\ngo 1.21\n\nrequire (\n\
            \tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/text v0.3.0 // indirect\n\
            \texample.com/local v0.0.0-00010101000000-000000000000\n\
            \tgithub.com/old/thing v1.2.3\n\tgithub.com/excluded/x v1.0.0\n)\n\n\
            require \"github.com/single/line\" v1.0.0\n\nreplace example.com/local => ../local\n\
            replace (\n\tgithub.com/old/thing v1.2.3 => github.com/new/thing v1.5.0\n\
            \tgolang.org/x/text => golang.org/x/text v0.3.8\n)\n\
            exclude github.com/excluded/x v1.0.0\n";
        let r = GoModCataloger.parse("go.mod", gomod.as_bytes()).unwrap();
        let got: Vec<String> = r
            .packages
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect();
        assert_eq!(
            got,
            [
                "github.com/new/thing v1.5.0",
                "github.com/pkg/errors v0.9.1",
                "github.com/single/line v1.0.0",
                "golang.org/x/text v0.3.8",
            ]
        );
        assert!(GoModCataloger.wants("src/app/go.mod"));
        assert!(!GoModCataloger.wants("src/app/go.sum"));
    }

    #[test]
    fn garbage_is_harmless() {
        let junk: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let _ = GoModCataloger.parse("go.mod", &junk);
        let r = GoModCataloger
            .parse(
                "go.mod",
                b"require (\nreplace =>\n\"unterminated\nrequire x\n",
            )
            .unwrap();
        // Inside the unclosed block, "replace =>" and "require x" read as requires:
        // nonsense in, a little nonsense out, nothing worse.
        assert!(r.packages.len() <= 2);
    }
}
