//! The `gem` version scheme. Not implemented yet.

/// The order-preserving key of `version` (see the module docs of `version`).
///
/// # Errors
/// Why `version` is not a gem version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let _ = version;
    Err("the gem scheme is not implemented yet".into())
}

/// Whether `version` satisfies `range` in gem's own range syntax.
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let _ = (version, range);
    Err("gem ranges are not implemented yet".into())
}
