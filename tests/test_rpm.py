"""The rpm cataloger against Debian's rpm reading the same databases.

Every expected package list here comes from ``rpm -qa`` run on the very database hullscan reads:
the Berkeley DB fixtures from the shared data, an rpmdb.sqlite that rpm builds from packages that
rpmbuild builds, and Berkeley DB files written by Berkeley DB's own db_load from those packages'
headers (rpm itself can only read BDB). Nothing is hard-coded.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

import hullscan
from conftest import require_tool

BDB_FIXTURES = [
    "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage/pkgs/var/lib/rpm/Packages",
    "osv-scalibr/extractor/filesystem/os/rpm/testdata/Packages_epoch",
]

# One line per package: what hullscan's fields should be, in rpm's own words. The epoch and the
# "[epoch:]version-release" string use rpm's conditional format so that a missing EPOCH tag
# (epoch None in hullscan) is told apart from an explicit epoch 0.
QUERY_FORMAT = (
    "%{NAME}\t%|EPOCH?{%{EPOCH}}:{}|\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}"
    "\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\n"
)

Row = tuple[str, int | None, str, str, str, str]

SPECS = {
    # An epoch, noarch, no files: a small header.
    "hs-alpha": """\
Name: hs-alpha
Version: 1.2.3
Release: 4
Epoch: 2
Summary: alpha
License: MIT
BuildArch: noarch
%description
alpha
%files
""",
    # No epoch, the build machine's arch, one file, a compound licence.
    "hs-beta": """\
Name: hs-beta
Version: 0.9
Release: 1.el9
Summary: beta
License: GPL-2.0-or-later AND BSD-3-Clause
%description
beta
%install
mkdir -p %{buildroot}/usr/share/hs-beta
echo beta > %{buildroot}/usr/share/hs-beta/readme
%files
/usr/share/hs-beta/readme
""",
    # An explicit epoch 0, a tilde version, and enough files for a header of several pages.
    "hs-gamma": """\
