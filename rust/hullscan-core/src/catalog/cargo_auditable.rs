//! Rust binaries built with `cargo auditable`: the `.dep-v0` section (ELF, PE; `__DATA,.dep-v0`
//! on Mach-O) holds the dependency tree as zlib-compressed JSON:
//! `{"packages": [{"name", "version", "source", "kind", "dependencies", "root"}, ...]}`.

use crate::model::RawPackage;
use serde::Deserialize;
use std::io::Read;

pub const SECTION: &str = ".dep-v0";
/// Largest compressed section read.
pub const MAX_COMPRESSED: u64 = 8 << 20;
/// Largest decompressed JSON accepted ("8 MiB should be more than enough to hold any legitimate
/// audit data", cargo-auditable's PARSING.md): a zlib bomb stops here.
pub const MAX_JSON: u64 = 8 << 20;

#[derive(Deserialize)]
struct VersionInfo {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    /// `runtime` (the default when absent) or `build`.
    #[serde(default)]
    kind: Option<String>,
}

/// The crates in a `.dep-v0` section's bytes. Like syft, only runtime dependencies (build-time
/// ones, such as a build script's, are not in the binary), the root package included.
///
/// # Errors
/// Not zlib, decompressing to more than [`MAX_JSON`] bytes, or not the expected JSON.
pub fn packages(section: &[u8]) -> Result<Vec<RawPackage>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("cargo-auditable data: not zlib: {e}"))?;
    if json.len() as u64 > MAX_JSON {
        return Err(format!(
            "cargo-auditable data: decompresses to more than {MAX_JSON} bytes; skipped"
        ));
    }
    let info: VersionInfo = serde_json::from_slice(&json)
        .map_err(|e| format!("cargo-auditable data: bad JSON: {e}"))?;
    if info.packages.len() > super::MAX_PACKAGES_PER_FILE {
        return Err(super::too_many_packages());
    }
    let mut out: Vec<RawPackage> = info
        .packages
        .into_iter()
        .filter(|p| p.kind.as_deref().is_none_or(|k| k == "runtime"))
        .filter(|p| !p.name.is_empty() && !p.version.is_empty())
        .map(|p| RawPackage {
            kind: "rust-crate".into(),
            name: p.name,
            version: p.version,
            ..RawPackage::default()
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub const JSON: &str = r#"{"packages":[
        {"name":"serde","version":"1.0.217","source":"crates.io"},
        {"name":"cc","version":"1.2.0","source":"crates.io","kind":"build"},
        {"name":"app","version":"0.1.0","source":"local","dependencies":[0],"root":true}]}"#;

    #[test]
    fn runtime_crates_only() {
        let p = packages(&zlib(JSON.as_bytes())).unwrap();
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["app", "serde"]);
        assert!(p.iter().all(|p| p.kind == "rust-crate"));
    }

    #[test]
    fn bombs_and_garbage() {
        // 64 MiB of zeros compresses to ~64 KiB: stopped at the limit, not inflated.
        let bomb = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..64 {
                e.write_all(&zeros).unwrap();
            }
            e.finish().unwrap()
        };
        assert!(bomb.len() < 1 << 20);
        let e = packages(&bomb).unwrap_err();
        assert!(e.contains("more than"), "{e}");
        assert!(packages(b"not zlib at all").is_err());
        assert!(packages(&zlib(b"{\"packages\": 3}")).is_err());
        // Deeply nested JSON is refused by serde_json's recursion limit, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(packages(&zlib(deep.as_bytes())).is_err());
    }
}
