"""Every registry of gradscope in one place, for `gradscope list`, the CLI and config checks."""

from __future__ import annotations

from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .model import NORMS
from .registry import Registry


def all_registries() -> list[Registry]:
    """The registries users choose names from, in the order `gradscope list` shows them."""
    regs: list[Registry] = [ACTIVATIONS, INITIALIZERS, NORMS]
    try:  # these arrive with the data/loss/optimiser modules
        from .datasets import DATASETS
        from .losses import LOSSES
        from .optimizers import OPTIMIZERS

        regs += [DATASETS, LOSSES, OPTIMIZERS]
    except ImportError:  # pragma: no cover - during bootstrapping only
        pass
    return regs
