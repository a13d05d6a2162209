"""The compiled advisory index, built into each new generation before it becomes current.

The store calls :func:`build_index` with the finished generation directory (records and
``meta.json`` written, not yet current); the index is written beside them as ``index.bin``, and
an exception aborts the swap (the previous generation keeps serving). The Rust core reads every
record file (zstd JSON lines) and compiles the ranges into order-preserving version keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hullscan import _core
from hullscan.db.store import read_meta

INDEX_FILE = "index.bin"
STATS_FILE = "index-stats.json"


def build_index(generation: Path) -> dict[str, int]:
    """Compile the index of ``generation`` (a directory) in place; returns the build counts."""
    from hullscan.db.feeds.threat import KINDS

    _meta, sources = read_meta(generation)
    # EPSS and KEV rows are not advisories: looked up by hullscan.db.threat, not compiled.
    files = [generation / f for s in sources if s.kind not in KINDS for f in s.files]
    tmp = generation / (INDEX_FILE + ".tmp")
    stats = _core.build_index(files, tmp)
    os.replace(tmp, generation / INDEX_FILE)
    (generation / STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    from hullscan.db import threat

    threat.build(generation)  # EPSS / KEV lookup table, when the generation has them
    return stats
