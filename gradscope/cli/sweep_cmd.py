"""`gradscope sweep CONFIG`: run a grid of experiments into CSVs, resumably, in parallel."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gradscope.cli.common import fail_runs
from gradscope.cli.options import force_option, out_option, quiet_option, yes_option
from gradscope.report import build_report
from gradscope.sweeps import run_sweep
from gradscope.sweeps.grid import LARGE_GRID, GridTooLarge, Sweep, load_plan
from gradscope.sweeps.outdir import check_out_path


def confirmed_sweep(config: str, yes: bool) -> Sweep:
    """The sweep of CONFIG; above LARGE_GRID runs ask first (or want --yes), before building."""
    plan = load_plan(config)
    try:
        return plan.expand(None if yes else LARGE_GRID)
    except GridTooLarge as exc:
        if not sys.stdin.isatty():
            raise
        if not click.confirm(f"{config} expands to {exc.count:,} runs. Run them all?",
                             err=True):
            raise SystemExit(0) from None
        return plan.expand(None)


@click.command("sweep")
@click.argument("config")
@out_option
@click.option("--workers", "-j", type=click.IntRange(min=0), default=None,
              help="Worker processes [default: the number of cores]; results are identical for "
                   "any number. 0 runs in this process (for debugging).")
@click.option("--dask", metavar="ADDRESS|local", default=None,
              help="Run on a dask.distributed scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786), "
                   "or start a LocalCluster on 127.0.0.1 with `local`.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip runs already saved in the output folder with the same config.")
@click.option("--ensemble/--no-ensemble", default=True, show_default=True,
              help="Train runs that share an architecture together as one stacked ensemble "
                   "(faster; every number identical to running them one by one).")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Build plots and report.md/report.html at the end.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True,
              help="Format of the per-layer tables (layers, steps, hist); runs.csv stays CSV. "
                   "parquet needs pyarrow (the `parquet` extra).")
@force_option
@yes_option
@quiet_option
def command(config: str, out: Path | None, workers: int | None, dask: str | None, resume: bool,
            ensemble: bool, report: bool, fmt: str, force: bool, yes: bool, quiet: bool) -> None:
    """Run every combination in CONFIG and write the CSVs (and report) to --out (out/NAME).

    CONFIG is a TOML file or the name of a bundled experiment (quick, vanishing, exploding,
    remedies, glorot2010, he2015). Each finished run is saved at once, so a sweep that is
    interrupted (Ctrl-C, SIGTERM, SIGHUP) and started again skips the finished runs and ends with
    the same files. A folder holding another config's results is refused unless --force.

    Exit codes: 0 every run finished (ok or diverged); 1 some run failed (each distinct error
    printed); 2 bad input, nothing written; 130/143/129 interrupted, finished runs kept.

    \b
    Example:
      gradscope sweep quick --out out/quick
      gradscope sweep experiments/vanishing.toml --out out/vanishing --workers 2
      gradscope sweep vanishing --out out/vanishing --dask local
    """
    if out is not None:
        check_out_path(out)
    sweep = confirmed_sweep(config, yes)
    out = out if out is not None else Path("out") / sweep.name
    result = run_sweep(sweep, out, workers=workers, dask=dask, resume=resume, force=force,
                       quiet=quiet, fmt=fmt, ensemble=ensemble)
    counts = result.counts()
    diagnoses = result.runs["diagnosis"].fillna("").value_counts()
    click.echo(f"{len(result.runs)} runs in {out} ({result.ran} ran, {result.resumed} resumed): "
               + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "diverged", "error")))
    click.echo("diagnoses: " + ", ".join(f"{n} {d or '(none)'}" for d, n in diagnoses.items()))
    if report:
        click.echo(f"report: {build_report(out)}")
    if result.errors():
        fail_runs(result.errors())
