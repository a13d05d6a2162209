"""CycloneDX VDR (vulnerability disclosure report): the CycloneDX SBOM of the scanned inventory with
its findings as ``vulnerabilities``.

One vulnerability entry per vulnerability id and suppression: it ``affects`` every component the
finding is in (by bom-ref, with the installed version), rates it as the finding does (severity,
CVSS score, method and vector), names its source from the id (``CVE-`` NVD, ``GHSA-`` GitHub, any
other OSV) and its aliases as references, recommends the fixed versions, and keeps the fix status,
advisories, EPSS and KEV data as ``hullscan:`` properties. Suppressed findings (an ignore rule or a
VEX statement) carry a CycloneDX ``analysis``: VEX ``not_affected`` is ``not_affected`` (OpenVEX
justifications mapped to CycloneDX's), VEX ``fixed`` is ``resolved``, an ignore rule is
``false_positive`` when its reason says so and otherwise ``not_affected`` with the response
``will_not_fix`` (the rule accepts the finding; CycloneDX has no "accepted" state).

A VDR is an SBOM too: ``hullscan scan sbom:VDR`` reads its components and gives the same findings.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from hullscan.sbom.common import NAMESPACE, sorted_packages
from hullscan.sbom.cyclonedx import SPEC_VERSIONS, refs, render_json, to_cyclonedx_dict
from hullscan.scan import Finding, ScanResult, Suppression

#: OpenVEX justification -> CycloneDX analysis justification.
OPENVEX_JUSTIFICATIONS = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "requires_environment",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}
#: CycloneDX's own justifications (a VEX document in CycloneDX form states these directly).
CYCLONEDX_JUSTIFICATIONS = (
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
)
_METHODS = {"cvss_v4": "CVSSv4", "cvss_v2": "CVSSv2"}
_SEVERITIES = {"critical", "high", "medium", "low", "info", "none", "unknown"}


def source_of(vuln_id: str) -> dict[str, str]:
    """Who publishes an id: NVD for CVEs, GitHub for GHSAs, OSV for the rest."""
    if vuln_id.startswith("CVE-"):
        return {"name": "NVD", "url": f"https://nvd.nist.gov/vuln/detail/{vuln_id}"}
    if vuln_id.startswith("GHSA-"):
        return {"name": "GitHub", "url": f"https://github.com/advisories/{vuln_id}"}
    return {"name": "OSV", "url": f"https://osv.dev/vulnerability/{vuln_id}"}


def _rating(f: Finding) -> dict[str, Any]:
    s = f.severity
    r: dict[str, Any] = {}
    if s.score is not None:
        r["score"] = s.score
    r["severity"] = s.level if s.level in _SEVERITIES else "unknown"
    if s.source == "none":
        return r
    if s.source == "cvss_v3":
        r["method"] = "CVSSv31" if (s.vector or "").startswith("CVSS:3.1/") else "CVSSv3"
    else:
        r["method"] = _METHODS.get(s.source, "other")
    if s.vector:
        r["vector"] = s.vector
    if r["method"] == "other":
        r["justification"] = f"rated by {s.source}"
    return r


def analysis(s: Suppression) -> dict[str, Any]:
    """The CycloneDX ``analysis`` of a suppressed finding."""
    out: dict[str, Any] = {}
    reason = s.reason or ""
    if s.kind == "vex" and s.status == "fixed":
        out["state"] = "resolved"
    elif s.kind == "vex":
        out["state"] = "not_affected"
        just = OPENVEX_JUSTIFICATIONS.get(reason) or (reason if reason in CYCLONEDX_JUSTIFICATIONS else None)
        if just:
            out["justification"] = just
    elif "false positive" in reason.lower().replace("_", " ").replace("-", " "):
        out["state"] = "false_positive"
    else:
        out["state"] = "not_affected"
        out["response"] = ["will_not_fix"]
    what = "VEX statement" if s.kind == "vex" else "ignore rule"
    detail = f"{what} ({s.status})" + (f" from {s.source}" if s.source else "")
    if reason:
        detail += f": {reason}"
    if s.statement:
        detail += f". {s.statement}"
    if s.expires:
        detail += f" (expires {s.expires})"
    out["detail"] = detail
    return out


def _recommendation(findings: list[Finding]) -> str | None:
    parts = []
    for f in findings:
        if f.fixed_versions:
            to = (
                f.fixed_versions[0] if len(f.fixed_versions) == 1 else "one of " + ", ".join(f.fixed_versions)
            )
            parts.append(f"Upgrade {f.package.name} to {to}")
    return "; ".join(dict.fromkeys(parts)) or None


def _properties(findings: list[Finding], affected: list[str]) -> list[dict[str, str]]:
    props: list[dict[str, str]] = []
    first: dict[str, Finding] = {}
    for f in findings:
        first.setdefault(f.package.purl, f)
    for i, purl in enumerate(affected):
        f = first[purl]
        props.append({"name": f"hullscan:affects:{i}:fix_status", "value": f.status})
        if f.fixed_versions:
            props.append(
                {"name": f"hullscan:affects:{i}:fixed_versions", "value": ", ".join(f.fixed_versions)}
            )
    advisories = sorted({a for f in findings for a in f.advisories})
    if advisories:
        props.append({"name": "hullscan:advisories", "value": ", ".join(advisories)})
    epss = next((f.epss for f in findings if f.epss is not None), None)
    if epss is not None:
        props.append({"name": "hullscan:epss:score", "value": str(epss.score)})
        props.append({"name": "hullscan:epss:percentile", "value": str(epss.percentile)})
        if epss.date:
            props.append({"name": "hullscan:epss:date", "value": epss.date})
    kev = next((f.kev for f in findings if f.kev is not None), None)
    if kev is not None:
        props.append({"name": "hullscan:kev", "value": "true"})
        for key in ("date_added", "due_date", "known_ransomware", "required_action", "name"):
            value = getattr(kev, key)
            if value:
                props.append({"name": f"hullscan:kev:{key}", "value": str(value)})
    s = findings[0].suppression
    if s is not None:
        props.append({"name": "hullscan:suppression:kind", "value": s.kind})
        props.append({"name": "hullscan:suppression:status", "value": s.status})
        if s.source:
            props.append({"name": "hullscan:suppression:source", "value": s.source})
        if s.expires:
            props.append({"name": "hullscan:suppression:expires", "value": s.expires})
    return props


def vulnerabilities(result: ScanResult) -> list[dict[str, Any]]:
    """The ``vulnerabilities`` array of :func:`to_vdr` (bom-refs as its components have them)."""
    bom_ref: dict[str, str] = {}
    packages = sorted_packages(result.inventory)
    for p, ref in zip(packages, refs(packages), strict=True):
        bom_ref.setdefault(p.purl, ref)
    groups: dict[tuple[str, Suppression | None], list[Finding]] = {}
    for f in (*result.findings, *result.suppressed):
        groups.setdefault((f.id, f.suppression), []).append(f)
    out = []
    for (vid, supp), findings in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] is not None)):
        findings.sort(key=lambda f: (f.package.purl, f.package.name))
        affected = [purl for purl in dict.fromkeys(f.package.purl for f in findings) if purl in bom_ref]
        v: dict[str, Any] = {"id": vid, "source": source_of(vid)}
        aliases = sorted({a for f in findings for a in f.aliases})
        if aliases:
            v["references"] = [{"id": a, "source": source_of(a)} for a in aliases]
        ratings = list({json.dumps(r, sort_keys=True): r for r in map(_rating, findings)}.values())
        v["ratings"] = ratings
        summary = next((f.summary for f in findings if f.summary), None)
        if summary:
            v["description"] = summary
        rec = _recommendation(findings)
        if rec:
            v["recommendation"] = rec
        if supp is not None:
            v["analysis"] = analysis(supp)
        # Every analysis state written says the version is not (or no longer) affected as reported.
        status = "unaffected" if supp is not None else "affected"
        installed = {f.package.purl: f.installed_version for f in findings}
        v["affects"] = [
            {"ref": bom_ref[purl], "versions": [{"version": installed[purl], "status": status}]}
            for purl in affected
        ]
        v["properties"] = _properties(findings, affected)
        out.append(v)
    return out


def to_vdr_dict(
    result: ScanResult, *, spec_version: str = "1.6", timestamp: datetime | None = None
) -> dict[str, Any]:
    """The VDR as its JSON object model."""
    if spec_version not in SPEC_VERSIONS:
        raise ValueError(f"CycloneDX {spec_version} is not written (one of {', '.join(SPEC_VERSIONS)})")
    doc = to_cyclonedx_dict(result.inventory, spec_version=spec_version, timestamp=timestamp)
    vulns = vulnerabilities(result)
    doc["vulnerabilities"] = vulns
    # Not the SBOM's serial number: the same image with other findings is another document.
    digest = hashlib.sha256(json.dumps(vulns, sort_keys=True).encode()).hexdigest()
    doc["serialNumber"] = uuid.uuid5(NAMESPACE, f"{doc['serialNumber']}/vdr/{digest}").urn
    return doc


def to_vdr(result: ScanResult, *, spec_version: str = "1.6", timestamp: datetime | None = None) -> str:
    """The CycloneDX JSON VDR of a scan: its SBOM plus its findings (suppressed ones with their
    analysis). ``spec_version`` ``1.6`` or ``1.5``; ``timestamp`` recorded only when given."""
    return render_json(to_vdr_dict(result, spec_version=spec_version, timestamp=timestamp))


__all__ = ["analysis", "source_of", "to_vdr", "to_vdr_dict", "vulnerabilities"]
