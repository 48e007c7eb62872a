"""Correlation depth scale ξ_c (Schoenholz et al. 2017): fixed point c*, χ_c, the CLI key."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from gradscope.cli import main
from gradscope.theory import (
    chi1,
    correlation,
    correlation_map,
    critical_sigma_w2,
    fixed_point,
    moments,
    predict,
)

TANH = moments("tanh")
SB2 = 0.05


def test_ordered_phase_has_c_star_one_and_chi_c_equal_to_chi1():
    c = correlation(TANH, 1.2, SB2)
    assert c.c_star == 1.0
    assert c.chi_c == pytest.approx(chi1(TANH, 1.2, SB2), rel=1e-12)
    assert c.xi_c == pytest.approx(-1.0 / math.log(c.chi_c))


@pytest.mark.parametrize("sigma_w2", [2.0, 3.0, 4.0])
def test_chaotic_fixed_point_is_the_limit_of_the_map_and_chi_c_its_slope(sigma_w2):
    c = correlation(TANH, sigma_w2, SB2)
    q = fixed_point(TANH, sigma_w2, SB2)
    x = c.c_star + 0.05
    for _ in range(400):
        x = correlation_map(TANH, sigma_w2, SB2, q, x)
    assert c.c_star < 1.0
    assert c.c_star == pytest.approx(x, abs=1e-7)
    h = 1e-5
    slope = (correlation_map(TANH, sigma_w2, SB2, q, c.c_star + h)
             - correlation_map(TANH, sigma_w2, SB2, q, c.c_star - h)) / (2 * h)
    assert c.chi_c == pytest.approx(slope, rel=1e-6)
    assert c.chi_c < 1.0


def test_c_star_matches_random_tanh_nets():
    """Two independent inputs through 40 layers of 12 random nets of width 300, σ_w² = 3: their
    pre-activations' correlation (the shared biases correlate them) settles at c* = 0.299 (mean
    over nets and the last 15 layers: 0.31; the spread between runs of this test is ±0.03)."""
    rng = np.random.default_rng(0)
    n, nets, sigma_w2 = 300, 12, 3.0
    x = rng.standard_normal((nets, 2, n))
    seen = []
    for _ in range(40):
        h = x @ (rng.standard_normal((nets, n, n)) * math.sqrt(sigma_w2 / n)) + (
            rng.standard_normal((nets, 1, n)) * math.sqrt(SB2))  # (nets, 2, n)
        x = np.tanh(h)
        dot = np.einsum("kai,kbi->kab", h, h)
        seen.append(dot[:, 0, 1] / np.sqrt(dot[:, 0, 0] * dot[:, 1, 1]))
    assert np.mean(seen[-15:]) == pytest.approx(correlation(TANH, sigma_w2, SB2).c_star,
                                                abs=0.05)


def test_xi_c_diverges_at_the_critical_line_from_both_sides():
    crit = critical_sigma_w2("tanh", SB2)
    xi = [correlation(TANH, s, SB2).xi_c for s in (1.0, 1.5, crit - 0.02, crit + 0.02, 2.5, 4.0)]
    assert xi[0] < xi[1] < xi[2] and xi[3] > xi[4] > xi[5]
    assert min(xi[2], xi[3]) > 100 > max(xi[1], xi[4])
    # Schoenholz et al. 2017, Fig. 6 (tanh, σ_b² = 0.05): 6 ξ_c ≈ 20–45 at σ_w² = 1 and 4
    assert 15 < 6 * xi[0] < 30 and 30 < 6 * xi[5] < 50


def test_unbounded_q_has_no_correlation_depth():
    assert correlation(moments("relu"), 3.0, 0.1).xi_c is None
    assert math.isinf(correlation(moments("relu"), 2.0, 0.0).xi_c)  # critical: ∞


def test_cli_json_adds_xi_c_beside_the_gradient_depth_scale():
    res = CliRunner().invoke(main, ["theory", "--activation", "tanh", "--sigma-w2", "3",
                                    "--sigma-b2", "0.05", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["xi_c"] == pytest.approx(correlation(TANH, 3.0, SB2).xi_c, rel=1e-12)
    assert data["depth_scale"] < 0 < data["xi_c"]  # exploding gradient, finite ξ_c
    assert 0 < data["c_star"] < 1
    assert predict("tanh", sigma_w2=3.0, sigma_b2=SB2, norm="batchnorm").xi_c is None
    text = CliRunner().invoke(main, ["theory", "--activation", "tanh", "--sigma-w2", "3",
                                     "--sigma-b2", "0.05"]).output
    assert "xi_c              9.051" in text
