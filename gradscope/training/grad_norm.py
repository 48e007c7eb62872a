"""`GradNorm`: the global gradient norm of one net, every step, in a few numpy calls.

`global_grad_norm` takes one dot product per parameter array (66 for a depth-32 MLP). Here,
before each backward pass, `prepare()` hands the `Dense` layers whose weights share the most
common shape slices of two fresh stacked arrays (`Dense.grad_into`: their dL/dW and dL/db are
then computed by the same gemm and sum, written in place), and after it those gradients are
reduced together: one batched dot per stack (`recording.stacked.l2_norms`, the BLAS dot of
`np.dot` per slice), bit-identical per array to `stats.l2_norm`. Any other array, or one whose
sum of squares is not safe (over/underflow, nan/inf), is measured alone by `stats`. The norms
are combined in the parameters' order by `combine_norms`, as `stable_norm` does, so the result
equals `global_grad_norm(net)` exactly. Arrays are fresh each step: a gradient kept by the
caller is never overwritten.
"""

from __future__ import annotations

import numpy as np

from gradscope.nn.layers import Dense
from gradscope.recording.stacked import l2_norms
from gradscope.recording.stats import norm_fields
from gradscope.training.optimizers import ParamList, _params_and_grads, combine_norms


class GradNorm:
    """`prepare()` before the backward pass; call it after: the L2 norm of all gradients."""

    def __init__(self, params: ParamList) -> None:
        self.params = list(params)
        by_shape: dict[tuple, list[int]] = {}
        for i, (layer, key, p) in enumerate(self.params):
            if isinstance(layer, Dense) and key == "W" and "b" in layer.params:
                by_shape.setdefault((p.shape, p.dtype), []).append(i)
        direct = max(by_shape.values(), key=len, default=[])
        self._direct: list[int] = direct if len(direct) > 1 else []
        # positions of each direct layer's W and b in `params`
        self._w_pos = self._direct
        self._b_pos = [next(j for j, (lay, key, _) in enumerate(self.params)
                            if lay is self.params[i][0] and key == "b") for i in self._direct]
        self._stacks: tuple[np.ndarray, np.ndarray] | None = None

    def prepare(self) -> None:
        """Give the Dense layers their slices of fresh stacked arrays for the next backward."""
        if not self._direct:
            return
        w = self.params[self._direct[0]][2]
        b = self.params[self._b_pos[0]][2]
        stack_w = np.empty((len(self._direct), *w.shape), w.dtype)
        stack_b = np.empty((len(self._direct), *b.shape), b.dtype)
        for k, i in enumerate(self._direct):
            self.params[i][0].grad_into(stack_w[k], stack_b[k])  # type: ignore[attr-defined]
        self._stacks = stack_w, stack_b

    def __call__(self) -> float:
        items = _params_and_grads(None, self.params)  # type: ignore[arg-type]
        norms: list[float | None] = [None] * len(items)
        stacks, self._stacks = self._stacks, None
        with np.errstate(all="ignore"):
            if stacks is not None and self._written(items, stacks):
                for pos, stack in ((self._w_pos, stacks[0]), (self._b_pos, stacks[1])):
                    for i, value in zip(pos, l2_norms(stack).tolist(), strict=True):
                        norms[i] = value
            for i, (*_, grad) in enumerate(items):
                if norms[i] is None:
                    norms[i] = norm_fields(grad)[0]
        return combine_norms(norms)  # type: ignore[arg-type]

    def _written(self, items: list, stacks: tuple[np.ndarray, np.ndarray]) -> bool:
        """Whether every direct layer's gradients are the slices it was given."""
        stack_w, stack_b = stacks
        return all(items[i][3].base is stack_w and items[j][3].base is stack_b
                   for i, j in zip(self._w_pos, self._b_pos, strict=True))
