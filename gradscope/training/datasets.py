"""Datasets by name (spirals, circles, xor, blobs, teacher, digits, csv:PATH), deterministic.

Every generator draws from `np.random.default_rng(seed)` only; inputs are standardised to zero
mean and unit variance per column, so that gradient scales reflect the network, not the data —
except `digits`, real images whose pixels stay in [0, 1] as a from-scratch net would see them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradscope.core.errors import ConfigError, DataError
from gradscope.core.registry import Registry
from gradscope.core.validation import check_scalar
from gradscope.training.csv_file import read_numeric_csv
from gradscope.training.digits import digits, require_sklearn

Array = np.ndarray
MAX_CLASSES = 20  # an integer-valued CSV target with at most this many values is a class label


@dataclass(frozen=True, repr=False)
class Dataset:
    """Inputs X (n, in_dim) float64 and targets y: int labels (n,) or floats (n, out_dim)."""

    name: str
    X: Array
    y: Array
    task: str  # "classification" | "regression"
    n_classes: int  # 0 for regression
    in_dim: int
    out_dim: int  # network outputs the data asks for: n_classes, or the target columns

    def __len__(self) -> int:
        return len(self.X)

    @property
    def q_in(self) -> float:
        """The inputs' second moment q⁰ = mean of x_i² over examples and features: E[x_i²] as
        the first Dense layer sees it (the mean-field theory's q_in; 1 for standardised data)."""
        return float(np.mean(np.square(self.X)))

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, n={len(self)}, in_dim={self.in_dim}, task={self.task!r}, "
                f"n_classes={self.n_classes}, out_dim={self.out_dim})")


@dataclass(frozen=True)
class DataSource:
    """A generator `make(n, rng, **options) -> (X, y)`; `name:VALUE` sets option `param`.

    `standardize`: whether X is standardised per column; `requires(key)`: raises ConfigError
    when an optional dependency the source needs is missing (checked with the config).
    """

    make: Callable[..., tuple[Array, Array]]
    param: str | None = None
    standardize: bool = True
    requires: Callable[[str], None] | None = None


def _opt_int(key: str, value: object, low: int) -> int:
    return check_scalar(value, f"dataset option {key}", int, min_val=low)


def _opt_float(key: str, value: object, low: float = 0.0) -> float:
    return check_scalar(value, f"dataset option {key}", float, min_val=low)


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> Array:
    return rng.permutation(np.arange(n) % k).astype(np.int64)


def _polar(r: Array, theta: Array) -> Array:
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


def spirals(n: int, rng: np.random.Generator, *, arms: int = 2, noise: float = 0.1,
            turns: float = 1.0) -> tuple[Array, Array]:
    """`arms` interleaved spiral arms (one class each) of `turns` turns, Gaussian noise."""
    arms, noise = _opt_int("arms", arms, 2), _opt_float("noise", noise)
    turns = _opt_float("turns", turns)
    y = _balanced_labels(n, arms, rng)
    t = rng.uniform(0.0, 1.0, n)  # position along the arm; radius grows with it
    X = _polar(t, 2 * np.pi * (turns * t + y / arms))
    return X + noise * rng.standard_normal((n, 2)), y


def circles(n: int, rng: np.random.Generator, *, noise: float = 0.1,
            factor: float = 0.5) -> tuple[Array, Array]:
    """Two concentric circles (radius 1: class 0, radius `factor`: class 1), Gaussian noise."""
    noise, factor = _opt_float("noise", noise), _opt_float("factor", factor)
    y = _balanced_labels(n, 2, rng)
    X = _polar(np.where(y == 1, factor, 1.0), rng.uniform(0.0, 2 * np.pi, n))
    return X + noise * rng.standard_normal((n, 2)), y


def xor(n: int, rng: np.random.Generator, *, noise: float = 0.1) -> tuple[Array, Array]:
    """Points in [-1, 1]²; class 1 where x·y > 0 (the XOR of the two signs), Gaussian noise."""
    noise = _opt_float("noise", noise)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X + noise * rng.standard_normal((n, 2)), y


