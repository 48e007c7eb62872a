"""The recorded layers ("slots"): identity columns, and which gradscope layers a net records."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradscope.core.errors import ConfigError
from gradscope.nn.layers.activation import Activation
from gradscope.nn.layers.base import Layer
from gradscope.recording.activation_protocol import is_activation
from gradscope.recording.stats import NAN


@dataclass
class Slot:
    """One recorded weight layer: identity columns, the Layer (if any) and its activation."""

    name: str
    kind: str
    w_shape: tuple[int, ...] | None  # as (fan_in, fan_out)
    layer: Layer | None = None
    source: Layer | None = None  # the layer whose output is "post-activation" (None: own output)
    activation: str | None = None  # the registered activation that follows (None: unknown)

    @property
    def fans(self) -> tuple[float, float]:
        """(fan_in, fan_out) from the W shape; NaN when unknown."""
        if self.w_shape is None:
            return NAN, NAN
        if len(self.w_shape) == 0:
            return 1.0, 1.0
        if len(self.w_shape) == 1:
            return float(self.w_shape[0]), float(self.w_shape[0])
        return float(math.prod(self.w_shape[:-1])), float(self.w_shape[-1])


def weight_slots(net: Layer) -> list[Slot]:
    """One slot per distinct layer with a "W" param, in forward order; its activation is the
    first activation layer (`activation_protocol.is_activation`) before the next weight layer."""
    if not isinstance(net, Layer):
        raise ConfigError(
            f"GradientRecorder needs a gradscope Layer (e.g. a Sequential or mlp(...)), got "
            f"{type(net).__name__}. For hand-written backprop use GradientRecorder() and .log()."
        )
    layers = list(net.named_layers())
    seen: set[int] = set()
    weight_pos = []
    for i, (_, layer) in enumerate(layers):
        if "W" in layer.params and id(layer) not in seen:
            seen.add(id(layer))
            weight_pos.append(i)
    if not weight_pos:
        raise ConfigError(
            f"GradientRecorder found no layer with a 'W' parameter in {type(net).__name__}; "
            "it records layers whose params contain 'W' (Dense, or your own Layer subclass "
            "with self.params['W'])."
        )
    slots = []
    for k, i in enumerate(weight_pos):
        path, layer = layers[i]
        end = weight_pos[k + 1] if k + 1 < len(weight_pos) else len(layers)
        source = next((lay for _, lay in layers[i + 1:end] if is_activation(lay)), None)
        slots.append(Slot(name=path or type(layer).__name__, kind=str(layer.kind),
                          w_shape=tuple(np.shape(layer.params["W"])), layer=layer,
                          source=source,
                          activation=source.activation if isinstance(source, Activation)
                          else None))
    return slots
