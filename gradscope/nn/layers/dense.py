"""`Dense`: the fully connected layer x @ W + b."""

from __future__ import annotations

import numpy as np

from gradscope.core.errors import ConfigError, ShapeError
from gradscope.core.validation import check_scalar
from gradscope.nn.bias_init import initialize_bias, is_zeros
from gradscope.nn.initializers import initialize
from gradscope.nn.layers.base import Layer
from gradscope.nn.quiet import QUIET

# Non-finite values in a matmul are a result (the recorder counts them), never a warning: some
# BLAS kernels raise the invalid/overflow flag on inf inputs (e.g. 0·inf in padded SIMD lanes),
# others do not, so the flags are ignored here whatever the kernel and the caller's errstate.
_QUIET = {"over": "ignore", "invalid": "ignore"}


def _weight_rng(rng: np.random.Generator | None, seed: int | None, fan_in: int,
                fan_out: int) -> np.random.Generator:
    """The generator of the initial weights: `rng`, or one seeded with `seed`; one is required."""
    if rng is not None and seed is not None:
        raise ConfigError("Dense takes rng= or seed=, not both.")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"Dense rng must be a numpy Generator (np.random.default_rng(...)), "
                            f"got {type(rng).__name__}.")
        return rng
    if seed is None:
        raise ConfigError(
            f"Dense({fan_in}, {fan_out}) needs rng= (a np.random.Generator shared by the layers "
            f"of a network, e.g. rng = np.random.default_rng(0)) or seed=. Without one, every "
            f"same-shaped layer would get identical weights, which breaks the independence that "
            f"initialisation theory assumes.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"Dense seed must be a whole number ≥ 0, got {seed!r}.")
    return np.random.default_rng(int(seed))


def _bias_rng(rng: np.random.Generator) -> np.random.Generator:
    """A child stream spawned from the weight generator: drawing from it leaves `rng`'s own
    stream (the weights of this and every later layer) exactly as it would be without biases."""
    try:
        return rng.spawn(1)[0]
    except (TypeError, AttributeError, ValueError):
        raise ConfigError("Dense cannot spawn a bias stream from this rng (it has no seed "
                          "sequence); pass bias_rng= (a np.random.Generator) for the biases, or "
                          "rng=np.random.default_rng(SEED).") from None


class Dense(Layer):
    """Fully connected layer `x @ W + b` with W of shape (fan_in, fan_out).

    The initial weights come from `rng` (share one Generator across a network's layers) or
    from `seed`; one of the two is required, so that two layers never silently get the same
    weights and every network is reproducible. Biases start at 0 unless `bias_init` names a
    bias initialiser (`gradscope.nn.bias_init`, e.g. "normal:1": std 1, σ_b² = 1); drawn biases
    come from `bias_rng`, by default a child stream spawned from the weight generator after the
    weights are drawn (`rng.spawn(1)[0]`), so the weights do not depend on `bias_init`.
    """

    kind = "dense"

    def __init__(
        self,
        fan_in: int,
        fan_out: int,
        init: str = "he",
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        seed: int | None = None,
        dtype: str | np.dtype = "float64",
        bias_init: str = "zeros",
        bias_rng: np.random.Generator | None = None,
    ) -> None:
        self.fan_in = check_scalar(fan_in, "Dense's fan_in", int, min_val=1)
        self.fan_out = check_scalar(fan_out, "Dense's fan_out", int, min_val=1)
        rng = _weight_rng(rng, seed, fan_in, fan_out)
        self.init = init
        self.bias_init = bias_init
        self.params = {"W": initialize(init, (self.fan_in, self.fan_out), rng=rng, dtype=dtype)}
        if bias:
            if bias_rng is None and not is_zeros(bias_init):
                bias_rng = _bias_rng(rng)
            self.params["b"] = initialize_bias(bias_init, self.fan_in, self.fan_out,
                                               rng=bias_rng, dtype=dtype)
        self.grads = {}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.fan_in:
            raise ShapeError(
                f"Dense({self.fan_in}→{self.fan_out}) got an input of shape {x.shape}; it expects "
                f"(batch, {self.fan_in}). Check the previous layer's output width."
            )
        self._x = x
        if QUIET.get():  # inside the training loop's single errstate
            return self._affine(x)
        with np.errstate(**_QUIET):
            return self._affine(x)

    def _affine(self, x: np.ndarray) -> np.ndarray:
        out = x @ self.params["W"]  # (batch, fan_in) @ (fan_in, fan_out)
        b = self.params.get("b")
        if b is not None:
            out += b
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if QUIET.get():
            return self._backward(grad_out)
        with np.errstate(**_QUIET):
            return self._backward(grad_out)

    def grad_into(self, W: np.ndarray, b: np.ndarray | None = None) -> None:
        """Write the next backward pass's dL/dW into `W` (fan_in, fan_out) and dL/db into `b`
        (fan_out,), once: the same gemm and sum with `out=`. The training loop hands every
        Dense slices of fresh stacked arrays each step, so that all gradients are reduced
        together (see `training.grad_norm`). Ignored when that pass's dtypes differ."""
        self.__dict__["_grad_into"] = (W, b)

    def _backward(self, grad_out: np.ndarray) -> np.ndarray:
        params, grads = self.params, self.grads
        x = self._x
        into_w = into_b = None
        into = self.__dict__.pop("_grad_into", None)
        if into is not None and x.dtype == grad_out.dtype == into[0].dtype:
            into_w, into_b = into
        # (fan_in, batch) @ (batch, fan_out); with out=, numpy calls the same gemm
        grads["W"] = x.T @ grad_out if into_w is None else np.matmul(x.T, grad_out, out=into_w)
        if "b" in params:
            grads["b"] = (grad_out.sum(axis=0) if into_b is None
                          else grad_out.sum(axis=0, out=into_b))
        return grad_out @ params["W"].T  # (batch, fan_out) @ (fan_out, fan_in)

    def extra_repr(self) -> str:
        extra = "" if is_zeros(self.bias_init) else f", bias_init={self.bias_init!r}"
        return (f"{self.fan_in}, {self.fan_out}, init={self.init!r}, bias={'b' in self.params}"
                f"{extra}")
