"""The per-layer reductions of the recorder's sources, computed in torch on the tensors' device.

Each function returns a 1-D tensor of floats (no `.item()`: nothing leaves the device until the
recorded step is complete and every layer's numbers cross to numpy in one transfer). They follow
gradscope.recording's definitions: norms are exact for values that over- or underflow a sum of
squares (rescaled by the largest magnitude), and a tensor with NaN/Inf has norm nan (any NaN) or
inf and its non-finite entries counted.

Two paths, as in the numpy recorder (`recording.stats`): the *fast* one (`fast_row`) reads each
array once or twice with plain reductions (‖x‖, min/max, Σx) and allocates nothing of the array's
size; `trusted` then checks its numbers on the numpy side — a sum of squares that may have over-
or underflowed, a non-finite value, a variance lost to cancellation — and only such a layer is
measured again on the *exact* path (`exact_row`: rescaled norms, NaN/Inf counts, two-pass std).
Healthy steps cost one transfer; a step with an exploding or vanishing layer costs two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gradscope.torch.modules import TorchActivation

NAN = float("nan")


def _safe_norm(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(‖x‖, max|x|, number of non-finite entries) of a float tensor, as 0-d tensors."""
    flat = x.detach().reshape(-1)
    if flat.numel() == 0:
        zero = flat.new_zeros(())
        return zero, zero, zero
    finite = torch.isfinite(flat)
    nonfinite = (~finite).sum().to(flat.dtype)
    mag = flat.abs()
    peak = mag.amax()  # nan if any entry is nan
    safe_peak = torch.where(torch.isfinite(peak) & (peak > 0), peak, torch.ones_like(peak))
    scaled = torch.linalg.vector_norm(flat / safe_peak) * safe_peak
    has_nan = torch.isnan(flat).any()
    norm = torch.where(nonfinite > 0, torch.where(has_nan, flat.new_tensor(NAN),
                                                  flat.new_tensor(float("inf"))),
                       torch.where(peak > 0, scaled, torch.zeros_like(peak)))
    return norm, peak, nonfinite


