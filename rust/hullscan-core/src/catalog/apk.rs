//! apk: `lib/apk/db/installed`, one package per blank-line separated block of `X:value` lines.
//! `F:` names a directory and the `R:` lines after it the files in it that the package owns.

use super::Cataloger;
use crate::model::{FileResult, Owned, RawPackage};

pub struct ApkCataloger;

impl Cataloger for ApkCataloger {
    fn name(&self) -> &'static str {
        "apk"
    }
    fn version(&self) -> u32 {
        // 2: owned files (`F:` / `R:`) that language catalogers read.
        2
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
        let mut owned = Vec::new();
        let mut cur = Entry::default();
        for line in text.lines().chain(std::iter::once("")) {
            if line.is_empty() {
                if let Some((p, paths)) = cur.take() {
                    if packages.len() == super::MAX_PACKAGES_PER_FILE {
                        return Err(super::too_many_packages());
                    }
                    if !paths.is_empty() {
                        owned.push(Owned {
                            kind: p.kind.clone(),
                            name: p.name.clone(),
                            arch: p.arch.clone(),
                            db: None,
                            paths,
                        });
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
                "F" => {
                    v.clone_into(&mut cur.dir);
                    // The directory itself counts too (a dist-info directory).
                    if let Some(p) = super::owned_path(v) {
                        cur.owned.push(p);
                    }
                }
                "R" => {
                    let file = if cur.dir.is_empty() {
                        v.to_string()
                    } else {
                        format!("{}/{v}", cur.dir)
                    };
                    if let Some(p) = super::owned_path(&file) {
                        cur.owned.push(p);
                    }
                }
                _ => {}
            }
        }
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages,
            owned,
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
    /// The current `F:` directory.
    dir: String,
    /// Owned paths worth keeping (see [`super::owned_path_matters`]).
    owned: Vec<String>,
}

impl Entry {
    fn take(&mut self) -> Option<(RawPackage, Vec<String>)> {
        let mut e = std::mem::take(self);
        let (name, version) = (e.name?, e.version?);
        if name.is_empty() || version.is_empty() {
            return None;
        }
        e.owned.sort_unstable();
        e.owned.dedup();
        let package = RawPackage {
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
        };
        Some((package, e.owned))
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
        assert!(r.owned.is_empty());
    }

    #[test]
    fn owned_files() {
        let db = b"P:py3-six\nV:1.16.0-r9\nA:noarch\no:py3-six\n\
F:usr\nF:usr/lib/python3.12/site-packages\nR:six.py\nZ:Q1abc=\n\
F:usr/lib/python3.12/site-packages/six-1.16.0.dist-info\nR:METADATA\nR:RECORD\nR:METADATA\n\
\nP:musl\nV:1.2.5-r0\nF:lib\nR:ld-musl-x86_64.so.1\n\
\nP:weird\nV:1\nR:top.egg-info\nF:../../x.dist-info\nR:METADATA\n";
        let r = ApkCataloger.parse("lib/apk/db/installed", db).unwrap();
        assert_eq!(r.packages.len(), 3);
        assert_eq!(r.owned.len(), 2);
        let o = &r.owned[0];
        assert_eq!((o.kind.as_str(), o.name.as_str()), ("apk", "py3-six"));
        assert_eq!(o.arch.as_deref(), Some("noarch"));
        assert_eq!(o.db, None);
        assert_eq!(
            o.paths,
            [
                "usr/lib/python3.12/site-packages/six-1.16.0.dist-info",
                "usr/lib/python3.12/site-packages/six-1.16.0.dist-info/METADATA",
            ]
        );
        // R: before any F: is at the root; a directory climbing out of the root is dropped, and
        // so are the files under it.
        assert_eq!(r.owned[1].name, "weird");
        assert_eq!(r.owned[1].paths, ["top.egg-info"]);
    }
}
