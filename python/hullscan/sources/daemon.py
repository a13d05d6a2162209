"""``docker:REF``: an image from the Docker daemon, through the ``docker`` package (the ``docker``
extra).

The daemon is reached as the docker CLI does (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``,
``DOCKER_CERT_PATH``, else the local socket). The image is exported (``docker save``) as a stream
of chunks written to a temporary file in the cache directory, never held in memory, and read
from there as a docker-archive; the file is removed when the scan ends.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hullscan.errors import DaemonError, LimitExceededError, SourceError
from hullscan.sources.blobs import MAX_ARCHIVE_INFLATED, TarStore

#: Bytes asked of the daemon per chunk of the export stream.
CHUNK = 1 << 20


def _client() -> Any:
    try:
        import docker
        import docker.errors
    except ImportError:
        raise DaemonError("docker: sources need the docker package: pip install 'hullscan[docker]'") from None
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as e:
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        raise DaemonError(f"cannot reach the Docker daemon at {where}: {_short(e)}") from None
    return client


def _short(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:300]


def export_image(ref: str, dest_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Stream ``docker save REF`` into a new file in ``dest_dir``; returns (path, inspect data)."""
    import docker.errors

    client = _client()
    try:
        try:
            image = client.images.get(ref)
        except docker.errors.ImageNotFound:
            raise DaemonError(f"the Docker daemon has no image {ref!r}") from None
        except docker.errors.APIError as e:
            raise DaemonError(f"the Docker daemon cannot look up {ref!r}: {_short(e)}") from None
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=dest_dir, prefix="docker-export-", suffix=".tar")
        except OSError as e:
            raise SourceError(f"cannot create a temporary file in {dest_dir}: {e.strerror}") from e
        path = Path(name)
        total = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in image.save(chunk_size=CHUNK, named=False):
                    total += len(chunk)
                    if total > MAX_ARCHIVE_INFLATED:
                        raise LimitExceededError(
                            f"the export of {ref!r} is larger than {MAX_ARCHIVE_INFLATED} bytes"
                        )
                    out.write(chunk)
        except docker.errors.DockerException as e:
            path.unlink(missing_ok=True)
            raise DaemonError(f"exporting {ref!r} from the Docker daemon failed: {_short(e)}") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, dict(image.attrs)
    finally:
        client.close()


class DaemonStore(TarStore):
    """The exported archive of an image in the Docker daemon; the file is removed on close."""

    def __init__(self, ref: str, tmp_root: Path) -> None:
        path, self.attrs = export_image(ref, tmp_root)
        self._export: Path | None = path
        try:
            super().__init__(path, tmp_root)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.description = f"docker:{ref}"

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._export is not None:
                self._export.unlink(missing_ok=True)
                self._export = None


__all__ = ["DaemonStore", "export_image"]
