"""The training loop: learning, determinism, divergence as a result, recorder calls, modes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from gradscope import Activation, Dense, Layer, Sequential, mlp
from gradscope.core.errors import ConfigError
from gradscope.training.datasets import load_dataset
from gradscope.training.loop import History, train


class FakeRecorder:
    """Records the calls the training loop makes."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def set_step(self, t: int) -> None:
        self.calls.append(("set_step", t))

    def on_update(self, t: int, update_norms: dict) -> None:
        self.calls.append(("on_update", t, dict(update_norms)))


class ModeProbe(Layer):
    """Identity layer that notes whether each forward ran in training mode."""

    def __init__(self) -> None:
        self.modes: list[bool] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.modes.append(self.training)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


def _assert_same(a: History, b: History) -> None:
    for field in ("step", "loss", "accuracy", "grad_global_norm"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert (a.status, a.first_nonfinite_step) == (b.status, b.first_nonfinite_step)
    assert a.final_loss == b.final_loss and a.final_accuracy == b.final_accuracy


def test_loss_decreases_on_spirals() -> None:
    hist = train(mlp(2, 2, 2, 32, "relu", "he"), "spirals", steps=300, lr=0.1)
    assert hist.status == "ok" and hist.first_nonfinite_step is None
    assert hist.loss[-30:].mean() < 0.6 * hist.loss[:10].mean()
    assert hist.final_accuracy > 0.8
    assert hist.to_frame().columns.tolist() == ["step", "loss", "accuracy", "grad_global_norm"]
    assert len(hist.to_frame()) == 300


def test_same_seed_same_history() -> None:
    def run(seed: int) -> History:
        return train(mlp(2, 3, 2, 16, "tanh", "xavier", seed=seed), "spirals:3",
                     optimizer="adam", lr=0.01, steps=40, seed=seed)

    _assert_same(run(1), run(1))
    assert not np.array_equal(run(1).loss, run(2).loss)


def test_exploding_net_diverges_quietly() -> None:
    net = mlp(2, 2, 20, 32, "relu", "normal:5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        hist = train(net, "spirals", steps=50)
    assert hist.status == "diverged"
    assert isinstance(hist.first_nonfinite_step, int)
    assert len(hist.step) == hist.first_nonfinite_step + 1  # the failing step is recorded
    last = hist.first_nonfinite_step
    assert not (np.isfinite(hist.loss[last]) and np.isfinite(hist.grad_global_norm[last]))
    assert math.isnan(hist.final_loss) and math.isnan(hist.final_accuracy)


def test_an_overflowing_last_update_counts_as_diverged() -> None:
    net = Sequential([Dense(1, 1, seed=0)])
    hist = train(net, (np.array([[1.0]]), np.array([[1e3]])), steps=1, lr=1e307)
    assert (hist.status, hist.first_nonfinite_step, len(hist.step)) == ("diverged", 1, 1)
    assert np.isfinite(hist.loss[0]) and math.isnan(hist.final_loss)


def test_clipping_keeps_the_exploding_net_finite_and_history_is_before_clipping() -> None:
    hist = train(mlp(2, 2, 20, 32, "relu", "normal:5"), "spirals", steps=5, clip=1.0)
    assert hist.status == "ok"
    assert np.all(hist.grad_global_norm > 1e10)


def test_recorder_sees_set_step_then_on_update_in_order() -> None:
    net = mlp(2, 2, 1, 4, "relu", "he")
    rec = FakeRecorder()
    train(net, "xor", steps=3, recorder=rec)
    assert [c[:2] for c in rec.calls] == [("set_step", 0), ("on_update", 0), ("set_step", 1),
                                          ("on_update", 1), ("set_step", 2), ("on_update", 2)]
    keys = {(id(layer), key) for layer, key, _ in net.parameters()}
    assert all(set(c[2]) == keys for c in rec.calls if c[0] == "on_update")


def test_recorder_gets_no_update_for_the_diverged_step() -> None:
    rec = FakeRecorder()
    hist = train(mlp(2, 2, 20, 32, "relu", "normal:5"), "spirals", steps=50, recorder=rec)
    t = hist.first_nonfinite_step
    assert rec.calls[-1] == ("set_step", t)
    assert len([c for c in rec.calls if c[0] == "on_update"]) == t


def test_one_neuron_example() -> None:
    layer = Dense(1, 1, seed=0)
    layer.params["W"][:] = 0.5
    layer.params["b"][:] = 0.0
    net = Sequential([layer, Activation("sigmoid")])
    x, y = np.array([[2.0]]), np.array([[1.0]])
    a = 1 / (1 + math.exp(-1.0))
    dw = 2 * (a - 1) * a * (1 - a) * 2  # dL/da · da/dz · dz/dw
    assert dw == pytest.approx(-0.2115, abs=1e-4)
    hist = train(net, (x, y), steps=1, batch_size=1, lr=0.1)  # float target: mse, sgd
    assert hist.loss[0] == pytest.approx((a - 1) ** 2)
    assert layer.params["W"][0, 0] == pytest.approx(0.5 - 0.1 * dw)
    assert layer.params["W"][0, 0] == pytest.approx(0.5212, abs=1e-4)
    assert layer.params["b"][0] == pytest.approx(-0.1 * dw / 2)


def test_eval_mode_for_the_final_evaluation_then_train_mode_again() -> None:
    probe = ModeProbe()
    net = Sequential([Dense(2, 2, seed=0), probe])
    net.eval()
    train(net, "xor", steps=2)
    assert probe.modes == [True, True, False]
    assert net.training and probe.training


def test_auto_loss_picks_bce_for_one_output_and_mse_for_regression() -> None:
    data = load_dataset("circles", n=128, seed=0)
    hist = train(mlp(2, 1, 2, 16, "relu", "he"), (data.X, data.y), steps=100, lr=0.1,
                 batch_size=128)  # step 0 sees the whole set (in some order)
    # the first loss is binary cross-entropy of the untrained net's logits, computed here
    logit = mlp(2, 1, 2, 16, "relu", "he").forward(data.X)[:, 0]  # same seed: same weights
    bce = np.mean(np.logaddexp(0.0, logit) - data.y * logit)  # -y log σ - (1-y) log(1-σ)
    assert hist.loss[0] == pytest.approx(bce, rel=1e-12)
    assert hist.final_accuracy > 0.6
    reg = train(mlp(10, 1, 2, 16, "tanh", "xavier"), "teacher", steps=100, lr=0.05)
    assert np.all(np.isnan(reg.accuracy)) and math.isnan(reg.final_accuracy)
    assert reg.loss[-10:].mean() < reg.loss[:10].mean()


def test_output_width_that_does_not_fit_the_data_is_a_config_error() -> None:
    data = load_dataset("spirals:3", n=60)
    with pytest.raises(ConfigError, match="3 classes.*out_dim must be 3"):
        train(mlp(2, 1, 2, 8), data, loss="cross_entropy")
    with pytest.raises(ConfigError, match="ONE output unit"):
        train(mlp(2, 3, 2, 8), data, loss="bce")
    with pytest.raises(ConfigError, match="in_dim = 2"):
        train(mlp(5, 3, 2, 8), data)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"steps": -1}, "steps"), ({"batch_size": 0}, "batch_size"), ({"lr": -0.1}, "lr"),
     ({"optimizer": "adamw"}, 'Did you mean "adam"'), ({"loss": "hinge"}, "Unknown loss")],
    ids=["negative-steps", "zero-batch", "negative-lr", "unknown-optimizer", "unknown-loss"],
)
def test_bad_arguments_are_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        train(mlp(2, 2, 1, 4), "xor", **kwargs)


def test_float32_net_trains_in_float32_end_to_end() -> None:
    from gradscope import GradientRecorder

    net = mlp(2, 2, depth=3, width=16, activation="tanh", init="xavier", dtype="float32")
    seen: list[np.dtype] = []
    net.layers[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    rec = GradientRecorder(net)
    hist = train(net, "spirals", steps=5, lr=0.1, recorder=rec)
    assert hist.status == "ok" and set(seen) == {np.dtype("float32")}
    assert all(p.dtype == np.float32 for _, _, p in net.parameters())
    assert rec.to_frame()["grad_norm"].notna().all()
