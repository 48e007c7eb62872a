"""build_report: plots/, report.md and a self-contained report.html from a sweep's CSVs alone."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image as PILImage

from gradscope._version import __version__
from gradscope.analysis.frames import Frames
from gradscope.core.atomic import write_atomic
from gradscope.plots.base import DPI, PlotSkipped
from gradscope.plots.registry import PLOTS
from gradscope.report.document import Block, Heading, Image, Para
from gradscope.report.html import render_html
from gradscope.report.markdown import render_markdown
from gradscope.report.sections import (
    comparison_section,
    config_section,
    diagnosis_section,
    manifest_extra,
    problem_section,
    sweep_name,
)
from gradscope.sweeps.results import load_results


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


def plot_section(frames: Frames, plot_dir: Path) -> tuple[list[Block], dict[str, bytes]]:
    """Draw every registered plot into `plot_dir`; a plot that cannot be drawn gets a line."""
    blocks: list[Block] = [Heading(2, "Plots")]
    images: dict[str, bytes] = {}
    for name in PLOTS.names():
        spec = PLOTS.get(name)
        target = plot_dir / f"{name}.png"
        blocks.append(Heading(3, spec.title))
        missing = spec.missing(frames)
        try:
            if missing:
                raise PlotSkipped(_skip_text(missing, frames))
            fig = spec.draw(frames)
            png = png_bytes(fig)
        except PlotSkipped as exc:
            text = str(exc) if str(exc).startswith("skipped") else f"skipped: {exc}"
            blocks.append(Para(f"{text}.", note=True))
            target.unlink(missing_ok=True)  # no stale picture from an earlier report
            continue
        except Exception as exc:  # noqa: BLE001 - one bad plot must not cost the whole report
            blocks.append(Para(f"skipped: drawing failed ({type(exc).__name__}: {exc}).",
                               note=True))
            target.unlink(missing_ok=True)
            continue
        write_atomic(target, png)
        rel = f"plots/{target.name}"
        images[rel] = png
        blocks.append(Image(rel, spec.title, spec.caption(frames)))
    return blocks, images


def build_report(out_dir: str | Path) -> Path:
    """Build plots/*.png, report.md and report.html in `out_dir` from its CSVs; returns the
    path of report.html. Raises DataError when runs.csv is missing or malformed."""
    out = Path(out_dir)
    frames, notes = load_results(out)
    plot_dir = out / "plots"
    plot_dir.mkdir(exist_ok=True)
    name = sweep_name(frames, out.resolve().name)
    title = f"gradscope report: {name}"
    blocks: list[Block] = [Heading(1, title),
                           Para(f"Built by gradscope {__version__} from the CSV files in "
                                f"{out.resolve().name}/ (no re-training).")]
    blocks += [Para(n, note=True) for n in notes]
    extra = manifest_extra(frames.manifest)
    blocks += config_section(frames, out.resolve().name)
    if extra:
        blocks.append(Para(extra))
    blocks += diagnosis_section(frames)
    blocks += comparison_section(frames)
    plots, images = plot_section(frames, plot_dir)
    blocks += plots
    blocks += problem_section(frames)
    write_atomic(out / "report.md", render_markdown(blocks).encode("utf-8"))
    html_path = out / "report.html"
    write_atomic(html_path, render_html(blocks, images, title).encode("utf-8"))
    return html_path
