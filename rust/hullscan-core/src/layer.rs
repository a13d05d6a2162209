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
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::rc::Rc;
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
    /// Most packages one layer (or root filesystem) may contribute: each costs hundreds of bytes
    /// in every later step, and a layer of a million one-line metadata files is an attack.
    pub max_packages: u64,
    /// Also search the contents of files no cataloger reads for secrets (text files up to
    /// [`crate::secrets::MAX_FILE_SIZE`], outside documentation and test directories). Off by
    /// default: it reads most small files of the layer.
    pub secrets: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_uncompressed: 64 << 30,
            max_ratio: 200,
            ratio_floor: 256 << 20,
            max_entries: 10_000_000,
            max_packages: 200_000,
            secrets: false,
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
    /// The stream could not be decompressed (the blob was still hashed to its end).
    stream_error: Option<Error>,
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
    let mut file =
        File::open(&blob.path).map_err(|e| Error::io(blob.path.display().to_string(), e))?;
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
        let (compression, stream_error) =
            decompress(br, blob, what, tx, chunk_pool, &count, limits)?;
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
            stream_error,
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
) -> Result<(Compression, Option<Error>)> {
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
    let (mut br, streamed) = match compression {
        Compression::Gzip => {
            let mut d = flate2::bufread::MultiGzDecoder::new(br);
            let r = pump.run(&mut d);
            (d.into_inner(), r)
        }
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(br).map_err(io_err)?;
            let r = pump.run(&mut d);
            (d.finish(), r)
        }
        Compression::None => {
            let r = pump.run(&mut br);
            (br, r)
        }
    };
    // A corrupt stream may just be the wrong bytes: tell the consumer at once, but finish hashing
    // the stored blob so the caller can report a digest mismatch, the root cause, instead.
    // Other failures (a limit, an I/O error) stop the read here.
    let stream_error = match streamed {
        Ok(()) => None,
        Err(e @ Error::Layer { .. }) => {
            let _ = tx.send(Err(()));
            Some(e)
        }
        Err(e) => return Err(e),
    };
    drain(&mut br).map_err(io_err)?;
    Ok((compression, stream_error))
}

/// Whether any cataloger sniffs content (computed once).
static SNIFFING: std::sync::LazyLock<bool> = std::sync::LazyLock::new(catalog::any_sniffs);

/// Collects what one layer contributes while its tar is walked.
#[derive(Default)]
struct Collector {
    result: LayerResult,
    index: std::collections::HashMap<String, usize>,
    /// Packages in `result.files`.
    packages: u64,
    /// Search unclaimed files for secrets.
    secrets: bool,
}

