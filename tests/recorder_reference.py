"""Fixed recordings whose full frames are stored in tests/data/recorder_reference/ as CSV.

The stored CSVs were written by the recorder before it was rebuilt from quantities
(`python tests/recorder_reference.py` regenerates them); test_recorder_reference.py checks that
the recorder still produces the same frames.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from gradscope.nn.mlp import mlp
from gradscope.recording.recorder import GradientRecorder
from gradscope.training.loop import train

DATA = Path(__file__).parent / "data" / "recorder_reference"
STEPS, EVERY = 21, 5


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.normal(size=(64, 6)), rng.normal(size=(64, 3))


def _trained(norm: str | None, residual: bool) -> GradientRecorder:
    """A depth-6 sigmoid mlp trained 21 steps by `train` (set_step, on_update)."""
    net = mlp(6, 3, depth=6, width=12, activation="sigmoid", init="xavier", norm=norm,
              residual=residual, seed=3)
    rec = GradientRecorder(net, every=EVERY, hist=True)
    train(net, _data(), loss="mse", optimizer="sgd", lr=0.5, steps=STEPS, batch_size=16,
          recorder=rec, seed=0)
    return rec


def _counted() -> GradientRecorder:
    """A relu mlp run by hand: steps counted from backward calls, no set_step, hist_every=3."""
    net = mlp(6, 3, depth=4, width=10, activation="relu", init="he", seed=5)
    rec = GradientRecorder(net, every=EVERY, hist=True, hist_every=3)
    x, y = _data()
    for t in range(STEPS):
        out = net.forward(x[t % 4 * 16:(t % 4 + 1) * 16])
        net.backward(2.0 * (out - y[t % 4 * 16:(t % 4 + 1) * 16]) / out.size)
        for layer, key, param in net.parameters():
            param -= 0.1 * layer.grads[key]
    return rec


def _logged() -> GradientRecorder:
    """Hand-written backprop of x → h = tanh(x W1 + b1) → y = h W2 + b2 through log()."""
    rng = np.random.default_rng(11)
    x, t = _data()
    W1, b1 = rng.normal(size=(6, 8)), rng.normal(size=8)
    W2, b2 = rng.normal(size=(8, 3)) * 0.5, rng.normal(size=3)
    rec = GradientRecorder(every=EVERY, hist=True)
    for step in range(STEPS):
        z1 = x @ W1 + b1
        h = np.tanh(z1)
        y = h @ W2 + b2
        dy = 2 * (y - t) / y.size
        dW2, db2 = h.T @ dy, dy.sum(0)
        dz1 = (dy @ W2.T) * (1 - h * h)
        dW1, db1 = x.T @ dz1, dz1.sum(0)
        rec.log(step, "hidden", grad=dW1, weight=W1, bias_grad=db1, delta=dz1,
                preactivation=z1, activation_fn="tanh", update=-0.2 * dW1)
        rec.log(step, "out", grad=dW2, weight=W2, bias_grad=db2, delta=dy, activation=y,
                update=0.2 * float(np.linalg.norm(dW2)))
        W1, b1, W2, b2 = W1 - 0.2 * dW1, b1 - 0.2 * db1, W2 - 0.2 * dW2, b2 - 0.2 * db2
    return rec


CASES: dict[str, Callable[[], GradientRecorder]] = {
    "sigmoid": lambda: _trained(None, False),
    "sigmoid_batchnorm": lambda: _trained("batchnorm", False),
    "sigmoid_residual": lambda: _trained(None, True),
    "sigmoid_batchnorm_residual": lambda: _trained("batchnorm", True),
    "relu_counted": _counted,
    "tanh_logged": _logged,
}


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as its exact text: repr for floats, str for the rest."""
    out = {}
    for col in frame.columns:
        values = frame[col].to_numpy()
        fmt = repr if frame[col].dtype.kind == "f" else str
        out[col] = [fmt(float(v)) if fmt is repr else fmt(v) for v in values]
    return pd.DataFrame(out, columns=frame.columns)


def frames(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rec = CASES[name]()
    return rec.to_frame(), rec.hist_frame()


def write_all() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        layers, hist = frames(name)
        as_text(layers).to_csv(DATA / f"{name}.layers.csv", index=False)
        as_text(hist).to_csv(DATA / f"{name}.hist.csv", index=False)
        print(name, len(layers), len(hist), file=sys.stderr)


if __name__ == "__main__":
    write_all()
