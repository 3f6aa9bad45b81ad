"""docs/lesson.md is runnable: every command in it succeeds, prints what the page says it prints,
and its figures are what they make.

The page's output blocks are checked line by line (an output block may be an excerpt): each of its
lines must appear in the command's output with the same words, the same whole numbers, and every
decimal number within 5% of the page's or 0.01 of it, whichever is larger (0.73 may read 0.74;
1.9e-07 may not read 3e-07). Seeds are fixed, so this leaves room only for another machine's
rounding.
"""

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


TOLERANCE, ABSOLUTE = 0.05, 0.01
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def lesson_outputs() -> dict[str, str]:
    """Command -> the ```text block that follows its ```sh block, for blocks of one command."""
    pairs = re.findall(r"```sh\n(.*?)```\s*```text\n(.*?)```", LESSON.read_text(encoding="utf-8"),
                       flags=re.S)
    return {command.strip(): text for command, text in pairs if "\n" not in command.strip()}


def skeleton(line: str) -> str:
    return NUMBER.sub("#", " ".join(line.split()))


def numbers_agree(page: str, output: str) -> bool:
    a, b = NUMBER.findall(page), NUMBER.findall(output)
    for x, y in zip(a, b, strict=True):
        if not re.search(r"[.e]", x):  # a whole number (a count, a length, a seed): exact
            if x != y:
                return False
        elif abs(float(x) - float(y)) > max(TOLERANCE * abs(float(x)), ABSOLUTE):
            return False
    return True


def drifted_lines(page_text: str, output: str) -> list[str]:
    """The page's lines that the output does not bear out, each with what the output says."""
    out_lines = [line for line in output.splitlines() if line.strip()]
    wrong = []
    for line in (line for line in page_text.splitlines() if line.strip()):
        same_shape = [o for o in out_lines if skeleton(o) == skeleton(line)]
        if not any(numbers_agree(line, o) for o in same_shape):
            wrong.append(f"page:   {line}\noutput: {same_shape[0] if same_shape else '(none)'}")
    return wrong


def lesson_figures() -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", LESSON.read_text(encoding="utf-8"))


def test_the_lesson_has_commands_and_figures():
    commands = lesson_commands()
    assert len(commands) >= 6
    assert all(c.startswith("rnnbench ") for c in commands), commands
    assert any("--same-weights" in c for c in commands) and any("--plot" in c for c in commands)
    assert len(lesson_outputs()) == len(commands)  # every command shows what it prints
    for figure in lesson_figures():
        assert (LESSON.parent / figure).read_bytes()[:4] == b"\x89PNG", figure


@pytest.mark.slow
def test_every_command_in_the_lesson_runs_and_makes_its_figures(tmp_path, monkeypatch):
    shutil.copytree(REPO / "tasks", tmp_path / "tasks")  # the page runs from a checkout's top
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    outputs, drifted = lesson_outputs(), []
    for command in lesson_commands():
        result = CliRunner().invoke(main, shlex.split(command)[1:])
        assert result.exit_code == 0, f"{command}\n{result.output}"
        drifted += [f"$ {command}\n{d}" for d in drifted_lines(outputs[command], result.output)]
        if "--same-weights" in command:  # the page says twins agree: their init lines are equal
            init = [line.split("init", 1)[1] for line in result.output.splitlines()
                    if re.match(r"\S.* +init +\|dL/dh_T\|", line)]
            assert len(init) == 2 and init[0] == init[1], result.output
    assert not drifted, "docs/lesson.md's outputs have drifted:\n" + "\n".join(drifted)
    for figure in lesson_figures():  # written by a command on the page, where the page shows it
        made = tmp_path / "docs" / figure
        assert made.exists(), f"no command in the lesson writes docs/{figure}"
        assert made.read_bytes()[:4] == b"\x89PNG"
