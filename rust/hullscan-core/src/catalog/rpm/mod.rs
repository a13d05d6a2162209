//! rpm: `rpmdb.sqlite` (RHEL 9, Fedora, Amazon Linux 2023), Berkeley DB `Packages` (CentOS 7,
//! Amazon Linux 2) and NDB `Packages.db` (SUSE). Each backend yields header blobs; [`header`] reads
//! the tags we need from a blob.

use super::Cataloger;
use crate::model::{FileResult, Owned, RawPackage};

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

pub struct RpmCataloger;

const DIRS: &[&str] = &["var/lib/rpm/", "usr/lib/sysimage/rpm/"];

impl Cataloger for RpmCataloger {
    fn name(&self) -> &'static str {
        "rpm"
    }
    fn version(&self) -> u32 {
        // 2: the backends are implemented (1 only ever produced "not implemented" warnings).
        // 3: owned files (BASENAMES / DIRNAMES / DIRINDEXES) that language catalogers read.
        3
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            "var/lib/rpm/Packages",
            "var/lib/rpm/Packages.db",
            "var/lib/rpm/rpmdb.sqlite",
            "usr/lib/sysimage/rpm/Packages",
            "usr/lib/sysimage/rpm/Packages.db",
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
        ]
    }
    fn wants(&self, path: &str) -> bool {
        DIRS.iter().any(|d| {
            path.strip_prefix(d)
                .is_some_and(|f| matches!(f, "Packages" | "Packages.db" | "rpmdb.sqlite"))
        })
    }
    fn max_size(&self) -> u64 {
        512 * 1024 * 1024
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let blobs = if path.ends_with("rpmdb.sqlite") {
            sqlite::header_blobs(data)?
        } else if path.ends_with("Packages.db") {
            ndb::header_blobs(data)?
        } else {
            bdb::header_blobs(data)?
        };
        if blobs.len() > super::MAX_PACKAGES_PER_FILE {
            return Err(super::too_many_packages());
        }
        let mut packages = Vec::with_capacity(blobs.len());
        let mut owned = Vec::new();
        for blob in &blobs {
            if let Some((p, paths)) = header::package_and_files(blob)? {
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

/// Build the package record from the header tags (shared by every backend).
#[must_use]
pub fn raw_package(h: &header::Tags) -> Option<RawPackage> {
    let name = h.name.clone()?;
    let version = h.version.clone()?;
    let release = h.release.clone().unwrap_or_default();
    let vr = if release.is_empty() {
        version
    } else {
        format!("{version}-{release}")
    };
    let full = match h.epoch {
        Some(e) => format!("{e}:{vr}"),
        None => vr,
    };
    let (source_name, source_version) = h
        .source_rpm
        .as_deref()
        .and_then(split_source_rpm)
        .map_or((None, None), |(n, v)| (Some(n), Some(v)));
    Some(RawPackage {
        kind: "rpm".into(),
        name,
        version: full,
        epoch: h.epoch,
        source_name,
        source_version,
        arch: h.arch.clone(),
        license: h.license.clone(),
        namespace: None,
        ..RawPackage::default()
    })
}

/// `openssl-3.0.7-27.el9.src.rpm` -> (`openssl`, `3.0.7-27.el9`).
#[must_use]
pub fn split_source_rpm(s: &str) -> Option<(String, String)> {
    let base = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = base.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.to_string(), format!("{version}-{release}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm() {
        assert_eq!(
            split_source_rpm("openssl-3.0.7-27.el9.src.rpm"),
            Some(("openssl".into(), "3.0.7-27.el9".into()))
        );
        assert_eq!(split_source_rpm("junk"), None);
    }

    #[test]
    fn wants() {
        assert!(RpmCataloger.wants("var/lib/rpm/Packages"));
        assert!(RpmCataloger.wants("usr/lib/sysimage/rpm/rpmdb.sqlite"));
        assert!(!RpmCataloger.wants("var/lib/rpm/Name"));
    }
}
