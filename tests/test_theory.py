"""Mean-field theory: known values, quadrature convergence, and prediction against measurement."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from gradscope import INITIALIZERS, initialize, mlp
from gradscope.cli import main
from gradscope.core.errors import ConfigError
from gradscope.nn.activations import ACTIVATIONS
from gradscope.theory import (
    chi1,
    critical_sigma_w2,
    depth_scale,
    fixed_point,
    gh_expectation,
    moments,
    predict,
    sigma_w2_of,
    sinh_expectation,
)
from gradscope.theory.moments import Moments


# -- known values -------------------------------------------------------------------------------
def _sigmoid_xavier_fixed_point() -> tuple[float, float]:
    """(q*, χ₁) of sigmoid + xavier on a square net, computed here with numpy alone:
    q* = E[sigmoid(√q* z)²] (σ_w² = 1, σ_b² = 0) by fixed-point iteration, then
    χ₁ = E[sigmoid'(√q* z)²], both by 200-point Gauss–Hermite quadrature."""
    z, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    q = 1.0
    for _ in range(500):
        q = float(np.sum(w / (1.0 + np.exp(-np.sqrt(q) * z)) ** 2))
    s = 1.0 / (1.0 + np.exp(-np.sqrt(q) * z))
    return q, float(np.sum(w * (s * (1.0 - s)) ** 2))


@pytest.mark.parametrize(("activation", "init", "expected"), [
    ("relu", "he", 1.0),  # σ_w² = 2, E[φ'²] = 1/2
    ("relu", "xavier", 0.5),  # σ_w² = 1
    ("sigmoid", "xavier", None),  # the quadrature above
    ("linear", "lecun", 1.0),
], ids=["relu+he", "relu+xavier", "sigmoid+xavier", "linear+lecun"])
def test_known_chi1(activation, init, expected):
    p = predict(activation, init=init, width=256)
    if expected is None:
        q_star, expected = _sigmoid_xavier_fixed_point()
        assert p.q_star == pytest.approx(q_star, rel=1e-8)
    assert p.chi1 == pytest.approx(expected, rel=1e-8)


def test_tanh_critical_line_at_sigma_b2_005():
    assert critical_sigma_w2("tanh", 0.05) == pytest.approx(1.76, abs=0.02)


def test_relu_critical_is_two_and_depth_scale_infinite_there():
    assert critical_sigma_w2("relu", 0.0) == pytest.approx(2.0, rel=1e-8)
    assert math.isinf(depth_scale(1.0))
    assert depth_scale(math.exp(-0.5)) == pytest.approx(2.0)
    assert depth_scale(math.exp(0.5)) == pytest.approx(-2.0)


def test_relu_length_map_closed_form():
    m = moments("relu")
    assert fixed_point(m, 1.0, 0.3) == pytest.approx(0.3 / (1 - 0.5))
    assert math.isinf(fixed_point(m, 3.0, 0.0))
    assert fixed_point(m, 2.0, 0.0, q0=1.7) == 1.7  # marginal: every q is a fixed point


def test_sigmoid_fixed_point_counts_the_mean():
    m = moments("sigmoid")
    q = fixed_point(m, 1.0, 0.0)
    assert q == pytest.approx(float(m.second(q)), rel=1e-10)
    assert q > 0.25  # E[σ(h)²] ≥ E[σ(h)]² = 1/4: the mean of the activations keeps q* away from 0


# -- quadrature ---------------------------------------------------------------------------------
SMOOTH = [name for name in ACTIVATIONS.names() if ACTIVATIONS.get(name).family != "relu"]


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("q", [0.05, 0.5, 1.0])
def test_gauss_hermite_converges_n_vs_2n(activation, q):
    act = ACTIVATIONS.get(activation)
    f = lambda h: act.grad(h, act.fn(h)) ** 2  # noqa: E731
    assert gh_expectation(f, q, n=100) == pytest.approx(gh_expectation(f, q, n=200), rel=1e-6)


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("q", [0.5, 2.0, 40.0, 1e4, 1e10])
def test_mapped_rule_converges_and_agrees_with_gauss_hermite(activation, q):
    act = ACTIVATIONS.get(activation)
    for f in (lambda h: act.grad(h, act.fn(h)) ** 2, lambda h: act.fn(h) ** 2 / (1 + q)):
        fine = sinh_expectation(f, q, n=3201)
        assert sinh_expectation(f, q, n=1601) == pytest.approx(fine, rel=1e-6)
        if q <= 2.0:
            assert gh_expectation(f, q) == pytest.approx(fine, rel=1e-6)


@pytest.mark.parametrize("q", [0.05, 2.0, 1e6])
def test_kinked_rule_for_elu(q):
    act = ACTIVATIONS.get("elu")
    m = Moments(act)
    f = lambda h: act.grad(h, act.fn(h)) ** 2  # noqa: E731
    very_fine = sinh_expectation(f, q, n=25601)  # O(dt²): ~6e-9 off
    assert float(m.deriv2(q)) == pytest.approx(very_fine, rel=2e-8)
    assert abs(gh_expectation(f, min(q, 2.0)) / very_fine - 1) > 1e-4  # why GH is not used


def test_gauss_hermite_fails_at_large_q_which_is_why_it_is_not_used_there():
    f = lambda h: (1 - np.tanh(h) ** 2) ** 2  # noqa: E731
    assert abs(gh_expectation(f, 100.0) / sinh_expectation(f, 100.0) - 1) > 0.3


PIECEWISE_LINEAR = [n for n in ACTIVATIONS.names() if ACTIVATIONS.get(n).negative_slope is not None]


def test_the_piecewise_linear_activations_declare_their_slope():
    assert PIECEWISE_LINEAR == ["relu", "leaky_relu", "linear"]
    assert moments("leaky_relu").slope == ACTIVATIONS.get("leaky_relu").negative_slope == 0.01


@pytest.mark.parametrize("name", PIECEWISE_LINEAR)
def test_closed_forms_match_quadrature(name):
    closed, quad = moments(name), Moments(ACTIVATIONS.get(name))
    assert closed.slope == ACTIVATIONS.get(name).negative_slope  # read, not copied
    for q in (0.3, 5.0):
        assert float(closed.second(q)) == pytest.approx(float(quad.second(q)), rel=1e-6)
        # φ' jumps at 0: the symmetric Gauss–Hermite nodes (none at 0) give P(h > 0) = 1/2 exactly
        assert float(closed.deriv2(q)) == pytest.approx(
            float(gh_expectation(lambda h: quad.act.grad(h, quad.act.fn(h)) ** 2, q)), rel=1e-9)
        assert float(closed.mean(q)) == pytest.approx(float(quad.mean(q)), rel=1e-7)


# -- initialiser variances ----------------------------------------------------------------------
@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_every_initialiser_declares_the_variance_it_draws_with(name):
    """σ_w² comes from the registry entry itself (no copy of its defaults in the theory)."""
    W = initialize(name, (300, 200), rng=np.random.default_rng(0))
    assert float((W**2).mean()) * 300 == pytest.approx(sigma_w2_of(name, 300, 200), rel=0.03)


@pytest.mark.parametrize("spec", ["normal:0.05", "uniform:0.1", "xavier", "xavier_normal", "he",
                                  "he_uniform", "lecun", "glorot2010", "orthogonal:1.5",
                                  "orthogonal"])
@pytest.mark.parametrize("shape", [(300, 300), (400, 200), (200, 400)], ids=str)
def test_sigma_w2_matches_drawn_weights(spec, shape):
    W = initialize(spec, shape, rng=np.random.default_rng(0))
    measured = float((W**2).mean()) * shape[0]
    assert measured == pytest.approx(sigma_w2_of(spec, *shape), rel=0.03)


def test_named_values():
    assert sigma_w2_of("glorot2010", 100, 100) == pytest.approx(1 / 3)
    assert sigma_w2_of("xavier", 100, 100) == 1.0
    assert sigma_w2_of("normal:0.1", 100, 7) == pytest.approx(1.0)


# -- measured against predicted -----------------------------------------------------------------
def measured_ratios(activation, init, norm=None, residual=False, depth=10, width=512, batch=256):
    """‖δ_l‖²/‖δ_{l+1}‖² for l = 0..depth−1, δ at the Dense outputs, via backward hooks."""
    net = mlp(width, width, depth, width, activation, init, norm=norm, residual=residual, seed=0)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((batch, width))
    dense = [layer for _, layer in net.named_layers() if layer.kind == "dense"]
    sq: dict[int, float] = {}
    handles = [
        d.register_backward_hook(
            lambda layer, gi, go, i=i: sq.__setitem__(i, float((go[0] ** 2).sum())))
        for i, d in enumerate(dense)
    ]
    out = net.forward(X)
    net.backward(rng.standard_normal(out.shape))
    for h in handles:
        h.remove()
    return np.array([sq[i] / sq[i + 1] for i in range(depth)])


@pytest.mark.parametrize(("activation", "init", "norm", "residual"), [
    ("sigmoid", "xavier", "none", False),
    ("tanh", "xavier", "none", False),
    ("relu", "he", "none", False),
    ("tanh", "normal:0.1", "none", False),
    ("relu", "he", "batchnorm", False),
    ("tanh", "xavier", "batchnorm", False),
    ("sigmoid", "xavier", "layernorm", False),
    ("tanh", "xavier", "none", True),
    ("relu", "he", "none", True),
], ids=lambda v: str(v))
def test_prediction_matches_measured_per_layer_ratio(activation, init, norm, residual):
    r = measured_ratios(activation, init, None if norm == "none" else norm, residual)
    p = predict(activation, init=init, depth=10, width=512, norm=norm, residual=residual)
    measured = float(np.exp(np.log(r).mean()))
    assert measured == pytest.approx(p.per_layer_ratio, rel=0.05)


def test_batchnorm_relu_rate_is_pi_over_pi_minus_one():
    p = predict("relu", init="he", norm="batchnorm")
    assert p.chi1 == pytest.approx(math.pi / (math.pi - 1))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "elu", "softplus"])
