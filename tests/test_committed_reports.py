"""The committed reports/ are the real output of experiments/*.toml (regenerated, not edited)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gradscope.sweeps import run_sweep
from gradscope.sweeps.grid import load_sweep

ROOT = Path(__file__).resolve().parents[1]


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
    # 15 MiB for the seven experiments of 0.1; +3 MiB for the three of the science round
    # (digits_sigmoid 0.8, hanin2019 0.4, schoenholz2017 1.9 MiB)
    assert size < 18 * 2**20, f"reports/ holds {size / 2**20:.1f} MiB (limit 18 MiB)"


def test_regenerating_quick_gives_the_committed_results(tmp_path: Path) -> None:
    """What is machine-independent is compared: which runs, their status and diagnosis, and every
    quantity measured at step 0 (before any update) to 1e-9 relative. Trained quantities (final
    loss, later steps) are not: another CPU's BLAS kernel rounds differently, and 150 SGD steps
    on a chaotic loss surface turn 1e-16 into visibly different end points."""
    run_sweep(load_sweep(ROOT / "experiments" / "quick.toml"), tmp_path, workers=2, quiet=True)
    fresh = pd.read_csv(tmp_path / "runs.csv")
    committed = pd.read_csv(ROOT / "reports" / "quick" / "runs.csv")
    for col in ("run_id", "status", "diagnosis"):
        assert fresh[col].tolist() == committed[col].tolist(), col
    for col in ("grad_ratio_log10", "delta_ratio_log10"):
        np.testing.assert_allclose(fresh[col], committed[col], rtol=1e-9, atol=1e-12)
    new = pd.read_csv(tmp_path / "layers.csv").query("step == 0").reset_index(drop=True)
    old = pd.read_csv(ROOT / "reports" / "quick" / "layers.csv").query("step == 0")
    old = old.reset_index(drop=True)
    assert len(new) == len(old) > 0
    assert new[["run_id", "layer", "name", "kind"]].equals(old[["run_id", "layer", "name", "kind"]])
    for col in old.columns[7:]:
        np.testing.assert_allclose(new[col].to_numpy(float), old[col].to_numpy(float),
                                   rtol=1e-9, atol=0, equal_nan=True, err_msg=col)
