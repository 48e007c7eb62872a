"""Shared CLI pieces: the error boundary and the exit codes.

Exit codes: 0 everything asked for succeeded; 1 the command ran but a run failed (each distinct
error printed once) or a worker process died; 2 bad input (one paragraph, nothing written);
128 + N interrupted by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP; finished runs are kept).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from gradscope.core.errors import GradscopeError
from gradscope.sweeps.executor import WorkerLost

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so a sweep stops as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While inside: SIGTERM and SIGHUP raise `Interrupted` (like SIGINT's KeyboardInterrupt)."""
    saved = {}
    for sig in STOP_SIGNALS:
        try:
            saved[sig] = signal.signal(sig, _raise_interrupted)
        except ValueError:  # not the main thread (e.g. CliRunner in a thread): leave it
            pass
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def fail_runs(errors: list[str], what: str = "run") -> None:
    """Print each distinct error of the failed runs on one line and exit 1."""
    click.echo(f"Error: {len(errors)} distinct error(s) in the failed {what}s:", err=True)
    for message in errors:
        click.echo(f"  {message}", err=True)
    raise SystemExit(EXIT_RUN_FAILED)


def _os_error_text(exc: OSError) -> str:
    where = f" {exc.filename!r}" if exc.filename else ""
    return (f"Cannot access{where}: {exc.strerror or exc}. Check that the path exists, is the "
            f"right kind (file or folder) and that you may read/write it.")


class GradscopeGroup(click.Group):
    """A click group that turns every anticipated failure into one paragraph and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with stop_signals_interrupt():
                return super().invoke(ctx)
        except GradscopeError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (PermissionError, IsADirectoryError, NotADirectoryError, FileNotFoundError) as exc:
            click.echo(f"Error: {_os_error_text(exc)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except MemoryError as exc:
            click.echo(f"Error: out of memory ({exc or 'MemoryError'}). Reduce the width, depth, "
                       "batch size or number of examples.", err=True)
            ctx.exit(EXIT_RUN_FAILED)
        except WorkerLost as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_RUN_FAILED)
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            name = signal.Signals(signum).name
            click.echo(f"\ninterrupted ({name}): runs finished so far are saved; run the same "
                       "command again to resume.", err=True)
            ctx.exit(128 + int(signum))
