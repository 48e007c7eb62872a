"""Hand-written backprop logged as it is written: order, layouts, per-example accumulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gradscope.analysis.diagnosis.engine import diagnose
from gradscope.core.errors import ConfigError, ShapeError
from gradscope.nn.layers import Dense, Layer, Sequential
from gradscope.recording.recorder import GradientRecorder


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def textbook_net(rng: np.random.Generator, sizes: list[int]) -> tuple[list, list]:
    """Weights stored (out, in) and column-vector biases, as in the classic from-scratch MLP."""
    Ws = [rng.normal(size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(size=(o, 1)) for o in sizes[1:]]
    return Ws, bs


def textbook_backprop(Ws: list, bs: list, x: np.ndarray, y: np.ndarray) -> tuple[list, ...]:
    """One example (column vectors), sigmoid everywhere, L = ½‖a − y‖²: (dW, db, delta, z, a)
    per layer, output layer first, exactly as the textbook loop produces them."""
    a, acts, zs = x, [x], []
    for W, b in zip(Ws, bs, strict=True):
        z = W @ a + b
        a = sigmoid(z)
        zs.append(z)
        acts.append(a)
    delta = (acts[-1] - y) * acts[-1] * (1 - acts[-1])
    out = []
    for i in reversed(range(len(Ws))):
        out.append((delta @ acts[i].T, delta.copy(), delta, zs[i], acts[i + 1]))
        if i:
            delta = (Ws[i].T @ delta) * acts[i] * (1 - acts[i])
    return out


def test_textbook_mlp_logged_output_first_one_example_at_a_time(rng: np.random.Generator) -> None:
    sizes = [5, 7, 6, 3]
    Ws, bs = textbook_net(rng, sizes)
    X, Y = rng.normal(size=(4, 5, 1)), rng.uniform(size=(4, 3, 1))
    rec = GradientRecorder(weight_layout="out_in", batch_axis=1)  # undeclared order
    names = ["hidden1", "hidden2", "output"]
    per_example = []
    for x, y in zip(X, Y, strict=True):
        grads = textbook_backprop(Ws, bs, x, y)
        per_example.append(grads[::-1])  # input first, for the hand computation below
        for k, (dW, db, delta, z, a) in zip(reversed(range(3)), grads, strict=False):
            rec.log(0, names[k], grad=dW, bias_grad=db, delta=delta, weight=Ws[k],
                    preactivation=z, activation=a, activation_fn="sigmoid")
    frame = rec.to_frame()
    assert frame["name"].tolist() == names  # the W-shape chain put the input layer first
    assert frame["layer"].tolist() == [0, 1, 2]
    assert frame["fan_in"].tolist() == sizes[:-1] and frame["fan_out"].tolist() == sizes[1:]
    for k, row in enumerate(frame.itertuples()):  # by hand: the mini-batch mean of the examples
        dW = sum(g[k][0] for g in per_example) / 4
        db = sum(g[k][1] for g in per_example) / 4
        delta = np.hstack([g[k][2] for g in per_example]) / 4  # dL/dz of the mean loss
        a = np.hstack([g[k][4] for g in per_example])
        assert row.grad_norm == pytest.approx(np.sqrt(np.sum(dW**2)), rel=1e-12)
        assert row.grad_max_abs == pytest.approx(np.abs(dW).max(), rel=1e-12)
        assert row.bias_grad_norm == pytest.approx(np.linalg.norm(db), rel=1e-12)
        assert row.delta_norm == pytest.approx(np.linalg.norm(delta), rel=1e-12)
        assert row.weight_norm == pytest.approx(np.linalg.norm(Ws[k]), rel=1e-12)
        assert row.act_mean == pytest.approx(a.mean(), rel=1e-12)
        assert row.act_std == pytest.approx(a.std(), rel=1e-10)
        assert row.saturated_frac == pytest.approx(np.mean(a * (1 - a) < 0.0025))
        last_only = np.linalg.norm(per_example[-1][k][0])
        assert row.grad_norm != pytest.approx(last_only)  # not the last example's gradient


def batched(rec: GradientRecorder, W1, b1, W2, b2, x, t, step: int = 0) -> None:
    """The same 2-layer net, x as rows, W as (in, out): the reference layout."""
    z1 = x @ W1 + b1
    h = np.tanh(z1)
    y = h @ W2 + b2
    dy = 2 * (y - t) / y.size
    dz1 = (dy @ W2.T) * (1 - h * h)
    rec.log(step, "hidden", grad=x.T @ dz1, bias_grad=dz1.sum(0), delta=dz1, weight=W1,
            preactivation=z1, activation_fn="tanh")
    rec.log(step, "out", grad=h.T @ dy, bias_grad=dy.sum(0), delta=dy, weight=W2, activation=y)


@pytest.mark.parametrize("accumulate", ["mean", "sum"])
def test_per_example_logs_accumulate_into_the_mini_batch(accumulate: str,
                                                         rng: np.random.Generator) -> None:
    W1, b1, W2, b2 = (rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=(6, 2)),
                      rng.normal(size=2))
    x, t = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    whole = GradientRecorder(hist=True)
    batched(whole, W1, b1, W2 * 1.0, b2, x, t)
    per = GradientRecorder(accumulate=accumulate, hist=True)
    for i in range(5):  # one log per example, output layer first, 1-D per-example arrays
        xi, ti = x[i], t[i]
        z1 = xi @ W1 + b1
        h = np.tanh(z1)
        y = h @ W2 + b2
        dy = 2 * (y - ti) / y.size  # dL_i/dy of example i's loss
        dz1 = (dy @ W2.T) * (1 - h * h)
        per.log(0, "out", grad=np.outer(h, dy), bias_grad=dy, delta=dy, weight=W2,
                activation=y)
        per.log(0, "hidden", grad=np.outer(xi, dz1), bias_grad=dz1, delta=dz1, weight=W1,
                preactivation=z1, activation_fn="tanh")
    a, b = whole.to_frame(), per.to_frame()
    assert b["name"].tolist() == ["hidden", "out"]
    if accumulate == "mean":
        pd.testing.assert_frame_equal(a, b, rtol=1e-12)
        totals = [r.hist_frame().groupby(["layer", "quantity"])["count"].sum()
                  for r in (whole, per)]
        pd.testing.assert_series_equal(*totals)
    else:  # summed gradients of the per-example losses: 5 × the mean's, delta as logged
        for col in ("grad_norm", "bias_grad_norm", "grad_max_abs"):
            np.testing.assert_allclose(b[col], 5 * a[col], rtol=1e-12)
        np.testing.assert_allclose(b["delta_norm"], 5 * a["delta_norm"], rtol=1e-12)
        np.testing.assert_allclose(b["act_mean"], a["act_mean"], rtol=1e-12)


def test_layer_order_is_declared_or_read_from_the_shapes_never_reversed(
    rng: np.random.Generator,
) -> None:
    W = {"in": rng.normal(size=(3, 8)), "mid": rng.normal(size=(8, 8)),
         "out": rng.normal(size=(8, 2))}
    undeclared = GradientRecorder()
    for name in ("out", "mid", "in"):  # backprop order
        undeclared.log(0, name, weight=W[name])
    assert undeclared.to_frame()["name"].tolist() == ["in", "mid", "out"]
    declared = GradientRecorder(layers=["in", "mid", "out"])
    for name in ("out", "in", "mid"):
        declared.log(0, name, grad=W[name])
    assert declared.to_frame()["name"].tolist() == ["in", "mid", "out"]
    with pytest.raises(ConfigError, match='Did you mean "mid"'):
        declared.log(0, "midd", grad=W["mid"])
    ambiguous = GradientRecorder()
    for name in ("out", "mid2", "mid", "in"):
        ambiguous.log(0, name, weight=W.get(name, W["mid"]))
    with pytest.raises(ConfigError, match=r"more than one order.*layers=\["):
        ambiguous.to_frame()
    no_chain = GradientRecorder()
    no_chain.log(0, "a", weight=np.ones((3, 4)))
    no_chain.log(0, "b", weight=np.ones((5, 6)))
    with pytest.raises(ConfigError, match="no order chains"):
        no_chain.hist_frame()
    unknown = GradientRecorder()
    unknown.log(0, "a", weight=np.ones((3, 4)))
    unknown.log(0, "b", delta=np.ones((5, 6)))
    with pytest.raises(ConfigError, match=r"no W-shaped array.*\['b'\]"):
        unknown.to_frame()
    with pytest.raises(ConfigError, match="distinct"):
        GradientRecorder(layers=["a", "a"])


def test_vanishing_textbook_net_logged_output_first_is_diagnosed_vanishing(
    rng: np.random.Generator,
) -> None:
    sizes = [8] + [16, 15, 14, 13, 12, 11, 10, 9] + [2]  # distinct widths: an unambiguous chain
    Ws, bs = textbook_net(rng, sizes)
    rec = GradientRecorder(weight_layout="out_in", batch_axis=1)
    x, y = rng.normal(size=(8, 32)), rng.uniform(size=(2, 32))
    grads = textbook_backprop(Ws, [b * np.ones((1, 32)) for b in bs], x, y)
    for k, (dW, db, delta, _, a) in zip(reversed(range(len(Ws))), grads, strict=False):
        rec.log(0, f"L{k}", grad=dW, bias_grad=db.sum(1), delta=delta, weight=Ws[k],
                activation=a)
    frame = rec.to_frame()
    assert frame["name"].tolist() == [f"L{k}" for k in range(len(Ws))]
    assert frame["delta_norm"].iloc[0] < frame["delta_norm"].iloc[-1] / 100
    assert diagnose(frame).label == "vanishing"


def test_layouts_are_declared_once_and_shape_errors_name_the_fix(
    rng: np.random.Generator,
) -> None:
    W = rng.normal(size=(3, 5))  # PyTorch-style (fan_out=3, fan_in=5)
    rec = GradientRecorder(weight_layout="out_in")
    rec.log(0, 0, weight=W, delta=rng.normal(size=(4, 3)), bias_grad=np.ones((3, 1)))
    row = rec.to_frame().iloc[0]
    assert (row.fan_in, row.fan_out) == (5, 3)
    plain = GradientRecorder()
    with pytest.raises(ShapeError, match=r"pass W\.T.*weight_layout='out_in'"):
        plain.log(0, 0, weight=W, delta=rng.normal(size=(4, 3)))
    with pytest.raises(ShapeError, match="batch_axis=1"):
        plain.log(0, 0, weight=W.T, delta=rng.normal(size=(3, 4)))
    plain.log(0, 0, weight=W.T)
    with pytest.raises(ShapeError, match=r"look transposed: pass W\.T"):
        plain.log(1, 0, grad=W)
    cols = GradientRecorder(batch_axis=1)
    a = rng.uniform(-1, 1, size=(3, 6))  # (fan_out, batch)
    cols.log(0, 0, weight=W.T, preactivation=a, activation_fn="relu")
    rows = GradientRecorder()
    rows.log(0, 0, weight=W.T, preactivation=a.T, activation_fn="relu")
    pd.testing.assert_frame_equal(cols.to_frame(), rows.to_frame())
    for bad in ({"weight_layout": "oi"}, {"batch_axis": 2}, {"accumulate": "max"}):
        with pytest.raises(ConfigError, match="Choose one of"):
            GradientRecorder(**bad)


def test_empty_logs_negative_steps_and_reopened_steps_are_errors() -> None:
    rec = GradientRecorder()
    with pytest.raises(ConfigError, match="got no array"):
        rec.log(0, 0)
    with pytest.raises(ConfigError, match=r"step.*≥ 0"):
        rec.log(-1, 0, grad=np.ones((2, 2)))
    with pytest.raises(ConfigError, match="whole number"):
        rec.log(1.5, 0, grad=np.ones((2, 2)))
    assert rec.to_frame().empty  # no NaN row was added
    rec.log(0, 0, grad=np.ones((2, 2)))
    rec.log(1, 0, grad=np.ones((2, 2)))
    with pytest.raises(ConfigError, match="complete"):
        rec.log(0, 0, grad=np.ones((2, 2)))
    rec.log(0, 0, weight=np.ones((2, 2)))  # another quantity of step 0 still merges
    assert rec.to_frame()["weight_norm"].tolist()[0] == 2.0
    rec.log(2, 0, update=0.5)
    with pytest.raises(ConfigError, match="scalar update"):
        rec.log(2, 0, update=0.5)
    with pytest.raises(ConfigError, match="every must be a whole number ≥ 1"):
        GradientRecorder(every=0)


class Swish(Layer):
    """A user's activation following the protocol: saturated where |z| > 6."""

    kind = "activation"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = x
        return x * sigmoid(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = sigmoid(self._z)
        return grad_out * (s + self._z * s * (1 - s))

    def saturated(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.abs(z) > 6


class Unrecognised(Layer):
    """A user's nonlinearity that follows no protocol (kind "layer", no mask methods)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sin(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


class Masks:
    """Not a Layer at all: an activation described only by the protocol's methods."""

    def inactive(self, z: np.ndarray) -> np.ndarray:
        return z < -1


def test_custom_activations_by_protocol_and_no_borrowed_statistics(
    rng: np.random.Generator,
) -> None:
    x = rng.normal(size=(6, 4)) * 5
    net = Sequential([Dense(4, 8, rng=rng), Swish(), Dense(8, 8, rng=rng), Unrecognised(),
                      Dense(8, 2, rng=rng)])
    seen = {}
    net[0].register_forward_hook(lambda lay, inp, out: seen.__setitem__("z0", out))
    net[2].register_forward_hook(lambda lay, inp, out: seen.__setitem__("z2", out))
    rec = GradientRecorder(net)
    net.backward(net.forward(x) / 12)
    frame = rec.to_frame()
    assert frame.loc[0, "saturated_frac"] == pytest.approx(np.mean(np.abs(seen["z0"]) > 6))
    assert 0 < frame.loc[0, "saturated_frac"] < 1
    assert np.isnan(frame.loc[0, "dead_frac"])  # Swish has no inactive(): not measured
    # the unrecognised layer: its Dense reports its own output and no fractions
    assert frame.loc[1, "act_mean"] == pytest.approx(seen["z2"].mean())
    assert np.isnan(frame.loc[1, "saturated_frac"]) and np.isnan(frame.loc[1, "dead_frac"])
    z = rng.normal(size=(5, 3)) * 2
    logged = GradientRecorder()
    logged.log(0, 0, preactivation=z, activation=np.maximum(z, -1), activation_fn=Masks())
    assert logged.to_frame().loc[0, "dead_frac"] == pytest.approx(np.mean((z < -1).all(0)))
    with pytest.raises(ConfigError, match="saturated"):
        logged.log(0, 1, preactivation=z, activation_fn=Unrecognised())
