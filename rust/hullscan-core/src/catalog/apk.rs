//! apk: `lib/apk/db/installed`, one package per blank-line separated block of `X:value` lines.

use super::Cataloger;
use crate::model::{FileResult, RawPackage};

pub struct ApkCataloger;

impl Cataloger for ApkCataloger {
    fn name(&self) -> &'static str {
        "apk"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &["lib/apk/db/installed"]
    }
    fn wants(&self, path: &str) -> bool {
        path == "lib/apk/db/installed"
    }
    fn max_size(&self) -> u64 {
        // Real databases are a few MB; the whole file is held while it is parsed.
        64 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let text = super::text(data);
        let mut packages = Vec::new();
        let mut cur = Entry::default();
        for line in text.lines().chain(std::iter::once("")) {
            if line.is_empty() {
                if let Some(p) = cur.take() {
                    if packages.len() == super::MAX_PACKAGES_PER_FILE {
                        return Err(super::too_many_packages());
                    }
                    packages.push(p);
                }
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k {
                "P" => cur.name = Some(v.to_string()),
                "V" => cur.version = Some(v.to_string()),
                "o" => cur.origin = Some(v.to_string()),
                "A" => cur.arch = Some(v.to_string()),
                "L" => cur.license = Some(v.to_string()),
                _ => {}
            }
        }
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages,
            release: None,
            ..FileResult::default()
        })
    }
}

#[derive(Default)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    origin: Option<String>,
    arch: Option<String>,
    license: Option<String>,
}

impl Entry {
    fn take(&mut self) -> Option<RawPackage> {
        let e = std::mem::take(self);
        let (name, version) = (e.name?, e.version?);
        if name.is_empty() || version.is_empty() {
            return None;
        }
        Some(RawPackage {
            kind: "apk".into(),
            source_name: Some(
                e.origin
                    .filter(|o| !o.is_empty())
                    .unwrap_or_else(|| name.clone()),
            ),
            source_version: Some(version.clone()),
            name,
            version,
            epoch: None,
            arch: e.arch.filter(|a| !a.is_empty()),
            license: e.license.filter(|l| !l.is_empty()),
            namespace: None,
            ..RawPackage::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks() {
        let db = b"C:Q1abc\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\nL:MIT\n\nP:busybox-binsh\nV:1.36.1-r29\no:busybox\nA:x86_64\n";
        let r = ApkCataloger.parse("lib/apk/db/installed", db).unwrap();
        assert_eq!(r.packages.len(), 2);
        assert_eq!(r.packages[1].name, "busybox-binsh");
        assert_eq!(r.packages[1].source_name.as_deref(), Some("busybox"));
        assert_eq!(r.packages[0].license.as_deref(), Some("MIT"));
    }
}
