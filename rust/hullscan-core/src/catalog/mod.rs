//! Catalogers: each declares which paths it wants and parses one file at a time.
//!
//! The layer walk asks every cataloger in [`CATALOGERS`] whether it wants an entry (a few string
//! comparisons, no allocation), reads only the wanted regular files (up to the cataloger's size limit)
//! and hands their bytes to [`Cataloger::parse`]. Adding an ecosystem is one file plus one line in the
//! list. Each cataloger has a version that is part of the layer-cache key: bump it when its output
//! changes, and only layers it read are re-analysed.

use crate::model::FileResult;
use std::ops::ControlFlow;

pub mod apk;
pub mod composer;
pub mod dotnet;
pub mod dpkg;
pub mod gem;
pub mod java;
mod lenient;
pub mod npm;
pub mod python;
pub mod release;
pub mod rpm;

/// Parses one kind of file into packages or release facts.
pub trait Cataloger: Sync {
    /// Stable name, e.g. `dpkg`.
    fn name(&self) -> &'static str;
    /// Bump when the output for the same input changes.
    fn version(&self) -> u32;
    /// The paths this cataloger reads, as documentation (`**` = any directories).
    fn patterns(&self) -> &'static [&'static str];
    /// Whether the normalised, root-relative `path` is one of [`Cataloger::patterns`].
    fn wants(&self, path: &str) -> bool;
    /// Files larger than this are skipped with a warning.
    fn max_size(&self) -> u64;
    /// Parse `data` read from `path`. `Err` becomes a warning; other files still count.
    ///
    /// # Errors
    /// A message saying why the file could not be understood.
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String>;
}

/// Every cataloger, in the order their results are listed.
pub static CATALOGERS: &[&dyn Cataloger] = &[
    &release::ReleaseCataloger,
    &apk::ApkCataloger,
    &dpkg::DpkgCataloger,
    &rpm::RpmCataloger,
    &python::PythonCataloger,
    &java::JavaCataloger,
    &npm::NpmCataloger,
    &gem::GemCataloger,
    &composer::ComposerCataloger,
    &dotnet::DotnetCataloger,
];

/// `name=version` of every cataloger, sorted: part of each layer's cache key.
#[must_use]
pub fn versions() -> Vec<String> {
    let mut v: Vec<String> = CATALOGERS
        .iter()
        .map(|c| format!("{}={}", c.name(), c.version()))
        .collect();
    v.sort();
    v
}

/// The first cataloger that wants `path`.
#[must_use]
pub fn find(path: &str) -> Option<&'static dyn Cataloger> {
    CATALOGERS.iter().copied().find(|c| c.wants(path))
}

/// Most packages one database file may list. Real ones list at most a few thousand (all of Debian
/// is ~65k binary packages); a file with more is hostile, and parsing it all would cost memory
/// out of all proportion to its size (hundreds of bytes per package), so it is refused.
pub const MAX_PACKAGES_PER_FILE: usize = 100_000;

/// The message for a file over [`MAX_PACKAGES_PER_FILE`].
pub(crate) fn too_many_packages() -> String {
    format!("more than {MAX_PACKAGES_PER_FILE} packages; not a real package database, skipped")
}

/// Text of a file, lossily decoded: package databases are UTF-8 in practice, but a stray byte in one
/// description must not lose the whole database.
pub(crate) fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Parse RFC 822-like stanzas ("Key: value", continuation lines start with white space) separated by
/// blank lines, as dpkg status files and Python METADATA use. Calls `f` with each stanza's fields;
/// continuation lines are appended with a newline. Only the keys `keep` names are stored. `f`
/// returns [`ControlFlow::Break`] to stop early.
pub(crate) fn for_each_stanza<'a>(
    text: &'a str,
    keep: &[&str],
    mut f: impl FnMut(&[(&'a str, String)]) -> ControlFlow<()>,
) {
    let mut fields: Vec<(&'a str, String)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !fields.is_empty() {
                if f(&fields).is_break() {
                    return;
                }
                fields.clear();
            }
            current = None;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(i) = current {
                fields[i].1.push('\n');
                fields[i].1.push_str(line.trim());
            }
            continue;
        }
        current = None;
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim();
            if keep.iter().any(|w| w.eq_ignore_ascii_case(k)) {
                fields.push((k, v.trim().to_string()));
                current = Some(fields.len() - 1);
            }
        }
    }
    if !fields.is_empty() {
        let _ = f(&fields);
    }
}

pub(crate) fn field<'b>(fields: &'b [(&str, String)], key: &str) -> Option<&'b str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Catalogers that read OS package databases and release files; every other cataloger reads
/// language packages.
const OS_CATALOGERS: &[&str] = &["release", "apk", "dpkg", "rpm"];

/// Whether an OS package's file at the root-relative, normalised `path` is worth remembering as
/// owned: the layer walk hands it to a language cataloger ([`find`] picks one that is not an OS
/// cataloger), or it is a Python `*.dist-info` / `*.egg-info` metadata directory (whose METADATA /
/// PKG-INFO the Python cataloger reads). Everything else an OS package installs (most of the
/// image) is dropped while its database is parsed, so layer results stay small.
#[must_use]
pub fn owned_path_matters(path: &str) -> bool {
    let last = crate::paths::split(path).1;
    if last.ends_with("dist-info") || last.ends_with("egg-info") {
        return true;
    }
    find(path).is_some_and(|c| !OS_CATALOGERS.contains(&c.name()))
}

/// `path` from a package database's file list, normalised, if it is one [`owned_path_matters`]
/// keeps.
pub(crate) fn owned_path(path: &str) -> Option<String> {
    let p = crate::paths::normalize(path)?;
    owned_path_matters(&p).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_paths_that_matter() {
        for p in [
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            "usr/lib/python3.12/site-packages/a-1.dist-info",
            "usr/lib/python3.12/site-packages/a-1.dist-info/METADATA",
        ] {
            assert!(owned_path_matters(p), "{p}");
        }
        for p in [
            "usr/lib/python3/dist-packages/six.py",
            "usr/lib/python3.12/site-packages/a-1.dist-info/RECORD",
            "var/lib/dpkg/status",
            "lib/apk/db/installed",
            "var/lib/rpm/rpmdb.sqlite",
            "etc/os-release",
            "usr/share/doc/python3-six/copyright",
        ] {
            assert!(!owned_path_matters(p), "{p}");
        }
        assert_eq!(
            owned_path("/usr/lib/./python3/x.egg-info//PKG-INFO").as_deref(),
            Some("usr/lib/python3/x.egg-info/PKG-INFO")
        );
        assert_eq!(owned_path("/../x.egg-info"), None);
        assert_eq!(owned_path("/usr/bin/python3"), None);
    }
}
