"""What every report format shares: layer origins, counts, sanitising of untrusted strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hullscan.model import Inventory
from hullscan.scan import Finding, ScanResult
from hullscan.severity import LEVELS, RANK

#: A layer that imports a root filesystem: the classic builder's ``ADD file:<hash> in /`` and
#: BuildKit's ``ADD rootfs.tar.gz / # buildkit`` (also ``COPY``), the way every official base
#: image starts.
_ROOTFS_IMPORT = re.compile(
    r"^(?:/bin/sh -c )?(?:#\(nop\)\s*)?(?:ADD|COPY)\s+(?:--\S+\s+)*"
    r"(?:file:[0-9a-f]+\s+in\s+/|\S+\.(?:tar|tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tar\.zst)\s+/)"
    r"\s*(?:#.*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """How reports name a layer: its index, base-image or added, short digest, build step."""

    index: int
    #: ``base`` (from the base image), ``added`` (by this image's build) or ``""`` (unknown).
    origin: str
    short_digest: str
    created_by: str

    def label(self) -> str:
        return f"{self.index} {self.origin}".rstrip()


def layer_infos(inv: Inventory) -> dict[int, LayerInfo]:
    """Each layer's origin, by a documented heuristic (the image config's history only records
    the build step of each layer, not where the base image ends):

    1. the base image ends at the last layer that imports a root filesystem
       (``ADD file:... in /``, ``ADD something.tar.gz /``): that layer and every one below it
       are ``base``, the layers above ``added``;
    2. with no such layer (history missing, or built by other tools), layer 0 alone is ``base``:
       an image's first layer always comes from its base image.

    A base image that itself adds layers on top of its root filesystem (``python:3.12`` on top of
    Debian) shows those layers as ``added``. Sources without layers (``dir:``, ``sbom:``) have no
    origins.

    (Trivy's CMD-boundary rule needs the history's empty-layer entries, and the OCI
    ``org.opencontainers.image.base.*`` annotations the manifest; the inventory keeps neither.)"""
    if inv.source_type in ("dir", "sbom") or not any(layer.digest for layer in inv.layers):
        return {}  # a directory's one pseudo-layer, an SBOM's: no image layers
    last_import = -1
    for layer in inv.layers:
        if layer.created_by and _ROOTFS_IMPORT.match(layer.created_by.strip()):
            last_import = layer.index
    boundary = last_import if last_import >= 0 else 0
    out = {}
    for layer in inv.layers:
        digest = layer.digest.split(":", 1)[-1][:12]
        out[layer.index] = LayerInfo(
            layer.index,
            "base" if layer.index <= boundary else "added",
            digest,
            (layer.created_by or "").strip(),
        )
    return out


def layer_of(infos: dict[int, LayerInfo], f: Finding) -> LayerInfo:
    info = infos.get(f.explanation.layer_index)
    if info is None:
        return LayerInfo(f.explanation.layer_index, "", f.explanation.layer_digest.split(":")[-1][:12], "")
    return info


def counts(findings: tuple[Finding, ...] | list[Finding]) -> dict[str, int]:
    out = dict.fromkeys(LEVELS, 0)
    for f in findings:
        out[f.severity.level] = out.get(f.severity.level, 0) + 1
    return out


def at_or_above(f: Finding, threshold: str | None) -> bool:
    return threshold is None or RANK[f.severity.level] >= RANK[threshold]


def fixed_text(f: Finding) -> str:
    return ", ".join(f.fixed_versions) if f.fixed_versions else "not fixed"


def image_name(result: ScanResult) -> str:
    """The image as reports name it: its first tag, else the source it was scanned from."""
    inv = result.inventory
    return inv.repo_tags[0] if inv.repo_tags else inv.source


def snippet(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def oneline(text: object) -> str:
    """``text`` safe for one terminal line: control characters (newlines, escape sequences) in
    attacker-controlled names are shown escaped, so they cannot forge lines or drive the terminal."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: object) -> str:
    """``text`` with the characters XML 1.0 cannot hold (control characters, lone surrogates)
    escaped, so an untrusted name cannot make the document unparsable."""
    return _XML_BAD.sub(lambda m: repr(m.group(0))[1:-1], str(text))


def exploit_text(f: Finding) -> str:
    """``KEV``, ``EPSS 0.943 (p99)``, both, or ``""``."""
    parts = []
    if f.kev is not None:
        parts.append("KEV")
    if f.epss is not None:
        parts.append(f"EPSS {f.epss.score:.3f} (p{int(f.epss.percentile * 100)})")
    return " ".join(parts)


def suppression_text(f: Finding) -> str:
    s = f.suppression
    if s is None:
        return ""
    text = f"{s.kind}: {s.status}"
    if s.reason:
        text += f" ({s.reason})"
    if s.statement:
        text += f": {s.statement}"
    if s.source:
        text += f" [{s.source}]"
    if s.expires:
        text += f", expires {s.expires}"
    return text
