"""Tests of GradientRecorder: every statistic against numpy, steps, hooks, log(), histograms."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gradscope.core.errors import ConfigError, ShapeError
from gradscope.nn.layers import Activation, Dense, Layer, Residual, Sequential, Sigmoid
from gradscope.nn.layers.hooks import HOOK_KINDS
from gradscope.nn.mlp import mlp
from gradscope.recording.histograms import (
    LIN_HI,
    LIN_LO,
    LOG_HI,
    LOG_LO,
    N_LIN_BINS,
    N_LOG_BINS,
    linear_counts,
    log_abs_counts,
)
from gradscope.recording.recorder import COLUMNS, HIST_COLUMNS, STAT_COLUMNS, GradientRecorder

# -- a reference forward/backward written directly in numpy ----------------------------------------

NP_ACT = {
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, a: a * (1.0 - a)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
}


def mse(out: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements and its gradient."""
    return float(np.mean((out - target) ** 2)), 2.0 * (out - target) / out.size


def dense_layers(net: Layer) -> list[Dense]:
    return [layer for _, layer in net.named_layers() if isinstance(layer, Dense)]


def reference(net: Layer, x: np.ndarray, target: np.ndarray, act: str) -> list[dict]:
    """Per Dense layer of a plain mlp: dW, db, delta = dL/dz, z and the post-activation a."""
    fn, dfn = NP_ACT[act]
    Ws = [d.params["W"] for d in dense_layers(net)]
    bs = [d.params["b"] for d in dense_layers(net)]
    zs, hs, h = [], [x], x
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        z = h @ W + b
        h = fn(z) if i < len(Ws) - 1 else z
        zs.append(z)
        hs.append(h)
    delta = 2.0 * (hs[-1] - target) / hs[-1].size
    out = []
    for i in reversed(range(len(Ws))):
        out.append({"dW": hs[i].T @ delta, "db": delta.sum(0), "delta": delta, "z": zs[i],
                    "a": hs[i + 1], "W": Ws[i]})
        if i:
            delta = (delta @ Ws[i].T) * dfn(zs[i - 1], hs[i])
    return out[::-1]


def one_pass(net: Layer, x: np.ndarray, target: np.ndarray) -> float:
    value, grad = mse(net.forward(x), target)
    net.backward(grad)
    return value


def sgd(net: Layer, lr: float = 0.1) -> dict[tuple[int, str], float]:
    """A fake optimiser step; returns the applied update norms like Optimizer.step."""
    norms = {}
    for layer, key, param in net.parameters():
        update = -lr * layer.grads[key]
        param += update
        norms[(id(layer), key)] = float(np.linalg.norm(update))
    return norms


@pytest.fixture
def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(5, 4)), rng.normal(size=(5, 3))


# -- every statistic against numpy -----------------------------------------------------------------


@pytest.mark.parametrize("act", ["sigmoid", "relu", "tanh"])
def test_every_statistic_matches_numpy(act: str, batch: tuple[np.ndarray, np.ndarray]) -> None:
    x, target = batch
    net = mlp(4, 3, depth=3, width=8, activation=act, init="xavier", seed=3)
    dense = dense_layers(net)
    dense[0].params["W"] *= 6.0  # push some units into the flat part of sigmoid / tanh
    dense[1].params["b"][:3] = -50.0  # three ReLU units dead for every example
    rec = GradientRecorder(net)
    one_pass(net, x, target)
    frame = rec.to_frame()
    ref = reference(net, x, target, act)

    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 4
    assert frame["step"].tolist() == [0] * 4
    assert frame["layer"].tolist() == [0, 1, 2, 3]
    assert frame["name"].tolist() == ["0", "2", "4", "6"]
    assert frame["kind"].tolist() == ["dense"] * 4
    assert frame["fan_in"].tolist() == [4, 8, 8, 8]
    assert frame["fan_out"].tolist() == [8, 8, 8, 3]
    for layer, r in zip(dense, ref, strict=True):
        np.testing.assert_allclose(layer.grads["W"], r["dW"], rtol=1e-10, atol=1e-14)
    for row, r in zip(frame.itertuples(), ref, strict=True):
        last = row.layer == 3
        assert row.grad_norm == pytest.approx(np.sqrt(np.sum(r["dW"] ** 2)), rel=1e-10)
        assert row.grad_rms == pytest.approx(np.sqrt(np.mean(r["dW"] ** 2)), rel=1e-10)
        assert row.grad_max_abs == pytest.approx(np.max(np.abs(r["dW"])), rel=1e-10)
        assert row.bias_grad_norm == pytest.approx(np.linalg.norm(r["db"]), rel=1e-10)
        assert row.delta_norm == pytest.approx(np.linalg.norm(r["delta"]), rel=1e-10)
        assert row.weight_norm == pytest.approx(np.linalg.norm(r["W"]), rel=1e-12)
        assert np.isnan(row.update_ratio)
        assert row.act_mean == pytest.approx(np.mean(r["a"]), rel=1e-10, abs=1e-14)
        assert row.act_std == pytest.approx(np.std(r["a"]), rel=1e-8)
        assert row.nonfinite == 0
        if act in ("sigmoid", "tanh") and not last:
            max_grad = 0.25 if act == "sigmoid" else 1.0
            deriv = NP_ACT[act][1](r["z"], r["a"])
            assert row.saturated_frac == pytest.approx(np.mean(deriv < 0.01 * max_grad))
        else:
            assert np.isnan(row.saturated_frac)
        if act == "relu" and not last:
            assert row.dead_frac == pytest.approx(np.mean(np.all(r["z"] <= 0, axis=0)))
        else:
            assert np.isnan(row.dead_frac)
    assert frame["nonfinite"].dtype == np.int64
    if act == "relu":
        assert frame.loc[1, "dead_frac"] >= 3 / 8  # the test can fail: it sees the dead units
    else:
        assert 0 < frame.loc[0, "saturated_frac"] < 1


