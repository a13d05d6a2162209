"""``hullscan.fleet.rematch``: re-match every stored inventory against the current advisory index,
in CPU-only batches an executor runs, never touching a registry.

The store is split into digest-ordered batches (keyset pagination); each batch is one work unit
(:func:`rematch_batch`, plain arguments: the store URL, the index file, its generation, the
digests) that reads the batch's compact queries and last findings, matches them
(:class:`hullscan.store.Matcher`: one per process, shared by its threads, so a query many
images share is matched once; the index is loaded once per process) and stores
the new findings, returning one :class:`hullscan.store.Delta` per image: the same deltas as
``hullscan rescan``, which runs the same code on one thread.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from hullscan import _core
from hullscan.errors import StoreError
from hullscan.fleet.executors import check_engine, thread_pool, workers_of
from hullscan.fleet.index import _STORES, _STORES_LOCK, _store, run_units, store_url
from hullscan.scan import load_index
from hullscan.store.db import InventoryStore, open_store
from hullscan.store.matching import Delta, Matcher
from hullscan.store.matching import rematch as rematch_rows

#: Loaded indexes by (path, generation): an index file rewritten in place is a new generation.
_INDEXES: dict[tuple[str, str], _core.AdvisoryIndex] = {}
_INDEX_LOCK = threading.Lock()


def index_file(
    db: str | os.PathLike[str] | None, *, cache_dir: str | os.PathLike[str] | None = None
) -> tuple[_core.AdvisoryIndex, str, str]:
    """The advisory index, its generation (as :func:`hullscan.store.open_index` names it) and the
    absolute path of its file, which worker processes load."""
    index, info = load_index(db, offline=True, cache_dir=Path(cache_dir) if cache_dir else None)
    path = Path(str(info["path"])).resolve()
    if db is None or Path(db).is_dir():
        generation = path.parent.name if path.name == "index.bin" else path.name
    else:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        generation = "index-" + h.hexdigest()[:16]
    return index, generation, str(path)


def _index(path: str, generation: str) -> _core.AdvisoryIndex:
    with _INDEX_LOCK:
        index = _INDEXES.get((path, generation))
        if index is None:
            index, _ = load_index(path, offline=True, cache_dir=None)
            for k in [k for k in _INDEXES if k[1] != generation]:
                del _INDEXES[k]  # a long-lived worker keeps the current generation only
            _INDEXES[(path, generation)] = index
        return index


class _SharedMatcher(Matcher):
    """A matcher the threads of a process share: each distinct query is matched once per
    process, not once per thread (``prepare`` under a lock; reads need none)."""

    def __init__(self, index: _core.AdvisoryIndex, generation: str) -> None:
        super().__init__(index, generation)
        self._lock = threading.Lock()

    def prepare(self, keys: Iterable[str]) -> None:
        with self._lock:
            super().prepare(keys)


_MATCHERS: dict[tuple[str, str], _SharedMatcher] = {}


def _matcher(path: str, generation: str) -> Matcher:
    """This process's matcher for the index at ``path`` of ``generation``."""
    key = (path, generation)
    with _INDEX_LOCK:
        m = _MATCHERS.get(key)
    if m is None:
        m = _SharedMatcher(_index(path, generation), generation)
        with _INDEX_LOCK:
            # The last generation only: a long-lived worker does not keep every old one.
            for k in [k for k in _MATCHERS if k[0] == path or k[1] != generation]:
                del _MATCHERS[k]
            m = _MATCHERS.setdefault(key, m)
    return m


def rematch_batch(
    store: str, index_path: str, generation: str, digests: list[str], skip_current: bool = False
) -> list[Delta]:
    """One work unit: re-match the stored inventories of ``digests``, store their findings, and
    return their deltas (digest order)."""
    st = _store(store)
    matcher = _matcher(index_path, generation)
    return list(
        rematch_rows(st, matcher, batch_size=max(1, len(digests)), digests=digests, skip_current=skip_current)
    )


def rematch(
    store: InventoryStore | str | os.PathLike[str] | None = None,
    *,
    executor: Executor | None = None,
    db: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 2000,
    digests: Sequence[str] | None = None,
    skip_current: bool = False,
    workers: int | None = None,
    max_in_flight: int | None = None,
    on_batch: Callable[[list[Delta]], None] | None = None,
) -> list[Delta]:
    """Re-match every stored inventory (or those of ``digests``) against the advisory database
    (``db``: an index file or generation directory; default the cache's current one), ``batch_size``
    images per unit on ``executor`` (default a thread pool), and return one :class:`Delta` per
    image in digest order. Nothing is pulled. ``on_batch`` gets each batch's deltas as it completes
    (events can be published before the whole fleet is done)."""
    st = open_store(store, cache_dir=cache_dir)
    url = store_url(st)
    with _STORES_LOCK:
        _STORES.setdefault(url, st)
    own = executor is None
    ex = executor if executor is not None else thread_pool(workers)
    check_engine(ex)
    try:
        index, generation, path = index_file(db, cache_dir=cache_dir)
        with _INDEX_LOCK:
            _INDEXES.setdefault((path, generation), index)
        if batch_size < 1:
            raise StoreError("batch_size must be at least 1")
        if digests is not None:
            wanted = sorted(set(digests))
            batches: Iterable[list[str]] = (
                wanted[i : i + batch_size] for i in range(0, len(wanted), batch_size)
            )
        else:
            batches = st.digest_batches(batch_size)

        def lost(key: str, _args: tuple[Any, ...], e: BaseException) -> list[Delta]:
            raise StoreError(f"rematch of the batch from {key} failed: {type(e).__name__}: {e}") from e

        results = run_units(
            ex,
            rematch_batch,
            ((b[0], (url, path, generation, b, skip_current)) for b in batches),
            max_in_flight=max_in_flight or 2 * workers_of(ex),
            resubmits=2,
            lost=lost,
            on_result=on_batch,
        )
    finally:
        if own:
            ex.shutdown(wait=True)
        with _STORES_LOCK:
            if _STORES.get(url) is st:
                del _STORES[url]
        if st is not store:
            st.close()
    out: list[Delta] = []
    for key in sorted(results):
        out.extend(results[key])
    return out


__all__ = ["index_file", "rematch", "rematch_batch"]
