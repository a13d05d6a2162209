//! The compiled advisory index.
//!
//! Built once from OSV records; for every (ecosystem, package) it keeps the affected ranges as
//! intervals of order-preserving version keys (see [`crate::version`]) and the explicitly listed
//! versions as sorted keys. The file is a flat little-endian layout read into one buffer and used
//! in place: loading it is one `read`, no parsing, and a range check is a `memcmp`.
//!
//! Layout: a header (magic, counts, section offsets), then fixed-size tables (packages sorted by
//! ecosystem and name, entries, intervals, listed versions, advisories, an open-addressing hash
//! table of the packages) pointing into a byte blob. Each package also carries its *ceiling*: the
//! highest version any of its ranges or listed versions reaches, so the common case (an installed
//! version newer than every fix) is decided with one comparison.
//! Every read is bounds-checked: a damaged file yields an error or no match, never a panic.

use crate::error::{Error, Result};
use crate::osv::{Event, Record};
use crate::purl::normalize_python;
use crate::version::Scheme;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

/// The magic's last byte is the format version.
const MAGIC: &[u8; 8] = b"HSIDX\0\0\x02";
/// The format this build reads and writes (the last byte of the magic).
pub const FORMAT_VERSION: u8 = 2;
const HEADER: usize = 96;
const SECTIONS: usize = 7;
const PKG: usize = 36;
const ENTRY: usize = 24;
const IV: usize = 36;
const VER: usize = 16;
const ADV: usize = 8;
const SLOT: usize = 4;
const NONE: u32 = u32::MAX;

/// FNV-1a over `ecosystem 0xff name`: the package hash table's hash (stable: it is in the file).
fn pkg_hash(eco: &[u8], name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for &b in eco {
        mix(b);
    }
    mix(0xff);
    for &b in name {
        mix(b);
    }
    h
}

/// What an OSV range type means for a package's ecosystem.
fn scheme_for(range_type: &str, ecosystem: &str) -> Option<Scheme> {
    let eco = Scheme::from_name(ecosystem)?;
    match range_type {
        "ECOSYSTEM" => Some(eco),
        "SEMVER" if eco == Scheme::Go => Some(Scheme::Go),
        "SEMVER" => Some(Scheme::Semver),
        _ => None,
    }
}

/// Versions as an ecosystem writes them, made comparable by its scheme (Go's OSV records omit
/// the `v` its module versions carry).
#[must_use]
pub fn normalize_version(scheme: Scheme, v: &str) -> Cow<'_, str> {
    if scheme == Scheme::Go && !v.starts_with('v') {
        Cow::Owned(format!("v{v}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// Package names as an ecosystem compares them (PyPI: PEP 503).
#[must_use]
pub fn normalize_name<'a>(ecosystem: &str, name: &'a str) -> Cow<'a, str> {
    let normal = |n: &str| {
        let b = n.as_bytes();
        b.first() != Some(&b'-')
            && b.last() != Some(&b'-')
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !b.windows(2).any(|w| w == b"--")
    };
    if ecosystem == "PyPI" && !normal(name) {
        Cow::Owned(normalize_python(name))
    } else {
        Cow::Borrowed(name)
    }
}

/// Counts from a build, for `db status` and the import report.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BuildStats {
    pub records: u64,
    pub withdrawn: u64,
    pub invalid_records: u64,
    pub packages: u64,
    pub ranges: u64,
    pub intervals: u64,
    pub listed_versions: u64,
    /// Affected entries of ecosystems no scheme compares (skipped).
    pub unknown_ecosystems: u64,
    /// Range events or listed versions that are not versions of their scheme (skipped).
    pub invalid_versions: u64,
    pub git_ranges: u64,
}

struct BInterval {
    lo: Option<Vec<u8>>,
    hi: Option<Vec<u8>>,
    hi_inclusive: bool,
    introduced: String,
    /// The fixed / last_affected / limit version closing the interval, with its kind.
    closer: Option<(u8, String)>,
}

struct BEntry {
    adv: u32,
    scheme: Scheme,
    range_type: u8,
    intervals: Vec<BInterval>,
    versions: Vec<(Vec<u8>, String)>,
}

/// Builds an index from OSV records.
#[derive(Default)]
pub struct Builder {
    packages: BTreeMap<(String, String), Vec<BEntry>>,
    advisories: Vec<String>,
    by_id: HashMap<String, u32>,
    pub stats: BuildStats,
}

