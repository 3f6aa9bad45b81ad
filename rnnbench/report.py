"""Pandas tables of a results CSV: accuracy against dependency length."""

from __future__ import annotations

from typing import Any


def model_label(model: str, forget_bias: Any) -> str:
    """A model's name, with its forget-gate bias when the row has one (LSTM variants differ)."""
    try:
        fb = float(forget_bias)
    except (TypeError, ValueError):
        return model
    return model if fb != fb else f"{model} (fb={fb:g})"  # fb != fb: NaN, no forget gate


def accuracy_table(df: Any) -> Any:
    """Rows (task, model), columns dependency length, cells 'mean accuracy (solved k/n)'."""
    import pandas as pd

    df = df.assign(
        model=[model_label(m, fb) for m, fb in zip(df["model"], df["forget_bias"], strict=True)],
        solved=df["sequences_to_solve"].notna(),
    )
    grouped = df.groupby(["task", "model", "length"], sort=True)
    summary = grouped.agg(mean=("accuracy", "mean"), solved=("solved", "sum"), n=("seed", "size"))
    text = summary.apply(
        lambda r: f"{r['mean']:.2f} ({int(r['solved'])}/{int(r['n'])})", axis=1
    ).rename("accuracy")
    table = text.unstack("length")
    table.columns = pd.Index([int(c) for c in table.columns], name="length")
    return table.fillna("")


def format_table(df: Any) -> str:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 50):
        return accuracy_table(df).to_string()
