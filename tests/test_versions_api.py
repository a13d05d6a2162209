"""hullscan.versions: compare, satisfies (OSV ranges) — and that satisfies agrees with the compiled
index on every PyPI advisory in ../shared/data."""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

import hullscan
from conftest import DATA
from hullscan import _core, versions

RANGE = [
    {
        "type": "ECOSYSTEM",
        "events": [
            {"introduced": "0"},
            {"fixed": "2.20.0"},
            {"introduced": "2.21"},
            {"last_affected": "2.22.0"},
        ],
    }
]


def test_compare_and_aliases() -> None:
    assert versions.compare("deb", "1.0~rc1-1", "1.0-1") == -1
    assert versions.compare("Debian:12", "1:0.1-1", "9.9-1") == 1
    assert versions.compare("PyPI", "1.0", "1.0.0") == 0
    assert versions.compare("Alpine:v3.20", "1.36.1-r29", "1.36.1-r31") == -1
    with pytest.raises(hullscan.InvalidVersionError):
        versions.compare("nope", "1", "2")
    with pytest.raises(hullscan.InvalidVersionError):
        versions.compare("pep440", "not a version", "1")


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1", True), ("2.19.1", True), ("2.20.0", False), ("2.21", True), ("2.22.0", True), ("2.22.1", False)],
)
def test_satisfies(version: str, expected: bool) -> None:
    assert versions.satisfies("pep440", version, RANGE) is expected


def test_satisfies_listed_and_git() -> None:
    git = [{"type": "GIT", "events": [{"introduced": "0"}]}]
    assert not versions.satisfies("semver", "1.2.3", git)
    assert versions.satisfies("semver", "1.2.3", git, versions=["1.2.3"])
    assert versions.satisfies(
        "go", "v0.16.0", [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.17.0"}]}]
    )


def test_satisfies_agrees_with_the_index(tmp_path: Path) -> None:
    """Every PyPI record, a sample of its own versions and bounds: one-at-a-time evaluation and
    the compiled index give the same verdicts."""
    rng = random.Random(7)
    lines = []
    cases = []
    with zipfile.ZipFile(DATA / "advisories/osv/PyPI/all.zip") as z:
        for name in z.namelist():
            rec = json.loads(z.read(name))
            if rec.get("withdrawn"):
                continue
            lines.append(json.dumps(rec))
            for a in rec.get("affected", []):
                if a.get("package", {}).get("ecosystem") != "PyPI":
                    continue
                cands = list(a.get("versions", []))
                for r in a.get("ranges", []):
                    cands += [v for e in r.get("events", []) for v in e.values() if v != "0"]
                same = [
                    b
                    for b in rec["affected"]
                    if b.get("package", {}).get("ecosystem") == "PyPI"
                    and canonicalize_name(b["package"]["name"]) == canonicalize_name(a["package"]["name"])
                ]
                for v in rng.sample(cands, min(3, len(cands))):
                    cases.append((rec["id"], a, v, same))
    f = tmp_path / "pypi.jsonl"
    f.write_text("\n".join(lines))
    _core.build_index([f], tmp_path / "index.bin")
    index = _core.AdvisoryIndex.load(tmp_path / "index.bin")
    queries = [("PyPI", a["package"]["name"], v) for _, a, v, _ in cases]
    hits, _ = index.match_packages(queries)
    hit_set = {(h.query, json.loads(index.advisory(h.advisory))["id"]) for h in hits}
    checked = 0
    for qi, (rid, _a, v, same) in enumerate(cases):
        try:
            # The index reports a record when any of its entries for the package matches.
            want = any(
                versions.satisfies("pep440", v, b.get("ranges", []), b.get("versions", [])) for b in same
            )
        except hullscan.InvalidVersionError:
            continue
        checked += 1
        assert ((qi, rid) in hit_set) is want, (rid, v)
    assert checked > 1000
