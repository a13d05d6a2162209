"""Must-show 2: the Alpine 3.20.3 minirootfs against the Alpine 3.20 advisory files reports its
vulnerable packages, and older releases against the old secdb give what an independent check here
computes (apk order by a small comparator of this test's own, for the versions the secdb uses)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, Built

SUFFIX = {"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}
APK = re.compile(r"^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:-r(\d+))?$")


def apk_order(v: str) -> tuple[object, ...]:
    """A sort key for the apk versions secdb files use (the test's oracle, not hullscan's code)."""
    m = APK.match(v)
    assert m is not None, f"oracle cannot read {v!r}"
    nums = [int(x) for x in m.group(1).split(".")]
    suffixes = [
        (SUFFIX[s.rstrip("0123456789")], int(s.lstrip("abcdefghijklmnopqrstuvwxyz") or 0))
        for s in m.group(3).split("_")[1:]
    ] + [(4, 0)]
    return (nums, m.group(2), suffixes, int(m.group(4) or 0))


def unpack(archive: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    data = subprocess.run(["zstd", "-dc", str(archive)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=data, check=True)
    return dest


def expected(inv: hullscan.Inventory, secfixes: dict[str, dict[str, list[str]]]) -> set[tuple[str, str]]:
    """(package, CVE) for every installed package whose origin has a fix newer than it."""
    out = set()
    for p in inv.packages:
        fixes = secfixes.get(p.source_name or p.name, {})
        for fixed, cves in fixes.items():
            if fixed == "0":  # Alpine's way to say the CVE does not affect its package
                continue
            if apk_order(p.version) < apk_order(fixed):
                out |= {(p.name, cve.split()[0]) for cve in cves}
    return out


def found(result: hullscan.ScanResult) -> set[tuple[str, str]]:
    out = set()
    for f in result.findings:
        cves = {i for i in (f.id, *f.aliases) if i.startswith("CVE-")}
        out |= {(f.package.name, c) for c in cves}
    return out


def test_alpine_320_findings(alpine_images: dict[str, Built], tmp_path: Path) -> None:
    from hullscan import db

    secdb = unpack(DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst", tmp_path)
    db.import_paths([secdb / "vuln-list-alpine-3.20-main"])
    b = alpine_images["3.20.3-x86_64"]
    result = hullscan.scan(f"oci-dir:{b.layout}:{b.tag}", offline=True)
    secfixes = {
        j["name"]: j["secfixes"]
        for j in (json.loads(p.read_text()) for p in (secdb / "vuln-list-alpine-3.20-main").glob("*.json"))
    }
    want = expected(result.inventory, secfixes)
    assert any(n == "busybox" for n, _ in want)
    assert any(n.startswith("libcrypto3") or n.startswith("libssl3") for n, _ in want)
    assert found(result) == want
    by_pkg = {f.package.name: f for f in result.findings}
    assert by_pkg["busybox"].installed_version == "1.36.1-r29"
    assert "1.36.1-r31" in {
        v for f in result.findings if f.package.name == "busybox" for v in f.fixed_versions
    }
    assert {f.explanation.comparator for f in result.findings} == {"apk"}
    for f in result.findings:
        assert f.package.ecosystem == "Alpine:v3.20"
        assert f.status == "fixed"
        assert f.explanation.matched_name in secfixes  # matched on the origin


@pytest.mark.parametrize("name", ["3.10.3-x86_64", "3.10.9-x86_64", "3.11.13-x86_64"])
def test_old_releases_against_old_secdb(alpine_images: dict[str, Built], tmp_path: Path, name: str) -> None:
    from hullscan import db

    secdb = (
        unpack(DATA / "advisories/alpine-secdb/alpine-secdb-v3.3-v3.11.tar.zst", tmp_path)
        / "alpine-secdb/json"
    )
    branch = "v" + ".".join(name.split(".")[:2])
    db.import_paths(sorted((secdb / branch).glob("*.json")))
    b = alpine_images[name]
    result = hullscan.scan(f"oci-dir:{b.layout}:{b.tag}", offline=True)
    secfixes: dict[str, dict[str, list[str]]] = {}
    for f in (secdb / branch).glob("*.json"):
        for entry in json.loads(f.read_text())["packages"]:
            secfixes.setdefault(entry["pkg"]["name"], {}).update(entry["pkg"]["secfixes"])
    assert found(result) == expected(result.inventory, secfixes)
