//! .NET: `*.deps.json`, the dependency manifest the SDK writes beside every application (and the
//! runtime's own `Microsoft.NETCore.App.deps.json`).
//!
//! Packages are the `libraries` entries, keyed `Name/Version`. syft 1.18 reports every library
//! type (`package`, `project`, `reference`, `runtimepack`) once it finds the root project (named
//! like the file); hullscan reports them too, but also when the root project is named differently
//! (syft then reports nothing), and skips keys that are not exactly `Name/Version`.

use super::lenient::{self, EachEntry};
use super::Cataloger;
use crate::model::{FileResult, RawPackage};
use crate::paths;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

pub struct DotnetCataloger;

const KIND: &str = "dotnet";
const SUFFIX: &str = ".deps.json";

impl Cataloger for DotnetCataloger {
    fn name(&self) -> &'static str {
        "dotnet"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &["**/*.deps.json"]
    }
    fn wants(&self, path: &str) -> bool {
        let file = paths::split(path).1;
        file.len() > SUFFIX.len() && file.ends_with(SUFFIX)
    }
    fn max_size(&self) -> u64 {
        64 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let mut packages = Vec::new();
        lenient::from_slice_seed(data, Doc(&mut packages))?;
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages: lenient::dedup(packages),
            release: None,
            ..FileResult::default()
        })
    }
}

fn library(key: &str) -> Option<RawPackage> {
    let (name, version) = key.split_once('/')?;
    if version.contains('/') {
        return None;
    }
    lenient::package(KIND, name, version, None)
}

struct Doc<'o>(&'o mut Vec<RawPackage>);

impl<'de> DeserializeSeed<'de> for Doc<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Doc<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a deps.json object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "libraries" {
                let out = &mut *self.0;
                // The entry's fields (type, hashes) decide nothing: see the module notes.
                let mut f = |k: String, _: IgnoredAny| out.extend(library(&k));
                map.next_value_seed(EachEntry::new("libraries", &mut f))?;
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

    fn parse(data: &[u8]) -> Result<Vec<(String, String)>, String> {
        DotnetCataloger.parse("app/App.deps.json", data).map(|r| {
            r.packages
                .into_iter()
                .map(|p| (p.name, p.version))
                .collect()
        })
    }

    #[test]
    fn wants() {
        let c = DotnetCataloger;
        assert!(c.wants("app/App.deps.json"));
        assert!(c.wants(
            "usr/share/dotnet/shared/Microsoft.NETCore.App/6.0.5/Microsoft.NETCore.App.deps.json"
        ));
        assert!(!c.wants("app/.deps.json"));
        assert!(!c.wants("app/deps.json"));
    }

    #[test]
    fn libraries() {
        let doc = br#"{"runtimeTarget":{"name":"x"},"targets":{"x":{"App/1.0.0":{}}},"libraries":{
            "App/1.0.0":{"type":"project","serviceable":false,"sha512":""},
            "Newtonsoft.Json/13.0.1":{"type":"package","sha512":"sha512-x","path":"newtonsoft.json/13.0.1"},
            "Microsoft.NETCore.App.Runtime.linux-x64/6.0.5":{"type":"runtimepack"},
            "NoVersion":{"type":"package"},
            "Empty/":{"type":"package"},
            "Weird/1.0/extra":{"type":"package"},
            "Typed/2.0.0":7
        }}"#;
        let r = DotnetCataloger.parse("a/App.deps.json", doc).unwrap();
        assert_eq!(r.packages[0].kind, "dotnet");
        assert_eq!(
            parse(doc).unwrap(),
            vec![
                ("App".to_string(), "1.0.0".to_string()),
                ("Newtonsoft.Json".into(), "13.0.1".into()),
                (
                    "Microsoft.NETCore.App.Runtime.linux-x64".into(),
                    "6.0.5".into()
                ),
                ("Typed".into(), "2.0.0".into()),
            ]
        );
    }

    #[test]
    fn hostile() {
        assert!(parse(b"[]")
            .unwrap_err()
            .starts_with("unexpected JSON structure"));
        assert!(parse(br#"{"libraries":[1]}"#)
            .unwrap_err()
            .contains("`libraries` to be an object"));
        assert!(
            parse(br#"{"libraries":{"A/1":{"type":"package"},"B/2":{"ty"#)
                .unwrap_err()
                .starts_with("truncated JSON")
        );
        assert!(parse(br#"{"libraries":{"A/1":{"type":"pack"#)
            .unwrap_err()
            .starts_with("truncated JSON"));
        let mut many = String::from("{\"libraries\":{");
        for i in 0..=MAX_PACKAGES_PER_FILE {
            many.push_str(&format!("\"P{i}/1.0\":{{}},"));
        }
        many.push_str("\"x/1\":{}}}");
        assert_eq!(
            parse(many.as_bytes()).unwrap_err(),
            crate::catalog::too_many_packages()
        );
    }
}
