//! The PyO3 boundary: a few coarse calls, the GIL released for every bulk read, one mapping from the
//! core's error enum to the Python exception tree. No panic crosses: the core returns errors.

use hullscan_core as core;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use std::path::PathBuf;
use std::sync::Arc;

create_exception!(
    _core,
    HullscanError,
    PyException,
    "Base class of every hullscan error."
);
create_exception!(
    _core,
    SourceError,
    HullscanError,
    "The source cannot be found, opened or read."
);
create_exception!(
    _core,
    ImageFormatError,
    HullscanError,
    "A manifest, index, config or archive is malformed or incomplete."
);
create_exception!(
    _core,
    PlatformNotFoundError,
    ImageFormatError,
    "The image has no manifest for the requested platform."
);
create_exception!(
    _core,
    LayerError,
    HullscanError,
    "A layer blob is not a readable (compressed) tar stream."
);
create_exception!(
    _core,
    DigestMismatchError,
    HullscanError,
    "Content does not hash to the digest that names it."
);
create_exception!(
    _core,
    LimitExceededError,
    HullscanError,
    "A safety limit stopped the read (decompression bomb, oversized input)."
);
create_exception!(
    _core,
    InvalidVersionError,
    HullscanError,
    "A string is not a version (or range) of the named scheme."
);
create_exception!(
    _core,
    CacheError,
    HullscanError,
    "The cache directory cannot be used."
);

/// The one place core errors become Python exceptions.
fn to_py(e: core::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        core::Error::Io { .. } => SourceError::new_err(msg),
        core::Error::Layer { .. } => LayerError::new_err(msg),
        core::Error::DigestMismatch { .. } => DigestMismatchError::new_err(msg),
        core::Error::Limit { .. } => LimitExceededError::new_err(msg),
        core::Error::Invalid(_) => HullscanError::new_err(msg),
    }
}

/// What one layer (or root filesystem) contributes to the inventory. Frozen; serialisable for the
/// layer cache with `to_json` / `from_json`.
#[pyclass(frozen, module = "hullscan._core")]
struct LayerResult {
    inner: core::LayerResult,
}

#[pymethods]
impl LayerResult {
    #[getter]
    fn digest(&self) -> &str {
        &self.inner.digest
    }
    #[getter]
    fn diff_id(&self) -> &str {
        &self.inner.diff_id
    }
    #[getter]
    fn compression(&self) -> &str {
        &self.inner.compression
    }
    #[getter]
    fn compressed_size(&self) -> u64 {
        self.inner.compressed_size
    }
    #[getter]
    fn uncompressed_size(&self) -> u64 {
        self.inner.uncompressed_size
    }
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }
    #[getter]
    fn catalogers(&self) -> Vec<String> {
        self.inner.catalogers.clone()
    }
    #[getter]
    fn whiteouts(&self) -> Vec<String> {
        self.inner.whiteouts.clone()
    }
    #[getter]
    fn opaque_dirs(&self) -> Vec<String> {
        self.inner.opaque_dirs.clone()
    }
    #[getter]
    fn package_count(&self) -> usize {
        self.inner.files.iter().map(|f| f.packages.len()).sum()
    }
    /// Whether file contents were searched for secrets.
    #[getter]
    fn secrets_searched(&self) -> bool {
        self.inner.secrets_searched
    }
    /// Secrets in this layer's files: `(path, rule, title, severity, line, masked value)`.
    #[getter]
    fn secrets(&self) -> Vec<(String, String, String, String, u64, String)> {
        self.inner
            .secrets
            .iter()
            .map(|s| {
                (
                    s.path.clone(),
                    s.rule.clone(),
                    s.title.clone(),
                    s.severity.clone(),
                    s.line,
                    s.masked.clone(),
                )
            })
            .collect()
    }
    /// Serialise (JSON bytes) for the layer cache.
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let v = serde_json::to_vec(&self.inner)
            .map_err(|e| HullscanError::new_err(format!("cannot serialise layer result: {e}")))?;
        Ok(PyBytes::new(py, &v))
    }
    /// Load a result written by `to_json`; a damaged entry raises `CacheError`.
    #[staticmethod]
    fn from_json(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner: core::LayerResult = py
            .allow_threads(|| serde_json::from_slice(data))
            .map_err(|e| CacheError::new_err(format!("damaged layer cache entry: {e}")))?;
        Ok(LayerResult { inner })
    }
    fn __repr__(&self) -> String {
        format!(
            "LayerResult(diff_id={:?}, files={}, packages={})",
            self.inner.diff_id,
            self.inner.files.len(),
            self.package_count()
        )
    }
}

