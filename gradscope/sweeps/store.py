"""Persistence: one atomic part file per finished run, consolidated into the sweep's CSVs.

A part is written to a temporary file, fsync'ed and renamed into place (`os.replace`), so a
sweep killed at any moment leaves only complete parts (and stray `*.tmp` files, removed on the
next start). The CSVs are always rebuilt from the parts, sorted by run_id, with every float
written in its shortest exact form — so a killed-and-resumed sweep ends with the same files as
an uninterrupted one. Parts are `.npz` archives read with `allow_pickle=False`.

Consolidation streams: a first pass reads only the parts' meta (rows and column types of each
table, saved beside the rows), the second writes each table run by run, so memory does not grow
with the number of runs (only runs.csv, one row per run, is held).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.schema import RUN_ID, SUMMARY_COLUMNS
from gradscope.core.atomic import atomic_open
from gradscope.core.errors import ConfigError
from gradscope.sweeps.columnar import check_parquet, parquet_sink
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


def _column_array(series: pd.Series | np.ndarray) -> np.ndarray:
    """A column as a plain numpy array (numbers as they are, anything else as text)."""
    if isinstance(series, np.ndarray):  # a run's arrays, as a sweep's worker sends them
        return series if series.dtype.kind in "biuf" else series.astype(str)
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
        frames = {name: result.columns(name) for name in FRAMES}
        meta = {"format": PART_FORMAT, "run_id": result.run_id,
                "config": result.config.asdict(), "summary": result.summary, "frames": {},
                "shapes": {}}
        arrays: dict[str, np.ndarray] = {}
        for name, frame in frames.items():
            if frame is None:
                continue
            cols = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
            meta["frames"][name] = [str(c) for c in cols]
            for i, col in enumerate(cols):
                arrays[f"{name}.{i}"] = _column_array(frame[col])
            # what consolidation needs before it reads the rows: their number and types
            rows = len(frame) if isinstance(frame, pd.DataFrame) else len(arrays[f"{name}.0"])
            meta["shapes"][name] = [rows, [arrays[f"{name}.{i}"].dtype.str
                                           for i in range(len(cols))]]
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


FORMATS = ("csv", "parquet")  # of the per-layer tables; runs.csv is always CSV


def consolidate(out_dir: str | Path, run_ids: Iterable[str], *,
                fmt: str = "csv") -> dict[str, pd.DataFrame]:
    """Rebuild runs.csv and layers, steps (and hist) from the parts of `run_ids`, streaming:
    one run's rows in memory at a time (`fmt` "parquet": layers.parquet etc. instead of CSV).
    Returns {"runs": the runs table}."""
    check_format(fmt)
    out = Path(out_dir)
    store = PartStore(out)
    ids = sorted(set(run_ids))
    metas = []
    for run_id in ids:
        part = store.read(run_id, meta_only=True)
        if part is None:
            raise FileNotFoundError(f"run {run_id} has no readable part in {store.dir}")
        metas.append(part.meta)
    runs = runs_frame(Part(m, {}) for m in metas)
    write_csv(runs, out / CSV_FILES["runs"])
    plans = {}
    for name in FRAMES:
        plan = _plan(store, metas, name)
        for other in FORMATS:  # e.g. a hist.csv left by an earlier sweep of this folder
            if plan is None or other != fmt:
                (out / table_file(name, other)).unlink(missing_ok=True)
        if plan is not None:
            plans[name] = plan
    with ExitStack() as stack:  # every table written in one pass over the parts
        sinks = {name: stack.enter_context(_sink(out / table_file(name, fmt), plan.columns, fmt))
                 for name, plan in plans.items()}
        wanted = {name: set(plan.run_ids) for name, plan in plans.items()}
        for run_id in ids:
            names = [name for name in plans if run_id in wanted[name]]
            if not names:
                continue
            part = store.read(run_id)
            if part is None:
                raise FileNotFoundError(f"run {run_id} has no readable part in {store.dir}")
            for name in names:
                sinks[name](_chunk(part, plans[name]))
    return {"runs": runs}


def check_format(fmt: str) -> None:
    """ConfigError unless `fmt` is one of FORMATS (and parquet's pyarrow is installed)."""
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown output format {fmt!r}. Valid formats: {', '.join(FORMATS)} "
                          "(csv is the default; parquet needs the `parquet` extra, pyarrow).")
    if fmt == "parquet":
        check_parquet()


