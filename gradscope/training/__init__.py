"""Training: the loop `train`, losses, optimisers, datasets, and the registry of registries."""

from gradscope.training.loop import History, train

__all__ = ["History", "train"]
