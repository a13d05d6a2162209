//! Go binaries: the build information the Go linker embeds (Go 1.13+), read as Go's
//! `debug/buildinfo` reads it, parsed as `runtime/debug.ParseBuildInfo` parses it, and turned into
//! packages as syft's Go binary cataloger names them.
//!
//! The blob starts with the 14-byte magic `\xff Go buildinf:` at a 16-byte aligned address near
//! the start of the data (the `.go.buildinfo` section, `__go_buildinfo` on Mach-O, else the first
//! writable data segment), then the pointer size and a flags byte. Go 1.18+ sets flag 2 and writes
//! the toolchain version and the module information inline after the 32-byte header, each a
//! uvarint length then the bytes; older Go writes two pointers to Go string headers instead, which
//! must be followed through the segment table.

use super::exe::{self, Exe, Format, Source};
use crate::model::RawPackage;

pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The header before the inline strings.
pub const HEADER: u64 = 32;
/// How far from the data start Go looks for the magic.
pub const SEARCH_WINDOW: u64 = 64 * 1024;
/// Longest version or module-information string accepted. Real module information is tens of
/// KiB for the largest programs (a line per module).
pub const MAX_STRING: u64 = 8 << 20;
/// Most lines of module information accepted (one per module).
pub const MAX_LINES: usize = 200_000;

/// A module line of the build information.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub sum: String,
    pub replace: Option<Box<Module>>,
}

/// Parsed build information (Go's `debug.BuildInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    pub go_version: String,
    pub path: String,
    pub main: Module,
    pub deps: Vec<Module>,
    pub settings: Vec<(String, String)>,
}

impl BuildInfo {
    fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Decode Go's unsigned varint from the start of `b`: `(value, bytes used)`, `None` if it does not
/// end within `b` or overflows 64 bits (Go's `binary.Uvarint` returning n <= 0).
#[must_use]
pub fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut s = 0u32;
    for (i, &c) in b.iter().enumerate().take(10) {
        if c < 0x80 {
            if i == 9 && c > 1 {
                return None;
            }
            return Some((x | (u64::from(c) << s), i + 1));
        }
        x |= u64::from(c & 0x7f) << s;
        s += 7;
    }
    None
}

/// Where the build information blob should be (Go's `DataStart`): a virtual address.
#[must_use]
pub fn data_start(exe: &Exe) -> Option<u64> {
    match exe.format {
        Format::Elf => exe.section(".go.buildinfo").map(|s| s.addr).or_else(|| {
            exe.segments
                .iter()
                .find(|s| s.load && s.writable && !s.executable)
                .map(|s| s.vaddr)
        }),
        Format::MachO => exe.section("__go_buildinfo").map(|s| s.addr).or_else(|| {
            exe.segments
                .iter()
                .find(|s| s.vaddr != 0 && s.filesz != 0 && s.rw_exact)
                .map(|s| s.vaddr)
        }),
        Format::Pe => exe
            .sections
            .iter()
            .find(|s| {
                s.addr != exe.image_base
                    && s.size != 0
                    && s.flags & !exe::IMAGE_SCN_ALIGN_32BYTES
                        == exe::IMAGE_SCN_CNT_INITIALIZED_DATA
                            | exe::IMAGE_SCN_MEM_READ
                            | exe::IMAGE_SCN_MEM_WRITE
            })
            .map(|s| s.addr),
    }
}

/// The file offset of a virtual address (the first segment holding it), as [`Exe::read_addr`].
fn file_offset(exe: &Exe, addr: u64) -> Option<u64> {
    let a = if exe.format == Format::Pe {
        addr.wrapping_sub(exe.image_base)
    } else {
        addr
    };
    exe.segments
        .iter()
        .filter(|s| s.filesz != 0 && s.name != "__PAGEZERO")
        .find(|s| s.vaddr <= a && a - s.vaddr < s.filesz)
        .map(|s| s.offset + (a - s.vaddr))
}