def test_rows_follow_forward_order_through_norm_and_residual(
    batch: tuple[np.ndarray, np.ndarray],
) -> None:
    x, target = batch
    net = mlp(4, 3, depth=3, width=8, activation="sigmoid", init="xavier", norm="batchnorm",
              residual=True)
    weight_paths = [p for p, layer in net.named_layers() if "W" in layer.params]
    acts = {}  # what each activation layer really output, seen by an independent hook
    for path, layer in net.named_layers():
        if layer.kind == "activation":
            layer.register_forward_hook(
                lambda lay, inp, out, path=path: acts.__setitem__(path, (inp[0], out))
            )
    rec = GradientRecorder(net)
    one_pass(net, x, target)
    frame = rec.to_frame()
    assert frame["name"].tolist() == weight_paths
    assert frame["name"].tolist()[1] == "3.block.0"
    for row, act_path in zip(frame.itertuples(), sorted(acts), strict=False):
        z, a = acts[act_path]
        assert row.act_mean == pytest.approx(a.mean())
        assert row.saturated_frac == pytest.approx(np.mean(a * (1 - a) < 0.0025))  # of BN output


# -- steps -----------------------------------------------------------------------------------------


def test_counts_steps_without_set_step(batch: tuple[np.ndarray, np.ndarray]) -> None:
    x, target = batch
    net = mlp(4, 3, depth=2, width=8, seed=1)
    rec = GradientRecorder(net)
    norms = []
    for _ in range(3):
        one_pass(net, x, target)
        norms.append(np.linalg.norm(dense_layers(net)[0].grads["W"]))
        sgd(net, lr=0.5)
    frame = rec.to_frame()
    assert rec.recorded_steps == [0, 1, 2]
    assert frame.groupby("step").size().tolist() == [3, 3, 3]
    np.testing.assert_allclose(frame.loc[frame.layer == 0, "grad_norm"], norms, rtol=1e-12)
    assert len(set(np.round(norms, 12))) == 3  # the steps really differ


def test_every_records_only_multiples(batch: tuple[np.ndarray, np.ndarray]) -> None:
    x, target = batch
    net = mlp(4, 3, depth=2, width=8)
    rec = GradientRecorder(net, every=3)
    for _ in range(7):
        one_pass(net, x, target)
    assert rec.recorded_steps == [0, 3, 6]
    assert len(rec.to_frame()) == 3 * 3


def test_set_step_and_on_update(batch: tuple[np.ndarray, np.ndarray]) -> None:
    x, target = batch
    net = mlp(4, 3, depth=2, width=8)
    rec = GradientRecorder(net, every=2)
    expected = {}
    for t in (10, 11, 12):
        rec.set_step(t)
        one_pass(net, x, target)
        w_norms = [np.linalg.norm(d.params["W"]) for d in dense_layers(net)]
        norms = sgd(net)
        rec.on_update(t, norms)
        expected[t] = [norms[(id(d), "W")] / w for d, w in zip(dense_layers(net), w_norms,
                                                                  strict=True)]
    frame = rec.to_frame()
    assert rec.recorded_steps == [10, 12]
    for t in (10, 12):
        np.testing.assert_allclose(frame.loc[frame.step == t, "update_ratio"], expected[t])
    assert rec.step == 12  # set_step wins over the count of backward passes


