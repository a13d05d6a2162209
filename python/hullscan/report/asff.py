"""ASFF: a scan's findings in the AWS Security Finding Format, shaped as Amazon Inspector sends
package vulnerabilities of ECR images to Security Hub.

The document is ``{"Findings": [...]}``: the input of Security Hub's ``BatchImportFindings`` (so
``aws securityhub batch-import-findings --cli-input-json file://report.asff`` imports it as is, at
most 100 findings a call; ``jq .Findings`` gives the bare array ``--findings`` takes) and the shape
``GetFindings`` answers with. ``hullscan scan --publish securityhub`` sends the same findings in
batches of 100 (:mod:`hullscan.publish`).

Each vulnerability finding:

- ``Id``: ``hullscan/finding/<32 hex>``, a hash of the image digest (manifest digest, else config
  digest, else the source), the package purl and the vulnerability id: stable across rescans of the
  same image, so Security Hub updates the finding instead of adding another.
- ``ProductArn``: ``arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`` (the account's
  own "default" product, the one a custom integration imports into).
- ``AwsAccountId`` / ``Region``: :class:`AwsContext`; the CLI takes ``--aws-account`` /
  ``--aws-region``, and when publishing asks STS ``GetCallerIdentity``. Defaults (:func:`context`):
  the account of an ECR image reference (``ACCOUNT.dkr.ecr.REGION.amazonaws.com/...``), else
  ``000000000000``; the region ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, else the ECR image's, else
  ``us-east-1``.
- ``CreatedAt`` / ``UpdatedAt`` / ``FirstObservedAt`` / ``LastObservedAt``: the ``timestamp``
  given, else ``SOURCE_DATE_EPOCH``, else now (UTC, milliseconds).
- ``Severity``: ``Label`` CRITICAL / HIGH / MEDIUM / LOW, INFORMATIONAL for findings without a
  rating; ``Normalized`` as Security Hub maps labels (90, 70, 40, 1, 0); ``Original`` as Inspector
  says it (``UNTRIAGED`` for no rating).
- ``Resources``: an ECR image (``AwsEcrContainerImage``, ``Id`` the image ARN with its digest,
  ``arn:aws:ecr:REGION:ACCOUNT:repository/REPO/sha256:...``, as Inspector names it) when the
  source names an ECR repository; any other image is a ``Container`` resource named ``REF@DIGEST``.
- ``Vulnerabilities``: the package (``VulnerablePackages``: name, version and release split at
  the last ``-`` for OS packages as Inspector does, epoch, architecture, Inspector's
  ``PackageManager`` names, the file, ``FixedInVersion`` or ``NotAvailable``, the layer),
  ``Cvss`` from the finding's vector, ``EpssScore``, ``FixAvailable`` YES / NO,
  ``ExploitAvailable`` YES when the CVE is in CISA's KEV catalog, ``RelatedVulnerabilities``
  (aliases) and ``Vendor``.
- ``Workflow.Status`` ``NEW``; a finding an ignore rule or VEX statement suppressed is included
  with ``SUPPRESSED`` and the reason in ``Note``.

The image configuration checks (``HS-IMG-001`` ... ``-007``) are findings of Types
``Software and Configuration Checks/...``, each once; their ``detail`` is already redacted and no
raw configuration value is ever added.

:func:`problems` checks findings against what Security Hub accepts: the service model's shape
(botocore's ``ParamValidator``, when botocore is installed) and the documented limits the
validator does not check (lengths, enums, non-blank strings).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hullscan.errors import ReportError
from hullscan.model import ConfigFinding, Package
from hullscan.report._common import oneline
from hullscan.scan import Finding, ScanResult

SCHEMA_VERSION = "2018-10-08"
GENERATOR_ID = "hullscan"
VULN_TYPE = "Software and Configuration Checks/Vulnerabilities/CVE"
_CONFIG_TYPES = {
    "HS-IMG-001": "Software and Configuration Checks/Industry and Regulatory Standards/CIS Docker Benchmark",
    "HS-IMG-002": "Sensitive Data Identifications/Passwords",
    "HS-IMG-003": "Sensitive Data Identifications/Passwords",
    "HS-IMG-007": "Sensitive Data Identifications/Passwords",
}
_CONFIG_TYPE = "Software and Configuration Checks/AWS Security Best Practices"

#: Inspector's severity words, and Security Hub's normalised score for each label.
LABELS = {
    "critical": "CRITICAL",
    "high": "HIGH",
    "medium": "MEDIUM",
    "low": "LOW",
    "unknown": "INFORMATIONAL",
}
ORIGINAL = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "unknown": "UNTRIAGED"}
NORMALIZED = {"CRITICAL": 90, "HIGH": 70, "MEDIUM": 40, "LOW": 1, "INFORMATIONAL": 0}

#: Inspector's ``PackageManager`` names for hullscan's catalogers.
PACKAGE_MANAGERS = {
    "apk": "OS",
    "deb": "OS",
    "rpm": "OS",
    "python": "PYTHONPKG",
    "npm": "NODEPKG",
    "go-module": "GOMOD",
    "java-archive": "JAR",
    "gem": "GEMSPEC",
    "rust-crate": "CARGO",
    "php-composer": "COMPOSER",
    "dotnet": "NUGET",
}
_OS_KINDS = frozenset({"apk", "deb", "rpm"})

_ECR_REF = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr(?:-fips)?\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")

# Security Hub's documented limits (AwsSecurityFinding) that botocore's validator does not check.
LIMITS = {"Id": 512, "Title": 256, "Description": 1024, "GeneratorId": 512, "RecommendationText": 512}
_PF_KEY, _PF_VALUE, _PF_COUNT = 128, 2048, 50


@dataclass(frozen=True, slots=True)
class AwsContext:
    """The account and region findings are reported for."""

    account: str
    region: str
    partition: str = "aws"

    @property
    def product_arn(self) -> str:
        return f"arn:{self.partition}:securityhub:{self.region}:{self.account}:product/{self.account}/default"


@dataclass(frozen=True, slots=True)
class EcrImage:
    """An ECR image reference: ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG][@DIGEST]``."""

    account: str
    region: str
    repository: str
    tag: str | None
    digest: str | None


def ecr_image(ref: str) -> EcrImage | None:
    ref = ref.removeprefix("registry:")
    m = _ECR_REF.match(ref)
    if m is None:
        return None
    return EcrImage(m["account"], m["region"], m["repo"], m["tag"], m["digest"])


def _ecr_of(result: ScanResult) -> EcrImage | None:
    inv = result.inventory
    for ref in (inv.source, *inv.repo_tags):
        img = ecr_image(ref)
        if img is not None:
            return img
    return None


def context(
    result: ScanResult | None = None, *, account: str | None = None, region: str | None = None
) -> AwsContext:
    """The :class:`AwsContext` of a report: the values given, else the defaults in the module doc."""
    img = _ecr_of(result) if result is not None else None
    region = (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or (img.region if img else None)
        or "us-east-1"
    )
    account = account or (img.account if img else None) or "000000000000"
    if not _ACCOUNT.match(account):
        raise ReportError(f"AWS account {account!r} is not 12 digits")
    if not _REGION.match(region):
        raise ReportError(f"AWS region {region!r} is not a region name")
    return AwsContext(account, region, partition(region))


def partition(region: str) -> str:
    """The AWS partition of a region: ``aws-cn``, ``aws-us-gov`` or ``aws``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def timestamp(value: str | None = None) -> str:
    """``value``, else ``SOURCE_DATE_EPOCH``, else now: ISO 8601 UTC with milliseconds."""
    if value:
        return value
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            when = datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError) as e:
            raise ReportError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time") from e
    else:
        when = datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def clip(text: str, limit: int) -> str:
    """``text`` on one printable line, cut to ``limit`` characters (an ellipsis marks the cut)."""
    text = oneline(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _digest(result: ScanResult) -> str:
    inv = result.inventory
    return inv.manifest_digest or inv.config_digest or inv.source


def stable_id(*parts: str) -> str:
    return "hullscan/finding/" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def resource(result: ScanResult, ctx: AwsContext) -> dict[str, Any]:
    """The image as an ASFF resource: an ``AwsEcrContainerImage`` for an ECR image, else a
    ``Container``."""
    inv = result.inventory
    img = _ecr_of(result)
    arch = (inv.platform or "").split("/")[1] if inv.platform and "/" in inv.platform else None
    digest = inv.manifest_digest or (img.digest if img else None)
    if img is not None and digest is not None:
        tags = {img.tag} | {
            e.tag for r in inv.repo_tags if (e := ecr_image(r)) is not None and e.repository == img.repository
        }
        details: dict[str, Any] = {
            "RegistryId": img.account,
            "RepositoryName": img.repository,
            "ImageDigest": digest,
        }
        if tags - {None}:
            details["ImageTags"] = sorted(t for t in tags if t)
        if arch:
            details["Architecture"] = arch
        part = partition(img.region)
        return {
            "Type": "AwsEcrContainerImage",
            "Id": f"arn:{part}:ecr:{img.region}:{img.account}:repository/{img.repository}/{digest}",
            "Partition": part,
            "Region": img.region,
            "Details": {"AwsEcrContainerImage": details},
        }
    name = inv.repo_tags[0] if inv.repo_tags else inv.source
    ident = inv.manifest_digest or inv.config_digest
    container: dict[str, Any] = {"Name": clip(name, 256), "ImageName": name}
    if ident:
        container["ImageId"] = ident
    return {
        "Type": "Container",
        "Id": f"{name}@{ident}" if ident else name,
        "Partition": ctx.partition,
        "Region": ctx.region,
        "Details": {"Container": container},
    }


def _split_version(pkg: Package | None, version: str) -> tuple[str, str | None]:
    if pkg is not None and pkg.kind in _OS_KINDS and "-" in version:
        head, _, release = version.rpartition("-")
        if head and release:
            return head, release
    return version, None


def _cvss(f: Finding) -> list[dict[str, Any]]:
    sev = f.severity
    if not sev.vector or sev.score is None:
        return []
    version = sev.vector.split("/", 1)[0].removeprefix("CVSS:") if sev.vector.startswith("CVSS:") else "2.0"
    return [
        {
            "Version": version,
            "BaseScore": float(sev.score),
            "BaseVector": sev.vector,
            "Source": f.explanation.advisory,
        }
    ]


_VENDORS = {
    "GHSA": "GitHub Advisory Database",
    "PYSEC": "PyPA Advisory Database",
    "GO": "Go Vulnerability Database",
    "RUSTSEC": "RustSec Advisory Database",
    "DSA": "Debian",
    "DLA": "Debian",
    "USN": "Ubuntu",
    "ALAS": "Amazon Linux",
    "ALAS2": "Amazon Linux",
    "ALAS2023": "Amazon Linux",
}


def _vendor(f: Finding) -> dict[str, Any]:
    eco = f.package.ecosystem.split(":", 1)[0]
    prefix = f.explanation.advisory.split("-", 1)[0].upper()
    name = _VENDORS.get(prefix) or (
        f"{eco} security advisories" if eco in ("Alpine", "Debian", "Ubuntu") else prefix or "hullscan"
    )
    return {"Name": name, "VendorSeverity": ORIGINAL[f.severity.level]}


def _remedy(f: Finding) -> str:
    if f.fixed_versions:
        return f"Upgrade {f.package.name} {f.installed_version} to {', '.join(f.fixed_versions)} or later."
    return "No fixed version is available yet."


def _pf(values: dict[str, str | None]) -> dict[str, str]:
    out = {}
    for k, v in values.items():
        if v is not None and v.strip():
            out[k[:_PF_KEY]] = clip(v, _PF_VALUE)
    return out


def _clean(node: Any) -> Any:
    """Every string of a finding on one printable line (names from images are attacker-controlled:
    control characters are shown escaped) and never blank (Security Hub wants ``.*\\S.*``)."""
    if isinstance(node, str):
        text = oneline(node)
        return text if text.strip() else "unknown"
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _package_index(result: ScanResult) -> dict[tuple[str, str], Package]:
    return {(p.purl, p.version): p for p in result.inventory.packages}


def _base(
    ctx: AwsContext, fid: str, when: str, types: list[str], label: str, original: str
) -> dict[str, Any]:
    sev = {"Label": label, "Normalized": NORMALIZED[label], "Original": original}
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": fid,
        "ProductArn": ctx.product_arn,
        "ProductName": "hullscan",
        "CompanyName": "hullscan",
        "Region": ctx.region,
        "GeneratorId": GENERATOR_ID,
        "AwsAccountId": ctx.account,
        "Types": types,
        "FirstObservedAt": when,
        "LastObservedAt": when,
        "CreatedAt": when,
        "UpdatedAt": when,
        "Severity": sev,
        "FindingProviderFields": {"Severity": {"Label": label, "Original": original}, "Types": types},
        "RecordState": "ACTIVE",
    }


