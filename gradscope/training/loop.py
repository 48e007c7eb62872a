"""`train(...)`: the mini-batch training loop the CLI and the runner use, and its `History`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar
from gradscope.nn.layers import Layer
from gradscope.nn.quiet import quiet
from gradscope.training.datasets import Dataset, from_arrays, load_dataset
from gradscope.training.grad_norm import GradNorm
from gradscope.training.losses import Loss
from gradscope.training.losses import loss as get_loss
from gradscope.training.optimizers import Optimizer, make_optimizer


class StepRecorder(Protocol):
    """What `train` needs from a recorder (e.g. `GradientRecorder`)."""

    def set_step(self, t: int) -> None: ...

    def on_update(self, t: int, update_norms: dict[tuple[int, str], float]) -> None: ...

    # optional: `wants_update(t) -> bool`, False when on_update(t, ...) would ignore the norms


@dataclass(eq=False)
class History:
    """Per-step training history (one entry per step run) and the final evaluation.

    `first_nonfinite_step` is the step whose loss or gradient was first non-finite; it equals
    the number of steps when only the final evaluation overflowed (the last update did it).
    """

    step: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    grad_global_norm: np.ndarray  # before clipping
    status: str  # "ok" | "diverged"
    first_nonfinite_step: int | None
    final_loss: float  # full dataset, eval mode, after training; nan if diverged
    final_accuracy: float  # nan if diverged or for regression

    def to_frame(self) -> pd.DataFrame:
        """Columns step, loss, accuracy, grad_global_norm (the steps.csv columns but run_id)."""
        return pd.DataFrame({"step": self.step, "loss": self.loss, "accuracy": self.accuracy,
                             "grad_global_norm": self.grad_global_norm})


def _dataset(data: Any, seed: int) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, str):
        return load_dataset(data, seed=seed)
    if isinstance(data, tuple | list) and len(data) == 2:
        return from_arrays(*data)
    raise ConfigError(f"data must be a dataset name, a Dataset or an (X, y) pair, got "
                      f"{type(data).__name__}.")


def _edge_weight(net: Layer, last: bool) -> np.ndarray | None:
    """W of the first (or last) leaf layer, if that layer has a 2-D weight matrix."""
    leaves = [layer for _, layer in net.named_layers() if not layer.children()]
    if not leaves:
        return None
    w = leaves[-1 if last else 0].params.get("W")
    return w if isinstance(w, np.ndarray) and w.ndim == 2 else None


def _setup_loss(loss: str | Loss, data: Dataset, out_dim: int) -> tuple[Loss, np.ndarray]:
    if isinstance(loss, str) and loss == "auto":
        if data.task == "regression":
            loss = "mse"
        else:
            loss = "bce" if out_dim == 1 and data.n_classes == 2 else "cross_entropy"
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    try:
        return loss_fn, loss_fn.prepare_target(data.y, out_dim)
    except ConfigError as exc:
        what = (f"{data.n_classes} classes" if data.task == "classification"
                else f"{data.out_dim} target column(s)")
        raise ConfigError(f"Dataset {data.name!r} has {what}: {exc}") from None


def _batches(n: int, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Index batches of `size`, reshuffled every epoch (the incomplete last batch is dropped)."""
    size = min(size, n)
    while True:
        order = rng.permutation(n)
        yield from (order[i:i + size] for i in range(0, n - size + 1, size))


def _param_dtype(net: Layer) -> np.dtype:
    """The floating dtype of the network's parameters (float64 if it has none)."""
    for _, _, p in net.parameters():
        if p.dtype.kind == "f":
            return p.dtype
    return np.dtype("float64")


def train(net: Layer, data: Any, loss: str | Loss = "auto", optimizer: str | Optimizer = "sgd",
          lr: float = 0.1, steps: int = 100, batch_size: int = 64,
          recorder: StepRecorder | None = None, seed: int = 0,
          clip: float | None = None) -> History:
    """Train `net` on `data` (a dataset name, a Dataset or an (X, y) pair) for `steps` steps.

    Step t: recorder.set_step(t) → forward → loss → backward → if the loss or a gradient is
    non-finite: stop with status "diverged" (no update) → else optimizer step →
    recorder.on_update(t, update_norms). Overflow is a result, never a warning or an error.
    """
    steps = check_scalar(steps, "steps", int, min_val=0)
    batch_size = check_scalar(batch_size, "batch_size", int, min_val=1)
    data = _dataset(data, seed)
    first_w, last_w = _edge_weight(net, last=False), _edge_weight(net, last=True)
    if first_w is not None and first_w.shape[0] != data.in_dim:
        raise ConfigError(f"The network's first layer takes {first_w.shape[0]} inputs but dataset "
                          f"{data.name!r} has {data.in_dim} features; build it with in_dim = "
                          f"{data.in_dim}.")
    out_dim = data.out_dim if last_w is None else last_w.shape[1]
    loss_fn, target = _setup_loss(loss, data, out_dim)
    dtype = _param_dtype(net)
    X = data.X.astype(dtype, copy=False)  # float32 nets train in float32 end to end
    if target.dtype.kind == "f":
        target = target.astype(dtype, copy=False)
    if not isinstance(optimizer, Optimizer):
        optimizer = make_optimizer(optimizer, lr, clip=clip)
    batches = _batches(len(data), batch_size, np.random.default_rng(seed))
    losses, accs, norms = (np.full(steps, np.nan) for _ in range(3))
    status, first_bad, run = "ok", None, steps
    net.train()
    params = list(net.parameters())  # walked once, not twice per step
    grad_norm = GradNorm(params)  # = global_grad_norm(net), same-shaped grads reduced together
    # a recorder may say which steps' update norms it keeps (the others are not computed)
    wants = getattr(recorder, "wants_update", None)
    with quiet():  # one errstate for the run, not one per layer call
        for t in range(steps):
            idx = next(batches)
            if recorder is not None:
                recorder.set_step(t)
            out = net.forward(X[idx])
            value, grad_out = loss_fn(out, target[idx])
            grad_norm.prepare()
            net.backward(grad_out)
            losses[t], accs[t] = value, loss_fn.accuracy(out, data.y[idx])
            norms[t] = grad_norm()
            if not (math.isfinite(value) and math.isfinite(norms[t])):
                status, first_bad, run = "diverged", t, t + 1
                break
            track = recorder is not None and (wants is None or wants(t))
            update_norms = optimizer.step(net, track=track, params=params, grad_norm=norms[t])
            if recorder is not None:
                recorder.on_update(t, update_norms)
        final_loss = final_acc = float("nan")
        if status == "ok":
            net.eval()
            try:
                out = net.forward(X)
                final_loss = loss_fn(out, target)[0]
                final_acc = loss_fn.accuracy(out, data.y)
            finally:
                net.train()
            if not math.isfinite(final_loss):  # the last update overflowed the weights
                status, first_bad, final_loss, final_acc = "diverged", steps, math.nan, math.nan
    return History(np.arange(run), losses[:run], accs[:run], norms[:run], status, first_bad,
                   final_loss, final_acc)
