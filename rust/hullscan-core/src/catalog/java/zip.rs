//! A small, bounded reader of zip archives held in memory (jars are zips).
//!
//! Written here rather than taken from the `zip` crate because a cataloger needs only a few
//! members of each archive and must stay bounded on hostile input: the central directory is walked
//! lazily (nothing is stored per entry, so a million entries cost no memory), only the members
//! asked for are inflated, each up to a caller-given limit and never past its declared size, and
//! stored members are returned as borrowed slices (a Spring Boot jar's nested jars are stored, so
//! reading them copies nothing). Deflate comes from `flate2`, which the layer reader already uses.
//!
//! What is checked: the end-of-central-directory record (and its zip64 form), the central directory
//! lying inside the file (with the `base` shift of archives that have bytes prepended, such as
//! executable jars with a launch script in front), every header's signature and bounds, declared
//! sizes against what deflate produces, the CRC-32, and a ratio no deflate stream can reach.

use flate2::read::DeflateDecoder;
use std::borrow::Cow;
use std::fmt;
use std::io::Read;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const CEN_SIG: u32 = 0x0201_4b50;
const LOC_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const CEN_LEN: usize = 46;
const LOC_LEN: usize = 30;
/// Deflate cannot expand data by more than about 1032:1; a member declaring more is lying.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Why an archive or a member could not be read. The `Display` text starts with a stable kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipError {
    /// No end-of-central-directory record: not a zip, or cut short.
    NotZip,
    /// A header or offset points outside the file, or a signature is wrong.
    Corrupt(String),
    /// A member would inflate past the limit it was read with.
    TooLarge { name: String, limit: u64 },
    /// A member's method is not stored or deflate, or it is encrypted.
    Unsupported { name: String, what: String },
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZipError::NotZip => write!(f, "not a zip archive (no end of central directory)"),
            ZipError::Corrupt(d) => write!(f, "corrupt zip archive: {d}"),
            ZipError::TooLarge { name, limit } => {
                write!(
                    f,
                    "zip member {name:?} inflates past {limit} bytes; not read"
                )
            }
            ZipError::Unsupported { name, what } => {
                write!(f, "zip member {name:?}: {what}; not read")
            }
        }
    }
}

fn corrupt(d: impl Into<String>) -> ZipError {
    ZipError::Corrupt(d.into())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// An opened archive: where its central directory is.
#[derive(Debug, Clone, Copy)]
pub struct Archive<'a> {
    data: &'a [u8],
    /// Central directory byte range (absolute in `data`).
    cd_start: usize,
    cd_end: usize,
    /// Added to every offset the archive records (bytes prepended to the zip).
    base: usize,
}

/// One central-directory entry, borrowed from the archive's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The name as stored (zip names are UTF-8 or CP437; jars use UTF-8).
    pub name: &'a [u8],
    pub method: u16,
    pub flags: u16,
    pub crc: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Offset of the local header, relative to the archive's start.
    pub local_offset: u64,
}

impl Entry<'_> {
    #[must_use]
    pub fn name_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.name)
    }
    #[must_use]
    pub fn is_dir(&self) -> bool {
        self.name.last() == Some(&b'/')
    }
}

