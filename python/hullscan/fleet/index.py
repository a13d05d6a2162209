"""``hullscan.fleet.index``: pull and inventory many images into the inventory store.

Each ref is one *work unit* (:func:`index_one`, a top-level function with plain arguments, so any
executor, thread, process or remote worker, can run it): resolve the manifest digest (a ref pinned
by digest is looked up in the store before anything is asked of the registry), skip it if the
store has it (unless ``force``), else inventory it with the shared cache directory and upsert it
keyed by digest. A unit is idempotent: running it twice (a worker died after storing, the engine
ran it again) leaves one row. Layers are cached by diff_id, and a layer missing from the cache is
fetched and analysed under a per-diff_id file lock, so workers sharing a cache directory fetch and
analyse each shared layer once. Transient errors (registry, store, I/O) are retried with
exponential backoff inside the unit; a unit the engine lost (a killed worker) is resubmitted.
At most ``max_in_flight`` units are submitted at a time.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hullscan import sources
from hullscan.cache import cache_dir as resolve_cache_dir
from hullscan.cache import ensure_dir
from hullscan.errors import (
    AuthenticationError,
    CacheError,
    HullscanError,
    ImageNotFoundError,
    RegistryError,
    SourceError,
    StoreError,
)
from hullscan.fleet.executors import check_engine, submit_options, thread_pool, workers_of
from hullscan.inventory import _open, from_resolved
from hullscan.sources.registry_config import RegistryConfig
from hullscan.store.db import InventoryStore, open_store

Registries = RegistryConfig | str | os.PathLike[str] | None


@dataclass(frozen=True, slots=True)
class IndexResult:
    """What one unit did with one ref."""

    ref: str
    #: The manifest digest (None when it could not be resolved).
    digest: str | None
    #: ``indexed`` (pulled, inventoried, stored), ``stored`` (already in the store: nothing
    #: pulled), ``failed``.
    status: str
    attempts: int = 1
    packages: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "digest": self.digest,
            "status": self.status,
            "attempts": self.attempts,
            "packages": self.packages,
            "error": self.error,
        }


# -- the work unit -----------------------------------------------------------------------------

#: One store per (process, URL): a worker process running many units opens its pool once.
_STORES: dict[str, InventoryStore] = {}
_STORES_LOCK = threading.Lock()


def store_url(store: InventoryStore) -> str:
    """The URL a worker process opens the same store with (an absolute SQLite path; a password in
    a PostgreSQL URL is kept: units carry it to workers, and nothing logs it)."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).resolve()))
    text: str = url.render_as_string(hide_password=False)
    return text


def _store(url: str) -> InventoryStore:
    with _STORES_LOCK:
        st = _STORES.get(url)
        if st is None:
            st = _STORES[url] = InventoryStore(url)
        return st


def _transient(e: Exception) -> bool:
    if isinstance(e, AuthenticationError | ImageNotFoundError):
        return False
    return isinstance(e, RegistryError | StoreError | CacheError | OSError)


def _index_once(
    ref: str, url: str, cache_dir: str, registries: Registries, platform: str | None, force: bool
) -> IndexResult:
    text = ref if ref.startswith("registry:") else f"registry:{ref}"
    spec = sources.parse(text)
    if spec.kind != "registry" or spec.reference is None:
        raise SourceError(f"{ref}: fleet index takes registry image references")
    reference = spec.reference
    st = _store(url)
    if reference.digest is not None and not force and st.get(reference.digest) is not None:
        return IndexResult(ref, reference.digest, "stored")
    root = ensure_dir(Path(cache_dir))
    src = _open(spec, root, registries, False)
    try:
        image = sources.resolve(spec, src, platform)
        digest = image.manifest_digest
        if digest is None:
            raise SourceError(f"{ref}: the registry gave no manifest digest")
        stored = None if force else st.get(digest)
        if stored is not None:
            if reference.tag and reference.tag not in stored.tags:
                st.update_image(digest, tags=[*stored.tags, reference.tag])
            return IndexResult(ref, digest, "stored")
        inv = from_resolved(spec, src, image, root, lock_layers=True)
    finally:
        src.close()
    st.put(
        inv,
        digest=digest,
        repository=reference.repository,
        tags=[reference.tag] if reference.tag else [],
        source=str(reference),
    )
    return IndexResult(ref, digest, "indexed", packages=len(inv.packages))


def index_one(
    ref: str,
    store: str,
    cache_dir: str,
    registries: Registries = None,
    platform: str | None = None,
    force: bool = False,
    retries: int = 3,
    backoff: float = 0.5,
) -> IndexResult:
    """One work unit: index ``ref`` into the store at URL ``store``, sharing the layer cache in
    ``cache_dir``. Transient failures are retried ``retries`` times, waiting ``backoff`` seconds,
    doubled each time (with jitter); other bad input fails the unit at once. Never raises for a
    :class:`HullscanError`: the result says ``failed`` and why."""
    attempt = 0
    while True:
        attempt += 1
        try:
            r = _index_once(ref, store, cache_dir, registries, platform, force)
        except HullscanError as e:
            if attempt <= retries and _transient(e):
                time.sleep(backoff * 2 ** (attempt - 1) * (1 + random.random() / 2))  # noqa: S311
                continue
            return IndexResult(ref, None, "failed", attempt, error=f"{type(e).__name__}: {e}")
        except OSError as e:
            if attempt <= retries:
                time.sleep(backoff * 2 ** (attempt - 1) * (1 + random.random() / 2))  # noqa: S311
                continue
            return IndexResult(ref, None, "failed", attempt, error=f"{type(e).__name__}: {e.strerror or e}")
        return IndexResult(r.ref, r.digest, r.status, attempt, r.packages, r.error)


