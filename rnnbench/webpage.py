"""One self-contained HTML page of a report: tables and figures (base64 PNG), no external files.

Meant to be opened or projected by a teacher: no scripts, no network, a little CSS.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from rnnbench.report import TABLES, Report

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222;
       line-height: 1.4; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: 0.3em; }
img { max-width: 100%; border: 1px solid #ddd; }
figure { margin: 1em 0 2em; }
.notes li { color: #7a4b00; }
"""


def page(report: Report, figures: dict[str, bytes]) -> str:
    """The HTML text of the page."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>rnnbench report: {esc(report.study)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>rnnbench report: {esc(report.study)}</h1>",
        f"<p>{len(report.rows.df)} result rows: accuracy against dependency length.</p>",
    ]
    if report.notes:
        parts.append('<h2>Notes</h2><ul class="notes">')
        parts += [f"<li>{esc(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    for name, table in report.tables.items():
        title, caption = TABLES[name]
        parts.append(f'<h2 id="{name}">{esc(title)}</h2><p>{esc(caption)}</p>')
        empty = "<p>(no rows)</p>"
        parts.append(empty if table.empty else table.to_html(escape=True, border=0))
    if figures:
        parts.append("<h2>Figures</h2>")
    for task, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" '
            f'alt="{esc(report.study)}: accuracy against dependency length on {esc(task)}">'
            f"<figcaption>{esc(task)}</figcaption></figure>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(report: Report, figures: dict[str, bytes], out_dir: str | Path) -> Path:
    path = Path(out_dir) / f"{report.study}.html"
    path.write_text(page(report, figures), encoding="utf-8")
    return path
