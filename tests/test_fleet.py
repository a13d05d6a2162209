"""Issue 9 (fleets): ``hullscan.fleet.index`` / ``rematch`` on a thread pool, on Dask (in-process
and worker processes, one killed mid-run) and with PostgreSQL as the store.

The fleet: 240 small images in a local registry (four repositories), built here and pushed through
the registry's HTTP API (tests/fleet_images.py): two Alpine bases and two Python layers shared by
many images, one unique layer each. Checked against real outcomes: every stored inventory equals
``hullscan.inventory`` of that image scanned alone with no cache; the registry's access log shows
each layer blob fetched once in all; the layer cache holds one entry per distinct layer; rematch
deltas equal ``rescan`` image by image, with no registry request.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

import hullscan
from conftest import DATA, require_tool
from fleet_images import Fleet, push_fleet
from hullscan import db as advisory_db
from hullscan import fleet
from hullscan.cli import main as cli_main
from hullscan.store import InventoryStore, rescan
from hullscan.store.db import inventory_doc
from registry_servers import Postgres, Registry

N_IMAGES = 240
SECDB = DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"


@pytest.fixture(scope="session")
def fleet_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    require_tool("docker-registry")
    registry = Registry(tmp_path_factory.mktemp("fleet-registry"))
    try:
        yield push_fleet(registry, DATA, N_IMAGES)
    finally:
        registry.stop()


def normal(inv: hullscan.Inventory) -> dict[str, Any]:
    """An inventory's document without what depends on the cache (``cached`` per layer)."""
    doc = inventory_doc(inv)
    for layer in doc["layers"]:
        layer.pop("cached")
    return doc


