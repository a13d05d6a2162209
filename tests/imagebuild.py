"""Build real images for tests and benchmarks with real tools: debootstrap, umoci, skopeo.

Nothing here is mocked: root filesystems come from debootstrap (against the apt source the machine is
configured with) or from Alpine's release tarballs, and are packed into OCI layouts by umoci and into
docker-archives by skopeo.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def apt_mirror() -> str:
    """The Debian archive URI this machine's apt is configured with (never hard-coded)."""
    candidates: list[str] = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        candidates += re.findall(r"^URIs:\s*(\S+)", text, flags=re.M)
        candidates += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, flags=re.M)
    for uri in candidates:
        if "security" not in uri:
            return uri
    raise RuntimeError("no Debian apt source configured")


def debootstrap(dest: Path, suite: str = "bookworm", variant: str = "minbase") -> Path:
    run("debootstrap", f"--variant={variant}", suite, dest, apt_mirror())
    return dest


def extract_rootfs(tarball: Path, dest: Path) -> Path:
    """Unpack a root filesystem tarball (e.g. an Alpine minirootfs) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tf:
        tf.extractall(dest, filter="tar")
    return dest


def oci_init(layout: Path, tag: str) -> str:
    """An empty image ``layout:tag``; returns the umoci image reference."""
    ref = f"{layout}:{tag}"
    if not (layout / "oci-layout").exists():
        run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", ref)
    return ref


def oci_add_dir(ref: str, source: Path, target: str = "/", *, opaque: bool = False) -> None:
    """Add a layer holding ``source``'s tree at ``target``."""
    args = ["umoci", "insert", "--image", ref]
    if opaque:
        args.append("--opaque")
    run(*args, source, target)


def oci_whiteout(ref: str, path: str) -> None:
    """Add a layer that deletes ``path`` (a ``.wh.`` entry)."""
    run("umoci", "insert", "--image", ref, "--whiteout", path)


def oci_from_rootfs(rootfs: Path, layout: Path, tag: str = "latest") -> str:
    ref = oci_init(layout, tag)
    oci_add_dir(ref, rootfs, "/")
    return ref


def docker_archive(layout: Path, tag: str, out: Path, name: str = "hullscan/test") -> Path:
    """``docker save``-format archive of ``layout:tag``, written by skopeo."""
    if out.exists():
        out.unlink()
    run("skopeo", "copy", "--quiet", f"oci:{layout}:{tag}", f"docker-archive:{out}:{name}:{tag}")
    return out


def oci_archive(layout: Path, tag: str, out: Path) -> Path:
    """A tar of an OCI layout holding ``layout:tag``, written by skopeo."""
    if out.exists():
        out.unlink()
    run("skopeo", "copy", "--quiet", f"oci:{layout}:{tag}", f"oci-archive:{out}:{tag}")
    return out


def dpkg_query(rootfs: Path) -> set[tuple[str, str, str]]:
    """(package, version, architecture) as dpkg-query prints them for ``rootfs``."""
    out = run(
        "dpkg-query",
        f"--admindir={rootfs / 'var/lib/dpkg'}",
        "-W",
        "-f=${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n",
    )
    rows = set()
    for line in out.splitlines():
        name, version, arch, status = line.split("\t")
        if status == "installed":
            rows.add((name, version, arch))
    return rows


def copytree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst
