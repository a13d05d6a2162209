"""SBOMs attached to images in a registry, as OCI artifacts that refer to the image.

:func:`attach` pushes an SBOM as an OCI image manifest 1.1 artifact: ``artifactType`` the SBOM's
media type, the empty config (``application/vnd.oci.empty.v1+json``, ``{}``), one layer (the
SBOM) and ``subject`` the image's manifest (for a multi-platform index: the platform manifest that
was scanned, unless the index itself is asked for). A registry that answers the manifest upload
with ``OCI-Subject`` indexes it for the referrers API; otherwise the tag-schema fallback of the
distribution spec is kept up to date: the image index tagged ``sha256-<hex of the subject>``
gains the artifact's descriptor (other entries are kept).

:func:`fetch` finds an attached SBOM: ``GET /v2/<name>/referrers/<digest>``, or the
``sha256-<hex>`` tag on a registry without the referrers API (404), then the chosen artifact's
manifest and its one SBOM blob. Nothing else is fetched: no image layer, no image config. The
registry is untrusted: every document is bounded in size and checked against its digest, and the
artifact must name the image as its subject.

This is built on hullscan's own registry client (auth from docker config files, credential
helpers and Amazon ECR, per-registry TLS settings, mirrors and rewrites, retries) rather than on
oras-py, which neither reads the referrers API nor maintains the tag fallback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hullscan import __version__
from hullscan.auth import CredentialStore
from hullscan.errors import (
    DigestMismatchError,
    ImageFormatError,
    ImageNotFoundError,
    LimitExceededError,
    PlatformNotFoundError,
    RegistryError,
    SbomNotAttachedError,
    SourceError,
)
from hullscan.model import Inventory
from hullscan.sources.blobs import MAX_DOCUMENT
from hullscan.sources.image import (
    DEFAULT_PLATFORM,
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_INDEX_DEPTH,
    Platform,
    _descriptors,
    _is_attestation,
    _platform_of,
    parse_json,
    pick_platform,
)
from hullscan.sources.registry import ACCEPT, check_digest
from hullscan.sources.registry_client import TOKENS, Repository, Transport
from hullscan.sources.registry_config import RegistryConfig
from hullscan.sources.registry_ref import Reference

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
#: SBOM formats (``hullscan sbom --format``) and their artifact media types, in the order an
#: attached SBOM is preferred when several are.
MEDIA_TYPES: dict[str, str] = {
    "cyclonedx-json": "application/vnd.cyclonedx+json",
    "spdx-json": "application/spdx+json",
    "cyclonedx-xml": "application/vnd.cyclonedx+xml",
    "spdx-tag-value": "text/spdx",
}
PREFERENCE = tuple(MEDIA_TYPES.values())
_EXTENSIONS = {
    "application/vnd.cyclonedx+json": ".cdx.json",
    "application/spdx+json": ".spdx.json",
    "application/vnd.cyclonedx+xml": ".cdx.xml",
    "text/spdx": ".spdx",
}
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_TITLE = "org.opencontainers.image.title"
#: Set on artifacts hullscan made (the value: hullscan's version); preferred when fetching.
ANNOTATION_HULLSCAN = "dev.hullscan.sbom.version"
#: Largest SBOM blob fetched (the SBOM reader's own limit).
MAX_SBOM = 256 * 1024 * 1024
#: Most descriptors read from a referrers list or tag index (all pages together).
MAX_REFERRERS = 10_000
#: Most pages of a paginated referrers answer followed.
MAX_PAGES = 16
#: Updates of the tag-schema index tried when concurrent writers replace it.
TAG_INDEX_ATTEMPTS = 3
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d


@dataclass(frozen=True, slots=True)
class Attached:
    """An SBOM pushed by :func:`attach`."""

    #: The artifact manifest's digest.
    digest: str
    #: The manifest it refers to.
    subject: Descriptor
    media_type: str
    size: int
    #: ``referrers`` when the registry indexes it (``OCI-Subject``), else ``tag`` (the fallback
    #: index tagged :attr:`tag`).
    via: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class FetchedSbom:
    """An SBOM found by :func:`fetch`."""

    media_type: str
    data: bytes
    #: The artifact manifest's digest, and the SBOM blob's.
    digest: str
    blob_digest: str
    subject: Descriptor
    #: ``referrers`` or ``tag``: how the artifact was found.
    via: str
    annotations: Mapping[str, str] = field(default_factory=dict)


def media_type_for(format: str) -> str:
    """The artifact media type of an SBOM format name (``cyclonedx-json`` ...)."""
    try:
        return MEDIA_TYPES[format]
    except KeyError:
        raise SourceError(
            f"no OCI artifact type for SBOM format {format!r} (one of {', '.join(MEDIA_TYPES)})"
        ) from None


def reference_of(source: str | Reference) -> Reference:
    """The image reference of ``registry:REF`` or a bare reference; :class:`SourceError` for any
    other source (an SBOM is attached to, and fetched from, a registry)."""
    from hullscan.sources import parse

    if isinstance(source, Reference):
        return source
    try:
        spec = parse(source)
    except SourceError:
        spec = None
    if spec is None or spec.kind != "registry" or spec.reference is None:
        raise SourceError(
            f"{source[:200]!r}: SBOMs are attached to and read from images in a registry; give a "
            "registry:REF source or an image reference"
        )
    return spec.reference


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


class _Session:
    """The repository to push to / read from: the reference's (rewritten) location, never a mirror
    (a mirror does not hold what was attached after it synced)."""

    def __init__(
        self,
        ref: Reference,
        registries: RegistryConfig | str | None,
        credentials: CredentialStore | None,
        push: bool,
    ) -> None:
        config = registries if isinstance(registries, RegistryConfig) else RegistryConfig.load(registries)
        endpoint = config.endpoints(ref)[-1]
        self.ref = ref
        self.transport = Transport(config.options)
        self.repo = Repository(endpoint, credentials or CredentialStore(), self.transport, TOKENS)
        if push:
            self.repo.actions = "pull,push"

    def close(self) -> None:
        self.transport.close_all()

    # -- documents --------------------------------------------------------------------------------

    def manifest(
        self, reference: str, accept: list[str], expect: str | None = None
    ) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest, checked against the digest asked for or the
        registry's ``Docker-Content-Digest``."""
        data, ctype, header = self.repo.manifest(reference, accept, MAX_DOCUMENT)
        digest = _sha256(data)
        want = expect or (reference if reference.startswith("sha256:") else None)
        if want is not None and digest != want:
            raise DigestMismatchError(f"manifest {want} from {self.repo.description} hashes to {digest}")
        if header and header.startswith("sha256:") and header != digest:
            raise DigestMismatchError(
                f"manifest {reference} from {self.repo.description} hashes to {digest}, but the "
                f"registry names it {header}"
            )
        doc = parse_json(data, f"manifest {reference}")
        if not isinstance(doc, dict):
            raise ImageFormatError(f"manifest {reference} is not a JSON object")
        mt = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else ctype
        return data, str(mt or ""), digest

    def subjects(self, platform: str | None, to_index: bool) -> list[Descriptor]:
        """The manifests an SBOM of the reference refers to, most specific first: the platform
        manifest (chosen as a scan chooses it) and, for a multi-platform image, the index. With
        ``to_index`` the reference's own manifest only."""
        want = Platform.parse(platform) if platform else None
        data, mt, digest = self.manifest(self.ref.reference, ACCEPT, self.ref.digest)
        top = Descriptor(mt or OCI_MANIFEST, digest, len(data))
        if to_index or mt not in INDEX_TYPES:
            if mt not in INDEX_TYPES and mt not in MANIFEST_TYPES:
                raise ImageFormatError(f"{self.ref}: unsupported manifest media type {mt!r}")
            return [top]
        chosen = self._choose(parse_json(data, "image index"), want, 0)
        return [chosen, top]

    def _choose(self, index: Any, want: Platform | None, depth: int) -> Descriptor:
        if depth >= MAX_INDEX_DEPTH:
            raise ImageFormatError(f"image indexes nested deeper than {MAX_INDEX_DEPTH}")
        found = [(d, _platform_of(d)) for d in _descriptors(index, "image index") if not _is_attestation(d)]
        available = sorted({str(p) for _, p in found if p is not None})
        pick = pick_platform(found, want)
        if pick is None:
            raise PlatformNotFoundError(
                f"no manifest for platform {want or DEFAULT_PLATFORM} in the index of {self.ref} "
                f"(available: {', '.join(available) or 'none stated'}); choose one with --platform"
            )
        digest = check_digest(pick.get("digest"))
        data, mt, _ = self.manifest(digest, ACCEPT)
        if mt in INDEX_TYPES:
            return self._choose(parse_json(data, "image index"), want, depth + 1)
        plat = _platform_of(pick)
        return Descriptor(mt or OCI_MANIFEST, digest, len(data), platform=str(plat) if plat else None)

    # -- upload -----------------------------------------------------------------------------------

    def _read(self, resp: http.client.HTTPResponse) -> None:
        try:
            resp.read(1 << 20)
        except (OSError, http.client.HTTPException) as e:
            raise RegistryError(f"{self.repo.description}: connection lost: {e}") from None

    def upload_blob(self, data: bytes) -> str:
        """Push a blob (monolithic: ``POST`` an upload, ``PUT`` it with the digest), unless the
        repository has it already."""
        digest = _sha256(data)
        try:
            self._read(self.repo.request("HEAD", f"blobs/{digest}", what=f"blob {digest}"))
            return digest
        except ImageNotFoundError:
            pass
        resp = self.repo.request(
            "POST", "blobs/uploads/", {"Content-Length": "0"}, what="blob upload", body=b""
        )
        location = resp.getheader("Location")
        self._read(resp)
        if not location:
            raise RegistryError(f"{self.repo.description}: blob upload started without a Location")
        url = urllib.parse.urljoin(f"{self.repo._base()}/v2/{self.repo.repository}/blobs/uploads/", location)
        if urllib.parse.urlsplit(url).netloc != self.repo.endpoint.host:
            raise RegistryError(f"{self.repo.description}: blob upload Location on another host")
        sep = "&" if urllib.parse.urlsplit(url).query else "?"
        resp = self.repo.request_url(
            "PUT",
            f"{url}{sep}digest={urllib.parse.quote(digest)}",
            {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
            what=f"blob {digest} upload",
            body=data,
        )
        stored = resp.getheader("Docker-Content-Digest")
        self._read(resp)
        if stored and stored != digest:
            raise DigestMismatchError(f"{self.repo.description} stored blob {digest} as {stored}")
        return digest

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str | None:
        """PUT a manifest; returns the ``OCI-Subject`` header (set by registries with the
        referrers API)."""
        resp = self.repo.request(
            "PUT",
            f"manifests/{reference}",
            {"Content-Type": media_type, "Content-Length": str(len(data))},
            what=f"manifest {reference} upload",
            body=data,
        )
        stored = resp.getheader("Docker-Content-Digest")
        subject = resp.getheader("OCI-Subject")
        self._read(resp)
        if stored and stored.startswith("sha256:") and stored != _sha256(data):
            raise DigestMismatchError(f"{self.repo.description} stored manifest {_sha256(data)} as {stored}")
        return subject

    # -- referrers --------------------------------------------------------------------------------

    def referrers(
        self, subject: str, wanted: tuple[str, ...] = PREFERENCE
    ) -> tuple[list[dict[str, Any]], str]:
        """The descriptors referring to ``subject``: from the referrers API, or (404) the
        ``sha256-<hex>`` tag index. ``([], "tag")`` when neither lists any."""
        # With one type wanted, the registry may filter (the result is filtered here anyway).
        query = f"?artifactType={urllib.parse.quote(wanted[0], safe='')}" if len(wanted) == 1 else ""
        try:
            resp = self.repo.request(
                "GET", f"referrers/{subject}{query}", {"Accept": OCI_INDEX}, what=f"referrers of {subject}"
            )
        except ImageNotFoundError:
            return self._tag_index(subject), "tag"
        out: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            out += _index_entries(self._body(resp, f"referrers of {subject}"), f"referrers of {subject}")
            if len(out) > MAX_REFERRERS:
                raise LimitExceededError(f"more than {MAX_REFERRERS} referrers of {subject}")
            nxt = _LINK_NEXT.search(resp.getheader("Link") or "")
            if nxt is None or page == MAX_PAGES - 1:
                break
            url = urllib.parse.urljoin(f"{self.repo._base()}/v2/{self.repo.repository}/", nxt.group(1))
            if urllib.parse.urlsplit(url).netloc != self.repo.endpoint.host:
                raise RegistryError(f"{self.repo.description}: referrers page on another host")
            resp = self.repo.request_url("GET", url, {"Accept": OCI_INDEX}, what=f"referrers of {subject}")
        return out, "referrers"

    def _body(self, resp: http.client.HTTPResponse, what: str) -> Any:
        try:
            data = resp.read(MAX_DOCUMENT + 1)
        except (OSError, http.client.HTTPException) as e:
            raise RegistryError(f"{what} from {self.repo.description}: connection lost: {e}") from None
        if len(data) > MAX_DOCUMENT:
            resp.close()
            self.transport.close()
            raise LimitExceededError(f"{what} is larger than {MAX_DOCUMENT} bytes")
        return parse_json(data, what)

    def _tag_index(self, subject: str) -> list[dict[str, Any]]:
        tag = fallback_tag(subject)
        try:
            data, _, _ = self.manifest(tag, ACCEPT)
        except ImageNotFoundError:
            return []
        return _index_entries(parse_json(data, f"index {tag}"), f"referrers index {tag}")


def fallback_tag(subject: str) -> str:
    """The tag-schema fallback tag of a manifest digest: ``sha256-<hex>``."""
    algo, _, hexpart = check_digest(subject).partition(":")
    return f"{algo}-{hexpart}"


def _index_entries(doc: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
        raise ImageFormatError(f"{what} is not an image index")
    entries = doc["manifests"]
    if len(entries) > MAX_REFERRERS:
        raise LimitExceededError(f"{what} lists {len(entries)} manifests; at most {MAX_REFERRERS} are read")
    return [e for e in entries if isinstance(e, dict)]


def _annotations(v: object) -> dict[str, str]:
    if not isinstance(v, dict):
        return {}
    return {str(k)[:256]: str(x)[:1024] for k, x in list(v.items())[:64] if isinstance(x, str)}


def _created(ann: Mapping[str, str]) -> float:
    try:
        return datetime.fromisoformat(ann[ANNOTATION_CREATED].replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError, OverflowError, OSError):
        return float("-inf")


def attach(
    ref: str | Reference,
    sbom: str | bytes,
    media_type: str = MEDIA_TYPES["cyclonedx-json"],
    *,
    subject: str | None = None,
    platform: str | None = None,
    to_index: bool = False,
    timestamp: datetime | None = None,
    registries: RegistryConfig | str | None = None,
    credentials: CredentialStore | None = None,
) -> Attached:
    """Push ``sbom`` to the registry of ``ref`` as an artifact that refers to the image.

    The subject is the manifest ``subject`` (a digest: the one that was scanned), else the
    platform manifest chosen from the reference as a scan chooses it (``platform``, default
    linux/amd64 or the only one), or with ``to_index`` the reference's own manifest (the index
    of a multi-platform image). ``timestamp``: recorded as ``org.opencontainers.image.created``
    only when given, so that the same SBOM attached twice is one artifact."""
    if media_type not in PREFERENCE:
        raise SourceError(f"{media_type!r} is not an SBOM media type (one of {', '.join(PREFERENCE)})")
    r = reference_of(ref)
    data = sbom.encode() if isinstance(sbom, str) else sbom
    session = _Session(r, registries, credentials, push=True)
    try:
        if subject is not None:
            body, mt, digest = session.manifest(check_digest(subject), ACCEPT)
            subj = Descriptor(mt or OCI_MANIFEST, digest, len(body))
        else:
            subj = session.subjects(platform, to_index)[0]
        empty = session.upload_blob(EMPTY_JSON)
        blob = session.upload_blob(data)
        annotations = {ANNOTATION_HULLSCAN: __version__}
        if timestamp is not None:
            annotations[ANNOTATION_CREATED] = timestamp.isoformat().replace("+00:00", "Z")
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": media_type,
            "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": empty, "size": len(EMPTY_JSON)},
            "layers": [
                {
                    "mediaType": media_type,
                    "digest": blob,
                    "size": len(data),
                    "annotations": {ANNOTATION_TITLE: "sbom" + _EXTENSIONS[media_type]},
                }
            ],
            "subject": {"mediaType": subj.media_type, "digest": subj.digest, "size": subj.size},
            "annotations": annotations,
        }
        body = _canonical(manifest)
        digest = _sha256(body)
        indexed = session.put_manifest(digest, body, OCI_MANIFEST)
        desc = Descriptor(OCI_MANIFEST, digest, len(body), media_type, annotations)
        if indexed:
            return Attached(digest, subj, media_type, len(data), "referrers")
        tag = _add_to_tag_index(session, subj.digest, desc)
        return Attached(digest, subj, media_type, len(data), "tag", tag)
    finally:
        session.close()


