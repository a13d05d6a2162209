//! rpmdb backend: ndb (SUSE `Packages.db`). Not supported yet.
//!
//! The rpm Debian ships (4.18) is built without the ndb backend (`rpm --showrc` lists only
//! `sqlite bdb_ro dummy`), so there is no way to build a real fixture to test a reader against, and
//! we do not ship a reader we cannot test. The cataloger reports the file with this error as a
//! warning instead of silently returning no packages.

/// Every header blob in the database.
///
/// # Errors
/// Always: NDB is not supported.
pub fn header_blobs(_data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    Err("NDB not supported: SUSE Packages.db (rpm ndb backend) cannot be read yet".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn says_not_supported() {
        let e = super::header_blobs(b"RpmP").unwrap_err();
        assert!(e.starts_with("NDB not supported"), "{e}");
    }
}
