"""Property (issue 11): any study spec either runs or is refused in one line with exit code 2.

Hypothesis writes TOML study files from valid and invalid values of every key (and now and then
text that is not TOML at all) and runs `rnnbench sweep` on each, in this process with tiny
budgets and NumPy models only. Whatever it draws, the command must exit 0, or exit 2 with exactly
one line on stderr starting `Error:`; never a traceback, never another exit code.
hypothesis is used (rather than a hand-made list) because it shrinks a failing spec to the
smallest one that still fails, which is the spec a bug report needs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rnnbench.cli import main  # noqa: E402

# Slow: hypothesis runs a hundred tiny sweeps; the full suite runs them.
pytestmark = pytest.mark.slow

NAMES = st.sampled_from(["numpy-rnn", "numpy-lstm", "nope", "", "a\nb", "numpy-rnn "])
TASKS = st.sampled_from(["adding", "delayed-recall", "nope", "\x1b[31m"])
ODD = st.sampled_from([None, True, "x", 1.5, math.nan, math.inf, -1, 0, [], {}, [[1]]])
SMALL = st.integers(min_value=-2, max_value=6)


def per_task(values):
    return st.one_of(values, st.dictionaries(TASKS, values, max_size=3))


VALUES = {
    "name": st.one_of(st.sampled_from(["s", "", "two\nlines", "ok name"]), ODD),
    "tasks": st.one_of(st.lists(TASKS, max_size=3), TASKS, ODD),
    "models": st.one_of(st.lists(NAMES, max_size=3), NAMES, ODD),
    "lengths": st.one_of(per_task(st.lists(SMALL, max_size=3)), ODD),
    "seeds": st.one_of(st.integers(min_value=-1, max_value=2),
                       st.lists(st.integers(min_value=-1, max_value=3), max_size=3), ODD),
    "max_sequences": st.one_of(per_task(st.sampled_from([0, 32, 64, -5])), ODD),
    "units": st.one_of(st.sampled_from([1, 4, 0, 2**40]), ODD),
    "batch_size": st.one_of(st.sampled_from([8, 16, 0]), ODD),
    "learning_rate": st.one_of(st.sampled_from([0.01, 0.0, 11.0, -1.0]), ODD),
    "forget_bias": st.one_of(st.lists(st.sampled_from([1.0, 2.0, math.nan, -math.inf]),
                                      max_size=2), st.sampled_from([1.0, math.nan]), ODD),
    "chunk_size": st.one_of(st.sampled_from([16, 32, 0]), ODD),
    "eval_size": st.one_of(st.sampled_from([8, 16, 0, 10**12]), ODD),
    "solve_threshold": st.one_of(st.sampled_from([0.5, 1.0, 0.0, 1.5]), ODD),
    "backend": st.one_of(st.sampled_from(["tensorflow", "theano"]), ODD),
    "optimizer": st.one_of(st.sampled_from(["adam", "sgd", "rmsprop"]), ODD),
    "rule": st.one_of(st.sampled_from(["task", "held-out", "vote"]), ODD),
    "no_such_key": st.just(1),
}
TINY = {"models": ["numpy-rnn"], "seeds": 1, "max_sequences": 32, "chunk_size": 16,
        "eval_size": 8, "lengths": [3]}


def toml_value(v) -> str:
    if v is None:
        return '"none"'  # TOML has no null: a string stands in
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v) if abs(v) < 2**63 else str(2**63 - 1)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


@st.composite
def spec_text(draw) -> str:
    data = dict(TINY)
    for key in draw(st.lists(st.sampled_from(sorted(VALUES)), max_size=4, unique=True)):
        data[key] = draw(VALUES[key])
    text = "\n".join(f"{key} = {toml_value(v)}" for key, v in data.items()) + "\n"
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.sampled_from(["[", "x = ", "= 1", "lengths = [1,", "\x00"]))
    return text


def test_every_setting_of_the_table_is_drawn():
    from rnnbench.settings import BY_KEY

    assert set(VALUES) - {"no_such_key"} == set(BY_KEY)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=spec_text())
def test_a_random_spec_runs_or_is_refused_in_one_line(tmp_path: Path, text: str):
    spec = tmp_path / "random.toml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "random.csv"
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "-q"])
    hypothesis.event(f"exit {result.exit_code}")
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), (text, result.exit_code, result.output, result.exception)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (text, result.stderr)
    else:
        assert out.exists(), text
