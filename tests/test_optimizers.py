"""Optimisers: update rules against hand computations, clipping, update norms, state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradscope import Dense, Sequential
from gradscope.core.errors import ConfigError
from gradscope.training.optimizers import OPTIMIZERS, global_grad_norm, make_optimizer, stable_norm


def _net(w: list[float], b: float = 0.0) -> Dense:
    """A Dense(2, 1) layer with weights `w` and bias `b`."""
    layer = Dense(2, 1, seed=0)
    layer.params["W"][:] = np.array(w).reshape(2, 1)
    layer.params["b"][:] = b
    return layer


def _set_grads(layer: Dense, gw: list[float], gb: float) -> None:
    layer.grads = {"W": np.array(gw, dtype=float).reshape(2, 1), "b": np.array([gb])}


def test_sgd_rule() -> None:
    net = _net([1.0, -1.0], 0.5)
    _set_grads(net, [0.2, -0.4], 1.0)
    make_optimizer("sgd", 0.1).step(net)
    np.testing.assert_allclose(net.params["W"].ravel(), [1.0 - 0.02, -1.0 + 0.04])
    np.testing.assert_allclose(net.params["b"], [0.5 - 0.1])


def test_momentum_rule_pytorch_convention() -> None:
    net = _net([1.0, 1.0])
    opt = make_optimizer("momentum", 0.1)
    _set_grads(net, [1.0, 2.0], 0.0)
    opt.step(net)  # v = g = (1, 2); W = 1 − 0.1 v
    np.testing.assert_allclose(net.params["W"].ravel(), [0.9, 0.8])
    _set_grads(net, [-1.0, 0.0], 0.0)
    opt.step(net)  # v = 0.9 (1, 2) + (−1, 0) = (−0.1, 1.8)
    np.testing.assert_allclose(net.params["W"].ravel(), [0.9 + 0.01, 0.8 - 0.18])


def test_adam_rule_pytorch_defaults() -> None:
    net = _net([0.0, 0.0])
    opt = make_optimizer("adam", 0.01)
    _set_grads(net, [0.5, -2.0], 0.0)
    opt.step(net)  # bias-corrected first step: m̂ = g, v̂ = g², update = lr · g / (|g| + ε)
    np.testing.assert_allclose(net.params["W"].ravel(), [-0.01, 0.01], rtol=1e-7)
    _set_grads(net, [1.0, -2.0], 0.0)
    opt.step(net)
    g1, g2 = np.array([0.5, -2.0]), np.array([1.0, -2.0])
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1**2) + 0.001 * g2**2
    step2 = 0.01 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    w1 = -0.01 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(net.params["W"].ravel(), w1 - step2, rtol=1e-12)
    np.testing.assert_allclose(net.params["b"], [0.0])  # zero gradient: no move


@pytest.mark.parametrize("name", OPTIMIZERS.names(), ids=OPTIMIZERS.names())
def test_returned_norms_equal_the_actual_change(name: str) -> None:
    rng = np.random.default_rng(0)
    net = Sequential([Dense(3, 4, rng=rng), Dense(4, 2, rng=rng)])
    opt = make_optimizer(name, 0.05)
    for _ in range(3):
        before = {(id(layer), key): p.copy() for layer, key, p in net.parameters()}
        for layer in net.layers:
            layer.grads = {k: rng.standard_normal(p.shape) for k, p in layer.params.items()}
        norms = opt.step(net)
        assert set(norms) == set(before)
        for layer, key, p in net.parameters():
            actual = np.linalg.norm(p - before[(id(layer), key)])
            assert norms[(id(layer), key)] == pytest.approx(actual, rel=1e-9)


def test_clipping_scales_the_global_norm_to_clip() -> None:
    net = _net([0.0, 0.0])
    _set_grads(net, [3.0, 0.0], 4.0)  # global norm 5
    assert global_grad_norm(net) == pytest.approx(5.0)
    norms = make_optimizer("sgd", 1.0, clip=2.0).step(net)
    assert math.hypot(*norms.values()) == pytest.approx(2.0)
    np.testing.assert_allclose(net.params["W"].ravel(), [-1.2, 0.0])
    np.testing.assert_allclose(net.params["b"], [-1.6])
    np.testing.assert_allclose(net.grads["W"].ravel(), [3.0, 0.0])  # grads left as they were


def test_clipping_leaves_small_gradients_alone() -> None:
    net = _net([0.0, 0.0])
    _set_grads(net, [0.3, 0.0], 0.4)
    make_optimizer("sgd", 1.0, clip=2.0).step(net)
    np.testing.assert_allclose(net.params["W"].ravel(), [-0.3, 0.0])


def test_state_is_per_parameter_array() -> None:
    a, b = _net([1.0, 1.0]), _net([1.0, 1.0])
    net = Sequential([a, Dense(1, 2, seed=0), b])
    opt = make_optimizer("momentum", 1.0)
    for layer in net.layers:
        layer.grads = {k: np.ones_like(p) for k, p in layer.params.items()}
    opt.step(net)
    b.grads = {k: np.zeros_like(p) for k, p in b.params.items()}
    opt.step(net)  # a: v = 1.9, b: v = 0.9 (its own velocity, not a's)
    np.testing.assert_allclose(a.params["W"].ravel(), [1 - 1 - 1.9] * 2)
    np.testing.assert_allclose(b.params["W"].ravel(), [1 - 1 - 0.9] * 2)
    b.params["W"] = np.zeros((2, 1))  # a new array starts with fresh state
    b.grads["W"] = np.ones((2, 1))
    opt.step(net)
    np.testing.assert_allclose(b.params["W"].ravel(), [-1.0, -1.0])


def test_global_norm_of_huge_and_tiny_gradients() -> None:
    net = _net([0.0, 0.0])
    _set_grads(net, [1e200, 1e200], 0.0)
    with np.errstate(all="raise"):
        assert global_grad_norm(net) == pytest.approx(math.sqrt(2) * 1e200)
    _set_grads(net, [3e-200, 4e-200], 0.0)  # a vanishing gradient is measured, not zero
    assert global_grad_norm(net) == pytest.approx(5e-200)
    assert math.isnan(stable_norm([np.array([1.0, np.nan])]))
    assert stable_norm([np.array([1.0, -np.inf])]) == math.inf
    assert stable_norm([np.zeros(3), np.array([])]) == 0.0


def test_step_before_backward_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="backward"):
        make_optimizer("sgd", 0.1).step(Dense(2, 2, seed=0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "sgdd", "lr": 0.1}, 'Did you mean "sgd"'),
        ({"name": "sgd", "lr": 0.0}, "lr"),
        ({"name": "adam", "lr": float("nan")}, "lr"),
        ({"name": "sgd", "lr": 0.1, "clip": -1}, "clip"),
    ],
    ids=["unknown-name", "zero-lr", "nan-lr", "negative-clip"],
)
def test_make_optimizer_rejects_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_optimizer(**kwargs)
