"""The compiled advisory index, built into each new generation before it becomes current.

Placeholder: the Rust index replaces :func:`build_index`. It is called by the store with the
finished generation directory (records and ``meta.json`` written, not yet current); whatever it
writes there is fsynced with the generation, and an exception aborts the swap (the previous
generation keeps serving).
"""

from __future__ import annotations

from pathlib import Path


def build_index(generation: Path) -> None:
    """Build the index of ``generation`` (a directory) in place. Does nothing yet."""
