"""Containers: `Sequential` (a stack of layers) and `Residual` (x + block(x))."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from gradscope.core.errors import ShapeError
from gradscope.nn.layers.base import Layer


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse."""

    kind = "sequential"

    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers: list[Layer] = list(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential item {i} is a {type(layer).__name__}, not a gradscope Layer; "
                    "subclass gradscope.Layer and write forward(x) and backward(grad_out)."
                )
        for name, layer in self.named_layers():  # full paths, e.g. "0.block.0"
            state = layer.__dict__
            if name and ("name" not in state or state.get("_auto_name")):
                state["name"], state["_auto_name"] = name, True

    def children(self) -> list[Layer]:
        return self.layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)  # what layer(x) calls, one Python call less per layer
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)


class Residual(Layer):
    """Residual connection `x + block(x)` (He et al. 2016); the block must keep the shape."""

    kind = "residual"

    def __init__(self, block: Layer) -> None:
        self.block = block

    def children(self) -> list[Layer]:
        return [self.block]

    def named_children(self) -> Iterator[tuple[str, Layer]]:
        yield "block", self.block

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = self.block(x)
        if out.shape != x.shape:
            raise ShapeError(
                f"Residual block {type(self.block).__name__} maps shape {x.shape} to {out.shape}; "
                "a residual block must keep the shape so that x + block(x) is defined."
            )
        return x + out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out + self.block.backward(grad_out)
