"""The diagnosis engine: label a run, name the first bad layer, give evidence, rank and try fixes.

Rules and thresholds: see `gradscope.analysis.diagnosis.rules`.
"""

from gradscope.analysis.diagnosis.engine import Diagnosis, diagnose
from gradscope.analysis.diagnosis.evidence import Evidence, gather, ratio_log10, signal_profile
from gradscope.analysis.diagnosis.remedies import RANKING, REMEDIES, Remedy, rank_remedies
from gradscope.analysis.diagnosis.rules import (
    BAND_LOG10,
    DEAD_FRAC,
    DIAGNOSES,
    LEARNED_DROP,
    SATURATED_FRAC,
    UPDATE_BAND_LOG10,
    Verdict,
    classify,
)
from gradscope.analysis.diagnosis.sweep import ConfigDiagnosis, diagnose_frames, diagnose_runs

__all__ = [
    "BAND_LOG10", "DEAD_FRAC", "DIAGNOSES", "LEARNED_DROP", "RANKING", "REMEDIES",
    "SATURATED_FRAC", "UPDATE_BAND_LOG10", "ConfigDiagnosis", "Diagnosis", "Evidence",
    "Remedy", "Verdict", "classify", "diagnose",
    "diagnose_runs", "diagnose_frames", "gather", "rank_remedies", "ratio_log10",
    "signal_profile",
]