fn limits(
    max_uncompressed: Option<u64>,
    max_ratio: Option<u64>,
    ratio_floor: Option<u64>,
    max_entries: Option<u64>,
    max_packages: Option<u64>,
) -> core::Limits {
    let d = core::Limits::default();
    core::Limits {
        max_uncompressed: max_uncompressed.unwrap_or(d.max_uncompressed),
        max_ratio: max_ratio.unwrap_or(d.max_ratio),
        ratio_floor: ratio_floor.unwrap_or(d.ratio_floor),
        max_entries: max_entries.unwrap_or(d.max_entries),
        max_packages: max_packages.unwrap_or(d.max_packages),
        secrets: false,
    }
}

/// Stream one layer blob (a whole file, or `length` bytes at `offset` inside one), catalog it and
/// verify its digests. Releases the GIL while reading.
#[pyfunction]
#[pyo3(signature = (path, offset=0, length=None, expected_digest=None, expected_diff_id=None,
                    max_uncompressed=None, max_ratio=None, ratio_floor=None, max_entries=None,
                    max_packages=None, secrets=false))]
#[allow(clippy::too_many_arguments)]
fn scan_layer(
    py: Python<'_>,
    path: PathBuf,
    offset: u64,
    length: Option<u64>,
    expected_digest: Option<String>,
    expected_diff_id: Option<String>,
    max_uncompressed: Option<u64>,
    max_ratio: Option<u64>,
    ratio_floor: Option<u64>,
    max_entries: Option<u64>,
    max_packages: Option<u64>,
    secrets: bool,
) -> PyResult<LayerResult> {
    let blob = core::BlobRange {
        path,
        offset,
        length,
    };
    let lim = core::Limits {
        secrets,
        ..limits(
            max_uncompressed,
            max_ratio,
            ratio_floor,
            max_entries,
            max_packages,
        )
    };
    let inner = py
        .allow_threads(|| {
            core::scan_layer(
                &blob,
                expected_digest.as_deref(),
                expected_diff_id.as_deref(),
                lim,
            )
        })
        .map_err(to_py)?;
    Ok(LayerResult { inner })
}

/// Catalog a root filesystem directory as one pseudo-layer (symlinks are not followed);
/// `secrets`: also search file contents for secrets.
#[pyfunction]
#[pyo3(signature = (path, secrets=false))]
fn scan_dir(py: Python<'_>, path: PathBuf, secrets: bool) -> PyResult<LayerResult> {
    let lim = core::Limits {
        secrets,
        ..core::Limits::default()
    };
    let inner = py
        .allow_threads(|| core::scan_dir_with(&path, lim))
        .map_err(to_py)?;
    Ok(LayerResult { inner })
}

/// Every secret rule: `(id, title, severity, pattern)` (part of the layer cache key when layer
/// files are searched).
#[pyfunction]
fn secret_rules() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    core::secrets::RULES
        .iter()
        .map(|r| (r.id, r.title, r.severity, r.pattern()))
        .collect()
}

/// The secrets in `text` (configuration values, history lines): `(rule id, title, severity,
/// start, end, keep)` per match, spans in characters, in order. The rules are those layer files
/// are searched with.
#[pyfunction]
fn find_secrets(
    text: &str,
) -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    usize,
    usize,
    usize,
)> {
    let hits = core::secrets::find(text.as_bytes());
    // Byte offsets to character offsets for Python slicing.
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let r = &core::secrets::RULES[h.rule];
        let start = text[..h.start].chars().count();
        let end = start + text[h.start..h.end].chars().count();
        out.push((r.id, r.title, r.severity, start, end, r.keep));
    }
    out
}

/// Merge layer results, lowest first, into the squashed inventory; returns it as JSON text.
#[pyfunction]
fn merge_layers(py: Python<'_>, layers: Vec<Bound<'_, LayerResult>>) -> PyResult<String> {
    let owned: Vec<core::LayerResult> = layers.iter().map(|l| l.get().inner.clone()).collect();
    py.allow_threads(|| {
        let inv = core::inventory::merge(&owned);
        serde_json::to_string(&inv)
    })
    .map_err(|e| HullscanError::new_err(format!("cannot serialise inventory: {e}")))
}

