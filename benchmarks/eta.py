"""How far off was a sweep's ETA? Replays a sweep's progress log through rnnbench.cost.Eta.

    rnnbench sweep --out RUN.csv 2> RUN.err          # stderr not a terminal: one line per cell
    python benchmarks/eta.py RUN.err RUN.csv

The log gives the order cells finished in and when (to the second); the CSV gives each cell's
config and measured row. For the moments 25%, 50% and 75% into the run it prints the ETA the log
showed, the ETA the current cost model gives on replay (the same as the log's if the model has
not changed since the run), what a count-based ETA (elapsed / cells done x cells left) would have
said, and the time that was actually left.
"""

from __future__ import annotations

import re
import sys

import pandas as pd

from rnnbench.cost import Eta
from rnnbench.schema import CellResult, SweepCell

LINE = re.compile(r"\[(\d+)/(\d+) (?:(\d+):)?(\d+):(\d+) eta (?:(\d+):)?(\d+|--):(\d+|--)\] "
                  r"(\S+) length=(\d+) (\S+)(?: \(fb=([\d.]+)\))? seed=(\d+):")


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python benchmarks/eta.py PROGRESS.log RESULTS.csv")
    rows = pd.read_csv(sys.argv[2])
    by_key = {}
    for row in rows.to_dict("records"):
        fb = row["forget_bias"]
        key = (row["task"], int(row["length"]), row["model"], None if fb != fb else float(fb),
               int(row["seed"]))
        by_key[key] = row
    events = []
    with open(sys.argv[1], encoding="utf-8") as log:
        lines = log.readlines()
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        done, total = int(m[1]), int(m[2])
        elapsed = int(m[3] or 0) * 3600 + int(m[4]) * 60 + int(m[5])
        shown = None if m[7] == "--" else int(m[6] or 0) * 3600 + int(m[7]) * 60 + int(m[8])
        fb = float(m[12]) if m[12] else None
        row = by_key[(m[9], int(m[10]), m[11], fb, int(m[13]))]
        events.append((done, total, elapsed, shown, row))
    cells = []
    for *_, row in events:
        fields = {k: row[k] for k in SweepCell.__dataclass_fields__ if k in row}
        fields["forget_bias"] = None if fields["forget_bias"] != fields["forget_bias"] \
            else fields["forget_bias"]
        cells.append(SweepCell(**fields))
    from rnnbench.cost import most_expensive_first

    now = [0.0]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else None
    eta = Eta(most_expensive_first(cells), workers=workers, clock=lambda: now[0])
    end = events[-1][2]
    replayed = []
    for (done, total, elapsed, shown, row), cell in zip(events, cells, strict=True):
        now[0] = float(elapsed)
        eta.finished(cell, CellResult(wall_seconds=float(row["wall_seconds"]),
                                      sequences_seen=int(row["sequences_seen"]),
                                      status=str(row["status"])))
        replayed.append((done, total, elapsed, shown, eta.seconds_left()))
    print(f"run: {len(events)} cells in {_clock(end)}")
    print("| into the run | cells done | ETA shown | ETA replayed | count-based ETA | "
          "actually left | error shown | error replayed | error count-based |")
    print("|---|---|---|---|---|---|---|---|---|")
    for share in (0.25, 0.5, 0.75):
        done, total, elapsed, shown, again = [r for r in replayed if r[2] <= share * end][-1]
        left = end - elapsed
        count = elapsed / done * (total - done)

        def err(x, left=left):
            return "n/a" if x is None else f"{(x - left) / left:+.0%}"

        print(f"| {share:.0%} ({_clock(elapsed)}) | {done}/{total} | "
              f"{'n/a' if shown is None else _clock(shown)} | {_clock(again or 0)} | "
              f"{_clock(count)} | {_clock(left)} | {err(shown)} | {err(again)} | {err(count)} |")


if __name__ == "__main__":
    main()