def test_batchnorm_explodes_for_every_nonlinearity(activation):
    assert predict(activation, init="he", norm="batchnorm").chi1 > 1.0  # Gaussian Poincaré


def test_squared_and_norm_ratios_are_consistent():
    p = predict("tanh", sigma_w2=1.5, sigma_b2=0.1, depth=7)
    assert p.per_layer_norm_ratio == pytest.approx(math.sqrt(p.per_layer_ratio))
    assert p.total_ratio == pytest.approx(np.prod([r.ratio for r in p.layers]))
    assert p.total_norm_ratio == pytest.approx(math.sqrt(p.total_ratio))
    assert p.layers[0].q == pytest.approx(1.5 * 1.0 + 0.1)  # q^1 from unit-variance inputs
    assert chi1(moments("tanh"), 1.5, 0.1) == pytest.approx(p.chi1)


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"activation": "tanhh", "init": "he"},
    {"activation": "tanh", "init": "hee"},
    {"activation": "tanh", "init": "he", "sigma_w2": 2.0},
    {"activation": "tanh"},
    {"activation": "tanh", "sigma_w2": -1.0},
    {"activation": "tanh", "sigma_w2": 1.0, "sigma_b2": -0.1},
    {"activation": "tanh", "init": "he", "depth": 0},
    {"activation": "tanh", "init": "he", "norm": "batchnorm", "residual": True},
], ids=["activation", "init", "both", "neither", "neg-w", "neg-b", "depth0", "bn+res"])
def test_bad_input_raises_config_error(kwargs):
    with pytest.raises(ConfigError):
        predict(**kwargs)


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_json_has_the_keys():
    res = CliRunner().invoke(main, ["theory", "--activation", "relu", "--init", "he", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    for key in ("q_star", "chi1", "depth_scale", "per_layer_ratio", "per_layer_norm_ratio",
                "total_ratio", "layers", "convention"):
        assert key in data
    assert data["chi1"] == pytest.approx(1.0)
    assert data["depth_scale"] is None  # infinite at criticality: null in JSON
    assert len(data["layers"]) == 10


def test_cli_text():
    res = CliRunner().invoke(main, ["theory", "--activation", "sigmoid", "--init", "xavier"])
    assert res.exit_code == 0, res.output
    q, chi1 = _sigmoid_xavier_fixed_point()  # computed independently, with numpy alone
    line = next(ln for ln in res.output.splitlines() if ln.strip().startswith("chi1"))
    assert float(line.split()[1]) == pytest.approx(chi1, rel=1e-3)  # printed with 4 digits
    q_line = next(ln for ln in res.output.splitlines() if ln.strip().startswith("q_star"))
    assert float(q_line.split()[1]) == pytest.approx(q, rel=1e-3)


@pytest.mark.parametrize("args", [
    ["--activation", "sigmod", "--init", "he"],
    ["--activation", "tanh", "--init", "he", "--sigma-w2", "1"],
    ["--activation", "tanh", "--sigma-w2", "-1"],
    ["--activation", "tanh", "--init", "he", "--depth", "0"],
], ids=["unknown", "both", "negative", "depth0"])
def test_cli_bad_flags_exit_2(args):
    res = CliRunner().invoke(main, ["theory", *args])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
