"""The recorder's fast hooks (the default) give exactly the frames of the per-layer reference
path (`GradientRecorder(..., fused=False)`), to the last bit, on nets that take every fallback:
underflowing and overflowing sums of squares, inf/nan mid-training, float32, norms, residual
blocks, a user's own layers and activation, a layer used twice, hist=True, every=1 and 7, and a
recorder attached mid-training then removed. Also: the optimiser's update norms equal
`stable_norm([update])` to the last bit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from gradscope.nn.layers import Activation, Dense, Layer, Sequential
from gradscope.nn.mlp import mlp
from gradscope.recording.recorder import GradientRecorder
from gradscope.training.loop import train
from gradscope.training.optimizers import OPTIMIZERS, make_optimizer, stable_norm

Frames = tuple[pd.DataFrame, pd.DataFrame]


def _data(in_dim: int = 8, out_dim: int = 3, n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, in_dim)), rng.normal(size=(n, out_dim))


def _trained(fused: bool, *, every: int = 1, hist: bool = True, steps: int = 15,
             lr: float = 0.05, optimizer: str = "sgd", **net: object) -> Frames:
    """An mlp(8 → 3) trained by `train` with a recorder (any mlp keyword in `net`)."""
    kw = {"depth": 5, "width": 12, "activation": "relu", "init": "he", "seed": 2} | net
    model = mlp(8, 3, **kw)  # type: ignore[arg-type]
    rec = GradientRecorder(model, every=every, hist=hist, fused=fused)
    train(model, _data(), loss="mse", optimizer=optimizer, lr=lr, steps=steps, batch_size=32,
          recorder=rec, seed=0)
    return rec.to_frame(), rec.hist_frame()


class OutIn(Layer):
    """A user's dense layer storing W as (fan_out, fan_in), with no bias."""

    def __init__(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> None:
        self.params = {"W": rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in)}
        self.grads = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x @ self.params["W"].T

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grads["W"] = grad_out.T @ self._x
        return grad_out @ self.params["W"]


