//! dpkg: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`; the file lists
//! `var/lib/dpkg/info/NAME[:ARCH].list` and distroless `status.d/NAME.md5sums` for which files a
//! package owns.

use super::{field, for_each_stanza, Cataloger, MAX_PACKAGES_PER_FILE};
use crate::model::{FileResult, Owned, RawPackage};
use std::ops::ControlFlow;

pub struct DpkgCataloger;

const STATUS: &str = "var/lib/dpkg/status";
const STATUS_D: &str = "var/lib/dpkg/status.d/";
const INFO: &str = "var/lib/dpkg/info/";

impl Cataloger for DpkgCataloger {
    fn name(&self) -> &'static str {
        "dpkg"
    }
    fn version(&self) -> u32 {
        // 2: file lists (`info/*.list`, `status.d/*.md5sums`) for ownership of language packages.
        2
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            "var/lib/dpkg/status",
            "var/lib/dpkg/status.d/*",
            "var/lib/dpkg/info/*.list",
        ]
    }
    fn wants(&self, path: &str) -> bool {
        if path == STATUS {
            return true;
        }
        if let Some(name) = path.strip_prefix(INFO) {
            return !name.contains('/') && list_owner(name, ".list").is_some();
        }
        match path.strip_prefix(STATUS_D) {
            Some(name) => !name.is_empty() && !name.contains('/'),
            None => false,
        }
    }
    fn max_size(&self) -> u64 {
        // Real status files are a few MB; the whole file is held while it is parsed.
        64 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        if let Some(name) = path.strip_prefix(INFO) {
            return Ok(self.file_list(path, list_owner(name, ".list"), STATUS.into(), data));
        }
        if let Some(name) = path.strip_prefix(STATUS_D) {
            if let Some(owner) = list_owner(name, ".md5sums") {
                let db = format!("{STATUS_D}{}", &name[..name.len() - ".md5sums".len()]);
                return Ok(self.file_list(path, Some(owner), db, data));
            }
        }
        let text = super::text(data);
        let distroless = path != STATUS;
        let mut packages = Vec::new();
        let mut too_many = false;
        for_each_stanza(
            &text,
            &["Package", "Version", "Source", "Architecture", "Status"],
            |f| {
                if let Some(p) = package(f, distroless) {
                    if packages.len() == MAX_PACKAGES_PER_FILE {
                        too_many = true;
                        return ControlFlow::Break(());
                    }
                    packages.push(p);
                }
                ControlFlow::Continue(())
            },
        );
        if too_many {
            return Err(super::too_many_packages());
        }
        Ok(FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages,
            ..FileResult::default()
        })
    }
}

impl DpkgCataloger {
    /// A `.list` (one path per line) or `.md5sums` (`MD5  path` per line, paths relative to the
    /// root) file: the paths of `owner` that a language cataloger reads.
    fn file_list(
        &self,
        path: &str,
        owner: Option<(&str, Option<&str>)>,
        db: String,
        data: &[u8],
    ) -> FileResult {
        let mut fr = FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            ..FileResult::default()
        };
        let Some((name, arch)) = owner else {
            return fr;
        };
        let md5sums = path.ends_with(".md5sums");
        let mut paths: Vec<String> = super::text(data)
            .lines()
            .filter_map(|line| {
                let p = if md5sums {
                    // Two spaces (or " *" for binary mode) after the 32 hex digits.
                    line.split_once(' ')?.1.trim_start_matches([' ', '*'])
                } else {
                    line
                };
                super::owned_path(p)
            })
            .collect();
        paths.sort_unstable();
        paths.dedup();
        if !paths.is_empty() {
            fr.owned.push(Owned {
                kind: "deb".into(),
                name: name.to_string(),
                arch: arch.map(str::to_string),
                db: Some(db),
                paths,
            });
        }
        fr
    }
}

/// `NAME[:ARCH]SUFFIX` -> (NAME, ARCH).
fn list_owner<'a>(file: &'a str, suffix: &str) -> Option<(&'a str, Option<&'a str>)> {
    let stem = file.strip_suffix(suffix)?;
    let (name, arch) = match stem.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (stem, None),
    };
    if name.is_empty() || arch.is_some_and(str::is_empty) {
        return None;
    }
    Some((name, arch))
}

