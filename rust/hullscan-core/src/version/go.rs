//! The `go` version scheme. Not implemented yet.

/// The order-preserving key of `version` (see the module docs of `version`).
///
/// # Errors
/// Why `version` is not a go version.
pub fn key(version: &str) -> Result<Vec<u8>, String> {
    let _ = version;
    Err("the go scheme is not implemented yet".into())
}

/// Whether `version` satisfies `range` in go's own range syntax.
///
/// # Errors
/// Why the version or range is invalid.
pub fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let _ = (version, range);
    Err("go ranges are not implemented yet".into())
}
