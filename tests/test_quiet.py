"""TensorFlow's native start-up lines stay off the terminal: they go to the sweep's log file."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

# Slow: each test starts TensorFlow in a fresh process (5-9 s); the full suite runs them.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(**extra: str) -> dict[str, str]:
    """This environment for a child process that imports this checkout's rnnbench."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "RNNBENCH_NATIVE_LOG", "RNNBENCH_VERBOSE")}
    env["PYTHONPATH"] = os.pathsep.join([REPO, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**env, **extra}

NATIVE = re.compile(r"^(?:[IWEF]\d{4} |WARNING: All log messages)|cuInit|cuda_platform", re.M)


def run_in_pty(args: list[str], cwd, env: dict[str, str], timeout: float = 240.0) -> str:
    """Run a command with stdout and stderr on a pseudo-terminal; return what it showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 x 24
    process = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("mode", [["--workers", "1", "--in-process"], ["--workers", "1"]],
                         ids=["in-process", "worker"])
def test_a_keras_cell_on_a_terminal_shows_no_native_lines(tmp_path, mode):
    pytest.importorskip("tensorflow")
    out = tmp_path / "r.csv"
    env = child_env()
    shown = run_in_pty(
        [sys.executable, "-m", "rnnbench.cli", "sweep", "--task", "delayed-recall",
         "--model", "keras-simplernn", "--lengths", "2", "--seeds", "1",
         "--max-sequences", "128", "--out", str(out), *mode],
        cwd=tmp_path, env=env,
    )
    assert "|####################| 1/1 " in shown, shown  # the bar, drawn to the end
    assert not NATIVE.search(shown), shown
    bar_lines = [line for line in re.split(r"[\r\n]+", shown) if line.strip()]
    assert all(not NATIVE.search(line) for line in bar_lines)
    log = (tmp_path / "r.log").read_text()
    assert "cuInit" in log or "I0000" in log or log == ""  # whatever TensorFlow said, it is here


def test_verbose_lets_the_native_lines_through(tmp_path):
    pytest.importorskip("tensorflow")
    code = ("import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
            "from rnnbench import quiet; quiet.quiet_native(%r, show=True)\n"
            "from rnnbench.models.keras_models import import_keras; import_keras()\n")
    shown = subprocess.run([sys.executable, "-c", code % str(tmp_path / "x.log")],
                           capture_output=True, text=True, timeout=240, env=child_env())
    quiet = subprocess.run([sys.executable, "-c", code.replace("show=True", "show=False")
                            % str(tmp_path / "y.log")], capture_output=True, text=True, timeout=240,
                           env=child_env())
    assert NATIVE.search(shown.stderr), shown.stderr
    assert not NATIVE.search(quiet.stderr), quiet.stderr
    assert NATIVE.search((tmp_path / "y.log").read_text())
