//! npm: installed `package.json` files, `package-lock.json` / `npm-shrinkwrap.json` (lockfile
//! versions 1, 2 and 3), `yarn.lock` (classic v1 and berry v2+) and `pnpm-lock.yaml`.
//!
//! What is read follows syft's javascript catalogers, with these deliberate differences (each is
//! checked in tests/test_lang_js_ruby_php_dotnet.py):
//! - a package needs a name *and* a version (syft reports `UNKNOWN` versions, which cannot be
//!   matched against advisories);
//! - lockfiles inside `node_modules` are skipped (syft 1.18 skips `package-lock.json` and
//!   `yarn.lock` there, but reads `pnpm-lock.yaml`): a published package's own lockfile lists its
//!   development tree, not what is installed;
//! - package-lock v1 nested `dependencies` (`node_modules/a/node_modules/b`) are read (syft reads the
//!   top level only); entries that are not registry versions (`file:`, `git+...`, links,
//!   workspaces of yarn berry) are skipped; `npm:` aliases report the real package.
//! - the root project (`""`) of a package-lock is skipped, as are `link` entries; dev dependencies
//!   of package-lock files are skipped (syft's default); yarn and pnpm lockfiles do not mark them
//!   reliably, so all of their entries are kept (as syft does).

use super::lenient::{self, EachEntry, Flag, IfObject, Licenses, Num, Str};
use super::{Cataloger, MAX_PACKAGES_PER_FILE};
use crate::model::{FileResult, RawPackage};
use crate::paths;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

pub struct NpmCataloger;

const KIND: &str = "npm";

impl Cataloger for NpmCataloger {
    fn name(&self) -> &'static str {
        "npm"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            "**/package.json",
            "**/package-lock.json",
            "**/npm-shrinkwrap.json",
            "**/yarn.lock",
            "**/pnpm-lock.yaml",
        ]
    }
    fn wants(&self, path: &str) -> bool {
        let (dir, file) = paths::split(path);
        match file {
            "package.json" => true,
            "package-lock.json" | "npm-shrinkwrap.json" | "yarn.lock" | "pnpm-lock.yaml" => {
                !in_node_modules(dir)
            }
            _ => false,
        }
    }
    fn max_size(&self) -> u64 {
        // Lockfiles of large monorepos reach tens of MB; entries are visited one at a time, so
        // memory beyond the file itself stays proportional to the packages kept.
        64 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let packages = match paths::split(path).1 {
            "package.json" => package_json(data)?,
            "package-lock.json" | "npm-shrinkwrap.json" => package_lock(data)?,
            "yarn.lock" => yarn_lock(&super::text(data))?,
            "pnpm-lock.yaml" => pnpm_lock(&super::text(data))?,
            other => return Err(format!("not an npm file: {other}")),
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

fn in_node_modules(dir: &str) -> bool {
    dir.split('/').any(|c| c == "node_modules")
}

/// Split `name@rest` where a scoped name starts with `@` (`@scope/pkg@1.0.0`).
fn split_at_version(spec: &str) -> Option<(&str, &str)> {
    let i = spec.get(1..)?.find('@')? + 1;
    let (name, rest) = (&spec[..i], &spec[i + 1..]);
    (!name.is_empty()).then_some((name, rest))
}

/// The registry package and version a lockfile entry stands for: `npm:real@1.2.3` aliases name the
/// real package; other non-registry versions (`file:`, `link:`, `git+...`, `github:`, URLs) and
/// anything that does not start with a digit are not versions advisories can name.
fn registry<'a>(name: &'a str, version: &'a str) -> Option<(&'a str, &'a str)> {
    let (name, version) = match version.strip_prefix("npm:") {
        Some(alias) => split_at_version(alias)?,
        None => (name, version),
    };
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some((name, version))
        .filter(|(_, v)| !v.contains(':'))
}

// ---------------------------------------------------------------------------------------------
// package.json

#[derive(Deserialize)]
struct PackageJson {
    #[serde(default)]
    name: Str,
    #[serde(default)]
    version: Str,
    #[serde(default)]
    license: Licenses,
    #[serde(default)]
    licenses: Licenses,
}

/// One package when the manifest has a name and a version; files without them (`{"type":
/// "module"}` in a package's subfolders, templates) are no package and no warning.
fn package_json(data: &[u8]) -> Result<Vec<RawPackage>, String> {
    let p: PackageJson = lenient::object(data)?;
    let (Some(name), Some(version)) = (p.name.get(), p.version.get()) else {
        return Ok(Vec::new());
    };
    let license = p.license.expression().or_else(|| p.licenses.expression());
    Ok(lenient::package(KIND, name, version, license)
        .into_iter()
        .collect())
}

// ---------------------------------------------------------------------------------------------
// package-lock.json

/// An entry of lockfile v2/v3 `packages`, keyed by its folder (`node_modules/a/node_modules/b`).
#[derive(Deserialize)]
struct LockPackage {
    #[serde(default)]
    name: Str,
    #[serde(default)]
    version: Str,
    #[serde(default)]
    dev: Flag,
    #[serde(default)]
    link: Flag,
    #[serde(default)]
    license: Licenses,
}

fn lock_package(key: &str, p: &LockPackage) -> Option<RawPackage> {
    if key.is_empty() || p.link.0 || p.dev.0 {
        return None; // the root project, symlinks to workspaces, dev dependencies
    }
    let name = match p.name.get() {
        Some(n) => n, // aliases and workspaces carry their real name
        None => key.rsplit_once("node_modules/").map(|(_, n)| n)?,
    };
    let (name, version) = registry(name, p.version.get()?)?;
    lenient::package(KIND, name, version, p.license.expression())
}

#[derive(Default)]
struct LockState {
    /// From `packages` (v2, v3).
    packages: Vec<RawPackage>,
    saw_packages: bool,
    /// From `dependencies` (v1), depth first.
    deps: Vec<RawPackage>,
    /// Entries visited in `dependencies`, all levels.
    dep_entries: usize,
    version: Option<u64>,
}

struct LockDoc<'s>(&'s mut LockState);

