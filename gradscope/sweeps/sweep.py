"""A sweep: skip persisted runs, execute the rest, persist each, consolidate the CSVs + manifest."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from gradscope.core.atomic import atomic_open
from gradscope.sweeps.config import RunConfig
from gradscope.sweeps.environment import environment
from gradscope.sweeps.executor import RunFn, check_executor, default_workers, execute
from gradscope.sweeps.grid import Sweep
from gradscope.sweeps.outdir import OutputLock, check_out_path, claim_output
from gradscope.sweeps.preflight import preflight
from gradscope.sweeps.progress import Progress
from gradscope.sweeps.run import RunResult, execute_run
from gradscope.sweeps.store import PartStore, check_format, consolidate
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

    def errors(self) -> list[str]:
        """Each distinct error message of the failed runs, once, in run_id order."""
        failed = self.runs.loc[self.runs["status"] == "error", "findings"]
        return list(dict.fromkeys(str(f) for f in failed))

    def _repr_html_(self) -> str:
        """The headline and one row per configuration, as HTML (shown by Jupyter)."""
        return sweep_html(self.out, self.runs, self.ran, self.resumed)



def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_manifest(out: Path, info: dict[str, Any]) -> None:
    """manifest.json: config, environment (versions, BLAS kernel, CPU), started/finished."""
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
    force: bool = False,
    quiet: bool = False,
    stream: TextIO | None = None,
    fn: RunFn = execute_run,
    on_result: Callable[[RunResult], None] | None = None,
    fmt: str = "csv",
    ensemble: bool = True,
) -> SweepResult:
    """Run every config of `sweep` into `out` (runs.csv, layers.csv, steps.csv, [hist.csv]).

    With `resume`, runs whose part file exists with the same config are not run again. The
    CSVs are rebuilt from the part files, so an interrupted-then-resumed sweep gives the same
    files as an uninterrupted one. A folder holding another config's results is refused
    (ConfigError) unless `force`, which replaces them; one process writes a folder at a time.
    Everything that can be checked before running (memory, sizes, datasets) is checked first.
    `fmt` "parquet" writes layers/steps/hist as Parquet (runs.csv stays CSV).
    `ensemble`: runs that share an architecture train together as one stacked ensemble
    (`sweeps.ensembles`; the same numbers as one by one, which `ensemble=False` does).
    """
    if not isinstance(sweep, Sweep):
        sweep = Sweep(name="runs", runs=tuple(sweep))
    check_executor(workers, dask)
    check_format(fmt)
    out = check_out_path(out)
    preflight(sweep.runs)
    out.mkdir(parents=True, exist_ok=True)
    with OutputLock(out):
        store = PartStore(out)
        store.clean_temp()
        saved = {c.run_id for c in sweep.runs if store.is_done(c)}
        claim_output(out, (c.run_id for c in sweep.runs), force=force, resumable=saved)
        if force:
            saved = set()
        todo = [c for c in sweep.runs if not (resume and c.run_id in saved)]
        return _run(sweep, out, store, todo, workers=workers, dask=dask, quiet=quiet,
                    stream=stream, fn=fn, on_result=on_result, fmt=fmt, ensemble=ensemble)


def _run(sweep: Sweep, out: Path, store: PartStore, todo: list[RunConfig], *,
         workers: int | None, dask: str | None, quiet: bool, stream: TextIO | None, fn: RunFn,
         on_result: Callable[[RunResult], None] | None, fmt: str = "csv",
         ensemble: bool = True) -> SweepResult:
    resumed = len(sweep.runs) - len(todo)
    env = environment()
    manifest: dict[str, Any] = {
        "name": sweep.name, "description": sweep.description, "source": sweep.source,
        "config": sweep.raw, "n_runs": len(sweep.runs),
        "run_ids": sorted(c.run_id for c in sweep.runs),
        "executor": f"dask:{dask}" if dask else "processes" if workers != 0 else "in-process",
        "workers": default_workers() if workers is None else workers, "ensembles": ensemble,
        "started": _now(), "finished": None, "resumed_runs": resumed,
        **env,
    }
    write_manifest(out, manifest)
    progress = Progress(len(sweep.runs), resumed=resumed, quiet=quiet, stream=stream)
    progress.begin()
    results = execute(todo, workers=workers, dask=dask, fn=fn, ensemble=ensemble)
    try:
        for result in results:
            store.save(result)
            progress.update(result.status)
            if on_result is not None:
                on_result(result)
    finally:
        progress.close()
        close = getattr(results, "close", None)
        if close is not None:  # stop the workers now, even when interrupted (no orphans)
            close()
    tables = consolidate(out, [c.run_id for c in sweep.runs], fmt=fmt)
    runs = tables["runs"]
    manifest.update(finished=_now(), status_counts=dict(Counter(runs["status"])),
                    diagnosis_counts=dict(Counter(runs["diagnosis"].fillna(""))))
    write_manifest(out, manifest)
    return SweepResult(out, runs, ran=len(todo), resumed=len(sweep.runs) - len(todo))


def run_single(cfg: RunConfig, out: str | Path | None = None, *, workers: int = 1,
               force: bool = False) -> RunResult:
    """One run in a one-process pool (the same numbers as in any sweep); `out`: write its CSVs
    (refused, unless `force`, when `out` holds another config's results)."""
    results: list[RunResult] = []
    if out is None:
        preflight((cfg,))
        results.extend(execute([cfg], workers=workers))
    else:
        run_sweep(Sweep(name=f"run-{cfg.run_id}", runs=(cfg,), raw={"fixed": cfg.asdict()}),
                  out, workers=workers, resume=False, force=force, quiet=True,
                  on_result=results.append)
    return results[0]
