"""`GradientRecorder`: per-layer gradient, signal and activation statistics, step by step.

The recorder owns the layers ("slots") and one `StatBuffer`; the hook path (`hook_path`, a
gradscope net) and the log path (`log_path`, hand-written backprop) reduce arrays into that
buffer, and `frames` turns it into layers.csv/hist.csv rows (columns from `quantities`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar
from gradscope.nn.layers.base import Layer
from gradscope.recording.accumulate import ACCUMULATE
from gradscope.recording.buffer import StatBuffer
from gradscope.recording.frames import hist_frame, layer_arrays, layer_frame
from gradscope.recording.hook_path import HookPath
from gradscope.recording.listeners import Publisher
from gradscope.recording.log_arrays import BATCH_AXES, WEIGHT_LAYOUTS, check_choice
from gradscope.recording.log_path import LogPath
from gradscope.recording.order import chain_order
from gradscope.recording.schema import (
    COLUMNS,
    HIST_COLUMNS,
    ID_COLUMNS,
    STAT_COLUMNS,
)
from gradscope.recording.slots import Slot, weight_slots
from gradscope.recording.table_html import layer_table_html

__all__ = ["COLUMNS", "HIST_COLUMNS", "ID_COLUMNS", "STAT_COLUMNS", "GradientRecorder"]


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

    Live: `tensorboard="runs/x"` (or `rec.tensorboard("runs/x")`) writes every recorded step's
    per-layer scalars (and histograms) to TensorBoard as training goes; any object with
    `on_step(step, rows, hist)` can listen (`add_listener`, see `recording.listeners`).
    Afterwards: `rec.save(DIR, losses=...)` writes a run folder for `gradscope report DIR`,
    `rec.plot()` draws the δ profile, and a notebook shows the per-layer table.

    `fused=False` reduces every array through the general per-source reductions (the reference
    path); the default runs their common path directly in the hooks (see `recording.hook_path`):
    the same numbers to the last bit, with less overhead per layer.
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
        tensorboard: str | Path | None = None,
        fused: bool = True,
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
        self._slots: list[Slot] = []
        self._buffer = StatBuffer()
        self._step: int | None = None
        self._count = 0
        self._hooks: HookPath | None = None
        self._publisher = Publisher()
        if net is not None and layers is not None:
            raise ConfigError("GradientRecorder(net, layers=...): the network fixes the layer "
                              "order; give layers=... only for hand-written backprop.")
        declared = "the network" if net is not None else "layers=[...]" if layers else None
        self._log = LogPath(self._slots, self._add_slot, self._buffer, self._due,
                            weight_layout=self.weight_layout, batch_axis=self.batch_axis,
                            mean=self.accumulate == "mean", declared=declared)
        if net is not None:
            for slot in weight_slots(net):
                self._add_slot(slot)
            self._hooks = HookPath(net, self._slots, self._buffer, self._clock,
                                   self._count_step, fused=fused)
        elif layers is not None:
            self._declare(layers)
        if tensorboard is not None:
            self.tensorboard(tensorboard)

    def _declare(self, layers: Sequence[str]) -> None:
        names = list(layers) if not isinstance(layers, str) else []
        if not names or not all(isinstance(n, str) for n in names) or len(set(names)) < len(
                names):
            raise ConfigError(
                f"GradientRecorder(layers={layers!r}) is not valid: give a list of distinct "
                "layer names, input → output, e.g. layers=['hidden', 'out']."
            )
        for name in names:
            self._add_slot(Slot(name, "dense", None))

    def _add_slot(self, slot: Slot) -> int:
        self._slots.append(slot)
        self._buffer.add_layers(len(self._slots))
        return len(self._slots) - 1

    def attach_adapter(self, adapter: Any) -> None:
        """Register a framework adapter (e.g. gradscope.torch's watcher) that writes into
        `buffer`: its `flush()` runs before a frame is made, its `remove()` on `detach()`."""
        self.__dict__.setdefault("_adapters", []).append(adapter)

    def _flush_adapters(self) -> None:
        for adapter in self.__dict__.get("_adapters", ()):
            adapter.flush()

    def detach(self) -> None:
        """Remove every hook this recorder attached (the recorded data stays); the listeners
        get the last steps and are closed."""
        if self._hooks is not None:
            self._hooks.remove()
        for adapter in self.__dict__.pop("_adapters", ()):
            adapter.remove()
        try:
            self.flush_listeners()
        except ConfigError:  # layers logged by name in no known order: to_frame() says so
            pass
        self._publisher.close()

    # -- listeners ---------------------------------------------------------------------------------
    def add_listener(self, listener: Any) -> None:
        """Hand each complete recorded step to `listener.on_step(step, rows, hist)` as training
        goes (see `recording.listeners`)."""
        self._publisher.add(listener)

    def tensorboard(self, logdir: str | Path) -> Any:
        """Write every recorded step's per-layer scalars (and histograms with hist=True) to
        TensorBoard event files in `logdir` while training (needs gradscope[tensorboard]);
        returns the listener. A convenience that delegates upward to gradscope.export
        (declared in pyproject.toml)."""
        from gradscope.export.tensorboard import TensorBoardListener

        listener = TensorBoardListener(logdir)
        self.add_listener(listener)
        return listener

    def complete_before(self, step: int) -> None:
        """Every recorded step before `step` is complete (framework adapters call this when a
        new step starts): listeners get those steps."""
        if not self._publisher.listeners:
            return
        try:
            order = self._order()
        except ConfigError:  # layers logged by name whose order is not known yet: wait
            return
        self._publisher.publish(self._buffer.steps, lambda t: self._step_rows(t, order),
                                before=int(step))

    def flush_listeners(self) -> None:
        """Hand every recorded step not handed over yet to the listeners (the last step goes
        here: nothing later completes it)."""
        if not self._publisher.listeners:
            return
        self._flush_adapters()
        self._log.complete()
        order = self._order()
        self._publisher.publish(self._buffer.steps, lambda t: self._step_rows(t, order))

    def _step_rows(self, step: int, order: list[int]) -> tuple[pd.DataFrame,
                                                                pd.DataFrame | None]:
        rows = layer_frame(self._buffer, self._slots, order, only=step)
        return rows, (hist_frame(self._buffer, order, only=step) if self.hist else None)

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

    def _due(self, t: int) -> tuple[bool, bool]:
        return t % self.every == 0, self.hist and t % self.hist_every == 0

    def _clock(self) -> tuple[int, bool, bool]:
        t = self.step
        return t, t % self.every == 0, self.hist and t % self.hist_every == 0

    def _count_step(self, layer: Layer, grad_input: tuple, grad_output: tuple) -> None:
        self.complete_before(self.step)
        self._count += 1

    @property
    def recorded_steps(self) -> list[int]:
        """The steps that have rows, in increasing order."""
        self._log.complete()
        return self._buffer.steps

    @property
    def layer_names(self) -> list[str]:
        """Name of every recorded layer, in the order they became known (see `to_frame`)."""
        return [s.name for s in self._slots]

    @property
    def buffer(self) -> StatBuffer:
        """The buffer every path writes into (for framework adapters)."""
        return self._buffer

    def add_layer(self, name: str, kind: str = "dense",
                  shape: tuple[int, int] | None = None) -> int:
        """Add a recorded layer (framework adapters): `shape` = (fan_in, fan_out); returns its
        index, which is also its position input → output. Write its values with
        `rec.buffer.write(step, index, source, values)`."""
        if self._hooks is not None:
            raise ConfigError("GradientRecorder.add_layer: this recorder's layers come from "
                              "its gradscope network.")
        if name in self.layer_names:
            raise ConfigError(f"GradientRecorder.add_layer({name!r}): a layer of that name "
                              "exists already.")
        return self._add_slot(Slot(str(name), str(kind),
                                   None if shape is None else tuple(shape)))

    @property
    def activations(self) -> list[str | None]:
        """The registered activation following each layer, input → output (None: unknown, e.g.
        the output layer, or a nonlinearity gradscope does not recognise)."""
        return [self._slots[i].activation for i in self._order()]

    def note_activation(self, index: int, name: str) -> None:
        """Framework adapters: layer `index` (as returned by `add_layer`) is followed by the
        registered activation `name` (the first one noted is kept)."""
        if self._slots[index].activation is None:
            self._slots[index].activation = str(name)

    def theory_inputs(self, data: Any = None) -> dict[str, Any]:
        """What the mean-field theory needs besides layers.csv (whose weight_norm and bias_norm
        at the first step give each layer's σ_w² and σ_b²): `activation`, when every hidden
        layer (all but the last) is followed by the same known one, and `q_in` = E[x²] of the
        input `data` (an array or tensor of examples), when given."""
        out: dict[str, Any] = {}
        hidden = self.activations[:-1] if self._slots else []
        if hidden and None not in hidden and len(set(hidden)) == 1:
            out["activation"] = hidden[0]
        if data is not None:
            if callable(getattr(data, "detach", None)):  # a torch tensor
                data = data.detach().cpu().numpy()
            x = np.asarray(data, dtype=np.float64)
            if x.size == 0 or not np.isfinite(x).all():
                raise ConfigError("theory data=...: give the finite input examples the net is "
                                  "trained on (their mean square is the theory's q_in).")
            out["q_in"] = float(np.mean(x * x))
        return out

    def wants_update(self, t: int) -> bool:
        """Whether `on_update(t, ...)` keeps the update norms (a step with statistics; the
        training loop skips computing them otherwise)."""
        return self._hooks is not None and int(t) % self.every == 0

    def on_update(self, t: int, update_norms: Mapping[tuple[int, str], float]) -> None:
        """Fill update_ratio of step t's rows from the optimiser's {(id(layer), "W"): ‖ΔW‖}."""
        if self._hooks is not None:
            self._hooks.on_update(int(t), update_norms)

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
        bias: Any = None,
        update: Any = None,
        activation_fn: str | Any = None,
    ) -> None:
        """Record plain arrays of one layer at one step (for backprop written by hand).

        `layer` is an index (0 = nearest the input) or a name (ordered as declared in `layers=`,
        else by the W shapes' chain). grad = dL/dW and update = ΔW (an array, or its norm) have W's
        shape in the declared `weight_layout`; bias_grad and bias (b) are (fan_out,); delta = dL/dz
        and activation/preactivation (the layer's output after/before its nonlinearity) are (batch,
        fan_out), or (fan_out, batch) with batch_axis=1, or (fan_out,) for one example. With
        `activation_fn` (a registered name such as "sigmoid", or an object following
        `recording.activation_protocol`) and `preactivation`, saturated_frac / dead_frac are
        computed, and for a registered name a missing `activation` is derived; without any
        nonlinearity, `preactivation` alone gives act_mean/act_std (as the recorder does for an
        output layer). Missing quantities give NaN. Calls for the same (step, layer) are merged, and
        a quantity logged again is accumulated (`accumulate`). Steps with step % every != 0 are
        skipped.
        """
        values = {"grad": grad, "weight": weight, "activation": activation,
                  "preactivation": preactivation, "delta": delta, "bias_grad": bias_grad,
                  "bias": bias}
        self._log.log(step, layer, values, update, activation_fn)
        self.complete_before(int(step))  # the open step is `step`: earlier ones are complete

    # -- results -----------------------------------------------------------------------------------
    def _order(self) -> list[int]:
        """Slot indices input → output: as attached/declared/indexed, else the W-shape chain."""
        if not self._log.named or self._log.declared:
            return list(range(len(self._slots)))
        shapes = [s.w_shape if s.w_shape is not None and len(s.w_shape) == 2 else None
                  for s in self._slots]
        return chain_order(self.layer_names, shapes)  # type: ignore[arg-type]

    def to_frame(self) -> pd.DataFrame:
        """One row per recorded (step, layer): the identity columns and the statistics
        (ConfigError when layers logged by name have no known input → output order)."""
        self._flush_adapters()
        self._log.complete()
        self.flush_listeners()
        return layer_frame(self._buffer, self._slots, self._order())

    def to_columns(self) -> dict[str, Any]:
        """The columns of `to_frame()` as numpy arrays (step, layer, ... in `COLUMNS` order;
        empty arrays when nothing was recorded): the frame without pandas."""
        self._flush_adapters()
        self._log.complete()
        self.flush_listeners()
        return layer_arrays(self._buffer, self._slots, self._order())

    def hist_frame(self) -> pd.DataFrame:
        """Tidy histogram rows (step, layer, quantity, bin_lo, bin_hi, count), zero bins left out;
        empty unless the recorder was created with hist=True."""
        self._flush_adapters()
        self._log.complete()
        return hist_frame(self._buffer, self._order())

    # -- conveniences: each delegates upward (a function-level import declared in pyproject.toml)
    def save(
        self,
        out: str | Path,
        *,
        losses: Any = None,
        steps: pd.DataFrame | None = None,
        config: Any = None,
        history: Any = None,
        data: Any = None,
        name: str = "recording",
        force: bool = False,
        **run: Any,
    ) -> Any:
        """Write a run folder that `gradscope report DIR` and `gradscope diagnose --from DIR`
        read like a sweep's (runs.csv with the diagnosis, layers.csv, steps.csv, [hist.csv],
        manifest.json) and return the Diagnosis. `losses`: one per step (or `steps`, a frame
        with step, loss[, accuracy]); `config`: what describes the run (a mapping or a
        RunConfig: model, dataset, lr, activation, init...); `history`: what `gs.train` or
        `gradscope.torch.train_torch` returned (steps, status, final loss and accuracy);
        `data`: the input examples, for the theory's q_in (`theory_inputs`: the activation and
        q_in join the run's parameters unless `config` gives them); `run`: status,
        final_loss, final_accuracy, first_nonfinite_step (see
        `gradscope.sweeps.save.save_recording`)."""
        from gradscope.sweeps.save import save_recording

        if history is not None:
            steps = history.to_frame() if steps is None else steps
            run = {"status": history.status, "final_loss": history.final_loss,
                   "final_accuracy": history.final_accuracy,
                   "first_nonfinite_step": history.first_nonfinite_step, **run}

        params = {**self.theory_inputs(data), **_params_of(config)}
        hist = self.hist_frame() if self.hist else None
        return save_recording(out, self.to_frame(), steps, losses=losses, params=params,
                              name=name, hist=hist, force=force, **run)

    def plot(self) -> Any:
        """The δ profile of this recording as a matplotlib Figure: log10 delta_norm and
        grad_norm per layer at the first and the last recorded step."""
        from gradscope.plots.profile import recording_profile

        return recording_profile(self.to_frame())

    def _repr_html_(self) -> str:
        """The per-layer table at the first recorded step, with log bars (Jupyter)."""
        frame = self.to_frame()
        step = int(frame["step"].min()) if len(frame) else 0
        return (f"<p><code>{escape(repr(self))}</code></p>"
                + layer_table_html(frame, step=step))

    def __repr__(self) -> str:
        return (
            f"GradientRecorder({len(self._slots)} layers, every={self.every}, hist={self.hist}, "
            f"{len(self._buffer.steps)} steps recorded)"
        )


def _params_of(config: Any) -> dict[str, Any]:
    """A run's parameters as a dict: from a mapping, or an object with `asdict()` (RunConfig)."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    if callable(getattr(config, "asdict", None)):
        return dict(config.asdict())
    raise ConfigError(f"save(config=...) takes a mapping of run parameters or a RunConfig, "
                      f"got {type(config).__name__}.")
