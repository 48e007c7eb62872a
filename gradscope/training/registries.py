"""The registry of registries: which registry each name-valued run parameter is checked against.

One table, read by config validation (`gradscope.sweeps.config`), the CLI's choices
(`gradscope.cli.options`) and `gradscope list`; `EXTRA_CHOICES` holds the few names a parameter
accepts besides its registry's entries.
"""

from __future__ import annotations

from gradscope.core.errors import ConfigError
from gradscope.core.registry import Registry, did_you_mean
from gradscope.nn.activations import ACTIVATIONS
from gradscope.nn.bias_init import BIAS_INITIALIZERS
from gradscope.nn.initializers import INITIALIZERS
from gradscope.nn.mlp import NORMS
from gradscope.training.datasets import DATASETS, check_dataset
from gradscope.training.losses import LOSSES
from gradscope.training.optimizers import OPTIMIZERS

# run parameter -> its registry, in the order `gradscope list` shows them
BY_FIELD: dict[str, Registry] = {
    "activation": ACTIVATIONS, "init": INITIALIZERS, "bias_init": BIAS_INITIALIZERS,
    "norm": NORMS, "dataset": DATASETS, "loss": LOSSES, "optimizer": OPTIMIZERS,
}
# run parameter -> {name it accepts besides its registry's: what the name means}
EXTRA_CHOICES: dict[str, dict[str, str]] = {
    "loss": {"auto": "cross_entropy for class labels, mse for regression targets"},
}


def choices(field: str) -> list[tuple[str, str]]:
    """(name as users write it, one-line help) for every name a run parameter accepts: its
    extra choices, then its registry's entries (e.g. `normal:X`, `csv:PATH`)."""
    reg = BY_FIELD[field]
    return [*EXTRA_CHOICES.get(field, {}).items(),
            *((reg.shown(name), reg.help(name)) for name in reg.names())]


def check_name(field: str, name: str, key: str | None = None) -> None:
    """ConfigError unless `name` is a valid value of run parameter `field` (a registry entry,
    `name:NUMBER` where the entry takes one, csv:PATH of a readable file, or an extra choice)."""
    key = key or field
    extra = EXTRA_CHOICES.get(field, {})
    if name in extra:
        return
    reg = BY_FIELD[field]
    if reg is DATASETS:
        check_dataset(name, key)
    elif extra and name.partition(":")[0] not in reg:
        valid = [*extra, *reg.names()]
        raise ConfigError(f'Unknown {key} = "{name}".{did_you_mean(name, valid)} '
                          f"Valid choices: {', '.join(valid)}.")
    else:
        reg.parse(name, key)
