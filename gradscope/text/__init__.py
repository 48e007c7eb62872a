"""Terminal renderers: the per-layer table with log bars, diagnoses, try-fixes tables."""
