"""A progress bar on stderr: runs done/total, elapsed time, ETA, diverged and failed runs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 28
LINE_EVERY_S = 10.0  # when stderr is not a terminal: one line at most this often


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Counts finished runs and redraws one status line (a new line per update off-terminal)."""

    def __init__(self, total: int, *, resumed: int = 0, quiet: bool = False,
                 stream: TextIO | None = None, label: str = "runs") -> None:
        self.total, self.resumed, self.quiet, self.label = total, resumed, quiet, label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = resumed
        self.diverged = self.errors = 0
        self.start = time.monotonic()
        self._last_line = 0.0

    def update(self, status: str) -> None:
        """Count one finished run with status ok | diverged | error."""
        self.done += 1
        self.diverged += status == "diverged"
        self.errors += status == "error"
        self._draw()

    def line(self) -> str:
        """The current status line."""
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * BAR_WIDTH))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.start
        ran = self.done - self.resumed
        left = self.total - self.done
        eta = _clock(elapsed / ran * left) if ran and left else ("0:00" if not left else "?")
        parts = [f"[{bar}] {self.done}/{self.total} {self.label}"]
        if self.resumed:
            parts.append(f"{self.resumed} resumed")
        parts.append(f"{self.diverged} diverged")
        if self.errors:
            parts.append(f"{self.errors} failed")
        parts.append(f"elapsed {_clock(elapsed)}  ETA {eta}")
        return "  ".join(parts)

    def _draw(self, final: bool = False) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r" + self.line() + ("\n" if final else ""))
        else:
            now = time.monotonic()
            if not (final or self.done == self.total or now - self._last_line >= LINE_EVERY_S):
                return
            self._last_line = now
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def begin(self) -> None:
        """Draw the bar before the first run finishes."""
        if self.tty:
            self._draw()
        elif not self.quiet:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_line = time.monotonic()

    def close(self) -> None:
        """Finish the line."""
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
