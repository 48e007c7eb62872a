"""`GradientRecorder`: per-layer gradient, signal and activation statistics, step by step."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gradscope.core.errors import ConfigError, ShapeError
from gradscope.core.registry import did_you_mean
from gradscope.core.validation import check_scalar
from gradscope.nn.layers.activation import Activation
from gradscope.nn.layers.base import Layer
from gradscope.nn.layers.hooks import HandleGroup
from gradscope.recording.accumulate import ACCUMULATE, LayerLog, OpenStep
from gradscope.recording.activation_protocol import (
    derive_output,
    is_activation,
    resolve_activation,
)
from gradscope.recording.buffer import StatBuffer
from gradscope.recording.histograms import counts_into, linear_counts, tidy_counts
from gradscope.recording.log_arrays import (
    ARRAY_KEYS,
    BATCH_AXES,
    OUT_KEYS,
    W_KEYS,
    WEIGHT_LAYOUTS,
    as_array,
    as_rows,
    check_choice,
    check_output_shapes,
    describe,
    weight_shape,
)
from gradscope.recording.order import chain_order
from gradscope.recording.quantities import QUANTITIES, SOURCES
from gradscope.recording.schema import (
    COLUMNS,
    FIELD_INDEX,
    HIST_COLUMNS,
    ID_COLUMNS,
    OWN_REDUCTIONS,
    STAT_COLUMNS,
    empty_dtype,
)
from gradscope.recording.stats import NAN

__all__ = ["COLUMNS", "HIST_COLUMNS", "ID_COLUMNS", "STAT_COLUMNS", "GradientRecorder"]


@dataclass
class _Slot:
    """One recorded weight layer: identity columns, the Layer (if any) and its activation."""

    name: str
    kind: str
    w_shape: tuple[int, ...] | None  # as (fan_in, fan_out)
    layer: Layer | None = None
    source: Layer | None = None  # the layer whose output is "post-activation" (None: own output)

    @property
    def fans(self) -> tuple[float, float]:
        if self.w_shape is None:
            return NAN, NAN
        if len(self.w_shape) == 0:
            return 1.0, 1.0
        if len(self.w_shape) == 1:
            return float(self.w_shape[0]), float(self.w_shape[0])
        return float(math.prod(self.w_shape[:-1])), float(self.w_shape[-1])


def write_source(buf: StatBuffer, step: int, layer: int, source: str, array: np.ndarray,
                 *context: Any) -> None:
    """Reduce one source array with numpy (its fused reduction and any quantity's own) into
    `buf`: the numpy side of the buffer's contract."""
    buf.write(step, layer, source, SOURCES[source].reduce(array, *context))
    for index, reduce in OWN_REDUCTIONS[source]:
        buf.row(step)[layer, index] = reduce(array)


class GradientRecorder:
    """Record per-layer gradient statistics (the spec's layers.csv columns) while a net trains.

    Attach it to a network and every layer whose `params` contain "W" (Dense or your own Layer)
    gets one row per recorded step: index 0 is the layer nearest the input. The step is the value
    given to `set_step(t)` by the training loop, or else the number of completed
    `net.backward()` calls (0 for the first). Rows are recorded when `step % every == 0`.

        rec = GradientRecorder(net, every=10, hist=True)
        out = net.forward(x); value, g = loss(out, y); net.backward(g)  # recorded as step 0
        rec.to_frame()    # step, layer, name, kind, fan_in, fan_out, grad_norm, ..., nonfinite
        rec.hist_frame()  # step, layer, quantity, bin_lo, bin_hi, count
        rec.detach()

    Hand-written backprop (no Layer objects) records the same columns with `log`, e.g. the
    two-layer net x → h = σ(x W1 + b1) → y = h W2 + b2 with squared error:

        rec = GradientRecorder()                        # no net: layers come from log()
        for step in range(100):
            z1 = x @ W1 + b1; h = sigmoid(z1); y = h @ W2 + b2
            dy = 2 * (y - t) / y.size                   # dL/dy of L = mean((y - t)²)
            dW2, db2 = h.T @ dy, dy.sum(0)
            dz1 = (dy @ W2.T) * h * (1 - h)             # the signal reaching layer 0
            dW1, db1 = x.T @ dz1, dz1.sum(0)
            rec.log(step, 0, grad=dW1, weight=W1, bias_grad=db1, delta=dz1,
                    preactivation=z1, activation=h, activation_fn="sigmoid")
            rec.log(step, 1, grad=dW2, weight=W2, bias_grad=db2, delta=dy, activation=y)
            W1 -= lr * dW1; b1 -= lr * db1; W2 -= lr * dW2; b2 -= lr * db2
        rec.to_frame()[["step", "layer", "grad_norm", "delta_norm", "saturated_frac"]]

    Declare once how your backprop is written, and log in whatever order it runs:
    `layers=["hidden", "out"]` (names, input → output; undeclared names are ordered by the chain
    of their W shapes, fan_out → next fan_in, or refused when that is ambiguous);
    `weight_layout="out_in"` when W is (fan_out, fan_in) as in `W @ x` and PyTorch;
    `batch_axis=1` when examples are columns; `accumulate="mean"` (or "sum"): several `log()`
    calls of the same step and layer (one per example) are combined into the mini-batch's
    statistics (see `recording.accumulate`), computed when the step is complete (a later step
    is logged, or `to_frame()`).

    With `hist=True`, |dL/dW|, |delta| and the post-activation values are binned into fixed bins
    (see gradscope.recording.histograms) every `hist_every` steps (default: `every`).
    """

    def __init__(
        self,
        net: Layer | None = None,
        every: int = 1,
        *,
        hist: bool = False,
        hist_every: int | None = None,
        layers: Sequence[str] | None = None,
        weight_layout: str = "in_out",
        batch_axis: int = 0,
        accumulate: str = "mean",
    ) -> None:
        hint = "record every N-th step; 1 records every step"
        self.every = check_scalar(every, "GradientRecorder every", int, min_val=1, hint=hint)
        self.hist = bool(hist)
        self.hist_every = self.every if hist_every is None else check_scalar(
            hist_every, "GradientRecorder hist_every", int, min_val=1, hint=hint)
        self.weight_layout = check_choice(weight_layout, "weight_layout", WEIGHT_LAYOUTS)
        self.batch_axis = check_choice(batch_axis, "batch_axis", BATCH_AXES)
        self.accumulate = check_choice(accumulate, "accumulate", ACCUMULATE)
        self.net = net
        self._slots: list[_Slot] = []
        self._handles = HandleGroup()
        self._buffer = StatBuffer()
        # per layer: (step, activation statistics, activation histogram) from the forward pass
        self._pending: list[tuple[int, tuple | None, np.ndarray | None] | None] = []
        self._act_layers: dict[str, Activation] = {}
        self._open = OpenStep()  # the log() step being accumulated
        self._closed: dict[int, set[tuple[int, str]]] = {}  # log() step -> (layer, source) done
        self._declared = layers is not None or net is not None
        self._named = False  # a layer was created by name without a declared order
        self._step: int | None = None
        self._count = 0
        if net is not None:
            if layers is not None:
                raise ConfigError("GradientRecorder(net, layers=...): the network fixes the "
                                  "layer order; give layers=... only for hand-written backprop.")
            self._attach(net)
        elif layers is not None:
            self._declare(layers)

    # -- attaching -------------------------------------------------------------------------------
    def _declare(self, layers: Sequence[str]) -> None:
        names = list(layers) if not isinstance(layers, str) else None
        if not names or not all(isinstance(n, str) for n in names) or len(set(names)) < len(
                names):
            raise ConfigError(
                f"GradientRecorder(layers={layers!r}) is not valid: give a list of distinct "
                "layer names, input → output, e.g. layers=['hidden', 'out']."
            )
        for name in names:
            self._add_slot(_Slot(name, "dense", None))

    def _add_slot(self, slot: _Slot) -> int:
        self._slots.append(slot)
        self._pending.append(None)
        self._buffer.add_layers(len(self._slots))
        return len(self._slots) - 1

    def _attach(self, net: Layer) -> None:
        if not isinstance(net, Layer):
            raise ConfigError(
                f"GradientRecorder needs a gradscope Layer (e.g. a Sequential or mlp(...)), got "
                f"{type(net).__name__}. For hand-written backprop use GradientRecorder() and "
                ".log()."
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
        for k, i in enumerate(weight_pos):
            path, layer = layers[i]
            end = weight_pos[k + 1] if k + 1 < len(weight_pos) else len(layers)
            source = next((lay for _, lay in layers[i + 1:end] if is_activation(lay)), None)
            idx = self._add_slot(_Slot(
                name=path or type(layer).__name__, kind=str(layer.kind),
                w_shape=tuple(np.shape(layer.params["W"])), layer=layer, source=source,
            ))
            self._handles.add(layer.register_backward_hook(self._backward_hook(idx)))
            watched = layer if source is None else source
            self._handles.add(watched.register_forward_hook(self._forward_hook(idx)))
        self._handles.add(net.register_backward_hook(self._count_step))

    def detach(self) -> None:
        """Remove every hook this recorder attached (the recorded data stays)."""
        self._handles.remove()
        self._pending = [None] * len(self._slots)

    def __enter__(self) -> GradientRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    # -- steps -------------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """The current step: the last `set_step(t)`, else the number of completed backwards."""
        return self._count if self._step is None else self._step

    def set_step(self, t: int) -> None:
        """Tell the recorder which training step the next forward/backward belongs to."""
        self._step = int(t)

    def _stats_due(self, t: int) -> bool:
        return t % self.every == 0

    def _hist_due(self, t: int) -> bool:
        return self.hist and t % self.hist_every == 0

    def _count_step(self, layer: Layer, grad_input: tuple, grad_output: tuple) -> None:
        self._count += 1

    @property
    def recorded_steps(self) -> list[int]:
        """The steps that have rows, in increasing order."""
        self._complete_step()
        return self._buffer.steps

    @property
    def layer_names(self) -> list[str]:
        """Name of every recorded layer, in the order they became known (see `to_frame`)."""
        return [s.name for s in self._slots]

    # -- hooks (gradscope layers) ------------------------------------------------------------------
    def _forward_hook(self, idx: int) -> Callable[[Layer, tuple, np.ndarray], None]:
        def hook(layer: Layer, inputs: tuple, output: np.ndarray) -> None:
            t = self.step
            stats, hist = self._stats_due(t), self._hist_due(t)
            if stats or hist:  # computed now, while the output is still in the CPU cache
                source = self._slots[idx].source
                with np.errstate(all="ignore"):
                    act = SOURCES["activation"].reduce(output, inputs[0], source) if stats \
                        else None
                    own = tuple(fn(output) for _, fn in OWN_REDUCTIONS["activation"]) \
                        if stats else ()
                    counts = linear_counts(output) if hist else None
                self._pending[idx] = (t, (act, own) if stats else None, counts)

        return hook

    def _backward_hook(self, idx: int) -> Callable[[Layer, tuple, tuple], None]:
        buf = self._buffer

        def hook(layer: Layer, grad_input: tuple, grad_output: tuple) -> None:
            t = self.step
            stats, hist = self._stats_due(t), self._hist_due(t)
            if not (stats or hist):
                return
            pending, self._pending[idx] = self._pending[idx], None
            act, act_counts = (pending[1], pending[2]) if pending and pending[0] == t else (None,
                                                                                           None)
            grads, params = layer.grads, layer.params
            grad, delta = grads.get("W"), grad_output[0]
            with np.errstate(all="ignore"):
                if stats:  # a backward (re)writes the whole row of its step
                    buf.row(t)[idx] = NAN
                    for source, array in (("grad", grad), ("bias_grad", grads.get("b")),
                                          ("delta", delta), ("weight", params.get("W"))):
                        if array is not None:
                            write_source(buf, t, idx, source, array)
                    if act is not None:
                        buf.write(t, idx, "activation", act[0])
                        for (index, _), value in zip(OWN_REDUCTIONS["activation"], act[1],
                                                     strict=True):
                            buf.row(t)[idx, index] = value
                    buf.mark(t, idx)
                if hist:
                    counts = buf.hist(t)[idx]
                    counts_into(counts, grad, delta, None)
                    if act_counts is not None:
                        counts[2, : act_counts.size] = act_counts

        return hook

    def on_update(self, t: int, update_norms: Mapping[tuple[int, str], float]) -> None:
        """Fill update_ratio of step t's rows from the optimiser's {(id(layer), "W"): ‖ΔW‖}."""
        if self._buffer.get(int(t)) is None:
            return
        for idx, slot in enumerate(self._slots):
            if slot.layer is not None:
                norm = update_norms.get((id(slot.layer), "W"))
                if norm is not None:
                    self._buffer.write_field(int(t), idx, "update.norm", float(norm), mark=False)

    # -- hand-written backprop ---------------------------------------------------------------------
    def log(
        self,
        step: int,
        layer: int | str,
        *,
        grad: Any = None,
        weight: Any = None,
        activation: Any = None,
        preactivation: Any = None,
        delta: Any = None,
        bias_grad: Any = None,
        update: Any = None,
        activation_fn: str | Any = None,
    ) -> None:
        """Record plain arrays of one layer at one step (for backprop written by hand).

        `layer` is an index (0 = nearest the input) or a name (ordered as declared in
        `layers=`, else by the W shapes' chain). grad = dL/dW and update = ΔW (an array, or its
        norm) have W's shape in the declared `weight_layout`; bias_grad is (fan_out,); delta =
        dL/dz and activation/preactivation (the layer's output after/before its nonlinearity)
        are (batch, fan_out), or (fan_out, batch) with batch_axis=1, or (fan_out,) for one
        example. With `activation_fn` (a registered name such as "sigmoid", or an object
        following `recording.activation_protocol`) and `preactivation`, saturated_frac /
        dead_frac are computed, and for a registered name a missing `activation` is derived;
        without any nonlinearity, `preactivation` alone gives act_mean/act_std (as the
        recorder does for an output layer). Missing quantities give NaN. Calls for the same
        (step, layer) are merged, and a quantity logged again is accumulated (`accumulate`).
        Steps with step % every != 0 are skipped.
        """
        t = check_scalar(step, "log(step=...)", int, min_val=0,
                         hint="step is the training step (0, 1, 2, ...) the arrays belong to")
        where = f"step={t}, layer={layer!r}"
        arrays = {key: as_array(value, key) for key, value in zip(
            ARRAY_KEYS, (grad, weight, activation, preactivation, delta, bias_grad), strict=True)
            if value is not None}
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
        b = arrays.get("bias_grad")
        if b is not None and b.ndim == 2 and 1 in b.shape:  # a column or row vector
            arrays["bias_grad"] = b.reshape(-1)
        idx = self._resolve(layer, arrays)
        act_layer = resolve_activation(activation_fn, self._act_layers)
        if not (self._stats_due(t) or self._hist_due(t)):
            return
        if self._open.step is not None and self._open.step != t:
            self._complete_step()
        done = self._closed.get(t, set())
        again = [k for k in arrays if (idx, k) in done]
        if again:
            raise ConfigError(
                f"log({where}): {again} of this step were logged before a later step, so the "
                "step is complete and its statistics computed. Log every call of a step "
                "before the next step's first call."
            )
        self._open.add(t, idx, arrays, update_norm, act_layer, where)

    def _complete_step(self) -> None:
        """Reduce the open step's accumulated arrays into the buffer."""
        t, layers = self._open.take()
        if t is None:
            return
        done = self._closed.setdefault(t, set())
        with np.errstate(all="ignore"):
            for idx, logged in layers.items():
                arrays = logged.combined(self.accumulate == "mean")
                done.update((idx, k) for k in arrays)
                self._write_logged(t, idx, arrays, logged)

    def _write_logged(self, t: int, idx: int, arrays: dict[str, np.ndarray],
                      logged: LayerLog) -> None:
        act_layer = logged.act
        z, a = arrays.get("preactivation"), arrays.get("activation")
        if a is None and z is not None:  # derive it (a user's layer is never run here)
            a = derive_output(act_layer, z)
        buf = self._buffer
        if self._stats_due(t):
            for source in ("grad", "bias_grad", "delta", "weight", "update"):
                if source in arrays:
                    write_source(buf, t, idx, source, arrays[source])
            if logged.update_norm is not None:
                buf.write_field(t, idx, "update.norm", logged.update_norm)
            if a is not None:
                masks = act_layer is not None and z is not None
                write_source(buf, t, idx, "activation", a, z, act_layer, masks)
            buf.mark(t, idx)
        if self._hist_due(t):
            counts_into(buf.hist(t)[idx], arrays.get("grad"), arrays.get("delta"), a)

    def _resolve(self, layer: int | str, arrays: dict[str, np.ndarray]) -> int:
        """Index of `layer` (creating it when no net is attached), after checking shapes."""
        names = self.layer_names
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
        if idx is None and self._declared:
            what = "is attached to a network whose" if self.net is not None else "was declared"
            raise ConfigError(
                f"log(layer={layer!r}): this recorder {what} recorded layers are "
                f"0..{len(names) - 1} = {names}.{did_you_mean(str(layer), names)}"
            )
        w_shape = weight_shape(layer, arrays, self.weight_layout)
        known = self._slots[idx].w_shape if idx is not None else None
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
        if idx is None:  # a new layer of hand-written code (no net attached)
            if isinstance(layer, str):
                self._named = True
                idx = self._add_slot(_Slot(layer, "dense", None))
            else:
                idx = int(layer)
                while len(self._slots) <= idx:
                    self._add_slot(_Slot(str(len(self._slots)), "dense", None))
        if self._slots[idx].w_shape is None:
            self._slots[idx].w_shape = w_shape
        return idx

    # -- results -----------------------------------------------------------------------------------
    def _order(self) -> list[int]:
        """Slot indices input → output: as attached/declared/indexed, else the W-shape chain."""
        if self._declared or not self._named:
            return list(range(len(self._slots)))
        return chain_order(self.layer_names, [s.w_shape if s.w_shape is None or len(s.w_shape)
                                              == 2 else None for s in self._slots])

    def to_frame(self) -> pd.DataFrame:
        """One row per recorded (step, layer): the identity columns and the statistics
        (ConfigError when layers logged by name have no known input → output order)."""
        self._complete_step()
        order = self._order()
        steps, slot_idx, fields = self._buffer.table()
        if steps.size == 0:
            return pd.DataFrame({c: pd.Series(dtype=empty_dtype(c)) for c in COLUMNS})
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        layer = position[slot_idx]
        sort = np.lexsort((layer, steps))
        steps, slot_idx, layer, fields = steps[sort], slot_idx[sort], layer[sort], fields[sort]
        fans = np.array([slot.fans for slot in self._slots]).reshape(len(self._slots), 2)
        cols: dict[str, Any] = {
            "step": steps,
            "layer": layer,
            "name": np.array([s.name for s in self._slots], dtype=object)[slot_idx],
            "kind": np.array([s.kind for s in self._slots], dtype=object)[slot_idx],
            "fan_in": _int_if_complete(fans[slot_idx, 0]),
            "fan_out": _int_if_complete(fans[slot_idx, 1]),
        }
        for q in QUANTITIES:
            values = [fields[:, FIELD_INDEX[f]] for f in q.fields]
            column = q.combine(*values) if q.combine is not None else values[0]
            cols[q.name] = _int_if_complete(column) if q.integer else column
        return pd.DataFrame(cols, columns=list(COLUMNS))

    def hist_frame(self) -> pd.DataFrame:
        """Tidy histogram rows (step, layer, quantity, bin_lo, bin_hi, count), zero bins left out;
        empty unless the recorder was created with hist=True."""
        self._complete_step()
        steps, counts = self._buffer.counts()
        if steps.size == 0:
            return pd.DataFrame({c: pd.Series(dtype=empty_dtype(c)) for c in HIST_COLUMNS})
        return pd.DataFrame(tidy_counts(steps, counts[:, self._order()]),
                            columns=list(HIST_COLUMNS))

    def __repr__(self) -> str:
        return (
            f"GradientRecorder({len(self._slots)} layers, every={self.every}, hist={self.hist}, "
            f"{len(self._buffer.steps)} steps recorded)"
        )


def _int_if_complete(values: np.ndarray) -> np.ndarray:
    """int64 when no value is missing, else float64 with NaN."""
    return values.astype(np.int64) if not np.isnan(values).any() else values

