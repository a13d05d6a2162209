"""The inventory store and continuous rescans (Amazon Inspector's continuous scanning).

::

    store = InventoryStore()                       # <cache>/inventories.db (SQLite, WAL)
    store = InventoryStore("postgresql+psycopg://user@host/db")   # shared, for a team
    store.put(hullscan.inventory(ref))             # upsert keyed by manifest digest
    deltas = hullscan.rescan(store)                # re-match every stored inventory, no pull
    scan_registry("ecr://123456789012/us-east-1/team-")   # discover, scan each digest once

For fleets: :func:`rematch` (``rematch(store, Matcher(index, generation), batch_size=...)``) reads
the store in digest-ordered batches and upserts findings per batch, so several workers can share a
PostgreSQL store (see :mod:`hullscan.store.db` for the concurrency rules).

See :mod:`hullscan.store.db` (schema), :mod:`hullscan.store.matching` (compact queries, deltas),
:mod:`hullscan.store.discovery` (ECR) and :mod:`hullscan.store.service` (scan, rescan, monitor).
"""

from hullscan.store.compact import CompactQueries, compact_queries
from hullscan.store.db import ImageRecord, InventoryStore, StoredImage, open_store
from hullscan.store.discovery import DiscoveredImage, EcrTarget, Filters
from hullscan.store.matching import Change, Delta, Matcher, StoredFinding, rematch
from hullscan.store.service import Cycle, ImageScan, monitor, open_index, rescan, scan_registry

__all__ = [
    "Change",
    "CompactQueries",
    "Cycle",
    "Delta",
    "DiscoveredImage",
    "EcrTarget",
    "Filters",
    "ImageRecord",
    "ImageScan",
    "InventoryStore",
    "Matcher",
    "StoredFinding",
    "StoredImage",
    "compact_queries",
    "monitor",
    "open_index",
    "open_store",
    "rematch",
    "rescan",
    "scan_registry",
]
