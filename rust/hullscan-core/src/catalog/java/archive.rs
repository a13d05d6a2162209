//! Packages of one Java archive and of the archives nested in it.
//!
//! For each archive (syft's java archive cataloger, as 1.18.1 behaves):
//! - its own package comes from `META-INF/MANIFEST.MF`: the name from `Bundle-SymbolicName` when
//!   the Apache Maven Bundle Plugin wrote it, else from the file name (the last field of a dotted
//!   name), else the manifest's `Name`, `Bundle-Name`, `Short-Name`, `Extension-Name`,
//!   `Implementation-Title`;
//!   the version from the file name, else `Implementation-Version`, `Specification-Version`,
//!   `Plugin-Version`, `Bundle-Version`. When the archive has exactly one `pom.properties` (or one
//!   `pom.xml`) and its artifactId starts with the file-name name, that artifactId and version win;
//! - every `pom.properties` (anywhere in the archive, with artifactId and version) is a package,
//!   unless it is the archive's own (same groupId, artifactId and version as the archive's package,
//!   or its artifactId is the archive's name), which then takes the pom's name, version and
//!   groupId. A shaded jar thus lists each bundled artifact;
//! - the groupId: `pom.properties`, else a well-known artifact's, else an attribute of the
//!   manifest that looks like one (`Bundle-SymbolicName`, ...), else the name itself (as syft's
//!   purls);
//! - archives inside (`*.jar`, `*.war`, ... anywhere in it) are read the same way, recursively.
//!
//! Where this differs from syft, on purpose:
//! - an archive without a manifest still yields its `pom.properties` packages (syft then reports
//!   nothing, which hides the libraries of jars built without one);
//! - a missing version is reported empty, not `UNKNOWN` (see pom.rs);
//! - syft's table of well-known artifactIds -> groupIds (about 4,000 entries) is not copied: a short
//!   list of our own covers Spring's jars (which have no `pom.properties`); others without
//!   `pom.properties` get their groupId from the manifest or the name;
//! - nesting is read to [`Limits::max_depth`] levels, within budgets of inflated bytes (in all,
//!   and held at once), entries and archives per top-level file (syft has no limits).

use super::meta::{known_group_id, name_from_file_name, parse_file_name, Manifest, PomProperties};
use super::zip::{Archive, Entry, ZipError};
use crate::catalog::{too_many_packages, MAX_PACKAGES_PER_FILE};
use crate::model::RawPackage;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// File name suffixes of Java archives (syft's globs, case-sensitive as they are).
pub const ARCHIVE_SUFFIXES: &[&str] = &[
    ".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".kar", ".lpkg",
];

#[must_use]
pub fn is_archive_name(name: &[u8]) -> bool {
    ARCHIVE_SUFFIXES.iter().any(|s| {
        name.len() > s.len()
            && name.ends_with(s.as_bytes())
            && name[name.len() - s.len() - 1] != b'/'
    })
}

/// Bounds on the work one top-level archive may cause.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nesting levels read below the top-level archive (`a.war:b.jar` is level 1).
    pub max_depth: usize,
    /// Bytes inflated in all (nested archives and metadata files): the work one file may cause.
    /// Stored members are read in place and cost nothing here.
    pub max_inflated: u64,
    /// Bytes of inflated nested archives held at once (those on the path being read): the memory
    /// one file may cause besides its own bytes.
    pub max_live: u64,
    /// Central-directory entries walked in all.
    pub max_entries: u64,
    /// Nested archives opened in all.
    pub max_archives: usize,
    /// Largest `MANIFEST.MF` / `pom.properties` read.
    pub max_meta: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 4,
            max_inflated: 1 << 30,
            max_live: 256 << 20,
            max_entries: 4_000_000,
            max_archives: 20_000,
            max_meta: 4 << 20,
        }
    }
}

/// What walking one top-level archive produced.
#[derive(Debug, Default)]
pub struct Walk {
    limits: Limits,
    inflated: u64,
    live: u64,
    entries: u64,
    archives: usize,
    pub packages: Vec<RawPackage>,
    pub warnings: Vec<String>,
    /// Set once a whole-walk limit stops the reading (no further warnings about it).
    stopped: bool,
}

/// A limit that ends the walk of the whole top-level archive.
struct Stop;

/// The archive's own package while it is being worked out.
struct Own {
    name: String,
    version: String,
    manifest: Manifest,
    pom: Option<PomProperties>,
}

impl Own {
    fn group(&self) -> Option<String> {
        self.pom
            .as_ref()
            .and_then(PomProperties::group)
            .or_else(|| known_group_id(&self.name).map(str::to_string))
            .or_else(|| self.manifest.group_id())
    }
}

