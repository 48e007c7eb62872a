"""Arguments of `GradientRecorder.log`: arrays in the declared layout, shapes consistent with W.

Layouts are declared once on the recorder: `weight_layout` "in_out" (W is (fan_in, fan_out), as
in `x @ W`) or "out_in" (W is (fan_out, fan_in), PyTorch's and most textbooks' `W @ x`), and
`batch_axis` 0 (examples are rows: (batch, fan_out)) or 1 (examples are columns:
(fan_out, batch)). W-shaped arrays are kept as given (their statistics do not depend on the
layout); per-example arrays are turned to (batch, fan_out) rows, and a 1-D one is one example.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradscope.core.errors import ConfigError, ShapeError

ARRAY_KEYS = ("grad", "weight", "activation", "preactivation", "delta", "bias_grad", "bias")
W_KEYS = ("grad", "weight", "update")
OUT_KEYS = ("activation", "preactivation", "delta")
WEIGHT_LAYOUTS = {"in_out": "W is (fan_in, fan_out), y = x @ W",
                  "out_in": "W is (fan_out, fan_in), y = W @ x (PyTorch's nn.Linear)"}
BATCH_AXES = {0: "examples are rows: (batch, fan_out)", 1: "examples are columns: (fan_out, batch)"}


def check_choice(value: Any, name: str, choices: dict) -> Any:
    """`value` if it is one of `choices`, else a ConfigError listing them."""
    if isinstance(value, bool) or value not in choices:
        listed = "; ".join(f"{k!r}: {v}" for k, v in choices.items())
        raise ConfigError(f"GradientRecorder {name}={value!r} is not valid. Choose one of: "
                          f"{listed}.")
    return value


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


def as_rows(arr: np.ndarray, batch_axis: int) -> np.ndarray:
    """A per-example array as (batch, fan_out) rows: 1-D is one example; batch_axis=1 is
    transposed (a view)."""
    if arr.ndim == 1:
        return arr.reshape(1, -1)
    return arr.T if batch_axis == 1 and arr.ndim == 2 else arr


def weight_shape(layer: int | str, arrays: dict[str, np.ndarray],
                 layout: str = "in_out") -> tuple[int, ...] | None:
    """The common shape of grad/weight/update as (fan_in, fan_out) (None if none is given)."""
    shapes = {arrays[k].shape for k in W_KEYS if k in arrays}
    if len(shapes) > 1:
        raise ShapeError(
            f"log(layer={layer!r}): grad, weight and update must all have W's shape, got "
            f"{describe(arrays, W_KEYS)}."
        )
    if not shapes:
        return None
    shape = shapes.pop()
    return tuple(reversed(shape)) if layout == "out_in" and len(shape) == 2 else shape


def _layout_hint(shape: tuple[int, ...], w_shape: tuple[int, ...], layout: str) -> str:
    """A likely fix when per-example arrays do not fit W."""
    fan_in, fan_out = (w_shape[0], w_shape[-1]) if len(w_shape) >= 2 else (None, w_shape[-1])
    if len(shape) == 2 and shape[-1] == fan_in and fan_in != fan_out:
        other = "out_in" if layout == "in_out" else "in_out"
        return (f" W looks transposed: pass W.T (and grad.T), or declare "
                f"GradientRecorder(weight_layout={other!r}).")
    if len(shape) == 2 and shape[0] == fan_out:
        return " Examples look like columns: declare GradientRecorder(batch_axis=1)."
    return ""


def check_output_shapes(
    layer: int | str, arrays: dict[str, np.ndarray], w_shape: tuple[int, ...] | None,
    layout: str = "in_out",
) -> None:
    """bias_grad and bias are (fan_out,); activation, preactivation and delta are
    (batch, fan_out) rows (after `as_rows`)."""
    fan_out = w_shape[-1] if w_shape else None
    for key in ("bias_grad", "bias"):
        if key in arrays and fan_out is not None and arrays[key].shape != (fan_out,):
            raise ShapeError(
                f"log(layer={layer!r}): {key} has shape {arrays[key].shape}, but W has "
                f"shape {w_shape} as (fan_in, fan_out), so it must have shape ({fan_out},)."
                + _layout_hint((1, arrays[key].size), w_shape, layout)
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
                f"for a layer whose W has shape {w_shape} as (fan_in, fan_out)."
                + _layout_hint(shape, w_shape, layout)
            )
