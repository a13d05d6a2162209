"""Image indexes with several platforms: selection, defaults and errors that list what is there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

import hullscan
from conftest import Built


def _write_blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256" / digest).write_bytes(data)
    return "sha256:" + digest


@pytest.fixture(scope="module")
def multi_layout(alpine_images: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OCI layout whose only image is an index of the 3.20.3 amd64 and arm64 images (umoci-built)."""
    src = alpine_images["3.20.3-x86_64"].layout
    out = tmp_path_factory.mktemp("multi") / "layout"
    shutil.copytree(src, out, copy_function=os.link)
    index = json.loads((src / "index.json").read_text())
    by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}
    manifests = []
    for tag, arch in (("3.20.3-x86_64", "amd64"), ("3.20.3-aarch64", "arm64")):
        d = dict(by_tag[tag])
        d.pop("annotations", None)
        d["platform"] = {"os": "linux", "architecture": arch}
        if arch == "arm64":
            d["platform"]["variant"] = "v8"
        manifests.append(d)
    # An attestation manifest as buildkit writes them must be ignored.
    manifests.append(
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": by_tag["3.19.4-x86_64"]["digest"],
            "size": by_tag["3.19.4-x86_64"]["size"],
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        }
    )
    data = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }
    ).encode()
    digest = _write_blob(out, data)
    (out / "index.json").unlink()  # a hard link to the source layout's file: replace, don't rewrite
    (out / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "digest": digest,
                        "size": len(data),
                        "annotations": {"org.opencontainers.image.ref.name": "multi"},
                    }
                ],
            }
        )
    )
    return out


def test_default_is_linux_amd64(multi_layout: Path) -> None:
    inv = hullscan.inventory(f"oci-dir:{multi_layout}")
    assert inv.platform == "linux/amd64"
    assert {p.arch for p in inv.packages} == {"x86_64"}


@pytest.mark.parametrize("platform", ["linux/arm64", "linux/arm64/v8"])
def test_select_arm64(multi_layout: Path, platform: str) -> None:
    inv = hullscan.inventory(f"oci-dir:{multi_layout}", platform=platform)
    assert inv.platform == "linux/arm64/v8"
    assert {p.arch for p in inv.packages} == {"aarch64"}


def test_unknown_platform_lists_available(multi_layout: Path) -> None:
    with pytest.raises(hullscan.PlatformNotFoundError) as e:
        hullscan.inventory(f"oci-dir:{multi_layout}", platform="linux/s390x")
    assert "linux/amd64" in str(e.value)
    assert "linux/arm64/v8" in str(e.value)
    assert "unknown" not in str(e.value)


def test_bad_platform_syntax(multi_layout: Path) -> None:
    with pytest.raises(hullscan.PlatformNotFoundError, match="os/arch"):
        hullscan.inventory(f"oci-dir:{multi_layout}", platform="amd64")


def test_single_image_is_used_whatever_its_platform(alpine_images: dict[str, Built]) -> None:
    b = alpine_images["3.20.3-aarch64"]
    inv = hullscan.inventory(f"oci-archive:{b.oci_archive}")
    assert inv.platform == "linux/arm64"
    assert {p.arch for p in inv.packages} == {"aarch64"}
    with pytest.raises(hullscan.PlatformNotFoundError, match="linux/arm64"):
        hullscan.inventory(f"oci-archive:{b.oci_archive}", platform="linux/amd64")


def test_stereoscope_multiplatform_fixture(edge_fixtures: Path) -> None:
    layout = edge_fixtures / "stereoscope/pkg/image/oci/testdata/multiplatform_oci_dir"
    index = json.loads((layout / "index.json").read_text())
    # The fixture's platforms, read from its own blobs, not from hullscan.
    platforms = set()

    def walk(descs: list[dict[str, object]]) -> None:
        for d in descs:
            digest = str(d["digest"]).split(":")[1]
            doc = json.loads((layout / "blobs/sha256" / digest).read_text())
            if "manifests" in doc:
                walk(doc["manifests"])
            elif isinstance(d.get("platform"), dict):
                p = d["platform"]
                assert isinstance(p, dict)
                platforms.add("/".join(x for x in (p["os"], p["architecture"], p.get("variant")) if x))

    walk(index["manifests"])
    assert len(platforms) > 1
    for plat in sorted(platforms):
        inv = hullscan.inventory(f"oci-dir:{layout}", platform=plat)
        assert inv.platform == plat
