//! Ruby gems: installed specifications (`**/specifications/**/*.gemspec`, the Ruby RubyGems writes
//! for every installed gem, default gems under `specifications/default/`) and `Gemfile.lock`.
//!
//! As syft's ruby catalogers, with these differences: `Gemfile.lock` files inside a `gems/`
//! directory are skipped (a gem's own development lockfile, not what is installed); a platform
//! suffix in a lockfile version (`1.13.10-x86_64-linux`) goes to `arch` (RubyGems versions never
//! contain `-`: `Gem::Version` turns `1.0-rc1` into `1.0.pre.rc1`); gemspecs also written as
//! `%q{...}` (RubyGems 1.x) or `Gem::Version.new("...")` are read; a gemspec without a version
//! gives no package (syft reports `UNKNOWN`).

use super::lenient;
use super::{Cataloger, MAX_PACKAGES_PER_FILE};
use crate::model::{FileResult, RawPackage};
use crate::paths;

pub struct GemCataloger;

const KIND: &str = "gem";

impl Cataloger for GemCataloger {
    fn name(&self) -> &'static str {
        "gem"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &["**/specifications/**/*.gemspec", "**/Gemfile.lock"]
    }
    fn wants(&self, path: &str) -> bool {
        let (dir, file) = paths::split(path);
        if file == "Gemfile.lock" {
            return !dir.split('/').any(|c| c == "gems");
        }
        file.len() > ".gemspec".len()
            && file.ends_with(".gemspec")
            && dir.split('/').any(|c| c == "specifications")
    }
    fn max_size(&self) -> u64 {
        16 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let text = super::text(data);
        let packages = if paths::split(path).1 == "Gemfile.lock" {
            gemfile_lock(&text)?
        } else {
            gemspec(&text)?.into_iter().collect()
        };
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages: lenient::dedup(packages),
            release: None,
            ..FileResult::default()
        })
    }
}

/// Sections of a Gemfile.lock whose `specs:` list resolved gems.
const SECTIONS: &[&str] = &["GEM", "GIT", "PATH", "PLUGIN SOURCE"];

fn gemfile_lock(text: &str) -> Result<Vec<RawPackage>, String> {
    let mut out = Vec::new();
    let mut section: Option<&str> = None;
    let mut seen_section = false;
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = Some(line.trim());
            seen_section = true;
            continue;
        }
        if !section.is_some_and(|s| SECTIONS.contains(&s)) {
            continue;
        }
        // `    name (version[-platform])`: exactly four spaces; deeper lines are its dependencies.
        let Some(spec) = line.strip_prefix("    ") else {
            continue;
        };
        if spec.starts_with(' ') {
            continue;
        }
        let mut fields = spec.split_whitespace();
        let (Some(name), Some(version), None) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Some(version) = version.strip_prefix('(').and_then(|v| v.strip_suffix(')')) else {
            continue;
        };
        let (version, platform) = match version.split_once('-') {
            Some((v, p)) => (v, Some(p)),
            None => (version, None),
        };
        if let Some(mut p) = lenient::package(KIND, name, version, None) {
            if out.len() == MAX_PACKAGES_PER_FILE {
                return Err(super::too_many_packages());
            }
            p.arch = platform.filter(|p| !p.is_empty()).map(str::to_string);
            out.push(p);
        }
    }
    if !seen_section {
        return Err("no sections: not a Gemfile.lock".into());
    }
    Ok(out)
}

/// A Ruby string literal at the start of `s`: `"x"`, `'x'`, `%q{x}` / `%Q(x)` / `%q<x>` / `%q[x]`
/// (an optional `.freeze` after it is ignored by the caller).
fn ruby_string(s: &str) -> Option<&str> {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('"') {
        return rest.split('"').next().filter(|_| rest.contains('"'));
    }
    if let Some(rest) = s.strip_prefix('\'') {
        return rest.split('\'').next().filter(|_| rest.contains('\''));
    }
    let rest = s.strip_prefix("%q").or_else(|| s.strip_prefix("%Q"))?;
    let close = match rest.chars().next()? {
        '{' => '}',
        '(' => ')',
        '<' => '>',
        '[' => ']',
        c if c.is_ascii_punctuation() => c,
        _ => return None,
    };
    let body = &rest[1..];
    body.find(close).map(|i| &body[..i])
}

/// The strings of a Ruby array literal `["MIT".freeze, "Ruby".freeze]`.
fn ruby_strings(s: &str) -> Vec<&str> {
    let Some(body) = s.trim_start().strip_prefix('[') else {
        return ruby_string(s).into_iter().collect();
    };
    let body = body.rsplit_once(']').map_or(body, |(b, _)| b);
    body.split(',').filter_map(ruby_string).take(16).collect()
}

/// `VAR.ATTR = VALUE` on one line: `(ATTR, VALUE)`.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (lhs, rhs) = line.split_once('=')?;
    if rhs.starts_with(['=', '~', '>']) {
        return None; // ==, =~, =>
    }
    let (var, attr) = lhs.trim().split_once('.')?;
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ident(var) && ident(attr)).then_some((attr, rhs.trim()))
}