impl<'de> DeserializeSeed<'de> for LockDoc<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LockDoc<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a package-lock object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "lockfileVersion" => st.version = map.next_value::<Num>()?.0,
                "packages" => {
                    st.saw_packages = true;
                    let out = &mut st.packages;
                    let mut f = |k: String, p: IfObject<LockPackage>| {
                        if let Some(p) = p.0.and_then(|p| lock_package(&k, &p)) {
                            out.push(p);
                        }
                    };
                    map.next_value_seed(EachEntry::new("packages", &mut f))?;
                }
                // v2 repeats its tree in v1 form for old npm versions: read it only when needed.
                "dependencies" if !st.saw_packages && !matches!(st.version, Some(v) if v >= 2) => {
                    map.next_value_seed(V1Deps(st))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Lockfile v1 `dependencies`: `{name: {version, dev, dependencies: {...}}}`, nested as deep as
/// the JSON (serde_json stops at 128 levels).
struct V1Deps<'s>(&'s mut LockState);

impl<'de> DeserializeSeed<'de> for V1Deps<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for V1Deps<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`dependencies` to be an object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        while let Some(name) = map.next_key::<String>()? {
            st.dep_entries += 1;
            if st.dep_entries > MAX_PACKAGES_PER_FILE {
                return Err(de::Error::custom(super::too_many_packages()));
            }
            map.next_value_seed(V1Dep { name, st: &mut *st })?;
        }
        Ok(())
    }
}

struct V1Dep<'s> {
    name: String,
    st: &'s mut LockState,
}

impl<'de> DeserializeSeed<'de> for V1Dep<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for V1Dep<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a dependency object")
    }
    // A dependency of the wrong type is no package.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut version, mut dev, mut license) = (Str::default(), false, Licenses::default());
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => version = map.next_value()?,
                "dev" => dev = map.next_value::<Flag>()?.0,
                "license" => license = map.next_value()?,
                "dependencies" => map.next_value_seed(V1Deps(&mut *self.st))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if dev {
            return Ok(());
        }
        if let Some((name, version)) = version.get().and_then(|v| registry(&self.name, v)) {
            if let Some(p) = lenient::package(KIND, name, version, license.expression()) {
                self.st.deps.push(p);
            }
        }
        Ok(())
    }
}

