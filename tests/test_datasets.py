"""Datasets: shapes, dtypes, determinism, the generators' geometry, and CSV files good and bad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradscope.core.errors import ConfigError, DataError
from gradscope.training.datasets import DATASETS, check_dataset, from_arrays, load_dataset

GENERATED = [name for name in DATASETS.names() if name != "csv"]
STANDARDISED = [name for name in GENERATED if DATASETS.get(name).standardize]  # digits: [0, 1]


@pytest.mark.parametrize("name", STANDARDISED, ids=STANDARDISED)
def test_shapes_dtypes_and_standardised_inputs(name: str) -> None:
    data = load_dataset(name, n=120, seed=3)
    assert data.X.shape == (120, data.in_dim) and data.X.dtype == np.float64
    np.testing.assert_allclose(data.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.X.std(axis=0), 1.0)
    if data.task == "classification":
        assert data.y.shape == (120,) and data.y.dtype == np.int64
        assert set(np.unique(data.y)) == set(range(data.n_classes))
        assert data.out_dim == data.n_classes >= 2
    else:
        assert data.y.shape == (120, data.out_dim) and data.y.dtype == np.float64
        assert data.n_classes == 0
    assert not data.X.flags.writeable


@pytest.mark.parametrize("name", GENERATED, ids=GENERATED)
def test_same_seed_same_arrays_other_seed_other_arrays(name: str) -> None:
    a, b = load_dataset(name, n=64, seed=7), load_dataset(name, n=64, seed=7)
    c = load_dataset(name, n=64, seed=8)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_class_count_from_the_name_and_options() -> None:
    assert load_dataset("spirals:3", n=90).n_classes == 3
    assert load_dataset("spirals", n=90, arms=4).n_classes == 4
    assert load_dataset("blobs:5", n=50).out_dim == 5
    assert load_dataset("blobs", n=50, in_dim=7).in_dim == 7
    assert load_dataset("teacher", n=50, in_dim=3, out_dim=2).y.shape == (50, 2)
    assert np.bincount(load_dataset("spirals:3", n=90).y).tolist() == [30, 30, 30]


def test_xor_labels_follow_the_sign_product() -> None:
    data = load_dataset("xor", n=400, noise=0.0)
    agree = (data.X[:, 0] * data.X[:, 1] > 0) == (data.y == 1)
    assert agree.mean() > 0.95  # standardising shifts the axes a little


def test_circles_radii_separate_the_classes() -> None:
    data = load_dataset("circles", n=200, noise=0.0)
    r = np.linalg.norm(data.X, axis=1)
    assert r[data.y == 1].max() < r[data.y == 0].min()


def test_linear_teacher_is_linear_up_to_the_noise() -> None:
    data = load_dataset("teacher", n=2000, hidden=0, noise=0.1, in_dim=4)
    design = np.c_[data.X, np.ones(len(data))]
    coef, *_ = np.linalg.lstsq(design, data.y, rcond=None)
    assert np.std(data.y - design @ coef) == pytest.approx(0.1, rel=0.1)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [("spiral", {}, 'Did you mean "spirals"'), ("spirals", {"colour": 1}, "no option colour"),
     ("spirals", {"arms": 1}, "arms"), ("spirals:2.5", {}, "arms"), ("xor", {"n": 0}, "n must"),
     ("blobs", {"std": -1.0}, "std"), ("csv", {}, "csv:PATH")],
    ids=["typo", "unknown-option", "one-arm", "fractional-arms", "zero-n", "negative-std",
         "csv-without-path"],
)
def test_bad_names_and_options(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_dataset(name, **kwargs)


def test_from_arrays_keeps_the_user_arrays() -> None:
    data = from_arrays(np.array([[2.0], [3.0]]), np.array([1.0, 0.5]))
    assert data.task == "regression" and data.y.shape == (2, 1) and data.X[1, 0] == 3.0
    labels = from_arrays(np.zeros((3, 2)), np.array([0, 2, 1]))
    assert labels.task == "classification" and labels.n_classes == 3
    with pytest.raises(DataError, match="one entry per row"):
        from_arrays(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(DataError, match="NaN"):
        from_arrays(np.array([[np.nan, 1.0]]), np.zeros(1))


# -- csv:PATH -----------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_with_header_and_class_target(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * i % 7},{1 if i % 3 else -1}" for i in range(30))
    data = load_dataset("csv:" + _write(tmp_path, "a,b,label\n" + rows + "\n\n"))
    assert data.X.shape == (30, 2) and data.task == "classification"
    assert data.n_classes == 2 and set(np.unique(data.y)) == {0, 1}  # −1/1 renumbered 0/1
    np.testing.assert_allclose(data.X.mean(axis=0), 0.0, atol=1e-12)


def test_csv_without_header_regression_and_target_option(tmp_path: Path) -> None:
    path = _write(tmp_path, "\n".join(f"{i * 0.37:.3f},{i},{i % 2}" for i in range(40)))
    data = load_dataset("csv:" + path)  # last column: two integer values → classification
    assert data.task == "classification"
    first = load_dataset("csv:" + path, target=0)  # fractional values → regression
    assert first.task == "regression" and first.y.shape == (40, 1) and first.in_dim == 2
    np.testing.assert_allclose(first.y.std(), 1.0)
    named = load_dataset("csv:" + _write(tmp_path, "p,q\n1.5,2\n2.5,3\n", "h.csv"), target="p")
    assert named.task == "regression"
    with pytest.raises(ConfigError, match="not a column"):
        load_dataset("csv:" + path, target="price")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty"),
        ("a,b,y\n", "no data rows"),
        ("1\n2\n3\n", "at least 2"),
        ("1,2,0\n3,4,1\n5,6\n", "line 3: 2 cells, but the first row has 3"),
        ("a,b,y\n1,2,0\n3,x,1\n", r"line 3, column 2 \('b'\): 'x' is not a number"),
        ("1,2,0\n3,,1\n", "line 2, column 2: '' is not a number"),
        ("a,b,y\n1,2,0\n3,4,nan\n", r"line 3, column 3 \('y'\): 'nan' is not a finite number"),
        ("1,2,5\n3,4,5\n", "single value"),
    ],
    ids=["empty", "header-only", "one-column", "ragged", "non-numeric", "empty-cell", "nan",
         "constant-target"],
)
def test_bad_csv_files_name_file_and_cell(tmp_path: Path, text: str, match: str) -> None:
    path = _write(tmp_path, text, "bad.csv")
    with pytest.raises(DataError, match=match) as info:
        load_dataset("csv:" + path)
    assert "bad.csv" in str(info.value)


def test_missing_csv_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="nope.csv.*does not exist"):
        load_dataset("csv:" + missing)
    with pytest.raises(ConfigError, match="no such file"):
        check_dataset("csv:" + missing)
    check_dataset("csv:" + _write(tmp_path, "1,0\n2,1\n"))
    check_dataset("spirals:3")
