"""TensorBoard export: per-layer scalars and histograms as TensorBoard event files.

Written with tensorboardX (the extra `gradscope[tensorboard]`), never hand-made protobuf. Each
run is one TensorBoard run (a sub-folder of LOGDIR named after its run_id and configuration);
tags are `<statistic>/<layer>` (e.g. `grad_norm/03_dense3`), `hist/<quantity>/<layer>` and
`train/loss`, so TensorBoard groups one statistic of every layer on one card.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.configurations import label, varying_params
from gradscope.core.errors import ConfigError, DataError
from gradscope.sweeps.results import load_results, read_csv

SCALARS = ("grad_norm", "delta_norm", "update_ratio", "saturated_frac", "dead_frac",
           "weight_norm", "bias_grad_norm", "nonfinite")
TRAIN_SCALARS = ("loss", "accuracy", "grad_global_norm")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+=:-]+")
INSTALL_HINT = ("TensorBoard export needs the tensorboardX package: pip install "
                "'gradscope[tensorboard]' (or pip install tensorboardX), then run the command "
                "again.")


def writer_class() -> Any:
    """tensorboardX's SummaryWriter class; ConfigError naming the extra when it is missing."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return SummaryWriter


def summary_writer(logdir: str | Path) -> Any:
    """A tensorboardX SummaryWriter writing event files into `logdir`."""
    return writer_class()(logdir=str(logdir))


def layer_tag(layer: object, name: object) -> str:
    """'03_dense3': the layer index (zero-padded, so TensorBoard sorts input first) and name."""
    text = _UNSAFE.sub("_", str(name)).strip("_")
    index = f"{int(layer):02d}" if pd.notna(layer) else "xx"
    return f"{index}_{text}" if text and text != str(layer) else index


def write_frame(writer_or_logdir: Any, frame: pd.DataFrame, step: int | None = None) -> int:
    """Write the per-layer scalars (SCALARS present in `frame`, a recorder frame or layers.csv
    rows) of `step` (all rows when None, each at its own step) to a SummaryWriter or a log
    directory; returns the number of values written. A recorder calls this while training."""
    own = isinstance(writer_or_logdir, (str, Path))
    writer = summary_writer(writer_or_logdir) if own else writer_or_logdir
    rows = frame if step is None or "step" not in frame.columns else frame[frame["step"] == step]
    stats = [c for c in SCALARS if c in rows.columns]
    written = 0
    try:
        names = rows["name"] if "name" in rows.columns else rows["layer"]
        tags = [layer_tag(ly, n) for ly, n in zip(rows["layer"], names, strict=True)]
        steps = (rows["step"].to_numpy() if "step" in rows.columns
                 else np.full(len(rows), 0 if step is None else step))
        for stat in stats:
            values = pd.to_numeric(rows[stat], errors="coerce").to_numpy(float)
            for tag, at, value in zip(tags, steps, values, strict=True):
                if np.isfinite(value):  # NaN (e.g. dead_frac of a sigmoid layer) is not data
                    writer.add_scalar(f"{stat}/{tag}", float(value), int(at))
                    written += 1
        if own:
            writer.flush()
    finally:
        if own:
            writer.close()
    return written


def _histogram(writer: Any, tag: str, bins: pd.DataFrame, step: int) -> bool:
    """One stored histogram (sorted bins of one run, step, layer, quantity) as a raw TB one."""
    lo = bins["bin_lo"].to_numpy(float)
    hi = bins["bin_hi"].to_numpy(float).copy()
    counts = bins["count"].to_numpy(float)
    keep = np.isfinite(lo) & (counts >= 0)
    lo, hi, counts = lo[keep], hi[keep], counts[keep]
    if not len(lo) or counts.sum() <= 0:
        return False
    open_end = ~np.isfinite(hi)
    hi[open_end] = np.where(lo[open_end] > 0, lo[open_end] * 10.0, lo[open_end] + 1.0)
    mid = (lo + hi) / 2
    writer.add_histogram_raw(tag, min=float(lo[0]), max=float(hi[-1]), num=float(counts.sum()),
                             sum=float((mid * counts).sum()),
                             sum_squares=float((mid * mid * counts).sum()),
                             bucket_limits=hi.tolist(), bucket_counts=counts.tolist(),
                             global_step=int(step))
    return True


def _write_hist(writer: Any, hist: pd.DataFrame, names: dict[int, str]) -> int:
    written = 0
    ordered = hist.sort_values(["step", "layer", "quantity", "bin_lo"], kind="stable")
    for (step, layer, quantity), bins in ordered.groupby(["step", "layer", "quantity"],
                                                         sort=False):
        tag = f"hist/{quantity}/{layer_tag(layer, names.get(int(layer), layer))}"
        written += _histogram(writer, tag, bins, int(step))
    return written