@pytest.fixture(scope="session")
def alone(fleet_registry: Fleet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each image inventoried alone, without any cache: the reference every fleet run must store."""
    cache = tmp_path_factory.mktemp("alone-cache")
    out = {}
    for img, ref in zip(fleet_registry.images, fleet_registry.refs, strict=True):
        inv = hullscan.inventory(f"registry:{ref}", cache_dir=cache, use_cache=False)
        assert inv.manifest_digest == img.digest
        out[img.digest] = normal(inv)
    return out


def layer_blob_gets(fl: Fleet, since: int) -> Counter[str]:
    layers = {b.digest for img in fl.images for b in img.layers}
    return Counter(d for d in fl.registry.blob_gets(since) if d in layers)


def check_index_run(
    fl: Fleet,
    results: list[fleet.IndexResult],
    store: InventoryStore,
    cache: Path,
    mark: int,
    alone: dict[str, dict[str, Any]],
) -> None:
    assert [r.ref for r in results] == fl.refs
    assert {r.status for r in results} == {"indexed"}, [r.error for r in results if r.status != "indexed"]
    assert [r.digest for r in results] == [i.digest for i in fl.images]
    # The store holds each image once, and what scanning it alone gives.
    assert store.count() == N_IMAGES
    assert sorted(s.digest for s in store.images()) == sorted(alone)
    for img in fl.images:
        assert normal(store.inventory(img.digest)) == alone[img.digest]
    # Each layer blob, shared by up to 160 images, was fetched from the registry once in all.
    gets = layer_blob_gets(fl, mark)
    distinct = {b.digest for img in fl.images for b in img.layers}
    assert set(gets) == distinct
    assert max(gets.values()) == 1
    assert len(distinct) == N_IMAGES + len(fl.shared)
    # ... and analysed once: one layer-cache entry per distinct layer.
    entries = list(cache.glob("layers/*/*.json"))
    assert len(entries) == len(distinct)


def test_index_thread_pool(fleet_registry: Fleet, alone: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    fl = fleet_registry
    cache = tmp_path / "cache"
    mark = fl.registry.log_mark()
    with InventoryStore(tmp_path / "fleet.db") as st:
        results = fleet.index(fl.refs, store=st, cache_dir=cache, workers=6)
        check_index_run(fl, results, st, cache, mark, alone)
        # Safe to re-run: every image is already stored; nothing is pulled.
        mark = fl.registry.log_mark()
        again = fleet.index(fl.refs, store=st, cache_dir=cache, workers=6)
        assert {r.status for r in again} == {"stored"}
        assert fl.registry.blob_gets(mark) == []
        # Pinned by digest, a stored image costs no registry request at all.
        host = fl.registry.host
        pinned = [f"{host}/{i.repository}@{i.digest}" for i in fl.images[:20]]
        mark = fl.registry.log_mark()
        assert {r.status for r in fleet.index(pinned, store=st, cache_dir=cache)} == {"stored"}
        assert fl.registry.requests(mark) == []
        assert st.count() == N_IMAGES


def test_index_failures_are_reported_per_image(fleet_registry: Fleet, tmp_path: Path) -> None:
    fl = fleet_registry
    refs = [*fl.refs[:5], f"{fl.registry.host}/fleet/svc0:no-such-tag", "not a reference"]
    with InventoryStore(tmp_path / "f.db") as st:
        results = fleet.index(refs, store=st, cache_dir=tmp_path / "cache", retries=1, backoff=0.01)
        assert [r.status for r in results] == ["indexed"] * 5 + ["failed", "failed"]
        assert results[5].error is not None
        assert results[5].error.startswith("ImageNotFoundError")
        assert results[5].attempts == 1  # not transient: not retried
        assert st.count() == 5


# -- Dask ----------------------------------------------------------------------------------------


@pytest.fixture
def dask_config() -> Iterator[None]:
    """Workers without Dask's statistical profiler: on Python 3.11 its ``sys._current_frames``
    calls can deadlock with the garbage collector (python/cpython#106883; see
    hullscan.fleet.executors). Set before the cluster starts, so its worker processes get it."""
    import dask
    import distributed  # its defaults are in the config before the override (and after it)

    assert distributed.__version__
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        yield


def test_index_dask_in_process(
    fleet_registry: Fleet, alone: dict[str, dict[str, Any]], tmp_path: Path, dask_config: None
) -> None:
    from distributed import Client, LocalCluster

    fl = fleet_registry
    cache = tmp_path / "cache"
    with (
        LocalCluster(n_workers=2, threads_per_worker=3, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
        InventoryStore(tmp_path / "fleet.db") as st,
    ):
        mark = fl.registry.log_mark()
        # With placement hints: the images of one repository on one worker (a soft preference).
        results = fleet.index(
            fl.refs, store=st, cache_dir=cache, executor=client.get_executor(), placement=True
        )
        check_index_run(fl, results, st, cache, mark, alone)


def test_index_dask_processes_survives_a_killed_worker(
    fleet_registry: Fleet, alone: dict[str, dict[str, Any]], tmp_path: Path, dask_config: None
) -> None:
    from distributed import Client, LocalCluster

    fl = fleet_registry
    cache = tmp_path / "cache"
    db = tmp_path / "fleet.db"
    killed: list[int] = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
        InventoryStore(db) as st,
    ):
        pids: dict[str, int] = client.run(os.getpid)
        assert len(set(pids.values()) - {os.getpid()}) == 2  # real worker processes
        done: list[fleet.IndexResult] = []

        def on_result(r: fleet.IndexResult) -> None:
            done.append(r)
            if len(done) == 40 and not killed:
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)  # mid-run: units are in flight on it
                killed.append(victim)

        mark = fl.registry.log_mark()
        results = fleet.index(
            fl.refs, store=st, cache_dir=cache, executor=client.get_executor(), on_result=on_result
        )
        assert killed
        assert len(done) == N_IMAGES
        # Nothing lost: every image stored exactly once (a unit the dead worker had stored before
        # it died finds its image stored when run again).
        assert {r.status for r in results} <= {"indexed", "stored"}
        assert [r.digest for r in results] == [i.digest for i in fl.images]
        assert st.count() == N_IMAGES
        assert sorted(s.digest for s in st.images()) == sorted(alone)
        for img in fl.images:
            assert normal(st.inventory(img.digest)) == alone[img.digest]
        # The survivor and the restarted worker still shared the layer cache: one entry per layer.
        distinct = {b.digest for img in fl.images for b in img.layers}
        assert len(list(cache.glob("layers/*/*.json"))) == len(distinct)
        assert set(layer_blob_gets(fl, mark)) == distinct


# -- rematch -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def advisories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("fleet-advisories")
    data = subprocess.run(["zstd", "-dc", str(SECDB)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=data, check=True)
    full = work / "vuln-list-alpine-3.20-main"
    old = work / "old"
    old.mkdir()
    for name in ("busybox", "musl"):
        shutil.copy2(full / f"{name}.json", old)
    return {"old": old, "full": full}


def copy_store(src: Path, dst: Path) -> Path:
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def test_rematch_equals_rescan_image_by_image_without_pulling(
    fleet_registry: Fleet, advisories: dict[str, Path], tmp_path: Path
) -> None:
    fl = fleet_registry
    with InventoryStore(tmp_path / "a.db") as st:
        results = fleet.index(fl.refs, store=st, cache_dir=tmp_path / "cache")
        assert {r.status for r in results} == {"indexed"}
    copy_store(tmp_path / "a.db", tmp_path / "b.db")
    a = InventoryStore(tmp_path / "a.db")
    b = InventoryStore(tmp_path / "b.db")
    digests = sorted(i.digest for i in fl.images)
    for step in ("old", "full"):
        advisory_db.import_paths([advisories[step]], name="alpine-3.20").close()
        mark = fl.registry.log_mark()
        batches: list[int] = []
        got = fleet.rematch(
            a, batch_size=32, workers=4, on_batch=lambda ds, seen=batches: seen.append(len(ds))
        )
        assert fl.registry.requests(mark) == []
        assert sorted(batches) == sorted([32] * (N_IMAGES // 32) + [N_IMAGES % 32])
        want = [d for dg in digests for d in rescan(b, digests=[dg])]
        assert [d.digest for d in got] == digests
        assert [d.to_dict() for d in got] == [d.to_dict() for d in want]
        news = [d for d in got if d.new]
        # Only the Alpine 3.20 images (two in three) have findings from the 3.20 advisories.
        assert {d.digest for d in news} == {i.digest for i in fl.images if i.index % 3 != 2}
    # Matched again against the same database: every delta empty.
    assert all(d.empty for d in fleet.rematch(a, batch_size=50))
    a.close()
    b.close()


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_fleet_index_shard_rematch(
    fleet_registry: Fleet, advisories: dict[str, Path], tmp_path: Path
) -> None:
    fl = fleet_registry
    refs = tmp_path / "refs.txt"
    refs.write_text("".join(r + "\n" for r in fl.refs[:60]))
    # Shards: disjoint, covering, deterministic.
    parts = []
    for i in range(3):
        code, out, _ = run_cli("fleet", "shard", "--from-file", str(refs), "--shard", str(i), "--of", "3")
        assert code == 0
        parts.append(out.split())
    assert sorted(r for p in parts for r in p) == sorted(fl.refs[:60])
    assert all(parts)
    assert parts[1] == fleet.shard(fl.refs[:60], shard=1, of=3)
    shard_file = tmp_path / "shard1.txt"
    shard_file.write_text("\n".join(parts[1]) + "\n")
    db = tmp_path / "fleet.db"
    code, out, err = run_cli(
        "fleet",
        "index",
        "--from-file",
        str(shard_file),
        "--store",
        str(db),
        "--workers",
        "3",
        "--format",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [r["ref"] for r in doc["results"]] == parts[1]
    assert doc["counts"] == {"indexed": len(parts[1]), "stored": 0, "failed": 0}
    advisory_db.import_paths([advisories["full"]], name="alpine-3.20").close()
    code, out, err = run_cli("fleet", "rematch", "--store", str(db), "--format", "json", "--batch-size", "7")
    assert code == 0, err
    deltas = json.loads(out)["deltas"]
    assert len(deltas) == len(parts[1])
    with InventoryStore(db) as st:
        assert {d["digest"]: d["total"] for d in deltas} == {s.digest: s.finding_count for s in st.images()}
    # Bad input: a one-line error, exit 2.
    code, _, err = run_cli("fleet", "shard", "--from-file", str(refs), "--shard", "3", "--of", "3")
    assert code == 2
    assert len(err.strip().splitlines()) == 1


# -- PostgreSQL ----------------------------------------------------------------------------------


def test_index_postgres_concurrent_writers(
    fleet_registry: Fleet,
    alone: dict[str, dict[str, Any]],
    advisories: dict[str, Path],
    postgres: Postgres,
    tmp_path: Path,
) -> None:
    """Three fleet runs at once into one PostgreSQL store (two forced to rewrite every image,
    over overlapping halves in opposite orders): no image lost, none duplicated."""
    fl = fleet_registry
    url = postgres.database("fleet")
    cache = tmp_path / "cache"
    refs = fl.refs
    runs = [
        (refs, False),
        (refs[: N_IMAGES * 2 // 3], True),
        (list(reversed(refs[N_IMAGES // 3 :])), True),
    ]
    start = threading.Barrier(len(runs))
    out: list[list[fleet.IndexResult]] = [[] for _ in runs]

    def go(i: int) -> None:
        start.wait()
        with InventoryStore(url) as st:  # each run its own connection pool, as separate workers
            out[i] = fleet.index(runs[i][0], store=st, cache_dir=cache, force=runs[i][1], workers=4)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(runs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (r, _), res in zip(runs, out, strict=True):
        assert [x.ref for x in res] == r
        assert all(x.status in ("indexed", "stored") for x in res), [x.error for x in res]
    assert all(x.status == "indexed" for x in out[1] + out[2])
    with InventoryStore(url) as st:
        assert st.dialect == "postgresql"
        assert st.count() == N_IMAGES
        images = st.images()
        assert len({s.digest for s in images}) == len(images) == N_IMAGES
        for img in fl.images:
            assert normal(st.inventory(img.digest)) == alone[img.digest]
    # Rematch on PostgreSQL, batches on three threads: every image matched once.
    advisory_db.import_paths([advisories["full"]], name="alpine-3.20").close()
    deltas = fleet.rematch(url, batch_size=25, workers=3)
    assert [d.digest for d in deltas] == sorted(alone)
