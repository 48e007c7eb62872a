"""Plots of a sweep: functions that take the CSV DataFrames and return matplotlib Figures.

Plotting only reads and draws (grouping and averaging over seeds, no statistics of its own);
every figure is headless (an Agg canvas, pyplot is never touched), so importing gradscope never
opens a window and the functions work in a notebook as well as in `gradscope report`.
"""

from gradscope.analysis.configurations import label, run_params, varying_params
from gradscope.analysis.frames import Frames
from gradscope.plots.base import MissingColumns, NoData, PlotSkipped
from gradscope.plots.curves import training_curves
from gradscope.plots.depth import depth_summary
from gradscope.plots.heatmap import gradient_heatmap, representative_runs
from gradscope.plots.histograms import layer_histograms
from gradscope.plots.matrix import diagnosis_matrix
from gradscope.plots.profile import gradient_profile, recording_profile
from gradscope.plots.registry import PLOTS, PlotSpec
from gradscope.plots.saturation import saturation_profile
from gradscope.plots.style import Style, activation_colour

__all__ = [
    "PLOTS", "Frames", "MissingColumns", "NoData", "PlotSkipped", "PlotSpec", "Style",
    "activation_colour", "depth_summary", "diagnosis_matrix", "gradient_heatmap",
    "gradient_profile", "label", "layer_histograms", "recording_profile", "representative_runs",
    "run_params", "saturation_profile", "training_curves", "varying_params",
]
