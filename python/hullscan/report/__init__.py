"""``hullscan.report``: a :class:`~hullscan.scan.ScanResult` rendered as the formats people and
pipelines read.

    text = render(result, "sarif")
    text = render(result, "junit", options=RenderOptions(fail_on="high"))

Formats (:data:`FORMATS`): ``table`` (terminal), ``json`` (the versioned ScanResult schema,
``hullscan/schemas/scan-result.schema.json``), ``sarif`` (SARIF 2.1.0 for code scanning),
``junit`` (one test case per package), ``markdown`` (a pull-request comment), ``html`` (a
self-contained page), ``cyclonedx-json`` (a CycloneDX vulnerability disclosure report) and ``asff``
(the AWS Security Finding Format, as Security Hub's BatchImportFindings takes it:
:mod:`hullscan.report.asff`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hullscan.errors import ReportError
from hullscan.scan import ScanResult
from hullscan.severity import LEVELS


@dataclass(frozen=True, slots=True)
class RenderOptions:
    #: ``junit``: findings at or above this severity are failures (None: every finding).
    fail_on: str | None = None
    #: ``table``: ANSI colours (the CLI turns them on for a terminal without ``NO_COLOR``).
    colour: bool = False
    #: ``asff``: the AWS account and region (defaults: :func:`hullscan.report.asff.context`).
    aws_account: str | None = None
    aws_region: str | None = None
    #: ``asff``: CreatedAt / UpdatedAt (ISO 8601); None: ``SOURCE_DATE_EPOCH``, else now.
    timestamp: str | None = None


def _table(result: ScanResult, options: RenderOptions) -> str:
    from hullscan.report import table

    return table.render(result, colour=options.colour)


def _json(result: ScanResult, options: RenderOptions) -> str:
    from hullscan.report._json import dumps, scan_dict

    # ``result.to_dict()``, one package / layer / finding per line.
    return dumps(scan_dict(result), 2)


def _sarif(result: ScanResult, options: RenderOptions) -> str:
    from hullscan.report import sarif

    return sarif.render(result)


def _junit(result: ScanResult, options: RenderOptions) -> str:
    from hullscan.report import junit

    return junit.render(result, fail_on=options.fail_on)


def _markdown(result: ScanResult, options: RenderOptions) -> str:
    from hullscan.report import markdown

    return markdown.render(result)


def _html(result: ScanResult, options: RenderOptions) -> str:
    from hullscan.report import html

    return html.render(result)


def _cyclonedx(result: ScanResult, options: RenderOptions) -> str:
    """A CycloneDX vulnerability disclosure report: the SBOM plus its vulnerabilities."""
    from hullscan.sbom.vdr import to_vdr

    return to_vdr(result)


def _asff(result: ScanResult, options: RenderOptions) -> str:
    from hullscan.report import asff

    return asff.render(result, account=options.aws_account, region=options.aws_region, when=options.timestamp)


_RENDERERS: dict[str, Callable[[ScanResult, RenderOptions], str]] = {
    "table": _table,
    "json": _json,
    "sarif": _sarif,
    "junit": _junit,
    "markdown": _markdown,
    "html": _html,
    "cyclonedx-json": _cyclonedx,
    "asff": _asff,
}

#: Every format :func:`render` knows.
FORMATS: tuple[str, ...] = tuple(_RENDERERS)


def render(result: ScanResult, fmt: str, *, options: RenderOptions | None = None) -> str:
    """``result`` as ``fmt`` (one of :data:`FORMATS`), without a trailing newline guarantee."""
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ReportError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")
    options = options or RenderOptions()
    if options.fail_on is not None and options.fail_on not in LEVELS:
        raise ReportError(f"unknown severity {options.fail_on!r} (known: {', '.join(LEVELS)})")
    return renderer(result, options)


__all__ = ["FORMATS", "RenderOptions", "render"]
