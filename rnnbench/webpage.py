"""One self-contained HTML page of a report that leads with the lesson: per task, a one-line
summary from the data, the figure, then that task's table; the other tables after.

Meant to be opened or projected by a teacher, or read on a phone: no scripts, no network, figures
as base64 PNG, a viewport tag, and nothing wider than a 390 px screen: on a narrow screen every
table stacks (a card per row, a line per cell labelled with its column), and figures are drawn
so their text shows at 11 CSS px or more there (rnnbench.plots). Accuracy cells are shaded from
the task's chance level (white) to the solve threshold (dark blue): a lightness ramp, so the
shading also reads printed in grey.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

from rnnbench import survival
from rnnbench.report import TABLES, Report, censored_runs, critical_lengths, solved_text
from rnnbench.settings import DEFAULT_SOLVE_THRESHOLD

STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; color: #222;
       line-height: 1.4; padding: 0 0.8em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
.lesson { font-size: 1.05em; margin: 0.3em 0 0.6em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.4em 0 0.3em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.4em; text-align: right;
         overflow-wrap: anywhere; }
table.accuracy td { white-space: nowrap; }
th { background: #f3f3f3; }
th.label, td.label { text-align: left; white-space: normal; min-width: 6em; }
/* A phone: every table stacks, a card per row and a line per cell named by its column (the
   data-label), so no number hides behind sideways scrolling. */
@media (max-width: 40em) {
  .scroll table, .scroll tbody, .scroll tr, .scroll td { display: block; width: 100%; }
  .scroll thead { display: none; }
  .scroll tr { border: 1px solid #ccc; margin: 0 0 0.6em; }
  .scroll td, table.accuracy td { border: none; border-bottom: 1px solid #eee;
    display: flex; justify-content: space-between; gap: 1em; text-align: right;
    white-space: normal; }
  .scroll td::before { content: attr(data-label); opacity: 0.8; text-align: left; }
  .scroll td.label { font-weight: 600; }
}
.caption { color: #555; font-size: 0.85em; margin: 0 0 1.2em; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; display: block; }
figure { margin: 0.5em 0 0.8em; }
figcaption { color: #555; font-size: 0.9em; }
.notes li { color: #7a4b00; }
"""

NEAR_CHANCE = 0.1  # within this share of the way from chance to solved counts as "at chance"


def _shade(mean: float, chance: float, threshold: float) -> str:
    """A cell's inline style: lightness falls from 97% at chance to 30% at the solve threshold."""
    if mean != mean or chance != chance or threshold <= chance:
        return ""
    t = min(1.0, max(0.0, (mean - chance) / (threshold - chance)))
    lightness = 97 - 67 * t
    text = "#fff" if lightness < 58 else "#111"
    return f' style="background:hsl(212,60%,{lightness:.0f}%);color:{text}"'


def _threshold(report: Report, task: str) -> float:
    df = report.rows.df
    if "solve_threshold" in df.columns:
        values = df.loc[df["task"] == task, "solve_threshold"].dropna().unique()
        if len(values) == 1:
            return float(values[0])
    return DEFAULT_SOLVE_THRESHOLD


def _models(summary: Any) -> list[str]:
    return sorted({str(m) for m in summary.index.get_level_values("model")})


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def judged_by_paper(report: Report, task: str) -> bool:
    """Whether every cell of the task was judged by its paper's rule (rnnbench.verdict)."""
    summary = report.summary.xs(task, level="task")
    return bool(len(summary)) and bool(summary["paper_rule"].all())


