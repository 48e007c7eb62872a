"""Per-layer mean-field predictions through a whole net, including the transient from the input.

Layer l is the l-th Dense layer (0 nearest the input, `depth` the output layer, as in `mlp`);
δ_l = dL/dh_l is the gradient w.r.t. its output. Each row predicts ratio_l = ‖δ_l‖²/‖δ_{l+1}‖²
(SQUARED norms). Block rules (one function per block kind, in the `BLOCKS` table):

- "plain" (Dense → φ) and "residual" (x + φ(x W + b)), one recursion: with G_l = ‖dL/dx_l‖² of
  the stream after block l and d_l = E[φ'(h_l)²],
  ‖δ_l‖² = d_l·G_l and G_{l−1} = G_l·(r_l + σ_w²(l)·d_l), r_l = 1 for a residual block, else 0;
  so ratio_l = σ_w²(l+1)·d_l for a plain net (= χ(q_l)), and d_l·(1 + χ_{l+1})/d_{l+1} across
  residual blocks — the stream's ‖∂L/∂x‖² grows by 1 + χ per block. Forward, the stream keeps a
  second moment Q and a common mean μ (sigmoid/ReLU outputs are positive, so x + φ(h) drifts):
  Q ← Q + 2μ·E[φ] + E[φ²], μ ← μ + E[φ] (plain blocks: Q ← E[φ²], μ ← E[φ]).
- "batchnorm" (Dense → BatchNorm → φ, γ = 1, β = 0, large batch): φ sees z ~ N(0, 1) whatever
  σ_w², σ_b²; BatchNorm divides δ by the batch std s_l of h_l, s_l² = σ_w²(l)·Var[x_{l−1}], so
  ratio_l = σ_w²(l+1)·E[φ'(z)²]/s_l² → E[φ'(z)²]/Var[φ(z)] on square layers. By the Gaussian
  Poincaré inequality Var φ ≤ E φ'², so this is ≥ 1 for every φ (equality only for linear φ):
  batch-normalised nets explode gradients at initialisation. For ReLU it is π/(π − 1) ≈ 1.47,
  the rate of Yang et al. 2019 ("A mean field theory of batch normalization", ICLR). Left out:
  the O(1/batch) terms (BatchNorm's backward removes 2 of the batch's B directions).
- "layernorm" (Dense → LayerNorm → φ): the same with the per-example second moment over the
  features in place of the batch variance: ratio → E[φ'(z)²]/E[φ(z)²] (= 1 for ReLU; < 1 for
  sigmoid, whose mean inflates the normaliser). Left out: O(1/width) terms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gradscope.core.errors import ConfigError
from gradscope.theory.meanfield import Q_INFINITE
from gradscope.theory.moments import Moments, PiecewiseLinear

Moment = Moments | PiecewiseLinear


@dataclass(frozen=True)
class LayerPrediction:
    """One hidden Dense layer l: q = variance of φ's input, ratio = ‖δ_l‖²/‖δ_{l+1}‖² (squared);
    ln_mean, ln_var: E and Var of ln ratio across seeds at the net's finite width (nan where the
    finite-width law does not cover the block, see `gradscope.theory.finite_width`)."""

    layer: int
    q: float
    sigma_w2: float
    residual: bool
    ratio: float
    ln_mean: float = math.nan
    ln_var: float = math.nan

    @property
    def norm_ratio(self) -> float:
        """‖δ_l‖/‖δ_{l+1}‖ = √ratio."""
        return self.ratio**0.5


@dataclass(frozen=True)
class NetShape:
    """What the recursion needs of a net: σ_w² of each Dense layer (depth + 1 of them), σ_b²
    (one for all layers, or one per Dense layer), which hidden blocks are residual, and the
    input's per-feature second moment q_in (the mean of x_i² the first Dense layer sees)."""

    sigma_w2: Sequence[float]
    sigma_b2: float | Sequence[float]
    residual: Sequence[bool]
    q_in: float = 1.0

    def bias_var(self, layer: int) -> float:
        """σ_b² of Dense layer `layer`."""
        if isinstance(self.sigma_b2, int | float):
            return float(self.sigma_b2)
        return float(self.sigma_b2[layer])

    @property
    def depth(self) -> int:
        """Number of hidden blocks."""
        return len(self.sigma_w2) - 1


def _scaled_moments(m: Moment, q: float) -> tuple[float, float]:
    """E[φ] and E[φ²] at q; beyond Q_INFINITE (only unbounded φ get there) by their asymptotic
    scaling √q and q, so that an exploding net's q can run to ∞ without NaNs."""
    if q <= Q_INFINITE:
        return float(m.mean(q)), float(m.second(q))
    scale = q / Q_INFINITE
    return float(m.mean(Q_INFINITE)) * scale**0.5, float(m.second(Q_INFINITE)) * scale


def _stream_layers(m: Moment, net: NetShape) -> list[LayerPrediction]:
    """Plain and residual blocks (see the module docstring)."""
    qs, ds = [], []
    big_q, mu = net.q_in, 0.0  # the input: unit-variance features, zero mean
    for l in range(net.depth):
        q = net.sigma_w2[l] * big_q + net.bias_var(l)
        mean, second = _scaled_moments(m, q)
        if net.residual[l]:
            big_q, mu = big_q + 2.0 * mu * mean + second, mu + mean
        else:
            big_q, mu = second, mean
        qs.append(q)
        ds.append(float(m.deriv2(min(q, Q_INFINITE))))
    rows = []
    for l in range(net.depth):
        if l == net.depth - 1:
            ratio = net.sigma_w2[l + 1] * ds[l]
        else:
            gain = float(net.residual[l + 1]) + net.sigma_w2[l + 1] * ds[l + 1]
            ratio = ds[l] * gain / ds[l + 1] if ds[l + 1] > 0.0 else float("inf")
        rows.append(LayerPrediction(l, qs[l], net.sigma_w2[l], bool(net.residual[l]), ratio))
    return rows


def _normalized_layers(divisor: Callable[[Moment], float], first: Callable[[NetShape], float]):
    """Blocks Dense → norm → φ: φ's input is N(0, 1); δ is divided by the norm's std."""

    def rows(m: Moment, net: NetShape) -> list[LayerPrediction]:
        d, spread = float(m.deriv2(1.0)), divisor(m)
        out = []
        for l in range(net.depth):
            s2 = net.sigma_w2[l] * (first(net) if l == 0 else spread)
            out.append(LayerPrediction(l, 1.0, net.sigma_w2[l], False,
                                       net.sigma_w2[l + 1] * d / s2))
        return out

    return rows


BLOCKS: dict[str, Callable[[Moment, NetShape], list[LayerPrediction]]] = {
    "plain": _stream_layers,
    "residual": _stream_layers,
    "batchnorm": _normalized_layers(lambda m: float(m.var(1.0)), lambda net: net.q_in),
    "layernorm": _normalized_layers(lambda m: float(m.second(1.0)), lambda net: net.q_in),
}


def layer_predictions(m: Moment, net: NetShape, block: str = "plain") -> list[LayerPrediction]:
    """The per-layer predictions for `depth` hidden blocks of kind `block` (see `BLOCKS`);
    ConfigError for a block kind the theory has no rule for."""
    if block not in BLOCKS:
        raise ConfigError(
            f'block = "{block}": the mean-field theory has no rule for this kind of block, so it '
            f"cannot predict this net. Blocks it covers: {', '.join(BLOCKS)} (a norm with "
            "residual connections is not covered either)."
        )
    return BLOCKS[block](m, net)
