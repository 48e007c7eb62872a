"""The diagnosis engine: label a run, name the first bad layer, give evidence, rank and try fixes.

Rules and thresholds: see `gradscope.diagnosis.rules`.
"""

from .engine import Diagnosis, diagnose
from .evidence import Evidence, gather, ratio_log10, signal_profile
from .remedies import RANKING, REMEDIES, Remedy, config_of, rank_remedies
from .rules import (
    BAND_LOG10,
    DEAD_FRAC,
    DIAGNOSES,
    LEARNED_DROP,
    SATURATED_FRAC,
    UPDATE_BAND_LOG10,
    Verdict,
    classify,
)
from .sweep import ConfigDiagnosis, diagnose_runs, diagnose_sweep
from .tryfix import FixTable, Trial, try_fixes

__all__ = [
    "BAND_LOG10", "DEAD_FRAC", "DIAGNOSES", "LEARNED_DROP", "RANKING", "REMEDIES",
    "SATURATED_FRAC", "UPDATE_BAND_LOG10", "ConfigDiagnosis", "Diagnosis", "Evidence",
    "FixTable", "Remedy", "Trial", "Verdict", "classify", "config_of", "diagnose",
    "diagnose_runs", "diagnose_sweep", "gather", "rank_remedies", "ratio_log10",
    "signal_profile", "try_fixes",
]
