"""docs/lesson.md is runnable: every command in it succeeds, and its figures are what they make."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnbench.cli import main

REPO = Path(__file__).resolve().parent.parent
LESSON = REPO / "docs" / "lesson.md"


def lesson_commands() -> list[str]:
    """The lines of the ```sh blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", LESSON.read_text(encoding="utf-8"), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def lesson_figures() -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", LESSON.read_text(encoding="utf-8"))


def test_the_lesson_has_commands_and_figures():
    commands = lesson_commands()
    assert len(commands) >= 6
    assert all(c.startswith("rnnbench ") for c in commands), commands
    assert any("--same-weights" in c for c in commands) and any("--plot" in c for c in commands)
    for figure in lesson_figures():
        assert (LESSON.parent / figure).read_bytes()[:4] == b"\x89PNG", figure


@pytest.mark.slow
def test_every_command_in_the_lesson_runs_and_makes_its_figures(tmp_path, monkeypatch):
    shutil.copytree(REPO / "tasks", tmp_path / "tasks")  # the page runs from a checkout's top
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    for command in lesson_commands():
        result = CliRunner().invoke(main, shlex.split(command)[1:])
        assert result.exit_code == 0, f"{command}\n{result.output}"
        if "--same-weights" in command:  # the page says twins agree: their init lines are equal
            init = [line.split("init", 1)[1] for line in result.output.splitlines()
                    if re.match(r"\S.* +init +\|dL/dh_T\|", line)]
            assert len(init) == 2 and init[0] == init[1], result.output
    for figure in lesson_figures():  # written by a command on the page, where the page shows it
        made = tmp_path / "docs" / figure
        assert made.exists(), f"no command in the lesson writes docs/{figure}"
        assert made.read_bytes()[:4] == b"\x89PNG"
