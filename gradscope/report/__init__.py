"""Reports of a sweep: plots/, report.md and a self-contained report.html, from the CSVs alone."""

from .build import build_report, write_atomic
from .data import load_sweep

__all__ = ["build_report", "load_sweep", "write_atomic"]
