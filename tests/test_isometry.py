"""The dynamical-isometry study: files written, orthogonal beats Gaussian, bad flags exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from gradscope.cli import main
from gradscope.core.errors import ConfigError
from gradscope.report.spectrum import isometry_study


def test_orthogonal_keeps_the_spectrum_together_and_files_are_written(tmp_path: Path) -> None:
    frame = isometry_study(tmp_path, activation="tanh", depths=[2, 16], width=32, n_examples=8)
    assert (tmp_path / "spectrum.csv").is_file()
    for name in ("singular_values", "spectrum_depth"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 1000
    deep = frame[frame.depth == 16].set_index("init")
    assert deep.loc["orthogonal", "spread"] < deep.loc["xavier_normal", "spread"] / 5
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "spectrum.csv"), frame,
                                  check_dtype=False)


def test_linear_orthogonal_net_is_an_exact_isometry(tmp_path: Path) -> None:
    frame = isometry_study(tmp_path, activation="linear", inits=["orthogonal"], depths=[8],
                           width=16, n_examples=2)
    row = frame.iloc[0]
    assert row.mean_sq == pytest.approx(1.0) and row.var_sq == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("kwargs,match", [
    ({"activation": "sigmod"}, 'Did you mean "sigmoid"'),
    ({"inits": ["orthogonl"]}, 'Did you mean "orthogonal"'),
    ({"depths": [0, 2]}, "≥ 1"),
    ({"width": 0}, "width"),
])
def test_bad_arguments_are_config_errors(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        isometry_study(tmp_path / "o", **kwargs)
    assert not (tmp_path / "o").exists()


def test_cli(tmp_path: Path) -> None:
    ok = CliRunner().invoke(main, ["spectrum", "--depth", "2", "--depth", "4", "--width", "16",
                                   "--out", str(tmp_path / "s")])
    assert ok.exit_code == 0, ok.output
    assert "orthogonal" in ok.output and (tmp_path / "s" / "spectrum.csv").is_file()
    bad = CliRunner().invoke(main, ["spectrum", "--activation", "sigmod", "--out",
                                    str(tmp_path / "b")])
    assert bad.exit_code == 2 and "sigmoid" in bad.stderr