/// Whether an executable can hold Go build information at all. Go's linkers (1.13+) name the
/// blob's section in ELF and Mach-O, and keep Go's own sections; an ELF or Mach-O file with
/// section names but none of Go's is not a Go program, and its data is not searched (a C
/// library's data segment would cost a 64 KiB read for nothing). Without section names (stripped
/// section headers) and in PE files, Go's rules apply unchanged.
#[must_use]
pub fn may_be_go(exe: &Exe) -> bool {
    let names: &[&str] = match exe.format {
        Format::Elf => &[
            ".go.buildinfo",
            ".gopclntab",
            ".gosymtab",
            ".note.go.buildid",
        ],
        Format::MachO => &["__go_buildinfo", "__gopclntab", "__gosymtab"],
        Format::Pe => return true,
    };
    exe.sections.iter().all(|s| s.name.is_empty())
        || exe
            .sections
            .iter()
            .any(|s| names.contains(&s.name.as_str()))
}

/// Find the blob as Go does: the first 16-byte aligned magic in the 64 KiB at the data start.
/// Returns its file offset, or `None` for an executable that is not a Go program.
///
/// # Errors
/// The data start cannot be read.
pub fn locate(exe: &Exe, src: &dyn Source) -> exe::Result<Option<u64>> {
    if !may_be_go(exe) {
        return Ok(None);
    }
    let Some(start) = data_start(exe) else {
        return Ok(None);
    };
    let Some(base) = file_offset(exe, start) else {
        return Ok(None);
    };
    let window = exe.read_addr(src, start, SEARCH_WINDOW, "Go build info")?;
    Ok(find_magic(&window).map(|i| base + i as u64))
}

/// The first 16-byte aligned index of the magic in `data` with a whole header after it.
#[must_use]
pub fn find_magic(data: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + HEADER as usize <= data.len() {
        if data[i] == MAGIC[0] && data[i..i + MAGIC.len()] == MAGIC[..] {
            return Some(i);
        }
        i += 16;
    }
    None
}

/// What the 32-byte header at a magic says about the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Go 1.18+: version and module information follow the header.
    Inline,
    /// Older Go: two pointers to Go string headers, with this pointer size and byte order.
    Pointers { ptr_size: u8, big_endian: bool },
}

/// Read the layout from a header.
///
/// # Errors
/// The header's pointer size is neither 4 nor 8.
pub fn layout(header: &[u8]) -> Result<Layout, String> {
    let ptr_size = header.get(14).copied().unwrap_or(0);
    let flags = header.get(15).copied().unwrap_or(0);
    if flags & 2 != 0 {
        return Ok(Layout::Inline);
    }
    if ptr_size != 4 && ptr_size != 8 {
        return Err(format!(
            "Go build info: pointer size {ptr_size} (not 4 or 8)"
        ));
    }
    Ok(Layout::Pointers {
        ptr_size,
        big_endian: flags & 1 != 0,
    })
}

/// Read a uvarint-prefixed string at file offset `at`: `(string, offset after it)`.
///
/// # Errors
/// A bogus varint, a length over [`MAX_STRING`] or past the end of the file, or unread bytes.
pub fn read_inline(src: &dyn Source, at: u64) -> Result<(Vec<u8>, u64), String> {
    let avail = src.len().saturating_sub(at).min(10);
    let head = src
        .read(at, avail, "Go build info string length")
        .map_err(|e| format!("Go build info: {e}"))?;
    let (n, used) = uvarint(&head).ok_or("Go build info: bogus varint string length")?;
    if n > MAX_STRING {
        return Err(format!(
            "Go build info: string of {n} bytes (more than {MAX_STRING})"
        ));
    }
    let start = at + used as u64;
    let bytes = src
        .read(start, n, "Go build info string")
        .map_err(|e| format!("Go build info: {e}"))?;
    Ok((bytes.into_owned(), start + n))
}

