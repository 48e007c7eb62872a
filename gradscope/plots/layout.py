"""How the varying run parameters of a sweep become the panels and lines of a plot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from gradscope.analysis.configurations import combos, varying_params

MAX_LINES = 8  # shades of one colour stay distinguishable up to about 8
MAX_STYLED_LINES = 12  # colour × line style: activation × init
MAX_FACETS = 20


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
