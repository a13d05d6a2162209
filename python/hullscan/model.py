"""The inventory data model: frozen, typed values."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

INVENTORY_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Distro:
    """The image's distribution, from its release files."""

    id: str
    version_id: str
    codename: str | None = None
    pretty_name: str | None = None
    #: OSV ecosystem of OS packages: ``Alpine:v3.20``, ``Debian:12``, ``Ubuntu:22.04:LTS`` ...
    ecosystem: str | None = None
    source_file: str = ""


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of the image, lowest first."""

    index: int
    digest: str
    diff_id: str
    media_type: str = ""
    size: int = 0
    compression: str = ""
    uncompressed_size: int = 0
    #: Whether this layer's result came from the layer cache (no byte of it was read).
    cached: bool = False
    #: The build step that created the layer, from the config history, when known.
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class Package:
    """A package installed in the squashed image."""

    name: str
    version: str
    #: OSV ecosystem (``Alpine:v3.20``, ``Debian:12``, ``PyPI``, ...).
    ecosystem: str
    purl: str
    #: Which cataloger found it: ``apk``, ``deb``, ``rpm``, ``python``, ``npm``, ``go-module``,
    #: ``java-archive``, ``rust-crate``, ``gem``, ``php-composer``, ``dotnet``.
    kind: str
    epoch: int | None = None
    source_name: str | None = None
    source_version: str | None = None
    arch: str | None = None
    license: str | None = None
    #: The Maven ``groupId``; other ecosystems keep their scope / path / vendor in ``name``.
    namespace: str | None = None
    layer_index: int = 0
    layer_diff_id: str = ""
    layer_digest: str = ""
    #: Absolute paths in the image of the files the package was found in.
    locations: tuple[str, ...] = ()
    #: For a language package that an OS package installed (its dpkg ``.list``, apk or rpm file
    #: list names the package's metadata file or directory): the purl of that OS package, which is
    #: also in ``packages`` (syft's ``ownership-by-file-overlap`` relationship, parent -> child).
    owned_by: str | None = None


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of the image config that checks and reports use, every string redacted
    (:func:`hullscan.checks.redact`): secrets in ENV or the history never leave hullscan."""

    user: str | None = None
    env: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    #: The HEALTHCHECK test (``("CMD", ...)``, ``("NONE",)``), empty when there is none.
    healthcheck: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str | None = None
    #: ``created_by`` of every history entry, empty layers included.
    history: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigFinding:
    """A problem in how the image is configured (not a vulnerable package)."""

    #: The check: ``HS-IMG-001`` root user, ``-002`` secret in ENV, ``-003`` secret in the build
    #: history, ``-004`` sensitive port exposed, ``-005`` ADD from a URL, ``-006`` no HEALTHCHECK.
    id: str
    #: What exactly matched: ``root-user``, ``secret-env:aws-access-key-id``, ``sensitive-port:22``.
    rule: str
    title: str
    severity: str
    #: One line for people, with any secret redacted.
    detail: str
    #: Where in the config: ``config.User``, ``config.Env[3]``, ``history[5]``.
    location: str
    #: The layer a history step created, when it created one.
    layer_index: int | None = None
    #: The same check in tools users know (``Trivy DS002``).
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Inventory:
    """What is installed in an image: its distro, layers and packages."""

    source: str
    source_type: str
    distro: Distro | None
    layers: tuple[Layer, ...]
    packages: tuple[Package, ...]
    warnings: tuple[str, ...] = ()
    manifest_digest: str | None = None
    config_digest: str | None = None
    platform: str | None = None
    repo_tags: tuple[str, ...] = field(default_factory=tuple)
    #: The image's configuration (redacted), when the source has a config blob.
    config: ImageConfig | None = None
    #: Findings of the configuration checks (:mod:`hullscan.checks`).
    config_findings: tuple[ConfigFinding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--format json`` output)."""
        d = asdict(self)
        d["schema_version"] = INVENTORY_SCHEMA_VERSION
        for p in d["packages"]:
            p["locations"] = list(p["locations"])
        if d["config"] is not None:
            d["config"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["config"].items()}
        for f in d["config_findings"]:
            f["references"] = list(f["references"])
        return d

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)
