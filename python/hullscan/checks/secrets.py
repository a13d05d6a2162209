"""Secrets in image configuration text (ENV values, build history): find them, and redact them.

The rules are the well-known token formats with fixed prefixes or structure (AWS access key ids,
private key blocks, GitHub / GitLab / Slack / Stripe / Google / npm / PyPI tokens) plus secrets
named by their variable (``AWS_SECRET_ACCESS_KEY=...``, ``DB_PASSWORD=...``). Every string that
leaves hullscan from an image's configuration goes through :func:`redact`, so no output (table,
JSON, SBOM, SARIF, ASFF) carries a matched value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SecretRule:
    id: str
    title: str
    severity: str
    pattern: re.Pattern[str]
    #: Characters of the match shown before the mask (a fixed, non-secret prefix such as ``AKIA``).
    keep: int = 0


@dataclass(frozen=True, slots=True)
class SecretMatch:
    rule: SecretRule
    start: int
    end: int


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


RULES: tuple[SecretRule, ...] = (
    SecretRule(
        "aws-access-key-id",
        "AWS access key ID",
        "critical",
        _r(r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])"),
        keep=4,
    ),
    SecretRule(
        "aws-secret-access-key",
        "AWS secret access key",
        "critical",
        _r(r"(?i)(?<=aws_secret_access_key[=: \"']{1})[\"']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),
    ),
    SecretRule(
        "private-key",
        "Private key",
        "high",
        _r(
            r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,16384}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)?"
        ),
    ),
    SecretRule("github-token", "GitHub token", "critical", _r(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"), keep=4),
    SecretRule(
        "github-fine-grained-token",
        "GitHub fine-grained token",
        "critical",
        _r(r"\bgithub_pat_[A-Za-z0-9_]{82}\b"),
        keep=11,
    ),
    SecretRule(
        "gitlab-token", "GitLab personal access token", "critical", _r(r"\bglpat-[A-Za-z0-9_-]{20,}"), keep=6
    ),
    SecretRule("slack-token", "Slack token", "high", _r(r"\bxox[baprs]-[A-Za-z0-9-]{10,250}"), keep=5),
    SecretRule(
        "stripe-secret-key", "Stripe secret key", "critical", _r(r"\b[sr]k_live_[A-Za-z0-9]{20,99}\b"), keep=8
    ),
    SecretRule(
        "google-api-key", "Google API key", "high", _r(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), keep=4
    ),
    SecretRule("npm-token", "npm access token", "critical", _r(r"\bnpm_[A-Za-z0-9]{36}\b"), keep=4),
    SecretRule(
        "pypi-token", "PyPI upload token", "critical", _r(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"), keep=5
    ),
)

#: A variable whose name says it holds a secret (``DB_PASSWORD``, ``API_TOKEN``, ``CLIENT_SECRET``).
_SECRET_NAME = re.compile(
    r"(?i)(?:^|_)(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|SECRET_KEY|TOKEN|API_KEY|APIKEY|ACCESS_KEY|"
    r"PRIVATE_KEY|AUTH_TOKEN|CREDENTIALS?)$"
)
#: Values that name where a secret is, rather than being one (files, variables, placeholders).
_NOT_A_VALUE = re.compile(r"^(?:/|\$|\{\{|<|changeme$|none$|null$|true$|false$|\*+$|x+$)", re.I)

NAMED_SECRET = SecretRule(
    "env-named-secret",
    "Secret in a variable named for one",
    "high",
    re.compile(r"$^"),
)


def find(text: str) -> list[SecretMatch]:
    """The secrets in ``text``, in order, non-overlapping (the first rule to claim a span wins)."""
    found: list[SecretMatch] = []
    for rule in RULES:
        for m in rule.pattern.finditer(text):
            if m.end() > m.start() and not any(m.start() < f.end and f.start < m.end() for f in found):
                found.append(SecretMatch(rule, m.start(), m.end()))
    found.sort(key=lambda f: f.start)
    return found


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


__all__ = ["RULES", "SecretMatch", "SecretRule", "find", "mask", "named_secret", "redact"]
