//! Benchmark aid, not part of the library: the same-backend baseline for `benches/run.py`.
//!
//! `bench_layer gunzip PATH [REPEAT]` decompresses a gzip blob on one core with exactly the
//! decompressor the layer reader uses (flate2's `MultiGzDecoder` on the zlib-rs backend, 256 KiB
//! buffers) into a sink: no hashing, no tar, no channel. That is the ceiling for `scan_layer`.
//!
//! `bench_layer scan PATH [REPEAT]` runs `hullscan_core::scan_layer` on the blob (for profiling
//! with perf without Python in the picture).
//!
//! Each repetition prints one JSON line: `{"mode", "seconds", "compressed", "uncompressed"}`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

const BUF: usize = 256 * 1024;

fn gunzip(path: &Path) -> std::io::Result<(u64, u64)> {
    let file = File::open(path)?;
    let compressed = file.metadata()?.len();
    let mut d = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF, file));
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = d.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    Ok((compressed, total))
}

fn scan(path: &Path) -> Result<(u64, u64), String> {
    let blob = hullscan_core::BlobRange {
        path: path.to_path_buf(),
        offset: 0,
        length: None,
    };
    let r = hullscan_core::scan_layer(&blob, None, None, hullscan_core::Limits::default())
        .map_err(|e| e.to_string())?;
    Ok((r.compressed_size, r.uncompressed_size))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: bench_layer gunzip|scan PATH [REPEAT]");
        std::process::exit(2);
    }
    let mode = args[1].as_str();
    let path = PathBuf::from(&args[2]);
    let repeat: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    for _ in 0..repeat {
        let t = Instant::now();
        let res = match mode {
            "gunzip" => gunzip(&path).map_err(|e| e.to_string()),
            "scan" => scan(&path),
            _ => Err(format!("unknown mode {mode}")),
        };
        let secs = t.elapsed().as_secs_f64();
        match res {
            Ok((c, u)) => println!(
                "{{\"mode\": \"{mode}\", \"seconds\": {secs:.6}, \"compressed\": {c}, \"uncompressed\": {u}}}"
            ),
            Err(e) => {
                eprintln!("bench_layer: {e}");
                std::process::exit(1);
            }
        }
    }
}
