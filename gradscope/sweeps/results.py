"""Read a sweep directory (runs.csv, layers.csv, steps.csv, hist.csv, manifest.json) as Frames."""

from __future__ import annotations

import codecs
import csv
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.diagnosis.sweep import ConfigDiagnosis, diagnose_frames
from gradscope.analysis.frames import Frames
from gradscope.analysis.measured_vs_theory import predicted_profile
from gradscope.core.errors import DataError
from gradscope.sweeps.columnar import parquet_batches, parquet_columns, read_parquet

RUNS_REQUIRED = ("run_id", "status", "diagnosis")
OPTIONAL = ("layers.csv", "steps.csv", "hist.csv")  # plots needing their columns are skipped
REQUIRED = {"runs.csv": RUNS_REQUIRED, "layers.csv": ("run_id", "step", "layer"),
            "steps.csv": ("run_id", "step"), "hist.csv": ("run_id", "step")}
# per file, the columns that must hold numbers (an empty cell = missing is fine)
_RUN_NUMBERS = ("depth", "width", "n_samples", "data_seed", "lr", "steps", "batch_size", "clip",
                "seed", "record_every", "grad_ratio_log10", "delta_ratio_log10",
                "first_nonfinite_step", "final_loss", "final_accuracy", "wall_s")
NUMERIC = {
    "runs.csv": frozenset(_RUN_NUMBERS),
    "layers.csv": frozenset((
        "step", "layer", "fan_in", "fan_out", "grad_norm", "grad_rms", "grad_max_abs",
        "bias_grad_norm", "delta_norm", "weight_norm", "update_ratio", "act_mean", "act_std",
        "saturated_frac", "dead_frac", "nonfinite")),
    "steps.csv": frozenset(("step", "loss", "accuracy", "grad_global_norm")),
    "hist.csv": frozenset(("step", "layer", "bin_lo", "bin_hi", "count")),
}
STATUSES = ("ok", "diverged", "error")


def _number(text: str) -> bool:
    if text.strip() == "":
        return True
    try:
        value = float(text)
    except ValueError:
        return False
    return not math.isnan(value) or text.strip().lower() in ("nan", "-nan", "+nan")


def check_csv(path: Path, required: tuple[str, ...], *, need_rows: bool = False) -> None:
    """Refuse a CSV of a sweep that is unreadable, truncated or of the wrong shape or types.

    DataError names the file and the line: a row with more or fewer cells than the header (a
    file cut off mid-row), a required column missing, a number column holding text, a status
    that is not ok/diverged/error, or (`need_rows`) no row at all.
    """
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file.")
    _check_text(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            _check_rows(path, csv.reader(fh, strict=True), required, need_rows)
    except csv.Error as exc:
        raise DataError(f"{path}: not valid CSV ({exc}).") from None


BLOCK = 1 << 20  # bytes read at a time while checking a CSV: memory does not grow with the file


def _check_text(path: Path) -> None:
    """DataError unless `path` is readable UTF-8 text, not blank, ending with a line break;
    read block by block."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, blank, last = 0, True, b""
    try:
        with path.open("rb") as fh:
            while block := fh.read(BLOCK):
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path} is not UTF-8 text (byte {offset + exc.start}); it "
                                    "is not a CSV written by gradscope. Re-run the sweep or "
                                    "restore the file.") from None
                blank = blank and not text.strip()
                offset, last = offset + len(block), block[-1:]
            decoder.decode(b"", final=True)
    except PermissionError:
        raise DataError(f"{path} cannot be read: permission denied. Nothing was written.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {offset + exc.start}); it is not a CSV "
                        "written by gradscope. Re-run the sweep or restore the file.") from None
    except OSError as exc:
        raise DataError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if blank:
        raise DataError(f"{path} is empty; a sweep's {path.name} has a header line and rows. "
                        "Re-run the sweep (it resumes from parts/) or restore the file.")
    if last != b"\n":
        raise DataError(f"{path} does not end with a line break: its last line is cut off (a "
                        "truncated file). Re-run the sweep (it resumes from parts/) or restore "
                        "the file.")


def _check_rows(path: Path, reader: Iterator[list[str]], required: tuple[str, ...],
                need_rows: bool) -> None:
    """The header and every row of a CSV reader, one row at a time (see `check_csv`)."""
    try:
        header = next(reader)
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: not valid CSV ({exc}).") from None
    hint = (" (it seems to use ';' as the separator; gradscope writes ',')"
            if len(header) == 1 and ";" in header[0] else "")
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            f"{path} lacks the column(s) {', '.join(missing)}{hint} (it has: "
            f"{', '.join(header) or 'none'}). A sweep's {path.name} always has "
            f"{', '.join(required)}; was it written by gradscope?")
    numbers = NUMERIC.get(path.name, frozenset())
    numeric = [(i, c) for i, c in enumerate(header) if c in numbers]
    status = header.index("status") if "status" in header and path.name == "runs.csv" else None
    seen = False
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(f"{path}, line {reader.line_num}: not valid CSV ({exc}).") from None
        seen, line = True, reader.line_num
        if len(row) != len(header):
            raise DataError(
                f"{path}, line {line}: {len(row)} cells where the header has {len(header)} — "
                f"the row is truncated or damaged. Nothing was written. Re-run the sweep (it "
                f"resumes from parts/) or restore the file.")
        for i, col in numeric:
            if not _number(row[i]):
                raise DataError(f"{path}, line {line}: column {col} holds {row[i][:40]!r}, "
                                "which is not a number. Nothing was written.")
        if status is not None and row[status] not in STATUSES:
            raise DataError(f"{path}, line {line}: status {row[status][:40]!r} is not one of "
                            f"{', '.join(STATUSES)}. Nothing was written.")
    if need_rows and not seen:
        raise DataError(f"{path} has a header but no rows: it lists no runs. Re-run the sweep "
                        "or restore the file.")


def validate_results(out: Path) -> None:
    """Check every CSV of a sweep folder before anything is read into plots or written."""
    check_csv(out / "runs.csv", RUNS_REQUIRED, need_rows=True)
    for name in OPTIONAL:
        if (out / name).exists():
            check_csv(out / name, REQUIRED[name])


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


def read_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read one Parquet table of a sweep (`--format parquet`); DataError when it is unreadable
    or lacks a required column."""
    try:
        frame = read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable Parquet file ({exc}). Re-run the sweep (it "
                        "resumes from parts/) or restore the file.") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks the column(s) {', '.join(missing)}; a sweep's "
                        f"{path.stem} table always has {', '.join(required)}.")
    return frame


