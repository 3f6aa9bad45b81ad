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
  root.style.width = "390px";  // a phone's layout width (headless windows are 500 px at least)
  var fig = document.querySelector("figure"), table = document.querySelector("table");
  var right = 0;  // the right edge of everything the page lays out (a .scroll box's own content
  document.querySelectorAll("body *").forEach(function (el) {  // scrolls inside that box)
    if (el.parentElement.closest(".scroll")) { return; }
    right = Math.max(right, el.getBoundingClientRect().right);
  });
  var out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify({
    width: root.getBoundingClientRect().width, right: right,
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
    assert "keras-lstm (fb=4) solves every length tried, up to 100" in lesson
    assert "numpy-rnn solves up to length 20 (3/3 seeds there) and is at chance by length 50" \
        in lesson
    # shading: dark for solved cells, near white at chance; the full cell in the tooltip
    solved = re.search(r'<td title="0.99 ± 0.00 \(solved 3/3\)" style="([^"]+)">0.99 3/3', recall)
    chance = re.search(r'<td title="0.12 ± 0.01 \(solved 0/3\)" style="([^"]+)">0.12 0/3', recall)
    assert solved and "30%" in solved.group(1) and "#fff" in solved.group(1)
    assert chance and re.search(r"9\d%\)", chance.group(1))
    assert text.index("<figure>") < text.index("<table")
    assert "<thead><tr><th" in text and "<tr></tr>" not in text


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (apt-get install chromium)")
def test_in_a_browser_the_figure_comes_first_and_the_page_fits_390px(page: Path, tmp_path: Path):
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE),
                     encoding="utf-8")
    profile = tmp_path / "profile"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--window-size=390,844",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    shutil.rmtree(profile, ignore_errors=True)
    found = re.search(r'<pre id="measure">([^<]*)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    m = json.loads(found.group(1).replace("&quot;", '"'))
    assert m["width"] == 390
    assert m["figureTop"] < m["tableTop"]
    assert m["right"] <= 390 and m["bodyScrollWidth"] <= 390, m  # no sideways scrolling
    assert m["imgRight"] <= 390
