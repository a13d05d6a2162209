//! The compiled index: OSV semantics on keys, loading, damaged files.

use hullscan_core::index::{Builder, Index, Query};

fn q(eco: &str, name: &str, version: &str) -> Query {
    Query {
        ecosystem: eco.into(),
        name: name.into(),
        version: version.into(),
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

fn ids(idx: &Index, query: Query) -> Vec<String> {
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
    assert_eq!(hits[0].fixed, ["2.20.0"]);
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
    for cut in [0, 7, 40, 80, good.len() / 2, good.len() - 1] {
        assert!(
            Index::from_bytes(good[..cut].to_vec()).is_err(),
            "cut {cut}"
        );
    }
    let mut flipped = good.clone();
    for i in (80..flipped.len()).step_by(7) {
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
    assert!(hits[0].closer.is_none());
    assert!(hits[0].fixed.is_empty());
    assert!(ids(&idx, q("Debian:13", "openssl", "1.0-1")).is_empty());
}
