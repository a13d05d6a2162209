"""VEX documents in (OpenVEX, CycloneDX VEX) and out (OpenVEX 0.2.0 from ignore rules).

**In.** A statement applies to a finding when its vulnerability (name or an alias; CycloneDX: the
``id`` or a ``references[].id``) is the finding's id or an alias, and a product matches:

- a product (or CycloneDX ``affects`` ref) with ``subcomponents`` applies to the findings whose
  package purl matches a subcomponent purl, if the product is the scanned image or a package;
- a product that is an image purl (``pkg:oci/...``, ``pkg:docker/...``) without subcomponents
  applies to every package of that image;
- any other product purl applies to the findings of that package.

Purls compare with package-URL semantics (:func:`hullscan.policy.subject.purl_matches`). An image
purl with a version (a manifest digest) names only that image: it does not apply to a scan of an
image with another digest. Of the statements that apply to a finding, the last one (in ``--vex``
order, then document order) decides: ``not_affected`` and ``fixed`` (CycloneDX
``not_affected`` and ``false_positive`` → not_affected, ``resolved`` → fixed) suppress it, and
``affected`` / ``under_investigation`` (CycloneDX ``exploitable``, ``in_triage``) leave it
reported.

**Out.** :func:`openvex_document` turns the findings that ignore rules suppressed into one
``not_affected`` statement per (rule, vulnerability): the image as product and the packages as its
subcomponents, the rule's reason as ``impact_statement`` and its ``justification`` if it has one.
The document's ``@id`` is a hash of its statements, so the same rules on the same scan give the
same document; the timestamp is the caller's.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from hullscan.errors import PolicyError
from hullscan.policy.ignore import IgnoreRule
from hullscan.policy.subject import Subject, is_image_purl, parse_purl, purl_matches

MAX_BYTES = 64 << 20
OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0"
SUPPRESSING = ("not_affected", "fixed")
_CDX_STATUS = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
}
_OPENVEX_STATUS = ("not_affected", "affected", "fixed", "under_investigation")


@dataclass(frozen=True, slots=True)
class Product:
    purl: PackageURL
    subcomponents: tuple[PackageURL, ...] = ()


@dataclass(frozen=True, slots=True)
class Statement:
    vulnerabilities: frozenset[str]
    products: tuple[Product, ...]
    #: OpenVEX status: ``not_affected``, ``fixed``, ``affected`` or ``under_investigation``.
    status: str
    justification: str | None
    statement: str | None
    #: ``FILE#N``: the document and the statement's index in it.
    source: str


@dataclass(frozen=True, slots=True)
class Image:
    """The scanned image, for product matching: its purls' name and manifest digest."""

    digest: str | None = None


def _purl_of(entry: Any) -> PackageURL | None:
    if not isinstance(entry, dict):
        return None
    ident = entry.get("identifiers")
    cands = [ident.get("purl")] if isinstance(ident, dict) else []
    cands.append(entry.get("@id"))
    for c in cands:
        if isinstance(c, str) and c.startswith("pkg:"):
            p = parse_purl(c)
            if p is not None:
                return p
    return None


def _list(v: Any) -> list[Any]:
    """``v`` if it is a JSON array, else nothing (a malformed field names nothing)."""
    return v if isinstance(v, list) else []


def _opt_str(v: Any) -> str | None:
    return str(v) if isinstance(v, (str, int, float)) and str(v).strip() else None


