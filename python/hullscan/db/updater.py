"""``hullscan db update``: download osv.dev's per-ecosystem ``all.zip`` exports.

For each ecosystem, ``GET {base}/{Ecosystem}/all.zip`` with ``If-None-Match`` / ``If-Modified-Since``
from the stored ETag / Last-Modified (sent only when the source came from the same URL). A 304
keeps the stored source. A 200 streams to a temporary file in the cache dir (its length checked
against Content-Length), which is validated (``testzip`` and every member parsed as JSON) and
imported as the source ``osv/<Ecosystem>``. Connection errors, timeouts, cut transfers, 5xx, 408
and 429 are retried with exponential backoff; other HTTP errors fail at once.

All or nothing: when any ecosystem fails, nothing is swapped in (the previous database keeps
serving) and :class:`NetworkError` is raised; when every feed is unchanged no generation is made
and the current one is marked checked (``checked_at``), which is what its age counts from.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hullscan import __version__
from hullscan.db import Database, open_db, store
from hullscan.db.feeds.osv import validate_zip
from hullscan.db.importer import import_path
from hullscan.db.schema import base_ecosystem
from hullscan.db.store import SourceInfo, db_root, iso, now_utc
from hullscan.errors import DatabaseError, NetworkError

#: osv.dev's public export bucket (``<Ecosystem>/all.zip``); ``HULLSCAN_DB_URL`` overrides it.
DEFAULT_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
#: Fetched when the database has no OSV ecosystem yet and none is given.
DEFAULT_ECOSYSTEMS = (
    "Alpine",
    "Debian",
    "Ubuntu",
    "Go",
    "PyPI",
    "npm",
    "crates.io",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
)


def default_ecosystems() -> list[str]:
    """What a first update fetches: ``$HULLSCAN_DB_ECOSYSTEMS`` (comma-separated; a mirror that
    carries only some ecosystems), else :data:`DEFAULT_ECOSYSTEMS`."""
    env = os.environ.get("HULLSCAN_DB_ECOSYSTEMS", "")
    chosen = [e.strip() for e in env.split(",") if e.strip()]
    return chosen or list(DEFAULT_ECOSYSTEMS)


_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_CHUNK = 1 << 20


class _RetryableError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    etag: str | None
    last_modified: str | None
    sha256: str
    size: int


class _Progress:
    """A one-line progress display on standard error (only where it is a terminal, by default)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.total: int | None = None
        self._last = 0.0

    def show(self, done: int, *, final: str | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if final is None and now - self._last < 0.1:
            return
        self._last = now
        text = f"{done / 1e6:.1f}" + (f"/{self.total / 1e6:.1f}" if self.total else "") + " MB"
        line = f"\r{self.label}: {text}" + (f" {final}\n" if final else "")
        sys.stderr.write(line)
        sys.stderr.flush()


def _attempt(
    url: str, dest_dir: Path, headers: dict[str, str], timeout: float, progress: _Progress
) -> Download | None:
    # The scheme is http, https or file: run() refuses any other base URL.
    req = urllib.request.Request(  # noqa: S310
        url,
        headers={"User-Agent": f"hullscan/{__version__}", "Accept-Encoding": "identity", **headers},
    )
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 304:
            return None
        if e.code in _RETRY_STATUS:
            raise _RetryableError(f"HTTP {e.code} {e.reason}") from e
        raise NetworkError(f"download of {url} failed: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
        reason = e.reason if isinstance(e, urllib.error.URLError) else e
        raise _RetryableError(f"{type(e).__name__}: {reason}") from e
    with resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        progress.total = total
        fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix="download-", suffix=".zip")
        h = hashlib.sha256()
        n = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except (OSError, http.client.HTTPException) as e:
                        raise _RetryableError(
                            f"connection lost after {n} bytes: {type(e).__name__}: {e}"
                        ) from e
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    n += len(chunk)
                    progress.show(n)
            if total is not None and n != total:
                raise _RetryableError(f"connection closed after {n} of {total} bytes")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        etag = resp.headers.get("ETag")
        last_modified = resp.headers.get("Last-Modified")
    progress.show(n, final="done")
    return Download(Path(tmp), etag, last_modified, h.hexdigest(), n)


def download(
    url: str,
    dest_dir: Path,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: bool = False,
    label: str = "",
) -> Download | None:
    """Fetch ``url`` into a new file in ``dest_dir``; None for 304 Not Modified."""
    errors: list[str] = []
    bar = _Progress(label or url, progress)
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(backoff * 2 ** (attempt - 1), 30.0))
        try:
            return _attempt(url, dest_dir, headers or {}, timeout, bar)
        except _RetryableError as e:
            errors.append(str(e))
        except OSError as e:  # writing the temporary file
            raise DatabaseError(f"cannot store the download of {url} in {dest_dir}: {e}") from e
    tries = f"{retries + 1} attempt{'s' if retries else ''}"
    raise NetworkError(f"download of {url} failed after {tries}: {errors[-1]}")


