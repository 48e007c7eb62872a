"""The package version (one place, imported everywhere else)."""

__version__ = "0.1.0"