impl<'a> Archive<'a> {
    /// Find the central directory.
    ///
    /// # Errors
    /// [`ZipError::NotZip`] without an end record, [`ZipError::Corrupt`] when it points outside.
    pub fn open(data: &'a [u8]) -> Result<Self, ZipError> {
        let eocd = find_eocd(data).ok_or(ZipError::NotZip)?;
        let mut cd_size = u64::from(u32_at(data, eocd + 12).ok_or(ZipError::NotZip)?);
        let mut cd_offset = u64::from(u32_at(data, eocd + 16).ok_or(ZipError::NotZip)?);
        let entries16 = u16_at(data, eocd + 10).ok_or(ZipError::NotZip)?;
        // Where the central directory must end: right before the (zip64) end record.
        let mut dir_end = eocd;
        let zip64 = cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF || entries16 == 0xFFFF;
        if zip64 && eocd >= 20 && u32_at(data, eocd - 20) == Some(EOCD64_LOCATOR_SIG) {
            let rec = u64_at(data, eocd - 20 + 8).ok_or_else(|| corrupt("short zip64 locator"))?;
            // The record's offset is relative to the archive start, which may be shifted; it is
            // normally right before the locator (56 bytes without extensible data).
            let expected = eocd - 20;
            let rec = usize::try_from(rec).map_err(|_| corrupt("zip64 record offset"))?;
            let at = if u32_at(data, rec) == Some(EOCD64_SIG) {
                rec
            } else if expected >= 56 && u32_at(data, expected - 56) == Some(EOCD64_SIG) {
                expected - 56
            } else {
                return Err(corrupt("zip64 end record not found"));
            };
            cd_size = u64_at(data, at + 40).ok_or_else(|| corrupt("short zip64 end record"))?;
            cd_offset = u64_at(data, at + 48).ok_or_else(|| corrupt("short zip64 end record"))?;
            dir_end = at;
        }
        let cd_size = usize::try_from(cd_size).map_err(|_| corrupt("central directory size"))?;
        let cd_offset =
            usize::try_from(cd_offset).map_err(|_| corrupt("central directory offset"))?;
        if cd_size > dir_end {
            return Err(corrupt(format!(
                "central directory of {cd_size} bytes does not fit before its end record"
            )));
        }
        let cd_start = dir_end - cd_size;
        // Offsets are relative to the zip's start; bytes prepended to it shift everything by
        // `base`. Prefer base 0 when the recorded offset already holds a central directory.
        let base =
            if cd_offset == cd_start || (cd_size > 0 && u32_at(data, cd_offset) == Some(CEN_SIG)) {
                0
            } else if cd_offset < cd_start {
                cd_start - cd_offset
            } else {
                return Err(corrupt(format!(
                    "central directory offset {cd_offset} is past its end record"
                )));
            };
        let cd_start = cd_offset
            .checked_add(base)
            .filter(|s| s.checked_add(cd_size).is_some_and(|e| e <= data.len()))
            .ok_or_else(|| corrupt("central directory outside the file"))?;
        Ok(Archive {
            data,
            cd_start,
            cd_end: cd_start + cd_size,
            base,
        })
    }

