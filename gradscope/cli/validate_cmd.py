"""`gradscope validate CONFIG`: check a sweep config and show what it would run."""

from __future__ import annotations

import click

from gradscope.sweeps.grid import load_sweep, varying


@click.command("validate")
@click.argument("config")
@click.option("--list", "list_runs", is_flag=True, help="Also print every run's id and label.")
def command(config: str, list_runs: bool) -> None:
    """Check CONFIG (a TOML file or a bundled experiment's name) without running anything.

    Unknown keys or names, wrong types and impossible values are reported with the key, the
    value and the valid choices (exit code 2).

    \b
    Example:
      gradscope validate experiments/vanishing.toml
      gradscope validate quick --list
    """
    sweep = load_sweep(config)
    click.echo(f"OK: {sweep.source}: sweep {sweep.name!r}, {len(sweep)} runs.")
    for key, values in varying(sweep.runs).items():
        click.echo(f"  {key}: {', '.join(map(str, values))}")
    if list_runs:
        for cfg in sweep.runs:
            click.echo(f"{cfg.run_id}  {cfg.label()}")
