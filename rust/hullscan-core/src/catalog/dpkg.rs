//! dpkg: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`.

use super::{field, for_each_stanza, Cataloger, MAX_PACKAGES_PER_FILE};
use crate::model::{FileResult, RawPackage};
use std::ops::ControlFlow;

pub struct DpkgCataloger;

const STATUS: &str = "var/lib/dpkg/status";
const STATUS_D: &str = "var/lib/dpkg/status.d/";

impl Cataloger for DpkgCataloger {
    fn name(&self) -> &'static str {
        "dpkg"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &["var/lib/dpkg/status", "var/lib/dpkg/status.d/*"]
    }
    fn wants(&self, path: &str) -> bool {
        if path == STATUS {
            return true;
        }
        match path.strip_prefix(STATUS_D) {
            Some(name) => !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums"),
            None => false,
        }
    }
    fn max_size(&self) -> u64 {
        // Real status files are a few MB; the whole file is held while it is parsed.
        64 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
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
            release: None,
            ..FileResult::default()
        })
    }
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
        assert!(!DpkgCataloger.wants("var/lib/dpkg/status.d/base.md5sums"));
        assert!(!DpkgCataloger.wants("var/lib/dpkg/status-old"));
    }
}
