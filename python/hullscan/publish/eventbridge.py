"""EventBridge: findings and rescan deltas as events through ``PutEvents``, 10 entries a call.

Events have ``Source`` ``hullscan`` (``aws.*`` sources are AWS's own) and the detail-types
``Hullscan Finding`` (one per finding, its detail shaped like Amazon Inspector's
``Inspector2 Finding`` events) and ``Hullscan Rescan Delta`` (one per image whose findings changed
in a rescan: the counts and ids of its new, resolved and changed findings). In a rescan, new and
changed findings are ``ACTIVE`` finding events and resolved ones ``CLOSED``.

The finding detail is made from the finding's ASFF form (:mod:`hullscan.report.asff`), so it
carries exactly what the ASFF report does (image check details redacted); its ``findingArn`` is
the ASFF ``Id``, so events and Security Hub findings join. An entry may be at most 256 KB (the
API's limit): descriptions are cut to fit, and an entry that still does not fit is reported as
failed (``EntryTooLarge``), never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from hullscan.publish import Failure, PublishResult, Retry, aws_context, client, send_batches, session
from hullscan.report import asff
from hullscan.report.asff import AwsContext
from hullscan.scan import ScanResult

if TYPE_CHECKING:
    from hullscan.store.matching import Delta, StoredFinding

SOURCE = "hullscan"
FINDING = "Hullscan Finding"
DELTA = "Hullscan Rescan Delta"
#: PutEvents takes at most 10 entries a call, each (and the whole request) at most 256 KB.
BATCH = 10
MAX_ENTRY = 256 * 1024
_PM = {v: v for v in asff.PACKAGE_MANAGERS.values()}


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it (UTF-8 bytes of its fields)."""
    size = 14 if entry.get("Time") else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key, "")).encode())
    size += sum(len(r.encode()) for r in entry.get("Resources") or [])
    return size


def _resource(res: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "AWS_ECR_CONTAINER_IMAGE" if res["Type"] == "AwsEcrContainerImage" else "CONTAINER_IMAGE",
        "id": res["Id"],
        "partition": res.get("Partition", "aws"),
        "region": res.get("Region", ""),
    }
    ecr = (res.get("Details") or {}).get("AwsEcrContainerImage")
    if ecr is not None:
        out["details"] = {
            "awsEcrContainerImage": {
                "registry": ecr["RegistryId"],
                "repositoryName": ecr["RepositoryName"],
                "imageHash": ecr["ImageDigest"],
                "imageTags": ecr.get("ImageTags", []),
                "architecture": ecr.get("Architecture", ""),
            }
        }
    else:
        c = (res.get("Details") or {}).get("Container") or {}
        out["details"] = {
            "containerImage": {"imageName": c.get("ImageName", ""), "imageId": c.get("ImageId", "")}
        }
    return out


def detail_of(doc: dict[str, Any], status: str = "ACTIVE") -> dict[str, Any]:
    """An ASFF finding as an Inspector2-style finding event detail."""
    sev = doc["Severity"]
    detail: dict[str, Any] = {
        "awsAccountId": doc["AwsAccountId"],
        "findingArn": doc["Id"],
        "title": doc["Title"],
        "description": doc["Description"],
        "firstObservedAt": doc.get("FirstObservedAt", doc["CreatedAt"]),
        "lastObservedAt": doc.get("LastObservedAt", doc["UpdatedAt"]),
        "updatedAt": doc["UpdatedAt"],
        "severity": sev["Original"],
        "status": status,
        "remediation": {"recommendation": {"text": doc["Remediation"]["Recommendation"]["Text"]}},
        "resources": [_resource(r) for r in doc["Resources"]],
    }
    vulns = doc.get("Vulnerabilities") or []
    if vulns:
        v = vulns[0]
        cvss = v.get("Cvss") or []
        detail["type"] = "PACKAGE_VULNERABILITY"
        detail["inspectorScore"] = cvss[0]["BaseScore"] if cvss else None
        detail["packageVulnerabilityDetails"] = {
            "vulnerabilityId": v["Id"],
            "source": v.get("Vendor", {}).get("Name", ""),
            "vendorSeverity": v.get("Vendor", {}).get("VendorSeverity", ""),
            "relatedVulnerabilities": v.get("RelatedVulnerabilities", []),
            "referenceUrls": v.get("ReferenceUrls", []),
            "cvss": [
                {
                    "baseScore": c["BaseScore"],
                    "scoringVector": c["BaseVector"],
                    "source": c.get("Source", ""),
                    "version": c["Version"],
                }
                for c in cvss
            ],
            "vulnerablePackages": [
                {
                    "name": p["Name"],
                    "version": p.get("Version", ""),
                    "release": p.get("Release", ""),
                    "epoch": int(p["Epoch"]) if p.get("Epoch", "").isdigit() else 0,
                    "arch": p.get("Architecture", ""),
                    "packageManager": _PM.get(p.get("PackageManager", ""), p.get("PackageManager", "")),
                    "filePath": p.get("FilePath", ""),
                    "fixedInVersion": p.get("FixedInVersion", "NotAvailable"),
                    "remediation": p.get("Remediation", ""),
                    "sourceLayerHash": p.get("SourceLayerHash", ""),
                }
                for p in v.get("VulnerablePackages", [])
            ],
        }
        detail["fixAvailable"] = v.get("FixAvailable", "NO")
        detail["exploitAvailable"] = v.get("ExploitAvailable", "NO")
        if "EpssScore" in v:
            detail["epss"] = {"score": v["EpssScore"]}
    else:
        pf = doc.get("ProductFields") or {}
        detail["type"] = "IMAGE_CONFIGURATION"
        detail["imageCheckDetails"] = {
            "checkId": pf.get("hullscan/check", ""),
            "rule": pf.get("hullscan/check/rule", ""),
            "location": pf.get("hullscan/check/location", ""),
        }
    if (doc.get("Workflow") or {}).get("Status") == "SUPPRESSED":
        detail["status"] = "SUPPRESSED"
        detail["suppression"] = (doc.get("Note") or {}).get("Text", "")
    return detail


