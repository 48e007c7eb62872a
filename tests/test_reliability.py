"""Nothing a user has is lost, no input crashes, exit codes mean something (issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gradscope.sweeps.run as run_module
from gradscope.cli import main
from gradscope.core.errors import ConfigError
from gradscope.sweeps import run_sweep
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.grid import LARGE_GRID, GridTooLarge, parse_sweep, plan_sweep
from gradscope.sweeps.outdir import LOCK_NAME, OutputLock, claim_output
from gradscope.sweeps.preflight import preflight, run_memory

TINY = dict(width=6, steps=3, n_samples=32, batch_size=16, record_every=1)
A = [RunConfig(depth=d, **TINY) for d in (2, 3)]
B = [RunConfig(depth=4, **TINY)]


def cli(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Invoke the CLI in this process; exit code and everything it printed."""
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


# -- 1. nothing lost -------------------------------------------------------------------------------


def test_a_folder_of_another_config_is_refused_and_left_untouched(tmp_path: Path) -> None:
    run_sweep(A, tmp_path, workers=0, quiet=True)
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError) as info:
        run_sweep(B, tmp_path, workers=0, quiet=True)
    text = str(info.value)
    assert "another config" in text and "--force" in text and "resume" in text
    assert snapshot(tmp_path) == before
    again = run_sweep(A, tmp_path, workers=0, quiet=True)  # the same config resumes
    assert (again.ran, again.resumed) == (0, 2)
    grown = run_sweep(A + B, tmp_path, workers=0, quiet=True)  # adding runs keeps the old ones
    assert (grown.ran, grown.resumed) == (1, 2)
    with pytest.raises(ConfigError, match="another config"):  # dropping runs would lose them
        run_sweep(A[:1], tmp_path, workers=0, quiet=True)
    replaced = run_sweep(B, tmp_path, workers=0, quiet=True, force=True)
    assert replaced.ran == 1  # --force recomputes: nothing of the old sweep is reused
    assert list(replaced.runs["run_id"]) == [B[0].run_id]
    assert sorted(p.stem for p in (tmp_path / "parts").glob("*.npz")) == [B[0].run_id]


def test_run_out_onto_a_sweep_folder_exits_2_and_keeps_the_sweep(tmp_path: Path) -> None:
    run_sweep(A, tmp_path / "s", workers=0, quiet=True)
    before = snapshot(tmp_path / "s")
    code, out = cli("run", "--depth", "5", "--width", "6", "--steps", "3", "--n-samples", "32",
                    "--out", str(tmp_path / "s"))
    assert code == 2 and "another config" in out
    assert snapshot(tmp_path / "s") == before


def test_results_without_parts_are_not_recomputed_silently(tmp_path: Path) -> None:
    """The committed reports keep CSVs only: the same config would replace them unasked."""
    run_sweep(A, tmp_path, workers=0, quiet=True)
    for part in (tmp_path / "parts").glob("*.npz"):
        part.unlink()
    with pytest.raises(ConfigError, match="no part file"):
        claim_output(tmp_path, [c.run_id for c in A])
    claim_output(tmp_path, [c.run_id for c in A], force=True)
    assert not (tmp_path / "runs.csv").exists()


def test_a_live_writer_is_named_and_a_dead_ones_lock_taken_over(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps(
            {"pid": other.pid, "command": "gradscope sweep x", "since": "2026-01-01T00:00:00"}))
        with pytest.raises(ConfigError) as info:
            run_sweep(A, tmp_path, workers=0, quiet=True)
        assert f"pid {other.pid}" in str(info.value) and "gradscope sweep x" in str(info.value)
        assert not (tmp_path / "runs.csv").exists()
    finally:
        other.kill()
        other.wait()
    run_sweep(A, tmp_path, workers=0, quiet=True)  # its process is gone: the lock is stale
    assert (tmp_path / "runs.csv").exists() and not (tmp_path / LOCK_NAME).exists()


def test_the_lock_is_exclusive_within_one_machine(tmp_path: Path) -> None:
    with OutputLock(tmp_path):
        info = json.loads((tmp_path / LOCK_NAME).read_text())
        assert info["pid"] == os.getpid()
        with pytest.raises(ConfigError):
            OutputLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reported")
    run_sweep(A, out, workers=0, quiet=True)
    code, text = cli("report", str(out))
    assert code == 0, text
    return out


def _damage_last_row(text: str) -> str:
    head, last = text.rstrip("\n").rsplit("\n", 1)
    return head + "\n" + ",".join(last.split(",")[:3]) + "\n"


