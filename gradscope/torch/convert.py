"""`to_torch(net)`: the same network as a PyTorch module, with identical weights.

Dense(W: (fan_in, fan_out), b) → nn.Linear with weight = Wᵀ (PyTorch stores (out, in)) and the
same bias; an activation layer → its nn module (sigmoid, tanh, relu, leaky_relu (0.01), elu,
gelu (tanh approximation), softplus, linear → Identity); BatchNorm → nn.BatchNorm1d (same eps,
momentum, running statistics); LayerNorm → nn.LayerNorm; Residual(block) → x + block(x);
Sequential → nn.Sequential. The dtype follows the weights (float64 by default), so the two
engines compute the same numbers to rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from gradscope.core.errors import ConfigError
from gradscope.nn.layers import Activation, BatchNorm, Dense, Layer, LayerNorm, Residual, Sequential


class TorchResidual(nn.Module):
    """x + block(x), the PyTorch twin of gradscope's Residual."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01), "elu": nn.ELU,
    "gelu": lambda: nn.GELU(approximate="tanh"), "softplus": nn.Softplus, "linear": nn.Identity,
}


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, copy=True))


def _dense(layer: Dense) -> nn.Module:
    w = layer.params["W"]
    lin = nn.Linear(layer.fan_in, layer.fan_out, bias="b" in layer.params,
                    dtype=torch.from_numpy(w[:0]).dtype)
    with torch.no_grad():
        lin.weight.copy_(_tensor(w.T))
        if "b" in layer.params:
            lin.bias.copy_(_tensor(layer.params["b"]))
    return lin


def _batchnorm(layer: BatchNorm) -> nn.Module:
    dtype = torch.from_numpy(layer.params["gamma"][:0]).dtype
    bn = nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
    with torch.no_grad():
        bn.weight.copy_(_tensor(layer.params["gamma"]))
        bn.bias.copy_(_tensor(layer.params["beta"]))
        bn.running_mean.copy_(_tensor(layer.running_mean))
        bn.running_var.copy_(_tensor(layer.running_var))
    return bn


def _layernorm(layer: LayerNorm) -> nn.Module:
    dtype = torch.from_numpy(layer.params["gamma"][:0]).dtype
    ln = nn.LayerNorm(layer.num_features, eps=layer.eps, dtype=dtype)
    with torch.no_grad():
        ln.weight.copy_(_tensor(layer.params["gamma"]))
        ln.bias.copy_(_tensor(layer.params["beta"]))
    return ln


def to_torch(net: Layer) -> nn.Module:
    """A PyTorch module computing the same function as gradscope network `net`, same weights."""
    if isinstance(net, Sequential):
        return nn.Sequential(*(to_torch(layer) for layer in net.layers))
    if isinstance(net, Residual):
        return TorchResidual(to_torch(net.block))
    if isinstance(net, Dense):
        return _dense(net)
    if isinstance(net, Activation):
        return _ACTIVATIONS[net.activation]()
    if isinstance(net, BatchNorm):
        return _batchnorm(net)
    if isinstance(net, LayerNorm):
        return _layernorm(net)
    raise ConfigError(
        f"to_torch cannot convert a {type(net).__name__}: it converts gradscope's Sequential, "
        "Residual, Dense, Activation, BatchNorm and LayerNorm layers."
    )