def _write_steps(writer: Any, steps: pd.DataFrame) -> int:
    written = 0
    for col in (c for c in TRAIN_SCALARS if c in steps.columns):
        values = pd.to_numeric(steps[col], errors="coerce").to_numpy(float)
        for at, value in zip(steps["step"].to_numpy(), values, strict=True):
            if np.isfinite(value):
                writer.add_scalar(f"train/{col}", float(value), int(at))
                written += 1
    return written


class TensorBoardListener:
    """Live TensorBoard for a recorder (`rec.tensorboard(logdir)`): each complete recorded
    step's per-layer scalars (SCALARS, tagged `<statistic>/<layer>`) and, with hist=True, its
    histograms (`hist/<quantity>/<layer>`) are written and flushed as training goes."""

    def __init__(self, logdir: str | Path) -> None:
        self.logdir = Path(logdir)
        self.writer = summary_writer(self.logdir)
        self.scalars = 0
        self.histograms = 0

    def on_step(self, step: int, rows: pd.DataFrame, hist: pd.DataFrame | None) -> None:
        """Write one recorded step (see `gradscope.recording.listeners`)."""
        self.scalars += write_frame(self.writer, rows)
        if hist is not None and len(hist):
            names = dict(zip(rows["layer"].astype(int), rows["name"], strict=True))
            self.histograms += _write_hist(self.writer, hist, names)
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()


@dataclass(frozen=True)
class ExportSummary:
    """What `export_tensorboard` wrote: one entry per run (its TensorBoard run name)."""

    logdir: Path
    runs: tuple[str, ...]
    scalars: int
    histograms: int


def _run_names(runs: pd.DataFrame) -> dict[str, str]:
    """TensorBoard run (folder) name per run_id: the id and the configuration's label."""
    keys = varying_params(runs, include_seed=True)
    out = {}
    for _, row in runs.iterrows():
        text = label({k: row[k] for k in keys}, keys) if keys else ""
        out[str(row["run_id"])] = _UNSAFE.sub("_", f"{row['run_id']}_{text}").strip("_")
    return out


def _own(frame: pd.DataFrame | None, run_id: str) -> pd.DataFrame | None:
    if frame is None or frame.empty:
        return None
    if "run_id" not in frame.columns:
        return frame
    return frame[frame["run_id"].astype(str) == run_id]


def _tables(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None,
                                      pd.DataFrame | None]:
    """runs, layers, steps, hist of a sweep or a saved run directory."""
    if (directory / "runs.csv").exists():
        frames, _ = load_results(directory)
        return frames.runs, frames.layers, frames.steps, frames.hist
    if not (directory / "layers.csv").exists():
        raise DataError(f"{directory} holds neither runs.csv nor layers.csv. `gradscope export "
                        "DIR` needs the output directory of `gradscope sweep` or `gradscope "
                        "run`, or a run directory saved with rec.save(DIR).")
    layers = read_csv(directory / "layers.csv", ("step", "layer"))
    optional = {n: read_csv(directory / f"{n}.csv", ("step",))
                for n in ("steps", "hist") if (directory / f"{n}.csv").exists()}
    ids = layers["run_id"].astype(str).unique() if "run_id" in layers.columns else ["run"]
    return (pd.DataFrame({"run_id": ids}), layers, optional.get("steps"), optional.get("hist"))


def export_tensorboard(directory: str | Path, logdir: str | Path,
                       run_ids: Iterable[str] | None = None) -> ExportSummary:
    """Write TensorBoard event files into `logdir`, one run per run of the sweep (or saved run)
    in `directory`: per-layer scalars from layers.csv, training curves from steps.csv and
    per-layer histograms from hist.csv when present."""
    directory, logdir = Path(directory), Path(logdir)
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory. Give the output directory of a sweep "
                        "or a saved run (it holds runs.csv and layers.csv).")
    runs, layers, steps, hist = _tables(directory)
    if layers is None:
        raise DataError(f"{directory} has no layers.csv, so there are no per-layer statistics "
                        "to export.")
    writer_class()  # the extra is checked before anything is written
    wanted = set(map(str, run_ids)) if run_ids is not None else None
    names = _run_names(runs)
    done, n_scalars, n_hist = [], 0, 0
    for run_id, folder in names.items():
        if wanted is not None and run_id not in wanted:
            continue
        rows = _own(layers, run_id)
        if rows is None or rows.empty:
            continue  # a run that failed before recording anything
        writer = summary_writer(logdir / folder)
        try:
            n_scalars += write_frame(writer, rows)
            own_steps = _own(steps, run_id)
            if own_steps is not None:
                n_scalars += _write_steps(writer, own_steps)
            own_hist = _own(hist, run_id)
            if own_hist is not None and len(own_hist):
                layer_names = dict(zip(rows["layer"].astype(int),
                                       rows["name"] if "name" in rows.columns
                                       else rows["layer"], strict=True))
                n_hist += _write_hist(writer, own_hist, layer_names)
            writer.flush()
        finally:
            writer.close()
        done.append(folder)
    if not done:
        raise DataError(f"No run of {directory} has rows in layers.csv; nothing to export.")
    return ExportSummary(logdir, tuple(done), n_scalars, n_hist)
