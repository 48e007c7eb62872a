"""One run → its rows; a sweep → part files → CSVs sorted by run_id; the first diagnosis."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import gradscope.sweeps.run as run_module
from gradscope.analysis.diagnosis import DIAGNOSES, diagnose
from gradscope.core.errors import DataError
from gradscope.sweeps import execute_run, run_sweep
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.store import PartStore
from gradscope.text.layer_table import run_report

SMALL = {"depth": 3, "width": 8, "steps": 12, "record_every": 5, "n_samples": 64,
         "batch_size": 16}


def test_a_run_records_step_zero_then_every_record_every_steps() -> None:
    result = execute_run(RunConfig(**SMALL))
    assert result.status == "ok"
    assert sorted(result.layers["step"].unique()) == [0, 5, 10]
    assert sorted(result.layers["layer"].unique()) == [0, 1, 2, 3]  # depth + 1 Dense layers
    assert list(result.steps.columns) == ["step", "loss", "accuracy", "grad_global_norm"]
    assert len(result.steps) == 12
    s = result.summary
    at0 = result.layers[result.layers["step"] == 0].set_index("layer")
    assert s["delta_ratio_log10"] == pytest.approx(
        math.log10(at0.loc[0, "delta_norm"] / at0.loc[3, "delta_norm"]))
    assert s["grad_ratio_log10"] == pytest.approx(
        math.log10(at0.loc[0, "grad_norm"] / at0.loc[3, "grad_norm"]))
    assert s["diagnosis"] in DIAGNOSES and s["findings"].endswith(".")


def test_same_config_gives_identical_numbers() -> None:
    a, b = execute_run(RunConfig(**SMALL)), execute_run(RunConfig(**SMALL))
    pd.testing.assert_frame_equal(a.layers, b.layers, check_exact=True)
    pd.testing.assert_frame_equal(a.steps, b.steps, check_exact=True)


def test_deep_sigmoid_vanishes_and_huge_init_diverges() -> None:
    vanish = execute_run(RunConfig(**{**SMALL, "depth": 12, "activation": "sigmoid",
                                      "init": "normal:0.01"}))
    assert vanish.summary["diagnosis"] == "vanishing"
    assert vanish.summary["delta_ratio_log10"] < -10
    boom = execute_run(RunConfig(**{**SMALL, "depth": 12, "width": 32, "init": "normal:3",
                                    "lr": 1.0}))
    assert boom.status == "diverged" and boom.summary["diagnosis"] == "diverged"
    assert boom.summary["first_nonfinite_step"] is not None
    assert "non-finite" in boom.summary["findings"]


def _layers(delta: list[float], **cols: list[float]) -> pd.DataFrame:
    n = len(delta)
    return pd.DataFrame({"step": [0] * n, "layer": range(n), "grad_norm": [1.0] * n,
                         "delta_norm": delta, "nonfinite": [0] * n, **cols})


@pytest.mark.parametrize(
    ("frame", "status", "label"),
    [
        (_layers([1.0, 1.0, 1.0]), "ok", "healthy"),
        (_layers([1e-3, 1e-1, 1.0]), "ok", "vanishing"),
        (_layers([1e3, 10.0, 1.0]), "ok", "exploding"),
        (_layers([1.0, 1.0, 1.0]), "diverged", "diverged"),
        (_layers([1.0, 1.0, 1.0], nonfinite=[0, 2, 0]), "ok", "diverged"),
        (_layers([1.0, 1.0, 1.0], saturated_frac=[0.9, 0.8, np.nan]), "ok", "saturated"),
        (_layers([1.0, 1.0, 1.0], dead_frac=[0.7, 0.6, np.nan]), "ok", "dead"),
    ],
    ids=["healthy", "vanishing", "exploding", "diverged-status", "nonfinite", "saturated",
         "dead"],
)
def test_diagnosis_thresholds(frame: pd.DataFrame, status: str, label: str) -> None:
    found = diagnose(frame, status=status, first_nonfinite_step=3, final_loss=0.5,
                     final_accuracy=0.9)
    assert found.label == label
    assert found.finding.lower().startswith(label)


def test_an_error_in_one_run_does_not_stop_the_sweep(tmp_path, monkeypatch) -> None:
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    good = RunConfig(**SMALL)
    bad = RunConfig(**{**SMALL, "dataset": f"csv:{csv}"})  # validated while the file is good
    csv.write_text("a,b,y\n" + "".join(f"{i},{i % 3},1\n" for i in range(20)))  # one class
    with pytest.raises(DataError, match="single value"):  # refused up front, nothing run
        run_sweep([bad, good], tmp_path / "out", workers=0, quiet=True)
    assert not (tmp_path / "out").exists()
    # a run that fails only while running (the file changes under the sweep) is an error row
    one_class = csv.read_text()
    csv.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    real_build = run_module.build

    def build(cfg: RunConfig):
        if cfg == bad:
            csv.write_text(one_class)
        return real_build(cfg)

    monkeypatch.setattr(run_module, "build", build)
    result = run_sweep([bad, good], tmp_path / "out", workers=0, quiet=True)
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert list(runs["run_id"]) == sorted([good.run_id, bad.run_id])
    row = runs.set_index("run_id").loc[bad.run_id]
    assert row["status"] == "error" and "DataError" in row["findings"]
    assert runs.set_index("run_id").loc[good.run_id, "status"] == "ok"
    assert result.counts() == {"ok": 1, "error": 1}
    layers = pd.read_csv(tmp_path / "out" / "layers.csv")
    assert set(layers["run_id"]) == {good.run_id}
    assert list(layers.columns[:7]) == ["run_id", "step", "layer", "name", "kind", "fan_in",
                                        "fan_out"]


def test_sweep_outputs_are_sorted_and_exact(tmp_path) -> None:
    configs = [RunConfig(**{**SMALL, "seed": s, "hist": s == 1}) for s in range(3)]
    run_sweep(configs, tmp_path, workers=0, quiet=True)
    runs = pd.read_csv(tmp_path / "runs.csv")
    steps = pd.read_csv(tmp_path / "steps.csv")
    hist = pd.read_csv(tmp_path / "hist.csv")
    assert list(runs["run_id"]) == sorted(runs["run_id"])
    assert list(steps.columns) == ["run_id", "step", "loss", "accuracy", "grad_global_norm"]
    assert list(dict.fromkeys(steps["run_id"])) == sorted(runs["run_id"])
    assert set(hist["run_id"]) == {configs[1].run_id}
    assert {"run_id", "step", "layer", "quantity", "bin_lo", "bin_hi", "count"} <= set(hist)
    direct = execute_run(configs[0]).steps
    stored = steps[steps["run_id"] == configs[0].run_id].drop(columns="run_id")
    np.testing.assert_array_equal(stored["loss"].to_numpy(), direct["loss"].to_numpy())
    assert (tmp_path / "manifest.json").is_file()
    assert PartStore(tmp_path).is_done(configs[2])


def test_run_report_shows_log_bars_and_the_diagnosis() -> None:
    text = run_report(execute_run(RunConfig(**{**SMALL, "activation": "sigmoid",
                                               "init": "normal:0.01", "depth": 6})))
    assert "diagnosis: vanishing" in text
    lines = [ln for ln in text.splitlines() if ln.strip().startswith(("0 ", "6 "))]
    assert lines[0].count("#") < lines[1].count("#")  # layer 0's bar is shorter