# -- the driver --------------------------------------------------------------------------------


def _repository(ref: str) -> str:
    """The placement hint of a ref: its repository (images of one repository share layers)."""
    text = ref.removeprefix("registry:")
    name = text.split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


def run_units(
    executor: Executor,
    fn: Callable[..., Any],
    units: Iterable[tuple[str, tuple[Any, ...]]],
    *,
    max_in_flight: int,
    resubmits: int,
    lost: Callable[[str, tuple[Any, ...], BaseException], Any],
    hint: Callable[[str], str | None] = lambda _k: None,
    on_result: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Submit ``fn(*args)`` for each (key, args) with at most ``max_in_flight`` pending; a unit
    whose future fails (the engine lost it: a killed worker, a broken pool) is submitted again up
    to ``resubmits`` times, then ``lost(key, args, error)`` stands for its result."""
    results: dict[str, Any] = {}
    pending: dict[Future[Any], tuple[str, tuple[Any, ...], int]] = {}
    todo = iter(units)
    exhausted = False

    def submit(key: str, args: tuple[Any, ...], n: int) -> None:
        fut = executor.submit(fn, *args, **submit_options(executor, hint(key)))
        pending[fut] = (key, args, n)

    while True:
        while not exhausted and len(pending) < max_in_flight:
            nxt = next(todo, None)
            if nxt is None:
                exhausted = True
                break
            submit(nxt[0], nxt[1], 0)
        if not pending:
            return results
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for fut in done:
            key, args, n = pending.pop(fut)
            try:
                r = fut.result()
            except Exception as e:
                if n < resubmits:
                    submit(key, args, n + 1)
                    continue
                r = lost(key, args, e)
            results[key] = r
            if on_result is not None:
                on_result(r)


def index(
    refs: Iterable[str],
    *,
    store: InventoryStore | str | os.PathLike[str] | None = None,
    executor: Executor | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    registries: Registries = None,
    platform: str | None = None,
    force: bool = False,
    workers: int | None = None,
    max_in_flight: int | None = None,
    retries: int = 3,
    backoff: float = 0.5,
    resubmits: int = 3,
    placement: bool = False,
    on_result: Callable[[IndexResult], None] | None = None,
) -> list[IndexResult]:
    """Pull and inventory every image of ``refs`` (registry references, by tag or digest) into the
    inventory ``store``; returns one :class:`IndexResult` per distinct ref, in the order given.

    ``executor``: any :class:`concurrent.futures.Executor` (default: a thread pool of ``workers``
    threads); for worker processes or machines, the store must be a database they all reach (a
    SQLite file on a shared disk, or PostgreSQL) and ``cache_dir`` a directory they share for the
    layer cache to be shared. ``max_in_flight``: units submitted at once (default twice the
    executor's parallelism). ``retries``/``backoff``: per unit, for transient errors.
    ``resubmits``: how often a unit the engine lost is submitted again. ``placement``: hint the
    engine (Dask, Ray) to run the images of one repository on one worker, for clusters whose
    workers each keep their own layer cache (with one shared cache directory it only costs
    balance). ``on_result`` is called in the calling thread as each unit completes."""
    order = list(dict.fromkeys(refs))
    st = open_store(store, cache_dir=cache_dir)
    url = store_url(st)
    with _STORES_LOCK:
        # Units run in this process (the thread pool) use this very store.
        _STORES.setdefault(url, st)
    root = str(ensure_dir(resolve_cache_dir(cache_dir)).resolve())
    if isinstance(registries, os.PathLike):
        registries = str(Path(registries).resolve())
    own = executor is None
    ex = executor if executor is not None else thread_pool(workers)
    check_engine(ex)
    try:
        window = max_in_flight or 2 * workers_of(ex)
        if window < 1:
            raise StoreError("max_in_flight must be at least 1")

        def lost(key: str, _args: tuple[Any, ...], e: BaseException) -> IndexResult:
            return IndexResult(
                key, None, "failed", resubmits + 1, error=f"lost by the executor: {type(e).__name__}"
            )

        results = run_units(
            ex,
            index_one,
            ((ref, (ref, url, root, registries, platform, force, retries, backoff)) for ref in order),
            max_in_flight=window,
            resubmits=resubmits,
            lost=lost,
            hint=_repository if placement else (lambda _k: None),
            on_result=on_result,
        )
    finally:
        if own:
            ex.shutdown(wait=True)
        with _STORES_LOCK:
            if _STORES.get(url) is st:
                del _STORES[url]
        if st is not store:
            st.close()
    return [results[r] for r in order]


__all__ = ["IndexResult", "index", "index_one", "run_units", "store_url"]