fn package_lock(data: &[u8]) -> Result<Vec<RawPackage>, String> {
    let mut st = LockState::default();
    lenient::from_slice_seed(data, LockDoc(&mut st))?;
    Ok(if st.saw_packages {
        st.packages
    } else {
        st.deps
    })
}

// ---------------------------------------------------------------------------------------------
// yarn.lock

/// One entry: its header (`"a@^1", a@~1.2:`), `version` and (berry) `resolution`.
#[derive(Default)]
struct YarnEntry<'a> {
    header: &'a str,
    version: Option<&'a str>,
    resolution: Option<&'a str>,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
}

/// Protocols of packages that are not from a registry: the project's workspaces and local folders.
const LOCAL: &[&str] = &["workspace:", "link:", "portal:", "file:"];

fn yarn_package(e: &YarnEntry<'_>) -> Option<RawPackage> {
    let version = unquote(e.version?);
    let first = unquote(e.header.split(',').next()?);
    let name = if let Some(res) = e.resolution {
        // berry: the resolution names the real package (`real@npm:1.0.1` for an alias).
        let (name, reference) = split_at_version(unquote(res))?;
        if LOCAL.iter().any(|p| reference.starts_with(p)) {
            return None;
        }
        name
    } else {
        let (name, range) = split_at_version(first)?;
        if LOCAL.iter().any(|p| range.starts_with(p)) {
            return None;
        }
        match range.strip_prefix("npm:") {
            Some(alias) => split_at_version(alias).map_or(alias, |(n, _)| n),
            None => name,
        }
    };
    lenient::package(KIND, name, version, None)
}

fn yarn_lock(text: &str) -> Result<Vec<RawPackage>, String> {
    let mut out = Vec::new();
    let mut entries = 0usize;
    let mut cur: Option<YarnEntry<'_>> = None;
    let flush = |e: Option<YarnEntry<'_>>, out: &mut Vec<RawPackage>| {
        if let Some(p) = e.as_ref().and_then(yarn_package) {
            out.push(p);
        }
    };
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            flush(cur.take(), &mut out);
            let Some(header) = t.strip_suffix(':') else {
                continue;
            };
            if header == "__metadata" {
                continue;
            }
            entries += 1;
            if entries > MAX_PACKAGES_PER_FILE {
                return Err(super::too_many_packages());
            }
            cur = Some(YarnEntry {
                header,
                ..YarnEntry::default()
            });
            continue;
        }
        // Fields of an entry are indented by two spaces; deeper lines are its dependency lists.
        let Some(e) = cur.as_mut() else { continue };
        if line.starts_with("   ") || !line.starts_with("  ") {
            continue;
        }
        if let Some(v) = field(t, "version") {
            e.version.get_or_insert(v);
        } else if let Some(r) = field(t, "resolution") {
            e.resolution.get_or_insert(r);
        }
    }
    flush(cur.take(), &mut out);
    if entries == 0 && !text.trim().is_empty() && !text.contains("__metadata") {
        return Err("no yarn.lock entries".into());
    }
    Ok(out)
}

/// `key "value"` (yarn v1) or `key: value` (berry).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?;
    let rest = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix(' '))?
        .trim();
    (!rest.is_empty()).then_some(rest)
}

// ---------------------------------------------------------------------------------------------
// pnpm-lock.yaml