DAMAGE = {
    "runs-truncated-row": ("runs.csv", _damage_last_row, "line 3"),
    "runs-header-only": ("runs.csv", lambda t: t.split("\n", 1)[0] + "\n", "no rows"),
    "runs-cut-mid-line": ("runs.csv", lambda t: t[: len(t) // 2], "cut off"),
    "runs-empty": ("runs.csv", lambda t: "", "empty"),
    "layers-truncated-row": ("layers.csv", _damage_last_row, "layers.csv, line"),
    "layers-text-in-number": ("layers.csv", lambda t: t.replace(",dense,", ",dense,x", 1),
                              "not a number"),
    "steps-missing-column": ("steps.csv", lambda t: t.replace("run_id", "rid", 1), "run_id"),
    "semicolons": ("runs.csv", lambda t: t.replace(",", ";"), "';'"),
    "bad-status": ("runs.csv", lambda t: t.replace(",ok,", ",okay,", 1), "status"),
    "binary": ("steps.csv", lambda t: "\x00\xff", "CSV"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_report_refuses_a_bad_csv_naming_it_and_writes_nothing(reported: Path, tmp_path: Path,
                                                               case: str) -> None:
    file, damage, words = DAMAGE[case]
    folder = tmp_path / "copy"
    folder.mkdir()
    for name, data in snapshot(reported).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    path = folder / file
    if case == "binary":
        path.write_bytes(b"\x00\xff\xfe")
    else:
        path.write_text(damage(path.read_text()))
    before = snapshot(folder)
    code, out = cli("report", str(folder))
    assert code == 2, out
    assert file in out and words in out
    assert snapshot(folder) == before  # no plot deleted, no report rewritten


# -- 2. exit codes and preflight -----------------------------------------------------------------


def test_a_failed_run_exits_1_with_its_error_once(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_module.build

    def flaky(cfg: RunConfig):
        if cfg.depth == 3:
            raise MemoryError("Unable to allocate 728 TiB")
        return real(cfg)

    monkeypatch.setattr(run_module, "build", flaky)
    config = tmp_path / "c.toml"
    config.write_text('name = "c"\n[grid]\ndepth = [2, 3]\nseed = [0, 1]\n[fixed]\nwidth = 6\n'
                      "steps = 3\nn_samples = 32\n")
    code, out = cli("sweep", str(config), "--out", str(tmp_path / "o"), "--workers", "0",
                    "--no-report", "-q")
    assert code == 1, out
    assert out.count("MemoryError: Unable to allocate 728 TiB") == 1  # two runs, one error
    assert "2 ok" in out and "2 error" in out
    assert len(pd.read_csv(tmp_path / "o" / "runs.csv")) == 4  # the finished runs are kept


BAD_RUNS = {
    "huge-width": (["--width", "10000000", "--depth", "2", "--steps", "1"], "memory"),
    "huge-steps": (["--steps", "99999999999999999999"], "steps"),
    "dataset-option": (["--dataset", "spirals:1"], "arms"),
    "bce-3-classes": (["--dataset", "blobs", "--loss", "bce"], "bce"),
    "one-class": (["--n-samples", "1"], "single class"),
    "unrecorded-step": (["--step", "3", "--steps", "20"], "not a recorded step"),
    "empty-out": (["--out", ""], "empty"),
    "out-under-a-file": (["--out", "__FILE__/x"], "is a file"),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_bad_run_inputs_exit_2_before_running(tmp_path: Path, case: str) -> None:
    args, words = BAD_RUNS[case]
    (tmp_path / "afile").write_text("x")
    args = [a.replace("__FILE__", str(tmp_path / "afile")) for a in args]
    code, out = cli("run", "--depth", "2", "--width", "4", *args, cwd=tmp_path)
    assert code == 2, out
    assert words in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written


def test_an_unwritable_out_is_refused_before_running(tmp_path: Path) -> None:
    """chmod cannot stop root (CI containers often run as root), so the expectation follows
    os.access; `--out` under a file (BAD_RUNS) checks the same path as any user."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, out = cli("run", "--depth", "2", "--width", "4", "--out", str(locked / "o"))
        if os.access(locked, os.W_OK):  # root may write anywhere: then the run just works
            assert code == 0
        else:
            assert code == 2 and "not writable" in out
    finally:
        locked.chmod(0o700)


def test_the_memory_estimate_grows_with_the_run_and_refuses_the_impossible() -> None:
    small = run_memory(RunConfig(depth=2, width=8))
    assert small < run_memory(RunConfig(depth=4, width=8)) < run_memory(RunConfig(depth=4,
                                                                                  width=16))
    # 2 hidden layers of 10^7 units: W of 10^14 float64 numbers, 4 copies ≈ 2.9 PiB
    big = run_memory(RunConfig(depth=2, width=10**7, steps=1))
    assert 2.5e15 < big < 4e15
    with pytest.raises(ConfigError, match="memory"):
        preflight([RunConfig(depth=2, width=10**7, steps=1)])
    preflight([RunConfig(depth=2, width=8, steps=2)])


def test_a_huge_grid_is_counted_without_building_its_runs() -> None:
    axes = {k: list(range(1, 11)) for k in ("depth", "width", "seed", "batch_size", "record_every")}
    axes["data_seed"] = list(range(10))
    plan = plan_sweep({"grid": axes})
    t0 = time.perf_counter()
    assert plan.count == 10**6
    with pytest.raises(GridTooLarge) as info:
        plan.expand(LARGE_GRID)
    assert time.perf_counter() - t0 < 1.0
    assert "1,000,000" in str(info.value) and "--yes" in str(info.value)
    first = list(zip(range(3), plan.iter_runs(), strict=False))
    assert len(first) == 3  # listed lazily
    code, out = cli("validate", "--list", "quick")
    assert code == 0 and "24 runs" in out


def test_sweep_refuses_a_huge_grid_without_a_terminal_or_yes(tmp_path: Path) -> None:
    config = tmp_path / "big.toml"
    config.write_text("[grid]\n" + "\n".join(f"{k} = {list(range(1, 11))}" for k in
                                             ("depth", "width", "seed", "batch_size", "lr")))
    code, out = cli("sweep", str(config), "--out", str(tmp_path / "o"))
    assert code == 2 and "100,000 runs" in out and "--yes" in out
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, words", [
    (["theory", "--activation", "tanh", "--init", "he", "--depth", "1000000000"], "depth"),
    (["explain", "--depth", "100000"], "depth"),
    (["explain", "--seed", "-1"], "seed"),
    (["explain", "--width", "100000"], "memory"),
    (["spectrum", "--width", "100000", "--out", "__TMP__"], "memory"),
    (["spectrum", "--out", ""], "empty"),
])
def test_size_and_range_errors_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    args = [a.replace("__TMP__", str(tmp_path / "sp")) for a in args]
    code, out = cli(*args)
    assert code == 2, out
    assert words in out
    assert not (tmp_path / "sp").exists()


def test_explain_survives_a_gradient_that_underflows_to_zero() -> None:
    code, out = cli("explain", "--depth", "400")
    assert code == 0, out
    assert "vanishes" in out


# -- 5. paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", "a\\b"])
def test_a_config_name_is_a_name_not_a_path(name: str) -> None:
    with pytest.raises(ConfigError, match="plain name"):
        parse_sweep({"name": name, "grid": {"depth": [2]}})


def test_relative_csv_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame["y"] = (frame["a"] > 0).astype(int)
    frame.to_csv(folder / "data.csv", index=False)
    (folder / "s.toml").write_text('[fixed]\ndataset = "csv:data.csv"\ndepth = 2\nwidth = 4\n'
                                   "steps = 2\n")
    code, out = cli("validate", str(folder / "s.toml"), cwd=tmp_path)  # another cwd
    assert code == 0, out


@pytest.mark.parametrize("toml, words", [
    ("", "defines no runs"),
    ("[grid]\nseed = [0, 0]\n", "twice"),
    ('[fixed]\ninit = "xaviar"\n', 'init = "xaviar"'),
])
def test_configs_that_would_run_something_else_silently_are_refused(tmp_path: Path, toml: str,
                                                                     words: str) -> None:
    (tmp_path / "c.toml").write_text(toml)
    code, out = cli("validate", str(tmp_path / "c.toml"))
    assert code == 2 and words in out
    assert out.count('init = "xaviar"') <= 1  # the key and value are named once


def test_the_manifest_records_the_environment_and_the_times(tmp_path: Path) -> None:
    run_sweep(A[:1], tmp_path, workers=0, quiet=True)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["started"] <= manifest["finished"]
    assert {"python", "numpy", "gradscope"} <= set(manifest["versions"])
    assert manifest["cpu"] and manifest["blas"]
    assert any(b.get("architecture") for b in manifest["blas"])  # the kernel, via threadpoolctl


def test_the_report_shows_when_the_sweep_ran(reported: Path) -> None:
    manifest = json.loads((reported / "manifest.json").read_text())
    text = (reported / "report.md").read_text()
    assert f"started: {manifest['started']}" in text
    assert f"finished: {manifest['finished']}" in text


@pytest.mark.parametrize("args, words", [
    (["sweep", "missing.toml"], "does not exist"),
    (["sweep", "__TMP__"], "is a folder"),
    (["validate", ""], "empty"),
    (["run", "--activation", "RELU"], 'Did you mean "relu"'),
    (["diagnose", "--from", "__TMP__", "--depth", "4"], "cannot be combined with --from"),
])
def test_smaller_findings_get_a_precise_message(tmp_path: Path, args: list[str],
                                                words: str) -> None:
    code, out = cli(*[a.replace("__TMP__", str(tmp_path)) for a in args])
    assert code == 2 and words in out, out
    assert "vanishing\"?" not in out  # no far-fetched did-you-mean for a missing file


def test_a_csv_that_cannot_be_read_is_named(reported: Path, tmp_path: Path) -> None:
    """An unreadable runs.csv (here a folder in its place, which even root cannot read as a
    file; chmod 000 would not stop root) is a one-paragraph error, nothing written."""
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "runs.csv").mkdir()
    code, out = cli("report", str(folder))
    assert code == 2 and "runs.csv is a folder" in out
    assert sorted(p.name for p in folder.iterdir()) == ["runs.csv"]
