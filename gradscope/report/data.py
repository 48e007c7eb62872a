"""The report's view of a sweep directory: runs.csv in full, the per-layer and per-step tables
streamed chunk by chunk into per-configuration aggregates (`gradscope.analysis.aggregates`),
so that memory does not grow with the number of runs beyond runs.csv itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd

from gradscope.analysis.aggregates import (
    predicted_table,
    summarise_hist,
    summarise_layers,
    summarise_steps,
)
from gradscope.analysis.frames import Frames
from gradscope.core.errors import DataError
from gradscope.plots.curves import window_for
from gradscope.plots.heatmap import representative_runs
from gradscope.plots.histograms import MAX_RUNS as HIST_RUNS
from gradscope.plots.saturation import deepest_runs
from gradscope.sweeps.results import (
    CHUNK_ROWS,
    read_chunks,
    read_manifest,
    read_runs,
    run_blocks,
    scan_runs,
    table_columns,
    table_file,
)


def _blocks(path: Path, rows: int, grouped: bool) -> Iterator[pd.DataFrame]:
    """Frames of whole runs in file order; a file not grouped by run (not written by a sweep)
    is read whole and its rows put in run order."""
    if grouped:
        yield from run_blocks(read_chunks(path, rows))
        return
    frame = pd.concat(list(read_chunks(path, rows)), ignore_index=True)
    order = pd.factorize(frame["run_id"])[0]
    yield frame.iloc[order.argsort(kind="stable")]


def _ids(pick: Callable[..., pd.DataFrame], runs: pd.DataFrame, *args: int) -> list[str]:
    """The run_ids a plot's run picker chooses from `runs` (none when no run finished)."""
    return [] if runs.empty else pick(runs, *args)["run_id"].tolist()


def _scan(path: Path, rows: int, runs: Iterable[str] | None = None
          ) -> tuple[pd.Index, bool, float]:
    """The run_ids with rows, whether the file is grouped by run, the largest step (of `runs`)."""
    keep = set(runs) if runs is not None else None
    chunks = (c if keep is None else c[c["run_id"].isin(keep)]
              for c in read_chunks(path, rows, ["run_id", "step"]))
    order, grouped, top = scan_runs(chunks)
    if keep is not None:  # presence counts every run; the largest step only `runs`
        order, grouped, _ = scan_runs(read_chunks(path, rows, ["run_id", "step"]))
    return pd.Index(order, dtype=object), grouped, top


def load_report_frames(out_dir: str | Path, rows: int = CHUNK_ROWS) -> tuple[Frames, list[str]]:
    """Frames for `build_report`: runs.csv and manifest.json read whole, layers / steps / hist
    reduced to per-configuration aggregates `rows` rows at a time (their frames keep only the
    header). Every CSV is validated first; DataError names the file and line."""
    out = Path(out_dir)
    runs = read_runs(out)
    drawable = runs[runs["status"].astype(str) != "error"]
    manifest, note = read_manifest(out / "manifest.json")
    frames = Frames(runs=runs, manifest=manifest)
    notes: list[str] = [note] if note else []
    for name, reduce in (("layers.csv", _layers), ("steps.csv", _steps), ("hist.csv", _hist)):
        path = table_file(out, name)
        if path is None:
            continue
        try:
            frames = reduce(frames, path, runs, drawable, rows)
        except DataError as exc:
            notes.append(f"{exc} The plots that need {name} are skipped.")
    return frames, notes


def _layers(frames: Frames, path: Path, runs: pd.DataFrame, drawable: pd.DataFrame,
            rows: int) -> Frames:
    columns = table_columns(path)
    present, grouped, _ = _scan(path, rows)
    shown = drawable[drawable["run_id"].isin(present)]
    summary = summarise_layers(
        _blocks(path, rows, grouped), columns, runs, drawable,
        deepest=_ids(deepest_runs, shown), caption_deepest=_ids(deepest_runs, drawable),
        full_rows=_ids(representative_runs, shown))
    return replace(frames, layers=pd.DataFrame(columns=columns), layer_summary=summary,
                   predicted=predicted_table(summary, runs, drawable))


def _steps(frames: Frames, path: Path, runs: pd.DataFrame, drawable: pd.DataFrame,
           rows: int) -> Frames:
    columns = table_columns(path)
    _, grouped, top = _scan(path, rows, drawable["run_id"])
    window = window_for(top) if top > -float("inf") else 1
    summary = summarise_steps(_blocks(path, rows, grouped), columns, drawable, window)
    return replace(frames, steps=pd.DataFrame(columns=columns), step_summary=summary)


def _hist(frames: Frames, path: Path, runs: pd.DataFrame, drawable: pd.DataFrame,
          rows: int) -> Frames:
    columns = table_columns(path)
    present, grouped, _ = _scan(path, rows)
    shown = drawable[drawable["run_id"].isin(present)]
    summary = summarise_hist(_blocks(path, rows, grouped), columns,
                             _ids(representative_runs, shown, HIST_RUNS))
    return replace(frames, hist=pd.DataFrame(columns=columns), hist_summary=summary)
