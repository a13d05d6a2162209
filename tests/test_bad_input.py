"""The bad-input corpus: hostile or broken images end in typed errors or warnings, never a crash.

Every case checks the specific exception (or warning), that nothing was written outside the cache
directory (the test's tmp tree is snapshotted around the scan, CLI runs get empty cwd / HOME /
TMPDIR that must stay empty), and that a layer that failed left no cache entry. Cases that could
hang or blow up memory run in a subprocess with a timeout and a peak-RSS bound.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bad_images as bi
import hullscan
from hullscan import _core
from hullscan.errors import (
    DigestMismatchError,
    HullscanError,
    ImageFormatError,
    LayerError,
    LimitExceededError,
)

REPO = Path(__file__).resolve().parents[1]
RSS_LIMIT_MB = 300

APK_DB = "P:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\nP:busybox\nV:1.36.1-r29\nA:x86_64\n\n"
OS_RELEASE = 'ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'
DPKG_STANZA = (
    "Package: {name}\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nDescription: d\n\n"
)


def good_entries() -> list[bi.Entry]:
    return [
        bi.directory("etc"),
        bi.file("etc/os-release", OS_RELEASE),
        bi.directory("lib/apk/db"),
        bi.file("lib/apk/db/installed", APK_DB),
    ]


def names(inv: hullscan.Inventory) -> set[str]:
    return {p.name for p in inv.packages}


# --------------------------------------------------------------------------------------------------
# Watching writes


def cache_entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "layers").rglob("*") if p.is_file())


def assert_no_cache_entry(cache: Path, diff_id: str) -> None:
    hexd = bi.hex_of(diff_id)
    assert not [p for p in cache_entries(cache) if p.stem == hexd], f"failed layer {diff_id} cached"
    leftovers = [p for p in bi.walk_files(cache / "tmp")]
    assert leftovers == [], f"temporary files left in the cache: {leftovers}"
    assert not [p for p in cache_entries(cache) if p.name.startswith(".tmp-")]


@contextmanager
def no_writes_outside(root: Path, cache: Path) -> Iterator[None]:
    """Nothing under ``root`` except ``cache`` may be created, changed or removed."""
    before = bi.snapshot(root, exclude=[cache])
    yield
    after = bi.snapshot(root, exclude=[cache])
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert (added, removed, changed) == ([], [], []), "scan touched files outside the cache"


def expect_error(
    exc: type[HullscanError], source: str, root: Path, cache: Path, match: str | None = None
) -> HullscanError:
    with no_writes_outside(root, cache), pytest.raises(exc, match=match) as ei:
        hullscan.inventory(source)
    # Exactly the class asked for, not a sibling that happens to share a base.
    assert type(ei.value) is exc, f"{type(ei.value).__name__}: {ei.value}"
    return ei.value


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float

    def one_line_error(self, exc: type[HullscanError]) -> str:
        assert self.rc == 2, (self.rc, self.stderr[-2000:])
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr[-2000:]
        assert lines[0].startswith(f"hullscan: error: {exc.__name__}: "), lines[0]
        assert "Traceback" not in self.stderr
        assert "panicked" not in self.stderr
        return lines[0]


#: Runs a module (``-m NAME ARGS``) or code (``-c CODE ARGS``) and at exit writes its own peak
#: RSS (VmHWM) to $HULLSCAN_TEST_HWM. The child's rusage is no use: Linux carries the parent's
#: peak over fork and exec into it, and the parent here is a pytest process holding test data.
_HWM_WRAPPER = """
import atexit, os, runpy, sys

def _report():
    with open("/proc/self/status") as f:
        hwm = next(line for line in f if line.startswith("VmHWM:"))
    with open(os.environ["HULLSCAN_TEST_HWM"], "w") as out:
        out.write(hwm.split()[1])

atexit.register(_report)
mode, target, *rest = sys.argv[1:]
if mode == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<test>", "exec"), {"__name__": "__main__"})
"""


def run_python(args: list[str], tmp_path: Path, *, timeout: float = 60) -> Run:
    """Run ``python -m MODULE ARGS`` or ``python -c CODE ARGS`` in a sandbox (empty cwd, HOME and
    TMPDIR that must stay empty) with a timeout, measuring the child's own peak RSS."""
    box = tmp_path / "sandbox"
    dirs = {k: box / k for k in ("cwd", "home", "tmp")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    cache = Path(os.environ["HULLSCAN_CACHE_DIR"])
    hwm = box / "hwm"
    hwm.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "python"), str(REPO / "tests")]),
        PYTHONDONTWRITEBYTECODE="1",
        HULLSCAN_CACHE_DIR=str(cache),
        HULLSCAN_TEST_HWM=str(hwm),
        HOME=str(dirs["home"]),
        TMPDIR=str(dirs["tmp"]),
        XDG_CACHE_HOME=str(dirs["home"] / ".cache"),
    )
    out, err = box / "stdout", box / "stderr"
    start = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen(
            [sys.executable, "-c", _HWM_WRAPPER, *args],
            stdout=fo,
            stderr=fe,
            cwd=dirs["cwd"],
            env=env,
        )
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            pytest.fail(f"python {' '.join(args)[:200]} did not finish in {timeout} s (hang?)")
    seconds = time.monotonic() - start
    for name, d in dirs.items():
        assert list(d.iterdir()) == [], f"the run wrote into its {name}: {list(d.iterdir())}"
    return Run(
        rc,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        seconds,
        int(hwm.read_text()) / 1024 if hwm.exists() else float("inf"),
    )