def test_forward_without_backward_does_not_shift_steps(
    batch: tuple[np.ndarray, np.ndarray],
) -> None:
    x, target = batch
    net = mlp(4, 3, depth=2, width=8)
    rec = GradientRecorder(net)
    net.forward(x * 100)  # e.g. an evaluation pass: no backward, so no step and no row
    one_pass(net, x, target)
    frame = rec.to_frame()
    assert rec.recorded_steps == [0]
    ref = reference(net, x, target, "relu")
    assert frame.loc[0, "act_mean"] == pytest.approx(ref[0]["a"].mean())


def test_detach_removes_every_hook(batch: tuple[np.ndarray, np.ndarray]) -> None:
    x, target = batch
    net = mlp(4, 3, depth=3, width=8, norm="layernorm", residual=True)

    def n_hooks() -> int:
        return sum(len(layer._hook_dict(k)) for _, layer in net.named_layers() for k in HOOK_KINDS)

    rec = GradientRecorder(net, hist=True)
    assert n_hooks() > 0
    one_pass(net, x, target)
    rec.detach()
    assert n_hooks() == 0
    one_pass(net, x, target)
    assert rec.recorded_steps == [0]  # nothing recorded after detach; data kept
    assert len(rec.to_frame()) == 4
    with GradientRecorder(net):
        assert n_hooks() > 0
    assert n_hooks() == 0


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="every"):
        GradientRecorder(mlp(2, 2, 1, 4), every=0)
    with pytest.raises(ConfigError, match="hist_every"):
        GradientRecorder(mlp(2, 2, 1, 4), hist=True, hist_every=-2)
    with pytest.raises(ConfigError, match="no layer with a 'W'"):
        GradientRecorder(Sequential([Sigmoid()]))
    with pytest.raises(ConfigError, match="gradscope Layer"):
        GradientRecorder([Dense(2, 2, seed=0)])


# -- a user's own layers ------------------------------------------------------------------------


class Scale(Layer):
    """A user's bias-free layer: y = x * W (one weight per feature)."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.params = {"W": rng.uniform(0.5, 1.5, size=n)}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x * self.params["W"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grads = {"W": (grad_out * self._x).sum(0)}
        return grad_out * self.params["W"]


class Shrink(Layer):
    """A user's activation: soft-shrink, inactive for |z| ≤ 0.5."""

    kind = "activation"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = x
        return np.sign(x) * np.maximum(np.abs(x) - 0.5, 0.0)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (np.abs(self._z) > 0.5)

    def inactive(self, z: np.ndarray) -> np.ndarray:
        return np.abs(z) <= 0.5


class Square(Layer):
    """A user's activation without any mask methods: found by its kind alone."""

    kind = "activation"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x * x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return 2 * self._x * grad_out


def test_users_own_layers_get_rows(rng: np.random.Generator) -> None:
    x, target = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    net = Sequential([Dense(4, 8, rng=rng), Shrink(), Scale(8, rng), Square(),
                      Dense(8, 2, rng=rng)])
    seen = {}
    for i in (1, 3):
        net[i].register_forward_hook(lambda lay, inp, out, i=i: seen.__setitem__(i, (inp[0], out)))
    rec = GradientRecorder(net)
    one_pass(net, x, target)
    frame = rec.to_frame().set_index("layer")
    assert frame["name"].tolist() == ["0", "2", "4"]
    assert frame["kind"].tolist() == ["dense", "layer", "dense"]
    assert (frame.loc[1, "fan_in"], frame.loc[1, "fan_out"]) == (8, 8)
    g = net[2].grads["W"]
    assert frame.loc[1, "grad_norm"] == pytest.approx(np.linalg.norm(g))
    assert np.isnan(frame.loc[1, "bias_grad_norm"])  # Scale has no bias
    z, a = seen[1]
    assert frame.loc[0, "act_mean"] == pytest.approx(a.mean())
    assert frame.loc[0, "dead_frac"] == pytest.approx(np.mean(np.all(np.abs(z) <= 0.5, axis=0)))
    assert np.isnan(frame.loc[0, "saturated_frac"])
    z, a = seen[3]
    assert frame.loc[1, "act_std"] == pytest.approx(a.std())
    assert np.isnan(frame.loc[1, "dead_frac"]) and np.isnan(frame.loc[1, "saturated_frac"])


