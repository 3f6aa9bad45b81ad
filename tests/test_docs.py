"""The docs cannot drift from the code.

- docs/cli.md is every command's `--help`, verbatim; when a help text changes, rewrite the page
  with `RNNBENCH_WRITE_DOCS=1 python -m pytest tests/test_docs.py` and commit it.
- Every `--option` of an `rnnbench <command>` line in README.md and docs/*.md is an option that
  command has.
- docs/report.md names the report's tables, as many as `rnnbench report` prints.
(docs/lesson.md's commands and numbers are checked by tests/test_lesson_doc.py.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from rnnbench.cli import main
from rnnbench.report import TABLES

REPO = Path(__file__).resolve().parent.parent
CLI_DOC = REPO / "docs" / "cli.md"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
WRITE = os.environ.get("RNNBENCH_WRITE_DOCS") == "1"
WIDTH = 90  # the help texts' line width on the page, whatever the terminal


def help_text(command: str | None) -> str:
    """`rnnbench [command] --help` as the console script prints it, at width WIDTH."""
    settings = {"terminal_width": WIDTH, "max_content_width": WIDTH, "resilient_parsing": True}
    ctx = main.make_context("rnnbench", [], **settings)
    if command is None:
        return main.get_help(ctx)
    sub = main.get_command(ctx, command)
    assert sub is not None, command
    return sub.get_help(sub.make_context(command, [], parent=ctx, **settings))


def cli_doc() -> str:
    ctx = main.make_context("rnnbench", [], resilient_parsing=True)
    parts = [
        "# Command reference\n\n"
        "Every command's `--help`, verbatim. tests/test_docs.py checks this page against the\n"
        "code; after changing a help text, rewrite it with\n"
        "`RNNBENCH_WRITE_DOCS=1 python -m pytest tests/test_docs.py`.\n"
    ]
    for command in [None, *main.list_commands(ctx)]:
        name = "rnnbench" + (f" {command}" if command else "")
        parts.append(f"\n## `{name}`\n\n```text\n{help_text(command)}\n```\n")
    return "".join(parts)


def test_the_command_reference_is_the_help_text():
    expected = cli_doc()
    if WRITE:
        CLI_DOC.write_text(expected, encoding="utf-8")
    assert CLI_DOC.read_text(encoding="utf-8") == expected, (
        "docs/cli.md differs from `rnnbench <command> --help`; rewrite it with "
        "RNNBENCH_WRITE_DOCS=1 python -m pytest tests/test_docs.py"
    )


def command_lines(text: str) -> list[tuple[str, str]]:
    """(command, rest of the line) of every `rnnbench <command> ...` in the text; lines continued
    with a backslash are joined."""
    text = text.replace("\\\n", " ")
    return re.findall(r"(?<![\w./-])rnnbench (list|sweep|report|gradients)\b([^\n`]*)", text)


def test_every_option_the_docs_give_a_command_is_one_it_has():
    ctx = main.make_context("rnnbench", [], resilient_parsing=True)
    options = {
        name: {o for p in main.get_command(ctx, name).params  # type: ignore[union-attr]
               if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}
        | {"--help", "-h"}
        for name in main.list_commands(ctx)
    }
    seen, wrong = 0, []
    for doc in DOCS:
        for command, rest in command_lines(doc.read_text(encoding="utf-8")):
            for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest.split("#")[0]):
                seen += 1
                if option not in options[command]:
                    wrong.append(f"{doc.name}: rnnbench {command} {option}")
    assert seen > 20  # the pattern finds the docs' commands
    assert not wrong, "options the commands do not have:\n" + "\n".join(wrong)


def test_the_report_page_names_every_table_the_report_prints():
    page = (REPO / "docs" / "report.md").read_text(encoding="utf-8")
    numbers = {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
    assert f"It prints {numbers[len(TABLES)]} tables" in page
    titles = [title for title, _ in TABLES.values()]
    assert re.findall(r"^- \*\*(.+?)\*\*", page, flags=re.M)[: len(titles)] == titles
    assert f"({', '.join(TABLES)})" in page  # the file names `--out` writes


PAPER_TABLE = REPO / "results" / "hochreiter1997" / "hochreiter1997_paper.md"


def test_the_readmes_paper_comparison_is_the_reports_table():
    """README's paper-vs-rnnbench table is the one `rnnbench report` wrote from the results CSV,
    not numbers copied by hand: between its markers, the same table lines as the report's."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- paper-table: begin -->", "<!-- paper-table: end -->"
    assert start in readme and end in readme
    quoted = readme.split(start, 1)[1].split(end, 1)[0]
    table = [line for line in quoted.splitlines() if line.startswith("|")]
    written = [line for line in PAPER_TABLE.read_text(encoding="utf-8").splitlines()
               if line.startswith("|")]
    assert table == written


def test_the_reports_paper_table_is_the_results_csv():
    """results/hochreiter1997's paper table is what `rnnbench report` makes of the CSV today."""
    from rnnbench.report import build_report, read_results, to_markdown

    built = build_report(read_results(REPO / "results" / "hochreiter1997.csv"))
    written = [line for line in PAPER_TABLE.read_text(encoding="utf-8").splitlines()
               if line.startswith("|")]
    assert to_markdown(built.tables["paper"]).splitlines() == written


LITERATURE_TABLE = REPO / "results" / "literature" / "literature_literature.md"


def test_the_readmes_literature_table_is_the_reports_table():
    """README's table of published rows after 1997 is the one `rnnbench report` wrote from
    results/literature.csv, between its markers, line for line."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- literature-table: begin -->", "<!-- literature-table: end -->"
    assert start in readme and end in readme
    quoted = readme.split(start, 1)[1].split(end, 1)[0]
    table = [line for line in quoted.splitlines() if line.startswith("|")]
    written = [line for line in LITERATURE_TABLE.read_text(encoding="utf-8").splitlines()
               if line.startswith("|")]
    assert table == written and len(written) > 2


def test_the_reports_literature_table_is_the_results_csv():
    """results/literature's table is what `rnnbench report` makes of the CSV today."""
    from rnnbench.report import build_report, read_results, to_markdown

    built = build_report(read_results(REPO / "results" / "literature.csv"))
    written = [line for line in LITERATURE_TABLE.read_text(encoding="utf-8").splitlines()
               if line.startswith("|")]
    assert to_markdown(built.tables["literature"]).splitlines() == written


def test_committed_results_name_no_folder_of_the_machine_that_made_them():
    """results/ is read on other machines: a path in it is relative to the repository (issue 20:
    teaching.txt's closing line named the absolute path of the CSV it was made from)."""
    absolute = re.compile(r"(?<![\w.~-])/(?:work|home|root|tmp|Users|mnt|var|private)/")
    found = [f"{p.relative_to(REPO)}: {m.group(0)}"
             for p in sorted((REPO / "results").rglob("*")) if p.is_file()
             and p.suffix in (".txt", ".md", ".csv", ".html", ".json")
             for m in absolute.finditer(p.read_text(encoding="utf-8", errors="replace"))]
    assert not found, found


def test_the_closing_line_names_the_csv_relative_to_the_current_folder(tmp_path, monkeypatch):
    from rnnbench.cli import end_message

    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    out = tmp_path / "results" / "teaching.csv"
    assert end_message("teaching", 0, out).endswith("their rows are in results/teaching.csv.")
    elsewhere = Path("/") / "elsewhere" / "x.csv"
    assert str(elsewhere) in end_message("teaching", 0, elsewhere)
