"""``sarif``: SARIF 2.1.0 as GitHub code scanning takes it: one rule per vulnerability, one
result per finding, located at the package database file inside the image."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote

from hullscan import __version__
from hullscan.report._common import exploit_text, fixed_text, image_name, layer_infos, layer_of, snippet
from hullscan.report._json import dumps
from hullscan.scan import Finding, ScanResult

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "unknown": "note"}
#: security-severity for findings rated without a CVSS score (GitHub maps >= 9.0 to critical,
#: 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low); none for ``unknown``.
_RATED = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def _security_severity(f: Finding) -> str | None:
    if f.severity.score is not None:
        return f"{f.severity.score:.1f}"
    return _RATED.get(f.severity.level)


def _rule(group: list[Finding]) -> dict[str, Any]:
    """The rule of one vulnerability, with every package of the scan it was found in."""
    f = group[0]
    summary = f.summary or f.id
    lines = [f"{f.id} ({f.severity.level}): {summary}"]
    md = [f"**{_md(f.id)}** ({f.severity.level}): {_md(summary)}", ""]
    if f.aliases:
        lines.append(f"Aliases: {', '.join(f.aliases)}")
        md += [f"Aliases: {_md(', '.join(f.aliases))}", ""]
    if f.severity.score is not None:
        lines.append(f"CVSS {f.severity.score:.1f} {f.severity.vector or ''}".rstrip())
        md += [f"CVSS {f.severity.score:.1f} `{f.severity.vector or ''}`", ""]
    # Each result's message says why that package matched.
    md += ["| Package | Installed | Fixed |", "|---|---|---|"]
    for g in group:
        lines.append(f"{g.package.name} {g.installed_version}: fixed in {fixed_text(g)}")
        md.append(f"| {_md(g.package.name)} | {_md(g.installed_version)} | {_md(fixed_text(g))} |")
    props: dict[str, Any] = {
        "tags": ["vulnerability", "security", f.severity.level],
        "precision": "very-high",
    }
    sec = _security_severity(f)
    if sec is not None:
        props["security-severity"] = sec
    if f.severity.vector:
        props["cvssVector"] = f.severity.vector
    return {
        "id": f.id,
        "shortDescription": {"text": snippet(summary, 120)},
        "fullDescription": {"text": summary},
        "defaultConfiguration": {"level": _LEVEL[f.severity.level]},
        "help": {"text": "\n".join(lines), "markdown": "\n".join(md)},
        "properties": props,
    }


_CHECK_HELP = {
    "HS-IMG-001": "Set a non-root USER in the image.",
    "HS-IMG-002": "Pass secrets at run time (a secret store, mounted files), never in ENV.",
    "HS-IMG-003": "Use build secrets (RUN --mount=type=secret); build history keeps every argument.",
    "HS-IMG-004": "Do not expose remote-shell or database ports from an application image.",
    "HS-IMG-005": "Download with a checksum check, or COPY a vetted file.",
    "HS-IMG-006": "Add a HEALTHCHECK so orchestrators can tell a hung container.",
    "HS-IMG-007": "Remove the secret from the image and rotate it: deleting it in a later layer "
    "leaves it in the image's blobs.",
}


def _checks(
    result: ScanResult, image: str, rules: list[dict[str, Any]], results: list[dict[str, Any]]
) -> None:
    """Image checks as rules (one per check id) and results (secrets already masked)."""
    seen: dict[str, int] = {}
    for c in result.inventory.config_findings:
        if c.id not in seen:
            seen[c.id] = len(rules)
            rules.append(
                {
                    "id": c.id,
                    "name": re.sub(r"[^A-Za-z0-9]+", "", c.title.title()) or c.id,
                    "shortDescription": {"text": snippet(c.title, 120)},
                    "fullDescription": {"text": c.title},
                    "defaultConfiguration": {"level": _LEVEL.get(c.severity, "note")},
                    "help": {
                        "text": _CHECK_HELP.get(c.id, c.title),
                        "markdown": _md(_CHECK_HELP.get(c.id, c.title)),
                    },
                    "properties": {
                        "tags": ["security", "image-configuration", c.severity],
                        "precision": "high",
                        "security-severity": _RATED.get(c.severity, "2.0"),
                    },
                }
            )
        path, _, line = c.location.rpartition(":") if c.location.startswith("/") else ("", "", "")
        physical: dict[str, Any]
        if path and line.isdigit():
            physical = {
                "artifactLocation": {"uri": quote(path.lstrip("/"), safe="/")},
                "region": {"startLine": int(line)},
            }
        else:
            physical = {"artifactLocation": {"uri": quote(image, safe="/")}, "region": {"startLine": 1}}
        key = "\0".join((image, c.id, c.rule, c.location))
        results.append(
            {
                "ruleId": c.id,
                "ruleIndex": seen[c.id],
                "level": _LEVEL.get(c.severity, "note"),
                "message": {"text": f"{c.title}: {c.detail}\nImage: {image}\nWhere: {c.location}"},
                "locations": [
                    {
                        "physicalLocation": physical,
                        "message": {"text": f"{image}: {c.location}"},
                    }
                ],
                "partialFingerprints": {
                    "hullscanCheck/v1": hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
                },
                "properties": {"image": image, "rule": c.rule, "layer": c.layer_index},
            }
        )


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~@#<>&])")


def _md(text: str) -> str:
    """Untrusted text as literal markdown (GitHub renders rule help as markdown)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render(result: ScanResult) -> str:
    image = image_name(result)
    infos = layer_infos(result.inventory)
    groups: dict[str, list[Finding]] = {}
    for f in result.findings:
        groups.setdefault(f.id, []).append(f)
    rules = [_rule(g) for g in groups.values()]
    index = {rule_id: i for i, rule_id in enumerate(groups)}
    results = []
    for f in result.findings:
        layer = layer_of(infos, f)
        where = f.explanation.locations[0] if f.explanation.locations else ""
        # No file (an SBOM without locations): the image name, its colons escaped so no scheme is read.
        uri = quote(where.lstrip("/"), safe="/") or quote(image, safe="/")
        message = (
            f"Package: {f.package.name}\nInstalled version: {f.installed_version}\n"
            f"Vulnerability: {f.id}\nSeverity: {f.severity.level}\nFixed version: {fixed_text(f)}\n"
            f"Layer: {layer.label()} {layer.short_digest}\nImage: {image}\n"
            f"Why: {f.explanation.text()}"
        )
        if exploit := exploit_text(f):
            message += f"\nExploitation: {exploit}"
        key = "\0".join((image, f.package.purl, f.id))
        res: dict[str, Any] = {
            "ruleId": f.id,
            "ruleIndex": index[f.id],
            "level": _LEVEL[f.severity.level],
            "message": {"text": message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": 1},
                    },
                    "logicalLocations": [
                        {
                            "name": f.package.name,
                            "fullyQualifiedName": f"{image}/{f.package.purl}",
                            "kind": "module",
                        }
                    ],
                    "message": {"text": f"{image}: {where or f.package.purl}"},
                }
            ],
            "partialFingerprints": {
                "hullscanFinding/v1": hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
            },
            "properties": {
                "image": image,
                "fixedVersions": list(f.fixed_versions),
                "purl": f.package.purl,
                "layer": {"index": layer.index, "origin": layer.origin, "digest": f.explanation.layer_digest},
            },
        }
        if f.epss is not None:
            res["properties"]["epss"] = {"score": f.epss.score, "percentile": f.epss.percentile}
        if f.kev is not None:
            res["properties"]["kev"] = True
        results.append(res)
    inv = result.inventory
    _checks(result, image, rules, results)
    run_props: dict[str, Any] = {"image": image, "source": inv.source}
    if inv.manifest_digest:
        run_props["manifestDigest"] = inv.manifest_digest
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hullscan",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
                "columnKind": "utf16CodeUnits",
                "properties": run_props,
            }
        ],
    }
    return dumps(doc, 8, lines=frozenset({"rules", "results"}))
