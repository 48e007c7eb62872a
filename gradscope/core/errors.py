"""Errors that a user can fix; the CLI turns them into one paragraph and exit code 2."""

from __future__ import annotations


class GradscopeError(Exception):
    """Base class for every error caused by bad user input (exit code 2 in the CLI)."""


class ConfigError(GradscopeError, ValueError):
    """A config key, value, name or type that gradscope cannot accept."""


class ShapeError(GradscopeError, ValueError):
    """A layer (built-in or a user's own) produced an array of the wrong shape."""


class DataError(GradscopeError, ValueError):
    """A dataset (for example a user's CSV file) that cannot be used."""
