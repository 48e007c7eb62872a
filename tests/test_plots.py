"""Plots read the sweep CSVs as DataFrames and return headless Figures with something drawn."""

from __future__ import annotations

import subprocess
import sys
from itertools import product

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from synthetic_sweep import write_sweep

from gradscope.nn.activations import ACTIVATIONS
from gradscope.plots import (
    PLOTS,
    Frames,
    MissingColumns,
    Style,
    activation_colour,
    depth_summary,
    diagnosis_matrix,
    gradient_heatmap,
    gradient_profile,
    layer_histograms,
    saturation_profile,
    training_curves,
    varying_params,
)
from gradscope.plots.layout import MAX_FACETS, layout
from gradscope.theory import predict


def read(out) -> Frames:
    """The four CSVs of a synthetic sweep as Frames."""
    return Frames(*(pd.read_csv(out / f"{n}.csv", dtype={"run_id": str})
                    for n in ("runs", "layers", "steps", "hist")))


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Frames:
    """2 activations × 2 inits × depths 2/8 × 2 seeds, one run diverged."""
    return read(write_sweep(tmp_path_factory.mktemp("sweep")))


def phase_runs(threshold: float = 6.0) -> pd.DataFrame:
    """A fake phase-diagram sweep (tanh, σ_b² = 0.05): accuracy 0.95 where depth < `threshold`
    ξ_c, chance (0.25) beyond it, two seeds each."""
    rows = []
    for s2, depth, seed in product((1.0, 1.5, 1.76, 2.5, 4.0), (10, 30, 60, 100), (0, 1)):
        xi = predict("tanh", sigma_w2=s2, sigma_b2=0.05, depth=1, width=1).xi_c
        rows.append(dict(run_id=f"r{s2}-{depth}-{seed}", depth=depth, width=32,
                         activation="tanh", init=f"variance_scaling:{s2}",
                         bias_init="normal:0.2236068", seed=seed, status="ok",
                         final_accuracy=0.95 if depth < threshold * xi else 0.25))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def phase_frames() -> Frames:
    return Frames(phase_runs())


def drawn(fig: Figure) -> int:
    """How many data artists (lines, bands, meshes, images, bars) the figure's axes hold."""
    return sum(len(ax.lines) + len(ax.collections) + len(ax.images) + len(ax.patches)
               for ax in fig.axes)


@pytest.mark.parametrize("name", PLOTS.names())
def test_every_registered_plot_draws_a_figure(frames, phase_frames, name):
    frames = frames if PLOTS.get(name).applies(frames) else phase_frames
    fig = PLOTS.get(name).draw(frames)
    assert isinstance(fig, Figure)
    assert drawn(fig) > 0
    assert PLOTS.get(name).missing(frames) == {}


def test_public_functions_take_dataframes(frames):
    figs = [gradient_profile(frames.layers, frames.runs, "grad_norm"),
            depth_summary(frames.runs), gradient_heatmap(frames.layers, frames.runs),
            training_curves(frames.steps, frames.runs),
            layer_histograms(frames.hist, frames.runs, step="last"),
            saturation_profile(frames.layers, frames.runs), diagnosis_matrix(frames.runs)]
    assert all(isinstance(f, Figure) and drawn(f) > 0 for f in figs)


def test_profile_draws_one_line_per_depth_in_each_activation_init_panel(frames):
    fig = gradient_profile(frames.layers, frames.runs, "delta_norm")
    panels = [ax for ax in fig.axes if ax.lines]
    assert len(panels) == 4  # sigmoid/relu × normal:0.01/he
    assert {len(ax.lines) for ax in panels} == {2}  # depth 2 and depth 8
    titles = {ax.get_title() for ax in panels}
    assert "sigmoid + normal:0.01" in titles and "relu + he" in titles
    # the deep sigmoid + normal:0.01 line reaches layer 0 about 12.8 decades down
    ax = next(a for a in panels if a.get_title() == "sigmoid + normal:0.01")
    deep = max(ax.lines, key=lambda line: len(line.get_xdata()))
    assert deep.get_ydata()[0] == pytest.approx(-12.8, abs=0.3)


