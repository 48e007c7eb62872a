"""Read a sweep directory (runs.csv, layers.csv, steps.csv, hist.csv, manifest.json) as Frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from gradscope.analysis.diagnosis.sweep import ConfigDiagnosis, diagnose_frames
from gradscope.analysis.frames import Frames
from gradscope.analysis.measured_vs_theory import predicted_profile
from gradscope.core.errors import DataError

RUNS_REQUIRED = ("run_id", "status", "diagnosis")
OPTIONAL = ("layers.csv", "steps.csv", "hist.csv")  # plots needing their columns are skipped


def read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read one CSV of a sweep; DataError names the file and any missing required column."""
    try:
        frame = pd.read_csv(path, dtype={"run_id": str})
    except FileNotFoundError:
        raise DataError(
            f"{path} does not exist. `gradscope report DIR` needs the output directory of a "
            f"sweep (the --out of `gradscope sweep` or `gradscope run`), which holds runs.csv "
            f"with the columns {', '.join(RUNS_REQUIRED)} and more."
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable CSV file ({exc}). Re-run the sweep, or "
                        "restore the file, and build the report again.") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} lacks the column(s) {', '.join(missing)} (it has: "
            f"{', '.join(map(str, frame.columns)) or 'none'}). A sweep's {path.name} always "
            f"has {', '.join(required)}; was it written by gradscope?"
        )
    return frame


def read_manifest(path: Path) -> tuple[dict[str, Any], str]:
    """manifest.json as a dict, plus a note when it is absent or unreadable (never fatal)."""
    if not path.exists():
        return {}, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"{path.name} could not be read ({exc}); the report is built without it."
    if not isinstance(data, dict):
        return {}, f"{path.name} does not hold a JSON object; the report is built without it."
    return data, ""


def predicted_frame(runs: pd.DataFrame, layers: pd.DataFrame | None) -> pd.DataFrame | None:
    """The mean-field prediction of each configuration's delta_norm profile (None when
    layers.csv lacks the columns it needs)."""
    needed = {"run_id", "step", "layer", "delta_norm", "fan_in", "fan_out"}
    if layers is None or not needed <= set(layers.columns):
        return None
    return predicted_profile(layers, runs)


def load_results(out_dir: str | Path) -> tuple[Frames, list[str]]:
    """The Frames of a sweep directory and notes about optional files that were unusable."""
    out = Path(out_dir)
    if not out.is_dir():
        raise DataError(f"{out} is not a directory. Give the output directory of a sweep "
                        "(the --out of `gradscope sweep`), which holds runs.csv.")
    runs = read_csv(out / "runs.csv", RUNS_REQUIRED)
    notes: list[str] = []
    tables: dict[str, pd.DataFrame | None] = {}
    for name in OPTIONAL:
        path = out / name
        tables[name] = None
        if path.exists():
            try:
                tables[name] = read_csv(path, ())
            except DataError as exc:
                notes.append(f"{exc} The plots that need {name} are skipped.")
    manifest, note = read_manifest(out / "manifest.json")
    frames = Frames(runs=runs, layers=tables["layers.csv"], steps=tables["steps.csv"],
                    hist=tables["hist.csv"], manifest=manifest,
                    predicted=predicted_frame(runs, tables["layers.csv"]))
    return frames, notes + ([note] if note else [])


def diagnose_sweep(out_dir: str | Path) -> list[ConfigDiagnosis]:
    """Each configuration of a sweep directory diagnosed from runs.csv, layers.csv, steps.csv."""
    frames, _ = load_results(out_dir)
    return diagnose_frames(frames)
