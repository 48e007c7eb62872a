"""`Dense`: the fully connected layer x @ W + b."""

from __future__ import annotations

import numpy as np

from gradscope.core.errors import ShapeError
from gradscope.core.validation import check_scalar
from gradscope.nn.initializers import initialize
from gradscope.nn.layers.base import Layer


class Dense(Layer):
    """Fully connected layer `x @ W + b` with W of shape (fan_in, fan_out)."""

    kind = "dense"

    def __init__(
        self,
        fan_in: int,
        fan_out: int,
        init: str = "he",
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: str | np.dtype = "float64",
    ) -> None:
        rng = np.random.default_rng(0) if rng is None else rng
        self.fan_in = check_scalar(fan_in, "Dense's fan_in", int, min_val=1)
        self.fan_out = check_scalar(fan_out, "Dense's fan_out", int, min_val=1)
        self.init = init
        self.params = {"W": initialize(init, (self.fan_in, self.fan_out), rng=rng, dtype=dtype)}
        if bias:
            self.params["b"] = np.zeros(self.fan_out, dtype=dtype)
        self.grads = {}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.fan_in:
            raise ShapeError(
                f"Dense({self.fan_in}→{self.fan_out}) got an input of shape {x.shape}; it expects "
                f"(batch, {self.fan_in}). Check the previous layer's output width."
            )
        self._x = x
        out = x @ self.params["W"]  # (batch, fan_in) @ (fan_in, fan_out)
        if "b" in self.params:
            out += self.params["b"]
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grads["W"] = self._x.T @ grad_out  # (fan_in, batch) @ (batch, fan_out)
        if "b" in self.params:
            self.grads["b"] = grad_out.sum(axis=0)
        return grad_out @ self.params["W"].T  # (batch, fan_out) @ (fan_out, fan_in)

    def extra_repr(self) -> str:
        return f"{self.fan_in}, {self.fan_out}, init={self.init!r}, bias={'b' in self.params}"
