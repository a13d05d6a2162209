"""The layer cache: keyed by (diff_id, cataloger versions); a warm inventory reads no layer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, Built
from hullscan.cache import catalogers_key


def _layers_of(layout: Path, tag: str) -> list[Path]:
    index = json.loads((layout / "index.json").read_text())
    (desc,) = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    manifest = json.loads((layout / "blobs/sha256" / desc["digest"][7:]).read_text())
    return [layout / "blobs/sha256" / layer["digest"][7:] for layer in manifest["layers"]]


@pytest.fixture
def layout_copy(alpine_images: dict[str, Built], tmp_path: Path) -> tuple[Path, str]:
    src = alpine_images["3.18.9-x86_64"].layout
    dst = tmp_path / "layout"
    shutil.copytree(src, dst)
    return dst, "3.18.9-x86_64"


def test_warm_inventory_reads_no_layer(layout_copy: tuple[Path, str], isolated_cache: Path) -> None:
    layout, tag = layout_copy
    cold = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    assert [layer.cached for layer in cold.layers] == [False]
    # Replace every layer blob with garbage of the same size: reading one would now fail.
    for blob in _layers_of(layout, tag):
        size = blob.stat().st_size
        blob.write_bytes(os.urandom(size))
    warm = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    assert [layer.cached for layer in warm.layers] == [True]
    assert warm.packages == cold.packages
    assert warm.distro == cold.distro
    # Without the cache the damaged blob is read, and refused.
    with pytest.raises((hullscan.DigestMismatchError, hullscan.LayerError)):
        hullscan.inventory(f"oci-dir:{layout}:{tag}", use_cache=False)


def test_cache_key_includes_cataloger_versions(layout_copy: tuple[Path, str], isolated_cache: Path) -> None:
    layout, tag = layout_copy
    inv = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    entries = list((isolated_cache / "layers").rglob("*.json"))
    assert [e.relative_to(isolated_cache / "layers").parts[0] for e in entries] == [catalogers_key()]
    assert entries[0].stem == inv.layers[0].diff_id.split(":")[1]


def test_damaged_cache_entry_is_discarded(layout_copy: tuple[Path, str], isolated_cache: Path) -> None:
    layout, tag = layout_copy
    cold = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    (entry,) = (isolated_cache / "layers").rglob("*.json")
    entry.write_bytes(entry.read_bytes()[:100])
    again = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    assert [layer.cached for layer in again.layers] == [False]
    assert again.packages == cold.packages
    # ... and the entry was rewritten whole.
    third = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    assert [layer.cached for layer in third.layers] == [True]


def test_cache_dir_argument_and_no_temp_left(isolated_cache: Path, tmp_path: Path) -> None:
    """A gzip-compressed docker-archive is decompressed into the cache's tmp dir, removed after."""
    archive = DATA / "images/docker-archive/trivy-alpine-311.docker-archive.tar.gz"
    other = tmp_path / "elsewhere"
    inv = hullscan.inventory(str(archive), cache_dir=other)
    assert len(inv.packages) == 14
    assert list((other / "tmp").iterdir()) == []
    assert len(list((other / "layers").rglob("*.json"))) == 1
    assert not isolated_cache.exists()


def test_unwritable_cache_entry_is_a_warning(layout_copy: tuple[Path, str], isolated_cache: Path) -> None:
    """A cache that cannot be written costs speed, not the scan."""
    layout, tag = layout_copy
    cold = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    (entry,) = (isolated_cache / "layers").rglob("*.json")
    entry.unlink()
    entry.mkdir()  # something in the way of the entry
    inv = hullscan.inventory(f"oci-dir:{layout}:{tag}")
    assert inv.packages == cold.packages
    assert [layer.cached for layer in inv.layers] == [False]
    assert any("layer cache entry" in w for w in inv.warnings)