/// A `packages:` key: `/name/1.2.3_peer` (lockfile 5), `/name@1.2.3(peer)` (6),
/// `name@1.2.3` (9), scoped names alike. Tarball and git entries have no registry version.
fn pnpm_key(key: &str, v5: bool) -> Option<(&str, &str)> {
    let key = unquote(key);
    let (name, version) = if v5 {
        // `[host]/name/version` or `[host]/@scope/name/version`
        let key = match key.strip_prefix('/') {
            Some(k) => k,
            None => key.split_once('/')?.1,
        };
        let cut = if key.starts_with('@') {
            key.match_indices('/').nth(1)?.0
        } else {
            key.find('/')?
        };
        let (name, version) = (&key[..cut], &key[cut + 1..]);
        (name, version.split('_').next()?)
    } else {
        let key = key.strip_prefix('/').unwrap_or(key);
        let (name, version) = split_at_version(key)?;
        (name, version.split('(').next()?)
    };
    registry(name, version)
}

/// The key of a `packages:` entry line: `key:` (block style) or `key: {...}` (flow style); a
/// quoted key may contain `:` (`'@s/t@https://...'`).
fn pnpm_entry_key(line: &str) -> Option<&str> {
    let (key, rest) = match line.chars().next()? {
        q @ ('\'' | '"') => {
            let end = line[1..].find(q)? + 2;
            (&line[..end], &line[end..])
        }
        _ => line.split_at(line.find(':')?),
    };
    let rest = rest.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with(' ')).then_some(key)
}

