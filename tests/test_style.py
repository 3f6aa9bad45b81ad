"""The code stays ruff-clean (rules in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff comes with the test extra")
def test_ruff_check_is_clean():
    folders = [p for p in ("rnnbench", "tests", "benchmarks") if (REPO / p).exists()]
    result = subprocess.run(["ruff", "check", *folders], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