/// The closing kinds of an interval.
pub const CLOSE_FIXED: u8 = 1;
pub const CLOSE_LAST_AFFECTED: u8 = 2;
pub const CLOSE_LIMIT: u8 = 3;

impl Builder {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one OSV record given as JSON text.
    pub fn add_json(&mut self, json: &[u8]) {
        match serde_json::from_slice::<Record>(json) {
            Ok(r) if !r.id.is_empty() => self.add(&r),
            _ => self.stats.invalid_records += 1,
        }
    }

    /// Add one OSV record.
    pub fn add(&mut self, r: &Record) {
        self.stats.records += 1;
        if r.withdrawn.as_deref().is_some_and(|w| !w.is_empty()) {
            self.stats.withdrawn += 1;
            return;
        }
        let mut adv: Option<u32> = None;
        for a in &r.affected {
            let Some(pkg) = &a.package else { continue };
            let Some(eco_scheme) = Scheme::from_name(&pkg.ecosystem) else {
                self.stats.unknown_ecosystems += 1;
                continue;
            };
            let mut entries = Vec::new();
            for range in &a.ranges {
                if range.kind == "GIT" {
                    self.stats.git_ranges += 1;
                    continue;
                }
                let Some(scheme) = scheme_for(&range.kind, &pkg.ecosystem) else {
                    continue;
                };
                self.stats.ranges += 1;
                match self.intervals(scheme, &range.events) {
                    Some(ivs) if !ivs.is_empty() => {
                        self.stats.intervals += ivs.len() as u64;
                        entries.push((scheme, u8::from(range.kind == "SEMVER"), ivs));
                    }
                    Some(_) => {}
                    None => self.stats.invalid_versions += 1,
                }
            }
            let mut versions: Vec<(Vec<u8>, String)> = Vec::new();
            for v in &a.versions {
                match eco_scheme.key(&normalize_version(eco_scheme, v)) {
                    Ok(k) => versions.push((k, v.clone())),
                    Err(_) => self.stats.invalid_versions += 1,
                }
            }
            versions.sort();
            versions.dedup_by(|a, b| a.0 == b.0);
            if entries.is_empty() && versions.is_empty() {
                continue;
            }
            let id = *adv.get_or_insert_with(|| self.advisory(r));
            let key = (
                pkg.ecosystem.clone(),
                normalize_name(&pkg.ecosystem, &pkg.name).into_owned(),
            );
            let list = self.packages.entry(key).or_default();
            self.stats.listed_versions += versions.len() as u64;
            let mut first = true;
            for (scheme, range_type, intervals) in entries {
                list.push(BEntry {
                    adv: id,
                    scheme,
                    range_type,
                    intervals,
                    versions: if first {
                        std::mem::take(&mut versions)
                    } else {
                        Vec::new()
                    },
                });
                first = false;
            }
            if first {
                list.push(BEntry {
                    adv: id,
                    scheme: eco_scheme,
                    range_type: 2,
                    intervals: Vec::new(),
                    versions,
                });
            }
        }
    }

    /// The details kept for an advisory: what a finding shows, as JSON.
    fn advisory(&mut self, r: &Record) -> u32 {
        if let Some(&i) = self.by_id.get(&r.id) {
            return i;
        }
        let mut severity = r.severity.clone();
        for a in &r.affected {
            for s in &a.severity {
                if !severity.iter().any(|x| x.score == s.score) {
                    severity.push(s.clone());
                }
            }
        }
        let details = serde_json::json!({
            "id": r.id,
            "aliases": r.aliases,
            "summary": r.summary,
            "published": r.published,
            "modified": r.modified,
            "severity": severity,
            "database_specific": r.database_specific,
            "affected_specific": r.affected.iter().filter_map(|a| a.database_specific.clone()
                .or_else(|| a.ecosystem_specific.clone())).next(),
        });
        let i = u32::try_from(self.advisories.len()).unwrap_or(u32::MAX);
        self.advisories.push(details.to_string());
        self.by_id.insert(r.id.clone(), i);
        i
    }

