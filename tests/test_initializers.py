"""Initialisers: variances, the `name:param` syntax, orthogonality, errors, no global RNG."""

from __future__ import annotations

import numpy as np
import pytest

from gradscope import INITIALIZERS, ConfigError, initialize, mlp

FAN_IN, FAN_OUT = 400, 200
EXPECTED_VAR = {
    "normal": 0.01**2,
    "uniform": 0.05**2 / 3,
    "xavier": 2 / (FAN_IN + FAN_OUT),
    "xavier_uniform": 2 / (FAN_IN + FAN_OUT),
    "xavier_normal": 2 / (FAN_IN + FAN_OUT),
    "he": 2 / FAN_IN,
    "he_normal": 2 / FAN_IN,
    "he_uniform": 2 / FAN_IN,
    "lecun": 1 / FAN_IN,
    "variance_scaling": 1 / FAN_IN,
    "orthogonal": 1 / FAN_IN,  # rows ≥ cols: orthonormal columns, entries of variance 1/rows
    "glorot2010": 1 / (3 * FAN_IN),
}


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_variance(name: str) -> None:
    w = initialize(name, (FAN_IN, FAN_OUT), rng=np.random.default_rng(0))
    assert w.shape == (FAN_IN, FAN_OUT) and w.dtype == np.float64
    assert w.var() == pytest.approx(EXPECTED_VAR[name], rel=0.03)
    assert abs(w.mean()) < 4 * np.sqrt(EXPECTED_VAR[name] / w.size)


@pytest.mark.parametrize("spec,var", [("normal:0.5", 0.25), ("uniform:3", 3.0),
                                      ("orthogonal:2", 4 / FAN_IN),
                                      ("variance_scaling:1.76", 1.76 / FAN_IN)])
def test_param_after_colon(spec: str, var: float) -> None:
    w = initialize(spec, (FAN_IN, FAN_OUT), rng=np.random.default_rng(0))
    assert w.var() == pytest.approx(var, rel=0.03)


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (30, 30)])
def test_orthogonal_is_orthogonal(shape: tuple[int, int]) -> None:
    w = initialize("orthogonal", shape, rng=np.random.default_rng(1))
    small = min(shape)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_glorot2010_is_bounded_by_one_over_sqrt_fan_in() -> None:
    w = initialize("glorot2010", (100, 50), rng=np.random.default_rng(0))
    assert np.abs(w).max() <= 0.1 and np.abs(w).max() > 0.099


@pytest.mark.parametrize(
    "spec,match",
    [("nromal", 'Did you mean "normal"'), ("normal:abc", "must be a number"),
     ("he:2", "takes no parameter"), ("normal:-1", "positive"), ("", "Valid choices")],
)
def test_bad_specs_get_clear_errors(spec: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        initialize(spec, (2, 2), rng=np.random.default_rng(0))


def test_same_rng_seed_same_weights_and_no_global_state() -> None:
    np.random.seed(123)  # noqa: NPY002 (the legacy global RNG must stay untouched)
    expected = np.random.random(4)  # noqa: NPY002 (what the next draws would be)
    np.random.seed(123)  # noqa: NPY002
    a = initialize("he", (5, 5), rng=np.random.default_rng(3))
    b = initialize("he", (5, 5), rng=np.random.default_rng(3))
    mlp(3, 2, depth=3, width=8, init="orthogonal", seed=0)
    np.testing.assert_array_equal(a, b)
    # the next draws of the global RNG are unchanged (a single draw anywhere would shift them;
    # comparing only the MT19937 key array would not notice, the key changes every 624 draws)
    np.testing.assert_array_equal(np.random.random(4), expected)  # noqa: NPY002


def test_float32() -> None:
    w = initialize("xavier", (4, 4), rng=np.random.default_rng(0), dtype="float32")
    assert w.dtype == np.float32
