"""SIGTERM/SIGHUP end a sweep like Ctrl-C: workers stopped, finished runs kept, no orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CONFIG = """
name = "signals"
[fixed]
width = 32
n_samples = 256
record_every = 100
[[runs]]            # quick runs first: one is saved within seconds
depth = [2, 3]
steps = 5
[[runs]]            # then runs that take minutes: the signal must not wait for them
depth = [6, 7, 8, 9]
steps = 100000
"""


def _descendants(pid: int) -> set[int]:
    """Every process whose ancestry leads to `pid` (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found, frontier = set(), {pid}
        while frontier:
            frontier = {p for p, pp in parents.items() if pp in frontier} - found
            found |= frontier
        return found
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead: it only waits for its parent to read its status
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_sweep_keeps_its_runs_and_leaves_no_process(
        tmp_path: Path, sig: int, code: int) -> None:
    _signal_a_sweep(tmp_path, sig, code, [])


@pytest.mark.slow  # a dask LocalCluster starts in ~10–30 s on a loaded machine
@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_sigterm_stops_a_dask_sweep_and_leaves_no_process(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra")
    _signal_a_sweep(tmp_path, signal.SIGTERM, 143, ["--dask", "local"])


def _signal_a_sweep(tmp_path: Path, sig: int, code: int, executor: list[str]) -> None:
    """Start a sweep (2 workers), send `sig` once a run is saved: exit `code`, runs kept, no
    child process alive afterwards."""
    config = tmp_path / "s.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradscope", "sweep", str(config), "--out", str(out),
         "--workers", "2", "--no-report", *executor],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    children: set[int] = set()
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:  # until a run is saved and the workers are up
            children |= _descendants(proc.pid)
            if len(children) >= 3 and list((out / "parts").glob("*.npz")):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        else:
            pytest.fail("the sweep saved no run in time")
        time.sleep(1.0)  # the long runs are under way
        children |= _descendants(proc.pid)
        sent = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        stopped_after = time.monotonic() - sent
        assert proc.returncode == code, err
        assert stopped_after < 20, "the sweep waited for its runs instead of stopping them"
        assert "Traceback" not in err and "interrupted" in err
        assert list((out / "parts").glob("*.npz"))  # finished runs kept
        assert not (out / ".gradscope.lock").exists()
        time.sleep(1.0)
        survivors = sorted(p for p in children if _alive(p))
        assert survivors == [], f"processes left behind: {survivors}"
    finally:
        for pid in [proc.pid, *children]:  # whatever happened, leave nothing running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
