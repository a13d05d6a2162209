//! Catalogers: each declares which paths it wants and parses one file at a time.
//!
//! The layer walk asks every cataloger in [`CATALOGERS`] whether it wants an entry (a few string
//! comparisons, no allocation), reads only the wanted regular files (up to the cataloger's size limit)
//! and hands their bytes to [`Cataloger::parse`]. Adding an ecosystem is one file plus one line in the
//! list. Each cataloger has a version that is part of the layer-cache key: bump it when its output
//! changes, and only layers it read are re-analysed.

use crate::model::FileResult;
use std::io::{self, Read};
use std::ops::ControlFlow;

pub mod apk;
pub mod cargo_auditable;
pub mod cargo_lock;
pub mod composer;
pub mod dotnet;
pub mod dpkg;
pub mod exe;
pub mod executable;
pub mod gem;
pub mod gobinary;
pub mod gomod;
pub mod java;
mod lenient;
pub mod npm;
pub mod python;
pub mod release;
pub mod rpm;

/// How many bytes of a file the walk reads to ask [`Cataloger::wants_content`].
pub const SNIFF_HEAD: usize = 64;

/// Files smaller than this are never sniffed: no executable with build information is this small,
/// and most of an image's files that nobody wants by path are (the walk then reads nothing of them).
pub const SNIFF_MIN_SIZE: u64 = 1024;

/// What a cataloger that claimed a file by its content made of it.
#[derive(Debug)]
pub enum Sniffed {
    /// Packages found: recorded like a path cataloger's result.
    Found(FileResult),
    /// Not one of this cataloger's files after all (an executable without build information):
    /// nothing is recorded, so the thousands of ordinary executables in an image cost no entries.
    Nothing,
    /// It was one, but could not be read: a warning (and a placeholder, as for a parse error).
    Failed(String),
}

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

    /// Whether this cataloger also claims files by their content (default: no). The walk asks
    /// [`Cataloger::wants_content`] only of such catalogers, only for regular files that no
    /// cataloger wants by path, and only for files of at least [`SNIFF_MIN_SIZE`] bytes.
    fn sniffs(&self) -> bool {
        false
    }
    /// Whether a file starting with `head` (its first [`SNIFF_HEAD`] bytes, fewer only if the file
    /// is shorter) is one of this cataloger's. Must be cheap: it is asked for most files.
    fn wants_content(&self, _head: &[u8]) -> bool {
        false
    }
    /// Parse a claimed file from a stream: `head` is what was already read, `rest` yields the
    /// remaining `size - head.len()` bytes (a cataloger need not read them all). Only errors of
    /// `rest` itself are `Err`. The default buffers the whole file and calls
    /// [`Cataloger::parse`]; `size` is at most [`Cataloger::max_size`].
    ///
    /// # Errors
    /// Reading `rest` failed.
    fn parse_stream(
        &self,
        path: &str,
        head: &[u8],
        rest: &mut dyn Read,
        size: u64,
    ) -> io::Result<Sniffed> {
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(64 << 20));
        data.extend_from_slice(head);
        rest.take(size.saturating_sub(head.len() as u64))
            .read_to_end(&mut data)?;
        Ok(match self.parse(path, &data) {
            Ok(fr) => Sniffed::Found(fr),
            Err(msg) => Sniffed::Failed(msg),
        })
    }
    /// Parse a claimed file of a root filesystem, which can be read at any offset. The default
    /// reads it front to back with [`Cataloger::parse_stream`].
    ///
    /// # Errors
    /// Reading the file failed.
    fn parse_file(&self, path: &str, file: &mut std::fs::File, size: u64) -> io::Result<Sniffed> {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(0))?;
        let mut head = vec![0u8; usize::try_from(size).unwrap_or(SNIFF_HEAD).min(SNIFF_HEAD)];
        file.read_exact(&mut head)?;
        self.parse_stream(path, &head, file, size)
    }
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
    &gomod::GoModCataloger,
    &cargo_lock::CargoLockCataloger,
    &executable::ExecutableCataloger,
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

/// The first content-sniffing cataloger that claims a file starting with `head`.
#[must_use]
pub fn find_by_content(head: &[u8]) -> Option<&'static dyn Cataloger> {
    CATALOGERS
        .iter()
        .copied()
        .find(|c| c.sniffs() && c.wants_content(head))
}

/// Whether any cataloger sniffs content (if none does, the walk reads nothing it is not asked to).
#[must_use]
pub fn any_sniffs() -> bool {
    CATALOGERS.iter().any(|c| c.sniffs())
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
