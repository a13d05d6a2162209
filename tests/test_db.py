"""The advisory database: importers against the real feeds under ../shared/data/advisories, the
store's generations and atomic swaps, bad input, and ``hullscan db import|status``.

Expected records are computed here from the raw files with code written for the tests (it does
not call the importers' helpers), and every stored record is checked against the OSV schema's
required fields and types by :func:`osv_problems`, also written here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hullscan
from conftest import require_tool
from hullscan import db as adb
from hullscan.db import store
from hullscan.errors import DatabaseError, DatabaseNotFoundError, FeedFormatError, HullscanError

OSV_ECOSYSTEMS = ("Go", "Maven", "PyPI", "crates.io", "npm")
DEBIAN_RELEASES = {
    "etch": "4",
    "lenny": "5",
    "squeeze": "6",
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
}
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# --- helpers -------------------------------------------------------------------------------------


def osv_problems(rec: Any) -> list[str]:
    """What in ``rec`` breaks the OSV schema (1.6): required id and modified, and field types."""
    p: list[str] = []
    if not isinstance(rec, dict):
        return ["not an object"]
    if not (isinstance(rec.get("id"), str) and rec["id"]):
        p.append("id")
    if not (isinstance(rec.get("modified"), str) and TS.match(rec["modified"])):
        p.append("modified")
    for k in ("published", "withdrawn"):
        if k in rec and not (isinstance(rec[k], str) and TS.match(rec[k])):
            p.append(k)
    for k in ("summary", "details", "schema_version"):
        if k in rec and not isinstance(rec[k], str):
            p.append(k)
    for k in ("aliases", "related", "upstream"):
        if k in rec and not (isinstance(rec[k], list) and all(isinstance(x, str) for x in rec[k])):
            p.append(k)
    for s in rec.get("severity", []):
        if not (isinstance(s.get("type"), str) and isinstance(s.get("score"), str)):
            p.append("severity")
    for r in rec.get("references", []):
        if not (isinstance(r.get("type"), str) and isinstance(r.get("url"), str)):
            p.append("references")
    if "database_specific" in rec and not isinstance(rec["database_specific"], dict):
        p.append("database_specific")
    affected = rec.get("affected", [])
    if not isinstance(affected, list):
        return [*p, "affected"]
    for a in affected:
        pkg = a.get("package")
        if pkg is not None and not (
            isinstance(pkg.get("ecosystem"), str) and isinstance(pkg.get("name"), str)
        ):
            p.append("affected.package")
        for r in a.get("ranges", []):
            if r.get("type") not in ("SEMVER", "ECOSYSTEM", "GIT"):
                p.append("affected.ranges.type")
            events = r.get("events")
            if not (isinstance(events, list) and events):
                p.append("affected.ranges.events")
                continue
            for e in events:
                if not (
                    isinstance(e, dict)
                    and len(e) == 1
                    and set(e) <= {"introduced", "fixed", "last_affected", "limit"}
                    and all(isinstance(v, str) for v in e.values())
                ):
                    p.append(f"affected.ranges.events: {e!r}")
        if "versions" in a and not all(isinstance(v, str) for v in a["versions"]):
            p.append("affected.versions")
        for k in ("ecosystem_specific", "database_specific"):
            if k in a and not isinstance(a[k], dict):
                p.append(f"affected.{k}")
    return p


def all_valid(db: adb.Database) -> int:
    n = 0
    for rec in db.records():
        assert osv_problems(rec) == [], (rec.get("id"), osv_problems(rec))
        n += 1
    return n


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def zip_records(path: Path) -> dict[str, dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        return {n[: -len(".json")]: json.loads(zf.read(n)) for n in zf.namelist() if n.endswith(".json")}


def generations(cache: Path) -> list[str]:
    d = cache / "db" / "generations"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def current(cache: Path) -> str:
    return (cache / "db" / "current").read_text().strip()


def events_of(affected: dict[str, Any]) -> list[list[dict[str, str]]]:
    return [r["events"] for r in affected["ranges"]]


def fixed_versions(affected: dict[str, Any]) -> set[str]:
    return {e["fixed"] for r in affected["ranges"] for e in r["events"] if "fixed" in e}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``hullscan`` from this checkout (python -m, so nothing needs installing)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(Path(hullscan.__file__).resolve().parents[1]) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "hullscan.cli", *args], capture_output=True, text=True, check=False, env=e
    )


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def adv(data_dir: Path) -> Path:
    return data_dir / "advisories"


@pytest.fixture(scope="session")
def unpacked(adv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every advisory .tar.zst, unpacked with zstd and tar."""
    out = tmp_path_factory.mktemp("advisories")
    zstd = require_tool("zstd")
    for archive in sorted(adv.rglob("*.tar.zst")):
        data = subprocess.run([zstd, "-dc", str(archive)], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=data, check=True)
    return out


@pytest.fixture
def cache(isolated_cache: Path) -> Path:
    return isolated_cache


# --- OSV -----------------------------------------------------------------------------------------


