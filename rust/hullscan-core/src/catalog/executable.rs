//! Executables anywhere in the image (ELF, Mach-O, PE, claimed by their first bytes): Go build
//! information ([`super::gobinary`]) and cargo-auditable dependency data
//! ([`super::cargo_auditable`]).
//!
//! In a layer the file streams past once, so what is kept is planned from its first bytes:
//! - ELF: the ELF and program headers come first. The Go blob is looked for at 16-byte aligned
//!   offsets in the writable load segments as they pass, and once found only its own bytes are
//!   kept (Go 1.18+ writes the version and module strings inline after it), so a Go binary is not
//!   buffered. cargo-auditable's `.dep-v0` is a non-allocated section, which linkers place after
//!   all load segments: that tail (symbol and name tables, the section headers; capped at
//!   [`TAIL_CAP`]) is kept and parsed at the end. A Go binary built before Go 1.18 points into
//!   read-only data that has passed by the time the blob is seen: when the section headers in the
//!   first bytes (the Go linker puts them there) show a 32-byte blob section, or when a Go build ID
//!   note is seen but the section headers are at the end (external linking), the file is kept
//!   whole until the blob is seen, and released at once if it is the inline format.
//! - Mach-O: the load commands, with every section, come first: exactly the blob's and the
//!   `.dep-v0` section's bytes are kept (the whole file for a pre-1.18 Go blob).
//! - Mach-O universal binaries and PE files are kept whole (both are rare in container images).
//!
//! In a root filesystem the file is read at the offsets the tables give instead, following Go's
//! own rules for where the blob is.

use super::exe::{self, ErrorKind, Exe, Kind, Prefix, Source, Sparse};
use super::{cargo_auditable, gobinary, Cataloger, Sniffed};
use crate::model::{FileResult, RawPackage};
use std::io::{self, Read};

pub struct ExecutableCataloger;

/// Largest executable read (bigger ones are skipped with a warning).
pub const MAX_SIZE: u64 = 512 << 20;
/// Bytes read before planning (headers, and for Go's linker the section table).
const PREFIX: usize = 64 * 1024;
/// Largest header area read before planning (Mach-O load commands, ELF program headers).
const MAX_PREFIX: u64 = 16 << 20;
/// Most of an ELF file's non-loaded tail kept for its section table and `.dep-v0`.
pub const TAIL_CAP: u64 = 64 << 20;
/// Streaming chunk; a multiple of 16 so an aligned 16-byte block never straddles two chunks.
const CHUNK: usize = 64 * 1024;

impl Cataloger for ExecutableCataloger {
    fn name(&self) -> &'static str {
        "executable"
    }
    fn version(&self) -> u32 {
        1
    }
    fn patterns(&self) -> &'static [&'static str] {
        &["**/* (ELF, Mach-O or PE, by content)"]
    }
    fn wants(&self, _path: &str) -> bool {
        false
    }
    fn max_size(&self) -> u64 {
        MAX_SIZE
    }
    fn parse(&self, path: &str, data: &[u8]) -> Result<FileResult, String> {
        let packages = analyze(&data, GoBlob::Locate)?;
        Ok(self.result(path, packages))
    }
    fn sniffs(&self) -> bool {
        true
    }
    fn wants_content(&self, head: &[u8]) -> bool {
        match exe::sniff(head) {
            // "MZ" starts other files too; a PE header offset inside the first 64 MiB is a start.
            Some(Kind::Pe) => head
                .get(0x3c..0x40)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .is_some_and(|at| (0x40..64 << 20).contains(&at)),
            Some(_) => true,
            None => false,
        }
    }
    fn parse_stream(
        &self,
        path: &str,
        head: &[u8],
        rest: &mut dyn Read,
        size: u64,
    ) -> io::Result<Sniffed> {
        let (src, go) = stream(head, rest, size)?;
        Ok(self.sniffed(path, analyze(&src, go)))
    }
    fn parse_file(&self, path: &str, file: &mut std::fs::File, size: u64) -> io::Result<Sniffed> {
        let src = exe::FileSource::new(file, size);
        let res = analyze(&src, GoBlob::Locate);
        if let Some(e) = src.io_error.borrow_mut().take() {
            return Err(e);
        }
        Ok(self.sniffed(path, res))
    }
}

