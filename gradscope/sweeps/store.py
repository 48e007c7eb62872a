"""Persistence: one atomic part file per finished run, consolidated into the sweep's CSVs.

A part is written to a temporary file, fsync'ed and renamed into place (`os.replace`), so a
sweep killed at any moment leaves only complete parts (and stray `*.tmp` files, removed on the
next start). The CSVs are always rebuilt from the parts, sorted by run_id, with every float
written in its shortest exact form — so a killed-and-resumed sweep ends with the same files as
an uninterrupted one. Parts are `.npz` archives read with `allow_pickle=False`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.schema import RUN_ID, SUMMARY_COLUMNS
from gradscope.core.atomic import atomic_open
from gradscope.sweeps.config import FIELD_NAMES, RunConfig
from gradscope.sweeps.run import RunResult

PART_FORMAT = 1
FRAMES = ("layers", "steps", "hist")
CSV_FILES = {"runs": "runs.csv", "layers": "layers.csv", "steps": "steps.csv", "hist": "hist.csv"}


@dataclass(frozen=True)
class Part:
    """A stored run: its meta (config, summary) and its frames."""

    meta: dict[str, Any]
    frames: dict[str, pd.DataFrame]

    @property
    def run_id(self) -> str:
        """The stored run's id."""
        return self.meta["run_id"]


def _column_array(series: pd.Series) -> np.ndarray:
    """A column as a plain numpy array (numbers as they are, anything else as text)."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy()
        if values.dtype == object:  # a nullable column holding NA
            values = series.to_numpy(dtype=float, na_value=np.nan)
        return values
    return series.astype(str).to_numpy(dtype=str)


class PartStore:
    """The `parts/` folder of a sweep's output directory."""

    def __init__(self, out_dir: str | Path) -> None:
        self.dir = Path(out_dir) / "parts"

    def path(self, run_id: str) -> Path:
        """Where run `run_id` is stored."""
        return self.dir / f"{run_id}.npz"

    def clean_temp(self) -> None:
        """Remove temporary files left by a killed sweep."""
        if self.dir.is_dir():
            for tmp in self.dir.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def save(self, result: RunResult) -> Path:
        """Persist one finished run atomically."""
        self.dir.mkdir(parents=True, exist_ok=True)
        frames = {"layers": result.layers, "steps": result.steps, "hist": result.hist}
        meta = {"format": PART_FORMAT, "run_id": result.run_id,
                "config": result.config.asdict(), "summary": result.summary, "frames": {}}
        arrays: dict[str, np.ndarray] = {}
        for name, frame in frames.items():
            if frame is None:
                continue
            meta["frames"][name] = [str(c) for c in frame.columns]
            for i, col in enumerate(frame.columns):
                arrays[f"{name}.{i}"] = _column_array(frame[col])
        arrays["meta"] = np.array(json.dumps(meta))
        path = self.path(result.run_id)
        with atomic_open(path) as fh:
            np.savez(fh, **arrays)
        return path

    def read(self, run_id: str, *, meta_only: bool = False) -> Part | None:
        """The stored part of `run_id`, or None if absent or unreadable."""
        path = self.path(run_id)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"]))
                if meta.get("format") != PART_FORMAT:
                    return None
                frames = {} if meta_only else {
                    name: pd.DataFrame({col: npz[f"{name}.{i}"] for i, col in enumerate(cols)},
                                       columns=cols)
                    for name, cols in meta["frames"].items()
                }
        except (OSError, ValueError, KeyError, EOFError):  # a damaged part: run it again
            return None
        return Part(meta, frames)

    def is_done(self, cfg: RunConfig) -> bool:
        """Whether `cfg` has a readable part whose stored config matches it exactly."""
        part = self.read(cfg.run_id, meta_only=True)
        return part is not None and part.meta["config"] == cfg.asdict()


def runs_frame(parts: Iterable[Part]) -> pd.DataFrame:
    """The runs.csv table: run_id, every run parameter, then the summary columns."""
    rows = [{"run_id": p.run_id, **p.meta["config"], **p.meta["summary"]} for p in parts]
    columns = [RUN_ID, *FIELD_NAMES, *SUMMARY_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    frame["first_nonfinite_step"] = frame["first_nonfinite_step"].astype("Int64")
    return frame


def _stack(parts: list[Part], name: str) -> pd.DataFrame | None:
    frames = [p.frames[name].assign(run_id=p.run_id) for p in parts
              if name in p.frames and len(p.frames[name])]
    if not frames:
        have = [p.frames[name] for p in parts if name in p.frames]
        if not have:
            return None
        frames = [have[0].assign(run_id=pd.Series(dtype=str))]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["run_id", *[c for c in frame.columns if c != "run_id"]]]


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` atomically; floats in their shortest exact form (same numbers, same bytes)."""
    with atomic_open(path, "w") as fh:
        frame.to_csv(fh, index=False, float_format=_float_text, lineterminator="\n")


def _float_text(x: float) -> str:
    return repr(float(x) + 0.0)  # + 0.0 turns -0.0 (a norm of exact zeros) into 0.0


def consolidate(out_dir: str | Path, run_ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Rebuild runs.csv, layers.csv, steps.csv (and hist.csv) from the parts of `run_ids`."""
    out = Path(out_dir)
    store = PartStore(out)
    parts = []
    for run_id in sorted(set(run_ids)):
        part = store.read(run_id)
        if part is None:
            raise FileNotFoundError(f"run {run_id} has no readable part in {store.dir}")
        parts.append(part)
    tables: dict[str, pd.DataFrame] = {"runs": runs_frame(parts)}
    for name in FRAMES:
        frame = _stack(parts, name)
        if frame is not None:
            tables[name] = frame
    for name, file in CSV_FILES.items():
        if name in tables:
            write_csv(tables[name], out / file)
        else:  # e.g. a hist.csv left by an earlier sweep of this folder
            (out / file).unlink(missing_ok=True)
    return tables
