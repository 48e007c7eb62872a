"""One colour per activation and one line style per initialiser, the same in every plot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matplotlib.colors import to_rgb

from gradscope.analysis.configurations import init_rank
from gradscope.nn.activations import ACTIVATIONS

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f"]
LINESTYLES: list[Any] = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)),
                         (0, (1, 3)), (0, (3, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def activation_colour(name: object) -> str:
    """The colour of an activation: fixed by its position in the ACTIVATIONS registry."""
    names = ACTIVATIONS.names()
    base = str(name).partition(":")[0]
    if base in names:
        return PALETTE[names.index(base) % len(PALETTE)]
    return PALETTE[-1]


def shade(colour: str, t: float) -> tuple[float, float, float]:
    """`colour` lightened (t=0) through to darkened (t=1); t=0.5 gives the colour itself."""
    r, g, b = to_rgb(colour)
    if t < 0.5:
        k = (0.5 - t) * 1.2  # up to 60% white
        return (r + (1 - r) * k, g + (1 - g) * k, b + (1 - b) * k)
    k = (t - 0.5) * 0.8  # up to 40% black
    return (r * (1 - k), g * (1 - k), b * (1 - k))


@dataclass(frozen=True)
class Style:
    """Line styles for the initialisers of one sweep, in registry order, shared by all its plots."""

    init_styles: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_inits(cls, inits: Iterable[object]) -> Style:
        """A style giving each distinct initialiser its own line style and marker."""
        ordered = sorted({str(v) for v in inits}, key=init_rank)
        return cls({name: i for i, name in enumerate(ordered)})

    def _index(self, init: object) -> int:
        key = str(init)
        if key in self.init_styles:
            return int(self.init_styles[key])
        return init_rank(key)[0]

    def linestyle(self, init: object) -> Any:
        """The line style of an initialiser."""
        return LINESTYLES[self._index(init) % len(LINESTYLES)]

    def marker(self, init: object) -> str:
        """The marker of an initialiser (for plots with few points per line)."""
        return MARKERS[self._index(init) % len(MARKERS)]

    def line(self, params: Mapping[str, object], t: float | None = None) -> dict[str, Any]:
        """matplotlib keyword arguments for a line of these run parameters (t: shade in [0, 1])."""
        colour: Any = activation_colour(params.get("activation", ""))
        if t is not None:
            colour = shade(colour, t)
        init = params.get("init", "")
        return {"color": colour, "linestyle": self.linestyle(init), "marker": self.marker(init)}