fn pnpm_lock(text: &str) -> Result<Vec<RawPackage>, String> {
    let mut out = Vec::new();
    let mut entries = 0usize;
    let mut major: Option<u32> = None;
    let mut in_packages = false;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            if let Some(v) = line.strip_prefix("lockfileVersion:") {
                let v = unquote(v);
                major = v.split('.').next().and_then(|m| m.trim().parse().ok());
            }
            in_packages = line.trim_end() == "packages:";
            continue;
        }
        if !in_packages || line.starts_with("   ") || !line.starts_with("  ") {
            continue;
        }
        let Some(key) = pnpm_entry_key(line.trim()) else {
            continue;
        };
        entries += 1;
        if entries > MAX_PACKAGES_PER_FILE {
            return Err(super::too_many_packages());
        }
        let Some(major) = major else {
            return Err("no lockfileVersion before packages".into());
        };
        if let Some((name, version)) = pnpm_key(key, major < 6) {
            out.extend(lenient::package(KIND, name, version, None));
        }
    }
    if major.is_none() {
        return Err("no lockfileVersion: not a pnpm lockfile".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &[RawPackage]) -> Vec<(String, String)> {
        let mut v: Vec<_> = r
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        v.sort();
        v
    }

    fn nv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = pairs
            .iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect();
        v.sort();
        v
    }

    fn parse(path: &str, data: &[u8]) -> Result<Vec<RawPackage>, String> {
        NpmCataloger.parse(path, data).map(|r| r.packages)
    }

    #[test]
    fn wants() {
        let c = NpmCataloger;
        assert!(c.wants("app/node_modules/@s/p/package.json"));
        assert!(c.wants("package.json"));
        assert!(c.wants("app/package-lock.json"));
        assert!(c.wants("app/yarn.lock"));
        assert!(c.wants("app/pnpm-lock.yaml"));
        assert!(c.wants("app/npm-shrinkwrap.json"));
        assert!(!c.wants("app/node_modules/x/yarn.lock"));
        assert!(!c.wants("app/node_modules/x/package-lock.json"));
        assert!(!c.wants("app/node_modules/.package-lock.json"));
        assert!(!c.wants("app/package.json5"));
    }

    #[test]
    fn package_json_fields() {
        let r = parse(
            "n/package.json",
            br#"{"name":"@s/p","version":"1.0.0","license":{"type":"BSD"}}"#,
        )
        .unwrap();
        assert_eq!(names(&r), nv(&[("@s/p", "1.0.0")]));
        assert_eq!(r[0].license.as_deref(), Some("BSD"));
        assert_eq!(r[0].kind, "npm");
        let r = parse(
            "package.json",
            br#"{"name":"a","version":"2","licenses":[{"type":"MIT"},{"type":"ISC"}]}"#,
        )
        .unwrap();
        assert_eq!(r[0].license.as_deref(), Some("MIT OR ISC"));
        // No version, no package; wrong types, no package; neither is an error.
        assert!(parse("package.json", br#"{"name":"a"}"#)
            .unwrap()
            .is_empty());
        assert!(parse("package.json", br#"{"type":"module"}"#)
            .unwrap()
            .is_empty());
        assert!(parse("package.json", br#"{"name":1,"version":{"a":[]}}"#)
            .unwrap()
            .is_empty());
        // Not an object, malformed, truncated: errors that say so.
        assert!(parse("package.json", br#"["a","1"]"#)
            .unwrap_err()
            .starts_with("unexpected JSON structure"));
        assert!(parse("package.json", b"{\"name\":\"a\",")
            .unwrap_err()
            .starts_with("truncated JSON"));
        assert!(parse("package.json", b"{name: a}")
            .unwrap_err()
            .starts_with("malformed JSON"));
        // A UTF-8 BOM is allowed.
        assert_eq!(
            parse(
                "package.json",
                b"\xEF\xBB\xBF{\"name\":\"a\",\"version\":\"1\"}"
            )
            .unwrap()
            .len(),
            1
        );
    }

    #[test]
    fn hostile_package_json() {
        // Deep junk in fields that are skipped costs no stack (serde_json skips without recursing).
        let deep = format!(
            "{{\"name\":\"a\",\"version\":\"1\",\"x\":{}{},\"license\":{}{}}}",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000),
            "{\"a\":".repeat(1_000_000),
            "1".to_string() + &"}".repeat(1_000_000)
        );
        assert_eq!(
            names(&parse("package.json", deep.as_bytes()).unwrap()),
            nv(&[("a", "1")])
        );
        // Unbalanced: an error, not a crash.
        let open = "[".repeat(1_000_000);
        assert!(parse("package.json", format!("{{\"x\":{open}").as_bytes())
            .unwrap_err()
            .starts_with("truncated JSON"));
        let huge = format!(
            "{{\"name\":\"{}\",\"version\":\"1\"}}",
            "a".repeat(10 << 20)
        );
        assert!(parse("package.json", huge.as_bytes()).unwrap().is_empty());
        assert!(parse("package.json", b"\xff\xfe\x00").is_err());
        assert!(parse("package.json", b"").is_err());
    }

    #[test]
    fn lock_v1() {
        let r = parse(
            "a/package-lock.json",
            br#"{"name":"root","version":"1.0.0","lockfileVersion":1,"dependencies":{
              "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0","dependencies":{"c":{"version":"3.0.0"}}}}},
              "d":{"version":"3.0.0","dev":true,"dependencies":{"e":{"version":"1.0.0","dev":true}}},
              "l":{"version":"file:../l"},
              "g":{"version":"git+https://x/g.git#abc"},
              "al":{"version":"npm:@s/real@1.2.3"},
              "nov":{},
              "bad":5
            }}"#,
        )
        .unwrap();
        assert_eq!(
            names(&r),
            nv(&[
                ("a", "1.0.0"),
                ("b", "2.0.0"),
                ("c", "3.0.0"),
                ("@s/real", "1.2.3")
            ])
        );
    }

    #[test]
    fn lock_v2_v3() {
        let doc = br#"{"name":"root","version":"1.0.0","lockfileVersion":3,"packages":{
             "":{"name":"root","version":"1.0.0","license":"MIT"},
             "node_modules/a":{"version":"1.0.0","license":"ISC"},
             "node_modules/a/node_modules/@s/b":{"version":"2.0.0"},
             "node_modules/d":{"version":"3.0.0","dev":true},
             "node_modules/w":{"resolved":"packages/w","link":true},
             "packages/w":{"name":"w","version":"0.5.0"},
             "packages/nover":{"name":"nover"},
             "node_modules/al":{"name":"real","version":"1.2.3"},
             "node_modules/opt":{"version":"4.0.0","optional":true,"devOptional":true},
             "node_modules/wrong":{"version":7},
             "node_modules/junk":[1,{"version":"1.0.0"}]
           },
           "dependencies":{"zzz":{"version":"9.9.9"}}}"#;
        let r = parse("package-lock.json", doc).unwrap();
        assert_eq!(
            names(&r),
            nv(&[
                ("a", "1.0.0"),
                ("@s/b", "2.0.0"),
                ("w", "0.5.0"),
                ("real", "1.2.3"),
                ("opt", "4.0.0")
            ])
        );
        assert_eq!(
            r.iter().find(|p| p.name == "a").unwrap().license.as_deref(),
            Some("ISC")
        );
        // `packages` of the wrong type is an error that names it.
        let e = parse(
            "package-lock.json",
            br#"{"lockfileVersion":2,"packages":[1]}"#,
        )
        .unwrap_err();
        assert!(e.contains("`packages` to be an object"), "{e}");
        // Truncated in the middle of an entry.
        let cut = &doc[..doc.len() / 2];
        assert!(parse("package-lock.json", cut)
            .unwrap_err()
            .starts_with("truncated JSON"));
    }

    #[test]
    fn lock_too_many_entries() {
        let mut doc = String::from("{\"lockfileVersion\":3,\"packages\":{");
        for i in 0..=MAX_PACKAGES_PER_FILE {
            doc.push_str(&format!("\"node_modules/p{i}\":{{\"version\":\"1.0.0\"}},"));
        }
        doc.push_str("\"x\":{}}}");
        assert_eq!(
            parse("package-lock.json", doc.as_bytes()).unwrap_err(),
            super::super::too_many_packages()
        );
        // v1, counted across nesting levels.
        let mut doc = String::from("{\"lockfileVersion\":1,\"dependencies\":{\"a\":{\"version\":\"1.0.0\",\"dependencies\":{");
        for i in 0..=MAX_PACKAGES_PER_FILE {
            doc.push_str(&format!("\"p{i}\":{{}},"));
        }
        doc.push_str("\"x\":{}}}}}");
        assert_eq!(
            parse("package-lock.json", doc.as_bytes()).unwrap_err(),
            super::super::too_many_packages()
        );
    }

    #[test]
    fn lock_v1_deep_nesting_is_bounded() {
        let mut doc = String::from("{\"lockfileVersion\":1,\"dependencies\":");
        for _ in 0..10_000 {
            doc.push_str("{\"a\":{\"version\":\"1.0.0\",\"dependencies\":");
        }
        doc.push_str("{}");
        for _ in 0..10_000 {
            doc.push_str("}}");
        }
        doc.push('}');
        assert!(parse("package-lock.json", doc.as_bytes())
            .unwrap_err()
            .starts_with("JSON nested too deeply"));
    }

    const YARN_V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.10.4"
  resolved "https://example.invalid/@babel/code-frame/-/code-frame-7.10.4.tgz#168d"
  dependencies:
    "@babel/highlight" "^7.10.4"
    version "0.0.1"

