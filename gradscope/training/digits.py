"""`digits`: scikit-learn's bundled 8×8 handwritten digits (1797 × 64), pixels scaled to [0, 1].

The one real dataset: what a from-scratch MNIST-style net sees (inputs in [0, 1], not centred),
small enough to train deep nets in seconds. Needs the optional extra `gradscope[digits]`
(scikit-learn, whose copy of the UCI data is read by `sklearn.datasets.load_digits`).
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar

N_IMAGES = 1797  # the size of scikit-learn's copy (the UCI test set)
N_PIXELS = 64
PIXEL_MAX = 16.0  # pixel values are counts 0..16 of a 4×4 block of the 32×32 bitmap


def require_sklearn(key: str = "dataset") -> None:
    """ConfigError (one paragraph, exit 2 on the CLI) unless scikit-learn can be imported."""
    if importlib.util.find_spec("sklearn") is None:
        raise ConfigError(
            f'{key} = "digits" needs scikit-learn, which is not installed: the 8×8 handwritten '
            'digits ship inside it. Install the extra with pip install "gradscope[digits]" (or '
            "pip install scikit-learn), or choose a generated dataset: spirals, circles, xor, "
            "blobs, teacher, or csv:PATH for your own file.")


@functools.cache
def _all_digits() -> tuple[np.ndarray, np.ndarray]:
    require_sklearn()
    from sklearn.datasets import load_digits  # optional extra: imported only when used

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / PIXEL_MAX  # (1797, 64) in [0, 1]
    y = np.asarray(bunch.target, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def digits(n: int, rng: np.random.Generator, *, classes: int = 10) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """`n` images of the digits 0..classes−1, drawn without replacement by `rng` (the data
    seed): X (n, 64) pixels in [0, 1] (not standardised), y the digit."""
    classes = check_scalar(classes, "dataset option classes", int, min_val=2, max_val=10)
    X, y = _all_digits()
    keep = np.flatnonzero(y < classes)
    if n > len(keep):
        raise ConfigError(
            f"digits holds {len(keep)} images of the digits 0..{classes - 1}; n_samples = {n} is "
            f"more. Use n_samples ≤ {len(keep)} (all of them: n_samples = {len(keep)}).")
    pick = keep[rng.permutation(len(keep))[:n]]
    return X[pick], y[pick]
