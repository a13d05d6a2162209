"""Must-show 4: a Python layer with old, real releases from the package index gives exactly the
findings that the PyPI advisories (PYSEC and GHSA) imply, computed here independently with
`packaging`; one vulnerability under several ids is one finding."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

import hullscan
from conftest import DATA, Built
from imagebuild import oci_add_dir, run

PINS = ("requests==2.19.1", "urllib3==1.24.1", "Django==3.2", "Jinja2==2.10")
PYPI_ZIP = DATA / "advisories/osv/PyPI/all.zip"


def _version(v: str) -> Version | None:
    try:
        return Version(v)
    except InvalidVersion:
        return None


def affected(record: dict[str, Any], name: str, version: str) -> bool:
    """OSV semantics with packaging's order: listed in `versions`, or inside an ECOSYSTEM range."""
    v = Version(version)
    for a in record.get("affected", []):
        pkg = a.get("package", {})
        if pkg.get("ecosystem") != "PyPI" or canonicalize_name(pkg.get("name", "")) != name:
            continue
        if any(_version(x) == v for x in a.get("versions", [])):
            return True
        for r in a.get("ranges", []):
            if r.get("type") != "ECOSYSTEM":
                continue
            inside = False
            events = sorted(
                r["events"],
                key=lambda e: (
                    Version("0")
                    if e.get("introduced") == "0"
                    else _version(next(iter(e.values()))) or Version("0")
                ),
            )
            for e in events:
                if "introduced" in e and (e["introduced"] == "0" or v >= Version(e["introduced"])):
                    inside = True
                elif ("fixed" in e and v >= Version(e["fixed"])) or (
                    "last_affected" in e and v > Version(e["last_affected"])
                ):
                    inside = False
            if inside:
                return True
    return False


def expected_groups(installed: dict[str, str]) -> set[tuple[str, frozenset[str]]]:
    hits: dict[str, list[set[str]]] = {n: [] for n in installed}
    with zipfile.ZipFile(PYPI_ZIP) as z:
        for member in z.namelist():
            rec = json.loads(z.read(member))
            if rec.get("withdrawn"):
                continue
            for name, version in installed.items():
                if affected(rec, name, version):
                    hits[name].append({rec["id"], *rec.get("aliases", [])})
    out = set()
    for name, idsets in hits.items():
        groups: list[set[str]] = []
        for ids in idsets:
            merged = [g for g in groups if g & ids]
            for g in merged:
                groups.remove(g)
                ids = ids | g
            groups.append(ids)
        out |= {(name, frozenset(g)) for g in groups}
    return out


@pytest.fixture(scope="module")
def old_python_image(alpine_images: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("oldpy") / "site-packages"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--no-compile", "--target", str(target), *PINS),
        ],
        check=True,
    )
    layout = alpine_images["3.20.3-x86_64"].layout
    run("umoci", "tag", "--image", f"{layout}:3.20.3-x86_64", "oldpy")
    oci_add_dir(f"{layout}:oldpy", target, "/usr/lib/python3.12/site-packages")
    return f"oci-dir:{layout}:oldpy"


def test_old_releases_findings(old_python_image: str, isolated_cache: Path) -> None:
    from hullscan import db

    db.import_paths([PYPI_ZIP])
    result = hullscan.scan(old_python_image, offline=True)
    installed = {canonicalize_name(p.name): p.version for p in result.packages if p.kind == "python"}
    assert set(installed) == {"requests", "urllib3", "django", "jinja2"}
    expected = expected_groups(installed)
    assert len(expected) > 20
    found = {
        (canonicalize_name(f.package.name), frozenset({f.id, *f.aliases}))
        for f in result.findings
        if f.package.ecosystem == "PyPI"
    }
    assert found == expected
    # One finding per vulnerability: no id appears in two findings of the same package.
    for name in installed:
        ids = [i for n, g in found if n == name for i in g]
        assert len(ids) == len(set(ids))
    for f in result.findings:
        if f.package.ecosystem != "PyPI":
            continue
        assert f.explanation.comparator == "pep440"
        assert f.explanation.layer_index == 1
        assert f.explanation.locations[0].endswith("/METADATA")
        assert f.severity.level in ("critical", "high", "medium", "low", "unknown")
        if f.id.startswith("CVE-") or f.id.startswith("GHSA-"):
            assert f.id not in f.aliases


def test_os_owned_python_packages_match_through_their_os_package(tmp_path: Path) -> None:
    """A dist-info a Debian package installed (dpkg's .list owns it) is inventoried and related,
    but matched only through the Debian package unless asked: the distro patches its copy."""
    root = tmp_path / "rootfs"
    dist = root / "usr/lib/python3/dist-packages/requests-2.19.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\n")
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: python3-requests\nStatus: install ok installed\nArchitecture: all\n"
        "Source: requests\nVersion: 2.19.1-1\n\n"
    )
    (info / "python3-requests.list").write_text(
        "/usr/lib/python3/dist-packages/requests-2.19.1.dist-info\n"
        "/usr/lib/python3/dist-packages/requests-2.19.1.dist-info/METADATA\n"
    )
    db = tmp_path / "db"
    from hullscan import db as adb

    with adb.import_paths([PYPI_ZIP], cache_dir=db) as database:
        index = database.path
    default = hullscan.scan(f"dir:{root}", db=index)
    (py,) = [p for p in default.inventory.packages if p.kind == "python"]
    assert py.owned_by is not None
    assert py.owned_by.startswith("pkg:deb/debian/python3-requests@2.19.1-1")
    assert [f for f in default.findings if f.package.ecosystem == "PyPI"] == []
    both = hullscan.scan(f"dir:{root}", db=index, os_owned=True)
    assert {f.package.ecosystem for f in both.findings} == {"PyPI"}
    assert "CVE-2018-18074" in {f.id for f in both.findings}
    cli = subprocess.run(
        [sys.executable, "-m", "hullscan.cli", "scan", f"dir:{root}", "--db", str(index), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(cli.stdout)["findings"] == []
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "hullscan.cli",
            "scan",
            f"dir:{root}",
            "--db",
            str(index),
            "--format",
            "json",
            "--match-os-owned",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert {f["id"] for f in json.loads(cli.stdout)["findings"]} == {f.id for f in both.findings}
