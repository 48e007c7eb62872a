"""`gradscope spectrum`: Jacobian singular values, Gaussian vs orthogonal (dynamical isometry)."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.cli.options import folder
from gradscope.core.errors import ConfigError
from gradscope.core.resources import check_memory
from gradscope.report.spectrum import DEFAULT_DEPTHS, DEFAULT_INITS, isometry_study
from gradscope.sweeps.outdir import check_out_path

MAX_DEPTH = 1000


@click.command("spectrum")
@click.option("--activation", default="tanh", show_default=True, help="Hidden activation.")
@click.option("--init", "inits", multiple=True, default=DEFAULT_INITS, show_default=True,
              help="Initialiser to compare (repeat the flag for several).")
@click.option("--depth", "depths", multiple=True, type=int, default=DEFAULT_DEPTHS,
              show_default=True, help="Depth to measure (repeat the flag for several).")
@click.option("--width", type=click.IntRange(min=1), default=64, show_default=True,
              help="Width (square nets).")
@click.option("--examples", "n_examples", type=click.IntRange(min=1), default=16,
              show_default=True, help="Inputs at which the Jacobian is taken.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of weights and inputs.")
@click.option("-o", "--out", type=click.STRING, callback=folder, metavar="DIR",
              default="out/spectrum", show_default=True,
              help="Folder for spectrum.csv and plots/.")
def command(activation: str, inits: tuple[str, ...], depths: tuple[int, ...], width: int,
            n_examples: int, seed: int, out: Path) -> None:
    """Singular values of the input–output Jacobian against depth (Pennington et al. 2017).

    A deep net keeps every direction of the gradient alive when all singular values of its
    Jacobian stay near 1 (dynamical isometry). Gaussian weights spread them over decades as depth
    grows; orthogonal weights keep them together (exactly, for linear nets).

    \b
    Example:
      gradscope spectrum --activation tanh --out out/spectrum
      gradscope spectrum --activation linear --init he --init orthogonal --depth 4 --depth 32
    """
    out = check_out_path(out)
    deepest = max(depths) if depths else 1
    if deepest > MAX_DEPTH:
        raise ConfigError(f"--depth {deepest} is more than spectrum measures (at most "
                          f"{MAX_DEPTH}); give smaller depths.")
    # weights of the deepest net, each example's Jacobian, and an SVD's workspace (float64)
    check_memory(8.0 * width * width * (2 * deepest + 3 * n_examples + 4),
                 f"spectrum --width {width} (depth {deepest}, {n_examples} examples)",
                 "Use a smaller --width, fewer --examples or smaller depths.")
    frame = isometry_study(out, activation=activation, inits=inits, depths=depths, width=width,
                           n_examples=n_examples, seed=seed)
    click.echo(f"{activation}, width {width}: squared singular values of J (mean = gain, "
               "variance = spread; isometry: mean 1, variance 0)")
    click.echo(f"  {'init':<16} {'depth':>5} {'mean σ²':>10} {'var σ²':>10} {'σ min':>10} "
               f"{'σ max':>10}")
    for row in frame.itertuples(index=False):
        click.echo(f"  {row.init:<16} {row.depth:>5} {row.mean_sq:>10.4g} {row.var_sq:>10.4g} "
                   f"{row.sv_min:>10.3g} {row.sv_max:>10.3g}")
    click.echo(f"wrote {out / 'spectrum.csv'} and {out / 'plots'}/")
