"""`predict(...)`: the mean-field prediction for an `mlp`, as one frozen, JSON-ready record."""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np

from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.initializers import INITIALIZERS
from gradscope.nn.mlp import NORMS
from gradscope.theory.init_variance import sigma_w2_of
from gradscope.theory.layers import LayerPrediction, NetShape, layer_predictions
from gradscope.theory.meanfield import chi, depth_scale, fixed_point
from gradscope.theory.moments import moments

SQUARED_NOTE = (
    "Keys ending in _ratio (chi1, per_layer_ratio, total_ratio, layers[].ratio) are ratios of "
    "SQUARED norms ||delta_l||^2/||delta_{l+1}||^2; keys ending in _norm_ratio are their square "
    "roots. delta_l = dL/dh_l at Dense layer l (0 = nearest the input). delta_ratio_log10 = "
    "log10(||delta_0||/||delta_depth||), the runs.csv column of the same name."
)


@dataclass(frozen=True)
class Prediction:
    """Mean-field prediction for an mlp of `depth` hidden blocks (depth + 1 Dense layers).

    chi1: ‖δ_l‖²/‖δ_{l+1}‖² at the fixed point q* (squared norms); per_layer_ratio: the geometric
    mean of the predicted ‖δ_l‖²/‖δ_{l+1}‖² over the `depth` hidden layers, transient from the
    input included (equals chi1 once q^l has reached q*; directly comparable with the measured
    per-layer ratio); per_layer_norm_ratio = √per_layer_ratio; total_ratio = ‖δ_0‖²/‖δ_depth‖²
    (product over layers); total_norm_ratio = its square root; depth_scale = −1/ln chi1.
    """

    activation: str
    init: str | None
    sigma_w2: float
    sigma_b2: float
    depth: int
    width: int
    in_dim: int
    out_dim: int
    q_in: float
    norm: str
    residual: bool
    q_star: float | None
    chi1: float
    depth_scale: float
    per_layer_ratio: float
    per_layer_norm_ratio: float
    total_ratio: float
    total_norm_ratio: float
    total_ratio_log10: float
    delta_ratio_log10: float
    layers: tuple[LayerPrediction, ...]

    def to_dict(self) -> dict:
        """A JSON-safe dict (non-finite numbers become None) with a `convention` note."""
        out = asdict(self)
        out["layers"] = [dict(asdict(r), norm_ratio=r.norm_ratio) for r in self.layers]
        out["convention"] = SQUARED_NOTE
        return _finite_or_none(out)


def _finite_or_none(value):
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check(
    activation: str, init: str | None, sigma_w2: float | None, sigma_b2: float, depth: int,
    width: int, in_dim: int, out_dim: int, q_in: float, norm: str, residual: bool,
) -> None:
    ACTIVATIONS.parse(activation, "activation")
    if (init is None) == (sigma_w2 is None):
        raise ConfigError(
            "Give exactly one of init (--init, e.g. xavier, he, normal:0.01) and sigma_w2 "
            f"(--sigma-w2, the weight variance times fan_in); got init={init!r}, "
            f"sigma_w2={sigma_w2!r}. Valid initialisers: {', '.join(INITIALIZERS.names())}."
        )
    if init is not None:
        INITIALIZERS.parse(init, "init")
    for key, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q_in", q_in)):
        if value is not None:
            check_scalar(value, f"{key} (--{key.replace('_', '-')})", float, min_val=0.0,
                         hint="A variance, e.g. --sigma-w2 2 --sigma-b2 0.05.")
    for key, value in (("depth", depth), ("width", width), ("in_dim", in_dim),
                       ("out_dim", out_dim)):
        check_scalar(value, f"{key} (--{key.replace('_', '-')})", int, min_val=1)
    NORMS.get(norm, "norm")
    if residual and norm != "none":
        raise ConfigError(
            f'norm = "{norm}" with residual = true: the mean-field rates implemented here cover '
            "residual blocks without normalisation, or normalised blocks without residual "
            "connections, not both. Valid: norm none with residual, or residual false."
        )