Name: hs-gamma
Version: 1.0~rc1
Release: 3.fc40
Epoch: 0
Summary: gamma
License: Apache-2.0
BuildArch: noarch
%description
gamma
%install
mkdir -p %{buildroot}/usr/share/hs-gamma
for i in $(seq 1 300); do echo $i > %{buildroot}/usr/share/hs-gamma/file-with-a-long-name-$i; done
%files
/usr/share/hs-gamma
""",
}


def rpm_qa(dbpath: Path, backend: str) -> list[Row]:
    """What Debian's rpm lists for the database in ``dbpath``."""
    out = subprocess.run(
        [
            require_tool("rpm"),
            "-qa",
            "--dbpath",
            str(dbpath),
            "--define",
            f"_db_backend {backend}",
            "--qf",
            QUERY_FORMAT,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    rows: list[Row] = []
    for line in out.stdout.splitlines():
        name, epoch, version, arch, source_rpm, license_ = line.split("\t")
        rows.append((name, int(epoch) if epoch else None, version, arch, source_rpm, license_))
    return sorted(rows, key=repr)


def hullscan_rows(root: Path, location: str) -> list[Row]:
    """hullscan's packages for the root filesystem ``root``, in the shape of :func:`rpm_qa`."""
    inv = hullscan.inventory("dir:" + str(root))
    assert inv.warnings == ()
    rows: list[Row] = []
    for p in inv.packages:
        assert p.kind == "rpm"
        assert p.locations == (location,)
        # rpm prints "(none)" for a missing tag.
        source_rpm = f"{p.source_name}-{p.source_version}.src.rpm" if p.source_name is not None else "(none)"
        rows.append(
            (
                p.name,
                p.epoch,
                p.version,
                p.arch or "(none)",
                source_rpm,
                p.license or "(none)",
            )
        )
    return sorted(rows, key=repr)


@pytest.mark.parametrize("fixture", BDB_FIXTURES, ids=["syft", "osv-scalibr-epoch"])
def test_bdb_fixtures_match_rpm(fixture: str, edge_fixtures: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    dbdir = root / "var" / "lib" / "rpm"
    dbdir.mkdir(parents=True)
    shutil.copyfile(edge_fixtures / fixture, dbdir / "Packages")
    ours = hullscan_rows(root, "/var/lib/rpm/Packages")
    # rpm gets its own copy, so nothing it might write there can reach hullscan's input.
    rpmdir = tmp_path / "rpmdb"
    rpmdir.mkdir()
    shutil.copyfile(edge_fixtures / fixture, rpmdir / "Packages")
    expected = rpm_qa(rpmdir, "bdb_ro")
    assert expected
    assert ours == expected


@pytest.fixture(scope="session")
def built_rpms(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The packages of SPECS, built by rpmbuild."""
    top = tmp_path_factory.mktemp("rpmbuild")
    (top / "SPECS").mkdir()
    for name, text in SPECS.items():
        spec = top / "SPECS" / f"{name}.spec"
        spec.write_text(text)
        subprocess.run(
            [
                require_tool("rpmbuild"),
                "-bb",
                "--define",
                f"_topdir {top}",
                "--define",
                "debug_package %{nil}",
                str(spec),
            ],
            check=True,
            capture_output=True,
        )
    rpms = sorted((top / "RPMS").glob("*/*.rpm"))
    assert len(rpms) == len(SPECS)
    return rpms


@pytest.fixture(scope="session")
def rpmdb_sqlite(built_rpms: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An rpmdb.sqlite with the built packages installed (database only) by rpm."""
    dbpath = tmp_path_factory.mktemp("rpmdb-sqlite")
    rpm = require_tool("rpm")
    backend = ["--define", "_db_backend sqlite"]
    subprocess.run([rpm, "--initdb", "--dbpath", str(dbpath), *backend], check=True, capture_output=True)
    subprocess.run(
        [
            rpm,
            "-i",
            "--justdb",
            "--nodeps",
            "--noscripts",
            "--ignorearch",
            "--dbpath",
            str(dbpath),
            *backend,
            *map(str, built_rpms),
        ],
        check=True,
        capture_output=True,
    )
    db = dbpath / "rpmdb.sqlite"
    assert db.is_file()
    return db


@pytest.mark.parametrize("where", ["var/lib/rpm", "usr/lib/sysimage/rpm"])
def test_sqlite_rpmdb_matches_rpm(where: str, rpmdb_sqlite: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    dbdir = root / where
    dbdir.mkdir(parents=True)
    # Only the database file itself, as a layer would carry it after rpm closed it.
    shutil.copyfile(rpmdb_sqlite, dbdir / "rpmdb.sqlite")
    ours = hullscan_rows(root, f"/{where}/rpmdb.sqlite")
    expected = rpm_qa(dbdir, "sqlite")
    assert len(expected) == len(SPECS)
    assert ours == expected


def db_load_input(blobs: list[tuple[int, bytes]], page_size: int, big_endian: bool) -> str:
    """db_dump's text format for a hash database laid out as rpm lays out Packages."""
    order = "big" if big_endian else "little"
    lines = [
        "VERSION=3",
        "format=bytevalue",
        "type=hash",
        f"db_pagesize={page_size}",
        f"db_lorder={4321 if big_endian else 1234}",
        "HEADER=END",
        # Instance 0 holds the next free instance number.
        " " + (0).to_bytes(4, order).hex(),
        " " + (max(h for h, _ in blobs) + 1).to_bytes(4, order).hex(),
    ]
    for hnum, blob in blobs:
        lines += [" " + hnum.to_bytes(4, order).hex(), " " + blob.hex()]
    lines.append("DATA=END")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("page_size", [512, 4096])
@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
def test_bdb_written_by_berkeley_db_matches_rpm(
    page_size: int, big_endian: bool, rpmdb_sqlite: Path, tmp_path: Path
) -> None:
    """Headers rpm installed, stored by Berkeley DB itself in a hash Packages file, in both byte
    orders and with overflow chains of one page and of many pages."""
    con = sqlite3.connect(f"file:{rpmdb_sqlite}?mode=ro", uri=True)
    try:
        blobs = [(int(h), bytes(b)) for h, b in con.execute("SELECT hnum, blob FROM Packages")]
    finally:
        con.close()
    assert len(blobs) == len(SPECS)
    # hs-gamma's header needs an overflow chain of several pages, the others fit in one or two.
    assert max(len(b) for _, b in blobs) > 4 * page_size
    root = tmp_path / "root"
    dbdir = root / "var" / "lib" / "rpm"
    dbdir.mkdir(parents=True)
    subprocess.run(
        [require_tool("db5.3_load"), str(dbdir / "Packages")],
        input=db_load_input(blobs, page_size, big_endian).encode(),
        check=True,
        capture_output=True,
    )
    ours = hullscan_rows(root, "/var/lib/rpm/Packages")
    rpmdir = tmp_path / "rpmdb"
    rpmdir.mkdir()
    shutil.copyfile(dbdir / "Packages", rpmdir / "Packages")
    expected = rpm_qa(rpmdir, "bdb_ro")
    assert len(expected) == len(SPECS)
    assert ours == expected


def noise(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def bad_header_sqlite(path: Path) -> None:
    """A well-formed rpmdb.sqlite whose one header blob is garbage."""
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
        con.execute("INSERT INTO Packages (blob) VALUES (?)", (b"\x00\x00\xff\xff" + noise(60, 4),))
        con.commit()
    finally:
        con.close()


CORRUPT = {
    "bdb-random": ("var/lib/rpm/Packages", lambda fx, db, p: p.write_bytes(noise(65536, 1))),
    "bdb-truncated": (
        "var/lib/rpm/Packages",
        lambda fx, db, p: p.write_bytes((fx / BDB_FIXTURES[0]).read_bytes()[:6000]),
    ),
    "sqlite-random": (
        "var/lib/rpm/rpmdb.sqlite",
        lambda fx, db, p: p.write_bytes(noise(65536, 2)),
    ),
    "sqlite-truncated": (
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        lambda fx, db, p: p.write_bytes(db.read_bytes()[:1000]),
    ),
    "sqlite-half": (
        "var/lib/rpm/rpmdb.sqlite",
        lambda fx, db, p: p.write_bytes(db.read_bytes()[: len(db.read_bytes()) // 2]),
    ),
    "sqlite-bad-header": ("var/lib/rpm/rpmdb.sqlite", lambda fx, db, p: bad_header_sqlite(p)),
    "ndb": (
        "usr/lib/sysimage/rpm/Packages.db",
        lambda fx, db, p: p.write_bytes(b"RpmP" + noise(8188, 3)),
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_rpmdb_is_a_warning(
    case: str, edge_fixtures: Path, rpmdb_sqlite: Path, tmp_path: Path
) -> None:
    where, make = CORRUPT[case]
    root = tmp_path / "root"
    path = root / where
    path.parent.mkdir(parents=True)
    make(edge_fixtures, rpmdb_sqlite, path)
    # A good database elsewhere in the same tree is still read.
    good = root / "var" / "lib" / "rpm" / "Packages"
    if where != "var/lib/rpm/Packages":
        good.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(edge_fixtures / BDB_FIXTURES[1], good)
    inv = hullscan.inventory("dir:" + str(root))
    assert len(inv.warnings) == 1, inv.warnings
    assert inv.warnings[0].startswith(f"layer 0: {where}: rpm cataloger: ")
    assert all(p.locations != (f"/{where}",) for p in inv.packages)
    if where != "var/lib/rpm/Packages":
        assert [p.locations for p in inv.packages] == [("/var/lib/rpm/Packages",)]
    if case == "ndb":
        assert "NDB not supported" in inv.warnings[0]
