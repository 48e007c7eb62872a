"""The numbers a diagnosis rests on, measured from one run's layers/steps rows (see rules.py),
read as numpy arrays (`rows.RunRows`: a frame is converted once, the recorder's columns not at all).

The gradient whose fall or growth across the layers decides is the back-propagated signal
δ = dL/dz (`delta_norm`). A partial recording without it (an update-time log holds only the
weight and bias gradients) falls back, in the order of `SIGNALS`, to the weight gradients
(`grad_norm`), then the bias gradients (`bias_grad_norm`); `Evidence.signal` names the column
used ("" when none can be compared across layers: the run is then inconclusive).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.diagnosis.rows import RunRows, as_rows, first_loss
from gradscope.analysis.measured_vs_theory import (
    from_init,
    measured_ratio,
    prediction_for,
    theory_gap,
)

NAN = math.nan
# (column, what it measures), most faithful first: δ itself, then dL/dW = xᵀδ, then dL/db = Σδ
SIGNALS = (("delta_norm", "back-propagated gradient"), ("grad_norm", "weight gradient"),
           ("bias_grad_norm", "bias gradient"))


def ratio_log10(layers: pd.DataFrame | RunRows, column: str, step: int = 0) -> float:
    """log10(column at layer 0 / column at the last layer) at `step`; nan if not measurable."""
    rows = as_rows(layers)
    if column not in rows or not rows.count(step):
        return NAN
    by_layer = rows.at(step, column)
    first, last = by_layer[0], by_layer[-1]
    if not (np.isfinite(first) and np.isfinite(last)) or first <= 0 or last <= 0:
        return NAN
    return float(np.log10(first) - np.log10(last))


def signal_profile(layers: pd.DataFrame | RunRows, step: int,
                   column: str = "delta_norm") -> np.ndarray:
    """log10(‖δ_l‖/‖δ_top‖) per Dense layer at `step` (layer order; the last entry is 0); with
    `column`, the same for another per-layer norm (grad_norm, bias_grad_norm)."""
    d = as_rows(layers).at(step, column)
    if len(d) == 0 or not (np.isfinite(d[-1]) and d[-1] > 0):
        return np.full(len(d), NAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.where(np.isfinite(d) & (d > 0), d, np.nan)) - math.log10(d[-1])


def choose_signal(layers: pd.DataFrame | RunRows, steps: list[int]) -> str:
    """The first column of SIGNALS whose layer-0 / last-layer ratio is measurable at one of
    `steps`, or "" when none is."""
    rows = as_rows(layers)
    for column, _ in SIGNALS:
        if any(math.isfinite(ratio_log10(rows, column, step)) for step in steps):
            return column
    return ""


def signal_noun(column: str) -> str:
    """What a SIGNALS column measures, e.g. "weight gradient"."""
    return dict(SIGNALS).get(column, "back-propagated gradient")


def _worst_share(rows: RunRows, column: str, steps: list[int]) -> tuple[float, int]:
    """The larger of the mean of `column` over layers at `steps`: (share, step)."""
    best = (NAN, steps[0] if steps else 0)
    if column not in rows:
        return best
    for step in steps:
        values = rows.in_frame_order(step, column)
        values = values[~np.isnan(values)]
        if len(values) and not (float(values.mean()) <= best[0]):
            best = (float(values.mean()), step)
    return best


def _update_log10(rows: RunRows, steps: list[int]) -> float:
    """log10(update_ratio of layer 0 / of the last layer), median over recorded steps ≥ 1."""
    if "update_ratio" not in rows or len(steps) < 2:
        return NAN
    values = []
    for step in steps[1:]:
        at = rows.at(step, "update_ratio")
        if len(at) >= 2 and np.isfinite(at[[0, -1]]).all() and (at[[0, -1]] > 0).all():
            values.append(math.log10(at[0]) - math.log10(at[-1]))
    return float(np.median(values)) if values else NAN


def _params(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if hasattr(config, "asdict"):
        return config.asdict()
    return dict(config) if isinstance(config, Mapping) else {}


@dataclass(frozen=True)
class Evidence:
    """The measured numbers of one run (log10 ratios are layer 0 over the output layer)."""

    n_layers: int  # Dense layers (depth + 1)
    first_step: int
    last_step: int
    delta_ratio_log10: float  # at the first recorded step
    grad_ratio_log10: float
    delta_ratio_log10_last: float  # at the last recorded step
    per_layer_ratio: float  # geometric mean of ‖δ_l‖²/‖δ_{l+1}‖² at the first step
    signal: str  # the SIGNALS column that decides ("" when none is measurable)
    signal_ratio_log10: float  # its layer-0 / last-layer log10 ratio at the first step
    signal_ratio_log10_last: float  # ... at the last step
    signal_per_layer_ratio: float  # its geometric mean squared ratio per layer, first step
    predicted_per_layer_ratio: float  # mean-field theory (nan: not covered)
    predicted_delta_ratio_log10: float
    update_ratio_log10: float  # median over steps ≥ 1 of log10(update_ratio_0/update_ratio_top)
    loss_first: float  # loss of the first training step's batch
    final_loss: float
    final_accuracy: float
    saturated_frac: float  # worse of first / last recorded step, mean over layers
    saturated_step: int
    dead_frac: float
    dead_step: int
    nonfinite: int
    first_nonfinite_step: int | None
    status: str
    profile_first: tuple[float, ...]  # log10 of the signal, layer l / top, at the first step
    profile_last: tuple[float, ...]
    sat_by_layer: tuple[float, ...]  # saturated_frac per layer at saturated_step
    dead_by_layer: tuple[float, ...]
    nonfinite_by_layer: tuple[int, ...]  # at the first recorded step holding any
    theory: str = ""  # where the prediction came from, or why there is none ("" from init)

    @property
    def loss_drop(self) -> float:
        """Share by which the loss fell from the first step to the end (nan if unknown)."""
        if not (math.isfinite(self.loss_first) and math.isfinite(self.final_loss)):
            return NAN
        if self.loss_first <= 0:
            return NAN
        return 1.0 - self.final_loss / self.loss_first

    @property
    def fallback(self) -> bool:
        """Whether a gradient other than δ decides (delta_norm not measurable)."""
        return self.signal not in ("", "delta_norm")

    def numbers(self) -> dict[str, float | int | str | None]:
        """The scalar evidence as a dict (the per-layer tuples left out)."""
        out = {k: v for k, v in dataclasses.asdict(self).items()
               if not isinstance(v, tuple | list) and k != "status"}
        out["loss_drop"] = self.loss_drop
        return out


def _by_layer(rows: RunRows, column: str, step: int) -> tuple[float, ...]:
    if column not in rows:
        return ()
    return tuple(rows.at(step, column).tolist())


def _nonfinite_rows(rows: RunRows) -> tuple[int, tuple[int, ...]]:
    if "nonfinite" not in rows or not len(rows):
        return 0, ()
    nf = rows.columns["nonfinite"]
    total = int(np.where(np.isnan(nf), 0.0, nf).sum())
    step = rows.first_step_with("nonfinite")
    if total == 0 or step is None:
        return 0, ()
    at = rows.at(step, "nonfinite")
    return total, tuple(int(v) for v in np.where(np.isnan(at), 0.0, at))


def gather(
    layers: pd.DataFrame | RunRows,
    steps: pd.DataFrame | Mapping[str, Any] | None = None,
    config: Any = None,
    *,
    status: str = "ok",
    first_nonfinite_step: int | None = None,
    final_loss: float = NAN,
    final_accuracy: float = NAN,
) -> Evidence:
    """Measure the Evidence of one run from its layers rows (a frame, or `RunRows`), its steps
    rows (a frame or a mapping of arrays with step and loss) and its config, when known."""
    rows = as_rows(layers)
    recorded = rows.recorded() if len(rows) else [0]
    first, last = recorded[0], recorded[-1]
    n = rows.count(first)
    delta = rows.at(first, "delta_norm")
    signal = choose_signal(rows, [first, last]) if n else ""
    along = rows.at(first, signal) if signal else np.array([])
    sat, sat_step = _worst_share(rows, "saturated_frac", sorted({first, last}))
    dead, dead_step = _worst_share(rows, "dead_frac", sorted({first, last}))
    nonfinite, nf_layers = _nonfinite_rows(rows)
    pred = None
    params = _params(config)
    dims = rows.dims(first)
    at_first = None if from_init(params) else _first_frame(layers, rows, first)
    if params and n >= 2 and dims is not None:
        pred = prediction_for(params, *dims, rows=at_first)
    theory = _theory_note(pred, params, at_first, first) if n >= 2 else ""
    return Evidence(
        n_layers=n, first_step=first, last_step=last,
        delta_ratio_log10=ratio_log10(rows, "delta_norm", first),
        grad_ratio_log10=ratio_log10(rows, "grad_norm", first),
        delta_ratio_log10_last=ratio_log10(rows, "delta_norm", last),
        per_layer_ratio=measured_ratio(delta),
        signal=signal,
        signal_ratio_log10=ratio_log10(rows, signal, first) if signal else NAN,
        signal_ratio_log10_last=ratio_log10(rows, signal, last) if signal else NAN,
        signal_per_layer_ratio=measured_ratio(along),
        predicted_per_layer_ratio=pred.per_layer_ratio if pred is not None else NAN,
        predicted_delta_ratio_log10=pred.delta_ratio_log10 if pred is not None else NAN,
        update_ratio_log10=_update_log10(rows, recorded),
        loss_first=first_loss(steps), final_loss=float(final_loss),
        final_accuracy=float(final_accuracy),
        saturated_frac=sat, saturated_step=sat_step, dead_frac=dead, dead_step=dead_step,
        nonfinite=nonfinite, first_nonfinite_step=first_nonfinite_step, status=status,
        profile_first=tuple(signal_profile(rows, first, signal)) if signal else (),
        profile_last=tuple(signal_profile(rows, last, signal)) if signal else (),
        sat_by_layer=_by_layer(rows, "saturated_frac", sat_step),
        dead_by_layer=_by_layer(rows, "dead_frac", dead_step),
        nonfinite_by_layer=nf_layers, theory=theory,
    )


def _first_frame(layers: pd.DataFrame | RunRows, rows: RunRows, first: int) -> pd.DataFrame:
    """The first recorded step's rows as a frame, in layer order (for the prediction from the
    weights of a run that names no init: a PyTorch model, hand-written backprop)."""
    if isinstance(layers, pd.DataFrame):
        return layers[layers["step"] == first].sort_values("layer")
    n, kinds = rows.count(first), rows.kinds(first)
    return pd.DataFrame({"step": np.full(n, first), "layer": np.arange(n),
                         **({"kind": kinds} if kinds is not None else {}),
                         **{k: rows.at(first, k) for k in rows.columns}})


def _theory_note(pred: Any, params: dict[str, Any], rows: pd.DataFrame | None,
                 first: int) -> str:
    """'' for a prediction from the init; the estimated variances for one from the weights;
    else why there is no prediction."""
    if pred is not None:
        if pred.init is not None:
            return ""
        return (f"from the weights at step {first}: σ_w² {pred.sigma_w2:.3g},"
                f" σ_b² {pred.sigma_b2:.3g} (hidden-layer means), q_in {pred.q_in:.3g}")
    return theory_gap(params, rows) or "no prediction: not covered by the theory"
