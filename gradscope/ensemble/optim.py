"""`StackedOptimizer`: each member's own optimiser, learning rate and clipping, on stacked params.

Members are grouped by optimiser; a group's update is the registered optimiser's own
`direction` (element-wise, so a stacked call gives each member what it gives alone), scaled by
the member's clipping factor and learning rate in the parameters' dtype, exactly as
`Optimizer.step` does for one net.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gradscope.training.optimizers import Optimizer, make_optimizer


@dataclass
class _Group:
    """The members (stack ids) that use one optimiser, and its per-parameter state."""

    opt: Optimizer
    members: np.ndarray
    slots: list[dict] = field(default_factory=list)


def _per_member(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """(E,) values shaped to broadcast over stacked `like` and in its dtype (as a Python float
    scalar meets an array in numpy: cast to the array's dtype)."""
    return values.astype(like.dtype).reshape((-1,) + (1,) * (like.ndim - 1))


class StackedOptimizer:
    """Per-member (optimiser, lr, clip); `step` updates the stacked params in place."""

    def __init__(self, optimizers: Sequence[str], lrs: Sequence[float],
                 clips: Sequence[float | None]) -> None:
        self.ids = np.arange(len(optimizers))
        self.lr = np.array(lrs, dtype=np.float64)
        self.clip = np.array([math.inf if not c else float(c) for c in clips])
        self.groups = [
            _Group(make_optimizer(name, 1.0),
                   np.array([i for i, o in enumerate(optimizers) if o == name], np.int64))
            for name in dict.fromkeys(optimizers)]
        self.t = 0

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the members at positions `rows` of the stack (the others diverged)."""
        self.ids, self.lr, self.clip = self.ids[rows], self.lr[rows], self.clip[rows]
        groups = []
        for g in self.groups:
            kept = np.isin(g.members, self.ids)
            g.members = g.members[kept]
            g.slots = [{k: v[kept] if isinstance(v, np.ndarray) else v for k, v in s.items()}
                       for s in g.slots]
            if g.members.size:
                groups.append(g)
        self.groups = groups

    def step(self, params: list[np.ndarray], grads: list[np.ndarray],
             grad_norm: np.ndarray) -> list[np.ndarray]:
        """Apply one update to every param (in place); returns the updates applied.
        `grad_norm`: each member's global gradient norm (for clipping)."""
        self.t += 1
        with np.errstate(all="ignore"):
            scale = np.where(grad_norm > self.clip, self.clip / grad_norm, 1.0)
        unclipped = bool((scale == 1.0).all())  # grad · 1.0 is grad: skip the pass
        updates = []
        whole = len(self.groups) == 1
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            scaled = grad if unclipped else grad * _per_member(scale, grad)
            update = None if whole else np.empty_like(param)
            for g in self.groups:
                while len(g.slots) <= i:
                    g.slots.append({"param": None, "t": 0})
                slot = g.slots[i]
                slot["t"] = self.t
                if whole:
                    update = _per_member(self.lr, param) * g.opt.direction(scaled, slot)
                else:
                    rows = np.searchsorted(self.ids, g.members)
                    update[rows] = _per_member(self.lr[rows], param) * g.opt.direction(
                        scaled[rows], slot)
            param -= update
            updates.append(update)
        return updates
