"""The memory estimate is an upper bound: a child process running a cell peaks below it.

Each point runs one cell in a fresh Python process (so the peak is that cell's, the interpreter and
its imports included, as a worker's is) and reads its peak resident set from the kernel (`VmHWM`
in /proc/self/status). The points cover every built-in model at batch 1 (where the 32-sequence
batch behind `grad_ratio_init` dominates) and batch 64, at lengths long enough that the (B, T, H)
states, not the process, are most of the peak; the estimate is linear in the length, so a bound at
these lengths with margin is a bound at the longer ones (benchmarks/README.md: figures at 100,000).
Budgets are one mini-batch, so each point costs a few seconds (a Keras one ~10 s).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict

import pytest

from rnnbench.memory import estimate
from rnnbench.schema import SweepCell

# The peak is the process's VmHWM (its address space's high-water mark, in kB), not ru_maxrss:
# Linux carries ru_maxrss over fork and exec, so a child of a large pytest process would report
# the parent's size. VmHWM belongs to the address space exec made.
CHILD = """
import json, sys
from rnnbench.harness import run_cell
from rnnbench.schema import SweepCell
result = run_cell(SweepCell(**json.loads(sys.argv[1])))
with open("/proc/self/status") as status:
    kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"status": result.status, "error": result.error, "peak": kb * 1024}))
"""


def peak_rss(cell: SweepCell) -> int:
    """Peak resident bytes of a fresh process that runs `cell` (and nothing else)."""
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(asdict(cell))],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == "ok", answer["error"]
    return int(answer["peak"])


def point(model: str, task: str, length: int, batch: int, eval_size: int = 1) -> SweepCell:
    return SweepCell(task=task, model=model, length=length, seed=0, batch_size=batch,
                     chunk_size=batch, eval_size=eval_size, max_sequences=batch)


POINTS = [
    point("numpy-rnn", "adding", 5000, 1),  # the issue's case, shorter: batch, chunk, eval 1
    point("numpy-rnn", "delayed-recall", 5000, 64),
    point("numpy-lstm", "delayed-recall", 5000, 1),
    point("numpy-lstm", "delayed-recall", 2000, 16, eval_size=4000),  # a big held-out set
    point("numpy-lstm1997", "adding-1997", 1000, 1),  # its paper test set: 2,560 sequences
    point("keras-simplernn", "delayed-recall", 3000, 1),
    point("keras-lstm", "delayed-recall", 2000, 64),
    point("numpy-indrnn", "delayed-recall", 5000, 1),
    point("numpy-indrnn", "adding", 3000, 64),
    point("numpy-exprnn", "delayed-recall", 3000, 64),
    point("numpy-mingru", "delayed-recall", 2000, 64),
    point("numpy-mingru", "adding", 2000, 16, eval_size=2000),  # its predict scans in chunks
    point("numpy-gru", "delayed-recall", 5000, 1),
    point("numpy-gru", "delayed-recall", 5000, 64),
    point("keras-gru", "delayed-recall", 2000, 64),
]


@pytest.mark.slow  # a child process per point; the Keras ones import TensorFlow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("cell", POINTS, ids=lambda c: f"{c.model}-{c.length}-b{c.batch_size}")
def test_the_estimate_is_above_the_measured_peak(cell):
    measured = peak_rss(cell)
    estimated = estimate(cell)
    assert estimated >= measured, (estimated / 2**20, measured / 2**20)
    # and not absurdly above it, so a sweep is not refused for nothing
    assert estimated <= 4 * measured, (estimated / 2**20, measured / 2**20)


def test_the_gradient_batch_is_counted_at_batch_1():
    """At batch 1 the 32 sequences behind grad_ratio_init set the peak (issue 20: estimated
    0.4 GB, used 2.06 GiB at length 100,000): the estimate grows with them, not with the batch."""
    one, two = (estimate(point("numpy-rnn", "adding", 100_000, b)) for b in (1, 2))
    states = 32 * 100_002 * 32 * 4  # G x T x H float32: one (T, G, H) array
    assert one > 5 * states  # a NumPy RNN's BPTT keeps several such arrays
    assert two - one < one / 20  # one more training sequence adds little


def test_a_task_scored_at_every_step_counts_a_target_per_step(monkeypatch):
    """Per-step targets (n, T, K) and outputs are counted: T x K floats a sequence, not K."""
    from rnnbench.registry import tasks

    recall = tasks.get("delayed-recall")
    cell = point("numpy-rnn", "delayed-recall", 1000, 64, eval_size=2000)
    last = estimate(cell)
    monkeypatch.setattr(recall, "steps_scored", "every", raising=False)
    every = estimate(cell)
    T, K = 1002, recall.output_dim
    # targets, outputs, probabilities of the held-out set, the chunk and the gradient batch
    floats = 3 * (cell.eval_size + cell.chunk_size + 32) * (T - 1) * K
    assert every - last == pytest.approx(4 * floats)


def test_the_issues_case_is_refused_up_front_not_killed(tmp_path):
    """Issue 20's case (numpy-rnn, batch, chunk and eval 1, length 100,000, --memory-limit 1GB)
    used 2.06 GiB and was killed; now the sweep refuses it in one line before anything runs."""
    from click.testing import CliRunner

    from rnnbench.cli import main

    spec = tmp_path / "small-batches.toml"
    spec.write_text('models = ["numpy-rnn"]\nseeds = 1\nbatch_size = 1\nchunk_size = 1\n'
                    'eval_size = 1\nmax_sequences = 1\nlengths = {adding = [100000]}\n')
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out),
                                       "--memory-limit", "1GB"])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "memory limit of 1.0 GB" in line and not out.exists()
    said = float(re.search(r"estimated peak ([\d.]+) GB", line).group(1))  # GiB, as memory.gb
    assert said >= 2822 / 1024  # the peak measured at this config (benchmarks/README.md), MiB
