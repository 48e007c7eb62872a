"""Losses: finite-difference gradients, known values, stability, targets and accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradscope.core.errors import ConfigError, ShapeError
from gradscope.training.losses import LOSSES, loss


def _case(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random (output, target) pair of the kind loss `name` takes."""
    if name == "mse":
        return rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    if name == "cross_entropy":
        return rng.standard_normal((6, 4)) * 3, rng.integers(0, 4, 6)
    return rng.standard_normal((7, 1)) * 3, rng.integers(0, 2, 7).astype(float)


@pytest.mark.parametrize("name", LOSSES.names(), ids=LOSSES.names())
def test_grad_output_matches_finite_differences(name: str) -> None:
    out, target = _case(name, np.random.default_rng(0))
    fn = loss(name)
    with np.errstate(all="raise"):
        _, grad = fn(out, target)
        numeric = np.zeros_like(out)
        h = 1e-6
        for i in np.ndindex(out.shape):  # tiny arrays: one central difference per entry
            plus, minus = out.copy(), out.copy()
            plus[i] += h
            minus[i] -= h
            numeric[i] = (fn(plus, target)[0] - fn(minus, target)[0]) / (2 * h)
    rel = np.abs(numeric - grad).max() / np.abs(grad).max()
    assert rel < 1e-6


def test_mse_known_value_and_grad() -> None:
    out, target = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [1.0, 4.0]])
    value, grad = loss("mse")(out, target)
    assert value == pytest.approx((1 + 0 + 4 + 0) / 4)
    np.testing.assert_allclose(grad, [[0.5, 0.0], [1.0, 0.0]])  # 2 (o − t) / 4


def test_mse_refuses_silent_broadcasting() -> None:
    with pytest.raises(ShapeError, match="does not match"):
        loss("mse")(np.zeros((4, 1)), np.zeros(3))


@pytest.mark.parametrize("k", [2, 3, 10])
def test_cross_entropy_of_uniform_logits_is_log_k(k: int) -> None:
    value, grad = loss("cross_entropy")(np.zeros((4, k)), np.array([0, 1, 0, 1]))
    assert value == pytest.approx(math.log(k))
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)


def test_bce_of_zero_logit_is_log_2() -> None:
    value, grad = loss("bce")(np.zeros((2, 1)), np.array([0.0, 1.0]))
    assert value == pytest.approx(math.log(2))
    np.testing.assert_allclose(grad, [[0.25], [-0.25]])  # (σ(0) − t) / 2


def test_huge_logits_stay_finite() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        v1, g1 = loss("cross_entropy")(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1]))
        v2, g2 = loss("bce")(np.array([[1e4], [-1e4]]), np.array([0.0, 0.0]))
    assert v1 == pytest.approx(1e4) and v2 == pytest.approx(5e3)
    assert np.all(np.isfinite(g1)) and np.all(np.isfinite(g2))


def test_accuracy() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    assert loss("cross_entropy").accuracy(logits, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert loss("bce").accuracy(np.array([[1.0], [-1.0]]), np.array([1, 1])) == 0.5
    assert loss("mse").accuracy(logits, np.array([0, 1, 0])) == 1.0  # argmax on class labels
    assert math.isnan(loss("mse").accuracy(logits[:, :1], np.array([[0.3], [0.1], [2.0]])))


def test_prepare_target() -> None:
    np.testing.assert_array_equal(loss("mse").prepare_target(np.array([0, 2]), 3),
                                  [[1, 0, 0], [0, 0, 1]])
    assert loss("mse").prepare_target(np.array([0.5, 1.5]), 1).shape == (2, 1)
    assert loss("bce").prepare_target(np.array([0, 1, 1]), 1).shape == (3, 1)
    labels = loss("cross_entropy").prepare_target(np.array([0.0, 2.0]), 3)
    assert labels.dtype == np.int64


@pytest.mark.parametrize(
    ("name", "y", "out_dim", "match"),
    [
        ("cross_entropy", np.array([0, 1, 2]), 1, "out_dim must be 3"),
        ("cross_entropy", np.array([0.5, 1.0]), 2, "integer class labels"),
        ("bce", np.array([0, 1]), 2, "ONE output unit"),
        ("bce", np.array([0, 2]), 1, "0/1 targets"),
        ("mse", np.ones((3, 2)), 1, "2 column"),
        ("mse", np.array([0, 1, 2]), 1, "out_dim = 3"),
    ],
    ids=["ce-too-few-outputs", "ce-float-labels", "bce-two-outputs", "bce-three-classes",
         "mse-width", "mse-three-classes-one-output"],
)
def test_prepare_target_rejects_mismatches(name: str, y: np.ndarray, out_dim: int,
                                           match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        loss(name).prepare_target(y, out_dim)


def test_unknown_loss_suggests_a_name() -> None:
    with pytest.raises(ConfigError, match='Did you mean "mse"'):
        loss("mae")