def _add_to_tag_index(session: _Session, subject: str, desc: Descriptor) -> str:
    """Add ``desc`` to the ``sha256-<hex>`` index of ``subject`` (created when missing; the
    entries already there are kept). The index is read back after the update: when another
    client replaced it meanwhile (there is no conditional PUT), the update is made again."""
    tag = fallback_tag(subject)
    for attempt in range(TAG_INDEX_ATTEMPTS + 1):
        try:
            data, _, _ = session.manifest(tag, ACCEPT)
        except ImageNotFoundError:
            doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        else:
            parsed = parse_json(data, f"index {tag}")
            if not isinstance(parsed, dict) or not isinstance(parsed.get("manifests"), list):
                raise ImageFormatError(
                    f"{tag} in {session.repo.description} is not an image index; not overwriting it"
                )
            doc = parsed
        entries = doc["manifests"]
        if any(isinstance(e, dict) and e.get("digest") == desc.digest for e in entries):
            return tag
        if attempt == TAG_INDEX_ATTEMPTS:
            break
        if len(entries) >= MAX_REFERRERS:
            raise LimitExceededError(f"{tag} lists {len(entries)} artifacts already; not adding more")
        entries.append(desc.to_dict())
        session.put_manifest(tag, _canonical(doc), OCI_INDEX)
    raise RegistryError(
        f"{tag} in {session.repo.description} kept changing under concurrent updates; the artifact "
        f"{desc.digest} is pushed but not listed there"
    )


