"""Shared test fixtures: the real data under ../shared/data and tools built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imagebuild import debootstrap, docker_archive, extract_rootfs, oci_archive, oci_from_rootfs, run
from registry_servers import Moto, Postgres

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HULLSCAN_TEST_DATA", REPO.parent / "shared" / "data")).resolve()


def require_tool(name: str) -> str:
    """The path of a tool the tests need; .ci/run installs every one of them, so a missing tool
    fails."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (.ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"test data not found at {DATA}; set HULLSCAN_TEST_DATA")
    return DATA


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """One ``moto_server`` on 127.0.0.1 for the session (ECR: tokens, repositories, images)."""
    require_tool("moto_server")
    server = Moto.start(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


BINDIR = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A private PostgreSQL cluster (Debian's postgresql binaries) on 127.0.0.1 for the session."""
    if not (BINDIR / "initdb").is_file():
        pytest.fail(f"PostgreSQL is not installed ({BINDIR}; scripts/install-deps installs it)")
    server = Postgres(BINDIR)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache dir, so no test sees another's layer cache."""
    cache = tmp_path / "hullscan-cache"
    monkeypatch.setenv("HULLSCAN_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="session")
def edge_fixtures(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """../shared/data/fixtures/pkgdb-and-image-edge-fixtures.tar.zst, unpacked once."""
    out = tmp_path_factory.mktemp("edge-fixtures")
    archive = data_dir / "fixtures" / "pkgdb-and-image-edge-fixtures.tar.zst"
    zstd = subprocess.run([require_tool("zstd"), "-dc", str(archive)], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(out)], input=zstd.stdout, check=True)
    return out


def apk_installed(rootfs_db: Path) -> set[tuple[str, str, str]]:
    """(name, version, arch) from an apk ``installed`` database, parsed here independently of hullscan."""
    rows = set()
    for block in rootfs_db.read_text().split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        if "P" in fields:
            rows.add((fields["P"], fields["V"], fields.get("A", "")))
    return rows


MINIROOTFS = sorted((DATA / "images" / "alpine-minirootfs").glob("*.tar.gz"))


@dataclass(frozen=True)
class Built:
    name: str
    rootfs: Path
    layout: Path
    tag: str
    docker_archive: Path
    oci_archive: Path
    arch: str


def _arch(tarball: Path) -> str:
    return "arm64" if "aarch64" in tarball.name else "amd64"


@pytest.fixture(scope="session")
def alpine_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    require_tool("umoci")
    require_tool("skopeo")
    assert MINIROOTFS, f"no minirootfs tarballs under {DATA}"
    root = tmp_path_factory.mktemp("alpine")
    layout = root / "layout"
    built = {}
    for tb in MINIROOTFS:
        name = tb.name.removeprefix("alpine-minirootfs-").removesuffix(".tar.gz")
        rootfs = extract_rootfs(tb, root / "rootfs" / name)
        ref = oci_from_rootfs(rootfs, layout, name)
        arch = _arch(tb)
        if arch != "amd64":
            run("umoci", "config", "--image", ref, f"--architecture={arch}")
        built[name] = Built(
            name,
            rootfs,
            layout,
            name,
            docker_archive(layout, name, root / f"{name}.docker.tar"),
            oci_archive(layout, name, root / f"{name}.oci.tar"),
            arch,
        )
    return built


EXTRA = ("libyaml-0-2", "libjansson4")


@dataclass(frozen=True)
class DebianImage:
    layout: Path
    rootfs: Path
    work: Path


def _base_rootfs(work: Path) -> Path:
    """debootstrap once; reused across local runs through tests/.fixtures (never in a clean clone)."""
    require_tool("debootstrap")
    keep = REPO / "tests" / ".fixtures" / "bookworm-minbase.tar"
    rootfs = work / "rootfs"
    rootfs.mkdir()
    if keep.exists():
        run("tar", "-xpf", keep, "-C", rootfs)
        return rootfs
    debootstrap(rootfs)
    keep.parent.mkdir(parents=True, exist_ok=True)
    run("tar", "-cpf", keep, "-C", rootfs, ".")
    return rootfs


@pytest.fixture(scope="session")
def debian_image(tmp_path_factory: pytest.TempPathFactory) -> DebianImage:
    require_tool("umoci")
    work = tmp_path_factory.mktemp("debian")
    rootfs = _base_rootfs(work)
    layout = work / "layout"
    oci_from_rootfs(rootfs, layout, "base")

    # Layer 2: install two libraries with dpkg into the unpacked image, then repack as a new layer.
    debs = work / "debs"
    debs.mkdir()
    try:
        run("apt-get", "download", *EXTRA, cwd=debs)
    except RuntimeError:
        run("apt-get", "update", "-qq")
        run("apt-get", "download", *EXTRA, cwd=debs)
    bundle = work / "bundle-plus"
    run("umoci", "unpack", "--image", f"{layout}:base", bundle)
    run("dpkg", f"--root={bundle / 'rootfs'}", "-i", *sorted(debs.glob("*.deb")))
    run("umoci", "repack", "--image", f"{layout}:plus", bundle)

    # Layer 3: purge one of them (whiteouts of its files, a rewritten status).
    bundle = work / "bundle-removed"
    run("umoci", "unpack", "--image", f"{layout}:plus", bundle)
    run("dpkg", f"--root={bundle / 'rootfs'}", "--purge", EXTRA[0])
    run("umoci", "repack", "--image", f"{layout}:removed", bundle)

    # Layer 3': a whiteout of the status file itself.
    run("umoci", "tag", "--image", f"{layout}:plus", "whiteout")
    run("umoci", "insert", "--image", f"{layout}:whiteout", "--whiteout", "/var/lib/dpkg/status")

    # Layer 3'': an opaque /var/lib/dpkg holding the base image's status only.
    opq = work / "opaque-src"
    opq.mkdir()
    shutil.copy2(rootfs / "var/lib/dpkg/status", opq / "status")
    run("umoci", "tag", "--image", f"{layout}:plus", "opaque")
    run("umoci", "insert", "--image", f"{layout}:opaque", "--opaque", opq, "/var/lib/dpkg")
    return DebianImage(layout, rootfs, work)
