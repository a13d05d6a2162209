//! Layer reader and merge, end to end on tars built here: compression detection, digests,
//! whiteouts across layers, size limits, hostile names.

use hullscan_core::{inventory, scan_layer, BlobRange, Error, LayerResult, Limits};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

struct Tmp(PathBuf);
impl Tmp {
    fn new(name: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("hullscan-core-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn blob(path: &Path) -> BlobRange {
    BlobRange {
        path: path.to_path_buf(),
        offset: 0,
        length: None,
    }
}

const APK: &[u8] = b"P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\nP:zlib\nV:1.3.1-r1\nA:x86_64\n";
const OS: &[u8] = b"ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n";

#[test]
fn every_compression_gives_the_same_result() {
    let t = Tmp::new("compression");
    let raw = tar_of(&[
        ("etc/os-release", OS),
        ("./lib/apk/db/installed", APK),
        ("bin/sh", b"x"),
    ]);
    let zst = zstd::encode_all(&raw[..], 3).unwrap();
    for (name, data, kind) in [
        ("plain", raw.clone(), "none"),
        ("gz", gzip(&raw), "gzip"),
        ("zst", zst, "zstd"),
    ] {
        let p = t.write(name, &data);
        let r = scan_layer(
            &blob(&p),
            Some(&sha(&data)),
            Some(&sha(&raw)),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(r.compression, kind);
        assert_eq!(r.diff_id, sha(&raw));
        assert_eq!(r.digest, sha(&data));
        assert_eq!(r.uncompressed_size, raw.len() as u64);
        let inv = inventory::merge(&[r]);
        assert_eq!(inv.packages.len(), 2);
        assert_eq!(
            inv.distro.unwrap().ecosystem.as_deref(),
            Some("Alpine:v3.20")
        );
    }
}

#[test]
fn byte_range_inside_a_file() {
    let t = Tmp::new("range");
    let layer = gzip(&tar_of(&[("lib/apk/db/installed", APK)]));
    let mut file = b"JUNK-BEFORE".to_vec();
    file.extend_from_slice(&layer);
    file.extend_from_slice(b"JUNK-AFTER");
    let p = t.write("outer", &file);
    let range = BlobRange {
        path: p,
        offset: 11,
        length: Some(layer.len() as u64),
    };
    let r = scan_layer(&range, Some(&sha(&layer)), None, Limits::default()).unwrap();
    assert_eq!(r.files[0].packages.len(), 2);
}

#[test]
fn digest_mismatches_are_errors() {
    let t = Tmp::new("digest");
    let raw = tar_of(&[("lib/apk/db/installed", APK)]);
    let gz = gzip(&raw);
    let p = t.write("l", &gz);
    let wrong = sha(b"other");
    assert!(matches!(
        scan_layer(&blob(&p), Some(&wrong), None, Limits::default()),
        Err(Error::DigestMismatch { .. })
    ));
    assert!(matches!(
        scan_layer(&blob(&p), Some(&sha(&gz)), Some(&wrong), Limits::default()),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn truncated_and_garbage_blobs_are_layer_errors() {
    let t = Tmp::new("broken");
    let raw = tar_of(&[("lib/apk/db/installed", APK), ("big", &[7u8; 100_000])]);
    let gz = gzip(&raw);
    let p = t.write("trunc", &gz[..gz.len() / 2]);
    assert!(matches!(
        scan_layer(&blob(&p), None, None, Limits::default()),
        Err(Error::Layer { .. })
    ));
    let p = t.write("garbage", &[0x5a; 4096]);
    assert!(matches!(
        scan_layer(&blob(&p), None, None, Limits::default()),
        Err(Error::Layer { .. })
    ));
    // A plain tar cut inside an entry's data is an error too.
    let p = t.write("cut", &raw[..2048]);
    assert!(matches!(
        scan_layer(&blob(&p), None, None, Limits::default()),
        Err(Error::Layer { .. })
    ));
}

#[test]
fn missing_end_of_archive_blocks_are_tolerated() {
    let t = Tmp::new("tail");
    let raw = tar_of(&[("lib/apk/db/installed", APK)]);
    // Header + data, without the data's padding and the two zero blocks.
    let short = &raw[..512 + APK.len()];
    let p = t.write("short", short);
    let r = scan_layer(&blob(&p), None, Some(&sha(short)), Limits::default()).unwrap();
    assert_eq!(r.files[0].packages.len(), 2);
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn whiteouts_across_layers() {
    let t = Tmp::new("whiteout");
    let l0 = tar_of(&[("etc/os-release", OS), ("lib/apk/db/installed", APK)]);
    let l1 = tar_of(&[("lib/apk/db/.wh.installed", b"")]);
    let l2 = tar_of(&[
        ("lib/apk/.wh..wh..opq", b""),
        ("lib/apk/db/installed", b"P:busybox\nV:1.36.1-r29\n"),
    ]);
    let scan = |name: &str, data: &[u8]| -> LayerResult {
        scan_layer(&blob(&t.write(name, data)), None, None, Limits::default()).unwrap()
    };
    let (r0, r1, r2) = (scan("0", &l0), scan("1", &l1), scan("2", &l2));
    assert_eq!(r1.whiteouts, vec!["lib/apk/db/installed"]);
    assert_eq!(r2.opaque_dirs, vec!["lib/apk"]);
    assert!(inventory::merge(&[r0.clone(), r1.clone()])
        .packages
        .is_empty());
    let inv = inventory::merge(&[r0, r1, r2]);
    assert_eq!(inv.packages.len(), 1);
    assert_eq!(inv.packages[0].name, "busybox");
    assert_eq!(inv.packages[0].layer_index, 2);
}

#[test]
fn hostile_names_and_oversized_files() {
    let t = Tmp::new("hostile");
    let mut b = tar::Builder::new(Vec::new());
    // Names the builder refuses to write (`..`, absolute) are written into the raw header.
    for name in ["../../etc/passwd", "/lib/apk/db/installed"] {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(APK.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, APK).unwrap();
    }
    let raw = b.into_inner().unwrap();
    let r = scan_layer(&blob(&t.write("h", &raw)), None, None, Limits::default()).unwrap();
    assert!(r.warnings.iter().any(|w| w.contains("escapes")));
    // The absolute name is read as the root-relative path.
    assert_eq!(r.files.len(), 1);
    assert_eq!(r.files[0].path, "lib/apk/db/installed");

    let huge = vec![b'a'; 70 * 1024];
    let raw = tar_of(&[("etc/os-release", &huge)]);
    let r = scan_layer(&blob(&t.write("big", &raw)), None, None, Limits::default()).unwrap();
    assert!(r.warnings.iter().any(|w| w.contains("limit")));
}

#[test]
fn decompression_bomb_is_stopped() {
    let t = Tmp::new("bomb");
    // 32 MiB of zeros in one entry compress to ~32 KiB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut h = tar::Header::new_gnu();
    h.set_size(32 << 20);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path("zeros").unwrap();
    h.set_cksum();
    e.write_all(h.as_bytes()).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..32 {
        e.write_all(&chunk).unwrap();
    }
    e.write_all(&[0u8; 1024]).unwrap();
    let gz = e.finish().unwrap();
    let p = t.write("bomb", &gz);
    let limits = Limits {
        ratio_floor: 8 << 20,
        ..Limits::default()
    };
    assert!(matches!(
        scan_layer(&blob(&p), None, None, limits),
        Err(Error::Limit { .. })
    ));
    let limits = Limits {
        max_uncompressed: 1 << 20,
        ..Limits::default()
    };
    assert!(matches!(
        scan_layer(&blob(&p), None, None, limits),
        Err(Error::Limit { .. })
    ));
}