lodash@^4.17.15, lodash@~4.17.0:
  version "4.17.15"

"alias@npm:real@^1":
  version "1.0.1"

left-pad@git+https://example.invalid/x/left-pad.git:
  version "1.3.0"

local@file:../local:
  version "0.1.0"
"#;

    #[test]
    fn yarn_v1() {
        let r = parse("yarn.lock", YARN_V1.as_bytes()).unwrap();
        assert_eq!(
            names(&r),
            nv(&[
                ("@babel/code-frame", "7.10.4"),
                ("lodash", "4.17.15"),
                ("real", "1.0.1"),
                ("left-pad", "1.3.0")
            ])
        );
    }

    const YARN_BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 6
  cacheKey: 8

"@babel/code-frame@npm:^7.0.0":
  version: 7.12.13
  resolution: "@babel/code-frame@npm:7.12.13"
  dependencies:
    "@babel/highlight": ^7.12.13
  checksum: 471532bb7c
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft

"lodash@npm:^4.17.15, lodash@npm:^4.17.20":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"

"alias@npm:real@^1":
  version: 1.0.1
  resolution: "real@npm:1.0.1"

"resolve@patch:resolve@^1.20.0#~builtin<compat/resolve>":
  version: 1.22.1
  resolution: "resolve@patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1&hash=07638b"
