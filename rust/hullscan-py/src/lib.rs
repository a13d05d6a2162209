//! The PyO3 boundary: a few coarse calls, the GIL released for every bulk read, one mapping from the
//! core's error enum to the Python exception tree. No panic crosses: the core returns errors.

use hullscan_core as core;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

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
    }
}

/// Stream one layer blob (a whole file, or `length` bytes at `offset` inside one), catalog it and
/// verify its digests. Releases the GIL while reading.
#[pyfunction]
#[pyo3(signature = (path, offset=0, length=None, expected_digest=None, expected_diff_id=None,
                    max_uncompressed=None, max_ratio=None, ratio_floor=None, max_entries=None,
                    max_packages=None))]
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
) -> PyResult<LayerResult> {
    let blob = core::BlobRange {
        path,
        offset,
        length,
    };
    let lim = limits(
        max_uncompressed,
        max_ratio,
        ratio_floor,
        max_entries,
        max_packages,
    );
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

/// Catalog a root filesystem directory as one pseudo-layer (symlinks are not followed).
#[pyfunction]
fn scan_dir(py: Python<'_>, path: PathBuf) -> PyResult<LayerResult> {
    let inner = py.allow_threads(|| core::scan_dir(&path)).map_err(to_py)?;
    Ok(LayerResult { inner })
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
    inner: core::index::Index,
}

/// One match: a package (by query index) inside an advisory's range or version list. A plain
/// value object (not a tuple): it holds no Python references, so thousands of them cost the
/// garbage collector nothing.
#[pyclass(frozen, get_all, module = "hullscan._core")]
struct MatchHit {
    /// Index of the query (package) that matched.
    query: usize,
    /// Index of the advisory (see `AdvisoryIndex.advisory`).
    advisory: u32,
    /// The version scheme that compared.
    scheme: &'static str,
    /// `ECOSYSTEM`, `SEMVER` or `versions`.
    range_type: &'static str,
    introduced: Option<String>,
    /// `fixed`, `last_affected` or `limit`, closing the matched interval.
    closer_kind: Option<&'static str>,
    closer: Option<String>,
    /// The listed version that matched (`versions` hits).
    listed: Option<String>,
    /// Every fixed version the advisory gives the package.
    fixed: Vec<String>,
}

#[pymethods]
impl AdvisoryIndex {
    /// Load an index file written by `build_index`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py
            .allow_threads(|| core::index::Index::load(&path))
            .map_err(to_py)?;
        Ok(AdvisoryIndex { inner })
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
    /// Match `(ecosystem, name, version)` queries. Returns the hits and warnings as
    /// `(query, message)` for versions that could not be compared. GIL released.
    fn match_packages(
        &self,
        py: Python<'_>,
        queries: Vec<(String, String, String)>,
    ) -> (Vec<MatchHit>, Vec<(usize, String)>) {
        let qs: Vec<core::index::Query> = queries
            .into_iter()
            .map(|(ecosystem, name, version)| core::index::Query {
                ecosystem,
                name,
                version,
            })
            .collect();
        let (hits, warnings) = py.allow_threads(|| self.inner.match_all(&qs));
        let hits = hits
            .into_iter()
            .map(|h| {
                let (closer_kind, closer) = match h.closer {
                    Some((k, v)) => (
                        Some(match k {
                            core::index::CLOSE_FIXED => "fixed",
                            core::index::CLOSE_LAST_AFFECTED => "last_affected",
                            _ => "limit",
                        }),
                        Some(v),
                    ),
                    None => (None, None),
                };
                MatchHit {
                    query: h.query,
                    advisory: h.advisory,
                    scheme: h.scheme.name(),
                    range_type: h.range_type,
                    introduced: h.introduced,
                    closer_kind,
                    closer,
                    listed: h.listed,
                    fixed: h.fixed,
                }
            })
            .collect();
        (hits, warnings)
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
    m.add_function(wrap_pyfunction!(version_key, m)?)?;
    m.add_function(wrap_pyfunction!(build_index, m)?)?;
    m.add_class::<AdvisoryIndex>()?;
    m.add_class::<MatchHit>()?;
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
