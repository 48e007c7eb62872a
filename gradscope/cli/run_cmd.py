"""`gradscope run`: one run from flags; prints the per-layer table and the diagnosis."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.cli.common import fail_runs
from gradscope.cli.options import config_from_options, force_option, out_option, run_config_options
from gradscope.core.errors import ConfigError
from gradscope.sweeps import run_single
from gradscope.sweeps.outdir import check_out_path
from gradscope.text.layer_table import run_report


@click.command("run")
@run_config_options
@out_option
@force_option
@click.option("--step", type=click.IntRange(min=0), default=0, show_default=True,
              help="Recorded step whose per-layer gradients the table shows.")
def command(out: Path | None, force: bool, step: int, **params: object) -> None:
    """Train one network and show how its gradient changes from layer to layer.

    Every key of a sweep config is also a flag here (see the options below). The table shows,
    for each weight layer at a recorded step, the weight-gradient norm and the norm of the
    back-propagated gradient dL/dz, each with a log-scale bar, then the diagnosis. Exit code 1
    when the run fails (its error printed), 2 for bad input.

    \b
    Example:
      gradscope run --activation sigmoid --init normal:0.01 --depth 16
      gradscope run --activation relu --init he --depth 16 --out runs/relu16
    """
    cfg = config_from_options(params)
    if out is not None:
        out = check_out_path(out)
    if step % cfg.record_every or step >= cfg.steps:
        raise ConfigError(
            f"--step {step} is not a recorded step: with --steps {cfg.steps} and --record-every "
            f"{cfg.record_every} the recorded steps are 0, {cfg.record_every}, "
            f"{2 * cfg.record_every}, … below {cfg.steps}.")
    result = run_single(cfg, out, force=force)
    if result.status == "error":
        fail_runs([str(result.summary["findings"])])
    click.echo(run_report(result, step))
    if out is not None:
        click.echo(f"wrote {out}/runs.csv, layers.csv, steps.csv, manifest.json")
