"""Fault injection (issue 11): nothing lost, nothing silently wrong, one line for every refusal.

Fast on purpose: NumPy models, budgets of a few hundred sequences, each test seconds. Faults of
the machine (a full disk, a read-only folder) use small tmpfs mounts where this platform allows
mounting (root on Linux) and are skipped elsewhere; each also has an in-process twin.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rnnbench.cli import main
from rnnbench.csvlog import ResultsCSV, locked, parse_rows
from rnnbench.errors import MachineError, UserError
from rnnbench.harness import run_cell
from rnnbench.schema import COLUMNS, SweepCell

# Slow: most tests start sweeps in subprocesses and send them signals; the full suite runs them.
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TINY = ["--max-sequences", "128"]  # with the spec below: chunks of 64, 32 held-out sequences

@pytest.fixture
def fault_models():
    import fault_models as module

    yield module
    module.unregister()
    sys.modules.pop("fault_models", None)


def cli(*args: str, env: dict[str, str] | None = None):
    """The real command group in this process; stderr apart from stdout."""
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def cell(**kw) -> SweepCell:
    base = {"task": "adding", "model": "numpy-rnn", "length": 4, "seed": 0,
            "max_sequences": 128, "chunk_size": 64, "eval_size": 32}
    return SweepCell(**{**base, **kw})


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "RNNBENCH_NO_PLUGINS": "1", "PYTHONPATH": f"{REPO}{os.pathsep}{TESTS}",
           **extra}
    env.pop("RNNBENCH_IN_PROCESS", None)
    return env


def rnnbench_process(*args: str, plugin: str | None = None, **env: str) -> subprocess.Popen:
    """`rnnbench ARGS` in a new process; `plugin` names a tests/ module to import first (it
    registers test models, as a plugin would; the workers import it too)."""
    code = (f"import {plugin}\n" if plugin else "") + (
        "import sys\nfrom rnnbench.cli import main\n"
        f"sys.argv = ['rnnbench', *{[str(a) for a in args]!r}]\nmain()\n")
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, env=subprocess_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    folder.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True)
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


# -- one writer per results CSV -----------------------------------------------------------------


def test_a_second_sweep_on_a_locked_csv_is_refused_naming_the_holder(spec, tmp_path):
    out = tmp_path / "r.csv"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from rnnbench.csvlog import locked\n"
         f"with locked({str(out)!r}):\n    print('held', flush=True); time.sleep(60)"],
        env=subprocess_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        line = one_line_error(cli("sweep", spec, "--out", out, "-q"))
        assert f"pid {holder.pid}" in line and "another rnnbench sweep" in line and "--wait" in line
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    result = cli("sweep", spec, "--out", out, "-q")  # the holder is gone: the lock is free
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 2


def test_two_concurrent_sweeps_run_every_cell_once(spec, tmp_path):
    out = tmp_path / "r.csv"
    first = rnnbench_process("sweep", spec, "--out", out, "-q", "--seeds", "6", "-j", "1",
                             "--wait")
    second = rnnbench_process("sweep", spec, "--out", out, "-q", "--seeds", "6", "-j", "1",
                              "--wait")
    for p in (first, second):
        p.communicate(timeout=120)
    assert {first.returncode, second.returncode} == {0}
    rows = pd.read_csv(out)
    assert len(rows) == 6 and not rows.duplicated(["seed"]).any()


def test_wait_queues_behind_the_holder(spec, tmp_path):
    out = tmp_path / "r.csv"
    with locked(out):
        waiter = rnnbench_process("sweep", spec, "--out", out, "-q", "--wait")
        wait_for(lambda: waiter.poll() is None and out.with_name(".r.csv.lock").exists(), 10,
                 "the waiter to start")
        time.sleep(2)
        assert waiter.poll() is None  # still waiting
    _, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert "waiting" in err and len(pd.read_csv(out)) == 2


# -- atomic rows, disk full, rows that do not parse ---------------------------------------------


def test_a_failed_write_takes_the_row_back(tmp_path, monkeypatch):
    log = ResultsCSV(tmp_path / "r.csv")
    log.prepare()
    row = {c: "" for c in COLUMNS} | {"task": "adding", "model": "m", "length": 4, "seed": 0,
                                      "units": 1, "max_sequences": 1, "batch_size": 1,
                                      "chunk_size": 1, "eval_size": 1, "sequences_seen": 1}
    log.append(row)
    before = log.path.read_bytes()
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(MachineError, match="No space left on device"):
        log.append(row | {"seed": 1})
    monkeypatch.undo()
    assert log.path.read_bytes() == before  # wholly or not at all
    assert len(log.rows()) == 1


def test_disk_full_is_one_line_and_the_csv_stays_readable(spec, tmp_path):
    with tmpfs(tmp_path / "small", "64k") as folder:
        filler = folder / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk, then free one page
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 4096)
        os.ftruncate(fd, os.fstat(fd).st_size - 3 * 4096)  # the lock, its holder, the CSV
        os.close(fd)
        out = folder / "r.csv"
        result = cli("sweep", spec, "--out", out, "-q", "--seeds", "60", "--in-process")
        line = one_line_error(result, code=1)
        assert "No space left on device" in line and "resume" in line
        data = out.read_bytes()
        assert data.endswith(b"\n")
        parsed = parse_rows(data)
        assert not parsed.bad and 0 < len(parsed.rows) < 60
        report = cli("report", out)
        assert report.exit_code == 0, report.output
        assert f"({len(parsed.rows)} rows)" in report.stdout


@pytest.mark.parametrize("garbage", [
    b"adding,numpy-rnn,4,0,32\n",  # too few fields
    b"adding,numpy-rnn,4,zero" + b",1" * 22 + b"\n",  # a non-number where a number belongs
    b"\xff\xfe not utf-8\n",
    b"adding,numpy-rnn,4,1",  # cut short: no line end
])
def test_resume_and_report_skip_rows_that_do_not_parse(spec, tmp_path, garbage):
    out = tmp_path / "r.csv"
    assert cli("sweep", spec, "--out", out, "-q", "--seeds", "1").exit_code == 0
    with open(out, "ab") as f:
        f.write(garbage)
    report = cli("report", out)
    assert report.exit_code == 0, report.output
    assert "1 row does not parse" in report.stderr and "(1 row)" in report.stdout
    resumed = cli("sweep", spec, "--out", out, "-q")  # seed 1 runs; the garbage is not a result
    assert resumed.exit_code == 0, resumed.output
    if garbage.endswith(b"\n"):
        assert "does not parse" in resumed.stderr and "their cells run again" in resumed.stderr
    report = cli("report", out)
    assert report.exit_code == 0 and "(2 rows)" in report.stdout
    assert "solved" in report.stdout and "/2)" in report.stdout


# -- predictions and task outputs are checked ---------------------------------------------------


def test_invalid_predictions_and_task_outputs_are_error_rows(fault_models):
    for name in fault_models.NAMES:
        if name in fault_models.EXITS or name in fault_models.INTERRUPTS:
            continue
        result = run_cell(cell(model=name))
        assert result.status == "error", (name, result)
        assert "ContractError" in result.error and "\n" not in result.error
    for name in fault_models.TASK_NAMES:
        result = run_cell(cell(task=name))
        assert result.status == "error" and f"task {name!r}" in result.error, result


def test_what_was_wrong_is_named(fault_models):
    expected = {
        "test-pred-nan": "non-finite", "test-pred-none": "None", "test-pred-shape": "shape (32, 3)",
        "test-pred-strings": "dtype", "test-loss-none": "loss that is None, not a number",
    }
    for name, words in expected.items():
        assert words in run_cell(cell(model=name)).error, name


# -- a model that ends its process --------------------------------------------------------------


def test_sys_exit_in_a_model_is_an_error_row_in_process(fault_models):
    result = run_cell(cell(model="test-sysexit"))
    assert result.status == "error" and "SystemExit: 3" in result.error


def test_os_exit_in_process_is_refused_as_an_error_row(fault_models, spec):
    from rnnbench import sweep

    df = sweep(spec=str(spec), models=["test-osexit", "numpy-rnn"], seeds=1)
    statuses = dict(zip(df["model"], df["status"], strict=True))
    assert statuses == {"test-osexit": "error", "numpy-rnn": "ok"}
    assert "os._exit(7)" in df.loc[df["model"] == "test-osexit", "error"].iloc[0]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_exits_cost_one_row_with_any_number_of_workers(spec, tmp_path, workers):
    out = tmp_path / "r.csv"
    p = rnnbench_process("sweep", spec, "--out", out, "-q", "-j", workers, "--seeds", "1",
                         "--model", "test-osexit", "--model", "test-sysexit",
                         "--model", "numpy-rnn", plugin="fault_models")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    rows = pd.read_csv(out).set_index("model")
    assert rows.loc["test-osexit", "status"] == "crashed"
    assert "exited with code 7" in rows.loc["test-osexit", "error"]
    assert rows.loc["test-sysexit", "status"] == "error"
    assert rows.loc["numpy-rnn", "status"] == "ok"


# -- memory is bounded before it is spent -------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--lengths", "200000"],
    ["--units", "100000"],
    ["--memory-limit", "1MB"],
])
def test_memory_refusal_is_one_line_before_anything_runs(spec, tmp_path, args):
    out = tmp_path / "r.csv"
    started = time.monotonic()
    line = one_line_error(cli("sweep", spec, "--out", out, "-q", *args))
    assert "estimated peak" in line and "memory limit" in line
    assert time.monotonic() - started < 10 and not out.exists()


def test_a_huge_eval_size_in_a_spec_is_refused(tmp_path, spec):
    path = tmp_path / "big.toml"
    path.write_text(spec.read_text().replace("eval_size = 32", "eval_size = 100000000"))
    assert "estimated peak" in one_line_error(cli("sweep", path, "--out", tmp_path / "r.csv"))


def test_an_absurd_grid_is_refused_before_it_is_listed(spec, tmp_path):
    started = time.monotonic()
    line = one_line_error(cli("sweep", spec, "--out", tmp_path / "r.csv", "--seeds", "100000000"))
    assert "100,000,000 cells" in line and time.monotonic() - started < 5


@pytest.mark.parametrize("value", ["lots", "0", "-5GB", "150%", "0%", "1KB", "nan"])
def test_bad_memory_limits_are_refused(spec, tmp_path, value):
    assert "--memory-limit" in one_line_error(
        cli("sweep", spec, "--out", tmp_path / "r.csv", "--memory-limit", value))


@pytest.mark.parametrize("model, length", [("numpy-rnn", 200), ("numpy-lstm", 300)])
def test_the_estimate_is_within_4x_above_a_measured_numpy_peak(model, length):
    """The estimate (less its process allowance) lies between 1x and 4x tracemalloc's peak."""
    import tracemalloc

    from rnnbench.memory import NUMPY_PROCESS, estimate

    c = cell(task="delayed-recall", model=model, length=length, max_sequences=1024,
             chunk_size=512, eval_size=500)
    tracemalloc.start()
    try:
        assert run_cell(c).status == "ok"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ratio = (estimate(c) - NUMPY_PROCESS) / peak
    assert 1.0 <= ratio <= 4.0, ratio


