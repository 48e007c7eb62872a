"""The experiment runner: one run → its rows; a sweep → part files → consolidated CSVs.

The names below load on first use (PEP 562), so that a sweep's worker, which imports only
`gradscope.sweeps.run`, does not load the store, the executors or the columnar writer.
"""

import importlib
from typing import Any

_EXPORTS = {"RunResult": "gradscope.sweeps.run", "execute_run": "gradscope.sweeps.run",
            "SweepResult": "gradscope.sweeps.sweep", "run_single": "gradscope.sweeps.sweep",
            "run_sweep": "gradscope.sweeps.sweep"}

__all__ = ["RunResult", "SweepResult", "execute_run", "run_single", "run_sweep"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gradscope.sweeps' has no attribute {name!r}")
