"""Local worker processes, resume, --fresh, --retry-failed, timeouts, crashes, progress output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO, SMOKE_SPEC

from rnnbench.cli import main, resume_command
from rnnbench.csvlog import ResultsCSV, config_key
from rnnbench.progress import LineLog, ProgressBar, progress_for
from rnnbench.runner import run_sweep
from rnnbench.schema import CELL_COLUMNS, CellResult, SweepCell
from rnnbench.study import StudySpec

# Slow (not in the quick loop): starts worker processes, some of them running Keras.
pytestmark = pytest.mark.slow

# Spawned processes (workers, the CLI under test) must import this checkout's rnnbench.
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}


NUMPY_MODELS = ["numpy-rnn", "numpy-lstm"]


def numpy_cells(seeds: int = 2, models=("numpy-rnn",), **overrides) -> list[SweepCell]:
    spec = StudySpec.from_toml(SMOKE_SPEC).with_overrides(models=list(models), seeds=seeds)
    return spec.with_overrides(**overrides).cells()


def cell(model: str, seed: int) -> SweepCell:
    return SweepCell(task="adding", model=model, length=4, seed=seed, max_sequences=256,
                     chunk_size=256, eval_size=100)


def sorted_rows(path) -> pd.DataFrame:
    df = pd.read_csv(path).drop(columns=["wall_seconds"])
    return df.sort_values(CELL_COLUMNS).reset_index(drop=True)


def test_rows_are_the_same_with_one_or_two_workers(tmp_path):
    cells = numpy_cells(models=NUMPY_MODELS)
    run_sweep(cells, out=tmp_path / "serial.csv", workers=1)
    df = run_sweep(cells, out=tmp_path / "two.csv", workers=2)
    assert len(df) == len(cells) and (df["status"] == "ok").all()
    pd.testing.assert_frame_equal(sorted_rows(tmp_path / "serial.csv"),
                                  sorted_rows(tmp_path / "two.csv"))


def test_a_dying_worker_fails_only_its_cell(tmp_path, worker_models):
    cells = [cell("test-crash", seed) for seed in range(4)]
    df = run_sweep(cells, out=tmp_path / "r.csv", workers=2).set_index("seed")
    assert df.loc[worker_models.BAD_SEED, "status"] == "crashed"
    assert "SIGKILL" in df.loc[worker_models.BAD_SEED, "error"]
    assert (df.drop(index=worker_models.BAD_SEED)["status"] == "ok").all()
    assert len(pd.read_csv(tmp_path / "r.csv")) == 4


def test_a_cell_past_its_time_limit_is_recorded_as_timeout(tmp_path, worker_models):
    cells = [cell("test-sleep", seed) for seed in range(3)]
    started = time.monotonic()
    df = run_sweep(cells, out=tmp_path / "r.csv", workers=2, cell_timeout=1.5).set_index("seed")
    assert time.monotonic() - started < 30
    assert df.loc[worker_models.BAD_SEED, "status"] == "timeout"
    assert "1.5s" in df.loc[worker_models.BAD_SEED, "error"]
    assert (df.drop(index=worker_models.BAD_SEED)["status"] == "ok").all()


def test_workers_are_recycled_and_import_this_checkout(worker_models):
    from rnnbench import executors

    errors: list[str] = []
    cells = [cell("test-whoami", 1) for _ in range(1)] * 5
    executors.run_local(cells, lambda c, r: errors.append(r.error), workers=1, cells_per_worker=2)
    assert len(errors) == 5
    pids = {e.split()[1] for e in errors}
    assert len(pids) == 3  # 2 + 2 + 1 cells
    assert all(f"rnnbench={REPO / 'rnnbench' / '__init__.py'}" in e for e in errors), errors[0]


def test_resume_skips_failed_rows_unless_retry_failed(tmp_path):
    out = tmp_path / "r.csv"
    cells = numpy_cells(seeds=1)
    run_sweep(cells, out=out)
    text = out.read_text().splitlines()
    text[2] = text[2].replace(",ok,", ",crashed,")  # pretend the second cell's worker died
    out.write_text("\n".join(text) + "\n")
    assert (run_sweep(cells, out=out)["status"] == "crashed").sum() == 1
    df = run_sweep(cells, out=out, retry_failed=True)
    assert (df["status"] == "ok").all()
    rows = ResultsCSV(out).rows()
    assert len(rows) == len(cells) == len({config_key(r) for r in rows})


def test_fresh_moves_the_old_csv_aside(tmp_path):
    out = tmp_path / "r.csv"
    args = ["sweep", str(SMOKE_SPEC), "--model", "numpy-rnn", "--lengths", "4",
            "--task", "adding", "--out", str(out), "-j", "1"]
    assert CliRunner().invoke(main, args).exit_code == 0
    old = out.read_text()
    result = CliRunner().invoke(main, [*args, "--fresh"])
    assert result.exit_code == 0, result.output
    moved = [p for p in tmp_path.iterdir() if p.name != "r.csv" and not p.name.startswith(".")]
    assert len(moved) == 1 and moved[0].name.startswith("r.2") and moved[0].read_text() == old
    assert "moved the old results to" in result.output
    assert len(pd.read_csv(out)) == 1


def test_quiet_prints_no_progress(tmp_path):
    args = ["sweep", str(SMOKE_SPEC), "--model", "numpy-rnn", "--task", "adding",
            "--out", str(tmp_path / "r.csv"), "-j", "1"]
    loud = CliRunner().invoke(main, args)
    assert "[1/2 " in loud.output and "adding length=4 numpy-rnn seed=0" in loud.output
    quiet = CliRunner().invoke(main, [*args, "--fresh", "-q"])
    assert quiet.exit_code == 0 and "[1/2" not in quiet.output and "moved" not in quiet.output


def test_progress_bar_on_a_terminal_and_lines_otherwise():
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(progress_for(io.StringIO()), LineLog)
    tty = Tty()
    bar = progress_for(tty)
    assert isinstance(bar, ProgressBar)
    c = cell("numpy-rnn", 0)
    bar(1, 4, c, CellResult(accuracy=0.5))
    bar(2, 4, c, CellResult(status="timeout", error="too slow"))
    bar.close()
    text = tty.getvalue()
    assert "\r" in text and "2/4" in text and "eta" in text and "last: adding" in text
    assert "[2/4] adding length=4 numpy-rnn seed=0: timeout: too slow" in text
    assert text.endswith("\n")


def test_resume_command_drops_fresh():
    assert resume_command(["sweep", "a b.toml", "--fresh", "-j", "2"]) == \
        "rnnbench sweep 'a b.toml' -j 2"


def _sweep_process(out, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "rnnbench.cli", "sweep", str(SMOKE_SPEC), "--model", "numpy-rnn",
            "--seeds", "6", "--max-sequences", "8192", "--out", str(out), *extra]
    return subprocess.Popen(args, cwd=REPO, env=CHILD_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_rows(out, n: int, process: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_text().count("\n") > n:  # header + n rows
            return
        time.sleep(0.01)
    pytest.fail(f"the sweep did not write {n} rows in time: {process.poll()}")


def test_a_sweep_killed_with_sigkill_and_rerun_has_one_row_per_cell(tmp_path):
    out = tmp_path / "r.csv"
    process = _sweep_process(out, "-j", "2", "-q")
    _wait_for_rows(out, 12, process)  # halfway
    process.kill()
    process.wait()
    killed = len(pd.read_csv(out))  # readable as it is, whenever the kill came
    assert 12 <= killed < 24
    rerun = _sweep_process(out, "-j", "2", "-q")
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    rows = ResultsCSV(out).rows()
    assert len(rows) == 24 == len({config_key(r) for r in rows})


def test_ctrl_c_stops_promptly_and_says_how_to_resume(tmp_path, worker_models):
    """Ctrl-C while a cell runs: waits for that event (a test-block cell started and one row is
    written), not for a time, so a loaded machine can neither finish every cell first nor send
    the signal before anything runs; the timeouts only bound a hang on a slow machine."""
    out, started = tmp_path / "r.csv", tmp_path / "started"
    started.mkdir()
    code = ("import worker_models, sys\nfrom rnnbench.cli import main\n"
            f"sys.argv = ['rnnbench', 'sweep', {str(SMOKE_SPEC)!r}, '--model', 'numpy-rnn', "
            "'--model', 'test-block', '--task', 'adding', '--lengths', '4', '--seeds', '2', "
            f"'--out', {str(out)!r}, '-j', '2']\nmain()\n")
    env = {**CHILD_ENV, worker_models.STARTED_ENV: str(started)}
    env.pop("RNNBENCH_IN_PROCESS", None)
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None and not (
                worker_models.started(started) and out.exists()
                and out.read_text().count("\n") > 1):
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()[1]
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Interrupted:" in stderr and "To resume, run: rnnbench sweep" in stderr
    assert "--out" in stderr and "Traceback" not in stderr
    assert 1 <= len(pd.read_csv(out)) < 4  # the blocked cell never finished


def test_keras_cells_run_in_spawned_workers(tmp_path):
    cells = [c for c in StudySpec.from_toml(SMOKE_SPEC).cells()
             if c.task == "adding" and c.length == 4]
    assert {c.model for c in cells} == {"numpy-rnn", "keras-simplernn", "keras-lstm"}
    df = run_sweep(cells, out=tmp_path / "r.csv", workers=2)
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert df["num_params"].notna().all()


def test_the_cli_defaults_to_one_worker_per_core(tmp_path, monkeypatch):
    from rnnbench.executors import default_workers

    monkeypatch.delenv("RNNBENCH_WORKERS")
    args = ["sweep", str(SMOKE_SPEC), "--model", "numpy-rnn", "--task", "adding", "--lengths",
            "4", "--out", str(tmp_path / "r.csv")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    n = default_workers()
    assert ("this process" if n == 1 else f"on {n} worker processes") in result.output


def test_a_model_defined_inside_a_function_asks_for_one_worker(tmp_path, registered):
    from rnnbench.registry import models, register_model

    @register_model("test-local")
    def local_factory(task, units, seed, **hparams):
        return models.get("numpy-rnn")(task, units, seed, **hparams)

    registered(models, "test-local")
    expected = r"'test-local' is registered in this process only.*--workers 1"
    with pytest.raises(ValueError, match=expected):
        run_sweep([cell("test-local", 0)], out=tmp_path / "r.csv", workers=2)
    assert run_sweep([cell("test-local", 0)], workers=1)["status"].tolist() == ["ok"]


def test_a_worker_keeps_no_traced_train_step_after_its_cell():
    """TensorFlow registers a custom gradient per traced Keras train step, in a process-wide
    registry that holds the whole graph (9.5 MB a cell); the worker's clean-up drops those, and
    keeps the ones registered before the cell."""
    import tensorflow as tf
    from tensorflow.python.framework import ops

    from rnnbench.executors import run_cell_in_worker

    @tf.custom_gradient
    def identity(x):
        return tf.identity(x), lambda dy: dy

    tf.function(identity).get_concrete_function(tf.TensorSpec([2]))  # registers one, in a graph
    registry = ops._gradient_registry._registry

    def custom() -> set:
        return {name for name in registry if name.startswith("CustomGradient-")}

    before = custom()
    for seed in range(2):
        keras_cell = SweepCell(task="adding", model="keras-lstm", length=3, seed=seed,
                               max_sequences=64, chunk_size=64, eval_size=16)
        assert run_cell_in_worker(keras_cell).status == "ok"
    assert custom() == before and before
