"""`predict(...)`: the mean-field prediction for an `mlp`, as one frozen, JSON-ready record."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.bias_init import bias_variance, parse_bias_init
from gradscope.nn.initializers import INITIALIZERS
from gradscope.nn.mlp import NORMS
from gradscope.theory.correlation import Correlation, correlation
from gradscope.theory.finite_width import combine_law, layer_log_moments
from gradscope.theory.init_variance import sigma_w2_of
from gradscope.theory.layers import LayerPrediction, NetShape, layer_predictions
from gradscope.theory.meanfield import Q_INFINITE, chi, depth_scale, fixed_point
from gradscope.theory.moments import moments

SQUARED_NOTE = (
    "Keys ending in _ratio (chi1, per_layer_ratio, total_ratio, layers[].ratio) are ratios of "
    "SQUARED norms ||delta_l||^2/||delta_{l+1}||^2; keys ending in _norm_ratio are their square "
    "roots. delta_l = dL/dh_l at Dense layer l (0 = nearest the input). delta_ratio_log10 = "
    "log10(||delta_0||/||delta_depth||), the runs.csv column of the same name (mean-field, "
    "infinite width); delta_log10_ratio_mean and delta_log10_ratio_sd are its mean and "
    "seed-to-seed standard deviation at the given width for one example (batch_size 1; an upper "
    "bound on the sd for larger batches), from layers[].ln_mean/ln_var (natural log of each "
    "squared ratio); spread_law says how: exact (ReLU family), asymptotic, heuristic, none."
)


@dataclass(frozen=True)
class Prediction:
    """Mean-field prediction for an mlp of `depth` hidden blocks (depth + 1 Dense layers).

    chi1: ‖δ_l‖²/‖δ_{l+1}‖² at the fixed point q* (squared norms); per_layer_ratio: the geometric
    mean of the predicted ‖δ_l‖²/‖δ_{l+1}‖² over the `depth` hidden layers, transient from the
    input included (equals chi1 once q^l has reached q*; directly comparable with the measured
    per-layer ratio); per_layer_norm_ratio = √per_layer_ratio; total_ratio = ‖δ_0‖²/‖δ_depth‖²
    (product over layers); total_norm_ratio = its square root; depth_scale = −1/ln chi1.
    delta_log10_ratio_mean / _sd: mean and seed-to-seed standard deviation of
    log10(‖δ_0‖/‖δ_depth‖) at this width for one example (`gradscope.theory.finite_width`;
    spread_law: exact, asymptotic, heuristic, or none for blocks it does not cover).
    c_star, chi_c, xi_c: the correlation fixed point, its rate and the correlation depth scale
    ξ_c = −1/ln χ_c of Schoenholz et al. 2017 (`gradscope.theory.correlation`; plain blocks,
    None where q* is infinite): nets deeper than about 6 ξ_c do not train.
    """

    activation: str
    init: str | None
    sigma_w2: float
    sigma_b2: float
    bias_init: str | None
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
    delta_log10_ratio_mean: float | None
    delta_log10_ratio_sd: float | None
    spread_law: str
    layers: tuple[LayerPrediction, ...]

    @cached_property
    def correlation(self) -> Correlation:
        """c*, χ_c and ξ_c (computed on first use: the chaotic c* takes a 2-D quadrature)."""
        if self.norm != "none" or self.residual:
            return Correlation(None, None, None)
        return _correlation(self.activation, self.sigma_w2, self.sigma_b2)

    @property
    def c_star(self) -> float | None:
        """The stable fixed point of the correlation map (1 in the ordered phase)."""
        return self.correlation.c_star

    @property
    def chi_c(self) -> float | None:
        """σ_w²·E[φ'(u₁)φ'(u₂)] at c*: the per-layer rate at which correlations converge."""
        return self.correlation.chi_c

    @property
    def xi_c(self) -> float | None:
        """The correlation depth scale −1/ln χ_c (nets deeper than ~6 ξ_c do not train)."""
        return self.correlation.xi_c

    def to_dict(self) -> dict:
        """A JSON-safe dict (non-finite numbers become None) with a `convention` note."""
        out = asdict(self)
        out.update(c_star=self.c_star, chi_c=self.chi_c, xi_c=self.xi_c)
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
    activation: str, init: str | None, sigma_w2: float | None, sigma_b2: float,
    bias_init: str | None, depth: int,
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
    if bias_init is not None:
        parse_bias_init(bias_init)
        if sigma_b2:
            raise ConfigError(
                f"Give at most one of bias_init (--bias-init, e.g. normal:1) and sigma_b2 "
                f"(--sigma-b2, the bias variance); got bias_init={bias_init!r}, "
                f"sigma_b2={sigma_b2!r}.")
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
    bias_init: str | None = None,
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
    for every layer). `q_in` is E[x_i²] per input feature, the mean of x_i² over examples and
    features that the first Dense layer sees (default 1: standardised inputs, so the first hidden
    layer has q = σ_w²·q_in + σ_b²; `Dataset.q_in` computes it). in_dim and out_dim default to
    `width` (all layers square). Biases: variance `sigma_b2` for every layer, or `bias_init` (an
    mlp's `bias_init`, e.g. "normal:1": σ_b² then follows per layer from its fans; "zeros", the
    mlp default, is σ_b² = 0).
    """
    in_dim = width if in_dim is None else in_dim
    out_dim = width if out_dim is None else out_dim
    _check(activation, init, sigma_w2, sigma_b2, bias_init, depth, width, in_dim, out_dim, q_in,
           norm, residual)
    fans = [(in_dim, width)] + [(width, width)] * (depth - 1) + [(width, out_dim)]
    if bias_init is not None:
        sb2: float | list[float] = [bias_variance(bias_init, fi, fo) for fi, fo in fans]
        sigma_b2 = bias_variance(bias_init, width, width)
    else:
        sb2 = float(sigma_b2)
    if init is not None:
        sw2 = [sigma_w2_of(init, fi, fo) for fi, fo in fans]
        hidden = sigma_w2_of(init, width, width)
        isometric = INITIALIZERS.get(INITIALIZERS.parse(init, "init").name).norm_preserving
    else:
        sw2 = [float(sigma_w2)] * (depth + 1)
        hidden = float(sigma_w2)
        isometric = False
    res = [residual and fi == fo for fi, fo in fans[:-1]]
    block = "residual" if residual else ("plain" if norm == "none" else norm)
    m = moments(activation)
    rows = layer_predictions(m, NetShape(sw2, sb2, res, q_in), block)
    rows, spread_mean, spread_sd, law = _spread(m, rows, block, sw2, fans, isometric)
    q_star, chi_1 = _fixed_point_rate(m, block, hidden, sigma_b2, q_in, rows)
    ratios = np.array([r.ratio for r in rows])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log10_total = float(np.log10(ratios).sum())
    per_layer = 10.0 ** (log10_total / depth)
    return Prediction(
        activation=ACTIVATIONS.parse(activation).name, init=init, sigma_w2=hidden,
        sigma_b2=float(sigma_b2), bias_init=bias_init, depth=int(depth), width=int(width),
        in_dim=int(in_dim), out_dim=int(out_dim), q_in=float(q_in), norm=norm,
        residual=bool(residual),
        q_star=q_star, chi1=chi_1, depth_scale=depth_scale(chi_1), per_layer_ratio=per_layer,
        per_layer_norm_ratio=per_layer**0.5, total_ratio=_pow10(log10_total),
        total_norm_ratio=_pow10(log10_total / 2.0), total_ratio_log10=log10_total,
        delta_ratio_log10=log10_total / 2.0, delta_log10_ratio_mean=spread_mean,
        delta_log10_ratio_sd=spread_sd, spread_law=law, layers=tuple(rows),
    )


