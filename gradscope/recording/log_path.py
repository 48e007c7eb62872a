"""The `log()` path: arrays of hand-written backprop, checked against the declared layout,
accumulated per step (`accumulate.OpenStep`) and reduced into the recorder's buffer when the
step is complete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradscope.core.errors import ConfigError, ShapeError
from gradscope.core.registry import did_you_mean
from gradscope.core.validation import check_scalar
from gradscope.nn.layers.activation import Activation
from gradscope.recording.accumulate import LayerLog, OpenStep
from gradscope.recording.activation_protocol import derive_output, resolve_activation
from gradscope.recording.buffer import StatBuffer
from gradscope.recording.histograms import counts_into
from gradscope.recording.hook_path import write_source
from gradscope.recording.log_arrays import (
    ARRAY_KEYS,
    OUT_KEYS,
    W_KEYS,
    as_array,
    as_rows,
    check_output_shapes,
    describe,
    weight_shape,
)
from gradscope.recording.slots import Slot

Due = Callable[[int], tuple[bool, bool]]  # step -> (statistics due, histogram due)


class LogPath:
    """Layers found by `log()` calls, and the open step's accumulated arrays."""

    def __init__(self, slots: list[Slot], add_slot: Callable[[Slot], int], buf: StatBuffer,
                 due: Due, *, weight_layout: str, batch_axis: int, mean: bool,
                 declared: str | None) -> None:
        self.slots, self.add_slot, self.buf, self.due = slots, add_slot, buf, due
        self.weight_layout, self.batch_axis, self.mean = weight_layout, batch_axis, mean
        self.declared = declared  # how the layer list was fixed ("a network", ...) or None
        self.named = False  # a layer was created by name without a declared order
        self.open = OpenStep()
        self.closed: dict[int, set[tuple[int, str]]] = {}  # step -> (layer, source) reduced
        self.act_layers: dict[str, Activation] = {}

    def log(self, step: Any, layer: int | str, values: dict[str, Any], update: Any,
            activation_fn: Any) -> None:
        """One `GradientRecorder.log` call (see its docstring)."""
        t = check_scalar(step, "log(step=...)", int, min_val=0,
                         hint="step is the training step (0, 1, 2, ...) the arrays belong to")
        where = f"step={t}, layer={layer!r}"
        arrays = {key: as_array(values[key], key) for key in ARRAY_KEYS
                  if values.get(key) is not None}
        update_norm = None
        if update is not None:
            if np.ndim(update) == 0:
                update_norm = abs(float(update))
            else:
                arrays["update"] = as_array(update, "update")
        if not arrays and update_norm is None:
            raise ConfigError(
                f"log({where}) got no array: give at least one of grad=, weight=, bias_grad=, "
                "delta=, activation=, preactivation= or update= (a row of only NaN would "
                "hide the layer's real statistics)."
            )
        for key in OUT_KEYS:
            if key in arrays:
                arrays[key] = as_rows(arrays[key], self.batch_axis)
        for key in ("bias_grad", "bias"):
            b = arrays.get(key)
            if b is not None and b.ndim == 2 and 1 in b.shape:  # a column or row vector
                arrays[key] = b.reshape(-1)
        idx = self._resolve(layer, arrays)
        act_layer = resolve_activation(activation_fn, self.act_layers)
        if isinstance(act_layer, Activation) and self.slots[idx].activation is None:
            self.slots[idx].activation = act_layer.activation
        if not any(self.due(t)):
            return
        if self.open.step is not None and self.open.step != t:
            self.complete()
        again = [k for k in arrays if (idx, k) in self.closed.get(t, ())]
        if again:
            raise ConfigError(
                f"log({where}): {again} of this step were logged before a later step, so the "
                "step is complete and its statistics computed. Log every call of a step "
                "before the next step's first call."
            )
        self.open.add(t, idx, arrays, update_norm, act_layer, where)

    def complete(self) -> None:
        """Reduce the open step's accumulated arrays into the buffer."""
        t, layers = self.open.take()
        if t is None:
            return
        done = self.closed.setdefault(t, set())
        with np.errstate(all="ignore"):
            for idx, logged in layers.items():
                arrays = logged.combined(self.mean)
                done.update((idx, k) for k in arrays)
                self._write(t, idx, arrays, logged)

    def _write(self, t: int, idx: int, arrays: dict[str, np.ndarray], logged: LayerLog) -> None:
        act_layer = logged.act
        z, a = arrays.get("preactivation"), arrays.get("activation")
        if a is None and z is not None:  # derive it (a user's layer is never run here)
            a = derive_output(act_layer, z)
        buf = self.buf
        stats, hist = self.due(t)
        if stats:
            for source in ("grad", "bias_grad", "delta", "weight", "bias", "update"):
                if source in arrays:
                    write_source(buf, t, idx, source, arrays[source])
            if logged.update_norm is not None:
                buf.write_field(t, idx, "update.norm", logged.update_norm)
            if a is not None:
                masks = act_layer is not None and z is not None
                write_source(buf, t, idx, "activation", a, z, act_layer, masks)
            buf.mark(t, idx)
        if hist:
            counts_into(buf.hist(t)[idx], arrays.get("grad"), arrays.get("delta"), a)

    def _resolve(self, layer: int | str, arrays: dict[str, np.ndarray]) -> int:
        """Index of `layer` (creating it when the layers are not fixed), after checking shapes."""
        names = [s.name for s in self.slots]
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer | str):
            raise ConfigError(
                f"log(layer={layer!r}): layer must be an index (0 = nearest the input) or a name."
            )
        if isinstance(layer, str):
            idx = names.index(layer) if layer in names else None
        else:
            if layer < 0:
                raise ConfigError(f"log(layer={layer}): a layer index must be ≥ 0.")
            idx = int(layer) if layer < len(names) else None
        if idx is None and self.declared:
            raise ConfigError(
                f"log(layer={layer!r}): this recorder's layers are fixed by {self.declared}: "
                f"0..{len(names) - 1} = {names}.{did_you_mean(str(layer), names)}"
            )
        w_shape = weight_shape(layer, arrays, self.weight_layout)
        known = self.slots[idx].w_shape if idx is not None else None
        if w_shape is not None and known is not None and known != w_shape:
            hint = ""
            if len(known) == 2 and tuple(reversed(known)) == w_shape:
                hint = (" The arrays look transposed: pass W.T (and grad.T), or declare the "
                        "layout once with GradientRecorder(weight_layout=...).")
            raise ShapeError(
                f"log(layer={layer!r}): W-shaped arrays ({describe(arrays, W_KEYS)}) have shape "
                f"{w_shape} as (fan_in, fan_out), but this layer's W has shape {known}.{hint}"
            )
        check_output_shapes(layer, arrays, known or w_shape, self.weight_layout)
        if idx is None:  # a new layer of hand-written code
            if isinstance(layer, str):
                self.named = True
                idx = self.add_slot(Slot(layer, "dense", None))
            else:
                idx = int(layer)
                while len(self.slots) <= idx:
                    self.add_slot(Slot(str(len(self.slots)), "dense", None))
        if self.slots[idx].w_shape is None:
            self.slots[idx].w_shape = w_shape
        return idx
