"""Which PyTorch modules get a row, what they are called, and which ones are activations.

A recorded module is a *parametric leaf*: a module without children that owns a `weight`
parameter (nn.Linear, nn.Conv1d/2d/3d, nn.Embedding, the affine part of BatchNorm/LayerNorm/
GroupNorm/InstanceNorm, or a user's own leaf module with a `weight`). Its fans follow PyTorch's
weight layout (out_features first): fan_out = weight.shape[0], fan_in = the product of the rest
(in_channels/groups × kernel for a convolution); a 1-D weight (a norm's γ) has fan_in = fan_out.
An Embedding's weight is (num_embeddings, embedding_dim): fan_in = num_embeddings, fan_out =
embedding_dim.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from gradscope.nn.activations import ACTIVATIONS


def is_recorded(module: nn.Module) -> bool:
    """A leaf module (no children) with a `weight` parameter of its own."""
    weight = getattr(module, "weight", None)
    return (isinstance(weight, nn.Parameter) and weight.requires_grad
            and next(module.children(), None) is None)


def fans(module: nn.Module) -> tuple[int, int]:
    """(fan_in, fan_out) of a recorded module, from its weight's shape."""
    shape = tuple(module.weight.shape)
    if isinstance(module, nn.Embedding):
        return shape[0], shape[1]
    if len(shape) == 1:
        return shape[0], shape[0]
    return math.prod(shape[1:]), shape[0]


def kind(module: nn.Module) -> str:
    """The `kind` column: "dense" for nn.Linear (gradscope's name for it), else the class name
    in lower case ("conv2d", "batchnorm2d", "embedding")."""
    return "dense" if isinstance(module, nn.Linear) else type(module).__name__.lower()


@dataclass(frozen=True)
class TorchActivation:
    """An activation as the recorder sees it: its gradscope name, family and φ'(a) where the
    saturated share needs it (computed from the output, so in-place modules work too)."""

    name: str
    family: str  # "saturating" | "relu" | "smooth" | "linear", from gradscope's registry
    max_grad: float
    grad_of_output: Callable[[torch.Tensor], torch.Tensor] | None = None


def _act(name: str, grad_of_output: Callable[[torch.Tensor], torch.Tensor] | None = None
         ) -> TorchActivation:
    fn = ACTIVATIONS.get(name)
    return TorchActivation(name, fn.family, fn.max_grad, grad_of_output)


# module class / functional op -> activation; sigmoid' = a(1 − a), tanh' = 1 − a²
SIGMOID = _act("sigmoid", lambda a: a * (1.0 - a))
TANH = _act("tanh", lambda a: 1.0 - a * a)
RELU, LEAKY_RELU, ELU = _act("relu"), _act("leaky_relu"), _act("elu")
GELU, SOFTPLUS = _act("gelu"), _act("softplus")

MODULE_ACTIVATIONS: dict[type[nn.Module], TorchActivation] = {
    nn.Sigmoid: SIGMOID, nn.Tanh: TANH, nn.ReLU: RELU, nn.LeakyReLU: LEAKY_RELU, nn.ELU: ELU,
    nn.GELU: GELU, nn.Softplus: SOFTPLUS,
}

FUNCTION_ACTIVATIONS: dict[object, TorchActivation] = {
    torch.sigmoid: SIGMOID, torch.nn.functional.sigmoid: SIGMOID, torch.Tensor.sigmoid: SIGMOID,
    torch.tanh: TANH, torch.nn.functional.tanh: TANH, torch.Tensor.tanh: TANH,
    torch.relu: RELU, torch.nn.functional.relu: RELU, torch.Tensor.relu: RELU,
    torch.nn.functional.leaky_relu: LEAKY_RELU, torch.nn.functional.elu: ELU,
    torch.nn.functional.gelu: GELU, torch.nn.functional.softplus: SOFTPLUS,
}


def module_activation(module: nn.Module) -> TorchActivation | None:
    """The activation a module applies (None for anything else)."""
    act = MODULE_ACTIVATIONS.get(type(module))
    if act is None:
        return None
    if isinstance(module, nn.LeakyReLU) and module.negative_slope != 0.01:
        return None  # gradscope's leaky_relu has slope 0.01; another slope is not recognised
    return act
