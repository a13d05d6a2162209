"""``hullscan db update`` against a real HTTP server on 127.0.0.1: a stdlib http.server in a thread
serving ``<Ecosystem>/all.zip`` copied from ../shared/data/advisories/osv, with ETag and
Last-Modified (and If-None-Match / If-Modified-Since) implemented in the handler below, and ways
to misbehave: cut the connection mid-file, serve a corrupt zip, fail with 503, stall."""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import shutil
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hullscan import db as adb
from hullscan.db import updater as upd
from hullscan.errors import DatabaseError, FeedFormatError, HullscanError, NetworkError
from test_db import cli, current, generations, osv_problems, zip_records

FAST = {"retries": 2, "backoff": 0.01, "timeout": 5.0}


@dataclass
class Behaviour:
    """How the server answers; set per test."""

    #: Per ecosystem: "ok", "cut", "corrupt", "stall", "404", or "503xN" (N failures, then ok).
    modes: dict[str, str] = field(default_factory=dict)
    send_etag: bool = True
    requests: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)


class FeedServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.behaviour = Behaviour()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _answer(self, code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if code != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)
                server.behaviour.requests.append((self.path, dict(self.headers), code))

            def do_GET(self) -> None:
                b = server.behaviour
                parts = self.path.strip("/").split("/")
                eco = parts[0] if len(parts) == 2 and parts[1] == "all.zip" else ""
                f = server.root / eco / "all.zip"
                if not eco or not f.is_file():
                    self._answer(404)
                    return
                mode = b.modes.get(eco, "ok")
                if mode == "404":
                    self._answer(404)
                    return
                if mode.startswith("503x"):
                    done = b.failures.get(eco, 0)
                    if done < int(mode[4:]):
                        b.failures[eco] = done + 1
                        self._answer(503, {"Retry-After": "0"})
                        return
                body = f.read_bytes()
                mtime = int(f.stat().st_mtime)
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                headers = {
                    "Last-Modified": email.utils.formatdate(mtime, usegmt=True),
                    "Content-Type": "application/zip",
                }
                if b.send_etag:
                    headers["ETag"] = etag
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if b.send_etag and inm is not None:
                    if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                        self._answer(304, headers)
                        return
                elif ims is not None:
                    try:
                        since = email.utils.parsedate_to_datetime(ims).timestamp()
                    except (TypeError, ValueError):
                        since = None
                    if since is not None and mtime <= since:
                        self._answer(304, headers)
                        return
                if mode == "corrupt":
                    data = bytearray(body)
                    for i in range(len(data) // 3, len(data) // 3 + 64):
                        data[i] ^= 0xFF
                    self._answer(200, headers, bytes(data))
                elif mode == "cut":
                    self.send_response(200)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    b.requests.append((self.path, dict(self.headers), 200))
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                elif mode == "stall":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:100])
                    self.wfile.flush()
                    b.requests.append((self.path, dict(self.headers), 200))
                    time.sleep(1.0)
                    self.close_connection = True
                else:
                    self._answer(200, headers, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def hits(self, eco: str) -> list[tuple[str, dict[str, str], int]]:
        return [r for r in self.behaviour.requests if r[0] == f"/{eco}/all.zip"]


@pytest.fixture
def feeds(data_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "feeds"
    for eco in ("npm", "Maven", "crates.io"):
        (root / eco).mkdir(parents=True)
        shutil.copy(data_dir / "advisories/osv" / eco / "all.zip", root / eco / "all.zip")
    return root


@pytest.fixture
def server(feeds: Path) -> Iterator[FeedServer]:
    s = FeedServer(feeds)
    s.thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
        s.thread.join(timeout=5)


def no_leftovers(cache: Path) -> None:
    assert generations(cache) == [current(cache)]
    tmp = cache / "db" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_download_then_not_modified(server: FeedServer, feeds: Path, isolated_cache: Path) -> None:
    with adb.update(base_url=server.url, ecosystems=["npm", "Maven"], **FAST) as db:
        gen = db.generation
        assert set(db.changed) == {"osv/npm", "osv/Maven"}
        src = {s.name: s for s in db.sources()}
        for eco in ("npm", "Maven"):
            z = feeds / eco / "all.zip"
            s = src[f"osv/{eco}"]
            assert s.count == len(zip_records(z))
            assert s.origin == f"{server.url}/{eco}/all.zip"
            assert s.sha256 == hashlib.sha256(z.read_bytes()).hexdigest()
            (_, _, code) = server.hits(eco)[-1]
            assert code == 200
            assert s.etag
            assert s.etag.startswith('"')
            assert s.last_modified
            assert {r["id"] for r in db.records(f"osv/{eco}")} == {r["id"] for r in zip_records(z).values()}
        assert all(osv_problems(r) == [] for r in db.records())
        first_checked = db.checked_at()
        assert first_checked is None
    time.sleep(0.01)
    with adb.update(base_url=server.url, ecosystems=["npm", "Maven"], **FAST) as db:
        assert db.generation == gen
        assert db.changed == ()
        for eco in ("npm", "Maven"):
            _, headers, code = server.hits(eco)[-1]
            assert code == 304
            assert headers["If-None-Match"] == src[f"osv/{eco}"].etag
            assert headers["If-Modified-Since"] == src[f"osv/{eco}"].last_modified
        checked = db.checked_at()
        assert checked is not None
        assert checked > max(s.imported_at for s in db.sources())
        assert db.updated_at() == checked
    no_leftovers(isolated_cache)


def test_changed_feed_makes_a_new_generation(server: FeedServer, feeds: Path, isolated_cache: Path) -> None:
    adb.update(base_url=server.url, ecosystems=["npm", "Maven"], **FAST).close()
    gen = current(isolated_cache)
    z = feeds / "npm" / "all.zip"
    with zipfile.ZipFile(z) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    dropped = sorted(members)[0]
    del members[dropped]
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    os.utime(z, (time.time() + 5, time.time() + 5))
    with adb.update(base_url=server.url, ecosystems=["npm", "Maven"], **FAST) as db:
        assert db.generation != gen
        assert db.changed == ("osv/npm",)
        src = {s.name: s for s in db.sources()}
        assert src["osv/npm"].count == len(members)
        assert dropped[: -len(".json")] not in {r["id"] for r in db.records("osv/npm")}
        assert [h[2] for h in server.hits("Maven")] == [200, 304]
    no_leftovers(isolated_cache)


def test_default_ecosystems_and_env_url(
    server: FeedServer, data_dir: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no ecosystems given, update fetches the OSV ecosystems the database holds (here from
    a local import), from $HULLSCAN_DB_URL."""
    adb.import_paths([data_dir / "advisories/osv/crates.io/all.zip"]).close()
    monkeypatch.setenv("HULLSCAN_DB_URL", server.url)
    with adb.update(**FAST) as db:
        assert [r[0] for r in server.behaviour.requests] == ["/crates.io/all.zip"]
        (src,) = db.sources()
        assert src.name == "osv/crates.io"
        assert src.origin == f"{server.url}/crates.io/all.zip"
        # the local import had no ETag: the first update downloads, without conditions
        assert "If-None-Match" not in server.behaviour.requests[0][1]
    assert upd.osv_ecosystems([]) == []
    assert "PyPI" in upd.DEFAULT_ECOSYSTEMS
    assert "Go" in upd.DEFAULT_ECOSYSTEMS


def test_last_modified_only(server: FeedServer, isolated_cache: Path) -> None:
    server.behaviour.send_etag = False
    adb.update(base_url=server.url, ecosystems=["Maven"], **FAST).close()
    gen = current(isolated_cache)
    with adb.update(base_url=server.url, ecosystems=["Maven"], **FAST) as db:
        assert db.generation == gen
        _, headers, code = server.hits("Maven")[-1]
        assert code == 304
        assert "If-Modified-Since" in headers
        assert "If-None-Match" not in headers


def test_cut_connection_keeps_previous_database(server: FeedServer, isolated_cache: Path) -> None:
    adb.update(base_url=server.url, ecosystems=["npm"], **FAST).close()
    gen = current(isolated_cache)
    before = (isolated_cache / "db/generations" / gen / "meta.json").read_bytes()
    server.behaviour.send_etag = False  # so the If-Modified-Since check is not what stops it
    os.utime(server.root / "npm/all.zip", (time.time() + 5, time.time() + 5))
    server.behaviour.modes = {"npm": "cut"}
    with pytest.raises(NetworkError, match=r"closed after \d+ of \d+ bytes") as e:
        adb.update(base_url=server.url, ecosystems=["Maven", "npm"], **FAST)
    assert "after 3 attempts" in str(e.value)
    assert len(server.hits("npm")) == 1 + 1 + FAST["retries"]  # the first update, then 3 tries
    assert current(isolated_cache) == gen
    assert (isolated_cache / "db/generations" / gen / "meta.json").read_bytes() == before
    no_leftovers(isolated_cache)  # Maven, downloaded fine, was not swapped in either
    with adb.open_db() as db:
        assert [s.name for s in db.sources()] == ["osv/npm"]
    p = cli("db", "update", "--base-url", server.url, "--ecosystem", "npm", "--retries", "0")
    assert p.returncode == 2
    assert p.stderr.startswith("hullscan: error: NetworkError:")
    assert p.stderr.count("\n") == 1
    no_leftovers(isolated_cache)


def test_corrupt_zip_keeps_previous_database(server: FeedServer, isolated_cache: Path) -> None:
    adb.update(base_url=server.url, ecosystems=["npm"], **FAST).close()
    gen = current(isolated_cache)
    server.behaviour.modes = {"Maven": "corrupt"}
    with pytest.raises(FeedFormatError, match=r"/Maven/all\.zip: .*corrupt") as e:
        adb.update(base_url=server.url, ecosystems=["npm", "Maven"], **FAST)
    assert isinstance(e.value, DatabaseError)
    assert isinstance(e.value, HullscanError)
    assert current(isolated_cache) == gen
    no_leftovers(isolated_cache)
    p = cli("db", "update", "--base-url", server.url, "--ecosystem", "Maven")
    assert p.returncode == 2
    assert p.stderr.startswith("hullscan: error: FeedFormatError:")
    assert p.stderr.count("\n") == 1
    no_leftovers(isolated_cache)


def test_retries_5xx_then_succeeds(server: FeedServer, isolated_cache: Path) -> None:
    server.behaviour.modes = {"npm": "503x2"}
    with adb.update(base_url=server.url, ecosystems=["npm"], **FAST) as db:
        assert [h[2] for h in server.hits("npm")] == [503, 503, 200]
        assert db.sources()[0].count > 0
    server.behaviour.modes = {"Maven": "503x9"}
    with pytest.raises(NetworkError, match="HTTP 503"):
        adb.update(base_url=server.url, ecosystems=["Maven"], **FAST)
    assert len(server.hits("Maven")) == FAST["retries"] + 1


def test_http_errors_fail_at_once(server: FeedServer, isolated_cache: Path) -> None:
    with pytest.raises(NetworkError, match="HTTP 404"):
        adb.update(base_url=server.url, ecosystems=["NoSuchEcosystem"], **FAST)
    assert len(server.behaviour.requests) == 1
    assert not (isolated_cache / "db" / "current").exists()
    with pytest.raises(DatabaseError, match="not http"):
        adb.update(base_url="ftp://127.0.0.1/x", ecosystems=["npm"], **FAST)


def test_stalled_and_refused_connections(server: FeedServer, isolated_cache: Path) -> None:
    server.behaviour.modes = {"npm": "stall"}
    t0 = time.monotonic()
    with pytest.raises(NetworkError, match=r"npm/all\.zip"):
        adb.update(base_url=server.url, ecosystems=["npm"], retries=1, backoff=0.01, timeout=0.3)
    assert time.monotonic() - t0 < 10
    # a port nothing listens on
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError, match=r"[Rr]efused"):
        adb.update(base_url=f"http://127.0.0.1:{port}", ecosystems=["npm"], retries=1, backoff=0.01)
    assert not (isolated_cache / "db" / "current").exists()
    assert generations(isolated_cache) == []


def test_cli_update_and_progress(
    server: FeedServer, isolated_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = cli("db", "update", "--base-url", server.url, "--ecosystem", "npm", "--ecosystem", "crates.io")
    assert p.returncode == 0, p.stderr
    assert "updated osv/npm:" in p.stdout
    assert "updated osv/crates.io:" in p.stdout
    assert "\r" not in p.stderr  # not a terminal: no progress line
    p = cli("db", "update", "--base-url", server.url)
    assert p.returncode == 0, p.stderr
    assert "unchanged" in p.stdout
    st = json.loads(cli("db", "status", "--format", "json").stdout)
    assert st["checked_at"] is not None
    assert {s["name"] for s in st["sources"]} == {"osv/npm", "osv/crates.io"}
    # forced progress: a line per download on stderr
    os.utime(server.root / "npm/all.zip", (time.time() + 5, time.time() + 5))
    server.behaviour.send_etag = False
    adb.update(base_url=server.url, ecosystems=["npm"], progress=True, **FAST).close()
    err = capsys.readouterr().err
    assert "npm:" in err
    assert "MB done" in err


def test_first_scan_downloads_the_database(
    server: FeedServer, data_dir: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    """A scan with no database at all updates it first (as Trivy does), from $HULLSCAN_DB_URL and
    the ecosystems $HULLSCAN_DB_ECOSYSTEMS names; a second scan uses it without downloading."""
    (server.root / "PyPI").mkdir()
    shutil.copy(data_dir / "advisories/osv/PyPI/all.zip", server.root / "PyPI/all.zip")
    rootfs = tmp_path / "rootfs"
    meta = rootfs / "usr/lib/python3/site-packages/requests-2.19.1.dist-info/METADATA"
    meta.parent.mkdir(parents=True)
    meta.write_text("Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\n")
    env = {"HULLSCAN_DB_URL": server.url, "HULLSCAN_DB_ECOSYSTEMS": "PyPI,npm"}
    p = cli("scan", f"dir:{rootfs}", "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    assert sorted(r[0] for r in server.behaviour.requests) == ["/PyPI/all.zip", "/npm/all.zip"]
    found = {f["id"] for f in json.loads(p.stdout)["findings"]}
    # requests 2.19.1: CVE-2018-18074 (fixed in 2.20.0) among others, from the downloaded feed.
    assert "CVE-2018-18074" in found
    st = json.loads(cli("db", "status", "--format", "json").stdout)
    assert {s["name"] for s in st["sources"]} == {"osv/PyPI", "osv/npm"}
    n = len(server.behaviour.requests)
    p = cli("scan", f"dir:{rootfs}", "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    assert len(server.behaviour.requests) == n
    assert {f["id"] for f in json.loads(p.stdout)["findings"]} == found
    no_leftovers(isolated_cache)