    /// OSV events to intervals of keys; `None` if an event's version is invalid.
    fn intervals(&self, scheme: Scheme, events: &[Event]) -> Option<Vec<BInterval>> {
        // (key or None for "0", rank, kind, text)
        let mut evs: Vec<(Option<Vec<u8>>, u8, String)> = Vec::new();
        for e in events {
            let (kind, text) = if let Some(v) = &e.introduced {
                (0u8, v)
            } else if let Some(v) = &e.fixed {
                (CLOSE_FIXED, v)
            } else if let Some(v) = &e.last_affected {
                (CLOSE_LAST_AFFECTED, v)
            } else if let Some(v) = &e.limit {
                (CLOSE_LIMIT, v)
            } else {
                continue;
            };
            let key = if kind == 0 && text == "0" {
                None
            } else if kind == CLOSE_LIMIT && text == "*" {
                continue;
            } else {
                Some(scheme.key(&normalize_version(scheme, text)).ok()?)
            };
            evs.push((key, kind, text.clone()));
        }
        evs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let limit = evs
            .iter()
            .filter(|e| e.1 == CLOSE_LIMIT)
            .filter_map(|e| e.0.clone().map(|k| (k, e.2.clone())))
            .min();
        let mut out = Vec::new();
        let mut open: Option<(Option<Vec<u8>>, String)> = None;
        for (key, kind, text) in evs {
            match kind {
                0 if open.is_none() => open = Some((key, text)),
                CLOSE_FIXED | CLOSE_LAST_AFFECTED => {
                    if let Some((lo, intro)) = open.take() {
                        out.push(BInterval {
                            lo,
                            hi: key,
                            hi_inclusive: kind == CLOSE_LAST_AFFECTED,
                            introduced: intro,
                            closer: Some((kind, text)),
                        });
                    }
                }
                _ => {}
            }
        }
        if let Some((lo, intro)) = open {
            out.push(BInterval {
                lo,
                hi: None,
                hi_inclusive: false,
                introduced: intro,
                closer: None,
            });
        }
        if let Some((lk, ltext)) = limit {
            out.retain(|iv| iv.lo.as_ref().is_none_or(|lo| *lo < lk));
            for iv in &mut out {
                let over = match &iv.hi {
                    None => true,
                    Some(h) => *h > lk || (iv.hi_inclusive && *h == lk),
                };
                if over {
                    iv.hi = Some(lk.clone());
                    iv.hi_inclusive = false;
                    iv.closer = Some((CLOSE_LIMIT, ltext.clone()));
                }
            }
        }
        Some(out)
    }

