"""Recording per-layer statistics: the recorder, its statistics, histograms and `log()` checks."""

from gradscope.recording.recorder import GradientRecorder

__all__ = ["GradientRecorder"]
