"""The `gradscope` command line: a thin shell over the Python API, one module per command."""

from __future__ import annotations

import importlib

import click

from gradscope._version import __version__
from gradscope.cli.common import GradscopeGroup


@click.group(cls=GradscopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gradscope")
def main() -> None:
    """gradscope — make vanishing and exploding gradients visible, measurable and explainable.

    \b
    Example:
      gradscope sweep quick --out out/quick
    """


# Each module defines one click command named `command`; add a line to add a command.
COMMAND_MODULES = [
    "list_cmd",
    "theory_cmd",
    "explain_cmd",
    "run_cmd",
    "sweep_cmd",
    "validate_cmd",
    "report_cmd",
    "spectrum_cmd",
    "diagnose_cmd",
    "export_cmd",
]

for _module in COMMAND_MODULES:
    main.add_command(importlib.import_module(f".{_module}", __name__).command)
