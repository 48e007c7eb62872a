"""The experiment runner: one run → its rows; a sweep → part files → consolidated CSVs."""

from gradscope.sweeps.run import RunResult, execute_run
from gradscope.sweeps.sweep import SweepResult, run_single, run_sweep

__all__ = ["RunResult", "SweepResult", "execute_run", "run_single", "run_sweep"]
