//! RPM header blobs as stored in the rpmdb: `il` and `dl` (big-endian u32), `il` index entries of
//! 16 bytes (tag, type, offset, count), then `dl` bytes of data. Every offset is bounds-checked: the
//! blob comes from a hostile layer.

use crate::model::RawPackage;

/// The tags hullscan reads.
#[derive(Debug, Default, Clone)]
pub struct Tags {
    pub name: Option<String>,
    pub version: Option<String>,
    pub release: Option<String>,
    pub epoch: Option<u64>,
    pub arch: Option<String>,
    pub source_rpm: Option<String>,
    pub license: Option<String>,
}

/// Parse the tags of one header blob.
///
/// # Errors
/// A message when the blob is structurally broken.
pub fn parse(_blob: &[u8]) -> Result<Tags, String> {
    Err("rpm header parsing is not implemented yet".into())
}

/// The package a header describes; `None` for headers without name or version.
///
/// # Errors
/// A message when the blob is structurally broken.
pub fn package(blob: &[u8]) -> Result<Option<RawPackage>, String> {
    Ok(super::raw_package(&parse(blob)?))
}