impl ExecutableCataloger {
    fn result(&self, path: &str, packages: Vec<RawPackage>) -> FileResult {
        FileResult {
            path: path.to_string(),
            cataloger: self.name().to_string(),
            packages,
            release: None,
            ..FileResult::default()
        }
    }

    fn sniffed(&self, path: &str, res: Result<Vec<RawPackage>, String>) -> Sniffed {
        match res {
            Ok(p) if p.is_empty() => Sniffed::Nothing,
            Ok(p) => Sniffed::Found(self.result(path, p)),
            Err(e) => Sniffed::Failed(e),
        }
    }
}

/// Where the Go build information blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoBlob {
    /// Not known yet: find it by Go's rules (the file can be read anywhere).
    Locate,
    /// Streaming found its magic at this file offset.
    At(u64),
    /// Streaming searched every place it can be and found none.
    Absent,
}

/// The packages of an executable read through `src`, with the Go blob where `go` says. Not an executable with build information: no
/// packages. Broken headers or build information: an error (packages found despite an error in
/// another part are kept and the error dropped).
///
/// # Errors
/// A message naming what is broken, e.g. `truncated ELF: ...`, `Go build info: bogus varint ...`.
pub fn analyze(src: &dyn Source, go: GoBlob) -> Result<Vec<RawPackage>, String> {
    let head = src
        .read(0, src.len().min(16), "file header")
        .map_err(|e| e.to_string())?;
    match exe::sniff(&head) {
        Some(Kind::Fat) => {
            let slices = exe::fat_slices(src).map_err(|e| e.to_string())?;
            let mut all = Vec::new();
            let mut errors = Vec::new();
            for (base, len) in slices {
                let w = exe::Window {
                    inner: src,
                    base,
                    len,
                };
                match analyze_thin(&w, GoBlob::Locate) {
                    Ok(p) => all.extend(p),
                    Err(e) => errors.push(e),
                }
            }
            all.sort();
            all.dedup();
            match errors.into_iter().next() {
                Some(e) if all.is_empty() => Err(e),
                _ => Ok(all),
            }
        }
        Some(_) => analyze_thin(src, go),
        None => Ok(Vec::new()),
    }
}

fn analyze_thin(src: &dyn Source, go: GoBlob) -> Result<Vec<RawPackage>, String> {
    let parsed = Exe::parse(src);
    let exe = match parsed {
        Ok(e) => Some(e),
        // "MZ" without a PE header: a DOS program or not an executable at all.
        Err(ref e) if e.detail.starts_with("PE: no PE signature") => return Ok(Vec::new()),
        // Streaming did not keep all the tables: a Go binary needs none for the inline format;
        // an ELF whose name table was past the tail cap has no readable `.dep-v0`.
        Err(ref e) if e.kind == ErrorKind::NotRetained && matches!(go, GoBlob::At(_)) => None,
        Err(ref e) if e.kind == ErrorKind::NotRetained => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let mut packages = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let at = match (go, &exe) {
        (GoBlob::At(at), _) => Some(at),
        (GoBlob::Locate, Some(exe)) => gobinary::locate(exe, src).unwrap_or_else(|e| {
            errors.push(e.to_string());
            None
        }),
        _ => None,
    };
    if let Some(at) = at {
        let res = gobinary::decode(exe.as_ref(), src, at).and_then(|(vers, module)| {
            let mut bi = gobinary::parse_modinfo(&module)?;
            bi.go_version = vers;
            Ok(bi)
        });
        match res {
            Ok(bi) => packages.extend(gobinary::packages(&bi)),
            Err(e) => errors.push(e),
        }
    }
    if let Some(exe) = &exe {
        let dep = exe.sections.iter().find(|s| {
            s.name == cargo_auditable::SECTION
                && (exe.format != exe::Format::MachO || s.segment == "__DATA")
        });
        if let Some(s) = dep {
            let res = if s.size > cargo_auditable::MAX_COMPRESSED {
                Err(format!(
                    "cargo-auditable data: section of {} bytes (more than {})",
                    s.size,
                    cargo_auditable::MAX_COMPRESSED
                ))
            } else {
                src.read(s.offset, s.size, "cargo-auditable section")
                    .map_err(|e| format!("cargo-auditable data: {e}"))
                    .and_then(|b| cargo_auditable::packages(&b))
            };
            match res {
                Ok(p) => packages.extend(p),
                Err(e) => errors.push(e),
            }
        }
    }
    match errors.into_iter().next() {
        Some(e) if packages.is_empty() => Err(e),
        _ => Ok(packages),
    }
}

/// What to keep of a streaming executable, decided from its first bytes.
#[derive(Debug, Default)]
struct Plan {
    /// Keep every byte.
    whole: bool,
    /// Keep every byte until the Go blob is found; drop them if it has the inline format.
    whole_until_go: bool,
    /// File ranges `[start, end)` to keep.
    keep: Vec<(u64, u64)>,
    /// File ranges searched for the Go blob's magic at 16-byte aligned offsets.
    scan: Vec<(u64, u64)>,
}

impl Plan {
    fn whole() -> Plan {
        Plan {
            whole: true,
            ..Plan::default()
        }
    }
}

/// Planning needs more of the file's first bytes (up to this offset).
struct NeedPrefix(u64);

fn plan(prefix: &[u8], size: u64) -> Result<Plan, NeedPrefix> {
    let src = Prefix {
        data: prefix,
        len: size,
    };
    let need = |e: &exe::ExeError, upto: u64| -> Result<Plan, NeedPrefix> {
        if e.kind == ErrorKind::NotRetained && upto <= MAX_PREFIX && upto > prefix.len() as u64 {
            Err(NeedPrefix(upto))
        } else if e.kind == ErrorKind::NotRetained {
            Ok(Plan::whole())
        } else {
            // Broken headers: nothing more is worth keeping; the analysis reports the error.
            Ok(Plan::default())
        }
    };
    match exe::sniff(prefix) {
        Some(Kind::Elf) => {
            let h = match exe::elf_header(&src) {
                Ok(h) => h,
                Err(e) => return need(&e, 64),
            };
            let (ph_off, ph_len) = h.program_table();
            let segments = match exe::elf_segments(&src, &h) {
                Ok(s) => s,
                Err(e) => return need(&e, ph_off.saturating_add(ph_len)),
            };
            Ok(plan_elf(&src, &h, &segments, size))
        }
        Some(Kind::MachO) => {
            let h = match exe::macho_header(&src) {
                Ok(h) => h,
                Err(e) => return need(&e, 32),
            };
            match Exe::parse(&src) {
                Ok(m) => Ok(plan_macho(&m)),
                Err(e) => need(&e, h.cmds.0 + h.cmds.1),
            }
        }
        _ => Ok(Plan::whole()),
    }
}

fn plan_elf(src: &Prefix<'_>, h: &exe::ElfHeader, segments: &[exe::Segment], size: u64) -> Plan {
    let clip = |a: u64, len: u64| (a.min(size), a.saturating_add(len).min(size));
    let mut p = Plan {
        scan: segments
            .iter()
            .filter(|s| s.load && s.writable && !s.executable)
            .map(|s| clip(s.offset, s.filesz))
            .collect(),
        ..Plan::default()
    };
    let go_note = segments.iter().any(|s| {
        s.name == "PT_NOTE"
            && src
                .read(s.offset, s.filesz, "note")
                .is_ok_and(|d| exe::has_go_note(&d, h.big_endian))
    });
    if go_note {
        // A Go program: no cargo-auditable data, only the blob matters.
        match exe::elf_section_headers(src, h) {
            Ok((sections, _)) if !sections.is_empty() => {
                // The Go linker's layout: `.go.buildinfo` is the first writable PROGBITS
                // section; 32 bytes is the pre-1.18 pointer format.
                let blob = sections
                    .iter()
                    .find(|s| s.kind == 1 && s.flags & 3 == 3 && s.size > 0);
                if blob.is_some_and(|s| s.size <= gobinary::HEADER) {
                    p.whole = true;
                }
            }
            _ => p.whole_until_go = true,
        }
        return p;
    }
    let load_end = segments
        .iter()
        .filter(|s| s.load)
        .map(|s| s.offset.saturating_add(s.filesz))
        .max()
        .unwrap_or(0)
        .min(size);
    p.keep.push(clip(load_end, TAIL_CAP));
    if let Some((off, len)) = h.section_table() {
        p.keep.push(clip(off, len));
    }
    p
}

fn plan_macho(m: &Exe) -> Plan {
    let mut p = Plan::default();
    if let Some(s) = m.section("__go_buildinfo") {
        if s.size <= gobinary::HEADER {
            return Plan::whole();
        }
        p.scan.push((s.offset, s.offset + s.size));
    } else if m
        .sections
        .iter()
        .any(|s| s.name == "__gopclntab" || s.name == "__gosymtab")
    {
        // A Go program without the section: the blob is somewhere in the data.
        return Plan::whole();
    }
    for s in &m.sections {
        if s.name == cargo_auditable::SECTION {
            p.keep.push((s.offset, s.offset.saturating_add(s.size)));
        }
    }
    p
}

/// Where the Go blob search stands.
#[derive(Debug)]
enum GoScan {
    Searching,
    /// Collecting the blob that starts at `start` (bytes from `start` on, in `buf`).
    Collecting {
        start: u64,
        buf: Vec<u8>,
    },
    Found {
        start: u64,
        bytes: Vec<u8>,
    },
}

/// How much of a candidate blob (bytes from its magic on) is needed.
enum BlobNeed {
    /// This many bytes from the magic in all.
    More(u64),
    /// Complete: the blob is this long.
    Done(u64),
    /// Not a blob (a stray magic): keep searching after it.
    Invalid,
    /// The pre-1.18 pointer format: only the header is here.
    Pointers,
}

fn blob_need(b: &[u8]) -> BlobNeed {
    let h = gobinary::HEADER;
    if (b.len() as u64) < h {
        return BlobNeed::More(h);
    }
    match gobinary::layout(&b[..h as usize]) {
        Err(_) => return BlobNeed::Invalid,
        Ok(gobinary::Layout::Pointers { .. }) => return BlobNeed::Pointers,
        Ok(gobinary::Layout::Inline) => {}
    }
    let mut at = h;
    for i in 0..2 {
        let tail = &b[usize::try_from(at).unwrap_or(usize::MAX).min(b.len())..];
        let Some((n, used)) = gobinary::uvarint(tail) else {
            return if tail.len() >= 10 {
                BlobNeed::Invalid
            } else {
                BlobNeed::More(at + 10)
            };
        };
        if n > gobinary::MAX_STRING {
            return BlobNeed::Invalid;
        }
        if i == 0 {
            // The version: Go writes "go1.x" or "devel ...".
            let v = &tail[used..];
            let probe = &v[..v.len().min(5)];
            if !(b"go1.".starts_with(&probe[..probe.len().min(4)]) || b"devel".starts_with(probe)) {
                return BlobNeed::Invalid;
            }
        }
        at += used as u64 + n;
        if (b.len() as u64) < at && i == 0 {
            return BlobNeed::More(at + 10);
        }
    }
    if (b.len() as u64) < at {
        BlobNeed::More(at)
    } else {
        BlobNeed::Done(at)
    }
}

/// Keeps what the plan asks for as the file streams past.
struct Keeper {
    plan: Plan,
    size: u64,
    /// The first bytes, read before planning (headers).
    prefix: Vec<u8>,
    whole: Option<Vec<u8>>,
    pieces: Vec<(u64, Vec<u8>)>,
    go: GoScan,
    /// The first magic that did not start a valid blob (and up to 64 bytes from it): if no valid
    /// blob turns up, it is decoded after all, so a broken blob is reported as in a file read in
    /// place, where Go's rules pick the first magic too.
    first_invalid: Option<(u64, Vec<u8>)>,
}

impl Keeper {
    fn new(plan: Plan, size: u64, prefix: Vec<u8>) -> Keeper {
        let whole = (plan.whole || plan.whole_until_go).then(|| {
            let mut v = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            v.extend_from_slice(&prefix);
            v
        });
        let pieces = plan.keep.iter().map(|&(a, _)| (a, Vec::new())).collect();
        let mut k = Keeper {
            plan,
            size,
            prefix: Vec::new(),
            whole,
            pieces,
            go: GoScan::Searching,
            first_invalid: None,
        };
        k.feed(0, &prefix, true);
        k.prefix = prefix;
        k
    }

    /// Nothing after `pos` is wanted any more.
    fn finished(&self, pos: u64) -> bool {
        self.whole.is_none()
            && self.plan.keep.iter().all(|&(_, b)| b <= pos)
            && match self.go {
                GoScan::Searching => self.plan.scan.iter().all(|&(_, b)| b <= pos),
                GoScan::Collecting { .. } => false,
                GoScan::Found { .. } => true,
            }
    }

    /// Take the bytes `data` at file offset `pos` (`in_whole`: already in the whole buffer).
    fn feed(&mut self, pos: u64, data: &[u8], in_whole: bool) {
        let end = pos + data.len() as u64;
        if !in_whole {
            if let Some(w) = &mut self.whole {
                w.extend_from_slice(data);
            }
        }
        for (i, &(a, b)) in self.plan.keep.iter().enumerate() {
            let (lo, hi) = (a.max(pos), b.min(end));
            if lo < hi {
                let piece = &mut self.pieces[i].1;
                piece.extend_from_slice(&data[(lo - pos) as usize..(hi - pos) as usize]);
            }
        }
        self.go_feed(pos, data);
    }

    fn go_feed(&mut self, pos: u64, data: &[u8]) {
        let end = pos + data.len() as u64;
        if let GoScan::Collecting { start, buf } = &mut self.go {
            let (start, have) = (*start, *start + buf.len() as u64);
            if have < end {
                buf.extend_from_slice(&data[(have.max(pos) - pos) as usize..]);
            }
            self.go_check(start);
            return;
        }
        if !matches!(self.go, GoScan::Searching) {
            return;
        }
        let mut from = pos;
        while let Some(at) = self.next_candidate(from, pos, data) {
            self.go = GoScan::Collecting {
                start: at,
                buf: data[(at - pos) as usize..].to_vec(),
            };
            match self.go_check(at) {
                Some(next) => from = next,
                None => return,
            }
        }
    }

    /// The next aligned magic at or after `from` inside a scan range within `data` (at `pos`).
    fn next_candidate(&self, from: u64, pos: u64, data: &[u8]) -> Option<u64> {
        let end = pos + data.len() as u64;
        let magic = gobinary::MAGIC;
        if from >= end {
            return None;
        }
        for &(a, b) in &self.plan.scan {
            let lo = a.max(from).max(pos).div_ceil(16) * 16;
            let hi = b.min(end);
            let mut o = lo;
            while o.saturating_add(magic.len() as u64) <= hi {
                let i = (o - pos) as usize;
                if data[i] == magic[0] && data[i..i + magic.len()] == magic[..] {
                    return Some(o);
                }
                o += 16;
            }
        }
        None
    }

    /// Re-examine the blob being collected from `start`. Returns where to resume searching if it
    /// turned out not to be one (the bytes collected so far are searched again by the caller).
    fn go_check(&mut self, start: u64) -> Option<u64> {
        let GoScan::Collecting { buf, .. } = &mut self.go else {
            return None;
        };
        let avail = self.size - start;
        match blob_need(buf) {
            BlobNeed::More(n) if n <= avail => None,
            BlobNeed::More(_) | BlobNeed::Pointers => {
                // Truncated at the end of the file, or the pointer format: keep what is here
                // (the decoder reports what is missing).
                let bytes = std::mem::take(buf);
                self.go = GoScan::Found { start, bytes };
                None
            }
            BlobNeed::Done(n) => {
                let mut bytes = std::mem::take(buf);
                bytes.truncate(usize::try_from(n).unwrap_or(usize::MAX));
                self.go = GoScan::Found { start, bytes };
                if self.plan.whole_until_go {
                    // The inline format needs nothing before the blob: stop keeping the file.
                    self.whole = None;
                    self.plan.whole_until_go = false;
                }
                None
            }
            BlobNeed::Invalid => {
                let rest = std::mem::take(buf);
                if self.first_invalid.is_none() {
                    self.first_invalid = Some((start, rest[..rest.len().min(64)].to_vec()));
                }
                self.go = GoScan::Searching;
                // Search the bytes collected since the stray magic again.
                let next = start + 16;
                if rest.len() > 16 {
                    self.go_feed(next, &rest[16..]);
                }
                Some(u64::MAX)
            }
        }
    }

    fn into_source(mut self) -> (Sparse, GoBlob) {
        if !matches!(self.go, GoScan::Found { .. }) {
            if let Some((start, bytes)) = self.first_invalid.take() {
                self.go = GoScan::Found { start, bytes };
            }
        }
        let go_at = match &self.go {
            GoScan::Found { start, .. } => GoBlob::At(*start),
            // Kept whole without a scan (a PE, a universal binary): Go's rules apply.
            _ if self.plan.scan.is_empty() && self.whole.is_some() => GoBlob::Locate,
            _ => GoBlob::Absent,
        };
        if let Some(w) = self.whole {
            return (
                Sparse {
                    len: self.size,
                    pieces: vec![(0, w)],
                },
                go_at,
            );
        }
        let mut pieces = self.pieces;
        pieces.push((0, self.prefix));
        if let GoScan::Found { start, bytes } = self.go {
            pieces.push((start, bytes));
        }
        (
            Sparse {
                len: self.size,
                pieces,
            },
            go_at,
        )
    }
}

/// Read a streaming executable, keeping what its first bytes say will be needed.
fn stream(head: &[u8], rest: &mut dyn Read, size: u64) -> io::Result<(Sparse, GoBlob)> {
    let mut prefix = head.to_vec();
    let mut want = size.min(PREFIX as u64);
    // The stream ended before the size its header gave.
    let mut short = false;
    let plan = loop {
        if (prefix.len() as u64) < want {
            let n = usize::try_from(want).unwrap_or(usize::MAX) - prefix.len();
            short = fill_into(rest, &mut prefix, n)? < n;
        }
        match plan(&prefix, size) {
            Ok(p) => break p,
            Err(NeedPrefix(n)) if !short && n > want && n <= size => {
                want = (n.div_ceil(16) * 16).min(size);
            }
            // Past the end of what there is, or more header than is sane: keep it all (up to
            // the size limit) and let the analysis say what is wrong.
            Err(_) => break Plan::whole(),
        }
    };
    let prefix_len = prefix.len();
    let mut pos = prefix_len as u64;
    let mut keeper = Keeper::new(plan, size, prefix);
    // Chunks start at multiples of 16 (the prefix is 16-aligned unless it is the whole file).
    let mut chunk = vec![0u8; CHUNK];
    while pos < size && !short && !keeper.finished(pos) {
        let n = usize::try_from((size - pos).min(CHUNK as u64)).unwrap_or(CHUNK);
        let got = fill(rest, &mut chunk[..n])?;
        keeper.feed(pos, &chunk[..got], false);
        pos += got as u64;
        short = got < n;
    }
    let (mut src, go_at) = keeper.into_source();
    if short {
        // The stream ended before the size its header gave: what was read is what there is.
        src.len = pos;
    }
    Ok((src, go_at))
}

fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
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

fn fill_into(r: &mut dyn Read, v: &mut Vec<u8>, n: usize) -> io::Result<usize> {
    let old = v.len();
    v.resize(old + n, 0);
    let got = fill(r, &mut v[old..])?;
    v.truncate(old + got);
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::super::cargo_auditable::tests::{zlib, JSON};
    use super::super::exe::testutil::elf64;
    use super::super::gobinary::tests::{inline_blob, MODINFO};
    use super::*;

    fn names(p: &[RawPackage]) -> Vec<String> {
        p.iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect()
    }

    /// Parse through the streaming path, the way the layer walk feeds it.
    fn streamed(data: &[u8]) -> Result<Vec<RawPackage>, String> {
        let head = &data[..data.len().min(super::super::SNIFF_HEAD)];
        let mut rest = &data[head.len()..];
        let (src, go) = stream(head, &mut rest, data.len() as u64).unwrap();
        analyze(&src, go)
    }

    #[test]
    fn go_elf_whole_and_streamed() {
        // Read-only data first, so the blob is past the streaming prefix and its chunks.
        let rodata = vec![7u8; 3 * CHUNK + 5];
        for note in [false, true] {
            let blob = inline_blob("go1.22.0", MODINFO);
            let f = elf64(
                &[(".rodata", 2, &rodata), (".go.buildinfo", 3, &blob)],
                note,
            );
            let whole = analyze(&f.as_slice(), GoBlob::Locate).unwrap();
            assert!(
                names(&whole).contains(&"stdlib go1.22.0".to_string()),
                "{whole:?}"
            );
            assert_eq!(names(&streamed(&f).unwrap()), names(&whole));
        }
    }

    /// Bytes kept while streaming `data`.
    fn kept(data: &[u8]) -> usize {
        let head = &data[..super::super::SNIFF_HEAD];
        let mut rest = &data[head.len()..];
        let (src, _) = stream(head, &mut rest, data.len() as u64).unwrap();
        src.pieces.iter().map(|(_, b)| b.len()).sum()
    }

    #[test]
    fn streaming_keeps_little() {
        // A Go binary (section headers at the end, as with external linking): kept whole only
        // until the inline blob shows, then released; what remains is the headers and the blob.
        let blob = inline_blob("go1.22.0", MODINFO);
        let go = elf64(
            &[(".rodata", 2, &[3u8; 1 << 20]), (".go.buildinfo", 3, &blob)],
            true,
        );
        assert!(kept(&go) < PREFIX + blob.len() + 64, "{}", kept(&go));
        // A C library: the headers and its small non-loaded tail.
        let lib = elf64(
            &[(".text", 2, &[3u8; 1 << 20]), (".comment", 0, b"GCC")],
            false,
        );
        assert!(kept(&lib) < PREFIX + 4096, "{}", kept(&lib));
    }

    #[test]
    fn a_stream_shorter_than_its_size_ends() {
        // The headers promise more than the stream holds, and the program headers lie past the
        // first 64 KiB: planning asks for more, gets less, and stops.
        let mut f = elf64(&[(".data", 3, &[1u8; 100_000])], false);
        f[32..40].copy_from_slice(&80_000u64.to_le_bytes());
        let head = f[..64].to_vec();
        let mut rest = &f[64..70_000];
        let (src, _) = stream(&head, &mut rest, f.len() as u64).unwrap();
        assert_eq!(src.len, 70_000);
        assert!(analyze(&src, GoBlob::Absent).is_err());
    }

    #[test]
    fn pre_1_18_pointer_layout() {
        // Go 1.13-1.17: the 32-byte blob holds the addresses of two Go string headers (in the
        // data after it), which point at the bytes (in read-only data before it).
        let vers = b"go1.16.15";
        let framed = {
            let b = inline_blob("x", MODINFO);
            // The framed module string is the blob's second inline string: after the header,
            // the version ("x", 2 bytes) and the modinfo length varint (2 bytes).
            b[32 + 2 + 2..].to_vec()
        };
        let mut rodata = vers.to_vec();
        rodata.extend_from_slice(&framed);
        let base = 0x40_0000u64;
        let ro_at = 0x1000u64;
        let blob_at = (ro_at + rodata.len() as u64).div_ceil(16) * 16;
        let data_at = blob_at + 32;
        let mut blob = gobinary::MAGIC.to_vec();
        blob.extend_from_slice(&[8, 0]);
        blob.extend_from_slice(&(base + data_at).to_le_bytes());
        blob.extend_from_slice(&(base + data_at + 16).to_le_bytes());
        let mut data = Vec::new();
        for (at, len) in [
            (ro_at, vers.len()),
            (ro_at + vers.len() as u64, framed.len()),
        ] {
            data.extend_from_slice(&(base + at).to_le_bytes());
            data.extend_from_slice(&(len as u64).to_le_bytes());
        }
        let f = elf64(
            &[
                (".rodata", 2, &rodata),
                (".go.buildinfo", 3, &blob),
                (".noptrdata", 3, &data),
            ],
            true,
        );
        let whole = analyze(&f.as_slice(), GoBlob::Locate).unwrap();
        assert!(
            names(&whole).contains(&"stdlib go1.16.15".to_string()),
            "{whole:?}"
        );
        assert!(names(&whole).contains(&"github.com/pkg/errors v0.9.1".to_string()));
        assert_eq!(names(&streamed(&f).unwrap()), names(&whole));
    }

    #[test]
    fn stray_magic_before_the_blob() {
        let mut data = gobinary::MAGIC.to_vec();
        data.extend_from_slice(&[9, 9]);
        data.resize(4096, 7);
        data.extend_from_slice(&inline_blob("go1.21.5", MODINFO));
        let f = elf64(
            &[(".rodata", 2, &[0u8; 70_000]), (".noptrdata", 3, &data)],
            true,
        );
        let p = streamed(&f).unwrap();
        assert!(names(&p).contains(&"stdlib go1.21.5".to_string()), "{p:?}");
    }

    #[test]
    fn cargo_auditable_elf_streamed() {
        let dep = zlib(JSON.as_bytes());
        let f = elf64(
            &[(".data", 3, &[1u8; 100_000]), (".dep-v0", 0, &dep)],
            false,
        );
        let whole = analyze(&f.as_slice(), GoBlob::Locate).unwrap();
        assert_eq!(names(&whole), ["app 0.1.0", "serde 1.0.217"]);
        assert_eq!(names(&streamed(&f).unwrap()), names(&whole));
    }

    #[test]
    fn plain_elf_is_nothing() {
        let f = elf64(
            &[(".data", 3, &[1u8; 5000]), (".comment", 0, b"GCC")],
            false,
        );
        assert!(analyze(&f.as_slice(), GoBlob::Locate).unwrap().is_empty());
        assert!(streamed(&f).unwrap().is_empty());
    }

    #[test]
    fn hostile_inputs_are_errors() {
        let mut blob = inline_blob("go1.22.0", MODINFO);
        blob.truncate(33);
        blob.extend_from_slice(&[0xff; 11]);
        let f = elf64(&[(".go.buildinfo", 3, &blob)], true);
        for r in [analyze(&f.as_slice(), GoBlob::Locate), streamed(&f)] {
            let e = r.unwrap_err();
            assert!(e.contains("Go build info"), "{e}");
        }
        // A zlib bomb in .dep-v0.
        let bomb = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            for _ in 0..16 {
                e.write_all(&[b' '; 1 << 20]).unwrap();
            }
            e.finish().unwrap()
        };
        let f = elf64(&[(".dep-v0", 0, &bomb)], false);
        for r in [analyze(&f.as_slice(), GoBlob::Locate), streamed(&f)] {
            assert!(r.unwrap_err().contains("cargo-auditable data"));
        }
        // Truncated executables, every way.
        let good = elf64(&[(".dep-v0", 0, &zlib(JSON.as_bytes()))], false);
        for cut in (0..good.len()).step_by(97) {
            let _ = analyze(&&good[..cut], GoBlob::Locate);
            if cut >= 64 {
                let _ = streamed(&good[..cut]);
            }
        }
    }
}