def blobs(n: int, rng: np.random.Generator, *, centers: int = 3, in_dim: int = 2,
          std: float = 1.0) -> tuple[Array, Array]:
    """`centers` Gaussian blobs (one class each) with centres drawn uniformly from [-5, 5]^d."""
    centers, in_dim = _opt_int("centers", centers, 2), _opt_int("in_dim", in_dim, 1)
    std = _opt_float("std", std)
    mu = rng.uniform(-5.0, 5.0, (centers, in_dim))
    y = _balanced_labels(n, centers, rng)
    return mu[y] + std * rng.standard_normal((n, in_dim)), y


def teacher(n: int, rng: np.random.Generator, *, in_dim: int = 10, out_dim: int = 1,
            hidden: int = 32, noise: float = 0.1) -> tuple[Array, Array]:
    """Regression on the outputs of a fixed random teacher: tanh MLP with `hidden` units (0: a
    linear map), each output scaled to unit variance, plus `noise` × N(0, 1)."""
    in_dim, out_dim = _opt_int("in_dim", in_dim, 1), _opt_int("out_dim", out_dim, 1)
    hidden, noise = _opt_int("hidden", hidden, 0), _opt_float("noise", noise)
    if hidden:  # teacher weights first, so one seed gives one teacher whatever n is
        w1 = rng.standard_normal((in_dim, hidden)) / np.sqrt(in_dim)
        w2 = rng.standard_normal((hidden, out_dim)) / np.sqrt(hidden)
        X = rng.standard_normal((n, in_dim))
        f = np.tanh(X @ w1) @ w2  # (n, in_dim) @ (in_dim, hidden) @ (hidden, out_dim)
    else:
        w = rng.standard_normal((in_dim, out_dim)) / np.sqrt(in_dim)
        X = rng.standard_normal((n, in_dim))
        f = X @ w
    return X, _standardize(f) + noise * rng.standard_normal((n, out_dim))


DATASETS: Registry[DataSource] = Registry("dataset")
DATASETS.add("spirals", DataSource(spirals, "arms"), "K interleaved spiral arms (spirals:K, "
             "default 2)", param=True)
DATASETS.add("circles", DataSource(circles), "two concentric circles")
DATASETS.add("xor", DataSource(xor), "XOR of the signs of two coordinates")
DATASETS.add("blobs", DataSource(blobs, "centers"), "K Gaussian blobs (blobs:K, default 3)",
             param=True)
DATASETS.add("teacher", DataSource(teacher), "regression: a random fixed teacher MLP + noise")
DATASETS.add("digits", DataSource(digits, "classes", standardize=False,
                                  requires=require_sklearn),
             "8×8 handwritten digits (scikit-learn), pixels in [0, 1]; n_samples of the 1797 "
             "drawn by data_seed; digits:K keeps the digits 0..K-1 (default 10)", param=True,
             shown="digits[:K]")
DATASETS.add("csv", DataSource(lambda n, rng: _csv_by_name()),
             "a numeric CSV file; last column is the target (option target=)",
             shown="csv:PATH")


def _csv_by_name() -> tuple[Array, Array]:
    raise ConfigError('dataset "csv" needs a file: write csv:PATH, e.g. "csv:data.csv".')


def _standardize(a: Array) -> Array:
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _frozen(a: Array) -> Array:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _make(name: str, X: Array, y: Array) -> Dataset:
    X = X.astype(np.float64)
    if y.dtype.kind in "biu":
        k = int(y.max()) + 1 if len(y) else 0
        return Dataset(name, _frozen(X), _frozen(y.astype(np.int64)), "classification", k,
                       X.shape[1], k)
    y = y.reshape(len(y), -1).astype(np.float64)
    return Dataset(name, _frozen(X), _frozen(y), "regression", 0, X.shape[1], y.shape[1])


