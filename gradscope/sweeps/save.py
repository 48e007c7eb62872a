"""Any recording to the full output: a run directory that `gradscope report` and `diagnose` read.

`save_recording(out, layers, steps, params=...)` writes what a one-run sweep writes — runs.csv
(the run's parameters, status, diagnosis, findings, ratios), layers.csv, steps.csv, [hist.csv],
manifest.json — for per-layer rows that came from anywhere: a GradientRecorder on a gradscope
net, `GradientRecorder.log()` in hand-written backprop, or `gradscope.torch.watch` on a PyTorch
model. Files are written atomically; an existing run directory is replaced only with force=True.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from gradscope.analysis.diagnosis import Diagnosis, diagnose
from gradscope.analysis.schema import SUMMARY_COLUMNS
from gradscope.core.errors import ConfigError
from gradscope.sweeps.environment import environment
from gradscope.sweeps.store import write_csv
from gradscope.sweeps.sweep import write_manifest

STEP_COLUMNS = ("step", "loss", "accuracy", "grad_global_norm")


def _run_id(name: str, params: Mapping[str, Any]) -> str:
    canonical = json.dumps({"name": name, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _steps_frame(steps: pd.DataFrame | None, losses: Any) -> pd.DataFrame:
    if steps is not None:
        frame = pd.DataFrame(steps).copy()
    elif losses is not None:
        values = [float(v) for v in losses]
        frame = pd.DataFrame({"step": range(len(values)), "loss": values})
    else:
        frame = pd.DataFrame({"step": pd.Series(dtype="int64")})
    for col in STEP_COLUMNS:
        if col not in frame:
            frame[col] = math.nan
    return frame[list(STEP_COLUMNS)]


def save_recording(
    out: str | Path,
    layers: pd.DataFrame,
    steps: pd.DataFrame | None = None,
    *,
    losses: Any = None,
    params: Mapping[str, Any] | None = None,
    name: str = "recording",
    status: str = "ok",
    final_loss: float = math.nan,
    final_accuracy: float = math.nan,
    first_nonfinite_step: int | None = None,
    hist: pd.DataFrame | None = None,
    force: bool = False,
) -> Diagnosis:
    """Write a run directory for one recording and return its diagnosis.

    `layers`: the recorder's `to_frame()`; `steps` (columns step, loss[, accuracy,
    grad_global_norm]) or just `losses` (one per step); `params`: what describes the run (model,
    dataset, lr...; written as run-parameter columns of runs.csv and used by the diagnosis and
    the theory overlay when they name activation/init/depth/width)."""
    out = Path(out)
    if str(out) == "":
        raise ConfigError("The output folder must not be empty; give a folder name.")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{str(out)!r} is a file; give a folder for the run's outputs.")
    if (out / "runs.csv").exists() and not force:
        raise ConfigError(f"{str(out)!r} already holds results (runs.csv); choose another folder "
                          "or pass force=True (--force) to replace them.")
    params = {k: v for k, v in (params or {}).items() if k not in ("run_id", *SUMMARY_COLUMNS)}
    steps_frame = _steps_frame(steps, losses)
    if not math.isfinite(final_loss) and len(steps_frame) and steps_frame["loss"].notna().any():
        final_loss = float(steps_frame["loss"].dropna().iloc[-1])
    found = diagnose(layers, steps_frame, params or None, status=status,
                     first_nonfinite_step=first_nonfinite_step, final_loss=final_loss,
                     final_accuracy=final_accuracy)
    run_id = _run_id(name, params)
    summary = {
        "status": status, "diagnosis": found.label, "findings": found.finding,
        "grad_ratio_log10": found.evidence.get("grad_ratio_log10", math.nan),
        "delta_ratio_log10": found.evidence.get("delta_ratio_log10", math.nan),
        "first_nonfinite_step": first_nonfinite_step, "final_loss": float(final_loss),
        "final_accuracy": float(final_accuracy), "wall_s": math.nan,
    }
    runs = pd.DataFrame([{"run_id": run_id, **params, **summary}])
    runs["first_nonfinite_step"] = runs["first_nonfinite_step"].astype("Int64")
    out.mkdir(parents=True, exist_ok=True)
    write_csv(runs, out / "runs.csv")
    write_csv(layers.assign(run_id=run_id)[["run_id", *layers.columns]], out / "layers.csv")
    write_csv(steps_frame.assign(run_id=run_id)[["run_id", *STEP_COLUMNS]], out / "steps.csv")
    if hist is not None and len(hist):
        write_csv(hist.assign(run_id=run_id)[["run_id", *hist.columns]], out / "hist.csv")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_manifest(out, {"name": name, "description": "a saved recording", "source": "save",
                         "config": {"name": name, "fixed": dict(params)}, "n_runs": 1,
                         "run_ids": [run_id], "started": now, "finished": now,
                         "environment": environment()})
    return found
