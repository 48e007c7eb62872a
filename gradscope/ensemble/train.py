"""`train_ensemble(members, ...)`: `train` + `GradientRecorder` for E same-shaped nets at once.

Each member keeps everything that makes its run its own — weights, data, loss, optimiser,
learning rate, clipping and the mini-batch generator seeded with its seed (the same draws, in
the same order, as `train`). Per step: one stacked forward and backward (`StackedMLP`), each
member's loss on its own batch, the global gradient norms, the divergence check, the stacked
update. A member whose loss or gradient turns non-finite stops there with status "diverged"
(its rows of that step kept, as the recorder keeps them) and leaves the stack; the others go
on. Statistics are reduced for all members at once (`recording.stacked`).

The result of member e is bit-identical to `train(net_e, ...)` with a `GradientRecorder(net_e,
every, hist=hist)` attached: same History, same layers/hist frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gradscope.ensemble.optim import StackedOptimizer
from gradscope.ensemble.stack import NotStackable, StackedMLP
from gradscope.nn.layers import Activation, Layer
from gradscope.recording.buffer import StatBuffer
from gradscope.recording.frames import hist_frame, layer_arrays, layer_frame
from gradscope.recording.histograms import counts_into, linear_counts
from gradscope.recording.quantities import SOURCES
from gradscope.recording.schema import FIELD_INDEX
from gradscope.recording.slots import Slot, weight_slots
from gradscope.recording.stacked import StackedRows, l2_norms, own_reductions, reduce_stacked
from gradscope.training.datasets import Dataset
from gradscope.training.loop import History, _batches, _setup_loss
from gradscope.training.optimizers import combine_norms

_UPDATE = FIELD_INDEX["update.norm"]


@dataclass(frozen=True)
class Member:
    """One run of an ensemble: its untrained net, data and optimisation settings."""

    net: Layer
    data: Dataset
    seed: int
    loss: str = "auto"
    optimizer: str = "sgd"
    lr: float = 0.1
    clip: float | None = None


@dataclass(eq=False)
class MemberResult:
    """A member's training history and recorded statistics (what its recorder would hold)."""

    history: History
    buffer: StatBuffer
    slots: list[Slot]

    def layers(self) -> pd.DataFrame:
        """The layers.csv rows, as `GradientRecorder.to_frame()` gives them."""
        return layer_frame(self.buffer, self.slots, list(range(len(self.slots))))

    def columns(self) -> dict[str, Any]:
        """The same rows as numpy arrays, as `GradientRecorder.to_columns()` gives them."""
        return layer_arrays(self.buffer, self.slots, list(range(len(self.slots))))

    def hist(self) -> pd.DataFrame:
        """The hist.csv rows, as `GradientRecorder.hist_frame()` gives them."""
        return hist_frame(self.buffer, list(range(len(self.slots))))


class _Recording:
    """The forward/backward hooks of the stack: statistics of recorded steps into `rows`."""

    def __init__(self, rows: StackedRows, hist: bool) -> None:
        self.rows, self.hist = rows, hist
        self.t, self.ids = 0, np.zeros(0, np.int64)
        self.stats = self.hists = False
        self.act_counts: dict[int, list[np.ndarray]] = {}

    def begin(self, t: int, ids: np.ndarray, stats: bool, hist: bool) -> None:
        self.t, self.ids, self.stats, self.hists = t, ids, stats, hist

    def forward(self, i: int, z: np.ndarray, a: np.ndarray, act: Activation | None) -> None:
        if self.stats:
            self.rows.write(self.t, self.ids, i, "activation",
                            reduce_stacked("activation", a, z, act))
            for index, values in own_reductions("activation", a):
                self.rows.write_field(self.t, self.ids, i, index, values)
        if self.hists:
            self.act_counts[i] = [linear_counts(member) for member in a]

    def backward(self, i: int, gW: np.ndarray, gb: np.ndarray, delta: np.ndarray,
                 W: np.ndarray, b: np.ndarray) -> None:
        t, ids = self.t, self.ids
        if self.stats:  # the hook path's sources of a Dense layer, those the schema has
            for source, array in (("grad", gW), ("bias_grad", gb), ("delta", delta),
                                  ("weight", W), ("bias", b)):
                if source not in SOURCES:
                    continue
                self.rows.write(t, ids, i, source, reduce_stacked(source, array))
                for index, values in own_reductions(source, array):
                    self.rows.write_field(t, ids, i, index, values)
            self.rows.mark(t, ids, i)
        if self.hists:
            counts = self.rows.counts(t)
            act_counts = self.act_counts.pop(i)
            for k, m in enumerate(ids):
                counts_into(counts[m, i], gW[k], delta[k], None)
                counts[m, i, 2, : act_counts[k].size] = act_counts[k]


def _global_norms(grads: list[np.ndarray],
                  stacks: Sequence[tuple[list[int], np.ndarray]] = ()) -> np.ndarray:
    """Each member's `global_grad_norm`: its per-array norms combined as `stable_norm` does.
    `stacks`: (positions in `grads`, the stacked array they are slices of), reduced in one
    call each (each norm equal to `stats.l2_norm` of that member's array)."""
    per_array = np.empty((len(grads[0]), len(grads)))  # (E, n_params)
    done: set[int] = set()
    for positions, stack in stacks:
        if all(grads[p].base is stack for p in positions):
            n = len(positions)
            norms = l2_norms(stack.reshape(n * stack.shape[1], *stack.shape[2:]))
            per_array[:, positions] = norms.reshape(n, -1).T
            done.update(positions)
    for p, g in enumerate(grads):
        if p not in done:
            per_array[:, p] = l2_norms(g)
    return np.array([combine_norms(row) for row in per_array.tolist()])