# -- shutdown -----------------------------------------------------------------------------------


def rows_in(out: Path) -> int:
    return len(parse_rows(out.read_bytes()).rows) if out.exists() else 0


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _slow_sweep(spec: Path, out: Path, started: Path) -> subprocess.Popen:
    # test-block (tests/worker_models.py) stays running in seed 1's cells, after touching a file
    # in `started`: the event the signal tests wait on, instead of a time
    started.mkdir(exist_ok=True)
    return rnnbench_process("sweep", spec, "--out", out, "-j", "2", "--seeds", "2",
                            "--model", "test-block", "--model", "numpy-rnn",
                            plugin="worker_models", RNNBENCH_TEST_STARTED_DIR=str(started))


# Generous on purpose: on a loaded 2-core machine spawning a worker and importing NumPy can take
# tens of seconds. Nothing here waits for a time to pass; these only bound a hang.
SLOW_MACHINE_SECONDS = 300


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_is_ctrl_c_rows_kept_workers_stopped_hint_printed(spec, tmp_path, signum,
                                                                 worker_models):
    import psutil

    out, started = tmp_path / "r.csv", tmp_path / "started"
    p = _slow_sweep(spec, out, started)
    try:  # the events: a blocking cell is running, and a row is written
        wait_for(lambda: worker_models.started(started) >= 1 and rows_in(out) >= 1
                 or p.poll() is not None, SLOW_MACHINE_SECONDS, "a running cell and a row")
        assert p.poll() is None, p.communicate()[1]
        workers = _children(p.pid)
        assert workers
        seen = rows_in(out)
        p.send_signal(signum)
        _, err = p.communicate(timeout=SLOW_MACHINE_SECONDS)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + signum, err
    assert "To resume, run:" in err and "Traceback" not in err
    gone, alive = psutil.wait_procs(workers, timeout=SLOW_MACHINE_SECONDS)
    assert not alive
    assert seen <= rows_in(out) < 4  # rows kept; the blocked cell never finished


