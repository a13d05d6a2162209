//! Just enough of ELF, Mach-O and PE to find sections and map virtual addresses to file offsets.
//!
//! Everything is read through a [`Source`]: a byte slice, a seekable file, or the pieces of a
//! stream that the executable cataloger kept ([`Sparse`]). Headers are read one table at a time,
//! each bounded (section and segment counts, table sizes, name lengths), and every offset is
//! checked against the file's length, so a hostile header costs an error, not memory or time.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};

/// Largest single read a parser may ask for (a section table, a string table, a section).
pub const MAX_READ: u64 = 64 << 20;
/// Most sections (ELF, Mach-O, PE) or program headers accepted. Real executables have tens;
/// ELF's extended numbering allows millions, each costing a table entry.
pub const MAX_SECTIONS: u64 = 1 << 16;
/// Most slices of a Mach-O universal binary (real ones have 2-4). Java class files share the
/// magic and have their major version (>= 45) where the slice count would be.
pub const MAX_FAT_SLICES: u32 = 20;

/// Why an executable could not be read. Rendered as `"<kind> <format>: <detail>"`, for example
/// `truncated ELF: section header table ends at 4096, past the end of the file (1024 bytes)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExeError {
    pub kind: ErrorKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A header points past the end of the file.
    Truncated,
    /// A header holds impossible values (sizes, counts, offsets).
    Malformed,
    /// Data a parser needed was not kept while streaming the file.
    NotRetained,
}

impl fmt::Display for ExeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Truncated => "truncated",
            ErrorKind::Malformed => "malformed",
            ErrorKind::NotRetained => "not retained",
        };
        write!(f, "{kind} {}", self.detail)
    }
}

pub type Result<T> = std::result::Result<T, ExeError>;

pub(crate) fn truncated(detail: impl Into<String>) -> ExeError {
    ExeError {
        kind: ErrorKind::Truncated,
        detail: detail.into(),
    }
}

pub(crate) fn malformed(detail: impl Into<String>) -> ExeError {
    ExeError {
        kind: ErrorKind::Malformed,
        detail: detail.into(),
    }
}

/// Bytes that can be read at any offset.
pub trait Source {
    /// The file's length.
    fn len(&self) -> u64;
    /// Exactly `len` bytes at `off`. `what` names the data for the error message.
    ///
    /// # Errors
    /// The range is past the end of the file, larger than [`MAX_READ`], or (for a [`Sparse`]
    /// source) not kept.
    fn read(&self, off: u64, len: u64, what: &str) -> Result<Cow<'_, [u8]>>;

    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The common bounds check: `[off, off + len)` inside a file of `total` bytes and not too large.
fn check(off: u64, len: u64, total: u64, what: &str) -> Result<std::ops::Range<usize>> {
    if len > MAX_READ {
        return Err(malformed(format!("{what} is {len} bytes, over {MAX_READ}")));
    }
    let end = off
        .checked_add(len)
        .filter(|&e| e <= total)
        .ok_or_else(|| {
            truncated(format!(
                "{what} at {off}+{len} is past the end of the file ({total} bytes)"
            ))
        })?;
    let a = usize::try_from(off).map_err(|_| malformed("offset too large"))?;
    let b = usize::try_from(end).map_err(|_| malformed("offset too large"))?;
    Ok(a..b)
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read(&self, off: u64, len: u64, what: &str) -> Result<Cow<'_, [u8]>> {
        let r = check(off, len, <[u8]>::len(self) as u64, what)?;
        Ok(Cow::Borrowed(&self[r]))
    }
}

/// A file read with seeks (a root filesystem's file).
pub struct FileSource<'a> {
    file: RefCell<&'a mut std::fs::File>,
    len: u64,
    /// I/O errors are kept here (the parsers only know [`ExeError`]) and reported by the caller.
    pub io_error: RefCell<Option<std::io::Error>>,
}

impl<'a> FileSource<'a> {
    #[must_use]
    pub fn new(file: &'a mut std::fs::File, len: u64) -> Self {
        FileSource {
            file: RefCell::new(file),
            len,
            io_error: RefCell::new(None),
        }
    }
}

impl Source for FileSource<'_> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&self, off: u64, len: u64, what: &str) -> Result<Cow<'_, [u8]>> {
        let r = check(off, len, self.len, what)?;
        let mut buf = vec![0u8; r.len()];
        let mut f = self.file.borrow_mut();
        let res = f
            .seek(SeekFrom::Start(off))
            .and_then(|_| f.read_exact(&mut buf));
        if let Err(e) = res {
            let msg = format!("cannot read {what}: {e}");
            *self.io_error.borrow_mut() = Some(e);
            return Err(truncated(msg));
        }
        Ok(Cow::Owned(buf))
    }
}

