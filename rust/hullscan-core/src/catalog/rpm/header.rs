//! RPM header blobs as stored in the rpmdb: `il` and `dl` (big-endian u32), `il` index entries of
//! 16 bytes (tag, type, offset, count), then `dl` bytes of data. Every offset is bounds-checked: the
//! blob comes from a hostile layer.
//!
//! A header written by rpm starts with a region tag (61-63) whose data is a trailer describing the
//! entries that were signed/immutable; entries after the region ("dribbles", added at install time)
//! replace region entries with the same tag. We only read a handful of plain tags, so we scan every
//! index entry and let a later entry override an earlier one, which gives the same answer.
//!
//! The file list (`DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, or `OLDFILENAMES` in old headers) is
//! read only for the paths a language cataloger reads (see [`crate::catalog::owned_path_matters`]);
//! a broken file list yields no owned paths but keeps the package.

use crate::model::RawPackage;

/// The tags hullscan reads.
#[derive(Debug, Default, Clone)]
pub struct Tags {
    pub name: Option<String>,
    pub version: Option<String>,
    pub release: Option<String>,
    pub epoch: Option<u64>,
    pub arch: Option<String>,
    pub source_rpm: Option<String>,
    pub license: Option<String>,
    /// Owned files worth keeping: root-relative, normalised, sorted, without duplicates.
    pub files: Vec<String>,
}

