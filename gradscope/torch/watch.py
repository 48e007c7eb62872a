"""`watch(model)`: a GradientRecorder for any `nn.Module`, fed by PyTorch hooks.

How it sees a training step, whatever the loop looks like:

- every forward pass with gradients enabled (not `torch.no_grad()` evaluation) is watched;
  the first one fixes the layer order (order of first call of each recorded module);
- one step = one backward pass through the model's output: a hook on the output tensor queues a
  callback that runs when autograd has finished, so every `.grad` is complete (gradient
  accumulation, several losses, `zero_grad(set_to_none=True)` all work);
- on a recorded step (step % every == 0) the forward hooks keep the activation statistics and
  hook each recorded module's output tensor to catch δ = dL/d(output); at the end of the backward
  pass every layer's numbers (and, with hist=True, its histogram counts) are stacked into one
  tensor and cross to numpy once (a layer whose fast reductions over/underflowed is measured
  again exactly: see `gradscope.torch.reduce`); an unrecorded step only counts the backward;
- update_ratio is the optimiser's actual update: the weights are copied at the end of a recorded
  backward pass and compared at the next watched forward pass (or `to_frame()`).

Activation statistics come from the first activation called after a recorded module and
before the next recorded module in the forward pass (gradscope's own rule for a Dense layer):
an nn.Sigmoid/Tanh/ReLU/LeakyReLU(0.01)/ELU/GELU/Softplus module, or the same function called
directly (F.relu, torch.tanh...; seen through a TorchFunctionMode on recorded steps; when the
first recorded forward pass calls none of them as a layer's activation, the mode, which costs
every op of the forward pass a Python call, is not used again).
Anything else (a custom nonlinearity, a pooling, the next recorded module) means the module's
own output is summarised and saturated_frac/dead_frac are NaN: unknown, never borrowed from
another layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from gradscope.recording.histograms import N_BINS
from gradscope.recording.histograms import QUANTITIES as HIST_QUANTITIES
from gradscope.torch.hist import layer_counts
from gradscope.torch.modules import (
    FUNCTION_ACTIVATIONS,
    TorchActivation,
    fans,
    is_recorded,
    kind,
    module_activation,
)
from gradscope.torch.reduce import (
    RAW,
    LayerTensors,
    assemble,
    exact_row,
    fast_raw,
    norm_is_trusted,
    norm_of,
)

# the fields of one layer's numbers at one recorded step, in the order they are stacked
FIELDS = ("grad.norm", "grad.rms", "grad.max_abs", "grad.nonfinite", "bias_grad.norm",
          "bias_grad.nonfinite", "weight.norm", "delta.norm", "activation.mean",
          "activation.std", "activation.saturated", "activation.dead", "bias.norm")


@dataclass
class _Layer:
    """One recorded module and what the current recorded step has seen of it."""

    name: str
    module: nn.Module
    index: int = -1  # order of first call; -1 until called
    output: torch.Tensor | None = None  # its output in the current recorded forward
    act: TorchActivation | None = None
    act_out: torch.Tensor | None = None
    delta: torch.Tensor | None = None
    snapshot: torch.Tensor | None = None  # weight at the last recorded backward (a reused buffer)


def _first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor requiring grad in a (nested) model output."""
    if isinstance(value, torch.Tensor):
        return value if value.requires_grad else None
    items: Any = value.values() if isinstance(value, dict) else value
    if isinstance(items, list | tuple) or isinstance(value, dict):
        for item in items:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


class _FunctionalActivations(TorchFunctionMode):
    """Sees F.relu / torch.tanh / ... applied to a recorded module's output."""

    def __init__(self, watcher: Watcher) -> None:
        super().__init__()
        self.watcher = watcher

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        act = FUNCTION_ACTIVATIONS.get(func)
        if act is not None and isinstance(out, torch.Tensor) and not self.watcher._in_act_module:
            self.watcher.saw_activation(act, out, functional=True)
        return out