def test_legend_sits_outside_every_axes(frames):
    fig = gradient_profile(frames.layers, frames.runs, "delta_norm")
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    box = fig.legends[0].get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)


@pytest.mark.parametrize("column, call", [
    ("delta_norm", lambda f: gradient_profile(f.layers, f.runs, "delta_norm")),
    ("grad_norm", lambda f: gradient_heatmap(f.layers, f.runs)),
])
def test_missing_column_raises_missing_columns(frames, column, call):
    broken = Frames(frames.runs, frames.layers.drop(columns=column), frames.steps, frames.hist)
    with pytest.raises(MissingColumns) as info:
        call(broken)
    assert info.value.missing == [column]
    assert column in str(info.value)


def test_depth_summary_needs_the_ratio_columns(frames):
    with pytest.raises(MissingColumns, match="grad_ratio_log10"):
        depth_summary(frames.runs.drop(columns="grad_ratio_log10"))


def test_colour_per_activation_and_line_style_per_init_are_fixed():
    assert len({activation_colour(a) for a in ACTIVATIONS.names()}) == len(ACTIVATIONS)
    style = Style.for_inits(["he", "normal:0.01", "xavier", "normal:1"])
    assert len({str(style.linestyle(i)) for i in ["he", "normal:0.01", "xavier", "normal:1"]}) == 4
    assert style.linestyle("normal:0.01") == "-"  # registry order: normal first


def test_norm_sweep_gives_lines_labelled_by_norm(tmp_path):
    out = write_sweep(tmp_path, activations=("sigmoid",), inits=("he",), depths=(4,),
                      norms=("none", "batchnorm", "layernorm"))
    f = read(out)
    assert varying_params(f.runs) == ["norm"]
    fig = gradient_profile(f.layers, f.runs, "delta_norm")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(labels) == ["norm=batchnorm", "norm=layernorm", "norm=none"]
    assert drawn(training_curves(f.steps, f.runs)) > 0
    assert drawn(diagnosis_matrix(f.runs)) > 0


def test_many_configurations_are_limited_to_a_readable_number_of_panels(tmp_path):
    acts = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu")  # 24 panels
    inits = ("normal:0.01", "xavier", "he", "lecun")
    out = write_sweep(tmp_path, activations=acts, inits=inits, depths=(2, 3), seeds=(0,),
                      steps=5, hist=False)
    f = Frames(pd.read_csv(out / "runs.csv"), pd.read_csv(out / "layers.csv"))
    fig = gradient_profile(f.layers, f.runs, "delta_norm")
    assert len([ax for ax in fig.axes if ax.lines]) <= MAX_FACETS
    assert "panels shown" in fig.get_suptitle()


def test_layout_moves_extra_parameters_to_panels():
    runs = pd.DataFrame({"run_id": list("abcdefgh"), "activation": ["relu"] * 8,
                         "init": ["he"] * 8, "depth": [2, 4, 8, 16] * 2,
                         "norm": ["none"] * 4 + ["batchnorm"] * 4, "seed": [0] * 8,
                         "status": ["ok"] * 8})
    lay = layout(runs, facet_first=("activation", "init"))  # neither varies
    # no panel parameter: the varying ones would all be lines; norm moves to panels, depth
    # (the x axis of depth plots, the natural line) stays a line
    assert list(lay.facets) == ["norm"] and list(lay.lines) == ["depth"]


