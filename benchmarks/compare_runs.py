"""Two results CSVs of the same sweep, cell by cell: did a faster path change the answers?

    python benchmarks/compare_runs.py OLD.csv NEW.csv

Cells are matched on (task, model, length, seed, forget_bias, backend); per model the table gives
the mean held-out accuracy of each run, the largest accuracy difference of one cell, the largest
final-loss difference, the largest relative difference of grad_ratio_init, and the summed cell
wall time of each run.
"""

from __future__ import annotations

import sys

import pandas as pd

KEY = ["task", "model", "length", "seed", "forget_bias", "backend"]


def compare(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    old, new = old.fillna({"forget_bias": -1}), new.fillna({"forget_bias": -1})
    both = old.merge(new, on=KEY, suffixes=("_old", "_new"))
    both["accuracy_diff"] = (both["accuracy_new"] - both["accuracy_old"]).abs()
    both["loss_diff"] = (both["final_loss_new"] - both["final_loss_old"]).abs()
    both["ratio_rel_diff"] = (both["grad_ratio_init_new"] / both["grad_ratio_init_old"] - 1).abs()
    return both.groupby("model").agg(
        cells=("accuracy_old", "size"),
        accuracy_old=("accuracy_old", "mean"),
        accuracy_new=("accuracy_new", "mean"),
        max_accuracy_diff=("accuracy_diff", "max"),
        max_loss_diff=("loss_diff", "max"),
        max_ratio_rel_diff=("ratio_rel_diff", "max"),
        seconds_old=("wall_seconds_old", "sum"),
        seconds_new=("wall_seconds_new", "sum"),
    )


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    table = compare(pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2]))
    with pd.option_context("display.width", 200):
        print(table.to_string(float_format="{:.3g}".format))


if __name__ == "__main__":
    main()
