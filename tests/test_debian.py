"""Must-show 2: a Debian bookworm image built by debootstrap (minbase, from the machine's apt source)
and packed with umoci gives exactly what dpkg-query prints; a layer that adds packages owns them; a
purge (whiteouts + rewritten status), a whiteout of the status file and an opaque /var/lib/dpkg give
the squashed state, as umoci's own unpack of the same image shows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest  # noqa: F401

import hullscan
from conftest import EXTRA, DebianImage
from imagebuild import docker_archive, run


def dpkg_rows(rootfs: Path) -> set[tuple[str, str, str, str, str]]:
    """(package, version, arch, source, source version) of installed packages, from dpkg-query."""
    admin = rootfs / "var/lib/dpkg"
    if not (admin / "status").exists():
        return set()
    out = run(
        "dpkg-query",
        f"--admindir={admin}",
        "-W",
        "-f=${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}"
        "\t${db:Status-Status}\n",
    )
    rows = set()
    for line in out.splitlines():
        *fields, status = line.split("\t")
        if status == "installed":
            rows.add(tuple(fields))
    return rows  # type: ignore[return-value]


def unpacked(layout: Path, tag: str, dest: Path) -> Path:
    """The image's squashed root filesystem as umoci (an independent implementation) unpacks it."""
    if dest.exists():
        shutil.rmtree(dest)
    run("umoci", "unpack", "--image", f"{layout}:{tag}", dest)
    return dest / "rootfs"


def _rows(inv: hullscan.Inventory) -> set[tuple[str, str, str, str, str]]:
    return {
        (p.name, p.version, p.arch or "", p.source_name or "", p.source_version or "")
        for p in inv.packages
        if p.kind == "deb"
    }


def test_base_matches_dpkg_query(debian_image: DebianImage) -> None:
    expected = dpkg_rows(debian_image.rootfs)
    assert len(expected) > 50
    inv = hullscan.inventory(f"oci-dir:{debian_image.layout}:base")
    assert _rows(inv) == expected
    assert inv.distro is not None
    assert inv.distro.id == "debian"
    assert inv.distro.ecosystem == "Debian:12"
    assert {p.layer_index for p in inv.packages} == {0}
    libc = next(p for p in inv.packages if p.name == "libc6")
    assert libc.purl.startswith("pkg:deb/debian/libc6@")
    assert "distro=debian-12" in libc.purl
    assert "upstream=glibc" in libc.purl
    assert libc.locations == ("/var/lib/dpkg/status",)


def test_added_layer_owns_added_packages(debian_image: DebianImage, tmp_path: Path) -> None:
    expected = dpkg_rows(unpacked(debian_image.layout, "plus", tmp_path / "u"))
    inv = hullscan.inventory(f"oci-dir:{debian_image.layout}:plus")
    assert _rows(inv) == expected
    assert len(inv.layers) == 2
    by_name = {p.name: p for p in inv.packages}
    base = {r[0] for r in dpkg_rows(debian_image.rootfs)}
    for name, p in by_name.items():
        want = 1 if name not in base else 0
        assert p.layer_index == want, name
        assert p.layer_diff_id == inv.layers[want].diff_id
        assert p.layer_digest == inv.layers[want].digest
    assert {n for n, p in by_name.items() if p.layer_index == 1} == set(EXTRA)


def test_purge_in_a_later_layer(debian_image: DebianImage, tmp_path: Path) -> None:
    expected = dpkg_rows(unpacked(debian_image.layout, "removed", tmp_path / "u"))
    inv = hullscan.inventory(f"oci-dir:{debian_image.layout}:removed")
    assert _rows(inv) == expected
    names = {p.name: p.layer_index for p in inv.packages}
    assert EXTRA[0] not in names
    assert names[EXTRA[1]] == 1


def test_whiteout_of_status_file(debian_image: DebianImage, tmp_path: Path) -> None:
    assert dpkg_rows(unpacked(debian_image.layout, "whiteout", tmp_path / "u")) == set()
    inv = hullscan.inventory(f"oci-dir:{debian_image.layout}:whiteout")
    assert _rows(inv) == set()
    assert inv.distro is not None
    assert inv.distro.ecosystem == "Debian:12"


def test_opaque_directory(debian_image: DebianImage, tmp_path: Path) -> None:
    expected = dpkg_rows(unpacked(debian_image.layout, "opaque", tmp_path / "u"))
    assert expected == dpkg_rows(debian_image.rootfs)
    inv = hullscan.inventory(f"oci-dir:{debian_image.layout}:opaque")
    assert _rows(inv) == expected


def test_docker_archive_of_same_image(debian_image: DebianImage, tmp_path: Path) -> None:
    archive = docker_archive(debian_image.layout, "plus", tmp_path / "plus.tar")
    a = hullscan.inventory(f"docker-archive:{archive}")
    b = hullscan.inventory(f"oci-dir:{debian_image.layout}:plus")
    assert [(p.name, p.version, p.layer_diff_id) for p in a.packages] == [
        (p.name, p.version, p.layer_diff_id) for p in b.packages
    ]


def test_rootfs_dir_matches(debian_image: DebianImage) -> None:
    inv = hullscan.inventory(f"dir:{debian_image.rootfs}")
    assert _rows(inv) == dpkg_rows(debian_image.rootfs)


def test_cli_json(debian_image: DebianImage) -> None:
    proc = subprocess.run(
        ["hullscan", "inventory", f"oci-dir:{debian_image.layout}:plus", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    doc = json.loads(proc.stdout)
    pkgs = doc["packages"]
    assert {p["name"] for p in pkgs} >= set(EXTRA)
    for key in (
        "name",
        "version",
        "ecosystem",
        "purl",
        "source_name",
        "source_version",
        "arch",
        "layer_diff_id",
        "layer_digest",
        "locations",
    ):
        assert all(key in p for p in pkgs), key