/// The pieces of a file that were kept while it streamed past: `(offset, bytes)`. Pieces may
/// overlap; a read must fall inside one piece.
#[derive(Debug, Default)]
pub struct Sparse {
    pub len: u64,
    pub pieces: Vec<(u64, Vec<u8>)>,
}

/// Find `[off, off + len)` inside one of `pieces`.
fn in_pieces<'p, P: AsRef<[u8]> + 'p>(
    pieces: impl Iterator<Item = (u64, &'p P)>,
    off: u64,
    len: u64,
) -> Option<&'p [u8]> {
    for (start, bytes) in pieces {
        let bytes = bytes.as_ref();
        if start <= off && off - start + len <= bytes.len() as u64 {
            let a = usize::try_from(off - start).ok()?;
            let b = usize::try_from(off - start + len).ok()?;
            return Some(&bytes[a..b]);
        }
    }
    None
}

fn not_kept(off: u64, len: u64, what: &str) -> ExeError {
    ExeError {
        kind: ErrorKind::NotRetained,
        detail: format!("{what} at {off}+{len}: not kept while streaming the file"),
    }
}

impl Source for Sparse {
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&self, off: u64, len: u64, what: &str) -> Result<Cow<'_, [u8]>> {
        check(off, len, self.len, what)?;
        in_pieces(self.pieces.iter().map(|(s, b)| (*s, b)), off, len)
            .map(Cow::Borrowed)
            .ok_or_else(|| not_kept(off, len, what))
    }
}

/// The first bytes of a longer file (what a streaming reader has seen so far).
pub struct Prefix<'a> {
    pub data: &'a [u8],
    pub len: u64,
}

impl Source for Prefix<'_> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&self, off: u64, len: u64, what: &str) -> Result<Cow<'_, [u8]>> {
        check(off, len, self.len, what)?;
        in_pieces(std::iter::once((0, &self.data)), off, len)
            .map(Cow::Borrowed)
            .ok_or_else(|| not_kept(off, len, what))
    }
}

/// A window `[base, base + len)` of another source (one slice of a Mach-O universal binary).
pub struct Window<'a> {
    pub inner: &'a dyn Source,
    pub base: u64,
    pub len: u64,
}

impl Source for Window<'_> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&self, off: u64, len: u64, what: &str) -> Result<Cow<'_, [u8]>> {
        check(off, len, self.len, what)?;
        self.inner.read(self.base + off, len, what)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Elf,
    MachO,
    Pe,
}

impl Format {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Elf => "ELF",
            Format::MachO => "Mach-O",
            Format::Pe => "PE",
        }
    }
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Elf,
    MachO,
    /// A Mach-O universal ("fat") binary: several Mach-O files one after another.
    Fat,
    Pe,
}

/// Identify an executable from its first bytes (at least 8 are needed).
#[must_use]
pub fn sniff(head: &[u8]) -> Option<Kind> {
    if head.len() < 8 {
        return None;
    }
    let m = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    match m {
        0x7f45_4c46 => Some(Kind::Elf),
        0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe => Some(Kind::MachO),
        0xcafe_babe | 0xcafe_babf => {
            let n = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
            (n > 0 && n <= MAX_FAT_SLICES).then_some(Kind::Fat)
        }
        _ if head.starts_with(b"MZ") => Some(Kind::Pe),
        _ => None,
    }
}

/// A section: name, where it is loaded and where its bytes are in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// Mach-O only: the segment the section belongs to.
    pub segment: String,
    pub addr: u64,
    pub offset: u64,
    /// Bytes in the file (0 for sections that occupy no file space: ELF NOBITS, Mach-O zero fill).
    pub size: u64,
    /// ELF `sh_flags`, Mach-O section flags, PE characteristics.
    pub flags: u64,
    /// ELF `sh_type`.
    pub kind: u32,
}

/// A loadable range (ELF program header, Mach-O segment, PE section) mapping addresses to bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    /// ELF: a PT_LOAD program header.
    pub load: bool,
    pub writable: bool,
    pub executable: bool,
    /// Mach-O: initial and maximum protection both read+write exactly.
    pub rw_exact: bool,
}

/// The parsed tables of one executable.
#[derive(Debug, Clone)]
pub struct Exe {
    pub format: Format,
    pub big_endian: bool,
    pub sections: Vec<Section>,
    pub segments: Vec<Segment>,
    /// PE: the image base that section addresses are relative to.
    pub image_base: u64,
}

impl Exe {
    /// Parse the tables of one (thin) executable.
    ///
    /// # Errors
    /// The file is not a complete, sane executable of a known format.
    pub fn parse(src: &dyn Source) -> Result<Exe> {
        let head = src.read(0, src.len().min(16), "file header")?;
        match sniff(&head) {
            Some(Kind::Elf) => parse_elf(src),
            Some(Kind::MachO) => parse_macho(src),
            Some(Kind::Pe) => parse_pe(src),
            Some(Kind::Fat) => Err(malformed("Mach-O universal binary: parse each slice")),
            None => Err(malformed("not an ELF, Mach-O or PE file")),
        }
    }

