"""hullscan: container image inventory and vulnerability scanning, with a Rust core."""

from hullscan._core import __version__
from hullscan.errors import (
    AuthenticationError,
    CacheError,
    DaemonError,
    DatabaseError,
    DatabaseNotFoundError,
    DigestMismatchError,
    FeedFormatError,
    HullscanError,
    ImageFormatError,
    ImageNotFoundError,
    InvalidVersionError,
    LayerError,
    LimitExceededError,
    NetworkError,
    PlatformNotFoundError,
    RegistryError,
    SourceError,
)
from hullscan.inventory import inventory
from hullscan.model import Distro, Inventory, Layer, Package
from hullscan.sbom import sbom
from hullscan.scan import Finding, ScanResult, scan
from hullscan.sources.registry_config import RegistryConfig

__all__ = [
    "AuthenticationError",
    "CacheError",
    "DaemonError",
    "DatabaseError",
    "DatabaseNotFoundError",
    "DigestMismatchError",
    "Distro",
    "FeedFormatError",
    "Finding",
    "HullscanError",
    "ImageFormatError",
    "ImageNotFoundError",
    "InvalidVersionError",
    "Inventory",
    "Layer",
    "LayerError",
    "LimitExceededError",
    "NetworkError",
    "Package",
    "PlatformNotFoundError",
    "RegistryConfig",
    "RegistryError",
    "ScanResult",
    "SourceError",
    "__version__",
    "inventory",
    "sbom",
    "scan",
]
