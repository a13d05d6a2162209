"""The inventory store on a real PostgreSQL server (a private cluster started here): the same code
path as SQLite, concurrent writers leave exactly one row per digest, rescans give the same deltas as
on SQLite, and batches read every image once."""

from __future__ import annotations

import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

import hullscan
from conftest import DATA
from hullscan import db as advisory_db
from hullscan.store import ImageRecord, InventoryStore, compact_queries, rescan
from registry_servers import Postgres


@pytest.fixture(scope="session")
def alpine(tmp_path_factory: pytest.TempPathFactory) -> hullscan.Inventory:
    root = tmp_path_factory.mktemp("pg-alpine")
    subprocess.run(
        [
            "tar",
            "-xzf",
            str(DATA / "images/alpine-minirootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz"),
            "-C",
            str(root),
        ],
        check=True,
    )
    return hullscan.inventory(f"dir:{root}", use_cache=False)


def test_concurrent_writers(postgres: Postgres, alpine: hullscan.Inventory) -> None:
    url = postgres.database("concurrent")
    digests = [f"sha256:{i:064x}" for i in range(60)]
    st = InventoryStore(url)
    assert st.dialect == "postgresql"
    q = compact_queries(alpine)
    start = threading.Barrier(6)

    def worker(seed: int) -> int:
        start.wait()
        order = digests[seed * 10 :] + digests[: seed * 10]
        n = 0
        for i in range(0, len(order), 7):  # batches of 7, overlapping the other workers' batches
            chunk = order[i : i + 7]
            n += st.put_many(
                ImageRecord(d, replace(alpine, manifest_digest=d), q, repository=f"w{seed}") for d in chunk
            )
        return n

    with ThreadPoolExecutor(6) as pool:
        written = list(pool.map(worker, range(6)))
    assert written == [60] * 6
    assert st.count() == 60
    assert [i.digest for i in st.images()] == digests
    assert {st.inventory(d).manifest_digest for d in digests[::13]} == set(digests[::13])
    # A second store object (another worker process would open its own) sees the same.
    with InventoryStore(url) as other:
        assert other.count() == 60
    st.close()


def test_rescan_on_postgres_matches_sqlite(
    postgres: Postgres, alpine: hullscan.Inventory, tmp_path: Path
) -> None:
    secdb = tmp_path / "secdb"
    secdb.mkdir()
    data = subprocess.run(
        ["zstd", "-dc", str(DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst")],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(secdb)], input=data, check=True)
    advisory_db.import_paths([secdb / "vuln-list-alpine-3.20-main"], name="alpine-3.20").close()
    pg = InventoryStore(postgres.database("rescan"))
    lite = InventoryStore(tmp_path / "s.db")
    pkgs = alpine.packages
    for st in (pg, lite):
        for i in range(9):
            st.put(replace(alpine, packages=pkgs[i:]), digest=f"sha256:{i:064x}", tags=[f"t{i}"])
    on_pg = {d.digest: d for d in rescan(pg, batch_size=4)}
    on_lite = {d.digest: d for d in rescan(lite, batch_size=4)}
    assert len(on_pg) == 9
    assert {k: (d.new, d.total) for k, d in on_pg.items()} == {
        k: (d.new, d.total) for k, d in on_lite.items()
    }
    assert any(d.new for d in on_pg.values())
    assert all(d.empty for d in rescan(pg, batch_size=2))
    pg.close()
    lite.close()
