//! PHP Composer: `vendor/composer/installed.json` (what is installed: Composer 1 writes a JSON
//! array, Composer 2 `{"packages": [...], "dev": ..., "dev-package-names": [...]}`) and
//! `composer.lock` (`packages`; `packages-dev` is skipped, as syft does by default).
//!
//! As syft's php catalogers, except: `installed.json` is read only in a `composer/` directory (where
//! Composer writes it; syft reads any `installed.json`), `composer.lock` files inside a `vendor/`
//! tree are skipped (a library's own development lockfile), and a package needs a version (syft
//! reports `UNKNOWN`). Installed development packages are reported: they are on disk.

use super::lenient::{self, EachElement, IfObject, Licenses, Str};
use super::Cataloger;
use crate::model::{FileResult, RawPackage};
use crate::paths;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

pub struct ComposerCataloger;

const KIND: &str = "php-composer";

impl Cataloger for ComposerCataloger {
    fn name(&self) -> &'static str {
        "php-composer"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &["**/composer/installed.json", "**/composer.lock"]
    }
    fn wants(&self, path: &str) -> bool {
        let (dir, file) = paths::split(path);
        match file {
            "installed.json" => paths::split(dir).1 == "composer",
            "composer.lock" => !dir.split('/').any(|c| c == "vendor"),
            _ => false,
        }
    }
    fn max_size(&self) -> u64 {
        64 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let lock = paths::split(path).1 == "composer.lock";
        let mut packages = Vec::new();
        lenient::from_slice_seed(
            data,
            Doc {
                lock,
                out: &mut packages,
            },
        )?;
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages: lenient::dedup(packages),
            release: None,
            ..FileResult::default()
        })
    }
}

#[derive(Deserialize)]
struct Package {
    #[serde(default)]
    name: Str,
    #[serde(default)]
    version: Str,
    #[serde(default)]
    license: Licenses,
}

fn push(out: &mut Vec<RawPackage>, p: Option<&Package>) {
    let Some(p) = p else { return };
    if let (Some(name), Some(version)) = (p.name.get(), p.version.get()) {
        out.extend(lenient::package(
            KIND,
            name,
            version,
            p.license.expression(),
        ));
    }
}

/// The document: an array of packages (Composer 1 `installed.json`) or an object whose `packages`
/// array lists them.
struct Doc<'o> {
    lock: bool,
    out: &'o mut Vec<RawPackage>,
}

impl<'de> DeserializeSeed<'de> for Doc<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Doc<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.lock {
            "a composer.lock object"
        } else {
            "an installed.json array or object"
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        if self.lock {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let out = self.out;
        let mut f = |p: IfObject<Package>| push(out, p.0.as_ref());
        EachElement::new("installed.json", &mut f)
            .deserialize(de::value::SeqAccessDeserializer::new(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "packages" {
                let out = &mut *self.out;
                let mut f = |p: IfObject<Package>| push(out, p.0.as_ref());
                map.next_value_seed(EachElement::new("packages", &mut f))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::MAX_PACKAGES_PER_FILE;

    fn parse(path: &str, data: &[u8]) -> Result<Vec<(String, String)>, String> {
        ComposerCataloger.parse(path, data).map(|r| {
            r.packages
                .into_iter()
                .map(|p| (p.name, p.version))
                .collect()
        })
    }

    fn nv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    }

    #[test]
    fn wants() {
        let c = ComposerCataloger;
        assert!(c.wants("app/vendor/composer/installed.json"));
        assert!(c.wants("app/lib/composer/installed.json"));
        assert!(!c.wants("app/installed.json"));
        assert!(c.wants("app/composer.lock"));
        assert!(!c.wants("app/vendor/a/b/composer.lock"));
    }

    #[test]
    fn installed_v1_and_v2() {
        let v1 = br#"[{"name":"a/b","version":"1.0.0","license":["MIT"]},{"name":"c/d","version":"v2.0.0"},{"name":"nover/x"},{"name":5,"version":"1"},7]"#;
        assert_eq!(
            parse("vendor/composer/installed.json", v1).unwrap(),
            nv(&[("a/b", "1.0.0"), ("c/d", "v2.0.0")])
        );
        let r = ComposerCataloger
            .parse("vendor/composer/installed.json", v1)
            .unwrap();
        assert_eq!(r.packages[0].license.as_deref(), Some("MIT"));
        assert_eq!(r.packages[0].kind, "php-composer");
        let v2 = br#"{"packages":[{"name":"a/b","version":"1.0.0"},{"name":"dev/pkg","version":"3.0.0"}],"dev":true,"dev-package-names":["dev/pkg"]}"#;
        assert_eq!(
            parse("vendor/composer/installed.json", v2).unwrap(),
            nv(&[("a/b", "1.0.0"), ("dev/pkg", "3.0.0")])
        );
    }

    #[test]
    fn lock() {
        let l = br#"{"_readme":["x"],"packages":[{"name":"x/y","version":"1.2.3","license":["MIT","GPL-2.0-or-later"]}],"packages-dev":[{"name":"dev/z","version":"4.5.6"}]}"#;
        let r = ComposerCataloger.parse("composer.lock", l).unwrap();
        assert_eq!(r.packages.len(), 1);
        assert_eq!(
            r.packages[0].license.as_deref(),
            Some("MIT OR GPL-2.0-or-later")
        );
        assert!(parse("composer.lock", b"[]")
            .unwrap_err()
            .starts_with("unexpected JSON structure"));
    }

    #[test]
    fn hostile() {
        assert!(parse("composer.lock", br#"{"packages":{"a":1}}"#)
            .unwrap_err()
            .contains("`packages` to be an array"));
        assert!(
            parse("composer.lock", br#"{"packages":[{"name":"a/b","vers"#)
                .unwrap_err()
                .starts_with("truncated JSON")
        );
        // Deep junk in place of a package is skipped without recursing; the rest still counts.
        let deep = format!(
            "{{\"packages\":[{}{},{{\"name\":\"a/b\",\"version\":\"1\",\"x\":{}{}}}]}}",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000),
            "{\"a\":".repeat(1_000_000),
            "1".to_string() + &"}".repeat(1_000_000)
        );
        assert_eq!(
            parse("composer.lock", deep.as_bytes()).unwrap(),
            nv(&[("a/b", "1")])
        );
        let mut many = String::from("[");
        for _ in 0..=MAX_PACKAGES_PER_FILE {
            many.push_str("{},");
        }
        many.push_str("{}]");
        assert_eq!(
            parse("vendor/composer/installed.json", many.as_bytes()).unwrap_err(),
            crate::catalog::too_many_packages()
        );
    }
}
