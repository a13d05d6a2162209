"""hullscan: container image inventory and vulnerability scanning, with a Rust core."""

from hullscan._core import __version__
from hullscan.errors import (
    CacheError,
    DatabaseError,
    DatabaseNotFoundError,
    DigestMismatchError,
    FeedFormatError,
    HullscanError,
    ImageFormatError,
    InvalidVersionError,
    LayerError,
    LimitExceededError,
    NetworkError,
    PlatformNotFoundError,
    SourceError,
)
from hullscan.inventory import inventory
from hullscan.model import Distro, Inventory, Layer, Package
from hullscan.scan import Finding, ScanResult, scan

__all__ = [
    "CacheError",
    "DatabaseError",
    "DatabaseNotFoundError",
    "DigestMismatchError",
    "Distro",
    "FeedFormatError",
    "Finding",
    "HullscanError",
    "ImageFormatError",
    "InvalidVersionError",
    "Inventory",
    "Layer",
    "LayerError",
    "LimitExceededError",
    "NetworkError",
    "Package",
    "PlatformNotFoundError",
    "ScanResult",
    "SourceError",
    "__version__",
    "inventory",
    "scan",
]
