"""Fleets: index and re-match tens of thousands of images on an executor platform teams already run.

::

    from hullscan import fleet
    fleet.index(refs, store="postgresql+psycopg://...")        # thread pool by default
    fleet.index(refs, store=url, executor=client.get_executor(), cache_dir="/shared/cache")  # Dask
    deltas = fleet.rematch(url)                                # new advisories: no pull at all
    mine = fleet.shard(refs, shard=3, of=16)                   # AWS Batch array job 3 of 16

See :mod:`hullscan.fleet.index`, :mod:`hullscan.fleet.rematch`, :mod:`hullscan.fleet.executors`
(thread pool, Dask, Ray) and :mod:`hullscan.fleet.shard`.
"""

from hullscan.fleet.executors import RayExecutor, submit_options, thread_pool
from hullscan.fleet.index import IndexResult, index, index_one
from hullscan.fleet.rematch import rematch, rematch_batch
from hullscan.fleet.shard import shard, shard_of

__all__ = [
    "IndexResult",
    "RayExecutor",
    "index",
    "index_one",
    "rematch",
    "rematch_batch",
    "shard",
    "shard_of",
    "submit_options",
    "thread_pool",
]
