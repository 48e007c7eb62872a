"""Optimisers by name (sgd, momentum, adam) with optional gradient clipping by global norm."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from gradscope.core.registry import Registry
from gradscope.core.validation import check_scalar
from gradscope.nn.layers import Layer
from gradscope.recording.stats import norm_fields

Array = np.ndarray


def stable_norm(arrays: Iterable[Array]) -> float:
    """L2 norm over several arrays, without overflow or underflow in the squares (each array's
    norm comes from `stats.l2_norm`). Finite exactly when every value is finite."""
    with np.errstate(all="ignore"):  # once, not per array
        norms = [norm_fields(a)[0] for a in arrays]
    return combine_norms(norms)


def combine_norms(norms: list[float]) -> float:
    """The L2 norm of several arrays from their norms, rescaled by the largest (no overflow)."""
    peak = max(norms, default=0.0)
    if peak == 0.0 or not math.isfinite(peak):
        return peak
    return peak * math.sqrt(sum((x / peak) ** 2 for x in norms))


ParamList = Sequence[tuple[Layer, str, Array]]


def _params_and_grads(net: Layer, params: ParamList | None = None
                      ) -> list[tuple[Layer, str, Array, Array]]:
    out = []
    for layer, key, param in (net.parameters() if params is None else params):
        grad = layer.grads.get(key)
        if grad is None:
            raise RuntimeError(
                f"{type(layer).__name__} has no gradient for {key!r}: run a backward pass of the "
                "whole network before the optimiser step."
            )
        out.append((layer, key, param, grad))
    return out


def global_grad_norm(net: Layer, *, params: ParamList | None = None) -> float:
    """The L2 norm of all gradients of `net` taken together (nan/inf if any is non-finite).
    `params`: the list of `net.parameters()`, when the caller already has it."""
    return stable_norm(g for *_, g in _params_and_grads(net, params))


class Optimizer:
    """Base optimiser: `step(net)` updates every parameter in place from `layer.grads`.

    State (velocities, moments) is kept per parameter array; with `clip` set, gradients are
    scaled so that their global L2 norm is at most `clip` (the grads themselves are not changed).
    """

    name = "optimizer"

    def __init__(self, lr: float, *, clip: float | None = None) -> None:
        self.lr, self.clip = lr, clip
        self._state: dict[int, dict] = {}

    def _slot(self, param: Array) -> dict:
        slot = self._state.get(id(param))
        if slot is None or slot["param"] is not param:  # new array (or a recycled id)
            slot = self._state[id(param)] = {"param": param, "t": 0}
        return slot

    def direction(self, grad: Array, slot: dict) -> Array:
        """The step to subtract from the parameter (before the learning rate), updating `slot`."""
        raise NotImplementedError

    def step(self, net: Layer, *, track: bool = True, params: ParamList | None = None,
             grad_norm: float | None = None) -> dict[tuple[int, str], float]:
        """Apply one update; return the L2 norm of the update applied per (id(layer), key)
        (an empty dict with `track=False`, which skips computing those norms). `params` and
        `grad_norm`: `net.parameters()` and the global gradient norm, when the caller already
        has them."""
        items = _params_and_grads(net, params)
        scale = 1.0
        if self.clip is not None:
            norm = stable_norm(g for *_, g in items) if grad_norm is None else grad_norm
            if norm > self.clip:
                scale = self.clip / norm
        keys, updates = [], []
        for layer, key, param, grad in items:
            slot = self._slot(param)
            slot["t"] += 1
            update = self.lr * self.direction(grad * scale if scale != 1.0 else grad, slot)
            param -= update
            if track:
                keys.append((id(layer), key))
                updates.append(update)
        # `stable_norm([u])` of each update, which is its norm_fields(u)[0] exactly: one
        # errstate for all of them instead of one per array
        with np.errstate(all="ignore"):
            return {k: norm_fields(u)[0] for k, u in zip(keys, updates, strict=True)}

    def __repr__(self) -> str:
        clip = "" if self.clip is None else f", clip={self.clip:g}"
        return f"{type(self).__name__}(lr={self.lr:g}{clip})"


class SGD(Optimizer):
    """Plain gradient descent: p ← p − lr·g."""

    name = "sgd"

    def direction(self, grad: Array, slot: dict) -> Array:
        return grad


class Momentum(Optimizer):
    """Heavy-ball momentum, PyTorch convention: v ← μv + g; p ← p − lr·v (μ = 0.9)."""

    name = "momentum"
    mu = 0.9

    def direction(self, grad: Array, slot: dict) -> Array:
        v = slot.get("v")
        slot["v"] = grad.copy() if v is None else self.mu * v + grad
        return slot["v"]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with PyTorch's defaults β1 = 0.9, β2 = 0.999, ε = 1e-8."""

    name = "adam"
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def direction(self, grad: Array, slot: dict) -> Array:
        if "m" not in slot:
            slot["m"], slot["v"] = np.zeros_like(grad), np.zeros_like(grad)
        b1, b2, t = self.beta1, self.beta2, slot["t"]
        slot["m"] = b1 * slot["m"] + (1 - b1) * grad
        slot["v"] = b2 * slot["v"] + (1 - b2) * grad * grad
        m_hat = slot["m"] / (1 - b1**t)
        v_hat = slot["v"] / (1 - b2**t)
        return m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimiser")
OPTIMIZERS.add("sgd", SGD, "p ← p − lr·g")
OPTIMIZERS.add("momentum", Momentum, "v ← 0.9·v + g; p ← p − lr·v (PyTorch convention)")
OPTIMIZERS.add("adam", Adam, "Adam, β1 = 0.9, β2 = 0.999, ε = 1e-8 (PyTorch defaults)")


def make_optimizer(name: str, lr: float, *, clip: float | None = None) -> Optimizer:
    """Build the optimiser registered as `name` with learning rate `lr` and optional clipping."""
    cls = OPTIMIZERS.get(OPTIMIZERS.parse(name, "optimizer").name, "optimizer")
    lr = check_scalar(lr, "lr", float, min_val=0.0, include_boundaries="neither")
    if clip is not None:
        clip = check_scalar(clip, "clip", float, min_val=0.0, include_boundaries="neither",
                            hint="(the global gradient norm to clip at; None: no clipping)")
    return cls(lr, clip=clip)
