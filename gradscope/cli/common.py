"""Shared CLI pieces: the error boundary (exit code 2, one paragraph, no traceback)."""

from __future__ import annotations

from typing import Any

import click

from gradscope.core.errors import GradscopeError


class GradscopeGroup(click.Group):
    """A click group that turns a `GradscopeError` into a one-paragraph message and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GradscopeError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
