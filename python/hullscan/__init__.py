"""hullscan: container image inventory and vulnerability scanning, with a Rust core."""

from hullscan._core import __version__
from hullscan.errors import (
    CacheError,
    DigestMismatchError,
    HullscanError,
    ImageFormatError,
    InvalidVersionError,
    LayerError,
    LimitExceededError,
    PlatformNotFoundError,
    SourceError,
)
from hullscan.inventory import inventory
from hullscan.model import Distro, Inventory, Layer, Package

__all__ = [
    "CacheError",
    "DigestMismatchError",
    "Distro",
    "HullscanError",
    "ImageFormatError",
    "InvalidVersionError",
    "Inventory",
    "Layer",
    "LayerError",
    "LimitExceededError",
    "Package",
    "PlatformNotFoundError",
    "SourceError",
    "__version__",
    "inventory",
]