def lesson(report: Report, task: str) -> str:
    """Sentences from the data: up to which length each model solves, where it hits chance, and
    which solves fastest where two solve.

    e.g. "keras-lstm (fb=4) solves every length tried, up to 100 (2/3 seeds there); numpy-rnn
    solves up to length 20 (3/3 seeds there) and is at chance by length 50." A model solves a
    length when at least half its seeds did, by the verdict every view shares (its critical
    length, rnnbench.report.critical_lengths); it is at chance where its mean accuracy is within
    NEAR_CHANCE of the way from chance to the solve threshold. Then `speed`.
    """
    summary = report.summary.xs(task, level="task")
    threshold = _threshold(report, task)
    tested = sorted({int(n) for n in summary.index.get_level_values("length")})
    critical = critical_lengths(report.summary)
    groups: dict[tuple[Any, Any], list[str]] = {}
    seeds: dict[str, str] = {}
    longest_tried: dict[str, int] = {}
    for label in _models(summary):
        own = summary.xs(label, level="model").sort_index()
        longest_tried[label] = int(max(own.index))
        best = critical[(task, label)]
        longest = None if best is None else best[0]
        if best is not None:
            seeds[label] = f"{best[1]}/{best[2]}"
        at_chance = None
        for n, r in own.iterrows():
            chance, mean = r["chance"], r["mean"]
            if chance == chance and mean == mean and threshold > chance and \
                    mean - chance <= NEAR_CHANCE * (threshold - chance):
                at_chance = int(n)
                break
        groups.setdefault((longest, at_chance), []).append(label)
    parts = []
    for (longest, at_chance), labels in sorted(
            groups.items(), key=lambda kv: (-(kv[0][0] or 0), kv[1])):
        verb = "solve" if len(labels) > 1 else "solves"
        behind = f" ({_join([seeds[m] for m in labels])} seeds there)" if longest else ""
        if longest is None:
            text = f"{_join(labels)} {verb} no length tried"
        elif longest == max(tested) and all(longest_tried[m] == longest for m in labels):
            text = f"{_join(labels)} {verb} every length tried, up to {longest}{behind}"
        else:
            text = f"{_join(labels)} {verb} up to length {longest}{behind}"
        if at_chance is not None:
            text += f" and {'are' if len(labels) > 1 else 'is'} at chance by length {at_chance}"
        parts.append(text)
    if not parts:
        return "No measured cells yet."
    text = "; ".join(parts) + "."
    faster = speed(report, task)
    return f"{text} {faster}" if faster else text


def speed(report: Report, task: str) -> str:
    """At the longest length where two or more models solved a seed, the two quickest by the
    Kaplan-Meier median, compared by the log-rank test (rnnbench.survival.faster): "A solves
    faster than B" only when the test says so at 5% with at least five seeds a side."""
    summary = report.summary.xs(task, level="task")
    for length in sorted({int(n) for n in summary.index.get_level_values("length")},
                         reverse=True):
        at = summary.xs(length, level="length")
        solving = at[at["solved"] > 0]
        if len(solving) < 2:
            continue
        ranked = sorted(solving.index, key=lambda m: (solving.at[m, "median_sequences_to_solve"],
                                                      -solving.at[m, "solved"] / solving.at[m, "n"],
                                                      m))
        a, b = str(ranked[0]), str(ranked[1])
        result = survival.faster(censored_runs(report.rows, task, a, length),
                                 censored_runs(report.rows, task, b, length))
        if result.verdict == "same":
            return (f"At length {length}, {a} and {b} are indistinguishable in sequences to solve "
                    f"at {result.n_a} and {result.n_b} seeds (log-rank p = {result.pvalue:.2g}).")
        quick, slow = (a, b) if result.verdict == "faster" else (b, a)
        return (f"At length {length}, {quick} solves faster than {slow} (log-rank p = "
                f"{result.pvalue:.2g}, {result.n_a} and {result.n_b} seeds).")
    return ""


