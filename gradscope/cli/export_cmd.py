"""`gradscope export DIR --tensorboard LOGDIR`: a sweep's or a saved run's statistics for
TensorBoard."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.export import export_tensorboard


@click.command("export")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--tensorboard", "logdir", metavar="LOGDIR", required=True,
              type=click.Path(path_type=Path),
              help="write TensorBoard event files here (one TensorBoard run per run)")
def command(directory: Path, logdir: Path) -> None:
    """Export the per-layer statistics of a sweep or a saved run to TensorBoard.

    Reads DIR/layers.csv (and steps.csv, hist.csv when present) and writes, per run, scalars
    tagged `<statistic>/<layer>` (grad_norm, delta_norm, update_ratio, saturated_frac,
    dead_frac, ...), `train/loss` and `train/accuracy`, and histograms `hist/<quantity>/<layer>`
    of the binned |grad| and |δ|. Needs the extra: pip install 'gradscope[tensorboard]'.

    \b
    Example:
      gradscope export reports/quick --tensorboard tb/quick
      tensorboard --logdir tb/quick
    """
    done = export_tensorboard(directory, logdir)
    click.echo(f"Wrote {len(done.runs)} run(s) to {done.logdir}: {done.scalars} scalars, "
               f"{done.histograms} histograms. View them with: tensorboard --logdir {logdir}")
