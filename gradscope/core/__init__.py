"""Foundations every layer may use: errors, name registries, scalar validation, atomic files."""
