"""A sweep: skip persisted runs, execute the rest, persist each, consolidate the CSVs + manifest."""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from gradscope.core.atomic import atomic_open
from gradscope.core.errors import ConfigError
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.executor import RunFn, check_executor, default_workers, execute
from gradscope.sweeps.grid import Sweep
from gradscope.sweeps.progress import Progress
from gradscope.sweeps.run import RunResult, execute_run
from gradscope.sweeps.store import PartStore, consolidate
from gradscope.sweeps.summary_html import sweep_html


@dataclass(frozen=True)
class SweepResult:
    """What a sweep left in `out`: the runs table and how many runs ran, resumed, failed."""

    out: Path
    runs: pd.DataFrame
    ran: int
    resumed: int

    def counts(self) -> dict[str, int]:
        """Runs per status (ok, diverged, error)."""
        return {k: int(v) for k, v in self.runs["status"].value_counts().items()}

    def _repr_html_(self) -> str:
        """The headline and one row per configuration, as HTML (shown by Jupyter)."""
        return sweep_html(self.out, self.runs, self.ran, self.resumed)


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("gradscope", "numpy", "pandas", "click", "dask", "distributed"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_manifest(out: Path, info: dict[str, Any]) -> None:
    """manifest.json: config, versions, start/end time, machine."""
    with atomic_open(out / "manifest.json", "w") as fh:
        json.dump(info, fh, indent=2, allow_nan=True, default=str)
        fh.write("\n")


def run_sweep(
    sweep: Sweep | Sequence[RunConfig],
    out: str | Path,
    *,
    workers: int | None = None,
    dask: str | None = None,
    resume: bool = True,
    quiet: bool = False,
    stream: TextIO | None = None,
    fn: RunFn = execute_run,
    on_result: Callable[[RunResult], None] | None = None,
) -> SweepResult:
    """Run every config of `sweep` into `out` (runs.csv, layers.csv, steps.csv, [hist.csv]).

    With `resume`, runs whose part file exists with the same config are not run again. The
    CSVs are rebuilt from the part files, so an interrupted-then-resumed sweep gives the same
    files as an uninterrupted one.
    """
    if not isinstance(sweep, Sweep):
        sweep = Sweep(name="runs", runs=tuple(sweep))
    check_executor(workers, dask)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file; give a folder for the sweep's outputs.")
    out.mkdir(parents=True, exist_ok=True)
    store = PartStore(out)
    store.clean_temp()
    todo = [c for c in sweep.runs if not (resume and store.is_done(c))]
    resumed = len(sweep.runs) - len(todo)
    manifest: dict[str, Any] = {
        "name": sweep.name, "description": sweep.description, "source": sweep.source,
        "config": sweep.raw, "n_runs": len(sweep.runs),
        "run_ids": sorted(c.run_id for c in sweep.runs),
        "executor": f"dask:{dask}" if dask else "processes" if workers != 0 else "in-process",
        "workers": default_workers() if workers is None else workers,
        "started": _now(), "finished": None, "resumed_runs": resumed,
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "machine": platform.machine(),
                    "processor": platform.processor(), "cpus": default_workers(),
                    "python": sys.version.split()[0]},
    }
    write_manifest(out, manifest)
    progress = Progress(len(sweep.runs), resumed=resumed, quiet=quiet, stream=stream)
    progress.begin()
    try:
        for result in execute(todo, workers=workers, dask=dask, fn=fn):
            store.save(result)
            progress.update(result.status)
            if on_result is not None:
                on_result(result)
    finally:
        progress.close()
    tables = consolidate(out, [c.run_id for c in sweep.runs])
    runs = tables["runs"]
    manifest.update(finished=_now(), status_counts=dict(Counter(runs["status"])),
                    diagnosis_counts=dict(Counter(runs["diagnosis"].fillna(""))))
    write_manifest(out, manifest)
    return SweepResult(out, runs, ran=len(todo), resumed=resumed)


def run_single(cfg: RunConfig, out: str | Path | None = None, *, workers: int = 1) -> RunResult:
    """One run in a one-process pool (the same numbers as in any sweep); `out`: write its CSVs."""
    results: list[RunResult] = []
    if out is None:
        results.extend(execute([cfg], workers=workers))
    else:
        run_sweep(Sweep(name=f"run-{cfg.run_id}", runs=(cfg,), raw={"fixed": cfg.asdict()}),
                  out, workers=workers, resume=False, quiet=True, on_result=results.append)
    return results[0]
