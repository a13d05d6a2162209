//! rpmdb backend: `rpmdb.sqlite` (RHEL 9, Fedora, Amazon Linux 2023). Returns the header blobs of
//! the `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)` table.
//!
//! The file is read in memory by a small reader of the SQLite file format
//! (<https://www.sqlite.org/fileformat2.html>) rather than by the SQLite library: rusqlite 0.32 can
//! only deserialize a database from a buffer allocated by `sqlite3_malloc` (`OwnedData` has no safe
//! constructor), which needs `unsafe`, and writing the layer's bytes to a temporary file is what
//! this module exists to avoid. We only need one table of a database rpm wrote, so the reader walks
//! table b-trees: the schema on page 1 to find the `Packages` root page, then that tree's leaf cells,
//! with their overflow chains. Only the main file is read (a `-wal` file next to it is not: rpm
//! checkpoints on close). Everything is bounded: page numbers, tree cycles, overflow chains, and the
//! total size of the records we return.

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

const INTERIOR_TABLE: u8 = 0x05;
const LEAF_TABLE: u8 = 0x0d;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: usize,
    encoding: Encoding,
}

/// One value of a record, as far as we need them.
#[derive(Debug, PartialEq)]
enum Value<'r> {
    Null,
    Int(i64),
    Other,
    Blob(&'r [u8]),
    Text(&'r [u8]),
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes([s[0], s[1]])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// A SQLite varint at `at`: its value and length.
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(at.checked_add(i)?)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(byte), 9));
        }
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

