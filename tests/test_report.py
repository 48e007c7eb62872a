"""build_report and `gradscope report`: plots, report.md and a self-contained, escaped HTML."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from synthetic_sweep import write_sweep

from gradscope.cli import main
from gradscope.core.errors import DataError
from gradscope.plots import PLOTS
from gradscope.report import build_report

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report built from a small synthetic sweep (with hist.csv)."""
    out = write_sweep(tmp_path_factory.mktemp("sweep"))
    html = build_report(out)
    return out, (out / "report.md").read_text(), html.read_text()


def small_sweep(tmp_path, **kw):
    """A smaller sweep for the tests that break a file."""
    return write_sweep(tmp_path, depths=(2, 3), seeds=(0,), steps=8, record_every=4, **kw)


def test_every_plot_is_written_referenced_and_embedded(report):
    out, md, html = report
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"',
                          html)
    assert len(embedded) == len(PLOTS)
    for name, (data, alt) in zip(PLOTS.names(), embedded, strict=True):
        png = out / "plots" / f"{name}.png"
        assert png.stat().st_size > 5000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](plots/{name}.png)" in md
        assert base64.b64decode(data) == png.read_bytes()
        assert alt == PLOTS.get(name).title
    assert "skipped" not in md


def test_html_is_self_contained(report):
    _, _, html = report
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert "<style>" in html and "<link" not in html


def test_report_states_numbers_sections_and_the_diverged_run(report):
    out, md, _ = report
    runs = pd.read_csv(out / "runs.csv", dtype={"run_id": str})
    assert "sigmoid + normal:0.01 at depth 8: the gradient reaching layer 0 is 10^-12.8" in md
    for section in ("## What was run", "## Runs by diagnosis", "## Plots", "## Diverged runs"):
        assert section in md
    diverged = runs.loc[runs["status"] == "diverged", "run_id"].item()
    tail = md[md.index("## Diverged runs"):]
    assert diverged in tail and "| 12 |" in tail
    assert "Sweep synthetic: 16 runs (8 configurations × 2 seed(s))" in md
    assert not list(out.rglob("*.tmp"))


def test_rebuilding_gives_the_same_markdown(report):
    out, md, _ = report
    build_report(out)
    assert (out / "report.md").read_text() == md


@pytest.mark.parametrize("file, column, skipped, kept", [
    ("layers.csv", "delta_norm", ["profile_delta"], ["profile_grad", "heatmap"]),
    ("layers.csv", "grad_norm", ["profile_grad", "heatmap"], ["profile_delta", "saturation"]),
    ("runs.csv", "delta_ratio_log10", ["depth", "matrix"], ["profile_delta", "curves"]),
    ("steps.csv", "loss", ["curves"], ["depth"]),
], ids=["layers-delta_norm", "layers-grad_norm", "runs-delta_ratio", "steps-loss"])
def test_a_missing_column_skips_the_plots_that_need_it(tmp_path, file, column, skipped, kept):
    out = small_sweep(tmp_path)
    pd.read_csv(out / file).drop(columns=column).to_csv(out / file, index=False)
    build_report(out)
    md = (out / "report.md").read_text()
    for name in skipped:
        assert not (out / "plots" / f"{name}.png").exists()
        assert f"plots/{name}.png" not in md
    escaped = column.replace("_", "\\_")
    assert md.count(f"skipped: needs columns {escaped} in {file}") == len(skipped)
    assert md.count("skipped") == len(skipped)
    for name in kept:
        assert (out / "plots" / f"{name}.png").stat().st_size > 0


def test_without_hist_csv_only_the_histograms_are_skipped_and_the_stale_png_goes(tmp_path):
    out = small_sweep(tmp_path)
    build_report(out)
    assert (out / "plots" / "histograms.png").exists()
    (out / "hist.csv").unlink()
    html = build_report(out).read_text()
    md = (out / "report.md").read_text()
    assert not (out / "plots" / "histograms.png").exists()
    assert "skipped: needs columns hist.csv (absent)" in md
    assert md.count("skipped") == 1
    assert html.count("data:image/png;base64,") == len(PLOTS) - 1


def test_user_strings_are_escaped_in_html_and_markdown(tmp_path):
    out = small_sweep(tmp_path, name=SCRIPT)
    runs = pd.read_csv(out / "runs.csv")
    runs["findings"] = '<img src=x onerror="alert(2)"> & more'
    runs["dataset"] = "csv:<b>data</b>.csv"
    runs.to_csv(out / "runs.csv", index=False)
    html = build_report(out).read_text()
    md = (out / "report.md").read_text()
    assert SCRIPT not in html and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<title>gradscope report: &lt;script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; more" in html
    assert not re.search(r"(?<!\\)<", md)  # every < of a user string is backslash-escaped
    assert "\\<script\\>alert(1)\\</script\\>" in md


def test_a_dir_without_runs_csv_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="runs.csv"):
        build_report(tmp_path)


def test_runs_csv_missing_columns_is_a_data_error_naming_them(tmp_path):
    out = small_sweep(tmp_path)
    pd.read_csv(out / "runs.csv").drop(columns=["diagnosis", "status"]).to_csv(
        out / "runs.csv", index=False)
    with pytest.raises(DataError, match="status, diagnosis"):
        build_report(out)


def test_cli_builds_a_report_and_exits_0_even_with_an_unreadable_manifest(tmp_path):
    out = small_sweep(tmp_path)
    (out / "manifest.json").write_text("{not json")
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    assert (out / "report.html").exists()
    md = (out / "report.md").read_text()
    assert "manifest.json could not be read" in md
    assert f"# gradscope report: {tmp_path.name}" in md.replace("\\_", "_")


def test_cli_exits_2_with_one_paragraph_without_runs_csv(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"config": {"name": "x"}}))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    message = result.output.strip()
    assert "runs.csv" in message and "Traceback" not in message
    assert "\n\n" not in message and len(message.splitlines()) == 1
    assert not (tmp_path / "plots").exists()


def test_cli_help_has_an_example():
    result = CliRunner().invoke(main, ["report", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_html_shows_powers_of_ten_as_superscripts_and_still_escapes():
    from gradscope.report.html import text

    assert text("reaches 10^-7.7 of it") == "reaches 10<sup>-7.7</sup> of it"
    assert text("10^+2 <b>") == "10<sup>+2</sup> &lt;b&gt;"
