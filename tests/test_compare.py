"""Measured against predicted: per-layer ‖δ‖² ratios at width 512 agree with the mean field."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from synthetic_sweep import write_sweep

from gradscope.analysis.measured_vs_theory import (
    compare_configs,
    compare_run,
    compare_runs,
    measured_ratio,
    predicted_profile,
)
from gradscope.plots import gradient_profile
from gradscope.report import build_report
from gradscope.sweeps import execute_run
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.results import load_results

WIDE = {"width": 512, "depth": 6, "batch_size": 200, "n_samples": 200, "steps": 1}


@pytest.mark.parametrize(("activation", "init"),
                         [("sigmoid", "xavier"), ("tanh", "xavier"), ("relu", "he"),
                          ("relu", "xavier")],
                         ids=["sigmoid-xavier", "tanh-xavier", "relu-he", "relu-xavier"])
def test_measured_per_layer_ratio_matches_the_theory_at_width_512(activation, init) -> None:
    cfg = RunConfig(activation=activation, init=init, **WIDE)
    found = compare_run(execute_run(cfg).layers, cfg.asdict())
    assert found["depth"] == 6
    assert found["measured_ratio"] == pytest.approx(found["predicted_ratio"], rel=0.05)
    assert abs(found["rel_error"]) < 0.05


def test_measured_ratio_is_the_geometric_mean_of_squared_ratios() -> None:
    assert measured_ratio([1e-3, 1e-2, 1e-1, 1.0]) == pytest.approx(1e-2)
    assert math.isnan(measured_ratio([0.0, 1.0])) and math.isnan(measured_ratio([1.0]))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The synthetic sweep used by the plot and report tests."""
    return write_sweep(tmp_path_factory.mktemp("sweep"), seeds=(0,))


def test_per_run_and_per_configuration_tables(sweep) -> None:
    frames, _ = load_results(sweep)
    per_run = compare_runs(frames.layers, frames.runs)
    assert len(per_run) == len(frames.runs)
    assert per_run["predicted_ratio"].notna().all()
    table = compare_configs(frames.layers, frames.runs, ["activation", "init", "depth"])
    assert len(table) == 8 and (table["runs"] == 1).all()
    row = table[(table["activation"] == "relu") & (table["init"] == "he")].iloc[0]
    assert np.isfinite(row["predicted_ratio"]) and row["predicted_ratio"] > 0
    assert row["rel_error"] == pytest.approx(row["measured_ratio"] / row["predicted_ratio"] - 1)


def test_predicted_profile_starts_at_the_measured_output_layer(sweep) -> None:
    frames, _ = load_results(sweep)
    pred = frames.predicted
    assert pred is not None and set(pred["run_id"]) == set(frames.runs["run_id"])
    first = frames.layers[frames.layers["step"] == 0]
    for run_id, rows in pred.groupby("run_id"):
        top = rows.sort_values("layer").iloc[-1]
        measured = first[(first["run_id"] == run_id) & (first["layer"] == top["layer"])]
        assert top["predicted_log10"] == pytest.approx(
            math.log10(measured["delta_norm"].iloc[0]))
    assert pd.Series(predicted_profile(frames.layers, frames.runs)["predicted_log10"]).equals(
        pred["predicted_log10"])


def test_profile_plot_overlays_the_prediction_dashed(sweep) -> None:
    frames, _ = load_results(sweep)
    plain = gradient_profile(frames.layers, frames.runs, "delta_norm")
    both = gradient_profile(frames.layers, frames.runs, "delta_norm",
                            predicted=frames.predicted)
    n_plain = sum(len(ax.lines) for ax in plain.axes)
    theory = [ln for ax in both.axes for ln in ax.lines if ln.get_linewidth() == 1.0]
    assert sum(len(ax.lines) for ax in both.axes) == 2 * n_plain
    assert len(theory) == n_plain and {ln.get_linestyle() for ln in theory} == {"--"}


def test_report_has_the_measured_vs_predicted_table(sweep) -> None:
    build_report(sweep)
    md = (sweep / "report.md").read_text()
    # measured vs predicted is a column of the per-configuration table (issue 12)
    assert "## Per configuration" in md
    assert "per-layer ‖δ‖² ratio: measured / theory" in md
    assert re.search(r"\| \d\.\d+ / \d\.\d+ \([+-]\d+%\) \|", md)