fn scheme(name: &str) -> PyResult<core::version::Scheme> {
    core::version::Scheme::from_name(name).ok_or_else(|| {
        InvalidVersionError::new_err(format!(
            "unknown version scheme {name:?}; known: {}",
            core::version::Scheme::ALL
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn version_err(e: core::version::VersionError) -> PyErr {
    InvalidVersionError::new_err(e.to_string())
}

/// The order-preserving comparison key of a version (bytes; equal versions, equal keys).
#[pyfunction]
fn version_key<'py>(
    py: Python<'py>,
    scheme_name: &str,
    version: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = scheme(scheme_name)?.key(version).map_err(version_err)?;
    Ok(PyBytes::new(py, &key))
}

/// Compare two versions of a scheme: -1, 0 or 1.
#[pyfunction]
fn version_compare(scheme_name: &str, a: &str, b: &str) -> PyResult<i32> {
    let ord = scheme(scheme_name)?.compare(a, b).map_err(version_err)?;
    Ok(ord as i32)
}

/// Compare many pairs at once (for differential tests and benchmarks); GIL released.
#[pyfunction]
fn version_compare_many(
    py: Python<'_>,
    scheme_name: &str,
    pairs: Vec<(String, String)>,
) -> PyResult<Vec<Option<i32>>> {
    let s = scheme(scheme_name)?;
    Ok(py.allow_threads(|| {
        pairs
            .iter()
            .map(|(a, b)| s.compare(a, b).ok().map(|o| o as i32))
            .collect()
    }))
}

/// Whether a version satisfies a range in the scheme's own syntax (npm ranges, PEP 440
/// specifiers, Maven ranges, ...).
#[pyfunction]
fn version_satisfies_native(scheme_name: &str, version: &str, range: &str) -> PyResult<bool> {
    scheme(scheme_name)?
        .satisfies(version, range)
        .map_err(version_err)
}

/// Compile OSV records (JSON-lines files, plain / gzip / zstd) into an index file at `out`.
/// Returns the build counts. GIL released.
#[pyfunction]
fn build_index(
    py: Python<'_>,
    record_files: Vec<PathBuf>,
    out: PathBuf,
) -> PyResult<std::collections::BTreeMap<String, u64>> {
    let (bytes, stats) = py
        .allow_threads(|| core::index::build_from_files(&record_files))
        .map_err(to_py)?;
    std::fs::write(&out, &bytes)
        .map_err(|e| SourceError::new_err(format!("cannot write {}: {e}", out.display())))?;
    let v = serde_json::to_value(&stats)
        .map_err(|e| HullscanError::new_err(format!("cannot report build stats: {e}")))?;
    Ok(v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default())
}

/// A compiled advisory index, loaded once and matched many times.
#[pyclass(frozen, module = "hullscan._core")]
struct AdvisoryIndex {
    inner: Arc<core::index::Index>,
}

/// One match: a package (by query index) inside an advisory's range or version list. It holds
/// no Python references (thousands of them cost the garbage collector nothing) and its texts are
/// read from the index only when asked for.
#[pyclass(frozen, module = "hullscan._core")]
struct MatchHit {
    index: Arc<core::index::Index>,
    hit: core::index::Hit,
}

#[pymethods]
impl MatchHit {
    /// Index of the query (package) that matched.
    #[getter]
    fn query(&self) -> usize {
        self.hit.query
    }
    /// Index of the advisory (see `AdvisoryIndex.advisory`).
    #[getter]
    fn advisory(&self) -> u32 {
        self.hit.advisory
    }
    /// The version scheme that compared.
    #[getter]
    fn scheme(&self) -> &'static str {
        self.hit.scheme.name()
    }
    /// `ECOSYSTEM`, `SEMVER` or `versions`.
    #[getter]
    fn range_type(&self) -> &'static str {
        self.hit.range_type
    }
    #[getter]
    fn introduced(&self) -> Option<String> {
        self.index.introduced(&self.hit)
    }
    /// `fixed`, `last_affected` or `limit`, closing the matched interval.
    #[getter]
    fn closer_kind(&self) -> Option<&'static str> {
        self.index.closer(&self.hit).map(|(k, _)| match k {
            core::index::CLOSE_FIXED => "fixed",
            core::index::CLOSE_LAST_AFFECTED => "last_affected",
            _ => "limit",
        })
    }
    #[getter]
    fn closer(&self) -> Option<String> {
        self.index.closer(&self.hit).map(|(_, v)| v)
    }
    /// The listed version that matched (`versions` hits).
    #[getter]
    fn listed(&self) -> Option<String> {
        self.index.listed(&self.hit)
    }
    /// Every fixed version the advisory gives the package.
    #[getter]
    fn fixed(&self) -> Vec<String> {
        self.index.fixed(&self.hit)
    }
}

/// Hits of one match, as a read-only sequence of `MatchHit`. The hits are computed in full by the
/// match; each `MatchHit` object is made only when an item is taken, so a caller that needs only
/// some of them (or their count) pays for no others.
#[pyclass(frozen, sequence, module = "hullscan._core")]
struct Matches {
    index: Arc<core::index::Index>,
    hits: Vec<core::index::Hit>,
}

#[pymethods]
impl Matches {
    fn __len__(&self) -> usize {
        self.hits.len()
    }
    fn __getitem__(&self, i: isize) -> PyResult<MatchHit> {
        let n = self.hits.len() as isize;
        let j = if i < 0 { i + n } else { i };
        if j < 0 || j >= n {
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "match index out of range",
            ));
        }
        Ok(MatchHit {
            index: Arc::clone(&self.index),
            hit: self.hits[j as usize].clone(),
        })
    }
    fn __iter__(slf: Py<Self>) -> MatchesIter {
        MatchesIter {
            matches: slf,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }
    /// `(query, advisory)` of every hit, in order: the pairs without making hit objects.
    fn pairs(&self) -> Vec<(usize, u32)> {
        self.hits.iter().map(|h| (h.query, h.advisory)).collect()
    }
}

