//! Streaming layer reader.
//!
//! A layer blob is read once, front to back, never extracted: a producer thread reads the blob (hashing
//! the compressed bytes), detects gzip / zstd / plain tar from the first bytes and decompresses into
//! fixed-size chunks; the calling thread hashes the uncompressed stream, walks the tar headers and
//! hands only the entries a cataloger wants to that cataloger. Whiteouts are recorded for the merge.
//! On two cores the decompressor and the hash + tar walk run side by side.
//!
//! The decompressor is the bottleneck (a single-threaded inflate), so everything else is kept off its
//! thread: a small reader thread reads the blob in blocks and hashes the compressed bytes, and the
//! calling thread hashes the uncompressed bytes and walks the tar. Chunk buffers circulate between
//! the threads instead of being allocated (and zeroed) for every chunk.

use crate::catalog;
use crate::error::{Error, Result};
use crate::model::{FileResult, LayerResult};
use crate::paths;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

const CHUNK: usize = 256 * 1024;
const READ_BUF: usize = 256 * 1024;

/// Safety limits for one layer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest uncompressed stream accepted.
    pub max_uncompressed: u64,
    /// Largest uncompressed/compressed ratio accepted once `ratio_floor` bytes have been produced
    /// (real layers compress 2-10x; a gzip bomb reaches 1000x).
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// Most tar entries accepted in one layer.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_uncompressed: 64 << 30,
            max_ratio: 200,
            ratio_floor: 256 << 20,
            max_entries: 10_000_000,
        }
    }
}

/// Where a blob is: a whole file, or a byte range inside one (a member of an uncompressed tar archive).
#[derive(Debug, Clone)]
pub struct BlobRange {
    pub path: PathBuf,
    pub offset: u64,
    pub length: Option<u64>,
}

/// Reads through to an inner reader, hashing and counting every byte.
struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
    }
}

type Chunk = std::result::Result<Vec<u8>, ()>;

/// A used buffer from `cur`, handed back to the thread that fills such buffers (unless it has gone).
fn recycle(pool: &Sender<Vec<u8>>, buf: Vec<u8>) {
    if buf.capacity() > 0 {
        let _ = pool.send(buf);
    }
}

/// A buffer to fill: a recycled one if there is one, else a new one; `len` bytes long.
fn reuse(pool: &Receiver<Vec<u8>>, len: usize) -> Vec<u8> {
    let mut buf = pool.try_recv().unwrap_or_default();
    buf.resize(len, 0);
    buf
}

/// The consumer side of the producer thread's chunks, as a `Read`.
struct ChannelReader {
    rx: Receiver<Chunk>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
    /// Emptied chunks go back to the producer.
    pool: Sender<Vec<u8>>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.cur, chunk);
                    recycle(&self.pool, used);
                    self.pos = 0;
                }
                // The producer failed; its error is in the shared slot.
                Ok(Err(())) => return Err(io::Error::other("decompression failed")),
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// One block of the blob as read from the file, or the read error.
type Block = io::Result<Vec<u8>>;

/// The decompressor's input: the blocks the reader thread read (and hashed), as a `BufRead`, so the
/// decompressor reads them in place. `count` is the compressed bytes handed over so far (for the
/// ratio limit), counted block by block as a `BufReader` over the file would.
struct BlockReader {
    rx: Receiver<Block>,
    cur: Vec<u8>,
    pos: usize,
    count: Arc<AtomicU64>,
    /// Emptied blocks go back to the reader thread.
    pool: Sender<Vec<u8>>,
    /// A read error repeats, as it would from the file.
    failed: Option<(io::ErrorKind, String)>,
}

impl BufRead for BlockReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.cur.len() {
            if let Some((kind, msg)) = &self.failed {
                return Err(io::Error::new(*kind, msg.clone()));
            }
            match self.rx.recv() {
                Ok(Ok(block)) => {
                    self.count.fetch_add(block.len() as u64, Ordering::Relaxed);
                    let used = std::mem::replace(&mut self.cur, block);
                    recycle(&self.pool, used);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.failed = Some((e.kind(), e.to_string()));
                    return Err(e);
                }
                // The reader thread reached the end of the blob.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.cur[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.cur.len());
    }
}

