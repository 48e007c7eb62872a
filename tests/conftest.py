"""Shared fixtures: an explicit RNG per test."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator (tests never touch global random state)."""
    return np.random.default_rng(1234)
