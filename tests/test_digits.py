"""digits: scikit-learn's 8×8 handwritten digits in [0, 1], subsampled by seed, everywhere a
dataset name is accepted; a clear exit-2 message without scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gradscope.cli import main
from gradscope.core.errors import ConfigError
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.grid import load_sweep
from gradscope.training import digits as digits_module
from gradscope.training.datasets import check_dataset, load_dataset

pytest.importorskip("sklearn")


def test_digits_are_the_sklearn_images_scaled_to_01() -> None:
    data = load_dataset("digits", n=1797)
    assert data.X.shape == (1797, 64) and data.X.dtype == np.float64
    assert data.X.min() == 0.0 and data.X.max() == 1.0  # 0..16 counts / 16, not standardised
    assert data.task == "classification" and data.n_classes == data.out_dim == 10
    assert np.bincount(data.y).min() >= 170  # about 180 images of each digit
    assert not data.X.flags.writeable
    everything = {row.tobytes() for row in data.X}
    assert len(everything) > 1700  # the full set, once each (a few images repeat in the data)


def test_the_subsample_is_deterministic_by_seed() -> None:
    a, b = load_dataset("digits", n=200, seed=4), load_dataset("digits", n=200, seed=4)
    c = load_dataset("digits", n=200, seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    full = {row.tobytes() for row in load_dataset("digits", n=1797).X}
    assert {row.tobytes() for row in a.X} <= full


def test_digits_k_keeps_the_first_k_digits_and_bad_options_are_refused() -> None:
    two = load_dataset("digits:2", n=300, seed=1)
    assert set(np.unique(two.y)) == {0, 1} and two.n_classes == 2
    with pytest.raises(ConfigError, match="1797 images"):
        load_dataset("digits", n=1798)
    with pytest.raises(ConfigError, match="n_samples ≤ 360"):
        load_dataset("digits:2", n=400)
    with pytest.raises(ConfigError, match="classes"):
        load_dataset("digits:11")
    with pytest.raises(ConfigError, match='Did you mean "digits"'):
        load_dataset("digit")


def test_a_missing_scikit_learn_is_one_clear_paragraph_and_exit_2(monkeypatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(digits_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else object())
    with pytest.raises(ConfigError, match=r"gradscope\[digits\]") as info:
        check_dataset("digits")
    assert "\n" not in str(info.value) and "spirals" in str(info.value)
    with pytest.raises(ConfigError, match="scikit-learn"):
        RunConfig(dataset="digits")
    result = CliRunner().invoke(main, ["run", "--dataset", "digits", "--out",
                                       str(tmp_path / "o")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "scikit-learn" in result.output and not (tmp_path / "o").exists()


def test_digits_runs_in_run_sweep_and_theory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--dataset", "digits", "--n-samples", "256",
                                       "--depth", "3", "--width", "16", "--steps", "3",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    layers = pd.read_csv(tmp_path / "run" / "layers.csv")
    assert layers.query("layer == 0")["fan_in"].iloc[0] == 64
    assert layers["fan_out"].iloc[-1] == 10
    config = tmp_path / "d.toml"
    config.write_text('name = "d"\n[grid]\ndataset = ["digits", "digits:2"]\n'
                      '[fixed]\ndepth = 2\nwidth = 8\nsteps = 2\nn_samples = 100\n')
    assert [c.dataset for c in load_sweep(config).runs] == ["digits", "digits:2"]
    swept = CliRunner().invoke(main, ["sweep", str(config), "--out", str(tmp_path / "sw"),
                                      "--workers", "0", "--quiet"])
    assert swept.exit_code == 0, swept.output
    assert pd.read_csv(tmp_path / "sw" / "runs.csv")["status"].tolist() == ["ok", "ok"]
    theory = CliRunner().invoke(main, ["theory", "--activation", "sigmoid", "--init", "xavier",
                                       "--dataset", "digits", "--json"])
    assert json.loads(theory.output)["in_dim"] == 64
    assert "digits" in CliRunner().invoke(main, ["list"]).output


def test_digits_in_diagnose_torch(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    (tmp_path / "digit_models.py").write_text(
        "from torch import nn\n"
        "def small():\n"
        "    return nn.Sequential(nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 10))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(main, ["diagnose", "--torch", "digit_models:small", "--dataset",
                                       "digits", "--steps", "3", "--n-samples", "128"])
    assert result.exit_code == 0, result.output
    assert "on digits" in result.output