def test_workers_exit_when_the_parent_is_killed(spec, tmp_path, worker_models):
    import psutil

    out, started = tmp_path / "r.csv", tmp_path / "started"
    p = _slow_sweep(spec, out, started)
    wait_for(lambda: worker_models.started(started) >= 1 or p.poll() is not None,
             SLOW_MACHINE_SECONDS, "a running cell")
    workers = _children(p.pid)
    assert workers
    p.kill()
    p.wait()
    gone, alive = psutil.wait_procs(workers, timeout=SLOW_MACHINE_SECONDS)
    for proc in alive:  # clean up before failing
        proc.kill()
    assert not alive, "workers outlived their sweep"


# -- plugins ------------------------------------------------------------------------------------


@pytest.fixture
def slow_plugin(tmp_path, monkeypatch):
    import importlib.metadata

    from rnnbench import registry

    (tmp_path / "slow_plugin_mod.py").write_text("import time\ntime.sleep(2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint("slowpoke", "slow_plugin_mod", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "_installed_entry_points", lambda: [ep])
    monkeypatch.setattr(registry, "SLOW_PLUGIN_SECONDS", 0.5)
    monkeypatch.setenv(registry.SLOW_NOTICE_SHOWN_ENV, "")  # named once a process: not yet
    monkeypatch.delenv(registry.NO_PLUGINS_ENV, raising=False)
    monkeypatch.delenv(registry.SKIP_PLUGINS_ENV, raising=False)
    yield registry
    monkeypatch.undo()
    sys.modules.pop("slow_plugin_mod", None)
    registry.load_plugins(force=True)  # back to the built-ins only (NO_PLUGINS is restored)


def test_a_slow_plugin_is_named_while_it_loads(slow_plugin, capfd):
    slow_plugin.load_plugins(force=True)
    err = capfd.readouterr().err
    assert "still importing plugin 'slowpoke'" in err and "--skip-plugin slowpoke" in err


def test_skip_plugin_leaves_it_out(slow_plugin, monkeypatch, capfd):
    started = time.monotonic()
    result = cli("--skip-plugin", "slowpoke", "list")
    assert result.exit_code == 0 and time.monotonic() - started < 1.5
    assert "slow_plugin_mod" not in sys.modules
    monkeypatch.delenv(slow_plugin.SKIP_PLUGINS_ENV, raising=False)


def test_a_plugin_that_calls_sys_exit_is_reported_not_fatal(tmp_path, monkeypatch):
    import importlib.metadata

    from rnnbench import registry

    (tmp_path / "exiting_plugin_mod.py").write_text("import sys\nsys.exit(5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint("exiter", "exiting_plugin_mod", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "_installed_entry_points", lambda: [ep])
    monkeypatch.delenv(registry.NO_PLUGINS_ENV, raising=False)
    try:
        with pytest.warns(RuntimeWarning, match="'exiter'.*SystemExit"):
            assert registry.load_plugins(force=True) == ["exiter"]
    finally:
        monkeypatch.undo()
        registry.load_plugins(force=True)


# -- names and Markdown -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["two\nlines", "tab\there", "esc\x1b[31m", "nul\x00", " pad",
                                  "", "x" * 101, 42])
