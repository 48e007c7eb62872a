"""The recorder's full frames on fixed nets equal the ones stored before it was rebuilt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from recorder_reference import CASES, DATA, frames

RTOL = 1e-10  # the stored numbers came from one BLAS kernel; another may round differently


def _check(frame: pd.DataFrame, path: str) -> None:
    stored = pd.read_csv(DATA / path, dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(stored.columns)
    assert len(frame) == len(stored)
    for col in frame.columns:
        got, want = frame[col].to_numpy(), stored[col].to_numpy()
        if frame[col].dtype.kind == "f":
            want = np.array([float(v) for v in want])
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=col)
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=0, err_msg=col)
        else:
            assert [str(v) for v in got] == list(want), col


@pytest.mark.parametrize("name", sorted(CASES))
def test_frames_equal_the_stored_reference(name: str) -> None:
    layers, hist = frames(name)
    _check(layers, f"{name}.layers.csv")
    _check(hist, f"{name}.hist.csv")
