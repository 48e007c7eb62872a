"""The per-layer reductions of the recorder's sources, computed in torch on the tensors' device.

Each function returns a 1-D tensor of floats (no `.item()`: nothing leaves the device until the
recorded step is complete and every layer's numbers cross to numpy in one transfer). They follow
gradscope.recording's definitions: norms are exact for values that over- or underflow a sum of
squares (rescaled by the largest magnitude), and a tensor with NaN/Inf has norm nan (any NaN) or
inf and its non-finite entries counted.
"""

from __future__ import annotations

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
    sat = dead = a.new_tensor(NAN)
    if act is not None and act.family == "saturating" and act.grad_of_output is not None:
        sat = (act.grad_of_output(a) < 0.01 * act.max_grad).to(a.dtype).mean()
    if act is not None and act.family == "relu":
        inactive = (a <= 0).reshape(a.shape[0], -1) if a.ndim > 1 else (a <= 0).reshape(1, -1)
        dead = inactive.all(dim=0).to(a.dtype).mean()
    return torch.stack([mean, std, sat, dead])