def run_cli(source: str, tmp_path: Path, *extra: str, timeout: float = 60) -> Run:
    return run_python(
        ["-m", "hullscan.cli", "inventory", source, "--format", "json", *extra],
        tmp_path,
        timeout=timeout,
    )


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A directory hostile symlinks and ``..`` entries aim at; it must never change."""
    d = tmp_path / "canary"
    d.mkdir()
    (d / "status").write_text(DPKG_STANZA.format(name="canary-leak"))
    (d / "installed").write_text("P:canary-leak\nV:6.6.6\n\n")
    return d


# --------------------------------------------------------------------------------------------------
# A well-formed image scans (the builders are right), so every failure below is the one broken thing


def test_builders_make_a_valid_image(tmp_path: Path, isolated_cache: Path) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())])
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == {"musl", "busybox"}
    assert inv.distro is not None
    assert inv.distro.ecosystem == "Alpine:v3.20"
    assert len(cache_entries(isolated_cache)) == 1
    arch = bi.docker_archive(tmp_path / "d.tar", [bi.layer(good_entries(), compress=False)])
    assert names(hullscan.inventory(f"docker-archive:{arch}")) == {"musl", "busybox"}
    oci_tar = bi.tar_dir(img.root, tmp_path / "img.tar")
    assert names(hullscan.inventory(f"oci-archive:{oci_tar}")) == {"musl", "busybox"}


# --------------------------------------------------------------------------------------------------
# Digest mismatches: typed, and never cached


def _altered_blob_image(tmp_path: Path, how: str) -> bi.OciImage:
    lay = bi.layer(good_entries())
    img = bi.oci_layout(tmp_path / "img", [lay])
    blob = img.blob(lay.digest)
    if how == "other-valid-layer":
        # Different but perfectly readable content under the old name.
        extra = [*good_entries(), bi.file("etc/motd", "tampered\n")]
        blob.write_bytes(bi.gzip_bytes(bi.tar_bytes(extra)))
    elif how == "flipped-byte":
        data = bytearray(blob.read_bytes())
        data[len(data) // 2] ^= 0xFF
        blob.write_bytes(bytes(data))
    elif how == "appended":
        blob.write_bytes(blob.read_bytes() + b"trailing garbage")
    return img


@pytest.mark.parametrize("how", ["other-valid-layer", "flipped-byte", "appended"])
def test_altered_layer_blob_is_digest_mismatch_and_not_cached(
    tmp_path: Path, isolated_cache: Path, how: str
) -> None:
    img = _altered_blob_image(tmp_path, how)
    for _ in range(2):  # the second run must fail again: nothing was cached
        expect_error(DigestMismatchError, img.source, tmp_path, isolated_cache)
        assert_no_cache_entry(isolated_cache, img.layers[0].diff_id)
    assert cache_entries(isolated_cache) == []
    run_cli(img.source, tmp_path).one_line_error(DigestMismatchError)
    assert cache_entries(isolated_cache) == []


def test_diff_id_mismatch_in_config(tmp_path: Path, isolated_cache: Path) -> None:
    lay = bi.layer(good_entries())
    wrong = bi.sha256(b"not this layer")

    def cfg(c: Any) -> Any:
        c["rootfs"]["diff_ids"] = [wrong]
        return c

    img = bi.oci_layout(tmp_path / "img", [lay], config=cfg)
    for _ in range(2):
        err = expect_error(DigestMismatchError, img.source, tmp_path, isolated_cache)
        assert "diff_id" in str(err)
        assert_no_cache_entry(isolated_cache, wrong)
        assert_no_cache_entry(isolated_cache, lay.diff_id)
    assert cache_entries(isolated_cache) == []
    run_cli(img.source, tmp_path).one_line_error(DigestMismatchError)


def test_diff_id_mismatch_in_docker_archive(tmp_path: Path, isolated_cache: Path) -> None:
    lay = bi.layer(good_entries(), compress=False)
    other = bi.sha256(b"x")

    def cfg(c: Any) -> Any:
        c["rootfs"]["diff_ids"] = [other]
        return c

    arch = bi.docker_archive(tmp_path / "d.tar", [lay], config=cfg)
    for _ in range(2):
        expect_error(DigestMismatchError, f"docker-archive:{arch}", tmp_path, isolated_cache)
    assert cache_entries(isolated_cache) == []


@pytest.mark.parametrize("which", ["manifest", "config"])
def test_altered_document_blob_is_digest_mismatch(tmp_path: Path, isolated_cache: Path, which: str) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())])
    digest = img.manifest_digest if which == "manifest" else img.config_digest
    path = img.blob(digest)
    path.write_bytes(path.read_bytes().replace(b"{", b"{ ", 1))
    expect_error(DigestMismatchError, img.source, tmp_path, isolated_cache)
    assert cache_entries(isolated_cache) == []


def test_stereoscope_manifest_with_empty_blob(
    edge_fixtures: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    src = edge_fixtures / "stereoscope/pkg/image/oci/testdata/valid_manifest"
    expect_error(DigestMismatchError, f"oci-dir:{src}", tmp_path, isolated_cache)


# --------------------------------------------------------------------------------------------------
# Truncated and non-tar layers
#
# A truncated blob that its manifest still names by the original digest is reported as a
# DigestMismatchError: the reader finishes hashing the stored bytes even when decompression fails,
# and "these are not the bytes the manifest names" is the root cause (the decompression error is a
# symptom). Only when the blob *is* the one named (the digest was recomputed, or the format names
# none, as a docker-archive) is the broken stream itself reported, as LayerError.


def _truncated(blob: bytes) -> bytes:
    return blob[: len(blob) * 2 // 3]


def _bigger_layer() -> bi.Layer:
    rnd = random.Random(7)
    noise = bytes(rnd.getrandbits(8) for _ in range(64 * 1024))
    return bi.layer([*good_entries(), bi.file("usr/share/noise.bin", noise)])


def test_truncated_gzip_with_original_digest_is_digest_mismatch(tmp_path: Path, isolated_cache: Path) -> None:
    lay = _bigger_layer()
    img = bi.oci_layout(tmp_path / "img", [lay])
    assert lay.data is not None
    img.blob(lay.digest).write_bytes(_truncated(lay.data))
    for _ in range(2):
        expect_error(DigestMismatchError, img.source, tmp_path, isolated_cache)
    assert cache_entries(isolated_cache) == []


def test_truncated_gzip_named_by_its_own_digest_is_layer_error(tmp_path: Path, isolated_cache: Path) -> None:
    good = _bigger_layer()
    assert good.data is not None
    cut = _truncated(good.data)
    lay = bi.Layer(bi.sha256(cut), good.diff_id, bi.OCI_LAYER_GZIP, data=cut)
    img = bi.oci_layout(tmp_path / "img", [lay])
    for _ in range(2):
        expect_error(LayerError, img.source, tmp_path, isolated_cache)
        assert_no_cache_entry(isolated_cache, good.diff_id)
    run_cli(img.source, tmp_path).one_line_error(LayerError)


def test_truncated_gzip_in_docker_archive_is_layer_error(tmp_path: Path, isolated_cache: Path) -> None:
    good = _bigger_layer()
    assert good.data is not None
    lay = bi.Layer(good.digest, good.diff_id, data=_truncated(good.data))
    arch = bi.docker_archive(tmp_path / "d.tar", [lay])
    expect_error(LayerError, f"docker-archive:{arch}", tmp_path, isolated_cache)
    assert_no_cache_entry(isolated_cache, good.diff_id)


def test_truncated_plain_tar_is_layer_error(tmp_path: Path, isolated_cache: Path) -> None:
    raw = bi.tar_bytes([*good_entries(), bi.file("usr/big", bytes(100_000))])
    cut = raw[:5000]
    lay = bi.Layer(bi.sha256(cut), bi.sha256(raw), bi.OCI_LAYER_TAR, data=cut)
    img = bi.oci_layout(tmp_path / "img", [lay])
    expect_error(LayerError, img.source, tmp_path, isolated_cache)


def _zstd_frame_needing_window(window_log: int) -> bytes:
    # Frame header: magic, descriptor 0 (no size, no checksum), window descriptor, then one raw
    # last block. Decoding needs a 2**window_log byte window before any output.
    payload = b"x" * 16
    block = ((len(payload) << 3) | 1).to_bytes(3, "little") + payload
    return b"\x28\xb5\x2f\xfd" + b"\x00" + bytes([(window_log - 10) << 3]) + block


NOT_TARS: dict[str, Callable[[], bytes]] = {
    "random-bytes": lambda: random.Random(1).randbytes(10_000),
    "json-document": lambda: json.dumps({"schemaVersion": 2, "layers": []}).encode() * 40,
    "short-json": lambda: b'{"a": 1}',
    "gzip-of-json": lambda: bi.gzip_bytes(b'{"not": "a tar"}' * 100),
    "gzip-of-random": lambda: bi.gzip_bytes(random.Random(2).randbytes(5000)),
    "gzip-magic-then-garbage": lambda: b"\x1f\x8b" + random.Random(3).randbytes(3000),
    "zstd-magic-then-garbage": lambda: b"\x28\xb5\x2f\xfd" + random.Random(4).randbytes(3000),
    "zstd-2GiB-window": lambda: _zstd_frame_needing_window(31),
    "corrupt-tar-checksum": lambda: bytes(
        bytearray(bi.tar_bytes(good_entries()))[:148] + b"0000000\0" + bi.tar_bytes(good_entries())[156:]
    ),
}


@pytest.mark.parametrize("kind", sorted(NOT_TARS))
def test_blob_that_is_not_a_tar_is_layer_error(tmp_path: Path, isolated_cache: Path, kind: str) -> None:
    blob = NOT_TARS[kind]()
    img = bi.oci_layout(tmp_path / "img", [bi.raw_layer(blob)])
    expect_error(LayerError, img.source, tmp_path, isolated_cache)
    assert cache_entries(isolated_cache) == []


def test_not_a_tar_cli(tmp_path: Path, isolated_cache: Path) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.raw_layer(NOT_TARS["json-document"]())])
    run_cli(img.source, tmp_path).one_line_error(LayerError)


# --------------------------------------------------------------------------------------------------
# Malformed index / manifest / config: ImageFormatError

TRAVERSAL = "sha256:../../../../etc/passwd"
SHA512 = "sha512:" + "ab" * 64


def _set(path: list[Any], value: Any) -> Callable[[Any], Any]:
    def f(doc: Any) -> Any:
        cur = doc
        for k in path[:-1]:
            cur = cur[k]
        cur[path[-1]] = value
        return doc

    return f


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


FORMAT_CASES: dict[str, dict[str, Any]] = {
    # index.json
    "index-not-json": {"index_bytes": b"{not json"},
    "index-empty-file": {"index_bytes": b""},
    "index-not-utf8": {"index_bytes": b'{"manifests": ["\xff\xfe"]}'},
    "index-is-a-list": {"index_bytes": b"[]"},
    "index-manifests-is-string": {"index": _set(["manifests"], "sha256:abc")},
    "index-manifests-empty": {"index": _set(["manifests"], [])},
    "index-descriptor-is-int": {"index": _set(["manifests"], [1])},
    "index-digest-is-int": {"index": _set(["manifests", 0, "digest"], 5)},
    "index-digest-traversal": {"index": _set(["manifests", 0, "digest"], TRAVERSAL)},
    "index-digest-sha512": {"index": _set(["manifests", 0, "digest"], SHA512)},
    "index-digest-uppercase": {
        "index": lambda d: _set(["manifests", 0, "digest"], d["manifests"][0]["digest"].upper())(d)
    },
    "index-digest-missing-blob": {"index": _set(["manifests", 0, "digest"], bi.sha256(b"gone"))},
    "index-mediatype-is-list": {"index": _set(["manifests", 0, "mediaType"], ["x"])},
    "index-mediatype-is-dict": {"index": _set(["manifests", 0, "mediaType"], {"a": 1})},
    "index-deeply-nested": {"index_bytes": _nested(200_000)},
    # manifest
    "manifest-not-json": {"manifest_bytes": b"\x00\x01garbage"},
    "manifest-is-a-list": {"manifest_bytes": b"[1, 2]"},
    "manifest-schema-1": {"manifest": _set(["schemaVersion"], 1)},
    "manifest-schema-string": {"manifest": _set(["schemaVersion"], "2")},
    "manifest-is-an-index": {"manifest": _set(["mediaType"], "application/vnd.oci.image.index.v1+json")},
    "manifest-mediatype-is-list": {"manifest": _set(["mediaType"], [])},
    "manifest-layers-is-dict": {"manifest": _set(["layers"], {"0": "x"})},
    "manifest-layers-missing": {"manifest": lambda m: {k: v for k, v in m.items() if k != "layers"}},
    "manifest-layer-digest-int": {"manifest": _set(["layers", 0, "digest"], 7)},
    "manifest-layer-is-string": {"manifest": _set(["layers", 0], "sha256:00")},
    "manifest-layer-traversal": {"manifest": _set(["layers", 0, "digest"], TRAVERSAL)},
    "manifest-layer-sha512": {"manifest": _set(["layers", 0, "digest"], SHA512)},
    "manifest-layer-md5": {"manifest": _set(["layers", 0, "digest"], "md5:" + "0" * 32)},
    "manifest-layer-missing-blob": {"omit_layer": True},
    "manifest-config-missing": {"manifest": lambda m: {k: v for k, v in m.items() if k != "config"}},
    "manifest-config-is-string": {"manifest": _set(["config"], "sha256:00")},
    "manifest-config-traversal": {"manifest": _set(["config", "digest"], TRAVERSAL)},
    "manifest-config-missing-blob": {"omit_config": True},
    "manifest-deeply-nested": {"manifest_bytes": _nested(100_000)},
    # config
    "config-not-json": {"config_bytes": b"\xff\xfe\xfd"},
    "config-is-a-string": {"config_bytes": b'"config"'},
    "config-no-rootfs": {"config": lambda c: {k: v for k, v in c.items() if k != "rootfs"}},
    "config-diff-ids-string": {"config": _set(["rootfs", "diff_ids"], "sha256:00")},
    "config-diff-ids-ints": {"config": _set(["rootfs", "diff_ids"], [1])},
    "config-diff-id-traversal": {"config": _set(["rootfs", "diff_ids"], [TRAVERSAL])},
    "config-diff-id-sha512": {"config": _set(["rootfs", "diff_ids"], [SHA512])},
    "config-too-few-diff-ids": {"config": _set(["rootfs", "diff_ids"], [])},
    "config-too-many-diff-ids": {
        "config": lambda c: _set(["rootfs", "diff_ids"], c["rootfs"]["diff_ids"] * 2)(c)
    },
    "config-deeply-nested": {"config_bytes": b'{"rootfs": ' + _nested(100_000) + b"}"},
}


@pytest.mark.parametrize("case", sorted(FORMAT_CASES))
def test_malformed_documents_are_image_format_errors(tmp_path: Path, isolated_cache: Path, case: str) -> None:
    opts = dict(FORMAT_CASES[case])
    lay = bi.layer(good_entries())
    omit = []
    if opts.pop("omit_layer", False):
        omit.append(lay.digest)
    omit_config = opts.pop("omit_config", False)
    img = bi.oci_layout(tmp_path / "img", [lay], omit_blobs=omit, **opts)
    if omit_config:
        img.blob(img.config_digest).unlink()
    expect_error(ImageFormatError, img.source, tmp_path, isolated_cache)
    assert cache_entries(isolated_cache) == []


def test_malformed_document_cli(tmp_path: Path, isolated_cache: Path) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())], index_bytes=_nested(200_000))
    run_cli(img.source, tmp_path).one_line_error(ImageFormatError)
    img2 = bi.oci_layout(
        tmp_path / "img2",
        [bi.layer(good_entries())],
        manifest=_set(["layers", 0, "digest"], TRAVERSAL),
    )
    line = run_cli(img2.source, tmp_path).one_line_error(ImageFormatError)
    assert "etc/passwd" in line


def test_oci_archive_with_traversal_and_missing_pieces(tmp_path: Path, isolated_cache: Path) -> None:
    img = bi.oci_layout(
        tmp_path / "img",
        [bi.layer(good_entries())],
        manifest=_set(["layers", 0, "digest"], TRAVERSAL),
    )
    arch = bi.tar_dir(img.root, tmp_path / "img.tar")
    expect_error(ImageFormatError, f"oci-archive:{arch}", tmp_path, isolated_cache)
    img2 = bi.oci_layout(tmp_path / "img2", [bi.layer(good_entries())])
    (img2.root / "index.json").unlink()
    arch2 = bi.tar_dir(img2.root, tmp_path / "img2.tar")
    expect_error(ImageFormatError, f"oci-archive:{arch2}", tmp_path, isolated_cache)


@pytest.mark.parametrize("fixture", ["invalid_file", "no_manifests"])
def test_stereoscope_invalid_layouts(
    edge_fixtures: Path, tmp_path: Path, isolated_cache: Path, fixture: str
) -> None:
    src = edge_fixtures / "stereoscope/pkg/image/oci/testdata" / fixture
    expect_error(ImageFormatError, f"oci-dir:{src}", tmp_path, isolated_cache)


# docker archives ----------------------------------------------------------------------------------

DOCKER_CASES: dict[str, dict[str, Any]] = {
    "no-manifest": {"omit_manifest": True},
    "null-manifest": {"manifest_bytes": b"null"},
    "manifest-not-json": {"manifest_bytes": b"[{"},
    "manifest-empty-list": {"manifest_bytes": b"[]"},
    "manifest-is-dict": {"manifest_bytes": b'{"Config": "x.json"}'},
    "manifest-entry-is-string": {"manifest_bytes": b'["x"]'},
    "manifest-deeply-nested": {"manifest_bytes": _nested(100_000)},
    "config-traversal": {"manifest": _set([0, "Config"], "../../../../etc/passwd")},
    "config-absolute": {"manifest": _set([0, "Config"], "/etc/passwd")},
    "config-missing": {"manifest": _set([0, "Config"], "nope.json")},
    "config-not-string": {"manifest": _set([0, "Config"], ["a"])},
    "layers-not-list": {"manifest": _set([0, "Layers"], "a/layer.tar")},
    "layer-name-int": {"manifest": _set([0, "Layers"], [3])},
    "layer-traversal": {"manifest": _set([0, "Layers"], ["../../../../etc/passwd"])},
    "layer-blob-traversal": {"manifest": _set([0, "Layers"], ["blobs/sha256/.."])},
    "layer-missing": {"manifest": _set([0, "Layers"], ["0000/layer.tar"])},
    "layer-count-mismatch": {"manifest": lambda m: _set([0, "Layers"], m[0]["Layers"] * 2)(m)},
}


@pytest.mark.parametrize("case", sorted(DOCKER_CASES))
def test_malformed_docker_archives(tmp_path: Path, isolated_cache: Path, case: str) -> None:
    arch = bi.docker_archive(
        tmp_path / "d.tar", [bi.layer(good_entries(), compress=False)], **DOCKER_CASES[case]
    )
    expect_error(ImageFormatError, f"docker-archive:{arch}", tmp_path, isolated_cache)


@pytest.mark.parametrize("name", ["no_manifest", "null_manifest"])
@pytest.mark.parametrize("scheme", ["docker-archive:", ""])
def test_go_containerregistry_broken_docker_archives(
    edge_fixtures: Path, tmp_path: Path, isolated_cache: Path, name: str, scheme: str
) -> None:
    path = edge_fixtures / f"go-containerregistry/pkg/v1/tarball/testdata/{name}.tar"
    expect_error(ImageFormatError, f"{scheme}{path}", tmp_path, isolated_cache)
    run_cli(f"{scheme}{path}", tmp_path).one_line_error(ImageFormatError)


def test_archive_that_is_not_a_tar(tmp_path: Path, isolated_cache: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(random.Random(5).randbytes(4096))
    expect_error(ImageFormatError, f"docker-archive:{junk}", tmp_path, isolated_cache)
    trunc = tmp_path / "trunc.tar"
    full = bi.docker_archive(tmp_path / "full.tar", [bi.layer(good_entries(), compress=False)])
    trunc.write_bytes(full.read_bytes()[:3000])
    with no_writes_outside(tmp_path, isolated_cache), pytest.raises((ImageFormatError, LayerError)):
        hullscan.inventory(f"docker-archive:{trunc}")
    badgz = tmp_path / "bad.tar.gz"
    packed = gzip.compress(full.read_bytes())
    badgz.write_bytes(packed[: len(packed) // 2])
    with no_writes_outside(tmp_path, isolated_cache), pytest.raises(HullscanError):
        hullscan.inventory(f"docker-archive:{badgz}")
    assert list(bi.walk_files(isolated_cache / "tmp")) == []


# --------------------------------------------------------------------------------------------------
# Hostile layer contents: the inventory completes, nothing is written, nothing hangs


def test_traversal_and_absolute_entries(tmp_path: Path, isolated_cache: Path, canary: Path) -> None:
    up = "../" * 12
    entries = [
        *good_entries(),
        bi.file(f"{up}{str(canary).lstrip('/')}/pwned", "x"),
        bi.file(f"{up}tmp/hullscan-pwned", "x"),
        bi.file("../etc/passwd", "root::0:0::/:/bin/sh\n"),
        bi.file("usr/../../../var/lib/dpkg/status", DPKG_STANZA.format(name="escaped-dpkg")),
        # Absolute names are root-relative inside a layer: this one is the real dpkg database.
        bi.file("/var/lib/dpkg/status", DPKG_STANZA.format(name="absolute-dpkg")),
        bi.symlink(f"{up}tmp/hullscan-link", str(canary)),
        bi.hardlink("lib/apk/db/../db/installed2", f"{up}{str(canary).lstrip('/')}/installed"),
        bi.hardlink("var/lib/dpkg/status.d/evil", f"{up}etc/shadow"),
    ]
    img = bi.oci_layout(tmp_path / "img", [bi.layer(entries)])
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == {"musl", "busybox", "absolute-dpkg"}
    escaped = [w for w in inv.warnings if "escapes the layer root" in w]
    assert len(escaped) >= 4, inv.warnings
    assert any("hard link" in w for w in inv.warnings), inv.warnings
    assert not Path("/tmp/hullscan-pwned").exists()
    assert not Path("/tmp/hullscan-link").exists()
    r = run_cli(img.source, tmp_path)
    assert r.rc == 0, r.stderr
    assert "escapes the layer root" in r.stderr


def test_osv_scalibr_escape_layer(edge_fixtures: Path, tmp_path: Path, isolated_cache: Path) -> None:
    raw = (edge_fixtures / "osv-scalibr/artifact/image/unpack/testdata/escape.tar").read_bytes()
    lay = bi.Layer(bi.sha256(raw), bi.sha256(raw), bi.OCI_LAYER_TAR, data=raw)
    img = bi.oci_layout(tmp_path / "img", [lay, bi.layer(good_entries())])
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == {"musl", "busybox"}
    r = run_cli(img.source, tmp_path, timeout=30)
    assert r.rc == 0, r.stderr
    assert not Path("/tmp/poc.txt").exists() or Path("/tmp/poc.txt").read_text() != "poc"


def test_symlink_attacks_are_not_followed(tmp_path: Path, isolated_cache: Path, canary: Path) -> None:
    """Package databases that are symlinks (to the host, to the canary, through a symlinked
    directory) are never followed: neither read from the host nor written through."""
    entries = [
        bi.directory("etc"),
        bi.file("etc/os-release", OS_RELEASE),
        bi.directory("var/lib"),
        # The dpkg database is a symlink to a file on the host.
        bi.symlink("var/lib/dpkg/status", str(canary / "status")),
        # The apk database is a relative symlink climbing out of the root.
        bi.symlink("lib/apk/db/installed", "../../../../../../" + str(canary).lstrip("/") + "/installed"),
        # A directory symlink, then a file "inside" it: an extractor would write through the link.
        bi.symlink("usr/lib/python3/site", str(canary)),
        bi.file("usr/lib/python3/site/evil-1.0.dist-info/METADATA", "Name: evil\nVersion: 1.0\n"),
        bi.symlink("etc/redhat-release", "/etc/os-release"),
    ]
    img = bi.oci_layout(tmp_path / "img", [bi.layer(entries)])
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert "canary-leak" not in names(inv)
    # The python entry is a regular file in the layer: cataloged by its path, nothing written.
    assert names(inv) == {"evil"}
    assert sorted(p.name for p in canary.iterdir()) == ["installed", "status"]


def test_symlink_cycles_and_dangling_links(tmp_path: Path, isolated_cache: Path) -> None:
    entries = [
        *good_entries(),
        bi.symlink("a", "b"),
        bi.symlink("b", "a"),
        bi.symlink("loop", "loop"),
        bi.symlink("usr/lib/os-release", "../../usr/lib/os-release"),
        bi.symlink("var/lib/dpkg/status", "/var/lib/dpkg/status"),
        bi.symlink("var/lib/dpkg", "../../var/lib/dpkg"),
        bi.symlink("dangling", "/does/not/exist"),
        bi.symlink("lib/apk/db/installed.dangling", "nowhere"),
        bi.symlink("x/" * 60 + "deep", "../" * 61),
    ]
    img = bi.oci_layout(tmp_path / "img", [bi.layer(entries)])
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == {"musl", "busybox"}
    r = run_cli(img.source, tmp_path, timeout=30)
    assert r.rc == 0, r.stderr


def test_special_files_at_package_db_paths(tmp_path: Path, isolated_cache: Path) -> None:
    """A FIFO or device where a database should be is never opened (no hang) and hides the lower
    layer's file, as the squashed image would."""
    lower = bi.layer(good_entries())
    upper = bi.layer(
        [
            bi.Entry("lib/apk/db/installed", kind="fifo"),
            bi.Entry("var/lib/dpkg/status", kind="chardev"),
            bi.directory("etc/os-release"),
        ]
    )
    img = bi.oci_layout(tmp_path / "img", [lower, upper])
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == set()