def test_osv_zips(adv: Path, cache: Path) -> None:
    zips = [adv / "osv" / eco / "all.zip" for eco in OSV_ECOSYSTEMS]
    with adb.import_paths(zips) as db:
        assert set(db.changed) == {f"osv/{e}" for e in OSV_ECOSYSTEMS}
        by_name = {s.name: s for s in db.sources()}
        for eco, z in zip(OSV_ECOSYSTEMS, zips, strict=True):
            raw = zip_records(z)
            src = by_name[f"osv/{eco}"]
            assert src.kind == "osv"
            assert src.count == len(raw)
            assert src.origin == str(z)
            assert src.sha256 == sha256(z)
            stored = {r["id"]: r for r in db.records(f"osv/{eco}")}
            assert stored.keys() == {r["id"] for r in raw.values()}
            # OSV records are stored as they are
            for rid in sorted(stored)[:: max(1, len(stored) // 25)]:
                assert stored[rid] == raw[rid]
            assert eco in {e.split(":")[0] for e in src.ecosystems}
        assert all_valid(db) == sum(len(zip_records(z)) for z in zips) == db.count()
        assert db.record_files()
        assert all(f.is_file() and f.parent.parent == db.path for f in db.record_files())


def test_osv_directory_and_single_file(unpacked: Path, cache: Path) -> None:
    ubuntu = unpacked / "format-samples/tests/unit/providers/ubuntu"
    files = sorted(ubuntu.rglob("*.json"))
    raw = {json.loads(f.read_text())["id"]: json.loads(f.read_text()) for f in files}
    dsa = unpacked / "debian-samples/osv.dev-testdata/gcp_workers_oss_fuzz_worker_testdata_DSA-3029-1.json"
    with adb.import_paths([ubuntu, dsa]) as db:
        src = {s.name: s for s in db.sources()}
        assert src["osv/Ubuntu"].count == len(files) == len(raw)
        assert {r["id"]: r for r in db.records("osv/Ubuntu")} == raw
        withdrawn = [r for r in raw.values() if "withdrawn" in r]
        assert withdrawn, "the sample has a withdrawn record"
        assert {r["id"] for r in db.records() if "withdrawn" in r} == {r["id"] for r in withdrawn}
        single = next(s for s in db.sources() if s.origin == str(dsa))
        assert single.name == "osv/gcp_workers_oss_fuzz_worker_testdata_DSA-3029-1"
        assert single.sha256 == sha256(dsa)
        assert list(db.records(single.name)) == [json.loads(dsa.read_text())]
        all_valid(db)


# --- Alpine --------------------------------------------------------------------------------------


def alpine_expectations(
    doc: dict[str, Any], packages: list[dict[str, Any]]
) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """(package, CVE, fixed version) for plain CVE entries, and (package, CVE) listed only under
    version "0" (not affected)."""
    fixed: set[tuple[str, str, str]] = set()
    zero: set[tuple[str, str]] = set()
    for pkg in packages:
        for version, ids in (pkg.get("secfixes") or {}).items():
            for entry in ids or []:
                if re.fullmatch(r"CVE-\d{4}-\d+", entry):
                    if version == "0":
                        zero.add((pkg["name"], entry))
                    else:
                        fixed.add((pkg["name"], entry, version))
    zero -= {(p, c) for p, c, _ in fixed}
    return fixed, zero


def test_alpine_secdb(unpacked: Path, cache: Path) -> None:
    root = unpacked / "alpine-secdb/json"
    files = sorted(root.rglob("*.json"))
    with adb.import_paths([root]) as db:
        src = {s.name: s for s in db.sources()}
        assert len(src) == len(files)
        for f in files:
            doc = json.loads(f.read_text())
            name = f"alpine/{doc['distroversion']}/{doc['reponame']}"
            ecosystem = f"Alpine:{doc['distroversion']}"
            recs = list(db.records(name))
            assert src[name].count == len(recs)
            got: dict[tuple[str, str], set[str]] = {}
            for r in recs:
                (a,) = r["affected"]
                assert a["package"]["ecosystem"] == ecosystem
                for alias in r["aliases"]:
                    got.setdefault((a["package"]["name"], alias), set()).update(fixed_versions(a))
                assert all(ev[0] == {"introduced": "0"} for ev in events_of(a))
            fixed, zero = alpine_expectations(doc, [p["pkg"] for p in doc["packages"]])
            for pkg, cve, version in fixed:
                assert version in got.get((pkg, cve), set()), (f.name, pkg, cve, version)
            for pkg, cve in zero:
                assert (pkg, cve) not in got, (f.name, pkg, cve)
            # one record per (package, vulnerability): never more than the distinct entries
            distinct = {
                (p["pkg"]["name"], e)
                for p in doc["packages"]
                for v, ids in (p["pkg"].get("secfixes") or {}).items()
                if v != "0"
                for e in ids or []
            }
            assert len({(p, c) for p, c, _ in fixed}) <= len(recs) <= len(distinct)
        all_valid(db)
    # loose entries: "CVE-2016-9932 XSA-200" is the CVE with the XSA as an alias
    with adb.open_db() as db:
        xen = [r for r in db.records() if r["id"] == "ALPINE-CVE-2016-9932"]
        assert xen
        assert all("XSA-200" in r["aliases"] for r in xen)


def test_alpine_vuln_list_dir_and_archive(adv: Path, unpacked: Path, cache: Path) -> None:
    d = unpacked / "vuln-list-alpine-3.20-main"
    docs = [json.loads(f.read_text()) for f in sorted(d.glob("*.json"))]
    fixed, zero = alpine_expectations({}, docs)
    assert zero, "busybox lists CVEs under version 0"
    with adb.import_paths([d]) as db:
        (src,) = db.sources()
        assert src.name == "alpine/v3.20/main"
        recs = list(db.records())
        by_key = {(r["affected"][0]["package"]["name"], r["aliases"][0]): r for r in recs}
        for pkg, cve, version in fixed:
            assert version in fixed_versions(by_key[(pkg, cve)]["affected"][0])
            assert by_key[(pkg, cve)]["affected"][0]["package"]["ecosystem"] == "Alpine:v3.20"
        for pkg, cve in zero:
            assert (pkg, cve) not in by_key
        from_dir = sorted(json.dumps(r, sort_keys=True) for r in recs)
    # the .tar.zst itself: the same records (times come from the archive's member mtimes)
    with adb.import_paths([adv / "alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"]) as db:
        (src,) = db.sources()
        assert src.name == "alpine/v3.20/main"
        assert sorted(json.dumps(r, sort_keys=True) for r in db.records()) == from_dir


def test_alpine_ecosystem_override(unpacked: Path, tmp_path: Path, cache: Path) -> None:
    doc = json.loads((unpacked / "vuln-list-alpine-3.20-main/zlib.json").read_text())
    del doc["distroversion"]
    f = tmp_path / "zlib.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(FeedFormatError, match="distroversion"):
        adb.import_paths([f])
    with adb.import_paths([f], ecosystem="Alpine:v3.19") as db:
        assert db.sources()[0].name == "alpine/v3.19/main"
        assert {r["affected"][0]["package"]["ecosystem"] for r in db.records()} == {"Alpine:v3.19"}


# --- Debian --------------------------------------------------------------------------------------


def debian_expected(doc: dict[str, Any]) -> set[tuple[str, str, str, str | None]]:
    """(vulnerability, Debian:N, source package, fixed version or None) the tracker says affected."""
    out = set()
    for pkg, vulns in doc.items():
        for vid, info in vulns.items():
            releases = info.get("releases")
            if not isinstance(releases, dict):
                continue
            for codename, rel in releases.items():
                if codename not in DEBIAN_RELEASES:
                    continue
                eco = f"Debian:{DEBIAN_RELEASES[codename]}"
                if rel["status"] == "resolved" and rel.get("fixed_version") not in (None, "0"):
                    out.add((vid, eco, pkg, rel["fixed_version"]))
                elif rel["status"] in ("open", "undetermined"):
                    out.add((vid, eco, pkg, None))
    return out


def test_debian_tracker(unpacked: Path, cache: Path) -> None:
    vunnel = unpacked / "format-samples/tests/unit/providers/debian/test-fixtures/input/debian.json"
    mock = (
        unpacked
        / "debian-samples/osv.dev-testdata/vulnfeeds_test_data_debian_debian_security_tracker_mock.json"
    )
    for f in (vunnel, mock):
        doc = json.loads(f.read_text())
        with adb.import_paths([f]) as db:
            (src,) = db.sources()
            assert src.name == "debian/tracker"
            got = set()
            for r in db.records():
                (a,) = r["affected"]
                (events,) = events_of(a)
                assert events[0] == {"introduced": "0"}
                fixed = events[1]["fixed"] if len(events) > 1 else None
                assert r["id"] == "DEBIAN-" + r["aliases"][0]
                got.add((r["aliases"][0], a["package"]["ecosystem"], a["package"]["name"], fixed))
                rel = doc[a["package"]["name"]][r["aliases"][0]]["releases"][
                    r["database_specific"]["release"]
                ]
                assert a["ecosystem_specific"]["urgency"] == rel["urgency"]
                assert r["database_specific"]["urgency"] == rel["urgency"]
            assert got == debian_expected(doc)
            assert src.count == len(got)
            all_valid(db)
    # not affected ("resolved", fixed "0") makes no record; an open one has no fix
    with adb.open_db() as db:
        recs = list(db.records())
        apparmor = {(r["aliases"][0], r["affected"][0]["package"]["ecosystem"]) for r in recs}
        assert ("CVE-2014-1424", "Debian:12") not in apparmor
    with adb.import_paths([vunnel]) as db:
        chromium = [r for r in db.records() if r["id"] == "DEBIAN-CVE-2022-0456"]
        eco = {r["affected"][0]["package"]["ecosystem"]: r for r in chromium}
        assert events_of(eco["Debian:10"]["affected"][0]) == [[{"introduced": "0"}]]
        assert fixed_versions(eco["Debian:11"]["affected"][0]) == {"98.0.4758.80-1~deb11u1"}
        assert "Debian:unstable" not in eco
        assert all(":" in e for e in eco)
        # urgency "high**" (a guess) is severity high; "not yet assigned" gives no severity
        sev = {
            r["database_specific"]["urgency"]: r["database_specific"].get("severity") for r in db.records()
        }
        assert sev["high**"] == "high"
        assert sev["not yet assigned"] is None


def test_debian_osv_samples_in_archive(adv: Path, cache: Path) -> None:
    """The whole debian-samples archive: its OSV records and tracker JSON are imported, the rest
    (vunnel snapshots, Python reprs, text lists) is reported as not imported."""
    with adb.import_paths([adv / "debian/debian-samples-osv-and-tracker-json.tar.zst"]) as db:
        names = {s.name for s in db.sources()}
        assert names == {"osv/Debian", "debian/tracker"}
        osv_ids = {r["id"] for r in db.records("osv/Debian")}
        assert osv_ids == {"DLA-3623-1", "DSA-3029-1"}
        assert db.warnings
        assert any("snapshots" in w for w in db.warnings)
        all_valid(db)


def test_debian_advisory_lists(adv: Path, unpacked: Path, cache: Path) -> None:
    """data/{DSA,DLA,DTSA}/list: one record per advisory, a fixed range per [release] line."""
    with adb.import_paths([adv / "debian/debian-security-tracker-DSA-DLA-DTSA-lists-2023-04.tar.zst"]) as db:
        src = {s.name: s for s in db.sources()}
        assert set(src) == {"debian/dsa", "debian/dla", "debian/dtsa"}
        recs = {r["id"]: r for r in db.records()}
        all_valid(db)
    for kind in ("DSA", "DLA", "DTSA"):
        text = (unpacked / "debian-security-tracker/data" / kind / "list").read_text()
        blocks: list[list[str]] = []
        for line in text.splitlines():
            if line.startswith("["):
                blocks.append([line])
            elif blocks:
                blocks[-1].append(line.strip())
        assert src[f"debian/{kind.lower()}"].count == len(blocks)
        for block in blocks:
            aid = block[0].split("]", 1)[1].split()[0]
            r = recs[aid]
            fixes = {
                (f"Debian:{DEBIAN_RELEASES[rel.strip('[]')]}", pkg, ver)
                for rel, dash, pkg, ver, *_ in (
                    line.split() for line in block[1:] if line.startswith("[") and len(line.split()) >= 4
                )
                if dash == "-" and rel.strip("[]") in DEBIAN_RELEASES and not ver.startswith("<")
            }
            got = {
                (a["package"]["ecosystem"], a["package"]["name"], v)
                for a in r["affected"]
                for v in fixed_versions(a)
            }
            assert got == fixes, aid
            for line in block[1:]:
                if line.startswith("{"):
                    assert set(line.strip("{}").split()) <= set(r["aliases"]) | {aid}
    assert recs["DSA-5380-1"]["published"].startswith("2023-03-29")


# --- Amazon --------------------------------------------------------------------------------------


def alas_release(aid: str) -> str:
    m = re.match(r"ALAS(2023|2022|2)-", aid)
    assert m, aid
    return m.group(1)


def test_alas_json(unpacked: Path, cache: Path) -> None:
    files = sorted((unpacked / "al2/vuln-list").rglob("*.json")) + sorted(
        (unpacked / "al2023/vuln-list").rglob("*.json")
    )
    with adb.import_paths([unpacked / "al2/vuln-list", unpacked / "al2023/vuln-list"]) as db:
        recs = {r["id"]: r for r in db.records()}
        assert len(recs) == len(files)
        for f in files:
            adv = json.loads(f.read_text())
            r = recs[adv["id"]]
            eco = f"Amazon Linux:{alas_release(adv['id'])}"
            assert set(adv.get("cveids") or []) <= set(r["aliases"])
            assert r["summary"] == adv["title"]
            want: dict[str, set[str]] = {}
            for p in adv["packages"]:
                want.setdefault(p["name"], set()).add(f"{p['epoch'] or '0'}:{p['version']}-{p['release']}")
            got = {a["package"]["name"]: fixed_versions(a) for a in r["affected"]}
            assert got == want
            assert {a["package"]["ecosystem"] for a in r["affected"]} == {eco}
            assert r["database_specific"]["vendor_severity"] == adv["severity"]
            assert r["database_specific"]["severity"] in ("critical", "high", "medium", "low")
            assert r["published"].startswith(adv["issued"]["date"][:10])
        src = {s.name: s for s in db.sources()}
        assert src["amazon/2"].count + src["amazon/2023"].count == len(files)
        all_valid(db)


def test_alas_updateinfo(unpacked: Path, cache: Path) -> None:
    d = unpacked / "al2/updateinfo/aquasecurity-vuln-list-update"
    files = [d / "updateinfo_1_item.xml.gz", d / "updateinfo_2_items.xml.gz"]
    files.append(unpacked / "al2023/updateinfo/aquasecurity-vuln-list-update/updateinfo_AL2023.xml.gz")
    files.append(unpacked / "al2023/updateinfo/aquasecurity-vuln-list-update/updateinfo_AL2022.xml.gz")
    expected: dict[str, tuple[str, dict[str, set[str]], set[str], str]] = {}
    for f in files:
        for u in ET.fromstring(gzip.decompress(f.read_bytes())).iter("update"):
            short = u.find("pkglist/collection").get("short")
            pk: dict[str, set[str]] = {}
            for p in u.iter("package"):
                pk.setdefault(p.get("name"), set()).add(
                    f"{p.get('epoch')}:{p.get('version')}-{p.get('release')}"
                )
            cves = {r.get("id") for r in u.iter("reference") if r.get("type") == "cve"}
            expected[u.findtext("id")] = (
                short.replace("amazon-linux-", "Amazon Linux:"),
                pk,
                cves,
                u.findtext("severity"),
            )
    assert len(expected) == 5
    with adb.import_paths(files) as db:
        recs = {r["id"]: r for r in db.records()}
        assert recs.keys() == expected.keys()
        for aid, (eco, pk, cves, severity) in expected.items():
            r = recs[aid]
            assert {a["package"]["ecosystem"] for a in r["affected"]} == {eco}
            assert {a["package"]["name"]: fixed_versions(a) for a in r["affected"]} == pk
            assert set(r["aliases"]) == cves
            assert r["database_specific"]["vendor_severity"] == severity
        assert {s.name for s in db.sources()} == {"amazon/2", "amazon/2022", "amazon/2023"}
        all_valid(db)


def test_alas_updateinfo_and_json_agree(unpacked: Path, cache: Path) -> None:
    """ALAS2023-2023-001 as updateinfo XML and as vuln-list JSON (the .golden file, named on its
    own so its format is sniffed from content) makes the same affected packages; imported
    together it is stored once."""
    d = unpacked / "al2023/updateinfo/aquasecurity-vuln-list-update"
    xml, golden = d / "updateinfo_AL2023.xml.gz", d / "ALAS2023-2023-001.json.golden"
    affected = []
    for f in (xml, golden):
        with adb.import_paths([f]) as db:
            (rec,) = db.records()
            affected.append(rec["affected"])
    assert affected[0] == affected[1]
    with adb.import_paths([xml, golden]) as db:
        assert [r["id"] for r in db.records()] == ["ALAS2023-2023-001"]
        (src,) = db.sources()
        assert src.skipped == 1
        assert "duplicate" in src.warnings[0]


# --- the store -----------------------------------------------------------------------------------


def test_merge_replace_and_collect(adv: Path, cache: Path) -> None:
    npm, maven = adv / "osv/npm/all.zip", adv / "osv/Maven/all.zip"
    with adb.import_paths([npm]) as db1:
        gen1 = db1.generation
        assert [s.name for s in db1.sources()] == ["osv/npm"]
    with adb.import_paths([maven]) as db2:
        assert [s.name for s in db2.sources()] == ["osv/Maven", "osv/npm"]
        assert db2.changed == ("osv/Maven",)
        npm_time = {s.name: s for s in db2.sources()}["osv/npm"].imported_at
    assert generations(cache) == [db2.generation]  # the first one was collected after the swap
    assert gen1 != db2.generation
    time.sleep(0.01)
    with adb.import_paths([npm]) as db3:
        src = {s.name: s for s in db3.sources()}
        assert src["osv/npm"].imported_at > npm_time
        assert src["osv/npm"].count == len(zip_records(npm))
        assert db3.count() == len(zip_records(npm)) + len(zip_records(maven))
    assert generations(cache) == [current(cache)]
    meta = json.loads((cache / "db/generations" / current(cache) / "meta.json").read_text())
    assert {s["name"] for s in meta["sources"]} == {"osv/npm", "osv/Maven"}
    tmp = cache / "db" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_kept_files_are_hard_links(adv: Path, cache: Path) -> None:
    adb.import_paths([adv / "osv/Maven/all.zip"]).close()
    with adb.open_db() as old:
        (f_old,) = old.record_files()
        inode = f_old.stat().st_ino
        with adb.import_paths([adv / "osv/npm/all.zip"]) as new:
            (f_new,) = [f for f in new.record_files() if "Maven" in f.name]
            assert f_new.stat().st_ino == inode


def test_open_reader_keeps_its_generation(adv: Path, cache: Path) -> None:
    adb.import_paths([adv / "osv/npm/all.zip"]).close()
    reader = adb.open_db()
    first = reader.generation
    n = len(list(reader.records()))
    adb.import_paths([adv / "osv/Maven/all.zip"]).close()
    adb.import_paths([adv / "osv/Maven/all.zip"]).close()
    assert first in generations(cache), "an open generation is not collected"
    assert len(list(reader.records())) == n  # still readable, still the old content
    reader.close()
    adb.import_paths([adv / "osv/Maven/all.zip"]).close()
    assert first not in generations(cache)
    assert generations(cache) == [current(cache)]


def test_concurrent_readers_see_whole_generations(adv: Path, cache: Path) -> None:
    npm, maven = adv / "osv/npm/all.zip", adv / "osv/Maven/all.zip"
    n_npm, n_maven = len(zip_records(npm)), len(zip_records(maven))
    adb.import_paths([npm]).close()
    seen: set[int] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                with adb.open_db() as db:
                    n = sum(1 for _ in db.records())
                    assert n == db.count()
                    seen.add(n)
            except BaseException as e:
                errors.append(e)
                return

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            adb.import_paths([maven] if i % 2 == 0 else [npm], name="osv/npm" if i % 2 else None).close()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert seen <= {n_npm, n_npm + n_maven}
    # a generation a reader held at the last swap is collected by the next writer
    adb.import_paths([npm]).close()
    assert generations(cache) == [current(cache)]


def test_build_index_hook(adv: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hullscan.db import index

    calls: list[Path] = []

    def record(generation: Path) -> None:
        calls.append(generation)
        assert (generation / "meta.json").is_file()
        assert all(f.is_file() for f in generation.glob("sources/*.jsonl.zst"))
        assert not (cache / "db/current").exists(), "not current yet"
        (generation / "index.bin").write_bytes(b"index")

    monkeypatch.setattr(index, "build_index", record)
    with adb.import_paths([adv / "osv/npm/all.zip"]) as db:
        assert calls == [db.path]
        assert (db.path / "index.bin").read_bytes() == b"index"
        good = db.generation

    def fail(generation: Path) -> None:
        (generation / "index.partial").write_bytes(b"half")
        raise RuntimeError("index builder crashed")

    monkeypatch.setattr(index, "build_index", fail)
    with pytest.raises(DatabaseError, match="index builder crashed"):
        adb.import_paths([adv / "osv/Maven/all.zip"])
    assert current(cache) == good
    assert generations(cache) == [good]
    with adb.open_db() as db:
        assert [s.name for s in db.sources()] == ["osv/npm"]

    def interrupted(generation: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(index, "build_index", interrupted)
    with pytest.raises(KeyboardInterrupt):
        adb.import_paths([adv / "osv/Maven/all.zip"])
    assert current(cache) == good
    assert generations(cache) == [good]


def test_writer_lock_and_crash_leftovers(adv: Path, cache: Path) -> None:
    adb.import_paths([adv / "osv/npm/all.zip"]).close()
    root = cache / "db"
    with store.writer_lock(root), pytest.raises(DatabaseError, match="another"):
        adb.import_paths([adv / "osv/Maven/all.zip"])
    # what a killed writer leaves: an unfinished generation and a download
    (root / "generations" / "20000101T000000Z-deadbeef" / "sources").mkdir(parents=True)
    (root / "tmp").mkdir(exist_ok=True)
    (root / "tmp" / "download-x.zip").write_bytes(b"partial")
    with adb.open_db() as db:
        assert db.count() == len(zip_records(adv / "osv/npm/all.zip"))
    adb.import_paths([adv / "osv/Maven/all.zip"]).close()
    assert generations(cache) == [current(cache)]
    assert list((root / "tmp").iterdir()) == []


def test_no_database(cache: Path) -> None:
    with pytest.raises(DatabaseNotFoundError) as e:
        adb.open_db()
    assert "hullscan db update" in str(e.value)
    assert "hullscan db import" in str(e.value)
    assert isinstance(e.value, HullscanError)
    assert adb.status()["exists"] is False
    assert not (cache / "db").exists()


def test_age_and_staleness(adv: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    with adb.import_paths([adv / "osv/npm/all.zip"]) as db:
        assert timedelta(0) <= db.age() < timedelta(minutes=5)
        assert not db.is_stale()
        time.sleep(0.02)
        assert db.is_stale(max_age=timedelta(milliseconds=1))
        monkeypatch.setenv("HULLSCAN_DB_MAX_AGE", "1h")
        assert not db.is_stale()
        monkeypatch.setenv("HULLSCAN_DB_MAX_AGE", "0s")
        assert db.is_stale()
        assert adb.status()["stale"] is True
        monkeypatch.setenv("HULLSCAN_DB_MAX_AGE", "soon")
        with pytest.raises(DatabaseError, match="HULLSCAN_DB_MAX_AGE"):
            db.is_stale()
    assert adb.configured_max_age("7d") == timedelta(days=7)
    assert adb.configured_max_age("90m") == timedelta(minutes=90)
    assert adb.configured_max_age("3600") == timedelta(hours=1)


# --- bad input -----------------------------------------------------------------------------------


def snapshot(root: Path, *skip: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not any(s == p or s in p.parents for s in skip)
    }


@pytest.fixture
def inputs(adv: Path, cache: Path, tmp_path: Path) -> Iterator[Path]:
    """A directory for bad input files, and a database with npm in it; after the test: still
    that generation, no leftovers in the cache dir, nothing written outside it."""
    adb.import_paths([adv / "osv/npm/all.zip"]).close()
    gen = current(cache)
    d = tmp_path / "in"
    d.mkdir()
    before = snapshot(tmp_path, cache, d)
    yield d
    assert current(cache) == gen
    assert generations(cache) == [gen]
    assert not (cache / "db/tmp").exists() or list((cache / "db/tmp").iterdir()) == []
    assert snapshot(tmp_path, cache, d) == before
    with adb.open_db() as db:
        assert db.count() == len(zip_records(adv / "osv/npm/all.zip"))


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_corrupt_zips(adv: Path, inputs: Path) -> None:
    src = (adv / "osv/Maven/all.zip").read_bytes()
    truncated = inputs / "truncated.zip"
    truncated.write_bytes(src[: len(src) // 2])
    with pytest.raises(FeedFormatError, match="zip"):
        adb.import_paths([truncated])
    # flip bytes inside the first member's compressed data: the CRC check catches it
    with zipfile.ZipFile(io.BytesIO(src)) as zf:
        first = zf.infolist()[0]
        start = first.header_offset + 30 + len(first.filename.encode()) + len(first.extra)
    flipped = bytearray(src)
    for i in range(start + 10, start + 40):
        flipped[i] ^= 0x5A
    bad = inputs / "flipped.zip"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(FeedFormatError):
        adb.import_paths([bad])
    notjson = _zip(inputs / "notjson.zip", {"GHSA-1.json": b'{"id": "GHSA-1", "modified": '})
    with pytest.raises(FeedFormatError, match=r"GHSA-1\.json: invalid JSON"):
        adb.import_paths([notjson])
    # a good path and a bad one: nothing of the good one is kept either
    with pytest.raises(FeedFormatError):
        adb.import_paths([adv / "osv/Maven/all.zip", truncated])
    p = cli("db", "import", str(truncated))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert p.stderr.startswith("hullscan: error: FeedFormatError:")


def test_invalid_files(unpacked: Path, inputs: Path) -> None:
    broken = inputs / "broken.json"
    broken.write_text('{"id": "GHSA-x", "affected": [')
    with pytest.raises(FeedFormatError, match="invalid JSON"):
        adb.import_paths([broken])
    unknown = inputs / "unknown.json"
    unknown.write_text('{"hello": "world"}')
    with pytest.raises(FeedFormatError, match="no known"):
        adb.import_paths([unknown])
    with pytest.raises(FeedFormatError, match="no such file"):
        adb.import_paths([inputs / "missing.json"])
    invalid_xml = unpacked / "al2/updateinfo/aquasecurity-vuln-list-update/updateinfo_invalid.xml.gz"
    with pytest.raises(FeedFormatError, match="invalid updateinfo XML"):
        adb.import_paths([invalid_xml])
    bomb = inputs / "updateinfo.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<updates><update><id>&b;</id></update></updates>"
    )
    with pytest.raises(FeedFormatError, match="document type"):
        adb.import_paths([bomb])
    with pytest.raises(FeedFormatError, match="looks like alpine data, not osv"):
        adb.import_paths([unpacked / "vuln-list-alpine-3.20-main/zlib.json"], format="osv")
    # a directory with nothing importable
    empty = inputs / "empty"
    empty.mkdir()
    (empty / "README").write_text("nothing here")
    with pytest.raises(FeedFormatError, match="no advisories"):
        adb.import_paths([empty])


def test_bad_records_are_skipped_with_warnings(tmp_path: Path, cache: Path) -> None:
    good = {"id": "GHSA-good", "modified": "2024-01-01T00:00:00Z", "affected": []}
    bad = [
        {"id": 5, "modified": "2024-01-01T00:00:00Z"},
        {"id": "GHSA-nomod"},
        {"id": "GHSA-aff", "modified": "2024-01-01T00:00:00Z", "affected": "everything"},
        {
            "id": "GHSA-ev",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "x"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": 1}]}],
                }
            ],
        },
        {"id": "GHSA-time", "modified": "yesterday"},
        {"id": "GHSA-alias", "modified": "2024-01-01T00:00:00Z", "aliases": "CVE-1"},
        ["not", "a", "record"],
    ]
    d = tmp_path / "osvdir"
    d.mkdir()
    (d / "good.json").write_text(json.dumps(good))
    (d / "bad.json").write_text(json.dumps([good | {"id": "GHSA-good2"}, *bad]))
    with adb.import_paths([d]) as db:
        (src,) = db.sources()
        assert src.count == 2
        assert src.skipped == len(bad)
        assert len(src.warnings) == len(bad)
        assert any("GHSA-ev" in w and "events" in w for w in src.warnings)
        assert sorted(r["id"] for r in db.records()) == ["GHSA-good", "GHSA-good2"]
    p = cli("db", "import", str(d))
    assert p.returncode == 0
    assert "2 records, 7 skipped" in p.stdout
    assert "hullscan: warning:" in p.stderr


def test_alpine_bad_entries(tmp_path: Path, cache: Path) -> None:
    doc = {
        "distroversion": "v3.20",
        "reponame": "main",
        "packages": [
            {"pkg": {"name": "good", "secfixes": {"1.0-r1": ["CVE-2024-0001"], "0": ["CVE-2024-0002"]}}},
            {"pkg": {"name": "badlist", "secfixes": {"1.0-r1": "CVE-2024-0003"}}},
            {"pkg": {"name": "noid", "secfixes": {"1.0-r1": ["see upstream"]}}},
            {"pkg": {"secfixes": {"1.0-r1": ["CVE-2024-0004"]}}},
            {"nopkg": True},
        ],
    }
    f = tmp_path / "main.json"
    f.write_text(json.dumps(doc))
    with adb.import_paths([f]) as db:
        (src,) = db.sources()
        assert [r["id"] for r in db.records()] == ["ALPINE-CVE-2024-0001"]
        assert src.skipped == 4


# --- CLI and timing ------------------------------------------------------------------------------


def test_cli_import_and_status(adv: Path, unpacked: Path, cache: Path) -> None:
    p = cli("db", "status")
    assert p.returncode == 2
    assert p.stderr.startswith("hullscan: error: DatabaseNotFoundError:")
    assert p.stderr.count("\n") == 1
    p = cli("db", "status", "--format", "json")
    assert p.returncode == 2
    assert json.loads(p.stdout)["exists"] is False
    p = cli("db", "import", str(adv / "osv/npm/all.zip"), str(unpacked / "vuln-list-alpine-3.20-main"))
    assert p.returncode == 0, p.stderr
    assert "imported osv/npm: 40 records" in p.stdout or "imported osv/npm:" in p.stdout
    assert "alpine/v3.20/main" in p.stdout
    p = cli("db", "status")
    assert p.returncode == 0, p.stderr
    assert "osv/npm" in p.stdout
    assert "alpine/v3.20/main" in p.stdout
    st = json.loads(cli("db", "status", "--format", "json").stdout)
    assert st["exists"]
    assert st["generation"] == current(cache)
    with adb.open_db() as db:
        assert st["record_count"] == db.count() == sum(1 for _ in db.records())
        assert {s["name"]: s["count"] for s in st["sources"]} == {s.name: s.count for s in db.sources()}
    assert all(Path(f).is_file() for s in st["sources"] for f in s["files"])
    p = cli("db", "import", "--format", "debian", str(adv / "osv/npm/all.zip"))
    assert p.returncode == 2
    assert "FeedFormatError" in p.stderr
    # --cache-dir goes where it is told
    other = cache.parent / "other-cache"
    p = cli("db", "import", "--cache-dir", str(other), str(adv / "osv/Maven/all.zip"))
    assert p.returncode == 0
    assert (other / "db" / "current").is_file()


def test_full_import_timing(adv: Path, unpacked: Path, cache: Path) -> None:
    """Every staged advisory file in one import; prints the time (not asserted)."""
    paths = [adv / "osv" / e / "all.zip" for e in OSV_ECOSYSTEMS] + [
        unpacked / "alpine-secdb/json",
        unpacked / "vuln-list-alpine-3.20-main",
        unpacked / "format-samples/tests/unit/providers/debian/test-fixtures/input/debian.json",
        unpacked / "format-samples/tests/unit/providers/ubuntu",
        unpacked / "al2/vuln-list",
        unpacked / "al2023/vuln-list",
        unpacked / "al2/updateinfo/aquasecurity-vuln-list-update/updateinfo_2_items.xml.gz",
        unpacked / "al2023/updateinfo/aquasecurity-vuln-list-update/updateinfo_AL2023.xml.gz",
        unpacked / "debian-security-tracker/data",
    ]
    t0 = time.perf_counter()
    db = adb.import_paths(paths)
    elapsed = time.perf_counter() - t0
    with db:
        t1 = time.perf_counter()
        n = all_valid(db)
        read = time.perf_counter() - t1
        size = sum(f.stat().st_size for f in db.record_files())
        print(
            f"\nfull import: {n} records from {len(paths)} paths in {elapsed:.2f} s "
            f"({n / elapsed:.0f} records/s); read back + validate {read:.2f} s; "
            f"store {size / 1e6:.1f} MB in {len(db.record_files())} files"
        )
        assert n == db.count()
        kinds = {s.kind for s in db.sources()}
        assert kinds == {"osv", "alpine", "debian", "alas"}
    shutil.rmtree(cache / "db")


def test_damaged_store_is_reported(adv: Path, cache: Path) -> None:
    adb.import_paths([adv / "osv/npm/all.zip"]).close()
    shutil.rmtree(cache / "db" / "generations" / current(cache))
    with pytest.raises(DatabaseError, match="damaged"):
        adb.open_db()
    with pytest.raises(DatabaseError, match="damaged"):
        adb.import_paths([adv / "osv/Maven/all.zip"])
    (cache / "db" / "current").write_text("../../etc\n")
    with pytest.raises(DatabaseError, match="does not name a generation"):
        adb.open_db()


def test_index_of_another_format_is_rebuilt(adv: Path, cache: Path) -> None:
    """An index compiled by another hullscan version (another format) is rebuilt from the
    generation's records on first use; a bare index file of another format is a clear error."""
    from hullscan import _core
    from hullscan.scan import load_index

    db = adb.import_paths([adv / "osv/PyPI/all.zip"], cache_dir=cache)
    index_file = db.path / "index.bin"
    good = index_file.read_bytes()
    db.close()
    old = bytearray(good)
    old[7] = (_core.AdvisoryIndex.format_version + 1) % 256
    index_file.write_bytes(bytes(old))
    with pytest.raises(HullscanError, match="format version"):
        _core.AdvisoryIndex.load(index_file)
    idx, _info = load_index(None, offline=True, cache_dir=cache)
    assert index_file.read_bytes() == good
    assert idx.package_count > 0
    index_file.write_bytes(bytes(old))
    idx, _info = load_index(db.path, offline=True, cache_dir=cache)
    assert index_file.read_bytes() == good