def vulnerability_finding(
    result: ScanResult,
    f: Finding,
    ctx: AwsContext,
    when: str,
    res: dict[str, Any],
    packages: dict[tuple[str, str], Package] | None = None,
) -> dict[str, Any]:
    """One ASFF finding for one vulnerability in one package."""
    packages = packages if packages is not None else _package_index(result)
    pkg = packages.get((f.package.purl, f.package.version))
    level = f.severity.level
    out = _base(
        ctx,
        stable_id(_digest(result), f.package.purl, f.id),
        when,
        [VULN_TYPE],
        LABELS[level],
        ORIGINAL[level],
    )
    out["Title"] = clip(f"{f.id} - {f.package.name}", LIMITS["Title"])
    summary = " ".join((f.summary or "").split())
    desc = f"{f.id} in {f.package.name} {f.installed_version}"
    out["Description"] = clip(f"{summary} ({desc})" if summary else desc + ".", LIMITS["Description"])
    out["Remediation"] = {"Recommendation": {"Text": clip(_remedy(f), LIMITS["RecommendationText"])}}
    layer = f.explanation.layer_digest or f.explanation.layer_diff_id
    out["ProductFields"] = _pf(
        {
            "hullscan/image": res["Id"],
            "hullscan/package/purl": f.package.purl,
            "hullscan/package/ecosystem": f.package.ecosystem,
            "hullscan/advisories": ", ".join(f.advisories),
            "hullscan/severity/source": f.severity.source,
            "hullscan/layer": layer,
            "hullscan/explanation": f.explanation.text(),
            "hullscan/epss/percentile": f"{f.epss.percentile:.5f}" if f.epss else None,
            "hullscan/kev/dateAdded": f.kev.date_added if f.kev else None,
        }
    )
    out["Resources"] = [res]
    version, release = _split_version(pkg, f.installed_version)
    vp: dict[str, Any] = {"Name": f.package.name, "Version": version}
    if pkg is not None and pkg.epoch is not None:
        vp["Epoch"] = str(pkg.epoch)
    if release:
        vp["Release"] = release
    if pkg is not None and pkg.arch:
        vp["Architecture"] = pkg.arch
    vp["PackageManager"] = PACKAGE_MANAGERS.get(pkg.kind if pkg else "", "OS" if release else "OTHER")
    if f.explanation.locations:
        vp["FilePath"] = f.explanation.locations[0]
    vp["FixedInVersion"] = ", ".join(f.fixed_versions) if f.fixed_versions else "NotAvailable"
    vp["Remediation"] = clip(_remedy(f), 1024)
    if layer:
        vp["SourceLayerHash"] = layer
    vuln: dict[str, Any] = {"Id": f.id, "VulnerablePackages": [vp]}
    cvss = _cvss(f)
    if cvss:
        vuln["Cvss"] = cvss
    if f.aliases:
        vuln["RelatedVulnerabilities"] = list(f.aliases)
    vuln["Vendor"] = _vendor(f)
    vuln["FixAvailable"] = "YES" if f.fixed_versions else "NO"
    if f.epss is not None:
        vuln["EpssScore"] = float(f.epss.score)
    vuln["ExploitAvailable"] = "YES" if f.kev is not None else "NO"
    out["Vulnerabilities"] = [vuln]
    if f.suppression is not None:
        s = f.suppression
        text = f"{s.kind}: {s.status}" + (f" ({s.reason})" if s.reason else "")
        if s.statement:
            text += f": {s.statement}"
        if s.source:
            text += f" [{s.source}]"
        out["Workflow"] = {"Status": "SUPPRESSED"}
        out["Note"] = {"Text": clip(" ".join(text.split()), 512), "UpdatedBy": "hullscan", "UpdatedAt": when}
    else:
        out["Workflow"] = {"Status": "NEW"}
    return dict(_clean(out))


