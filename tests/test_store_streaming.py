"""Consolidation streams the parts run by run: the same bytes as stacking every run in memory
(the path it replaced), for runs with and without histograms, failed and diverged runs, parts
written before the table shapes were stored, and tables whose column types differ between
runs; and the optional Parquet output round-trips and feeds the report and the diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gradscope.analysis.diagnosis import Diagnosis
from gradscope.core.errors import ConfigError
from gradscope.report import build_report
from gradscope.sweeps import run_sweep
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.results import diagnose_sweep, load_results
from gradscope.sweeps.run import RunResult, error_result, execute_run
from gradscope.sweeps.store import (
    FRAMES,
    PartStore,
    consolidate,
    runs_frame,
    stack_parts,
    write_csv,
)

CONFIGS = [RunConfig(depth=d, width=8, steps=6, record_every=3, hist=h, n_samples=128, seed=s)
           for d in (2, 3) for h in (False, True) for s in (0, 1)]
CONFIGS.append(RunConfig(depth=12, width=32, init="normal:3", lr=1.0, steps=6, n_samples=128))
BROKEN = RunConfig(depth=4, width=8, steps=6, n_samples=128, seed=7)


def _run(cfg: RunConfig) -> RunResult:
    if cfg == BROKEN:
        return error_result(cfg, RuntimeError("a run that fails"), 0.0)
    return execute_run(cfg)


def in_memory(out: Path, ids: list[str], dest: Path) -> None:
    """The old consolidation: every part read, each table stacked in memory, then written."""
    store = PartStore(out)
    parts = [store.read(rid) for rid in sorted(ids)]
    dest.mkdir()
    write_csv(runs_frame(parts), dest / "runs.csv")
    for name in FRAMES:
        frame = stack_parts(parts, name)
        if frame is not None:
            write_csv(frame, dest / f"{name}.csv")


def assert_same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.glob("*.csv"))
    assert names == sorted(p.name for p in b.glob("*.csv")) and "layers.csv" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep")
    run_sweep([*CONFIGS, BROKEN], out, workers=0, quiet=True, fn=_run)
    return out


def test_streaming_gives_the_bytes_of_the_in_memory_path(sweep_dir: Path, tmp_path) -> None:
    ids = [c.run_id for c in [*CONFIGS, BROKEN]]
    runs = pd.read_csv(sweep_dir / "runs.csv")
    assert set(runs["status"]) == {"ok", "diverged", "error"}
    in_memory(sweep_dir, ids, tmp_path / "old")
    assert_same_files(sweep_dir, tmp_path / "old")


def test_parts_without_stored_shapes_are_read_for_them(sweep_dir: Path, tmp_path) -> None:
    out = tmp_path / "copy"
    (out / "parts").mkdir(parents=True)
    for part in (sweep_dir / "parts").glob("*.npz"):
        with np.load(part, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays["meta"]))
        meta.pop("shapes", None)  # as a part written before this change
        arrays["meta"] = np.array(json.dumps(meta))
        np.savez(out / "parts" / part.name, **arrays)
    ids = [c.run_id for c in [*CONFIGS, BROKEN]]
    consolidate(out, ids)
    in_memory(out, ids, tmp_path / "old")
    assert_same_files(out, tmp_path / "old")


def _result(cfg: RunConfig, layers: pd.DataFrame) -> RunResult:
    summary = {"status": "ok", "diagnosis": "healthy", "findings": "f", "grad_ratio_log10": 0.0,
               "delta_ratio_log10": 0.0, "first_nonfinite_step": None, "final_loss": 1.0,
               "final_accuracy": 0.5, "wall_s": 0.0}
    steps = pd.DataFrame({"step": [0], "loss": [1.0], "accuracy": [0.5],
                          "grad_global_norm": [2.0]})
    return RunResult(cfg, summary, layers, steps, Diagnosis("healthy", "f"))


def test_column_types_that_differ_between_runs_stack_as_pandas_does(tmp_path) -> None:
    cfgs = [RunConfig(seed=s) for s in range(4)]
    frames = [
        pd.DataFrame({"step": [0, 0], "layer": [0, 1], "fan_in": [3, 4], "grad_norm": [0.1, 2.0],
                      "name": ["a", "bb"]}),
        pd.DataFrame({"step": [0, 0], "layer": [0, 1], "fan_in": [3.0, np.nan],
                      "grad_norm": [1e-300, 3.0], "name": ["ccc", "d"]}),
        pd.DataFrame({"step": [0], "layer": [0], "grad_norm": [5.0], "extra": [7]}),
        pd.DataFrame({"step": [], "layer": []}),
    ]
    store = PartStore(tmp_path)
    for cfg, frame in zip(cfgs, frames, strict=True):
        store.save(_result(cfg, frame))
    consolidate(tmp_path, [c.run_id for c in cfgs])
    in_memory(tmp_path, [c.run_id for c in cfgs], tmp_path / "old")
    assert_same_files(tmp_path, tmp_path / "old")
    assert "3.0" in (tmp_path / "layers.csv").read_text()  # fan_in became float, as in concat


def test_parquet_round_trip_and_report(sweep_dir: Path, tmp_path) -> None:
    out = tmp_path / "pq"
    run_sweep([*CONFIGS, BROKEN], out, workers=0, quiet=True, fn=_run, fmt="parquet")
    assert not (out / "layers.csv").exists() and (out / "runs.csv").is_file()
    assert (out / "runs.csv").read_bytes() != b""
    csv_frames, _ = load_results(sweep_dir)
    pq_frames, _ = load_results(out)
    for name in ("layers", "steps", "hist"):
        pq_table, csv_table = getattr(pq_frames, name), getattr(csv_frames, name)
        assert list(pq_table.columns) == list(csv_table.columns) and len(pq_table) > 0
        for col in pq_table.columns:  # layer names "0", "2": text in Parquet, ints from CSV
            a, b = pq_table[col], csv_table[col]
            if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                np.testing.assert_array_equal(a.to_numpy(float), b.to_numpy(float), err_msg=col)
            else:
                assert a.astype(str).tolist() == b.astype(str).tolist(), col
    assert [(d.label, d.run_ids) for d in diagnose_sweep(out)] == [
        (d.label, d.run_ids) for d in diagnose_sweep(sweep_dir)]
    report = build_report(out)
    assert report.is_file() and list((out / "plots").glob("*.png"))
    # back to CSV in the same folder: the Parquet tables go, the CSVs come back
    consolidate(out, [c.run_id for c in [*CONFIGS, BROKEN]])
    assert not list(out.glob("*.parquet")) and (out / "layers.csv").is_file()


def test_an_unknown_format_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="Valid formats: csv, parquet"):
        run_sweep(CONFIGS[:1], tmp_path, workers=0, quiet=True, fmt="feather")
