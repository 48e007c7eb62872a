"""A standard PyTorch training loop on a gradscope dataset (what `diagnose --torch` runs).

The same data, mini-batches and losses as `gradscope.train`: batches come from
`np.random.default_rng(seed)`, the loss is the mean over the batch (mse over all elements,
cross_entropy on integer labels, bce on one logit; "auto" picks as gradscope does), and the
optimisers are PyTorch's own (sgd; momentum 0.9; adam with its defaults), with optional clipping
of the global gradient norm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from gradscope.core.errors import ConfigError
from gradscope.training.loop import History, _batches, _dataset, _setup_loss
from gradscope.training.optimizers import OPTIMIZERS

LOSS_FUNCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": lambda out, t: nn.functional.mse_loss(out, t.reshape(out.shape)),
    "cross_entropy": nn.functional.cross_entropy,
    "bce": lambda out, t: nn.functional.binary_cross_entropy_with_logits(out, t.reshape(out.shape)),
}

OPTIMIZER_FACTORIES: dict[str, Callable[[Any, float], torch.optim.Optimizer]] = {
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


def _param(model: nn.Module) -> torch.Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError(
            f"The model {type(model).__name__} has no trainable parameters, so there is no "
            "gradient to watch; give a model with at least one nn.Linear, nn.Conv or other "
            "module with a trainable weight."
        )
    return params[0]


def _output_dim(model: nn.Module, x: torch.Tensor, in_dim: int) -> int:
    try:
        with torch.no_grad():
            out = model(x)
    except RuntimeError as exc:
        raise ConfigError(
            f"The model cannot take the dataset's inputs of shape (batch, {in_dim}): "
            f"{' '.join(str(exc).split())[:300]}. Build the model with {in_dim} input features."
        ) from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise ConfigError(
            "The model must return one tensor of shape (batch, outputs) for the standard loop, "
            f"got {type(out).__name__}"
            f"{tuple(out.shape) if isinstance(out, torch.Tensor) else ''}."
        )
    return int(out.shape[1])


def train_torch(model: nn.Module, data: Any, *, loss: str = "auto", optimizer: str = "sgd",
                lr: float = 0.1, steps: int = 100, batch_size: int = 64, seed: int = 0,
                clip: float | None = None) -> History:
    """Train `model` on `data` (a dataset name, a Dataset or an (X, y) pair) for `steps` steps
    and return gradscope's `History`; a non-finite loss stops the run with status "diverged"."""
    dataset = _dataset(data, seed)
    weight = _param(model)
    dtype, device = weight.dtype, weight.device
    X = torch.tensor(np.array(dataset.X), dtype=dtype, device=device)
    out_dim = _output_dim(model, X[: min(2, len(X))], dataset.in_dim)
    loss_obj, target = _setup_loss(loss, dataset, out_dim)
    loss_fn = LOSS_FUNCTIONS[loss_obj.name]
    T = torch.tensor(np.array(target), device=device)
    if T.is_floating_point():
        T = T.to(dtype)
    opt = OPTIMIZER_FACTORIES[OPTIMIZERS.parse(optimizer, "optimizer").name](
        model.parameters(), lr)
    batches = _batches(len(dataset), batch_size, np.random.default_rng(seed))
    losses, accs, norms = (np.full(steps, np.nan) for _ in range(3))
    status, first_bad, run = "ok", None, steps
    model.train()
    for t in range(steps):
        idx = torch.as_tensor(next(batches), device=device)
        opt.zero_grad(set_to_none=True)
        out = model(X[idx])
        value = loss_fn(out, T[idx])
        value.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        losses[t], norms[t] = float(value.detach()), float(norm)
        accs[t] = loss_obj.accuracy(out.detach().cpu().numpy(), dataset.y[idx.cpu().numpy()])
        if not (math.isfinite(losses[t]) and math.isfinite(norms[t])):
            status, first_bad, run = "diverged", t, t + 1
            break
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    final_loss = final_acc = math.nan
    if status == "ok":
        model.eval()
        with torch.no_grad():
            out = model(X)
            final_loss = float(loss_fn(out, T))
            final_acc = loss_obj.accuracy(out.cpu().numpy(), dataset.y)
        model.train()
        if not math.isfinite(final_loss):
            status, first_bad, final_loss, final_acc = "diverged", steps, math.nan, math.nan
    return History(np.arange(run), losses[:run], accs[:run], norms[:run], status, first_bad,
                   final_loss, final_acc)
