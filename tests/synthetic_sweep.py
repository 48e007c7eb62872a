"""A tiny fake sweep written with the exact CSV columns of the spec, for plot and report tests.

Gradient norms decay geometrically towards the input for sigmoid and for tiny initial weights,
and stay flat for relu + he; one run diverges; hist.csv holds activation and gradient histograms.
"""

from __future__ import annotations

import hashlib
import json
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

# log10 of the per-layer factor of the back-propagated gradient, per (activation, init)
DECAY = {("sigmoid", "normal:0.01"): -1.6, ("sigmoid", "he"): -0.6,
         ("relu", "normal:0.01"): -0.9, ("relu", "he"): 0.0}
LAYER_STATS = ["grad_norm", "grad_rms", "grad_max_abs", "bias_grad_norm", "delta_norm",
               "weight_norm", "update_ratio", "act_mean", "act_std", "saturated_frac",
               "dead_frac", "nonfinite"]
RUN_COLUMNS = ["run_id", "depth", "width", "activation", "init", "norm", "residual", "dataset",
               "loss", "optimizer", "lr", "steps", "batch_size", "clip", "seed", "record_every",
               "status", "diagnosis", "findings", "grad_ratio_log10", "delta_ratio_log10",
               "first_nonfinite_step", "final_loss", "final_accuracy", "wall_s"]


def run_id(params: dict) -> str:
    """A stable id from the run parameters."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def write_sweep(out: Path, *, activations=("sigmoid", "relu"), inits=("normal:0.01", "he"),
                depths=(2, 8), seeds=(0, 1), norms=("none",), steps: int = 20,
                record_every: int = 5,
                hist: bool = True, name: str = "synthetic") -> Path:
    """Write runs.csv, layers.csv, steps.csv, hist.csv (optional) and manifest.json into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs, layers, steps_rows, hist_rows = [], [], [], []
    width = 16
    for act, init, depth, norm, seed in product(activations, inits, depths, norms, seeds):
        params = dict(depth=depth, width=width, activation=act, init=init, norm=norm,
                      residual=False, dataset="spirals", loss="cross_entropy", optimizer="sgd",
                      lr=0.1, steps=steps, batch_size=32, clip=np.nan, seed=seed,
                      record_every=record_every)
        rid = run_id(params)
        rng = np.random.default_rng([seed, depth, len(act), len(init), len(norm)])
        decay = DECAY.get((act, init), -0.3) * (1.0 if norm == "none" else 0.2)
        diverged = act == "relu" and init == "he" and depth == max(depths) and seed == seeds[-1]
        nonfinite_step = steps // 2 + 2 if diverged else None
        layer_idx = np.arange(depth + 1)
        recorded = [s for s in range(0, steps, record_every)]
        for step in recorded:
            growth = 0.02 * step
            log_delta = decay * (depth - layer_idx) + rng.normal(0, 0.1, depth + 1) + growth
            delta = 10.0 ** log_delta
            grad = delta * (0.8 if act == "sigmoid" else 1.5)
            if nonfinite_step is not None and step >= nonfinite_step:
                grad = np.full_like(grad, np.nan)
                delta = np.full_like(delta, np.nan)
            sat = (np.clip(0.05 + 0.9 * layer_idx / depth * step / steps, 0, 1)
                   if act == "sigmoid" else np.full(depth + 1, np.nan))
            dead = (np.clip(0.02 * layer_idx + rng.uniform(0, 0.05, depth + 1), 0, 1)
                    if act == "relu" else np.full(depth + 1, np.nan))
            for i in layer_idx:
                fan_in = 2 if i == 0 else width
                fan_out = 3 if i == depth else width
                layers.append(dict(
                    run_id=rid, step=step, layer=int(i), name=f"{2 * i}.dense", kind="dense",
                    fan_in=fan_in, fan_out=fan_out, grad_norm=grad[i],
                    grad_rms=grad[i] / np.sqrt(fan_in * fan_out), grad_max_abs=2 * grad[i],
                    bias_grad_norm=delta[i], delta_norm=delta[i], weight_norm=1.0 + 0.01 * i,
                    update_ratio=0.1 * grad[i], act_mean=0.5 if act == "sigmoid" else 0.3,
                    act_std=0.01 if init == "normal:0.01" else 0.3, saturated_frac=sat[i],
                    dead_frac=dead[i], nonfinite=0 if np.isfinite(grad[i]) else 16,
                ))
                if hist and step in (recorded[0], recorded[-1]):
                    centres = {"activation": (0.5 if act == "sigmoid" else 0.0, 0.2 + 0.01 * i),
                               "grad": (0.0, grad[i] if np.isfinite(grad[i]) else 1.0)}
                    for quantity, (mu, scale) in centres.items():
                        edges = np.linspace(mu - 3 * scale, mu + 3 * scale, 13)
                        counts = np.round(1000 * np.exp(-0.5 * ((edges[:-1] - mu) / scale) ** 2))
                        for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True):
                            hist_rows.append(dict(run_id=rid, step=step, layer=int(i),
                                                  quantity=quantity, bin_lo=lo, bin_hi=hi,
                                                  count=int(c)))
        loss_end = 0.2 if decay > -0.5 else 1.05
        for step in range(steps if nonfinite_step is None else nonfinite_step + 1):
            frac = step / steps
            loss = 1.1 + (loss_end - 1.1) * frac + rng.normal(0, 0.01)
            if nonfinite_step is not None and step >= nonfinite_step:
                loss = np.inf
            steps_rows.append(dict(run_id=rid, step=step, loss=loss,
                                   accuracy=0.33 + (0.95 - 0.33) * frac * (decay > -0.5),
                                   grad_global_norm=1.0))
        ratio = float(decay * depth)
        diagnosis = ("diverged" if diverged else "vanishing" if ratio < -3
                     else "saturated" if act == "sigmoid" and ratio < -1 else "healthy")
        runs.append(dict(
            run_id=rid, **params,
            status="diverged" if diverged else "ok", diagnosis=diagnosis,
            findings=f"delta ratio 10^{ratio:.1f} from the last layer to layer 0.",
            grad_ratio_log10=ratio, delta_ratio_log10=ratio,
            first_nonfinite_step=nonfinite_step if nonfinite_step is not None else np.nan,
            final_loss=np.nan if diverged else loss_end,
            final_accuracy=np.nan if diverged else (0.95 if decay > -0.5 else 0.35),
            wall_s=0.1,
        ))
    pd.DataFrame(runs, columns=RUN_COLUMNS).to_csv(out / "runs.csv", index=False)
    pd.DataFrame(layers).to_csv(out / "layers.csv", index=False)
    pd.DataFrame(steps_rows).to_csv(out / "steps.csv", index=False)
    if hist:
        pd.DataFrame(hist_rows).to_csv(out / "hist.csv", index=False)
    manifest = {"config": {"name": name, "grid": {"activation": list(activations),
                                                  "init": list(inits), "depth": list(depths),
                                                  "seed": list(seeds)},
                           "fixed": {"width": width, "steps": steps}},
                "versions": {"gradscope": "0.1.0"}, "started": "2024-01-01T00:00:00",
                "finished": "2024-01-01T00:00:05", "machine": {"cores": 2}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out