    /// Serialise the index.
    #[must_use]
    pub fn finish(mut self) -> Vec<u8> {
        self.stats.packages = self.packages.len() as u64;
        let mut w = Writer::default();
        let mut pkgs = Vec::new();
        let mut entries = Vec::new();
        let mut ivs = Vec::new();
        let mut vers = Vec::new();
        let mut n_entries = 0u32;
        let mut n_ivs = 0u32;
        let mut n_vers = 0u32;
        let n_slots = (self.packages.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![0u32; n_slots];
        // What a lookup reads (names and ceilings) comes first in the blob, in package order:
        // a few contiguous megabytes rather than addresses spread over the whole file.
        let heads: Vec<[u32; 7]> = self
            .packages
            .iter()
            .map(|((eco, name), list)| {
                let (eo, el) = w.blob(eco.as_bytes());
                let (no, nl) = w.blob(name.as_bytes());
                let (co, cl, cs) = match ceiling(list) {
                    Some((scheme, k)) => {
                        let (o, l) = w.blob(&k);
                        (o, l, u32::from(scheme as u8))
                    }
                    None => (0, NONE, 0),
                };
                [eo, el, no, nl, co, cl, cs]
            })
            .collect();
        for (pi, (((eco, name), list), h)) in self.packages.iter().zip(&heads).enumerate() {
            put(
                &mut pkgs,
                &[
                    h[0],
                    h[1],
                    h[2],
                    h[3],
                    n_entries,
                    len32(list.len()),
                    h[4],
                    h[5],
                    h[6],
                ],
            );
            let mut slot = pkg_hash(eco.as_bytes(), name.as_bytes()) as usize & (n_slots - 1);
            while slots[slot] != 0 {
                slot = (slot + 1) & (n_slots - 1);
            }
            slots[slot] = len32(pi + 1);
            for e in list {
                let flags = u32::from(e.scheme as u8) | (u32::from(e.range_type) << 8);
                put(
                    &mut entries,
                    &[
                        e.adv,
                        flags,
                        n_ivs,
                        len32(e.intervals.len()),
                        n_vers,
                        len32(e.versions.len()),
                    ],
                );
                for iv in &e.intervals {
                    let (lo, ll) = iv.lo.as_ref().map_or((0, NONE), |k| w.blob(k));
                    let (hi, hl) = iv.hi.as_ref().map_or((0, NONE), |k| w.blob(k));
                    let (io, il) = w.blob(iv.introduced.as_bytes());
                    let (kind, (fo, fl)) = iv
                        .closer
                        .as_ref()
                        .map_or((0, (0, 0)), |(k, t)| (*k, w.blob(t.as_bytes())));
                    let flags = u32::from(iv.hi_inclusive) | (u32::from(kind) << 8);
                    put(&mut ivs, &[lo, ll, hi, hl, flags, io, il, fo, fl]);
                    n_ivs += 1;
                }
                for (k, s) in &e.versions {
                    let (ko, kl) = w.blob(k);
                    let (so, sl) = w.blob(s.as_bytes());
                    put(&mut vers, &[ko, kl, so, sl]);
                    n_vers += 1;
                }
                n_entries += 1;
            }
        }
        let mut advs = Vec::new();
        for a in &self.advisories {
            let (o, l) = w.blob(a.as_bytes());
            put(&mut advs, &[o, l]);
        }
        let mut slot_bytes = Vec::with_capacity(n_slots * SLOT);
        put(&mut slot_bytes, &slots);
        let counts = [
            len32(self.packages.len()),
            n_entries,
            n_ivs,
            n_vers,
            len32(self.advisories.len()),
            len32(n_slots),
        ];
        let sections = [pkgs, entries, ivs, vers, advs, slot_bytes, w.data];
        let mut out = Vec::with_capacity(HEADER + sections.iter().map(Vec::len).sum::<usize>());
        out.extend_from_slice(MAGIC);
        for c in counts {
            out.extend_from_slice(&c.to_le_bytes());
        }
        let mut off = HEADER as u64;
        for s in &sections {
            out.extend_from_slice(&off.to_le_bytes());
            off += s.len() as u64;
        }
        // The blob's length closes the header, so a truncated file is detected on load.
        out.extend_from_slice(&len32(sections[SECTIONS - 1].len()).to_le_bytes());
        out.resize(HEADER, 0);
        for s in sections {
            out.extend_from_slice(&s);
        }
        out
    }
}

/// The highest version a package's entries reach (interval ends and listed versions), when they
/// all compare in one scheme and none is open-ended: a version above it matches nothing.
fn ceiling(list: &[BEntry]) -> Option<(Scheme, Vec<u8>)> {
    let scheme = list.first()?.scheme;
    let mut top: Option<&[u8]> = None;
    for e in list {
        if e.scheme != scheme {
            return None;
        }
        for iv in &e.intervals {
            let hi = iv.hi.as_deref()?;
            top = Some(top.map_or(hi, |t| t.max(hi)));
        }
        if let Some((k, _)) = e.versions.last() {
            top = Some(top.map_or(k.as_slice(), |t| t.max(k.as_slice())));
        }
    }
    top.map(|t| (scheme, t.to_vec()))
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn put(out: &mut Vec<u8>, vals: &[u32]) {
    for v in vals {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

#[derive(Default)]
struct Writer {
    data: Vec<u8>,
    dedup: HashMap<Vec<u8>, u32>,
}

impl Writer {
    /// Append bytes to the blob (identical byte strings are stored once).
    fn blob(&mut self, b: &[u8]) -> (u32, u32) {
        if let Some(&o) = self.dedup.get(b) {
            return (o, len32(b.len()));
        }
        let o = len32(self.data.len());
        self.data.extend_from_slice(b);
        if b.len() <= 64 {
            self.dedup.insert(b.to_vec(), o);
        }
        (o, len32(b.len()))
    }
}

/// Read JSON-lines files of OSV records (plain, gzip or zstd) into a builder.
///
/// # Errors
/// [`Error::Io`] when a file cannot be read or decompressed.
pub fn build_from_files(paths: &[impl AsRef<Path>]) -> Result<(Vec<u8>, BuildStats)> {
    let mut b = Builder::new();
    for p in paths {
        let p = p.as_ref();
        let io = |e: std::io::Error| Error::io(p.display().to_string(), e);
        let raw = std::fs::read(p).map_err(io)?;
        let data: Vec<u8> = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(io)?;
            out
        } else if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            zstd::stream::decode_all(&raw[..]).map_err(io)?
        } else {
            raw
        };
        for line in data.split(|&c| c == b'\n') {
            let line = line.trim_ascii();
            if !line.is_empty() {
                b.add_json(line);
            }
        }
    }
    let mut stats = b.stats.clone();
    stats.packages = b.packages.len() as u64;
    Ok((b.finish(), stats))
}

/// The bytes of an index: a read-only memory map of the file, or a buffer.
enum Bytes {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// Map `file` read-only.
#[allow(unsafe_code)]
fn map(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private to this process; hullscan writes index files to a
    // temporary name and renames them into place (`db/index.py`), so a file is never changed
    // while mapped: a rebuilt index is a new inode and this map keeps the old one. What could
    // still break it is another program truncating the file in place, which would fault on
    // access (as for every mmap user); the bytes themselves are never trusted (every read is
    // bounds-checked against the header, see `from_storage`).
    unsafe { memmap2::MmapOptions::new().map(file) }
}

/// A loaded index.
pub struct Index {
    data: Bytes,
    n_pkg: u32,
    n_entry: u32,
    n_iv: u32,
    n_ver: u32,
    n_adv: u32,
    n_slot: u32,
    off: [usize; SECTIONS],
}

/// What matched: an interval of a range, or an explicitly listed version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    Interval(u32),
    Listed(u32),
}

/// One affected package version, as the matcher reports it: indices into the index, resolved to
/// text only when asked ([`Index::introduced`], [`Index::closer`], [`Index::listed`],
/// [`Index::fixed`]), so a match allocates nothing per hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the query (package) that matched.
    pub query: usize,
    pub advisory: u32,
    /// The scheme that compared.
    pub scheme: Scheme,
    /// `ECOSYSTEM`, `SEMVER`, or `versions` for an explicitly listed version.
    pub range_type: &'static str,
    /// The index's package record (ecosystem, name) that matched.
    pub package: u32,
    pub matched: Matched,
}

/// A package to match.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub ecosystem: &'a str,
    pub name: &'a str,
    pub version: &'a str,
}

