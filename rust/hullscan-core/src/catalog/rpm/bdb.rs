//! rpmdb backend: Berkeley DB hash-format `Packages` (CentOS/RHEL 7, Amazon Linux 2). Returns the
//! header blobs stored in the database file.
//!
//! Layout: page 0 is the hash metadata page (magic 0x061561 at offset 12, in the byte order of the
//! machine that wrote it; page size at 20; last page number at 32). Every page starts with a 26-byte
//! header (page number at 8, next page at 16, entry count at 20, `hf_offset` at 22, type at 25).
//! Hash pages hold an array of u16 item offsets after the header; items come in key/data pairs. rpm
//! stores each header under a 4-byte instance number, normally in an overflow chain the data item
//! points to (`H_OFFPAGE`: page number and total length); the chain's pages hold `hf_offset` bytes
//! each after their header. Instance 0 holds rpm's instance counter, not a header.
//!
//! We walk every page rather than the hash buckets, and bound everything: page numbers, chain
//! lengths and loops, and the total size of what we return.

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER: usize = 26;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

struct Db<'a> {
    data: &'a [u8],
    order: Order,
    page_size: usize,
    pages: usize,
}

impl<'a> Db<'a> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        let b = [b[0], b[1]];
        Some(match self.order {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(match self.order {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        })
    }

    /// The bytes of page `n`, when it is inside the file.
    fn page(&self, n: usize) -> Option<&'a [u8]> {
        if n >= self.pages {
            return None;
        }
        let start = n * self.page_size;
        self.data.get(start..start + self.page_size)
    }

    /// Follow the overflow chain starting at `pgno` and collect exactly `total` bytes, refusing
    /// items larger than `limit`.
    fn overflow(&self, pgno: u32, total: u32, limit: usize) -> Result<Vec<u8>, String> {
        let total = usize::try_from(total).map_err(|_| "bdb: overflow length overflows")?;
        if total > limit {
            return Err(format!(
                "bdb: overflow item of {total} bytes is more than the rest of the file holds"
            ));
        }
        let mut out = Vec::with_capacity(total);
        let mut next = pgno;
        // A chain visits each page at most once, so it has at most `pages` links.
        let mut budget = self.pages;
        while out.len() < total {
            let n = usize::try_from(next).map_err(|_| "bdb: page number overflows")?;
            if n == 0 {
                return Err(format!(
                    "bdb: overflow chain ends after {} of {total} bytes",
                    out.len()
                ));
            }
            if budget == 0 {
                return Err("bdb: overflow chain loops".into());
            }
            budget -= 1;
            let page = self
                .page(n)
                .ok_or_else(|| format!("bdb: overflow page {n} is outside the file"))?;
            if page[25] != P_OVERFLOW {
                return Err(format!(
                    "bdb: page {n} in an overflow chain has type {}",
                    page[25]
                ));
            }
            let base = n * self.page_size;
            let used = usize::from(self.u16_at(base + 22).unwrap_or(0));
            let chunk = page
                .get(PAGE_HEADER..PAGE_HEADER + used)
                .ok_or_else(|| format!("bdb: overflow page {n} claims {used} bytes"))?;
            if chunk.is_empty() {
                return Err(format!("bdb: overflow page {n} is empty"));
            }
            let want = (total - out.len()).min(chunk.len());
            out.extend_from_slice(&chunk[..want]);
            next = self.u32_at(base + 16).unwrap_or(0);
        }
        Ok(out)
    }
}

