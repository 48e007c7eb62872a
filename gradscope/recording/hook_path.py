"""The hook path: forward/backward hooks on a gradscope net reduce each layer's arrays into the
recorder's buffer (the reductions of `quantities.SOURCES`), once per recorded step.

Fused (the default): the hooks only copy each layer's arrays into preallocated stacked buffers
(`staging`), and at the end of the net's backward pass every group of same-shaped arrays is
reduced at once (`stacked.reduce_stacked`, bit-identical to the one-array reductions). What
cannot be grouped (an array of another dtype, an activation object of the user's own, an output
shape seen for the first time) is reduced on its own in the hook, as the per-layer path does.
`fused=False` keeps the per-layer path: every reduction in the hooks (the reference the fused
path is tested against)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradscope.nn.layers.activation import Activation
from gradscope.nn.layers.base import Layer
from gradscope.nn.layers.hooks import HandleGroup
from gradscope.recording.buffer import StatBuffer
from gradscope.recording.histograms import counts_into, linear_counts
from gradscope.recording.quantities import SOURCES
from gradscope.recording.schema import OWN_REDUCTIONS, PRESENT, SOURCE_SLICE
from gradscope.recording.slots import Slot
from gradscope.recording.staging import Group, Staging, groupable
from gradscope.recording.stats import NAN

Clock = Callable[[], tuple[int, bool, bool]]  # -> (step, statistics due, histogram due)


def write_source(buf: StatBuffer, step: int, layer: int, source: str, array: np.ndarray,
                 *context: Any) -> None:
    """Reduce one source array with numpy (its fused reduction and any quantity's own) into
    `buf`: the numpy side of the buffer's contract."""
    buf.write(step, layer, source, SOURCES[source].reduce(array, *context))
    for index, reduce in OWN_REDUCTIONS[source]:
        buf.row(step)[layer, index] = reduce(array)


def reduce_into(row: np.ndarray, source: str, array: np.ndarray) -> None:
    """`write_source` into one row of the buffer already at hand (the hooks' fast path; the
    source's reduction gives no None fields)."""
    row[SOURCE_SLICE[source]] = SOURCES[source].reduce(array)
    for index, reduce in OWN_REDUCTIONS[source]:
        row[index] = reduce(array)


def _activation_values(output: np.ndarray, z: Any, source: Any) -> tuple:
    """The activation fields and own reductions of one output, reduced now."""
    return (SOURCES["activation"].reduce(output, z, source),
            tuple(fn(output) for _, fn in OWN_REDUCTIONS["activation"]))


def _write_activation(row: np.ndarray, act: tuple) -> None:
    row[SOURCE_SLICE["activation"]] = act[0]
    for (index, _), value in zip(OWN_REDUCTIONS["activation"], act[1], strict=True):
        row[index] = value


def _mask_key(source: Any) -> Any:
    """What decides the masks of a gradscope `Activation` whose mask methods are the library's
    (element-wise: they can run on stacked arrays): its `ActivationFn`; None for anything else
    (None: no activation is handled by the caller)."""
    cls = type(source)
    if (isinstance(source, Activation) and cls.saturated is Activation.saturated
            and cls.inactive is Activation.inactive
            and not {"saturated", "inactive"} & vars(source).keys()):
        return source.act
    return None


_BACKWARD_SOURCES = ("grad", "bias_grad", "delta", "weight", "bias")


class HookPath:
    """Hooks on every recorded layer of one net; `remove()` takes them all off."""

    def __init__(self, net: Layer, slots: list[Slot], buf: StatBuffer, clock: Clock,
                 on_backward: Callable[..., None], *, fused: bool = True) -> None:
        self.slots, self.buf, self.clock, self.fused = slots, buf, clock, fused
        # per layer: (step, activation statistics, activation histogram, output shape) from the
        # forward pass; fused, the statistics are a staged (group, position) or reduced values
        self.pending: list[tuple[int, Any, np.ndarray | None, Any] | None] = [None] * len(slots)
        self.staging = Staging()
        self.marks: list[list[tuple[Group, int]]] = [[] for _ in slots]  # staged this step
        self.act_shape: list[Any] = [None] * len(slots)  # output shape the last backward used
        self.act_kind: list[Any] = [self._act_kind(slot) for slot in slots]
        self.handles = HandleGroup()
        forward, backward = ((self._forward_hook, self._backward_hook) if fused
                             else (self._forward_hook_ref, self._backward_hook_ref))
        for idx, slot in enumerate(slots):
            layer = slot.layer
            assert layer is not None
            self.handles.add(layer.register_backward_hook(backward(idx)))
            watched = layer if slot.source is None else slot.source
            self.handles.add(watched.register_forward_hook(forward(idx)))

        def net_backward(*args: Any) -> None:
            self.flush()
            on_backward(*args)

        self.handles.add(net.register_backward_hook(net_backward if fused else on_backward))

    @staticmethod
    def _act_kind(slot: Slot) -> tuple[Any, bool] | None:
        """How the fused path groups this slot's activation: (group key, needs z), or None
        (reduced in the hook: an activation object the recorder cannot run stacked)."""
        if slot.source is None:
            return ("none", False)
        key = _mask_key(slot.source)
        if key is None:
            return None
        return (key, key.family in ("relu", "saturating"))

    def remove(self) -> None:
        """Remove every hook (the recorded data stays)."""
        self.flush()
        self.handles.remove()
        self.pending = [None] * len(self.slots)

    def flush(self) -> None:
        """Reduce what the hooks staged into the buffer (at the end of every backward pass of
        the net, and before anyone reads the buffer)."""
        staging = self.staging
        if staging.step is None:
            return
        with np.errstate(all="ignore"):
            staging.flush(self.buf.row(staging.step))
        for marks in self.marks:
            marks.clear()

    # -- fused -----------------------------------------------------------------------------------
    def _forward_hook(self, idx: int) -> Callable[[Layer, tuple, np.ndarray], None]:
        staging, source, kind = self.staging, self.slots[idx].source, self.act_kind[idx]
        act_shape, pending = self.act_shape, self.pending

        def hook(layer: Layer, inputs: tuple, output: np.ndarray) -> None:
            t, stats, hist = self.clock()
            if not (stats or hist):
                return
            if staging.step is not None:  # a backward not flushed yet (layers driven by hand)
                self.flush()
            act: Any = None
            if stats:
                z = inputs[0]
                if (kind is not None and output.shape == act_shape[idx] and output.ndim == 2
                        and groupable(output)
                        and (not kind[1] or (isinstance(z, np.ndarray) and z.shape == output.shape
                                             and z.dtype == output.dtype))):
                    group, pos = act = staging.row_of(idx, "activation", output, kind[0],
                                                      source, kind[1])
                    group.views[pos][...] = output
                    if kind[1]:
                        group.zviews[pos][...] = z
                else:  # reduced now; from the next step on, this shape is staged
                    with np.errstate(all="ignore"):
                        act = _activation_values(output, z, source)
            pending[idx] = (t, act, linear_counts(output) if hist else None,
                            getattr(output, "shape", None))

        return hook

    def _backward_hook(self, idx: int) -> Callable[[Layer, tuple, tuple], None]:
        buf, staging, marks, where = self.buf, self.staging, self.marks[idx], {}
        row_of = staging.row_of

        def hook(layer: Layer, grad_input: tuple, grad_output: tuple) -> None:
            t, stats, hist = self.clock()
            if not (stats or hist):
                return
            if staging.step is not None and staging.step != t:
                self.flush()
            pending, self.pending[idx] = self.pending[idx], None
            fresh = pending is not None and pending[0] == t
            grads, params = layer.grads, layer.params
            grad, delta = grads.get("W"), grad_output[0]
            if stats:  # a backward (re)writes the whole row of its step
                for group, pos in marks:  # this layer's rows staged earlier in this step
                    group.mark[pos] = False
                marks.clear()
                row = buf.row(t)[idx]
                row[:] = NAN
                for source, array in zip(_BACKWARD_SOURCES,
                                         (grad, grads.get("b"), delta, params.get("W"),
                                          params.get("b")), strict=True):
                    if array is None:
                        continue
                    here = where.get(source)
                    if (here is None or type(array) is not np.ndarray
                            or here[0].shape != array.shape or here[0].dtype != array.dtype):
                        if not groupable(array):
                            with np.errstate(all="ignore"):
                                reduce_into(row, source, array)
                            continue
                        here = where[source] = row_of(idx, source, array)
                    group, pos = here
                    group.views[pos][...] = array
                    group.mark[pos] = True
                    marks.append(here)
                act = pending[1] if fresh else None
                if act is not None:
                    if isinstance(act[0], Group):
                        act[0].mark[act[1]] = True
                        marks.append(act)
                    else:
                        _write_activation(row, act)
                    self.act_shape[idx] = pending[3]
                row[PRESENT] = 1.0
                staging.step = t
            if hist:
                counts = buf.hist(t)[idx]
                counts_into(counts, grad, delta, None)
                if fresh and pending[2] is not None:
                    counts[2, : pending[2].size] = pending[2]

        return hook

    # -- per layer (the reference) ---------------------------------------------------------------
    def _forward_hook_ref(self, idx: int) -> Callable[[Layer, tuple, np.ndarray], None]:
        def hook(layer: Layer, inputs: tuple, output: np.ndarray) -> None:
            t, stats, hist = self.clock()
            if stats or hist:  # computed now, while the output is still in the CPU cache
                source = self.slots[idx].source
                with np.errstate(all="ignore"):
                    act = _activation_values(output, inputs[0], source) if stats else None
                    counts = linear_counts(output) if hist else None
                self.pending[idx] = (t, act, counts, None)

        return hook

    def _backward_hook_ref(self, idx: int) -> Callable[[Layer, tuple, tuple], None]:
        buf = self.buf

        def hook(layer: Layer, grad_input: tuple, grad_output: tuple) -> None:
            t, stats, hist = self.clock()
            if not (stats or hist):
                return
            pending, self.pending[idx] = self.pending[idx], None
            act, act_counts = (pending[1], pending[2]) if pending and pending[0] == t else (None,
                                                                                           None)
            grads, params = layer.grads, layer.params
            grad, delta = grads.get("W"), grad_output[0]
            with np.errstate(all="ignore"):
                if stats:  # a backward (re)writes the whole row of its step
                    row = buf.row(t)[idx]
                    row[:] = NAN
                    for source, array in zip(_BACKWARD_SOURCES,
                                             (grad, grads.get("b"), delta, params.get("W"),
                                              params.get("b")), strict=True):
                        if array is not None:
                            reduce_into(row, source, array)
                    if act is not None:
                        _write_activation(row, act)
                    row[PRESENT] = 1.0
                if hist:
                    counts = buf.hist(t)[idx]
                    counts_into(counts, grad, delta, None)
                    if act_counts is not None:
                        counts[2, : act_counts.size] = act_counts

        return hook

    def on_update(self, t: int, update_norms: Mapping[tuple[int, str], float]) -> None:
        """update.norm of step t's rows from the optimiser's {(id(layer), "W"): ‖ΔW‖}."""
        self.flush()
        if self.buf.get(t) is None:
            return
        for idx, slot in enumerate(self.slots):
            norm = update_norms.get((id(slot.layer), "W"))
            if norm is not None:
                self.buf.write_field(t, idx, "update.norm", float(norm), mark=False)
