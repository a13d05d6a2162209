//! Upstream version vectors for the language schemes: PEP 440 (pypa/packaging), SemVer
//! (npm/node-semver), Go (golang/mod) and RubyGems, read from `../shared/data/vectors` (or
//! `$HULLSCAN_TEST_DATA/vectors`). Every row must pass, except the rows listed in
//! [`DELIBERATE`], where hullscan answers differently on purpose; those rows must still behave
//! exactly as listed, and every listed row must exist.

use hullscan_core::version::{gem, go, pep440, semver};
use std::cmp::Ordering;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    match std::env::var_os("HULLSCAN_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// The rows of a vector file, fields untrimmed, header dropped.
fn rows(name: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let path = data_dir().join("vectors").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set HULLSCAN_TEST_DATA)", path.display()));
    let mut lines = text.split('\n');
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    assert_eq!(&header[..columns.len()], columns, "{name}: header");
    let rows: Vec<Vec<String>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
        .collect();
    for r in &rows {
        assert!(r.len() >= columns.len(), "{name}: short row {r:?}");
    }
    assert!(!rows.is_empty(), "{name}: no rows");
    rows
}

/// A row hullscan answers differently on purpose: file, first two fields, and what hullscan
/// gives instead ("error": the call fails with an invalid-input error).
struct Deliberate {
    file: &'static str,
    a: &'static str,
    b: &'static str,
    hullscan: &'static str,
    reason: &'static str,
}

const INVALID_VERSION_IS_AN_ERROR: &str = "hullscan reports a version that does not parse as an \
     invalid-input error (InvalidVersionError in Python) instead of answering false; only `===` \
     takes arbitrary strings";
const NODE_SATISFIES_SWALLOWS_ERRORS: &str = "node-semver's satisfies() answers false when the \
     version or the range does not parse; hullscan reports the invalid input as an error";

const DELIBERATE: &[Deliberate] = &[
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: "==1.0",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: "==1.*",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: ">=1.0",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: ">1.0",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: "<=1.0",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: "<1.0",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: "~=1.0",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: "!=1.0",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "pep440-ranges.tsv",
        a: "not a valid version",
        b: "!=1.*",
        hullscan: "error",
        reason: INVALID_VERSION_IS_AN_ERROR,
    },
    Deliberate {
        file: "semver-ranges.tsv",
        a: "not a version",
        b: "*",
        hullscan: "error",
        reason: NODE_SATISFIES_SWALLOWS_ERRORS,
    },
    Deliberate {
        file: "semver-ranges.tsv",
        a: "glorp",
        b: ">=2",
        hullscan: "error",
        reason: NODE_SATISFIES_SWALLOWS_ERRORS,
    },
    Deliberate {
        file: "semver-ranges.tsv",
        a: "1.2.3",
        b: "blerg",
        hullscan: "error",
        reason: NODE_SATISFIES_SWALLOWS_ERRORS,
    },
    Deliberate {
        file: "semver-ranges.tsv",
        a: "123.0.0",
        b: "git+https://user:password0123@github.com/foo",
        hullscan: "error",
        reason: NODE_SATISFIES_SWALLOWS_ERRORS,
    },
];

fn deliberate(file: &str, a: &str, b: &str) -> Option<&'static Deliberate> {
    DELIBERATE
        .iter()
        .find(|d| d.file == file && d.a == a && d.b == b)
}

fn outcome<T: std::fmt::Debug>(r: &Result<T, String>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(_) => "error".into(),
    }
}

fn op(s: &str) -> Ordering {
    match s {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        _ => panic!("unknown op {s:?}"),
    }
}

