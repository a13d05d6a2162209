"""Executors for fleet work: any :class:`concurrent.futures.Executor`.

- the default: a :class:`~concurrent.futures.ThreadPoolExecutor` (the Rust core releases the GIL
  while it decompresses and reads layers, and matches advisories);
- Dask: ``distributed.Client(...).get_executor()`` (work units are top-level functions with plain
  arguments, so worker processes on other machines run them);
- Ray: :class:`RayExecutor` (``pip install 'hullscan[ray]'``), a small adapter turning ``submit``
  into a Ray task and its ``ObjectRef`` into a :class:`concurrent.futures.Future`.

Neither engine is imported unless used.

Dask on Python 3.11: CPython 3.11's ``sys._current_frames()`` can deadlock with the garbage
collector (python/cpython#106883, not fixed in 3.11), and Dask workers call it every 10 ms for
their statistical profiler (dask/distributed#8616): a worker process then hangs for good. Start
such workers with ``distributed.worker.profile.enabled: false`` (``dask.config.set`` before
``LocalCluster``, or ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``); :func:`check_engine`
warns when a cluster's workers run 3.11 with the profiler on.

:func:`submit_options` gives the per-unit options an engine understands: for Dask, ``pure=False``
(a resubmitted unit is a new task, not the failed one again) and, with placement on, a hint (units
with the same hint key, the images of one repository, go to the same worker while it is alive, so
they find the layers it has cached; ``allow_other_workers`` keeps the hint a preference).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any


def default_workers() -> int:
    return min(8, (os.cpu_count() or 1) * 2)


def thread_pool(workers: int | None = None) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="hullscan-fleet")


def _is_dask(executor: Executor) -> bool:
    return type(executor).__name__ == "ClientExecutor" and type(executor).__module__.startswith("distributed")


def _stable(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def submit_options(executor: Executor, hint: str | None = None) -> dict[str, Any]:
    """Engine options for one unit's ``submit`` (keyword arguments: Dask's ``ClientExecutor`` and
    :class:`RayExecutor` take them as task options; other executors get none)."""
    if _is_dask(executor):
        opts: dict[str, Any] = {"pure": False}
        if hint is not None:
            client = executor._client  # type: ignore[attr-defined]
            workers = sorted(client.scheduler_info().get("workers", {}))
            if workers:
                opts["workers"] = [workers[_stable(hint) % len(workers)]]
                opts["allow_other_workers"] = True
        return opts
    if isinstance(executor, RayExecutor) and hint is not None:
        return {"hint": hint}
    return {}


def _worker_profile() -> tuple[tuple[int, int], bool]:
    import sys

    import dask

    return (sys.version_info[0], sys.version_info[1]), bool(
        dask.config.get("distributed.worker.profile.enabled")
    )


def check_engine(executor: Executor) -> None:
    """Warn (:class:`RuntimeWarning`) when Dask workers run Python 3.11 with the profiler on."""
    if not _is_dask(executor):
        return
    import warnings

    client = executor._client  # type: ignore[attr-defined]
    try:
        found = client.run(_worker_profile)
    except Exception:  # a cluster that cannot answer: the run will say so itself
        return
    if any(v < (3, 12) and on for v, on in found.values()):
        warnings.warn(
            "Dask workers on Python 3.11 with the profiler enabled can deadlock (python/cpython#106883): "
            "set distributed.worker.profile.enabled to False for them",
            RuntimeWarning,
            stacklevel=3,
        )


def workers_of(executor: Executor) -> int:
    """How many units the executor runs at once (for the default in-flight window)."""
    if isinstance(executor, ThreadPoolExecutor):
        return executor._max_workers
    if _is_dask(executor):
        info = executor._client.scheduler_info()  # type: ignore[attr-defined]
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))
    if isinstance(executor, RayExecutor):
        return executor.parallelism()
    return default_workers()


class RayExecutor(Executor):
    """A :class:`concurrent.futures.Executor` running each call as a Ray task.

    ``RayExecutor()`` connects with ``ray.init()`` if Ray is not initialised yet (``address``: a
    cluster to join). ``options`` are Ray task options for every call (``num_cpus``,
    ``resources``...). A unit's placement hint (``submit(..., hint=KEY)``) becomes a soft node
    affinity: units with the same key go to the same node while it is alive."""

    def __init__(self, *, address: str | None = None, **options: Any) -> None:
        try:
            import ray
        except ImportError as e:  # pragma: no cover - depends on the optional extra
            from hullscan.errors import HullscanError

            raise HullscanError("RayExecutor needs Ray: pip install 'hullscan[ray]'") from e
        self._ray: Any = ray
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self._options = options
        self._remote: dict[Callable[..., Any], Any] = {}
        self._shutdown = False

    def parallelism(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def _node_for(self, hint: str) -> dict[str, Any]:
        nodes = sorted(n["NodeID"] for n in self._ray.nodes() if n.get("Alive"))
        if not nodes:
            return {}
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = nodes[_stable(hint) % len(nodes)]
        return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=True)}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        hint = kwargs.pop("hint", None)
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(fn)
        opts = dict(self._options)
        if hint is not None:
            opts.update(self._node_for(str(hint)))
        ref = remote.options(**opts).remote(*args, **kwargs) if opts else remote.remote(*args, **kwargs)
        fut: Future[Any] = ref.future()
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


__all__ = ["RayExecutor", "check_engine", "default_workers", "submit_options", "thread_pool", "workers_of"]