def osv_ecosystems(sources: Sequence[SourceInfo]) -> list[str]:
    """The ecosystems whose osv.dev export the database holds: OSV sources named
    ``osv/<Ecosystem>`` with records of that ecosystem."""
    out = []
    for s in sources:
        if s.kind != "osv" or not s.name.startswith("osv/"):
            continue
        eco = s.name.split("/", 1)[1]
        if eco in {base_ecosystem(e) for e in s.ecosystems} and eco not in out:
            out.append(eco)
    return out


def ecosystem_url(base: str, ecosystem: str) -> str:
    return f"{base.rstrip('/')}/{urllib.parse.quote(ecosystem, safe='.')}/all.zip"


def run(
    *,
    base_url: str | None,
    ecosystems: Sequence[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    progress: bool | None,
    timeout: float,
    retries: int,
    backoff: float,
) -> Database:
    base = base_url or os.environ.get("HULLSCAN_DB_URL") or DEFAULT_BASE_URL
    scheme = urllib.parse.urlsplit(base).scheme
    if scheme not in ("http", "https", "file"):
        raise DatabaseError(f"advisory database URL {base!r} is not http, https or file")
    show = progress if progress is not None else sys.stderr.isatty()
    root = db_root(cache_dir)
    notes: list[str] = []
    changed: list[str] = []
    with store.transaction(root) as txn:
        previous = {s.name: s for s in txn.previous}
        wanted = list(ecosystems) if ecosystems else osv_ecosystems(txn.previous) or default_ecosystems()
        wanted = list(dict.fromkeys(wanted))
        tmp = root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        for eco in wanted:
            if not eco or "/" in eco or eco in (".", ".."):
                raise DatabaseError(f"{eco!r} is not an OSV ecosystem name")
            name = f"osv/{eco}"
            url = ecosystem_url(base, eco)
            old = previous.get(name)
            headers: dict[str, str] = {}
            if old is not None and old.origin == url:
                if old.etag:
                    headers["If-None-Match"] = old.etag
                if old.last_modified:
                    headers["If-Modified-Since"] = old.last_modified
            dl = download(
                url, tmp, headers, timeout=timeout, retries=retries, backoff=backoff, progress=show, label=eco
            )
            if dl is None:
                continue
            try:
                validate_zip(dl.path)
                (src,) = import_path(txn, dl.path, fmt="osv", name=name, notes=notes, sha256=dl.sha256)
            except DatabaseError as e:
                detail = str(e).replace(str(dl.path), "the download")
                raise type(e)(f"{url}: {detail}") from e
            finally:
                dl.path.unlink(missing_ok=True)
            src.origins = [url]
            src.etag = dl.etag
            src.last_modified = dl.last_modified
            changed.append(name)
        if changed:
            txn.commit()
        elif txn.previous_id is not None:
            gen_dir = root / "generations" / txn.previous_id
            store.write_atomic(gen_dir / "checked_at", (iso(now_utc()) + "\n").encode())
    return open_db(cache_dir, warnings=notes, changed=changed)
