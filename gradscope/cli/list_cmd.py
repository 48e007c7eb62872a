"""`gradscope list`: every registered name, read from the registries themselves."""

from __future__ import annotations

import click

from gradscope.training.registries import all_registries


@click.command("list")
def command() -> None:
    """List the available activations, initialisers, datasets, losses and optimisers.

    \b
    Example:
      gradscope list
    """
    for registry in all_registries():
        plural = "es" if registry.concept.endswith("s") else "s"
        click.echo(f"{registry.concept}{plural}:")
        width = max(len(n) for n in registry.names()) + (6 if registry.takes_param else 2)
        for name in registry.names():
            shown = f"{name}:X" if registry.accepts_param(name) else name
            click.echo(f"  {shown:<{width}} {registry.help(name)}")
        click.echo("")
