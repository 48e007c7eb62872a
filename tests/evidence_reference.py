"""The pandas implementation of `gradscope.analysis.diagnosis.evidence.gather` before it moved to
numpy arrays, kept verbatim as the reference the numpy one must match exactly
(tests/test_evidence_arrays.py). Not used by gradscope itself.

The numbers a diagnosis rests on, measured from one run's layers/steps rows (see rules.py).

The gradient whose fall or growth across the layers decides is the back-propagated signal
δ = dL/dz (`delta_norm`). A partial recording without it (an update-time log holds only the
weight and bias gradients) falls back, in the order of `SIGNALS`, to the weight gradients
(`grad_norm`), then the bias gradients (`bias_grad_norm`); `Evidence.signal` names the column
used ("" when none can be compared across layers: the run is then inconclusive).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.diagnosis.evidence import Evidence
from gradscope.analysis.measured_vs_theory import (
    measured_ratio,
    prediction_for,
    run_dims,
    theory_gap,
)

NAN = math.nan
# (column, what it measures), most faithful first: δ itself, then dL/dW = xᵀδ, then dL/db = Σδ
SIGNALS = (("delta_norm", "back-propagated gradient"), ("grad_norm", "weight gradient"),
           ("bias_grad_norm", "bias gradient"))


def ratio_log10(layers: pd.DataFrame, column: str, step: int = 0) -> float:
    """log10(column at layer 0 / column at the last layer) at `step`; nan if not measurable."""
    at = layers[layers["step"] == step] if len(layers) else layers
    if at.empty or column not in at:
        return NAN
    by_layer = at.sort_values("layer")[column].to_numpy(dtype=float)
    first, last = by_layer[0], by_layer[-1]
    if not (np.isfinite(first) and np.isfinite(last)) or first <= 0 or last <= 0:
        return NAN
    return float(np.log10(first) - np.log10(last))


def signal_profile(layers: pd.DataFrame, step: int, column: str = "delta_norm") -> np.ndarray:
    """log10(‖δ_l‖/‖δ_top‖) per Dense layer at `step` (layer order; the last entry is 0); with
    `column`, the same for another per-layer norm (grad_norm, bias_grad_norm)."""
    at = layers[layers["step"] == step].sort_values("layer")
    d = at[column].to_numpy(dtype=float) if column in at else np.array([])
    if len(d) == 0 or not (np.isfinite(d[-1]) and d[-1] > 0):
        return np.full(len(d), NAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.where(np.isfinite(d) & (d > 0), d, np.nan)) - math.log10(d[-1])


def choose_signal(layers: pd.DataFrame, steps: list[int]) -> str:
    """The first column of SIGNALS whose layer-0 / last-layer ratio is measurable at one of
    `steps`, or "" when none is."""
    for column, _ in SIGNALS:
        if any(math.isfinite(ratio_log10(layers, column, step)) for step in steps):
            return column
    return ""


def signal_noun(column: str) -> str:
    """What a SIGNALS column measures, e.g. "weight gradient"."""
    return dict(SIGNALS).get(column, "back-propagated gradient")


def _worst_share(layers: pd.DataFrame, column: str, steps: list[int]) -> tuple[float, int]:
    """The larger of the mean of `column` over layers at `steps`: (share, step)."""
    best = (NAN, steps[0] if steps else 0)
    if column not in layers:
        return best
    for step in steps:
        values = layers.loc[layers["step"] == step, column].dropna()
        if len(values) and not (float(values.mean()) <= best[0]):
            best = (float(values.mean()), step)
    return best


def _update_log10(layers: pd.DataFrame, steps: list[int]) -> float:
    """log10(update_ratio of layer 0 / of the last layer), median over recorded steps ≥ 1."""
    if "update_ratio" not in layers or len(steps) < 2:
        return NAN
    values = []
    for step in steps[1:]:
        at = layers[layers["step"] == step].sort_values("layer")["update_ratio"].to_numpy(float)
        if len(at) >= 2 and np.isfinite(at[[0, -1]]).all() and (at[[0, -1]] > 0).all():
            values.append(math.log10(at[0]) - math.log10(at[-1]))
    return float(np.median(values)) if values else NAN


def _first_loss(steps: pd.DataFrame | None) -> float:
    if steps is None or steps.empty or "loss" not in steps:
        return NAN
    loss = pd.to_numeric(steps.sort_values("step")["loss"], errors="coerce").to_numpy(float)
    return float(loss[0]) if len(loss) else NAN


def _params(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if hasattr(config, "asdict"):
        return config.asdict()
    return dict(config) if isinstance(config, Mapping) else {}


def _by_layer(layers: pd.DataFrame, column: str, step: int) -> tuple[float, ...]:
    if column not in layers:
        return ()
    at = layers[layers["step"] == step].sort_values("layer")
    return tuple(float(v) for v in at[column].to_numpy(dtype=float))


def _nonfinite_rows(layers: pd.DataFrame) -> tuple[int, tuple[int, ...]]:
    if "nonfinite" not in layers or layers.empty:
        return 0, ()
    nf = pd.to_numeric(layers["nonfinite"], errors="coerce").fillna(0)
    total = int(nf.sum())
    if total == 0:
        return 0, ()
    step = int(layers.loc[nf > 0, "step"].min())
    at = layers[layers["step"] == step].sort_values("layer")
    return total, tuple(int(v) for v in pd.to_numeric(at["nonfinite"]).fillna(0))


def gather(
    layers: pd.DataFrame,
    steps: pd.DataFrame | None = None,
    config: Any = None,
    *,
    status: str = "ok",
    first_nonfinite_step: int | None = None,
    final_loss: float = NAN,
    final_accuracy: float = NAN,
) -> Evidence:
    """Measure the Evidence of one run from its layers rows (and steps rows, config if known)."""
    recorded = sorted(int(s) for s in layers["step"].unique()) if len(layers) else [0]
    first, last = recorded[0], recorded[-1]
    at_first = layers[layers["step"] == first].sort_values("layer") if len(layers) else layers
    n = len(at_first)
    delta = at_first["delta_norm"].to_numpy(float) if "delta_norm" in at_first else np.array([])
    signal = choose_signal(layers, [first, last]) if n else ""
    along = at_first[signal].to_numpy(float) if signal else np.array([])
    sat, sat_step = _worst_share(layers, "saturated_frac", sorted({first, last}))
    dead, dead_step = _worst_share(layers, "dead_frac", sorted({first, last}))
    nonfinite, nf_layers = _nonfinite_rows(layers)
    pred = None
    params = _params(config)
    dims = run_dims(at_first)
    if params and n >= 2 and dims is not None:
        pred = prediction_for(params, *dims, rows=at_first)
    theory = _theory_note(pred, params, at_first) if n >= 2 else ""
    return Evidence(
        n_layers=n, first_step=first, last_step=last,
        delta_ratio_log10=ratio_log10(layers, "delta_norm", first),
        grad_ratio_log10=ratio_log10(layers, "grad_norm", first),
        delta_ratio_log10_last=ratio_log10(layers, "delta_norm", last),
        per_layer_ratio=measured_ratio(delta),
        signal=signal,
        signal_ratio_log10=ratio_log10(layers, signal, first) if signal else NAN,
        signal_ratio_log10_last=ratio_log10(layers, signal, last) if signal else NAN,
        signal_per_layer_ratio=measured_ratio(along),
        predicted_per_layer_ratio=pred.per_layer_ratio if pred is not None else NAN,
        predicted_delta_ratio_log10=pred.delta_ratio_log10 if pred is not None else NAN,
        update_ratio_log10=_update_log10(layers, recorded),
        loss_first=_first_loss(steps), final_loss=float(final_loss),
        final_accuracy=float(final_accuracy),
        saturated_frac=sat, saturated_step=sat_step, dead_frac=dead, dead_step=dead_step,
        nonfinite=nonfinite, first_nonfinite_step=first_nonfinite_step, status=status,
        profile_first=tuple(signal_profile(layers, first, signal)) if signal else (),
        profile_last=tuple(signal_profile(layers, last, signal)) if signal else (),
        sat_by_layer=_by_layer(layers, "saturated_frac", sat_step),
        dead_by_layer=_by_layer(layers, "dead_frac", dead_step),
        nonfinite_by_layer=nf_layers, theory=theory,
    )


def _theory_note(pred: Any, params: dict[str, Any], rows: pd.DataFrame) -> str:
    """'' for a prediction from the init; the estimated variances for one from the weights;
    else why there is no prediction."""
    if pred is not None:
        if pred.init is not None:
            return ""
        return (f"from the weights at step {int(rows['step'].iloc[0])}: σ_w² {pred.sigma_w2:.3g},"
                f" σ_b² {pred.sigma_b2:.3g} (hidden-layer means), q_in {pred.q_in:.3g}")
    return theory_gap(params, rows) or "no prediction: not covered by the theory"