def _openvex(doc: dict[str, Any], origin: str) -> list[Statement]:
    stmts = doc.get("statements")
    if not isinstance(stmts, list):
        raise PolicyError(f"{origin}: OpenVEX document without a statements list")
    out = []
    for n, st in enumerate(stmts):
        where = f"{origin}: statements[{n}]"
        if not isinstance(st, dict):
            raise PolicyError(f"{where} is not an object")
        vuln = st.get("vulnerability")
        names: set[str] = set()
        if isinstance(vuln, str):  # OpenVEX 0.0.x
            names.add(vuln)
        elif isinstance(vuln, dict):
            if isinstance(vuln.get("name"), str):
                names.add(vuln["name"])
            names |= {a for a in _list(vuln.get("aliases")) if isinstance(a, str)}
        if not names:
            raise PolicyError(f"{where}: no vulnerability name")
        status = st.get("status")
        if status not in _OPENVEX_STATUS:
            raise PolicyError(f"{where}: status {str(status)[:40]!r} is not an OpenVEX status")
        products = []
        for pr in _list(st.get("products")):
            if not isinstance(pr, dict):
                continue
            purl = _purl_of(pr)
            subs = tuple(p for p in (_purl_of(s) for s in _list(pr.get("subcomponents"))) if p)
            if purl is not None:
                products.append(Product(purl, subs))
            elif subs:  # a product named by something other than a purl: its subcomponents still count
                products.extend(Product(s) for s in subs)
        out.append(
            Statement(
                frozenset(x.upper() for x in names),
                tuple(products),
                status,
                _opt_str(st.get("justification")),
                _opt_str(st.get("impact_statement")) or _opt_str(st.get("action_statement")),
                f"{origin}#{n}",
            )
        )
    return out


def _cdx_refs(doc: dict[str, Any]) -> dict[str, PackageURL]:
    refs: dict[str, PackageURL] = {}
    stack: list[Any] = list(_list(doc.get("components")))
    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
        stack.append(meta["component"])
    seen = 0
    while stack and seen < 1_000_000:
        c = stack.pop()
        seen += 1
        if not isinstance(c, dict):
            continue
        purl = parse_purl(c["purl"]) if isinstance(c.get("purl"), str) else None
        if purl is not None and isinstance(c.get("bom-ref"), str):
            refs[c["bom-ref"]] = purl
        stack.extend(_list(c.get("components")))
    return refs


def _cyclonedx(doc: dict[str, Any], origin: str) -> list[Statement]:
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise PolicyError(f"{origin}: CycloneDX document without vulnerabilities (not a VEX)")
    refs = _cdx_refs(doc)
    out = []
    for n, v in enumerate(vulns):
        where = f"{origin}: vulnerabilities[{n}]"
        if not isinstance(v, dict) or not isinstance(v.get("id"), str):
            raise PolicyError(f"{where}: no vulnerability id")
        names = {v["id"]} | {
            r["id"]
            for r in _list(v.get("references"))
            if isinstance(r, dict) and isinstance(r.get("id"), str)
        }
        analysis: dict[str, Any] = v["analysis"] if isinstance(v.get("analysis"), dict) else {}
        state = analysis.get("state")
        if state is None:
            continue  # no analysis: a vulnerability listing, not a VEX statement
        status = _CDX_STATUS.get(str(state))
        if status is None:
            raise PolicyError(f"{where}: analysis.state {str(state)[:40]!r} is not a CycloneDX state")
        products = []
        for a in _list(v.get("affects")):
            ref = a.get("ref") if isinstance(a, dict) else None
            if not isinstance(ref, str):
                continue
            local = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
            purl = refs.get(local) or (parse_purl(local) if local.startswith("pkg:") else None)
            if purl is not None:
                products.append(Product(purl))
        justification = _opt_str(analysis.get("justification"))
        if state == "false_positive":
            justification = justification or "false_positive"
        out.append(
            Statement(
                frozenset(x.upper() for x in names),
                tuple(products),
                status,
                justification,
                _opt_str(analysis.get("detail")),
                f"{origin}#{n}",
            )
        )
    return out