    /// The central directory's entries in order, lazily. A malformed entry ends the walk with an
    /// error item.
    #[must_use]
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            data: self.data,
            at: self.cd_start,
            end: self.cd_end,
            failed: false,
        }
    }

    /// The byte range of a member's local header plus data, for overlap checks.
    ///
    /// # Errors
    /// [`ZipError::Corrupt`] when the local header is missing or out of bounds.
    pub fn span(&self, e: &Entry<'_>) -> Result<(usize, usize), ZipError> {
        let (start, data_start) = self.local(e)?;
        let len = usize::try_from(e.compressed_size).map_err(|_| corrupt("member size"))?;
        let end = data_start
            .checked_add(len)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| {
                corrupt(format!(
                    "member {:?} extends past the end of the file",
                    e.name_lossy()
                ))
            })?;
        Ok((start, end))
    }

    fn local(&self, e: &Entry<'_>) -> Result<(usize, usize), ZipError> {
        let start = usize::try_from(e.local_offset)
            .ok()
            .and_then(|o| o.checked_add(self.base))
            .filter(|&s| s < self.data.len())
            .ok_or_else(|| corrupt(format!("member {:?}: offset out of range", e.name_lossy())))?;
        if u32_at(self.data, start) != Some(LOC_SIG) {
            return Err(corrupt(format!(
                "member {:?}: no local header at its offset",
                e.name_lossy()
            )));
        }
        let n = u16_at(self.data, start + 26).ok_or_else(|| corrupt("short local header"))?;
        let m = u16_at(self.data, start + 28).ok_or_else(|| corrupt("short local header"))?;
        Ok((start, start + LOC_LEN + usize::from(n) + usize::from(m)))
    }

    /// A member's content, at most `limit` bytes: borrowed when stored, inflated when deflated.
    /// The result has exactly the declared size and CRC, or it is an error.
    ///
    /// # Errors
    /// [`ZipError::TooLarge`] past `limit`; [`ZipError::Unsupported`] for other methods or
    /// encryption; [`ZipError::Corrupt`] for bad headers, sizes that lie, or a CRC mismatch.
    pub fn read(&self, e: &Entry<'_>, limit: u64) -> Result<Cow<'a, [u8]>, ZipError> {
        let name = || e.name_lossy().into_owned();
        if e.flags & 1 != 0 {
            return Err(ZipError::Unsupported {
                name: name(),
                what: "encrypted".into(),
            });
        }
        if e.uncompressed_size > limit {
            return Err(ZipError::TooLarge {
                name: name(),
                limit,
            });
        }
        let (_, end) = self.span(e)?;
        let start = end - usize::try_from(e.compressed_size).unwrap_or(0);
        let raw = &self.data[start..end];
        let out: Cow<'a, [u8]> = match e.method {
            0 => {
                if e.compressed_size != e.uncompressed_size {
                    return Err(corrupt(format!(
                        "stored member {:?} declares two different sizes",
                        e.name_lossy()
                    )));
                }
                Cow::Borrowed(raw)
            }
            8 => {
                if e.uncompressed_size > e.compressed_size.saturating_mul(MAX_DEFLATE_RATIO) + 1024
                {
                    return Err(corrupt(format!(
                        "member {:?} declares {} bytes from {} compressed: more than deflate can expand",
                        e.name_lossy(),
                        e.uncompressed_size,
                        e.compressed_size
                    )));
                }
                // Never past the declared size (+1 to notice a lie); the declared size is already
                // within `limit`. Capacity grows with what is really produced.
                let want = e.uncompressed_size;
                let mut buf = Vec::with_capacity(usize::try_from(want.min(1 << 20)).unwrap_or(0));
                DeflateDecoder::new(raw)
                    .take(want + 1)
                    .read_to_end(&mut buf)
                    .map_err(|err| {
                        corrupt(format!(
                            "member {:?}: bad deflate data: {err}",
                            e.name_lossy()
                        ))
                    })?;
                let got = buf.len() as u64;
                if got != want {
                    let what = if got > want {
                        "more".to_string()
                    } else {
                        got.to_string()
                    };
                    return Err(corrupt(format!(
                        "member {:?} declares {want} bytes but inflates to {what}",
                        e.name_lossy()
                    )));
                }
                Cow::Owned(buf)
            }
            m => {
                return Err(ZipError::Unsupported {
                    name: name(),
                    what: format!("compression method {m}"),
                })
            }
        };
        let mut crc = flate2::Crc::new();
        crc.update(&out);
        if crc.sum() != e.crc {
            return Err(corrupt(format!(
                "member {:?}: CRC mismatch",
                e.name_lossy()
            )));
        }
        Ok(out)
    }
}

/// The last end-of-central-directory signature whose comment fits in the file.
fn find_eocd(data: &[u8]) -> Option<usize> {
    if data.len() < EOCD_LEN {
        return None;
    }
    let lowest = data.len().saturating_sub(EOCD_LEN + usize::from(u16::MAX));
    let mut i = data.len() - EOCD_LEN;
    loop {
        if u32_at(data, i) == Some(EOCD_SIG) {
            let comment = usize::from(u16_at(data, i + 20)?);
            if i + EOCD_LEN + comment <= data.len() {
                return Some(i);
            }
        }
        if i == lowest {
            return None;
        }
        i -= 1;
    }
}

/// Iterator over central-directory entries.
pub struct Entries<'a> {
    data: &'a [u8],
    at: usize,
    end: usize,
    failed: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, ZipError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.end {
            return None;
        }
        let r = self.parse();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