def config_finding(
    result: ScanResult, c: ConfigFinding, ctx: AwsContext, when: str, res: dict[str, Any]
) -> dict[str, Any]:
    """One ASFF finding for one image configuration check (its detail is already redacted)."""
    label = LABELS.get(c.severity, "INFORMATIONAL")
    original = ORIGINAL.get(c.severity, "UNTRIAGED")
    types = [_CONFIG_TYPES.get(c.id, _CONFIG_TYPE)]
    out = _base(ctx, stable_id(_digest(result), c.id, c.rule, c.location), when, types, label, original)
    out["Title"] = clip(f"{c.id} - {c.title}", LIMITS["Title"])
    out["Description"] = clip(" ".join(f"{c.detail} ({c.location})".split()), LIMITS["Description"])
    out["Remediation"] = {"Recommendation": {"Text": clip(f"Fix the image configuration: {c.title}.", 512)}}
    out["ProductFields"] = _pf(
        {
            "hullscan/image": res["Id"],
            "hullscan/check": c.id,
            "hullscan/check/rule": c.rule,
            "hullscan/check/location": c.location,
            "hullscan/check/layer": str(c.layer_index) if c.layer_index is not None else None,
            "hullscan/check/references": ", ".join(c.references),
        }
    )
    out["Resources"] = [res]
    out["Workflow"] = {"Status": "NEW"}
    return dict(_clean(out))


