"""Results do not depend on the executor: 1 or 2 worker processes, or a dask LocalCluster."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gradscope.sweeps import run_sweep
from gradscope.sweeps.config import RunConfig

CONFIGS = [RunConfig(depth=d, width=32, activation=a, steps=30, record_every=10, n_samples=128,
                     seed=s) for d in (3, 10) for a in ("tanh", "relu") for s in (0, 1)]


def _same_outputs(a: Path, b: Path) -> None:
    ra, rb = pd.read_csv(a / "runs.csv"), pd.read_csv(b / "runs.csv")
    pd.testing.assert_frame_equal(ra.drop(columns="wall_s"), rb.drop(columns="wall_s"),
                                  check_exact=True)
    for name in ("layers.csv", "steps.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_one_and_two_workers_give_identical_csvs(tmp_path: Path) -> None:
    run_sweep(CONFIGS, tmp_path / "w1", workers=1, quiet=True)
    run_sweep(CONFIGS, tmp_path / "w2", workers=2, quiet=True)
    _same_outputs(tmp_path / "w1", tmp_path / "w2")


def test_dask_local_cluster_gives_the_same_csvs(tmp_path: Path) -> None:
    run_sweep(CONFIGS[:4], tmp_path / "proc", workers=2, quiet=True)
    run_sweep(CONFIGS[:4], tmp_path / "dask", workers=2, dask="local", quiet=True)
    _same_outputs(tmp_path / "proc", tmp_path / "dask")