OSV_FIXTURES = [
    "layerscanning/image/testdata/symlink-cycle.tar",
    "layerscanning/image/testdata/symlink-attack.tar",
    "layerscanning/image/testdata/overwrite-file.tar",
    "layerscanning/image/testdata/multiple-files.tar",
    "unpack/testdata/symlinks.tar",
    "unpack/testdata/dangling-symlinks.tar",
]


@pytest.mark.parametrize("fixture", OSV_FIXTURES)
def test_osv_scalibr_hostile_images(
    edge_fixtures: Path, tmp_path: Path, isolated_cache: Path, fixture: str
) -> None:
    path = edge_fixtures / "osv-scalibr/artifact/image" / fixture
    r = run_cli(f"docker-archive:{path}", tmp_path, timeout=30)
    assert r.rc == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["layers"], doc
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(f"docker-archive:{path}")
    assert len(inv.layers) == len(doc["layers"])


def test_control_characters_in_names_stay_on_one_line(tmp_path: Path, isolated_cache: Path) -> None:
    """Entry names are attacker-controlled and end up in warnings and errors: the CLI must not
    print raw newlines or terminal escapes from them."""
    evil = "x\n\x1b]0;pwned\x07\x1b[2J.dist-info"
    entries = [
        *good_entries(),
        bi.file(f"usr/lib/python3/{evil}/METADATA", "no header here\n"),
        bi.file(f"../{evil}", "x"),
    ]
    img = bi.oci_layout(tmp_path / "img", [bi.layer(entries)])
    r = run_cli(img.source, tmp_path)
    assert r.rc == 0, r.stderr
    warnings = r.stderr.strip().splitlines()
    assert len(warnings) == 2, warnings
    assert all(w.startswith("hullscan: warning: ") for w in warnings)
    assert "\x1b" not in r.stderr
    assert "\x07" not in r.stderr
    json.loads(r.stdout)  # the JSON output escapes them itself

    bad = "nope\n\x1b[31mFAKE ERROR"
    arch = bi.docker_archive(
        tmp_path / "d.tar",
        [bi.layer(good_entries(), compress=False)],
        manifest=_set([0, "Config"], bad),
    )
    line = run_cli(f"docker-archive:{arch}", tmp_path).one_line_error(ImageFormatError)
    assert "\x1b" not in line