def test_importing_plots_never_imports_pyplot():
    code = ("import sys, gradscope.plots, gradscope.report; "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", [n for n in PLOTS.names() if n != "phase"])
def test_exploding_magnitudes_draw_without_overflow(frames, name):
    """An exploding run's loss and gradients (1e266, 1e300) are results to plot, not crashes."""
    import io

    grow = np.power(10.0, np.minimum(frames.steps["step"].to_numpy() * 14, 266))
    steps = frames.steps.assign(loss=frames.steps["loss"] * grow,  # 0.1 … 1e266
                                grad_global_norm=frames.steps["grad_global_norm"] * grow)
    up = np.power(10.0, np.minimum(frames.layers["step"].to_numpy() * 15, 300))
    layers = frames.layers.assign(grad_norm=frames.layers["grad_norm"] * up,
                                  delta_norm=frames.layers["delta_norm"] * up)
    huge = Frames(frames.runs, layers, steps, frames.hist)
    fig = PLOTS.get(name).draw(huge)
    fig.savefig(io.BytesIO(), format="png", dpi=40)
    assert drawn(fig) > 0
    for ax in fig.axes:  # every axis could be laid out: finite limits
        assert np.isfinite([*ax.get_xlim(), *ax.get_ylim()]).all(), (name, ax.get_title())
    if name == "curves":  # the huge losses and norms are drawn, not dropped or clipped
        ys = np.concatenate([np.asarray(line.get_ydata(), float) for ax in fig.axes
                             for line in ax.lines] + [np.zeros(1)])
        assert np.nanmax(ys) >= 1e250 and np.isfinite(np.nanmax(ys))


def test_histogram_stairs_keep_gaps_between_stored_bins():
    from gradscope.plots.histograms import stair_steps

    lo = np.array([0.0, 1e-3, 1e-2, 1.0])      # the zero bin, two bins, a gap, the open bin
    hi = np.array([0.0, 1e-2, 1e-1, np.inf])
    heights, edges = stair_steps(lo, hi, np.array([0.1, 0.2, 0.3, 0.4]), log_x=True)
    np.testing.assert_allclose(edges, [1e-3, 1e-2, 1e-1, 1.0, 10.0])
    np.testing.assert_allclose(heights, [0.2, 0.3, 0.0, 0.4])  # zero bin dropped on a log axis
    heights, edges = stair_steps(np.array([-1.0, 0.5]), np.array([-0.5, 1.0]),
                                 np.array([0.5, 0.5]), log_x=False)
    np.testing.assert_allclose(edges, [-1.0, -0.5, 0.5, 1.0])
    np.testing.assert_allclose(heights, [0.5, 0.0, 0.5])


def test_curves_say_how_many_lines_hide_behind_each_other():
    from gradscope.plots.curves import coinciding_ends

    rows = [{"run_id": f"{a}{s}", "activation": a, "step": t,
             "loss": {"sigmoid": 0.6931, "tanh": 0.6932, "relu": 0.2, "elu": 1e160}[a]
             * (1 + 0.0001 * s)}
            for a in ("sigmoid", "tanh", "relu", "elu") for s in (0, 1) for t in range(3)]
    frame = pd.DataFrame(rows)
    assert coinciding_ends(frame, "loss", ("activation",)) == [
        (2, pytest.approx(0.69320, rel=1e-4))]


def test_phase_diagram_only_for_sweeps_over_sigma_w2_and_depth(frames, phase_frames):
    assert not PLOTS.get("phase").applies(frames)  # two activations, no σ_w² axis
    assert PLOTS.get("phase").applies(phase_frames)
    one_depth = phase_frames.runs[phase_frames.runs["depth"] == 10]
    assert not PLOTS.get("phase").applies(Frames(one_depth))


def test_phase_diagram_cells_and_the_six_xi_c_line(phase_frames):
    fig = PLOTS.get("phase").draw(phase_frames)
    ax = fig.axes[0]
    mesh = ax.collections[0].get_array()
    assert np.shape(mesh) == (4, 5)  # depths × σ_w², one cell each
    line = next(ln for ln in ax.lines if "ξ_c" in str(ln.get_label()))
    x, y = line.get_data()
    xi = predict("tanh", sigma_w2=4.0, sigma_b2=0.05, depth=1, width=1).xi_c
    assert np.interp(4.0, x, y) == pytest.approx(6 * xi, rel=1e-6)  # σ_b² = 0.2236068²
    assert y.max() > 1000  # diverges at the critical line
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("95") == int((phase_frames.runs["final_accuracy"] > 0.5).sum() / 2)


def test_phase_caption_counts_the_cells_the_line_separates(phase_frames):
    from gradscope.plots import captions

    text = captions.phase(phase_frames)
    assert "20 of 20 cells" in text  # the fake sweep follows 6 ξ_c exactly
    shifted = Frames(phase_runs(threshold=2.0))
    assert "20 of 20 cells" not in captions.phase(shifted)
