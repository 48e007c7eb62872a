"""Sweep throughput: wall time of a sweep of many small nets, with ensembles on or off.

The benchmark sweep (`python -m gradscope.bench --sweep`) is `n_runs` runs of one architecture
that differ in seed (depth 16, width 64, 200 SGD steps, statistics every 10 steps by default),
run by `run_sweep` into a temporary folder: worker start-up, training, diagnosis, part files and
consolidation included, as `gradscope sweep` does it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.sweep import run_sweep

SWEEP_SHAPE = {"depth": 16, "width": 64, "steps": 200, "record_every": 10}


def throughput_configs(n_runs: int = 48, **shape: object) -> list[RunConfig]:
    """The benchmark's runs: `n_runs` seeds of one small net (SWEEP_SHAPE, updated by `shape`)."""
    return [RunConfig(**{**SWEEP_SHAPE, **shape, "seed": seed}) for seed in range(n_runs)]


def time_sweep(configs: list[RunConfig], *, workers: int = 1, ensemble: bool = True) -> float:
    """Seconds `run_sweep` takes for `configs` into a fresh temporary folder."""
    with tempfile.TemporaryDirectory(prefix="gradscope-bench-") as tmp:
        start = time.perf_counter()
        run_sweep(configs, Path(tmp) / "out", workers=workers, quiet=True, ensemble=ensemble)
        return time.perf_counter() - start
