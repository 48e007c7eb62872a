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
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)" '
                          r'width="\d+" height="\d+">', html)
    frames_apply = [n for n in PLOTS.names() if n != "phase"]  # not a sweep over σ_w² × depth
    assert len(embedded) == len(frames_apply)
    assert not (out / "plots" / "phase.png").exists()
    by_title = {alt: data for data, alt in embedded}
    for name in frames_apply:
        png = out / "plots" / f"{name}.png"
        assert png.stat().st_size > 5000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](plots/{name}.png)" in md
        assert base64.b64decode(by_title[PLOTS.get(name).title]) == png.read_bytes()
    # the one-picture summary and the δ profile come first
    assert [alt for _, alt in embedded[:2]] == [PLOTS.get("matrix").title,
                                                PLOTS.get("profile_delta").title]
    assert "skipped" not in md


def test_html_is_self_contained(report):
    _, _, html = report
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # images inline, links in-page
    assert "<style>" in html and "<link" not in html


def test_report_states_numbers_sections_and_the_diverged_run(report):
    out, md, _ = report
    runs = pd.read_csv(out / "runs.csv", dtype={"run_id": str})
    assert "sigmoid + normal:0.01 at depth 8: the gradient reaching layer 0 is 10^-12.8" in md
    sections = ["## At a glance", "## Per configuration", "## Plots", "## What was run",
                "## Per-run findings", "### Diverged runs"]
    where = [md.index(s) for s in sections]
    assert where == sorted(where), "sections out of order"
    headline = md.index("**")
    assert headline < where[0] and "1. [At a glance](#at-a-glance)" in md[:where[0]]
    diverged = runs.loc[runs["status"] == "diverged", "run_id"].item()
    tail = md[md.index("### Diverged runs"):]
    assert diverged in tail and "| 12 |" in tail
    assert "Sweep synthetic: 16 runs (8 configurations × 2 seeds)" in md
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
    assert "skipped" not in md and "Per-layer histograms were not recorded" in md
    assert "hist = true" in md.replace("\\", "")
    assert html.count("data:image/png;base64,") == len(PLOTS) - 2  # no histograms, no phase


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

    pow_ = '<span class="pow">10<sup>{}</sup></span>'  # never broken across lines
    assert text("reaches 10^-7.7 of it") == f"reaches {pow_.format('-7.7')} of it"
    assert text("10^+2 <b>") == f"{pow_.format('+2')} &lt;b&gt;"
    assert text("the 10^±2 band") == f"the {pow_.format('±2')} band"


def _set_manifest(out, **fields):
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.update(fields)
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_headline_description_path_as_given_and_polish(tmp_path, monkeypatch):
    out = small_sweep(tmp_path / "out")
    _set_manifest(out, config={"name": "small", "description": "Two depths, one seed."},
                  machine={"platform": "Linux", "processor": "", "cpus": 2})
    monkeypatch.chdir(tmp_path)
    html = build_report("out").read_text()
    md = (out / "report.md").read_text()
    lines = md.splitlines()
    assert lines[0] == "# gradscope report: small"
    assert lines[2] == "Two depths, one seed."
    assert lines[4].startswith("**") and " runs vanish" in lines[4]
    assert "from the CSV files in out/ (no re-training)" in md
    assert "Machine: platform Linux, cpus 2." in md and "processor" not in md
    assert "(s)" not in md and "1 seed each" in md
    assert '<p class="lead">' in html and "<details><summary>Show all 8 runs" in html
    for anchor in re.findall(r'<a href="#([^"]+)"', html):
        assert f'id="{anchor}"' in html


def test_a_failed_sweep_leads_with_its_errors(tmp_path):
    out = small_sweep(tmp_path)
    runs = pd.read_csv(out / "runs.csv")
    runs["status"], runs["diagnosis"] = "error", ""
    runs["findings"] = "ValueError: width must be ≥ 1, got 0"
    for col in ("grad_ratio_log10", "delta_ratio_log10", "final_loss", "final_accuracy"):
        runs[col] = float("nan")
    runs.to_csv(out / "runs.csv", index=False)
    build_report(out)
    md = (out / "report.md").read_text()
    assert md.index("## Errors") < md.index("## Per configuration")
    assert md.index("ValueError: width must be ≥ 1, got 0") < md.index("## Per configuration")
    assert "8 of 8 runs failed with an error" in md
    assert "No run finished, so there is nothing to plot." in md
    assert "drawing failed" not in md and "nan" not in md.lower().replace("nanny", "")
    assert not list((out / "plots").glob("*.png"))


def test_one_failed_run_is_listed_first_and_the_others_still_plotted(tmp_path):
    out = small_sweep(tmp_path)
    runs = pd.read_csv(out / "runs.csv")
    runs.loc[0, ["status", "diagnosis", "findings"]] = ["error", "", "RuntimeError: boom"]
    runs.to_csv(out / "runs.csv", index=False)
    html = build_report(out).read_text()
    md = (out / "report.md").read_text()
    assert md.index("## Errors") < md.index("## At a glance")
    assert "1 run of 8 stopped with an error; the rest of this report describes the other 7." \
        in md
    assert "drawing failed" not in md
    assert html.count("data:image/png;base64,") == len(PLOTS) - 1  # all but the phase diagram


def test_captions_tell_dead_zeros_from_divergence_and_flat_from_healthy(tmp_path):
    out = small_sweep(tmp_path)
    layers = pd.read_csv(out / "layers.csv", dtype={"run_id": str})
    runs = pd.read_csv(out / "runs.csv", dtype={"run_id": str})
    dead = runs.loc[(runs["activation"] == "relu") & (runs["init"] == "normal:0.01")
                    & (runs["depth"] == 3), "run_id"].iloc[0]
    mask = (layers["run_id"] == dead) & (layers["step"] > 0)
    layers.loc[mask, ["grad_norm", "delta_norm"]] = 0.0
    flat = (layers["run_id"] == dead) & (layers["step"] == 0)
    layers.loc[flat, "grad_norm"] = 1e-19  # flat, but uniformly tiny
    layers.to_csv(out / "layers.csv", index=False)
    runs.loc[runs["run_id"] == dead, "grad_ratio_log10"] = 0.0
    runs.to_csv(out / "runs.csv", index=False)
    build_report(out)
    md = (out / "report.md").read_text().replace("\\_", "_")
    zeros = int(mask.sum())
    assert f"{zeros} grey cells are exact zeros, not a divergence" in md
    assert "non-finite gradient (a diverged run)" not in md
    assert "Flat but not healthy: relu + normal:0.01 at depth 3 (at most 10^-19.0)" in md
    assert "a flat line means no decay)" not in md