/// Checks a comparison file with a key function; returns the number of rows.
fn comparisons(
    file: &'static str,
    key: impl Fn(&str) -> Result<Vec<u8>, String>,
    failures: &mut Vec<String>,
    seen: &mut Vec<(&'static str, String, String)>,
) -> usize {
    let rows = rows(file, &["a", "op", "b", "source"]);
    for r in &rows {
        let (a, b) = (&r[0], &r[2]);
        let want = op(&r[1]);
        let got = match (key(a), key(b)) {
            (Ok(ka), Ok(kb)) => Ok(ka.cmp(&kb)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        // both directions: the keys must be antisymmetric too
        let back = match (key(b), key(a)) {
            (Ok(kb), Ok(ka)) => Ok(kb.cmp(&ka)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        if let Some(d) = deliberate(file, a, b) {
            seen.push((file, a.clone(), b.clone()));
            if outcome(&got) != d.hullscan {
                failures.push(format!(
                    "{file}: {a:?} {b:?}: listed as {} but got {got:?}",
                    d.hullscan
                ));
            }
            continue;
        }
        if got != Ok(want) || back != Ok(want.reverse()) {
            failures.push(format!(
                "{file}: {a:?} {} {b:?}: got {got:?} / reverse {back:?}",
                r[1]
            ));
        }
    }
    rows.len()
}

/// Checks a range file with a satisfies function; returns the number of rows.
fn ranges(
    file: &'static str,
    satisfies: impl Fn(&str, &str) -> Result<bool, String>,
    failures: &mut Vec<String>,
    seen: &mut Vec<(&'static str, String, String)>,
) -> usize {
    let rows = rows(file, &["version", "range", "expected", "source"]);
    for r in &rows {
        let (v, range) = (&r[0], &r[1]);
        let want = match r[2].as_str() {
            "true" => true,
            "false" => false,
            x => panic!("{file}: expected {x:?}"),
        };
        let got = satisfies(v, range);
        if let Some(d) = deliberate(file, v, range) {
            seen.push((file, v.clone(), range.clone()));
            if outcome(&got) != d.hullscan {
                failures.push(format!(
                    "{file}: {v:?} {range:?}: listed as {} but got {got:?}",
                    d.hullscan
                ));
            }
            continue;
        }
        if got != Ok(want) {
            failures.push(format!(
                "{file}: {v:?} in {range:?}: want {want}, got {got:?}"
            ));
        }
    }
    rows.len()
}

fn finish(failures: &[String], seen: &[(&str, String, String)], files: &[&str], total: usize) {
    for d in DELIBERATE.iter().filter(|d| files.contains(&d.file)) {
        assert!(
            seen.iter()
                .any(|(f, a, b)| *f == d.file && a == d.a && b == d.b),
            "listed difference not in {}: {:?} {:?}",
            d.file,
            d.a,
            d.b
        );
        assert!(!d.reason.is_empty());
    }
    assert!(
        failures.is_empty(),
        "{} of {total} rows fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn pep440_vectors() {
    let (mut f, mut s) = (Vec::new(), Vec::new());
    let mut n = comparisons("pep440.tsv", pep440::key, &mut f, &mut s);
    n += ranges("pep440-ranges.tsv", pep440::satisfies, &mut f, &mut s);
    assert!(n > 4_500, "{n} rows");
    finish(&f, &s, &["pep440.tsv", "pep440-ranges.tsv"], n);
}

#[test]
fn semver_vectors() {
    let (mut f, mut s) = (Vec::new(), Vec::new());
    let mut n = comparisons("semver.tsv", semver::key, &mut f, &mut s);
    n += comparisons("semver-loose.tsv", semver::key_loose, &mut f, &mut s);
    n += ranges("semver-ranges.tsv", semver::satisfies, &mut f, &mut s);
    let loose = semver::Options {
        loose: true,
        include_prerelease: false,
    };
    n += ranges(
        "semver-ranges-loose.tsv",
        |v, r| semver::satisfies_with(v, r, loose),
        &mut f,
        &mut s,
    );
    let pre = semver::Options {
        loose: false,
        include_prerelease: true,
    };
    n += ranges(
        "semver-ranges-includeprerelease.tsv",
        |v, r| semver::satisfies_with(v, r, pre),
        &mut f,
        &mut s,
    );
    assert!(n > 290, "{n} rows");
    let files = [
        "semver.tsv",
        "semver-loose.tsv",
        "semver-ranges.tsv",
        "semver-ranges-loose.tsv",
        "semver-ranges-includeprerelease.tsv",
    ];
    finish(&f, &s, &files, n);
}

/// Go's order includes invalid strings (lowest, all equal): `key_or_lowest` reproduces it, and
/// `key` refuses exactly those strings.
#[test]
fn go_vectors() {
    let (mut f, mut s) = (Vec::new(), Vec::new());
    let n = comparisons("go.tsv", |v| Ok(go::key_or_lowest(v)), &mut f, &mut s);
    let mut invalid = 0;
    for r in rows("go.tsv", &["a", "op", "b", "source"]) {
        for v in [&r[0], &r[2]] {
            let lowest = go::key_or_lowest(v).is_empty();
            assert_eq!(go::key(v).is_err(), lowest, "{v:?}");
            invalid += usize::from(lowest);
        }
    }
    assert!(invalid > 0);
    assert!(n > 490, "{n} rows");
    finish(&f, &s, &["go.tsv"], n);
}

#[test]
fn rubygems_vectors() {
    let (mut f, mut s) = (Vec::new(), Vec::new());
    let mut n = comparisons("rubygems.tsv", gem::key, &mut f, &mut s);
    n += ranges("rubygems-ranges.tsv", gem::satisfies, &mut f, &mut s);
    assert!(n > 130, "{n} rows");
    finish(&f, &s, &["rubygems.tsv", "rubygems-ranges.tsv"], n);
}