# -- log(): hand-written backprop ---------------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def test_log_from_scratch_matches_hooked_sequential(rng: np.random.Generator) -> None:
    x, t = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    W1, b1 = rng.normal(size=(3, 5)) * 2, rng.normal(size=5)
    W2, b2 = rng.normal(size=(5, 2)), rng.normal(size=2)
    net = Sequential([Dense(3, 5, seed=0), Sigmoid(), Dense(5, 2, seed=0)])
    for layer, (W, b) in zip(dense_layers(net), [(W1, b1), (W2, b2)], strict=True):
        layer.params["W"][...], layer.params["b"][...] = W, b
    hooked = GradientRecorder(net, hist=True)
    manual = GradientRecorder(hist=True)
    lr = 0.3
    for step in range(3):
        # the from-scratch net: x → h = σ(x W1 + b1) → y = h W2 + b2, L = mean((y − t)²)
        z1 = x @ W1 + b1
        h = sigmoid(z1)
        y = h @ W2 + b2
        dy = 2 * (y - t) / y.size
        dW2, db2 = h.T @ dy, dy.sum(0)
        dz1 = (dy @ W2.T) * h * (1 - h)
        dW1, db1 = x.T @ dz1, dz1.sum(0)
        manual.log(step, 0, grad=dW1, weight=W1, bias_grad=db1, bias=b1, delta=dz1,
                   preactivation=z1, activation=h, activation_fn="sigmoid", update=-lr * dW1)
        manual.log(step, 1, grad=dW2, weight=W2, bias_grad=db2, bias=b2, delta=dy, activation=y,
                   update=-lr * dW2)
        W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
        # the same net in gradscope
        hooked.set_step(step)
        one_pass(net, x, t)
        hooked.on_update(step, sgd(net, lr))
    a, b = hooked.to_frame(), manual.to_frame()
    assert len(a) == len(b) == 6
    pd.testing.assert_frame_equal(a.drop(columns="name"), b.drop(columns="name"), rtol=1e-9)
    assert b["name"].tolist() == ["0", "1"] * 3
    assert b["saturated_frac"].notna().sum() == 3
    pd.testing.assert_frame_equal(hooked.hist_frame(), manual.hist_frame())


def test_log_missing_quantities_are_nan_and_calls_merge(rng: np.random.Generator) -> None:
    rec = GradientRecorder(every=2)
    g = rng.normal(size=(3, 4))
    rec.log(0, "hidden", grad=g)
    rec.log(1, "hidden", grad=g)  # skipped: 1 % 2 != 0
    z = rng.normal(size=(5, 4))
    z[:, 1] = -np.abs(z[:, 1])  # one unit inactive for every example: dead
    rec.log(0, "hidden", preactivation=z, activation_fn="relu", update=0.5)
    rec.log(0, "out", weight=np.ones((4, 1)))
    frame = rec.to_frame()
    assert rec.recorded_steps == [0]
    assert frame["name"].tolist() == ["hidden", "out"]
    hidden, out = frame.iloc[0], frame.iloc[1]
    assert hidden.grad_norm == pytest.approx(np.linalg.norm(g))
    assert np.isnan(hidden.weight_norm) and np.isnan(hidden.update_ratio)
    assert np.isnan(hidden.delta_norm) and np.isnan(hidden.saturated_frac)
    assert hidden.dead_frac == np.mean(np.all(z <= 0, axis=0)) == 0.25
    assert hidden.act_mean == pytest.approx(np.maximum(z, 0).mean(), rel=1e-12)
    assert out.weight_norm == 2.0 and np.isnan(out.grad_norm) and np.isnan(out.nonfinite)
    assert (hidden.fan_in, hidden.fan_out, out.fan_in, out.fan_out) == (3, 4, 4, 1)


