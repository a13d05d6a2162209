"""Must-show 4: a layer with packages installed by pip (from the package index) into a target dir
gives exactly what importlib.metadata lists for that dir."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import hullscan
from conftest import Built
from imagebuild import oci_add_dir, run

REQUIREMENTS = ("requests==2.32.3", "PyYAML==6.0.2", "six==1.16.0", "attrs==24.2.0", "Jinja2==3.1.4")
SITE = "/usr/lib/python3.12/site-packages"


@pytest.fixture(scope="module")
def pip_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("pip") / "site-packages"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            *REQUIREMENTS,
        ],
        check=True,
    )
    return target


@pytest.fixture(scope="module")
def python_image(
    alpine_images: dict[str, Built], pip_target: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The Alpine 3.20 image plus one layer holding the pip target dir as a site-packages."""
    layout = alpine_images["3.20.3-x86_64"].layout
    run("umoci", "tag", "--image", f"{layout}:3.20.3-x86_64", "py")
    oci_add_dir(f"{layout}:py", pip_target, SITE)
    return f"oci-dir:{layout}:py"


def test_pip_layer_matches_importlib_metadata(python_image: str, pip_target: Path) -> None:
    expected = {
        (d.metadata["Name"], d.version) for d in importlib.metadata.distributions(path=[str(pip_target)])
    }
    assert len(expected) >= 9  # requests pulls urllib3, idna, certifi, charset-normalizer; Jinja2 MarkupSafe
    inv = hullscan.inventory(python_image)
    found = {(p.name, p.version) for p in inv.packages if p.kind == "python"}
    assert found == expected
    for p in inv.packages:
        if p.kind == "python":
            assert p.ecosystem == "PyPI"
            assert p.layer_index == 1
            assert p.layer_diff_id == inv.layers[1].diff_id
            assert p.purl.startswith("pkg:pypi/")
            (loc,) = p.locations
            assert loc.startswith(SITE + "/")
            assert loc.endswith(".dist-info/METADATA")
        else:
            assert p.kind == "apk"
            assert p.layer_index == 0


def test_pypi_purl_names_are_normalised(python_image: str) -> None:
    inv = hullscan.inventory(python_image)
    purls = {p.name: p.purl for p in inv.packages if p.kind == "python"}
    assert purls["PyYAML"] == "pkg:pypi/pyyaml@6.0.2"
    assert purls["Jinja2"] == "pkg:pypi/jinja2@3.1.4"


def test_uninstall_in_later_layer(python_image: str, tmp_path: Path) -> None:
    """Deleting a dist-info directory in a later layer (a whiteout) removes the package."""
    layout, tag = python_image.removeprefix("oci-dir:").rsplit(":", 1)
    run("umoci", "tag", "--image", f"{layout}:{tag}", "py-uninstalled")
    inv = hullscan.inventory(python_image)
    six = next(p for p in inv.packages if p.name == "six")
    dist_info = six.locations[0].rsplit("/", 1)[0]
    run("umoci", "insert", "--image", f"{layout}:py-uninstalled", "--whiteout", dist_info)
    after = hullscan.inventory(f"oci-dir:{layout}:py-uninstalled")
    names = {p.name for p in after.packages}
    assert "six" not in names
    assert "requests" in names


def test_egg_info_and_dist_info_fixtures(edge_fixtures: Path) -> None:
    """syft's coverage tree: dist-info METADATA, egg-info PKG-INFO dirs, read as a root filesystem."""
    root = edge_fixtures / "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage/pkgs"
    inv = hullscan.inventory(f"dir:{root}")
    py = {(p.name, p.version) for p in inv.packages if p.kind == "python"}
    expected = set()
    for meta in [*root.glob("**/*dist-info/METADATA"), *root.glob("**/*egg-info/PKG-INFO")]:
        headers = importlib.metadata.PathDistribution(meta.parent).metadata
        expected.add((headers["Name"], headers["Version"]))
    # NAME-VER.dist-info, NAME-VER.egg-info, and the plainly named dist-info/ and egg-info/ dirs.
    assert len(expected) == 4
    assert py == expected
