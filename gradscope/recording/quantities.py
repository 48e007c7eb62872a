"""The per-layer statistics of layers.csv, one declarative entry each, and the sources they read.

A **source** is one array of one layer at one step: "grad" (dL/dW), "bias_grad" (dL/db), "delta"
(dL/dz, the signal reaching the layer), "weight" (W), "bias" (b), "update" (ΔW the optimiser
applied) and "activation" (the layer's output after its nonlinearity, with the pre-activation
and the activation layer for the masks). Each source is reduced in ONE fused call to a few named
**fields** (`SOURCES`): e.g. grad → norm, rms, max_abs, nonfinite from a single pass. The fields
are what the recorder's buffer stores (`recording.buffer.StatBuffer`), whoever computed them: the
numpy reductions below, or a framework adapter with its own (e.g. torch) reductions of the same
sources.

A **quantity** is one column of layers.csv (`QUANTITIES`): its name, the buffer fields it reads,
how it combines them (at `to_frame()`, vectorised over all rows), and a one-line doc. The column
list and the CSV schema (`recording.schema`) derive from this table.

Adding a statistic is one entry here plus its test. A column made from fields that exist:

    Quantity("grad_to_weight", reads=("grad.norm", "weight.norm"), combine=ratio,
             doc="‖dL/dW‖ / ‖W‖")

A column that needs its own pass over a source array (`reduce` gets the numpy array; the buffer
gets a field named after the quantity, "grad.grad_mean_abs" here):

    Quantity("grad_mean_abs", reads="grad", reduce=lambda g: float(np.abs(g).mean()),
             doc="mean |dL/dW|")

Its test: record a small net, compare the column with numpy (see tests/test_recorder.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscope.recording import stats

NAN = stats.NAN


@dataclass(frozen=True)
class Source:
    """One array a layer exposes per step, and its fused numpy reduction to named fields
    (`reduce` runs under the caller's np.errstate(all="ignore"): overflow is a result)."""

    name: str
    fields: tuple[str, ...]
    reduce: Callable[..., tuple[float, ...]]  # (array, *context) -> one value per field
    doc: str


@dataclass(frozen=True)
class Quantity:
    """One per-layer column: `reads` names buffer fields ("source.field"), or with `reduce`, the
    source whose array `reduce` turns into one float; `combine` makes the column from the fields
    read (default: the one field as it is); `integer`: int64 when no value is missing."""

    name: str
    reads: str | tuple[str, ...]
    doc: str
    combine: Callable[..., np.ndarray] | None = None
    reduce: Callable[[np.ndarray], float] | None = None
    integer: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        """The buffer fields this quantity reads."""
        if self.reduce is not None:
            return (f"{self.reads}.{self.name}",)
        return (self.reads,) if isinstance(self.reads, str) else tuple(self.reads)


# -- how each source reduces (numpy; a framework adapter may supply its own) ----------------------


def _activation(a: np.ndarray, z: np.ndarray | None = None, act: Any = None,
                masks: bool = True) -> tuple[float, ...]:
    """(mean, std, saturated, dead) of the post-activation `a`; the two fractions ask the
    activation layer `act` (see `recording.activation_protocol`) and are NaN without one.
    masks=False: the fractions are not measured (None: the buffer keeps what it has)."""
    mean, std = stats.mean_std_fields(a)
    if not masks:
        return mean, std, None, None
    if act is None:
        return mean, std, NAN, NAN
    return (mean, std, stats.mask_fraction(_mask(act, "saturated", z, a)),
            stats.dead_fraction(_mask(act, "inactive", z)))


def _mask(act: Any, method: str, *args: np.ndarray | None) -> np.ndarray | None:
    fn = getattr(act, method, None)
    return fn(*args) if callable(fn) else None


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("grad", ("norm", "rms", "max_abs", "nonfinite"), stats.grad_fields,
           "dL/dW, the weight gradient (any layout: every field is layout-free)"),
    Source("bias_grad", ("norm", "nonfinite"), stats.norm_fields, "dL/db, the bias gradient"),
    Source("delta", ("norm",), stats.norm_field, "dL/dz, the gradient reaching the layer's output"),
    Source("weight", ("norm",), stats.norm_field, "W, the weights"),
    Source("bias", ("norm",), stats.norm_field, "b, the biases"),
    Source("update", ("norm",), stats.norm_field, "ΔW, the update the optimiser applied"),
    Source("activation", ("mean", "std", "saturated", "dead"), _activation,
           "the layer's output after its nonlinearity (with pre-activation z and the activation)"),
)}


# -- the columns ----------------------------------------------------------------------------------


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den element-wise (NaN where either is missing; inf/NaN without a warning)."""
    with np.errstate(all="ignore"):
        return num / den


def nan_sum(*values: np.ndarray) -> np.ndarray:
    """Sum treating NaN as 0, NaN only where every term is NaN."""
    stacked = np.stack(values)
    return np.where(np.isnan(stacked).all(axis=0), NAN, np.nansum(stacked, axis=0))


QUANTITIES: tuple[Quantity, ...] = (
    Quantity("grad_norm", "grad.norm", "‖dL/dW‖, Frobenius norm of the weight gradient"),
    Quantity("grad_rms", "grad.rms", "‖dL/dW‖ / √(number of weights)"),
    Quantity("grad_max_abs", "grad.max_abs", "max |dL/dW|"),
    Quantity("bias_grad_norm", "bias_grad.norm", "‖dL/db‖"),
    Quantity("delta_norm", "delta.norm", "‖dL/dz‖ over the batch: the backward signal"),
    Quantity("weight_norm", "weight.norm", "‖W‖"),
    Quantity("update_ratio", ("update.norm", "weight.norm"), "‖ΔW‖ / ‖W‖ of the applied update",
             combine=ratio),
    Quantity("act_mean", "activation.mean", "mean of the post-activation values"),
    Quantity("act_std", "activation.std", "std (population) of the post-activation values"),
    Quantity("saturated_frac", "activation.saturated",
             "share of entries where φ' < 1% of its max (saturating activations)"),
    Quantity("dead_frac", "activation.dead",
             "share of units inactive (z ≤ 0) for the whole batch (ReLU family)"),
    Quantity("nonfinite", ("grad.nonfinite", "bias_grad.nonfinite"),
             "number of NaN/Inf entries in dL/dW and dL/db", combine=nan_sum, integer=True),
    # appended last so that readers of older layers.csv files (without it) keep their columns
    Quantity("bias_norm", "bias.norm", "‖b‖ (with weight_norm: the theory's σ_b² and σ_w²)"),
)