def _entry(detail: dict[str, Any], detail_type: str, resources: list[str], bus: str) -> dict[str, Any]:
    entry = {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
        "Resources": [r for r in resources if r.startswith("arn:")],
        "EventBusName": bus,
    }
    while (
        entry_size(entry) > MAX_ENTRY and isinstance(detail.get("description"), str) and detail["description"]
    ):
        # Cut the description's UTF-8 by what is over (plus the ellipsis), until the entry fits.
        raw = detail["description"].removesuffix("\u2026").encode()
        keep = max(len(raw) - (entry_size(entry) - MAX_ENTRY) - 16, 0)
        detail["description"] = raw[:keep].decode(errors="ignore") + "\u2026" if keep else ""
        entry["Detail"] = json.dumps(detail, ensure_ascii=False, separators=(",", ":"))
    return entry


def events(
    result: ScanResult, *, ctx: AwsContext | None = None, when: str | None = None, bus: str = "default"
) -> list[tuple[str, dict[str, Any]]]:
    """(finding id, PutEvents entry) for every finding of ``result``."""
    out = []
    for doc in asff.findings(result, ctx=ctx, when=when):
        detail = detail_of(doc)
        out.append((doc["Id"], _entry(detail, FINDING, [r["Id"] for r in doc["Resources"]], bus)))
    return out


def _stored_doc(
    d: Delta, f: StoredFinding, ctx: AwsContext, when: str, res: dict[str, Any]
) -> dict[str, Any]:
    """An ASFF-like finding for a stored finding (the store keeps less than a scan has)."""
    from hullscan.model import Package
    from hullscan.scan import Explanation, Finding, PackageRef
    from hullscan.severity import Severity

    finding = Finding(
        id=f.id,
        aliases=f.aliases,
        package=PackageRef(f.package, f.version, f.ecosystem, f.purl),
        installed_version=f.version,
        fixed_versions=f.fixed_versions,
        status=f.status,
        severity=Severity(f.severity, f.score),
        summary=None,
        explanation=Explanation(f.id, "", "", f.package, f.version),
        advisories=(f.id,),
    )
    kind = "apk" if f.purl.startswith("pkg:apk/") else "deb" if f.purl.startswith("pkg:deb/") else ""
    kind = kind or ("rpm" if f.purl.startswith("pkg:rpm/") else "")
    pkg = Package(f.package, f.version, f.ecosystem, f.purl, kind)
    result = _delta_result(d)
    return asff.vulnerability_finding(result, finding, ctx, when, res, {(f.purl, f.version): pkg})


def _delta_result(d: Delta) -> ScanResult:
    from hullscan.model import Inventory
    from hullscan.scan import ScanResult

    repo = d.repository
    tags = tuple(f"{repo}:{t}" for t in d.tags)
    inv = Inventory(
        f"registry:{repo}@{d.digest}", "registry", None, (), (), manifest_digest=d.digest, repo_tags=tags
    )
    return ScanResult(inv, ())


