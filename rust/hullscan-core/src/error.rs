//! One error enum for the core. Per-file parse problems are *warnings* carried in results;
//! these errors are for problems that make a whole layer or source unusable.

use std::io;

/// Every failure the core reports. `hullscan-py` maps each variant to one Python exception class.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file failed (not found, permission, ...).
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A layer blob is not a readable tar stream (truncated, corrupt compression, not a tar at all).
    #[error("layer {what}: {detail}")]
    Layer { what: String, detail: String },
    /// A blob's sha256 is not the one its descriptor or the image config promised.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A safety limit stopped the read (decompression bomb, oversized stream).
    #[error("limit exceeded in {what}: {detail}")]
    Limit { what: String, detail: String },
    /// Serialised data (a cached layer result, an argument) could not be decoded.
    #[error("invalid data: {0}")]
    Invalid(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
