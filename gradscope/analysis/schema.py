"""The runs.csv and steps.csv schemas: one definition for the writer (sweeps) and the readers.

runs.csv is `run_id`, every run parameter (the fields of `gradscope.sweeps.config.RunConfig`,
in order), then `SUMMARY_COLUMNS`; steps.csv is `run_id` then `STEP_COLUMNS`. A runs.csv
written before a parameter existed (e.g. `bias_init`, added in 0.2) lacks its column: readers
take the parameter's default (bias_init "zeros": σ_b² = 0, as those runs had).
"""

from __future__ import annotations

RUN_ID = "run_id"
SUMMARY_COLUMNS = ("status", "diagnosis", "findings", "grad_ratio_log10", "delta_ratio_log10",
                   "first_nonfinite_step", "final_loss", "final_accuracy", "wall_s")
OUTPUT_COLUMNS = frozenset({RUN_ID, *SUMMARY_COLUMNS})  # the runs.csv columns not parameters
STEP_COLUMNS = ("step", "loss", "accuracy", "grad_global_norm")
