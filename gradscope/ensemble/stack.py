"""`StackedMLP`: E same-shaped `mlp` nets as one net — weights (E, fan_in, fan_out), activations
(E, batch, units), one batched matmul per layer for all members.

`np.matmul` on stacked C-contiguous arrays runs the same BLAS gemm per slice as `x @ W` does on
one member, and every other operation is element-wise, so member e of the stack computes exactly
what `mlp(...)` computes alone (tests/test_ensemble.py checks it bit for bit). Supported: the
blocks `mlp` builds without normalisation — Dense → activation, optionally wrapped as a
`Residual` — and the output Dense; anything else raises `NotStackable`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gradscope.nn.layers import Activation, Dense, Layer, Residual, Sequential

# forward hook: (block index, pre-activation z, post-activation a, activation or None)
ForwardHook = Callable[[int, np.ndarray, np.ndarray, Activation | None], None]
# backward hook: (block index, dL/dW, dL/db, delta = dL/dz, W, b)
BackwardHook = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


class NotStackable(ValueError):
    """The nets cannot be trained as one stacked ensemble (use the one-run path)."""


@dataclass
class Block:
    """One Dense with its activation (None for the output layer), maybe as x + block(x)."""

    W: np.ndarray  # (E, fan_in, fan_out)
    b: np.ndarray  # (E, fan_out)
    act: Activation | None
    residual: bool
    cache: dict[str, np.ndarray] = field(default_factory=dict)


def _blocks_of(net: Layer) -> list[tuple[Dense, Activation | None, bool]]:
    """(dense, activation, residual) of an mlp-shaped net, input → output."""
    if not isinstance(net, Sequential):
        raise NotStackable(f"an ensemble stacks Sequential nets, got {type(net).__name__}")
    out: list[tuple[Dense, Activation | None, bool]] = []
    for layer in net.layers:
        residual = isinstance(layer, Residual)
        inner = list(layer.block.layers) if residual and isinstance(
            layer.block, Sequential) else [layer]
        if residual and [type(x) for x in inner][:1] != [Dense]:
            raise NotStackable("a residual block must be Sequential(Dense, activation)")
        for sub in inner:
            if type(sub) is Dense and "b" in sub.params:
                out.append((sub, None, residual))
            elif isinstance(sub, Activation) and type(sub).forward is Activation.forward \
                    and out and out[-1][1] is None:
                out[-1] = (out[-1][0], sub, out[-1][2])
            else:
                raise NotStackable(f"layer {type(sub).__name__} cannot be stacked")
    return out


class StackedMLP:
    """The members' weights stacked; `forward`/`backward` for all of them at once."""

    def __init__(self, nets: Sequence[Layer]) -> None:
        if not nets:
            raise NotStackable("an ensemble needs at least one member")
        structures = [_blocks_of(net) for net in nets]
        first = structures[0]
        for other in structures[1:]:
            if [(d.params["W"].shape, d.params["W"].dtype, a and a.activation, r)
                    for d, a, r in other] != [(d.params["W"].shape, d.params["W"].dtype,
                                               a and a.activation, r) for d, a, r in first]:
                raise NotStackable("the members' nets differ in shape, dtype or activation")
        self.blocks = [
            Block(np.stack([s[i][0].params["W"] for s in structures]),
                  np.stack([s[i][0].params["b"] for s in structures]), act, residual)
            for i, (_, act, residual) in enumerate(first)]
        #: the stacked arrays the last backward's gradients are slices of (see `backward`)
        self.grad_stacks: list[tuple[list[int], np.ndarray]] = []

    @property
    def n_members(self) -> int:
        """Members in the stack now."""
        return len(self.blocks[0].W)

    def params(self) -> list[np.ndarray]:
        """Every stacked parameter in the members' `net.parameters()` order (W, b per layer)."""
        return [p for blk in self.blocks for p in (blk.W, blk.b)]

    def keep(self, rows: np.ndarray) -> None:
        """Drop every member not in `rows` (the indices of the members kept, in order)."""
        for blk in self.blocks:
            blk.W, blk.b = blk.W[rows], blk.b[rows]
            blk.cache.clear()

    def forward(self, x: np.ndarray, hook: ForwardHook | None = None) -> np.ndarray:
        """(E, batch, in) → (E, batch, out); `hook` sees each block's z and a."""
        with np.errstate(all="ignore"):
            for i, blk in enumerate(self.blocks):
                z = np.matmul(x, blk.W)  # (E, B, fan_in) @ (E, fan_in, fan_out), gemm per slice
                z += blk.b[:, None, :]
                a = blk.act.act.fn(z) if blk.act is not None else z
                blk.cache.update(x=x, z=z, a=a)
                if hook is not None:
                    hook(i, z, a, blk.act)
                x = x + a if blk.residual else a
        return x

    def backward(self, grad_out: np.ndarray, hook: BackwardHook | None = None
                 ) -> list[np.ndarray]:
        """Gradients of every `params()` entry from dL/d(output) (E, batch, out); `hook` sees
        each layer's dL/dW, dL/db, delta, W and b (before the update).

        The gradients of same-shaped parameters are slices of one fresh stacked array
        (`grad_stacks`: (positions in the returned list, array)), written by the same gemm and
        sum with `out=`, so that their norms are taken in one call."""
        grads: list[np.ndarray | None] = [None] * (2 * len(self.blocks))
        slots = self._grad_slots()
        g = grad_out
        with np.errstate(all="ignore"):
            for i in range(len(self.blocks) - 1, -1, -1):
                blk = self.blocks[i]
                c = blk.cache
                delta = blk.act.act.delta(g, c["z"], c["a"]) if blk.act is not None else g
                # (E, in, B) @ (E, B, out); with out=, numpy calls the same gemm per slice
                x_t = c["x"].transpose(0, 2, 1)
                same = np.result_type(x_t, delta)  # an out= of another dtype would cast
                out_w, out_b = (s if s is not None and s.dtype == same else None
                                for s in slots[2 * i:2 * i + 2])
                gW = np.matmul(x_t, delta, out=out_w)
                gb = delta.sum(axis=1, out=out_b)
                if hook is not None:
                    hook(i, gW, gb, delta, blk.W, blk.b)
                grads[2 * i], grads[2 * i + 1] = gW, gb
                if i:
                    g_in = np.matmul(delta, blk.W.transpose(0, 2, 1))
                    g = g + g_in if blk.residual else g_in
        return grads  # type: ignore[return-value]

    def _grad_slots(self) -> list[np.ndarray | None]:
        """For every parameter, its slice of a fresh stacked array of the same-shaped ones (None
        for a parameter of a shape of its own)."""
        by_shape: dict[tuple, list[int]] = {}
        for pos, p in enumerate(self.params()):
            by_shape.setdefault((p.shape, p.dtype), []).append(pos)
        slots: list[np.ndarray | None] = [None] * (2 * len(self.blocks))
        self.grad_stacks = []
        for (shape, pdtype), positions in by_shape.items():
            if len(positions) < 2:
                continue
            stack = np.empty((len(positions), *shape), pdtype)
            self.grad_stacks.append((positions, stack))
            for k, pos in enumerate(positions):
                slots[pos] = stack[k]
        return slots
