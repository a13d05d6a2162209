//! The compiled index: OSV semantics on keys, loading, damaged files.

use hullscan_core::index::{Builder, Index, Query};

fn q<'a>(ecosystem: &'a str, name: &'a str, version: &'a str) -> Query<'a> {
    Query {
        ecosystem,
        name,
        version,
    }
}

fn index(records: &[&str]) -> Index {
    let mut b = Builder::new();
    for r in records {
        b.add_json(r.as_bytes());
    }
    Index::from_bytes(b.finish()).unwrap()
}

const PYSEC: &str = r#"{"id":"PYSEC-1","aliases":["CVE-1"],"affected":[{"package":{"ecosystem":"PyPI","name":"Requests"},
  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.20.0"},{"introduced":"2.21.0"},{"last_affected":"2.22.0"}]}],
  "versions":["1.0.0"]}]}"#;
const WITHDRAWN: &str = r#"{"id":"PYSEC-2","withdrawn":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"requests"},
  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#;
const LIMITED: &str = r#"{"id":"X-3","affected":[{"package":{"ecosystem":"PyPI","name":"requests"},
  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"3.0"},{"limit":"3.5"}]},{"type":"GIT","events":[{"introduced":"abc"}]}]}]}"#;
const GO: &str = r#"{"id":"GO-1","affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/net"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.17.0"}]}]}]}"#;

