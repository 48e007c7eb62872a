"""Notebook displays: the recorder's per-layer HTML table, a Diagnosis, a sweep result, the δ
profile figure of one recording, and the headline sentence they share with the report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from synthetic_sweep import write_sweep

import gradscope as gs
from gradscope.analysis.summary import headline
from gradscope.plots.profile import recording_profile
from gradscope.recording.table_html import layer_table_html
from gradscope.sweeps.sweep import SweepResult


@pytest.fixture(scope="module")
def vanishing_frame() -> pd.DataFrame:
    """A recording of a deep sigmoid net with tiny weights (the gradient vanishes)."""
    net = gs.mlp(2, 2, depth=6, width=16, activation="sigmoid", init="normal:0.01", seed=0)
    rec = gs.GradientRecorder(net)
    gs.train(net, "spirals", loss="cross_entropy", optimizer="sgd", lr=0.1, steps=3,
             batch_size=32, recorder=rec, seed=0)
    rec.detach()
    return rec.to_frame()


def _bar_widths(html: str) -> list[int]:
    return [int(w) for w in re.findall(r"width:(\d+)px;background:#ff7f0e", html)]


def test_layer_table_has_a_row_per_layer_and_log_bars_that_shrink_towards_the_input(
        vanishing_frame):
    html = layer_table_html(vanishing_frame, step=0)
    n_layers = vanishing_frame.loc[vanishing_frame["step"] == 0, "layer"].nunique()
    assert html.count("<tr>") == n_layers + 1  # header + one per layer
    widths = _bar_widths(html)  # delta_norm bars, input layer first
    assert len(widths) == n_layers
    assert widths[0] < widths[-1] and widths == sorted(widths)
    assert "2→16" in html and "step 0" in html


def test_layer_table_says_zero_non_finite_and_unrecorded_steps():
    frame = pd.DataFrame({"step": [0, 0, 0], "layer": [0, 1, 2], "name": ["a<b>", "b", "c"],
                          "fan_in": [2, 4, 4], "fan_out": [4, 4, 1],
                          "grad_norm": [0.0, np.inf, 1.0], "delta_norm": [1e-9, 1e-3, 1.0]})
    html = layer_table_html(frame, 0)
    assert "zero" in html and "non-finite" in html
    assert "a&lt;b&gt;" in html and "<b>" not in html
    assert "No rows recorded at step 5; recorded steps: 0" in layer_table_html(frame, 5)
    assert "Nothing recorded" in layer_table_html(frame.iloc[:0], 0)


def test_diagnosis_repr_html_shows_label_evidence_and_remedies(vanishing_frame):
    found = gs.diagnose(vanishing_frame, config={"activation": "sigmoid", "init": "normal:0.01",
                                                 "depth": 6, "width": 16})
    html = found._repr_html_()
    assert found.label == "vanishing"
    assert ">vanishing</span>" in html
    assert found.remedies and all(r in html for r in found.remedies)
    assert "<details><summary>evidence" in html and "delta_ratio_log10" in html
    plain = gs.Diagnosis("healthy", "fine <really>", None, {}, ())
    assert "fine &lt;really&gt;" in plain._repr_html_() and "Remedies" not in plain._repr_html_()


def test_sweep_result_repr_html_leads_with_the_headline(tmp_path):
    out = write_sweep(tmp_path, depths=(2, 3), seeds=(0,), steps=8, record_every=4)
    runs = pd.read_csv(out / "runs.csv", dtype={"run_id": str})
    html = SweepResult(Path(out), runs, ran=len(runs), resumed=0)._repr_html_()
    assert html.startswith(f"<div><p><b>{headline(runs)}</b></p>")
    assert html.count("<tr>") == 1 + len(runs[["activation", "init", "depth"]].drop_duplicates())
    assert "report.html" in html


def test_recording_profile_draws_both_norms_at_the_first_and_last_step(vanishing_frame):
    fig = recording_profile(vanishing_frame)
    assert isinstance(fig, Figure)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4  # delta and grad norm, first and last recorded step
    first_delta = lines[0].get_ydata()
    assert first_delta[0] < first_delta[-1] - 3  # vanishing: layer 0 far below the last


@pytest.mark.parametrize("labels, expected", [
    ({("sigmoid", 4): "vanishing", ("sigmoid", 8): "vanishing", ("relu", 4): "healthy",
      ("relu", 8): "healthy"}, "4 of 8 runs vanish; relu stays healthy at every depth."),
    ({("sigmoid", 4): "healthy", ("sigmoid", 8): "vanishing", ("relu", 4): "healthy",
      ("relu", 8): "healthy"},
     "2 of 8 runs vanish; sigmoid at depth 4, relu at depth 4 and relu at depth 8 stay healthy."),
    ({("sigmoid", 4): "healthy", ("sigmoid", 8): "healthy", ("relu", 4): "healthy",
      ("relu", 8): "healthy"}, "All 8 runs are healthy."),
], ids=["collapsed-over-depth", "per-depth", "all-healthy"])
def test_headline_names_what_went_wrong_and_what_stayed_healthy(labels, expected):
    rows = [{"run_id": f"{a}{d}{s}", "activation": a, "depth": d, "seed": s, "status": "ok",
             "diagnosis": diag} for (a, d), diag in labels.items() for s in (0, 1)]
    assert headline(pd.DataFrame(rows)) == expected


def test_headline_counts_failed_runs_first():
    runs = pd.DataFrame({"run_id": ["a", "b"], "depth": [2, 4], "status": ["error", "ok"],
                         "diagnosis": ["", "healthy"]})
    assert headline(runs).startswith("1 of 2 runs failed with an error;")
