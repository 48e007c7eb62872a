"""Activation layers: `Activation("relu")` by name, and one class per registered activation."""

from __future__ import annotations

import numpy as np

from gradscope.nn.activations import ACTIVATIONS, ActivationFn, get_activation
from gradscope.nn.layers.base import Layer


class Activation(Layer):
    """Element-wise activation layer, e.g. `Activation("sigmoid")`."""

    kind = "activation"

    def __init__(self, name: str) -> None:
        self.act: ActivationFn = get_activation(name)
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None

    @property
    def activation(self) -> str:
        """The registered name of this activation."""
        return self.act.name

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = x
        self._a = self.act.fn(x)
        return self._a

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self.act.delta(grad_out, self._z, self._a)

    def saturated(self, z: np.ndarray, a: np.ndarray) -> np.ndarray | None:
        """Mask of entries in the flat part (φ' < 1% of its max), or None if not saturating."""
        if self.act.family != "saturating":
            return None
        return self.act.grad(z, a) < 0.01 * self.act.max_grad

    def inactive(self, z: np.ndarray) -> np.ndarray | None:
        """Mask of entries in the inactive part (z ≤ 0) for the ReLU family, else None."""
        if self.act.family != "relu":
            return None
        return z <= 0

    def extra_repr(self) -> str:
        return repr(self.act.name)


def _activation_class(name: str, class_name: str) -> type[Activation]:
    def __init__(self: Activation) -> None:
        Activation.__init__(self, name)

    doc = f"The {name} activation layer: {ACTIVATIONS.help(name)}."
    return type(class_name, (Activation,), {"__init__": __init__, "__doc__": doc})


Sigmoid = _activation_class("sigmoid", "Sigmoid")
Tanh = _activation_class("tanh", "Tanh")
ReLU = _activation_class("relu", "ReLU")
LeakyReLU = _activation_class("leaky_relu", "LeakyReLU")
ELU = _activation_class("elu", "ELU")
GELU = _activation_class("gelu", "GELU")
Softplus = _activation_class("softplus", "Softplus")
Linear = _activation_class("linear", "Linear")
