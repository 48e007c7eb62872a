"""Ensembles: every member bit-identical to its run alone; sweeps identical with ensembles on/off.

All comparisons are between the ensemble path and the one-run path on the same machine, so they
hold on any BLAS kernel (both call the same gemm/dot per member).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gradscope.recording.stacked as stacked
import gradscope.sweeps.ensembles as ensembles
from gradscope.cli import main
from gradscope.ensemble.stack import NotStackable, StackedMLP
from gradscope.ensemble.train import Member, train_ensemble
from gradscope.nn.layers import Activation
from gradscope.nn.mlp import mlp
from gradscope.recording.quantities import SOURCES
from gradscope.recording.recorder import GradientRecorder
from gradscope.recording.stacked import l2_norms, reduce_stacked
from gradscope.recording.stats import l2_norm
from gradscope.sweeps import run_sweep
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.ensembles import execute_task, plan_tasks
from gradscope.sweeps.grid import load_plan
from gradscope.sweeps.run import execute_run
from gradscope.sweeps.store import PartStore
from gradscope.training.datasets import load_dataset
from gradscope.training.loop import train

BASE = dict(depth=4, width=16, steps=30, record_every=5, n_samples=128)
GROUPS = {
    "seed and init": [RunConfig(**BASE, seed=s, init=i, activation=a)
                      for s in (0, 1) for i in ("he", "normal:0.01", "xavier")
                      for a in ("sigmoid",)],
    "lr, optimiser, clip": [RunConfig(**BASE, activation="tanh", lr=lr, optimizer=o, clip=c)
                            for lr in (0.05, 0.5) for o in ("sgd", "momentum", "adam")
                            for c in (0.0, 1.0)],
    "divergence mid-run": [RunConfig(**{**BASE, "depth": 8}, activation="relu", init=i, lr=lr,
                                     seed=s)
                           for i in ("normal:1.0", "he") for lr in (0.05, 1.0) for s in (0, 1)],
    "residual, hist": [RunConfig(**BASE, residual=True, activation="tanh", seed=s, hist=True)
                       for s in (0, 1, 2)],
    "data seed, regression, float32": [
        RunConfig(**BASE, dataset="teacher", seed=s, data_seed=s, activation="gelu",
                  dtype="float32", optimizer=o) for s in (0, 1) for o in ("sgd", "adam")],
    "bce": [RunConfig(**BASE, dataset="xor", loss="bce", seed=s, activation="elu")
            for s in (0, 1)],
}


def _summary(result) -> dict:
    return {k: v for k, v in result.summary.items() if k != "wall_s"}


def _assert_same_result(a, b) -> None:
    assert str(_summary(a)) == str(_summary(b))  # str: NaN == NaN
    pd.testing.assert_frame_equal(a.layers, b.layers, check_exact=True)
    pd.testing.assert_frame_equal(a.steps, b.steps, check_exact=True)
    if b.hist is not None:
        pd.testing.assert_frame_equal(a.hist, b.hist, check_exact=True)


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_member_is_bit_identical_to_its_run_alone(group: str, monkeypatch) -> None:
    configs = GROUPS[group]
    alone = [execute_run(cfg) for cfg in configs]

    def no_fallback(cfg: RunConfig):
        raise AssertionError("the ensemble fell back to single runs")

    monkeypatch.setattr(ensembles, "execute_run", no_fallback)
    together = execute_task(tuple(configs))
    for a, b in zip(together, alone, strict=True):
        _assert_same_result(a, b)
    if group == "divergence mid-run":
        steps = [r.summary["first_nonfinite_step"] for r in alone]
        assert {"ok", "diverged"} <= {r.status for r in alone}
        assert any(s not in (None, 0) for s in steps), "a member must diverge after step 0"


def test_train_ensemble_equals_train_with_a_recorder() -> None:
    """The API level: History and recorder frames of `train` for every member."""
    data = load_dataset("spirals", n=128, seed=0)
    specs = [(0, "sgd", 0.1, None), (1, "momentum", 0.05, 0.5), (2, "adam", 0.01, None)]
    members = [Member(mlp(2, 2, 5, 12, "tanh", "xavier", seed=s), data, seed=s,
                      optimizer=o, lr=lr, clip=c) for s, o, lr, c in specs]
    results = train_ensemble(members, steps=25, batch_size=32, every=3, hist=True)
    for (s, o, lr, c), got in zip(specs, results, strict=True):
        net = mlp(2, 2, 5, 12, "tanh", "xavier", seed=s)
        rec = GradientRecorder(net, every=3, hist=True)
        history = train(net, data, optimizer=o, lr=lr, steps=25, batch_size=32,
                        recorder=rec, seed=s, clip=c)
        pd.testing.assert_frame_equal(got.history.to_frame(), history.to_frame(),
                                      check_exact=True)
        assert (got.history.status, got.history.final_loss, got.history.final_accuracy) == (
            history.status, history.final_loss, history.final_accuracy)
        pd.testing.assert_frame_equal(got.layers(), rec.to_frame(), check_exact=True)
        pd.testing.assert_frame_equal(got.hist(), rec.hist_frame(), check_exact=True)


def test_stacked_statistics_equal_the_one_run_reductions(rng: np.random.Generator) -> None:
    """Fast path and every fallback (underflow, overflow, inf, nan, zeros, cancellation)."""
    a = rng.standard_normal((8, 32, 6))
    a[1] *= 1e-200  # sum of squares underflows
    a[2] *= 1e200  # overflows
    a[3, 0, 0] = np.inf
    a[4, 5, 2] = np.nan
    a[5] = 0.0
    a[6] = 0.5 + 1e-9 * a[6]  # the one-pass variance cancels
    z = rng.standard_normal(a.shape)
    act = Activation("sigmoid")
    for source in ("grad", "bias_grad", "delta", "weight", "bias", "update"):
        got = reduce_stacked(source, a)
        with np.errstate(all="ignore"):  # as the recorder's hooks run the reductions
            want = np.array([SOURCES[source].reduce(m) for m in a], dtype=float)
        np.testing.assert_array_equal(got, want, err_msg=source)
    got = reduce_stacked("activation", a, z, act)
    with np.errstate(all="ignore"):  # as the recorder's hooks run it
        want = np.array([SOURCES["activation"].reduce(m, zm, act)
                         for m, zm in zip(a, z, strict=True)])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(l2_norms(a), [l2_norm(m) for m in a])


def test_nets_of_other_shapes_or_norm_layers_are_not_stacked() -> None:
    with pytest.raises(NotStackable):
        StackedMLP([mlp(2, 2, 3, 8, seed=0), mlp(2, 2, 4, 8, seed=1)])
    with pytest.raises(NotStackable):
        StackedMLP([mlp(2, 2, 3, 8, norm="batchnorm", seed=0)])
    data = load_dataset("spirals", n=64)
    float32 = [Member(mlp(2, 2, 3, 8, seed=s, dtype="float32"), data, seed=s, clip=1.0)
               for s in (0, 1)]
    with pytest.raises(NotStackable):  # a float32 run's clipped gradient is float64
        train_ensemble(float32, steps=2, batch_size=16, every=1)


def test_plan_groups_by_shared_fields_caps_and_splits_for_workers() -> None:
    same = [RunConfig(depth=3, seed=s, lr=0.1 * (s + 1)) for s in range(6)]
    other = [RunConfig(depth=5, seed=s) for s in range(3)]
    normed = [RunConfig(depth=3, norm="layernorm", seed=s) for s in range(2)]
    tasks = plan_tasks(same + other + normed)
    assert tasks == [tuple(same), tuple(other), (normed[0],), (normed[1],)]
    assert plan_tasks(same, ensemble=False) == [(c,) for c in same]
    assert [len(t) for t in plan_tasks(same, max_members=4)] == [4, 2]
    assert [len(t) for t in plan_tasks(same, workers=4)] == [2, 1, 2, 1]
    assert sum(plan_tasks(same + other, workers=8), ()) == tuple(same + other)


def test_memory_caps_the_ensemble_size(monkeypatch) -> None:
    configs = [RunConfig(depth=3, seed=s) for s in range(5)]
    per_member = ensembles.member_bytes(configs[0])
    monkeypatch.setattr(ensembles, "ensemble_cap", lambda b: int(2.5 * per_member) // b)
    assert [len(t) for t in plan_tasks(configs)] == [2, 2, 1]


def _bundled_small(name: str, steps: int = 10, max_runs: int = 24) -> list[RunConfig]:
    """The first `max_runs` distinct runs of a bundled experiment's grid, with small nets and
    few steps (grid order keeps runs that differ in seed/init/clip next to each other)."""
    runs = {}
    for cfg in load_plan(name).expand().runs:
        small = dataclasses.replace(cfg, depth=min(cfg.depth, 6), width=min(cfg.width, 12),
                                    steps=min(cfg.steps, steps), n_samples=96,
                                    record_every=min(cfg.record_every, 3))
        runs[small.run_id] = small
    return list(runs.values())[:max_runs]


def _same_csvs(a: Path, b: Path) -> None:
    ra, rb = pd.read_csv(a / "runs.csv"), pd.read_csv(b / "runs.csv")
    pd.testing.assert_frame_equal(ra.drop(columns="wall_s"), rb.drop(columns="wall_s"),
                                  check_exact=True)
    for name in ("layers.csv", "steps.csv", "hist.csv"):
        assert (a / name).exists() == (b / name).exists(), name
        if (a / name).exists():
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("name", ["quick", "vanishing", "exploding", "remedies", "glorot2010",
                                  "he2015"])
def test_bundled_sweeps_give_identical_csvs_with_and_without_ensembles(
        name: str, tmp_path: Path) -> None:
    configs = _bundled_small(name)
    assert any(len(t) > 1 for t in plan_tasks(configs)), "the grid must form ensembles"
    run_sweep(configs, tmp_path / "on", workers=0, quiet=True, ensemble=True)
    run_sweep(configs, tmp_path / "off", workers=0, quiet=True, ensemble=False)
    _same_csvs(tmp_path / "on", tmp_path / "off")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quick", "exploding"])
def test_bundled_sweeps_at_full_size_are_identical_with_and_without_ensembles(
        name: str, tmp_path: Path) -> None:
    configs = list(load_plan(name).expand().runs)
    run_sweep(configs, tmp_path / "on", workers=0, quiet=True, ensemble=True)
    run_sweep(configs, tmp_path / "off", workers=0, quiet=True, ensemble=False)
    _same_csvs(tmp_path / "on", tmp_path / "off")


def test_a_partly_finished_ensemble_resumes_only_its_missing_members(tmp_path: Path,
                                                                    monkeypatch) -> None:
    configs = [RunConfig(**BASE, seed=s, init=i) for s in range(3) for i in ("he", "xavier")]
    run_sweep(configs, tmp_path / "full", workers=0, quiet=True)
    store = PartStore(tmp_path / "full")
    missing = configs[1::2]
    for cfg in missing:  # as if killed before these members were saved
        store.path(cfg.run_id).unlink()
    (tmp_path / "full" / "runs.csv").rename(tmp_path / "runs.before.csv")
    seen: list[tuple] = []
    real = ensembles.execute_task
    monkeypatch.setattr("gradscope.sweeps.executor.execute_task",
                        lambda task: seen.append(task) or real(task))
    result = run_sweep(configs, tmp_path / "full", workers=0, quiet=True)
    assert (result.ran, result.resumed) == (len(missing), len(configs) - len(missing))
    assert seen == [tuple(missing)]  # one task: the missing members, as one ensemble
    run_sweep(configs, tmp_path / "clean", workers=0, quiet=True, ensemble=False)
    _same_csvs(tmp_path / "full", tmp_path / "clean")


def test_one_and_two_workers_give_identical_csvs_with_ensembles(tmp_path: Path) -> None:
    configs = [RunConfig(**BASE, activation=a, seed=s) for a in ("tanh", "relu")
               for s in range(3)]
    assert len(plan_tasks(configs, workers=2)) == 2
    run_sweep(configs, tmp_path / "w1", workers=1, quiet=True)
    run_sweep(configs, tmp_path / "w2", workers=2, quiet=True)
    run_sweep(configs, tmp_path / "off", workers=0, quiet=True, ensemble=False)
    _same_csvs(tmp_path / "w1", tmp_path / "w2")
    _same_csvs(tmp_path / "w1", tmp_path / "off")


def test_cli_sweep_no_ensemble_runs_every_run_alone(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "s.toml"
    config.write_text('name = "s"\n[grid]\nseed = [0, 1, 2]\n[fixed]\nwidth = 8\ndepth = 2\n'
                      "steps = 3\nn_samples = 64\n")
    seen: list[int] = []
    real = ensembles.execute_task
    monkeypatch.setattr("gradscope.sweeps.executor.execute_task",
                        lambda task: seen.append(len(task)) or real(task))
    for flag, sizes in (("--no-ensemble", [1, 1, 1]), ("--ensemble", [3])):
        seen.clear()
        out = tmp_path / flag
        result = CliRunner().invoke(main, ["sweep", str(config), "--out", str(out), flag,
                                           "--workers", "0", "--no-report", "--quiet"])
        assert result.exit_code == 0, result.output
        assert seen == sizes
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["ensembles"] is (flag == "--ensemble")


def test_a_source_without_a_stacked_form_is_reduced_member_by_member(
        rng: np.random.Generator, monkeypatch) -> None:
    a = rng.standard_normal((3, 4, 5))
    monkeypatch.setattr(stacked, "_FAST", {k: v for k, v in stacked._FAST.items()
                                           if k != "weight"})
    np.testing.assert_array_equal(reduce_stacked("weight", a),
                                  [SOURCES["weight"].reduce(m) for m in a])
