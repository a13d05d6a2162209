"""The cache directory and the layer-result cache.

A layer's result depends only on its uncompressed bytes (named by its diff_id) and the versions of
the catalogers that read it, so results are stored under ``layers/<catalogers-key>/<diff_id>.json``.
Entries are written to a temporary file and renamed into place, so a crash never leaves a partial
entry; an entry that cannot be read is removed and the layer read again.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from platformdirs import user_cache_dir

from hullscan import _core
from hullscan.errors import CacheError

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``override``, ``$HULLSCAN_CACHE_DIR``, or the user cache dir."""
    if override is not None:
        return Path(override)
    env = os.environ.get("HULLSCAN_CACHE_DIR")
    if env:
        return Path(env)
    return Path(user_cache_dir("hullscan", appauthor=False))


def ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CacheError(f"cannot create cache directory {path}: {e}") from e
    return path


def catalogers_key() -> str:
    """A short stable hash of every cataloger's name and version."""
    joined = ",".join(_core.cataloger_versions())
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def secrets_key() -> str:
    """A short stable hash of the secret rules (layer results searched for secrets are kept apart,
    under both keys)."""
    joined = "\n".join("\t".join(r) for r in _core.secret_rules())
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


class LayerCache:
    """Layer results by (diff_id, cataloger versions); with ``secrets``, results whose files were
    also searched for secrets, by the secret rules too."""

    def __init__(self, root: Path, *, secrets: bool = False) -> None:
        key = catalogers_key() + (f"-secrets-{secrets_key()}" if secrets else "")
        self.root = root / "layers" / key

    def _path(self, diff_id: str) -> Path | None:
        if not _DIGEST.fullmatch(diff_id):
            return None
        return self.root / (diff_id.split(":", 1)[1] + ".json")

    def get(self, diff_id: str) -> _core.LayerResult | None:
        path = self._path(diff_id)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return None
        try:
            result = _core.LayerResult.from_json(data)
        except CacheError:
            path.unlink(missing_ok=True)
            return None
        if result.diff_id != diff_id:
            path.unlink(missing_ok=True)
            return None
        return result

    def put(self, result: _core.LayerResult) -> str | None:
        """Store a result; a cache that cannot be written costs speed, not the scan: the problem
        is returned as a warning."""
        path = self._path(result.diff_id)
        if path is None:
            return None
        try:
            ensure_dir(self.root)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".json")
        except (OSError, CacheError) as e:
            return f"layer cache not written: {e}"
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(result.to_json())
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            return f"layer cache entry {path.name} not written: {e.strerror or e}"
        return None