fn package(name: &str, version: &str, group: Option<String>, inner: &str) -> RawPackage {
    RawPackage {
        kind: "java-archive".into(),
        name: name.to_string(),
        version: version.to_string(),
        namespace: Some(group.unwrap_or_else(|| name.to_string())),
        inner_path: (!inner.is_empty()).then(|| inner.to_string()),
        ..RawPackage::default()
    }
}

impl Walk {
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Walk {
            limits,
            ..Walk::default()
        }
    }

    /// Read the top-level archive `data` found at `path`.
    ///
    /// # Errors
    /// Why the archive itself cannot be read (not a zip, corrupt central directory); problems
    /// inside it (a nested archive, a metadata file) are [`Walk::warnings`].
    pub fn run(&mut self, path: &str, data: &[u8]) -> Result<(), String> {
        match self.archive(data, path, "", 0) {
            Ok(Ok(())) | Err(Stop) => Ok(()),
            Ok(Err(e)) => Err(e),
        }
    }

    fn warn(&mut self, inner: &str, msg: impl std::fmt::Display) {
        if inner.is_empty() {
            self.warnings.push(msg.to_string());
        } else {
            self.warnings.push(format!("{inner}: {msg}"));
        }
    }

    fn stop(&mut self, inner: &str, msg: impl std::fmt::Display) -> Stop {
        if !self.stopped {
            self.stopped = true;
            self.warn(
                inner,
                format!("limit: {msg}; the rest of the archive is not read"),
            );
        }
        Stop
    }

    fn push(&mut self, inner: &str, p: RawPackage) -> Result<(), Stop> {
        if self.packages.len() >= MAX_PACKAGES_PER_FILE {
            return Err(self.stop(inner, too_many_packages()));
        }
        self.packages.push(p);
        Ok(())
    }

    /// Read a metadata member (bounded, counted in the inflate budget).
    fn meta<'a>(
        &mut self,
        zip: &Archive<'a>,
        e: &Entry<'_>,
        inner: &str,
    ) -> Result<Option<Cow<'a, [u8]>>, Stop> {
        let left = self.limits.max_inflated - self.inflated;
        if e.uncompressed_size > left {
            return Err(self.stop(
                inner,
                format!("more than {} bytes inflated", self.limits.max_inflated),
            ));
        }
        match zip.read(e, self.limits.max_meta.min(left)) {
            Ok(b) => {
                if matches!(b, Cow::Owned(_)) {
                    self.inflated += b.len() as u64;
                }
                Ok(Some(b))
            }
            Err(err) => {
                self.warn(inner, err);
                Ok(None)
            }
        }
    }

    /// One archive. The outer `Result` is a walk-wide stop; the inner one says why this archive
    /// could not be read at all.
    fn archive(
        &mut self,
        data: &[u8],
        name: &str,
        inner: &str,
        depth: usize,
    ) -> Result<Result<(), String>, Stop> {
        let zip = match Archive::open(data) {
            Ok(z) => z,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let mut manifest: Option<Entry<'_>> = None;
        let mut poms: Vec<Entry<'_>> = Vec::new();
        let mut pom_xml = 0usize;
        let mut nested: Vec<Entry<'_>> = Vec::new();
        for e in zip.entries() {
            let e = match e {
                Ok(e) => e,
                Err(err) => return Ok(Err(err.to_string())),
            };
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(self.stop(
                    inner,
                    format!("more than {} zip entries", self.limits.max_entries),
                ));
            }
            if e.is_dir() {
                continue;
            }
            if e.name == b"META-INF/MANIFEST.MF" {
                manifest.get_or_insert(e);
            } else if e.name.ends_with(b"pom.properties") {
                if poms.len() >= self.limits.max_archives {
                    return Err(self.stop(inner, "too many pom.properties files"));
                }
                poms.push(e);
            } else if e.name.ends_with(b"pom.xml") {
                pom_xml += 1;
            } else if is_archive_name(e.name) {
                if nested.len() >= self.limits.max_archives {
                    return Err(self.stop(
                        inner,
                        format!("more than {} nested archives", self.limits.max_archives),
                    ));
                }
                nested.push(e);
            }
        }

        // pom.properties with coordinates, one per directory (later ones replace earlier ones,
        // as in syft's map), in archive order.
        let mut by_dir: BTreeMap<Vec<u8>, (usize, PomProperties)> = BTreeMap::new();
        for (i, e) in poms.iter().enumerate() {
            let Some(bytes) = self.meta(&zip, e, inner)? else {
                continue;
            };
            match PomProperties::parse(&String::from_utf8_lossy(&bytes)) {
                Ok(p) if !p.artifact_id.is_empty() && !p.version.is_empty() => {
                    let dir =
                        e.name[..e.name.iter().rposition(|&c| c == b'/').unwrap_or(0)].to_vec();
                    by_dir.insert(dir, (i, p));
                }
                Ok(_) => {}
                Err(err) => self.warn(inner, format!("{}: {err}", e.name_lossy())),
            }
        }
        let mut props: Vec<(usize, PomProperties)> = by_dir.into_values().collect();
        props.sort_by_key(|(i, _)| *i);

        let file = parse_file_name(name);
        let mut own = match manifest {
            Some(e) => self.meta(&zip, &e, inner)?.map(|b| {
                let m = Manifest::parse(&String::from_utf8_lossy(&b));
                Own {
                    name: String::new(),
                    version: String::new(),
                    manifest: m,
                    pom: None,
                }
            }),
            None => None,
        };
        if let Some(own) = own.as_mut() {
            let mut guessed: Option<&PomProperties> = None;
            if poms.len() == 1 || pom_xml == 1 {
                for (_, p) in &props {
                    if !file.name.is_empty() && p.artifact_id.starts_with(&file.name) {
                        guessed = Some(p);
                    }
                }
            }
            own.name = match guessed {
                Some(p) => p.artifact_id.clone(),
                None => own
                    .manifest
                    .bundle_plugin_name()
                    .or_else(|| Some(name_from_file_name(&file)).filter(|n| !n.is_empty()))
                    .or_else(|| own.manifest.name())
                    .unwrap_or("")
                    .to_string(),
            };
            own.version = match guessed {
                Some(p) => p.version.clone(),
                None if !file.version.is_empty() => file.version.clone(),
                None => own.manifest.version().unwrap_or("").to_string(),
            };
        }

        let mut found = Vec::new();
        for (_, p) in props {
            if let Some(own) = own.as_mut() {
                let own_group = own.group().unwrap_or_default();
                let key = (own_group.as_str(), own.name.as_str(), own.version.as_str());
                let same = (
                    p.group().unwrap_or_default().as_str(),
                    p.artifact_id.as_str(),
                    p.version.as_str(),
                ) == key
                    || (
                        p.group_id.as_str(),
                        p.artifact_id.as_str(),
                        p.version.as_str(),
                    ) == key
                    || p.artifact_id == own.name;
                if same {
                    own.name.clone_from(&p.artifact_id);
                    own.version.clone_from(&p.version);
                    own.pom.get_or_insert(p);
                    continue;
                }
            }
            found.push(package(&p.artifact_id, &p.version, p.group(), inner));
        }
        if let Some(own) = &own {
            if !own.name.is_empty() {
                let p = package(&own.name, &own.version, own.group(), inner);
                self.push(inner, p)?;
            }
        }
        for p in found {
            self.push(inner, p)?;
        }

        // Nested archives, depth first.
        let mut spans: BTreeMap<usize, usize> = BTreeMap::new();
        for e in &nested {
            let ename = e.name_lossy();
            let child = if inner.is_empty() {
                ename.to_string()
            } else {
                format!("{inner}:{ename}")
            };
            if depth + 1 > self.limits.max_depth {
                self.warn(
                    &child,
                    format!(
                        "limit: nested more than {} archives deep; not read",
                        self.limits.max_depth
                    ),
                );
                continue;
            }
            self.archives += 1;
            if self.archives > self.limits.max_archives {
                return Err(self.stop(
                    inner,
                    format!("more than {} nested archives", self.limits.max_archives),
                ));
            }
            // Members whose bytes overlap are a zip bomb's trick (one deflate stream listed many
            // times); each byte range is read once.
            match zip.span(e) {
                Ok((s, end)) => {
                    let overlaps = spans
                        .range(..end)
                        .next_back()
                        .is_some_and(|(_, &pe)| pe > s);
                    if overlaps {
                        self.warn(
                            &child,
                            "corrupt zip archive: member overlaps another; not read",
                        );
                        continue;
                    }
                    spans.insert(s, end);
                }
                Err(err) => {
                    self.warn(&child, err);
                    continue;
                }
            }
            let total_room = self.limits.max_inflated - self.inflated;
            let live_room = self.limits.max_live.saturating_sub(self.live);
            let limit = if e.method == 0 {
                u64::MAX
            } else {
                total_room.min(live_room)
            };
            let bytes = match zip.read(e, limit) {
                Ok(b) => b,
                Err(ZipError::TooLarge { .. }) => {
                    let msg = if live_room < total_room {
                        format!(
                            "nested archives would hold more than {} inflated bytes at once",
                            self.limits.max_live
                        )
                    } else {
                        format!("more than {} bytes inflated", self.limits.max_inflated)
                    };
                    return Err(self.stop(&child, msg));
                }
                Err(err) => {
                    self.warn(&child, err);
                    continue;
                }
            };
            let held = if matches!(bytes, Cow::Owned(_)) {
                bytes.len() as u64
            } else {
                0
            };
            self.inflated += held;
            self.live += held;
            let r = self.archive(&bytes, &ename, &child, depth + 1);
            self.live -= held;
            if let Err(msg) = r? {
                self.warn(&child, msg);
            }
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::zip::tests::build;
    use super::*;

    const MF: &[u8] = b"Manifest-Version: 1.0\r\n";

    fn props(g: &str, a: &str, v: &str) -> Vec<u8> {
        format!("groupId={g}\nartifactId={a}\nversion={v}\n").into_bytes()
    }

    fn walk(path: &str, data: &[u8], limits: Limits) -> (Walk, Result<(), String>) {
        let mut w = Walk::new(limits);
        let r = w.run(path, data);
        (w, r)
    }

    fn rows(w: &Walk) -> Vec<(String, String, String, String)> {
        w.packages
            .iter()
            .map(|p| {
                (
                    p.namespace.clone().unwrap_or_default(),
                    p.name.clone(),
                    p.version.clone(),
                    p.inner_path.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn row(g: &str, n: &str, v: &str, at: &str) -> (String, String, String, String) {
        (g.into(), n.into(), v.into(), at.into())
    }

    #[test]
    fn shaded_jar_lists_bundled_artifacts_and_merges_its_own() {
        let p1 = props("org.acme", "app", "2.0");
        let p2 = props("com.a", "dep-a", "3.1");
        let p3 = props("", "com.looks.like", "8");
        let jar = build(&[
            ("META-INF/MANIFEST.MF", MF, true),
            ("META-INF/maven/org.acme/app/pom.properties", &p1, true),
            ("META-INF/maven/com.a/dep-a/pom.properties", &p2, false),
            ("META-INF/maven/x/y/pom.properties", &p3, true),
            ("com/a/A.class", b"\xca\xfe\xba\xbe", true),
        ]);
        let (w, r) = walk("opt/app-1.0.jar", &jar, Limits::default());
        r.unwrap();
        assert_eq!(
            rows(&w),
            [
                row("org.acme", "app", "2.0", ""),
                row("com.a", "dep-a", "3.1", ""),
                row("com.looks.like", "com.looks.like", "8", ""),
            ]
        );
        assert!(w.warnings.is_empty(), "{:?}", w.warnings);
    }

    #[test]
    fn nested_archives_and_their_locations() {
        let deep3 = build(&[
            ("META-INF/MANIFEST.MF", MF, false),
            (
                "META-INF/maven/org.deep/deep3/pom.properties",
                &props("org.deep", "deep3", "3"),
                false,
            ),
        ]);
        let deep2 = build(&[
            ("META-INF/MANIFEST.MF", MF, true),
            ("lib/deep3-3.jar", &deep3, true),
        ]);
        let war = build(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\nImplementation-Title: web\nImplementation-Version: 7\n",
                true,
            ),
            ("WEB-INF/lib/deep2-2.jar", &deep2, false),
            ("WEB-INF/lib/broken-1.jar", b"PK\x03\x04 not really", true),
            ("WEB-INF/lib/", b"", false),
        ]);
        let (w, r) = walk("srv/outer.war", &war, Limits::default());
        r.unwrap();
        assert_eq!(
            rows(&w),
            [
                row("outer", "outer", "7", ""),
                row("deep2", "deep2", "2", "WEB-INF/lib/deep2-2.jar"),
                row(
                    "org.deep",
                    "deep3",
                    "3",
                    "WEB-INF/lib/deep2-2.jar:lib/deep3-3.jar"
                ),
            ]
        );
        assert_eq!(w.warnings.len(), 1, "{:?}", w.warnings);
        assert!(w.warnings[0].starts_with("WEB-INF/lib/broken-1.jar: not a zip archive"));
        // With depth 1 the third level is reported, not read.
        let (w, _) = walk(
            "srv/outer.war",
            &war,
            Limits {
                max_depth: 1,
                ..Limits::default()
            },
        );
        assert_eq!(w.packages.len(), 2);
        assert!(w
            .warnings
            .iter()
            .any(|x| x.contains("lib/deep3-3.jar: limit: nested more than 1")));
    }

    #[test]
    fn jar_without_manifest_still_lists_its_poms() {
        let jar = build(&[(
            "META-INF/maven/g/a/pom.properties",
            &props("g", "a", "1"),
            true,
        )]);
        let (w, r) = walk("a-1.jar", &jar, Limits::default());
        r.unwrap();
        assert_eq!(rows(&w), [row("g", "a", "1", "")]);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut inner = build(&[("META-INF/MANIFEST.MF", MF, false)]);
        for i in 0..50 {
            inner = build(&[
                ("META-INF/MANIFEST.MF", MF, false),
                (&format!("n{i}-1.jar"), &inner, i % 2 == 0),
            ]);
        }
        let (w, r) = walk("top-1.jar", &inner, Limits::default());
        r.unwrap();
        // The top-level archive and 4 nested levels.
        assert_eq!(w.packages.len(), 5);
        assert_eq!(w.warnings.len(), 1, "{:?}", w.warnings);
        assert!(w.warnings[0].contains("limit: nested more than 4 archives deep"));
    }

    #[test]
    fn inflate_budget_and_bombs() {
        // 64 MiB of zeros deflate to ~64 KiB; the budget is 1 MiB: the walk stops with a warning
        // before inflating it (its declared size is over what is left).
        let zeros = vec![0u8; 64 << 20];
        let bomb = build(&[
            ("META-INF/MANIFEST.MF", MF, true),
            ("lib/zeros-1.jar", &zeros, true),
        ]);
        assert!(bomb.len() < 200_000);
        let small = Limits {
            max_inflated: 1 << 20,
            ..Limits::default()
        };
        let (w, r) = walk("bomb-1.jar", &bomb, small);
        r.unwrap();
        assert_eq!(rows(&w), [row("bomb", "bomb", "1", "")]);
        assert!(
            w.warnings[0].contains("limit: more than 1048576 bytes inflated"),
            "{:?}",
            w.warnings
        );
        let (w, _) = walk(
            "bomb-1.jar",
            &bomb,
            Limits {
                max_live: 1 << 20,
                ..Limits::default()
            },
        );
        assert!(
            w.warnings[0].contains("would hold more than 1048576 inflated bytes at once"),
            "{:?}",
            w.warnings
        );
        // With room, the zeros are inflated and found not to be a zip.
        let (w, _) = walk("bomb-1.jar", &bomb, Limits::default());
        assert!(
            w.warnings[0].contains("not a zip archive"),
            "{:?}",
            w.warnings
        );
        // Many entries: the walk stops at the limit.
        let names: Vec<String> = (0..1000).map(|i| format!("f{i}")).collect();
        let members: Vec<(&str, &[u8], bool)> = names
            .iter()
            .map(|n| (n.as_str(), &b""[..], false))
            .collect();
        let many = build(&members);
        let (w, r) = walk(
            "many.jar",
            &many,
            Limits {
                max_entries: 100,
                ..Limits::default()
            },
        );
        r.unwrap();
        assert!(w.warnings[0].contains("limit: more than 100 zip entries"));
    }

    #[test]
    fn overlapping_members_are_read_once() {
        // Two central-directory entries for the same local member (the overlapping-file bomb).
        let inner = build(&[("META-INF/MANIFEST.MF", MF, true)]);
        let mut z = build(&[("a-1.jar", &inner, true), ("b-1.jar", &inner, true)]);
        // Point the second entry's local offset at the first member.
        let cd_off = u32::from_le_bytes(z[z.len() - 6..z.len() - 2].try_into().unwrap()) as usize;
        let first_len = 46 + "a-1.jar".len();
        z[cd_off + first_len + 42..cd_off + first_len + 46].copy_from_slice(&0u32.to_le_bytes());
        let outer = z;
        let (w, r) = walk("o.jar", &outer, Limits::default());
        r.unwrap();
        assert_eq!(w.packages.len(), 1, "{:?}", rows(&w));
        assert!(
            w.warnings.iter().any(|x| x.contains("overlaps")),
            "{:?}",
            w.warnings
        );
    }

    #[test]
    fn not_a_zip_is_an_error_for_the_file() {
        let (_, r) = walk("x.jar", b"\x7fELF not a jar at all", Limits::default());
        assert!(r.unwrap_err().starts_with("not a zip archive"));
        let good = build(&[("META-INF/MANIFEST.MF", MF, true)]);
        let (_, r) = walk("x.jar", &good[..good.len() - 30], Limits::default());
        assert!(r.is_err());
    }
}