/// A query whose version was turned into its ecosystem's key ahead of time
/// ([`PreparedQuery::new`]): matching it again (a stored inventory against each new index) skips
/// the parsing. Keys depend only on the version scheme, never on the index.
#[derive(Debug, Clone)]
pub struct PreparedQuery {
    pub ecosystem: String,
    /// The name as the index keys it (PyPI names PEP 503-normalised).
    pub name: String,
    pub version: String,
    /// The ecosystem's scheme and the version's key in it, or why it is not a version.
    pre: Option<(Scheme, std::result::Result<Vec<u8>, String>)>,
}

impl PreparedQuery {
    #[must_use]
    pub fn new(q: &Query<'_>) -> Self {
        let pre = Scheme::from_name(q.ecosystem).map(|scheme| {
            (
                scheme,
                scheme
                    .key(&normalize_version(scheme, q.version))
                    .map_err(|e| e.to_string()),
            )
        });
        PreparedQuery {
            ecosystem: q.ecosystem.to_string(),
            name: normalize_name(q.ecosystem, q.name).into_owned(),
            version: q.version.to_string(),
            pre,
        }
    }
}

type KeyCache = [Option<Option<Vec<u8>>>; 10];

/// The query's version key in `scheme`: the prepared key when there is one, else computed once
/// per query and scheme (a version that is not one of the scheme's gives one warning, no key).
fn key_for<'k>(
    keys: &'k mut KeyCache,
    pre: Option<&'k (Scheme, std::result::Result<Vec<u8>, String>)>,
    scheme: Scheme,
    version: &str,
    qi: usize,
    warnings: &mut Vec<(usize, String)>,
) -> Option<&'k [u8]> {
    let slot = &mut keys[scheme as usize];
    if slot.is_none() {
        if let Some((s, k)) = pre.filter(|(s, _)| *s == scheme) {
            debug_assert_eq!(*s, scheme);
            match k {
                Ok(k) => return Some(k),
                Err(msg) => {
                    warnings.push((qi, msg.clone()));
                    *slot = Some(None);
                }
            }
        }
    }
    slot.get_or_insert_with(|| match scheme.key(&normalize_version(scheme, version)) {
        Ok(k) => Some(k),
        Err(err) => {
            warnings.push((qi, err.to_string()));
            None
        }
    })
    .as_deref()
}

/// What the matcher needs of a query, plain or prepared.
pub trait AsQuery {
    #[allow(clippy::type_complexity)]
    fn parts(
        &self,
    ) -> (
        &str,
        &str,
        &str,
        Option<&(Scheme, std::result::Result<Vec<u8>, String>)>,
    );
}