impl<'a> Entries<'a> {
    fn parse(&mut self) -> Result<Entry<'a>, ZipError> {
        let d = self.data;
        let at = self.at;
        if at + CEN_LEN > self.end || u32_at(d, at) != Some(CEN_SIG) {
            return Err(corrupt(format!("bad central directory entry at {at}")));
        }
        let field16 = |o: usize| u16_at(d, at + o).unwrap_or(0);
        let field32 = |o: usize| u32_at(d, at + o).unwrap_or(0);
        let n = usize::from(field16(28));
        let m = usize::from(field16(30));
        let k = usize::from(field16(32));
        let next = at + CEN_LEN + n + m + k;
        if next > self.end {
            return Err(corrupt(format!(
                "central directory entry at {at} runs past the directory"
            )));
        }
        let name = &d[at + CEN_LEN..at + CEN_LEN + n];
        let extra = &d[at + CEN_LEN + n..at + CEN_LEN + n + m];
        let mut e = Entry {
            name,
            method: field16(10),
            flags: field16(8),
            crc: field32(16),
            compressed_size: u64::from(field32(20)),
            uncompressed_size: u64::from(field32(24)),
            local_offset: u64::from(field32(42)),
        };
        if e.compressed_size == 0xFFFF_FFFF
            || e.uncompressed_size == 0xFFFF_FFFF
            || e.local_offset == 0xFFFF_FFFF
        {
            zip64_extra(extra, &mut e)?;
        }
        self.at = next;
        Ok(e)
    }
}