def from_arrays(X: Array, y: Array, name: str = "arrays") -> Dataset:
    """A Dataset from a user's arrays, taken as they are (not standardised).

    Integer (or bool) `y` of shape (n,) are class labels 0..K-1; float `y` is a regression
    target of shape (n,) or (n, out_dim).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.dtype.kind not in "biuf" or len(X) == 0:
        raise DataError(f"X must be a non-empty 2-D numeric array (examples, features), got "
                        f"{X.dtype} of shape {X.shape}.")
    if len(y) != len(X) or y.ndim not in (1, 2) or y.dtype.kind not in "biuf":
        raise DataError(f"y must be numeric with one entry per row of X ({len(X)}), got "
                        f"{y.dtype} of shape {y.shape}.")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise DataError("X and y must not contain NaN or infinite values.")
    if y.dtype.kind in "biu" and (y.ndim != 1 or y.min() < 0):
        raise DataError(f"integer y holds class labels: it must have shape (n,) and values "
                        f"0..K-1, got shape {y.shape} and minimum {y.min()}.")
    return _make(name, X, y)


def _from_csv(spec: str, options: dict) -> Dataset:
    unknown = set(options) - {"target"}
    if unknown:
        raise ConfigError(f"dataset csv takes only the option target=, got "
                          f"{', '.join(sorted(unknown))}.")
    path = spec.partition(":")[2]
    X, t, names = read_numeric_csv(path, options.get("target"))
    values, labels = np.unique(t, return_inverse=True)
    if len(values) == 1:
        raise DataError(f"CSV file {path!r}: the target column has the single value "
                        f"{values[0]:g}; a target needs at least two distinct values.")
    if np.all(values == np.round(values)) and len(values) <= MAX_CLASSES:
        y = labels.astype(np.int64)  # classes, renumbered 0..K-1 in sorted order
    else:
        y = _standardize(t.reshape(-1, 1))
    return _make(spec, _standardize(X), y)


def target_key(target: str) -> str | int:
    """A CSV target given as digits is a 0-based column index, anything else a header name."""
    return int(target) if target.lstrip("-").isdigit() else target


def check_dataset(name: object, key: str = "dataset") -> None:
    """Raise ConfigError unless `name` is a registered dataset or csv:PATH of a readable file
    (DataError naming the row and column if the file is malformed)."""
    if isinstance(name, str) and name.startswith("csv:"):
        path = name[4:]
        if not path or not Path(path).is_file():
            raise ConfigError(f'{key} = "{name}": no such file {path!r}; csv:PATH needs the '
                              "path of an existing CSV file.")
        _from_csv(name, {})  # read it now: a malformed file is bad input, found before any run
        return
    if name == "csv":
        raise ConfigError(f'{key} = "csv" needs a file: write csv:PATH, e.g. "csv:data.csv".')
    source = DATASETS.get(DATASETS.parse(name, key).name)
    if source.requires is not None:
        source.requires(key)


def load_dataset(name: str, *, n: int = 512, seed: int = 0, **options: object) -> Dataset:
    """Build dataset `name` (e.g. "spirals", "spirals:3", "csv:data.csv") with `n` examples.

    Generators are deterministic from `seed`; a CSV file is read whole (`n` and `seed` unused).
    Options are the generator's keyword arguments (e.g. noise=0.2) or target= for a CSV file.
    """
    if isinstance(name, str) and name.startswith("csv:"):
        return _from_csv(name, options)
    check_dataset(name)
    n = check_scalar(n, "n", int, min_val=1)
    spec = DATASETS.parse(name, "dataset")
    source = DATASETS.get(spec.name)
    allowed = [p for p in inspect.signature(source.make).parameters if p not in ("n", "rng")]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"dataset {spec.name} has no option {', '.join(unknown)}; valid "
                          f"options: {', '.join(allowed) or 'none'}.")
    if spec.param is not None:
        options = {**options, source.param: spec.param}
    X, y = source.make(n, np.random.default_rng(seed), **options)
    return _make(str(spec), _standardize(X) if source.standardize else X, y)