impl Read for BlockReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = buf.len().min(avail.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The reader thread: read the blob front to back in `READ_BUF` blocks, hash them, pass them on.
/// Stops at the end, at a read error (passed on), or when the decompressor has gone.
fn read_blob(
    mut src: impl Read,
    tx: &SyncSender<Block>,
    pool: &Receiver<Vec<u8>>,
) -> (Sha256, u64) {
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    loop {
        let mut buf = reuse(pool, READ_BUF);
        let n = loop {
            match src.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        let sent = match n {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                hasher.update(&buf);
                size += n as u64;
                tx.send(Ok(buf))
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
    (hasher, size)
}

struct Produced {
    compression: Compression,
    digest: String,
    size: u64,
}

fn hex_digest(h: Sha256) -> String {
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Fill `buf` as far as the reader allows; returns the bytes read (less than `buf.len()` only at EOF).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

struct Pump<'a> {
    tx: &'a SyncSender<Chunk>,
    /// Chunks the consumer has emptied.
    pool: &'a Receiver<Vec<u8>>,
    compressed: &'a AtomicU64,
    limits: Limits,
    what: &'a str,
}

impl Pump<'_> {
    /// Decompress everything from `r` into chunks for the consumer.
    fn run(&self, r: &mut impl Read) -> Result<()> {
        let mut total: u64 = 0;
        loop {
            let mut buf = reuse(self.pool, CHUNK);
            let n = fill(r, &mut buf).map_err(|e| Error::Layer {
                what: self.what.to_string(),
                detail: format!("cannot decompress: {e}"),
            })?;
            if n == 0 {
                return Ok(());
            }
            total += n as u64;
            self.check(total)?;
            buf.truncate(n);
            if self.tx.send(Ok(buf)).is_err() {
                // The consumer stopped (it failed); nothing more to do.
                return Ok(());
            }
        }
    }

    fn check(&self, total: u64) -> Result<()> {
        if total > self.limits.max_uncompressed {
            return Err(Error::Limit {
                what: self.what.to_string(),
                detail: format!(
                    "uncompressed stream larger than {} bytes",
                    self.limits.max_uncompressed
                ),
            });
        }
        let comp = self.compressed.load(Ordering::Relaxed).max(1);
        if total > self.limits.ratio_floor && total / comp > self.limits.max_ratio {
            return Err(Error::Limit {
                what: self.what.to_string(),
                detail: format!(
                    "compression ratio above {}:1 (decompression bomb?)",
                    self.limits.max_ratio
                ),
            });
        }
        Ok(())
    }
}

fn drain(r: &mut impl Read) -> io::Result<u64> {
    io::copy(r, &mut io::sink())
}

fn produce(
    blob: &BlobRange,
    what: &str,
    tx: &SyncSender<Chunk>,
    chunk_pool: &Receiver<Vec<u8>>,
    limits: Limits,
) -> Result<Produced> {
    let mut file = File::open(&blob.path).map_err(|e| Error::io(blob.path.display().to_string(), e))?;
    if blob.offset > 0 {
        file.seek(SeekFrom::Start(blob.offset))
            .map_err(|e| Error::io(blob.path.display().to_string(), e))?;
    }
    let limited = file.take(blob.length.unwrap_or(u64::MAX));
    let (block_tx, block_rx) = sync_channel::<Block>(4);
    let (pool_tx, pool_rx) = channel::<Vec<u8>>();
    std::thread::scope(|s| {
        let reader = s.spawn(move || read_blob(limited, &block_tx, &pool_rx));
        let count = Arc::new(AtomicU64::new(0));
        let br = BlockReader {
            rx: block_rx,
            cur: Vec::new(),
            pos: 0,
            count: Arc::clone(&count),
            pool: pool_tx,
            failed: None,
        };
        // On an early return `br` (the receiving end) is dropped here, which stops the reader thread
        // before the scope waits for it.
        let compression = decompress(br, blob, what, tx, chunk_pool, &count, limits)?;
        let (hasher, size) = reader.join().map_err(|_| Error::Layer {
            what: what.to_string(),
            detail: "blob reader thread failed".into(),
        })?;
        if let Some(len) = blob.length {
            if size != len {
                return Err(Error::Layer {
                    what: what.to_string(),
                    detail: format!("blob is truncated: {size} of {len} bytes"),
                });
            }
        }
        Ok(Produced {
            compression,
            digest: hex_digest(hasher),
            size,
        })
    })
}

/// Sniff the compression, decompress everything into chunks for the consumer, then read what follows
/// the compressed stream (it is part of the blob's digest).
fn decompress(
    mut br: BlockReader,
    blob: &BlobRange,
    what: &str,
    tx: &SyncSender<Chunk>,
    chunk_pool: &Receiver<Vec<u8>>,
    count: &AtomicU64,
    limits: Limits,
) -> Result<Compression> {
    let head = br
        .fill_buf()
        .map_err(|e| Error::io(blob.path.display().to_string(), e))?;
    let compression = Compression::sniff(head);
    let pump = Pump {
        tx,
        pool: chunk_pool,
        compressed: count,
        limits,
        what,
    };
    let io_err = |e: io::Error| Error::io(blob.path.display().to_string(), e);
    let mut br = match compression {
        Compression::Gzip => {
            let mut d = flate2::bufread::MultiGzDecoder::new(br);
            pump.run(&mut d)?;
            d.into_inner()
        }
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(br).map_err(io_err)?;
            pump.run(&mut d)?;
            d.finish()
        }
        Compression::None => {
            pump.run(&mut br)?;
            br
        }
    };
    drain(&mut br).map_err(io_err)?;
    Ok(compression)
}

/// Collects what one layer contributes while its tar is walked.
#[derive(Default)]
struct Collector {
    result: LayerResult,
    index: std::collections::HashMap<String, usize>,
}

impl Collector {
    fn add(&mut self, fr: FileResult) {
        if let Some(&i) = self.index.get(&fr.path) {
            self.result.files[i] = fr; // a later entry with the same path replaces the earlier one
        } else {
            self.index.insert(fr.path.clone(), self.result.files.len());
            self.result.files.push(fr);
        }
    }

    /// A wanted path whose entry is not a readable regular file still hides lower layers' file.
    fn placeholder(&mut self, path: &str, cat: &dyn catalog::Cataloger) {
        self.add(FileResult {
            path: path.to_string(),
            cataloger: cat.name().to_string(),
            ..FileResult::default()
        });
    }

    /// Read a wanted file's bytes (bounded) and parse them.
    fn read_file(
        &mut self,
        path: &str,
        cat: &dyn catalog::Cataloger,
        size: u64,
        r: &mut impl Read,
    ) -> io::Result<()> {
        if size > cat.max_size() {
            self.result.warnings.push(format!(
                "{path}: {size} bytes is over the {} cataloger's limit of {} bytes; skipped",
                cat.name(),
                cat.max_size()
            ));
            self.placeholder(path, cat);
            return Ok(());
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        r.take(size).read_to_end(&mut data)?;
        self.parse(path, cat, &data);
        Ok(())
    }

    fn parse(&mut self, path: &str, cat: &dyn catalog::Cataloger, data: &[u8]) {
        match cat.parse(path, data) {
            Ok(fr) => self.add(fr),
            Err(msg) => {
                self.result
                    .warnings
                    .push(format!("{path}: {} cataloger: {msg}", cat.name()));
                self.placeholder(path, cat);
            }
        }
    }

    fn whiteout(&mut self, dir: &str, name: &str) -> bool {
        let Some(target) = name.strip_prefix(".wh.") else {
            return false;
        };
        if target == ".wh..opq" {
            self.result.opaque_dirs.push(dir.to_string());
        } else if !target.starts_with(".wh.") && !target.is_empty() {
            let p = if dir.is_empty() {
                target.to_string()
            } else {
                format!("{dir}/{target}")
            };
            self.result.whiteouts.push(p);
        }
        true
    }
}

fn walk_tar<R: Read>(reader: R, what: &str, limits: Limits, col: &mut Collector) -> Result<R> {
    let layer_err = |e: io::Error| Error::Layer {
        what: what.to_string(),
        detail: format!("not a readable tar stream: {e}"),
    };
    let mut archive = tar::Archive::new(reader);
    let mut n: u64 = 0;
    for entry in archive.entries().map_err(layer_err)? {
        let mut entry = entry.map_err(layer_err)?;
        n += 1;
        if n > limits.max_entries {
            return Err(Error::Limit {
                what: what.to_string(),
                detail: format!("more than {} tar entries", limits.max_entries),
            });
        }
        let raw = entry.path_bytes();
        let Ok(name) = std::str::from_utf8(&raw) else {
            continue; // no cataloger wants a non-UTF-8 name
        };
        let Some(path) = paths::normalize(name) else {
            if !matches!(name.trim_matches('/'), "" | ".") {
                col.result
                    .warnings
                    .push(format!("entry {name:?} escapes the layer root; ignored"));
            }
            continue;
        };
        drop(raw);
        let (dir, file) = paths::split(&path);
        if col.whiteout(dir, file) {
            continue;
        }
        let Some(cat) = catalog::find(&path) else {
            continue;
        };
        let kind = entry.header().entry_type();
        if kind.is_file() || kind == tar::EntryType::Continuous {
            let size = entry.size();
            col.read_file(&path, cat, size, &mut entry).map_err(layer_err)?;
        } else if kind.is_hard_link() {
            let target = entry
                .link_name()
                .ok()
                .flatten()
                .and_then(|t| paths::normalize(&t.to_string_lossy()));
            let existing = target
                .as_ref()
                .and_then(|t| col.index.get(t))
                .map(|&i| col.result.files[i].clone());
            match existing {
                Some(mut fr) if fr.cataloger == cat.name() => {
                    fr.path.clone_from(&path);
                    col.add(fr);
                }
                _ => {
                    col.result
                        .warnings
                        .push(format!("{path}: hard link to a file not read in this layer; skipped"));
                    col.placeholder(&path, cat);
                }
            }
        } else {
            col.placeholder(&path, cat);
        }
    }
    Ok(archive.into_inner())
}

/// Read one layer blob: decompress, walk, catalog, verify digests.
///
/// `expected_digest` is checked against the blob as stored, `expected_diff_id` against the
/// uncompressed tar stream. Both are checked after the whole blob has been read; on a mismatch the
/// result is discarded and [`Error::DigestMismatch`] returned.
///
/// # Errors
/// [`Error::Io`] when the blob cannot be opened, [`Error::Layer`] for a corrupt or non-tar stream,
/// [`Error::Limit`] for decompression bombs, [`Error::DigestMismatch`].
pub fn scan_layer(
    blob: &BlobRange,
    expected_digest: Option<&str>,
    expected_diff_id: Option<&str>,
    limits: Limits,
) -> Result<LayerResult> {
    let what = expected_digest
        .or(expected_diff_id)
        .map_or_else(|| blob.path.display().to_string(), str::to_string);
    let (tx, rx) = sync_channel::<Chunk>(8);
    let (pool_tx, pool_rx) = channel::<Vec<u8>>();
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let mut col = Collector::default();
    let (walked, produced) = std::thread::scope(|s| {
        let producer = s.spawn(|| {
            let tx = tx;
            let pool_rx = pool_rx;
            match produce(blob, &what, &tx, &pool_rx, limits) {
                Ok(p) => Some(p),
                Err(e) => {
                    *failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                    let _ = tx.send(Err(()));
                    None
                }
            }
        });
        let uncompressed_count = Arc::new(AtomicU64::new(0));
        let reader = HashReader {
            inner: ChannelReader {
                rx,
                cur: Vec::new(),
                pos: 0,
                done: false,
                pool: pool_tx,
            },
            hasher: Sha256::new(),
            count: Arc::clone(&uncompressed_count),
        };
        let walked = walk_tar(reader, &what, limits, &mut col).and_then(|mut rest| {
            drain(&mut rest).map_err(|e| Error::Layer {
                what: what.clone(),
                detail: e.to_string(),
            })?;
            Ok(rest)
        });
        // Dropping the reader (on error) closes the channel so the producer stops.
        let walked = walked.map(|r| (hex_digest(r.hasher), r.count.load(Ordering::Relaxed)));
        let produced = producer.join();
        (walked, produced)
    });
    // A producer failure explains any consumer failure that followed from it.
    if let Some(e) = failure.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        return Err(e);
    }
    let produced = match produced {
        Ok(Some(p)) => p,
        _ => {
            return Err(Error::Layer {
                what,
                detail: "decompressor thread failed".into(),
            })
        }
    };
    let (diff_id, uncompressed_size) = walked?;
    check_digest("blob", &what, expected_digest, &produced.digest)?;
    check_digest("uncompressed layer (diff_id)", &what, expected_diff_id, &diff_id)?;
    let mut result = col.result;
    result.digest = produced.digest;
    result.diff_id = diff_id;
    result.compression = produced.compression.name().to_string();
    result.compressed_size = produced.size;
    result.uncompressed_size = uncompressed_size;
    result.catalogers = catalog::versions();
    Ok(result)
}

fn check_digest(kind: &str, what: &str, expected: Option<&str>, actual: &str) -> Result<()> {
    match expected {
        Some(exp) if !exp.eq_ignore_ascii_case(actual) => Err(Error::DigestMismatch {
            what: format!("{kind} {what}"),
            expected: exp.to_string(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Catalog a root filesystem directory as one pseudo-layer. Symlinks are never followed.
///
/// # Errors
/// [`Error::Io`] when the root cannot be read.
pub fn scan_dir(root: &std::path::Path) -> Result<LayerResult> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root.display().to_string(), e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            root.display().to_string(),
            io::Error::new(io::ErrorKind::InvalidInput, "not a directory"),
        ));
    }
    let mut col = Collector::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.depth() == 1
                && e.file_type().is_dir()
                && matches!(e.file_name().to_str(), Some("proc" | "sys" | "dev")))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                col.result.warnings.push(format!("cannot read: {e}"));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let Some(rel) = rel.to_str() else { continue };
        let Some(cat) = catalog::find(rel) else {
            continue;
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let res = File::open(entry.path()).and_then(|mut f| {
            let size = f.metadata()?.len();
            col.read_file(rel, cat, size, &mut f)
        });
        if let Err(e) = res {
            col.result.warnings.push(format!("{rel}: cannot read: {e}"));
        }
    }
    let mut result = col.result;
    result.compression = "dir".into();
    result.catalogers = catalog::versions();
    Ok(result)
}
