"""`gradscope validate CONFIG`: check a sweep config and show what it would run."""

from __future__ import annotations

import click

from gradscope.sweeps.grid import LARGE_GRID, load_plan
from gradscope.sweeps.preflight import preflight


@click.command("validate")
@click.argument("config")
@click.option("--list", "list_runs", is_flag=True, help="Also print every run's id and label.")
def command(config: str, list_runs: bool) -> None:
    """Check CONFIG (a TOML file or a bundled experiment's name) without running anything.

    Unknown keys or names, wrong types and impossible values are reported with the key, the
    value and the valid choices (exit code 2). So is what can be known before running: the
    memory the largest run needs (refused above this machine's memory), datasets and their
    options, losses that do not fit the dataset, absurd step counts. Grids of more than
    10,000 runs are flagged (`sweep` then asks, or wants --yes); --list prints runs one by one.

    \b
    Example:
      gradscope validate experiments/vanishing.toml
      gradscope validate quick --list
    """
    plan = load_plan(config)
    preflight(plan.probe_runs())
    if plan.count <= LARGE_GRID:
        size = f"{sum(1 for _ in plan.iter_runs())} runs"
    else:
        size = f"{plan.count:,} runs"
        size += f" (more than {LARGE_GRID:,}: `gradscope sweep` asks first, or add --yes)"
    click.echo(f"OK: {plan.source}: sweep {plan.name!r}, {size}.")
    for key, values in plan.varying().items():
        click.echo(f"  {key}: {', '.join(map(str, values))}")
    if list_runs:
        for cfg in plan.iter_runs():
            click.echo(f"{cfg.run_id}  {cfg.label()}")
