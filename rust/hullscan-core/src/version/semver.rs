//! The `semver` version scheme. Not implemented yet.

/// The order-preserving key of `version` (see the module docs of `version`).
///
/// # Errors
/// Why `version` is not a semver version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let _ = version;
    Err("the semver scheme is not implemented yet".into())
}

/// Whether `version` satisfies `range` in semver's own range syntax.
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let _ = (version, range);
    Err("semver ranges are not implemented yet".into())
}
