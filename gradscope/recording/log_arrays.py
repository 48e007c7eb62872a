"""Argument checks of `GradientRecorder.log`: arrays, and shapes consistent with one layer's W."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradscope.core.errors import ShapeError

W_KEYS = ("grad", "weight", "update")
OUT_KEYS = ("activation", "preactivation", "delta")


def describe(arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> str:
    """'grad (3, 4), weight (4, 3)' for the given keys present in `arrays`."""
    return ", ".join(f"{k} {arrays[k].shape}" for k in keys if k in arrays)


def as_array(value: Any, key: str) -> np.ndarray:
    """`value` as a float array (ints/bools converted); ShapeError for scalars/non-numbers."""
    arr = np.asarray(value)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == np.bool_):
        raise ShapeError(
            f"log({key}=...) must be a numeric array, got dtype {arr.dtype}."
        )
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if arr.ndim == 0:
        raise ShapeError(f"log({key}=...) must be an array, got the scalar {value!r}.")
    return arr


def weight_shape(layer: int | str, arrays: dict[str, np.ndarray]) -> tuple[int, ...] | None:
    """The common shape of grad/weight/update (None if none is given)."""
    shapes = {arrays[k].shape for k in W_KEYS if k in arrays}
    if len(shapes) > 1:
        raise ShapeError(
            f"log(layer={layer!r}): grad, weight and update must all have W's shape, got "
            f"{describe(arrays, W_KEYS)}."
        )
    return shapes.pop() if shapes else None


def check_output_shapes(
    layer: int | str, arrays: dict[str, np.ndarray], w_shape: tuple[int, ...] | None
) -> None:
    """bias_grad is (fan_out,); activation, preactivation and delta are (batch, fan_out)."""
    fan_out = w_shape[-1] if w_shape else None
    if "bias_grad" in arrays and fan_out is not None and arrays["bias_grad"].shape != (fan_out,):
        raise ShapeError(
            f"log(layer={layer!r}): bias_grad has shape {arrays['bias_grad'].shape}, but W has "
            f"shape {w_shape}, so dL/db must have shape ({fan_out},)."
        )
    shapes = {arrays[k].shape for k in OUT_KEYS if k in arrays}
    if len(shapes) > 1:
        raise ShapeError(
            f"log(layer={layer!r}): activation, preactivation and delta are all (batch, fan_out) "
            f"arrays of the layer's output and must have the same shape, got "
            f"{describe(arrays, OUT_KEYS)}."
        )
    if shapes and fan_out is not None:
        shape = shapes.pop()
        if len(shape) < 2 or shape[-1] != fan_out:
            raise ShapeError(
                f"log(layer={layer!r}): {describe(arrays, OUT_KEYS)} must be (batch, {fan_out}) "
                f"for a layer whose W has shape {w_shape}."
            )
