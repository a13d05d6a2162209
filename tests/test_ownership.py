"""OS packages that install language packages: the inventory keeps both records and relates them.

A language package whose metadata file (or metadata directory) an OS package's file list names gets
``owned_by`` = the purl of that OS package, as syft records an ``ownership-by-file-overlap``
relationship (parent OS package -> child). The file lists are real: dpkg's ``info/*.list`` written
by dpkg installing Debian's own python3-six (egg-info), python3-packaging (dist-info), node-ms
(package.json files under /usr/share/nodejs) and libhamcrest-java (/usr/share/java jars); rpm's
BASENAMES / DIRNAMES / DIRINDEXES written by rpm installing packages rpmbuild built; an apk
``installed`` database with entries for Alpine-style py3 packages made from the wheels on the
package index (there is no Alpine repository to install from, so those entries are synthesised from
the files actually installed).
Expected owners come from the package managers themselves (``dpkg-query -S``, ``rpm -qf``) or, for
apk, from parsing the database here, and every case is compared with syft's relationships (syft
run with its image catalogers on directories too: a root filesystem is an installed system).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import hullscan
from conftest import DebianImage, require_tool
from imagebuild import copytree, extract_rootfs, oci_add_dir, oci_from_rootfs, run
from test_rpm import db_load_input

OS_KINDS = {"deb", "apk", "rpm"}
Pair = tuple[str, str, str, str]  # (OS kind, OS package, language kind, language package)


# --- syft and hullscan, reduced to the same shape -------------------------------------------------


def syft_pairs(source: str) -> set[Pair]:
    """syft's ownership-by-file-overlap relationships from an OS package to another package."""
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    proc = subprocess.run(
        [
            require_tool("syft"),
            "scan",
            source,
            "-o",
            "json",
            "-q",
            # On a dir: source syft would otherwise read only declared packages (lock files), not
            # installed ones such as node_modules-style package.json files.
            "--override-default-catalogers",
            "image",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    doc = json.loads(proc.stdout)
    by_id = {a["id"]: a for a in doc["artifacts"]}
    pairs = set()
    for r in doc["artifactRelationships"]:
        if r["type"] != "ownership-by-file-overlap":
            continue
        parent, child = by_id[r["parent"]], by_id[r["child"]]
        if parent["type"] in OS_KINDS:
            pairs.add((parent["type"], parent["name"], child["type"], child["name"].lower()))
    return pairs


def hullscan_pairs(inv: hullscan.Inventory) -> set[Pair]:
    by_purl = {p.purl: p for p in inv.packages}
    pairs = set()
    for p in inv.packages:
        if p.owned_by is None:
            continue
        owner = by_purl[p.owned_by]  # the owner is itself in the inventory
        assert owner.kind in OS_KINDS
        assert p.kind not in OS_KINDS
        pairs.add((owner.kind, owner.name, p.kind, p.name.lower()))
    return pairs


def pkg(inv: hullscan.Inventory, kind: str, name: str) -> hullscan.Package:
    found = [p for p in inv.packages if p.kind == kind and p.name == name]
    assert len(found) == 1, (kind, name, found)
    return found[0]


# --- Debian: dpkg installs Debian's python3, node and java packages ---------------------------------

OWNED_DEBS = ("python3-six", "python3-packaging", "node-ms", "libhamcrest-java")
# (deb, language kind, language package) as dpkg-query -S and syft find them.
DEB_PAIRS = {
    ("deb", "python3-six", "python", "six"),
    ("deb", "python3-packaging", "python", "packaging"),
    ("deb", "node-ms", "npm", "ms"),
    ("deb", "node-ms", "npm", "@types/ms"),
    ("deb", "libhamcrest-java", "java-archive", "hamcrest"),
    ("deb", "libhamcrest-java", "java-archive", "hamcrest-integration"),
}
SIX = ("deb", "python3-six", "python", "six")
# What a root filesystem needs for the dpkg and Python catalogers of both tools (minbase has no
# other language package: the trees below are the images' squashed state restricted to these).
TREE = (
    "etc/os-release",
    "usr/lib/os-release",
    "etc/debian_version",
    "var/lib/dpkg",
    "usr/lib/python3",
    "usr/share/nodejs",
    "usr/share/java",
    "usr/share/maven-repo",
)
SIX_LIST = "var/lib/dpkg/info/python3-six.list"
SIX_MD5SUMS = "var/lib/dpkg/info/python3-six.md5sums"


@dataclass(frozen=True)
class DebianPy:
    layout: Path
    #: The squashed root filesystem of tag own-py as dpkg left it.
    rootfs: Path
    #: Per tag, that image's squashed state restricted to TREE.
    trees: dict[str, Path]


def trim(rootfs: Path, dest: Path) -> Path:
    for keep in TREE:
        src = rootfs / keep
        if not src.exists() and not src.is_symlink():
            continue
        dst = dest / keep
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir() and not src.is_symlink():
            copytree(src, dst)
        else:
            shutil.copy2(src, dst, follow_symlinks=False)
    return dest


@pytest.fixture(scope="module")
def debian_py(debian_image: DebianImage, tmp_path_factory: pytest.TempPathFactory) -> DebianPy:
    """The debootstrap image plus a layer in which dpkg installed OWNED_DEBS (python3, nodejs and
    a JRE are not installed: --force-depends keeps the layer small and the test fast);
    from there, one image whose top layers delete python3-six's file lists, and one in which dpkg
    purged python3-six."""
    work = tmp_path_factory.mktemp("debian-py")
    debs = work / "debs"
    debs.mkdir()
    try:
        run("apt-get", "download", *OWNED_DEBS, cwd=debs)
    except RuntimeError:
        run("apt-get", "update", "-qq")
        run("apt-get", "download", *OWNED_DEBS, cwd=debs)
    layout = debian_image.layout
    bundle = work / "bundle"
    run("umoci", "unpack", "--image", f"{layout}:base", bundle)
    rootfs = bundle / "rootfs"
    run("dpkg", f"--root={rootfs}", "--force-depends", "-i", *sorted(debs.glob("*.deb")))
    trees = {"own-py": trim(rootfs, work / "tree-own-py")}
    run("umoci", "repack", "--refresh-bundle", "--image", f"{layout}:own-py", bundle)

    run("umoci", "tag", "--image", f"{layout}:own-py", "own-nolist")
    for path in (SIX_LIST, SIX_MD5SUMS):
        run("umoci", "insert", "--image", f"{layout}:own-nolist", "--whiteout", "/" + path)
    trees["own-nolist"] = copytree(trees["own-py"], work / "tree-own-nolist")
    for path in (SIX_LIST, SIX_MD5SUMS):
        (trees["own-nolist"] / path).unlink()

    # The own-py rootfs is kept for the tests: purge in a copy of the bundle.
    purge = work / "bundle-purge"
    run("cp", "-a", bundle, purge)  # device nodes included, as they are
    run("dpkg", f"--root={purge / 'rootfs'}", "--purge", "python3-six")
    trees["own-purged"] = trim(purge / "rootfs", work / "tree-own-purged")
    run("umoci", "repack", "--image", f"{layout}:own-purged", purge)
    return DebianPy(layout, rootfs, trees)


def dpkg_owners(rootfs: Path, path: str) -> set[str]:
    """The packages dpkg says own ``path`` (absolute in the image); empty when none does."""
    proc = subprocess.run(
        ["dpkg-query", f"--admindir={rootfs / 'var/lib/dpkg'}", "-S", path],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return set()
    return {o.strip() for o in proc.stdout.split(": ", 1)[0].split(",")}


ECOSYSTEMS = {"python": "PyPI", "npm": "npm", "java-archive": "Maven"}


def test_debian_language_packages_keep_both_records_and_are_owned(debian_py: DebianPy) -> None:
    inv = hullscan.inventory(f"oci-dir:{debian_py.layout}:own-py")
    assert inv.warnings == ()
    language = [p for p in inv.packages if p.kind not in OS_KINDS]
    assert {(p.kind, p.name.lower()) for p in language} == {(k, n) for _, _, k, n in DEB_PAIRS}
    for p in language:
        (location,) = p.locations
        # The file itself (for a jar inside a jar: the outer one).
        (owner_name,) = dpkg_owners(debian_py.rootfs, location.partition(":")[0])
        owner = pkg(inv, "deb", owner_name)
        assert p.owned_by == owner.purl
        assert owner.owned_by is None
        # Both came with the second layer.
        assert p.layer_index == owner.layer_index == 1
        # The language record keeps its own identity for matching its ecosystem's advisories.
        assert p.ecosystem == ECOSYSTEMS[p.kind]
        assert owner.ecosystem == "Debian:12"
    assert sum(p.owned_by is not None for p in inv.packages) == len(DEB_PAIRS)
    # The JSON output carries the relation; the layer cache keeps it.
    rows = {p["name"]: p for p in inv.to_dict()["packages"]}
    assert rows["six"]["owned_by"] == pkg(inv, "deb", "python3-six").purl
    assert rows["python3-six"]["owned_by"] is None
    again = hullscan.inventory(f"oci-dir:{debian_py.layout}:own-py")
    assert all(layer.cached for layer in again.layers)
    assert again.packages == inv.packages
    # syft on the whole root filesystem relates the same pairs.
    assert hullscan_pairs(inv) == syft_pairs(f"dir:{debian_py.rootfs}") == DEB_PAIRS


@pytest.mark.parametrize("tag", ["own-py", "own-nolist", "own-purged"])
def test_debian_layers_agree_with_syft(tag: str, debian_py: DebianPy) -> None:
    """hullscan on the layered image gives syft's pairs for the squashed state: deleting
    python3-six's file lists in a later layer leaves both packages unrelated, a purge removes both."""
    tree = debian_py.trees[tag]
    expected = syft_pairs(f"dir:{tree}")
    inv = hullscan.inventory(f"oci-dir:{debian_py.layout}:{tag}")
    assert inv.warnings == ()
    assert hullscan_pairs(inv) == expected
    assert hullscan_pairs(hullscan.inventory(f"dir:{tree}")) == expected
    names = {(p.kind, p.name) for p in inv.packages}
    if tag == "own-py":
        assert expected == DEB_PAIRS
    elif tag == "own-nolist":
        assert expected == DEB_PAIRS - {SIX}
        assert {("deb", "python3-six"), ("python", "six")} <= names
        assert pkg(inv, "python", "six").owned_by is None
        assert {p.layer_index for p in inv.packages if p.name in ("six", "python3-six")} == {1}
    else:
        assert expected == DEB_PAIRS - {SIX}
        assert not names & {("deb", "python3-six"), ("python", "six")}


def test_list_alone_decides_like_dpkg(debian_py: DebianPy, tmp_path: Path) -> None:
    """A difference, explained: with only the .list gone, dpkg no longer knows who owns six's
    PKG-INFO and neither does hullscan, which reads the .list as dpkg -S does; syft also reads
    info/*.md5sums, which still name it, and keeps the pair."""
    tree = copytree(debian_py.trees["own-py"], tmp_path / "tree")
    (tree / SIX_LIST).unlink()
    inv = hullscan.inventory(f"dir:{tree}")
    six = pkg(inv, "python", "six")
    assert dpkg_owners(tree, six.locations[0]) == set()
    assert six.owned_by is None
    theirs = syft_pairs(f"dir:{tree}")
    assert theirs - hullscan_pairs(inv) == {SIX}
    assert hullscan_pairs(inv) <= theirs


# --- Alpine: py3 packages in lib/apk/db/installed ------------------------------------------------

SITE = "usr/lib/python3.12/site-packages"
# Wheels that Alpine 3.20 packages as py3-six 1.16.0-r9 and py3-packaging 24.0-r1.
APK_WHEELS = {"six==1.16.0": ("py3-six", "1.16.0-r9"), "packaging==24.0": ("py3-packaging", "24.0-r1")}
# Installed by "pip", not apk: no database entry, so owned by nobody.
PIP_WHEEL = "attrs==24.2.0"


def _apk_checksum(data: bytes) -> str:
    return "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()  # apk's Q1 checksums are SHA-1


def _install_wheel(wheel: Path, root: Path) -> list[str]:
    """Unpack a wheel into the site-packages of ``root``; returns the root-relative file paths."""
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(root / SITE)
        return sorted(f"{SITE}/{n}" for n in zf.namelist() if not n.endswith("/"))


def _apk_entry(name: str, version: str, files: list[str], root: Path) -> str:
    """An ``installed`` database block for ``files``, in the order and shape apk writes it: a
    ``F:`` line per directory, then ``R:`` and ``Z:`` lines for the files in it."""
    lines = [
        "C:" + _apk_checksum(name.encode()),
        f"P:{name}",
        f"V:{version}",
        "A:noarch",
        f"S:{sum((root / f).stat().st_size for f in files)}",
        f"I:{sum((root / f).stat().st_size for f in files)}",
        f"T:{name} (hullscan test)",
        "U:https://example.invalid/",
        "L:MIT",
        f"o:{name}",
        "D:python3",
    ]
    dirs: dict[str, list[str]] = {}
    for f in files:
        d, base = f.rsplit("/", 1)
        dirs.setdefault(d, []).append(base)
    for d in sorted(dirs):
        lines.append(f"F:{d}")
        for base in dirs[d]:
            lines += [f"R:{base}", "Z:" + _apk_checksum((root / d / base).read_bytes())]
    return "\n".join(lines) + "\n"


MINIROOTFS = "alpine-minirootfs-3.20.3-x86_64.tar.gz"


@pytest.fixture(scope="module")
def alpine_py(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Alpine 3.20.3 (the minirootfs) plus a layer holding two py3 packages (files and the
    rewritten database) and one pip-installed distribution. Returns the image reference and the
    squashed root filesystem."""
    work = tmp_path_factory.mktemp("alpine-py")
    wheels = work / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(wheels),
            *APK_WHEELS,
            PIP_WHEEL,
        ],
        check=True,
    )
    root = extract_rootfs(data_dir / "images" / "alpine-minirootfs" / MINIROOTFS, work / "rootfs")
    layout = work / "layout"
    ref = oci_from_rootfs(root, layout, "own-py")
    db = root / "lib/apk/db/installed"
    text = db.read_text()
    assert text.endswith("\n\n")
    for req, (name, version) in APK_WHEELS.items():
        (wheel,) = wheels.glob(req.split("==")[0] + "-*.whl")
        text += _apk_entry(name, version, _install_wheel(wheel, root), root) + "\n"
    (wheel,) = wheels.glob(PIP_WHEEL.split("==")[0] + "-*.whl")
    _install_wheel(wheel, root)
    db.write_text(text)
    # The second layer: what changed.
    layer = work / "layer"
    copytree(root / "usr/lib/python3.12", layer / "usr/lib/python3.12")
    (layer / "lib/apk/db").mkdir(parents=True)
    shutil.copy2(db, layer / "lib/apk/db/installed")
    oci_add_dir(ref, layer, "/")
    return f"oci-dir:{layout}:own-py", root


def apk_owners(db: Path) -> dict[str, str]:
    """Owned file -> package, parsed here from the database independently of hullscan."""
    owners = {}
    for block in db.read_text().split("\n\n"):
        name, d = None, ""
        for line in block.splitlines():
            key, _, value = line.partition(":")
            if key == "P":
                name = value
            elif key == "F":
                d = value
            elif key == "R" and name is not None:
                owners[f"/{d}/{value}"] = name
    return owners


def test_alpine_py3_packages_are_owned(alpine_py: tuple[str, Path]) -> None:
    source, root = alpine_py
    inv = hullscan.inventory(source)
    # umoci 0.4.7's `insert` of a directory leaves the tar without its end-of-archive blocks (the
    # last file's padding and the two zero blocks are missing; every entry is complete).
    assert set(inv.warnings) <= {"layer 1: layer tar ends without its end-of-archive blocks"}
    installed = {
        d.metadata["Name"].lower(): d for d in importlib.metadata.distributions(path=[str(root / SITE)])
    }
    assert set(installed) == {"six", "packaging", "attrs"}
    owners = apk_owners(root / "lib/apk/db/installed")
    python = {p.name.lower(): p for p in inv.packages if p.kind == "python"}
    assert set(python) == set(installed)
    for name, p in python.items():
        owner_name = owners.get(p.locations[0])
        if name == "attrs":
            assert owner_name is None
            assert p.owned_by is None
            continue
        assert owner_name is not None
        owner = pkg(inv, "apk", owner_name)
        assert p.owned_by == owner.purl
        assert owner.purl.startswith("pkg:apk/alpine/")
        assert owner.ecosystem == "Alpine:v3.20"
        assert p.layer_index == owner.layer_index == 1
    # The base image's packages own no language package; they keep their first layer.
    assert pkg(inv, "apk", "musl").layer_index == 0
    assert hullscan_pairs(inv) == syft_pairs(f"dir:{root}")
    assert len(hullscan_pairs(inv)) == 2


# --- rpm: packages built by rpmbuild and installed by rpm into a root --------------------------------

SPECS = {
    # A dist-info directory and a single-file egg-info.
    "python3-hs-owned": """\
Name: python3-hs-owned
Version: 1.0
Release: 1.fc40
Summary: owned
License: MIT
BuildArch: noarch
%description
owned
%install
d=%{buildroot}/usr/lib/python3.12/site-packages
mkdir -p $d/hs_owned-1.0.dist-info $d/hs_owned
printf 'Metadata-Version: 2.1\\nName: hs-owned\\nVersion: 1.0\\n' > $d/hs_owned-1.0.dist-info/METADATA
echo hs_owned > $d/hs_owned-1.0.dist-info/top_level.txt
echo > $d/hs_owned/__init__.py
printf 'Metadata-Version: 1.1\\nName: hs-egg\\nVersion: 2.0\\n' > $d/hs_egg-2.0-py3.12.egg-info
%files
/usr/lib/python3.12/site-packages/hs_owned-1.0.dist-info
/usr/lib/python3.12/site-packages/hs_owned
/usr/lib/python3.12/site-packages/hs_egg-2.0-py3.12.egg-info
""",
    # Shares the egg-info file (identical content, as rpm allows) and owns no other language file.
    "hs-shared": """\
Name: hs-shared
Version: 2.0
Release: 1
Summary: shared
License: MIT
%description
shared
%install
d=%{buildroot}/usr/lib/python3.12/site-packages
mkdir -p $d %{buildroot}/usr/share/hs-shared
printf 'Metadata-Version: 1.1\\nName: hs-egg\\nVersion: 2.0\\n' > $d/hs_egg-2.0-py3.12.egg-info
echo x > %{buildroot}/usr/share/hs-shared/readme
%files
/usr/lib/python3.12/site-packages/hs_egg-2.0-py3.12.egg-info
/usr/share/hs-shared/readme
""",
}

RPM_SQLITE = ("--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite")


@pytest.fixture(scope="module")
def rpm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root into which rpm installed the SPECS packages (files and rpmdb.sqlite)."""
    top = tmp_path_factory.mktemp("rpmbuild-own")
    (top / "SPECS").mkdir()
    for name, text in SPECS.items():
        spec = top / "SPECS" / f"{name}.spec"
        spec.write_text(text)
        run(
            require_tool("rpmbuild"),
            "-bb",
            "--define",
            f"_topdir {top}",
            "--define",
            "debug_package %{nil}",
            spec,
        )
    rpms = sorted((top / "RPMS").glob("*/*.rpm"))
    assert len(rpms) == len(SPECS)
    root = tmp_path_factory.mktemp("rpm-root")
    run(
        require_tool("rpm"),
        "-i",
        "--root",
        root,
        *RPM_SQLITE,
        "--nodeps",
        "--noscripts",
        "--ignorearch",
        *rpms,
    )
    return root


def rpm_owners(root: Path, path: str) -> set[str]:
    out = run("rpm", "-qf", "--root", root, *RPM_SQLITE, "--qf", "%{NAME}\n", path)
    return set(out.split())


@pytest.mark.parametrize("backend", ["sqlite", "bdb"])
def test_rpm_python_packages_are_owned(backend: str, rpm_root: Path, tmp_path: Path) -> None:
    root = rpm_root
    if backend == "bdb":
        # The same headers in a Berkeley DB Packages file (what CentOS 7 / Amazon Linux 2 have),
        # written by Berkeley DB's own db_load as tests/test_rpm.py does.
        root = copytree(rpm_root, tmp_path / "root")
        dbdir = root / "var/lib/rpm"
        con = sqlite3.connect(f"file:{dbdir / 'rpmdb.sqlite'}?mode=ro", uri=True)
        try:
            blobs = [(int(h), bytes(b)) for h, b in con.execute("SELECT hnum, blob FROM Packages")]
        finally:
            con.close()
        for f in dbdir.iterdir():
            f.unlink()
        subprocess.run(
            [require_tool("db5.3_load"), str(dbdir / "Packages")],
            input=db_load_input(blobs, 4096, False).encode(),
            check=True,
            capture_output=True,
        )
    inv = hullscan.inventory(f"dir:{root}")
    assert inv.warnings == ()
    assert {(p.kind, p.name) for p in inv.packages} == {
        ("rpm", "python3-hs-owned"),
        ("rpm", "hs-shared"),
        ("python", "hs-owned"),
        ("python", "hs-egg"),
    }
    for p in inv.packages:
        if p.kind == "rpm":
            assert p.owned_by is None
            continue
        owners = rpm_owners(rpm_root, p.locations[0])
        assert owners
        # Several owners (a shared file): owned_by names one of them, the first purl in order.
        purls = sorted(pkg(inv, "rpm", o).purl for o in owners)
        assert p.owned_by == purls[0]
    # syft relates a child to every owner; owned_by keeps one. So syft's pairs are ours plus the
    # other owners of shared files, and nothing else.
    ours = hullscan_pairs(inv)
    theirs = syft_pairs(f"dir:{root}")
    assert ours <= theirs
    extra = theirs - ours
    assert extra == {("rpm", "python3-hs-owned", "python", "hs-egg")}
    egg = pkg(inv, "python", "hs-egg")
    assert rpm_owners(rpm_root, egg.locations[0]) == {"python3-hs-owned", "hs-shared"}


def test_unowned_copies_stay_unowned(debian_py: DebianPy, tmp_path: Path) -> None:
    """Metadata copied elsewhere (a venv's copy of the same distribution) is not owned: ownership is
    by path, not by name and version."""
    root = copytree(debian_py.trees["own-py"], tmp_path / "root")
    src = root / "usr/lib/python3/dist-packages/packaging-23.0.dist-info"
    dst = root / "opt/venv/lib/python3.11/site-packages/packaging-23.0.dist-info"
    dst.parent.mkdir(parents=True)
    shutil.copytree(src, dst)
    inv = hullscan.inventory(f"dir:{root}")
    copies = sorted((p.locations[0], p.owned_by) for p in inv.packages if p.name == "packaging")
    assert [loc for loc, _ in copies] == [
        "/opt/venv/lib/python3.11/site-packages/packaging-23.0.dist-info/METADATA",
        "/usr/lib/python3/dist-packages/packaging-23.0.dist-info/METADATA",
    ]
    assert copies[0][1] is None
    assert copies[1][1] == pkg(inv, "deb", "python3-packaging").purl
    assert hullscan_pairs(inv) == syft_pairs(f"dir:{root}")