/// More index entries than this is not a header rpm would write (rpm itself allows < 65536).
const MAX_INDEX: usize = 100_000;
/// Largest data store accepted.
const MAX_DATA: usize = 256 * 1024 * 1024;
const ENTRY: usize = 16;

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_LICENSE: i32 = 1014;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;
const TAG_OLDFILENAMES: i32 = 1027;
const TAG_DIRINDEXES: i32 = 1116;
const TAG_BASENAMES: i32 = 1117;
const TAG_DIRNAMES: i32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parse the tags of one header blob.
///
/// # Errors
/// A message when the blob is structurally broken.
pub fn parse(blob: &[u8]) -> Result<Tags, String> {
    let il = be_u32(blob, 0).ok_or("rpm header: shorter than 8 bytes")?;
    let dl = be_u32(blob, 4).ok_or("rpm header: shorter than 8 bytes")?;
    let il = usize::try_from(il).map_err(|_| "rpm header: index count overflows")?;
    let dl = usize::try_from(dl).map_err(|_| "rpm header: data length overflows")?;
    if il > MAX_INDEX {
        return Err(format!("rpm header: {il} index entries is implausible"));
    }
    if dl > MAX_DATA {
        return Err(format!(
            "rpm header: data store of {dl} bytes is implausible"
        ));
    }
    // il <= 100000 and dl <= 256 MiB, so this cannot overflow.
    let data_start = 8 + il * ENTRY;
    let data_end = data_start + dl;
    if blob.len() < data_end {
        return Err(format!(
            "rpm header: truncated ({} bytes, index and data need {data_end})",
            blob.len()
        ));
    }
    let index = &blob[8..data_start];
    let store = &blob[data_start..data_end];

    let mut tags = Tags::default();
    let mut file_tags = FileTags::default();
    for e in index.chunks_exact(ENTRY) {
        let tag = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let typ = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        let offset = i32::from_be_bytes([e[8], e[9], e[10], e[11]]);
        let count = u32::from_be_bytes([e[12], e[13], e[14], e[15]]);
        let file_slot = match tag {
            TAG_OLDFILENAMES => Some(&mut file_tags.old),
            TAG_DIRINDEXES => Some(&mut file_tags.indexes),
            TAG_BASENAMES => Some(&mut file_tags.bases),
            TAG_DIRNAMES => Some(&mut file_tags.dirs),
            _ => None,
        };
        if let Some(slot) = file_slot {
            *slot = Some((typ, offset, count));
            continue;
        }
        let slot = match tag {
            TAG_NAME => &mut tags.name,
            TAG_VERSION => &mut tags.version,
            TAG_RELEASE => &mut tags.release,
            TAG_ARCH => &mut tags.arch,
            TAG_LICENSE => &mut tags.license,
            TAG_SOURCERPM => &mut tags.source_rpm,
            TAG_EPOCH => {
                if typ != TYPE_INT32 || count == 0 {
                    continue;
                }
                let off = data_offset(offset, dl, tag)?;
                let v = be_u32(store, off).ok_or_else(|| {
                    format!("rpm header: tag {tag} data runs past the data store")
                })?;
                tags.epoch = Some(u64::from(v));
                continue;
            }
            _ => continue,
        };
        if !matches!(typ, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || count == 0 {
            continue;
        }
        let off = data_offset(offset, dl, tag)?;
        *slot = Some(c_string(store, off, tag)?);
    }
    tags.files = file_tags.owned(store).unwrap_or_default();
    Ok(tags)
}

/// (type, offset, count) of the file-list tags.
type Entry = (u32, i32, u32);

#[derive(Default)]
struct FileTags {
    old: Option<Entry>,
    indexes: Option<Entry>,
    bases: Option<Entry>,
    dirs: Option<Entry>,
}

impl FileTags {
    /// The owned paths worth keeping; `None` when the file list is broken.
    fn owned(&self, store: &[u8]) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut keep = |path: &[u8]| {
            if let Some(p) = std::str::from_utf8(path)
                .ok()
                .and_then(crate::catalog::owned_path)
            {
                out.push(p);
            }
        };
        if let (Some(bases), Some(dirs), Some(indexes)) = (self.bases, self.dirs, self.indexes) {
            let dirs: Vec<&[u8]> = strings(store, dirs)?.collect::<Option<_>>()?;
            let (typ, offset, count) = indexes;
            if typ != TYPE_INT32 || count != bases.2 {
                return None;
            }
            let start = usize::try_from(offset).ok()?;
            let len = usize::try_from(count).ok()?.checked_mul(4)?;
            let idx = store.get(start..start.checked_add(len)?)?;
            let mut path = Vec::new();
            for (base, i) in strings(store, bases)?.zip(idx.chunks_exact(4)) {
                let i = usize::try_from(u32::from_be_bytes([i[0], i[1], i[2], i[3]])).ok()?;
                path.clear();
                path.extend_from_slice(dirs.get(i)?);
                path.extend_from_slice(base?);
                keep(&path);
            }
        } else if let Some(old) = self.old {
            for name in strings(store, old)? {
                keep(name?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

/// The `count` NUL-terminated strings of a string-array entry; `None` for the wrong type or an
/// offset outside the store, a `None` item for a string that runs past it. Each string takes at
/// least one byte, so a hostile count ends with the store.
fn strings(
    store: &[u8],
    (typ, offset, count): Entry,
) -> Option<impl Iterator<Item = Option<&[u8]>>> {
    if typ != TYPE_STRING_ARRAY {
        return None;
    }
    let mut rest = store.get(usize::try_from(offset).ok()?..)?;
    Some((0..count).map(move |_| {
        let end = rest.iter().position(|&b| b == 0)?;
        let (s, tail) = rest.split_at(end);
        rest = &tail[1..];
        Some(s)
    }))
}

fn data_offset(offset: i32, dl: usize, tag: i32) -> Result<usize, String> {
    match usize::try_from(offset) {
        Ok(o) if o < dl => Ok(o),
        _ => Err(format!(
            "rpm header: tag {tag} offset {offset} is outside the {dl}-byte data store"
        )),
    }
}

/// The NUL-terminated string at `off` (the first one for arrays).
fn c_string(store: &[u8], off: usize, tag: i32) -> Result<String, String> {
    let rest = &store[off..];
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("rpm header: tag {tag} string is not NUL-terminated"))?;
    Ok(String::from_utf8_lossy(&rest[..len]).into_owned())
}

/// The package a header describes; `None` for headers without name or version.
///
/// # Errors
/// A message when the blob is structurally broken.
pub fn package(blob: &[u8]) -> Result<Option<RawPackage>, String> {
    Ok(super::raw_package(&parse(blob)?))
}

/// The package a header describes and the owned files worth keeping.
///
/// # Errors
/// A message when the blob is structurally broken.
pub fn package_and_files(blob: &[u8]) -> Result<Option<(RawPackage, Vec<String>)>, String> {
    let mut tags = parse(blob)?;
    let files = std::mem::take(&mut tags.files);
    Ok(super::raw_package(&tags).map(|p| (p, files)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob with the given (tag, type, data) entries, in that order.
    fn build(entries: &[(i32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, typ, data) in entries {
            if *typ == TYPE_INT32 {
                while store.len() % 4 != 0 {
                    store.push(0);
                }
            }
            let count: u32 = match *typ {
                TYPE_INT32 => u32::try_from(data.len() / 4).unwrap(),
                TYPE_STRING_ARRAY => {
                    u32::try_from(data.iter().filter(|&&b| b == 0).count()).unwrap()
                }
                _ => 1,
            };
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&typ.to_be_bytes());
            index.extend_from_slice(&i32::try_from(store.len()).unwrap().to_be_bytes());
            index.extend_from_slice(&count.to_be_bytes());
            store.extend_from_slice(data);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&u32::try_from(entries.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(&u32::try_from(store.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&store);
        blob
    }

    fn s(v: &str) -> Vec<u8> {
        let mut b = v.as_bytes().to_vec();
        b.push(0);
        b
    }

    fn sample() -> Vec<u8> {
        build(&[
            // A region tag first, as rpm writes it; its data is not read.
            (63, 7, vec![0; 16]),
            (TAG_NAME, TYPE_STRING, s("openssl-libs")),
            (TAG_VERSION, TYPE_STRING, s("3.0.7")),
            (TAG_RELEASE, TYPE_STRING, s("27.el9")),
            (1004, TYPE_I18NSTRING, s("A summary")),
            (TAG_EPOCH, TYPE_INT32, 1u32.to_be_bytes().to_vec()),
            (TAG_LICENSE, TYPE_STRING, s("Apache-2.0")),
            (TAG_ARCH, TYPE_STRING, s("x86_64")),
            (
                TAG_SOURCERPM,
                TYPE_STRING,
                s("openssl-3.0.7-27.el9.src.rpm"),
            ),
        ])
    }

    #[test]
    fn parses_tags() {
        let t = parse(&sample()).unwrap();
        assert_eq!(t.name.as_deref(), Some("openssl-libs"));
        assert_eq!(t.version.as_deref(), Some("3.0.7"));
        assert_eq!(t.release.as_deref(), Some("27.el9"));
        assert_eq!(t.epoch, Some(1));
        assert_eq!(t.arch.as_deref(), Some("x86_64"));
        assert_eq!(t.license.as_deref(), Some("Apache-2.0"));
        assert_eq!(
            t.source_rpm.as_deref(),
            Some("openssl-3.0.7-27.el9.src.rpm")
        );
        let p = package(&sample()).unwrap().unwrap();
        assert_eq!(p.kind, "rpm");
        assert_eq!(p.name, "openssl-libs");
        assert_eq!(p.version, "1:3.0.7-27.el9");
        assert_eq!(p.epoch, Some(1));
        assert_eq!(p.source_name.as_deref(), Some("openssl"));
        assert_eq!(p.source_version.as_deref(), Some("3.0.7-27.el9"));
    }

    #[test]
    fn no_epoch_and_no_name() {
        let b = build(&[
            (TAG_NAME, TYPE_STRING, s("bash")),
            (TAG_VERSION, TYPE_STRING, s("5.1.8")),
            (TAG_RELEASE, TYPE_STRING, s("9.el9")),
        ]);
        let p = package(&b).unwrap().unwrap();
        assert_eq!(p.version, "5.1.8-9.el9");
        assert_eq!(p.epoch, None);
        let b = build(&[(TAG_VERSION, TYPE_STRING, s("1"))]);
        assert!(package(&b).unwrap().is_none());
        assert!(package(&build(&[])).unwrap().is_none());
    }

    #[test]
    fn later_entries_override() {
        let b = build(&[
            (TAG_NAME, TYPE_STRING, s("old")),
            (TAG_VERSION, TYPE_STRING, s("1")),
            (TAG_NAME, TYPE_STRING, s("new")),
        ]);
        assert_eq!(parse(&b).unwrap().name.as_deref(), Some("new"));
    }

    #[test]
    fn wrong_types_are_ignored() {
        let b = build(&[
            (TAG_NAME, TYPE_INT32, vec![0, 0, 0, 1]),
            (TAG_EPOCH, TYPE_STRING, s("3")),
        ]);
        let t = parse(&b).unwrap();
        assert!(t.name.is_none());
        assert!(t.epoch.is_none());
    }

    #[test]
    fn broken_blobs_are_errors() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[0, 0, 0]).is_err());
        // Huge counts are refused before anything is allocated or indexed.
        assert!(parse(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        assert!(parse(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[0, 0, 0, 1, 0, 0, 0, 0]).is_err());
        // Offset past the data store, or negative.
        for off in [1000i32, -1, i32::MIN, i32::MAX] {
            let mut b = build(&[(TAG_NAME, TYPE_STRING, s("x"))]);
            b[16..20].copy_from_slice(&off.to_be_bytes());
            assert!(parse(&b).is_err(), "offset {off}");
        }
        // Unterminated string.
        let b = build(&[(TAG_NAME, TYPE_STRING, b"abc".to_vec())]);
        assert!(parse(&b).is_err());
        // INT32 whose 4 bytes run past the store.
        let mut b = build(&[(TAG_EPOCH, TYPE_INT32, vec![0, 0, 0, 1])]);
        b[16..20].copy_from_slice(&2i32.to_be_bytes());
        assert!(parse(&b).is_err());
    }

    /// NUL-terminated strings back to back, as a string array stores them.
    fn sa(v: &[&str]) -> Vec<u8> {
        v.iter().flat_map(|x| s(x)).collect()
    }

    fn ints(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_be_bytes()).collect()
    }

    fn with_files() -> Vec<u8> {
        let mut e = vec![
            (TAG_NAME, TYPE_STRING, s("python3-six")),
            (TAG_VERSION, TYPE_STRING, s("1.16.0")),
            (TAG_ARCH, TYPE_STRING, s("noarch")),
        ];
        e.push((
            TAG_BASENAMES,
            TYPE_STRING_ARRAY,
            sa(&[
                "six-1.16.0.dist-info",
                "METADATA",
                "RECORD",
                "six.py",
                "x.egg-info",
            ]),
        ));
        e.push((
            TAG_DIRNAMES,
            TYPE_STRING_ARRAY,
            sa(&[
                "/usr/lib/python3.12/site-packages/",
                "/usr/lib/python3.12/site-packages/six-1.16.0.dist-info/",
                "/../",
            ]),
        ));
        e.push((TAG_DIRINDEXES, TYPE_INT32, ints(&[0, 1, 1, 0, 2])));
        build(&e)
    }

    /// The header with its file-list entry `tag` given `count` (the data stays).
    fn set_count(mut b: Vec<u8>, tag: i32, count: u32) -> Vec<u8> {
        let il = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        for i in 0..il {
            let at = 8 + i * ENTRY;
            if b[at..at + 4] == tag.to_be_bytes() {
                b[at + 12..at + 16].copy_from_slice(&count.to_be_bytes());
            }
        }
        b
    }

    #[test]
    fn owned_files_are_the_language_ones() {
        let (p, files) = package_and_files(&with_files()).unwrap().unwrap();
        assert_eq!(p.name, "python3-six");
        assert_eq!(
            files,
            [
                "usr/lib/python3.12/site-packages/six-1.16.0.dist-info",
                "usr/lib/python3.12/site-packages/six-1.16.0.dist-info/METADATA",
            ]
        );
        // Old headers: one array of full paths.
        let b = build(&[
            (TAG_NAME, TYPE_STRING, s("old")),
            (TAG_VERSION, TYPE_STRING, s("1")),
            (
                TAG_OLDFILENAMES,
                TYPE_STRING_ARRAY,
                sa(&["/usr/lib/python2.4/site-packages/a.egg-info", "/usr/bin/a"]),
            ),
        ]);
        assert_eq!(
            parse(&b).unwrap().files,
            ["usr/lib/python2.4/site-packages/a.egg-info"]
        );
        // No file tags: nothing owned.
        assert!(parse(&sample()).unwrap().files.is_empty());
    }

    #[test]
    fn broken_file_lists_keep_the_package() {
        let good = with_files();
        // Counts that disagree, or claim more strings / indexes than the store holds.
        for (tag, count) in [
            (TAG_DIRINDEXES, 4),
            (TAG_DIRINDEXES, u32::MAX),
            (TAG_BASENAMES, 6),
            (TAG_BASENAMES, u32::MAX),
            (TAG_DIRNAMES, 2),
            (TAG_DIRNAMES, u32::MAX),
        ] {
            let b = set_count(good.clone(), tag, count);
            let t = parse(&b).unwrap();
            assert_eq!(t.name.as_deref(), Some("python3-six"), "{tag} {count}");
            if (tag, count) == (TAG_DIRNAMES, 2) {
                // Index 2 ("/../") is then out of range.
                assert!(t.files.is_empty());
            } else if tag != TAG_DIRNAMES {
                assert!(t.files.is_empty(), "{tag} {count}");
            }
        }
        // A directory index past the directory list.
        let b = build(&[
            (TAG_NAME, TYPE_STRING, s("x")),
            (TAG_VERSION, TYPE_STRING, s("1")),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, sa(&["a.egg-info"])),
            (TAG_DIRNAMES, TYPE_STRING_ARRAY, sa(&["/"])),
            (TAG_DIRINDEXES, TYPE_INT32, ints(&[7])),
        ]);
        let t = parse(&b).unwrap();
        assert_eq!(t.name.as_deref(), Some("x"));
        assert!(t.files.is_empty());
        // Wrong types.
        let b = build(&[
            (TAG_NAME, TYPE_STRING, s("x")),
            (TAG_VERSION, TYPE_STRING, s("1")),
            (TAG_BASENAMES, TYPE_INT32, ints(&[0])),
            (TAG_DIRNAMES, TYPE_STRING_ARRAY, sa(&["/a.egg-info/"])),
            (TAG_DIRINDEXES, TYPE_STRING, s("0")),
        ]);
        assert!(parse(&b).unwrap().files.is_empty());
    }

    #[test]
    fn every_truncation_and_byte_flip_of_a_file_list_is_handled() {
        let good = with_files();
        for n in 0..good.len() {
            assert!(parse(&good[..n]).is_err(), "truncated to {n}");
        }
        for i in 0..good.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                if let Ok(t) = parse(&b) {
                    assert!(t.files.len() <= 5);
                }
            }
        }
    }

    #[test]
    fn every_truncation_and_byte_flip_is_handled() {
        let good = sample();
        for n in 0..good.len() {
            // Must not panic; a truncated blob is always an error.
            assert!(parse(&good[..n]).is_err(), "truncated to {n}");
        }
        for i in 0..good.len() {
            for v in [0x00, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = parse(&b);
            }
        }
    }
}
