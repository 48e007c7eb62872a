"""`gradcheck(layer, x)`: a layer's backward against finite differences along random directions.

Like `torch.autograd.gradcheck` and HIPS/autograd's `check_vjp`, for any gradscope `Layer`
(a built-in one, a container, or your own): with a fixed random R the scalar
L(x, θ) = Σ R ⊙ layer(x) has the analytic gradients the layer's `backward(R)` returns (dL/dx)
and stores (`layer.grads`, dL/dθ for every param, sub-layers included). For each of them and
each random direction v, the directional derivative ⟨∇L, v⟩ is compared with the central
difference (L(· + εv) − L(· − εv)) / 2ε — two forward passes per direction, cheap on large
layers and exact enough in float64 (relative error ~1e-9 for a correct backward).

    from gradscope import gradcheck
    gradcheck(MyLayer(), np.random.default_rng(0).normal(size=(4, 3)))  # raises if wrong

Pick x away from kinks (e.g. ReLU at 0): a difference straddling one is not a derivative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradscope.core.errors import ConfigError, GradscopeError
from gradscope.core.validation import check_scalar
from gradscope.nn.layers.base import Layer


class GradcheckError(GradscopeError, AssertionError):
    """A layer's analytic gradient disagrees with finite differences."""


@dataclass(frozen=True)
class Check:
    """One gradient checked along one direction: what, ⟨analytic, v⟩, the difference quotient."""

    name: str  # "input" or "<sub-layer path>.<param>", e.g. "W" or "0.W"
    analytic: float
    numeric: float

    @property
    def rel_error(self) -> float:
        """|analytic − numeric| / (|analytic| + |numeric|): 0 if equal, ~1 if unrelated."""
        diff = abs(self.analytic - self.numeric)
        return diff / max(abs(self.analytic) + abs(self.numeric), 1e-300) if diff else 0.0


@dataclass(frozen=True)
class GradcheckResult:
    """Every check of one `gradcheck` call; `passed` when each is within the tolerances."""

    layer: str
    checks: tuple[Check, ...]
    rtol: float
    atol: float

    def ok(self, check: Check) -> bool:
        """|analytic − numeric| ≤ atol + rtol · (|analytic| + |numeric|)."""
        return abs(check.analytic - check.numeric) <= self.atol + self.rtol * (
            abs(check.analytic) + abs(check.numeric))

    @property
    def passed(self) -> bool:
        """True if every check is within the tolerances."""
        return all(self.ok(c) for c in self.checks)

    @property
    def max_rel_error(self) -> dict[str, float]:
        """The largest relative error of each checked gradient."""
        out: dict[str, float] = {}
        for c in self.checks:
            out[c.name] = max(out.get(c.name, 0.0), c.rel_error)
        return out

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        errors = ", ".join(f"{k}: {v:.1e}" for k, v in self.max_rel_error.items())
        return f"GradcheckResult({self.layer}, {'passed' if self.passed else 'FAILED'}; {errors})"


def _targets(layer: Layer) -> list[tuple[str, Layer, str, np.ndarray]]:
    """(name, owner layer, key, array) of every parameter, sub-layers by their path."""
    paths = {id(lay): path for path, lay in layer.named_layers()}
    out = []
    for owner, key, param in layer.parameters():
        path = paths.get(id(owner), "")
        out.append((f"{path}.{key}" if path else key, owner, key, param))
    return out


def gradcheck(
    layer: Layer,
    x: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    eps: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    n_directions: int = 3,
    raise_on_failure: bool = True,
) -> GradcheckResult:
    """Check dL/dx and every dL/dparam of `layer` at `x` along `n_directions` random
    directions each; GradcheckError naming the first wrong gradient (or, with
    raise_on_failure=False, the result to inspect). x and the params must be float64. A check
    passes when |⟨g, v⟩ − quotient| ≤ atol + rtol·(|⟨g, v⟩| + |quotient|), atol raised by the
    rounding noise of the quotient (16 ulp of Σ|R ⊙ y| / ε)."""
    if not isinstance(layer, Layer):
        raise ConfigError(f"gradcheck needs a gradscope Layer, got {type(layer).__name__}.")
    eps = check_scalar(eps, "gradcheck eps", float, min_val=0, include_boundaries="neither")
    rtol = check_scalar(rtol, "gradcheck rtol", float, min_val=0)
    atol = check_scalar(atol, "gradcheck atol", float, min_val=0)
    n_directions = check_scalar(n_directions, "gradcheck n_directions", int, min_val=1)
    rng = np.random.default_rng(0) if rng is None else rng
    x = np.array(x, dtype=float, copy=True)
    targets = _targets(layer)
    wrong_dtype = [name for name, _, _, p in targets if p.dtype != np.float64]
    if x.dtype != np.float64 or wrong_dtype:
        raise ConfigError(f"gradcheck needs float64 input and params (finite differences in "
                          f"float32 are too coarse); {wrong_dtype or 'x'} are not.")
    out = layer(x)
    r = rng.standard_normal(np.shape(out))
    # rounding of L itself, divided by 2ε: no difference quotient is more precise than this
    noise = 16 * np.finfo(np.float64).eps * float(np.sum(np.abs(r * out))) / eps

    def loss() -> float:
        return float(np.sum(layer(x) * r))

    layer(x)
    grad_x = layer.backward(r)
    analytic = [("input", x, grad_x)] + [
        (name, param, np.array(owner.grads[key], copy=True)) for name, owner, key, param in targets
    ]
    checks = []
    for name, array, grad in analytic:
        if grad is None or np.shape(grad) != array.shape:
            raise GradcheckError(
                f"gradcheck({type(layer).__name__}): the gradient of {name} has shape "
                f"{np.shape(grad)}, but {name} has shape {array.shape}.")
        saved = array.copy()
        for _ in range(n_directions):
            v = rng.standard_normal(array.shape)
            values = []
            for sign in (1.0, -1.0):
                np.copyto(array, saved + sign * eps * v)
                values.append(loss())
            np.copyto(array, saved)
            checks.append(Check(name, float(np.sum(grad * v)), (values[0] - values[1]) / (2 * eps)))
    result = GradcheckResult(type(layer).__name__, tuple(checks), rtol, atol + noise)
    bad = next((c for c in checks if not result.ok(c)), None)
    if bad is not None and raise_on_failure:
        raise GradcheckError(
            f"gradcheck({type(layer).__name__}): the gradient of {bad.name} disagrees with finite "
            f"differences: ⟨analytic, v⟩ = {bad.analytic:.6g} but the difference quotient is "
            f"{bad.numeric:.6g} (relative error {bad.rel_error:.1e} > rtol {rtol:g}). Check "
            f"the backward of {bad.name if bad.name == 'input' else 'the layer owning ' + bad.name}"
            " (and that x is away from kinks such as ReLU's 0)."
        )
    return result