def _candidates(entries: list[dict[str, Any]], wanted: tuple[str, ...]) -> list[Descriptor]:
    """The SBOM artifacts among referrers, best first: made by hullscan, then by format
    preference (``wanted``'s order), then newest (``created`` annotation, else listed later)."""
    ranked: list[tuple[tuple[int, int, float, int], Descriptor]] = []
    for pos, e in enumerate(entries):
        at = e.get("artifactType")
        if not isinstance(at, str) or at not in wanted:
            continue
        if e.get("mediaType") not in (OCI_MANIFEST, None):
            raise ImageFormatError(f"the referrer {str(e.get('digest'))[:80]!r} is not an OCI image manifest")
        digest = check_digest(e.get("digest"))
        size = e.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ImageFormatError(f"the referrer {digest} has no valid size")
        if size > MAX_DOCUMENT:
            raise LimitExceededError(
                f"the referrer {digest} is {size} bytes; at most {MAX_DOCUMENT} are read"
            )
        ann = _annotations(e.get("annotations"))
        desc = Descriptor(OCI_MANIFEST, digest, size, at, ann)
        key = (0 if ANNOTATION_HULLSCAN in ann else 1, wanted.index(at), -_created(ann), -pos)
        ranked.append((key, desc))
    ranked.sort(key=lambda kv: kv[0])
    return [d for _, d in ranked]


