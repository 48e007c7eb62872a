"""build_report: plots/, report.md and a self-contained report.html from a sweep's CSVs alone.

The page reads headline first: what happened in one sentence, the diagnosis matrix and the
δ profile, the per-configuration table, the other plots, what was run, and the per-run
findings last (collapsed)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image as PILImage

from gradscope._version import __version__
from gradscope.analysis.frames import Frames
from gradscope.core.atomic import write_atomic
from gradscope.plots.base import DPI, PlotSkipped
from gradscope.plots.registry import PLOTS
from gradscope.report.data import load_report_frames
from gradscope.report.document import Block, Contents, Heading, Image, Para
from gradscope.report.html import render_html
from gradscope.report.markdown import render_markdown
from gradscope.report.sections import (
    configuration_section,
    error_section,
    findings_section,
    headline_blocks,
    setup_section,
    sweep_name,
)

# the one-picture summary (the phase diagram, for a sweep that is one) and the δ profile
AT_A_GLANCE = ("phase", "matrix", "profile_delta")
HIST_HINT = ("Per-layer histograms were not recorded. Add `hist = true` to the [fixed] table "
             "of the config (or pass --hist to `gradscope run`) and run the sweep again to see "
             "them.")


def _skip_text(missing: dict[str, list[str]], frames: Frames) -> str:
    parts = []
    for file, cols in missing.items():
        frame = getattr(frames, file.removesuffix(".csv"))
        parts.append(f"{file} (absent)" if frame is None else f"{', '.join(cols)} in {file}")
    return "skipped: needs columns " + "; ".join(parts)


def png_bytes(fig: Figure) -> bytes:
    """The figure as a PNG with a 256-colour palette: a third of the size, no visible change."""
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=DPI)
    raw.seek(0)
    out = io.BytesIO()
    with PILImage.open(raw) as im:
        im.convert("RGB").quantize(256, method=PILImage.Quantize.FASTOCTREE).save(
            out, format="PNG", optimize=True)
    return out.getvalue()


def draw_plot(name: str, frames: Frames, plot_dir: Path,
              images: dict[str, bytes]) -> list[Block]:
    """Draw one registered plot into `plot_dir`: its title and figure, or a line saying why not."""
    spec = PLOTS.get(name)
    target = plot_dir / f"{name}.png"
    blocks: list[Block] = [Heading(3, spec.title)]
    missing = spec.missing(frames)
    try:
        if missing:
            raise PlotSkipped(_skip_text(missing, frames))
        png = png_bytes(spec.draw(frames))
    except PlotSkipped as exc:
        text = str(exc) if str(exc).startswith("skipped") else f"skipped: {exc}"
        target.unlink(missing_ok=True)  # no stale picture from an earlier report
        return blocks + [Para(f"{text}.", note=True)]
    except Exception as exc:  # noqa: BLE001 - one bad plot must not cost the whole report
        target.unlink(missing_ok=True)
        return blocks + [Para(f"skipped: drawing failed ({type(exc).__name__}: {exc}).",
                              note=True)]
    write_atomic(target, png)
    rel = f"plots/{target.name}"
    images[rel] = png
    return blocks + [Image(rel, spec.title, spec.caption(frames))]


def plot_sections(frames: Frames, plot_dir: Path) -> tuple[list[Block], list[Block],
                                                            dict[str, bytes]]:
    """The at-a-glance plots and the other plots (histograms only when hist.csv exists);
    runs that stopped with an error have nothing to draw and are left out."""
    images: dict[str, bytes] = {}
    drawable = frames.runs[frames.runs["status"].astype(str) != "error"]
    if drawable.empty:
        for name in PLOTS.names():
            (plot_dir / f"{name}.png").unlink(missing_ok=True)
        return [], [Heading(2, "Plots"),
                    Para("No run finished, so there is nothing to plot.", note=True)], images
    frames = replace(frames, runs=drawable)
    applies = {name: PLOTS.get(name).applies(frames) for name in PLOTS.names()}
    for name in PLOTS.names():
        if not applies[name]:  # e.g. the phase diagram of a sweep that is not one
            (plot_dir / f"{name}.png").unlink(missing_ok=True)
    glance: list[Block] = [Heading(2, "At a glance")]
    for name in AT_A_GLANCE:
        if applies[name]:
            glance += draw_plot(name, frames, plot_dir, images)
    rest: list[Block] = [Heading(2, "Plots")]
    for name in PLOTS.names():
        if name in AT_A_GLANCE or not applies[name]:
            continue
        if name == "histograms" and frames.hist is None:
            (plot_dir / "histograms.png").unlink(missing_ok=True)
            continue
        rest += draw_plot(name, frames, plot_dir, images)
    if frames.hist is None:
        rest.append(Para(HIST_HINT, note=True))
    return glance, rest, images


def build_report(out_dir: str | Path) -> Path:
    """Build plots/*.png, report.md and report.html in `out_dir` from its CSVs; returns the
    path of report.html. Raises DataError when runs.csv is missing or malformed."""
    out = Path(out_dir)
    frames, notes = load_report_frames(out)
    plot_dir = out / "plots"
    plot_dir.mkdir(exist_ok=True)
    name = sweep_name(frames, out.resolve().name)
    title = f"gradscope report: {name}"
    glance, plots, images = plot_sections(frames, plot_dir)
    blocks: list[Block] = [Heading(1, title), *headline_blocks(frames),
                           Para(f"Built by gradscope {__version__} from the CSV files in "
                                f"{out.as_posix().rstrip('/')}/ (no re-training).", note=True),
                           *(Para(n, note=True) for n in notes),
                           Contents()]
    blocks += error_section(frames)
    blocks += glance
    blocks += configuration_section(frames)
    blocks += plots
    blocks += setup_section(frames, out.resolve().name)
    blocks += findings_section(frames)
    write_atomic(out / "report.md", render_markdown(blocks).encode("utf-8"))
    html_path = out / "report.html"
    write_atomic(html_path, render_html(blocks, images, title).encode("utf-8"))
    return html_path