impl Collector {
    fn add(&mut self, fr: FileResult) {
        self.packages += fr.packages.len() as u64;
        if let Some(&i) = self.index.get(&fr.path) {
            // A later entry with the same path replaces the earlier one.
            self.packages -= self.result.files[i].packages.len() as u64;
            self.result.files[i] = fr;
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

    /// A file over its cataloger's size limit: warned about, recorded as a placeholder (so it
    /// still hides a lower layer's copy), not read.
    fn over_limit(&mut self, path: &str, cat: &dyn catalog::Cataloger, size: u64) -> bool {
        if size <= cat.max_size() {
            return false;
        }
        self.result.warnings.push(format!(
            "{path}: {size} bytes is over the {} cataloger's limit of {} bytes; skipped",
            cat.name(),
            cat.max_size()
        ));
        self.placeholder(path, cat);
        true
    }

    /// Read a wanted file's bytes (bounded) and parse them.
    fn read_file(
        &mut self,
        path: &str,
        cat: &dyn catalog::Cataloger,
        size: u64,
        r: &mut impl Read,
    ) -> io::Result<()> {
        if self.over_limit(path, cat, size) {
            return Ok(());
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        r.take(size).read_to_end(&mut data)?;
        self.parse(path, cat, &data);
        Ok(())
    }

    /// A regular file no cataloger wants by path: read its first bytes and, if a sniffing
    /// cataloger claims them, let it stream the rest. Files below
    /// [`catalog::SNIFF_MIN_SIZE`] are not read at all, nor is anything when no cataloger sniffs.
    fn sniff(&mut self, path: &str, size: u64, r: &mut impl Read) -> io::Result<()> {
        let search = self.wants_secrets(path, size);
        if !search && (size < catalog::SNIFF_MIN_SIZE || !*SNIFFING) {
            return Ok(());
        }
        let mut head = [0u8; catalog::SNIFF_HEAD];
        let n = fill(r, &mut head)?;
        let head = &head[..n];
        let found = if size >= catalog::SNIFF_MIN_SIZE && *SNIFFING {
            catalog::find_by_content(head)
        } else {
            None
        };
        let Some(cat) = found else {
            if search {
                let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                data.extend_from_slice(head);
                r.take(size - n as u64).read_to_end(&mut data)?;
                self.search_secrets(path, &data);
            }
            return Ok(());
        };
        if self.over_limit(path, cat, size) {
            return Ok(());
        }
        let mut rest = r.take(size - n as u64);
        let sniffed = cat.parse_stream(path, head, &mut rest, size)?;
        self.sniffed(path, cat, sniffed);
        Ok(())
    }

    fn wants_secrets(&self, path: &str, size: u64) -> bool {
        self.secrets
            && size > 0
            && size <= crate::secrets::MAX_FILE_SIZE
            && crate::secrets::wants_path(path)
    }

    /// Record the secrets in a file's bytes (binary files are skipped), masked.
    fn search_secrets(&mut self, path: &str, data: &[u8]) {
        if crate::secrets::is_binary(data) {
            return;
        }
        for h in crate::secrets::find(data) {
            let rule = &crate::secrets::RULES[h.rule];
            let text = String::from_utf8_lossy(&data[h.start..h.end]);
            self.result.secrets.push(crate::model::SecretFinding {
                path: path.to_string(),
                rule: rule.id.to_string(),
                title: rule.title.to_string(),
                severity: rule.severity.to_string(),
                line: h.line as u64,
                masked: crate::secrets::mask(&text, rule.keep),
            });
        }
    }

    fn sniffed(&mut self, path: &str, cat: &dyn catalog::Cataloger, s: catalog::Sniffed) {
        match s {
            catalog::Sniffed::Found(fr) => self.add(fr),
            catalog::Sniffed::Nothing => {}
            catalog::Sniffed::Failed(msg) => {
                self.result
                    .warnings
                    .push(format!("{path}: {} cataloger: {msg}", cat.name()));
                self.placeholder(path, cat);
            }
        }
    }

    /// A hard link to a file a sniffing cataloger read in this layer: the same packages, here too.
    fn sniffed_link(&mut self, path: &str, target: Option<&str>) {
        let existing = target
            .and_then(|t| self.index.get(t))
            .map(|&i| self.result.files[i].clone());
        if let Some(mut fr) = existing {
            if catalog::CATALOGERS
                .iter()
                .any(|c| c.sniffs() && c.name() == fr.cataloger)
            {
                fr.path = path.to_string();
                self.add(fr);
            }
        }
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

    fn check_packages(&self, what: &str, limits: Limits) -> Result<()> {
        if self.packages > limits.max_packages {
            return Err(Error::Limit {
                what: what.to_string(),
                detail: format!("more than {} packages", limits.max_packages),
            });
        }
        Ok(())
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

/// Most bytes the tar reader may consume between the end of one entry's data and the start of the
/// next entry's: its header plus any GNU long name / long link, PAX extended header and sparse map
/// blocks in front of it. The `tar` crate buffers those whole in memory before it returns the
/// entry, so without this bound an inflated "long name" would fill memory. Real ones are at most a
/// few KiB (PATH_MAX, a handful of xattrs).
pub const MAX_TAR_METADATA: u64 = 4 << 20;

/// Position in the uncompressed stream and how far the tar reader may go, shared between the
/// reader handed to the `tar` crate and the walk that moves the fence.
struct Fence {
    pos: Cell<u64>,
    limit: Cell<u64>,
    tripped: Cell<bool>,
}

/// The reader under the `tar` crate: refuses to read past the fence.
struct Fenced<R> {
    inner: R,
    fence: Rc<Fence>,
}

impl<R: Read> Read for Fenced<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (pos, limit) = (self.fence.pos.get(), self.fence.limit.get());
        if buf.is_empty() {
            return Ok(0);
        }
        if pos >= limit {
            self.fence.tripped.set(true);
            return Err(io::Error::other("tar metadata limit reached"));
        }
        let room = usize::try_from(limit - pos).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let got = self.inner.read(&mut buf[..n])?;
        self.fence.pos.set(pos + got as u64);
        Ok(got)
    }
}

/// How many bytes of the stream the `tar` crate frames as this entry's data (what it skips before
/// the next header). For a GNU sparse file that is the stored chunks, not `Entry::size` (the
/// expanded size); a PAX `size` record overrides the header, as the crate does.
fn stored_size<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<u64> {
    if !entry.header().entry_type().is_gnu_sparse() {
        return Ok(entry.size());
    }
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let Ok(ext) = ext else { break };
            if ext.key() == Ok("size") {
                if let Some(v) = ext.value().ok().and_then(|v| v.parse::<u64>().ok()) {
                    return Ok(v);
                }
                break;
            }
        }
    }
    entry.header().entry_size()
}

/// Walk the tar stream, cataloging the entries catalogers want.
///
/// Some writers (umoci's `insert --opaque`, for one) end a layer right after the last entry's data,
/// without the padding and the two zero blocks of the end-of-archive marker. Go's reader, and so
/// docker and containerd, accept that; so do we, with a warning, when the stream ends inside that
/// missing tail. A stream that ends inside an entry's data or header is still an error.
fn walk_tar<R: Read>(reader: R, what: &str, limits: Limits, col: &mut Collector) -> Result<R> {
    let fence = Rc::new(Fence {
        pos: Cell::new(0),
        limit: Cell::new(MAX_TAR_METADATA),
        tripped: Cell::new(false),
    });
    let tar_err = |e: io::Error| {
        if fence.tripped.get() {
            Error::Limit {
                what: what.to_string(),
                detail: format!(
                    "more than {MAX_TAR_METADATA} bytes of tar metadata (headers, long names, \
                     PAX records) in front of one entry"
                ),
            }
        } else {
            Error::Layer {
                what: what.to_string(),
                detail: format!("not a readable tar stream: {e}"),
            }
        }
    };
    let mut archive = tar::Archive::new(Fenced {
        inner: reader,
        fence: Rc::clone(&fence),
    });
    let mut n: u64 = 0;
    // End of the last entry's data, unpadded: where a writer that skips the tail stops.
    let mut last_end: u64 = 0;
    let mut short_tail = false;
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = fence.pos.get();
                let tail_end = last_end.div_ceil(512) * 512 + 1024;
                if n > 0 && !fence.tripped.get() && at >= last_end && at < tail_end {
                    short_tail = true;
                    break;
                }
                return Err(tar_err(e));
            }
        };
        n += 1;
        if n > limits.max_entries {
            return Err(Error::Limit {
                what: what.to_string(),
                detail: format!("more than {} tar entries", limits.max_entries),
            });
        }
        // The entry's own data may be read (or skipped) in full; past it, only a bounded amount
        // of metadata before the next entry.
        let data_start = fence.pos.get();
        let stored = stored_size(&mut entry).map_err(tar_err)?;
        fence.limit.set(u64::MAX);
        visit(&mut entry, col).map_err(tar_err)?;
        col.check_packages(what, limits)?;
        last_end = data_start.saturating_add(stored);
        let data_end = data_start.saturating_add(stored.div_ceil(512).saturating_mul(512));
        fence.limit.set(
            data_end
                .max(fence.pos.get())
                .saturating_add(MAX_TAR_METADATA),
        );
    }
    // Whatever follows the end-of-archive marker is hashed (it is part of the diff_id), not parsed.
    fence.limit.set(u64::MAX);
    let mut rest = archive.into_inner().inner;
    if short_tail {
        // Only acceptable if the stream really ended there.
        if drain(&mut rest).map_err(tar_err)? > 0 {
            return Err(Error::Layer {
                what: what.to_string(),
                detail: "not a readable tar stream: corrupt entry header".into(),
            });
        }
        col.result
            .warnings
            .push("layer tar ends without its end-of-archive blocks".into());
    }
    Ok(rest)
}