def test_log_validates_shapes_and_layers(rng: np.random.Generator) -> None:
    rec = GradientRecorder()
    with pytest.raises(ShapeError, match="grad, weight and update"):
        rec.log(0, 0, grad=np.ones((3, 4)), weight=np.ones((4, 3)))
    with pytest.raises(ShapeError, match="bias_grad"):
        rec.log(0, 0, grad=np.ones((3, 4)), bias_grad=np.ones(3))
    with pytest.raises(ShapeError, match="same shape"):
        rec.log(0, 0, activation=np.ones((5, 4)), delta=np.ones((6, 4)))
    with pytest.raises(ShapeError, match=r"\(batch, 4\)"):
        rec.log(0, 0, weight=np.ones((3, 4)), activation=np.ones((5, 3)))
    rec.log(0, 0, weight=np.ones((3, 4)))
    with pytest.raises(ShapeError, match="this layer's W"):
        rec.log(1, 0, grad=np.ones((4, 4)))
    with pytest.raises(ConfigError, match="layer"):
        rec.log(0, -1, grad=np.ones((3, 4)))
    with pytest.raises(ConfigError, match="activation_fn"):
        rec.log(0, 0, preactivation=np.ones((2, 4)), activation_fn="sigmoyd")
    attached = GradientRecorder(mlp(2, 2, 1, 4))
    with pytest.raises(ConfigError, match="Did you mean"):
        attached.log(0, "21", grad=np.ones((2, 4)))
    attached.log(0, "0", grad=np.ones((2, 4)))
    with pytest.raises(ShapeError):
        attached.log(0, 1, grad=np.ones((2, 4)))  # layer 1 is Dense(4, 2)


# -- numerics --------------------------------------------------------------------------------------


def test_nonfinite_gradients_are_counted_without_warnings(rng: np.random.Generator) -> None:
    x = np.abs(rng.normal(size=(5, 3))) + 0.1  # positive: no inf − inf inside the matmuls
    net = Sequential([Dense(3, 2, init="xavier", rng=rng)])
    rec = GradientRecorder(net, hist=True)
    net.forward(x)
    g = np.zeros((5, 2))
    g[0, 1], g[2, 0] = np.inf, np.nan
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        net.backward(g)
        frame = rec.to_frame()
        hist = rec.hist_frame()
    gw, gb = net[0].grads["W"], net[0].grads["b"]
    expected = np.count_nonzero(~np.isfinite(gw)) + np.count_nonzero(~np.isfinite(gb))
    assert expected == 8
    assert frame.loc[0, "nonfinite"] == expected
    assert np.isnan(frame.loc[0, "grad_norm"]) and np.isnan(frame.loc[0, "delta_norm"])
    grad_hist = hist[hist.quantity == "grad"]
    assert grad_hist["count"].sum() == gw.size
    assert grad_hist.loc[grad_hist.bin_hi == np.inf, "count"].item() == 6  # 3 inf + 3 nan


@pytest.mark.parametrize("scale", [1e-200, 1e200, 1e-310], ids=["tiny", "huge", "subnormal"])
def test_extreme_but_finite_gradients_are_measured(scale: float, rng: np.random.Generator) -> None:
    g = rng.normal(size=(4, 6))
    grad, act = g * scale, g * scale + 1.0
    rec = GradientRecorder()
    with np.errstate(all="raise"):
        rec.log(0, 0, grad=grad, delta=grad, activation=act)
    row = rec.to_frame().iloc[0]
    rel = 1e-9 if scale > 1e-300 else 1e-3  # subnormals carry fewer digits
    assert row.grad_norm == pytest.approx(np.linalg.norm(g) * scale, rel=rel)
    assert row.grad_rms == pytest.approx(np.linalg.norm(g) / np.sqrt(g.size) * scale, rel=rel)
    assert row.grad_max_abs == pytest.approx(np.abs(g).max() * scale, rel=rel)
    assert row.delta_norm == pytest.approx(np.linalg.norm(g) * scale, rel=rel)
    assert row.nonfinite == 0
    if scale < 1:
        assert row.act_mean == pytest.approx(1.0) and row.act_std == np.std(act)


def test_std_of_saturated_outputs_is_accurate() -> None:
    a = 1.0 - np.linspace(1e-9, 2e-9, 100).reshape(10, 10)  # sigmoid outputs all ≈ 1
    rec = GradientRecorder()
    rec.log(0, 0, activation=a)
    assert rec.to_frame().loc[0, "act_std"] == pytest.approx(a.std(), rel=1e-6)


# -- histograms ---------------------------------------------------------------------------------