def fetch(
    ref: str | Reference,
    *,
    platform: str | None = None,
    media_types: tuple[str, ...] = PREFERENCE,
    registries: RegistryConfig | str | None = None,
    credentials: CredentialStore | None = None,
    max_bytes: int = MAX_SBOM,
) -> FetchedSbom | None:
    """The SBOM attached to the image ``ref`` names, or ``None`` when none is.

    Looked for on the platform manifest (chosen as a scan chooses it) and then, for a
    multi-platform image, on the index. Only manifests, the referrers list (or tag index) and
    the SBOM blob are fetched. ``media_types``: the SBOM types accepted, preferred in that order."""
    r = reference_of(ref)
    session = _Session(r, registries, credentials, push=False)
    try:
        for subj in session.subjects(platform, False):
            entries, via = session.referrers(subj.digest, media_types)
            best = _candidates(entries, media_types)
            if best:
                return _download(session, best[0], subj, via, max_bytes, media_types)
        return None
    finally:
        session.close()


def _download(
    session: _Session,
    desc: Descriptor,
    subject: Descriptor,
    via: str,
    max_bytes: int,
    media_types: tuple[str, ...],
) -> FetchedSbom:
    data, _, digest = session.manifest(desc.digest, [OCI_MANIFEST], desc.digest)
    if len(data) != desc.size:
        raise DigestMismatchError(f"artifact manifest {digest} is {len(data)} bytes, not {desc.size}")
    doc = parse_json(data, f"artifact manifest {digest}")
    if not isinstance(doc, dict):
        raise ImageFormatError(f"artifact manifest {digest} is not a JSON object")
    subj = doc.get("subject")
    if not isinstance(subj, dict) or subj.get("digest") != subject.digest:
        raise ImageFormatError(f"artifact {digest} does not refer to {subject.digest}")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise ImageFormatError(f"artifact manifest {digest} has no layers list")
    sbom_layers = [
        x for x in layers if isinstance(x, dict) and x.get("mediaType") in (desc.artifact_type, *media_types)
    ]
    if not sbom_layers:
        raise ImageFormatError(f"artifact {digest} holds no SBOM layer")
    layer = sbom_layers[0]
    blob = check_digest(layer.get("digest"))
    size = layer.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ImageFormatError(f"the SBOM layer of artifact {digest} has no valid size")
    if size > max_bytes:
        raise LimitExceededError(
            f"the SBOM attached as {digest} is {size} bytes; at most {max_bytes} are read"
        )
    content = session.repo.blob_bytes(blob, size)
    if len(content) != size:
        raise DigestMismatchError(f"SBOM blob {blob} is {len(content)} bytes, not {size}")
    ann = _annotations(doc.get("annotations"))
    return FetchedSbom(str(layer["mediaType"]), content, digest, blob, subject, via, ann)


