"""PLOTS: every plot of a report by name, with the columns it needs and its caption builder."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from gradscope.analysis.aggregates import HistSummary, LayerSummary, StepSummary
from gradscope.analysis.frames import Frames
from gradscope.analysis.phase import is_phase_diagram, phase_table, trainable_threshold, xi_c_curve
from gradscope.core.registry import Registry
from gradscope.plots import captions
from gradscope.plots.curves import training_curves
from gradscope.plots.depth import depth_summary
from gradscope.plots.heatmap import gradient_heatmap
from gradscope.plots.histograms import HIST_COLUMNS, layer_histograms
from gradscope.plots.matrix import diagnosis_matrix
from gradscope.plots.phase import phase_diagram
from gradscope.plots.profile import gradient_profile
from gradscope.plots.saturation import saturation_profile
from gradscope.plots.style import Style


@dataclass(frozen=True)
class PlotSpec:
    """A report plot: its title, what it needs, how to draw it and how to caption it."""

    name: str
    title: str
    needs: Mapping[str, tuple[str, ...]]  # file name → columns
    draw: Callable[[Frames], Figure]
    caption: Callable[[Frames], str]
    applies: Callable[[Frames], bool] = lambda frames: True  # else left out of the report

    def missing(self, frames: Frames) -> dict[str, list[str]]:
        """The needed columns that `frames` lacks, per file (a whole absent file lists all)."""
        out: dict[str, list[str]] = {}
        for file, cols in self.needs.items():
            frame = getattr(frames, file.removesuffix(".csv"))
            gone = list(cols) if frame is None else [c for c in cols if c not in frame.columns]
            if gone:
                out[file] = gone
        return out


def style_of(frames: Frames) -> Style:
    """One line style per initialiser of the whole sweep, shared by every plot."""
    return Style.for_inits(frames.runs["init"] if "init" in frames.runs.columns else [])


def layers_of(frames: Frames) -> pd.DataFrame | LayerSummary:
    """layers.csv as the plots take it: its aggregates when the frames carry them."""
    return frames.layer_summary if frames.layer_summary is not None else frames.layers


def steps_of(frames: Frames) -> pd.DataFrame | StepSummary:
    """steps.csv as the plots take it: its aggregates when the frames carry them."""
    return frames.step_summary if frames.step_summary is not None else frames.steps


def hist_of(frames: Frames) -> pd.DataFrame | HistSummary:
    """hist.csv as the plots take it: its aggregates when the frames carry them."""
    return frames.hist_summary if frames.hist_summary is not None else frames.hist


PLOTS: Registry[PlotSpec] = Registry("plot")


def _add(name: str, title: str, needs: Mapping[str, tuple[str, ...]],
         draw: Callable[[Frames], Figure], help: str,
         applies: Callable[[Frames], bool] | None = None) -> None:
    PLOTS.add(name, PlotSpec(name, title, needs, draw, getattr(captions, name),
                             applies or (lambda frames: True)), help)


def _phase(frames: Frames) -> Figure:
    table = phase_table(frames.runs)
    act, sb2 = str(table["activation"].iloc[0]), float(table["sigma_b2"].iloc[0])
    curve = xi_c_curve(act, sb2, float(table["sigma_w2"].min()), float(table["sigma_w2"].max()))
    critical = curve.loc[~curve["trainable_depth"].map(math.isfinite), "sigma_w2"]
    return phase_diagram(table, curve, threshold=trainable_threshold(table),
                         critical=float(critical.iloc[0]) if len(critical) else math.nan)


_add("profile_delta", "Back-propagated gradient per layer",
     {"layers.csv": ("run_id", "step", "layer", "delta_norm"), "runs.csv": ("run_id",)},
     lambda f: gradient_profile(layers_of(f), f.runs, "delta_norm", style=style_of(f),
                                predicted=f.predicted),
     "log10 delta_norm against layer at step 0, per activation × init (dashed: theory)")
_add("profile_grad", "Weight gradient per layer",
     {"layers.csv": ("run_id", "step", "layer", "grad_norm"), "runs.csv": ("run_id",)},
     lambda f: gradient_profile(layers_of(f), f.runs, "grad_norm", style=style_of(f)),
     "log10 grad_norm against layer at step 0, per activation × init")
_add("depth", "Gradient decay against depth",
     {"runs.csv": ("run_id", "depth", "delta_ratio_log10", "grad_ratio_log10")},
     lambda f: depth_summary(f.runs, style=style_of(f)),
     "delta_ratio_log10 and grad_ratio_log10 against depth")
_add("heatmap", "Gradient norm over layers and training steps",
     {"layers.csv": ("run_id", "step", "layer", "grad_norm"), "runs.csv": ("run_id",)},
     lambda f: gradient_heatmap(layers_of(f), f.runs),
     "log10 grad_norm over layer × step for representative runs")
_add("curves", "Training curves",
     {"steps.csv": ("run_id", "step", "loss"), "runs.csv": ("run_id",)},
     lambda f: training_curves(steps_of(f), f.runs, style=style_of(f)),
     "loss and accuracy against step per configuration (He et al. 2015, Fig. 3)")
_add("histograms", "Per-layer histograms",
     {"hist.csv": tuple(HIST_COLUMNS), "runs.csv": ("run_id",)},
     lambda f: layer_histograms(hist_of(f), f.runs),
     "histograms of gradients and activations per layer (Glorot & Bengio 2010, Fig. 6–7)")
_add("saturation", "Saturated and dead units, update ratio",
     {"layers.csv": ("run_id", "step", "layer"), "runs.csv": ("run_id",)},
     lambda f: saturation_profile(layers_of(f), f.runs, style=style_of(f)),
     "saturated_frac, dead_frac and update_ratio per layer")
_add("matrix", "Diagnosis matrix",
     {"runs.csv": ("run_id", "depth", "diagnosis", "delta_ratio_log10")},
     lambda f: diagnosis_matrix(f.runs),
     "depth × activation per init, coloured by delta_ratio_log10, labelled with the diagnosis")
_add("phase", "Trainability phase diagram",
     {"runs.csv": ("run_id", "depth", "init", "activation", "final_accuracy")},
     _phase, "final accuracy over (σ_w², depth) with 6 ξ_c (Schoenholz et al. 2017); drawn "
     "for sweeps over σ_w² and depth", applies=lambda f: is_phase_diagram(phase_table(f.runs)))
