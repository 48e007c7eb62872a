"""Plots of a sweep: functions that take the CSV DataFrames and return matplotlib Figures.

Plotting only reads and draws (grouping and averaging over seeds, no statistics of its own);
every figure is headless (an Agg canvas, pyplot is never touched), so importing gradscope never
opens a window and the functions work in a notebook as well as in `gradscope report`.
"""

from .base import MissingColumns, NoData, PlotSkipped
from .curves import training_curves
from .depth import depth_summary
from .frames import Frames
from .grouping import label, run_params, varying_params
from .heatmap import gradient_heatmap, representative_runs
from .histograms import layer_histograms
from .matrix import diagnosis_matrix
from .profile import gradient_profile
from .registry import PLOTS, PlotSpec
from .saturation import saturation_profile
from .style import Style, activation_colour

__all__ = [
    "PLOTS", "Frames", "MissingColumns", "NoData", "PlotSkipped", "PlotSpec", "Style",
    "activation_colour", "depth_summary", "diagnosis_matrix", "gradient_heatmap",
    "gradient_profile", "label", "layer_histograms", "representative_runs", "run_params",
    "saturation_profile", "training_curves", "varying_params",
]