/// Follow a pointer to a Go string header (pointer, length) and read the string.
fn read_pointer_string(
    exe: &Exe,
    src: &dyn Source,
    addr: u64,
    ptr_size: u8,
    big_endian: bool,
) -> Result<Vec<u8>, String> {
    let word = |b: &[u8]| -> u64 {
        if ptr_size == 4 {
            let a = [b[0], b[1], b[2], b[3]];
            u64::from(if big_endian {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            })
        } else {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[..8]);
            if big_endian {
                u64::from_be_bytes(a)
            } else {
                u64::from_le_bytes(a)
            }
        }
    };
    let ps = u64::from(ptr_size);
    let hdr = exe
        .read_addr(src, addr, 2 * ps, "Go string header")
        .map_err(|e| format!("Go build info: {e}"))?;
    if hdr.len() < 2 * usize::from(ptr_size) {
        return Err("Go build info: string header cut short".into());
    }
    let data = word(&hdr);
    let len = word(&hdr[usize::from(ptr_size)..]);
    if len > MAX_STRING {
        return Err(format!(
            "Go build info: string of {len} bytes (more than {MAX_STRING})"
        ));
    }
    let bytes = exe
        .read_addr(src, data, len, "Go string")
        .map_err(|e| format!("Go build info: {e}"))?;
    if (bytes.len() as u64) < len {
        return Err("Go build info: string cut short".into());
    }
    Ok(bytes.into_owned())
}

/// Decode the blob whose magic is at file offset `at`: `(go version, module information)`, the
/// module information without its framing (empty when the binary was built without modules).
/// `exe` is needed only for the pointer layout.
///
/// # Errors
/// The blob is broken (bogus varints, pointers to nowhere, an empty version).
pub fn decode(exe: Option<&Exe>, src: &dyn Source, at: u64) -> Result<(String, String), String> {
    let header = src
        .read(at, HEADER, "Go build info header")
        .map_err(|e| format!("Go build info: {e}"))?;
    if header[..MAGIC.len()] != MAGIC[..] {
        return Err("Go build info: no magic".into());
    }
    let (vers, module) = match layout(&header)? {
        Layout::Inline => {
            let (vers, next) = read_inline(src, at + HEADER)?;
            let (module, _) = read_inline(src, next)?;
            (vers, module)
        }
        Layout::Pointers {
            ptr_size,
            big_endian,
        } => {
            let exe = exe.ok_or("Go build info: pre-1.18 layout needs the segment table")?;
            let ps = usize::from(ptr_size);
            let word = |b: &[u8]| -> u64 {
                let mut a = [0u8; 8];
                if big_endian {
                    a[8 - ps..].copy_from_slice(&b[..ps]);
                    u64::from_be_bytes(a)
                } else {
                    a[..ps].copy_from_slice(&b[..ps]);
                    u64::from_le_bytes(a)
                }
            };
            let vers_addr = word(&header[16..]);
            let mod_addr = word(&header[16 + ps..]);
            let vers = read_pointer_string(exe, src, vers_addr, ptr_size, big_endian)?;
            // Go treats an unreadable module string as none.
            let module =
                read_pointer_string(exe, src, mod_addr, ptr_size, big_endian).unwrap_or_default();
            (vers, module)
        }
    };
    if vers.is_empty() {
        return Err("Go build info: empty Go version".into());
    }
    let vers = String::from_utf8_lossy(&vers).into_owned();
    // Strip the module framing (cmd/go's 16-byte sentinels), as debug/buildinfo does.
    let n = module.len();
    let module = if n >= 33 && module[n - 17] == b'\n' {
        String::from_utf8_lossy(&module[16..n - 16]).into_owned()
    } else {
        String::new()
    };
    Ok((vers, module))
}