/// Hand one entry to the cataloger that wants it, or record what it deletes.
fn visit<R: Read>(entry: &mut tar::Entry<'_, R>, col: &mut Collector) -> io::Result<()> {
    let raw = entry.path_bytes();
    let Ok(name) = std::str::from_utf8(&raw) else {
        return Ok(()); // no cataloger wants a non-UTF-8 name
    };
    let Some(path) = paths::normalize(name) else {
        if !matches!(name.trim_matches('/'), "" | ".") {
            col.result
                .warnings
                .push(format!("entry {name:?} escapes the layer root; ignored"));
        }
        return Ok(());
    };
    drop(raw);
    let (dir, file) = paths::split(&path);
    if col.whiteout(dir, file) {
        return Ok(());
    }
    let kind = entry.header().entry_type();
    let Some(cat) = catalog::find(&path) else {
        // No cataloger wants the path: a sniffing cataloger may still want the content.
        if kind.is_file() || kind == tar::EntryType::Continuous {
            let size = entry.size();
            col.sniff(&path, size, entry)?;
        } else if kind.is_hard_link() {
            let target = entry
                .link_name()
                .ok()
                .flatten()
                .and_then(|t| paths::normalize(&t.to_string_lossy()));
            col.sniffed_link(&path, target.as_deref());
        }
        return Ok(());
    };
    if kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse() {
        // For a sparse file `size` is the expanded size, and reading yields the holes as zeros.
        let size = entry.size();
        col.read_file(&path, cat, size, entry)?;
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
                col.result.warnings.push(format!(
                    "{path}: hard link to a file not read in this layer; skipped"
                ));
                col.placeholder(&path, cat);
            }
        }
    } else {
        col.placeholder(&path, cat);
    }
    Ok(())
}

