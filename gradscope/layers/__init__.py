"""Layers with PyTorch-style hooks: Dense, activations, normalisation, containers."""

from .activation import ELU, GELU, Activation, LeakyReLU, Linear, ReLU, Sigmoid, Softplus, Tanh
from .base import Layer
from .containers import Residual, Sequential
from .dense import Dense
from .hooks import HandleGroup, RemovableHandle, register_hooks
from .norm import BatchNorm, LayerNorm

__all__ = [
    "Activation", "BatchNorm", "Dense", "ELU", "GELU", "HandleGroup", "Layer", "LayerNorm",
    "LeakyReLU", "Linear", "ReLU", "RemovableHandle", "Residual", "Sequential", "Sigmoid",
    "Softplus", "Tanh", "register_hooks",
]