# --------------------------------------------------------------------------------------------------
# Bombs and limits: typed errors, quickly, in bounded memory


def test_gzip_bomb_layer(tmp_path: Path, isolated_cache: Path) -> None:
    """8 GiB of zeros in one tar entry, ~8 MB of gzip: stopped by the ratio limit."""
    bomb = bi.gzip_bomb_layer(tmp_path, inflated=8 * bi.GiB)
    assert bomb.size < 10 * bi.MiB
    img = bi.oci_layout(tmp_path / "img", [bomb, bi.layer(good_entries())])
    r = run_cli(img.source, tmp_path, timeout=60)
    line = r.one_line_error(LimitExceededError)
    assert "ratio" in line
    assert r.seconds < 20, r.seconds
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb
    assert_no_cache_entry(isolated_cache, bomb.diff_id)
    assert cache_entries(isolated_cache) == []


def test_gzip_bomb_in_a_package_database(tmp_path: Path, isolated_cache: Path) -> None:
    """The same bomb where a cataloger would read: over its size limit, so never buffered."""
    bomb = bi.gzip_bomb_layer(tmp_path, inflated=4 * bi.GiB, member="var/lib/dpkg/status")
    img = bi.oci_layout(tmp_path / "img", [bomb])
    r = run_cli(img.source, tmp_path, timeout=60)
    r.one_line_error(LimitExceededError)
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb
    assert cache_entries(isolated_cache) == []