fn gemspec(text: &str) -> Result<Option<RawPackage>, String> {
    let (mut name, mut version, mut licenses): (Option<&str>, Option<&str>, Vec<&str>) =
        (None, None, Vec::new());
    let mut any = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        any |= line.contains("Gem::Specification");
        let Some((attr, value)) = assignment(line) else {
            continue;
        };
        match attr {
            "name" if name.is_none() => name = ruby_string(value),
            "version" if version.is_none() => {
                let value = value
                    .strip_prefix("Gem::Version.new(")
                    .or_else(|| value.strip_prefix("Gem::Version.create("))
                    .unwrap_or(value);
                version = ruby_string(value);
            }
            "licenses" | "license" if licenses.is_empty() => licenses = ruby_strings(value),
            _ => {}
        }
    }
    if !any && name.is_none() {
        return Err("no Gem::Specification: not a gemspec".into());
    }
    let (Some(name), Some(version)) = (name, version) else {
        return Ok(None);
    };
    let license = lenient::Licenses(licenses.iter().map(|s| (*s).to_string()).collect());
    Ok(lenient::package(KIND, name, version, license.expression()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants() {
        let c = GemCataloger;
        assert!(c.wants("usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.4.gemspec"));
        assert!(c.wants("usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec"));
        assert!(c.wants("app/Gemfile.lock"));
        assert!(c.wants("Gemfile.lock"));
        assert!(!c.wants("usr/lib/ruby/gems/3.1.0/gems/rack-2.2.4/Gemfile.lock"));
        assert!(!c.wants("src/rack.gemspec"));
        assert!(!c.wants("specifications/.gemspec"));
    }

    const SPEC: &str = r#"# -*- encoding: utf-8 -*-
# stub: bundler 2.1.4 ruby lib

Gem::Specification.new do |s|
  s.name = "bundler".freeze
  s.version = "2.1.4"

  s.required_rubygems_version = Gem::Requirement.new(">= 2.5.2".freeze) if s.respond_to? :required_rubygems_version=
  s.authors = ["Andr\u00E9 Arko".freeze]
  s.licenses = ["MIT".freeze, "Ruby".freeze]
  s.add_runtime_dependency(%q<rack>.freeze, [">= 0"])
  s.metadata = { "name" => "x" }
end
"#;

    #[test]
    fn gemspecs() {
        let p = gemspec(SPEC).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("bundler", "2.1.4"));
        assert_eq!(p.license.as_deref(), Some("MIT OR Ruby"));
        assert_eq!(p.kind, "gem");
        let old = "Gem::Specification.new do |s|\n  s.name = %q{oldgem}\n  s.version = \"0.9.1\"\n  s.license = 'BSD'\nend\n";
        let p = gemspec(old).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("oldgem", "0.9.1"));
        assert_eq!(p.license.as_deref(), Some("BSD"));
        let gv = "Gem::Specification.new do |spec|\n  spec.name = 'gv'\n  spec.version = Gem::Version.new(\"1.2.3\")\nend\n";
        let p = gemspec(gv).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("gv", "1.2.3"));
        // A version from code cannot be read: no package, no error.
        let code = "Gem::Specification.new do |s|\n  s.name = 'x'\n  s.version = X::VERSION\nend\n";
        assert!(gemspec(code).unwrap().is_none());
        assert!(gemspec("\u{0}\u{1}binary").is_err());
        assert!(gemspec("").is_err());
        // Unterminated strings.
        assert!(
            gemspec("Gem::Specification\ns.name = \"abc\ns.version = %q{1")
                .unwrap()
                .is_none()
        );
    }

    const LOCK: &str = "PATH\n  remote: ../g\n  specs:\n    google-cloud-errors (1.3.0)\n\nGIT\n  remote: https://example.invalid/t.git\n  revision: 80216ce\n  specs:\n    turbolinks (3.0.0)\n      coffee-rails\n\nGEM\n  remote: https://example.invalid/\n  specs:\n    actionmailer (4.1.1)\n      actionpack (= 4.1.1)\n    nokogiri (1.13.10-x86_64-linux)\n      racc (~> 1.4)\n    nokogiri (1.13.10-arm64-darwin)\n    racc (1.6.1)\n    weird line here\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri (1.0)\n    fake (1.0)\n\nBUNDLED WITH\n   2.3.26\n";

    #[test]
    fn gemfile_locks() {
        let r = gemfile_lock(LOCK).unwrap();
        let got: Vec<_> = r
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("google-cloud-errors", "1.3.0", None),
                ("turbolinks", "3.0.0", None),
                ("actionmailer", "4.1.1", None),
                ("nokogiri", "1.13.10", Some("x86_64-linux")),
                ("nokogiri", "1.13.10", Some("arm64-darwin")),
                ("racc", "1.6.1", None),
            ]
        );
        // Truncated: what was read counts.
        let cut = &LOCK[..LOCK.find("racc (1.6").unwrap()];
        assert_eq!(gemfile_lock(cut).unwrap().len(), 5);
        assert!(gemfile_lock("    a (1)\n").is_err());
        let mut many = String::from("GEM\n  specs:\n");
        for i in 0..=MAX_PACKAGES_PER_FILE {
            many.push_str(&format!("    g{i} (1.0)\n"));
        }
        assert_eq!(
            gemfile_lock(&many).unwrap_err(),
            super::super::too_many_packages()
        );
    }
}
