"""The sweep-throughput baseline: the same runs in PyTorch eager, watched by per-layer hooks.

Each run builds the gradscope net of its config, converts it to PyTorch (`to_torch`: same
weights, float64), attaches `watch(model, every=record_every)` (forward/backward hooks on every
layer, the statistics of layers.csv) and trains with `train_torch` (same batches, SGD), one
thread. The statistics are turned into the layers frame at the end, as a sweep would.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from gradscope.nn.mlp import mlp
from gradscope.torch import watch
from gradscope.torch.convert import to_torch
from gradscope.torch.train import train_torch
from gradscope.training.datasets import load_dataset


def run_torch(params: Mapping[str, Any]) -> None:
    """One run of a RunConfig's parameters (`cfg.asdict()`) in PyTorch eager with hooks."""
    data = load_dataset(params["dataset"], n=params["n_samples"], seed=params["data_seed"])
    net = mlp(data.in_dim, data.out_dim, params["depth"], params["width"],
              params["activation"], params["init"], seed=params["seed"], dtype=params["dtype"])
    model = to_torch(net)
    rec = watch(model, every=params["record_every"])
    try:
        train_torch(model, data, loss=params["loss"], optimizer=params["optimizer"],
                    lr=params["lr"], steps=params["steps"], batch_size=params["batch_size"],
                    seed=params["seed"], clip=params["clip"] or None)
        rec.to_frame()
    finally:
        rec.detach()


def time_torch_runs(runs: Sequence[Mapping[str, Any]]) -> float:
    """Seconds for every run of `runs` (RunConfig parameter dicts), one after the other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a gradscope worker: one BLAS thread
    try:
        start = time.perf_counter()
        for params in runs:
            run_torch(params)
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
