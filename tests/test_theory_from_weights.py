"""Measured vs predicted for nets gradscope did not build: the mean-field theory fed with each
layer's σ_w² and σ_b² estimated from the weights at step 0 (weight_norm, bias_norm), the
activation the recording saw and q_in of the data — and, where the activation is unknown, no
prediction and no remedy that depends on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gradscope as gs
from gradscope.analysis.diagnosis.remedies import rank_remedies
from gradscope.analysis.measured_vs_theory import (
    compare_run,
    predicted_profile,
    theory_gap,
    weights_prediction,
)
from gradscope.cli import main
from gradscope.report.sections import _ratio_cell
from gradscope.theory import predict_layers

torch = pytest.importorskip("torch", reason="the torch extra is not installed")
nn = torch.nn

SW2, SB2, Q0, WIDTH, DEPTH, IN = 1.5, 0.05, 1.5, 256, 6, 64


def tanh_mlp(seed: int = 0, act=nn.Tanh, std_w2: float = SW2) -> nn.Module:
    """depth × (Linear → act) → Linear, weights N(0, σ_w²/fan_in), biases N(0, σ_b²)."""
    torch.manual_seed(seed)
    dims = [IN] + [WIDTH] * DEPTH
    layers = []
    for i in range(DEPTH):
        layers += [nn.Linear(dims[i], dims[i + 1]), act()]
    model = nn.Sequential(*layers, nn.Linear(WIDTH, 10)).double()
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=(std_w2 / m.in_features) ** 0.5)
            nn.init.normal_(m.bias, std=SB2**0.5)
    return model


def one_step(model: nn.Module, batch: int = 1024):
    """A watched backward pass on x with E[x²] = Q0; the recorder, its frame, x and the loss."""
    from gradscope.torch import watch

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, IN, dtype=torch.float64, generator=gen) * Q0**0.5
    y = torch.randn(batch, 10, dtype=torch.float64, generator=gen)
    rec = watch(model)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    frame = rec.to_frame()
    rec.detach()
    return rec, frame, x, float(loss.detach())


@pytest.fixture(scope="module")
def tanh_run():
    return one_step(tanh_mlp())


def test_the_weights_give_sigma_w2_within_a_few_percent(tanh_run):
    rec, frame, x, _ = tanh_run
    sw2 = frame["weight_norm"] ** 2 / frame["fan_out"]  # = fan_in · E[W²]
    np.testing.assert_allclose(sw2, SW2, rtol=0.03)
    sb2 = frame["bias_norm"] ** 2 / frame["fan_out"]  # 256 draws per layer (10 in the last)
    assert abs(sb2.iloc[:-1].mean() / SB2 - 1) < 0.1
    inputs = rec.theory_inputs(x)
    assert inputs["activation"] == "tanh"
    assert inputs["q_in"] == pytest.approx(Q0, rel=0.03)


def test_per_layer_delta_ratios_at_step_0_match_the_prediction_from_the_weights(tanh_run):
    rec, frame, x, _ = tanh_run
    params = rec.theory_inputs(x)
    pred = weights_prediction(params, frame)
    assert pred is not None and pred.init is None and len(pred.layers) == DEPTH
    d = frame.sort_values("layer")["delta_norm"].to_numpy()
    measured = (d[:-1] / d[1:]) ** 2  # ‖δ_l‖²/‖δ_l+1‖²
    predicted = np.array([r.ratio for r in pred.layers])
    np.testing.assert_allclose(measured, predicted, rtol=0.08)
    row = compare_run(frame, params)
    assert abs(row["rel_error"]) < 0.05
    # the same numbers as the theory with the variances the weights were drawn with
    exact = predict_layers("tanh", [SW2] * (DEPTH + 1), SB2, q_in=Q0)
    np.testing.assert_allclose(predicted, [r.ratio for r in exact.layers], rtol=0.05)


def test_a_gradscope_net_predicted_from_its_weights_agrees_with_its_init():
    net = gs.mlp(64, 10, depth=5, width=256, activation="tanh", init="xavier", seed=0)
    rec = gs.GradientRecorder(net)
    gs.train(net, (np.random.default_rng(0).normal(size=(256, 64)),
                   np.random.default_rng(1).normal(size=(256, 10))), loss="mse", steps=1,
             batch_size=256, recorder=rec, seed=0)
    frame = rec.to_frame()
    assert rec.activations == ["tanh"] * 5 + [None]
    from_weights = weights_prediction(rec.theory_inputs(), frame)
    from_init = gs.theory_predict("tanh", init="xavier", depth=5, width=256, in_dim=64,
                                  out_dim=10)
    np.testing.assert_allclose([r.ratio for r in from_weights.layers],
                               [r.ratio for r in from_init.layers], rtol=0.03)


def test_saved_torch_run_carries_the_theory_into_runs_csv_and_the_report(tanh_run, tmp_path):
    rec, frame, x, loss = tanh_run
    found = rec.save(tmp_path / "run", losses=[loss], data=x, config={"model": "tanh_mlp"})
    runs = pd.read_csv(tmp_path / "run" / "runs.csv")
    assert runs.loc[0, "activation"] == "tanh"
    assert runs.loc[0, "q_in"] == pytest.approx(Q0, rel=0.03)
    assert found.evidence["theory"].startswith("from the weights at step 0")
    measured, predicted = (found.evidence["per_layer_ratio"],
                           found.evidence["predicted_per_layer_ratio"])
    assert predicted == pytest.approx(measured, rel=0.05)
    layers = pd.read_csv(tmp_path / "run" / "layers.csv", dtype={"run_id": str})
    runs = pd.read_csv(tmp_path / "run" / "runs.csv", dtype={"run_id": str})
    profile = predicted_profile(layers, runs)  # the report's dashed theory line
    assert len(profile) == DEPTH + 1
    result = CliRunner().invoke(main, ["report", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"{measured:.3g} / {predicted:.3g}" in report  # measured / theory per layer


def test_a_log_recording_with_weights_and_biases_is_predicted():
    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(32, 128)) * (1 / 32) ** 0.5,
          rng.normal(size=(128, 128)) * (1 / 128) ** 0.5,
          rng.normal(size=(128, 4)) * (1 / 128) ** 0.5]
    bs = [rng.normal(size=128) * 0.1, rng.normal(size=128) * 0.1, np.zeros(4)]
    rec = gs.GradientRecorder()
    X = rng.normal(size=(64, 32))
    hs, zs = [X], []
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        zs.append(hs[-1] @ W + b)
        hs.append(np.tanh(zs[-1]))
    out = hs[-1] @ Ws[-1]
    delta = out / out.size
    rec.log(0, 2, grad=hs[-1].T @ delta, weight=Ws[2], bias=bs[2], delta=delta)
    for layer in (1, 0):
        delta = (delta @ Ws[layer + 1].T) * (1 - hs[layer + 1] ** 2)
        rec.log(0, layer, grad=hs[layer].T @ delta, weight=Ws[layer], bias=bs[layer],
                delta=delta, preactivation=zs[layer], activation_fn="tanh")
    frame = rec.to_frame()
    np.testing.assert_allclose(frame["bias_norm"], [np.linalg.norm(b) for b in bs])
    params = rec.theory_inputs(X)
    assert params["activation"] == "tanh" and theory_gap(params, frame) == ""
    pred = weights_prediction(params, frame)
    np.testing.assert_allclose(pred.layers[0].sigma_w2, np.linalg.norm(Ws[0]) ** 2 / 128)


class Sine(nn.Module):
    """A nonlinearity gradscope does not know."""

    def forward(self, x):
        return torch.sin(x)


def test_unknown_activation_no_prediction_and_no_remedy_that_needs_it():
    rec, frame, x, _ = one_step(tanh_mlp(act=Sine, std_w2=0.05), batch=64)
    assert rec.activations == [None] * (DEPTH + 1)
    params = rec.theory_inputs(x)
    assert "activation" not in params
    found = gs.diagnose(frame, config=params)
    assert found.label == "vanishing"
    assert found.evidence["theory"] == "no prediction: activation unknown"
    assert np.isnan(found.evidence["predicted_per_layer_ratio"])
    assert not {"relu_he", "he", "xavier", "orthogonal"} & set(found.remedies)
    assert "batchnorm" in found.remedies
    assert "activation" in found.evidence["remedies_left_out"]
    row = compare_run(frame, params)  # the report's measured / theory cell says why
    assert np.isnan(row["predicted_ratio"]) and row["theory"] == "no prediction: activation unknown"
    cell = _ratio_cell(row["measured_ratio"], row["predicted_ratio"], row["rel_error"],
                       row["theory"])
    assert cell.endswith("/ no prediction: activation unknown")


def test_remedies_are_the_activations_own():
    assert "he" not in rank_remedies("vanishing", {"activation": "sigmoid"})
    assert "xavier" not in rank_remedies("vanishing", {"activation": "relu"})
    assert "relu_he" not in rank_remedies("vanishing", {"activation": "nan"})
    assert "smaller_lr" not in rank_remedies("exploding", {"activation": "relu"})  # lr unknown


SIGMOID_FACTORY = """
import torch
from torch import nn

def build():
    layers = [nn.Linear(2, 32), nn.Sigmoid()]
    for _ in range(11):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(32, 2))
"""


def test_diagnose_torch_on_a_vanishing_sigmoid_mlp(tmp_path):
    factory = tmp_path / "sigmoid_mlp.py"
    factory.write_text(SIGMOID_FACTORY)
    result = CliRunner().invoke(main, ["diagnose", "--torch", f"{factory}:build", "--dataset",
                                       "spirals", "--steps", "3", "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "diagnosis: vanishing" in out
    remedies = out.split("remedies, best first:")[1].splitlines()
    names = [line.split(".", 1)[1].split(":")[0].strip() for line in remedies if line.strip()
             and line.strip()[0].isdigit()]
    assert names[0] == "relu_he" and "he" not in names  # He's σ_w² = 2 is for ReLU nets
    assert "from the weights at step 0" in out
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert runs.loc[0, "activation"] == "sigmoid" and runs.loc[0, "q_in"] == pytest.approx(
        1.0, rel=0.05)  # the spirals are standardised