def train_ensemble(members: Sequence[Member], *, steps: int, batch_size: int, every: int,
                   hist: bool = False) -> list[MemberResult]:
    """Train every member for `steps` steps of `batch_size`, recording every `every` steps
    (and histograms then, with `hist`); NotStackable when the nets or data differ in shape."""
    stack = StackedMLP([m.net for m in members])
    if stack.blocks[0].W.dtype != np.float64 and any(m.clip for m in members):
        raise NotStackable("clipping in float32 scales by a float64 factor (float64 updates)")
    n = len(members)
    slots = [weight_slots(m.net) for m in members]
    dtype = stack.blocks[0].W.dtype
    out_dim = stack.blocks[-1].W.shape[2]
    losses, targets, batches = [], [], []
    for m in members:
        loss_fn, target = _setup_loss(m.loss, m.data, out_dim)
        losses.append(loss_fn)
        targets.append(target.astype(dtype, copy=False) if target.dtype.kind == "f" else target)
        batches.append(_batches(len(m.data), batch_size, np.random.default_rng(m.seed)))
    if len({m.data.X.shape for m in members}) != 1:
        raise NotStackable("the members' datasets differ in shape")
    X = np.stack([m.data.X.astype(dtype, copy=False) for m in members])  # (E, N, in_dim)
    # one loss for all members (the registry's instance), same-shaped targets: stacked calls
    together = (all(fn is losses[0] for fn in losses)
                and len({t.shape for t in targets}) == 1
                and len({(np.shape(m.data.y), np.asarray(m.data.y).dtype) for m in members}) == 1)
    T = np.stack(targets) if together else None
    Y = np.stack([np.asarray(m.data.y) for m in members]) if together else None
    rows = StackedRows(n, len(slots[0]), hist)
    rec = _Recording(rows, hist)
    opt = StackedOptimizer([m.optimizer for m in members], [m.lr for m in members],
                           [m.clip for m in members])
    loss_t, acc_t, norm_t = (np.full((n, steps), np.nan) for _ in range(3))
    status, first_bad, run = ["ok"] * n, [None] * n, [steps] * n
    ids = np.arange(n)
    with np.errstate(all="ignore"):
        for t in range(steps):
            due = t % every == 0
            rec.begin(t, ids, due, hist and due)
            idx = np.stack([next(batches[m]) for m in ids])  # (E, B): each member's own draws
            out = stack.forward(X[ids[:, None], idx], rec.forward if due else None)
            if T is not None:  # every member's loss and accuracy in one stacked call
                picks = (ids[:, None], idx)
                loss_t[ids, t], grad_out = losses[0].stacked(out, T[picks])
                acc_t[ids, t] = losses[0].stacked_accuracy(out, Y[picks])
            else:
                grads_out = []
                for k, m in enumerate(ids):
                    value, g = losses[m](out[k], targets[m][idx[k]])
                    loss_t[m, t] = value
                    acc_t[m, t] = losses[m].accuracy(out[k], members[m].data.y[idx[k]])
                    grads_out.append(g)
                grad_out = np.stack(grads_out)
            grads = stack.backward(grad_out, rec.backward if due else None)
            norms = _global_norms(grads, stack.grad_stacks)
            norm_t[ids, t] = norms
            bad = ~(np.isfinite(loss_t[ids, t]) & np.isfinite(norms))
            if bad.any():
                for m in ids[bad]:
                    status[m], first_bad[m], run[m] = "diverged", t, t + 1
                keep = np.flatnonzero(~bad)
                ids, norms = ids[keep], norms[keep]
                grads = [g[keep] for g in grads]
                stack.keep(keep)
                opt.keep(keep)
                if not ids.size:
                    break
            updates = opt.step(stack.params(), grads, norms)
            if due:  # update.norm of W: `stable_norm([update])` of each member
                for i in range(len(stack.blocks)):
                    values = [combine_norms([v]) for v in l2_norms(updates[2 * i]).tolist()]
                    rows.write_field(t, ids, i, _UPDATE, np.array(values))
        final_loss, final_acc = [math.nan] * n, [math.nan] * n
        if ids.size:
            out = stack.forward(X[ids])
            for k, m in enumerate(ids):
                value = losses[m](out[k], targets[m])[0]
                if math.isfinite(value):
                    final_loss[m] = value
                    final_acc[m] = losses[m].accuracy(out[k], members[m].data.y)
                else:  # the last update overflowed the weights
                    status[m], first_bad[m] = "diverged", steps
    buffers = rows.buffers()
    return [MemberResult(History(np.arange(run[m]), loss_t[m, :run[m]].copy(),
                                 acc_t[m, :run[m]].copy(), norm_t[m, :run[m]].copy(), status[m],
                                 first_bad[m], final_loss[m], final_acc[m]),
                         buffers[m], slots[m]) for m in range(n)]