@pytest.mark.parametrize("kind", ["longname", "pax"])
def test_tar_metadata_bomb(tmp_path: Path, isolated_cache: Path, kind: str) -> None:
    """A GNU long-name entry or a PAX header is metadata a tar reader buffers whole before the
    entry it describes: an inflated one must hit a limit, not fill memory."""
    bomb = bi.gzip_bomb_layer(tmp_path, inflated=1 * bi.GiB, kind=kind)
    img = bi.oci_layout(tmp_path / "img", [bomb])
    r = run_cli(img.source, tmp_path, timeout=60)
    r.one_line_error(LimitExceededError)
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb
    # With the ratio check disabled (ratios of real long names are ordinary), memory must still
    # be bounded: the metadata limit, not the decompression-bomb limit, stops it.
    code = (
        "import sys, hullscan._core as c\n"
        "try:\n"
        "    c.scan_layer(sys.argv[1], ratio_floor=1 << 62)\n"
        "except c.LimitExceededError as e:\n"
        "    print('limit:', e)\n"
    )
    r = run_python(["-c", code, str(img.blob(bomb.digest))], tmp_path, timeout=60)
    assert r.rc == 0, r.stderr
    assert r.stdout.startswith("limit:"), (r.stdout, r.stderr)
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb


def test_uncompressed_limit(tmp_path: Path) -> None:
    bomb = bi.gzip_bomb_layer(tmp_path, inflated=512 * bi.MiB)
    assert bomb.path is not None
    with pytest.raises(LimitExceededError, match="larger than"):
        _core.scan_layer(bomb.path, max_uncompressed=64 * bi.MiB, ratio_floor=1 << 62)
    with pytest.raises(LimitExceededError, match="ratio"):
        _core.scan_layer(bomb.path, ratio_floor=32 * bi.MiB)