    /// The first section called `name`.
    #[must_use]
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Up to `size` bytes at virtual address `addr`, as Go's `debug/buildinfo` reads them: from
    /// the first segment (in table order) whose file bytes contain `addr`, cut at its end.
    ///
    /// # Errors
    /// No segment maps `addr`, or the bytes cannot be read.
    pub fn read_addr<'s>(
        &self,
        src: &'s dyn Source,
        addr: u64,
        size: u64,
        what: &str,
    ) -> Result<Cow<'s, [u8]>> {
        let a = if self.format == Format::Pe {
            addr.wrapping_sub(self.image_base)
        } else {
            addr
        };
        for s in &self.segments {
            if s.filesz == 0 || s.name == "__PAGEZERO" {
                continue;
            }
            if s.vaddr <= a && a - s.vaddr < s.filesz {
                let n = (s.filesz - (a - s.vaddr)).min(size);
                return src.read(s.offset + (a - s.vaddr), n, what);
            }
        }
        Err(malformed(format!(
            "{} {what}: address {addr:#x} is in no segment",
            self.format.name()
        )))
    }
}

/// Fixed-endianness field reads from a header slice (bounds already checked by the caller's
/// read of the whole structure; out-of-range reads give 0 rather than panicking).
#[derive(Clone, Copy)]
struct Endian(bool);

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let Some(s) = b.get(at..at + 2) else { return 0 };
        let a = [s[0], s[1]];
        if self.0 {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let Some(s) = b.get(at..at + 4) else { return 0 };
        let a = [s[0], s[1], s[2], s[3]];
        if self.0 {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
    fn u64(self, b: &[u8], at: usize) -> u64 {
        let Some(s) = b.get(at..at + 8) else { return 0 };
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        if self.0 {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        }
    }
    /// A 4- or 8-byte field.
    fn word(self, b: &[u8], at: usize, wide: bool) -> u64 {
        if wide {
            self.u64(b, at)
        } else {
            u64::from(self.u32(b, at))
        }
    }
}

/// A NUL-terminated name in a fixed field or a string table, lossily decoded, at most 4 KiB.
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len()).min(4096);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

// ---------------------------------------------------------------------------------------------
// ELF

pub const PT_LOAD: u32 = 1;
pub const PT_NOTE: u32 = 4;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
pub const SHT_NOBITS: u32 = 8;
pub const SHF_ALLOC: u64 = 2;

/// The ELF file header fields the parsers use.
#[derive(Debug, Clone, Copy)]
pub struct ElfHeader {
    pub wide: bool,
    pub big_endian: bool,
    pub phoff: u64,
    pub phentsize: u64,
    pub phnum: u64,
    pub shoff: u64,
    pub shentsize: u64,
    pub shnum: u64,
    pub shstrndx: u64,
}

impl ElfHeader {
    /// Where the section header table is, if any: `(offset, bytes)`.
    #[must_use]
    pub fn section_table(&self) -> Option<(u64, u64)> {
        (self.shoff != 0 && self.shnum != 0).then(|| (self.shoff, self.shnum * self.shentsize))
    }
    /// Where the program header table is: `(offset, bytes)`.
    #[must_use]
    pub fn program_table(&self) -> (u64, u64) {
        (self.phoff, self.phnum * self.phentsize)
    }
}

