"""Must-show 3: Amazon Linux 2023 — an rpmdb.sqlite built here with Debian's rpm, packages named and
versioned as Amazon's, against the ALAS advisories: exactly what rpm's own EVR comparison
(python3-rpm's labelCompare) implies, epochs included."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, require_tool

# (name, epoch or None, version, release): below, at and above real ALAS fixes, and an epoch
# that outweighs a higher version.
PACKAGES = [
    ("openssl-libs", 1, "3.0.8", "1.amzn2023.0.1"),
    ("openssl", None, "3.1.0", "1.amzn2023.0.9"),
    ("curl", None, "8.5.0", "1.amzn2023.0.3"),
    ("expat", None, "2.5.0", "1.amzn2023.0.5"),
    ("python3", 0, "3.9.16", "1.amzn2023.0.6"),
    ("systemd", None, "252.16", "1.amzn2023.0.1"),
    ("git-core", None, "2.40.1", "1.amzn2023.0.3"),
    ("krb5-libs", None, "1.21", "3.amzn2023.0.3"),
]

SPEC = """\
Name: {name}
Version: {version}
Release: {release}
{epoch}Summary: {name}
License: MIT
BuildArch: noarch
%description
{name}
%files
"""

LABEL_COMPARE = """
import json, sys, rpm
out = []
for a, b in json.load(sys.stdin):
    out.append(rpm.labelCompare(tuple(a), tuple(b)))
json.dump(out, sys.stdout)
"""


def label_compare(pairs: list[tuple[tuple[str, str, str], tuple[str, str, str]]]) -> list[int]:
    """rpm's own EVR comparison, from python3-rpm (Debian's package, for the system python)."""
    proc = subprocess.run(
        ["/usr/bin/python3", "-c", LABEL_COMPARE],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[int] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def al2023_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("al2023-rpmbuild")
    (top / "SPECS").mkdir()
    for name, epoch, version, release in PACKAGES:
        spec = top / "SPECS" / f"{name}.spec"
        spec.write_text(
            SPEC.format(
                name=name,
                version=version,
                release=release,
                epoch="" if epoch is None else f"Epoch: {epoch}\n",
            )
        )
        subprocess.run(
            [require_tool("rpmbuild"), "-bb", "--define", f"_topdir {top}", str(spec)],
            check=True,
            capture_output=True,
        )
    root = tmp_path_factory.mktemp("al2023-root")
    dbpath = root / "var/lib/rpm"
    dbpath.mkdir(parents=True)
    backend = ["--define", "_db_backend sqlite"]
    rpm = require_tool("rpm")
    subprocess.run([rpm, "--initdb", "--dbpath", str(dbpath), *backend], check=True, capture_output=True)
    subprocess.run(
        [rpm, "-i", "--justdb", "--nodeps", "--noscripts", "--dbpath", str(dbpath), *backend]
        + [str(p) for p in sorted((top / "RPMS").glob("*/*.rpm"))],
        check=True,
        capture_output=True,
    )
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text(
        'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023"\n'
    )
    return root


@pytest.fixture(scope="module")
def alas_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alas")
    data = subprocess.run(
        ["zstd", "-dc", str(DATA / "advisories/amazon/al2023.tar.zst")], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=data, check=True)
    return out / "al2023/vuln-list/amazon/2023"


def test_al2023_findings_follow_rpm_evr(al2023_root: Path, alas_dir: Path) -> None:
    from hullscan import db

    db.import_paths([alas_dir])
    result = hullscan.scan(f"dir:{al2023_root}", offline=True)
    assert result.inventory.distro is not None
    assert result.inventory.distro.ecosystem == "Amazon Linux:2023"
    installed = {p.name: p for p in result.packages}
    assert set(installed) == {p[0] for p in PACKAGES}

    pairs, labels = [], []
    for f in sorted(alas_dir.glob("*.json")):
        adv = json.loads(f.read_text())
        for fixed in adv["packages"]:
            name = fixed["name"]
            if name not in installed:
                continue
            epoch, version, release = next((e, v, r) for n, e, v, r in PACKAGES if n == name)
            mine = (str(epoch or 0), version, release)
            theirs = (str(fixed["epoch"] or 0), fixed["version"], fixed["release"])
            pairs.append((mine, theirs))
            labels.append((name, adv["id"]))
    verdicts = label_compare(pairs)
    expected = {label for label, v in zip(labels, verdicts, strict=True) if v < 0}
    assert expected, "the chosen versions must hit some advisories"
    assert ("openssl", "ALAS2023-2023-181") in expected  # epoch 0 < 1, whatever the version
    found = {(f.package.name, adv) for f in result.findings for adv in f.advisories}
    assert found == expected
    for f in result.findings:
        assert f.explanation.comparator == "rpm"
        assert f.severity.level != "unknown"
