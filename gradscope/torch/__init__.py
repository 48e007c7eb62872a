"""gradscope for PyTorch (`pip install 'gradscope[torch]'`): watch any nn.Module's gradients.

    rec = gradscope.torch.watch(model, every=10)   # before the training loop
    ...                                            # your loop, unchanged
    rec.to_frame()                                 # the layers.csv table, one row per module

See `gradscope.torch.watch` for what is recorded and when.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from gradscope.core.errors import ConfigError
from gradscope.core.validation import check_scalar
from gradscope.recording.recorder import GradientRecorder
from gradscope.torch.convert import TorchResidual, to_torch
from gradscope.torch.factory import load_model
from gradscope.torch.sink import RecorderSink
from gradscope.torch.train import train_torch
from gradscope.torch.watch import Watcher

__all__ = ["TorchResidual", "load_model", "to_torch", "train_torch", "watch"]


def watch(model: nn.Module, every: int = 1, hist: bool = False, *,
          include: type | tuple[type, ...] | Callable[[nn.Module], bool] | None = None,
          tensorboard: str | Path | None = None) -> GradientRecorder:
    """A GradientRecorder of `model`: one row per parametric leaf module (a module without
    children that has a trainable `weight`) per recorded step; `layer` = order of first call in
    the forward pass, `name` = the qualified module name. One step per backward pass; rows every
    `every` steps. `include`: module types (or a predicate) to restrict the rows to.
    `hist=True`: on the recorded steps, also the fixed-bin histograms of |dL/dW|, |δ| and the
    activation (`rec.hist_frame()`, the bins of gradscope.recording.histograms, binned in torch).
    `tensorboard`: a log directory written live at every recorded step (see
    `GradientRecorder.tensorboard`). `rec.detach()` removes every hook."""
    if not isinstance(model, nn.Module):
        raise ConfigError(f"watch() needs a torch.nn.Module, got {type(model).__name__}.")
    every = check_scalar(every, "every", int, min_val=1)
    keep = include
    if isinstance(include, type | tuple):
        keep = lambda m: isinstance(m, include)  # noqa: E731
    rec = GradientRecorder(every=every, hist=bool(hist))
    watcher = Watcher(model, every, RecorderSink(rec), include=keep, hist=bool(hist))
    try:
        watcher.attach()
    except ValueError:
        raise ConfigError(
            f"{type(model).__name__} has no module with a trainable `weight` parameter to "
            "watch (nn.Linear, nn.Conv2d, nn.Embedding, norm layers...)."
        ) from None
    rec.attach_adapter(watcher)  # to_frame() measures pending updates; detach() unhooks
    if tensorboard is not None:
        rec.tensorboard(tensorboard)
    return rec
