"""Figures of Jacobian spectra; they only draw numbers computed in `gradscope.jacobian`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gradscope.analysis.jacobian import JacobianSpectrum


def plot_singular_values(spectra: Mapping[str, JacobianSpectrum], bins: int = 60) -> Figure:
    """Histogram of the singular values of J per label (e.g. "gaussian", "orthogonal"), on a log
    axis: Gaussian products spread over decades, an isometry is a spike at 1."""
    fig = Figure(figsize=(6.4, 4.0), dpi=120)
    ax = fig.add_subplot()
    finite = [s.singular_values[np.isfinite(s.singular_values)
                                & (s.singular_values > 0)] for s in spectra.values()]
    pooled = np.concatenate([v for v in finite if v.size] or [np.ones(1)])
    lo = min(float(np.quantile(pooled, 0.01)), 0.5)
    hi = max(float(pooled.max()), 2.0)
    edges = np.geomspace(lo, hi, bins + 1)
    for label, values in zip(spectra, finite, strict=True):
        ax.hist(np.clip(values, lo, hi), bins=edges, histtype="stepfilled", alpha=0.45,
                label=label)
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("singular value of the input–output Jacobian (log; smaller ones at the left)")
    ax.set_ylabel("count")
    ax.set_title("Dynamical isometry: singular values at 1 keep every direction alive")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_spectrum_vs_depth(frame: pd.DataFrame) -> Figure:
    """Mean and variance of the squared singular values against depth, one line per init
    (the frame of `spectrum_vs_depth`)."""
    fig = Figure(figsize=(12.0, 3.8), dpi=120)
    axes = fig.subplots(1, 3)
    for column, ax, label in (
            ("mean_sq", axes[0], "mean of σ² (gain)"), ("var_sq", axes[1], "variance of σ²"),
            ("spread", axes[2], "variance / mean² of σ² (spread)")):
        if column not in frame:
            ax.text(0.5, 0.5, f"no column {column!r}", ha="center", transform=ax.transAxes)
            continue
        for init, part in frame.groupby("init", sort=False):
            part = part.sort_values("depth")
            ax.plot(part["depth"], part[column], marker="o", label=str(init))
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylabel(label)
        if (frame[column] > 0).all():
            ax.set_yscale("log")
        ax.legend()
    acts = frame["activation"].astype(str).unique() if "activation" in frame else []
    act = ", ".join(sorted(acts))
    fig.suptitle(f"Squared singular values of J against depth ({act})")
    fig.tight_layout()
    return fig
