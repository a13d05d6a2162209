//! The compiled advisory index.
//!
//! Built once from OSV records; for every (ecosystem, package) it keeps the affected ranges as
//! intervals of order-preserving version keys (see [`crate::version`]) and the explicitly listed
//! versions as sorted keys. The file is a flat little-endian layout read into one buffer and used
//! in place: loading it is one `read`, no parsing, and a range check is a `memcmp`.
//!
//! Layout: a header (magic, counts, section offsets), then fixed-size tables (packages sorted by
//! ecosystem and name, entries, intervals, listed versions, advisories) pointing into a byte blob.
//! Every read is bounds-checked: a damaged file yields an error or no match, never a panic.

use crate::error::{Error, Result};
use crate::osv::{Event, Record};
use crate::purl::normalize_python;
use crate::version::Scheme;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

const MAGIC: &[u8; 8] = b"HSIDX\0\0\x01";
const HEADER: usize = 80;
const PKG: usize = 24;
const ENTRY: usize = 24;
const IV: usize = 36;
const VER: usize = 16;
const ADV: usize = 8;
const NONE: u32 = u32::MAX;

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
    if ecosystem == "PyPI" {
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
        for ((eco, name), list) in &self.packages {
            let (eo, el) = w.blob(eco.as_bytes());
            let (no, nl) = w.blob(name.as_bytes());
            put(&mut pkgs, &[eo, el, no, nl, n_entries, len32(list.len())]);
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
        let counts = [
            len32(self.packages.len()),
            n_entries,
            n_ivs,
            n_vers,
            len32(self.advisories.len()),
        ];
        let mut out = Vec::with_capacity(
            HEADER
                + pkgs.len()
                + entries.len()
                + ivs.len()
                + vers.len()
                + advs.len()
                + w.data.len(),
        );
        out.extend_from_slice(MAGIC);
        for c in counts {
            out.extend_from_slice(&c.to_le_bytes());
        }
        let mut off = HEADER as u64;
        for s in [&pkgs, &entries, &ivs, &vers, &advs, &w.data] {
            out.extend_from_slice(&off.to_le_bytes());
            off += s.len() as u64;
        }
        // The blob's length closes the header, so a truncated file is detected on load.
        out.extend_from_slice(&len32(w.data.len()).to_le_bytes());
        out.resize(HEADER, 0);
        for s in [pkgs, entries, ivs, vers, advs, w.data] {
            out.extend_from_slice(&s);
        }
        out
    }
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

/// A loaded index.
pub struct Index {
    data: Vec<u8>,
    n_pkg: u32,
    n_entry: u32,
    n_iv: u32,
    n_ver: u32,
    n_adv: u32,
    off: [usize; 6],
}

/// One affected package version, as the matcher reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the query (package) that matched.
    pub query: usize,
    pub advisory: u32,
    /// The scheme that compared.
    pub scheme: Scheme,
    /// `ECOSYSTEM`, `SEMVER`, or `versions` for an explicitly listed version.
    pub range_type: &'static str,
    pub introduced: Option<String>,
    /// The fixed (or last_affected / limit) version of the matched interval.
    pub closer: Option<(u8, String)>,
    /// The listed version that matched, for `versions` hits.
    pub listed: Option<String>,
    /// Every fixed version the advisory's entries for this package name.
    pub fixed: Vec<String>,
}

/// A package to match.
#[derive(Debug, Clone)]
pub struct Query {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
}