def test_names_must_be_printable_single_line_text(name):
    from rnnbench.registry import RegistryError, models

    with pytest.raises(RegistryError):
        models.register(name, lambda task, units, seed: None)
    assert isinstance(RegistryError("x"), UserError)


def test_markdown_escapes_what_it_embeds(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("task,model,length,seed,accuracy,sequences_to_solve\n"
                    "adding,<script>alert(1)</script>,4,0,0.5,\n"
                    "adding,[x](javascript:alert(1)) | *b*,4,0,0.5,\n")
    result = cli("report", path, "--out", tmp_path / "rep")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "rep" / "r_accuracy.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\[x\\](javascript:alert(1)) \\| \\*b\\*" in md


# -- one line and exit 2 for every bad value known up front --------------------------------------


@pytest.mark.parametrize("args", [
    ["--cell-timeout", "inf"], ["--cell-timeout", "nan"], ["--cell-timeout", "-1"],
    ["--forget-bias", "nan"], ["--forget-bias", "inf"], ["--forget-bias", ","],
    ["--lengths", "1e9"], ["--lengths", "0"], ["--seeds", "0"], ["--units", "-3"],
    ["--scheduler", "garbage"], ["--scheduler", "tcp://host:99999"], ["--scheduler", "tcp://:1"],
    ["--scheduler", "tcp://127.0.0.1:8786", "--cell-timeout", "5"],
    ["--model", "no-such-model"], ["--task", "no-such-task"], ["--backend", "theano"],
    ["--memory-limit", ""], ["--no-such-option"],
])
def test_bad_options_are_one_line_and_exit_2(spec, tmp_path, args):
    one_line_error(cli("sweep", spec, "--out", tmp_path / "r.csv", "-q", *args))
    assert not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("body", [
    'models = []', 'tasks = []', 'forget_bias = nan', 'forget_bias = [1.0, inf]',
    'learning_rate = nan', 'lengths = {adding = [4], nosuchtask = [3]}',
    'max_sequences = {nosuchtask = 5}', 'name = "two\\nlines"', 'seeds = -1', 'seeds = []',
    'units = 1.5', 'lengths = "4"', 'solve_threshold = 2', 'unknown_key = 1', 'models = [1]',
    'lengths = [[4]]', 'models = "numpy-rnn" \nmodels = "x"', '= broken toml',
])
def test_bad_specs_are_one_line_and_exit_2(tmp_path, body):
    path = tmp_path / "bad.toml"
    base = 'models = ["numpy-rnn"]\nseeds = 1\nmax_sequences = 64\nchunk_size = 64\n' \
           'eval_size = 16\nlengths = {adding = [4]}\n'
    keys = {line.split("=")[0].strip() for line in body.splitlines() if "=" in line}
    kept = [line for line in base.splitlines() if line.split("=")[0].strip() not in keys]
    path.write_text("\n".join([*kept, body]) + "\n")
    one_line_error(cli("sweep", path, "--out", tmp_path / "r.csv", "-q"))


def test_out_that_cannot_hold_a_csv(spec, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for out in ("/dev/null", fifo, tmp_path, tmp_path / "file" / "below-a-file.csv"):
        if str(out).endswith("below-a-file.csv"):
            (tmp_path / "file").write_text("")
        line = one_line_error(cli("sweep", spec, "--out", out, "-q"))
        assert "cannot write results" in line or "is a directory" in line


def test_fresh_on_a_read_only_folder_is_one_line(spec, tmp_path, monkeypatch):
    out = tmp_path / "r.csv"
    assert cli("sweep", spec, "--out", out, "-q").exit_code == 0

    def refuse(src, dst):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "rename", refuse)
    line = one_line_error(cli("sweep", spec, "--out", out, "-q", "--fresh"))
    assert "--fresh" in line and "Read-only file system" in line


def test_fresh_on_a_read_only_mount_is_one_line(spec, tmp_path):
    with tmpfs(tmp_path / "ro", "1m") as folder:
        out = folder / "r.csv"
        assert cli("sweep", spec, "--out", out, "-q").exit_code == 0
        done = subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip("cannot remount read-only here")
        line = one_line_error(cli("sweep", spec, "--out", out, "-q", "--fresh"))
        assert "Read-only file system" in line


def test_gradients_output_folders_are_checked_before_training(tmp_path):
    for option in ("--plot", "--out"):
        started = time.monotonic()
        line = one_line_error(cli("gradients", "--task", "adding", "--model", "numpy-rnn",
                                  "--length", "5", option, tmp_path / "missing" / "g.png"))
        assert "does not exist" in line and time.monotonic() - started < 5


def test_a_server_that_is_not_a_dask_scheduler_is_one_line_in_bounded_time(spec, tmp_path):
    import socket
    import threading

    pytest.importorskip("distributed")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def answer_rubbish() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello")

    threading.Thread(target=answer_rubbish, daemon=True).start()
    try:
        p = rnnbench_process("sweep", spec, "--out", tmp_path / "r.csv", "-q", "--scheduler",
                             f"tcp://127.0.0.1:{port}", RNNBENCH_DASK_CONNECT_TIMEOUT="2")
        _, err = p.communicate(timeout=60)
    finally:
        server.close()
    assert p.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Dask scheduler" in lines[0], err


def test_a_user_error_is_not_a_bare_value_error_catch(registered, tmp_path, spec):
    """A bug that raises ValueError outside a cell is a traceback, not a one-line 'user error'."""
    from rnnbench.registry import tasks
    from rnnbench.tasks.adding import AddingProblem

    class Broken(AddingProblem):
        def __init__(self) -> None:
            raise ValueError("a bug in the task's constructor")

    tasks.register("test-broken-ctor", Broken)
    registered(tasks, "test-broken-ctor")
    result = cli("sweep", spec, "--task", "test-broken-ctor", "--lengths", "4",
                 "--out", tmp_path / "r.csv", "-q")
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    assert not isinstance(result.exception, UserError)


def test_a_bug_inside_a_cell_is_an_error_row(registered):
    from rnnbench.registry import models

    def factory(task, units, seed):
        raise ValueError("a bug in the model")

    models.register("test-buggy", factory)
    registered(models, "test-buggy")
    result = run_cell(cell(model="test-buggy"))
    assert result.status == "error" and "ValueError: a bug in the model" in result.error


def test_sigterm_while_a_plugin_hangs_at_import_exits(tmp_path):
    plugin = tmp_path / "hang_plugin_mod.py"
    plugin.write_text("import time\ntime.sleep(600)\n")
    code = ("import importlib.metadata as m, sys\n"
            "from rnnbench import registry, cli\n"
            "ep = m.EntryPoint('hanger', 'hang_plugin_mod', registry.ENTRY_POINT_GROUP)\n"
            "registry._installed_entry_points = lambda: [ep]\n"
            "sys.argv = ['rnnbench', 'list']\ncli.main()\n")
    env = subprocess_env(PYTHONPATH=f"{REPO}{os.pathsep}{tmp_path}",
                         RNNBENCH_SLOW_PLUGIN_SECONDS="0.5")
    env.pop("RNNBENCH_NO_PLUGINS")
    p = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(p.stderr), daemon=True)
    reader.start()
    try:  # the event: the notice is out, so the import is under way (not: 2 s have passed)
        wait_for(lambda: "still importing plugin 'hanger'" in "".join(lines) or
                 p.poll() is not None, SLOW_MACHINE_SECONDS, "the slow-plugin notice")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=SLOW_MACHINE_SECONDS)
    finally:
        if p.poll() is None:
            p.kill()
    reader.join(10)
    err = "".join(lines)
    assert "still importing plugin 'hanger'" in err
    assert p.returncode == 128 + signal.SIGTERM and "Traceback" not in err


def test_numpy_float_check_helpers():
    from rnnbench.validation import ContractError, check_predictions, check_score

    class Task:
        kind, output_dim, name = "classification", 3, "t"

    assert check_predictions(Task(), np.zeros((4, 3)), 4).shape == (4, 3)
    with pytest.raises(ContractError):
        check_predictions(Task(), np.zeros((4, 2)), 4)
    with pytest.raises(ContractError):
        check_score(1.5, "accuracy")
