"""Finite-width spread of log10 ‖δ_0‖/‖δ_L‖: special functions, the per-layer law against Monte
Carlo, and the prediction against hundreds of seeds of the real engine."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from gradscope.cli import main
from gradscope.nn.layers import Dense
from gradscope.nn.mlp import mlp
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.run import execute_run
from gradscope.theory import layer_log_moments, moments, predict
from gradscope.theory.finite_width import binomial_pmf
from gradscope.theory.moments import PiecewiseLinear
from gradscope.theory.special import digamma, trigamma
from gradscope.training.datasets import load_dataset
from gradscope.training.losses import loss

EULER = 0.5772156649015329


# -- digamma and trigamma -----------------------------------------------------------------------
def test_special_functions_known_values_and_recurrence():
    assert digamma(1.0) == pytest.approx(-EULER, abs=1e-13)
    assert digamma(0.5) == pytest.approx(-EULER - 2 * math.log(2), abs=1e-13)
    assert trigamma(1.0) == pytest.approx(math.pi**2 / 6, abs=1e-13)
    assert trigamma(0.5) == pytest.approx(math.pi**2 / 2, abs=1e-13)
    x = np.array([0.3, 1.7, 9.99, 10.0, 42.5, 1e4])
    np.testing.assert_allclose(digamma(x + 1) - digamma(x), 1 / x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trigamma(x) - trigamma(x + 1), 1 / x**2, rtol=1e-10, atol=1e-15)


def test_binomial_pmf():
    p = binomial_pmf(10)
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    assert p[5] == pytest.approx(math.comb(10, 5) / 2**10, rel=1e-13)
    assert binomial_pmf(5000).sum() == pytest.approx(1.0, abs=1e-10)


# -- the per-layer law against a Monte Carlo of its definition ------------------------------------
def _monte_carlo(slope: float, n: int, orthogonal: bool, samples: int = 40_000) -> np.ndarray:
    """ln R for R = (σ_w²/n)‖D g‖², g Gaussian (or uniform on the sphere of radius √n),
    D = diag(1 or slope) with probability ½ each: what a ReLU-family layer does to δ."""
    rng = np.random.default_rng(7)
    g = rng.standard_normal((samples, n))
    if orthogonal:
        g *= math.sqrt(n) / np.linalg.norm(g, axis=1, keepdims=True)
    d = np.where(rng.random((samples, n)) < 0.5, 1.0, slope)
    r = (2.0 / n) * ((g * d) ** 2).sum(axis=1)
    return np.log(r[r > 0])


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0], ids=lambda s: f"slope{s}")
@pytest.mark.parametrize("n", [3, 16, 64])
@pytest.mark.parametrize("orthogonal", [False, True], ids=["gaussian", "orthogonal"])
def test_relu_family_law_matches_monte_carlo(slope, n, orthogonal):
    lm = layer_log_moments(PiecewiseLinear("x", slope), 2.0, 1.0, n, norm_preserving=orthogonal)
    assert lm.law == "exact"
    sample = _monte_carlo(slope, n, orthogonal)
    se_var = sample.var() * math.sqrt(2 / len(sample)) * 3  # kurtosis allowance
    assert lm.mean == pytest.approx(sample.mean(),
                                   abs=max(4 * sample.std() / math.sqrt(len(sample)), 1e-12))
    assert lm.var == pytest.approx(sample.var(), abs=max(4 * se_var, 1e-12))


def test_relu_law_tends_to_five_over_n_and_orthogonal_to_three_over_n():
    m = moments("relu")
    for n in (1000, 20000):
        assert layer_log_moments(m, 2.0, 1.0, n).var * n == pytest.approx(5.0, rel=5 / n)
        assert layer_log_moments(m, 2.0, 1.0, n, norm_preserving=True).var * n == pytest.approx(
            3.0, rel=10 / n)
    big = layer_log_moments(m, 2.0, 1.0, 10**6)
    assert big.law == "asymptotic" and big.var == pytest.approx(5e-6)
    # the exact law is wider than 5/n at small n: the Binomial and χ² tails
    assert layer_log_moments(m, 2.0, 1.0, 16).var == pytest.approx(0.41959, rel=1e-4)


def test_leaky_quadrature_agrees_with_the_asymptotic_law_where_they_meet():
    m = moments("leaky_relu")
    kappa = 2 * (1 + 0.01**4) / (1 + 0.01**2) ** 2
    assert layer_log_moments(m, 2.0, 1.0, 2048).var * 2048 == pytest.approx(3 * kappa - 1,
                                                                              rel=3e-3)


def test_smooth_activations_get_the_heuristic_and_no_law_with_orthogonal_weights():
    p = predict("tanh", sigma_w2=1.0, depth=8, width=64)
    assert p.spread_law == "heuristic" and p.delta_log10_ratio_sd > 0
    assert predict("tanh", init="orthogonal", depth=8, width=64).delta_log10_ratio_sd is None
    bn = predict("relu", init="he", depth=8, width=64, norm="batchnorm")
    assert bn.spread_law == "none" and bn.delta_log10_ratio_sd is None


def test_linear_net_spread_is_the_chi_square_law_exactly():
    # φ' = 1: R = (σ_w²/n)·χ²_n, Var ln = ψ'(n/2) per layer, nothing else
    p = predict("linear", init="lecun", depth=9, width=20)
    expected = math.sqrt(9 * float(trigamma(10.0))) / (2 * math.log(10))
    assert p.delta_log10_ratio_sd == pytest.approx(expected, rel=1e-12)


# -- against the real engine ----------------------------------------------------------------------
DEPTH = 16


def _engine_ratios(width: int, seeds: range, batch: int = 1) -> np.ndarray:
    """log10 ‖δ_0‖/‖δ_DEPTH‖ at step 0 of ReLU + He mlps on spirals, one per seed: δ read by
    backward hooks on the Dense layers, on the step-0 batch that `train` draws for that seed
    (what runs.csv's delta_ratio_log10 is; checked in the next test)."""
    data = load_dataset("spirals", n=64, seed=0)
    ce = loss("cross_entropy")
    out = []
    for seed in seeds:
        net = mlp(2, 2, DEPTH, width, "relu", "he", seed=seed)
        norms: dict[int, float] = {}
        dense = [layer for _, layer in net.named_layers() if isinstance(layer, Dense)]
        for i, layer in enumerate(dense):
            layer.register_backward_hook(
                lambda lyr, gin, gout, i=i, norms=norms: norms.__setitem__(
                    i, float(np.linalg.norm(gout[0]))))
        idx = np.random.default_rng(seed).permutation(len(data))[:batch]
        _, grad = ce(net.forward(data.X[idx]), data.y[idx])
        net.backward(grad)
        out.append(math.log10(norms[0] / norms[DEPTH]))
    return np.array(out)


def test_engine_ratio_is_the_runs_csv_column():
    for seed in (0, 1):
        cfg = RunConfig(depth=DEPTH, width=16, activation="relu", init="he", dataset="spirals",
                        n_samples=64, steps=1, batch_size=1, seed=seed)
        assert _engine_ratios(16, range(seed, seed + 1))[0] == pytest.approx(
            execute_run(cfg).summary["delta_ratio_log10"], abs=1e-9)


@pytest.mark.parametrize(("width", "seeds"), [(16, 300), (64, 200)])
def test_spread_matches_hundreds_of_seeds(width, seeds):
    """Measured over seeds 0..N−1 (batch 1): width 16, sd 0.55 vs 0.563 predicted; width 64,
    0.25 vs 0.250. The 5 Σ 1/n law (0.486 at width 16) is outside the tolerance there."""
    v = _engine_ratios(width, range(seeds))
    p = predict("relu", init="he", depth=DEPTH, width=width, in_dim=2, out_dim=2)
    assert p.spread_law == "exact"
    assert v.std(ddof=1) == pytest.approx(p.delta_log10_ratio_sd, rel=0.1)
    assert v.mean() == pytest.approx(p.delta_log10_ratio_mean, abs=3 * v.std() / math.sqrt(seeds))
    assert p.delta_ratio_log10 == 0.0  # the mean field sees no drift; finite width drifts down


def test_batch_averages_part_of_the_spread_within_the_stated_bounds():
    """A δ norm over a batch of B sums B examples sharing the weights: the spread lies between
    the single-example sd (the prediction) and that over √B."""
    p = predict("relu", init="he", depth=DEPTH, width=16, in_dim=2, out_dim=2)
    sd = _engine_ratios(16, range(200), batch=8).std(ddof=1)
    assert p.delta_log10_ratio_sd / math.sqrt(8) < sd < p.delta_log10_ratio_sd


def test_cli_json_adds_the_spread():
    res = CliRunner().invoke(main, ["theory", "--activation", "relu", "--init", "he",
                                    "--width", "16", "--depth", "16", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["delta_log10_ratio_sd"] == pytest.approx(0.5626, abs=1e-4)
    assert data["spread_law"] == "exact"
    assert data["layers"][0]["ln_var"] == pytest.approx(0.41959, rel=1e-4)
    text = CliRunner().invoke(main, ["theory", "--activation", "relu", "--init", "he",
                                     "--width", "16", "--depth", "16"]).output
    assert "delta_log10_ratio_sd  0.563" in text


# -- the predicted band in the report's δ profile -------------------------------------------------
def test_expected_range_of_normal_samples():
    from gradscope.theory import expected_range

    assert expected_range(1) == 0.0
    assert expected_range(2) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-6)
    assert expected_range(3) == pytest.approx(3 / math.sqrt(math.pi), rel=1e-6)
    assert expected_range(10) == pytest.approx(3.0775, abs=1e-4)


def _hatched(fig) -> list:
    return [c for ax in fig.axes for c in ax.collections if c.get_hatch()]


@pytest.mark.parametrize(("seeds", "bands"), [((0, 1, 2), True), ((0, 1), False)],
                         ids=["3-seeds", "2-seeds"])
def test_profile_draws_the_predicted_band_where_seeds_reach_three(tmp_path, seeds, bands):
    from synthetic_sweep import write_sweep

    from gradscope.plots import gradient_profile
    from gradscope.sweeps.results import load_results
    from gradscope.theory import expected_range

    frames, _ = load_results(write_sweep(tmp_path, seeds=seeds))
    pred = frames.predicted.merge(frames.runs[["run_id", "activation", "init", "depth"]])
    one = pred[(pred["activation"] == "relu") & (pred["init"] == "he") & (pred["depth"] == 8)]
    one = one[one["run_id"] == one["run_id"].iloc[0]].sort_values("layer")
    assert (one["seeds"] == len(seeds)).all()
    theory = predict("relu", init="he", depth=8, width=16, in_dim=16, out_dim=16)
    half = (one["spread_hi_log10"] - one["spread_lo_log10"]).iloc[0] / 2
    assert half == pytest.approx(expected_range(len(seeds)) / 2 * theory.delta_log10_ratio_sd,
                                 rel=1e-9)
    top = one.iloc[-1]
    assert top["spread_lo_log10"] == top["spread_hi_log10"] == top["predicted_log10"]
    assert one["spread_mean_log10"].iloc[0] - top["predicted_log10"] == pytest.approx(
        theory.delta_log10_ratio_mean, rel=1e-9)
    fig = gradient_profile(frames.layers, frames.runs, "delta_norm", predicted=frames.predicted)
    assert bool(_hatched(fig)) == bands