/// Read and check the ELF file header (and, for extended numbering, section header 0).
///
/// # Errors
/// Not a sane ELF header.
pub fn elf_header(src: &dyn Source) -> Result<ElfHeader> {
    let len = src.len();
    let ident = src.read(0, len.min(64), "ELF header")?;
    if ident.len() < 52 {
        return Err(truncated("ELF: file header"));
    }
    let wide = match ident[4] {
        1 => false,
        2 => true,
        c => return Err(malformed(format!("ELF: unknown class {c}"))),
    };
    let big_endian = match ident[5] {
        1 => false,
        2 => true,
        d => return Err(malformed(format!("ELF: unknown data encoding {d}"))),
    };
    if wide && ident.len() < 64 {
        return Err(truncated("ELF: file header"));
    }
    let e = Endian(big_endian);
    let (phoff, shoff, rest) = if wide {
        (e.u64(&ident, 32), e.u64(&ident, 40), 52)
    } else {
        (
            u64::from(e.u32(&ident, 28)),
            u64::from(e.u32(&ident, 32)),
            40,
        )
    };
    let mut h = ElfHeader {
        wide,
        big_endian,
        phoff,
        phentsize: u64::from(e.u16(&ident, rest + 2)),
        phnum: u64::from(e.u16(&ident, rest + 4)),
        shoff,
        shentsize: u64::from(e.u16(&ident, rest + 6)),
        shnum: u64::from(e.u16(&ident, rest + 8)),
        shstrndx: u64::from(e.u16(&ident, rest + 10)),
    };
    let (min_ph, min_sh) = if wide { (56, 64) } else { (32, 40) };
    if h.phnum > 0 && h.phentsize < min_ph {
        return Err(malformed(format!(
            "ELF: program header entries of {} bytes",
            h.phentsize
        )));
    }
    if h.shoff != 0 {
        if h.shentsize < min_sh {
            return Err(malformed(format!(
                "ELF: section header entries of {} bytes",
                h.shentsize
            )));
        }
        // Extended numbering: the real counts are in section header 0.
        if h.shnum == 0 || h.phnum == 0xffff || h.shstrndx == 0xffff {
            let s0 = src.read(h.shoff, h.shentsize, "ELF section header 0")?;
            if h.shnum == 0 {
                h.shnum = e.word(&s0, if wide { 32 } else { 20 }, wide);
            }
            if h.phnum == 0xffff {
                h.phnum = u64::from(e.u32(&s0, if wide { 44 } else { 28 }));
            }
            if h.shstrndx == 0xffff {
                h.shstrndx = u64::from(e.u32(&s0, if wide { 40 } else { 24 }));
            }
        }
    } else {
        h.shnum = 0;
    }
    for (what, n) in [("section", h.shnum), ("program header", h.phnum)] {
        if n > MAX_SECTIONS {
            return Err(malformed(format!(
                "ELF: {n} {what}s (more than {MAX_SECTIONS})"
            )));
        }
    }
    for (what, off, size) in [
        ("program header table", h.phoff, h.phnum * h.phentsize),
        ("section header table", h.shoff, h.shnum * h.shentsize),
    ] {
        if size > 0 && off.checked_add(size).is_none_or(|end| end > len) {
            return Err(truncated(format!(
                "ELF: {what} at {off}+{size} is past the end of the file ({len} bytes)"
            )));
        }
    }
    Ok(h)
}

/// The program headers.
///
/// # Errors
/// The table cannot be read.
pub fn elf_segments(src: &dyn Source, h: &ElfHeader) -> Result<Vec<Segment>> {
    let (off, size) = h.program_table();
    if size == 0 {
        return Ok(Vec::new());
    }
    let table = src.read(off, size, "ELF program header table")?;
    let e = Endian(h.big_endian);
    let mut out = Vec::with_capacity(usize::try_from(h.phnum).unwrap_or(0));
    for i in 0..h.phnum {
        let b = &table[usize::try_from(i * h.phentsize).unwrap_or(usize::MAX)..];
        let ty = e.u32(b, 0);
        let (flags, offset, vaddr, filesz) = if h.wide {
            (e.u32(b, 4), e.u64(b, 8), e.u64(b, 16), e.u64(b, 32))
        } else {
            (
                e.u32(b, 24),
                u64::from(e.u32(b, 4)),
                u64::from(e.u32(b, 8)),
                u64::from(e.u32(b, 16)),
            )
        };
        out.push(Segment {
            name: String::new(),
            vaddr,
            offset,
            filesz,
            load: ty == PT_LOAD,
            writable: flags & PF_W != 0,
            executable: flags & PF_X != 0,
            rw_exact: false,
        });
        if ty == PT_NOTE {
            // Kept so the streaming planner can find Go's build ID note; `name` marks it.
            if let Some(last) = out.last_mut() {
                "PT_NOTE".clone_into(&mut last.name);
            }
        }
    }
    Ok(out)
}

/// The section headers, without names.
///
/// # Errors
/// The table cannot be read.
pub fn elf_section_headers(src: &dyn Source, h: &ElfHeader) -> Result<(Vec<Section>, Vec<u32>)> {
    let Some((off, size)) = h.section_table() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let table = src.read(off, size, "ELF section header table")?;
    let e = Endian(h.big_endian);
    let n = usize::try_from(h.shnum).unwrap_or(0);
    let mut out = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    for i in 0..h.shnum {
        let b = &table[usize::try_from(i * h.shentsize).unwrap_or(usize::MAX)..];
        let name = e.u32(b, 0);
        let kind = e.u32(b, 4);
        let (flags, addr, offset, size) = if h.wide {
            (e.u64(b, 8), e.u64(b, 16), e.u64(b, 24), e.u64(b, 32))
        } else {
            (
                u64::from(e.u32(b, 8)),
                u64::from(e.u32(b, 12)),
                u64::from(e.u32(b, 16)),
                u64::from(e.u32(b, 20)),
            )
        };
        out.push(Section {
            name: String::new(),
            segment: String::new(),
            addr,
            offset,
            size: if kind == SHT_NOBITS { 0 } else { size },
            flags,
            kind,
        });
        names.push(name);
    }
    Ok((out, names))
}

