"""Sweep configs: [grid] x [fixed] + [[runs]], validation before anything runs, bundled names."""

from __future__ import annotations

import pytest

from gradscope.core.errors import ConfigError
from gradscope.sweeps.bundled import bundled_experiments, find_config
from gradscope.sweeps.grid import load_sweep, parse_sweep, varying

EXPERIMENTS = ["quick", "vanishing", "exploding", "remedies", "glorot2010", "he2015",
               "hanin2019", "schoenholz2017"]


def test_grid_is_the_cartesian_product_over_fixed() -> None:
    sweep = parse_sweep({"name": "t", "grid": {"depth": [2, 4, 8], "activation": ["relu", "tanh"]},
                         "fixed": {"width": 16, "steps": 5}})
    assert len(sweep) == 6 and sweep.name == "t"
    assert {(c.depth, c.activation) for c in sweep.runs} == {
        (d, a) for d in (2, 4, 8) for a in ("relu", "tanh")}
    assert all(c.width == 16 and c.steps == 5 for c in sweep.runs)
    assert list(varying(sweep.runs)) == ["depth", "activation"]


def test_runs_tables_add_irregular_runs_and_duplicates_are_kept_once() -> None:
    sweep = parse_sweep({
        "fixed": {"depth": 3},
        "runs": [{"norm": ["none", "batchnorm"], "seed": [0, 1]}, {"residual": True},
                 {"norm": "none", "seed": 0}],
    })
    assert len(sweep) == 5
    assert sum(c.residual for c in sweep.runs) == 1
    assert all(c.depth == 3 for c in sweep.runs)
    assert len({c.run_id for c in sweep.runs}) == 5


def test_no_grid_gives_one_run_of_fixed() -> None:
    assert len(parse_sweep({"fixed": {"depth": 2}})) == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"grid": {"depth": []}}, ["depth", "empty"]),
        ({"grid": {"depth": 4}}, ["must be lists", "[fixed]"]),
        ({"fixed": {"depth": [2, 4]}}, ["[fixed]", "[grid]"]),
        ({"grid": {"depth": [2]}, "fixed": {"depth": 2}}, ["both"]),
        ({"grid": {"depht": [2]}}, ["depht", 'Did you mean "depth"']),
        ({"grdi": {"depth": [2]}}, ["grdi", 'Did you mean "grid"']),
        ({"depth": 3}, ["depth", "inside [grid] or [fixed]"]),
        ({"grid": {"depth": [2, 0]}}, ["[grid] depth = 0", "≥ 1"]),
        ({"grid": {"init": ["he", "normal:x"]}}, ['"normal:x"', "number"]),
        ({"fixed": {"lr": 0}}, ["[fixed] lr = 0", "> 0"]),
        ({"runs": [{"activation": "sigmoidd"}]}, ["runs #1", 'Did you mean "sigmoid"']),
        ({"runs": {"depth": 2}}, ["[[runs]]"]),
        ({"grid": [1, 2]}, ["table"]),
        ({"name": ""}, ["name"]),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else None,
)
def test_bad_sweeps_are_rejected_with_a_clear_message(data: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sweep(data)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_bundled_experiments_load_by_name(name: str) -> None:
    assert name in bundled_experiments()
    sweep = load_sweep(name)
    assert sweep.name == name and len(sweep) >= 4
    assert load_sweep(find_config(name)).runs == sweep.runs


def test_unknown_config_name_suggests_a_bundled_one() -> None:
    with pytest.raises(ConfigError, match='Did you mean "vanishing"'):
        load_sweep("vanshing")


def test_invalid_toml_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[grid\ndepth = [1]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_sweep(path)
