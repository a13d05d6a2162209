"""The ignore file: ``.hullscan.yaml`` in the current directory, or ``--ignore-file PATH``.

::

    ignore:
      - id: CVE-2024-9143                 # the finding's id or one of its aliases (fnmatch pattern)
        package: libcrypto3                # package name (fnmatch pattern)
        purl: "pkg:apk/alpine/openssl*"    # fnmatch pattern, or a purl matched with purl semantics
        path: "/usr/lib/*"                 # any of the finding's file locations (fnmatch pattern)
        reason: "not reachable: no TLS in this image"    # required
        expires: 2027-01-31                # optional: the rule applies through this day (UTC)
        justification: vulnerable_code_not_in_execute_path   # optional: OpenVEX justification

A rule needs a ``reason`` and at least one of ``id``, ``package``, ``purl``, ``path``; it
suppresses the findings that match every selector it has. ``id`` and ``package`` patterns compare
case-insensitively for ids and exactly for names. A ``purl`` without ``*``, ``?`` or ``[`` is a
package URL compared as :func:`hullscan.policy.subject.purl_matches` does (no version: any
version; qualifiers: a subset). An expired rule (``expires`` before today) does not apply, and a
warning says so. Unknown keys, a missing reason and malformed values are
:class:`~hullscan.errors.PolicyError` s naming the file and line.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hullscan.errors import PolicyError
from hullscan.policy.subject import Subject, purl_matches

DEFAULT_FILE = ".hullscan.yaml"
MAX_BYTES = 1 << 20
RULE_KEYS = ("id", "package", "purl", "path", "reason", "expires", "justification")
SELECTORS = ("id", "package", "purl", "path")
JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
_GLOB = frozenset("*?[")
#: libyaml's safe loader when PyYAML was built with it, else the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=4096)
def _matcher(pattern: str) -> Callable[[str], bool]:
    """A case-sensitive fnmatch test for ``pattern`` (plain equality when it has no wildcard)."""
    if not _GLOB & set(pattern):
        return pattern.__eq__
    rx = re.compile(fnmatch.translate(pattern))
    return lambda text: rx.match(text) is not None


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    reason: str
    id: str | None = None
    package: str | None = None
    purl: str | None = None
    path: str | None = None
    expires: dt.date | None = None
    justification: str | None = None
    #: ``FILE:LINE`` of the rule.
    source: str = ""

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def matches(self, s: Subject) -> bool:
        if self.id is not None:
            m = _matcher(self.id.upper())
            if not any(m(i.upper()) for i in s.ids):
                return False
        if self.package is not None and not _matcher(self.package)(s.package):
            return False
        if self.purl is not None:
            if _GLOB & set(self.purl):
                if not _matcher(self.purl)(s.purl):
                    return False
            elif not purl_matches(self.purl, s.purl):
                return False
        return self.path is None or any(_matcher(self.path)(loc) for loc in s.locations)

    def describe(self) -> str:
        sel = ", ".join(f"{k} {getattr(self, k)}" for k in SELECTORS if getattr(self, k) is not None)
        return f"ignore rule at {self.source} ({sel})"


@dataclass(frozen=True, slots=True)
class IgnoreFile:
    path: str
    rules: tuple[IgnoreRule, ...]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _str(value: Any, key: str, where: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise PolicyError(f"{where}: {key} must be a string")
    text = str(value).strip()
    if not text:
        raise PolicyError(f"{where}: {key} is empty")
    return text


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PolicyError(f"{where}: expires {str(value)[:40]!r} is not a date (YYYY-MM-DD)") from None


def parse(text: str, origin: str) -> IgnoreFile:
    """Parse the text of an ignore file (``origin`` names it in errors and rule sources)."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise PolicyError(f"{origin}{at}: not valid YAML: {problem}") from None
    if root is None or data is None:
        return IgnoreFile(origin, ())
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise PolicyError(f"{origin}:{_line(root)}: expected a mapping with an `ignore` list")
    for key_node, _ in root.value:
        if key_node.value != "ignore":
            raise PolicyError(
                f"{origin}:{_line(key_node)}: unknown key {str(key_node.value)[:40]!r} (expected ignore)"
            )
    seq_node = [v for k, v in root.value if k.value == "ignore"][-1]  # the last one, as safe_load
    items = data.get("ignore")
    if items is None:
        return IgnoreFile(origin, ())
    if not isinstance(seq_node, yaml.SequenceNode) or not isinstance(items, list):
        raise PolicyError(f"{origin}:{_line(seq_node)}: `ignore` must be a list of rules")
    rules = []
    for node, item in zip(seq_node.value, items, strict=True):
        where = f"{origin}:{_line(node)}"
        if not isinstance(node, yaml.MappingNode) or not isinstance(item, dict):
            raise PolicyError(f"{where}: a rule must be a mapping")
        for key_node, _ in node.value:
            if key_node.value not in RULE_KEYS:
                raise PolicyError(
                    f"{origin}:{_line(key_node)}: unknown key {str(key_node.value)[:40]!r} "
                    f"(rule keys: {', '.join(RULE_KEYS)})"
                )
        if "reason" not in item:
            raise PolicyError(f"{where}: the rule has no reason (every ignore rule needs one)")
        fields = {k: _str(item[k], k, where) for k in (*SELECTORS, "reason") if k in item}
        if not any(k in fields for k in SELECTORS):
            raise PolicyError(f"{where}: the rule selects nothing (give id, package, purl or path)")
        just = item.get("justification")
        if just is not None and just not in JUSTIFICATIONS:
            raise PolicyError(
                f"{where}: justification {str(just)[:60]!r} is not one of {', '.join(JUSTIFICATIONS)}"
            )
        rules.append(
            IgnoreRule(
                reason=fields["reason"],
                id=fields.get("id"),
                package=fields.get("package"),
                purl=fields.get("purl"),
                path=fields.get("path"),
                expires=_date(item["expires"], where) if item.get("expires") is not None else None,
                justification=just,
                source=where,
            )
        )
    return IgnoreFile(origin, tuple(rules))


def load(path: str | os.PathLike[str]) -> IgnoreFile:
    """Read and parse an ignore file (:class:`PolicyError` if unreadable or invalid)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise PolicyError(f"{p}: {size} bytes; an ignore file may have at most {MAX_BYTES}")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"cannot read ignore file {p}: {getattr(e, 'strerror', None) or e}") from e
    return parse(text, str(path))


def apply(
    subjects: Sequence[Subject], ignore: IgnoreFile, today: dt.date
) -> tuple[dict[int, IgnoreRule], list[str]]:
    """Which subjects (by index) the first active matching rule suppresses, and warnings for
    expired rules (each rule once)."""
    warnings = []
    active = []
    for r in ignore.rules:
        if r.expired(today):
            assert r.expires is not None
            warnings.append(f"{r.describe()} expired on {r.expires.isoformat()}; not applied")
        else:
            active.append(r)
    hits: dict[int, IgnoreRule] = {}
    for i, s in enumerate(subjects):
        for r in active:
            if r.matches(s):
                hits[i] = r
                break
    return hits, warnings


__all__ = ["DEFAULT_FILE", "JUSTIFICATIONS", "IgnoreFile", "IgnoreRule", "apply", "load", "parse"]