def test_zstd_window_bomb(tmp_path: Path, isolated_cache: Path) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.raw_layer(_zstd_frame_needing_window(31))])
    r = run_cli(img.source, tmp_path)
    r.one_line_error(LayerError)
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb


def _gzip_archive_bomb(tmp_path: Path) -> Path:
    """A gzip-compressed "docker archive" whose first member inflates to 8 GiB of zeros."""
    path = tmp_path / "bomb.tar.gz"
    with bi.StreamedGzip(path, with_crc=False) as g:
        g.literal(bi.tar_header("blobs/sha256/" + "0" * 64, 8 * bi.GiB))
        g.repeat(bytes(bi.MiB), 8 * 1024)
        g.literal(bi.tar_bytes([bi.file("manifest.json", b"[]")]))
    return path


@pytest.mark.parametrize("scheme", ["docker-archive:", "oci-archive:", ""])
def test_gzip_bomb_archive(tmp_path: Path, isolated_cache: Path, scheme: str) -> None:
    """A compressed archive is decompressed into the cache's tmp dir: that must be bounded too."""
    path = _gzip_archive_bomb(tmp_path)
    r = run_cli(f"{scheme}{path}", tmp_path, timeout=60)
    r.one_line_error(LimitExceededError)
    assert r.seconds < 20, r.seconds
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb
    assert list(bi.walk_files(isolated_cache / "tmp")) == []