/// `strconv.Unquote` for the two quote styles build lines use.
fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    match b[0] {
        b'`' => (!inner.contains('`')).then(|| inner.replace('\r', "")),
        b'"' => {
            let mut out = String::with_capacity(inner.len());
            let mut it = inner.chars();
            while let Some(c) = it.next() {
                match c {
                    '"' | '\n' => return None,
                    '\\' => {
                        let e = it.next()?;
                        match e {
                            'a' => out.push('\x07'),
                            'b' => out.push('\x08'),
                            'f' => out.push('\x0c'),
                            'n' => out.push('\n'),
                            'r' => out.push('\r'),
                            't' => out.push('\t'),
                            'v' => out.push('\x0b'),
                            '\\' => out.push('\\'),
                            '"' => out.push('"'),
                            'x' | 'u' | 'U' => {
                                let n = match e {
                                    'x' => 2,
                                    'u' => 4,
                                    _ => 8,
                                };
                                let hex: String = it.by_ref().take(n).collect();
                                if hex.len() != n {
                                    return None;
                                }
                                let v = u32::from_str_radix(&hex, 16).ok()?;
                                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                            }
                            '0'..='7' => {
                                let rest: String = it.by_ref().take(2).collect();
                                let v = u32::from_str_radix(&format!("{e}{rest}"), 8).ok()?;
                                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                            }
                            _ => return None,
                        }
                    }
                    c => out.push(c),
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// The length of the quoted string at the start of `s` (`strconv.QuotedPrefix`).
fn quoted_prefix(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let q = *b.first()?;
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            c if c == q => return Some(i + 1),
            b'\\' if q == b'"' => i += 2,
            b'\n' if q == b'"' => return None,
            _ => i += 1,
        }
    }
    None
}

/// `runtime/debug.ParseBuildInfo`: the module information text, one tab-separated line each.
///
/// # Errors
/// A line that Go's parser rejects (which makes Go's reader, and so `go version -m` and syft,
/// report nothing for the binary).
pub fn parse_modinfo(data: &str) -> Result<BuildInfo, String> {
    let mut bi = BuildInfo::default();
    // Which module a `=>` line replaces: 0 = none, 1 = main, 2 = the last dep.
    let mut last = 0u8;
    let module = |cols: &[&str]| -> Result<Module, String> {
        if cols.len() != 2 && cols.len() != 3 {
            return Err(format!("expected 2 or 3 columns; got {}", cols.len()));
        }
        Ok(Module {
            path: cols[0].to_string(),
            version: cols[1].to_string(),
            sum: cols.get(2).map(|s| (*s).to_string()).unwrap_or_default(),
            replace: None,
        })
    };
    let mut rest = data;
    for (n, _) in (1..).zip(0..MAX_LINES + 1) {
        let Some((line, tail)) = rest.split_once('\n') else {
            break;
        };
        rest = tail;
        let err = |m: String| format!("Go build info: line {n}: {m}");
        if n > MAX_LINES {
            return Err(err(format!("more than {MAX_LINES} lines")));
        }
        if let Some(p) = line.strip_prefix("path\t") {
            p.clone_into(&mut bi.path);
        } else if let Some(m) = line.strip_prefix("mod\t") {
            bi.main = module(&m.split('\t').collect::<Vec<_>>()).map_err(err)?;
            last = 1;
        } else if let Some(m) = line.strip_prefix("dep\t") {
            bi.deps
                .push(module(&m.split('\t').collect::<Vec<_>>()).map_err(err)?);
            last = 2;
        } else if let Some(m) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = m.split('\t').collect();
            if cols.len() != 3 {
                return Err(err(format!(
                    "expected 3 columns for replacement; got {}",
                    cols.len()
                )));
            }
            let r = Some(Box::new(Module {
                path: cols[0].to_string(),
                version: cols[1].to_string(),
                sum: cols[2].to_string(),
                replace: None,
            }));
            match last {
                1 => bi.main.replace = r,
                2 => {
                    if let Some(d) = bi.deps.last_mut() {
                        d.replace = r;
                    }
                }
                _ => return Err(err("replacement with no module on previous line".into())),
            }
            last = 0;
        } else if let Some(kv) = line.strip_prefix("build\t") {
            let (key, raw) = match kv.as_bytes().first() {
                None => return Err(err("build line missing '='".into())),
                Some(b'=') => return Err(err("build line with missing key".into())),
                Some(b'`' | b'"') => {
                    let q = quoted_prefix(kv).ok_or_else(|| err("invalid quoted key".into()))?;
                    if kv.as_bytes().get(q) != Some(&b'=') {
                        return Err(err("build line missing '=' after quoted key".into()));
                    }
                    let key = unquote(&kv[..q]).ok_or_else(|| err("invalid quoted key".into()))?;
                    (key, &kv[q + 1..])
                }
                Some(_) => {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| err("build line missing '=' after key".into()))?;
                    if k.is_empty() || k.contains([' ', '\t', '\r', '\n', '"', '`', '=']) {
                        return Err(err(format!("unquoted key {k:?} must be quoted")));
                    }
                    (k.to_string(), v)
                }
            };
            let value = match raw.as_bytes().first() {
                Some(b'`' | b'"') => {
                    unquote(raw).ok_or_else(|| err("invalid quoted value".into()))?
                }
                _ => {
                    if raw.contains([' ', '\t', '\r', '\n', '"', '`']) {
                        return Err(err(format!("unquoted value {raw:?} must be quoted")));
                    }
                    raw.to_string()
                }
            };
            bi.settings.push((key, value));
        }
    }
    Ok(bi)
}

