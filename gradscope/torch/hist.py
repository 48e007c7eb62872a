"""The recorder's fixed-bin histograms (`gradscope.recording.histograms`), binned in torch.

Same bins, same arithmetic as the numpy recorder, on the tensor's device: the bin coordinate is
computed in float32 exactly as numpy does it (|x| → float32, clamp at 1e-30, log10, ×5, +102 for
magnitudes; x·4 → float32, +13 for values), floored after clamping to the bin range, NaN in the
last bin, exact zeros split from the underflow bin. The basic operations (abs, ×, +, floor) are
correctly rounded in both engines, so a bin index can only differ where float32 `log10` of torch
and of numpy differ by an ulp: for a value within ~1e-6 (relative) of a magnitude edge. Counts
stay tensors; the watcher moves every layer's counts to numpy with its other numbers.
"""

from __future__ import annotations

import torch

from gradscope.recording.histograms import (
    LIN_MIN,
    LIN_WIDTH,
    LOG_MIN_DECADE,
    LOG_PER_DECADE,
    N_BINS,
    N_LIN_BINS,
    N_LOG_BINS,
    QUANTITIES,
)

_LOG_OFFSET = 2 - LOG_MIN_DECADE * LOG_PER_DECADE  # 1e-20 -> 2, the first regular bin
_LIN_OFFSET = 1 - LIN_MIN / LIN_WIDTH  # -3 -> 1, the first regular bin


def _clipped_counts(t: torch.Tensor, low: int, top: int) -> torch.Tensor:
    """Counts of floor(t) clipped to [low, top], NaN counted in `top` (length top + 1)."""
    t.clamp_(low, top).nan_to_num_(nan=float(top))
    return torch.bincount(t.to(torch.int64), minlength=top + 1)


def log_abs_counts(x: torch.Tensor) -> torch.Tensor:
    """Counts of |x| in the fixed magnitude bins, shape (N_LOG_BINS,), int64, on x's device."""
    flat = x.detach().reshape(-1)
    t = flat.to(torch.float32, copy=True).abs_().clamp_(min=1e-30)  # 0 shares bin 1
    t.log10_().mul_(LOG_PER_DECADE).add_(_LOG_OFFSET)
    counts = _clipped_counts(t, 1, N_LOG_BINS - 1)
    zeros = (flat == 0).sum()
    counts[0] = zeros  # exact zeros out of the zero-or-underflow bin
    counts[1] -= zeros
    return counts


def linear_counts(x: torch.Tensor) -> torch.Tensor:
    """Counts of x in the fixed value bins, shape (N_LIN_BINS,), int64, on x's device."""
    t = (x.detach().reshape(-1) * (1.0 / LIN_WIDTH)).to(torch.float32).add_(_LIN_OFFSET)
    return _clipped_counts(t, 0, N_LIN_BINS - 1)


def layer_counts(grad: torch.Tensor | None, delta: torch.Tensor | None,
                 activation: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    """(3, N_BINS) int64 counts of |dL/dW|, |δ| and the activation (rows in QUANTITIES order);
    a missing source leaves its row at zero, as in the numpy recorder."""
    out = torch.zeros((len(QUANTITIES), N_BINS), dtype=torch.int64, device=device)
    if grad is not None:
        out[0, :N_LOG_BINS] = log_abs_counts(grad)
    if delta is not None:
        out[1, :N_LOG_BINS] = log_abs_counts(delta)
    if activation is not None:
        out[2, :N_LIN_BINS] = linear_counts(activation)
    return out
