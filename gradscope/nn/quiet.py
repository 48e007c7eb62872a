"""`quiet()`: numpy's floating-point warnings off for a whole block, cheap for layers to test.

Overflow in an exploding run is a result, never a warning, so every layer's matmul runs with
numpy's `over`/`invalid` flags ignored. Entering `np.errstate` costs microseconds, as much as a
small matmul; the training loop therefore enters it once per run with `quiet()`, and a layer
asks `is_quiet()` (a context-variable read) before entering its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

#: True inside `quiet()`; a hot loop may read it as `QUIET.get()` (no Python frame).
QUIET: ContextVar[bool] = ContextVar("gradscope_quiet", default=False)


def is_quiet() -> bool:
    """True inside `quiet()`: numpy's floating-point errors are already all ignored."""
    return QUIET.get()


@contextmanager
def quiet() -> Iterator[None]:
    """`np.errstate(all="ignore")` for the block, marked so that layers skip their own."""
    with np.errstate(all="ignore"):
        token = QUIET.set(True)
        try:
            yield
        finally:
            QUIET.reset(token)
