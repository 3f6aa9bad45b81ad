"""`rnnbench gradients` on the real command group: CSV, plot, twins, and bad input (exit code 2)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner
from conftest import Opaque

from rnnbench.cli import main
from rnnbench.registry import models, register_model

REPO = Path(__file__).resolve().parent.parent

SMALL = ["--length", "5", "--units", "8", "--max-sequences", "128", "--batch", "16"]


def test_gradients_writes_csv_and_plot_and_twins_agree(tmp_path):
    out, plot = tmp_path / "g.csv", tmp_path / "g.png"
    result = CliRunner().invoke(main, [
        "gradients", "--task", "adding", "--model", "numpy-rnn", "--model", "keras-simplernn",
        "--same-weights", *SMALL, "--out", str(out), "--plot", str(plot),
    ])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out)
    assert list(df.columns[:5]) == ["step", "steps_back", "norm", "model", "phase"]
    assert len(df) == 2 * 2 * 5  # models x phases x steps
    assert set(df["phase"]) == {"init", "trained"}
    init = df[df["phase"] == "init"].pivot(index="step", columns="model", values="norm")
    np.testing.assert_allclose(init["keras-simplernn"], init["numpy-rnn"], rtol=1e-4)
    trained = df[df["phase"] == "trained"].pivot(index="step", columns="model", values="norm")
    np.testing.assert_allclose(trained["keras-simplernn"], trained["numpy-rnn"], rtol=1e-2)
    assert (df["steps_back"] == 5 - df["step"]).all()
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.search(r"numpy-rnn +init +\|dL/dh_T\|", result.output)


def test_a_model_without_gradients_is_one_line_and_exit_code_2(registered, tmp_path):
    register_model("opaque-cli-test")(lambda task, units, seed: Opaque())
    registered(models, "opaque-cli-test")
    result = CliRunner().invoke(main, [
        "gradients", "--task", "adding", "--model", "numpy-rnn", "--model", "opaque-cli-test",
        *SMALL, "--out", str(tmp_path / "g.csv"),
    ])
    assert result.exit_code == 2
    assert "model 'opaque-cli-test' cannot be diagnosed" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "g.csv").exists()  # refused before any training or output


def test_unknown_names_list_the_known_ones_with_exit_code_2():
    bad_model = CliRunner().invoke(main, ["gradients", "--task", "adding", "--model", "gru",
                                          "--length", "5"])
    assert bad_model.exit_code == 2
    assert "unknown model 'gru'; known:" in bad_model.output and "numpy-lstm" in bad_model.output
    bad_task = CliRunner().invoke(main, ["gradients", "--task", "copy", "--model", "numpy-rnn",
                                         "--length", "5"])
    assert bad_task.exit_code == 2
    known = ("unknown task 'copy'; known: adding, adding-1997, adding-bai2018, copy-memory, "
             "copy-memory-bai2018, delayed-recall")
    assert known in bad_task.output
    bad_length = CliRunner().invoke(main, ["gradients", "--task", "adding", "--model",
                                           "numpy-rnn", "--length", "1"])
    assert bad_length.exit_code == 2 and "allowed: integers >= 2" in bad_length.output


def test_same_weights_between_models_that_are_not_twins_is_exit_code_2():
    result = CliRunner().invoke(main, ["gradients", "--task", "adding", "--model", "numpy-rnn",
                                       "--model", "numpy-lstm", "--same-weights", *SMALL])
    assert result.exit_code == 2
    assert "cannot copy numpy-rnn's weights into numpy-lstm" in result.output
    twins = result.output.split("twins are ")[1].split()  # from the models' declared traits
    assert {t.rstrip(",") for t in twins} == {"numpy-rnn/keras-simplernn", "numpy-lstm/keras-lstm",
                                              "numpy-gru/keras-gru"}


def test_help_does_not_import_tensorflow_or_matplotlib():
    code = (
        "import sys; from click.testing import CliRunner; from rnnbench.cli import main; "
        "r = CliRunner().invoke(main, ['gradients', '--help']); assert r.exit_code == 0; "
        "heavy = [m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_several_forget_biases_are_measured_each_as_a_sweep_runs_them(tmp_path):
    """--forget-bias is the sweep's (the settings table's): each value is a cell of its own,
    labelled as the sweep's tables label it; the bias is an initial weight, so --same-weights
    with several is refused rather than silently giving both the first's."""
    out = tmp_path / "g.csv"
    result = CliRunner().invoke(main, ["gradients", "--task", "adding", "--model", "numpy-lstm",
                                       *SMALL, "--forget-bias", "1,4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out)
    assert sorted(set(df["forget_bias"])) == [1.0, 4.0]
    assert len(df) == 2 * 2 * 5  # biases x phases x steps
    init = df[df["phase"] == "init"].pivot(index="step", columns="forget_bias", values="norm")
    # an open forget gate (bias 4) carries more of the last step's error back to the first
    assert init[4.0].iloc[0] / init[4.0].iloc[-1] > init[1.0].iloc[0] / init[1.0].iloc[-1]
    assert re.search(r"numpy-lstm \(fb=1\) +init", result.output)
    assert re.search(r"numpy-lstm \(fb=4\) +trained", result.output)
    refused = CliRunner().invoke(main, ["gradients", "--task", "adding", "--model", "numpy-lstm",
                                        *SMALL, "--forget-bias", "1,4", "--same-weights"])
    assert refused.exit_code == 2
    assert "give one --forget-bias" in refused.output
