"""Must-show 1: every Alpine minirootfs, packed by umoci (OCI layout, OCI archive) and skopeo
(docker-archive), and the two real docker-archive images give exactly the packages of their apk db."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, MINIROOTFS, Built, apk_installed

DOCKER_ARCHIVES = sorted((DATA / "images" / "docker-archive").glob("*.docker-archive.tar.gz"))


def _inv_set(inv: hullscan.Inventory) -> set[tuple[str, str, str]]:
    assert all(p.kind == "apk" for p in inv.packages)
    return {(p.name, p.version, p.arch or "") for p in inv.packages}


@pytest.mark.parametrize("name", [p.name.removeprefix("alpine-minirootfs-")[:-7] for p in MINIROOTFS])
@pytest.mark.parametrize("form", ["oci-dir", "oci-archive", "docker-archive"])
def test_minirootfs_packages(alpine_images: dict[str, Built], name: str, form: str) -> None:
    b = alpine_images[name]
    expected = apk_installed(b.rootfs / "lib/apk/db/installed")
    assert expected
    source = {
        "oci-dir": f"oci-dir:{b.layout}:{b.tag}",
        "oci-archive": f"oci-archive:{b.oci_archive}",
        "docker-archive": f"docker-archive:{b.docker_archive}",
    }[form]
    inv = hullscan.inventory(source, platform=f"linux/{b.arch}")
    assert _inv_set(inv) == expected
    assert inv.distro is not None
    assert inv.distro.id == "alpine"
    release = (b.rootfs / "etc/alpine-release").read_text().strip()
    assert inv.distro.version_id == release
    if "_alpha" in release:
        assert inv.distro.ecosystem == "Alpine:edge"
    else:
        assert inv.distro.ecosystem == "Alpine:v" + ".".join(release.split(".")[:2])
    assert len(inv.layers) == 1
    layer = inv.layers[0]
    for p in inv.packages:
        assert p.ecosystem == inv.distro.ecosystem
        assert p.layer_diff_id == layer.diff_id
        assert p.layer_digest == layer.digest
        assert p.locations == ("/lib/apk/db/installed",)
        assert p.purl.startswith(f"pkg:apk/alpine/{p.name}@{p.version}?arch={p.arch}")
        assert f"distro=alpine-{release}" in p.purl


def test_rootfs_dir_source(alpine_images: dict[str, Built]) -> None:
    b = alpine_images["3.20.3-x86_64"]
    inv = hullscan.inventory(f"dir:{b.rootfs}")
    assert _inv_set(inv) == apk_installed(b.rootfs / "lib/apk/db/installed")
    # A bare directory path is sniffed as a root filesystem, a bare layout path as an OCI layout.
    assert hullscan.inventory(str(b.rootfs)).source_type == "dir"
    with pytest.raises(hullscan.ImageFormatError, match="several images"):
        hullscan.inventory(str(b.layout))
    assert hullscan.inventory(f"{b.layout}:3.20.3-x86_64").source_type == "oci-dir"


@pytest.mark.parametrize("archive", DOCKER_ARCHIVES, ids=lambda p: p.name)
def test_real_docker_archives(archive: Path, tmp_path: Path) -> None:
    # The expected packages come from the layer's own apk db, read with the standard library.
    with tarfile.open(archive) as outer:
        manifest = outer.extractfile("manifest.json")
        assert manifest is not None
        import json

        layers = json.loads(manifest.read())[0]["Layers"]
        assert len(layers) == 1
        inner_f = outer.extractfile(layers[0])
        assert inner_f is not None
        with tarfile.open(fileobj=inner_f) as inner:
            db = inner.extractfile("lib/apk/db/installed")
            assert db is not None
            (tmp_path / "installed").write_bytes(db.read())
    expected = apk_installed(tmp_path / "installed")
    assert len(expected) == 14
    for source in (str(archive), f"docker-archive:{archive}"):
        inv = hullscan.inventory(source)
        assert inv.source_type == "docker-archive"
        assert _inv_set(inv) == expected
        assert inv.distro is not None
        assert inv.distro.ecosystem in ("Alpine:v3.10", "Alpine:v3.11")
        assert inv.repo_tags


def test_umoci_unpack_agrees(alpine_images: dict[str, Built], tmp_path: Path) -> None:
    """umoci's own unpack of the image (an independent reader) has the same apk db."""
    b = alpine_images["3.16.9-x86_64"]
    subprocess.run(
        ["umoci", "unpack", "--image", f"{b.layout}:{b.tag}", str(tmp_path / "bundle")],
        check=True,
        capture_output=True,
    )
    expected = apk_installed(tmp_path / "bundle/rootfs/lib/apk/db/installed")
    assert _inv_set(hullscan.inventory(f"oci-dir:{b.layout}:{b.tag}")) == expected
