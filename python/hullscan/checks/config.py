"""Checks of how an image is configured, from its config blob: runs as root, secrets in ENV or in
the build history, sensitive ports exposed, ``ADD`` from a URL, no HEALTHCHECK.

``HS-IMG-007`` reports the secrets the Rust core finds inside layer files, when asked to search.
Each check has a stable id (``HS-IMG-...``) and the Dockerfile rule of Trivy / hadolint that users
know it by. The image config is hostile input: every string is bounded and type-checked, and every
string that is kept (ENV, history) is redacted (:func:`hullscan.checks.secrets.redact`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from hullscan import _core
from hullscan.checks import secrets
from hullscan.model import ConfigFinding, ImageConfig, Layer

#: Ports whose exposure Inspector-style checks flag: remote shells and databases.
SENSITIVE_PORTS = {
    21: "FTP",
    22: "SSH",
    23: "Telnet",
    2375: "Docker API (plain)",
    3306: "MySQL",
    3389: "RDP",
    5432: "PostgreSQL",
    5900: "VNC",
    6379: "Redis",
    9200: "Elasticsearch",
    11211: "Memcached",
    27017: "MongoDB",
    1433: "SQL Server",
    1521: "Oracle",
}
MAX_STRING = 64 * 1024
MAX_ITEMS = 4096

_ADD_URL = re.compile(r"(?i)(?:^|#\(nop\)\s*|\s)ADD\s+(?:--\S+\s+)*(?:https?|ftp)://")
_NONROOT_UID = re.compile(r"^[0-9]+$")


def _s(v: object) -> str | None:
    return v[:MAX_STRING] if isinstance(v, str) else None


def _strings(v: object) -> list[str]:
    if not isinstance(v, list):
        return []
    return [s[:MAX_STRING] for s in v[:MAX_ITEMS] if isinstance(s, str)]


def _root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


def check(config: dict[str, Any]) -> tuple[ImageConfig, tuple[ConfigFinding, ...]]:
    """The redacted configuration of an image and the findings of its checks."""
    raw = config.get("config")
    cfg: dict[str, Any] = raw if isinstance(raw, dict) else {}
    user = _s(cfg.get("User")) or ""
    env = _strings(cfg.get("Env"))
    ports_raw = cfg.get("ExposedPorts")
    ports = (
        sorted(p[:64] for p in ports_raw if isinstance(p, str))[:MAX_ITEMS]
        if isinstance(ports_raw, dict)
        else []
    )
    hc = cfg.get("Healthcheck")
    health = _strings(hc.get("Test")) if isinstance(hc, dict) else []
    hist_raw = config.get("history")
    history: list[tuple[str, bool]] = []
    if isinstance(hist_raw, list):
        for h in hist_raw[:MAX_ITEMS]:
            if isinstance(h, dict):
                history.append((_s(h.get("created_by")) or "", bool(h.get("empty_layer"))))
    findings: list[ConfigFinding] = []

    if _root(user):
        findings.append(
            ConfigFinding(
                id="HS-IMG-001",
                rule="root-user",
                title="Image runs as root",
                severity="medium",
                detail="no USER is set, so containers run as root"
                if not user
                else f"USER is {secrets.redact(user)}",
                location="config.User",
                references=("Trivy DS002", "hadolint DL3002"),
            )
        )
    for i, item in enumerate(env):
        name, _, value = item.partition("=")
        hits = secrets.find(item)
        rules = [h.rule for h in hits]
        if not rules and secrets.named_secret(name, value):
            rules = [secrets.NAMED_SECRET]
        for rule in dict.fromkeys(rules):
            findings.append(
                ConfigFinding(
                    id="HS-IMG-002",
                    rule=f"secret-env:{rule.id}",
                    title=f"{rule.title} in ENV",
                    severity=rule.severity,
                    detail=f"{rule.title} in ENV {secrets.redact(item)}",
                    location=f"config.Env[{i}]",
                    references=("Trivy DS031",),
                )
            )
    layer = -1
    env_values = {e.partition("=")[2] for e in env}
    for i, (created_by, empty) in enumerate(history):
        if not empty:
            layer += 1
        # ENV lines appear in the history too; report a secret there once, under ENV, when the
        # final config still has it, and under history when a later step removed it.
        hits = [h for h in secrets.find(created_by) if created_by[h.start : h.end] not in env_values]
        for rule in dict.fromkeys(h.rule for h in hits):
            findings.append(
                ConfigFinding(
                    id="HS-IMG-003",
                    rule=f"secret-history:{rule.id}",
                    title=f"{rule.title} in the build history",
                    severity=rule.severity,
                    detail=f"{rule.title} in build step {i}: {secrets.redact(created_by)[:300]}",
                    location=f"history[{i}]",
                    layer_index=None if empty else layer,
                )
            )
        if _ADD_URL.search(created_by):
            findings.append(
                ConfigFinding(
                    id="HS-IMG-005",
                    rule="add-from-url",
                    title="ADD downloads from a URL",
                    severity="low",
                    detail=f"build step {i}: {secrets.redact(created_by)[:300]} "
                    "(use curl/wget with a checksum, or COPY)",
                    location=f"history[{i}]",
                    layer_index=None if empty else layer,
                    references=("Trivy DS005", "hadolint DL3020"),
                )
            )
    for p in ports:
        num = p.partition("/")[0]
        if num.isdigit() and int(num) in SENSITIVE_PORTS:
            findings.append(
                ConfigFinding(
                    id="HS-IMG-004",
                    rule=f"sensitive-port:{num}",
                    title=f"Port {num} ({SENSITIVE_PORTS[int(num)]}) exposed",
                    severity="high" if int(num) in (22, 23, 3389, 2375) else "medium",
                    detail=f"EXPOSE {secrets.redact(p)}",
                    location="config.ExposedPorts",
                    references=("Trivy DS004",),
                )
            )
    if not health or health[0] == "NONE":
        findings.append(
            ConfigFinding(
                id="HS-IMG-006",
                rule="no-healthcheck",
                title="No HEALTHCHECK",
                severity="low",
                detail="HEALTHCHECK is disabled" if health else "the image defines no HEALTHCHECK",
                location="config.Healthcheck",
                references=("Trivy DS026",),
            )
        )
    image_config = ImageConfig(
        user=secrets.redact(user) or None,
        env=tuple(secrets.redact(e) for e in env),
        exposed_ports=tuple(ports),
        healthcheck=tuple(secrets.redact(t) for t in health),
        entrypoint=tuple(secrets.redact(s) for s in _strings(cfg.get("Entrypoint"))),
        cmd=tuple(secrets.redact(s) for s in _strings(cfg.get("Cmd"))),
        working_dir=secrets.redact(_s(cfg.get("WorkingDir")) or "") or None,
        history=tuple(secrets.redact(c) for c, _ in history),
    )
    return image_config, tuple(findings)


def file_secrets(results: Sequence[_core.LayerResult], layers: Sequence[Layer]) -> tuple[ConfigFinding, ...]:
    """``HS-IMG-007`` findings for the secrets the Rust core found in layer files (masked there).
    A file a later layer deleted is still reported: its bytes stay in the image's blobs."""
    out = []
    for i, result in enumerate(results):
        layer = layers[i] if i < len(layers) else None
        for path, rule, title, severity, line, masked in result.secrets:
            out.append(
                ConfigFinding(
                    id="HS-IMG-007",
                    rule=f"secret-file:{rule}",
                    title=f"{title} in a file",
                    severity=severity,
                    detail=f"{title} in /{path} line {line}: {masked}",
                    location=f"/{path}:{line}",
                    layer_index=layer.index if layer is not None else i,
                )
            )
    return tuple(out)


__all__ = ["SENSITIVE_PORTS", "check", "file_secrets"]
