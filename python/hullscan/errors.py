"""The hullscan exception tree.

Every error hullscan raises on bad input is a :class:`HullscanError`. The classes are defined once,
in the Rust extension, so errors raised by the core and by Python code are the same types::

    HullscanError
    ├── SourceError              the source cannot be found, opened or read
    ├── ImageFormatError         a manifest, index, config or archive is malformed or incomplete
    │   └── PlatformNotFoundError  no manifest for the requested platform
    ├── LayerError               a layer blob is not a readable (compressed) tar stream
    ├── DigestMismatchError      content does not hash to the digest that names it
    ├── InvalidVersionError      a string is not a version (or range) of the named scheme
    ├── LimitExceededError       a safety limit stopped the read (decompression bomb, huge input)
    └── CacheError               the cache directory cannot be used
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

__all__ = [
    "CacheError",
    "DigestMismatchError",
    "HullscanError",
    "ImageFormatError",
    "InvalidVersionError",
    "LayerError",
    "LimitExceededError",
    "PlatformNotFoundError",
    "SourceError",
]
