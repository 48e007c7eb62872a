"""Captions that state what each plot shows in numbers, read from the same CSV frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gradscope.analysis.aggregates import LayerSummary
from gradscope.analysis.configurations import combos, fmt_value, label, select, varying_params
from gradscope.analysis.frames import Frames
from gradscope.analysis.phase import XI_FACTOR, agreement, phase_table
from gradscope.plots.base import finite, log10
from gradscope.plots.heatmap import drawn_rows, representative_runs
from gradscope.plots.histograms import hist_parts, pick_layers
from gradscope.plots.saturation import saturation_summary

MAX_ITEMS = 6


def _numeric(frame: pd.DataFrame, col: str) -> pd.Series:
    return finite(pd.to_numeric(frame[col], errors="coerce"))


def _name(params: dict, keys: list[str]) -> str:
    """"sigmoid + normal:0.01 at depth 32" (or just the depth, or just the configuration)."""
    rest = [k for k in keys if k != "depth"]
    head = label(params, rest) if rest else "the net"
    return f"{head} at depth {fmt_value(params['depth'])}" if "depth" in params else head


def per_config(runs: pd.DataFrame, col: str, *, deepest: bool = True) -> list[tuple[str, float]]:
    """(name, mean of `col` over seeds) per configuration, at its largest depth, ascending."""
    if col not in runs.columns or runs.empty:
        return []
    frame = runs.assign(_v=_numeric(runs, col))
    keys = [k for k in varying_params(frame) if k != "depth"]
    out = []
    for vals in combos(frame, keys):
        sub = select(frame, keys, vals)
        if "depth" in sub.columns:
            depths = sorted(sub["depth"].dropna().unique())
            for d in depths[-1:] if deepest else depths:
                value = sub.loc[sub["depth"] == d, "_v"].mean()
                params = {**dict(zip(keys, vals, strict=True)), "depth": d}
                out.append((_name(params, keys), float(value)))
        else:
            out.append((_name(dict(zip(keys, vals, strict=True)), keys), float(sub["_v"].mean())))
    return sorted(out, key=lambda t: (np.isnan(t[1]), t[1]))


def _listing(items: list[str]) -> str:
    shown = items[:MAX_ITEMS]
    more = f"; and {len(items) - len(shown)} more" if len(items) > len(shown) else ""
    return "; ".join(shown) + more


def _power(v: float) -> str:
    return "n/a (non-finite)" if np.isnan(v) else f"10^{v:+.1f}".replace("-0.0", "+0.0")


DEAD_LEVEL = -8.0  # log10 of a gradient norm below which a "flat" profile is flat because dead


def flat_but_tiny(frames: Frames, col: str, quantity: str) -> list[tuple[str, float]]:
    """Configurations (at their largest depth) whose profile is flat (|ratio| < 1) while the
    gradient itself is below 10^DEAD_LEVEL at every layer: uniformly tiny, not healthy."""
    layers = frames.layer_summary if frames.layer_summary is not None else frames.layers
    if layers is None or quantity not in layers.columns or col not in frames.runs.columns:
        return []
    if isinstance(layers, LayerSummary):
        top = layers.per_run[f"level_{quantity}"]
    else:
        first = layers[layers["step"] == layers.groupby("run_id")["step"].transform("min")]
        top = log10(first[quantity]).groupby(first["run_id"]).max()
    runs = frames.runs.assign(_level=frames.runs["run_id"].map(top))
    flat = dict(per_config(runs, col))
    level = dict(per_config(runs, "_level"))
    return [(name, level[name]) for name, ratio in flat.items()
            if abs(ratio) < 1 and name in level and level[name] < DEAD_LEVEL]


def _ratio_caption(frames: Frames, col: str, what: str, quantity: str) -> str:
    found = per_config(frames.runs, col)
    if not found:
        return f"Per-layer {what} at step 0 ({col} is not in runs.csv, so no summary numbers)."
    (name, value), rest = found[0], found[1:]
    text = (f"Per-layer {what} at step 0, mean over seeds. A flat line means no decay only "
            f"where its level is healthy. {name}: the gradient reaching layer 0 is "
            f"{_power(value)} of the last layer's.")
    if rest:
        others = [f"{n}: {_power(v)}" for n, v in rest]
        text += f" The others at their largest depth: {_listing(others)}."
    tiny = flat_but_tiny(frames, col, quantity)
    if tiny:
        listed = _listing([f"{n} (at most {_power(v)})" for n, v in tiny])
        text += (f" Flat but not healthy: {listed} — the gradient is uniformly tiny at every "
                 "layer, so nothing learns.")
    return text


def profile_delta(frames: Frames) -> str:
    """Caption of the back-propagated gradient profile."""
    return _ratio_caption(frames, "delta_ratio_log10", "back-propagated gradient ‖∂L/∂z‖",
                          "delta_norm")


def profile_grad(frames: Frames) -> str:
    """Caption of the weight gradient profile."""
    return _ratio_caption(frames, "grad_ratio_log10", "weight gradient ‖∂L/∂W‖", "grad_norm")


def depth(frames: Frames) -> str:
    """Caption of the depth summary."""
    items = per_config(frames.runs, "delta_ratio_log10", deepest=False)
    finite_items = [(n, v) for n, v in items if not np.isnan(v)]
    if not finite_items:
        return "log10 of the layer-0 / last-layer gradient ratio against depth (no finite ratio)."
    (lo_name, lo), (hi_name, hi) = finite_items[0], finite_items[-1]
    return ("log10 of the layer-0 / last-layer gradient ratio at step 0 against depth "
            "(0 = no decay, −k = k orders of magnitude lost on the way to the input). "
            f"delta_ratio_log10 ranges from {lo:+.1f} ({lo_name}) to {hi:+.1f} ({hi_name}).")


def heatmap(frames: Frames) -> str:
    """Caption of the layer × step heatmap."""
    runs = frames.runs
    present, layers = drawn_rows(frames.layer_summary if frames.layer_summary is not None
                                 else frames.layers, runs)
    chosen = representative_runs(present)
    frame = layers[layers["run_id"].isin(chosen["run_id"])]
    values = log10(frame["grad_norm"])
    keys = varying_params(runs)
    names = [_name({k: r[k] for k in keys + (["depth"] if "depth" in r.index else [])}, keys)
             for _, r in chosen.iterrows()]
    text = f"log10 grad_norm per layer (rows) and recorded step (columns) for {_listing(names)}."
    if values.notna().any():
        lo, hi = frame.loc[values.idxmin()], frame.loc[values.idxmax()]
        text += (f" Values span from {values.min():+.1f} (layer {int(lo['layer'])}, step "
                 f"{int(lo['step'])}) to {values.max():+.1f} (layer {int(hi['layer'])}, "
                 f"step {int(hi['step'])}).")
    raw = pd.to_numeric(frame["grad_norm"], errors="coerce")
    zeros, nonfinite = int((raw == 0).sum()), int((~np.isfinite(raw)).sum())
    if zeros:
        text += (f" {zeros} grey cells are exact zeros, not a divergence: a ReLU layer at or "
                 "above has no active unit (dead_frac = 1), so no gradient passes it.")
    if nonfinite:
        text += f" {nonfinite} grey cells are non-finite (NaN or ±inf): the run diverged."
    return text


def curves(frames: Frames) -> str:
    """Caption of the training curves."""
    runs = frames.runs
    text = "Loss and accuracy per step, one line per configuration (mean over seeds)."
    for col, word, best_high in (("final_accuracy", "final accuracy", True),
                                 ("final_loss", "final loss", False)):
        items = [(n, v) for n, v in per_config(runs, col, deepest=False) if not np.isnan(v)]
        if items:
            best = items[-1] if best_high else items[0]
            worst = items[0] if best_high else items[-1]
            text += (f" Best {word}: {best[1]:.3g} ({best[0]}); worst: {worst[1]:.3g} "
                     f"({worst[0]}).")
            break
    if "status" in runs.columns:
        n = int((runs["status"] == "diverged").sum())
        if n:
            runs_ = "1 run" if n == 1 else f"{n} runs"
            text += (f" {runs_} diverged; {'its line stops' if n == 1 else 'their lines stop'} "
                     "at the first non-finite step.")
    return text


def histograms(frames: Frames) -> str:
    """Caption of the per-layer histograms."""
    runs = frames.runs
    present, hist, quantities, _ = hist_parts(frames.hist_summary if frames.hist_summary
                                              is not None else frames.hist, runs)
    chosen = representative_runs(present, 4)
    text = (f"Histograms of {', '.join(quantities)} at the first recorded step, for up to 6 "
            f"layers of {len(chosen)} run{'' if len(chosen) == 1 else 's'}, as a share of each "
            "layer's values.")
    grads = [q for q in quantities if "grad" in q or "delta" in q]
    if grads and not chosen.empty:
        q, run = grads[0], chosen.iloc[0]
        own = hist[(hist["run_id"] == run["run_id"]) & (hist["quantity"].astype(str) == q)]
        own = own[(own["step"] == own["step"].min()) & (own["count"] > 0)]
        layers = pick_layers(own["layer"].to_numpy()) if not own.empty else []
        if len(layers) > 1:
            spans = {ly: float(own.loc[own["layer"] == ly, "bin_hi"].max()
                               - own.loc[own["layer"] == ly, "bin_lo"].min()) for ly in layers}
            keys = varying_params(runs)
            name = _name({k: run[k] for k in keys + ["depth"] if k in run.index}, keys)
            text += (f" For {name}, the occupied range of {q} is {spans[layers[0]]:.3g} wide at "
                     f"layer {layers[0]} against {spans[layers[-1]]:.3g} at layer {layers[-1]}.")
    return text


def saturation(frames: Frames) -> str:
    """Caption of the saturation / dead units / update ratio plot."""
    runs = frames.runs
    summary = frames.layer_summary if frames.layer_summary is not None else saturation_summary(
        frames.layers, runs)
    keys = varying_params(runs)
    params = runs.set_index("run_id")
    parts = []
    for col, word in (("saturated_frac", "saturated share"), ("dead_frac", "dead share")):
        if col in summary.saturation_peaks:
            value, layer, run_id = summary.saturation_peaks[col]
            run = params.loc[run_id]
            name = _name({k: run[k] for k in keys + ["depth"] if k in run.index}, keys)
            parts.append(f"the largest {word} is {value:.2f} (layer {layer} of {name})")
    lo, hi = summary.update_range
    if "update_ratio" in summary.columns and not np.isnan(lo):
        parts.append(f"the update ratio ranges from {_power(lo)} to {_power(hi)} across layers")
    body = "; ".join(parts) if parts else "no finite values were recorded"
    return f"Per layer, at each run's last recorded step: {body}."


def matrix(frames: Frames) -> str:
    """Caption of the diagnosis matrix."""
    runs = frames.runs
    counts = runs["diagnosis"].astype(str).value_counts()
    tally = ", ".join(f"{n} {d}" for d, n in counts.items())
    text = f"{len(runs)} runs: {tally}."
    items = [(n, v) for n, v in per_config(runs, "delta_ratio_log10", deepest=False)
             if not np.isnan(v)]
    if items:
        text += (f" Most negative delta_ratio_log10: {items[0][1]:+.1f} ({items[0][0]}); "
                 f"most positive: {items[-1][1]:+.1f} ({items[-1][0]}).")
    return text


def phase(frames: Frames) -> str:
    """Caption of the trainability phase diagram: how well 6 ξ_c separates trained cells."""
    table = phase_table(frames.runs)
    if table.empty:
        return "Final accuracy over (σ_w², depth) (no runs to summarise)."
    found = agreement(table)
    return (f"Final training accuracy (mean over seeds) of each (σ_w², depth); red: the depth "
            f"{XI_FACTOR:g} ξ_c below which mean-field theory says a net can train (ξ_c from "
            f"`gradscope theory`), dotted: the critical line. Counting a cell as trained when its "
            f"accuracy is at least {found['threshold']:.2f} (halfway between the worst and best "
            f"cell), the line puts {found['agree']} of {found['cells']} cells on the right side; "
            f"mean accuracy {found['inside_accuracy']:.2f} below the line and "
            f"{found['outside_accuracy']:.2f} above it.")
