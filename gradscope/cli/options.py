"""Shared click options, generated from the RunConfig fields so every config key is a flag."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gradscope.sweeps.config import FIELD_NAMES, RunConfig
from gradscope.sweeps.grid import LARGE_GRID
from gradscope.training.registries import BY_FIELD, choices

_TYPES = {"int": click.INT, "float": click.FLOAT, "str": click.STRING}


def _option(f: dataclasses.Field) -> Callable[[Callable], Callable]:
    flag = "--" + f.name.replace("_", "-")
    help_text = f.metadata["help"]
    if f.name in BY_FIELD:
        help_text += f" [choices: {', '.join(name for name, _ in choices(f.name))}]"
    elif "choices" in f.metadata:
        help_text += f" [choices: {', '.join(f.metadata['choices'])}]"
    if f.type == "bool":
        return click.option(f"{flag}/--no-{flag[2:]}", f.name, default=f.default,
                            help=help_text, show_default=True)
    return click.option(flag, f.name, type=_TYPES[f.type], default=f.default, help=help_text,
                        show_default=True, metavar=f.name.upper())


def run_config_options(fn: Callable) -> Callable:
    """Add one option per RunConfig field, with the dataclass default."""
    for f in reversed(dataclasses.fields(RunConfig)):
        fn = _option(f)(fn)
    return fn


def config_from_options(params: dict[str, Any]) -> RunConfig:
    """The RunConfig given by the flags; pops them from `params`."""
    return RunConfig.from_dict({k: params.pop(k) for k in FIELD_NAMES if k in params})


def folder(ctx: click.Context | None, param: click.Parameter | None, value: str | None
           ) -> Path | None:
    """An output folder flag: '' (which would silently mean the current folder) is refused."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("'' is empty; give a folder, e.g. out/mysweep (use . for the "
                                 "current folder).")
    return Path(value)


out_option = click.option(
    "--out", "-o", type=click.STRING, callback=folder, default=None, metavar="DIR",
    help="Output folder for runs.csv, layers.csv, steps.csv (and hist.csv), manifest.json.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
force_option = click.option(
    "--force", is_flag=True,
    help="Replace the results of another config already in --out (otherwise refused, exit 2).")
yes_option = click.option(
    "--yes", "-y", is_flag=True,
    help=f"Run a grid of more than {LARGE_GRID:,} runs without asking.")