/// Every header blob in the database.
///
/// # Errors
/// A message when the file is not a readable database of this kind.
pub fn header_blobs(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if data.len() < 512 {
        return Err("bdb: file is too short for a Berkeley DB database".into());
    }
    let magic_le = u32::from_le_bytes([data[12], data[13], data[14], data[15]]);
    let magic_be = u32::from_be_bytes([data[12], data[13], data[14], data[15]]);
    let order = if magic_le == HASH_MAGIC {
        Order::Little
    } else if magic_be == HASH_MAGIC {
        Order::Big
    } else if magic_le == BTREE_MAGIC || magic_be == BTREE_MAGIC {
        return Err("bdb: a btree database, not the hash database rpm writes".into());
    } else {
        return Err("bdb: not a Berkeley DB hash database (bad magic)".into());
    };
    let mut db = Db {
        data,
        order,
        page_size: 0,
        pages: 0,
    };
    let page_size = db.u32_at(20).unwrap_or(0);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("bdb: implausible page size {page_size}"));
    }
    if data[24] != 0 {
        return Err("bdb: encrypted databases are not supported".into());
    }
    if data[25] != P_HASHMETA {
        return Err(format!(
            "bdb: page 0 has type {}, not a hash metadata page",
            data[25]
        ));
    }
    let page_size = page_size as usize;
    let claimed = (db.u32_at(32).unwrap_or(0) as usize).saturating_add(1);
    let held = data.len() / page_size;
    if held < claimed {
        return Err(format!(
            "bdb: truncated: the metadata names {claimed} pages of {page_size} bytes, the file holds {held}"
        ));
    }
    db.page_size = page_size;
    db.pages = claimed;

    let mut blobs = Vec::new();
    let mut returned = 0usize;
    for n in 1..db.pages {
        let Some(page) = db.page(n) else { break };
        if !matches!(page[25], P_HASH | P_HASH_UNSORTED) {
            continue;
        }
        let base = n * page_size;
        let entries = usize::from(db.u16_at(base + 20).unwrap_or(0));
        if PAGE_HEADER + entries * 2 > page_size {
            return Err(format!("bdb: hash page {n} claims {entries} entries"));
        }
        let offsets: Vec<usize> = (0..entries)
            .map(|i| usize::from(db.u16_at(base + PAGE_HEADER + i * 2).unwrap_or(0)))
            .collect();
        // An item runs from its offset to the previous item's (items are packed from the end).
        let item = |i: usize| -> Result<&[u8], String> {
            let start = offsets[i];
            let end = if i == 0 { page_size } else { offsets[i - 1] };
            if start < PAGE_HEADER + entries * 2 || start >= end || end > page_size {
                return Err(format!("bdb: hash page {n} item {i} has a bad offset"));
            }
            Ok(&page[start..end])
        };
        for pair in (0..entries / 2).map(|k| (2 * k, 2 * k + 1)) {
            let key = item(pair.0)?;
            let value = item(pair.1)?;
            let blob = match value[0] {
                H_OFFPAGE => {
                    let v = value
                        .get(..12)
                        .ok_or_else(|| format!("bdb: hash page {n} has a short off-page item"))?;
                    let rd = |at: usize| {
                        let b = [v[at], v[at + 1], v[at + 2], v[at + 3]];
                        match order {
                            Order::Little => u32::from_le_bytes(b),
                            Order::Big => u32::from_be_bytes(b),
                        }
                    };
                    db.overflow(rd(4), rd(8), data.len() - returned)?
                }
                H_KEYDATA => {
                    // Instance 0 is rpm's counter of instances, not a header.
                    let key = &key[1..];
                    if key.iter().all(|&b| b == 0) {
                        continue;
                    }
                    value[1..].to_vec()
                }
                _ => continue,
            };
            returned += blob.len();
            if returned > data.len() {
                return Err("bdb: items add up to more than the file holds".into());
            }
            blobs.push(blob);
        }
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a hash database in memory, in either byte order.
    struct Builder {
        big: bool,
        page_size: usize,
        pages: Vec<Vec<u8>>,
    }

    impl Builder {
        fn new(big: bool, page_size: usize) -> Self {
            let mut b = Builder {
                big,
                page_size,
                pages: Vec::new(),
            };
            let mut meta = b.blank(0, P_HASHMETA);
            b.put32(&mut meta, 12, HASH_MAGIC);
            b.put32(&mut meta, 16, 9);
            b.put32(&mut meta, 20, u32::try_from(page_size).unwrap());
            b.pages.push(meta);
            b
        }

        fn put16(&self, p: &mut [u8], at: usize, v: u16) {
            let b = if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            p[at..at + 2].copy_from_slice(&b);
        }

        fn put32(&self, p: &mut [u8], at: usize, v: u32) {
            let b = if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            p[at..at + 4].copy_from_slice(&b);
        }

        fn blank(&self, n: usize, typ: u8) -> Vec<u8> {
            let mut p = vec![0u8; self.page_size];
            self.put32(&mut p, 8, u32::try_from(n).unwrap());
            p[25] = typ;
            p
        }

        /// Store `blob` in an overflow chain; returns its first page.
        fn overflow(&mut self, blob: &[u8]) -> u32 {
            let room = self.page_size - PAGE_HEADER;
            let first = self.pages.len();
            let chunks: Vec<&[u8]> = blob.chunks(room).collect();
            for (i, c) in chunks.iter().enumerate() {
                let n = self.pages.len();
                let mut p = self.blank(n, P_OVERFLOW);
                let next = if i + 1 < chunks.len() { n + 1 } else { 0 };
                self.put32(&mut p, 16, u32::try_from(next).unwrap());
                self.put16(&mut p, 22, u16::try_from(c.len()).unwrap());
                p[PAGE_HEADER..PAGE_HEADER + c.len()].copy_from_slice(c);
                self.pages.push(p);
            }
            u32::try_from(first).unwrap()
        }

        /// A hash page holding the given items (each with its type byte).
        fn hash_page(&mut self, items: &[Vec<u8>]) -> usize {
            let n = self.pages.len();
            let mut p = self.blank(n, P_HASH);
            let mut end = self.page_size;
            for (i, it) in items.iter().enumerate() {
                let start = end - it.len();
                p[start..end].copy_from_slice(it);
                self.put16(&mut p, PAGE_HEADER + 2 * i, u16::try_from(start).unwrap());
                end = start;
            }
            self.put16(&mut p, 20, u16::try_from(items.len()).unwrap());
            self.put16(&mut p, 22, u16::try_from(end).unwrap());
            self.pages.push(p);
            n
        }

        fn key(&self, k: u32) -> Vec<u8> {
            let mut v = vec![H_KEYDATA];
            v.extend_from_slice(&if self.big {
                k.to_be_bytes()
            } else {
                k.to_le_bytes()
            });
            v
        }

        fn offpage(&self, pgno: u32, len: usize) -> Vec<u8> {
            let mut v = vec![H_OFFPAGE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            self.put32(&mut v, 4, pgno);
            self.put32(&mut v, 8, u32::try_from(len).unwrap());
            v
        }

        fn finish(mut self) -> Vec<u8> {
            let last = u32::try_from(self.pages.len() - 1).unwrap();
            let mut meta = std::mem::take(&mut self.pages[0]);
            self.put32(&mut meta, 32, last);
            self.pages[0] = meta;
            self.pages.concat()
        }
    }

    fn blob(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap()))
            .collect()
    }

    /// A database with the instance counter, two overflowed blobs and one inline blob.
    fn sample(big: bool) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut b = Builder::new(big, 512);
        let blobs = vec![blob(1, 1500), blob(2, 486), blob(3, 40)];
        let p1 = b.overflow(&blobs[0]);
        let p2 = b.overflow(&blobs[1]);
        let items = vec![
            b.key(0),
            {
                let mut v = vec![H_KEYDATA];
                v.extend_from_slice(&[3, 0, 0, 0]);
                v
            },
            b.key(1),
            b.offpage(p1, blobs[0].len()),
            b.key(2),
            b.offpage(p2, blobs[1].len()),
            b.key(3),
            {
                let mut v = vec![H_KEYDATA];
                v.extend_from_slice(&blobs[2]);
                v
            },
        ];
        b.hash_page(&items);
        (b.finish(), blobs)
    }

    #[test]
    fn reads_both_byte_orders() {
        for big in [false, true] {
            let (db, blobs) = sample(big);
            assert_eq!(header_blobs(&db).unwrap(), blobs, "big-endian: {big}");
        }
    }

    #[test]
    fn rejects_other_files() {
        assert!(header_blobs(b"").is_err());
        assert!(header_blobs(&[0u8; 4096]).is_err());
        let (mut db, _) = sample(false);
        db[12..16].copy_from_slice(&BTREE_MAGIC.to_le_bytes());
        assert!(header_blobs(&db).unwrap_err().contains("btree"));
        let (mut db, _) = sample(false);
        db[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(header_blobs(&db).is_err());
        let (db, _) = sample(false);
        assert!(header_blobs(&db[..db.len() - 512])
            .unwrap_err()
            .contains("truncated"));
    }

    #[test]
    fn overflow_loops_and_bad_lengths_are_errors() {
        // Point the last page of a chain back at its first page, and claim a length that needs
        // more pages than the chain has (but fits in the file).
        let mut b = Builder::new(false, 512);
        let first = b.overflow(&blob(9, 1400));
        let last = b.pages.len() - 1;
        let mut p = std::mem::take(&mut b.pages[last]);
        b.put32(&mut p, 16, first);
        b.pages[last] = p;
        let items = vec![b.key(1), b.offpage(first, 2500)];
        b.hash_page(&items);
        assert!(header_blobs(&b.finish()).unwrap_err().contains("loops"));

        // A page that points at itself and holds nothing.
        let mut b = Builder::new(false, 512);
        let first = b.overflow(&blob(9, 10));
        let mut p = std::mem::take(&mut b.pages[1]);
        b.put32(&mut p, 16, first);
        b.put16(&mut p, 22, 0);
        b.pages[1] = p;
        let items = vec![b.key(1), b.offpage(first, 10)];
        b.hash_page(&items);
        assert!(header_blobs(&b.finish()).unwrap_err().contains("empty"));

        // Longer than the file.
        let mut b = Builder::new(false, 512);
        let first = b.overflow(&blob(9, 10));
        let items = vec![b.key(1), b.offpage(first, 100_000)];
        b.hash_page(&items);
        assert!(header_blobs(&b.finish()).is_err());

        let mut b = Builder::new(false, 512);
        let items = vec![b.key(1), b.offpage(77, 10)];
        b.hash_page(&items);
        assert!(header_blobs(&b.finish()).unwrap_err().contains("outside"));

        let mut b = Builder::new(false, 512);
        let items = vec![b.key(1), b.offpage(1, 10)];
        b.hash_page(&items);
        assert!(header_blobs(&b.finish()).unwrap_err().contains("type"));
    }

    #[test]
    fn shared_chains_cannot_multiply_memory() {
        let mut b = Builder::new(false, 4096);
        let chain = b.overflow(&blob(5, 3000));
        let items: Vec<Vec<u8>> = (0..40)
            .flat_map(|k| [b.key(k + 1), b.offpage(chain, 3000)])
            .collect();
        b.hash_page(&items);
        assert!(header_blobs(&b.finish()).is_err());
    }

    #[test]
    fn every_truncation_and_byte_flip_is_handled() {
        let (good, _) = sample(false);
        for n in (0..good.len()).step_by(7) {
            let _ = header_blobs(&good[..n]);
        }
        for i in 0..good.len() {
            for v in [0x00, 0x01, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = header_blobs(&b);
            }
        }
    }
}
