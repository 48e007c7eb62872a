"""`gradscope report DIR`: rebuild plots/, report.md and report.html from a sweep's CSVs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gradscope.core.errors import DataError
from gradscope.report import build_report
from gradscope.sweeps.outdir import OutputLock
from gradscope.sweeps.results import validate_results


@click.command("report")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
def command(directory: Path) -> None:
    """Rebuild the plots and the report of a sweep from its CSVs alone (no re-training).

    Reads DIR/runs.csv (required), layers.csv, steps.csv, hist.csv and manifest.json when
    present, and writes DIR/plots/*.png, DIR/report.md and a self-contained DIR/report.html.
    Every CSV is checked first (columns, numbers, truncated rows): a bad one is named with its
    line and nothing is written (exit 2). A plot whose columns are missing is skipped with a
    line in the report.

    \b
    Example:
      gradscope report reports/quick
    """
    if str(directory).strip() == "":
        raise DataError("DIR '' is empty; give the output folder of a sweep.")
    if directory.is_dir():
        validate_results(directory)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise DataError(f"{directory} is not writable (permission denied): the report "
                            "cannot be written there. Copy the folder somewhere writable.")
        with OutputLock(directory):
            html = build_report(directory)
    else:
        html = build_report(directory)  # its "not a directory" paragraph
    click.echo(f"Wrote {html.parent / 'plots'}/, {html.with_suffix('.md')} and {html}")
