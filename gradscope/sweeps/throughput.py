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

import numpy as np

from gradscope.sweeps import run as one_run
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.ensembles import plan_tasks
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


def _layer_shapes(cfg: RunConfig) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of every weight matrix of `cfg`'s net."""
    _, net = one_run.build(cfg)
    return [p.shape for _, key, p in net.parameters() if key == "W"]


def gemm_floor(configs: list[RunConfig], *, ensemble: bool = True) -> float:
    """Seconds of the matmuls alone of training `configs`, as the sweep runs them (stacked per
    ensemble task when `ensemble`, else one run at a time): per step and layer the forward
    x @ W, dW = xᵀ @ delta and (but for the first layer) dx = delta @ Wᵀ, plus the forward
    pass of the final evaluation over the dataset. The ceiling of any speed-up by cutting
    overhead: training cannot take less."""
    rng = np.random.default_rng(0)
    total = 0.0
    for task in plan_tasks(configs, 1, ensemble=ensemble):
        cfg, lead = task[0], (len(task),) if ensemble and len(task) > 1 else ()
        dtype = np.dtype(cfg.dtype)
        arrays = [(rng.standard_normal((*lead, cfg.batch_size, a)).astype(dtype),
                   rng.standard_normal((*lead, a, b)).astype(dtype),
                   rng.standard_normal((*lead, cfg.batch_size, b)).astype(dtype),
                   rng.standard_normal((*lead, cfg.n_samples, a)).astype(dtype))
                  for a, b in _layer_shapes(cfg)]
        swap = (*range(len(lead)), len(lead) + 1, len(lead))  # transpose the last two axes
        start = time.perf_counter()
        for _ in range(cfg.steps):
            for i, (x, w, delta, _) in enumerate(arrays):
                np.matmul(x, w)
                np.matmul(x.transpose(swap), delta)
                if i:
                    np.matmul(delta, w.transpose(swap))
        for _, w, _, full in arrays:
            np.matmul(full, w)
        total += time.perf_counter() - start
    return total