def task_table(report: Report, task: str) -> str:
    """A task's accuracy table: rows model, columns its lengths, cells shaded chance -> solved."""
    esc = html.escape
    summary = report.summary.xs(task, level="task")
    threshold = _threshold(report, task)
    lengths = sorted({int(n) for n in summary.index.get_level_values("length")})
    rows = ['<div class="scroll"><table class="accuracy">',
            '<thead><tr><th class="label">model \\ length</th>'
            + "".join(f"<th>{n}</th>" for n in lengths) + "</tr></thead><tbody>"]
    for label in _models(summary):
        own = summary.xs(label, level="model")
        cells = [f'<td class="label" data-label="model">{esc(label)}</td>']
        for n in lengths:
            if n not in own.index:
                cells.append(f'<td data-label="length {n}">&ndash;</td>')
                continue
            r = own.loc[n]
            mean, sd, k, total = r["mean"], r["sd"], int(r["solved"]), int(r["n"])
            shown = "n/a" if mean != mean else f"{mean:.2f}"
            spread = "" if sd != sd else f" ± {sd:.2f}"
            full = f"{shown}{spread} (solved {solved_text(r)})"
            # a paper's rule decided these cells: shade what it decided, the fraction solved
            shade = (_shade(k / total if total else math.nan, 0.0, 1.0) if r["paper_rule"]
                     else _shade(mean, r["chance"], threshold))
            cells.append(f'<td title="{esc(full)}"{shade} data-label="length {n}">'
                         f"{shown} {k}/{total}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</tbody></table></div>")
    if judged_by_paper(report, task):
        rows.append('<p class="caption">Cells: mean accuracy on the paper\'s test set over '
                    "seeds, and seeds solved/run (solved: the paper's rule met, then its bound on "
                    "test errors kept); shaded by the fraction of seeds solved, from none (white) "
                    "to all (dark). Hover a cell for its spread.</p>")
    else:
        rows.append(f'<p class="caption">Cells: mean held-out accuracy over seeds, and seeds '
                    f"solved/run (solved: accuracy &ge; {threshold:g}); shaded from chance "
                    f"(white) to solved (dark). Hover a cell for its spread.</p>")
    return "\n".join(rows)


def flat_table(table: Any) -> str:
    """Any report table as HTML: index levels as leading columns, one header row."""
    esc = html.escape
    flat = table.reset_index()
    names = [esc(str(c)) for c in flat.columns]
    head = "".join(f"<th>{c}</th>" for c in names)
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{c}">{esc(str(v))}</td>'
                         for c, v in zip(names, row, strict=True)) + "</tr>"
        for row in flat.itertuples(index=False)
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}' \
           "</tbody></table></div>"


def figure_caption(report: Report, task: str) -> str:
    if judged_by_paper(report, task):
        return (f"Fraction of seeds solved against training sequences on {task}, under the "
                "paper's rule and test: a line per model and length (Kaplan-Meier, unsolved "
                "seeds censored at their budget), the paper's figure dotted.")
    return (f"Accuracy against dependency length on {task}: a line per model (mean over seeds), "
            "a band from the worst to the best seed, chance dashed.")


def page(report: Report, figures: dict[str, bytes]) -> str:
    """The HTML text of the page."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>rnnbench report: {esc(report.study)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>rnnbench report: {esc(report.study)}</h1>",
        f"<p>{len(report.rows.df)} result rows: how accuracy falls as the dependency length "
        "grows, and which seeds solved (one verdict per row, shared by every table, figure "
        "and sentence below).</p>",
    ]
    for task in report.tasks():
        parts.append(f'<section id="task-{esc(task)}"><h2>{esc(task)}</h2>')
        parts.append(f'<p class="lesson">{esc(lesson(report, task))}</p>')
        png = figures.get(task)
        if png is not None:
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{esc(report.study)}: {esc(figure_caption(report, task))}">'
                f"<figcaption>{esc(figure_caption(report, task))}</figcaption></figure>"
            )
        parts.append(task_table(report, task))
        parts.append("</section>")
    if report.notes:
        parts.append('<h2>Notes</h2><ul class="notes">')
        parts += [f"<li>{esc(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    for name, table in report.tables.items():
        if name == "accuracy":
            continue  # shown per task above
        title, caption = TABLES.get(name, (name.replace("_", " ").capitalize(), ""))
        parts.append(f'<h2 id="{esc(name)}">{esc(title)}</h2><p>{esc(caption)}</p>')
        parts.append("<p>(no rows)</p>" if table.empty else flat_table(table))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(report: Report, figures: dict[str, bytes], out_dir: str | Path) -> Path:
    path = Path(out_dir) / f"{report.study}.html"
    path.write_text(page(report, figures), encoding="utf-8")
    return path
