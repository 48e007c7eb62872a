"""`gradscope sweep CONFIG`: run a grid of experiments into CSVs, resumably, in parallel."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.cli.options import out_option, quiet_option
from gradscope.report import build_report
from gradscope.sweeps import run_sweep
from gradscope.sweeps.executor import WorkerLost
from gradscope.sweeps.grid import load_sweep


def _build_report(out: Path) -> None:
    click.echo(f"report: {build_report(out)}")


@click.command("sweep")
@click.argument("config")
@out_option
@click.option("--workers", "-j", type=int, default=None,
              help="Worker processes [default: the number of cores]; results are identical for "
                   "any number. 0 runs in this process (for debugging).")
@click.option("--dask", metavar="ADDRESS|local", default=None,
              help="Run on a dask.distributed scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786), "
                   "or start a LocalCluster on 127.0.0.1 with `local`.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip runs already saved in the output folder with the same config.")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Build plots and report.md/report.html at the end.")
@quiet_option
def command(config: str, out: Path | None, workers: int | None, dask: str | None, resume: bool,
            report: bool, quiet: bool) -> None:
    """Run every combination in CONFIG and write the CSVs (and report) to --out (out/NAME).

    CONFIG is a TOML file or the name of a bundled experiment (quick, vanishing, exploding,
    remedies, glorot2010, he2015). Each finished run is saved at once, so a sweep that is
    interrupted and started again skips the finished runs and ends with the same files.

    \b
    Example:
      gradscope sweep quick --out out/quick
      gradscope sweep experiments/vanishing.toml --out out/vanishing --workers 2
      gradscope sweep vanishing --out out/vanishing --dask local
    """
    sweep = load_sweep(config)
    out = out if out is not None else Path("out") / sweep.name
    try:
        result = run_sweep(sweep, out, workers=workers, dask=dask, resume=resume, quiet=quiet)
    except WorkerLost as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: finished runs are saved in {out / 'parts'}; run the same "
                   "command again to resume.", err=True)
        raise SystemExit(130) from None
    counts = result.counts()
    diagnoses = result.runs["diagnosis"].fillna("").value_counts()
    click.echo(f"{len(result.runs)} runs in {out} ({result.ran} ran, {result.resumed} resumed): "
               + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "diverged", "error")))
    click.echo("diagnoses: " + ", ".join(f"{n} {d or '(none)'}" for d, n in diagnoses.items()))
    if report:
        _build_report(out)
