"""Diagnosis: labels from crafted frames, the first bad layer, remedies, try-fixes, the CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gradscope.analysis.diagnosis import (
    BAND_LOG10,
    DIAGNOSES,
    REMEDIES,
    diagnose,
    rank_remedies,
    signal_profile,
)
from gradscope.cli import main
from gradscope.sweeps import execute_run, run_sweep
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.results import diagnose_sweep
from gradscope.sweeps.tryfix import try_fixes
from gradscope.theory import predict

SIGMOID = RunConfig(depth=16, width=32, activation="sigmoid", init="xavier", steps=30, lr=0.05,
                    record_every=10, n_samples=128, batch_size=32)


def frame(delta_by_step: dict[int, list[float]], **cols: list[float]) -> pd.DataFrame:
    """A layers frame: the same per-layer columns at every step, delta_norm per step."""
    rows = []
    for step, delta in delta_by_step.items():
        n = len(delta)
        rows.append(pd.DataFrame({
            "step": step, "layer": range(n), "grad_norm": 1.0, "delta_norm": delta,
            "nonfinite": 0, "fan_in": 8, "fan_out": 8,
            **{k: v for k, v in cols.items()}}))
    return pd.concat(rows, ignore_index=True)


def losses(first: float) -> pd.DataFrame:
    """A steps frame whose first loss is `first`."""
    return pd.DataFrame({"step": [0, 1], "loss": [first, first]})


def geometric(factor_log10: float, n: int = 11) -> list[float]:
    """delta_norm falling by `factor_log10` decades per layer from the top down."""
    return [10.0 ** (factor_log10 * (n - 1 - layer)) for layer in range(n)]


FLAT = geometric(0.0)
CASES = {
    "healthy": (frame({0: FLAT, 10: FLAT}), "ok", 0.5),
    "vanishing": (frame({0: geometric(-0.5), 10: geometric(-0.5)}), "ok", 0.7),
    "exploding": (frame({0: geometric(0.5), 10: geometric(0.3)}), "ok", 0.7),
    "saturated": (frame({0: FLAT}, saturated_frac=[0.2] * 5 + [0.9] * 5 + [np.nan]), "ok", 0.6),
    "dead": (frame({0: FLAT}, dead_frac=[0.7] * 10 + [np.nan]), "ok", 0.6),
    "diverged-status": (frame({0: FLAT}), "diverged", math.nan),
    "diverged-nonfinite": (frame({0: FLAT}, nonfinite=[0] * 7 + [3, 0, 0, 0]), "ok", 0.6),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_label_from_a_crafted_frame(case: str) -> None:
    layers, status, final = CASES[case]
    found = diagnose(layers, losses(0.7), status=status, first_nonfinite_step=3,
                     final_loss=final, final_accuracy=0.6)
    label = case.split("-")[0]
    assert found.label == label and label in DIAGNOSES
    assert found.finding.lower().startswith(label) and found.finding.endswith(".")
    assert (found.first_bad_layer is None) == (case in ("healthy", "diverged-status"))


def test_first_bad_layer_is_where_the_signal_leaves_the_band() -> None:
    # −0.5 decades per layer from the output (layer 10): −2 is reached at layer 6
    found = diagnose(frame({0: geometric(-0.5)}))
    assert found.label == "vanishing" and found.first_bad_layer == 6
    assert "layer 6" in found.finding and "10^-5.0" in found.finding
    assert found.evidence["per_layer_ratio"] == pytest.approx(0.1)  # (10^-0.5)²
    grows = diagnose(frame({0: geometric(0.25)}))
    assert grows.label == "exploding" and grows.first_bad_layer == 2  # +2 reached 8 below
    assert diagnose(frame({0: FLAT}, saturated_frac=[0.2] * 5 + [0.9] * 5 + [np.nan])
                    ).first_bad_layer == 9
    assert diagnose(frame({0: FLAT}, nonfinite=[0] * 7 + [3, 0, 0, 0]),
                    status="diverged").first_bad_layer == 7


def test_an_imbalance_that_training_resolves_is_reported_as_transient() -> None:
    layers = frame({0: geometric(0.3), 10: geometric(0.15)}, update_ratio=[0.01] * 11)
    learned = diagnose(layers, losses(0.7), final_loss=0.3)
    assert learned.label == "healthy" and "transient" in learned.finding
    assert learned.evidence["when"] == "transient"
    stuck = diagnose(layers, losses(0.7), final_loss=0.69)  # the loss did not fall by 20%
    assert stuck.label == "exploding"
    frozen = frame({0: geometric(-0.3), 10: geometric(-0.3)},
                   update_ratio=[1e-9] + [0.01] * 10)  # learned, but layer 0 never moves
    assert diagnose(frozen, losses(0.7), final_loss=0.3).label == "vanishing"
    extreme = frame({0: geometric(0.5), 10: geometric(0.5)}, update_ratio=[0.01] * 11)
    # 10^5 is never "transient", however well a clipped net limps on
    assert diagnose(extreme, losses(0.7), final_loss=0.3).label == "exploding"


def test_an_imbalance_that_appears_during_training_is_labelled() -> None:
    layers = frame({0: FLAT, 10: geometric(0.4)})
    found = diagnose(layers, losses(0.7), final_loss=0.69)
    assert found.label == "exploding" and found.evidence["when"] == "training"
    assert "at step 10" in found.finding


def test_signal_profile_is_log10_relative_to_the_output_layer() -> None:
    profile = signal_profile(frame({0: [1e-4, 1e-2, 1.0]}), 0)
    np.testing.assert_allclose(profile, [-4.0, -2.0, 0.0])


RANKED = {
    ("vanishing", "sigmoid", "xavier"): ["relu_he", "batchnorm", "residual"],
    ("vanishing", "relu", "normal:0.01"): ["he", "batchnorm", "residual"],
    ("exploding", "relu", "normal:1"): ["he", "batchnorm", "clip", "smaller_lr"],
    ("saturated", "tanh", "normal:1"): ["relu_he", "xavier", "batchnorm"],
    ("dead", "relu", "normal:1"): ["he", "smaller_lr", "batchnorm"],
    ("diverged", "relu", "normal:3"): ["clip", "smaller_lr", "he", "batchnorm"],
}


@pytest.mark.parametrize("key", list(RANKED), ids=["-".join(k) for k in RANKED])
def test_remedies_are_ranked_per_pathology_and_only_those_that_apply(key) -> None:
    label, activation, init = key
    cfg = RunConfig(activation=activation, init=init)
    ranked = rank_remedies(label, cfg)
    assert ranked[:len(RANKED[key])] == RANKED[key]
    assert all(REMEDIES.get(n).apply(cfg) not in (None, cfg) for n in ranked)
    assert rank_remedies("healthy", cfg) == []


def test_theory_moves_remedies_predicted_to_fail_to_the_end() -> None:
    cfg = RunConfig(depth=20, activation="sigmoid", init="xavier")
    ranked = rank_remedies("vanishing", cfg, dims=(2, 2))
    # layer norm and orthogonal init leave a sigmoid net at < 10^-2 (theory): after the rest
    assert ranked[-2:] == ["orthogonal", "layernorm"]
    assert REMEDIES.get("relu_he").apply(RunConfig(activation="relu", init="he")) is None
    assert REMEDIES.get("smaller_lr").apply(cfg).lr == pytest.approx(cfg.lr / 10)


@pytest.fixture(scope="module")
def sigmoid_run():
    """A real 16-layer sigmoid + xavier net, 30 steps."""
    return execute_run(SIGMOID)


def test_a_deep_sigmoid_net_vanishes_from_the_layer_the_signal_leaves_the_band(sigmoid_run):
    s = sigmoid_run.summary
    assert s["diagnosis"] == "vanishing"
    found = diagnose(sigmoid_run.layers, sigmoid_run.steps, SIGMOID, final_loss=s["final_loss"])
    profile = signal_profile(sigmoid_run.layers, 0)
    bad = found.first_bad_layer
    assert bad is not None and profile[bad] <= -BAND_LOG10 < profile[bad + 1]
    assert SIGMOID.depth - 6 <= bad <= SIGMOID.depth - 2  # ×0.25 per layer: ~4 layers down
    assert f"layer {bad}" in s["findings"]
    # the evidence's per-layer ratio is (‖δ_0‖/‖δ_top‖)^(2/(n−1)) of the first recorded step,
    # and its prediction is the mean-field theory's for this net's dimensions
    ev = found.evidence
    layers = sigmoid_run.layers
    first = layers[layers["step"] == layers["step"].min()].sort_values("layer")
    d = first["delta_norm"].to_numpy(float)
    assert ev["per_layer_ratio"] == pytest.approx((d[0] / d[-1]) ** (2 / (len(d) - 1)),
                                                  rel=1e-12)
    theory = predict("sigmoid", init="xavier", depth=SIGMOID.depth, width=SIGMOID.width,
                     in_dim=int(first["fan_in"].iloc[0]), out_dim=int(first["fan_out"].iloc[-1]))
    assert ev["predicted_per_layer_ratio"] == pytest.approx(theory.per_layer_ratio, rel=1e-12)
    # measured 0.0562 vs 0.0582 predicted (χ ≈ 0.06): at width 32, ‖δ‖² of one layer over a
    # 32 × 32 batch fluctuates by ~4 %, and the finite width biases the mean-field value
    assert ev["per_layer_ratio"] == pytest.approx(ev["predicted_per_layer_ratio"], rel=0.1)
    assert found.remedies[:2] == ("relu_he", "batchnorm")


def test_try_fixes_shows_relu_he_and_batchnorm_healing_it(sigmoid_run):
    table = try_fixes(SIGMOID, ["relu_he", "batchnorm", "layernorm"], workers=0,
                      baseline=sigmoid_run)
    before = table.before.summary["delta_ratio_log10"]
    after = {t.remedy: t.summary["delta_ratio_log10"] for t in table.after}
    assert before < -8
    for fix in ("relu_he", "batchnorm"):
        assert abs(after[fix]) < abs(before) - 5
    assert after["layernorm"] < -BAND_LOG10  # normalising a sigmoid net's scale is not enough
    keys = [(-t.summary["final_accuracy"], t.summary["final_loss"]) for t in table.after]
    assert keys == sorted(keys)  # best first: accuracy, then loss
    frame_ = table.to_frame()
    assert list(frame_["remedy"])[0] == "(as is)" and len(frame_) == 4
    assert {"delta_ratio_log10_before", "delta_ratio_log10", "final_loss"} <= set(frame_)


def test_a_sweep_directory_is_diagnosed_per_configuration(tmp_path) -> None:
    small = {"depth": 8, "width": 16, "steps": 10, "record_every": 5, "n_samples": 64,
             "batch_size": 16}
    configs = [RunConfig(**small, activation=a, init=i, seed=s)
               for a, i in (("sigmoid", "normal:0.01"), ("relu", "he")) for s in (0, 1)]
    run_sweep(configs, tmp_path, workers=0, quiet=True)
    found = {c.params["activation"]: c for c in diagnose_sweep(tmp_path)}
    assert found["sigmoid"].label == "vanishing" and found["relu"].label == "healthy"
    assert found["sigmoid"].labels == {"vanishing": 2} and len(found["sigmoid"].run_ids) == 2
    assert found["sigmoid"].evidence["delta_ratio_log10"] < -5


CLI_RUN = ["--depth", "6", "--width", "8", "--steps", "5", "--n-samples", "64",
           "--batch-size", "16", "--activation", "sigmoid", "--init", "normal:0.01"]


def test_cli_diagnoses_a_run_and_tries_fixes() -> None:
    result = CliRunner().invoke(main, ["diagnose", *CLI_RUN, "--try-fixes", "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "diagnosis: vanishing" in result.output
    assert "remedies, best first:" in result.output and "try-fixes" in result.output
    assert "relu_he" in result.output.split("try-fixes")[1]


def test_cli_diagnoses_a_sweep_dir(tmp_path) -> None:
    run_sweep([RunConfig(depth=3, width=8, steps=5, n_samples=64, batch_size=16)], tmp_path,
              workers=0, quiet=True)
    result = CliRunner().invoke(main, ["diagnose", "--from", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "diagnosis:" in result.output


@pytest.mark.parametrize("args", [["--activation", "sigmod"], ["--from", "/no/such/dir"],
                                  ["--depth", "0"], ["--workers", "-1"]],
                         ids=["bad-activation", "missing-dir", "bad-depth", "bad-workers"])
def test_cli_bad_input_exits_2_without_traceback(args) -> None:
    result = CliRunner().invoke(main, ["diagnose", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_cli_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["diagnose", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