/// syft's patterns for a version in `-ldflags` (`-X main.version=1.2.3`,
/// `.gitVersion=v1.2.3`, `.tag=...`): the first match's version, `v`-prefixed.
#[must_use]
pub fn version_from_ldflags(ldflags: &str) -> Option<String> {
    // Pattern 1: `\.([gG]it)?([bB]uild)?[vV]er(sion)?=`, pattern 2: `\.([tT]ag)=`; then
    // `(\S+/)*` and `v?\d+.\d+.\d+[-\w]*` (the dots match any character).
    let key1 = |k: &str| -> bool {
        let k = k.strip_suffix("sion").unwrap_or(k);
        let Some(k) = k.strip_suffix("er") else {
            return false;
        };
        let Some(k) = k.strip_suffix(['v', 'V']) else {
            return false;
        };
        let k = k
            .strip_suffix("build")
            .or_else(|| k.strip_suffix("Build"))
            .unwrap_or(k);
        let k = k
            .strip_suffix("git")
            .or_else(|| k.strip_suffix("Git"))
            .unwrap_or(k);
        k.ends_with('.')
    };
    let key2 = |k: &str| k.ends_with(".tag") || k.ends_with(".Tag");
    for key in [&key1 as &dyn Fn(&str) -> bool, &key2] {
        for (i, _) in ldflags.match_indices('=') {
            if !key(&ldflags[..i]) {
                continue;
            }
            let value = &ldflags[i + 1..];
            let run = &value[..value
                .find(|c: char| c.is_whitespace())
                .unwrap_or(value.len())];
            // `(\S+/)*` is greedy: try after the last '/' first, then earlier ones, then none.
            let mut starts: Vec<usize> = run.match_indices('/').map(|(j, _)| j + 1).collect();
            starts.reverse();
            starts.push(0);
            for s in starts {
                if let Some(v) = semverish(&value[s..]) {
                    return Some(if v.starts_with('v') {
                        v.to_string()
                    } else {
                        format!("v{v}")
                    });
                }
            }
        }
    }
    None
}