def parse_document(data: bytes, origin: str) -> list[Statement]:
    """The statements of an OpenVEX or CycloneDX VEX document (JSON)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise PolicyError(f"{origin}: not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"{origin}: a VEX document is a JSON object")
    ctx = doc.get("@context")
    if isinstance(ctx, str) and ctx.startswith("https://openvex.dev/ns"):
        return _openvex(doc, origin)
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc, origin)
    raise PolicyError(f"{origin}: neither an OpenVEX nor a CycloneDX VEX document")


def load(path: str | os.PathLike[str]) -> list[Statement]:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise PolicyError(f"{p}: {size} bytes; a VEX document may have at most {MAX_BYTES}")
        data = p.read_bytes()
    except OSError as e:
        raise PolicyError(f"cannot read VEX document {p}: {e.strerror or e}") from e
    return parse_document(data, str(path))


def _applies(st: Statement, pkg: PackageURL | None, image: Image) -> bool:
    for pr in st.products:
        if is_image_purl(pr.purl):
            if pr.purl.version and image.digest and pr.purl.version.lower() != image.digest.lower():
                continue  # another image
            if not pr.subcomponents:
                return True
        elif not pr.subcomponents:
            if pkg is not None and purl_matches(pr.purl, pkg):
                return True
            continue
        if pkg is not None and any(purl_matches(sub, pkg) for sub in pr.subcomponents):
            return True
    return False


def decide(
    subjects: Sequence[Subject], statements: Sequence[Statement], image: Image
) -> dict[int, Statement]:
    """For each subject (by index), the last applicable statement, if it suppresses."""
    by_vuln: dict[str, list[int]] = {}
    for n, st in enumerate(statements):
        for v in st.vulnerabilities:
            by_vuln.setdefault(v, []).append(n)
    out: dict[int, Statement] = {}
    for i, s in enumerate(subjects):
        cands = sorted({n for v in s.ids for n in by_vuln.get(v.upper(), ())}, reverse=True)
        if not cands:
            continue
        pkg = parse_purl(s.purl)
        last = next((statements[n] for n in cands if _applies(statements[n], pkg, image)), None)
        if last is not None and last.status in SUPPRESSING:
            out[i] = last
    return out


# --- out -------------------------------------------------------------------------------------------


def image_purl(
    name: str | None, digest: str | None, repository: str | None = None, tag: str | None = None
) -> str:
    """``pkg:oci/NAME@DIGEST?repository_url=...&tag=...`` for the scanned image."""
    quals = {k: v for k, v in (("repository_url", repository), ("tag", tag)) if v}
    return PackageURL(
        type="oci", name=(name or "image").lower(), version=digest, qualifiers=quals
    ).to_string()


def openvex_document(
    groups: Iterable[tuple[IgnoreRule, Sequence[Subject]]],
    *,
    product: str,
    timestamp: str,
    author: str = "hullscan",
) -> dict[str, Any]:
    """An OpenVEX 0.2.0 document: one ``not_affected`` statement per (rule, vulnerability id) of
    the findings each rule suppressed, with ``product`` (the image purl) as the product and the
    packages as subcomponents."""
    statements = []
    for rule, subjects in groups:
        by_vuln: dict[str, list[Subject]] = {}
        for s in subjects:
            by_vuln.setdefault(s.id, []).append(s)
        for vid, ss in sorted(by_vuln.items()):
            aliases = sorted({a for s in ss for a in s.aliases} - {vid})
            vuln: dict[str, Any] = {"name": vid}
            if aliases:
                vuln["aliases"] = aliases
            st: dict[str, Any] = {
                "vulnerability": vuln,
                "products": [
                    {
                        "@id": product,
                        "subcomponents": [{"@id": p} for p in sorted({s.purl for s in ss if s.purl})],
                    }
                ],
                "status": "not_affected",
            }
            if not st["products"][0]["subcomponents"]:
                del st["products"][0]["subcomponents"]
            if rule.justification:
                st["justification"] = rule.justification
            st["impact_statement"] = rule.reason
            note = "hullscan ignore rule"
            if rule.expires is not None:
                note += f", expires {rule.expires.isoformat()}"
            st["status_notes"] = note
            statements.append(st)
    statements.sort(key=lambda st: (st["vulnerability"]["name"], json.dumps(st, sort_keys=True)))
    if not statements:
        raise PolicyError("no ignore rule suppressed a finding: nothing to state in a VEX document")
    digest = hashlib.sha256(
        json.dumps({"product": product, "statements": statements}, sort_keys=True).encode()
    ).hexdigest()
    return {
        "@context": OPENVEX_CONTEXT,
        "@id": f"https://openvex.dev/docs/public/vex-{digest}",
        "author": author,
        "timestamp": timestamp,
        "version": 1,
        "tooling": "hullscan",
        "statements": statements,
    }


__all__ = [
    "Image",
    "Product",
    "Statement",
    "decide",
    "image_purl",
    "load",
    "openvex_document",
    "parse_document",
]
