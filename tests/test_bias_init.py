"""bias_init: names and variances, the RNG order (weights never change), config, TOML and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gradscope import Dense, mlp
from gradscope.cli import main
from gradscope.core.errors import ConfigError
from gradscope.nn.bias_init import BIAS_INITIALIZERS, bias_variance, initialize_bias
from gradscope.sweeps.config import RunConfig, config_of
from gradscope.sweeps.grid import load_sweep


@pytest.mark.parametrize(("spec", "fan_in", "var"), [
    ("zeros", 8, 0.0), ("normal:2", 8, 4.0), ("normal", 8, 1e-4), ("uniform:0.3", 8, 0.03),
    ("he", 50, 2 / 50), ("lecun", 50, 1 / 50), ("glorot2010", 25, 1 / 75),
    ("xavier", 30, 2 / (30 + 20)),
], ids=str)
def test_bias_variance_is_the_entry_variance_and_draws_have_it(spec, fan_in, var) -> None:
    assert bias_variance(spec, fan_in, 20) == pytest.approx(var, rel=1e-12)
    n = 20_000 if var else 20
    b = initialize_bias(spec, fan_in, n, rng=np.random.default_rng(0))
    assert b.shape == (n,) and b.dtype == np.float64
    assert np.var(b) == pytest.approx(bias_variance(spec, fan_in, n), rel=0.05, abs=0.0)


def test_normal_s_is_a_std_and_uniform_a_a_limit() -> None:
    rng = np.random.default_rng(3)
    b = initialize_bias("normal:1", 4, 100_000, rng=rng)
    assert np.std(b) == pytest.approx(1.0, rel=0.01)
    u = initialize_bias("uniform:0.5", 4, 100_000, rng=rng)
    assert u.min() >= -0.5 and u.max() <= 0.5 and u.max() > 0.499
    g = initialize_bias("glorot2010", 16, 100_000, rng=rng)  # PyTorch's nn.Linear default bias
    assert g.min() >= -0.25 and g.max() <= 0.25 and g.max() > 0.249


def test_matrix_only_initialisers_are_not_bias_initialisers() -> None:
    assert "orthogonal" not in BIAS_INITIALIZERS and "zeros" in BIAS_INITIALIZERS
    with pytest.raises(ConfigError, match="zeros, normal"):
        RunConfig(bias_init="orthogonal")
    with pytest.raises(ConfigError, match='Did you mean "normal"'):
        RunConfig(bias_init="normall:1")
    with pytest.raises(ConfigError, match="bias_init"):
        mlp(2, 2, 2, 4, bias_init="orthogonal:2")


def test_default_biases_are_zero_and_weights_do_not_depend_on_bias_init() -> None:
    plain = mlp(3, 2, 4, 16, "sigmoid", "normal:1", seed=5)
    biased = mlp(3, 2, 4, 16, "sigmoid", "normal:1", seed=5, bias_init="normal:1")
    dense = [(p, b) for p, b in zip(plain.layers, biased.layers, strict=True) if "W" in p.params]
    assert len(dense) == 5
    for p, b in dense:
        np.testing.assert_array_equal(p.params["W"], b.params["W"])
        assert not p.params["b"].any()
        assert np.all(b.params["b"] != 0)
    firsts = [b.params["b"][0] for _, b in dense]
    assert len(set(firsts)) == len(firsts)  # every layer has its own bias draws
    again = mlp(3, 2, 4, 16, "sigmoid", "normal:1", seed=5, bias_init="normal:1")
    for x, y in zip(biased.layers, again.layers, strict=True):
        for key in x.params:
            np.testing.assert_array_equal(x.params[key], y.params[key])


def test_dense_draws_biases_from_a_spawned_stream_or_bias_rng() -> None:
    rng = np.random.default_rng(0)
    layer = Dense(4, 6, "he", rng=rng, bias_init="normal:1")
    after = rng.standard_normal()
    reference = np.random.default_rng(0)
    reference.standard_normal((4, 6))
    assert after == reference.standard_normal()  # the weight stream did not move for the bias
    child = np.random.default_rng(0).spawn(1)[0]
    np.testing.assert_array_equal(layer.params["b"], child.standard_normal(6))
    own = Dense(4, 6, "he", seed=1, bias_init="normal:2", bias_rng=np.random.default_rng(9))
    np.testing.assert_array_equal(own.params["b"], np.random.default_rng(9).standard_normal(6) * 2)


def test_run_id_of_default_bias_is_the_id_from_before_bias_init_existed() -> None:
    assert RunConfig().run_id == RunConfig(bias_init="zeros").run_id == "b9ea149ce549"
    assert RunConfig(activation="sigmoid", init="normal:1").run_id == "725a5b37530c"
    assert RunConfig(bias_init="normal:1").run_id != RunConfig().run_id


def test_old_runs_csv_rows_without_the_column_load_as_zeros() -> None:
    row = pd.Series({"depth": 3, "activation": "tanh", "init": "xavier", "status": "ok"})
    assert config_of(row).bias_init == "zeros"
    assert config_of({**row, "bias_init": float("nan")}).bias_init == "zeros"
    assert config_of({**row, "bias_init": "normal:1"}).bias_init == "normal:1"


def test_toml_grid_and_cli_take_bias_init(tmp_path: Path) -> None:
    config = tmp_path / "b.toml"
    config.write_text('name = "b"\n[grid]\nbias_init = ["zeros", "normal:1"]\n'
                      '[fixed]\ndepth = 2\nwidth = 8\nsteps = 2\n')
    assert [c.bias_init for c in load_sweep(config).runs] == ["zeros", "normal:1"]
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\n[fixed]\nbias_init = "orthogonal"\n')
    with pytest.raises(ConfigError, match="bias_init"):
        load_sweep(bad)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "--depth", "2", "--width", "8", "--steps", "2",
                                       "--bias-init", "normal:1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "runs.csv")["bias_init"].tolist() == ["normal:1"]
    result = CliRunner().invoke(main, ["run", "--bias-init", "orthogonal", "--out",
                                       str(tmp_path / "x")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "bias_init" in result.output
    assert "--bias-init" in CliRunner().invoke(main, ["run", "--help"]).output
    listing = CliRunner().invoke(main, ["list"]).output
    assert "bias initialisers:" in listing and "zeros" in listing
