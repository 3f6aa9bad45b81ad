"""Two results CSVs of the same sweep, cell by cell: did a faster path change the answers?

    python benchmarks/compare_runs.py OLD.csv NEW.csv

Cells are matched on (task, model, length, seed, forget_bias, backend); per model the table gives
the mean held-out accuracy of each run, the largest accuracy difference of one cell, the largest
final-loss difference, the largest relative difference of grad_ratio_init, and the summed cell
wall time of each run. Under it, whether the rows are the same: the cells only one run has, and
every column both runs record (but the wall time) that differs in any matched cell, with how many
cells differ; "identical" when none does.
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


def differences(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """Lines saying how the matched rows differ, column by column (wall time aside)."""
    old, new = old.fillna({"forget_bias": -1}), new.fillna({"forget_bias": -1})
    both = old.merge(new, on=KEY, suffixes=("_old", "_new"), how="outer", indicator=True)
    lines = [f"{(both['_merge'] == side).sum()} cells only in the {name} run"
             for side, name in (("left_only", "old"), ("right_only", "new"))
             if (both["_merge"] == side).any()]
    both = both[both["_merge"] == "both"]
    differing = []
    for column in [c for c in old.columns if c in new.columns and c not in KEY]:
        if column == "wall_seconds":
            continue
        a, b = both[f"{column}_old"], both[f"{column}_new"]
        differ = ~((a == b) | (a.isna() & b.isna()))
        if differ.any():
            differing.append(f"{column}: differs in {differ.sum()} of {len(both)} cells")
    return lines + (differing or [f"identical: all {len(both)} cells in both runs, every "
                                  "column but wall_seconds"])


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    table = compare(pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2]))
    with pd.option_context("display.width", 200):
        print(table.to_string(float_format="{:.3g}".format))
    print("\n".join(differences(pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2]))))


if __name__ == "__main__":
    main()
