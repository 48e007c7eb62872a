"""Which run parameters vary in a sweep, and how they become panels and lines of a plot."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..activations import ACTIVATIONS
from .style import init_rank

OUTPUT_COLUMNS = frozenset({
    "run_id", "status", "diagnosis", "findings", "grad_ratio_log10", "delta_ratio_log10",
    "first_nonfinite_step", "final_loss", "final_accuracy", "wall_s",
})
PARAM_ORDER = ["activation", "init", "depth", "width", "norm", "residual", "optimizer", "lr",
               "clip", "loss", "dataset", "batch_size", "steps", "record_every", "seed"]
NOT_CONFIG = frozenset({"seed"})  # a configuration is everything that varies except the seed
MAX_LINES = 8  # shades of one colour stay distinguishable up to about 8
MAX_STYLED_LINES = 12  # colour × line style: activation × init
MAX_FACETS = 20


def run_params(runs: pd.DataFrame) -> list[str]:
    """The run-parameter columns of runs.csv (everything before `status` that is not an output)."""
    cols = list(runs.columns)
    stop = cols.index("status") if "status" in cols else len(cols)
    found = [c for c in cols if c not in OUTPUT_COLUMNS
             and (c in PARAM_ORDER or cols.index(c) < stop)]
    return sorted(found, key=lambda c: (PARAM_ORDER.index(c) if c in PARAM_ORDER
                                        else len(PARAM_ORDER), c))


def varying_params(runs: pd.DataFrame, *, include_seed: bool = False) -> list[str]:
    """The run parameters with more than one value in `runs` (seed left out unless asked)."""
    return [c for c in run_params(runs) if runs[c].nunique(dropna=False) > 1
            and (include_seed or c not in NOT_CONFIG)]


def level_key(param: str, value: object) -> tuple:
    """Sort key of one value of a parameter (registry order for names, numeric for numbers)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, 0, "")
    if param == "activation":
        names = ACTIVATIONS.names()
        return (1, names.index(value) if value in names else len(names), str(value))
    if param == "init":
        return (1, *init_rank(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (1, 0, str(value))


def fmt_value(value: object) -> str:
    """A parameter value as text: 0.1 not 0.1000, 8 not 8.0, NaN as none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def label(params: Mapping[str, object], keys: Iterable[str] | None = None) -> str:
    """A short readable name of a configuration, e.g. "sigmoid + normal:0.01, depth 32"."""
    keys = list(params if keys is None else keys)
    head = [fmt_value(params[k]) for k in ("activation", "init") if k in keys]
    tail = [f"depth {fmt_value(params[k])}" if k == "depth" else f"{k}={fmt_value(params[k])}"
            for k in keys if k not in ("activation", "init")]
    parts = [" + ".join(head)] if head else []
    return ", ".join(parts + tail) or "all runs"


def combos(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple]:
    """The distinct value combinations of `keys` in `frame`, in a sensible order."""
    if not keys:
        return [()]
    uniq = frame[list(keys)].drop_duplicates().itertuples(index=False, name=None)
    return sorted(uniq, key=lambda t: tuple(level_key(k, v) for k, v in zip(keys, t, strict=True)))


def select(frame: pd.DataFrame, keys: Sequence[str], values: Sequence[object]) -> pd.DataFrame:
    """The rows of `frame` where every key equals its value (NaN matches NaN)."""
    mask = pd.Series(True, index=frame.index)
    for k, v in zip(keys, values, strict=True):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            mask &= frame[k].isna()
        else:
            mask &= frame[k] == v
    return frame[mask]


@dataclass(frozen=True)
class Layout:
    """Run parameters drawn as panels (`facets`) and as lines within a panel (`lines`)."""

    facets: tuple[str, ...]
    lines: tuple[str, ...]


def layout(runs: pd.DataFrame, *, facet_first: Sequence[str] = (),
           line_first: Sequence[str] = (), exclude: Sequence[str] = (),
           max_lines: int = MAX_LINES) -> Layout:
    """Split the varying parameters into panels and lines, keeping at most MAX_LINES per panel.

    `facet_first` parameters become panels, `line_first` become lines; the other varying
    parameters go to lines when `line_first` found none, else to panels. When nothing else
    makes panels, or lines have more than `max_lines` combinations, line parameters move to
    panels (depth last, since it is the natural line axis).
    """
    varying = [p for p in varying_params(runs) if p not in exclude]
    facets = [p for p in facet_first if p in varying]
    lines = [p for p in line_first if p in varying]
    rest = [p for p in varying if p not in facets and p not in lines]
    preferred = bool(lines)
    if preferred:
        facets += rest
    else:
        lines += rest
    if not facets and not preferred and len(lines) > 1:
        movable = [p for p in lines if p != "depth"]
        facets.append(movable[0])
        lines.remove(movable[0])
    while len(lines) > 1 and len(combos(runs, lines)) > max_lines:
        movable = [p for p in lines if p != "depth"] or lines
        facets.append(movable[0])
        lines.remove(movable[0])
    return Layout(tuple(facets), tuple(lines))
