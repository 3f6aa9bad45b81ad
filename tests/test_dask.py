"""Sweeps on a real Dask cluster (LocalCluster, 2 worker processes on 127.0.0.1)."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest
from conftest import REPO
from test_workers import NUMPY_MODELS, cell, numpy_cells, sorted_rows

from rnnbench.csvlog import ResultsCSV, config_key
from rnnbench.runner import run_sweep

# Slow (not in the quick loop): starts Dask clusters and worker processes.
pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    import dask

    # The worker processes must import this checkout's rnnbench and tests/worker_models.py.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests")])
    try:
        # A cell that kills its worker is given up after 2 tries rather than Dask's default 4;
        # saturation 1.0: a worker holds only the cell it runs, so only that cell is blamed.
        config = {"distributed.scheduler.allowed-failures": 1,
                  "distributed.scheduler.worker-saturation": 1.0}
        with dask.config.set(config), \
                distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                         host="127.0.0.1", dashboard_address=None) as c, \
                distributed.Client(c) as client:
            yield c, client
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def test_dask_rows_equal_the_local_run(tmp_path, cluster):
    local_cluster, _ = cluster
    cells = numpy_cells(models=NUMPY_MODELS)
    run_sweep(cells, out=tmp_path / "local.csv", workers=1)
    df = run_sweep(cells, out=tmp_path / "dask.csv", scheduler=local_cluster.scheduler_address)
    assert list(df["status"].unique()) == ["ok"]
    pd.testing.assert_frame_equal(sorted_rows(tmp_path / "local.csv"),
                                  sorted_rows(tmp_path / "dask.csv"))


def test_a_worker_killed_mid_sweep_loses_no_cell(tmp_path, cluster):
    local_cluster, client = cluster
    cells = numpy_cells(seeds=6, max_sequences=4096)
    pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def kill_one_worker_after_first_result(done, total, cell, result):
        if not killed:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    out = tmp_path / "r.csv"
    df = run_sweep(cells, out=out, scheduler=local_cluster.scheduler_address,
                   progress=kill_one_worker_after_first_result)
    assert killed and len(df) == len(cells)
    rows = ResultsCSV(out).rows()
    assert len(rows) == len(cells) == len({config_key(r) for r in rows})
    assert {r["status"] for r in rows} == {"ok"}  # the lost cells were rerun elsewhere


def test_a_cell_that_keeps_killing_its_worker_is_recorded_as_crashed(tmp_path, cluster,
                                                                     worker_models):
    local_cluster, _ = cluster
    cells = [cell("test-crash", seed) for seed in range(3)]
    df = run_sweep(cells, out=tmp_path / "r.csv", scheduler=local_cluster.scheduler_address,
                   dask_retries=0).set_index("seed")
    assert df.loc[worker_models.BAD_SEED, "status"] == "crashed"
    assert "KilledWorker" in df.loc[worker_models.BAD_SEED, "error"]
    assert (df.drop(index=worker_models.BAD_SEED)["status"] == "ok").all()


def test_unreachable_scheduler_is_one_clear_error():
    from rnnbench.executors import run_dask

    with pytest.raises(ValueError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        run_dask(numpy_cells(seeds=1), print, "tcp://127.0.0.1:9", connect_timeout=1)
