"""Secrets in image configuration text (ENV values, build history): find them, and redact them.

The rules are the Rust core's (``rust/hullscan-core/src/secrets.rs``: AWS access key ids and
secret keys, private key blocks, GitHub / GitLab / Slack / Stripe / Google / npm / PyPI tokens),
the same rules layer files are searched with, plus secrets named by their variable
(``AWS_SECRET_ACCESS_KEY=...``, ``DB_PASSWORD=...``). Every string that leaves hullscan from an
image's configuration goes through :func:`redact`, so no output (table, JSON, SBOM, SARIF, ASFF)
carries a matched value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hullscan import _core


@dataclass(frozen=True, slots=True)
class SecretRule:
    id: str
    title: str
    severity: str
    #: Characters of the match shown before the mask (a fixed, non-secret prefix such as ``AKIA``).
    keep: int = 0


@dataclass(frozen=True, slots=True)
class SecretMatch:
    rule: SecretRule
    start: int
    end: int


#: A variable whose name says it holds a secret (``DB_PASSWORD``, ``API_TOKEN``, ``CLIENT_SECRET``).
_SECRET_NAME = re.compile(
    r"(?i)(?:^|_)(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|SECRET_KEY|TOKEN|API_KEY|APIKEY|ACCESS_KEY|"
    r"PRIVATE_KEY|AUTH_TOKEN|CREDENTIALS?)$"
)
#: Values that name where a secret is, rather than being one (files, variables, placeholders).
_NOT_A_VALUE = re.compile(r"^(?:/|\$|\{\{|<|changeme$|none$|null$|true$|false$|\*+$|x+$)", re.I)

NAMED_SECRET = SecretRule("env-named-secret", "Secret in a variable named for one", "high")


def find(text: str) -> list[SecretMatch]:
    """The secrets in ``text``, in order, non-overlapping: the Rust core's rules, the same ones
    layer files are searched with."""
    return [
        SecretMatch(SecretRule(rid, title, severity, keep), start, end)
        for rid, title, severity, start, end, keep in _core.find_secrets(text)
    ]


def named_secret(name: str, value: str) -> bool:
    """Whether ``NAME=value`` is a secret by its name: the name says so and the value is a value
    (8 characters or more, not a path, variable reference or placeholder)."""
    v = value.strip().strip("\"'")
    return bool(_SECRET_NAME.search(name)) and len(v) >= 8 and not _NOT_A_VALUE.match(v)


def mask(value: str, keep: int = 0) -> str:
    """``value`` with all but its first ``keep`` characters replaced; the length is not kept."""
    return value[:keep] + "****"


def redact(text: str) -> str:
    """``text`` with every secret :func:`find` sees, and every ``NAME=value`` whose name says it is a
    secret, masked."""
    out = []
    pos = 0
    for f in find(text):
        out.append(text[pos : f.start])
        out.append(mask(text[f.start : f.end], f.rule.keep))
        pos = f.end
    out.append(text[pos:])
    result = "".join(out)
    return _ASSIGN.sub(_mask_named, result)


_ASSIGN = re.compile(
    r"(?P<name>\b[A-Za-z_][A-Za-z0-9_]*)(?P<sep>=|: ?)(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"']+)"
)


def _mask_named(m: re.Match[str]) -> str:
    value = m.group("value")
    if "****" in value or not named_secret(m.group("name"), value):
        return m.group(0)
    return m.group("name") + m.group("sep") + mask(value)


__all__ = ["NAMED_SECRET", "SecretMatch", "SecretRule", "find", "mask", "named_secret", "redact"]