def findings(
    result: ScanResult,
    *,
    ctx: AwsContext | None = None,
    when: str | None = None,
) -> list[dict[str, Any]]:
    """Every ASFF finding of ``result``: its vulnerabilities, the suppressed ones (``SUPPRESSED``)
    and its image checks, in that order."""
    ctx = ctx or context(result)
    when = timestamp(when)
    res = resource(result, ctx)
    packages = _package_index(result)
    out = [vulnerability_finding(result, f, ctx, when, res, packages) for f in result.findings]
    out += [vulnerability_finding(result, f, ctx, when, res, packages) for f in result.suppressed]
    out += [config_finding(result, c, ctx, when, res) for c in result.inventory.config_findings]
    return out


def render(
    result: ScanResult,
    *,
    account: str | None = None,
    region: str | None = None,
    when: str | None = None,
) -> str:
    """``{"Findings": [...]}``, one finding a line below the top level."""
    docs = findings(result, ctx=context(result, account=account, region=region), when=when)
    if not docs:
        return '{"Findings": []}'
    body = ",\n  ".join(json.dumps(d, ensure_ascii=False, sort_keys=False) for d in docs)
    return '{"Findings": [\n  ' + body + "\n]}"


# --- validation ----------------------------------------------------------------------------------


def _strings(node: Any, path: str) -> Iterable[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}[{i}]")
    elif isinstance(node, str) and not node.strip():
        yield f"{path}: blank string (Security Hub wants .*\\S.*)"