/// `v?\d+.\d+.\d+[-\w]*` at the start of `s` (`.` = any character), the longest match.
fn semverish(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let digits = |i: &mut usize| -> bool {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    // The regex backtracks within `\d+.` (a digit may serve as the "any character"); real
    // versions have one separator, so the greedy reading is the one that matters.
    for k in 0..3 {
        if !digits(&mut i) {
            return None;
        }
        if k < 2 {
            if i >= b.len() {
                return None;
            }
            // Any character, but a multi-byte one counts whole.
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
        i += 1;
    }
    Some(&s[..i])
}

/// Go's pseudo-version for a revision with no tag: `v0.0.0-<UTC yyyymmddhhmmss>-<12 hex>`.
/// `time` is RFC 3339; an unparsable time gives Go's zero time, as syft does.
#[must_use]
pub fn pseudo_version(revision: &str, time: &str) -> String {
    let rev: String = revision.chars().take(12).collect();
    let stamp = rfc3339_utc(time).unwrap_or_else(|| "00010101000000".into());
    format!("v0.0.0-{stamp}-{rev}")
}

/// `yyyymmddhhmmss` in UTC from an RFC 3339 timestamp.
fn rfc3339_utc(t: &str) -> Option<String> {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |a: usize, n: usize| -> Option<i64> {
        let s = t.get(a..a + n)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    // Days from the civil date (proleptic Gregorian), then back after applying the offset.
    let days = |y: i64, m: i64, d: i64| -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    };
    let secs = days(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    let (day, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let dd = doy - (153 * mp + 2) / 5 + 1;
    let mm = if mp < 10 { mp + 3 } else { mp - 9 };
    let yy = yoe + era * 400 + i64::from(mm <= 2);
    Some(format!(
        "{yy:04}{mm:02}{dd:02}{:02}{:02}{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    ))
}

const DEVEL: &str = "(devel)";

fn go_module(name: &str, version: &str) -> RawPackage {
    RawPackage {
        kind: "go-module".into(),
        name: name.to_string(),
        version: version.to_string(),
        ..RawPackage::default()
    }
}

/// The packages of one Go binary, named as syft names them:
/// - `stdlib` at the toolchain version (`go1.22.0`; anything after a space, such as
///   `X:boringcrypto`, dropped), when the version is a release (`devel ...` builds have none);
///   unlike syft, also for a binary built without modules (its standard library is still there);
/// - the main module, with `(devel)` resolved as syft does: a version in `-ldflags`
///   (`-X main.version=1.2.3` -> `v1.2.3`), else a pseudo-version from `vcs.revision` and
///   `vcs.time`, else kept as `(devel)`; a binary with a package path but no main module line gets
///   that path at `(devel)`;
/// - every dependency; a replaced one (`=>`) is reported as its replacement's path and version,
///   which is the code actually built in (what `go version -m` prints on the `=>` line, and what
///   syft reports).
#[must_use]
pub fn packages(bi: &BuildInfo) -> Vec<RawPackage> {
    let mut out = Vec::new();
    let go = bi.go_version.split(' ').next().unwrap_or("");
    if go
        .strip_prefix("go")
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    {
        out.push(go_module("stdlib", go));
    }
    let mut main = bi.main.clone();
    if main == Module::default() && !bi.path.is_empty() {
        main = Module {
            path: bi.path.clone(),
            version: DEVEL.into(),
            ..Module::default()
        };
    }
    for dep in &bi.deps {
        let m = dep.replace.as_deref().unwrap_or(dep);
        if !m.path.is_empty() {
            out.push(go_module(&m.path, &m.version));
        }
    }
    if main != Module::default() {
        let m = main.replace.as_deref().unwrap_or(&main);
        let mut version = m.version.clone();
        if version == DEVEL {
            if let Some(v) = bi.setting("-ldflags").and_then(version_from_ldflags) {
                version = v;
            } else if let (Some(rev), Some(time)) =
                (bi.setting("vcs.revision"), bi.setting("vcs.time"))
            {
                version = pseudo_version(rev, time);
            }
        }
        if !m.path.is_empty() {
            out.push(go_module(&m.path, &version));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A Go 1.18+ inline blob: header then uvarint-prefixed version and framed module info.
    pub fn inline_blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.push(8);
        b.push(2);
        b.resize(32, 0);
        let mut put = |s: &[u8]| {
            let mut n = s.len() as u64;
            loop {
                let c = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    b.push(c);
                    break;
                }
                b.push(c | 0x80);
            }
            b.extend_from_slice(s);
        };
        put(version.as_bytes());
        let framed = if modinfo.is_empty() {
            Vec::new()
        } else {
            let mut f = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
            f.extend_from_slice(modinfo.as_bytes());
            f.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
            f
        };
        put(&framed);
        b
    }

    pub const MODINFO: &str = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
        dep\tgolang.org/x/xerrors\tv0.0.0-20220907171357-04be3eba64a2\n\
        =>\tgithub.com/golang/xerrors\tv0.0.0-20220907171357-04be3eba64a2\th1:abc=\n\
        dep\tgithub.com/pkg/errors\tv0.9.1\th1:xyz=\n\
        build\t-ldflags=\"-s -w -X main.version=1.2.3\"\nbuild\tvcs.revision=0123456789abcdef\n";

    #[test]
    fn varints() {
        assert_eq!(uvarint(&[0x05]), Some((5, 1)));
        assert_eq!(uvarint(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(uvarint(&[0x80, 0x80]), None);
        assert_eq!(uvarint(&[0xff; 10]), None);
        assert_eq!(uvarint(&[]), None);
    }

    #[test]
    fn inline_decode_and_packages() {
        let blob = inline_blob("go1.22.0 X:boringcrypto", MODINFO);
        let (v, m) = decode(None, &blob.as_slice(), 0).unwrap();
        assert_eq!(v, "go1.22.0 X:boringcrypto");
        let mut bi = parse_modinfo(&m).unwrap();
        bi.go_version = v;
        assert_eq!(bi.deps.len(), 2);
        let pkgs: Vec<(String, String)> = packages(&bi)
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        assert!(pkgs.contains(&("stdlib".into(), "go1.22.0".into())));
        assert!(pkgs.contains(&("example.com/app".into(), "v1.2.3".into())));
        assert!(pkgs.contains(&(
            "github.com/golang/xerrors".into(),
            "v0.0.0-20220907171357-04be3eba64a2".into()
        )));
        assert!(!pkgs.iter().any(|(n, _)| n == "golang.org/x/xerrors"));
    }

    #[test]
    fn bogus_blobs_are_errors_not_panics() {
        let good = inline_blob("go1.22.0", MODINFO);
        for cut in 0..good.len() {
            let _ = decode(None, &&good[..cut], 0);
        }
        // A varint that never ends, one that overflows, one longer than the file.
        for tail in [&[0xffu8; 12][..], &[0x80, 0x80, 0x80], &[0xf0, 0xff, 0x7f]] {
            let mut b = good[..32].to_vec();
            b.extend_from_slice(tail);
            let e = decode(None, &b.as_slice(), 0).unwrap_err();
            assert!(e.starts_with("Go build info"), "{e}");
        }
        // Pointer layout without a segment table, and with a bad pointer size.
        let mut b = good[..32].to_vec();
        b[15] = 0;
        assert!(decode(None, &b.as_slice(), 0).is_err());
        b[14] = 3;
        assert!(decode(None, &b.as_slice(), 0).is_err());
    }

    #[test]
    fn modinfo_rules() {
        assert!(parse_modinfo("dep\ta\n").is_err());
        assert!(parse_modinfo("=>\ta\tb\tc\n").is_err());
        assert!(parse_modinfo("build\tfoo bar=1\n").is_err());
        assert!(parse_modinfo("build\tk=a b\n").is_err());
        let bi = parse_modinfo("build\t\"a b\"=\"x\\ty\"\nbuild\tk=`raw`\nother line\n").unwrap();
        assert_eq!(bi.settings[0], ("a b".into(), "x\ty".into()));
        assert_eq!(bi.settings[1], ("k".into(), "raw".into()));
        // The last line needs its newline, as in Go.
        assert!(parse_modinfo("path\tx").unwrap().path.is_empty());
    }

    #[test]
    fn main_module_versions() {
        let flags = [
            (
                "-X main.version=1.18.1 -X main.gitCommit=abc",
                Some("v1.18.1"),
            ),
            (
                "-X github.com/x/y/internal.Version=v2.3.4-rc1",
                Some("v2.3.4-rc1"),
            ),
            ("-X main.gitVersion=v1.2.3+dirty", Some("v1.2.3")),
            (
                "-X k8s.io/component-base/version.gitVersion=v1.29.0",
                Some("v1.29.0"),
            ),
            ("-X main.tag=0.5.0", Some("v0.5.0")),
            ("-X main.Ver=1.0.0", Some("v1.0.0")),
            ("-X main.versionx=1.0.0", None),
            ("-X main.version=dev", None),
            ("-s -w", None),
        ];
        for (f, want) in flags {
            assert_eq!(version_from_ldflags(f).as_deref(), want, "{f}");
        }
        assert_eq!(
            pseudo_version(
                "5e16e5031a13f8a11057feb8544decebfc43b4ed",
                "2024-12-13T18:30:11Z"
            ),
            "v0.0.0-20241213183011-5e16e5031a13"
        );
        assert_eq!(
            pseudo_version("abc", "2024-03-01T01:30:00+02:00"),
            "v0.0.0-20240229233000-abc"
        );
        assert_eq!(
            pseudo_version("abc", "yesterday"),
            "v0.0.0-00010101000000-abc"
        );
    }
}
