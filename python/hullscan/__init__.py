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
    PolicyError,
    RegistryError,
    ReportError,
    SbomNotAttachedError,
    SourceError,
    StoreError,
)
from hullscan.inventory import inventory
from hullscan.model import Distro, Inventory, Layer, Package
from hullscan.sbom import sbom
from hullscan.scan import Epss, Finding, Kev, ScanResult, Suppression, scan
from hullscan.sources.registry_config import RegistryConfig
from hullscan.store import Delta, InventoryStore, rescan

__all__ = [
    "AuthenticationError",
    "CacheError",
    "DaemonError",
    "DatabaseError",
    "DatabaseNotFoundError",
    "Delta",
    "DigestMismatchError",
    "Distro",
    "Epss",
    "FeedFormatError",
    "Finding",
    "HullscanError",
    "ImageFormatError",
    "ImageNotFoundError",
    "InvalidVersionError",
    "Inventory",
    "InventoryStore",
    "Kev",
    "Layer",
    "LayerError",
    "LimitExceededError",
    "NetworkError",
    "Package",
    "PlatformNotFoundError",
    "PolicyError",
    "RegistryConfig",
    "RegistryError",
    "ReportError",
    "SbomNotAttachedError",
    "ScanResult",
    "SourceError",
    "StoreError",
    "Suppression",
    "__version__",
    "inventory",
    "rescan",
    "sbom",
    "scan",
]
