"""Layers with PyTorch-style hooks: Dense, activations, normalisation, containers."""

from gradscope.nn.layers.activation import (
    ELU,
    GELU,
    Activation,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
)
from gradscope.nn.layers.base import Layer
from gradscope.nn.layers.containers import Residual, Sequential
from gradscope.nn.layers.dense import Dense
from gradscope.nn.layers.hooks import HandleGroup, RemovableHandle, register_hooks
from gradscope.nn.layers.norm import BatchNorm, LayerNorm

__all__ = [
    "Activation", "BatchNorm", "Dense", "ELU", "GELU", "HandleGroup", "Layer", "LayerNorm",
    "LeakyReLU", "Linear", "ReLU", "RemovableHandle", "Residual", "Sequential", "Sigmoid",
    "Softplus", "Tanh", "register_hooks",
]
