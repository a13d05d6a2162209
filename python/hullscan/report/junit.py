"""``junit``: one test case per package; a failure per finding at or above the threshold (every
finding without one). Findings below it are listed in the test case's ``system-out``."""

from __future__ import annotations

from hullscan.report._common import at_or_above, fixed_text, image_name, xml_text
from hullscan.scan import Finding, ScanResult
from hullscan.severity import RANK

_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _attr(value: object) -> str:
    """An attribute value: XML-invalid characters escaped as text first, then the markup ones."""
    return xml_text(value).translate(_ENTITIES)


def _text(value: object) -> str:
    return xml_text(value).translate(_TEXT)


def render(result: ScanResult, *, fail_on: str | None = None) -> str:
    image = _attr(image_name(result))
    by_pkg: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_pkg.setdefault(f.package.purl, []).append(f)
    cases: list[str] = []
    failures = 0
    for p in result.inventory.packages:
        where = _attr(p.locations[0].lstrip("/")) if p.locations else ""
        name = _attr(f"{p.name}@{p.version}")
        head = f'    <testcase classname="{_attr(p.ecosystem or p.kind)}" name="{name}" file="{where}"'
        body: list[str] = []
        below = []
        for f in by_pkg.pop(p.purl, []):
            if at_or_above(f, fail_on):
                failures += 1
                message = _attr(f"{f.id} ({f.severity.level}): {f.summary or 'no summary'}")
                detail = _text(
                    f"{f.id} in {p.name} {f.installed_version}, severity {f.severity.level}, "
                    f"fixed in: {fixed_text(f)}\n{f.explanation.text()}"
                )
                body.append(f'      <failure type="{_attr(f.id)}" message="{message}">{detail}</failure>')
            else:
                below.append(f"{f.id} ({f.severity.level}, below the threshold): fixed in {fixed_text(f)}")
        if below:
            body.append(f"      <system-out>{_text(chr(10).join(below))}</system-out>")
        cases.append(f"{head}>\n" + "\n".join(body) + "\n    </testcase>" if body else f"{head} />")
    n = len(result.inventory.packages)
    check_cases, check_failures = _checks(result, fail_on)
    suites = []
    if check_cases:
        nc = len(check_cases)
        suites = [
            f'  <testsuite name="{image} image checks" tests="{nc}" failures="{check_failures}" '
            'errors="0" skipped="0">',
            *check_cases,
            "  </testsuite>",
        ]
    total, total_failures = n + len(check_cases), failures + check_failures
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuites name="hullscan" tests="{total}" failures="{total_failures}" errors="0">',
            f'  <testsuite name="{image}" tests="{n}" failures="{failures}" errors="0" skipped="0">',
            "    <properties>",
            f'      <property name="hullscan.image" value="{image}" />',
            f'      <property name="hullscan.fail_on" value="{_attr(fail_on or "any")}" />',
            "    </properties>",
            *cases,
            "  </testsuite>",
            *suites,
            "</testsuites>",
        ]
    )


def _checks(result: ScanResult, fail_on: str | None) -> tuple[list[str], int]:
    """One test case per image check finding (secrets masked), failed at or above the threshold."""
    cases = []
    failures = 0
    threshold = RANK[fail_on] if fail_on else 0
    for c in result.inventory.config_findings:
        name = _attr(f"{c.id} {c.rule}")
        head = f'    <testcase classname="image-check" name="{name}" file="{_attr(c.location)}"'
        if RANK.get(c.severity, 0) >= threshold:
            failures += 1
            message = _attr(f"{c.id} ({c.severity}): {c.title}")
            failure = f'<failure type="{_attr(c.id)}" message="{message}">{_text(c.detail)}</failure>'
            cases.append(f"{head}>\n      {failure}\n    </testcase>")
        else:
            cases.append(f"{head}>\n      <system-out>{_text(c.detail)}</system-out>\n    </testcase>")
    return cases, failures
