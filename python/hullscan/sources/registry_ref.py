"""Image references: ``[host[:port]/]path[:tag][@sha256:HEX]``, as docker reads them.

The grammar is the distribution project's (``reference/regexp.go``): the first path component is a
registry host when it holds a ``.`` or a ``:``, is ``localhost``, or is an IPv6 address in brackets;
otherwise the registry is Docker Hub and a single-component name gets the ``library/`` namespace.
Without tag or digest the tag is ``latest``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from hullscan.errors import SourceError

#: Docker Hub: the name used in references and credentials, and where its API is served.
DOCKER_HUB = "docker.io"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
#: The key ``docker login`` stores Docker Hub credentials under in the docker config file.
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST_LABEL = re.compile(r"^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$")
_PORT = re.compile(r"^[0-9]{1,5}$")
#: Longest repository name docker accepts.
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed image reference. ``registry`` is the host as written (``docker.io`` for Docker Hub),
    ``repository`` the path (``library/alpine``)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What to ask the registry's manifest endpoint for: the digest, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def with_registry(self, registry: str, repository: str | None = None) -> Reference:
        return Reference(registry, repository or self.repository, self.tag, self.digest)

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (``host`` without port; IPv6 in brackets or not)."""
    h = host.strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def split_host_port(hostport: str) -> tuple[str, int | None]:
    """``host[:port]`` / ``[v6]:port`` -> (host, port). The host keeps IPv6 brackets off."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise SourceError(f"invalid registry host {hostport!r}")
        host, rest = hostport[1:end], hostport[end + 1 :]
        if rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:])):
            raise SourceError(f"invalid registry host {hostport!r}")
        return host, int(rest[1:]) if rest else None
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        if not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
            raise SourceError(f"invalid port in registry host {hostport!r}")
        return host, int(port)
    return hostport, None


def _valid_host(hostport: str) -> bool:
    try:
        host, _ = split_host_port(hostport)
    except SourceError:
        return False
    if hostport.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(host) and all(_HOST_LABEL.fullmatch(label) for label in host.split("."))


def _looks_like_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def canonical_registry(host: str) -> str:
    """Docker Hub's aliases are one registry."""
    return DOCKER_HUB if host.lower() in _HUB_ALIASES else host


def parse_reference(text: str) -> Reference:
    """Parse an image reference; :class:`SourceError` when it is not one."""
    original = text
    if not text or len(text) > 4096 or text != text.strip():
        raise SourceError(f"{original!r} is not an image reference")
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            if ":" in digest and not digest.startswith("sha256:"):
                raise SourceError(f"{original!r}: only sha256 digests are supported")
            raise SourceError(f"{original!r}: invalid digest {digest!r}")
    registry = DOCKER_HUB
    first, sep, rest = text.partition("/")
    if sep and _looks_like_host(first):
        if not _valid_host(first):
            raise SourceError(f"{original!r}: invalid registry host {first!r}")
        registry = canonical_registry(first)
        text = rest
    tag = None
    last_slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > last_slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise SourceError(f"{original!r}: invalid tag {tag!r}")
    components = text.split("/")
    if not text or not all(_COMPONENT.fullmatch(c) for c in components):
        raise SourceError(
            f"{original!r} is not an image reference: repository names are lowercase letters, digits "
            "and separators (. _ __ -) in /-separated components"
        )
    if registry == DOCKER_HUB and len(components) == 1:
        text = "library/" + text
    if len(text) > MAX_NAME:
        raise SourceError(f"{original!r}: repository name longer than {MAX_NAME} characters")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry, text, tag, digest)


def looks_like_path(text: str) -> bool:
    """Whether a bare source string is more likely a file name than an image reference: it starts
    like a path or ends like an archive. Such a string that names no file is reported as a missing
    path, not looked up in a registry."""
    if text.startswith(("/", "./", "../", "~", ".")) or "\\" in text or "//" in text:
        return True
    return text.lower().endswith((".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".gz", ".zst", ".json"))


__all__ = [
    "DOCKER_HUB",
    "DOCKER_HUB_AUTH_KEY",
    "DOCKER_HUB_ENDPOINT",
    "Reference",
    "canonical_registry",
    "is_loopback",
    "looks_like_path",
    "parse_reference",
    "split_host_port",
]