fn ids(idx: &Index, query: Query<'_>) -> Vec<String> {
    let (hits, _) = idx.match_all(&[query]);
    let mut v: Vec<String> = hits
        .iter()
        .map(|h| {
            let d: serde_json::Value = serde_json::from_str(&idx.advisory(h.advisory)).unwrap();
            d["id"].as_str().unwrap().to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn osv_events() {
    let idx = index(&[PYSEC, WITHDRAWN, LIMITED, GO]);
    assert_eq!(ids(&idx, q("PyPI", "requests", "2.19.1")), ["PYSEC-1"]);
    assert!(ids(&idx, q("PyPI", "requests", "2.20.0")).is_empty());
    assert_eq!(ids(&idx, q("PyPI", "requests", "2.22.0")), ["PYSEC-1"]);
    assert!(ids(&idx, q("PyPI", "requests", "2.22.1")).is_empty());
    assert_eq!(ids(&idx, q("PyPI", "REQUESTS", "3.4")), ["X-3"]);
    assert!(ids(&idx, q("PyPI", "requests", "3.5")).is_empty());
    assert_eq!(ids(&idx, q("Go", "golang.org/x/net", "v0.16.0")), ["GO-1"]);
    assert!(ids(&idx, q("Go", "golang.org/x/net", "v0.17.0")).is_empty());
    assert!(ids(&idx, q("npm", "requests", "1.0.0")).is_empty());
    let (hits, _) = idx.match_all(&[q("PyPI", "requests", "2.19.1")]);
    assert_eq!(idx.fixed(&hits[0]), ["2.20.0"]);
    assert_eq!(idx.introduced(&hits[0]).as_deref(), Some("0"));
    assert_eq!(idx.closer(&hits[0]), Some((1, "2.20.0".to_string())));
    assert_eq!(hits[0].range_type, "ECOSYSTEM");
}

#[test]
fn listed_versions_and_invalid_query() {
    let idx = index(&[PYSEC]);
    // 1.0.0 is in the range too: the range explains it.
    let (hits, _) = idx.match_all(&[q("PyPI", "requests", "1.0")]);
    assert_eq!(hits.len(), 1);
    let (hits, warnings) = idx.match_all(&[q("PyPI", "requests", "not a version!")]);
    assert!(hits.is_empty());
    assert_eq!(warnings.len(), 1);
}

#[test]
fn damaged_index_is_an_error_not_a_panic() {
    let mut b = Builder::new();
    b.add_json(PYSEC.as_bytes());
    let good = b.finish();
    for cut in [0, 7, 40, 80, 96, good.len() / 2, good.len() - 1] {
        assert!(
            Index::from_bytes(good[..cut].to_vec()).is_err(),
            "cut {cut}"
        );
    }
    let mut flipped = good.clone();
    for i in (96..flipped.len()).step_by(7) {
        flipped[i] ^= 0xff;
    }
    if let Ok(idx) = Index::from_bytes(flipped) {
        let _ = idx.match_all(&[q("PyPI", "requests", "2.19.1")]);
        let _ = idx.advisory(0);
    }
}

const DEB: &str = r#"{"id":"DSA-1","aliases":["CVE-9"],"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]},
  {"package":{"ecosystem":"Debian:11","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#;

#[test]
fn distro_ecosystems_and_tilde() {
    let idx = index(&[DEB]);
    assert_eq!(
        ids(&idx, q("Debian:12", "openssl", "3.0.11-1~deb12u1")),
        ["DSA-1"]
    );
    assert!(ids(&idx, q("Debian:12", "openssl", "3.0.11-1~deb12u2")).is_empty());
    assert!(ids(&idx, q("Debian:12", "openssl", "3.0.11-1")).is_empty());
    let (hits, _) = idx.match_all(&[q("Debian:11", "openssl", "1.1.1w-0+deb11u1")]);
    assert_eq!(hits.len(), 1);
    assert!(idx.closer(&hits[0]).is_none());
    assert!(idx.fixed(&hits[0]).is_empty());
    assert!(ids(&idx, q("Debian:13", "openssl", "1.0-1")).is_empty());
}

#[test]
fn ceilings_and_older_formats() {
    // A package whose every range is closed: versions above the highest fix or listed version
    // are decided by the ceiling; the listed version itself still matches.
    const CLOSED: &str = r#"{"id":"C-1","affected":[{"package":{"ecosystem":"PyPI","name":"flask"},
      "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"fixed":"1.1"}]}],"versions":["2.5"]}]}"#;
    let idx = index(&[CLOSED, PYSEC]);
    assert_eq!(ids(&idx, q("PyPI", "flask", "2.5")), ["C-1"]);
    assert_eq!(ids(&idx, q("PyPI", "Flask", "1.0.5")), ["C-1"]);
    assert!(ids(&idx, q("PyPI", "flask", "2.6")).is_empty());
    let (hits, warnings) = idx.match_all(&[q("PyPI", "flask", "not a version!")]);
    assert!(hits.is_empty());
    assert_eq!(warnings.len(), 1);
    let (hits, _) = idx.match_all(&[q("PyPI", "flask", "2.5")]);
    assert_eq!(idx.listed(&hits[0]).as_deref(), Some("2.5"));
    // An index written by an older format is refused with a message that says so.
    let mut b = Builder::new();
    b.add_json(PYSEC.as_bytes());
    let mut old = b.finish();
    old[7] = 1;
    let err = Index::from_bytes(old).err().unwrap().to_string();
    assert!(err.contains("format version 1"), "{err}");
}

#[test]
fn many_packages_through_the_hash_table() {
    let records: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                r#"{{"id":"N-{i}","affected":[{{"package":{{"ecosystem":"npm","name":"pkg-{i}"}},
                "ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"1.0.{i}"}}]}}]}}]}}"#
            )
        })
        .collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    let idx = index(&refs);
    let names: Vec<String> = (0..5000).map(|i| format!("pkg-{i}")).collect();
    let queries: Vec<Query<'_>> = names.iter().map(|n| q("npm", n, "1.0.0")).collect();
    let (hits, _) = idx.match_all(&queries);
    // 1.0.0 < 1.0.i for every i >= 1.
    assert_eq!(hits.len(), 4999);
    assert!(ids(&idx, q("npm", "pkg-5000", "0.0.1")).is_empty());
}

#[test]
fn load_maps_the_file_and_checks_it() {
    let dir = std::env::temp_dir().join(format!("hullscan-index-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut b = Builder::new();
    b.add_json(PYSEC.as_bytes());
    let good = b.finish();
    let path = dir.join("index.bin");
    std::fs::write(&path, &good).unwrap();
    let idx = Index::load(&path).unwrap();
    assert_eq!(ids(&idx, q("PyPI", "requests", "2.19.1")), ["PYSEC-1"]);
    // Replacing the file (as the database does: a new file renamed into place) leaves the loaded
    // index intact.
    let tmp = dir.join("index.bin.tmp");
    std::fs::write(&tmp, b"not an index").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert_eq!(ids(&idx, q("PyPI", "requests", "2.19.1")), ["PYSEC-1"]);
    assert!(Index::load(&path).is_err());
    for cut in [0, 10, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).unwrap();
        assert!(Index::load(&path).is_err(), "cut {cut}");
    }
    assert!(Index::load(&dir.join("missing")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