def delta_events(
    deltas: Iterable[Delta], *, ctx: AwsContext, when: str | None = None, bus: str = "default"
) -> list[tuple[str, dict[str, Any]]]:
    """For each image whose findings changed: a ``Hullscan Finding`` event per new (ACTIVE),
    changed (ACTIVE, the new values) and resolved (CLOSED) finding, then one
    ``Hullscan Rescan Delta`` event."""
    stamp = asff.timestamp(when)
    out: list[tuple[str, dict[str, Any]]] = []
    for d in deltas:
        if d.empty:
            continue
        res = asff.resource(_delta_result(d), ctx)
        ids: dict[str, list[str]] = {"new": [], "resolved": [], "changed": []}
        for kind, status, items in (
            ("new", "ACTIVE", d.new),
            ("changed", "ACTIVE", tuple(c.after for c in d.changed)),
            ("resolved", "CLOSED", d.resolved),
        ):
            for f in items:
                doc = _stored_doc(d, f, ctx, stamp, res)
                detail = detail_of(doc, status)
                detail["rescan"] = {"change": kind, "dbGeneration": d.db_generation}
                if kind == "changed":
                    before = next(c.before for c in d.changed if c.after is f)
                    detail["rescan"]["before"] = {
                        "severity": asff.ORIGINAL.get(before.severity, "UNTRIAGED"),
                        "fixedInVersion": ", ".join(before.fixed_versions) or "NotAvailable",
                    }
                ids[kind].append(doc["Id"])
                out.append((doc["Id"], _entry(detail, FINDING, [res["Id"]], bus)))
        summary: dict[str, Any] = {
            "awsAccountId": ctx.account,
            "resources": [_resource(res)],
            "imageDigest": d.digest,
            "repository": d.repository,
            "imageTags": list(d.tags),
            "dbGenerationBefore": d.db_generation_before,
            "dbGeneration": d.db_generation,
            "totalFindings": d.total,
            "counts": {k: len(v) for k, v in ids.items()},
            "findingArns": ids,
            "updatedAt": stamp,
        }
        entry = _entry(summary, DELTA, [res["Id"]], bus)
        if entry_size(entry) > MAX_ENTRY:  # a huge delta: the counts, without the id lists
            summary["findingArns"] = {"truncated": True}
            entry = _entry(summary, DELTA, [res["Id"]], bus)
        out.append((f"delta/{d.digest}", entry))
    return out


def put_events(
    items: Sequence[tuple[str, dict[str, Any]]],
    *,
    region: str,
    sess: Any = None,
    profile: str | None = None,
    retry: Retry | None = None,
) -> PublishResult:
    """PutEvents, ``BATCH`` entries (and at most 256 KB) a call."""
    retry = retry or Retry()
    sess = sess if sess is not None else session(profile, region)
    eb = client(sess, "events", region)
    result = PublishResult("eventbridge")
    good = []
    for ident, entry in items:
        if entry_size(entry) > MAX_ENTRY:
            result.failed.append(Failure(ident, "EntryTooLarge", f"{entry_size(entry)} bytes"))
        else:
            good.append((ident, entry))

    def batches(items: Sequence[tuple[str, Any]]) -> list[list[tuple[str, Any]]]:
        out: list[list[tuple[str, Any]]] = [[]]
        size = 0
        for item in items:
            n = entry_size(item[1])
            if out[-1] and (len(out[-1]) == BATCH or size + n > MAX_ENTRY):
                out.append([])
                size = 0
            out[-1].append(item)
            size += n
        return [b for b in out if b]

    def send(batch: list[Any]) -> list[tuple[str, str] | None]:
        resp = eb.put_events(Entries=batch)
        answers: list[tuple[str, str] | None] = []
        for e in resp.get("Entries") or []:
            code = e.get("ErrorCode")
            answers.append((str(code), str(e.get("ErrorMessage") or "")) if code else None)
        if len(answers) != len(batch):
            answers = [("InternalFailure", "PutEvents answered for a different number of entries")] * len(
                batch
            )
        return answers

    return send_batches(good, batches, send, retry, result, "eventbridge PutEvents")


def publish_eventbridge(
    result: ScanResult,
    *,
    account: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    bus: str = "default",
    when: str | None = None,
    retry: Retry | None = None,
) -> PublishResult:
    """A ``Hullscan Finding`` event for every finding of ``result``."""
    sess = session(profile, region)
    ctx = aws_context(account=account, region=region, sess=sess)
    return put_events(events(result, ctx=ctx, when=when, bus=bus), region=ctx.region, sess=sess, retry=retry)


def publish_deltas(
    deltas: Iterable[Delta],
    *,
    account: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    bus: str = "default",
    when: str | None = None,
    retry: Retry | None = None,
) -> PublishResult:
    """The events of :func:`delta_events` for a rescan's deltas."""
    sess = session(profile, region)
    ctx = aws_context(account=account, region=region, sess=sess)
    items = delta_events(deltas, ctx=ctx, when=when, bus=bus)
    return put_events(items, region=ctx.region, sess=sess, retry=retry)


__all__ = [
    "BATCH",
    "DELTA",
    "FINDING",
    "SOURCE",
    "delta_events",
    "detail_of",
    "entry_size",
    "events",
    "publish_deltas",
    "publish_eventbridge",
    "put_events",
]
