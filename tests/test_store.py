"""Issue 8 (Inspector parity), continuous rescans: the inventory store and ``hullscan rescan``.

Must-show 2: an image pulled from a registry started here is inventoried against an older advisory
set (two of the five Alpine 3.20 files); after ``db import`` of all five, a rescan reports exactly
the findings of the three added packages as new (checked with this test's own apk order oracle),
and the registry's access log shows no request during the rescan. Changed (a fixed version moved)
and resolved (advisories withdrawn) findings come from real re-imports too.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, require_tool
from hullscan import db as advisory_db
from hullscan.cli import main as cli_main
from hullscan.scan import match
from hullscan.store import InventoryStore, StoredFinding, rescan
from hullscan.store.db import inventory_doc
from hullscan.store.service import open_index
from registry_servers import Registry, push
from test_scan_alpine import expected

SECDB = DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"
OLD = ("busybox", "musl")
ADDED = ("openssl", "zlib", "apk-tools")
SOURCE = "alpine-3.20"


@dataclass(frozen=True)
class Setup:
    registry: Registry
    ref: str
    layout: Path
    advisories: dict[str, Path]  # old (2 files), full (5), moved (5, busybox's r31 fixes moved to r33)
    secfixes: dict[str, dict[str, list[str]]]


@pytest.fixture(scope="session")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    require_tool("skopeo")
    require_tool("docker-registry")
    work = tmp_path_factory.mktemp("store")
    subprocess.run(
        ["tar", "-xf", DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar", "-C", work],
        check=True,
    )
    data = subprocess.run(["zstd", "-dc", str(SECDB)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=data, check=True)
    full = work / "vuln-list-alpine-3.20-main"
    old = work / "old"
    old.mkdir()
    for name in OLD:
        shutil.copy2(full / f"{name}.json", old)
    moved = work / "moved"
    subprocess.run(["cp", "-a", str(full), str(moved)], check=True)
    doc = json.loads((moved / "busybox.json").read_text())
    doc["secfixes"]["1.36.1-r33"] = doc["secfixes"].pop("1.36.1-r31")
    (moved / "busybox.json").write_text(json.dumps(doc))
    secfixes = {j["name"]: j["secfixes"] for j in (json.loads(p.read_text()) for p in full.glob("*.json"))}
    registry = Registry(work / "registry")
    try:
        ref = push(f"oci:{work / 'oci-alpine'}:3.20.3", registry, "library/alpine:3.20.3", fmt="oci")
        yield Setup(registry, ref, work / "oci-alpine", {"old": old, "full": full, "moved": moved}, secfixes)
    finally:
        registry.stop()


def cves(f: StoredFinding) -> set[str]:
    return {i for i in (f.id, *f.aliases) if i.startswith("CVE-")}


def pairs(findings: tuple[StoredFinding, ...] | list[StoredFinding]) -> set[tuple[str, str]]:
    return {(f.package, c) for f in findings for c in cves(f)}


def scan_keys(result: hullscan.ScanResult) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(f.id, f.package.purl, f.severity.level, f.fixed_versions) for f in result.findings}


def stored_keys(findings: list[StoredFinding]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(f.id, f.purl, f.severity, f.fixed_versions) for f in findings}


def test_rescan_reports_exactly_the_new_findings_without_pulling(setup: Setup, tmp_path: Path) -> None:
    advisory_db.import_paths([setup.advisories["old"]], name=SOURCE).close()
    store = InventoryStore(tmp_path / "inventories.db")
    inv = hullscan.inventory(f"registry:{setup.ref}")
    digest = store.put(inv, repository="library/alpine", tags=["3.20.3"])
    assert digest == inv.manifest_digest

    # First match: every finding is new, and they are hullscan.scan's findings.
    (first,) = rescan(store)
    assert first.db_generation_before is None
    old_scan = hullscan.scan(f"oci-dir:{setup.layout}:3.20.3", offline=True)
    assert scan_keys(old_scan)
    assert stored_keys(list(first.new)) == scan_keys(old_scan)
    assert pairs(first.new) == expected(inv, {k: setup.secfixes[k] for k in OLD})
    # Nothing changed: an empty delta.
    (same,) = rescan(store)
    assert same.empty
    assert same.db_generation == first.db_generation

    # More advisories: exactly the added packages' findings are new, and nothing is pulled.
    advisory_db.import_paths([setup.advisories["full"]], name=SOURCE).close()
    mark = setup.registry.log_mark()
    (d,) = rescan(store)
    assert setup.registry.requests(mark) == []
    want = expected(inv, {k: setup.secfixes[k] for k in ADDED})
    assert want
    assert {n for n, _ in want} >= {"libcrypto3", "libssl3"}
    assert pairs(d.new) == want
    assert d.resolved == ()
    assert d.changed == ()
    assert d.db_generation_before == first.db_generation != d.db_generation
    assert d.total == len(first.new) + len(d.new)
    # The stored findings are those of a full scan against the new database.
    assert stored_keys(store.findings(digest)) == scan_keys(
        hullscan.scan(f"oci-dir:{setup.layout}:3.20.3", offline=True)
    )

    # A fixed version moved (busybox's 1.36.1-r31 fixes now in r33): changed, not new or resolved.
    advisory_db.import_paths([setup.advisories["moved"]], name=SOURCE).close()
    (m,) = rescan(store)
    assert m.new == ()
    assert m.resolved == ()
    moved_cves = set(setup.secfixes["busybox"]["1.36.1-r31"])
    assert {c.after.id for c in m.changed} | {a for c in m.changed for a in c.after.aliases} >= moved_cves
    assert all(cves(c.after) <= moved_cves for c in m.changed)
    assert {c.before.fixed_versions for c in m.changed} == {("1.36.1-r31",)}
    assert {c.after.fixed_versions for c in m.changed} == {("1.36.1-r33",)}
    assert {c.after.package for c in m.changed} == {
        p.name for p in inv.packages if (p.source_name or p.name) == "busybox"
    }

    # Back to the older set: the added packages' findings are resolved.
    advisory_db.import_paths([setup.advisories["old"]], name=SOURCE).close()
    mark = setup.registry.log_mark()
    (r,) = rescan(store)
    assert setup.registry.requests(mark) == []
    assert pairs(r.resolved) == want
    assert r.new == ()
    assert len(r.changed) == len(m.changed)


def test_rescan_cli(setup: Setup, tmp_path: Path) -> None:
    advisory_db.import_paths([setup.advisories["old"]], name=SOURCE).close()
    store = tmp_path / "s.db"
    with InventoryStore(store) as st:
        st.put(hullscan.inventory(f"oci-dir:{setup.layout}:3.20.3"), repository="x/alpine", tags=["3.20.3"])
    assert run_cli("rescan", "--store", str(store))[0] == 0
    advisory_db.import_paths([setup.advisories["full"]], name=SOURCE).close()
    out = tmp_path / "delta.json"
    code, _, err = run_cli(
        "rescan", "--store", str(store), "--format", "json", "-o", str(out), "--fail-on", "low"
    )
    # Alpine's secdb rates nothing: the new findings are of unknown severity, under the gate.
    assert code == 0, err
    doc = json.loads(out.read_text())
    (img,) = doc["images"]
    assert img["repository"] == "x/alpine"
    assert {(f["package"], f["id"]) for f in img["new"]} >= {("libssl3", "CVE-2024-9143")}
    assert img["resolved"] == []
    assert img["changed"] == []
    # Nothing new now: the table says so.
    code, text, _ = run_cli("rescan", "--store", str(store), "--all")
    assert code == 0
    assert "0 new, 0 resolved, 0 changed" in text
    assert "rescanned 1 image(s)" in text


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(args))
    return code, out.getvalue(), err.getvalue()


# -- the store itself ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def alpine_inventory(setup: Setup) -> hullscan.Inventory:
    return hullscan.inventory(f"oci-dir:{setup.layout}:3.20.3", use_cache=False)


def test_round_trip_and_idempotent_upsert(alpine_inventory: hullscan.Inventory, tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with InventoryStore(path) as st:
        d = st.put(alpine_inventory, repository="r", tags=["a"])
        st.put(alpine_inventory, repository="r", tags=["a"])
        assert st.count() == 1
        assert st.inventory(d) == alpine_inventory
        # The store's fast serializer writes exactly Inventory.to_dict()'s document.
        assert json.loads(json.dumps(inventory_doc(alpine_inventory))) == json.loads(
            alpine_inventory.to_json()
        )
        st.put(alpine_inventory, repository="r2", tags=["b", "a", "b"])
        assert st.count() == 1
        img = st.get(d)
        assert img is not None
        assert (img.repository, img.tags, img.package_count) == (
            "r2",
            ("a", "b"),
            len(alpine_inventory.packages),
        )
        assert img.db_generation is None
        other = replace(alpine_inventory, packages=alpine_inventory.packages[:3])
        st.put(other, digest="sha256:" + "1" * 64)
        assert st.count() == 2
        assert st.inventory("sha256:" + "1" * 64).packages == alpine_inventory.packages[:3]
        assert [i.digest for i in st.images()] == sorted([d, "sha256:" + "1" * 64])
        assert st.delete("sha256:" + "1" * 64)
        assert not st.delete("sha256:" + "1" * 64)
        assert st.count() == 1
    # SQLite in WAL mode; reopened, the rows are there.
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    with InventoryStore(f"sqlite:///{path}") as st:
        assert st.inventory(d) == alpine_inventory


def test_concurrent_writers_leave_one_row_per_digest(
    alpine_inventory: hullscan.Inventory, tmp_path: Path
) -> None:
    digests = [f"sha256:{i:064x}" for i in range(40)]
    st = InventoryStore(tmp_path / "s.db")
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for j in range(len(digests)):
                dg = digests[(j + seed * 7) % len(digests)]
                st.put(alpine_inventory, digest=dg, repository=f"w{seed}")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert st.count() == len(digests)
    assert sorted(i.digest for i in st.images()) == digests
    st.close()


def test_rescan_batches_give_the_same_deltas(
    alpine_inventory: hullscan.Inventory, setup: Setup, tmp_path: Path
) -> None:
    advisory_db.import_paths([setup.advisories["full"]], name=SOURCE).close()
    st = InventoryStore(tmp_path / "s.db")
    pkgs = alpine_inventory.packages
    for i in range(7):
        st.put(replace(alpine_inventory, packages=pkgs[i:]), digest=f"sha256:{i:064x}")
    one = {d.digest: d for d in rescan(st, batch_size=3, digests=None)}
    assert len(one) == 7
    for i in range(7):
        d = one[f"sha256:{i:064x}"]
        names = {p.name for p in pkgs[i:]}
        assert {f.package for f in d.new} <= names
    # Only some digests: only those.
    assert [d.digest for d in rescan(st, digests=[f"sha256:{2:064x}"])] == [f"sha256:{2:064x}"]
    st.close()


def test_store_errors(tmp_path: Path, alpine_inventory: hullscan.Inventory) -> None:
    with pytest.raises(hullscan.StoreError, match="SQLite and PostgreSQL"):
        InventoryStore("mssql+pymssql://u:pw@127.0.0.1/x")
    bad = tmp_path / "garbage.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(hullscan.StoreError, match="opening failed"):
        InventoryStore(bad)
    newer = tmp_path / "newer.db"
    InventoryStore(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(hullscan.StoreError, match="schema version 99"):
        InventoryStore(newer)
    with InventoryStore(tmp_path / "ok.db") as st:
        with pytest.raises(hullscan.StoreError, match="no inventory stored"):
            st.inventory("sha256:" + "0" * 64)
        nodigest = replace(alpine_inventory, manifest_digest=None)
        with pytest.raises(hullscan.StoreError, match="no manifest digest"):
            st.put(nodigest)
    # A password in a URL never reaches a message.
    with pytest.raises(hullscan.StoreError) as e:
        InventoryStore("postgresql+psycopg://hullscan:pw-Sekrit-991@127.0.0.1:1/x")
    assert "pw-Sekrit-991" not in str(e.value)
    # The CLI: one line, exit 2.
    code, out, err = run_cli("rescan", "--store", str(bad))
    assert code == 2
    assert out == ""
    assert err.startswith("hullscan: error: StoreError:")
    assert err.count("\n") == 1
    code, _, err = run_cli("rescan", "--store", str(tmp_path / "ok.db"), "--batch-size", "0")
    assert code == 2
    assert err.count("\n") == 1


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run_cli("rescan", "--store", str(tmp_path / "s.db"))
    assert code == 2
    assert "DatabaseNotFoundError" in err
    assert err.count("\n") == 1


def test_hostile_names_cannot_forge_lines(
    setup: Setup, alpine_inventory: hullscan.Inventory, tmp_path: Path
) -> None:
    advisory_db.import_paths([setup.advisories["full"]], name=SOURCE).close()
    evil = "\x1b[2J\nrescanned 0 image(s): all clean"
    pkgs = tuple(
        replace(p, name=p.name + evil) if p.name == "libssl3" else p for p in alpine_inventory.packages
    )
    with InventoryStore(tmp_path / "s.db") as st:
        st.put(replace(alpine_inventory, packages=pkgs), repository="repo" + evil, tags=["t" + evil])
    code, text, _ = run_cli("rescan", "--store", str(tmp_path / "s.db"))
    assert code == 0
    assert "\x1b" not in text
    lines = text.splitlines()
    assert sum(1 for line in lines if line.startswith("rescanned")) == 1
    assert any("libssl3\\x1b[2J\\nrescanned" in line for line in lines)


def test_rescan_gate_on_new_findings(alpine_inventory: hullscan.Inventory, tmp_path: Path) -> None:
    """``--fail-on`` gates on *new* findings only: the rescan that brings GHSA advisories (rated)
    for a stored requests 2.19.1 exits 1; the next one, with nothing new, exits 0."""
    requests = hullscan.Package(
        name="requests",
        version="2.19.1",
        ecosystem="PyPI",
        purl="pkg:pypi/requests@2.19.1",
        kind="python",
        locations=("/usr/lib/python3.12/site-packages/requests-2.19.1.dist-info/METADATA",),
    )
    inv = replace(alpine_inventory, packages=(*alpine_inventory.packages, requests))
    store = tmp_path / "s.db"
    with InventoryStore(store) as st:
        st.put(inv, repository="app")
    advisory_db.import_paths([DATA / "advisories/osv/npm/all.zip"]).close()
    assert run_cli("rescan", "--store", str(store), "--fail-on", "low")[0] == 0
    advisory_db.import_paths([DATA / "advisories/osv/PyPI/all.zip"]).close()
    code, out, err = run_cli("rescan", "--store", str(store), "--fail-on", "medium")
    assert code == 1
    assert "gate failed" in err
    assert "requests 2.19.1" in out
    want = {f.id for f in match(inv, open_index(None)[0])[0] if f.package.name == "requests"}
    assert want
    with InventoryStore(store) as st:
        assert {f.id for f in st.findings(inv.manifest_digest or "") if f.package == "requests"} == want
    code, _, err = run_cli("rescan", "--store", str(store), "--fail-on", "medium")
    assert code == 0, err


def test_compact_queries_round_trip(alpine_inventory: hullscan.Inventory) -> None:
    from hullscan.scan import query_of
    from hullscan.store.compact import CompactQueries, split_fields

    odd = ["a\tb", "c\nd", "e\\f", "g\x00h", "\\t", "tail\\"]
    pkgs = tuple(
        replace(p, name=p.name + odd[i % len(odd)], purl=p.purl + odd[(i + 1) % len(odd)])
        for i, p in enumerate(alpine_inventory.packages)
    )
    inv = replace(alpine_inventory, packages=pkgs)
    back = CompactQueries.decode(CompactQueries.of(inv).encode())
    assert [tuple(split_fields(k)) for k in back.keys] == [query_of(p) for p in pkgs]
    assert [tuple(split_fields(r)) for r in back.refs] == [
        (p.name, p.version, p.ecosystem, p.purl) for p in pkgs
    ]
    empty = CompactQueries.decode(CompactQueries.of(replace(inv, packages=())).encode())
    assert (empty.keys, empty.refs) == ([], [])
    with pytest.raises(hullscan.StoreError):
        CompactQueries.decode(b"not zstd")
