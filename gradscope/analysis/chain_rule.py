"""The chain rule with numbers: one neuron, then x → h → y, then a deep net layer by layer.

Everything here returns data (dataclasses and lists of per-layer records); the text is drawn by
`gradscope.cli.explain_cmd`. The one-neuron example is the backprop chapter's: x = 2, w = 0.5,
b = 0, a = sigmoid(w·x + b), L = (a − y)² with y = 1, so
dL/dw = dL/da · da/dz · dz/dw = 2(a − y) · a(1 − a) · x ≈ −0.54 · 0.197 · 2 ≈ −0.21.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradscope.nn.activations import get_activation
from gradscope.nn.mlp import mlp
from gradscope.theory import predict

_sigmoid = get_activation("sigmoid").fn


@dataclass(frozen=True)
class Factor:
    """One local derivative of the chain: its symbol, the formula, and its value."""

    symbol: str
    formula: str
    value: float


@dataclass(frozen=True)
class ChainExample:
    """A small worked example: the forward values, the gradient of each weight as a product of
    factors, and each weight after one SGD step of size lr."""

    title: str
    forward: tuple[tuple[str, float], ...]
    loss: float
    chains: tuple[tuple[str, tuple[Factor, ...]], ...]  # (weight name, its factors)
    weights: tuple[tuple[str, float], ...]
    lr: float

    def gradient(self, weight: str) -> float:
        """dL/d`weight` = the product of its factors."""
        factors = dict(self.chains)[weight]
        return float(np.prod([f.value for f in factors]))

    def updated(self, weight: str) -> float:
        """`weight` after one step: w − lr·dL/dw."""
        return dict(self.weights)[weight] - self.lr * self.gradient(weight)


def one_neuron(x: float = 2.0, w: float = 0.5, b: float = 0.0, y: float = 1.0,
               lr: float = 0.1) -> ChainExample:
    """a = sigmoid(w·x + b), L = (a − y)²: dL/dw = 2(a − y) · a(1 − a) · x."""
    z = w * x + b
    a = float(_sigmoid(np.float64(z)))
    chain = (
        Factor("dL/da", "2(a − y)", 2.0 * (a - y)),
        Factor("da/dz", "a(1 − a)", a * (1.0 - a)),
        Factor("dz/dw", "x", x),
    )
    return ChainExample(
        "one neuron", (("x", x), ("z = w·x + b", z), ("a = sigmoid(z)", a)), (a - y) ** 2,
        (("w", chain),), (("w", w),), lr,
    )


def two_weights(x: float = 2.0, w1: float = 0.5, w2: float = 0.5, y: float = 1.0,
                lr: float = 0.1) -> ChainExample:
    """x → h = sigmoid(w1·x) → a = sigmoid(w2·h), L = (a − y)²: w1's chain is two factors longer."""
    z1 = w1 * x
    h = float(_sigmoid(np.float64(z1)))
    z2 = w2 * h
    a = float(_sigmoid(np.float64(z2)))
    top = (Factor("dL/da", "2(a − y)", 2.0 * (a - y)), Factor("da/dz2", "a(1 − a)", a * (1 - a)))
    chain2 = top + (Factor("dz2/dw2", "h", h),)
    chain1 = top + (
        Factor("dz2/dh", "w2", w2),
        Factor("dh/dz1", "h(1 − h)", h * (1 - h)),
        Factor("dz1/dw1", "x", x),
    )
    return ChainExample(
        "x → h → y with two weights",
        (("x", x), ("h = sigmoid(w1·x)", h), ("a = sigmoid(w2·h)", a)), (a - y) ** 2,
        (("w2", chain2), ("w1", chain1)), (("w1", w1), ("w2", w2)), lr,
    )


@dataclass(frozen=True)
class LayerStep:
    """One Dense layer l on the gradient's way back, for a batch: norms of δ_l = dL/dh_l.

    weight_factor = ‖δ_{l+1} W_{l+1}ᵀ‖/‖δ_{l+1}‖ (through the weights above), act_factor =
    ‖δ_l‖/‖δ_{l+1} W_{l+1}ᵀ‖ (through φ' of this layer), local = their product = ‖δ_l‖/‖δ_{l+1}‖,
    running = ‖δ_l‖/‖δ_top‖ (the product of all locals above), predicted_local = the mean-field
    √(‖δ_l‖²/‖δ_{l+1}‖²). The output layer (l = depth) has factors 1.
    """

    layer: int
    delta_norm: float
    weight_factor: float
    act_factor: float
    local: float
    running: float
    predicted_local: float
    predicted_running: float


def chain_memory(depth: int, width: int, batch: int = 64) -> float:
    """Bytes `deep_chain` needs: float64 weights and gradients, activations of the batch."""
    return 8.0 * (depth + 1) * (2.0 * width * width + 4.0 * batch * width)


def deep_chain(depth: int = 10, activation: str = "sigmoid", init: str = "xavier",
               width: int = 64, seed: int = 0, batch: int = 64) -> list[LayerStep]:
    """Per-layer records of a fresh `mlp(width, 1, depth, width, activation, init, seed=seed)`
    on `batch` standard-normal inputs with L = mean((y − t)²), t standard normal; ordered from
    the output layer down to layer 0 (the way the gradient travels)."""
    pred = predict(activation, init=init, depth=depth, width=width, in_dim=width, out_dim=1)
    net = mlp(width, 1, depth, width, activation, init, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch, width))
    target = rng.standard_normal((batch, 1))
    dense = [layer for _, layer in net.named_layers() if layer.kind == "dense"]
    d_out: dict[int, float] = {}
    d_in: dict[int, float] = {}

    def hook(i: int):
        def record(layer, grad_input, grad_output):
            d_out[i] = float(np.linalg.norm(grad_output[0]))
            d_in[i] = float(np.linalg.norm(grad_input[0]))
        return record

    handles = [layer.register_backward_hook(hook(i)) for i, layer in enumerate(dense)]
    try:
        with np.errstate(all="ignore"):
            out = net.forward(X)
            net.backward(2.0 * (out - target) / out.size)
    finally:
        for handle in handles:
            handle.remove()
    top = d_out[depth]
    rows = [LayerStep(depth, top, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)]
    pred_running = 1.0
    for l in range(depth - 1, -1, -1):
        weight_f = _ratio(d_in[l + 1], d_out[l + 1])
        act_f = _ratio(d_out[l], d_in[l + 1])
        pred_local = pred.layers[l].norm_ratio
        pred_running *= pred_local
        rows.append(LayerStep(l, d_out[l], weight_f, act_f, _ratio(d_out[l], d_out[l + 1]),
                              _ratio(d_out[l], top), pred_local, pred_running))
    return rows


def _ratio(a: float, b: float) -> float:
    """a / b for norms; once the gradient has underflowed to 0: 0/0 is nan, a/0 is inf."""
    if b == 0.0:
        return math.nan if a == 0.0 else math.inf
    return a / b
