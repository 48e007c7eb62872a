"""How the recorder recognises an activation layer and asks it for its saturated/inactive masks.

The protocol (any object, a gradscope `Layer` or not):
- `saturated(z, a) -> bool array | None`: entries in the flat part of the nonlinearity
  (for saturated_frac); None means "not a saturating activation" (NaN in the column);
- `inactive(z) -> bool array | None`: entries in the inactive part (for dead_frac, a unit being
  dead when it is inactive for every example); None means "does not apply".
A gradscope `Layer` with `kind = "activation"` is an activation layer even without these methods
(its act_mean/act_std are recorded, both fractions are NaN). An object that provides neither is
not an activation, and a layer's statistics only ever come from its own activation: never from
another layer's.
"""

from __future__ import annotations

from typing import Any

from gradscope.core.errors import ConfigError
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.layers.activation import Activation
from gradscope.nn.layers.base import Layer

MASK_METHODS = ("saturated", "inactive")


def has_masks(obj: Any) -> bool:
    """True if `obj` provides at least one of the mask methods."""
    return any(callable(getattr(obj, m, None)) for m in MASK_METHODS)


def is_activation(layer: Layer) -> bool:
    """True for a gradscope layer of kind "activation" or one with a mask method."""
    return layer.kind == "activation" or has_masks(layer)


def resolve_activation(activation_fn: Any, cache: dict[str, Activation]) -> Any:
    """The activation object for `log(activation_fn=...)`: a registered name (cached
    `Activation`), an object following the protocol, or None."""
    if activation_fn is None:
        return None
    if isinstance(activation_fn, str):
        if activation_fn not in cache:
            ACTIVATIONS.parse(activation_fn, "activation_fn")  # a clear error if unknown
            cache[activation_fn] = Activation(activation_fn)
        return cache[activation_fn]
    if has_masks(activation_fn) or (isinstance(activation_fn, Layer)
                                    and activation_fn.kind == "activation"):
        return activation_fn
    raise ConfigError(
        f"log(activation_fn={activation_fn!r}) is not valid: give a registered activation name "
        "(see `gradscope list`, e.g. 'sigmoid'), or an object with the methods saturated(z, a) "
        "and/or inactive(z) returning boolean masks (see gradscope.recording.activation_protocol)."
    )


def derive_output(act: Any, z: Any) -> Any:
    """The post-activation of pre-activation `z` when it can be computed without running a
    user's layer: z itself (no activation) or a registered activation's function; else None."""
    if act is None:
        return z
    fn = getattr(getattr(act, "act", None), "fn", None)
    return fn(z) if callable(fn) and isinstance(act, Activation) else None
