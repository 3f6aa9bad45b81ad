"""The known result the whole tool is about: at a long lag the LSTM learns, the tanh RNN cannot.

A reduced slice of the teaching study (tasks/teaching.toml) is rerun and the direction of its
result checked, not its exact numbers (tests/test_reproduce1997.py does the same for the 1997
study's tasks against the paper's figures). Measured here on delayed recall at
lag 50 (results/teaching.csv): the LSTM with forget-gate bias 4 solved it with every seed after
22,000 to 27,000 sequences, while the NumPy tanh RNN stayed at chance with every seed. The NumPy
loop stands for SimpleRNN here (test_numpy_rnn proves they compute the same thing) because it is
several times cheaper to run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rnnbench

TASKS = Path(__file__).resolve().parent.parent / "tasks"
LAG = 50
BUDGET = 40_960


@pytest.mark.slow
def test_lstm_learns_lag_50_where_the_tanh_rnn_stays_at_chance():
    df = rnnbench.sweep(
        spec=str(TASKS / "teaching.toml"), tasks=["delayed-recall"],
        models=["numpy-rnn", "keras-lstm"], lengths=[LAG], seeds=[0], max_sequences=BUDGET,
        forget_bias=[4.0],
    )
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert len(df) == 2
    by_model = df.set_index("model")
    chance = by_model.loc["numpy-rnn", "chance_accuracy"]
    assert by_model.loc["numpy-rnn", "best_accuracy"] < chance + 0.1
    assert by_model.loc["keras-lstm", "best_accuracy"] > 0.9
