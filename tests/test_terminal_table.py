"""The sweep's closing table: one per task, compact cells, a caption, within 100 columns."""

from __future__ import annotations

import pandas as pd

from rnnbench.terminal_table import format_tables


def rows(task: str, lengths: list[int], models: list[str], seeds: int = 3) -> list[dict]:
    out = []
    for length in lengths:
        for model in models:
            for seed in range(seeds):
                accuracy = 0.99 if length < 20 or model == "keras-lstm" else 0.13
                out.append({"task": task, "model": model, "length": length, "seed": seed,
                            "accuracy": accuracy, "solve_threshold": 0.95,
                            "sequences_to_solve": 4096 if accuracy > 0.95 else None,
                            "chance_accuracy": 0.125, "forget_bias": 4.0
                            if model == "keras-lstm" else None, "status": "ok"})
    return out


def test_one_compact_table_per_task_within_100_columns():
    models = ["numpy-rnn", "keras-simplernn", "keras-lstm"]
    df = pd.DataFrame(rows("delayed-recall", [5, 20, 50, 100], models)
                      + rows("adding", [5, 25], models))
    text = format_tables(df)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100
    assert "delayed-recall: held-out accuracy by dependency length" in lines
    assert "adding: held-out accuracy by dependency length" in lines
    recall = lines[lines.index("delayed-recall: held-out accuracy by dependency length"):]
    lstm = next(line for line in recall if line.startswith("keras-lstm (fb=4)"))
    assert lstm.split()[2:] == ["0.99", "3/3"] * 4  # every delayed-recall length, no gaps
    rnn = [line for line in lines if line.startswith("numpy-rnn")]
    assert len(rnn[0].split()) == 1 + 2 * 2  # adding: only its own two lengths
    assert "cells: mean held-out accuracy over seeds, seeds solved/run (solved: >= 0.95); " \
        "chance 0.12" in text
    assert "±" not in text and "(solved 3/3)" not in text


def test_many_lengths_split_into_blocks():
    lengths = list(range(5, 400, 20))
    text = format_tables(pd.DataFrame(rows("delayed-recall", lengths, ["keras-lstm"], seeds=1)))
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100
    assert sum(line.startswith("model") for line in lines) >= 2
    assert sum("1/1" in line for line in lines) >= 2
