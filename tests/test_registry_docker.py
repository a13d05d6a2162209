"""``docker:REF`` against a real Docker daemon (Debian's docker.io) started by the tests: its own
data root, socket and exec root in a temporary directory, the vfs storage driver and no
networking (no container is ever run: images are only loaded and exported)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, require_tool
from imagebuild import docker_archive, extract_rootfs, oci_add_dir, oci_init


@pytest.fixture(scope="session")
def dockerd() -> Iterator[str]:
    """A private dockerd; yields its DOCKER_HOST."""
    if os.geteuid() != 0:
        pytest.fail("dockerd needs root (CI runs as root)")
    exe = shutil.which("dockerd") or ("/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None)
    if exe is None:
        pytest.fail("dockerd is not installed (scripts/install-deps installs docker.io)")
    # Short paths: containerd's socket lives under the exec root, and unix socket paths are short.
    work = Path(tempfile.mkdtemp(prefix="hsd-"))
    sock = work / "docker.sock"
    log = open(work / "dockerd.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            exe,
            "--data-root",
            str(work / "data"),
            "--exec-root",
            str(work / "x"),
            "--pidfile",
            str(work / "dockerd.pid"),
            "--host",
            f"unix://{sock}",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--storage-driver=vfs",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("dockerd did not start:\n" + (work / "dockerd.log").read_text()[-3000:])
            time.sleep(0.1)
        import docker

        client = docker.DockerClient(base_url=f"unix://{sock}")
        while True:
            try:
                client.ping()
                break
            except docker.errors.DockerException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        client.close()
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)


@pytest.fixture
def docker_host(dockerd: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DOCKER_HOST", dockerd)
    return dockerd


@pytest.fixture(scope="session")
def loaded(dockerd: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Images loaded into the daemon: trivy's alpine:3.10 `docker save`, and a 3-layer image with a
    32 MiB layer of random bytes (big:1), to see the export streamed."""
    import docker

    require_tool("umoci")
    require_tool("skopeo")
    work = tmp_path_factory.mktemp("docker-images")
    client = docker.DockerClient(base_url=dockerd)
    archive = DATA / "images/docker-archive/trivy-alpine-310.docker-archive.tar.gz"
    with open(archive, "rb") as f:
        client.images.load(f)
    layout = work / "layout"
    rootfs = extract_rootfs(
        DATA / "images/alpine-minirootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz", work / "rootfs"
    )
    ref = oci_init(layout, "big")
    oci_add_dir(ref, rootfs, "/")
    blob = work / "blob"
    blob.mkdir()
    (blob / "random.bin").write_bytes(os.urandom(32 << 20))
    oci_add_dir(ref, blob, "/data")
    small = work / "small"
    small.mkdir()
    (small / "hello.txt").write_text("hello\n")
    oci_add_dir(ref, small, "/srv")
    big = docker_archive(layout, "big", work / "big.docker.tar", name="big")
    with open(big, "rb") as f:
        client.images.load(f)
    client.close()
    return {"alpine:3.10": archive, "big:big": big}


def test_docker_source_matches_archive(
    docker_host: str, loaded: dict[str, Path], isolated_cache: Path
) -> None:
    import docker

    by_daemon = hullscan.inventory("docker:alpine:3.10")
    by_archive = hullscan.inventory(str(loaded["alpine:3.10"]), use_cache=False)
    assert by_daemon.source == "docker:alpine:3.10"
    assert by_daemon.source_type == "docker"
    assert len(by_daemon.packages) == 14
    assert by_daemon.packages == by_archive.packages
    assert by_daemon.distro == by_archive.distro
    assert by_daemon.config_digest == by_archive.config_digest
    # The image ID is the config digest; the daemon's diff_ids are the layers'.
    client = docker.from_env()
    image = client.images.get("alpine:3.10")
    assert by_daemon.config_digest == image.id
    assert [layer.diff_id for layer in by_daemon.layers] == image.attrs["RootFS"]["Layers"]
    client.close()
    # By ID as well; the export is removed once read.
    by_id = hullscan.inventory(f"docker:{image.id}")
    assert by_id.packages == by_daemon.packages
    assert list((isolated_cache / "tmp").glob("docker-export-*")) == []
    with pytest.raises(hullscan.DaemonError, match="no image"):
        hullscan.inventory("docker:nothing-here:1")
    with pytest.raises(hullscan.PlatformNotFoundError):
        hullscan.inventory("docker:alpine:3.10", platform="linux/arm64")


def test_docker_export_is_streamed(docker_host: str, loaded: dict[str, Path]) -> None:
    """A 32 MiB layer passes through the export without hullscan holding it in memory."""
    tracemalloc.start()
    try:
        inv = hullscan.inventory("docker:big:big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(inv.layers) == 3
    assert inv.layers[1].uncompressed_size > 32 << 20
    assert {p.name for p in inv.packages} >= {"busybox", "musl"}
    assert peak < 12 << 20, f"peak Python allocation {peak / 2**20:.1f} MiB"
    assert inv.packages == hullscan.inventory(str(loaded["big:big"]), use_cache=False).packages