def attached_inventory(
    source: str | Reference,
    *,
    platform: str | None = None,
    registries: RegistryConfig | str | None = None,
    credentials: CredentialStore | None = None,
    required: bool = True,
) -> tuple[Inventory, FetchedSbom] | None:
    """The inventory of the SBOM attached to an image (see :func:`fetch`). No attached SBOM:
    :class:`SbomNotAttachedError` when ``required``, else ``None``."""
    from hullscan.sbom.reader import read_sbom_bytes

    r = reference_of(source)
    found = fetch(r, platform=platform, registries=registries, credentials=credentials)
    if found is None:
        if required:
            raise SbomNotAttachedError(
                f"no SBOM is attached to {r} (neither the referrers API nor the "
                f"sha256-<digest> tag lists one)"
            )
        return None
    name = f"registry:{r}"
    inv = read_sbom_bytes(found.data, name)
    warnings = list(inv.warnings)
    if inv.manifest_digest and inv.manifest_digest != found.subject.digest:
        warnings.append(
            f"the SBOM attached as {found.digest} describes manifest {inv.manifest_digest}, "
            f"not {found.subject.digest}"
        )
    inv = dataclasses.replace(
        inv,
        source=name,
        manifest_digest=found.subject.digest,
        platform=found.subject.platform or inv.platform,
        repo_tags=(str(r),) if r.tag else (),
        warnings=tuple(warnings),
    )
    return inv, found


__all__ = [
    "MEDIA_TYPES",
    "PREFERENCE",
    "Attached",
    "Descriptor",
    "FetchedSbom",
    "attach",
    "attached_inventory",
    "fallback_tag",
    "fetch",
    "media_type_for",
    "reference_of",
]