def grad_stats(g: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """[norm, rms, max_abs, nonfinite] of dL/dW (nan for a parameter without a gradient)."""
    if g is None:
        return like.new_full((4,), NAN)
    norm, peak, nonfinite = _safe_norm(g)
    rms = norm / max(g.numel(), 1) ** 0.5 if g.numel() else torch.zeros_like(norm)
    return torch.stack([norm, rms, peak, nonfinite])


def bias_stats(g: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """[norm, nonfinite] of dL/db."""
    if g is None:
        return like.new_full((2,), NAN)
    norm, _, nonfinite = _safe_norm(g)
    return torch.stack([norm, nonfinite])


def norm_of(x: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """[‖x‖] (nan for None)."""
    if x is None:
        return like.new_full((1,), NAN)
    return _safe_norm(x)[0].reshape(1)


def activation_stats(out: torch.Tensor, act: TorchActivation | None) -> torch.Tensor:
    """[act_mean, act_std, saturated_frac, dead_frac] of a layer's post-activation output `out`
    (`act` None: the layer's own output; both fractions are then nan, as in gradscope)."""
    a = out.detach()
    if a.numel() == 0:
        return a.new_full((4,), NAN)
    mean = a.mean()
    std = a.std(correction=0) if a.numel() > 1 else torch.zeros_like(mean)
    return torch.stack([mean, std, *_fractions(a, act)])


@dataclass
class LayerTensors:
    """What one recorded module gives at the end of a recorded backward pass."""

    weight: torch.Tensor
    grad: torch.Tensor | None
    bias_grad: torch.Tensor | None
    delta: torch.Tensor | None
    activation: torch.Tensor | None  # post-activation output (or the module's own output)
    act: TorchActivation | None  # the activation applied (None: own output)


def _norm(x: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    if x is None:
        return like.new_full((), NAN)
    return torch.linalg.vector_norm(x.detach())


def _fractions(a: torch.Tensor, act: TorchActivation | None) -> tuple[torch.Tensor, ...]:
    """(saturated, dead) shares of a post-activation tensor (nan where not applicable)."""
    sat = dead = a.new_tensor(NAN)
    if act is not None and act.family == "saturating" and act.grad_of_output is not None:
        sat = (act.grad_of_output(a) < 0.01 * act.max_grad).to(a.dtype).mean()
    if act is not None and act.family == "relu":  # a unit is dead if a <= 0 for every example
        per_unit = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)
        dead = (per_unit.amax(dim=0) <= 0).to(a.dtype).mean()
    return sat, dead


def fast_row(t: LayerTensors) -> torch.Tensor:
    """The FIELDS of one layer (see watch.FIELDS) from plain reductions, float64; the NaN/Inf
    counts are 0 (`trusted` sends a layer with a non-finite norm to `exact_row`)."""
    w = t.weight.detach()
    zero = w.new_zeros(())
    if t.grad is not None and t.grad.numel():
        g = t.grad.detach()
        norm = torch.linalg.vector_norm(g)
        lo, hi = torch.aminmax(g)
        grad = [norm, norm / g.numel() ** 0.5, torch.maximum(hi, -lo), zero]
    else:
        grad = list(grad_stats(t.grad, w))
    act = [w.new_tensor(NAN)] * 4
    if t.activation is not None and t.activation.numel():
        a = t.activation.detach()
        n = a.numel()
        mean = a.sum() / n
        var = torch.linalg.vector_norm(a) ** 2 / n - mean * mean
        act = [mean, var.clamp(min=0).sqrt(), *_fractions(a, t.act)]
    values = [*grad, _norm(t.bias_grad, w), zero, _norm(w, w), _norm(t.delta, w), *act]
    return torch.stack([v.to(torch.float64) for v in values])


def exact_row(t: LayerTensors) -> torch.Tensor:
    """The same fields from the exact reductions (rescaled norms, NaN/Inf counts, two-pass std)."""
    w = t.weight
    act = (activation_stats(t.activation, t.act) if t.activation is not None
           else w.new_full((4,), NAN))
    return torch.cat([grad_stats(t.grad, w), bias_stats(t.bias_grad, w), norm_of(w, w),
                      norm_of(t.delta, w), act.to(w.dtype)]).to(torch.float64)


def _safe_low(dtype: torch.dtype) -> float:
    """The smallest sum of squares that has lost no precision to underflow (as recording.stats)."""
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.finfo(torch.float64)
    return info.tiny / info.eps


def norm_is_trusted(norm: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Whether fast norms are exact: finite, and a sum of squares clear of underflow."""
    with np.errstate(all="ignore"):
        return np.isfinite(norm) & (norm * norm >= _safe_low(dtype))


def trusted(row: np.ndarray, t: LayerTensors) -> bool:
    """Whether `fast_row`'s numbers (`row`, in FIELDS order) need no exact recomputation."""
    dtype = t.weight.dtype
    norms = [(row[0], t.grad), (row[4], t.bias_grad), (row[6], t.weight), (row[7], t.delta)]
    for value, tensor in norms:
        if tensor is None or tensor.numel() == 0:
            continue
        if not norm_is_trusted(np.asarray(value), dtype) and not (value == 0 and tensor is t.grad
                                                                   and row[2] == 0):
            return False  # over/underflow or NaN/Inf: rescaled norm and counts needed
    if t.activation is not None and t.activation.numel():
        mean, std = row[8], row[9]
        # Σa²/n − mean² keeps ≥ 3 fewer digits than the dtype when var ≤ 1e-3·E[a²]
        if not (np.isfinite(mean) and np.isfinite(std) and std * std > 1e-3 * (
                std * std + mean * mean)):
            return False
    return True
