"""Registry settings: endpoint rewrites, mirrors, plain HTTP, custom CAs, and client tuning.

A TOML file (``$HULLSCAN_REGISTRIES``, else ``registries.toml`` in the user config dir, e.g.
``~/.config/hullscan/registries.toml``), shaped like containers' ``registries.conf`` (v2)::

    [options]                 # all optional
    concurrency = 4           # layer downloads at once
    timeout = 60              # seconds without data before a retry
    retries = 5               # per request, on connection errors, 5xx, 408 and 429
    backoff = 0.5             # first retry delay in seconds, doubled each time
    max_retry_after = 60      # longest Retry-After honoured; a longer one fails at once

    [[registry]]
    prefix = "123456789012.dkr.ecr.us-east-1.amazonaws.com"   # a host, host/namespace, or *.domain
    location = "registry.internal:5000/ecr"                    # where it is really served (optional)
    insecure = false          # plain HTTP allowed, and TLS certificates not verified
    ca_file = "ca.pem"        # extra CA certificates (PEM), relative to this file
    blocked = false           # refuse to pull from it

    [[registry.mirror]]       # tried in order before the location
    location = "mirror.internal/hub"
    insecure = true

The longest matching ``prefix`` wins. A rewritten location keeps the registry's credentials (it is
the same registry at another address); a mirror uses its own. Registries on loopback addresses
(localhost, 127.0.0.0/8, ::1) may answer in plain HTTP without any setting, as docker allows.
The command line adds rules with ``--insecure-registry``, ``--registry-mirror`` and
``--registry-rewrite``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from hullscan.errors import SourceError
from hullscan.sources.registry_ref import (
    DOCKER_HUB,
    DOCKER_HUB_ENDPOINT,
    Reference,
    canonical_registry,
    is_loopback,
    split_host_port,
)


@dataclass(frozen=True, slots=True)
class Mirror:
    location: str
    insecure: bool = False
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class RegistryRule:
    prefix: str
    location: str | None = None
    insecure: bool = False
    ca_file: Path | None = None
    blocked: bool = False
    mirrors: tuple[Mirror, ...] = ()


@dataclass(frozen=True, slots=True)
class PullEndpoint:
    """Where to pull a reference from: a host[:port], the repository there, and how to talk to it."""

    host: str
    repository: str
    insecure: bool = False
    ca_file: Path | None = None
    #: Registry names whose credentials may be sent here, most specific first.
    credential_names: tuple[str, ...] = ()
    mirror: bool = False

    @property
    def plain_http_allowed(self) -> bool:
        return self.insecure or is_loopback(split_host_port(self.host)[0])


@dataclass(frozen=True, slots=True)
class ClientOptions:
    concurrency: int = 4
    timeout: float = 60.0
    retries: int = 5
    backoff: float = 0.5
    max_retry_after: float = 60.0


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    """Rules for pulling from registries (see the module docs)."""

    rules: tuple[RegistryRule, ...] = ()
    options: ClientOptions = field(default_factory=ClientOptions)
    #: The file the rules came from, if any.
    path: Path | None = None

    @classmethod
    def default_path(cls) -> Path:
        env = os.environ.get("HULLSCAN_REGISTRIES")
        if env:
            return Path(env)
        return Path(user_config_dir("hullscan", appauthor=False)) / "registries.toml"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> RegistryConfig:
        """The settings file at ``path``, else the default one; no file means no rules (a file
        named explicitly, or by ``$HULLSCAN_REGISTRIES``, must exist)."""
        explicit = path is not None or bool(os.environ.get("HULLSCAN_REGISTRIES"))
        p = Path(path) if path is not None else cls.default_path()
        try:
            text = p.read_bytes()
        except FileNotFoundError:
            if explicit:
                raise SourceError(f"registry settings file {p} does not exist") from None
            return cls()
        except OSError as e:
            raise SourceError(f"cannot read registry settings file {p}: {e.strerror}") from e
        try:
            doc = tomllib.loads(text.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise SourceError(f"registry settings file {p} is not valid TOML: {e}") from e
        return cls.from_dict(doc, base=p.parent, path=p)

    @classmethod
    def from_dict(
        cls, doc: dict[str, Any], *, base: Path | None = None, path: Path | None = None
    ) -> RegistryConfig:
        where = str(path) if path else "registry settings"
        unknown = set(doc) - {"registry", "options"}
        if unknown:
            raise SourceError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        rules = []
        regs = doc.get("registry", [])
        if not isinstance(regs, list):
            raise SourceError(f"{where}: [[registry]] must be an array of tables")
        for i, r in enumerate(regs):
            if not isinstance(r, dict):
                raise SourceError(f"{where}: registry #{i + 1} is not a table")
            rules.append(_rule(r, f"{where}: registry #{i + 1}", base))
        opts = doc.get("options", {})
        if not isinstance(opts, dict):
            raise SourceError(f"{where}: [options] must be a table")
        return cls(tuple(rules), _options(opts, where), path)

    def with_flags(
        self,
        *,
        insecure: list[str] | None = None,
        mirrors: list[str] | None = None,
        rewrites: list[str] | None = None,
        ca_files: list[str] | None = None,
    ) -> RegistryConfig:
        """These settings plus command-line rules: ``insecure`` hosts, ``mirrors`` and ``rewrites``
        as ``PREFIX=LOCATION``, ``ca_files`` as ``PREFIX=FILE``."""
        rules = {r.prefix: r for r in self.rules}

        def get(prefix: str) -> RegistryRule:
            p = _norm_prefix(prefix, "command line")
            return rules.get(p, RegistryRule(p))

        for host in insecure or []:
            r = get(host)
            rules[r.prefix] = replace(r, insecure=True)
        for text in mirrors or []:
            prefix, loc = _pair(text, "--registry-mirror")
            r = get(prefix)
            rules[r.prefix] = replace(
                r, mirrors=(*r.mirrors, Mirror(_norm_location(loc, "--registry-mirror")))
            )
        for text in rewrites or []:
            prefix, loc = _pair(text, "--registry-rewrite")
            r = get(prefix)
            rules[r.prefix] = replace(r, location=_norm_location(loc, "--registry-rewrite"))
        for text in ca_files or []:
            prefix, file = _pair(text, "--registry-ca")
            r = get(prefix)
            rules[r.prefix] = replace(r, ca_file=Path(file).resolve())
        # Mirrors and rewrites listed as their own hosts also get the insecure flag.
        insecure_hosts = {_norm_prefix(h, "command line") for h in insecure or []}
        out = []
        for r in rules.values():
            ms = tuple(
                replace(m, insecure=True) if m.location.split("/", 1)[0] in insecure_hosts else m
                for m in r.mirrors
            )
            out.append(replace(r, mirrors=ms))
        return replace(self, rules=tuple(out))

    def rule_for(self, ref: Reference) -> RegistryRule | None:
        name = f"{ref.registry}/{ref.repository}"
        best: RegistryRule | None = None
        for r in self.rules:
            if _matches(r.prefix, name, ref.registry) and (best is None or len(r.prefix) > len(best.prefix)):
                best = r
        return best

    def _host_rule(self, host: str) -> RegistryRule | None:
        """The rule for a host as a whole (for insecure / ca_file of rewritten locations)."""
        for r in self.rules:
            if r.prefix == host or (r.prefix.startswith("*.") and host.endswith(r.prefix[1:])):
                return r
        return None

    def endpoints(self, ref: Reference) -> list[PullEndpoint]:
        """Where to pull ``ref`` from, in order: mirrors, then the (rewritten) location."""
        rule = self.rule_for(ref)
        if rule is not None and rule.blocked:
            raise SourceError(f"registry {ref.registry} is blocked by {self.path or 'the registry settings'}")
        out: list[PullEndpoint] = []
        if rule is not None:
            for m in rule.mirrors:
                host, repo = _rewrite(ref, rule.prefix, m.location)
                hr = self._host_rule(host)
                out.append(
                    PullEndpoint(
                        _endpoint_host(host),
                        repo,
                        m.insecure or bool(hr and hr.insecure),
                        m.ca_file or (hr.ca_file if hr else None),
                        (host,),
                        mirror=True,
                    )
                )
        if rule is not None and rule.location:
            host, repo = _rewrite(ref, rule.prefix, rule.location)
            hr = self._host_rule(host) if host != ref.registry else None
            names = (host, ref.registry) if host != ref.registry else (host,)
            out.append(
                PullEndpoint(
                    _endpoint_host(host),
                    repo,
                    rule.insecure or bool(hr and hr.insecure),
                    rule.ca_file or (hr.ca_file if hr else None),
                    names,
                )
            )
        else:
            out.append(
                PullEndpoint(
                    _endpoint_host(ref.registry),
                    ref.repository,
                    bool(rule and rule.insecure),
                    rule.ca_file if rule else None,
                    (ref.registry,),
                )
            )
        return out


def _endpoint_host(host: str) -> str:
    return DOCKER_HUB_ENDPOINT if host == DOCKER_HUB else host


def _matches(prefix: str, name: str, registry: str) -> bool:
    if prefix.startswith("*."):
        host = registry.split(":", 1)[0] if not registry.startswith("[") else registry
        return host.endswith(prefix[1:])
    return name == prefix or name.startswith(prefix + "/")


def _rewrite(ref: Reference, prefix: str, location: str) -> tuple[str, str]:
    """``ref`` with ``prefix`` replaced by ``location`` -> (host, repository)."""
    name = f"{ref.registry}/{ref.repository}"
    if prefix.startswith("*."):
        rest = ref.repository
        new = f"{location}/{rest}"
    else:
        new = location + name[len(prefix) :]
    host, _, repo = new.partition("/")
    host = canonical_registry(host)
    if not repo:
        raise SourceError(f"rewriting {ref} with {prefix} -> {location} leaves no repository name")
    if host == DOCKER_HUB and "/" not in repo:
        repo = "library/" + repo
    return host, repo


def _norm_prefix(text: str, where: str) -> str:
    p = text.strip().rstrip("/")
    if "://" in p:
        raise SourceError(f"{where}: registry prefix {text!r} must be host[:port][/path], without a scheme")
    if not p:
        raise SourceError(f"{where}: empty registry prefix")
    host, _, rest = p.partition("/")
    if not host.startswith("*."):
        split_host_port(host)
        host = canonical_registry(host)
    return host + ("/" + rest if rest else "")


def _norm_location(text: str, where: str) -> str:
    loc = text.strip().rstrip("/")
    if "://" in loc or not loc:
        raise SourceError(f"{where}: location {text!r} must be host[:port][/path], without a scheme")
    split_host_port(loc.split("/", 1)[0])
    return loc


def _pair(text: str, flag: str) -> tuple[str, str]:
    if "=" not in text:
        raise SourceError(f"{flag} takes REGISTRY=LOCATION, not {text!r}")
    a, b = text.split("=", 1)
    return a, b


def _bool(v: Any, key: str, where: str) -> bool:
    if not isinstance(v, bool):
        raise SourceError(f"{where}: {key} must be true or false")
    return v


def _path(v: Any, key: str, where: str, base: Path | None) -> Path:
    if not isinstance(v, str) or not v:
        raise SourceError(f"{where}: {key} must be a file name")
    p = Path(v).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    return p


def _rule(r: dict[str, Any], where: str, base: Path | None) -> RegistryRule:
    unknown = set(r) - {"prefix", "location", "insecure", "ca_file", "blocked", "mirror"}
    if unknown:
        raise SourceError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    prefix = r.get("prefix", r.get("location"))
    if not isinstance(prefix, str):
        raise SourceError(f"{where}: needs a prefix (or a location)")
    location = r.get("location")
    if location is not None and not isinstance(location, str):
        raise SourceError(f"{where}: location must be a string")
    mirrors = []
    raw_mirrors = r.get("mirror", [])
    if not isinstance(raw_mirrors, list):
        raise SourceError(f"{where}: [[registry.mirror]] must be an array of tables")
    for j, m in enumerate(raw_mirrors):
        mw = f"{where} mirror #{j + 1}"
        if not isinstance(m, dict) or not isinstance(m.get("location"), str):
            raise SourceError(f"{mw}: needs a location")
        unknown = set(m) - {"location", "insecure", "ca_file"}
        if unknown:
            raise SourceError(f"{mw}: unknown key(s) {', '.join(sorted(unknown))}")
        mirrors.append(
            Mirror(
                _norm_location(m["location"], mw),
                _bool(m.get("insecure", False), "insecure", mw),
                _path(m["ca_file"], "ca_file", mw, base) if "ca_file" in m else None,
            )
        )
    return RegistryRule(
        prefix=_norm_prefix(prefix, where),
        location=_norm_location(location, where) if location is not None else None,
        insecure=_bool(r.get("insecure", False), "insecure", where),
        ca_file=_path(r["ca_file"], "ca_file", where, base) if "ca_file" in r else None,
        blocked=_bool(r.get("blocked", False), "blocked", where),
        mirrors=tuple(mirrors),
    )


def _options(o: dict[str, Any], where: str) -> ClientOptions:
    defaults = ClientOptions()
    unknown = set(o) - {"concurrency", "timeout", "retries", "backoff", "max_retry_after"}
    if unknown:
        raise SourceError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")

    def num(key: str, lo: float, hi: float) -> Any:
        v = o.get(key, getattr(defaults, key))
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise SourceError(f"{where}: options.{key} must be a number from {lo} to {hi}")
        return v

    conc = num("concurrency", 1, 64)
    retries = num("retries", 0, 100)
    if not isinstance(conc, int) or not isinstance(retries, int):
        raise SourceError(f"{where}: options.concurrency and options.retries must be integers")
    return ClientOptions(
        concurrency=conc,
        timeout=float(num("timeout", 0.1, 3600)),
        retries=retries,
        backoff=float(num("backoff", 0, 60)),
        max_retry_after=float(num("max_retry_after", 0, 3600)),
    )


__all__ = ["ClientOptions", "Mirror", "PullEndpoint", "RegistryConfig", "RegistryRule"]