def predict(
    activation: str,
    *,
    init: str | None = None,
    sigma_w2: float | None = None,
    sigma_b2: float = 0.0,
    depth: int = 10,
    width: int = 128,
    in_dim: int | None = None,
    out_dim: int | None = None,
    q_in: float = 1.0,
    norm: str = "none",
    residual: bool = False,
) -> Prediction:
    """Mean-field prediction for `mlp(in_dim, out_dim, depth, width, activation, init, ...)`.

    Give `init` (σ_w² then follows per layer from its fan_in and fan_out) or `sigma_w2` (the same
    for every layer). `q_in` is E[x²] per input feature (default 1: standardised inputs, so the
    first hidden layer has q = σ_w²·1 + σ_b²). in_dim and out_dim default to `width` (all layers
    square). Biases: variance σ_b² (mlp's own biases start at 0, i.e. σ_b² = 0).
    """
    in_dim = width if in_dim is None else in_dim
    out_dim = width if out_dim is None else out_dim
    _check(activation, init, sigma_w2, sigma_b2, depth, width, in_dim, out_dim, q_in, norm,
           residual)
    fans = [(in_dim, width)] + [(width, width)] * (depth - 1) + [(width, out_dim)]
    if init is not None:
        sw2 = [sigma_w2_of(init, fi, fo) for fi, fo in fans]
        hidden = sigma_w2_of(init, width, width)
    else:
        sw2 = [float(sigma_w2)] * (depth + 1)
        hidden = float(sigma_w2)
    res = [residual and fi == fo for fi, fo in fans[:-1]]
    block = "residual" if residual else ("plain" if norm == "none" else norm)
    m = moments(activation)
    rows = layer_predictions(m, NetShape(sw2, sigma_b2, res, q_in), block)
    q_star, chi_1 = _fixed_point_rate(m, block, hidden, sigma_b2, q_in, rows)
    ratios = np.array([r.ratio for r in rows])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log10_total = float(np.log10(ratios).sum())
    per_layer = 10.0 ** (log10_total / depth)
    return Prediction(
        activation=ACTIVATIONS.parse(activation).name, init=init, sigma_w2=hidden,
        sigma_b2=float(sigma_b2), depth=int(depth), width=int(width), in_dim=int(in_dim),
        out_dim=int(out_dim), q_in=float(q_in), norm=norm, residual=bool(residual),
        q_star=q_star, chi1=chi_1, depth_scale=depth_scale(chi_1), per_layer_ratio=per_layer,
        per_layer_norm_ratio=per_layer**0.5, total_ratio=_pow10(log10_total),
        total_norm_ratio=_pow10(log10_total / 2.0), total_ratio_log10=log10_total,
        delta_ratio_log10=log10_total / 2.0, layers=tuple(rows),
    )


@functools.lru_cache(maxsize=4096)
def cached_predict(
    activation: str, init: str | None, sigma_w2: float | None, sigma_b2: float, depth: int,
    width: int, in_dim: int | None, out_dim: int | None, q_in: float, norm: str,
    residual: bool,
) -> Prediction:
    """`predict(...)` with every argument positional, remembered per distinct arguments: a
    sweep asks the same few configurations once per run (the Prediction is frozen)."""
    return predict(activation, init=init, sigma_w2=sigma_w2, sigma_b2=sigma_b2, depth=depth,
                   width=width, in_dim=in_dim, out_dim=out_dim, q_in=q_in, norm=norm,
                   residual=residual)


def _pow10(x: float) -> float:
    return math.inf if x > 308 else 10.0**x


def _fixed_point_rate(m, block, sigma_w2, sigma_b2, q_in, rows) -> tuple[float | None, float]:
    """q* and chi1 for the block kind: the plain fixed point; 1 and the normalised rate for
    norms; no fixed point for residual stacks (q grows), whose chi1 is the deepest block's rate."""
    if block == "plain":
        q = fixed_point(m, sigma_w2, sigma_b2, sigma_w2 * q_in + sigma_b2)
        return q, chi(m, sigma_w2, q)
    if block in ("batchnorm", "layernorm"):
        spread = float(m.var(1.0) if block == "batchnorm" else m.second(1.0))
        return 1.0, float(m.deriv2(1.0)) / spread
    last = rows[-1]
    return None, 1.0 + chi(m, sigma_w2, last.q)