class Softsign(Layer):
    """A user's activation layer with its own saturated mask (not the library's)."""

    kind = "activation"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = x
        return x / (1 + np.abs(x))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out / (1 + np.abs(self._z)) ** 2

    def saturated(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.abs(z) > 3


def _custom(fused: bool) -> Frames:
    rng = np.random.default_rng(4)
    net = Sequential([OutIn(8, 10, rng), Softsign(), Dense(10, 10, rng=rng), Activation("elu"),
                      OutIn(10, 3, rng)])
    rec = GradientRecorder(net, every=1, hist=True, fused=fused)
    opt = make_optimizer("sgd", 0.1)
    x, y = _data()
    for t in range(8):
        rec.set_step(t)
        out = net.forward(x[t * 12:(t + 1) * 12])
        net.backward(2 * (out - y[t * 12:(t + 1) * 12]) / out.size)
        rec.on_update(t, opt.step(net))
    return rec.to_frame(), rec.hist_frame()


def _shared(fused: bool) -> Frames:
    """One Dense used twice (two forward and two backward hooks per step), counted steps."""
    rng = np.random.default_rng(5)
    twice = Dense(8, 8, rng=rng)
    net = Sequential([twice, Activation("tanh"), twice, Activation("tanh"), Dense(8, 3, rng=rng)])
    rec = GradientRecorder(net, every=3, hist=True, hist_every=2, fused=fused)
    x, y = _data()
    for t in range(10):
        out = net.forward(x[t * 8:(t + 1) * 8])
        net.backward(2 * (out - y[t * 8:(t + 1) * 8]) / out.size)
        for layer, key, param in net.parameters():
            param -= 0.1 * layer.grads[key]
    return rec.to_frame(), rec.hist_frame()


def _mid_training(fused: bool) -> Frames:
    """Attached after 4 steps, removed after 6 more; training goes on without it."""
    net = mlp(8, 3, depth=4, width=12, activation="tanh", init="xavier", seed=6)
    data = _data()
    train(net, data, loss="mse", lr=0.1, steps=4, batch_size=32, seed=0)
    rec = GradientRecorder(net, every=1, hist=True, fused=fused)
    train(net, data, loss="mse", lr=0.1, steps=6, batch_size=32, recorder=rec, seed=1)
    rec.detach()
    train(net, data, loss="mse", lr=0.1, steps=3, batch_size=32, seed=2)
    return rec.to_frame(), rec.hist_frame()


def _overflowing(fused: bool) -> Frames:
    """Weights of 1e30: activations overflow to inf and gradients to nan at once."""
    net = mlp(8, 3, depth=12, width=8, activation="relu", init="normal:1e30", seed=7)
    rec = GradientRecorder(net, every=1, hist=True, fused=fused)
    x, y = _data()
    with np.errstate(all="ignore"):
        for t in range(2):
            out = net.forward(x[:16])
            net.backward(2 * (out - y[:16]) / out.size)
            rec.on_update(t, {})
    return rec.to_frame(), rec.hist_frame()


def _saturated(fused: bool) -> Frames:
    """Sigmoid outputs all within 1e-10 of 1: the one-pass variance cancels (two-pass std)."""
    net = mlp(8, 3, depth=3, width=12, activation="sigmoid", init="normal:0.001", seed=8)
    for layer in net.layers[:-1]:
        if "b" in layer.params:
            layer.params["b"][:] = 25.0
    rec = GradientRecorder(net, every=1, fused=fused)
    train(net, _data(), loss="mse", lr=0.1, steps=3, batch_size=32, recorder=rec, seed=0)
    return rec.to_frame(), rec.hist_frame()


CASES: dict[str, Callable[[bool], Frames]] = {
    "relu": lambda f: _trained(f),
    "sigmoid_every7": lambda f: _trained(f, activation="sigmoid", init="xavier", every=7,
                                         steps=22),
    "tanh_no_hist": lambda f: _trained(f, activation="tanh", init="xavier", hist=False),
    "leaky_relu_momentum": lambda f: _trained(f, activation="leaky_relu", optimizer="momentum"),
    "gelu_adam": lambda f: _trained(f, activation="gelu", optimizer="adam", lr=0.01),
    # σ_w = 0.01: the signal shrinks ~100× per layer, its squares underflow (rescaled norms)
    "vanishing": lambda f: _trained(f, activation="sigmoid", init="normal:0.01", depth=80,
                                    width=8, every=2),
    # a large learning rate: finite at first, then overflow to inf/nan mid-training
    "exploding": lambda f: _trained(f, init="normal:1.5", depth=8, lr=30.0, steps=12),
    "overflow_at_once": _overflowing,
    "float32": lambda f: _trained(f, dtype="float32", activation="tanh", init="xavier"),
    "float32_vanishing": lambda f: _trained(f, dtype="float32", activation="sigmoid",
                                            init="normal:0.01", depth=20, width=8),
    "batchnorm": lambda f: _trained(f, norm="batchnorm", activation="sigmoid", init="xavier"),
    "layernorm_residual": lambda f: _trained(f, norm="layernorm", residual=True),
    "residual_tanh": lambda f: _trained(f, residual=True, activation="tanh", init="xavier"),
    "bias_init": lambda f: _trained(f, bias_init="normal:1", activation="softplus"),
    "saturated_sigmoid": _saturated,
    "custom_layers": _custom,
    "shared_layer": _shared,
    "attached_mid_training": _mid_training,
}


def assert_bit_identical(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same columns, dtypes and values; floats compared by their bits (NaN equals NaN)."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) and len(want) > 0
    for col in want.columns:
        a, b = got[col].to_numpy(), want[col].to_numpy()
        assert a.dtype == b.dtype, col
        if a.dtype.kind == "f":
            same = (a.view(np.uint64 if a.itemsize == 8 else np.uint32)
                    == b.view(np.uint64 if b.itemsize == 8 else np.uint32))
            same |= np.isnan(a) & np.isnan(b)
            bad = np.flatnonzero(~same)
            assert bad.size == 0, f"{col}: rows {bad[:5]}: {a[bad[:5]]} != {b[bad[:5]]}"
        else:
            assert (a == b).all(), col


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_hooks_equal_the_per_layer_path(case: str) -> None:
    fast, ref = CASES[case](True), CASES[case](False)
    assert_bit_identical(fast[0], ref[0])
    if len(ref[1]):
        assert_bit_identical(fast[1], ref[1])


def test_the_cases_reach_the_fallbacks() -> None:
    """The numbers the fallbacks exist for are really there (else the test proves less)."""
    vanishing = CASES["vanishing"](True)[0]
    assert (vanishing["grad_norm"] < 1e-147).any()  # Σg² < tiny/eps: rescaled
    exploding = CASES["exploding"](True)[0]
    assert np.isfinite(exploding["grad_norm"].iloc[0])
    assert (~np.isfinite(exploding["grad_norm"])).any() or (exploding["nonfinite"] > 0).any()
    overflow = CASES["overflow_at_once"](True)[0]
    assert (overflow["nonfinite"] > 0).any() and np.isinf(overflow["act_std"]).any() | np.isnan(
        overflow["act_std"]).any()
    assert (CASES["float32_vanishing"](True)[0]["grad_norm"] < 1e-16).any()
    custom = CASES["custom_layers"](True)[0]
    assert custom["saturated_frac"].notna().any() and custom["dead_frac"].notna().any()
    assert CASES["relu"](True)[1]["quantity"].nunique() == 3  # histograms of all three
    assert (CASES["relu"](True)[0]["dead_frac"] > 0).any()
    saturated = CASES["saturated_sigmoid"](True)[0]
    assert (saturated["saturated_frac"] == 1.0).any() and (saturated["act_std"] < 1e-9).any()


@pytest.mark.parametrize("name", OPTIMIZERS.names())
@pytest.mark.parametrize("scale", [1.0, 1e-200, 1e200, 0.0])
def test_update_norms_equal_stable_norm_of_each_update(name: str, scale: float) -> None:
    rng = np.random.default_rng(3)
    net = Sequential([Dense(6, 6, rng=rng), Dense(6, 6, rng=rng), Dense(6, 2, rng=rng)])
    opt = make_optimizer(name, 0.5)
    directions: list[np.ndarray] = []
    direction = opt.direction
    opt.direction = lambda grad, slot: directions.append(direction(grad, slot)) or directions[-1]
    for step in range(3):
        for i, layer in enumerate(net.layers):
            layer.grads = {k: scale * rng.standard_normal(p.shape) for k, p in layer.params.items()}
            if step == 2 and i == 1:
                layer.grads["W"][0, 0] = np.nan  # a non-finite update
        directions.clear()
        with np.errstate(all="ignore"):
            norms = opt.step(net)
            want = [stable_norm([opt.lr * d]) for d in directions]
        got = list(norms.values())
        assert np.array(got).view(np.uint64).tolist() == np.array(want).view(np.uint64).tolist()
