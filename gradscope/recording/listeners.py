"""Listeners: whoever wants each recorded step's rows as training goes (e.g. live TensorBoard).

A listener is any object with `on_step(step, rows, hist)` (and optionally `close()`):

    class Printer:
        def on_step(self, step, rows, hist):    # rows: the step's to_frame() rows
            print(step, rows["delta_norm"].min())  # hist: its hist_frame() rows, or None

    rec.add_listener(Printer())

A step is handed over once it is complete: when a later step starts (its backward pass, or its
first `log()` call), so that the optimiser's update of the step (update_ratio) is in its rows;
the last step goes at `to_frame()`, `flush_listeners()` or `detach()`. Each step goes exactly
once, in increasing order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from gradscope.core.errors import ConfigError


@runtime_checkable
class Listener(Protocol):
    """Receives each complete recorded step: its layer rows and histogram rows (or None)."""

    def on_step(self, step: int, rows: pd.DataFrame, hist: pd.DataFrame | None) -> None:
        """Called once per recorded step, in increasing step order."""


Rows = Callable[[int], tuple[pd.DataFrame, pd.DataFrame | None]]  # step -> (rows, hist)


class Publisher:
    """The recorder's listeners and the last step handed to them."""

    def __init__(self) -> None:
        self.listeners: list[Any] = []
        self.done = -1  # steps ≤ done were handed over

    def add(self, listener: Any) -> None:
        """Register a listener (ConfigError for an object without `on_step`)."""
        if not callable(getattr(listener, "on_step", None)):
            raise ConfigError(
                f"A recorder listener needs a method on_step(step, rows, hist); "
                f"{type(listener).__name__} has none (see gradscope.recording.listeners)."
            )
        self.listeners.append(listener)

    def publish(self, steps: list[int], rows_of: Rows, before: int | None = None) -> None:
        """Hand every recorded step in `steps` not handed over yet (and < `before`) to the
        listeners."""
        if not self.listeners:
            return
        for step in steps:
            if step <= self.done or (before is not None and step >= before):
                continue
            rows, hist = rows_of(step)
            for listener in self.listeners:
                listener.on_step(step, rows, hist)
            self.done = step

    def close(self) -> None:
        """Close every listener that can be closed, and forget them."""
        for listener in self.listeners:
            close = getattr(listener, "close", None)
            if callable(close):
                close()
        self.listeners = []
