//! Every row of the upstream vectors for the OS package schemes (deb, apk, rpm), from
//! `../shared/data/vectors/` (or `$HULLSCAN_TEST_DATA/vectors/`): comparisons, apk ranges and apk
//! validity. Fields are used exactly as written (leading/trailing spaces and empty fields are
//! part of the vectors). Rows where hullscan deliberately differs from upstream are listed in
//! `DELIBERATE` with the reason, and the test checks that they differ in exactly that way.

use std::cmp::Ordering;
use std::path::PathBuf;

use hullscan_core::version::Scheme;

fn data_dir() -> PathBuf {
    match std::env::var_os("HULLSCAN_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// The rows of a vector file, header checked and dropped, fields split on tabs and not trimmed.
fn rows(name: &str, header: &[&str]) -> Vec<Vec<String>> {
    let path = data_dir().join("vectors").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (set HULLSCAN_TEST_DATA)",
            path.display()
        )
    });
    let mut lines = text.split('\n');
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(head, header, "{name}: unexpected header");
    let rows: Vec<Vec<String>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.strip_suffix('\r')
                .unwrap_or(l)
                .split('\t')
                .map(String::from)
                .collect()
        })
        .collect();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{name}: bad row {r:?}");
    }
    assert!(!rows.is_empty(), "{name}: no rows");
    rows
}

/// Upstream rows hullscan deliberately does not reproduce: (file, a, op, b, reason).
const DELIBERATE: &[(&str, &str, &str, &str, &str)] = &[
    (
        "apk.tsv",
        "1.0",
        "<",
        "1.0bc",
        "`1.0bc` is not a valid apk version (two letters; apk-validity.tsv rows `0.1bc` say so); \
         apk-tools still orders it up to the first bad token, hullscan rejects it",
    ),
    (
        "apk.tsv",
        "23_foo",
        ">",
        "4_beta",
        "`23_foo` is not a valid apk version (unknown suffix `_foo`; apk-validity.tsv rows \
         `0.1_foobar` say so); apk-tools still orders it by its first number, hullscan rejects it",
    ),
];

/// apk-ranges.tsv rows hullscan deliberately does not reproduce: (version, range, reason).
const DELIBERATE_RANGES: &[(&str, &str, &str)] = &[
    (
        "3.6.9_post1",
        "~3.6",
        "`3.6.9_post1` is not a valid apk version (unknown suffix `_post`); apk-tools matches \
         it on the tokens before the bad one, hullscan rejects it",
    ),
    (
        "3.6.9_post1",
        "~3.8",
        "`3.6.9_post1` is not a valid apk version (unknown suffix `_post`); apk-tools matches \
         it on the tokens before the bad one, hullscan rejects it",
    ),
];

fn parse_op(op: &str) -> Ordering {
    match op {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        _ => panic!("unknown op {op:?}"),
    }
}

fn check_comparisons(scheme: Scheme, file: &str) -> usize {
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in rows(file, &["a", "op", "b", "source"]) {
        let (a, op, b) = (r[0].as_str(), r[1].as_str(), r[2].as_str());
        let want = parse_op(op);
        if let Some(d) = DELIBERATE
            .iter()
            .find(|d| d.0 == file && d.1 == a && d.2 == op && d.3 == b)
        {
            // The documented difference, and only that one: one side is rejected as invalid.
            assert!(
                scheme.key(a).is_err() || scheme.key(b).is_err(),
                "{file}: deliberate row {a:?} {op} {b:?} ({}) is no longer rejected",
                d.4
            );
            continue;
        }
        checked += 1;
        let (ka, kb) = match (scheme.key(a), scheme.key(b)) {
            (Ok(ka), Ok(kb)) => (ka, kb),
            (ra, rb) => {
                failures.push(format!("{a:?} {op} {b:?}: rejected: {ra:?} / {rb:?}"));
                continue;
            }
        };
        let got = ka.cmp(&kb);
        if got != want {
            failures.push(format!("{a:?} {op} {b:?}: got {got:?}"));
        }
        if scheme.compare(b, a).unwrap() != want.reverse() {
            failures.push(format!("{b:?} vs {a:?}: reverse comparison wrong"));
        }
        if want == Ordering::Equal && ka != kb {
            failures.push(format!("{a:?} = {b:?}: keys differ"));
        }
    }
    assert!(
        failures.is_empty(),
        "{file}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let listed = DELIBERATE.iter().filter(|d| d.0 == file).count();
    eprintln!("{file}: {checked} rows agree, {listed} deliberately differ");
    checked
}

#[test]
fn deb_vectors() {
    assert_eq!(check_comparisons(Scheme::Deb, "deb.tsv"), 148);
}

#[test]
fn rpm_vectors() {
    assert_eq!(check_comparisons(Scheme::Rpm, "rpm.tsv"), 103);
}

#[test]
fn apk_vectors() {
    assert_eq!(check_comparisons(Scheme::Apk, "apk.tsv"), 717 - 2);
}

#[test]
fn apk_ranges() {
    let mut failures = Vec::new();
    let rows = rows(
        "apk-ranges.tsv",
        &["version", "range", "expected", "source"],
    );
    let mut checked = 0;
    for r in &rows {
        if let Some(d) = DELIBERATE_RANGES
            .iter()
            .find(|d| d.0 == r[0] && d.1 == r[1])
        {
            assert!(
                Scheme::Apk.satisfies(&r[0], &r[1]).is_err(),
                "deliberate row {:?} {:?} ({}) is no longer rejected",
                r[0],
                r[1],
                d.2
            );
            continue;
        }
        checked += 1;
        let want = match r[2].as_str() {
            "true" => true,
            "false" => false,
            e => panic!("bad expected {e:?}"),
        };
        match Scheme::Apk.satisfies(&r[0], &r[1]) {
            Ok(got) if got == want => {}
            got => failures.push(format!("{:?} {:?}: want {want}, got {got:?}", r[0], r[1])),
        }
    }
    assert!(
        failures.is_empty(),
        "apk-ranges.tsv:\n{}",
        failures.join("\n")
    );
    assert_eq!((rows.len(), checked), (16, 16 - DELIBERATE_RANGES.len()));
}

#[test]
fn apk_validity() {
    let mut failures = Vec::new();
    let rows = rows("apk-validity.tsv", &["version", "valid", "source"]);
    for r in &rows {
        let want = match r[1].as_str() {
            "true" => true,
            "false" => false,
            e => panic!("bad valid {e:?}"),
        };
        let got = Scheme::Apk.key(&r[0]);
        if got.is_ok() != want {
            failures.push(format!("{:?}: want valid={want}, got {got:?}", r[0]));
        }
    }
    assert!(
        failures.is_empty(),
        "apk-validity.tsv:\n{}",
        failures.join("\n")
    );
    assert_eq!(rows.len(), 31);
}
