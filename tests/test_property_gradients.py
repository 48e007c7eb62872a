"""Property-based gradient checks: random small networks, random directions (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import check_vjp_directional
from gradscope import ACTIVATIONS, NORMS, mlp

SMOOTH = [a for a in ACTIVATIONS.names() if ACTIVATIONS.get(a).family != "relu"]


@settings(max_examples=40, deadline=None)
@given(
    activation=st.sampled_from(SMOOTH),
    norm=st.sampled_from(NORMS.names()),
    residual=st.booleans(),
    depth=st.integers(1, 6),
    width=st.integers(2, 9),
    batch=st.integers(2, 7),
    seed=st.integers(0, 2**16),
)
def test_random_networks_match_finite_differences(activation, norm, residual, depth, width,
                                                  batch, seed) -> None:
    """Any smooth mlp (ReLU kinks excluded) agrees with central differences along random
    directions of its input and all its parameters at once."""
    rng = np.random.default_rng(seed)
    net = mlp(3, 2, depth=depth, width=width, activation=activation, init="xavier", norm=norm,
              residual=residual, seed=seed)
    with np.errstate(all="raise"):
        check_vjp_directional(net, rng.standard_normal((batch, 3)), rng, n_dirs=2, tol=1e-6)