impl<'a> Db<'a> {
    fn open(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 100 || &data[..16] != MAGIC {
            return Err("sqlite: not an SQLite 3 database".into());
        }
        let page_size = match be16(data, 16).unwrap_or(0) {
            1 => 65536,
            n => n,
        };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("sqlite: implausible page size {page_size}"));
        }
        let usable = page_size - usize::from(data[20]);
        if usable < 480 {
            return Err("sqlite: implausible reserved space per page".into());
        }
        let encoding = match be32(data, 56).unwrap_or(0) {
            0 | 1 => Encoding::Utf8,
            2 => Encoding::Utf16Le,
            3 => Encoding::Utf16Be,
            e => return Err(format!("sqlite: unknown text encoding {e}")),
        };
        let held = data.len() / page_size;
        // The in-header page count is valid when "version-valid-for" matches the change counter.
        let claimed = be32(data, 28).unwrap_or(0) as usize;
        let pages = if claimed != 0 && be32(data, 92) == be32(data, 24) {
            if held < claimed {
                return Err(format!(
                    "sqlite: truncated: the header names {claimed} pages of {page_size} bytes, the file holds {held}"
                ));
            }
            claimed
        } else {
            held
        };
        Ok(Db {
            data,
            page_size,
            usable,
            pages,
            encoding,
        })
    }

    /// Page `n` (numbered from 1), when it is inside the file.
    fn page(&self, n: u32) -> Result<&'a [u8], String> {
        let i = usize::try_from(n).map_err(|_| "sqlite: page number overflows")?;
        if i == 0 || i > self.pages {
            return Err(format!("sqlite: page {n} is outside the file"));
        }
        let start = (i - 1) * self.page_size;
        Ok(&self.data[start..start + self.usable])
    }

    /// Call `f` with the full payload of every cell of the table b-tree rooted at `root`.
    /// `limit` bounds the total payload bytes handed out.
    fn walk_table(
        &self,
        root: u32,
        limit: &mut usize,
        mut f: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut seen = vec![false; self.pages + 1];
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            let page = self.page(n)?;
            let seen_slot = &mut seen[n as usize];
            if *seen_slot {
                return Err(format!("sqlite: page {n} is reached twice in a b-tree"));
            }
            *seen_slot = true;
            let h = if n == 1 { 100 } else { 0 };
            let kind = *page.get(h).ok_or("sqlite: page too short")?;
            let cells = be16(page, h + 3).ok_or("sqlite: page too short")?;
            let header = match kind {
                LEAF_TABLE => 8,
                INTERIOR_TABLE => 12,
                k => {
                    return Err(format!(
                        "sqlite: page {n} has type {k:#x}, not a table b-tree page"
                    ))
                }
            };
            let ptrs = h + header;
            if ptrs + 2 * cells > page.len() {
                return Err(format!("sqlite: page {n} claims {cells} cells"));
            }
            let cell_at = |i: usize| -> Result<usize, String> {
                let off = be16(page, ptrs + 2 * i).unwrap_or(0);
                if off < ptrs + 2 * cells || off >= page.len() {
                    return Err(format!("sqlite: page {n} cell {i} has a bad offset"));
                }
                Ok(off)
            };
            if kind == INTERIOR_TABLE {
                // Push right-most child first so children are visited left to right.
                stack.push(be32(page, h + 8).ok_or("sqlite: page too short")?);
                for i in (0..cells).rev() {
                    let off = cell_at(i)?;
                    stack.push(be32(page, off).ok_or("sqlite: truncated interior cell")?);
                }
                continue;
            }
            for i in 0..cells {
                let off = cell_at(i)?;
                let payload = self.payload(page, off, limit)?;
                f(&payload)?;
            }
        }
        Ok(())
    }

    /// The whole payload of the table leaf cell at `off`, following its overflow chain.
    fn payload(&self, page: &[u8], off: usize, limit: &mut usize) -> Result<Vec<u8>, String> {
        let bad = || "sqlite: truncated leaf cell".to_string();
        let (size, a) = varint(page, off).ok_or_else(bad)?;
        let (_rowid, b) = varint(page, off + a).ok_or_else(bad)?;
        let start = off + a + b;
        let size = usize::try_from(size).map_err(|_| "sqlite: payload size overflows")?;
        if size > *limit {
            return Err(format!(
                "sqlite: a record of {size} bytes is more than the rest of the file holds"
            ));
        }
        *limit -= size;
        // How much of the payload is on the page itself (file format, "Cell Payload Overflow").
        let u = self.usable;
        let x = u - 35;
        let local = if size <= x {
            size
        } else {
            let m = ((u - 12) * 32 / 255) - 23;
            let k = m + ((size - m) % (u - 4));
            if k <= x {
                k
            } else {
                m
            }
        };
        let here = page.get(start..start + local).ok_or_else(bad)?;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(here);
        if local == size {
            return Ok(out);
        }
        let mut next = be32(page, start + local).ok_or_else(bad)?;
        // Each overflow page carries usable - 4 > 0 bytes, so the chain is at most `pages` long.
        let mut budget = self.pages;
        while out.len() < size {
            if next == 0 || budget == 0 {
                return Err("sqlite: overflow chain is shorter than its record".into());
            }
            budget -= 1;
            let p = self.page(next)?;
            let want = (size - out.len()).min(u - 4);
            out.extend_from_slice(&p[4..4 + want]);
            next = be32(p, 0).unwrap_or(0);
        }
        Ok(out)
    }

    fn text(&self, t: &[u8]) -> String {
        let units = |be: bool| {
            t.chunks_exact(2)
                .map(move |c| {
                    if be {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect::<Vec<u16>>()
        };
        match self.encoding {
            Encoding::Utf8 => String::from_utf8_lossy(t).into_owned(),
            Encoding::Utf16Le => String::from_utf16_lossy(&units(false)),
            Encoding::Utf16Be => String::from_utf16_lossy(&units(true)),
        }
    }
}

/// The values of a record (file format, "Record Format").
fn record(payload: &[u8]) -> Result<Vec<Value<'_>>, String> {
    let bad = || "sqlite: malformed record".to_string();
    let (hsize, mut at) = varint(payload, 0).ok_or_else(bad)?;
    let hsize = usize::try_from(hsize).map_err(|_| bad())?;
    if hsize > payload.len() || hsize < at {
        return Err(bad());
    }
    let mut body = hsize;
    let mut values = Vec::new();
    while at < hsize {
        let (t, n) = varint(payload, at).ok_or_else(bad)?;
        at += n;
        let len = match t {
            0 | 8 | 9 => 0,
            1..=4 => usize::try_from(t).map_err(|_| bad())?,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(bad()),
            _ => usize::try_from((t - 12) / 2).map_err(|_| bad())?,
        };
        let end = body.checked_add(len).ok_or_else(bad)?;
        let v = payload.get(body..end).ok_or_else(bad)?;
        body = end;
        values.push(match t {
            0 => Value::Null,
            8 => Value::Int(0),
            9 => Value::Int(1),
            1..=6 => {
                // Big-endian two's complement of 1-8 bytes.
                let mut x: i64 = if v[0] & 0x80 != 0 { -1 } else { 0 };
                for &b in v {
                    x = (x << 8) | i64::from(b);
                }
                Value::Int(x)
            }
            7 => Value::Other,
            t if t % 2 == 0 => Value::Blob(v),
            _ => Value::Text(v),
        });
    }
    Ok(values)
}

/// Every header blob in the database.
///
/// # Errors
/// A message when the file is not a readable database of this kind.
pub fn header_blobs(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let db = Db::open(data)?;
    let mut limit = data.len();
    let mut root = None;
    db.walk_table(1, &mut limit, |payload| {
        let r = record(payload)?;
        if let (Some(Value::Text(t)), Some(Value::Text(name)), Some(Value::Int(page))) =
            (r.first(), r.get(1), r.get(3))
        {
            if db.text(t) == "table" && db.text(name).eq_ignore_ascii_case("Packages") {
                root = Some(*page);
            }
        }
        Ok(())
    })?;
    let root = root.ok_or("sqlite: no Packages table")?;
    let root = u32::try_from(root).map_err(|_| format!("sqlite: bad root page {root}"))?;
    let mut blobs = Vec::new();
    db.walk_table(root, &mut limit, |payload| {
        // Packages(hnum INTEGER PRIMARY KEY, blob BLOB): hnum is the rowid, stored as NULL.
        match record(payload)?.get(1) {
            Some(Value::Blob(b)) => {
                blobs.push(b.to_vec());
                Ok(())
            }
            _ => Err("sqlite: a Packages row without a blob".into()),
        }
    })?;
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, DatabaseName};

    /// A database built by SQLite itself, serialized to bytes, with `n` rows of varied blob sizes.
    fn build(page_size: u32, n: usize, size: impl Fn(usize) -> usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "PRAGMA page_size = {page_size};
             CREATE TABLE Other (x TEXT);
             INSERT INTO Other VALUES ('noise');
             CREATE TABLE IF NOT EXISTS 'Packages' (
                 hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS 'Name' ON 'Other' (x);"
        ))
        .unwrap();
        let mut blobs = Vec::new();
        for i in 0..n {
            let b: Vec<u8> = (0..size(i))
                .map(|j| u8::try_from((i * 7 + j) % 256).unwrap())
                .collect();
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [&b])
                .unwrap();
            blobs.push(b);
        }
        let bytes = conn.serialize(DatabaseName::Main).unwrap().to_vec();
        (bytes, blobs)
    }

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
    }

    #[test]
    fn matches_sqlite_small_and_large_rows() {
        for page_size in [512, 4096, 65536] {
            // Sizes around the overflow thresholds, empty blobs, and blobs over many pages.
            let (db, blobs) = build(page_size, 300, |i| match i % 6 {
                0 => 0,
                1 => 10 + i,
                2 => 470 + i % 40,
                3 => 4000 + i,
                4 => 70_000 + i,
                _ => 1500,
            });
            assert_eq!(header_blobs(&db).unwrap(), blobs, "page size {page_size}");
        }
    }

    #[test]
    fn empty_table_and_missing_table() {
        let (db, blobs) = build(4096, 0, |_| 0);
        assert!(blobs.is_empty());
        assert!(header_blobs(&db).unwrap().is_empty());
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE Nope (x)").unwrap();
        let bytes = conn.serialize(DatabaseName::Main).unwrap().to_vec();
        assert!(header_blobs(&bytes).unwrap_err().contains("no Packages"));
    }

    #[test]
    fn rejects_other_files() {
        assert!(header_blobs(b"").is_err());
        assert!(header_blobs(&[0u8; 8192]).is_err());
        let (mut db, _) = build(4096, 3, |_| 100);
        db[16] = 0x03; // page size 0x0300 = 768: not a power of two
        assert!(header_blobs(&db).is_err());
        let (db, _) = build(4096, 3, |_| 100);
        assert!(header_blobs(&db[..db.len() - 4096])
            .unwrap_err()
            .contains("truncated"));
    }

    #[test]
    fn every_truncation_and_byte_flip_is_handled() {
        let (good, blobs) = build(512, 12, |i| 100 + i * 300);
        assert_eq!(header_blobs(&good).unwrap(), blobs);
        for n in (0..good.len()).step_by(3) {
            let _ = header_blobs(&good[..n]);
        }
        for i in 0..good.len() {
            for v in [0x00, 0x01, 0x0d, 0x05, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = header_blobs(&b);
            }
        }
    }
}
