"""The configurations of a sweep: which run parameters vary, their order and their labels."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from gradscope.analysis.schema import OUTPUT_COLUMNS
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.initializers import INITIALIZERS

PARAM_ORDER = ["activation", "init", "depth", "width", "norm", "residual", "optimizer", "lr",
               "clip", "loss", "dataset", "batch_size", "steps", "record_every", "seed"]
NOT_CONFIG = frozenset({"seed"})  # a configuration is everything that varies except the seed


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


def init_rank(value: object) -> tuple[int, float, str]:
    """Sort key of an initialiser string: registry order, then its numeric parameter."""
    text = str(value)
    base, _, raw = text.partition(":")
    names = INITIALIZERS.names()
    try:
        param = float(raw) if raw else 0.0
    except ValueError:
        param = 0.0
    return (names.index(base) if base in names else len(names), param, text)