CHUNK_ROWS = 100_000  # rows of a per-layer table read at a time by the report


def table_file(out: Path, name: str) -> Path | None:
    """The file of an optional table (`layers.csv` or, with --format parquet, layers.parquet)."""
    for path in (out / name, (out / name).with_suffix(".parquet")):
        if path.exists():
            return path
    return None


def table_columns(path: Path) -> list[str]:
    """The header of a table file."""
    if path.suffix == ".parquet":
        return parquet_columns(path)
    return list(pd.read_csv(path, nrows=0).columns)


def read_chunks(path: Path, rows: int = CHUNK_ROWS,
                columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """A table file as frames of at most `rows` rows, in file order (run_id as text); only
    `columns` when given. DataError when it cannot be read."""
    try:
        if path.suffix == ".parquet":
            yield from parquet_batches(path, rows, columns)
            return
        with pd.read_csv(path, dtype={"run_id": str}, chunksize=rows, usecols=columns) as reader:
            yield from reader
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable table ({exc}). Re-run the sweep (it resumes "
                        "from parts/) or restore the file.") from None


def scan_runs(chunks: Iterable[pd.DataFrame]) -> tuple[list[str], bool, float]:
    """From frames with run_id and step: the run_ids in order of appearance, whether each run's
    rows are contiguous (consolidated files are grouped and sorted by run), the largest step."""
    order: list[str] = []
    seen: set[str] = set()
    grouped, last, top = True, None, -math.inf
    for chunk in chunks:
        if chunk.empty:
            continue
        ids = chunk["run_id"]
        for run_id in ids[ids.ne(ids.shift())].tolist():
            if run_id == last:
                continue
            if run_id in seen:
                grouped = False
            else:
                seen.add(run_id)
                order.append(run_id)
            last = run_id
        last = ids.iloc[-1]
        top = max(top, float(pd.to_numeric(chunk["step"], errors="coerce").max()))
    return order, grouped, top


def run_blocks(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Frames holding whole runs, from chunks of a table grouped by run: the rows of the last
    run of a chunk wait for the next chunk."""
    carry: pd.DataFrame | None = None
    for chunk in chunks:
        if carry is not None and len(carry):
            chunk = pd.concat([carry, chunk], ignore_index=True)
        if chunk.empty:
            continue
        tail = (chunk["run_id"] == chunk["run_id"].iloc[-1]).to_numpy().copy()
        tail &= np.cumsum(~tail[::-1])[::-1] == 0  # only the last contiguous stretch
        carry = chunk[tail]
        if (~tail).any():
            yield chunk[~tail]
    if carry is not None and len(carry):
        yield carry


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


def read_runs(out: Path) -> pd.DataFrame:
    """runs.csv of the sweep directory `out`, once every CSV there is validated
    (`validate_results`); DataError names the file and line, or says `out` is no sweep."""
    if not out.is_dir():
        raise DataError(f"{out} is not a directory. Give the output directory of a sweep "
                        "(the --out of `gradscope sweep`), which holds runs.csv.")
    if not (out / "runs.csv").exists():
        read_csv(out / "runs.csv", RUNS_REQUIRED)  # the "does not exist" paragraph
    validate_results(out)
    return read_csv(out / "runs.csv", RUNS_REQUIRED)


def load_results(out_dir: str | Path) -> tuple[Frames, list[str]]:
    """The Frames of a sweep directory and notes about optional files that were unusable.
    Every CSV is validated first (`validate_results`): DataError names the file and line."""
    out = Path(out_dir)
    runs = read_runs(out)
    notes: list[str] = []
    tables: dict[str, pd.DataFrame | None] = {}
    for name in OPTIONAL:
        path = out / name
        tables[name] = None
        columnar = path.with_suffix(".parquet")
        if not path.exists() and columnar.exists():  # written with --format parquet
            tables[name] = read_table(columnar, REQUIRED[name])
        elif path.exists():
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
