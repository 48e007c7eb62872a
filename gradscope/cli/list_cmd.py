"""`gradscope list`: every registered name, read from the registries themselves, and the
diagnosis labels, read from their table."""

from __future__ import annotations

import click

from gradscope.analysis.diagnosis.labels import LABELS
from gradscope.training.registries import BY_FIELD, choices


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    click.echo(f"{title}:")
    width = max(len(name) for name, _ in rows) + 2
    for name, help_text in rows:
        click.echo(f"  {name:<{width}} {help_text}")
    click.echo("")


@click.command("list")
def command() -> None:
    """List the available activations, initialisers, norms, datasets, losses and optimisers,
    and the diagnosis labels.

    \b
    Example:
      gradscope list
    """
    shown: set[int] = set()
    for field, registry in BY_FIELD.items():
        if id(registry) in shown:  # two parameters may share a registry
            continue
        shown.add(id(registry))
        plural = "es" if registry.concept.endswith("s") else "s"
        _section(f"{registry.concept}{plural}", choices(field))
    _section("diagnoses", [(label.name, label.meaning) for label in LABELS])