impl Index {
    /// Open an index file (one read; no parsing).
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Invalid`] for a missing or damaged file.
    pub fn load(path: &Path) -> Result<Index> {
        let data = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        Index::from_bytes(data)
    }

    /// Use an index held in memory.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the header or section bounds are wrong.
    pub fn from_bytes(data: Vec<u8>) -> Result<Index> {
        let bad = |m: &str| Error::Invalid(format!("advisory index: {m}"));
        if data.len() < HEADER || &data[..8] != MAGIC {
            return Err(bad("not a hullscan index (wrong magic or version)"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap_or([0; 8]));
        let mut off = [0usize; 6];
        for (i, o) in off.iter_mut().enumerate() {
            *o = usize::try_from(u64_at(28 + 8 * i)).map_err(|_| bad("offset"))?;
        }
        let idx = Index {
            n_pkg: u32_at(8),
            n_entry: u32_at(12),
            n_iv: u32_at(16),
            n_ver: u32_at(20),
            n_adv: u32_at(24),
            off,
            data,
        };
        let sizes = [
            idx.n_pkg as usize * PKG,
            idx.n_entry as usize * ENTRY,
            idx.n_iv as usize * IV,
            idx.n_ver as usize * VER,
            idx.n_adv as usize * ADV,
        ];
        for (i, s) in sizes.iter().enumerate() {
            if idx.off[i].checked_add(*s) != Some(idx.off[i + 1]) {
                return Err(bad("section sizes do not add up"));
            }
        }
        let blob_len = u32::from_le_bytes(idx.data[76..80].try_into().unwrap_or([0; 4])) as usize;
        if idx.off[5].checked_add(blob_len) != Some(idx.data.len()) {
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
        let s = self.off[5].checked_add(off as usize)?;
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

    /// Entries (start, count) for an ecosystem's package.
    fn find(&self, eco: &str, name: &str) -> Option<(u32, u32)> {
        let target = (eco.as_bytes(), name.as_bytes());
        let (mut lo, mut hi) = (0u32, self.n_pkg);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.blob(self.rec(0, PKG, mid, 0), self.rec(0, PKG, mid, 1))?;
            let n = self.blob(self.rec(0, PKG, mid, 2), self.rec(0, PKG, mid, 3))?;
            match (e, n).cmp(&target) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return Some((self.rec(0, PKG, mid, 4), self.rec(0, PKG, mid, 5)))
                }
            }
        }
        None
    }

    /// Match every query; returns the hits and, per query, a warning when its version could not
    /// be compared.
    #[must_use]
    pub fn match_all(&self, queries: &[Query]) -> (Vec<Hit>, Vec<(usize, String)>) {
        // Large inventories are split across the cores; each half is independent.
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        if threads < 2 || queries.len() < 512 {
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

    fn match_range(&self, queries: &[Query], base: usize) -> (Vec<Hit>, Vec<(usize, String)>) {
        let mut hits = Vec::new();
        let mut warnings = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            self.match_one(base + i, q, &mut hits, &mut warnings);
        }
        (hits, warnings)
    }

    fn match_one(
        &self,
        qi: usize,
        q: &Query,
        hits: &mut Vec<Hit>,
        warnings: &mut Vec<(usize, String)>,
    ) {
        let name = normalize_name(&q.ecosystem, &q.name);
        let Some((start, count)) = self.find(&q.ecosystem, &name) else {
            return;
        };
        let mut keys: [Option<Option<Vec<u8>>>; 10] = Default::default();
        let mut found: Vec<Hit> = Vec::new();
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
            let slot = &mut keys[scheme as usize];
            let key = slot.get_or_insert_with(|| {
                match scheme.key(&normalize_version(scheme, &q.version)) {
                    Ok(k) => Some(k),
                    Err(err) => {
                        warnings.push((qi, err.to_string()));
                        None
                    }
                }
            });
            let Some(key) = key.as_deref() else { continue };
            for iv in iv0..iv0.saturating_add(ivn).min(self.n_iv) {
                if self.in_interval(iv, key) {
                    found.push(self.hit_iv(qi, adv, scheme, range_type, iv));
                }
            }
            if vn > 0 {
                if let Some(listed) = self.find_listed(v0, vn, key) {
                    found.push(Hit {
                        query: qi,
                        advisory: adv,
                        scheme,
                        range_type: "versions",
                        introduced: None,
                        closer: None,
                        listed: Some(listed),
                        fixed: Vec::new(),
                    });
                }
            }
        }
        if found.is_empty() {
            return;
        }
        // One hit per advisory and package: a range match explains more than a listed version.
        found.sort_by_key(|h| (h.advisory, h.listed.is_some()));
        found.dedup_by_key(|h| h.advisory);
        for mut h in found {
            // Every fixed version the advisory gives this package (only for advisories that hit).
            let mut fixed = Vec::new();
            for e in start..end {
                if self.rec(1, ENTRY, e, 0) != h.advisory {
                    continue;
                }
                let (iv0, ivn) = (self.rec(1, ENTRY, e, 2), self.rec(1, ENTRY, e, 3));
                for iv in iv0..iv0.saturating_add(ivn).min(self.n_iv) {
                    if (self.rec(2, IV, iv, 4) >> 8) as u8 == CLOSE_FIXED {
                        fixed.push(self.text(self.rec(2, IV, iv, 7), self.rec(2, IV, iv, 8)));
                    }
                }
            }
            fixed.sort();
            fixed.dedup();
            h.fixed = fixed;
            hits.push(h);
        }
    }

    fn hit_iv(
        &self,
        qi: usize,
        adv: u32,
        scheme: Scheme,
        range_type: &'static str,
        iv: u32,
    ) -> Hit {
        let flags = self.rec(2, IV, iv, 4);
        let kind = (flags >> 8) as u8;
        let intro = self.text(self.rec(2, IV, iv, 5), self.rec(2, IV, iv, 6));
        Hit {
            query: qi,
            advisory: adv,
            scheme,
            range_type,
            introduced: Some(intro),
            closer: (kind != 0).then(|| {
                (
                    kind,
                    self.text(self.rec(2, IV, iv, 7), self.rec(2, IV, iv, 8)),
                )
            }),
            listed: None,
            fixed: Vec::new(),
        }
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

    fn find_listed(&self, start: u32, count: u32, key: &[u8]) -> Option<String> {
        let (mut lo, mut hi) = (start, start.saturating_add(count).min(self.n_ver));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = self.blob(self.rec(3, VER, mid, 0), self.rec(3, VER, mid, 1))?;
            match k.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return Some(self.text(self.rec(3, VER, mid, 2), self.rec(3, VER, mid, 3)))
                }
            }
        }
        None
    }
}
