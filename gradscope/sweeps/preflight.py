"""What can be known before running: memory of the largest run, absurd sizes, dataset options,
loss/dataset combinations. `preflight(runs)` raises ConfigError (exit 2) before anything runs.

The memory estimate of one run counts, in its dtype, the weights with their gradients and
optimiser state (4 copies), the activations kept for backward for a mini-batch and for the full
dataset's final evaluation (3 arrays per layer), the dataset, and the recorded rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gradscope.core.errors import ConfigError
from gradscope.core.resources import check_memory
from gradscope.sweeps.config import RunConfig
from gradscope.training.datasets import Dataset, load_dataset
from gradscope.training.losses import loss as get_loss

MAX_STEPS = 10**9  # at ~0.1 ms per step already more than a day
RECORD_ROW_BYTES = 400  # one layers.csv row in memory (about 40 numbers and names)


def _dims(cfg: RunConfig, data: Dataset | None) -> tuple[int, int]:
    if data is None:
        return 2, 2
    return data.in_dim, 1 if cfg.loss == "bce" else data.out_dim


def run_memory(cfg: RunConfig, in_dim: int = 2, out_dim: int = 2) -> float:
    """Estimated peak memory of one run in bytes."""
    b = np.dtype(cfg.dtype).itemsize
    w, d = float(cfg.width), float(cfg.depth)
    params = in_dim * w + (d - 1) * w * w + w * out_dim + d * w + out_dim
    rows = max(cfg.batch_size, cfg.n_samples)
    activations = 3.0 * rows * w * (d + 1)
    data = 8.0 * cfg.n_samples * (in_dim + out_dim) * 2
    recorded = (cfg.steps // cfg.record_every + 1) * (d + 1) * RECORD_ROW_BYTES
    return b * (4 * params + activations) + data + recorded + 24.0 * cfg.steps


def _check_data(cfg: RunConfig) -> Dataset:
    """Build the run's dataset and check its loss accepts it."""
    try:
        data = load_dataset(cfg.dataset, n=cfg.n_samples, seed=cfg.data_seed,
                            **cfg.dataset_options())
    except ConfigError as exc:
        raise ConfigError(f'dataset = "{cfg.dataset}": {exc}') from None
    if data.task == "classification" and len(np.unique(data.y)) < 2:
        raise ConfigError(
            f'dataset = "{cfg.dataset}" with n_samples = {cfg.n_samples} holds a single class, '
            f"so there is nothing to learn (and every run would look 'dead'). Use more "
            f"examples (n_samples ≥ the number of classes × a few).")
    if cfg.loss != "auto":
        out_dim = 1 if cfg.loss == "bce" else data.out_dim
        try:
            get_loss(cfg.loss).prepare_target(data.y, out_dim)
        except ConfigError as exc:
            raise ConfigError(f'loss = "{cfg.loss}" does not fit dataset = "{cfg.dataset}" '
                              f"({data.n_classes or 'no'} classes): {exc}") from None
    return data


def preflight(runs: Iterable[RunConfig]) -> None:
    """Refuse runs that cannot work or cannot fit (ConfigError), before any of them starts."""
    runs = list(runs)
    for cfg in runs:
        if cfg.steps > MAX_STEPS:
            raise ConfigError(f"steps = {cfg.steps} is more than gradscope runs ({MAX_STEPS:.0e}"
                              "; at ~0.1 ms per step that is already more than a day). Use fewer "
                              "steps.")
    checked: dict[tuple, Dataset] = {}
    largest, largest_bytes = None, -1.0
    for cfg in runs:
        key = (cfg.dataset, cfg.target, cfg.data_seed, cfg.loss, min(cfg.n_samples, 100_001))
        if key not in checked:
            # the dataset's shape does not depend on n_samples: check its options on a few rows
            # (memory is checked before building it at full size)
            checked[key] = _check_data(cfg) if cfg.n_samples <= 100_000 else None
            if checked[key] is None:
                _check_data(RunConfig.from_dict({**cfg.asdict(), "n_samples": 1000}))
        need = run_memory(cfg, *_dims(cfg, checked[key]))
        if need > largest_bytes:
            largest, largest_bytes = cfg, need
    if largest is not None:
        check_memory(largest_bytes, f"The largest run ({largest.label()}, batch "
                     f"{largest.batch_size}, {largest.n_samples} examples, {largest.dtype})",
                     "Reduce width, depth, n_samples or batch_size.")
