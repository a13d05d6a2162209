//! RPM header blobs as stored in the rpmdb: `il` and `dl` (big-endian u32), `il` index entries of
//! 16 bytes (tag, type, offset, count), then `dl` bytes of data. Every offset is bounds-checked: the
//! blob comes from a hostile layer.
//!
//! A header written by rpm starts with a region tag (61-63) whose data is a trailer describing the
//! entries that were signed/immutable; entries after the region ("dribbles", added at install time)
//! replace region entries with the same tag. We only read a handful of plain tags, so we scan every
//! index entry and let a later entry override an earlier one, which gives the same answer.

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
    for e in index.chunks_exact(ENTRY) {
        let tag = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let typ = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        let offset = i32::from_be_bytes([e[8], e[9], e[10], e[11]]);
        let count = u32::from_be_bytes([e[12], e[13], e[14], e[15]]);
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
    Ok(tags)
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
            let count: u32 = if *typ == TYPE_INT32 {
                u32::try_from(data.len() / 4).unwrap()
            } else {
                1
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
