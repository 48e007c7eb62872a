"""The registry of registries: which registry each name-valued run parameter is checked against.

One table, read by config validation (`gradscope.sweeps.config`), the CLI's choices
(`gradscope.cli.options`) and `gradscope list`.
"""

from __future__ import annotations

from gradscope.core.registry import Registry
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.initializers import INITIALIZERS
from gradscope.nn.mlp import NORMS
from gradscope.training.datasets import DATASETS
from gradscope.training.losses import LOSSES
from gradscope.training.optimizers import OPTIMIZERS

# run parameter -> its registry, in the order `gradscope list` shows them
BY_FIELD: dict[str, Registry] = {
    "activation": ACTIVATIONS, "init": INITIALIZERS, "norm": NORMS, "dataset": DATASETS,
    "loss": LOSSES, "optimizer": OPTIMIZERS,
}


def all_registries() -> list[Registry]:
    """The registries users choose names from, in the order `gradscope list` shows them."""
    return list(BY_FIELD.values())
