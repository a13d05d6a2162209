"""Deterministic shards of a fleet, for AWS Batch array jobs or Step Functions distributed maps:
``shard_of(key, n)`` is the first 8 bytes of sha256(key) modulo n, so every job computes the same
split from the same list, in any order, without talking to the others. The key is the manifest
digest when the ref names one, else the ref itself (a tag moved between listing and running still
lands in one shard)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from hullscan.errors import HullscanError


class ShardError(HullscanError):
    """An invalid shard selection (``--shard I --of N`` needs 0 <= I < N)."""


def shard_key(ref: str) -> str:
    _, sep, digest = ref.rpartition("@")
    return digest if sep and digest.startswith("sha256:") else ref


def shard_of(ref: str, of: int) -> int:
    """The shard (0 .. of-1) of ``ref``."""
    if of < 1:
        raise ShardError(f"the number of shards must be at least 1, not {of}")
    h = hashlib.sha256(shard_key(ref).encode()).digest()
    return int.from_bytes(h[:8], "big") % of


def shard(refs: Iterable[str], *, shard: int, of: int) -> list[str]:
    """The distinct refs of shard ``shard`` of ``of``, in the order given."""
    if of < 1 or not 0 <= shard < of:
        raise ShardError(f"shard {shard} of {of}: needs 0 <= shard < of")
    return [r for r in dict.fromkeys(refs) if shard_of(r, of) == shard]


__all__ = ["ShardError", "shard", "shard_key", "shard_of"]
