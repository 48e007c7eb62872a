"""Packaging: every subpackage is listed in pyproject.toml and the experiments are bundled."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "gradscope").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
    assert "gradscope.experiments" in listed


def test_bundled_experiments_are_the_top_level_files() -> None:
    from gradscope.sweeps.bundled import bundled_experiments

    names = set(bundled_experiments())
    assert {p.stem for p in (ROOT / "experiments").glob("*.toml")} == names
    assert {"quick", "vanishing", "exploding", "remedies", "glorot2010", "he2015"} <= names