/// Read one layer blob: decompress, walk, catalog, verify digests.
///
/// `expected_digest` is checked against the blob as stored, `expected_diff_id` against the
/// uncompressed tar stream. Both are checked after the whole blob has been read; on a mismatch the
/// result is discarded and [`Error::DigestMismatch`] returned. The stored blob is hashed to its end
/// even when its content turns out corrupt (not decompressible, not a tar), and a blob digest
/// mismatch is then reported in preference to the corruption it explains; a limit that stops the
/// read early is reported as it is.
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
    let mut col = Collector {
        secrets: limits.secrets,
        ..Collector::default()
    };
    let (walked, produced) = std::thread::scope(|s| {
        let producer = s.spawn(|| {
            let tx = tx;
            let pool_rx = pool_rx;
            match produce(blob, &what, &tx, &pool_rx, limits) {
                Ok(p) => Some(p),
                Err(e) => {
                    *failure
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
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
    if let Some(e) = failure
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
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
    // The whole stored blob was hashed even if its content failed: bytes that are not the ones the
    // descriptor names explain any failure in them, so a mismatch is reported first.
    check_digest("blob", &what, expected_digest, &produced.digest)?;
    if let Some(e) = produced.stream_error {
        return Err(e);
    }
    let (diff_id, uncompressed_size) = walked?;
    check_digest(
        "uncompressed layer (diff_id)",
        &what,
        expected_diff_id,
        &diff_id,
    )?;
    let mut result = col.result;
    result.digest = produced.digest;
    result.diff_id = diff_id;
    result.compression = produced.compression.name().to_string();
    result.compressed_size = produced.size;
    result.uncompressed_size = uncompressed_size;
    result.catalogers = catalog::versions();
    result.secrets_searched = limits.secrets;
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

/// A root filesystem's regular file that no cataloger wants by path: sniff it, and let a
/// claiming cataloger read it at the offsets it needs.
fn sniff_file(col: &mut Collector, rel: &str, entry: &walkdir::DirEntry) -> io::Result<()> {
    if !*SNIFFING && !col.secrets {
        return Ok(());
    }
    // One path lookup per file (open, then fstat on the handle): a separate lstat first would
    // cost a second lookup, the larger part of the time.
    let mut f = File::open(entry.path())?;
    let size = f.metadata()?.len();
    let search = col.wants_secrets(rel, size);
    if !search && (size < catalog::SNIFF_MIN_SIZE || !*SNIFFING) {
        return Ok(());
    }
    let mut head = [0u8; catalog::SNIFF_HEAD];
    let n = fill(&mut f, &mut head)?;
    let found = if size >= catalog::SNIFF_MIN_SIZE && *SNIFFING {
        catalog::find_by_content(&head[..n])
    } else {
        None
    };
    let Some(cat) = found else {
        if search {
            let mut data = head[..n].to_vec();
            f.take(size - n as u64).read_to_end(&mut data)?;
            col.search_secrets(rel, &data);
        }
        return Ok(());
    };
    if col.over_limit(rel, cat, size) {
        return Ok(());
    }
    let sniffed = cat.parse_file(rel, &mut f, size)?;
    col.sniffed(rel, cat, sniffed);
    Ok(())
}

/// Catalog a root filesystem directory as one pseudo-layer. Symlinks are never followed.
///
/// # Errors
/// [`Error::Io`] when the root cannot be read, [`Error::Limit`] past the default
/// [`Limits::max_packages`].
pub fn scan_dir(root: &std::path::Path) -> Result<LayerResult> {
    scan_dir_with(root, Limits::default())
}

/// [`scan_dir`] with [`Limits`] (of which a root filesystem uses `max_packages` and `secrets`).
///
/// # Errors
/// As [`scan_dir`].
pub fn scan_dir_with(root: &std::path::Path, limits: Limits) -> Result<LayerResult> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root.display().to_string(), e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            root.display().to_string(),
            io::Error::new(io::ErrorKind::InvalidInput, "not a directory"),
        ));
    }
    let mut col = Collector {
        secrets: limits.secrets,
        ..Collector::default()
    };
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
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(cat) = catalog::find(rel) else {
            if let Err(e) = sniff_file(&mut col, rel, &entry) {
                col.result.warnings.push(format!("{rel}: cannot read: {e}"));
            }
            col.check_packages(&root.display().to_string(), limits)?;
            continue;
        };
        let res = File::open(entry.path()).and_then(|mut f| {
            let size = f.metadata()?.len();
            col.read_file(rel, cat, size, &mut f)
        });
        if let Err(e) = res {
            col.result.warnings.push(format!("{rel}: cannot read: {e}"));
        }
        col.check_packages(&root.display().to_string(), limits)?;
    }
    let mut result = col.result;
    result.compression = "dir".into();
    result.catalogers = catalog::versions();
    result.secrets_searched = limits.secrets;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A blob written to a file of its own under the system temp dir, removed on drop.
    struct TempBlob(PathBuf);

    impl TempBlob {
        fn new(name: &str, data: &[u8]) -> Self {
            let path = std::env::temp_dir()
                .join(format!("hullscan-layer-test-{}-{name}", std::process::id()));
            std::fs::write(&path, data).unwrap();
            TempBlob(path)
        }
        fn range(&self) -> BlobRange {
            BlobRange {
                path: self.0.clone(),
                offset: 0,
                length: None,
            }
        }
    }

    impl Drop for TempBlob {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn sha(data: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(data);
        hex_digest(h)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A raw header block (GNU magic) with the given name, type and size field.
    fn header(name: &str, kind: u8, size: u64) -> [u8; 512] {
        let mut h = tar::Header::new_gnu();
        h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        *h.as_bytes()
    }

    fn entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = header(name, b'0', data.len() as u64).to_vec();
        v.extend_from_slice(data);
        v.resize(v.len() + (512 - data.len() % 512) % 512, 0);
        v
    }

    const APK: &[u8] = b"P:musl\nV:1.2.5-r0\n\n";

    fn end(mut v: Vec<u8>) -> Vec<u8> {
        v.extend_from_slice(&[0u8; 1024]);
        v
    }

    #[test]
    fn reads_a_plain_layer() {
        let tar = end(entry("lib/apk/db/installed", APK));
        let blob = TempBlob::new("plain", &gzip(&tar));
        let r = scan_layer(&blob.range(), None, Some(&sha(&tar)), Limits::default()).unwrap();
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].packages[0].name, "musl");
    }

    #[test]
    fn oversized_long_name_is_a_limit_not_a_buffer() {
        for kind in [b'L', b'x'] {
            let size = MAX_TAR_METADATA + 4096;
            let mut tar = header("././@LongLink", kind, size).to_vec();
            tar.resize(tar.len() + usize::try_from(size).unwrap(), b'a');
            tar.extend(entry("lib/apk/db/installed", APK));
            let tar = end(tar);
            let blob = TempBlob::new(&format!("longname-{kind}"), &gzip(&tar));
            let e = scan_layer(&blob.range(), None, None, Limits::default()).unwrap_err();
            assert!(matches!(e, Error::Limit { .. }), "{e}");
        }
    }

    #[test]
    fn long_names_within_the_limit_and_big_skipped_entries_are_fine() {
        // A real long name, then an unwanted entry far bigger than the metadata limit (skipped,
        // not buffered), then a wanted one: the fence moves with each entry's data.
        let long = format!("usr/{}/x", "d".repeat(300));
        let mut tar = header("././@LongLink", b'L', long.len() as u64 + 1).to_vec();
        let mut name = long.into_bytes();
        name.push(0);
        name.resize(name.len().div_ceil(512) * 512, 0);
        tar.extend(name);
        tar.extend(entry("placeholder", b"x"));
        tar.extend(entry(
            "usr/big.bin",
            &vec![7u8; 3 * MAX_TAR_METADATA as usize],
        ));
        tar.extend(entry("lib/apk/db/installed", APK));
        let tar = end(tar);
        let blob = TempBlob::new("longname-ok", &tar);
        let r = scan_layer(
            &blob.range(),
            Some(&sha(&tar)),
            Some(&sha(&tar)),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(r.files[0].packages[0].name, "musl");
    }

    #[test]
    fn corrupt_blob_under_a_wrong_digest_is_a_digest_mismatch() {
        let mut big = Vec::new();
        for i in 0..2000u32 {
            big.extend_from_slice(&i.to_le_bytes().repeat(64));
        }
        let tar = end([entry("lib/apk/db/installed", APK), entry("noise", &big)].concat());
        let gz = gzip(&tar);
        let cut = &gz[..gz.len() / 2];
        let blob = TempBlob::new("truncated", cut);
        // Named by the original digest: the bytes are not the named ones.
        let e = scan_layer(&blob.range(), Some(&sha(&gz)), None, Limits::default()).unwrap_err();
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
        // Named by its own digest (or not at all): the stream itself is broken.
        let e = scan_layer(&blob.range(), Some(&sha(cut)), None, Limits::default()).unwrap_err();
        assert!(matches!(e, Error::Layer { .. }), "{e}");
        let e = scan_layer(&blob.range(), None, Some(&sha(&tar)), Limits::default()).unwrap_err();
        assert!(matches!(e, Error::Layer { .. }), "{e}");
    }

    #[test]
    fn executables_are_sniffed_and_other_files_skipped() {
        use crate::catalog::exe::testutil::elf64;
        use crate::catalog::gobinary::tests::{inline_blob, MODINFO};
        let go = elf64(
            &[
                (".rodata", 2, &[5u8; 200_000]),
                (".go.buildinfo", 3, &inline_blob("go1.22.0", MODINFO)),
            ],
            true,
        );
        let plain = elf64(&[(".data", 3, &[1u8; 4000])], false);
        let mut link = header("usr/bin/app-link", b'1', 0);
        link[157..157 + 11].copy_from_slice(b"usr/bin/app");
        let mut h = tar::Header::from_byte_slice(&link).clone();
        h.set_cksum();
        let tar = end([
            entry("lib/apk/db/installed", APK),
            entry("usr/bin/app", &go),
            h.as_bytes().to_vec(),
            entry("usr/lib/libplain.so", &plain),
            entry("usr/bin/tiny", b"\x7fELF\x02\x01\x01"),
            entry("usr/share/doc/big.txt", &vec![b'x'; 100_000]),
        ]
        .concat());
        let blob = TempBlob::new("sniff", &gzip(&tar));
        let r = scan_layer(&blob.range(), None, Some(&sha(&tar)), Limits::default()).unwrap();
        let paths: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["lib/apk/db/installed", "usr/bin/app", "usr/bin/app-link"],
            "{:?}",
            r.warnings
        );
        assert!(r.files[1]
            .packages
            .iter()
            .any(|p| p.name == "stdlib" && p.version == "go1.22.0"));
        assert_eq!(r.files[1].packages, r.files[2].packages);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert!(r.catalogers.contains(&"executable=1".to_string()));
    }

    #[test]
    fn gnu_sparse_database_is_read_as_a_file() {
        // One stored chunk (the database) then a hole up to `real`.
        let real: u64 = 8192;
        let mut h = header("lib/apk/db/installed", b'S', 512);
        let gnu = &mut h[..];
        let octal = |v: u64| format!("{v:011o}\0").into_bytes();
        gnu[386..398].copy_from_slice(&octal(0));
        gnu[398..410].copy_from_slice(&octal(512));
        gnu[410..422].copy_from_slice(&octal(real)); // an empty chunk at the end sets the size
        gnu[422..434].copy_from_slice(&octal(0));
        gnu[483..495].copy_from_slice(&octal(real));
        let mut hh = tar::Header::from_byte_slice(&h).clone();
        hh.set_cksum();
        let mut data = APK.to_vec();
        data.resize(512, b'\n');
        let tar = end([hh.as_bytes().to_vec(), data].concat());
        let blob = TempBlob::new("sparse", &tar);
        let r = scan_layer(&blob.range(), None, Some(&sha(&tar)), Limits::default()).unwrap();
        assert_eq!(r.files.len(), 1, "{:?}", r.warnings);
        assert_eq!(r.files[0].packages[0].name, "musl");
    }
}
