"""The report page leads with the lesson and fits a phone: checked in the text and in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnbench.cli import main

REPO = Path(__file__).resolve().parent.parent
TEACHING_CSV = REPO / "results" / "teaching.csv"
CHROMIUM = "/usr/bin/chromium"

MEASURE = """<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  root.style.width = "WIDTHpx";  // a phone's 390 px (headless windows are 500 px at least)
  var fig = document.querySelector("figure"), table = document.querySelector("table");
  var right = 0;  // the right edge of everything the page lays out (a .scroll box's own content
  document.querySelectorAll("body *").forEach(function (el) {  // scrolls inside that box)
    if (el.parentElement.closest(".scroll")) { return; }
    right = Math.max(right, el.getBoundingClientRect().right);
  });
  var everything = 0, scrolled = [];  // every element, inside .scroll boxes too
  document.querySelectorAll("body *").forEach(function (el) {
    everything = Math.max(everything, el.getBoundingClientRect().right);
  });
  document.querySelectorAll(".scroll").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth) { scrolled.push(box.scrollWidth); }
  });
  var shrink = [];  // each figure: shown width / drawn width (its text scales by this)
  document.querySelectorAll("figure img").forEach(function (img) {
    shrink.push(img.getBoundingClientRect().width / img.naturalWidth);
  });
  var out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify({
    width: root.getBoundingClientRect().width, right: right, everything: everything,
    scrolled: scrolled, shrink: shrink,
    bodyScrollWidth: document.body.scrollWidth,
    figureTop: fig.getBoundingClientRect().top, tableTop: table.getBoundingClientRect().top,
    imgRight: fig.querySelector("img").getBoundingClientRect().right});
  document.body.appendChild(out);
});
</script></body>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("page")
    result = CliRunner().invoke(main, ["report", str(TEACHING_CSV), "--html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "teaching.html"


def test_each_task_leads_with_its_lesson_and_figure_then_its_shaded_table(page: Path):
    text = page.read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    recall = text[text.index('<section id="task-delayed-recall">'):]
    recall = recall[:recall.index("</section>")]
    assert recall.index("<figure>") < recall.index("<table")
    lesson = re.search(r'<p class="lesson">(.*?)</p>', recall).group(1)
    assert ("keras-gru (fb=4) and keras-lstm (fb=4) solve every length tried, up to 100 "
            "(3/3 and 2/3 seeds there)") in lesson
    assert ("keras-gru (fb=1) and numpy-rnn solve up to length 20 (3/3 and 3/3 seeds there) and "
            "are at chance by length 50") in lesson
    # shading: dark for solved cells, near white at chance; the full cell in the tooltip
    cell = r'<td title="{} \(solved {}\)" style="([^"]+)" data-label="length \d+">{} {}'
    solved = re.search(cell.format("0.99 ± 0.00", "3/3", "0.99", "3/3"), recall)
    chance = re.search(cell.format("0.12 ± 0.01", "0/3", "0.12", "0/3"), recall)
    assert solved and "30%" in solved.group(1) and "#fff" in solved.group(1)
    assert chance and re.search(r"9\d%\)", chance.group(1))
    assert text.index("<figure>") < text.index("<table")
    assert "<thead><tr><th" in text and "<tr></tr>" not in text


def measure(page: Path, tmp_path: Path, width: int = 390) -> dict:
    """Lay `page` out `width` CSS px wide in headless Chromium and measure it (MEASURE)."""
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", MEASURE.replace("WIDTH", str(width))), encoding="utf-8")
    profile = tmp_path / f"profile-{width}"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", f"--window-size={width},844",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=300,
    )
    shutil.rmtree(profile, ignore_errors=True)
    found = re.search(r'<pre id="measure">([^<]*)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="needs Chromium (apt-get install chromium)")


@needs_chromium
def test_in_a_browser_the_figure_comes_first_and_the_page_fits_390px(page: Path, tmp_path: Path):
    m = measure(page, tmp_path)
    assert m["width"] == 390
    assert m["figureTop"] < m["tableTop"]
    assert m["right"] <= 390 and m["bodyScrollWidth"] <= 390, m  # no sideways scrolling
    assert m["imgRight"] <= 390
    # every table readable without scrolling: nothing past the screen, no box that scrolls
    assert m["everything"] <= 390 and m["scrolled"] == [], m


@needs_chromium
@pytest.mark.parametrize("csv", ["teaching.csv", "hochreiter1997.csv"])
def test_in_a_browser_figure_text_is_at_least_11_css_px_on_a_phone(csv, tmp_path: Path):
    """The smallest text drawn in a figure (measured over the figure's own text artists), times
    how much Chromium shrinks the figure to fit 390 px, is at least 11 CSS px."""
    from matplotlib.text import Text

    from rnnbench import plots, report

    out = tmp_path / "page"
    result = CliRunner().invoke(main, ["report", str(REPO / "results" / csv), "--html", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    m = measure(next(out.glob("*.html")), tmp_path)
    assert m["shrink"] and m["everything"] <= 390 and m["scrolled"] == [], m
    built = report.build_report(report.read_results(REPO / "results" / csv), study="s")
    for task, shrink in zip(built.tasks(), m["shrink"], strict=False):
        figure = plots.task_figure(built, task)
        sizes = [t.get_fontsize() for t in figure.findobj(Text)
                 if t.get_visible() and t.get_text().strip()]
        smallest_px = min(sizes) * figure.dpi / 72 * shrink
        assert smallest_px >= 11, (task, min(sizes), shrink, smallest_px)


@needs_chromium
def test_in_a_browser_the_1997_tables_do_not_scroll_on_a_laptop(tmp_path: Path):
    out = tmp_path / "page"
    result = CliRunner().invoke(main, ["report", str(REPO / "results" / "hochreiter1997.csv"),
                                       "--html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for width in (1280, 390):
        m = measure(out / "hochreiter1997.html", tmp_path, width)
        assert m["scrolled"] == [] and m["bodyScrollWidth"] <= width, (width, m)


def test_the_page_names_the_study_as_the_sweep_does_and_keeps_its_task_order(tmp_path):
    """A default sweep writes results/sweep.csv of the study 'teaching', delayed-recall first."""
    pytest.importorskip("matplotlib")
    import pandas as pd

    from rnnbench import study_record

    csv = tmp_path / "sweep.csv"
    rows = pd.read_csv(TEACHING_CSV)
    rows.to_csv(csv, index=False)
    study_record.write(csv, "teaching", ["delayed-recall", "adding-1997"], fresh=True)
    result = CliRunner().invoke(main, ["report", str(csv), "--html", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "teaching.html").read_text(encoding="utf-8")
    assert "<h1>rnnbench report: teaching</h1>" in text
    assert text.index('id="task-delayed-recall"') < text.index('id="task-adding-1997"')
    assert "rnnbench report: teaching" in result.stdout
    csv.with_name(".sweep.csv.study.json").unlink()  # no record: named after the file, sorted
    result = CliRunner().invoke(main, ["report", str(csv), "--html", "--out", str(tmp_path)])
    text = (tmp_path / "sweep.html").read_text(encoding="utf-8")
    assert text.index('id="task-adding-1997"') < text.index('id="task-delayed-recall"')


def test_a_sweep_records_its_study_for_the_report(tmp_path):
    from rnnbench import study_record

    spec = tmp_path / "s.toml"
    spec.write_text('name = "lesson-order"\nmodels = ["numpy-rnn"]\nseeds = 1\n'
                    'max_sequences = 64\nchunk_size = 64\neval_size = 16\n'
                    'lengths = {delayed-recall = [3], adding = [3]}\n')
    out = tmp_path / "sweep.csv"
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert study_record.read(out) == ("lesson-order", ["delayed-recall", "adding"])
    report = CliRunner().invoke(main, ["report", str(out)])
    assert "rnnbench report: lesson-order" in report.stdout
