"""Dynamical isometry study: Jacobian singular values for Gaussian vs orthogonal weights.

`isometry_study(out, ...)` measures, for each initialiser, the singular values of the
input–output Jacobian of square `mlp`s of growing depth (Pennington et al. 2017), and writes
`spectrum.csv` (mean / variance of the squared singular values per init × depth) and two plots:
the distribution of singular values at the deepest depth, and the moments against depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gradscope.analysis.jacobian import jacobian_spectrum, spectrum_vs_depth
from gradscope.core.atomic import write_atomic
from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.initializers import INITIALIZERS
from gradscope.nn.mlp import mlp
from gradscope.plots.spectrum import plot_singular_values, plot_spectrum_vs_depth
from gradscope.report.build import png_bytes

DEFAULT_INITS = ("xavier_normal", "orthogonal")
DEFAULT_DEPTHS = (1, 2, 4, 8, 16, 32)


def _check(activation: str, inits: Sequence[str], depths: Sequence[int], width: int,
           n_examples: int) -> None:
    ACTIVATIONS.parse(activation, "activation")
    if not inits:
        raise ConfigError("Give at least one initialiser (--init), e.g. xavier_normal, "
                          "orthogonal.")
    for init in inits:
        INITIALIZERS.parse(init, "init")
    if not depths:
        raise ConfigError("Give at least one depth (--depth), e.g. 1 2 4 8 16 32.")
    for depth in depths:
        check_scalar(depth, "every depth", int, min_val=1)
    for key, value in (("width", width), ("n_examples", n_examples)):
        check_scalar(value, key, int, min_val=1)


def isometry_study(
    out: str | Path,
    *,
    activation: str = "tanh",
    inits: Sequence[str] = DEFAULT_INITS,
    depths: Sequence[int] = DEFAULT_DEPTHS,
    width: int = 64,
    n_examples: int = 16,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure the Jacobian spectra and write spectrum.csv and plots/ into `out`."""
    _check(activation, inits, depths, width, n_examples)
    depths = sorted(set(int(d) for d in depths))
    frame = spectrum_vs_depth(depths, inits, activation=activation, width=width,
                              n_examples=n_examples, seed=seed)
    X = np.random.default_rng(seed).standard_normal((n_examples, width))
    deepest = depths[-1]
    spectra = {f"{init} (depth {deepest})": jacobian_spectrum(
        mlp(width, width, deepest, width, activation, init, seed=seed), X) for init in inits}
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    write_atomic(out / "spectrum.csv", frame.to_csv(index=False).encode())
    for name, fig in (("singular_values", plot_singular_values(spectra)),
                      ("spectrum_depth", plot_spectrum_vs_depth(frame))):
        write_atomic(out / "plots" / f"{name}.png", png_bytes(fig))
    return frame