fn package(f: &[(&str, String)], distroless: bool) -> Option<RawPackage> {
    let name = field(f, "Package")?;
    let version = field(f, "Version")?;
    match field(f, "Status") {
        // "want flag status": only packages whose state is exactly "installed" are on disk.
        Some(status) => {
            if status.split_whitespace().nth(2) != Some("installed") {
                return None;
            }
        }
        // Distroless status.d files carry no Status line; the file's presence is the status.
        None if distroless => {}
        None => return None,
    }
    // "Source: name (version)" when the source version differs from the binary's.
    let (source_name, source_version) = match field(f, "Source") {
        Some(src) => match src.split_once('(') {
            Some((n, v)) => (
                n.trim().to_string(),
                v.trim_end_matches(')').trim().to_string(),
            ),
            None => (src.trim().to_string(), version.to_string()),
        },
        None => (name.to_string(), version.to_string()),
    };
    Some(RawPackage {
        kind: "deb".into(),
        name: name.to_string(),
        version: version.to_string(),
        epoch: None,
        source_name: Some(source_name),
        source_version: Some(source_version),
        arch: field(f, "Architecture").map(str::to_string),
        license: None,
        namespace: None,
        ..RawPackage::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_file() {
        let s = b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nSource: glibc\nArchitecture: amd64\nDescription: x\n multi\n .\n line\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2+b1\n";
        let r = DpkgCataloger.parse(STATUS, s).unwrap();
        assert_eq!(r.packages.len(), 2);
        assert_eq!(r.packages[0].source_name.as_deref(), Some("glibc"));
        assert_eq!(
            r.packages[0].source_version.as_deref(),
            Some("2.36-9+deb12u4")
        );
        assert_eq!(
            r.packages[1].source_version.as_deref(),
            Some("3.0.11-1~deb12u2")
        );
        assert_eq!(r.packages[1].version, "3.0.11-1~deb12u2+b1");
    }

    #[test]
    fn absurd_package_count_is_refused() {
        let stanza =
            |i: usize| format!("Package: p{i}\nStatus: install ok installed\nVersion: 1\n\n");
        let at_limit: String = (0..super::super::MAX_PACKAGES_PER_FILE)
            .map(stanza)
            .collect();
        let r = DpkgCataloger.parse(STATUS, at_limit.as_bytes()).unwrap();
        assert_eq!(r.packages.len(), super::super::MAX_PACKAGES_PER_FILE);
        let over = at_limit + &stanza(usize::MAX);
        assert!(DpkgCataloger.parse(STATUS, over.as_bytes()).is_err());
    }

    #[test]
    fn wants() {
        assert!(DpkgCataloger.wants("var/lib/dpkg/status.d/base"));
        assert!(DpkgCataloger.wants("var/lib/dpkg/status.d/base.md5sums"));
        assert!(!DpkgCataloger.wants("var/lib/dpkg/status-old"));
        assert!(DpkgCataloger.wants("var/lib/dpkg/info/python3-six.list"));
        assert!(DpkgCataloger.wants("var/lib/dpkg/info/libc6:amd64.list"));
        assert!(!DpkgCataloger.wants("var/lib/dpkg/info/libc6.md5sums"));
        assert!(!DpkgCataloger.wants("var/lib/dpkg/info/.list"));
        assert!(!DpkgCataloger.wants("var/lib/dpkg/info/x:.list"));
        assert!(!DpkgCataloger.wants("var/lib/dpkg/info/sub/x.list"));
    }

    const SIX_LIST: &str = "/.\n/usr\n/usr/lib\n/usr/lib/python3\n/usr/lib/python3/dist-packages\n\
/usr/lib/python3/dist-packages/six-1.16.0.egg-info\n\
/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO\n\
/usr/lib/python3/dist-packages/six-1.16.0.egg-info/dependency_links.txt\n\
/usr/lib/python3/dist-packages/six-1.16.0.egg-info/top_level.txt\n\
/usr/lib/python3/dist-packages/six.py\n/usr/share/doc/python3-six/copyright\n";

    #[test]
    fn file_list_keeps_only_language_paths() {
        let r = DpkgCataloger
            .parse("var/lib/dpkg/info/python3-six.list", SIX_LIST.as_bytes())
            .unwrap();
        assert!(r.packages.is_empty());
        assert_eq!(r.owned.len(), 1);
        let o = &r.owned[0];
        assert_eq!((o.kind.as_str(), o.name.as_str()), ("deb", "python3-six"));
        assert_eq!(o.arch, None);
        assert_eq!(o.db.as_deref(), Some(STATUS));
        assert_eq!(
            o.paths,
            [
                "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
                "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            ]
        );
        // Arch-qualified names; a list without language files records nothing (but still parses,
        // so it replaces a lower layer's version of the same file).
        let r = DpkgCataloger
            .parse(
                "var/lib/dpkg/info/libc6:amd64.list",
                b"/usr/lib/x86_64-linux-gnu/libc.so.6\n",
            )
            .unwrap();
        assert!(r.owned.is_empty() && r.packages.is_empty());
        let r = DpkgCataloger
            .parse(
                "var/lib/dpkg/info/python3-x:arm64.list",
                b"/usr/lib/python3/dist-packages/x-1.dist-info/METADATA\n",
            )
            .unwrap();
        assert_eq!(r.owned[0].name, "python3-x");
        assert_eq!(r.owned[0].arch.as_deref(), Some("arm64"));
    }

    #[test]
    fn distroless_md5sums() {
        let r = DpkgCataloger
            .parse(
                "var/lib/dpkg/status.d/python3-six.md5sums",
                b"0123456789abcdef0123456789abcdef  usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA\n\
0123456789abcdef0123456789abcdef *usr/lib/python3/dist-packages/six.py\nbroken-line\n",
            )
            .unwrap();
        assert!(r.packages.is_empty());
        assert_eq!(
            r.owned[0].db.as_deref(),
            Some("var/lib/dpkg/status.d/python3-six")
        );
        assert_eq!(
            r.owned[0].paths,
            ["usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"]
        );
    }

    #[test]
    fn hostile_file_lists() {
        // Escaping, empty, binary and huge inputs: no panic, nothing outside the root.
        let r = DpkgCataloger
            .parse(
                "var/lib/dpkg/info/p.list",
                b"../../etc/x.dist-info/METADATA\n/../../a.egg-info\n\n\0\xff\xfe\n/./x/./y.egg-info//PKG-INFO",
            )
            .unwrap();
        assert_eq!(r.owned[0].paths, ["x/y.egg-info/PKG-INFO"]);
        let many = "/usr/lib/python3/dist-packages/a.dist-info/METADATA\n".repeat(100_000);
        let r = DpkgCataloger
            .parse("var/lib/dpkg/info/p.list", many.as_bytes())
            .unwrap();
        assert_eq!(r.owned[0].paths.len(), 1);
        let r = DpkgCataloger
            .parse("var/lib/dpkg/info/p.list", b"")
            .unwrap();
        assert!(r.owned.is_empty());
    }
}
