"""The code stays ruff-clean and keeps its layers (rules and contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff comes with the test extra")
def test_ruff_check_is_clean():
    folders = [p for p in ("rnnbench", "tests", "benchmarks") if (REPO / p).exists()]
    result = subprocess.run(["ruff", "check", *folders], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts (pyproject.toml) checked against the package in `folder`."""
    command = [shutil.which("lint-imports") or "lint-imports", "--no-cache", "--no-logo",
               "pyproject.toml"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True)


def test_imports_keep_the_layers_and_no_cycle():
    """No module imports from a layer above its own, not even inside a function, and no cycle."""
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    """The contract bites: the bottom layer importing a top one inside a function fails it."""
    shutil.copytree(REPO / "rnnbench", tmp_path / "rnnbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with open(tmp_path / "rnnbench" / "schema.py", "a") as f:
        f.write("\n\ndef _upward():\n    from rnnbench import cli  # noqa: F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "rnnbench.schema -> rnnbench.cli" in result.stdout


def test_an_executor_importing_a_model_breaks_its_contract(tmp_path):
    """Executors never import a model module, though the layers alone would allow it."""
    shutil.copytree(REPO / "rnnbench", tmp_path / "rnnbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with open(tmp_path / "rnnbench" / "executors" / "hygiene.py", "a") as f:
        f.write("\n\ndef _model():\n    from rnnbench.models import keras_models  # noqa: F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "executors do not import model modules BROKEN" in result.stdout
    assert "rnnbench.executors.hygiene -> rnnbench.models.keras_models" in result.stdout


def test_mypy_is_clean():
    """The plugin contracts are typed and the code type-checks (settings in pyproject.toml)."""
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
