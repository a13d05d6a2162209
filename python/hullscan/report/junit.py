"""``junit``: one test case per package; a failure per finding at or above the threshold (every
finding without one). Findings below it are listed in the test case's ``system-out``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hullscan.report._common import at_or_above, fixed_text, image_name, xml_text
from hullscan.scan import Finding, ScanResult


def render(result: ScanResult, *, fail_on: str | None = None) -> str:
    image = image_name(result)
    by_pkg: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_pkg.setdefault(f.package.purl, []).append(f)
    suites = ET.Element("testsuites", name="hullscan")
    suite = ET.SubElement(suites, "testsuite", name=xml_text(image))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="hullscan.image", value=xml_text(image))
    ET.SubElement(props, "property", name="hullscan.fail_on", value=fail_on or "any")
    failures = 0
    for p in result.inventory.packages:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_text(p.ecosystem or p.kind),
            name=xml_text(f"{p.name}@{p.version}"),
            file=xml_text(p.locations[0].lstrip("/")) if p.locations else "",
        )
        below = []
        for f in by_pkg.pop(p.purl, []):
            if at_or_above(f, fail_on):
                failures += 1
                fail = ET.SubElement(
                    case,
                    "failure",
                    type=xml_text(f.id),
                    message=xml_text(f"{f.id} ({f.severity.level}): {f.summary or 'no summary'}"),
                )
                fail.text = xml_text(
                    f"{f.id} in {p.name} {f.installed_version}, severity {f.severity.level}, "
                    f"fixed in: {fixed_text(f)}\n{f.explanation.text()}"
                )
            else:
                below.append(f"{f.id} ({f.severity.level}, below the threshold): fixed in {fixed_text(f)}")
        if below:
            ET.SubElement(case, "system-out").text = xml_text("\n".join(below))
    suite.set("tests", str(len(result.inventory.packages)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suites.set("tests", str(len(result.inventory.packages)))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
