"""The hot-path shortcuts of the training step equal the reference computations bit for bit:
the batched global gradient norm, gradients written into given buffers, the fused activation
derivatives, one errstate per run, and the hook-free layer call."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.layers import Dense
from gradscope.nn.mlp import mlp
from gradscope.training.grad_norm import GradNorm
from gradscope.training.loop import _batches, train
from gradscope.training.losses import loss as get_loss
from gradscope.training.optimizers import global_grad_norm, make_optimizer


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality (nan payloads and the sign of zero included)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _backward(net, rng: np.random.Generator, in_dim: int, scale: float = 1.0, *,
              prepare: GradNorm | None = None) -> None:
    x = rng.standard_normal((16, in_dim)) * scale
    with np.errstate(all="ignore"):
        out = net.forward(x.astype(net.layers[0].params["W"].dtype))
        if prepare is not None:
            prepare.prepare()
        net.backward(np.ones_like(out) * scale)


@pytest.mark.parametrize("kwargs", [
    dict(activation="relu"), dict(activation="tanh", residual=True),
    dict(activation="sigmoid", norm="batchnorm"), dict(activation="relu", dtype="float32"),
    dict(activation="gelu", bias_init="normal:1"),
])
@pytest.mark.parametrize("scale", [1.0, 1e-200, 1e200])
def test_grad_norm_equals_global_grad_norm(kwargs: dict, scale: float) -> None:
    rng = np.random.default_rng(3)
    net = mlp(5, 3, 6, 8, seed=1, **kwargs)
    params = list(net.parameters())
    norm = GradNorm(params)
    for _ in range(3):  # fresh stacks each step; the same result with or without prepare()
        _backward(net, rng, 5, scale, prepare=norm)
        expected = global_grad_norm(net)
        got = norm()
        assert got == expected or (np.isnan(got) and np.isnan(expected))
        _backward(net, rng, 5, scale)
        assert norm() == global_grad_norm(net) or np.isnan(global_grad_norm(net))


def test_grad_norm_uses_the_stacks_and_keeps_old_gradients() -> None:
    rng = np.random.default_rng(0)
    net = mlp(8, 2, 4, 8, seed=0)
    norm = GradNorm(list(net.parameters()))
    _backward(net, rng, 8, prepare=norm)
    first = net.layers[0].grads["W"]
    kept = first.copy()
    assert first.base is not None  # written into the stacked array
    norm()
    _backward(net, rng, 8, prepare=norm)
    assert net.layers[0].grads["W"] is not first
    assert _same(first, kept)  # a gradient the caller kept is never overwritten


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dense_grad_into_matches_plain_backward(dtype: str) -> None:
    rng = np.random.default_rng(1)
    for batch, fan_in, fan_out in [(1, 3, 5), (7, 64, 64), (64, 33, 17), (256, 64, 10)]:
        layer = Dense(fan_in, fan_out, rng=rng, dtype=dtype, bias_init="normal:1")
        x = rng.standard_normal((batch, fan_in)).astype(dtype)
        g = rng.standard_normal((batch, fan_out)).astype(dtype)
        layer.forward(x)
        layer.backward(g)
        ref = {k: v.copy() for k, v in layer.grads.items()}
        w_stack = np.empty((3, fan_in, fan_out), dtype)
        b_stack = np.empty((3, fan_out), dtype)
        layer.grad_into(w_stack[1], b_stack[1])
        layer.forward(x)
        layer.backward(g)
        assert layer.grads["W"].base is w_stack and layer.grads["b"].base is b_stack
        assert _same(layer.grads["W"], ref["W"]) and _same(layer.grads["b"], ref["b"])
        assert _same(w_stack[1], ref["W"]) and _same(b_stack[1], ref["b"])


def test_dense_grad_into_is_ignored_for_another_dtype() -> None:
    layer = Dense(3, 2, seed=0, dtype="float32")
    layer.grad_into(np.empty((3, 2)), np.empty(2))  # float64 buffers, float32 pass
    layer.forward(np.ones((4, 3), np.float32))
    layer.backward(np.ones((4, 2), np.float32))
    assert layer.grads["W"].dtype == np.float32 and layer.grads["W"].base is None


@pytest.mark.parametrize("name", ACTIVATIONS.names())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activation_delta_is_the_reference_product(name: str, dtype: str) -> None:
    act = ACTIVATIONS.get(name)
    rng = np.random.default_rng(2)
    z = np.concatenate([rng.standard_normal(200) * 5, [0.0, -0.0, np.inf, -np.inf, np.nan,
                                                       1e-40, -1e30, 30.0]]).astype(dtype)
    g = np.concatenate([rng.standard_normal(200), [-1.0, 2.0, np.nan, -0.0, 3.0, np.inf,
                                                   -2.0, -1.0]]).astype(dtype)
    z, g = z.reshape(13, 16), g.reshape(13, 16)
    with np.errstate(all="ignore"):
        a = act.fn(z)
        expected = g * act.grad(z, a)
        got = act.delta(g, z, a)
        mixed = act.delta(g.astype(np.float64), z, a)  # g in float64, z in `dtype`
        assert _same(mixed, g.astype(np.float64) * act.grad(z, a))
    assert _same(got, expected)


def _reference_train(net, X, y, steps: int, batch: int, lr: float) -> tuple[list, list, float]:
    """train()'s loop with the reference pieces: an errstate per call, one norm per array."""
    loss_fn, opt = get_loss("mse"), make_optimizer("sgd", lr)
    batches = _batches(len(X), batch, np.random.default_rng(0))
    losses, norms = [], []
    for _ in range(steps):
        idx = next(batches)
        with np.errstate(all="ignore"):
            out = net.forward(X[idx])
            value, grad_out = loss_fn(out, y[idx])
            net.backward(grad_out)
            norms.append(global_grad_norm(net))
        losses.append(value)
        opt.step(net, track=False)
    return losses, norms, loss_fn(net.forward(X), y)[0]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_train_equals_the_reference_loop(activation: str) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((96, 12)), rng.standard_normal((96, 3))
    hist = train(mlp(12, 3, 5, 12, activation, seed=4), (X, y), loss="mse", lr=0.05, steps=15,
                 batch_size=32)
    losses, norms, final = _reference_train(mlp(12, 3, 5, 12, activation, seed=4), X, y,
                                            15, 32, 0.05)
    assert hist.loss.tolist() == losses
    assert hist.grad_global_norm.tolist() == norms
    assert hist.final_loss == final


