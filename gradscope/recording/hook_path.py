"""The hook path: forward/backward hooks on a gradscope net reduce each layer's arrays into the
recorder's buffer (the reductions of `quantities.SOURCES`), once per recorded step.

The hooks run the common path of those reductions directly (`lean`: BLAS dots, max/min and
float arithmetic, no np.errstate, one row write per layer), falling back to the `SOURCES`
reduction itself wherever that path does not hold (a sum of squares that over/underflows, a
non-finite entry, another dtype, an activation object of the user's own): the numbers are the
same to the last bit. `fused=False` keeps the per-layer reference path, every array through
`SOURCES[...].reduce` under np.errstate (what the fast hooks are tested against).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradscope.nn.layers.base import Layer
from gradscope.nn.layers.hooks import HandleGroup
from gradscope.recording.buffer import StatBuffer
from gradscope.recording.histograms import counts_into, linear_counts
from gradscope.recording.lean import fast_reduction, library_activation
from gradscope.recording.quantities import SOURCES
from gradscope.recording.schema import OWN_REDUCTIONS, PRESENT, SOURCE_SLICE
from gradscope.recording.slots import Slot
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


_BACKWARD_SOURCES = ("grad", "bias_grad", "delta", "weight", "bias")
_EMPTY_ROW = tuple([NAN] * PRESENT + [1.0])  # a row of this step: every field NaN, present


class HookPath:
    """Hooks on every recorded layer of one net; `remove()` takes them all off."""

    def __init__(self, net: Layer, slots: list[Slot], buf: StatBuffer, clock: Clock,
                 on_backward: Callable[..., None], *, fused: bool = True) -> None:
        self.slots, self.buf, self.clock, self.fused = slots, buf, clock, fused
        # per layer: (step, activation statistics, activation histogram) from the forward pass
        self.pending: list[tuple[int, Any, np.ndarray | None] | None] = [None] * len(slots)
        self.handles = HandleGroup()
        forward, backward = ((self._forward_hook, self._backward_hook) if fused
                             else (self._forward_hook_ref, self._backward_hook_ref))
        for idx, slot in enumerate(slots):
            layer = slot.layer
            assert layer is not None
            self.handles.add(layer.register_backward_hook(backward(idx)))
            watched = layer if slot.source is None else slot.source
            self.handles.add(watched.register_forward_hook(forward(idx)))
        self.handles.add(net.register_backward_hook(on_backward))

    def remove(self) -> None:
        """Remove every hook (the recorded data stays)."""
        self.handles.remove()
        self.pending = [None] * len(self.slots)

    # -- fast (the default) ------------------------------------------------------------------
    def _forward_hook(self, idx: int) -> Callable[[Layer, tuple, np.ndarray], None]:
        source = self.slots[idx].source
        fast = fast_reduction("activation") if library_activation(source) else None
        pending = self.pending

        def hook(layer: Layer, inputs: tuple, output: np.ndarray) -> None:
            t, stats, hist = self.clock()
            if not (stats or hist):
                return
            act: Any = None
            if stats:
                fields = None if fast is None else fast(output, inputs[0], source)
                if fields is None or OWN_REDUCTIONS["activation"]:
                    with np.errstate(all="ignore"):
                        act = _activation_values(output, inputs[0], source)
                else:
                    act = (fields, ())
            pending[idx] = (t, act, linear_counts(output) if hist else None)

        return hook

    def _backward_hook(self, idx: int) -> Callable[[Layer, tuple, tuple], None]:
        buf, pending = self.buf, self.pending
        reductions = [(source, SOURCE_SLICE[source], fast_reduction(source),
                       OWN_REDUCTIONS[source]) for source in _BACKWARD_SOURCES]
        act_slice = SOURCE_SLICE["activation"]

        def hook(layer: Layer, grad_input: tuple, grad_output: tuple) -> None:
            t, stats, hist = self.clock()
            if not (stats or hist):
                return
            got, pending[idx] = pending[idx], None
            fresh = got is not None and got[0] == t
            grads, params = layer.grads, layer.params
            grad, delta = grads.get("W"), grad_output[0]
            if stats:  # a backward (re)writes the whole row of its step
                values = list(_EMPTY_ROW)
                for (source, where, fast, own), array in zip(
                        reductions, (grad, grads.get("b"), delta, params.get("W"),
                                     params.get("b")), strict=True):
                    if array is None:
                        continue
                    fields = None if fast is None else fast(array)
                    if fields is None or own:
                        with np.errstate(all="ignore"):
                            fields = SOURCES[source].reduce(array)
                            for index, reduce in own:
                                values[index] = reduce(array)
                    values[where] = fields
                if fresh and got[1] is not None:
                    values[act_slice] = got[1][0]
                    for (index, _), value in zip(OWN_REDUCTIONS["activation"], got[1][1],
                                                 strict=True):
                        values[index] = value
                buf.row(t)[idx] = values
            if hist:
                counts = buf.hist(t)[idx]
                counts_into(counts, grad, delta, None)
                if fresh and got[2] is not None:
                    counts[2, : got[2].size] = got[2]

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
                self.pending[idx] = (t, act, counts)

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
        if self.buf.get(t) is None:
            return
        for idx, slot in enumerate(self.slots):
            norm = update_norms.get((id(slot.layer), "W"))
            if norm is not None:
                self.buf.write_field(t, idx, "update.norm", float(norm), mark=False)