def test_histogram_bins_are_fixed_and_exact_at_known_values() -> None:
    x = np.array([0.0, -0.0, 1e-30, -3e-20, 0.5, -2.0, 1e6, -np.inf, np.nan])
    counts = log_abs_counts(x)
    assert counts.shape == (N_LOG_BINS,) and counts.sum() == x.size
    assert (LOG_LO[0], LOG_HI[0], counts[0]) == (0.0, 0.0, 2)  # exact zeros
    assert (LOG_HI[1], counts[1]) == (1e-20, 1)  # underflow
    assert counts[-1] == 3 and LOG_HI[-1] == np.inf  # 1e6, inf, nan
    for value in (3e-20, 0.5, 2.0):
        i = np.searchsorted(LOG_LO[2:-1], value, side="right") + 1
        assert LOG_LO[i] <= value < LOG_HI[i] and counts[i] == 1
    assert np.allclose(LOG_HI[2:-1] / LOG_LO[2:-1], 10**0.2)
    lin = linear_counts(np.array([-5.0, -3.0, -0.1, 0.0, 2.9, 3.0, np.inf, np.nan]))
    assert lin.shape == (N_LIN_BINS,) and lin.sum() == 8
    assert lin[0] == 1 and lin[-1] == 3 and LIN_LO[0] == -np.inf and LIN_HI[-1] == np.inf
    assert lin[1] == 1 and LIN_LO[1] == -3.0  # -3 opens the first regular bin
    assert lin[12] == 1 and lin[13] == 1 and LIN_HI[12] == 0.0  # -0.1 | 0.0
    assert lin[24] == 1 and LIN_LO[24] == 2.75


def test_histogram_counts_sum_to_number_of_entries(batch: tuple[np.ndarray, np.ndarray]) -> None:
    x, target = batch
    net = mlp(4, 3, depth=3, width=8, activation="relu", seed=2)
    rec = GradientRecorder(net, every=1, hist=True, hist_every=2)
    for _ in range(3):
        one_pass(net, x, target)
    hist = rec.hist_frame()
    assert list(hist.columns) == list(HIST_COLUMNS)
    assert sorted(hist.step.unique()) == [0, 2]
    assert (hist["count"] > 0).all()
    totals = hist.groupby(["step", "layer", "quantity"])["count"].sum()
    for layer, d in enumerate(dense_layers(net)):
        fan_in, fan_out = d.params["W"].shape
        for step in (0, 2):
            assert totals[(step, layer, "grad")] == fan_in * fan_out
            assert totals[(step, layer, "delta")] == len(x) * fan_out
            assert totals[(step, layer, "activation")] == len(x) * fan_out
    # one layer's counts against np.histogram with the same edges
    one_pass(net, x, target)  # step 3: not a histogram step
    assert sorted(rec.hist_frame().step.unique()) == [0, 2]
    assert rec.recorded_steps == [0, 1, 2, 3]


def test_histogram_matches_np_histogram(rng: np.random.Generator) -> None:
    values = rng.normal(size=2000) * 10.0 ** rng.uniform(-25, 8, size=2000)
    edges = np.concatenate([[LOG_LO[2]], LOG_HI[2:-1]])
    expected, _ = np.histogram(np.abs(values), bins=edges)
    counts = log_abs_counts(values)
    assert np.abs(counts[2:-1] - expected).sum() <= 2  # float32 rounding at an edge at most
    assert counts[1] == np.count_nonzero(np.abs(values) < 1e-20)
    assert counts[-1] == np.count_nonzero(np.abs(values) >= 1e5)
    a = rng.normal(size=3000) * 2
    lin_edges = np.concatenate([[LIN_LO[1]], LIN_HI[1:-1]])
    assert np.array_equal(linear_counts(a)[1:-1], np.histogram(a, bins=lin_edges)[0])


def test_hist_frame_is_empty_without_hist() -> None:
    rec = GradientRecorder(mlp(2, 2, 1, 4))
    assert list(rec.hist_frame().columns) == list(HIST_COLUMNS) and rec.hist_frame().empty
    assert list(rec.to_frame().columns) == list(COLUMNS) and rec.to_frame().empty


# -- the phenomenon itself ----------------------------------------------------------------------


def delta_log_ratio(activation: str, init: str, rng: np.random.Generator) -> float:
    net = mlp(8, 2, depth=50, width=32, activation=activation, init=init, seed=0)
    rec = GradientRecorder(net)
    x, target = rng.normal(size=(16, 8)), rng.normal(size=(16, 2))
    one_pass(net, x, target)
    delta = rec.to_frame()["delta_norm"].to_numpy()
    assert len(delta) == 51 and np.all(delta > 0)
    return float(np.log10(delta[0] / delta[-1]))


