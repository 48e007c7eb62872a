"""`gradscope explain`: the worked numbers, the deep chain against theory, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from gradscope.analysis.chain_rule import deep_chain, one_neuron, two_weights
from gradscope.cli import main


def test_one_neuron_numbers():
    ex = one_neuron()
    factors = [f.value for f in dict(ex.chains)["w"]]
    assert factors == pytest.approx([-0.5379, 0.1966, 2.0], abs=1e-4)
    assert ex.gradient("w") == pytest.approx(-0.2115, abs=1e-4)
    assert ex.updated("w") == pytest.approx(0.5212, abs=1e-4)


def test_two_weights_first_weight_gets_the_longer_chain():
    ex = two_weights()
    chains = dict(ex.chains)
    assert len(chains["w1"]) == len(chains["w2"]) + 2
    h = dict(ex.forward)["h = sigmoid(w1·x)"]
    eps = 1e-6
    def loss(w1, w2):
        s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        return (s(w2 * s(w1 * 2.0)) - 1.0) ** 2
    assert ex.gradient("w1") == pytest.approx((loss(0.5 + eps, 0.5) - loss(0.5 - eps, 0.5))
                                              / (2 * eps), rel=1e-6)
    assert ex.gradient("w2") == pytest.approx((loss(0.5, 0.5 + eps) - loss(0.5, 0.5 - eps))
                                              / (2 * eps), rel=1e-6)
    assert h == pytest.approx(1 / (1 + np.exp(-0.5 * 2.0)), rel=1e-12)  # sigmoid(w1·x)


def test_deep_chain_running_product_is_product_of_locals():
    rows = deep_chain(depth=6, activation="sigmoid", init="xavier", width=32)
    assert [r.layer for r in rows] == list(range(6, -1, -1))
    assert rows[-1].running == pytest.approx(np.prod([r.local for r in rows]))
    assert rows[-1].running < 1e-3  # sigmoid + xavier vanishes
    wide = deep_chain(depth=6, activation="sigmoid", init="xavier", width=256)
    for r in wide[2:]:  # away from the single output unit, at width 256: theory within 12 %
        assert r.local == pytest.approx(r.predicted_local, rel=0.12)
    # over the 5 layers the finite-width fluctuations average out further
    assert np.prod([r.local for r in wide[2:]]) == pytest.approx(
        np.prod([r.predicted_local for r in wide[2:]]), rel=0.08)


def test_cli_explain_shows_the_numbers():
    res = CliRunner().invoke(main, ["explain"])
    assert res.exit_code == 0, res.output
    for text in ("-0.54", "0.197", "-0.21", "0.5212", "dL/dw1", "vanishes"):
        assert text in res.output


def test_cli_explain_relu_he_keeps_its_size():
    res = CliRunner().invoke(main, ["explain", "--depth", "8", "--activation", "relu",
                                    "--init", "he", "--width", "128"])
    assert res.exit_code == 0, res.output
    assert "keeps its size" in res.output


@pytest.mark.parametrize("args", [["--activation", "sigmod"], ["--init", "hee"],
                                  ["--depth", "0"]], ids=["activation", "init", "depth"])
def test_cli_explain_bad_flags_exit_2(args):
    res = CliRunner().invoke(main, ["explain", *args])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


@pytest.mark.parametrize("name", ["theory", "explain"])
def test_help_has_example(name):
    res = CliRunner().invoke(main, [name, "--help"])
    assert res.exit_code == 0 and "Example:" in res.output
