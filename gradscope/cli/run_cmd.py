"""`gradscope run`: one run from flags; prints the per-layer table and the diagnosis."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.cli.options import config_from_options, out_option, run_config_options
from gradscope.sweeps import run_single
from gradscope.sweeps.executor import WorkerLost
from gradscope.text.layer_table import run_report


@click.command("run")
@run_config_options
@out_option
@click.option("--step", type=click.IntRange(min=0), default=0, show_default=True,
              help="Recorded step whose per-layer gradients the table shows.")
def command(out: Path | None, step: int, **params: object) -> None:
    """Train one network and show how its gradient changes from layer to layer.

    Every key of a sweep config is also a flag here (see the options below). The table shows,
    for each weight layer at a recorded step, the weight-gradient norm and the norm of the
    back-propagated gradient dL/dz, each with a log-scale bar, then the diagnosis.

    \b
    Example:
      gradscope run --activation sigmoid --init normal:0.01 --depth 16
      gradscope run --activation relu --init he --depth 16 --out runs/relu16
    """
    cfg = config_from_options(params)
    try:
        result = run_single(cfg, out)
    except WorkerLost as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(run_report(result, step))
    if out is not None:
        click.echo(f"wrote {out}/runs.csv, layers.csv, steps.csv, manifest.json")
