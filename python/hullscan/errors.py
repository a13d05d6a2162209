"""The hullscan exception tree.

Every error hullscan raises on bad input is a :class:`HullscanError`. The classes are defined once,
in the Rust extension, so errors raised by the core and by Python code are the same types::

    HullscanError
    ├── SourceError              the source cannot be found, opened or read
    │   ├── RegistryError          a registry cannot be reached or answers with an error (after retries)
    │   │   ├── AuthenticationError  credentials are missing, or the registry refused them
    │   │   └── ImageNotFoundError   the registry has no such repository, tag or digest
    │   │       └── SbomNotAttachedError  no SBOM is attached to the image (referrers / tag fallback)
    │   ├── DaemonError            the Docker daemon cannot be reached or has no such image
    │   └── SbomFormatError        a file is not an SBOM hullscan reads (or an unsafe one: an XML DTD)
    ├── ImageFormatError         a manifest, index, config or archive is malformed or incomplete
    │   └── PlatformNotFoundError  no manifest for the requested platform
    ├── LayerError               a layer blob is not a readable (compressed) tar stream
    ├── DigestMismatchError      content does not hash to the digest that names it
    ├── InvalidVersionError      a string is not a version (or range) of the named scheme
    ├── LimitExceededError       a safety limit stopped the read (decompression bomb, huge input)
    ├── CacheError               the cache directory cannot be used
    ├── ReportError              an unknown report format or option
    ├── PolicyError              an ignore file or a VEX document is invalid
    ├── DatabaseError            the advisory database cannot be built, read or updated
    │   ├── DatabaseNotFoundError  no database yet (run ``hullscan db update`` or ``db import``)
    │   ├── NetworkError           a feed download failed (after retries)
    │   └── FeedFormatError        an advisory file is unreadable or not in a known format
    ├── StoreError               the inventory store cannot be opened, read or written
    └── PublishError             findings could not be sent to Security Hub / EventBridge

The ``DatabaseError``, ``StoreError``, ``PublishError``, ``RegistryError``, ``DaemonError`` and
``SbomFormatError`` branches are defined here in Python: only Python code raises them. Their
messages never hold a password or token.
"""

from hullscan._core import (
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


class RegistryError(SourceError):
    """A registry cannot be reached, or answered with an error, after retries."""


class AuthenticationError(RegistryError):
    """The registry wants credentials and none were found, or it refused the ones sent."""


class ImageNotFoundError(RegistryError):
    """The registry has no such repository, tag or digest."""


class SbomNotAttachedError(ImageNotFoundError):
    """No SBOM is attached to the image in its registry (``scan --sbom-from-registry``)."""


class DaemonError(SourceError):
    """The Docker daemon cannot be reached, or has no such image."""


class SbomFormatError(SourceError):
    """A file that is not an SBOM hullscan reads: not CycloneDX (JSON, XML), SPDX (JSON,
    tag-value) or syft JSON, malformed, or unsafe to parse (an XML document with a DOCTYPE)."""


class ReportError(HullscanError):
    """An unknown report format, or an option a report format cannot take."""


class PolicyError(HullscanError):
    """An ignore file (``.hullscan.yaml``) or a VEX document is unreadable or invalid; the message
    names the file and, where known, the line."""


class DatabaseError(HullscanError):
    """The advisory database cannot be built, read or updated; the previous one keeps serving."""


class DatabaseNotFoundError(DatabaseError):
    """No advisory database has been imported or downloaded yet."""


class NetworkError(DatabaseError):
    """Downloading a feed failed: connection error, timeout, HTTP error, or a cut transfer."""


class FeedFormatError(DatabaseError):
    """An advisory file is unreadable, corrupt, or in no format hullscan knows."""


class StoreError(HullscanError):
    """The inventory store (SQLite or a SQLAlchemy URL) cannot be opened, read or written, or a
    discovery target (``ecr://ACCOUNT/REGION``) is malformed or cannot be listed."""


class PublishError(HullscanError):
    """Publishing to Security Hub or EventBridge failed: no credentials or boto3, a call refused,
    or (after retries) findings or events that were not accepted. ``failures`` names each one
    that was not sent (:class:`hullscan.publish.Failure`); nothing is dropped silently."""

    def __init__(self, message: str, failures: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.failures = failures


__all__ = [
    "AuthenticationError",
    "CacheError",
    "DaemonError",
    "DatabaseError",
    "DatabaseNotFoundError",
    "DigestMismatchError",
    "FeedFormatError",
    "HullscanError",
    "ImageFormatError",
    "ImageNotFoundError",
    "InvalidVersionError",
    "LayerError",
    "LimitExceededError",
    "NetworkError",
    "PlatformNotFoundError",
    "PolicyError",
    "PublishError",
    "RegistryError",
    "ReportError",
    "SbomFormatError",
    "SbomNotAttachedError",
    "SourceError",
    "StoreError",
]