#[pyclass(frozen, module = "hullscan._core")]
struct MatchesIter {
    matches: Py<Matches>,
    next: std::sync::atomic::AtomicUsize,
}

#[pymethods]
impl MatchesIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __next__(&self) -> Option<MatchHit> {
        let m = self.matches.get();
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        m.hits.get(i).map(|h| MatchHit {
            index: Arc::clone(&m.index),
            hit: h.clone(),
        })
    }
}

/// Queries whose versions were parsed into their ecosystems' keys once (`prepare_queries`):
/// matching them again, against this index or a newer one, skips all string handling.
#[pyclass(frozen, module = "hullscan._core")]
struct PreparedQueries {
    queries: Vec<core::index::PreparedQuery>,
}

#[pymethods]
impl PreparedQueries {
    fn __len__(&self) -> usize {
        self.queries.len()
    }
}

/// Read `(ecosystem, name, version)` tuples in place (no copies) and call `f` with them.
fn with_queries<'py, T>(
    queries: &Bound<'py, PyAny>,
    f: impl FnOnce(&[core::index::Query<'_>]) -> T,
) -> PyResult<T> {
    // The strings are borrowed in place: `strings` keeps them alive while `f` runs.
    let mut strings: Vec<Bound<'py, PyString>> = Vec::new();
    for item in queries.try_iter()? {
        query_strings(&item?, &mut strings)?;
    }
    let texts: Vec<&str> = strings
        .iter()
        .map(|s| s.to_str())
        .collect::<PyResult<_>>()?;
    let qs: Vec<core::index::Query<'_>> = texts
        .chunks_exact(3)
        .map(|c| core::index::Query {
            ecosystem: c[0],
            name: c[1],
            version: c[2],
        })
        .collect();
    Ok(f(&qs))
}

/// Parse `(ecosystem, name, version)` queries once into `PreparedQueries` (keys depend only on
/// the ecosystems' version schemes, so they serve every index). GIL released while parsing.
#[pyfunction]
fn prepare_queries(py: Python<'_>, queries: &Bound<'_, PyAny>) -> PyResult<PreparedQueries> {
    with_queries(queries, |qs| {
        py.allow_threads(|| PreparedQueries {
            queries: qs.iter().map(core::index::PreparedQuery::new).collect(),
        })
    })
}

/// The three strings of a query tuple `(ecosystem, name, version)`, appended to `out`.
fn query_strings<'py>(
    item: &Bound<'py, PyAny>,
    out: &mut Vec<Bound<'py, PyString>>,
) -> PyResult<()> {
    let bad = || {
        pyo3::exceptions::PyTypeError::new_err(
            "a query is an (ecosystem, name, version) tuple of str",
        )
    };
    let t = item.downcast::<PyTuple>().map_err(|_| bad())?;
    if t.len() != 3 {
        return Err(bad());
    }
    for f in t.iter() {
        out.push(f.downcast_into::<PyString>().map_err(|_| bad())?);
    }
    Ok(())
}

