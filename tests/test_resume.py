"""A sweep killed with SIGKILL mid-way and started again ends with the same CSVs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from gradscope.sweeps import run_sweep
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.store import PartStore

CONFIG = """
name = "resume-test"
[grid]
depth = [4, 12]
activation = ["sigmoid", "relu"]
seed = [0, 1, 2, 3]
[fixed]
width = 32
steps = 60
record_every = 10
n_samples = 256
"""
N_RUNS = 16


def _sweep(config: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gradscope", "sweep", str(config), "--out", str(out),
         "--workers", "1", "--no-report"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True,
        cwd=config.parent)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    return out


def _frames(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(out / f"{name}.csv") for name in ("runs", "layers", "steps")}


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_killed_sweep_resumes_to_identical_csvs(tmp_path: Path) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text(CONFIG)
    killed, clean = tmp_path / "killed", tmp_path / "clean"

    proc = _sweep(config, killed)
    parts = killed / "parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("*.npz"))) < 3:
        assert proc.poll() is None, proc.communicate()[1]  # it must still be running
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes
    proc.wait(timeout=30)
    saved = len(list(parts.glob("*.npz")))
    assert 3 <= saved < N_RUNS, "the kill must land mid-sweep"
    assert not (killed / "runs.csv").exists()

    resumed_out = _finish(_sweep(config, killed))
    assert f"{saved} resumed" in resumed_out
    _finish(_sweep(config, clean))

    a, b = _frames(killed), _frames(clean)
    assert len(a["runs"]) == N_RUNS
    assert list(a["runs"]["run_id"]) == sorted(a["runs"]["run_id"])
    pd.testing.assert_frame_equal(a["runs"].drop(columns="wall_s"),
                                  b["runs"].drop(columns="wall_s"), check_exact=True)
    for name in ("layers.csv", "steps.csv"):  # no wall-clock columns: byte-identical files
        assert (killed / name).read_bytes() == (clean / name).read_bytes()
    assert not list(parts.glob(".*.tmp"))


def test_resume_reruns_only_missing_changed_or_damaged_parts(tmp_path: Path) -> None:
    configs = [RunConfig(depth=2, width=8, steps=4, n_samples=64, seed=s) for s in range(3)]
    first = run_sweep(configs, tmp_path, workers=0, quiet=True)
    assert (first.ran, first.resumed) == (3, 0)
    store = PartStore(tmp_path)
    store.path(configs[0].run_id).write_bytes(b"damaged")
    store.path(configs[1].run_id).unlink()
    second = run_sweep(configs, tmp_path, workers=0, quiet=True)
    assert (second.ran, second.resumed) == (2, 1)
    third = run_sweep(configs, tmp_path, workers=0, quiet=True, resume=False)
    assert (third.ran, third.resumed) == (3, 0)