/// Apply the zip64 extended-information extra field (0x0001): its 8-byte values appear, in this
/// order, only for the 32-bit fields that are saturated.
fn zip64_extra(mut extra: &[u8], e: &mut Entry<'_>) -> Result<(), ZipError> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0).unwrap_or(0);
        let len = usize::from(u16_at(extra, 2).unwrap_or(0));
        let body = extra
            .get(4..4 + len)
            .ok_or_else(|| corrupt("truncated extra field"))?;
        if id == 1 {
            let mut at = 0;
            let mut take = |v: &mut u64| -> Result<(), ZipError> {
                if *v == 0xFFFF_FFFF {
                    *v = u64_at(body, at).ok_or_else(|| corrupt("short zip64 extra field"))?;
                    at += 8;
                }
                Ok(())
            };
            take(&mut e.uncompressed_size)?;
            take(&mut e.compressed_size)?;
            take(&mut e.local_offset)?;
            return Ok(());
        }
        extra = &extra[4 + len..];
    }
    Err(corrupt(format!(
        "member {:?} needs a zip64 extra field it does not have",
        e.name_lossy()
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal zip writer for tests: (name, content, deflate?) members.
    pub(crate) fn build(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
        build_with(members, &[])
    }

    pub(crate) fn build_with(members: &[(&str, &[u8], bool)], prefix: &[u8]) -> Vec<u8> {
        let mut out = prefix.to_vec();
        let base = out.len();
        let mut cd = Vec::new();
        for (name, content, deflate) in members {
            let mut crc = flate2::Crc::new();
            crc.update(content);
            let body = if *deflate {
                let mut enc =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(content).unwrap();
                enc.finish().unwrap()
            } else {
                content.to_vec()
            };
            let off = u32::try_from(out.len() - base).unwrap();
            let method: u16 = if *deflate { 8 } else { 0 };
            let nlen = u16::try_from(name.len()).unwrap();
            let clen = u32::try_from(body.len()).unwrap();
            let ulen = u32::try_from(content.len()).unwrap();
            out.extend_from_slice(&LOC_SIG.to_le_bytes());
            out.extend_from_slice(&[20, 0, 0, 0]);
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&crc.sum().to_le_bytes());
            out.extend_from_slice(&clen.to_le_bytes());
            out.extend_from_slice(&ulen.to_le_bytes());
            out.extend_from_slice(&nlen.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&body);
            cd.extend_from_slice(&CEN_SIG.to_le_bytes());
            cd.extend_from_slice(&[20, 0, 20, 0, 0, 0]);
            cd.extend_from_slice(&method.to_le_bytes());
            cd.extend_from_slice(&[0; 4]);
            cd.extend_from_slice(&crc.sum().to_le_bytes());
            cd.extend_from_slice(&clen.to_le_bytes());
            cd.extend_from_slice(&ulen.to_le_bytes());
            cd.extend_from_slice(&nlen.to_le_bytes());
            cd.extend_from_slice(&[0; 12]);
            cd.extend_from_slice(&off.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
        }
        let cd_off = u32::try_from(out.len() - base).unwrap();
        let n = u16::try_from(members.len()).unwrap();
        out.extend_from_slice(&cd);
        out.extend_from_slice(&EOCD_SIG.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&u32::try_from(cd.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn names(a: &Archive<'_>) -> Vec<String> {
        a.entries()
            .map(|e| e.unwrap().name_lossy().into_owned())
            .collect()
    }

    #[test]
    fn reads_stored_and_deflated_members() {
        let big = vec![b'x'; 100_000];
        let z = build(&[("a.txt", b"hello", false), ("b/c.txt", &big, true)]);
        let a = Archive::open(&z).unwrap();
        assert_eq!(names(&a), ["a.txt", "b/c.txt"]);
        let es: Vec<_> = a.entries().map(Result::unwrap).collect();
        assert!(matches!(
            a.read(&es[0], 10).unwrap(),
            Cow::Borrowed(b"hello")
        ));
        assert_eq!(a.read(&es[1], 1 << 20).unwrap().len(), 100_000);
        assert!(matches!(
            a.read(&es[1], 99_999),
            Err(ZipError::TooLarge { .. })
        ));
    }

    #[test]
    fn prepended_bytes_shift_offsets() {
        let z = build_with(
            &[("x", b"data", true)],
            b"#!/bin/sh\nexec java -jar \"$0\"\n",
        );
        let a = Archive::open(&z).unwrap();
        let e = a.entries().next().unwrap().unwrap();
        assert_eq!(&*a.read(&e, 100).unwrap(), b"data");
    }

    #[test]
    fn hostile_archives_are_errors_not_panics() {
        let good = build(&[("a", b"hello world", true), ("b", b"xyz", false)]);
        // Every truncation and every single-byte corruption: an error or a value, never a panic.
        for cut in 0..good.len() {
            if let Ok(a) = Archive::open(&good[..cut]) {
                for e in a.entries().flatten() {
                    let _ = a.read(&e, 1 << 20);
                }
            }
        }
        for i in 0..good.len() {
            for v in [0u8, 0xFF, 0x7F] {
                let mut z = good.clone();
                z[i] = v;
                if let Ok(a) = Archive::open(&z) {
                    for e in a.entries().flatten() {
                        let _ = a.read(&e, 1 << 20);
                    }
                }
            }
        }
        assert_eq!(Archive::open(b"not a zip").unwrap_err(), ZipError::NotZip);
        assert_eq!(Archive::open(&[]).unwrap_err(), ZipError::NotZip);
    }

    #[test]
    fn lying_sizes_are_caught() {
        let content = vec![0u8; 50_000];
        let mut z = build(&[("m", &content, true)]);
        let a = Archive::open(&z).unwrap();
        let e = a.entries().next().unwrap().unwrap();
        assert!(a.read(&e, 1 << 20).is_ok());
        // Declare 1000 bytes (in both headers' uncompressed-size fields): inflating stops there.
        let cen = z.len() - EOCD_LEN - (CEN_LEN + 1);
        z[cen + 24..cen + 28].copy_from_slice(&1000u32.to_le_bytes());
        let a = Archive::open(&z).unwrap();
        let e = a.entries().next().unwrap().unwrap();
        let err = a.read(&e, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("inflates to more"), "{err}");
        // Declare 4 GiB - 2 from a few hundred compressed bytes: refused before inflating.
        z[cen + 24..cen + 28].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        let a = Archive::open(&z).unwrap();
        let e = a.entries().next().unwrap().unwrap();
        let err = a.read(&e, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("more than deflate"), "{err}");
        // A central directory offset past the end record.
        let eocd = z.len() - EOCD_LEN;
        z[eocd + 16..eocd + 20].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        assert!(matches!(Archive::open(&z), Err(ZipError::Corrupt(_))));
    }

    #[test]
    fn many_entries_cost_no_memory() {
        let members: Vec<(String, Vec<u8>)> =
            (0..20_000).map(|i| (format!("f{i}"), Vec::new())).collect();
        let refs: Vec<(&str, &[u8], bool)> = members
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice(), false))
            .collect();
        let z = build(&refs);
        let a = Archive::open(&z).unwrap();
        assert_eq!(a.entries().count(), 20_000);
    }
}
