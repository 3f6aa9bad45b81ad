"""Fault injection (issue 20): results a user has touched (re-saved, edited, linked), a model that
changes folder, refusals before --fresh moves anything, plugins with bad names.

Fast: NumPy cells of a few hundred sequences, in this process unless a test needs a second one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rnnbench.cli import main
from rnnbench.csvlog import ResultsCSV, locked, parse_rows
from rnnbench.errors import UserError
from rnnbench.runner import run_sweep
from rnnbench.schema import SweepCell

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SMOKE = REPO / "tasks" / "smoke.toml"

def cli(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def cells(n: int = 2) -> list[SweepCell]:
    return [SweepCell(task="adding", model="numpy-rnn", length=4, seed=s, max_sequences=128,
                      chunk_size=64, eval_size=32) for s in range(n)]


# -- 1. a CSV re-saved by pandas is the same results ------------------------------------------


def test_a_csv_resaved_by_pandas_is_read_as_the_same_rows(spec, tmp_path):
    out = tmp_path / "r.csv"
    assert cli("sweep", spec, "--out", out, "-q").exit_code == 0
    before = cli("report", out).stdout
    pd.read_csv(out).to_csv(out, index=False)  # integer columns with empty cells become floats
    assert ".0," in out.read_text()  # the fault is really there: e.g. sequences_to_solve 2048.0
    parsed = parse_rows(out.read_bytes())
    assert not parsed.bad and len(parsed.rows) == 2
    report = cli("report", out)
    assert report.exit_code == 0 and "does not parse" not in report.stderr
    assert report.stdout == before
    resumed = cli("sweep", spec, "--out", out)  # nothing to train: both cells are there
    assert resumed.exit_code == 0 and "nothing to train" in resumed.stderr, resumed.stderr


@pytest.mark.parametrize("text, kind, expected", [
    ("2048.0", "int?", "2048"), ("2048", "int", "2048"), (" 7 ", "int", "7"),
    ("1e3", "int", "1000"),
    ("2048.5", "int?", None), ("nan", "int?", None), ("", "int", None), ("", "int?", ""),
    ("0.0030", "float", "0.003"), ("1e-05", "float", "1e-05"), ("x", "float", None),
])
def test_numbers_are_numbers_whoever_wrote_them(text, kind, expected):
    from rnnbench.csvlog import canonical_value

    assert canonical_value(kind, text) == expected


def test_a_fraction_in_an_integer_column_is_not_a_row(tmp_path):
    out = tmp_path / "r.csv"
    run_sweep(cells(1), out=out)
    df = pd.read_csv(out)
    df["sequences_seen"] = df["sequences_seen"] + 0.5
    df.to_csv(out, index=False)
    parsed = parse_rows(out.read_bytes())
    assert parsed.rows == [] and "sequences_seen = '128.5' is not a whole number" in parsed.bad[0]


# -- 2. --retry-failed never deletes a line a user has ----------------------------------------


def test_retry_failed_moves_unreadable_lines_to_a_named_side_file(spec, tmp_path):
    out = tmp_path / "r.csv"
    assert cli("sweep", spec, "--out", out, "-q").exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    failed = lines[1].replace(",ok,", ",error,")  # the first cell failed: retry reruns it
    edited = ["my note about this run\n", "adding,numpy-rnn,4,zero\n", "1,2,3\n", "x,y\n"]
    out.write_text("".join([lines[0], failed, lines[2], *edited]))
    result = cli("sweep", spec, "--out", out, "--retry-failed", "-q")
    assert result.exit_code == 0, result.output
    side = tmp_path / "r.set-aside.txt"
    assert f"4 lines of {str(out)!r}" in result.stderr and str(side) in result.stderr
    assert side.read_text() == "".join(edited)  # kept as they were
    rows = ResultsCSV(out).rows()
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)


def test_a_last_line_without_its_line_end_is_set_aside_not_cut(tmp_path):
    out = tmp_path / "r.csv"
    run_sweep(cells(1), out=out)
    with open(out, "a") as f:
        f.write("a user's line, saved without a line end")
    warnings: list[str] = []
    run_sweep(cells(2), out=out, warn=warnings.append)
    assert (tmp_path / "r.set-aside.txt").read_text() == "a user's line, saved without a line end\n"
    assert any("1 line of" in w and "r.set-aside.txt" in w for w in warnings), warnings
    assert len(ResultsCSV(out).rows()) == 2


# -- 3. the lock is the file's, whatever its name ---------------------------------------------


def test_a_hard_link_meets_the_lock(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("")
    link = tmp_path / "h.csv"
    os.link(out, link)
    code = (f"from rnnbench.csvlog import locked\nimport sys, time\n"
            f"with locked({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match="hard link"), locked(link):
            pass
        with pytest.raises(UserError, match="another rnnbench sweep"), locked(out):
            pass
    finally:
        holder.kill()
        holder.wait()
    with locked(link):  # free again once the holder is gone (the kernel drops its lock)
        pass


def test_retry_failed_keeps_the_inode_locked(tmp_path):
    """--retry-failed swaps a new file in: the new inode is locked too."""
    import fcntl

    out = tmp_path / "x.csv"
    run_sweep(cells(1), out=out)
    text = out.read_text().replace(",ok,", ",error,")
    out.write_text(text)
    seen: list[bool] = []

    def probe(*_: object) -> None:  # while the retried cell's row is written: try the new inode
        fd = os.open(out, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append(False)
        except BlockingIOError:
            seen.append(True)
        finally:
            os.close(fd)

    run_sweep(cells(1), out=out, retry_failed=True, progress=probe)
    assert seen == [True]


def test_proc_files_are_refused_not_waited_for(spec):
    out = Path("/proc/version")
    if not out.exists():
        pytest.skip("no /proc here")
    line = one_line_error(cli("sweep", spec, "--out", out, "--wait"))
    assert "/proc/version" in line and "another" not in line


# -- 4. rows go where --out said when the sweep began -----------------------------------------


def test_a_model_that_changes_folder_does_not_redirect_rows(spec, tmp_path, registered,
                                                           monkeypatch):
    from rnnbench.registry import models

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def wandering(task, units, seed, **hparams):
        os.chdir(elsewhere)
        return models.get("numpy-rnn")(task, units, seed, **hparams)

    models.register("test-chdir", wandering)
    registered(models, "test-chdir")
    monkeypatch.chdir(tmp_path)
    result = cli("sweep", spec, "--model", "test-chdir", "--out", "rel.csv", "--in-process")
    assert result.exit_code == 0, result.output
    assert len(ResultsCSV(tmp_path / "rel.csv").rows()) == 2
    assert not (elsewhere / "rel.csv").exists() and not list(elsewhere.iterdir())
    assert not list(tmp_path.glob(".rel.csv.lock.holder"))  # no stale holder file
    assert "rows are in rel.csv" in result.stdout
    monkeypatch.chdir(tmp_path)
    from rnnbench import sweep

    df = sweep(spec=str(spec), models="test-chdir", out="api.csv", workers=1, progress=False)
    assert len(df) == 2 and len(ResultsCSV(tmp_path / "api.csv").rows()) == 2
    assert not (elsewhere / "api.csv").exists()


# -- 5. --fresh moves nothing before every check passed ---------------------------------------


def test_fresh_with_an_unreachable_scheduler_moves_nothing(spec, tmp_path):
    import socket

    out = tmp_path / "r.csv"
    assert cli("sweep", spec, "--out", out, "-q").exit_code == 0
    before = out.read_bytes()
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli("sweep", spec, "--out", out, "--fresh", "--scheduler",
                 f"tcp://127.0.0.1:{port}", env={"RNNBENCH_DASK_CONNECT_TIMEOUT": "2"})
    assert "Dask scheduler" in one_line_error(result)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.glob("r*.csv")) == [
        "r.csv"]


# -- 7. a plugin with a bad name is left out, the rest load -----------------------------------


@pytest.mark.parametrize("body", [
    "from rnnbench.registry import models\nmodels.register('two\\nlines', lambda *a, **k: None)\n",
    "from rnnbench.registry import models\nmodels.register('numpy-rnn', lambda *a, **k: None)\n",
    "from rnnbench.registry import models\nmodels.register('plugin-ok-first', lambda *a: None)\n"
    "models.register('', lambda *a: None)\n",
])
def test_a_plugin_registering_a_bad_name_is_left_out_with_one_warning(tmp_path, monkeypatch,
                                                                      body):
    import importlib.metadata

    from rnnbench import registry

    (tmp_path / "badname_plugin_mod.py").write_text(body)
    (tmp_path / "good_plugin_mod.py").write_text(
        "from rnnbench.registry import models\n"
        "models.register('plugin-good', lambda *a, **k: None)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    group = registry.ENTRY_POINT_GROUP
    eps = [importlib.metadata.EntryPoint("badname", "badname_plugin_mod", group),
           importlib.metadata.EntryPoint("good", "good_plugin_mod", group)]
    monkeypatch.setattr(registry, "_installed_entry_points", lambda: eps)
    monkeypatch.delenv(registry.NO_PLUGINS_ENV, raising=False)
    monkeypatch.setattr(registry, "_loaded", False)
    try:
        with pytest.warns(RuntimeWarning) as caught:
            result = cli("list")
        assert result.exit_code == 0, result.output
        messages = [str(w.message) for w in caught]
        assert len(messages) == 1
        assert "'badname'" in messages[0] and "--skip-plugin badname" in messages[0]
        assert "plugin-good" in result.stdout and "numpy-rnn" in result.stdout
        assert "plugin-ok-first" not in result.stdout  # left out whole
        assert registry.models.entry("numpy-rnn").source == registry.BUILTIN_SOURCE
    finally:
        monkeypatch.undo()
        for name in ("plugin-good", "plugin-ok-first"):
            registry.models.unregister(name)
        for module in ("badname_plugin_mod", "good_plugin_mod"):
            sys.modules.pop(module, None)
        registry.load_plugins(force=True)


def test_the_slow_plugin_notice_fits_100_columns():
    from rnnbench.registry import slow_notice

    for name in ("slowpoke", "x" * 10, "a-plugin-with-a-long-entry-point-name"):
        text = slow_notice(name, 3)
        assert all(len(line) <= 100 for line in text.splitlines())
        assert f"--skip-plugin {name}" in text
    assert len(slow_notice("x" * 10, 3).splitlines()) == 1




# -- predictions and losses are real numbers; a model's KeyboardInterrupt in a worker ---------


@pytest.fixture
def fault_models():
    import fault_models as module

    yield module
    module.unregister()
    sys.modules.pop("fault_models", None)


@pytest.mark.parametrize("name", ["test-pred-timedelta", "test-pred-datetime", "test-pred-complex",
                                  "test-loss-numeric-text", "test-loss-timedelta"])
def test_only_real_numbers_are_predictions_and_losses(fault_models, name):
    from rnnbench.harness import run_cell

    result = run_cell(replace(cells(1)[0], model=name))
    assert result.status == "error" and "ContractError" in result.error, result
    assert "timedelta" in result.error or "datetime" in result.error or "complex" in \
        result.error or "str" in result.error


def test_a_models_keyboard_interrupt_in_a_worker_is_a_crashed_row_without_a_traceback(spec,
                                                                                      tmp_path):
    out = tmp_path / "r.csv"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{TESTS}", "RNNBENCH_NO_PLUGINS": "1"}
    env.pop("RNNBENCH_IN_PROCESS", None)
    code = ("import fault_models, sys\nfrom rnnbench.cli import main\n"
            f"sys.argv = ['rnnbench', 'sweep', {str(spec)!r}, '--out', {str(out)!r}, '-q', "
            "'-j', '1', '--seeds', '1', '--model', 'test-interrupt', '--model', 'numpy-rnn']\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    rows = pd.read_csv(out).set_index("model")
    assert rows.loc["test-interrupt", "status"] == "crashed"
    assert "KeyboardInterrupt" in rows.loc["test-interrupt", "error"]
    assert rows.loc["numpy-rnn", "status"] == "ok"


# -- 8. a spec that is not a study file is refused without reading it all ---------------------


@pytest.mark.parametrize("make", ["/dev/zero", "fifo", "big", "not-utf8", "deep", "deep-500"])
def test_a_spec_that_is_no_study_file_is_one_line(tmp_path, make):
    if make == "/dev/zero":
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero here")
    elif make == "fifo":
        path = tmp_path / "pipe.toml"
        os.mkfifo(path)  # opening it for reading would wait for a writer
    else:
        path = tmp_path / f"{make}.toml"
        path.write_bytes({
            "big": b"# " + b"x" * 2_000_000 + b"\n",
            "not-utf8": b'name = "\xff\xfe"\n',
            "deep": b"lengths = " + b"[" * 5000 + b"]" * 5000 + b"\n",
            "deep-500": b"lengths = {adding = " + b"[" * 500 + b"1" + b"]" * 500 + b"}\n",
        }[make])
    started = time.monotonic()
    line = one_line_error(cli("sweep", path, "--out", tmp_path / "r.csv"))
    assert time.monotonic() - started < 20 and str(path) in line
    assert not (tmp_path / "r.csv").exists()


# -- still a traceback or a wrong reason: one line, exit 2, naming the value -------------------


@pytest.mark.parametrize("args, env, words", [
    (["sweep", "SPEC", "--out", ""], {}, "not a file name"),
    (["sweep", "SPEC", "--seeds", "1"], {"RNNBENCH_SLOW_PLUGIN_SECONDS": "abc"}, None),
    (["sweep", "SPEC", "--scheduler", "tcp://127.0.0.1:1"],
     {"RNNBENCH_DASK_CONNECT_TIMEOUT": "abc"}, "RNNBENCH_DASK_CONNECT_TIMEOUT='abc'"),
    (["sweep", "SPEC"], {"RNNBENCH_WORKERS": "abc"}, "abc"),
    (["gradients", "--task", "adding", "--model", "numpy-rnn", "--length", "4", "--seed", "-1"],
     {}, "--seed"),
    (["gradients", "--task", "adding", "--model", "numpy-lstm", "--length", "4",
      "--forget-bias", "nan"], {}, "--forget-bias"),
    (["gradients", "--task", "adding", "--model", "numpy-rnn", "--length", "4", "--out", ""],
     {}, "not a file name"),
])
def test_refusals_that_were_tracebacks_are_one_line(spec, tmp_path, monkeypatch, args, env,
                                                    words):
    from rnnbench import registry

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if "RNNBENCH_SLOW_PLUGIN_SECONDS" in env:  # read when the plugins load
        monkeypatch.delenv(registry.NO_PLUGINS_ENV, raising=False)
        monkeypatch.setattr(registry, "_installed_entry_points", lambda: [])
        monkeypatch.setattr(registry, "_loaded", False)
        words = "RNNBENCH_SLOW_PLUGIN_SECONDS='abc'"
    monkeypatch.chdir(tmp_path)
    args = [str(spec) if a == "SPEC" else a for a in args]
    try:
        line = one_line_error(cli(*args))
    finally:
        monkeypatch.undo()
        registry.load_plugins(force=True)
    assert words in line, line
    assert not list(tmp_path.glob("*.csv"))


def test_seeds_beyond_32_bits_are_refused_before_a_cell_runs(tmp_path, spec):
    body = spec.read_text().replace("seeds = 2", f"seeds = [{2**128 + 1}]")
    (tmp_path / "s.toml").write_text(body)
    line = one_line_error(cli("sweep", tmp_path / "s.toml", "--out", tmp_path / "r.csv"))
    assert "seeds" in line and "4294967295" in line and not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("kwargs, error, words", [
    ({"workers": "2"}, TypeError, "workers = '2'"),
    ({"workers": 0}, ValueError, "workers = 0"),
    ({"out": 123}, TypeError, "out = 123"),
    ({"out": ""}, ValueError, "out = ''"),
    ({"spec": 5}, TypeError, "spec = 5"),
    ({"seeds": [2**64]}, ValueError, "seeds"),
    ({"cell_timeout": "1"}, TypeError, "cell_timeout"),
    ({"scheduler": 8786}, TypeError, "scheduler"),
    ({"wait": "yes"}, TypeError, "wait"),
    ({"env": "abc"}, ValueError, "RNNBENCH_WORKERS='abc'"),
])
def test_the_python_api_names_a_bad_argument_before_any_cell_runs(tmp_path, monkeypatch,
                                                                   kwargs, error, words):
    import rnnbench

    monkeypatch.chdir(tmp_path)
    if "env" in kwargs:
        monkeypatch.setenv("RNNBENCH_WORKERS", kwargs.pop("env"))
    ran: list[object] = []
    monkeypatch.setattr("rnnbench.harness.run_cell", lambda cell: ran.append(cell))
    with pytest.raises(error, match=words.replace("(", r"\(")):
        rnnbench.sweep(spec=kwargs.pop("spec", str(SMOKE)), progress=False, **kwargs)
    assert ran == [] and not list(tmp_path.iterdir())


@pytest.mark.parametrize("results", [123, None, ["a.csv"], b"r.csv"])
def test_report_names_a_bad_argument(results):
    import rnnbench

    with pytest.raises(TypeError, match="results = "):
        rnnbench.report(results)


# -- a new user's first report: nothing half-written when figures cannot be drawn -------------


def test_report_checks_matplotlib_before_writing_anything(tmp_path, monkeypatch):
    out = tmp_path / "r.csv"
    run_sweep(cells(1), out=out)
    folder = tmp_path / "report"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib: ImportError
    line = one_line_error(cli("report", out, "--out", folder, "--plot", "--html"))
    assert "matplotlib" in line and "nothing was written" in line
    assert not folder.exists() and sorted(p.name for p in tmp_path.iterdir()) == [".r.csv.lock",
                                                                                  "r.csv"]


def test_matplotlib_is_an_install_requirement():
    import configparser

    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    assert "matplotlib" in config["options"]["install_requires"]


# -- what a new user reads on a terminal: at most 100 columns ---------------------------------


def test_list_lines_fit_100_columns(registered):
    from rnnbench.registry import models

    def wordy(task, units, seed, **hparams):
        """A model whose description is far longer than a terminal line, to see it wrap under
        itself rather than run on: it says a great deal about itself, and keeps on saying it."""

    models.register("a-plugin-model-with-a-long-name", wordy)
    registered(models, "a-plugin-model-with-a-long-name")
    result = cli("list")
    assert result.exit_code == 0
    widths = [len(line) for line in result.stdout.splitlines()]
    assert max(widths) <= 100, max(widths)
    assert "a-plugin-model-with-a-long-name" in result.stdout


@pytest.mark.parametrize("csv", ["teaching.csv", "hochreiter1997.csv"])
def test_report_tables_and_captions_fit_100_columns(csv):
    result = cli("report", REPO / "results" / csv)
    assert result.exit_code == 0, result.output
    long = [line for line in result.stdout.splitlines() if len(line) > 100]
    assert not long, long[:3]
    assert "0.97 ± 0.01 (solved 3/3)" in result.stdout or "1997" in result.stdout


def test_a_plugins_native_start_up_lines_go_to_the_log_and_the_notice_appears_once(tmp_path):
    """A plugin importing keras at its top writes TensorFlow's start-up lines to fd 2; they go to
    the log, as the built-ins' do. Simulated by a plugin that writes to fd 2 and is slow."""
    (tmp_path / "noisy_plugin_mod.py").write_text(
        "import os, time\nos.write(2, b'I0000 native start-up line\\n' * 26)\ntime.sleep(1.5)\n")
    log = tmp_path / "native.log"
    code = ("import importlib.metadata as m, sys\nfrom rnnbench import registry, cli\n"
            "ep = m.EntryPoint('noisy', 'noisy_plugin_mod', registry.ENTRY_POINT_GROUP)\n"
            "registry._installed_entry_points = lambda: [ep]\n"
            "sys.argv = ['rnnbench', 'list']\ncli.main()\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}",
           "RNNBENCH_SLOW_PLUGIN_SECONDS": "0.3", "RNNBENCH_NATIVE_LOG": str(log)}
    for name in ("RNNBENCH_NO_PLUGINS", "RNNBENCH_VERBOSE", "RNNBENCH_SLOW_PLUGIN_NAMED"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "native start-up line" not in done.stderr
    assert log.read_text().count("native start-up line") == 26
    assert done.stderr.count("still importing plugin 'noisy'") == 1
    assert all(len(line) <= 100 for line in done.stderr.splitlines()), done.stderr


@pytest.mark.parametrize("command", [["sweep", "SPEC"], ["gradients", "--task", "adding",
                                                          "--model", "numpy-rnn", "--length", "4"]])
def test_an_unknown_keras_backend_is_refused_up_front(spec, tmp_path, command):
    """In a new process, as a user meets it (here Keras is long imported, its backend fixed)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "KERAS_BACKEND": "theano"}
    args = [str(spec) if a == "SPEC" else a for a in command]
    done = subprocess.run([sys.executable, "-m", "rnnbench.cli", *args, "--out",
                           str(tmp_path / "r.csv")], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [
        line for line in done.stderr.strip().splitlines() if line.startswith("Error: ")]
    assert "KERAS_BACKEND='theano'" in done.stderr and not (tmp_path / "r.csv").exists()
