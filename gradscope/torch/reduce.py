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
    bias: torch.Tensor | None = None  # the module's bias (its norm is `bias_norm`)


# what the fast path reduces each layer to (in the weights' dtype), combined in numpy by `assemble`
RAW = ("grad.norm", "grad.min", "grad.max", "bias_grad.norm", "weight.norm", "delta.norm",
       "activation.sum", "activation.norm", "activation.saturated", "activation.dead",
       "bias.norm")


def _given(x: torch.Tensor | None) -> bool:
    return x is not None


def _fractions(a: torch.Tensor, act: TorchActivation | None) -> tuple[torch.Tensor, ...]:
    """(saturated, dead) shares of a post-activation tensor (nan where not applicable)."""
    sat = dead = a.new_tensor(NAN)
    if act is not None and act.family == "saturating" and act.grad_of_output is not None:
        sat = (act.grad_of_output(a) < 0.01 * act.max_grad).sum(dtype=a.dtype) / a.numel()
    if act is not None and act.family == "relu":  # a unit is dead if a <= 0 for every example
        per_unit = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)
        dead = (per_unit.amax(dim=0) <= 0).sum(dtype=a.dtype) / per_unit.shape[1]
    return sat, dead


def fast_raw(t: LayerTensors) -> torch.Tensor:
    """One layer's `RAW` numbers from plain reductions (‖x‖, min/max, Σx: each array read once,
    the gradient twice, nothing of its size allocated), in the weights' dtype."""
    w = t.weight.detach()
    nan = w.new_full((), NAN)
    values = [nan] * len(RAW)
    if _given(t.grad) and t.grad.numel():  # (an empty one goes to the exact path)
        g = t.grad.detach()
        lo, hi = torch.aminmax(g)
        values[0:3] = torch.linalg.vector_norm(g), lo, hi
    for i, x in ((3, t.bias_grad), (4, w), (5, t.delta), (10, t.bias)):
        if _given(x):
            values[i] = torch.linalg.vector_norm(x.detach())
    if _given(t.activation):
        a = t.activation.detach()
        values[6:10] = a.sum(), torch.linalg.vector_norm(a), *_fractions(a, t.act)
    return torch.stack([v if v.dtype == w.dtype else v.to(w.dtype) for v in values])


def assemble(raw: np.ndarray, tensors: list[LayerTensors]) -> tuple[np.ndarray, np.ndarray]:
    """(FIELDS values (n_layers, 13), trusted (n_layers,)) from the layers' `RAW` rows: a layer
    is not trusted when a sum of squares may have over- or underflowed, a value is NaN/Inf, or
    Σa²/n − mean² lost more than 3 digits to cancellation (var ≤ 1e-3·E[a²])."""
    n_grad = np.array([t.grad.numel() if _given(t.grad) else np.nan for t in tensors], float)
    n_act = np.array([t.activation.numel() if _given(t.activation) else np.nan
                      for t in tensors], float)
    low = np.array([_safe_low(t.weight.dtype) for t in tensors])
    given = np.array([[_given(t.grad), _given(t.bias_grad), True, _given(t.delta),
                       _given(t.bias)] for t in tensors]).reshape(len(tensors), 5)
    g_norm, g_lo, g_hi, b_norm, w_norm, d_norm, a_sum, a_norm, sat, dead, bias_norm = raw.T
    with np.errstate(all="ignore"):
        max_abs = np.fmax(g_hi, -g_lo)
        max_abs[np.isnan(g_hi) | np.isnan(g_lo)] = np.nan
        mean = a_sum / n_act
        sq = a_norm * a_norm / n_act
        var = sq - mean * mean
        std = np.sqrt(np.maximum(var, 0.0))
        norms = np.stack([g_norm, b_norm, w_norm, d_norm, bias_norm], axis=1)
        ok = np.isfinite(norms) & (norms * norms >= low[:, None])
        ok[:, 0] |= (g_norm == 0) & (max_abs == 0)  # an all-zero gradient is exact
        ok |= ~given
        act_ok = np.isnan(n_act) | (np.isfinite(mean) & np.isfinite(sq) & (var > 1e-3 * sq))
    zeros = np.where(given[:, 0], 0.0, np.nan)
    values = np.stack([g_norm, g_norm / np.sqrt(n_grad), max_abs, zeros, b_norm,
                       np.where(given[:, 1], 0.0, np.nan), w_norm, d_norm, mean, std, sat,
                       dead, bias_norm], axis=1)
    return values, ok.all(axis=1) & act_ok


def exact_row(t: LayerTensors) -> torch.Tensor:
    """The same fields from the exact reductions (rescaled norms, NaN/Inf counts, two-pass std)."""
    w = t.weight
    act = (activation_stats(t.activation, t.act) if t.activation is not None
           else w.new_full((4,), NAN))
    return torch.cat([grad_stats(t.grad, w), bias_stats(t.bias_grad, w), norm_of(w, w),
                      norm_of(t.delta, w), act.to(w.dtype), norm_of(t.bias, w)]).to(torch.float64)


def _safe_low(dtype: torch.dtype) -> float:
    """The smallest sum of squares that has lost no precision to underflow (as recording.stats)."""
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.finfo(torch.float64)
    return info.tiny / info.eps


def norm_is_trusted(norm: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Whether fast norms are exact: finite, and a sum of squares clear of underflow."""
    with np.errstate(all="ignore"):
        return np.isfinite(norm) & (norm * norm >= _safe_low(dtype))


