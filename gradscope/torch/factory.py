"""`MODULE:FACTORY` → the user's nn.Module (what `gradscope diagnose --torch` builds)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from torch import nn

from gradscope.core.errors import ConfigError

USAGE = ('give --torch MODULE:FACTORY, where MODULE is an importable module (or a path to a '
         '.py file) and FACTORY a function in it that takes no arguments and returns an '
         'nn.Module, e.g. --torch mymodels:build_mlp')


def load_model(spec: str) -> nn.Module:
    """Import MODULE, call FACTORY() and check that it returned an nn.Module."""
    module_name, sep, attr = str(spec).rpartition(":")
    if not sep or not module_name or not attr.isidentifier():
        raise ConfigError(f"--torch {spec!r} is not of the form MODULE:FACTORY; {USAGE}.")
    path = Path(module_name)
    if path.suffix == ".py":
        if not path.is_file():
            raise ConfigError(f"--torch {spec!r}: no such file {module_name!r}; {USAGE}.")
        sys.path.insert(0, str(path.resolve().parent))
        module_name = path.stem
    elif "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the current folder, as `python -m` would
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's module is bad input
        raise ConfigError(f"--torch {spec!r}: module {module_name!r} cannot be imported "
                          f"({type(exc).__name__}: {exc}); {USAGE}.") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        names = sorted(n for n in dir(module) if callable(getattr(module, n)) and
                       not n.startswith("_"))
        raise ConfigError(f"--torch {spec!r}: module {module_name!r} has no function {attr!r}; "
                          f"its callables: {', '.join(names) or 'none'}.")
    try:
        model = factory()
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"--torch {spec!r}: {attr}() raised {type(exc).__name__}: {exc}. "
                          "The factory must build the model with no arguments.") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"--torch {spec!r}: {attr}() returned a {type(model).__name__}, not a "
                          "torch.nn.Module.")
    return model