def table_file(name: str, fmt: str) -> str:
    """The file of table `name` ("layers", "steps", "hist") in format `fmt`."""
    return f"{name}.{fmt}"


@dataclass(frozen=True)
class _Plan:
    """How to stack one table from the parts: which runs have rows, the columns (run_id first)
    and each column's dtype in the stacked table (as pandas' concat would make it)."""

    name: str
    run_ids: list[str]
    columns: list[str]
    dtypes: dict[str, np.dtype | None]  # None: leave as read (text)


def _shape(store: PartStore, meta: dict[str, Any], name: str) -> tuple[int, list[np.dtype]]:
    """(rows, column dtypes) of one part's table (parts written before "shapes" are read)."""
    shape = meta.get("shapes", {}).get(name)
    if shape is not None:
        return shape[0], [np.dtype(d) for d in shape[1]]
    part = store.read(meta["run_id"])
    frame = part.frames[name] if part is not None else pd.DataFrame()
    return len(frame), [np.dtype(_column_array(frame[c]).dtype) for c in frame.columns]


def _plan(store: PartStore, metas: list[dict[str, Any]], name: str) -> _Plan | None:
    with_rows, columns, seen = [], [], {}
    first_cols = None
    for meta in metas:
        if name not in meta["frames"]:
            continue
        cols = meta["frames"][name]
        first_cols = cols if first_cols is None else first_cols
        rows, dtypes = _shape(store, meta, name)
        if not rows:
            continue
        with_rows.append((meta["run_id"], set(cols)))
        for col, dtype in zip(cols, dtypes, strict=True):
            if col not in seen:
                columns.append(col)
            seen.setdefault(col, set()).add(dtype)
    if first_cols is None:
        return None
    if not with_rows:  # a header and no rows
        return _Plan(name, [], ["run_id", *[c for c in first_cols if c != "run_id"]], {})
    dtypes = {}
    for col, kinds in seen.items():
        if any(col not in cols for _, cols in with_rows):
            kinds = kinds | {np.dtype(np.float64)}  # filled with NaN where absent
        dtypes[col] = _common(kinds)
    ordered = ["run_id", *[c for c in columns if c != "run_id"]]
    return _Plan(name, [rid for rid, _ in with_rows], ordered, dtypes)


def _common(dtypes: set[np.dtype]) -> np.dtype | None:
    """The dtype of a column stacked from parts holding `dtypes` (numbers: numpy's promotion,
    as pandas' concat; text stays text)."""
    kinds = {d.kind for d in dtypes}
    if kinds <= set("U"):
        return None
    if len(dtypes) == 1:
        return next(iter(dtypes))
    if kinds <= set("iuf"):
        return np.result_type(*dtypes)
    return np.dtype(object)


def _chunk(part: Part, plan: _Plan) -> pd.DataFrame:
    """One run's rows of the table, with the plan's columns and dtypes."""
    frame = part.frames[plan.name].assign(run_id=part.run_id).reindex(columns=plan.columns)
    for col, dtype in plan.dtypes.items():
        if dtype is not None and frame[col].dtype != dtype:
            frame[col] = frame[col].astype(dtype)
    return frame


@contextmanager
def _sink(path: Path, columns: list[str], fmt: str) -> Iterator[Callable[[pd.DataFrame], None]]:
    """A function taking the table's frames in order, writing `path` atomically at the end
    (CSV: the bytes `write_csv` gives the whole table)."""
    if fmt == "parquet":
        with parquet_sink(path, columns) as write:
            yield write
        return
    written = []
    with atomic_open(path, "w") as fh:

        def write(frame: pd.DataFrame) -> None:
            frame.to_csv(fh, index=False, header=not written, float_format=_float_text,
                         lineterminator="\n")
            written.append(True)

        yield write
        if not written:  # a header and no rows
            pd.DataFrame(columns=columns).to_csv(fh, index=False, lineterminator="\n")


def stack_parts(parts: list[Part], name: str) -> pd.DataFrame | None:
    """The table `name` of several parts stacked in memory (small sweeps, tests)."""
    return _stack(parts, name)
