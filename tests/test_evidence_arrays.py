"""The diagnosis reads numpy arrays (`RunRows`), not per-run DataFrames: the same Evidence, to the
last bit, as the pandas implementation it replaced (tests/evidence_reference.py), on every
committed run and on synthetic frames with columns present, absent or NaN; and the committed
runs' diagnosis and findings text come out unchanged."""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import evidence_reference as reference
import numpy as np
import pandas as pd
import pytest

from gradscope.analysis.diagnosis import diagnose, gather
from gradscope.analysis.diagnosis.rows import RunRows

ROOT = Path(__file__).resolve().parents[1]
REPORTS = sorted(p.parent.name for p in (ROOT / "reports").glob("*/layers.csv"))


def same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN, element by element for tuples (bit-exact floats)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_same_evidence(new, old) -> None:
    for f in dataclasses.fields(old):
        assert same(getattr(new, f.name), getattr(old, f.name)), (
            f.name, getattr(new, f.name), getattr(old, f.name))


def _by_run(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {rid: rows.drop(columns="run_id") for rid, rows in frame.groupby("run_id", sort=False)}


@pytest.mark.parametrize("name", REPORTS)
def test_committed_runs_give_the_same_evidence_and_diagnosis(name: str) -> None:
    out = ROOT / "reports" / name
    runs = pd.read_csv(out / "runs.csv")
    layers = _by_run(pd.read_csv(out / "layers.csv"))
    steps = _by_run(pd.read_csv(out / "steps.csv"))
    checked = 0
    for row in runs.to_dict("records"):
        rid = row["run_id"]
        if rid not in layers or row["status"] == "error":
            continue
        nf = row["first_nonfinite_step"]
        kw = dict(status=row["status"], final_loss=float(row["final_loss"]),
                  final_accuracy=float(row["final_accuracy"]),
                  first_nonfinite_step=None if nf != nf else int(nf))
        old = reference.gather(layers[rid], steps.get(rid), row, **kw)
        assert_same_evidence(gather(layers[rid], steps.get(rid), row, **kw), old)
        as_columns = {c: layers[rid][c].to_numpy() for c in layers[rid].columns}
        steps_arrays = {c: steps[rid][c].to_numpy() for c in ("step", "loss")}
        assert_same_evidence(gather(RunRows.from_columns(as_columns), steps_arrays, row, **kw),
                             old)
        found = diagnose(RunRows.from_columns(as_columns), steps_arrays, row, **kw)
        assert found.label == row["diagnosis"]
        assert found.finding == row["findings"]
        checked += 1
    assert checked > 0


GROUPS = {
    "grad": ("grad_norm",), "bias_grad": ("bias_grad_norm",), "delta": ("delta_norm",),
    "update": ("update_ratio",), "masks": ("saturated_frac", "dead_frac"),
    "fans": ("fan_in", "fan_out"), "nonfinite": ("nonfinite",),
}
SUBSETS = [s for k in (0, 1, 2, 7) for s in itertools.combinations(GROUPS, k)]
CONFIG = {"activation": "tanh", "init": "xavier", "depth": 7, "width": 8}


def synthetic(present: tuple[str, ...], absent_as: str, seed: int) -> pd.DataFrame:
    """Three recorded steps of an 8-layer net, rows shuffled, values spanning decades with some
    zeros, NaN and inf; the column groups not in `present` dropped or NaN."""
    rng = np.random.default_rng(seed)
    n, steps = 8, (0, 5, 10)
    frame = pd.DataFrame({"step": np.repeat(steps, n), "layer": np.tile(np.arange(n), 3)})
    for group, columns in GROUPS.items():
        for col in columns:
            if group in present:
                values = 10.0 ** rng.uniform(-8, 3, len(frame))
                if col.endswith("_frac"):
                    values = rng.uniform(0, 1, len(frame))
                if col in ("fan_in", "fan_out"):
                    values = np.full(len(frame), 8)
                if col == "nonfinite":
                    values = np.where(rng.uniform(size=len(frame)) < 0.1, 3, 0)
                elif col not in ("fan_in", "fan_out"):
                    pick = rng.uniform(size=len(frame))
                    values = np.where(pick < 0.05, np.nan, np.where(pick > 0.97, np.inf, values))
                    values = np.where((pick > 0.05) & (pick < 0.08), 0.0, values)
                frame[col] = values
            elif absent_as == "nan":
                frame[col] = np.nan
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("absent_as", ["drop", "nan"])
@pytest.mark.parametrize("present", SUBSETS, ids=["+".join(s) or "nothing" for s in SUBSETS])
def test_synthetic_frames_give_the_same_evidence(present, absent_as) -> None:
    losses = pd.DataFrame({"step": [2, 0, 1], "loss": [0.3, 0.9, 0.5]})
    for seed in range(2):
        frame = synthetic(present, absent_as, seed)
        for steps in (losses, losses.iloc[:0]):
            for config in (CONFIG, None):
                kw = dict(status="ok", final_loss=0.2, final_accuracy=0.5)
                old = reference.gather(frame, steps, config, **kw)
                assert_same_evidence(gather(frame, steps, config, **kw), old)
            one_step = frame[frame["step"] == 5]
            assert_same_evidence(gather(one_step, steps, CONFIG),
                                 reference.gather(one_step, steps, CONFIG))


def test_an_empty_frame_gives_the_same_evidence() -> None:
    empty = pd.DataFrame({"step": [], "layer": [], "delta_norm": []})
    assert_same_evidence(gather(empty), reference.gather(empty))