fn parse_elf(src: &dyn Source) -> Result<Exe> {
    let h = elf_header(src)?;
    let segments = elf_segments(src, &h)?;
    let (mut sections, name_offsets) = elf_section_headers(src, &h)?;
    if !sections.is_empty() {
        let idx = usize::try_from(h.shstrndx).unwrap_or(usize::MAX);
        let strtab = sections.get(idx).cloned().ok_or_else(|| {
            malformed(format!(
                "ELF: section name table index {} of {} sections",
                h.shstrndx,
                sections.len()
            ))
        })?;
        if strtab.size > 0 {
            let names = src.read(strtab.offset, strtab.size, "ELF section name table")?;
            for (s, &at) in sections.iter_mut().zip(&name_offsets) {
                if let Some(tail) = names.get(at as usize..) {
                    s.name = cstr(tail);
                }
            }
        }
    }
    Ok(Exe {
        format: Format::Elf,
        big_endian: h.big_endian,
        sections,
        segments,
        image_base: 0,
    })
}

/// Whether the notes in `data` (the bytes of a PT_NOTE segment) include Go's build ID note.
#[must_use]
pub fn has_go_note(data: &[u8], big_endian: bool) -> bool {
    let e = Endian(big_endian);
    let mut at = 0usize;
    // Each note: namesz, descsz, type, then the name and the descriptor, each 4-byte aligned.
    for _ in 0..64 {
        if at + 12 > data.len() {
            return false;
        }
        let namesz = e.u32(data, at) as usize;
        let descsz = e.u32(data, at + 4) as usize;
        let ty = e.u32(data, at + 8);
        let name_at = at + 12;
        let Some(name) = data.get(name_at..name_at.saturating_add(namesz)) else {
            return false;
        };
        // Go writes name "Go\0\0" (4 bytes) and type 4 (its build ID).
        if ty == 4 && name.starts_with(b"Go\0") {
            return true;
        }
        let next = name_at
            .saturating_add(namesz.div_ceil(4) * 4)
            .saturating_add(descsz.div_ceil(4) * 4);
        if next <= at {
            return false;
        }
        at = next;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Mach-O

const LC_SEGMENT: u32 = 0x1;
const LC_SEGMENT_64: u32 = 0x19;

/// The Mach-O header fields the parsers use.
#[derive(Debug, Clone, Copy)]
pub struct MachHeader {
    pub wide: bool,
    pub big_endian: bool,
    pub ncmds: u64,
    /// Where the load commands are: `(offset, bytes)`.
    pub cmds: (u64, u64),
}

/// Read and check the Mach-O header.
///
/// # Errors
/// Not a sane Mach-O header.
pub fn macho_header(src: &dyn Source) -> Result<MachHeader> {
    let len = src.len();
    let h = src.read(0, len.min(32), "Mach-O header")?;
    if h.len() < 28 {
        return Err(truncated("Mach-O: header"));
    }
    let (wide, big_endian) = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
        0xfeed_face => (false, true),
        0xcefa_edfe => (false, false),
        0xfeed_facf => (true, true),
        0xcffa_edfe => (true, false),
        _ => return Err(malformed("Mach-O: bad magic")),
    };
    let e = Endian(big_endian);
    let ncmds = u64::from(e.u32(&h, 16));
    let sizeofcmds = u64::from(e.u32(&h, 20));
    let start = if wide { 32 } else { 28 };
    if start + sizeofcmds > len {
        return Err(truncated(format!(
            "Mach-O: load commands of {sizeofcmds} bytes past the end of the file ({len} bytes)"
        )));
    }
    if ncmds > sizeofcmds / 8 {
        return Err(malformed(format!(
            "Mach-O: {ncmds} load commands in {sizeofcmds} bytes"
        )));
    }
    Ok(MachHeader {
        wide,
        big_endian,
        ncmds,
        cmds: (start, sizeofcmds),
    })
}

fn parse_macho(src: &dyn Source) -> Result<Exe> {
    let h = macho_header(src)?;
    let cmds = src.read(h.cmds.0, h.cmds.1, "Mach-O load commands")?;
    let e = Endian(h.big_endian);
    let mut sections = Vec::new();
    let mut segments = Vec::new();
    let mut at = 0usize;
    for _ in 0..h.ncmds {
        if at + 8 > cmds.len() {
            return Err(truncated("Mach-O: load command past the command area"));
        }
        let cmd = e.u32(&cmds, at);
        let size = e.u32(&cmds, at + 4) as usize;
        if size < 8 || at + size > cmds.len() {
            return Err(malformed(format!("Mach-O: load command of {size} bytes")));
        }
        let c = &cmds[at..at + size];
        if cmd == LC_SEGMENT || cmd == LC_SEGMENT_64 {
            let wide = cmd == LC_SEGMENT_64;
            let (seg_size, sect_size) = if wide { (72, 80) } else { (56, 68) };
            if size < seg_size {
                return Err(malformed("Mach-O: short segment command"));
            }
            let w = |at: usize| e.word(c, at, wide);
            let step = if wide { 8 } else { 4 };
            let name = cstr(&c[8..24]);
            let vaddr = w(24);
            let fileoff = w(24 + 2 * step);
            let filesz = w(24 + 3 * step);
            let maxprot = e.u32(c, 24 + 4 * step);
            let initprot = e.u32(c, 28 + 4 * step);
            let nsects = e.u32(c, 32 + 4 * step) as usize;
            if nsects > (size - seg_size) / sect_size {
                return Err(malformed(format!(
                    "Mach-O: segment {name} claims {nsects} sections"
                )));
            }
            for i in 0..nsects {
                let s = &c[seg_size + i * sect_size..seg_size + (i + 1) * sect_size];
                let (addr, ssize, offset, flags) = if wide {
                    (e.u64(s, 32), e.u64(s, 40), e.u32(s, 48), e.u32(s, 64))
                } else {
                    (
                        u64::from(e.u32(s, 32)),
                        u64::from(e.u32(s, 36)),
                        e.u32(s, 40),
                        e.u32(s, 56),
                    )
                };
                // Zero-fill sections (S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL) have
                // no bytes in the file.
                let zerofill = matches!(flags & 0xff, 0x01 | 0x0c | 0x12);
                sections.push(Section {
                    name: cstr(&s[0..16]),
                    segment: cstr(&s[16..32]),
                    addr,
                    offset: u64::from(offset),
                    size: if zerofill { 0 } else { ssize },
                    flags: u64::from(flags),
                    kind: 0,
                });
            }
            segments.push(Segment {
                name,
                vaddr,
                offset: fileoff,
                filesz,
                load: true,
                writable: initprot & 2 != 0,
                executable: initprot & 4 != 0,
                rw_exact: initprot == 3 && maxprot == 3,
            });
            if segments.len() as u64 > MAX_SECTIONS || sections.len() as u64 > MAX_SECTIONS {
                return Err(malformed("Mach-O: too many segments or sections"));
            }
        }
        at += size;
    }
    Ok(Exe {
        format: Format::MachO,
        big_endian: h.big_endian,
        sections,
        segments,
        image_base: 0,
    })
}

/// The slices of a Mach-O universal binary: `(offset, length)` each.
///
/// # Errors
/// The header is not a sane universal binary header.
pub fn fat_slices(src: &dyn Source) -> Result<Vec<(u64, u64)>> {
    let len = src.len();
    let h = src.read(0, 8, "Mach-O universal header")?;
    let wide = h[3] == 0xbf;
    let n = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    if n == 0 || n > MAX_FAT_SLICES {
        return Err(malformed(format!(
            "Mach-O universal binary with {n} slices"
        )));
    }
    let entry = if wide { 32 } else { 20 };
    let table = src.read(8, u64::from(n) * entry, "Mach-O universal slice table")?;
    let e = Endian(true);
    let mut out = Vec::new();
    for i in 0..n as usize {
        let b = &table[i * entry as usize..];
        let (off, size) = if wide {
            (e.u64(b, 8), e.u64(b, 16))
        } else {
            (u64::from(e.u32(b, 8)), u64::from(e.u32(b, 12)))
        };
        if off.checked_add(size).is_none_or(|end| end > len) {
            return Err(truncated(format!(
                "Mach-O universal binary: slice at {off}+{size} past the end of the file ({len} bytes)"
            )));
        }
        out.push((off, size));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// PE

/// PE section characteristics Go's reader uses to find the data section.
pub const IMAGE_SCN_CNT_INITIALIZED_DATA: u64 = 0x40;
pub const IMAGE_SCN_MEM_READ: u64 = 0x4000_0000;
pub const IMAGE_SCN_MEM_WRITE: u64 = 0x8000_0000;
pub const IMAGE_SCN_ALIGN_32BYTES: u64 = 0x60_0000;

fn parse_pe(src: &dyn Source) -> Result<Exe> {
    let len = src.len();
    let dos = src.read(0, len.min(64), "DOS header")?;
    if dos.len() < 64 {
        return Err(truncated("PE: DOS header"));
    }
    let e = Endian(false);
    let pe_at = u64::from(e.u32(&dos, 0x3c));
    let coff = src.read(pe_at, 24, "PE header")?;
    if &coff[..4] != b"PE\0\0" {
        return Err(malformed("PE: no PE signature"));
    }
    let nsections = u64::from(e.u16(&coff, 6));
    let symtab = u64::from(e.u32(&coff, 12));
    let nsyms = u64::from(e.u32(&coff, 16));
    let opt_size = u64::from(e.u16(&coff, 20));
    let opt_at = pe_at + 24;
    let opt = src.read(
        opt_at,
        opt_size.min(len.saturating_sub(opt_at)),
        "PE optional header",
    )?;
    let image_base = match (opt.len() >= 32, e.u16(&opt, 0)) {
        (true, 0x10b) => u64::from(e.u32(&opt, 28)),
        (true, 0x20b) => e.u64(&opt, 24),
        _ => 0,
    };
    let table = src.read(opt_at + opt_size, nsections * 40, "PE section table")?;
    // Long section names ("/123") index the COFF string table after the symbol table.
    let strings_at = symtab.saturating_add(nsyms.saturating_mul(18));
    let mut sections = Vec::new();
    let mut segments = Vec::new();
    for i in 0..usize::try_from(nsections).unwrap_or(0) {
        let b = &table[i * 40..(i + 1) * 40];
        let mut name = cstr(&b[0..8]);
        if let Some(n) = name.strip_prefix('/').and_then(|n| n.parse::<u64>().ok()) {
            if symtab != 0 {
                let at = strings_at.saturating_add(n);
                if let Ok(s) = src.read(at, len.saturating_sub(at).min(256), "PE string table") {
                    name = cstr(&s);
                }
            }
        }
        let va = u64::from(e.u32(b, 12));
        let raw_size = u64::from(e.u32(b, 16));
        let raw_at = u64::from(e.u32(b, 20));
        let flags = u64::from(e.u32(b, 36));
        sections.push(Section {
            name: name.clone(),
            segment: String::new(),
            addr: va + image_base,
            offset: raw_at,
            size: raw_size,
            flags,
            kind: 0,
        });
        segments.push(Segment {
            name,
            vaddr: va,
            offset: raw_at,
            filesz: raw_size,
            load: true,
            writable: flags & IMAGE_SCN_MEM_WRITE != 0,
            executable: flags & 0x2000_0000 != 0,
            rw_exact: false,
        });
    }
    Ok(Exe {
        format: Format::Pe,
        big_endian: false,
        sections,
        segments,
        image_base,
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Minimal well-formed executables built in memory, for parser tests.

    /// A 64-bit little-endian ELF: `sections` (name, flags, bytes) placed one after another
    /// after the headers, a read-only PT_LOAD covering the SHF_ALLOC sections and a writable one
    /// covering the SHF_WRITE sections, the section name table and section headers at the end.
    pub fn elf64(sections: &[(&str, u64, &[u8])], go_note: bool) -> Vec<u8> {
        let mut f = vec![0u8; 0x1000];
        let mut shdrs: Vec<(u32, u32, u64, u64, u64, u64)> = vec![(0, 0, 0, 0, 0, 0)];
        let mut names = vec![0u8];
        let mut w_range: Option<(u64, u64)> = None;
        let mut r_range: Option<(u64, u64)> = None;
        for (name, flags, bytes) in sections {
            f.resize(f.len().div_ceil(16) * 16, 0);
            let off = f.len() as u64;
            f.extend_from_slice(bytes);
            let name_at = names.len() as u32;
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            shdrs.push((name_at, 1, *flags, 0x40_0000 + off, off, bytes.len() as u64));
            let end = off + bytes.len() as u64;
            if flags & 1 != 0 {
                w_range = Some(w_range.map_or((off, end), |(a, _)| (a, end)));
            } else if flags & 2 != 0 {
                r_range = Some(r_range.map_or((off, end), |(a, _)| (a, end)));
            }
        }
        let shstr_name = names.len() as u32;
        names.extend_from_slice(b".shstrtab\0");
        let shstr_off = f.len() as u64;
        f.extend_from_slice(&names);
        shdrs.push((shstr_name, 3, 0, 0, shstr_off, names.len() as u64));
        f.resize(f.len().div_ceil(8) * 8, 0);
        let shoff = f.len() as u64;
        for (name, ty, flags, addr, off, size) in &shdrs {
            let mut s = [0u8; 64];
            s[0..4].copy_from_slice(&name.to_le_bytes());
            s[4..8].copy_from_slice(&ty.to_le_bytes());
            s[8..16].copy_from_slice(&flags.to_le_bytes());
            s[16..24].copy_from_slice(&addr.to_le_bytes());
            s[24..32].copy_from_slice(&off.to_le_bytes());
            s[32..40].copy_from_slice(&size.to_le_bytes());
            f.extend_from_slice(&s);
        }
        // Header.
        f[0..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&2u16.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[40..48].copy_from_slice(&shoff.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        let mut phdrs: Vec<[u8; 56]> = Vec::new();
        let mut ph = |ty: u32, flags: u32, off: u64, size: u64| {
            let mut p = [0u8; 56];
            p[0..4].copy_from_slice(&ty.to_le_bytes());
            p[4..8].copy_from_slice(&flags.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&(0x40_0000 + off).to_le_bytes());
            p[32..40].copy_from_slice(&size.to_le_bytes());
            p[40..48].copy_from_slice(&size.to_le_bytes());
            phdrs.push(p);
        };
        ph(1, 5, 0, 0x1000);
        if let Some((a, b)) = r_range {
            ph(1, 4, a, b - a);
        }
        if let Some((a, b)) = w_range {
            ph(1, 6, a, b - a);
        }
        if go_note {
            let at = 0x800u64;
            let mut n = Vec::new();
            n.extend_from_slice(&4u32.to_le_bytes());
            n.extend_from_slice(&8u32.to_le_bytes());
            n.extend_from_slice(&4u32.to_le_bytes());
            n.extend_from_slice(b"Go\0\0");
            n.extend_from_slice(b"buildid!");
            f[at as usize..at as usize + n.len()].copy_from_slice(&n);
            ph(4, 4, at, n.len() as u64);
        }
        f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        f[58..60].copy_from_slice(&64u16.to_le_bytes());
        f[60..62].copy_from_slice(&(shdrs.len() as u16).to_le_bytes());
        f[62..64].copy_from_slice(&((shdrs.len() - 1) as u16).to_le_bytes());
        for (i, p) in phdrs.iter().enumerate() {
            f[64 + i * 56..64 + (i + 1) * 56].copy_from_slice(p);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::elf64;
    use super::*;

    #[test]
    fn elf_sections_and_addresses() {
        let f = elf64(
            &[(".data", 3, b"hello world"), (".dep-v0", 0, b"xyz")],
            false,
        );
        let exe = Exe::parse(&f.as_slice()).unwrap();
        let d = exe.section(".data").unwrap();
        assert_eq!(&f[d.offset as usize..][..d.size as usize], b"hello world");
        assert!(exe.section(".dep-v0").is_some());
        let fs = f.as_slice();
        let got = exe.read_addr(&fs, d.addr + 6, 100, "x").unwrap();
        assert_eq!(&*got, b"world");
    }

    #[test]
    fn hostile_elf_headers_are_errors() {
        let good = elf64(&[(".data", 3, b"abc")], false);
        // Truncated anywhere: an error, never a panic.
        for cut in [0, 10, 40, 63, 64, 100, 0x1000, good.len() - 1] {
            let _ = Exe::parse(&&good[..cut]);
        }
        let e = Exe::parse(&&good[..good.len() - 1]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated, "{e}");
        // Absurd section count (extended numbering up to 2^32) and offsets.
        let mut f = good.clone();
        f[60..62].copy_from_slice(&0u16.to_le_bytes());
        let shoff = u64::from_le_bytes(f[40..48].try_into().unwrap()) as usize;
        f[shoff + 32..shoff + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            Exe::parse(&f.as_slice()).unwrap_err().kind,
            ErrorKind::Malformed
        );
        let mut f = good.clone();
        f[40..48].copy_from_slice(&(u64::MAX - 10).to_le_bytes());
        assert_eq!(
            Exe::parse(&f.as_slice()).unwrap_err().kind,
            ErrorKind::Truncated
        );
        let mut f = good.clone();
        f[62..64].copy_from_slice(&500u16.to_le_bytes());
        assert_eq!(
            Exe::parse(&f.as_slice()).unwrap_err().kind,
            ErrorKind::Malformed
        );
        let mut f = good;
        f[54..56].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(
            Exe::parse(&f.as_slice()).unwrap_err().kind,
            ErrorKind::Malformed
        );
    }

    #[test]
    fn garbage_never_panics() {
        // Pseudo-random bytes behind each magic, many seeds: parsing ends in Ok or Err.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for magic in [
            &b"\x7fELF\x02\x01\x01\0"[..],
            b"\x7fELF\x01\x02\x01\0",
            b"\xcf\xfa\xed\xfe",
            b"\xfe\xed\xfa\xce",
            b"MZ",
        ] {
            for len in [16usize, 64, 200, 1000, 5000] {
                for _ in 0..50 {
                    let mut f = magic.to_vec();
                    while f.len() < len {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        f.push((x >> 24) as u8);
                    }
                    if let Ok(exe) = Exe::parse(&f.as_slice()) {
                        let _ = exe.read_addr(&f.as_slice(), x, 1 << 20, "x");
                    }
                    let _ = fat_slices(&f.as_slice());
                }
            }
        }
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0\0"), Some(Kind::Elf));
        assert_eq!(sniff(b"\xcf\xfa\xed\xfe\x07\0\0\x01"), Some(Kind::MachO));
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\0\0\0\x02"), Some(Kind::Fat));
        // A Java class file (major version 52 where a slice count would be).
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\0\0\0\x34"), None);
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), Some(Kind::Pe));
        assert_eq!(sniff(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn sparse_reads_only_kept_pieces() {
        let s = Sparse {
            len: 100,
            pieces: vec![(0, vec![1; 10]), (50, vec![2; 10])],
        };
        assert_eq!(&*s.read(52, 3, "x").unwrap(), &[2, 2, 2]);
        assert_eq!(s.read(8, 4, "x").unwrap_err().kind, ErrorKind::NotRetained);
        assert_eq!(s.read(95, 10, "x").unwrap_err().kind, ErrorKind::Truncated);
    }
}
