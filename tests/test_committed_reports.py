"""The committed reports/ are the real output of experiments/*.toml (regenerated, not edited)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gradscope.grid import load_sweep
from gradscope.runner import run_sweep

ROOT = Path(__file__).resolve().parents[1]
WALL_CLOCK = ["wall_s"]


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "experiments").glob("*.toml")))
def test_every_experiment_has_a_committed_report(name: str) -> None:
    out = ROOT / "reports" / name
    for file in ("runs.csv", "layers.csv", "steps.csv", "manifest.json", "report.md",
                 "report.html"):
        assert (out / file).is_file(), f"reports/{name}/{file} is missing"
    pngs = list((out / "plots").glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
    md = (out / "report.md").read_text()
    assert all(f"plots/{p.name}" in md for p in pngs)


def test_reports_stay_small() -> None:
    size = sum(p.stat().st_size for p in (ROOT / "reports").rglob("*") if p.is_file()
               and "parts" not in p.parts)
    assert size < 15 * 2**20, f"reports/ holds {size / 2**20:.1f} MiB (limit 15 MiB)"


def test_regenerating_quick_gives_the_committed_runs_csv(tmp_path: Path) -> None:
    run_sweep(load_sweep(ROOT / "experiments" / "quick.toml"), tmp_path, workers=2, quiet=True)
    fresh = pd.read_csv(tmp_path / "runs.csv").drop(columns=WALL_CLOCK)
    committed = pd.read_csv(ROOT / "reports" / "quick" / "runs.csv").drop(columns=WALL_CLOCK)
    pd.testing.assert_frame_equal(fresh, committed)