def _compressible_block(size: int = bi.MiB) -> bytes:
    """Text that deflates about 50:1: realistic for a package database, far from a bomb."""
    rnd = random.Random(11)
    part = "".join(DPKG_STANZA.format(name=f"pkg{rnd.getrandbits(64):x}") for _ in range(200)).encode()
    return (part * (size // len(part) + 1))[:size]


def test_huge_package_database_is_skipped_with_a_warning(tmp_path: Path, isolated_cache: Path) -> None:
    """A 300 MB dpkg status (over the cataloger's limit) is skipped with a warning; the rest of the
    image still inventories, in bounded memory."""
    lay = bi.big_file_layer(tmp_path, "var/lib/dpkg/status", _compressible_block(), 300, extra=good_entries())
    ratio = 300 * bi.MiB / lay.size
    assert ratio < 150, ratio  # not a bomb: the ratio limit must not be what stops it
    img = bi.oci_layout(tmp_path / "img", [lay])
    r = run_cli(img.source, tmp_path, timeout=60)
    assert r.rc == 0, r.stderr
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb
    doc = json.loads(r.stdout)
    assert {p["name"] for p in doc["packages"]} == {"musl", "busybox"}
    assert any("over the dpkg cataloger's limit" in w for w in doc["warnings"]), doc["warnings"]
    assert len(cache_entries(isolated_cache)) == 1


def _status(count: int, description: str = "") -> bytes:
    desc = f"Description: d\n {description}\n" if description else ""
    return "".join(
        f"Package: p{i}\nStatus: install ok installed\nVersion: 1.{i}\n{desc}\n" for i in range(count)
    ).encode()


def test_big_package_database_under_the_limits(tmp_path: Path, isolated_cache: Path) -> None:
    """A 59 MB status file (just under the dpkg size limit, 30k packages with long descriptions):
    parsed, in bounded memory (the file is held once while parsed)."""
    data = _status(30_000, "x" * 2000)
    assert 55 * bi.MiB < len(data) < 64 * bi.MiB
    raw = bi.tar_bytes([*good_entries(), bi.file("var/lib/dpkg/status", data)])
    blob = gzip.compress(raw, compresslevel=1, mtime=0)
    img = bi.oci_layout(tmp_path / "img", [bi.Layer(bi.sha256(blob), bi.sha256(raw), data=blob)])
    r = run_cli(img.source, tmp_path, timeout=60)
    assert r.rc == 0, r.stderr
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb
    assert len(json.loads(r.stdout)["packages"]) == 30_002


@pytest.mark.parametrize("db", ["dpkg", "apk"])
def test_package_database_with_absurd_package_count(tmp_path: Path, isolated_cache: Path, db: str) -> None:
    """150k one-line packages in a few MB: refused with a warning, not parsed into GBs."""
    if db == "dpkg":
        entry = bi.file("var/lib/dpkg/status", _status(150_000))
    else:
        body = "".join(f"P:p{i}\nV:1.{i}-r0\n\n" for i in range(150_000))
        entry = bi.file("lib/apk/db/installed", body)
    img = bi.oci_layout(tmp_path / "img", [bi.layer([bi.file("etc/os-release", OS_RELEASE), entry])])
    r = run_cli(img.source, tmp_path, timeout=60)
    assert r.rc == 0, r.stderr
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb
    doc = json.loads(r.stdout)
    assert doc["packages"] == []
    assert any("more than 100000 packages" in w for w in doc["warnings"]), doc["warnings"]


def test_too_many_packages_in_one_layer(tmp_path: Path) -> None:
    """One package per metadata file, thousands of files: the per-layer package limit."""
    meta = [
        bi.file(
            f"usr/lib/python3/site-packages/p{i}-1.0.dist-info/METADATA",
            f"Name: p{i}\nVersion: 1.0\n",
        )
        for i in range(3000)
    ]
    lay = bi.layer(meta)
    img = bi.oci_layout(tmp_path / "img", [lay])
    with pytest.raises(LimitExceededError, match="packages"):
        _core.scan_layer(img.blob(lay.digest), max_packages=2000)
    assert _core.scan_layer(img.blob(lay.digest)).package_count == 3000


def test_too_many_packages_in_one_image(tmp_path: Path, isolated_cache: Path) -> None:
    """The same 3000-package layer listed 400 times: read once, held once, and the image-wide
    package limit (1.2M listed) stops it before the merge."""
    meta = [
        bi.file(
            f"usr/lib/python3/site-packages/p{i}-1.0.dist-info/METADATA",
            f"Name: p{i}\nVersion: 1.0\n",
        )
        for i in range(3000)
    ]
    lay = bi.layer(meta)

    def many_layers(m: Any) -> Any:
        m["layers"] = m["layers"] * 400
        return m

    def many_ids(c: Any) -> Any:
        c["rootfs"]["diff_ids"] = c["rootfs"]["diff_ids"] * 400
        return c

    img = bi.oci_layout(tmp_path / "img", [lay], manifest=many_layers, config=many_ids)
    start = time.monotonic()
    expect_error(LimitExceededError, img.source, tmp_path, isolated_cache)
    assert time.monotonic() - start < 10
    # Repeated layers are fine in themselves: a few copies scan, each read once.
    img2 = bi.oci_layout(
        tmp_path / "img2",
        [lay],
        manifest=lambda m: {**m, "layers": m["layers"] * 3},
        config=lambda c: {**c, "rootfs": {"type": "layers", "diff_ids": [lay.diff_id] * 3}},
    )
    inv = hullscan.inventory(img2.source, use_cache=False)
    assert len(inv.packages) == 3000
    assert [layer.cached for layer in inv.layers] == [False] * 3


def test_sparse_package_database(tmp_path: Path, isolated_cache: Path) -> None:
    """A GNU sparse dpkg status claiming 4 GiB (one real block): skipped by its size, instantly."""
    raw = (
        bi.tar_bytes(good_entries(), end_marker=False)
        + bi.sparse_entry("var/lib/dpkg/status", 4 * bi.GiB, DPKG_STANZA.format(name="sp").encode())
        + b"\0" * 1024
    )
    lay = bi.Layer(bi.sha256(raw), bi.sha256(raw), bi.OCI_LAYER_TAR, data=raw)
    img = bi.oci_layout(tmp_path / "img", [lay])
    start = time.monotonic()
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert time.monotonic() - start < 5
    assert names(inv) == {"musl", "busybox"}
    assert any("over the dpkg cataloger's limit" in w for w in inv.warnings), inv.warnings
    # A sparse database under the limit is a database like any other (holes read as zeros).
    raw = bi.sparse_entry(
        "var/lib/dpkg/status", 64 * 1024, DPKG_STANZA.format(name="sparse-pkg").encode()
    ) + bytes(1024)
    small = bi.Layer(bi.sha256(raw), bi.sha256(raw), bi.OCI_LAYER_TAR, data=raw)
    img2 = bi.oci_layout(tmp_path / "img2", [small])
    assert names(hullscan.inventory(img2.source)) == {"sparse-pkg"}


def test_many_tar_entries(tmp_path: Path, isolated_cache: Path) -> None:
    entries = [bi.file(f"usr/share/many/{i:06d}") for i in range(20_000)]
    lay = bi.layer([*good_entries(), *entries])
    img = bi.oci_layout(tmp_path / "img", [lay])
    assert lay.data is not None
    blob = img.blob(lay.digest)
    with pytest.raises(LimitExceededError, match="tar entries"):
        _core.scan_layer(blob, expected_digest=lay.digest, max_entries=5_000)
    # Under the default limit the same layer is just a layer.
    start = time.monotonic()
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == {"musl", "busybox"}
    assert time.monotonic() - start < 10


def _sparse_file(path: Path, size: int, head: bytes = b"{") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def test_huge_index_document(tmp_path: Path, isolated_cache: Path) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())])
    _sparse_file(img.root / "index.json", 64 * bi.MiB)
    expect_error(LimitExceededError, img.source, tmp_path, isolated_cache)
    run_cli(img.source, tmp_path).one_line_error(LimitExceededError)


@pytest.mark.parametrize("which", ["manifest", "config"])
def test_huge_manifest_and_config_documents(tmp_path: Path, isolated_cache: Path, which: str) -> None:
    # A document over the limit named by its (correct) digest: refused before it is read.
    big = b'{"schemaVersion": 2, "pad": "' + b"a" * (17 * bi.MiB) + b'"}'
    lay = bi.layer(good_entries())
    if which == "manifest":
        img = bi.oci_layout(tmp_path / "img", [lay], manifest_bytes=big)
    else:
        img = bi.oci_layout(tmp_path / "img", [lay], config_bytes=big)
    expect_error(LimitExceededError, img.source, tmp_path, isolated_cache)


def test_huge_docker_manifest_json(tmp_path: Path, isolated_cache: Path) -> None:
    big = b"[" + b" " * (20 * bi.MiB) + b"]"
    arch = bi.docker_archive(
        tmp_path / "d.tar", [bi.layer(good_entries(), compress=False)], manifest_bytes=big
    )
    expect_error(LimitExceededError, f"docker-archive:{arch}", tmp_path, isolated_cache)


def test_index_with_huge_number_of_manifests(tmp_path: Path, isolated_cache: Path) -> None:
    """100k descriptors (all naming the same manifest, ~15 MB of index): refused or resolved
    quickly, never a crash or a minutes-long crawl."""

    def many(idx: Any) -> Any:
        d = dict(idx["manifests"][0])
        d.pop("platform")
        idx["manifests"] = [d] * 100_000
        return idx

    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())], index=many)
    start = time.monotonic()
    expect_error(LimitExceededError, img.source, tmp_path, isolated_cache)
    assert time.monotonic() - start < 10


def test_manifest_with_huge_number_of_layers(tmp_path: Path, isolated_cache: Path) -> None:
    lay = bi.layer(good_entries())

    def many_layers(m: Any) -> Any:
        m["layers"] = m["layers"] * 50_000
        return m

    def many_ids(c: Any) -> Any:
        c["rootfs"]["diff_ids"] = c["rootfs"]["diff_ids"] * 50_000
        return c

    img = bi.oci_layout(tmp_path / "img", [lay], manifest=many_layers, config=many_ids)
    start = time.monotonic()
    expect_error(LimitExceededError, img.source, tmp_path, isolated_cache)
    assert time.monotonic() - start < 10


