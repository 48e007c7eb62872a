"""`GradientRecorder`: per-layer gradient, signal and activation statistics, step by step."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gradscope.core.errors import ConfigError, ShapeError
from gradscope.core.registry import did_you_mean
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.layers.activation import Activation
from gradscope.nn.layers.base import Layer
from gradscope.nn.layers.hooks import HandleGroup
from gradscope.recording.histograms import N_BINS, counts_into, linear_counts, tidy_counts
from gradscope.recording.log_arrays import (
    W_KEYS,
    as_array,
    check_output_shapes,
    describe,
    weight_shape,
)
from gradscope.recording.stats import (
    NAN,
    dead_fraction,
    l2_norm,
    layer_grad_stats,
    mask_fraction,
    mean_std,
)

ID_COLUMNS = ("step", "layer", "name", "kind", "fan_in", "fan_out")
STAT_COLUMNS = (
    "grad_norm", "grad_rms", "grad_max_abs", "bias_grad_norm", "delta_norm", "weight_norm",
    "update_ratio", "act_mean", "act_std", "saturated_frac", "dead_frac", "nonfinite",
)
COLUMNS = ID_COLUMNS + STAT_COLUMNS
HIST_COLUMNS = ("step", "layer", "quantity", "bin_lo", "bin_hi", "count")

# columns of the per-step buffers (n_layers, _NCOL); update_ratio and nonfinite are derived
(_G_NORM, _G_RMS, _G_MAX, _B_NORM, _D_NORM, _W_NORM, _U_NORM, _A_MEAN, _A_STD, _SAT, _DEAD,
 _NF_W, _NF_B, _PRESENT) = range(14)
_NCOL = 14
_NO_ACT = (NAN, NAN, NAN, NAN)  # activation statistics when no forward pass was seen
_FRAME_COLS = {  # frame column -> buffer column, for the columns copied as they are
    "grad_norm": _G_NORM, "grad_rms": _G_RMS, "grad_max_abs": _G_MAX,
    "bias_grad_norm": _B_NORM, "delta_norm": _D_NORM, "weight_norm": _W_NORM,
    "act_mean": _A_MEAN, "act_std": _A_STD, "saturated_frac": _SAT, "dead_frac": _DEAD,
}


@dataclass
class _Slot:
    """One recorded weight layer: identity columns, the Layer (if any) and its activation."""

    name: str
    kind: str
    w_shape: tuple[int, ...] | None
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


def _is_activation(layer: Layer) -> bool:
    return layer.kind == "activation" or any(
        callable(getattr(layer, m, None)) for m in ("saturated", "inactive")
    )


def _mask(layer: Any, method: str, *args: np.ndarray) -> np.ndarray | None:
    fn = getattr(layer, method, None)
    return fn(*args) if callable(fn) else None


def _activation_stats(
    source: Any, z: np.ndarray | None, a: np.ndarray, masks: bool
) -> tuple[float | None, ...]:
    """(act_mean, act_std, saturated_frac, dead_frac) of the output `a` of activation layer
    `source` with input `z` (source None: a plain layer output, so both fractions are NaN).
    With masks=False the two fractions are None: not measured (left as they are)."""
    mean, std = mean_std(a)
    if not masks:
        return mean, std, None, None
    if source is None:
        return mean, std, NAN, NAN
    sat = mask_fraction(_mask(source, "saturated", z, a))
    return mean, std, sat, dead_fraction(_mask(source, "inactive", z))


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(
            f"GradientRecorder {key}={value!r} is not valid: {key} must be a whole number ≥ 1 "
            f"(record every {key}-th step; 1 records every step)."
        )
    return int(value)


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

    With `hist=True`, |dL/dW|, |delta| and the post-activation values are binned into fixed bins
    (see gradscope.histograms) every `hist_every` steps (default: `every`).
    """

    def __init__(
        self,
        net: Layer | None = None,
        every: int = 1,
        *,
        hist: bool = False,
        hist_every: int | None = None,
    ) -> None:
        self.every = _positive_int(every, "every")
        self.hist = bool(hist)
        self.hist_every = self.every if hist_every is None else _positive_int(
            hist_every, "hist_every"
        )
        self.net = net
        self._slots: list[_Slot] = []
        self._handles = HandleGroup()
        self._rows: dict[int, np.ndarray] = {}  # step -> (n_layers, _NCOL) float64
        self._hists: dict[int, np.ndarray] = {}  # step -> (n_layers, 3, N_BINS) int64
        # per layer: (step, activation statistics, activation histogram) from the forward pass
        self._pending: list[tuple[int, tuple | None, np.ndarray | None] | None] = []
        self._act_layers: dict[str, Activation] = {}
        self._step: int | None = None
        self._count = 0
        if net is not None:
            self._attach(net)

    # -- attaching -------------------------------------------------------------------------------
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
            source = next((lay for _, lay in layers[i + 1:end] if _is_activation(lay)), None)
            idx = len(self._slots)
            self._slots.append(_Slot(
                name=path or type(layer).__name__, kind=str(layer.kind),
                w_shape=tuple(np.shape(layer.params["W"])), layer=layer, source=source,
            ))
            self._pending.append(None)
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
        return sorted(self._rows)

    @property
    def layer_names(self) -> list[str]:
        """Name of every recorded layer, by index."""
        return [s.name for s in self._slots]

    # -- hooks -------------------------------------------------------------------------------------
    def _forward_hook(self, idx: int) -> Callable[[Layer, tuple, np.ndarray], None]:
        def hook(layer: Layer, inputs: tuple, output: np.ndarray) -> None:
            t = self.step
            stats, hist = self._stats_due(t), self._hist_due(t)
            if stats or hist:  # computed now, while the output is still in the CPU cache
                source = self._slots[idx].source
                with np.errstate(all="ignore"):
                    act = _activation_stats(source, inputs[0], output, True) if stats else None
                    counts = linear_counts(output) if hist else None
                self._pending[idx] = (t, act, counts)

        return hook

    def _backward_hook(self, idx: int) -> Callable[[Layer, tuple, tuple], None]:
        def hook(layer: Layer, grad_input: tuple, grad_output: tuple) -> None:
            t = self.step
            stats, hist = self._stats_due(t), self._hist_due(t)
            if not (stats or hist):
                return
            pending, self._pending[idx] = self._pending[idx], None
            act, act_counts = (pending[1], pending[2]) if pending and pending[0] == t else (None,
                                                                                           None)
            grad, delta = layer.grads.get("W"), grad_output[0]
            with np.errstate(all="ignore"):
                if stats:  # one call for the gradient side, one row write
                    g = layer_grad_stats(grad, layer.grads.get("b"), layer.params.get("W"), delta)
                    self._row(t)[idx] = (*g[:6], NAN, *(act or _NO_ACT), *g[6:], 1.0)
                if hist:
                    counts = self._hist_row(t, idx)
                    counts_into(counts, grad, delta, None)
                    if act_counts is not None:
                        counts[2, : act_counts.size] = act_counts

        return hook

    def on_update(self, t: int, update_norms: Mapping[tuple[int, str], float]) -> None:
        """Fill update_ratio of step t's rows from the optimiser's {(id(layer), "W"): ‖ΔW‖}."""
        row = self._rows.get(int(t))
        if row is None:
            return
        for idx, slot in enumerate(self._slots[: row.shape[0]]):
            if slot.layer is not None:
                norm = update_norms.get((id(slot.layer), "W"))
                if norm is not None:
                    row[idx, _U_NORM] = float(norm)

    # -- buffers -----------------------------------------------------------------------------------
    def _row(self, t: int) -> np.ndarray:
        n = len(self._slots)
        row = self._rows.get(t)
        if row is None or row.shape[0] < n:
            new = np.full((n, _NCOL), NAN)
            new[:, _PRESENT] = 0.0
            if row is not None:
                new[: row.shape[0]] = row
            row = self._rows[t] = new
        return row

    def _hist_array(self, t: int) -> np.ndarray:
        n = len(self._slots)
        counts = self._hists.get(t)
        if counts is None or counts.shape[0] < n:
            new = np.zeros((n, 3, N_BINS), dtype=np.int64)
            if counts is not None:
                new[: counts.shape[0]] = counts
            counts = self._hists[t] = new
        return counts

    def _hist_row(self, t: int, idx: int) -> np.ndarray:
        return self._hist_array(t)[idx]

    def _write(
        self, t: int, idx: int, *, grad: np.ndarray | None = None,
        bias_grad: np.ndarray | None = None, weight: np.ndarray | None = None,
        delta: np.ndarray | None = None, act: tuple[float | None, ...] | None = None,
        update_norm: float | None = None,
    ) -> None:
        """Compute the statistics of the given quantities into row (t, idx); others untouched.

        `act` = (act_mean, act_std, saturated_frac, dead_frac) from `_activation_stats`."""
        r = self._row(t)[idx]
        g = layer_grad_stats(grad, bias_grad, weight, delta)
        for given, cols, values in ((grad, [_G_NORM, _G_RMS, _G_MAX, _NF_W], g[:3] + g[6:7]),
                                    (bias_grad, [_B_NORM, _NF_B], g[3:4] + g[7:]),
                                    (delta, [_D_NORM], g[4:5]), (weight, [_W_NORM], g[5:6])):
            if given is not None:
                r[cols] = values
        if act is not None:
            for col, value in zip((_A_MEAN, _A_STD, _SAT, _DEAD), act, strict=True):
                if value is not None:
                    r[col] = value
        if update_norm is not None:
            r[_U_NORM] = update_norm
        r[_PRESENT] = 1.0

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

        `layer` is an index (0 = nearest the input) or a name. grad = dL/dW and update = ΔW (an
        array, or its norm) have W's shape; bias_grad is (fan_out,); delta = dL/dz and
        activation/preactivation (the layer's output after/before its nonlinearity) are
        (batch, fan_out). With `activation_fn` (a registered name such as "sigmoid", or an
        activation layer with `saturated`/`inactive` methods) and `preactivation`,
        saturated_frac / dead_frac are computed, and for a registered name a missing
        `activation` is derived; without any nonlinearity, `preactivation` alone gives
        act_mean/act_std (as the recorder does for an output layer). Missing quantities give
        NaN. Calls for the same (step, layer) are merged. Steps with step % every != 0 are
        skipped.
        """
        if isinstance(step, bool) or not isinstance(step, int | np.integer):
            raise ConfigError(f"log(step={step!r}): step must be an integer training step.")
        t = int(step)
        arrays = {
            key: as_array(value, key)
            for key, value in (("grad", grad), ("weight", weight), ("activation", activation),
                               ("preactivation", preactivation), ("delta", delta),
                               ("bias_grad", bias_grad))
            if value is not None
        }
        update_norm = None
        if update is not None:
            if np.ndim(update) == 0:
                update_norm = abs(float(update))
            else:
                arrays["update"] = as_array(update, "update")
        idx = self._resolve(layer, arrays)
        act_layer = self._activation_layer(activation_fn)
        stats, hist = self._stats_due(t), self._hist_due(t)
        if not (stats or hist):
            return
        z, a = arrays.get("preactivation"), arrays.get("activation")
        with np.errstate(all="ignore"):
            if a is None and z is not None:  # derive it (a user's layer is never run here)
                fn = getattr(getattr(act_layer, "act", None), "fn", None)
                a = z if act_layer is None else fn(z) if callable(fn) else None
            if "update" in arrays:
                update_norm = l2_norm(arrays["update"])
            if stats:
                masks = act_layer is not None and z is not None
                self._write(
                    t, idx, grad=arrays.get("grad"), bias_grad=arrays.get("bias_grad"),
                    weight=arrays.get("weight"), delta=arrays.get("delta"),
                    act=_activation_stats(act_layer, z, a, masks) if a is not None else None,
                    update_norm=update_norm,
                )
            if hist:
                counts_into(self._hist_row(t, idx), arrays.get("grad"), arrays.get("delta"), a)

    def _activation_layer(self, activation_fn: str | Any) -> Any:
        if activation_fn is None:
            return None
        if isinstance(activation_fn, str):
            if activation_fn not in self._act_layers:
                ACTIVATIONS.parse(activation_fn, "activation_fn")  # a clear error if unknown
                self._act_layers[activation_fn] = Activation(activation_fn)
            return self._act_layers[activation_fn]
        if isinstance(activation_fn, Layer) and _is_activation(activation_fn):
            return activation_fn
        raise ConfigError(
            f"log(activation_fn={activation_fn!r}) is not valid: give a registered activation "
            "name (see `gradscope list`, e.g. 'sigmoid') or an activation layer."
        )

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
        if idx is None and self.net is not None:
            raise ConfigError(
                f"log(layer={layer!r}): this recorder is attached to a network whose recorded "
                f"layers are 0..{len(names) - 1} = {names}.{did_you_mean(str(layer), names)}"
            )
        w_shape = weight_shape(layer, arrays)
        known = self._slots[idx].w_shape if idx is not None else None
        if w_shape is not None and known is not None and known != w_shape:
            raise ShapeError(
                f"log(layer={layer!r}): W-shaped arrays ({describe(arrays, W_KEYS)}) have shape "
                f"{w_shape}, but this layer's W has shape {known}."
            )
        check_output_shapes(layer, arrays, known or w_shape)
        if idx is None:  # a new layer of hand-written code (no net attached)
            if isinstance(layer, str):
                idx = len(self._slots)
                self._slots.append(_Slot(layer, "dense", None))
            else:
                idx = int(layer)
                while len(self._slots) <= idx:
                    self._slots.append(_Slot(str(len(self._slots)), "dense", None))
            self._pending.extend([None] * (len(self._slots) - len(self._pending)))
        if self._slots[idx].w_shape is None:
            self._slots[idx].w_shape = w_shape
        return idx

    # -- results -----------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per recorded (step, layer): the identity columns and the statistics."""
        n = len(self._slots)
        if not self._rows or n == 0:
            return pd.DataFrame({c: pd.Series(dtype=_empty_dtype(c)) for c in COLUMNS})
        steps = np.array(sorted(self._rows), dtype=np.int64)
        data = np.stack([self._row(int(s)) for s in steps])  # (n_steps, n_layers, _NCOL)
        s_idx, l_idx = np.nonzero(data[:, :, _PRESENT] == 1.0)
        rows = data[s_idx, l_idx]
        fans = np.array([slot.fans for slot in self._slots]).reshape(n, 2)
        with np.errstate(all="ignore"):
            update_ratio = rows[:, _U_NORM] / rows[:, _W_NORM]
        nf_w, nf_b = rows[:, _NF_W], rows[:, _NF_B]
        nonfinite = np.where(np.isnan(nf_w) & np.isnan(nf_b), NAN,
                             np.nan_to_num(nf_w) + np.nan_to_num(nf_b))
        cols: dict[str, Any] = {
            "step": steps[s_idx],
            "layer": l_idx.astype(np.int64),
            "name": np.array([s.name for s in self._slots], dtype=object)[l_idx],
            "kind": np.array([s.kind for s in self._slots], dtype=object)[l_idx],
            "fan_in": _int_if_complete(fans[l_idx, 0]),
            "fan_out": _int_if_complete(fans[l_idx, 1]),
        }
        for name in STAT_COLUMNS:
            if name == "update_ratio":
                cols[name] = update_ratio
            elif name == "nonfinite":
                cols[name] = _int_if_complete(nonfinite)
            else:
                cols[name] = rows[:, _FRAME_COLS[name]]
        return pd.DataFrame(cols, columns=list(COLUMNS))

    def hist_frame(self) -> pd.DataFrame:
        """Tidy histogram rows (step, layer, quantity, bin_lo, bin_hi, count), zero bins left out;
        empty unless the recorder was created with hist=True."""
        if not self._hists:
            return pd.DataFrame({c: pd.Series(dtype=_empty_dtype(c)) for c in HIST_COLUMNS})
        steps = np.array(sorted(self._hists), dtype=np.int64)
        counts = np.stack([self._hist_array(int(s)) for s in steps])
        return pd.DataFrame(tidy_counts(steps, counts), columns=list(HIST_COLUMNS))

    def __repr__(self) -> str:
        return (
            f"GradientRecorder({len(self._slots)} layers, every={self.every}, hist={self.hist}, "
            f"{len(self._rows)} steps recorded)"
        )


def _int_if_complete(values: np.ndarray) -> np.ndarray:
    """int64 when no value is missing, else float64 with NaN."""
    return values.astype(np.int64) if not np.isnan(values).any() else values


def _empty_dtype(column: str) -> str:
    if column in ("name", "kind", "quantity"):
        return "str"
    return "int64" if column in ("step", "layer", "fan_in", "fan_out", "nonfinite", "count") \
        else "float64"
