"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``, installed by
scripts/install-deps) loads it with no console message, its script runs (the DOM dumped after
scripts ran holds the summary counts and the filter's result), and a screenshot shows the summary.
Console capture is proven by negative pages: one whose script throws, one whose script the
report's Content-Security-Policy blocks."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, replace
from html import unescape
from pathlib import Path

import pytest
from PIL import Image

import report_images
from conftest import require_tool
from hullscan.report import render
from hullscan.scan import ScanResult
from hullscan.severity import LEVELS
from report_images import enriched

TIMEOUT = 90
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\] (.*)$", re.MULTILINE)


@pytest.fixture(scope="session")
def report_scans(tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> dict[str, ScanResult]:
    return report_images.report_scans(tmp_path_factory, edge_fixtures)


@dataclass
class Page:
    dom: str
    console: list[str]


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = require_tool("chromium")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def load(tmp_path: Path, path: Path, fragment: str = "") -> Page:
    """The page's DOM after its scripts ran, and every console message (Chromium logs each one,
    uncaught exceptions and CSP violations included, as ``CONSOLE`` lines on stderr)."""
    p = chromium(tmp_path, path.as_uri() + fragment, "--dump-dom")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "<html" in p.stdout, p.stderr[-2000:]
    return Page(p.stdout, CONSOLE.findall(p.stderr))


def screenshot(tmp_path: Path, path: Path) -> Image.Image:
    png = tmp_path / "shot.png"
    p = chromium(
        tmp_path, path.as_uri(), f"--screenshot={png}", "--window-size=1280,900", "--hide-scrollbars"
    )
    assert p.returncode == 0, p.stderr[-2000:]
    return Image.open(png).convert("RGB")


def text_of(dom: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
    assert m, f"#{element_id} not in the DOM"
    return unescape(m.group(1))


def test_html_report_loads_cleanly(report_scans: dict[str, ScanResult], tmp_path: Path) -> None:
    result = enriched(report_scans["app"])
    path = tmp_path / "report.html"
    path.write_text(render(result, "html"))
    page = load(tmp_path, path)
    assert page.console == []
    assert 'data-ready="1"' in page.dom  # the script ran to its end
    for level in LEVELS:
        want = sum(1 for f in result.findings if f.severity.level == level)
        assert text_of(page.dom, f"count-{level}") == str(want)
    assert text_of(page.dom, "count-total") == str(len(result.findings))
    assert text_of(page.dom, "count-suppressed") == "2"
    n = len(result.findings)
    assert text_of(page.dom, "shown") == f"{n} of {n} shown"  # written by the script
    assert page.dom.count('class="hidden"') == 0


def test_html_filter_runs(report_scans: dict[str, ScanResult], tmp_path: Path) -> None:
    """The search box (filled from the URL's #q=) hides every row that does not match."""
    result = report_scans["app"]
    path = tmp_path / "report.html"
    path.write_text(render(result, "html"))
    page = load(tmp_path, path, "#q=requests")
    assert page.console == []
    want = sum(1 for f in result.findings if "requests" in f.package.name)
    assert want == 3
    assert text_of(page.dom, "shown") == f"{want} of {len(result.findings)} shown"
    assert page.dom.count('class="hidden"') == len(result.findings) - want


def test_html_screenshot_shows_summary(report_scans: dict[str, ScanResult], tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(render(report_scans["app"], "html"))
    img = screenshot(tmp_path, path)
    assert img.size == (1280, 900)
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 50  # text, cards, charts: not a blank page
    # The summary cards and the chart are drawn in the severity colours, in the top half.
    top = img.crop((0, 0, 1280, 600))
    pixels = {c for _, c in top.getcolors(maxcolors=1 << 20) or []}
    for hexcolour in ("#e8710a", "#f9ab00", "#80868b"):  # high, medium, unknown: present in this scan
        rgb = tuple(int(hexcolour[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in pixels, f"{hexcolour} not drawn"


def test_hostile_names_stay_text(report_scans: dict[str, ScanResult], tmp_path: Path) -> None:
    from test_report import HOSTILE_SUMMARY, hostile

    result = hostile(report_scans["app"])
    path = tmp_path / "report.html"
    path.write_text(render(result, "html"))
    page = load(tmp_path, path)
    assert page.console == []  # no injected script ran, no injected image was requested
    assert "<img" not in page.dom
    assert page.dom.count("<script>") == 1
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.dom
    assert HOSTILE_SUMMARY.startswith("<img src=x onerror=alert(1)>")


def test_console_capture_sees_a_thrown_error(tmp_path: Path) -> None:
    path = tmp_path / "throws.html"
    path.write_text(
        "<!DOCTYPE html><html><body><p>x</p>"
        "<script>document.documentElement.setAttribute('data-a','1');"
        "throw new Error('report-script-failed');</script></body></html>"
    )
    page = load(tmp_path, path)
    assert any("Uncaught Error: report-script-failed" in m for m in page.console), page.console
    assert 'data-a="1"' in page.dom


def test_csp_blocks_a_tampered_script(report_scans: dict[str, ScanResult], tmp_path: Path) -> None:
    """A script not hashed in the report's policy does not run, and the violation is seen."""
    html = render(report_scans["app"], "html")
    path = tmp_path / "tampered.html"
    path.write_text(html.replace("(function(){", "(function(){ /* changed */", 1))
    page = load(tmp_path, path)
    assert any("Content Security Policy" in m for m in page.console), page.console
    assert 'data-ready="1"' not in page.dom
    assert page.dom.count('class="hidden"') == 0


def test_empty_report(report_scans: dict[str, ScanResult], tmp_path: Path) -> None:
    result = replace(report_scans["alpine310"], warnings=("a warning <b>",))
    path = tmp_path / "empty.html"
    path.write_text(render(result, "html"))
    page = load(tmp_path, path)
    assert page.console == []
    assert text_of(page.dom, "count-total") == "0"
    assert text_of(page.dom, "shown") == "0 of 0 shown"
    assert "a warning &lt;b&gt;" in page.dom