def test_archive_with_huge_number_of_members(tmp_path: Path, isolated_cache: Path) -> None:
    arch = tmp_path / "many.tar"
    with tarfile.open(arch, "w", format=tarfile.GNU_FORMAT) as tf:
        for i in range(150_000):
            tf.addfile(tarfile.TarInfo(f"junk/{i}"))
    r = run_cli(f"docker-archive:{arch}", tmp_path, timeout=60)
    r.one_line_error(LimitExceededError)
    assert r.max_rss_mb < RSS_LIMIT_MB, r.max_rss_mb


def test_nested_indexes_cannot_multiply_descriptors(tmp_path: Path, isolated_cache: Path) -> None:
    """An index naming one nested index 200 times, which names the manifest 200 times: 40k
    manifests from two small documents. Counted across nesting, so refused at once."""
    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())])
    desc = {k: v for k, v in img.index["manifests"][0].items() if k != "platform"}
    inner = json.dumps({"schemaVersion": 2, "mediaType": bi.OCI_INDEX, "manifests": [desc] * 200})
    inner_digest = bi.sha256(inner.encode())
    img.blob(inner_digest).write_bytes(inner.encode())
    nested = {"mediaType": bi.OCI_INDEX, "digest": inner_digest, "size": len(inner)}
    (img.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [nested] * 200}))
    start = time.monotonic()
    expect_error(LimitExceededError, img.source, tmp_path, isolated_cache)
    assert time.monotonic() - start < 10


def test_tolerated_oddities(tmp_path: Path, isolated_cache: Path) -> None:
    """Garbage in optional fields is ignored, not fatal: a platform that is not an object,
    unknown descriptor media types next to a good one, annotations of the wrong type, a history
    that is not a list."""

    def index(idx: Any) -> Any:
        good = idx["manifests"][0]
        good["platform"] = [1, 2]
        good["annotations"] = "x"
        odd = {"mediaType": "application/x-unknown", "digest": bi.sha256(b"?"), "size": 1}
        idx["manifests"] = [odd, good]
        return idx

    def config(c: Any) -> Any:
        c["history"] = {"not": "a list"}
        c["os"] = 5
        return c

    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())], index=index, config=config)
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == {"musl", "busybox"}


def test_docker_archive_config_not_matching_its_name(
    edge_fixtures: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    """go-containerregistry's source_image_with_empty_layer_history.tar names its config
    6e0b05... but the (hand-edited) file hashes to 05b5...: refused as a mismatch."""
    path = (
        edge_fixtures
        / "go-containerregistry/pkg/v1/mutate/testdata/source_image_with_empty_layer_history.tar"
    )
    expect_error(DigestMismatchError, f"docker-archive:{path}", tmp_path, isolated_cache)


def test_odd_whiteouts(tmp_path: Path, isolated_cache: Path) -> None:
    """Whiteouts whose targets are empty, '.', '..' or escape the root delete nothing else."""
    lower = bi.layer(good_entries())
    upper = bi.layer(
        [
            bi.file(".wh."),
            bi.file(".wh.."),
            bi.file(".wh..."),
            bi.file("lib/.wh..."),
            bi.file("lib/apk/db/.wh."),
            bi.file("../.wh.lib"),
            bi.file("lib/apk/db/.wh.installed/../other"),
            bi.file("etc/.wh..wh..wh..opq"),
        ]
    )
    img = bi.oci_layout(tmp_path / "img", [lower, upper])
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(img.source)
    assert names(inv) == {"musl", "busybox"}
    # A real opaque marker at the top hides every lower file, as it should.
    top = bi.layer([bi.file(".wh..wh..opq")])
    img2 = bi.oci_layout(tmp_path / "img2", [lower, top])
    assert names(hullscan.inventory(img2.source)) == set()


def test_hostile_root_filesystem_dir(tmp_path: Path, isolated_cache: Path, canary: Path) -> None:
    """dir: sources: a FIFO where a database should be (opening it would block forever),
    databases that are symlinks to the host, symlinked directory loops."""
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text(OS_RELEASE)
    (root / "lib/apk/db").mkdir(parents=True)
    os.mkfifo(root / "lib/apk/db/installed")
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").symlink_to(canary / "status")
    (root / "usr/lib/python3").mkdir(parents=True)
    (root / "usr/lib/python3/site-packages").symlink_to(canary)
    (root / "usr/lib/loop").symlink_to("../lib")
    (root / "usr/lib/self").symlink_to("self")
    (root / "proc").mkdir()
    (root / "proc/status").symlink_to("/proc/self/status")
    r = run_cli(f"dir:{root}", tmp_path, timeout=30)
    assert r.rc == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["packages"] == []
    assert doc["distro"]["id"] == "alpine"
    with no_writes_outside(tmp_path, isolated_cache):
        inv = hullscan.inventory(f"dir:{root}")
    assert "canary-leak" not in names(inv)


def test_cache_entry_symlinked_outside_is_replaced_not_followed(
    tmp_path: Path, isolated_cache: Path, canary: Path
) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())])
    first = hullscan.inventory(img.source)
    [entry] = cache_entries(isolated_cache)
    entry.unlink()
    entry.symlink_to(canary / "status")
    before = (canary / "status").read_bytes()
    again = hullscan.inventory(img.source)
    assert again.packages == first.packages
    assert (canary / "status").read_bytes() == before
    assert not entry.is_symlink()
    assert hullscan.inventory(img.source).layers[0].cached is True


# --------------------------------------------------------------------------------------------------
# A damaged layer cache is repaired, never trusted and never fatal


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated-json": lambda b: b[: len(b) // 2],
    "empty": lambda b: b"",
    "garbage": lambda b: random.Random(9).randbytes(200),
    "wrong-shape": lambda b: b'{"files": 3}',
    "nested": lambda b: _nested(100_000),
    "other-layer": lambda b: b.replace(b'"diff_id":"sha256:', b'"diff_id":"sha256:0', 1),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_cache_entry_is_discarded_and_layer_reread(
    tmp_path: Path, isolated_cache: Path, damage: str
) -> None:
    img = bi.oci_layout(tmp_path / "img", [bi.layer(good_entries())])
    first = hullscan.inventory(img.source)
    [entry] = cache_entries(isolated_cache)
    good = entry.read_bytes()
    entry.write_bytes(DAMAGE[damage](good))
    with no_writes_outside(tmp_path, isolated_cache):
        again = hullscan.inventory(img.source)
    assert again.layers[0].cached is False
    assert again.packages == first.packages
    assert json.loads(entry.read_bytes()) == json.loads(good)  # rewritten whole
    third = hullscan.inventory(img.source)
    assert third.layers[0].cached is True
    assert third.packages == first.packages


BAD_DIGESTS = ["sha256:" + "a" * 64 + "\n", "sha256:" + "A" * 64, "sha256:../" + "a" * 61]


@pytest.mark.parametrize("digest", BAD_DIGESTS)
def test_digest_names_must_be_exact(digest: str) -> None:
    """A digest names a path in the layout: anything but exactly ``sha256:`` and 64 lower-case hex
    digits is refused (a trailing newline included, which ``$`` alone would let through)."""
    from hullscan.sources.blobs import digest_path

    with pytest.raises(HullscanError):
        digest_path(digest)