@functools.cache
def _import_shape() -> Any:
    """The ``BatchImportFindings`` input shape of botocore's service model (None without botocore)."""
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - botocore is in the aws/test extras
        return None
    model = botocore.session.get_session().get_service_model("securityhub")
    return model.operation_model("BatchImportFindings").input_shape


def problems(docs: list[dict[str, Any]]) -> list[str]:
    """Why Security Hub would refuse each of ``docs`` (empty when it would take them all): the
    ``BatchImportFindings`` input shape of botocore's service model (when botocore is installed),
    then the documented limits and enums the shape validator does not enforce."""
    out: list[str] = []
    shape = _import_shape()
    if shape is not None:
        from botocore.validate import ParamValidator

        for i in range(0, len(docs), 100):
            report = ParamValidator().validate({"Findings": docs[i : i + 100]}, shape)
            if report.has_errors():
                out.append(report.generate_report())
    for i, d in enumerate(docs):
        where = f"Findings[{i}]"
        for key in ("Id", "Title", "Description", "GeneratorId"):
            if len(str(d.get(key, ""))) > LIMITS[key]:
                out.append(f"{where}.{key}: longer than {LIMITS[key]}")
        text = (((d.get("Remediation") or {}).get("Recommendation")) or {}).get("Text", "")
        if len(text) > LIMITS["RecommendationText"]:
            out.append(f"{where}.Remediation.Recommendation.Text: longer than 512")
        pf = d.get("ProductFields") or {}
        if len(pf) > _PF_COUNT:
            out.append(f"{where}.ProductFields: more than {_PF_COUNT} fields")
        for k, v in pf.items():
            if len(k) > _PF_KEY or len(v) > _PF_VALUE or k.startswith("aws/"):
                out.append(f"{where}.ProductFields[{k[:40]}]: key over 128, value over 2048 or aws/ key")
        sev = d.get("Severity") or {}
        if sev.get("Label") not in NORMALIZED or not 0 <= int(sev.get("Normalized", -1)) <= 100:
            out.append(f"{where}.Severity: label {sev.get('Label')!r} / normalized {sev.get('Normalized')!r}")
        if not _ACCOUNT.match(str(d.get("AwsAccountId", ""))):
            out.append(f"{where}.AwsAccountId: not 12 digits")
        if not 1 <= len(d.get("Resources") or []) <= 32:
            out.append(f"{where}.Resources: 1 to 32 resources")
        if not 1 <= len(d.get("Types") or []) <= 50:
            out.append(f"{where}.Types: 1 to 50 types")
        for t in d.get("Types") or []:
            if t.split("/", 1)[0] not in _NAMESPACES:
                out.append(f"{where}.Types: {t!r} is in no ASFF namespace")
        wf = (d.get("Workflow") or {}).get("Status")
        if wf not in (None, "NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"):
            out.append(f"{where}.Workflow.Status: {wf!r}")
        if d.get("RecordState") not in (None, "ACTIVE", "ARCHIVED"):
            out.append(f"{where}.RecordState: {d.get('RecordState')!r}")
        for v in d.get("Vulnerabilities") or []:
            for key in ("FixAvailable", "ExploitAvailable"):
                if key in v and v[key] not in ("YES", "NO", "PARTIAL"):
                    out.append(f"{where}.Vulnerabilities.{key}: {v[key]!r}")
        for ts in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
            if ts in d and not _ISO.match(d[ts]):
                out.append(f"{where}.{ts}: not an ISO 8601 time")
        out.extend(_strings(d, where))
    return out


_NAMESPACES = frozenset(
    {
        "Software and Configuration Checks",
        "TTPs",
        "Effects",
        "Unusual Behaviors",
        "Sensitive Data Identifications",
    }
)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$")


__all__ = [
    "AwsContext",
    "EcrImage",
    "config_finding",
    "context",
    "ecr_image",
    "findings",
    "problems",
    "render",
    "resource",
    "timestamp",
    "vulnerability_finding",
]