def predict_layers(activation: str, sigma_w2: Sequence[float],
                   sigma_b2: float | Sequence[float] = 0.0, *, q_in: float = 1.0,
                   fans: Sequence[tuple[int, int]] | None = None) -> Prediction:
    """Mean-field prediction for a plain net (Dense → φ blocks, then an output Dense layer) from
    per-layer variances, e.g. estimated from a trained model's weights: σ_w²(l) = fan_in·E[W_l²]
    and σ_b²(l) = E[b_l²] for each of the depth + 1 Dense layers, q_in = E[x²] of the input.
    `fans` ((fan_in, fan_out) per layer) fills width/in_dim/out_dim of the record."""
    sw2 = [float(v) for v in sigma_w2]
    depth = len(sw2) - 1
    sb2 = float(sigma_b2) if isinstance(sigma_b2, int | float) else [float(v) for v in sigma_b2]
    ACTIVATIONS.parse(activation, "activation")
    if depth < 1 or not all(math.isfinite(v) and v >= 0 for v in sw2) or (
            not isinstance(sb2, float) and len(sb2) != depth + 1):
        raise ConfigError(
            f"predict_layers needs σ_w² ≥ 0 of at least 2 Dense layers and σ_b² of each (or one "
            f"for all); got sigma_w2={sw2!r}, sigma_b2={sigma_b2!r}.")
    check_scalar(q_in, "q_in", float, min_val=0.0, hint="E[x²] of the input features.")
    m = moments(activation)
    rows = layer_predictions(m, NetShape(sw2, sb2, [False] * depth, q_in), "plain")
    if fans is not None:  # the finite-width spread needs the widths
        rows, spread_mean, spread_sd, law = _spread(m, rows, "plain", sw2, list(fans), False)
    else:
        spread_mean, spread_sd, law = None, None, "none"
    hidden_w2 = float(np.mean(sw2[1:-1])) if depth > 1 else sw2[0]
    hidden_b2 = sb2 if isinstance(sb2, float) else float(np.mean(sb2[:depth]))
    q_star, chi_1 = _fixed_point_rate(m, "plain", hidden_w2, hidden_b2, q_in, rows)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log10_total = float(np.log10([r.ratio for r in rows]).sum())
    per_layer = 10.0 ** (log10_total / depth)
    fans = list(fans) if fans is not None else [(0, 0)] * (depth + 1)
    return Prediction(
        activation=ACTIVATIONS.parse(activation).name, init=None, bias_init=None,
        sigma_w2=hidden_w2, sigma_b2=hidden_b2, depth=depth, width=int(fans[0][1]),
        in_dim=int(fans[0][0]),
        out_dim=int(fans[-1][1]), q_in=float(q_in), norm="none", residual=False,
        q_star=q_star, chi1=chi_1, depth_scale=depth_scale(chi_1), per_layer_ratio=per_layer,
        per_layer_norm_ratio=per_layer**0.5, total_ratio=_pow10(log10_total),
        total_norm_ratio=_pow10(log10_total / 2.0), total_ratio_log10=log10_total,
        delta_ratio_log10=log10_total / 2.0, delta_log10_ratio_mean=spread_mean,
        delta_log10_ratio_sd=spread_sd, spread_law=law, layers=tuple(rows),
    )