def test_deep_sigmoid_vanishes_while_relu_he_does_not(rng: np.random.Generator) -> None:
    sigmoid_ratio = delta_log_ratio("sigmoid", "xavier", rng)
    relu_ratio = delta_log_ratio("relu", "he", rng)
    assert sigmoid_ratio < -10, sigmoid_ratio  # many orders of magnitude
    assert abs(relu_ratio) < 1, relu_ratio


def test_statistic_columns_are_the_specs() -> None:
    assert STAT_COLUMNS == (
        "grad_norm", "grad_rms", "grad_max_abs", "bias_grad_norm", "delta_norm", "weight_norm",
        "update_ratio", "act_mean", "act_std", "saturated_frac", "dead_frac", "nonfinite",
        "bias_norm",  # appended (theory from the weights): older layers.csv keep their columns
    )


def test_activation_layers_are_looked_up_not_hardcoded(
    batch: tuple[np.ndarray, np.ndarray],
) -> None:
    x, target = batch
    net = Sequential([Dense(4, 6, seed=0), Activation("leaky_relu"), Dense(6, 3, seed=0), Residual(
        Sequential([Dense(3, 3, seed=0), Activation("softplus")]))])
    rec = GradientRecorder(net)
    seen = {}
    net[0].register_forward_hook(lambda lay, inp, out: seen.__setitem__("z0", out.copy()))
    one_pass(net, x, target)
    frame = rec.to_frame()
    assert frame["name"].tolist() == ["0", "2", "3.block.0"]
    # leaky_relu is of the relu family: a unit is dead if z <= 0 for the whole batch
    assert frame.loc[0, "dead_frac"] == np.mean(np.all(seen["z0"] <= 0, axis=0))
    assert np.isnan(frame.loc[2, "dead_frac"]) and np.isnan(frame.loc[2, "saturated_frac"])


def test_a_single_weight_layer_as_the_whole_net(rng: np.random.Generator) -> None:
    net = Dense(3, 2, rng=rng)
    rec = GradientRecorder(net, every=2)
    x, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    for _ in range(3):
        one_pass(net, x, target)
    frame = rec.to_frame()
    assert rec.recorded_steps == [0, 2]
    assert frame["name"].tolist() == ["Dense", "Dense"]
    out = net.forward(x)
    assert frame.loc[1, "act_mean"] == pytest.approx(out.mean())  # its own output
    assert frame.loc[1, "grad_norm"] == pytest.approx(np.linalg.norm(net.grads["W"]))


def test_log_accepts_an_activation_layer_and_never_runs_it(rng: np.random.Generator) -> None:
    shrink = Shrink()
    z = rng.normal(size=(6, 4))
    a = shrink.forward(z)
    shrink._z = "kept"  # a user's layer state must not be touched by log()
    rec = GradientRecorder()
    rec.log(0, 0, preactivation=z, activation=a, activation_fn=shrink)
    rec.log(0, 1, preactivation=z, activation_fn=shrink)  # no activation: nothing to derive
    frame = rec.to_frame()
    assert shrink._z == "kept"
    assert frame.loc[0, "dead_frac"] == pytest.approx(np.mean(np.all(np.abs(z) <= 0.5, axis=0)))
    assert frame.loc[0, "act_mean"] == pytest.approx(a.mean())
    assert np.isnan(frame.loc[1, "act_mean"]) and np.isnan(frame.loc[1, "dead_frac"])
    with pytest.raises(ConfigError, match="activation_fn"):
        rec.log(0, 0, preactivation=z, activation_fn=np.tanh)


def test_hist_every_independent_of_every(batch: tuple[np.ndarray, np.ndarray]) -> None:
    x, target = batch
    net = mlp(4, 3, depth=2, width=8, activation="tanh", init="xavier")
    rec = GradientRecorder(net, every=2, hist=True, hist_every=3)
    for _ in range(5):
        one_pass(net, x, target)
    assert rec.recorded_steps == [0, 2, 4]
    hist = rec.hist_frame()
    assert sorted(hist.step.unique()) == [0, 3]
    at3 = hist[hist.step == 3].groupby("quantity")["count"].sum()
    assert at3["activation"] == len(x) * (8 + 8 + 3)  # step 3's forward was binned too