def test_dense_alone_stays_quiet_under_a_raising_errstate() -> None:
    layer = Dense(2, 2, seed=0)
    layer.params["W"][:] = 1e308
    x = np.array([[1e308, 1e308]])
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = layer.forward(x)
        layer.backward(np.full((1, 2), np.inf))
    assert np.isinf(out).all()


@pytest.mark.parametrize("name", ["cross_entropy", "mse", "bce"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stacked_loss_and_accuracy_equal_each_member_alone(name: str, dtype: str) -> None:
    rng = np.random.default_rng(5)
    fn = get_loss(name)
    units = 1 if name == "bce" else 4
    outputs = (rng.standard_normal((6, 37, units)) * 10.0 ** rng.integers(-3, 4, (6, 1, 1)))
    outputs = outputs.astype(dtype)
    outputs[2, 3, 0] = np.nan  # a diverged member
    outputs[4, 5, 0] = 1e30
    ys = rng.integers(0, 2 if name == "bce" else units, (6, 37))
    targets = np.stack([fn.prepare_target(y, units) for y in ys])
    if targets.dtype.kind == "f":
        targets = targets.astype(dtype)
    with np.errstate(all="ignore"):
        values, grads = fn.stacked(outputs, targets)
        accs = fn.stacked_accuracy(outputs, ys)
        for e in range(len(outputs)):
            value, grad = fn(outputs[e], targets[e])
            assert _same(np.float64(value), values[e]) or (np.isnan(value) and np.isnan(values[e]))
            assert _same(grad, grads[e])
            assert accs[e] == fn.accuracy(outputs[e], ys[e])
