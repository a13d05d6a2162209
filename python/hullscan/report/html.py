"""``html``: one self-contained page: summary by severity and by layer with a chart, searchable
findings, the explanation of each match; suppressed findings with their reasons.

Every string from the image or the database is escaped with :func:`html.escape`; the page loads
nothing (a Content-Security-Policy allows only its own inline style and script, by hash)."""

from __future__ import annotations

import base64
import hashlib
from html import escape

from hullscan import __version__
from hullscan.report._common import (
    LayerInfo,
    counts,
    fixed_text,
    image_name,
    layer_infos,
    layer_of,
    snippet,
    suppression_text,
)
from hullscan.scan import Finding, ScanResult
from hullscan.severity import LEVELS

_COLOURS = {
    "critical": "#b3261e",
    "high": "#e8710a",
    "medium": "#f9ab00",
    "low": "#1a73e8",
    "unknown": "#80868b",
}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#202124;background:#f8f9fa}
header,section{max-width:1200px;margin:0 auto;padding:12px 24px}
header{border-bottom:1px solid #dadce0;background:#fff;max-width:none}
h1{font-size:20px;margin:4px 0}h2{font-size:17px;margin:18px 0 8px}
.image{font-family:ui-monospace,monospace;word-break:break-all}
.meta{color:#5f6368;margin:0}
.cards{display:flex;gap:10px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dadce0;border-left:6px solid;border-radius:6px;
padding:8px 14px;min-width:90px}
.card .n{display:block;font-size:24px;font-weight:600}
.sev-critical{border-color:#b3261e}.sev-high{border-color:#e8710a}.sev-medium{border-color:#f9ab00}
.sev-low{border-color:#1a73e8}.sev-unknown{border-color:#80868b}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e8eaed;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f4;position:sticky;top:0}
td.mono,.mono{font-family:ui-monospace,monospace;font-size:12px;overflow-wrap:break-word}
.badge{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-size:12px;font-weight:600}
.b-critical{background:#b3261e}.b-high{background:#e8710a}.b-medium{background:#f9ab00;color:#202124}
.b-low{background:#1a73e8}.b-unknown{background:#80868b}.b-kev{background:#202124}
.controls{display:flex;gap:10px;align-items:center;margin:8px 0}
.controls input{flex:1;padding:6px 8px;font-size:14px}
details summary{cursor:pointer;color:#1a73e8}
.hidden{display:none}
.nw{white-space:nowrap}
.charts{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
"""

JS = """
(function(){
  var q=document.getElementById('q'),sev=document.getElementById('sev'),
      shown=document.getElementById('shown'),
      rows=[].slice.call(document.querySelectorAll('#findings tbody tr'));
  var text=rows.map(function(r){return r.textContent.toLowerCase();});
  function apply(){
    var t=q.value.toLowerCase().trim(),s=sev.value,n=0;
    for(var i=0;i<rows.length;i++){
      var ok=(!s||rows[i].getAttribute('data-sev')===s)&&(!t||text[i].indexOf(t)>=0);
      rows[i].classList.toggle('hidden',!ok);if(ok)n++;
    }
    shown.textContent=n+' of '+rows.length+' shown';
  }
  if(location.hash.indexOf('#q=')===0)q.value=decodeURIComponent(location.hash.slice(3));
  q.addEventListener('input',apply);sev.addEventListener('change',apply);apply();
  document.documentElement.setAttribute('data-ready','1');
})();
"""


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


CSP = f"default-src 'none'; style-src '{_hash(CSS)}'; script-src '{_hash(JS)}'; img-src data:"


def _bar_chart(c: dict[str, int]) -> str:
    """A horizontal bar chart of the counts by severity, as inline SVG."""
    top = max(c.values()) or 1
    rows = []
    for i, level in enumerate(LEVELS):
        w = round(260 * c[level] / top)
        y = i * 26
        rows.append(
            f'<text x="0" y="{y + 16}" font-size="12">{level}</text>'
            f'<rect x="70" y="{y + 4}" width="{w}" height="16" fill="{_COLOURS[level]}"/>'
            f'<text x="{76 + w}" y="{y + 16}" font-size="12">{c[level]}</text>'
        )
    return (
        f'<svg id="chart-severity" role="img" aria-label="findings by severity" width="380" '
        f'height="{26 * len(LEVELS)}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>'
    )


def _layer_chart(per_layer: dict[int, dict[str, int]]) -> str:
    """Stacked bars of the findings in each layer, by severity."""
    top = max((sum(c.values()) for c in per_layer.values()), default=0) or 1
    rows = []
    for i, (index, c) in enumerate(sorted(per_layer.items())):
        y, x = i * 26, 70.0
        rows.append(f'<text x="0" y="{y + 16}" font-size="12">layer {index}</text>')
        for level in LEVELS:
            w = 260 * c[level] / top
            if w:
                rows.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="16" fill="{_COLOURS[level]}">'
                    f"<title>{level}: {c[level]}</title></rect>"
                )
            x += w
        rows.append(f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="12">{sum(c.values())}</text>')
    return (
        f'<svg id="chart-layers" role="img" aria-label="findings by layer" width="380" '
        f'height="{max(26 * len(per_layer), 26)}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>'
    )


def _explain(f: Finding) -> str:
    e = f.explanation
    parts = [f"<p>{escape(e.text())}</p>"]
    parts.append(
        f'<p class="mono">severity {escape(f.severity.level)}'
        + (f" {f.severity.score:.1f}" if f.severity.score is not None else "")
        + f" from {escape(f.severity.source)}"
        + (f" ({escape(f.severity.vector)})" if f.severity.vector else "")
        + "</p>"
    )
    if f.aliases:
        parts.append(f"<p>aliases: {escape(', '.join(f.aliases))}</p>")
    if f.advisories:
        parts.append(f"<p>advisories: {escape(', '.join(f.advisories))}</p>")
    parts.append(f'<p class="mono">{escape(f.package.purl)}</p>')
    if f.epss is not None:
        parts.append(
            f"<p>EPSS: score {f.epss.score:.4f}, percentile {f.epss.percentile:.4f}"
            + (f" ({escape(f.epss.date)})" if f.epss.date else "")
            + "</p>"
        )
    if f.kev is not None:
        k = f.kev
        bits = [
            f"{label} {escape(v)}"
            for label, v in (
                ("added", k.date_added),
                ("due", k.due_date),
                ("ransomware use:", k.known_ransomware),
                ("required action:", k.required_action),
            )
            if v
        ]
        parts.append(
            "<p>CISA KEV: " + escape(k.name or "") + (" — " if k.name else "") + "; ".join(bits) + "</p>"
        )
    return "".join(parts)


def _layer_cell(info: LayerInfo) -> str:
    title = escape(info.created_by, quote=True)
    return f'<td class="mono" title="{title}">{escape(info.label())}<br>{escape(info.short_digest)}</td>'


def _row(f: Finding, info: LayerInfo, suppressed: bool = False) -> str:
    level = f.severity.level
    badges = f'<span class="badge b-{level}">{level}</span>'
    if f.severity.score is not None:
        badges += f" {f.severity.score:.1f}"
    if f.kev is not None:
        badges += ' <span class="badge b-kev">KEV</span>'
    if f.epss is not None:
        badges += f' <span class="mono">EPSS {f.epss.score:.3f}</span>'
    summary = escape(snippet(f.summary or "", 200))
    last = escape(suppression_text(f)) if suppressed else summary
    return (
        f'<tr data-sev="{level}"><td class="nw">{badges}</td><td class="mono nw">{escape(f.id)}</td>'
        f'<td>{escape(f.package.name)}</td><td class="mono">{escape(f.installed_version)}</td>'
        f'<td class="mono">{escape(fixed_text(f))}</td>{_layer_cell(info)}'
        f"<td>{last}<details><summary>why</summary>{_explain(f)}</details></td></tr>"
    )


def render(result: ScanResult) -> str:
    inv = result.inventory
    findings = result.findings
    infos = layer_infos(inv)
    c = counts(findings)
    image = image_name(result)
    fixable = sum(1 for f in findings if f.fixed_versions)
    per_layer: dict[int, dict[str, int]] = {i: dict.fromkeys(LEVELS, 0) for i in infos}
    for f in findings:
        per_layer.setdefault(f.explanation.layer_index, dict.fromkeys(LEVELS, 0))[f.severity.level] += 1
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>hullscan: {escape(image)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>hullscan vulnerability report</h1>",
        f'<p class="image">{escape(image)}</p>',
    ]
    meta = [f"source {escape(inv.source)}"]
    if inv.distro is not None:
        meta.append(escape(inv.distro.pretty_name or inv.distro.id))
    if inv.platform:
        meta.append(escape(inv.platform))
    if inv.manifest_digest:
        meta.append(f'<span class="mono">{escape(inv.manifest_digest)}</span>')
    meta.append(f"hullscan {escape(__version__)}")
    out.append(f'<p class="meta">{" · ".join(meta)}</p></header>')
    out.append('<section id="summary"><h2>Summary</h2><div class="cards">')
    for level in LEVELS:
        out.append(
            f'<div class="card sev-{level}"><span class="n" id="count-{level}">{c[level]}</span>{level}</div>'
        )
    out.append("</div>")
    out.append(
        f'<p id="totals"><b id="count-total">{len(findings)}</b> findings in '
        f'<b>{len(inv.packages)}</b> packages, <b id="count-fixable">{fixable}</b> fixable'
        + (f', <b id="count-suppressed">{len(result.suppressed)}</b> suppressed' if result.suppressed else "")
        + "</p>"
    )
    out.append(f'<div class="charts"><div><h3>By severity</h3>{_bar_chart(c)}</div>')
    if per_layer:
        out.append(f"<div><h3>By layer</h3>{_layer_chart(per_layer)}</div>")
    out.append("</div>")
    if infos:
        out.append(
            '<h3>Layers</h3><table id="layers"><thead><tr><th>layer</th><th>origin</th><th>digest</th>'
        )
        out.append(
            "<th>created by</th>" + "".join(f"<th>{lv}</th>" for lv in LEVELS) + "</tr></thead><tbody>"
        )
        for i, info in infos.items():
            lc = per_layer.get(i, dict.fromkeys(LEVELS, 0))
            out.append(
                f"<tr><td>{i}</td><td>{escape(info.origin)}</td>"
                f'<td class="mono">{escape(info.short_digest)}</td>'
                f'<td class="mono">{escape(snippet(info.created_by, 160))}</td>'
                + "".join(f"<td>{lc[lv]}</td>" for lv in LEVELS)
                + "</tr>"
            )
        out.append("</tbody></table>")
    out.append("</section>")
    out.append('<section id="findings"><h2>Findings</h2><div class="controls">')
    out.append('<input id="q" type="search" placeholder="Filter by id, package, version, summary…">')
    out.append('<select id="sev"><option value="">all severities</option>')
    out.append("".join(f'<option value="{lv}">{lv}</option>' for lv in LEVELS) + "</select>")
    out.append(f'<span id="shown">{len(findings)} of {len(findings)} shown</span></div>')
    head = (
        "<thead><tr><th>severity</th><th>id</th><th>package</th><th>installed</th><th>fixed</th>"
        "<th>layer</th><th>{}</th></tr></thead>"
    )
    out.append("<table>" + head.format("summary") + "<tbody>")
    out += [_row(f, layer_of(infos, f)) for f in findings]
    out.append("</tbody></table></section>")
    if result.suppressed:
        out.append(f'<section id="suppressed"><h2>Suppressed ({len(result.suppressed)})</h2>')
        out.append("<table>" + head.format("why suppressed") + "<tbody>")
        out += [_row(f, layer_of(infos, f), suppressed=True) for f in result.suppressed]
        out.append("</tbody></table></section>")
    if inv.config_findings:
        out.append(f'<section id="checks"><h2>Image checks ({len(inv.config_findings)})</h2><table>')
        out.append(
            "<thead><tr><th>severity</th><th>check</th><th>what</th><th>where</th><th>layer</th>"
            "<th>detail</th></tr></thead><tbody>"
        )
        for ch in inv.config_findings:
            layer = "" if ch.layer_index is None else str(ch.layer_index)
            out.append(
                f'<tr><td><span class="sev sev-{escape(ch.severity)}">{escape(ch.severity)}</span></td>'
                f"<td>{escape(ch.id)}</td><td>{escape(ch.title)}</td>"
                f'<td class="mono">{escape(ch.location)}</td><td>{layer}</td>'
                f"<td>{escape(ch.detail)}</td></tr>"
            )
        out.append("</tbody></table></section>")
    if result.warnings or inv.warnings:
        out.append('<section id="warnings"><h2>Warnings</h2><ul>')
        out += [f"<li>{escape(w)}</li>" for w in (*inv.warnings, *result.warnings)]
        out.append("</ul></section>")
    out.append(f"<script>{JS}</script></body></html>")
    return "\n".join(out) + "\n"
