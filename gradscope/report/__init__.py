"""Reports of a sweep: plots/, report.md and a self-contained report.html, from the CSVs alone."""

from gradscope.report.build import build_report, write_atomic

__all__ = ["build_report", "write_atomic"]
