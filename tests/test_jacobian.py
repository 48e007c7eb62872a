"""Input–output Jacobians: against finite differences, isometry of orthogonal linear nets, plots."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from gradscope import mlp
from gradscope.analysis.jacobian import input_output_jacobian, jacobian_spectrum, spectrum_vs_depth
from gradscope.plots.spectrum import plot_singular_values, plot_spectrum_vs_depth


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "softplus"])
def test_jacobian_matches_finite_differences(activation):
    net = mlp(3, 2, 2, 5, activation, "xavier", seed=1)
    X = np.random.default_rng(0).standard_normal((4, 3))
    jac = input_output_jacobian(net, X)
    eps = 1e-6
    fd = np.stack([(net.forward(X + eps * e) - net.forward(X - eps * e)) / (2 * eps)
                   for e in np.eye(3)], axis=-1)
    assert jac.shape == (4, 2, 3)
    np.testing.assert_allclose(jac, fd, atol=1e-8)


def test_jacobian_restores_grads_and_works_in_chunks(monkeypatch):
    import gradscope.analysis.jacobian as jm

    net = mlp(4, 3, 2, 6, "tanh", "he", seed=2)
    X = np.random.default_rng(1).standard_normal((5, 4))
    out = net.forward(X)
    net.backward(np.ones_like(out))
    before = net.layers[0].grads["W"].copy()
    full = input_output_jacobian(net, X)
    monkeypatch.setattr(jm, "MAX_ROWS", 3)  # one example per chunk
    np.testing.assert_allclose(input_output_jacobian(net, X), full)
    np.testing.assert_array_equal(net.layers[0].grads["W"], before)


@pytest.mark.parametrize("depth", [1, 5, 20])
def test_orthogonal_linear_net_is_an_isometry(depth):
    net = mlp(32, 32, depth, 32, "linear", "orthogonal", seed=0)
    X = np.random.default_rng(0).standard_normal((3, 32))
    sv = jacobian_spectrum(net, X).singular_values
    np.testing.assert_allclose(sv, 1.0, atol=1e-10)


def test_gaussian_spectrum_spreads_with_depth_orthogonal_does_not():
    frame = spectrum_vs_depth([1, 4, 16], ["xavier_normal", "orthogonal"], width=48, n_examples=2)
    gauss = frame[frame["init"] == "xavier_normal"].sort_values("depth")
    orth = frame[frame["init"] == "orthogonal"]
    assert np.allclose(orth["var_sq"], 0.0, atol=1e-12)
    assert np.allclose(orth["mean_sq"], 1.0)
    # σ_w² = 1: the mean gain stays near 1 while the variance grows with depth (Pennington 2017)
    assert np.all(np.abs(np.log(gauss["mean_sq"])) < 0.5)
    assert np.all(np.diff(gauss["var_sq"].to_numpy()) > 0)


def test_plots_return_figures():
    X = np.random.default_rng(0).standard_normal((4, 16))
    spectra = {init: jacobian_spectrum(mlp(16, 16, 6, 16, "tanh", init), X)
               for init in ("xavier_normal", "orthogonal")}
    assert isinstance(plot_singular_values(spectra), Figure)
    frame = spectrum_vs_depth([1, 3], ["xavier_normal", "orthogonal"], width=16, n_examples=2)
    fig = plot_spectrum_vs_depth(frame)
    assert isinstance(fig, Figure) and len(fig.axes) == 3  # mean, variance, spread
    assert isinstance(plot_spectrum_vs_depth(frame.drop(columns="var_sq")), Figure)