"#;

    #[test]
    fn yarn_berry() {
        let r = parse("yarn.lock", YARN_BERRY.as_bytes()).unwrap();
        assert_eq!(
            names(&r),
            nv(&[
                ("@babel/code-frame", "7.12.13"),
                ("lodash", "4.17.21"),
                ("real", "1.0.1"),
                ("resolve", "1.22.1")
            ])
        );
    }

    #[test]
    fn yarn_hostile() {
        // Truncated mid-entry: what was complete still counts.
        let cut = &YARN_V1[..YARN_V1.find("left-pad").unwrap() + 10];
        assert_eq!(parse("yarn.lock", cut.as_bytes()).unwrap().len(), 3);
        assert!(parse("yarn.lock", b"not a lockfile at all").is_err());
        assert!(parse("yarn.lock", b"\xff\xfe garbage \x00").is_err());
        let mut many = String::new();
        for i in 0..=MAX_PACKAGES_PER_FILE {
            many.push_str(&format!("p{i}@^1:\n  version \"1.0.0\"\n"));
        }
        assert_eq!(
            parse("yarn.lock", many.as_bytes()).unwrap_err(),
            super::super::too_many_packages()
        );
        let long = format!("{}@^1:\n  version \"1\"\n", "a".repeat(1 << 20));
        assert!(parse("yarn.lock", long.as_bytes()).unwrap().is_empty());
    }

    #[test]
    fn pnpm() {
        let v5 = "lockfileVersion: 5.4\n\nspecifiers:\n  lodash: ^4.17.15\n\npackages:\n\n  /lodash/4.17.15:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /@babel/core/7.20.0_supports-color@5.5.0:\n    dev: true\n\n  registry.example.invalid/left-pad/1.3.0:\n    dev: false\n\n  github.com/user/repo/abcdef:\n    dev: false\n";
        assert_eq!(
            names(&parse("pnpm-lock.yaml", v5.as_bytes()).unwrap()),
            nv(&[
                ("lodash", "4.17.15"),
                ("@babel/core", "7.20.0"),
                ("left-pad", "1.3.0")
            ])
        );
        let v6 = "lockfileVersion: '6.0'\n\ndependencies:\n  lodash:\n    specifier: ^4.17.15\n    version: 4.17.15\n\npackages:\n\n  /lodash@4.17.15:\n    dev: false\n\n  /@babel/core@7.20.0(supports-color@5.5.0):\n    dev: true\n\n  '@s/tar@https://example.invalid/t.tgz':\n    dev: false\n";
        assert_eq!(
            names(&parse("pnpm-lock.yaml", v6.as_bytes()).unwrap()),
            nv(&[("lodash", "4.17.15"), ("@babel/core", "7.20.0")])
        );
        let v9 = "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      lodash:\n        version: 4.17.15\n\npackages:\n\n  '@babel/core@7.20.0':\n    resolution: {integrity: sha512-y}\n\n  lodash@4.17.15:\n    resolution: {integrity: sha512-x}\n\nsnapshots:\n\n  '@babel/core@7.20.0(supports-color@5.5.0)': {}\n\n  lodash@4.17.15: {}\n";
        assert_eq!(
            names(&parse("pnpm-lock.yaml", v9.as_bytes()).unwrap()),
            nv(&[("lodash", "4.17.15"), ("@babel/core", "7.20.0")])
        );
        let flow = "lockfileVersion: '9.0'\npackages:\n  lodash@4.17.15: {resolution: {integrity: sha512-x}}\n  '@s/t@https://example.invalid/t.tgz': {resolution: {tarball: x}}\n  'q@1.0.0':\n";
        assert_eq!(
            names(&parse("pnpm-lock.yaml", flow.as_bytes()).unwrap()),
            nv(&[("lodash", "4.17.15"), ("q", "1.0.0")])
        );
        assert!(parse("pnpm-lock.yaml", b"packages:\n  /a/1.0.0:\n").is_err());
        assert!(parse("pnpm-lock.yaml", b"hello").is_err());
    }
}
