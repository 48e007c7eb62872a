"""The theory with the net's real biases and inputs: σ_b² from bias_init, q⁰ from the dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gradscope.analysis.measured_vs_theory import compare_runs, prediction_for, run_q_in
from gradscope.cli import main
from gradscope.core.errors import ConfigError
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.run import execute_run
from gradscope.theory import predict
from gradscope.training.datasets import load_dataset

pytest.importorskip("sklearn")

# The textbook from-scratch setting: sigmoid, N(0, 0.05²) weights (σ_w² = 1.25 at width 500),
# N(0, 1) biases (σ_b² = 1), pixels in [0, 1] (q⁰ ≈ 0.23, far from a standardised 1).
SIGMOID = {"activation": "sigmoid", "init": "normal:0.05", "bias_init": "normal:1",
           "dataset": "digits", "width": 500, "depth": 6, "steps": 1}


def test_bias_init_gives_sigma_b2_per_layer_and_q_in_enters_the_first_layer() -> None:
    by_name = predict("tanh", sigma_w2=1.5, bias_init="normal:0.5", depth=5, q_in=0.3)
    by_value = predict("tanh", sigma_w2=1.5, sigma_b2=0.25, depth=5, q_in=0.3)
    assert by_name.sigma_b2 == by_value.sigma_b2 == 0.25 and by_name.bias_init == "normal:0.5"
    assert [r.ratio for r in by_name.layers] == [r.ratio for r in by_value.layers]
    assert by_name.layers[0].q == pytest.approx(1.5 * 0.3 + 0.25)
    fan = predict("tanh", init="xavier", bias_init="he", depth=3, width=40, in_dim=10)
    assert fan.layers[0].q == pytest.approx(2 / 50 * 10 + 2 / 10)  # first layer: fan_in 10
    assert fan.layers[1].q != fan.layers[0].q and fan.sigma_b2 == pytest.approx(2 / 40)
    with pytest.raises(ConfigError, match="at most one of bias_init"):
        predict("tanh", sigma_w2=1.0, sigma_b2=0.1, bias_init="normal:1")
    with pytest.raises(ConfigError, match="bias_init"):
        predict("tanh", sigma_w2=1.0, bias_init="orthogonal")


def test_q_in_is_the_mean_square_input_of_the_runs_dataset(tmp_path: Path) -> None:
    digits = load_dataset("digits", n=300, seed=2)
    assert digits.q_in == pytest.approx(float(np.mean(digits.X**2)))
    assert 0.15 < digits.q_in < 0.35
    assert run_q_in({"dataset": "digits", "n_samples": 300, "data_seed": 2}) == digits.q_in
    assert run_q_in({"dataset": "spirals"}) == pytest.approx(1.0, abs=1e-12)
    # a csv file that is gone (a report rebuilt elsewhere) is standardised data: q⁰ = 1
    assert run_q_in({"dataset": f"csv:{tmp_path / 'gone.csv'}", "target": float("nan")}) == 1.0
    old_row = pd.Series({"activation": "tanh", "init": "xavier", "depth": 4, "width": 16})
    old = prediction_for(old_row, 2, 2)  # a runs.csv from before bias_init: σ_b² = 0
    assert old is not None and old.sigma_b2 == 0.0 and old.q_in == pytest.approx(1.0)


def _runs(seeds: range) -> tuple[pd.DataFrame, pd.DataFrame]:
    results = [execute_run(RunConfig(**SIGMOID, seed=seed)) for seed in seeds]
    runs = pd.DataFrame([r.row() for r in results])
    layers = pd.concat([r.layers.assign(run_id=r.run_id) for r in results], ignore_index=True)
    return runs, layers


def test_sigmoid_net_with_biases_and_01_inputs_matches_the_theory_per_layer() -> None:
    """Issue 13: within 5 % per layer at width 500 (geometric mean over 3 seeds, step 0); the
    old prediction (σ_b² = 0, q⁰ = 1) misses the same measurement by about a quarter."""
    runs, layers = _runs(range(3))
    first = layers.query("step == 0").sort_values(["run_id", "layer"])
    per_run = [np.log(g["delta_norm"].to_numpy()[:-1] ** 2 / g["delta_norm"].to_numpy()[1:] ** 2)
               for _, g in first.groupby("run_id")]
    measured = np.exp(np.mean(per_run, axis=0))  # ‖δ_l‖²/‖δ_l+1‖², layers 0..depth−1
    pred = prediction_for(runs.iloc[0], 64, 10)
    assert pred.sigma_b2 == 1.0 and pred.q_in == pytest.approx(load_dataset("digits").q_in)
    predicted = np.array([r.ratio for r in pred.layers])
    np.testing.assert_allclose(measured, predicted, rtol=0.05)
    old = predict("sigmoid", init="normal:0.05", depth=6, width=500, in_dim=64, out_dim=10)
    old_error = measured / np.array([r.ratio for r in old.layers]) - 1
    assert np.all(old_error < -0.15)
    table = compare_runs(layers, runs)  # what the report's measured-vs-theory table shows
    assert len(table) == 3 and np.all(np.abs(table["rel_error"]) < 0.05)


def test_theory_cli_takes_bias_init_q0_and_dataset() -> None:
    def run(*args: str) -> dict:
        result = CliRunner().invoke(main, ["theory", "--activation", "sigmoid", "--init",
                                           "normal:0.05", "--width", "500", "--depth", "6",
                                           "--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    plain = run()
    assert plain["sigma_b2"] == 0.0 and plain["q_in"] == 1.0
    biased = run("--bias-init", "normal:1", "--q0", "0.25")
    assert biased["sigma_b2"] == 1.0 and biased["q_in"] == 0.25
    assert biased["layers"][0]["q"] == pytest.approx(1.25 * 0.25 + 1.0)
    data = run("--bias-init", "normal:1", "--dataset", "digits")
    assert data["q_in"] == pytest.approx(load_dataset("digits").q_in)
    assert data["in_dim"] == 64 and data["out_dim"] == 10
    text = CliRunner().invoke(main, ["theory", "--activation", "sigmoid", "--init", "xavier",
                                     "--bias-init", "normal:1", "--dataset", "digits"]).output
    assert "σ_b² = 1" in text and "q0 = 0.23" in text and "(digits)" in text
    for bad in (["--q0", "1", "--dataset", "digits"], ["--sigma-b2", "1", "--bias-init", "he"],
                ["--q0", "-1"], ["--dataset", "digitz"]):
        result = CliRunner().invoke(main, ["theory", "--activation", "tanh", "--init", "xavier",
                                           *bad])
        assert result.exit_code == 2 and "Traceback" not in result.output, bad
