"""`gradscope report DIR`: rebuild plots/, report.md and report.html from a sweep's CSVs."""

from __future__ import annotations

from pathlib import Path

import click

from gradscope.report import build_report


@click.command("report")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
def command(directory: Path) -> None:
    """Rebuild the plots and the report of a sweep from its CSVs alone (no re-training).

    Reads DIR/runs.csv (required), layers.csv, steps.csv, hist.csv and manifest.json when
    present, and writes DIR/plots/*.png, DIR/report.md and a self-contained DIR/report.html.
    A plot whose columns are missing is skipped with a line in the report.

    \b
    Example:
      gradscope report reports/quick
    """
    html = build_report(directory)
    click.echo(f"Wrote {html.parent / 'plots'}/, {html.with_suffix('.md')} and {html}")
