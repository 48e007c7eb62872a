"""Analysis: pure functions of arrays and frames (diagnosis, measured vs theory, Jacobians, the
chain rule in numbers). No runs, no files, no plots."""