impl AsQuery for Query<'_> {
    fn parts(
        &self,
    ) -> (
        &str,
        &str,
        &str,
        Option<&(Scheme, std::result::Result<Vec<u8>, String>)>,
    ) {
        (self.ecosystem, self.name, self.version, None)
    }
}

impl AsQuery for PreparedQuery {
    fn parts(
        &self,
    ) -> (
        &str,
        &str,
        &str,
        Option<&(Scheme, std::result::Result<Vec<u8>, String>)>,
    ) {
        (
            &self.ecosystem,
            &self.name,
            &self.version,
            self.pre.as_ref(),
        )
    }
}

/// Inventories smaller than this are matched on the calling thread: below it, starting threads
/// costs more than they save.
const PARALLEL_MIN_QUERIES: usize = 4096;

impl Index {
    /// Open an index file: map it (no read, no parsing; pages are read as matching touches them).
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Invalid`] for a missing or damaged file.
    pub fn load(path: &Path) -> Result<Index> {
        let io = |e| Error::io(path.display().to_string(), e);
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len == 0 {
            // An empty file cannot be mapped; it is as damaged as a short one.
            return Index::from_bytes(Vec::new());
        }
        Index::from_storage(Bytes::Mapped(map(&file).map_err(io)?))
    }

    /// Use an index held in memory.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the header or section bounds are wrong, or the file was written
    /// in another format version (the message says which; rebuild it from the store).
    pub fn from_bytes(data: Vec<u8>) -> Result<Index> {
        Index::from_storage(Bytes::Owned(data))
    }

    fn from_storage(data: Bytes) -> Result<Index> {
        let bad = |m: &str| Error::Invalid(format!("advisory index: {m}"));
        if data.len() >= 8 && data[..7] == MAGIC[..7] && data[7] != FORMAT_VERSION {
            return Err(bad(&format!(
                "format version {} (this hullscan reads version {FORMAT_VERSION}); rebuild it",
                data[7]
            )));
        }
        if data.len() < HEADER || &data[..8] != MAGIC {
            return Err(bad("not a hullscan index (wrong magic or version)"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap_or([0; 8]));
        let mut off = [0usize; SECTIONS];
        for (i, o) in off.iter_mut().enumerate() {
            *o = usize::try_from(u64_at(32 + 8 * i)).map_err(|_| bad("offset"))?;
        }
        let blob_len = u32_at(32 + 8 * SECTIONS) as usize;
        let idx = Index {
            n_pkg: u32_at(8),
            n_entry: u32_at(12),
            n_iv: u32_at(16),
            n_ver: u32_at(20),
            n_adv: u32_at(24),
            n_slot: u32_at(28),
            off,
            data,
        };
        if !idx.n_slot.is_power_of_two() || idx.n_slot < idx.n_pkg {
            return Err(bad("package table size"));
        }
        let sizes = [
            idx.n_pkg as usize * PKG,
            idx.n_entry as usize * ENTRY,
            idx.n_iv as usize * IV,
            idx.n_ver as usize * VER,
            idx.n_adv as usize * ADV,
            idx.n_slot as usize * SLOT,
        ];
        for (i, s) in sizes.iter().enumerate() {
            if idx.off[i].checked_add(*s) != Some(idx.off[i + 1]) {
                return Err(bad("section sizes do not add up"));
            }
        }
        if idx.off[0] != HEADER
            || idx.off[SECTIONS - 1].checked_add(blob_len) != Some(idx.data.len())
        {
            return Err(bad("truncated or padded"));
        }
        Ok(idx)
    }

    #[must_use]
    pub fn package_count(&self) -> u32 {
        self.n_pkg
    }
    #[must_use]
    pub fn advisory_count(&self) -> u32 {
        self.n_adv
    }
    #[must_use]
    pub fn interval_count(&self) -> u32 {
        self.n_iv
    }

    fn rec(&self, section: usize, size: usize, i: u32, field: usize) -> u32 {
        let o = self.off[section] + i as usize * size + field * 4;
        self.data
            .get(o..o + 4)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
    }

    /// The first `N` fields of record `i` of a section, with one bounds check (zeros if out of
    /// bounds: a damaged file matches nothing rather than panicking).
    fn row<const N: usize>(&self, section: usize, size: usize, i: u32) -> [u32; N] {
        let o = self.off[section] + i as usize * size;
        let mut out = [0u32; N];
        if let Some(b) = self.data.get(o..o + N * 4) {
            for (slot, c) in out.iter_mut().zip(b.chunks_exact(4)) {
                *slot = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        out
    }

    fn blob(&self, off: u32, len: u32) -> Option<&[u8]> {
        if len == NONE {
            return None;
        }
        let s = self.off[SECTIONS - 1].checked_add(off as usize)?;
        self.data.get(s..s.checked_add(len as usize)?)
    }

    fn text(&self, off: u32, len: u32) -> String {
        self.blob(off, len)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// The details JSON of an advisory.
    #[must_use]
    pub fn advisory(&self, i: u32) -> String {
        if i >= self.n_adv {
            return String::new();
        }
        self.text(self.rec(4, ADV, i, 0), self.rec(4, ADV, i, 1))
    }

    /// The package record of an ecosystem's package, through the hash table.
    fn find(&self, eco: &str, name: &str) -> Option<u32> {
        let mask = self.n_slot.checked_sub(1)?;
        let mut slot = (pkg_hash(eco.as_bytes(), name.as_bytes()) as u32) & mask;
        // At most n_slot probes: a damaged table cannot loop.
        for _ in 0..self.n_slot {
            let p = self.rec(5, SLOT, slot, 0);
            if p == 0 || p > self.n_pkg {
                return None;
            }
            let [eo, el, no, nl] = self.row::<4>(0, PKG, p - 1);
            if self.blob(no, nl) == Some(name.as_bytes())
                && self.blob(eo, el) == Some(eco.as_bytes())
            {
                return Some(p - 1);
            }
            slot = (slot + 1) & mask;
        }
        None
    }

    /// Match every query; returns the hits and, per query, a warning when its version could not
    /// be compared.
    #[must_use]
    pub fn match_all(&self, queries: &[Query<'_>]) -> (Vec<Hit>, Vec<(usize, String)>) {
        self.match_parts(queries)
    }

    /// [`Index::match_all`] for prepared queries (their version keys computed once).
    #[must_use]
    pub fn match_prepared(&self, queries: &[PreparedQuery]) -> (Vec<Hit>, Vec<(usize, String)>) {
        self.match_parts(queries)
    }

    fn match_parts<Q: AsQuery + Sync>(&self, queries: &[Q]) -> (Vec<Hit>, Vec<(usize, String)>) {
        // Large inventories are split across the cores; each part is independent.
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        if threads < 2 || queries.len() < PARALLEL_MIN_QUERIES {
            return self.match_range(queries, 0);
        }
        let chunk = queries.len().div_ceil(threads.min(8));
        let parts: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = queries
                .chunks(chunk)
                .enumerate()
                .map(|(i, qs)| s.spawn(move || self.match_range(qs, i * chunk)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut hits = Vec::new();
        let mut warnings = Vec::new();
        for (h, w) in parts {
            hits.extend(h);
            warnings.extend(w);
        }
        (hits, warnings)
    }

    fn match_range<Q: AsQuery>(
        &self,
        queries: &[Q],
        base: usize,
    ) -> (Vec<Hit>, Vec<(usize, String)>) {
        let mut hits = Vec::new();
        let mut warnings = Vec::new();
        let mut found = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            let (eco, name, version, pre) = q.parts();
            self.match_one(base + i, eco, name, version, pre, &mut found, &mut warnings);
            hits.append(&mut found);
        }
        (hits, warnings)
    }

    #[allow(clippy::too_many_arguments)]
    fn match_one(
        &self,
        qi: usize,
        eco: &str,
        name: &str,
        version: &str,
        pre: Option<&(Scheme, std::result::Result<Vec<u8>, String>)>,
        found: &mut Vec<Hit>,
        warnings: &mut Vec<(usize, String)>,
    ) {
        let name = normalize_name(eco, name);
        let Some(pkg) = self.find(eco, &name) else {
            return;
        };
        let [start, count, ceil_off, ceil_len, ceil_scheme] = {
            let r = self.row::<9>(0, PKG, pkg);
            [r[4], r[5], r[6], r[7], r[8]]
        };
        let mut keys: KeyCache = Default::default();
        if let (Some(ceil), Some(&scheme)) = (
            self.blob(ceil_off, ceil_len),
            Scheme::ALL.get(ceil_scheme as usize),
        ) {
            match key_for(&mut keys, pre, scheme, version, qi, warnings) {
                Some(k) if k > ceil => return,
                None => return,
                Some(_) => {}
            }
        }
        let end = start.saturating_add(count).min(self.n_entry);
        for e in start..end {
            let [adv, flags, iv0, ivn, v0, vn] = self.row::<6>(1, ENTRY, e);
            let Some(scheme) = Scheme::ALL.get((flags & 0xff) as usize).copied() else {
                continue;
            };
            let range_type = match (flags >> 8) & 0xff {
                0 => "ECOSYSTEM",
                1 => "SEMVER",
                _ => "versions",
            };
            let Some(key) = key_for(&mut keys, pre, scheme, version, qi, warnings) else {
                continue;
            };
            for iv in iv0..iv0.saturating_add(ivn).min(self.n_iv) {
                if self.in_interval(iv, key) {
                    found.push(Hit {
                        query: qi,
                        advisory: adv,
                        scheme,
                        range_type,
                        package: pkg,
                        matched: Matched::Interval(iv),
                    });
                }
            }
            if vn > 0 {
                if let Some(v) = self.find_listed(v0, vn, key) {
                    found.push(Hit {
                        query: qi,
                        advisory: adv,
                        scheme,
                        range_type: "versions",
                        package: pkg,
                        matched: Matched::Listed(v),
                    });
                }
            }
        }
        if found.len() > 1 {
            // One hit per advisory and package: a range match explains more than a listed version.
            found.sort_by_key(|h| (h.advisory, matches!(h.matched, Matched::Listed(_))));
            found.dedup_by_key(|h| h.advisory);
        }
    }

    /// The `introduced` version of an interval hit.
    #[must_use]
    pub fn introduced(&self, h: &Hit) -> Option<String> {
        match h.matched {
            Matched::Interval(iv) => {
                Some(self.text(self.rec(2, IV, iv, 5), self.rec(2, IV, iv, 6)))
            }
            Matched::Listed(_) => None,
        }
    }

    /// The version closing an interval hit, with its kind ([`CLOSE_FIXED`], ...).
    #[must_use]
    pub fn closer(&self, h: &Hit) -> Option<(u8, String)> {
        match h.matched {
            Matched::Interval(iv) => {
                let [flags, _, _, fo, fl] = {
                    let r = self.row::<9>(2, IV, iv);
                    [r[4], r[5], r[6], r[7], r[8]]
                };
                let kind = (flags >> 8) as u8;
                (kind != 0).then(|| (kind, self.text(fo, fl)))
            }
            Matched::Listed(_) => None,
        }
    }

    /// The listed version of a `versions` hit.
    #[must_use]
    pub fn listed(&self, h: &Hit) -> Option<String> {
        match h.matched {
            Matched::Listed(v) => Some(self.text(self.rec(3, VER, v, 2), self.rec(3, VER, v, 3))),
            Matched::Interval(_) => None,
        }
    }

    /// Every fixed version the hit's advisory gives the hit's package, sorted.
    #[must_use]
    pub fn fixed(&self, h: &Hit) -> Vec<String> {
        let [start, count] = {
            let r = self.row::<6>(0, PKG, h.package);
            [r[4], r[5]]
        };
        let mut fixed = Vec::new();
        for e in start..start.saturating_add(count).min(self.n_entry) {
            let [adv, _, iv0, ivn] = self.row::<4>(1, ENTRY, e);
            if adv != h.advisory {
                continue;
            }
            for iv in iv0..iv0.saturating_add(ivn).min(self.n_iv) {
                let r = self.row::<9>(2, IV, iv);
                if (r[4] >> 8) as u8 == CLOSE_FIXED {
                    fixed.push(self.text(r[7], r[8]));
                }
            }
        }
        fixed.sort();
        fixed.dedup();
        fixed
    }

    fn in_interval(&self, iv: u32, key: &[u8]) -> bool {
        let [lo_off, lo_len, hi_off, hi_len, flags] = self.row::<5>(2, IV, iv);
        if let Some(lo) = self.blob(lo_off, lo_len) {
            if key < lo {
                return false;
            }
        }
        match self.blob(hi_off, hi_len) {
            None => true,
            Some(hi) if flags & 1 == 1 => key <= hi,
            Some(hi) => key < hi,
        }
    }

    /// The listed version record equal to `key`, if any.
    fn find_listed(&self, start: u32, count: u32, key: &[u8]) -> Option<u32> {
        let (mut lo, mut hi) = (start, start.saturating_add(count).min(self.n_ver));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = self.blob(self.rec(3, VER, mid, 0), self.rec(3, VER, mid, 1))?;
            match k.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}
