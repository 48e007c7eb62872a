"""The diagnosis engine: label a run, name the first bad layer, give evidence, rank and try fixes.

The labels (meaning, severity, remedies, finding sentence): `labels.LABELS`; when each fires
(rules and thresholds): `rules.RULES`; the numbers they read: `evidence.Evidence`.
"""

from gradscope.analysis.diagnosis.engine import Diagnosis, diagnose
from gradscope.analysis.diagnosis.evidence import (
    SIGNALS,
    Evidence,
    gather,
    ratio_log10,
    signal_profile,
)
from gradscope.analysis.diagnosis.labels import DIAGNOSES, LABELS, SEVERITY, Label
from gradscope.analysis.diagnosis.remedies import RANKING, REMEDIES, Remedy, rank_remedies
from gradscope.analysis.diagnosis.rules import (
    BAND_LOG10,
    DEAD_FRAC,
    LEARNED_DROP,
    RULES,
    SATURATED_FRAC,
    UPDATE_BAND_LOG10,
    Rule,
    Verdict,
    classify,
)
from gradscope.analysis.diagnosis.sweep import ConfigDiagnosis, diagnose_frames, diagnose_runs

__all__ = [
    "BAND_LOG10", "DEAD_FRAC", "DIAGNOSES", "LABELS", "LEARNED_DROP", "RANKING", "REMEDIES",
    "RULES", "SATURATED_FRAC", "SEVERITY", "SIGNALS", "UPDATE_BAND_LOG10", "ConfigDiagnosis",
    "Diagnosis", "Evidence", "Label", "Remedy", "Rule", "Verdict", "classify", "diagnose",
    "diagnose_runs", "diagnose_frames", "gather", "rank_remedies", "ratio_log10",
    "signal_profile",
]