#[pymethods]
impl AdvisoryIndex {
    /// Load an index file written by `build_index`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py
            .allow_threads(|| core::index::Index::load(&path))
            .map_err(to_py)?;
        Ok(AdvisoryIndex {
            inner: Arc::new(inner),
        })
    }
    /// The index format this build reads and writes.
    #[classattr]
    fn format_version() -> u8 {
        core::index::FORMAT_VERSION
    }
    #[getter]
    fn package_count(&self) -> u32 {
        self.inner.package_count()
    }
    #[getter]
    fn advisory_count(&self) -> u32 {
        self.inner.advisory_count()
    }
    #[getter]
    fn interval_count(&self) -> u32 {
        self.inner.interval_count()
    }
    /// The details (JSON) of advisory `i`.
    fn advisory(&self, i: u32) -> String {
        self.inner.advisory(i)
    }
    /// Match `(ecosystem, name, version)` queries (a sequence of 3-tuples of `str`). Returns the
    /// hits and warnings as `(query, message)` for versions that could not be compared. The
    /// strings are read in place and the GIL is released while matching.
    fn match_packages(
        &self,
        py: Python<'_>,
        queries: &Bound<'_, PyAny>,
    ) -> PyResult<(Matches, Vec<(usize, String)>)> {
        let (hits, warnings) =
            with_queries(queries, |qs| py.allow_threads(|| self.inner.match_all(qs)))?;
        Ok((
            Matches {
                index: Arc::clone(&self.inner),
                hits,
            },
            warnings,
        ))
    }
    /// `match_packages` for queries parsed once by `prepare_queries`. GIL released.
    fn match_prepared(
        &self,
        py: Python<'_>,
        queries: &PreparedQueries,
    ) -> (Matches, Vec<(usize, String)>) {
        let (hits, warnings) = py.allow_threads(|| self.inner.match_prepared(&queries.queries));
        (
            Matches {
                index: Arc::clone(&self.inner),
                hits,
            },
            warnings,
        )
    }
}

/// `name=version` of every cataloger: part of every layer-cache key.
#[pyfunction]
fn cataloger_versions() -> Vec<String> {
    core::catalog::versions()
}

/// Each cataloger's name, version and the path patterns it reads.
#[pyfunction]
fn catalogers() -> Vec<(String, u32, Vec<String>)> {
    core::catalog::CATALOGERS
        .iter()
        .map(|c| {
            (
                c.name().to_string(),
                c.version(),
                c.patterns().iter().map(|p| (*p).to_string()).collect(),
            )
        })
        .collect()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<LayerResult>()?;
    m.add_function(wrap_pyfunction!(scan_layer, m)?)?;
    m.add_function(wrap_pyfunction!(scan_dir, m)?)?;
    m.add_function(wrap_pyfunction!(merge_layers, m)?)?;
    m.add_function(wrap_pyfunction!(cataloger_versions, m)?)?;
    m.add_function(wrap_pyfunction!(catalogers, m)?)?;
    m.add_function(wrap_pyfunction!(find_secrets, m)?)?;
    m.add_function(wrap_pyfunction!(secret_rules, m)?)?;
    m.add_function(wrap_pyfunction!(version_key, m)?)?;
    m.add_function(wrap_pyfunction!(build_index, m)?)?;
    m.add_class::<AdvisoryIndex>()?;
    m.add_class::<MatchHit>()?;
    m.add_class::<Matches>()?;
    m.add_class::<MatchesIter>()?;
    m.add_class::<PreparedQueries>()?;
    m.add_function(wrap_pyfunction!(prepare_queries, m)?)?;
    m.add_function(wrap_pyfunction!(version_compare, m)?)?;
    m.add_function(wrap_pyfunction!(version_compare_many, m)?)?;
    m.add_function(wrap_pyfunction!(version_satisfies_native, m)?)?;
    m.add("HullscanError", py.get_type::<HullscanError>())?;
    m.add("SourceError", py.get_type::<SourceError>())?;
    m.add("ImageFormatError", py.get_type::<ImageFormatError>())?;
    m.add(
        "PlatformNotFoundError",
        py.get_type::<PlatformNotFoundError>(),
    )?;
    m.add("LayerError", py.get_type::<LayerError>())?;
    m.add("DigestMismatchError", py.get_type::<DigestMismatchError>())?;
    m.add("LimitExceededError", py.get_type::<LimitExceededError>())?;
    m.add("CacheError", py.get_type::<CacheError>())?;
    m.add("InvalidVersionError", py.get_type::<InvalidVersionError>())?;
    Ok(())
}