@lru_cache(maxsize=256)
def _correlation(activation: str, sigma_w2: float, sigma_b2: float) -> Correlation:
    """`correlation(...)` for a registered activation, cached (the chaotic c* takes ~0.1 s)."""
    return correlation(moments(activation), sigma_w2, sigma_b2)


def _spread(m, rows, block, sw2, fans, isometric):
    """The rows with their finite-width ln_mean/ln_var, and the mean and sd of
    log10(‖δ_0‖/‖δ_depth‖) = ½·Σ ln ratio_l / ln 10 (layers independent). Plain blocks only."""
    if block != "plain":
        return rows, None, None, "none"
    out = []
    for row in rows:
        n, fan_out = fans[row.layer + 1]  # ratio_l goes through W_{l+1}: (width of layer l, ·)
        lm = layer_log_moments(m, sw2[row.layer + 1], min(row.q, Q_INFINITE), n,
                               norm_preserving=isometric and n >= fan_out)
        out.append((replace(row, ln_mean=lm.mean, ln_var=lm.var), lm.law))
    law = combine_law([law for _, law in out])
    if law == "none":
        return [r for r, _ in out], None, None, law
    scale = 2.0 * math.log(10.0)
    mean = sum(r.ln_mean for r, _ in out) / scale
    sd = math.sqrt(sum(r.ln_var for r, _ in out)) / scale
    return [r for r, _ in out], mean, sd, law


@functools.lru_cache(maxsize=4096)
def cached_predict(
    activation: str, init: str | None, sigma_w2: float | None, sigma_b2: float,
    bias_init: str | None, depth: int, width: int, in_dim: int | None, out_dim: int | None,
    q_in: float, norm: str, residual: bool,
) -> Prediction:
    """`predict(...)` with every argument positional, remembered per distinct arguments: a
    sweep asks the same few configurations once per run (the Prediction is frozen)."""
    return predict(activation, init=init, sigma_w2=sigma_w2, sigma_b2=sigma_b2,
                   bias_init=bias_init, depth=depth, width=width, in_dim=in_dim,
                   out_dim=out_dim, q_in=q_in, norm=norm, residual=residual)


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
