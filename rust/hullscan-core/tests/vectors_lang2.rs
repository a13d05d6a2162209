//! The upstream test vectors of the Maven, NuGet and Composer schemes, every row: comparisons
//! (`a  op  b`) through the order-preserving keys, ranges through `satisfies`. The vectors come from
//! the projects' own test suites (maven-artifact, NuGet.Versioning, composer/semver) and live in
//! `../shared/data/vectors/` (or `$HULLSCAN_TEST_DATA/vectors`). Fields are used exactly as
//! written: leading and trailing spaces are part of the input on purpose.

use hullscan_core::version::Scheme;
use std::cmp::Ordering;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    match std::env::var_os("HULLSCAN_TEST_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// The rows of a vector file: header first, tab-separated, fields untouched.
fn rows(name: &str, header: &[&str]) -> Vec<Vec<String>> {
    let path = data_dir().join("vectors").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .expect("empty vector file")
        .split('\t')
        .collect();
    assert_eq!(head, header, "{name}: unexpected header");
    let rows: Vec<Vec<String>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{name}: malformed row {r:?}");
    }
    assert!(!rows.is_empty(), "{name}: no rows");
    rows
}

/// Rows hullscan deliberately answers differently, with the reason; each must really differ.
type Exceptions = &'static [(&'static str, &'static str, &'static str, &'static str)];

fn check_order(scheme: Scheme, file: &str, expected_rows: usize, exceptions: Exceptions) {
    let rows = rows(file, &["a", "op", "b", "source"]);
    assert_eq!(rows.len(), expected_rows, "{file}: row count changed");
    let mut failures = Vec::new();
    let mut excepted = 0;
    for r in &rows {
        let (a, op, b) = (&r[0], &r[1], &r[2]);
        let want = match op.as_str() {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("{file}: unknown op {other:?}"),
        };
        let got = scheme.compare(a, b);
        let reverse = scheme.compare(b, a);
        let ok = got.as_ref().ok() == Some(&want) && reverse.as_ref().ok() == Some(&want.reverse());
        let keys_ok = match (scheme.key(a), scheme.key(b)) {
            (Ok(ka), Ok(kb)) => (ka == kb) == (want == Ordering::Equal),
            _ => false,
        };
        if let Some(e) = exceptions
            .iter()
            .find(|e| e.0 == a && e.1 == op && e.2 == b)
        {
            assert!(
                !ok,
                "{file}: {a:?} {op} {b:?} is listed as a deliberate difference ({}) but passes",
                e.3
            );
            excepted += 1;
            continue;
        }
        if !ok || !keys_ok {
            failures.push(format!(
                "{a:?} {op} {b:?}: got {got:?} / reverse {reverse:?}"
            ));
        }
    }
    assert_eq!(
        excepted,
        exceptions.len(),
        "{file}: an exception row is missing"
    );
    assert!(
        failures.is_empty(),
        "{file}: {} of {} rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

fn check_ranges(scheme: Scheme, file: &str, expected_rows: usize, exceptions: Exceptions) {
    let rows = rows(file, &["version", "range", "expected", "source"]);
    assert_eq!(rows.len(), expected_rows, "{file}: row count changed");
    let mut failures = Vec::new();
    let mut excepted = 0;
    for r in &rows {
        let (version, range, expected) = (&r[0], &r[1], &r[2]);
        let want = match expected.as_str() {
            "true" => true,
            "false" => false,
            other => panic!("{file}: unknown expectation {other:?}"),
        };
        let got = scheme.satisfies(version, range);
        let ok = got.as_ref().ok() == Some(&want);
        if let Some(e) = exceptions
            .iter()
            .find(|e| e.0 == version && e.1 == range && e.2 == expected)
        {
            assert!(!ok, "{file}: {version:?} in {range:?} is listed as a deliberate difference ({}) but passes", e.3);
            excepted += 1;
            continue;
        }
        if !ok {
            failures.push(format!(
                "{version:?} in {range:?}: want {want}, got {got:?}"
            ));
        }
    }
    assert_eq!(
        excepted,
        exceptions.len(),
        "{file}: an exception row is missing"
    );
    assert!(
        failures.is_empty(),
        "{file}: {} of {} rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn maven_comparisons() {
    check_order(Scheme::Maven, "maven.tsv", 1037, &[]);
}

#[test]
fn maven_ranges() {
    check_ranges(Scheme::Maven, "maven-ranges.tsv", 20, &[]);
}

#[test]
fn nuget_comparisons() {
    check_order(Scheme::Nuget, "nuget.tsv", 58, &[]);
}

#[test]
fn nuget_ranges() {
    check_ranges(Scheme::Nuget, "nuget-ranges.tsv", 46, &[]);
}

#[test]
fn composer_comparisons() {
    check_order(Scheme::Composer, "composer.tsv", 15, &[]);
}

#[test]
fn composer_ranges() {
    check_ranges(Scheme::Composer, "composer-ranges.tsv", 134, &[]);
}

/// Every version of every vector file: a key for the valid ones, and keys of a version and of
/// itself agree (no state, no panics).
#[test]
fn keys_are_deterministic() {
    for (scheme, file) in [
        (Scheme::Maven, "maven.tsv"),
        (Scheme::Nuget, "nuget.tsv"),
        (Scheme::Composer, "composer.tsv"),
    ] {
        for r in rows(file, &["a", "op", "b", "source"]) {
            for v in [&r[0], &r[2]] {
                assert_eq!(scheme.key(v), scheme.key(v), "{file}: {v:?}");
            }
        }
    }
}