@dataclass
class Watcher:
    """The hooks of one watched model; `sink` receives each recorded step's numbers."""

    model: nn.Module
    every: int
    sink: Any  # has declare(layers), write(step, fields, values), write_updates, activation
    include: Callable[[nn.Module], bool] | None = None  # which recorded modules get rows
    hist: bool = False  # fixed-bin histograms of |dL/dW|, |δ| and the activation too
    layers: list[_Layer] = field(default_factory=list)
    order: list[_Layer] = field(default_factory=list)
    handles: list[Any] = field(default_factory=list)
    step: int = 0  # backward passes completed
    pending_update: int | None = None  # recorded step whose update is not measured yet
    _mode: _FunctionalActivations | None = None
    _probed: bool = False  # a recorded forward pass has run (with the mode)
    _functional: bool = False  # ... and a functional call was a layer's activation
    _in_act_module: int = 0  # inside an activation module's forward (its module hook reports)
    _in_forward: int = 0
    _last: _Layer | None = None

    def attach(self) -> None:
        """Hook every recorded module and the model itself."""
        keep = self.include or (lambda m: True)
        self.layers = [_Layer(name, m) for name, m in self.model.named_modules()
                       if is_recorded(m) and keep(m)]
        if not self.layers:
            raise ValueError("no module with a trainable `weight` parameter")
        by_module = {id(layer.module): layer for layer in self.layers}
        for layer in self.layers:
            self.handles.append(layer.module.register_forward_hook(self._module_hook(layer)))
        for _, module in self.model.named_modules():
            if id(module) not in by_module and module_activation(module) is not None:
                self.handles.append(module.register_forward_pre_hook(self._activation_pre_hook))
                self.handles.append(module.register_forward_hook(self._activation_hook))
        self.handles.append(self.model.register_forward_pre_hook(self._model_pre_hook))
        self.handles.append(self.model.register_forward_hook(self._model_hook))

    def detach(self) -> None:
        """Remove every hook; measure a pending update first."""
        self.flush()
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
        if self._mode is not None:
            self._exit_mode()

    remove = detach  # a handle, for GradientRecorder.detach()

    # -- forward ------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """Whether the next backward pass is a recorded step."""
        return self.step % self.every == 0

    def _model_pre_hook(self, module: nn.Module, args: tuple) -> None:
        if not torch.is_grad_enabled():
            return
        self._in_forward += 1
        if self._in_forward > 1:
            return
        self.flush()
        self._last, self._in_act_module = None, 0
        for layer in self.layers:
            layer.output = layer.act = layer.act_out = layer.delta = None
        if self.recording and (self._functional or not self._probed):
            self._mode = _FunctionalActivations(self)
            self._mode.__enter__()

    def _model_hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        if not torch.is_grad_enabled():
            return
        self._in_forward -= 1
        if self._in_forward > 0:
            return
        if self._mode is not None:
            self._exit_mode()
            self._probed = True
        out = _first_tensor(output)
        if out is not None:
            out.register_hook(self._output_grad_hook)

    def _exit_mode(self) -> None:
        mode, self._mode = self._mode, None
        mode.__exit__(None, None, None)

    def _module_hook(self, layer: _Layer):
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            if not torch.is_grad_enabled():
                return
            if layer.index < 0:
                layer.index = len(self.order)
                self.order.append(layer)
                self.sink.declare([(lay.name, kind(lay.module), *fans(lay.module))
                                   for lay in self.order])
            self._last = layer
            if not (self.recording and isinstance(output, torch.Tensor)):
                return
            layer.output, layer.act, layer.act_out = output, None, None
            if output.requires_grad:
                output.register_hook(self._delta_hook(layer))

        return hook

    def _activation_pre_hook(self, module: nn.Module, args: tuple) -> None:
        self._in_act_module += 1

    def _activation_hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        self._in_act_module -= 1
        if torch.is_grad_enabled() and self.recording and isinstance(output, torch.Tensor):
            self.saw_activation(module_activation(module), output)

    def saw_activation(self, act: TorchActivation | None, out: torch.Tensor,
                       functional: bool = False) -> None:
        """An activation ran: it is the activation of the last recorded module called, if that
        one has none yet (the first activation between it and the next recorded module)."""
        last = self._last
        if last is not None and last.act is None and act is not None and last.output is not None:
            last.act, last.act_out = act, out
            self._functional |= functional

    @staticmethod
    def _delta_hook(layer: _Layer):
        def hook(grad: torch.Tensor) -> None:
            layer.delta = grad.detach()

        return hook

    # -- backward -------------------------------------------------------------------------------
    def _output_grad_hook(self, grad: torch.Tensor) -> None:
        torch.autograd.Variable._execution_engine.queue_callback(self._end_of_backward)

    def _end_of_backward(self) -> None:
        t = self.step
        self.step += 1
        if t % self.every != 0 or not self.order:
            return
        tensors = [self._tensors(layer) for layer in self.order]
        for layer in self.order:
            if layer.act is not None:
                self.sink.activation(layer.index, layer.act.name)
        raws = [fast_raw(lt) for lt in tensors]
        if len({r.dtype for r in raws}) > 1:
            raws = [r.to(torch.float64) for r in raws]
        parts = [torch.stack(raws).to(torch.float64)]
        if self.hist:
            device = tensors[0].weight.device
            parts.append(torch.stack([layer_counts(lt.grad, lt.delta, lt.activation, device)
                                      for lt in tensors]).to(torch.float64))
        flat = torch.cat([p.reshape(-1) for p in parts]).cpu().numpy()  # the one crossing
        n = len(tensors)
        values, ok = assemble(flat[: n * len(RAW)].reshape(n, len(RAW)), tensors)
        redo = np.flatnonzero(~ok).tolist()
        if redo:  # an exploding/vanishing/non-finite layer: its exact numbers (rare)
            values[redo] = torch.stack([exact_row(tensors[i]) for i in redo]).cpu().numpy()
        self.sink.write(t, FIELDS, values)
        if self.hist:
            counts = flat[n * len(RAW):].reshape(n, len(HIST_QUANTITIES), N_BINS)
            self.sink.write_counts(t, counts.astype(np.int64))
        for layer in self.order:
            w = layer.module.weight.detach()
            snap = layer.snapshot
            if snap is None or snap.shape != w.shape or snap.dtype != w.dtype or (
                    snap.device != w.device):
                snap = layer.snapshot = torch.empty_like(w)
            snap.copy_(w)  # into the same buffer every time: no allocation per step
            layer.output = layer.act_out = layer.delta = None
        self.pending_update = t

    @staticmethod
    def _tensors(layer: _Layer) -> LayerTensors:
        w = layer.module.weight
        b = getattr(layer.module, "bias", None)
        out = layer.act_out if layer.act is not None else layer.output
        bias = b if isinstance(b, torch.Tensor) else None
        return LayerTensors(w, w.grad, bias.grad if bias is not None else None,
                            layer.delta, out, layer.act, bias)

    def flush(self) -> None:
        """Measure the update of the last recorded step (weights now vs at its backward)."""
        t, self.pending_update = self.pending_update, None
        if t is None:
            return
        diffs = []
        for layer in self.order:
            snap = layer.snapshot
            if snap is None:
                diffs.append(None)
                continue
            diffs.append(snap.sub_(layer.module.weight.detach()))  # −ΔW, in the snapshot's place
        norms = np.full(len(diffs), np.nan)
        given = [i for i, d in enumerate(diffs) if d is not None]
        if given:
            found = [torch.linalg.vector_norm(diffs[i]) for i in given]
            if len({f.dtype for f in found}) > 1:
                found = [f.to(torch.float64) for f in found]
            norms[given] = torch.stack(found).to(torch.float64).cpu().numpy()
        if np.all(norms == 0.0):  # no optimiser step happened (yet): not an update
            return
        for i, d in enumerate(diffs):
            if d is not None and norms[i] != 0 and not norm_is_trusted(norms[i], d.dtype):
                norms[i] = float(norm_of(d, d)[0])  # over/underflowed: the rescaled norm
        self.sink.write_updates(t, norms)


def modules_in_order(watcher: Watcher) -> Iterator[tuple[str, nn.Module]]:
    """(qualified name, module) of every recorded module in layer order."""
    for layer in watcher.order:
        yield layer.name, layer.module
