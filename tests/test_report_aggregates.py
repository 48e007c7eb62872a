"""The report drawn from per-configuration aggregates streamed chunk by chunk is the report drawn
from the whole tables in memory: same captions, same sections, same drawn data, bit for bit."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import Collection, QuadMesh
from matplotlib.figure import Figure
from synthetic_sweep import write_sweep

from gradscope.analysis.groupstats import GroupStats
from gradscope.plots import PLOTS
from gradscope.plots.base import PlotSkipped
from gradscope.report import data as report_data
from gradscope.report.data import load_report_frames
from gradscope.report.sections import configuration_section
from gradscope.sweeps import results
from gradscope.sweeps.columnar import write_parquet
from gradscope.sweeps.results import load_results


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Two seeds and more, a diverged run (NaN rows) and histograms."""
    return write_sweep(tmp_path_factory.mktemp("sweep"), seeds=(0, 1, 2))


def drawn(fig: Figure) -> list:
    """Everything a figure draws from data: line, band and mesh coordinates, and texts."""
    out: list = []
    for ax in fig.axes:
        out.append(ax.get_title())
        out += [line.get_xydata().tolist() for line in ax.get_lines()]
        for coll in ax.collections:
            if isinstance(coll, QuadMesh):
                out.append(np.ma.filled(coll.get_array(), np.nan).tolist())
            elif isinstance(coll, Collection):
                out += [p.vertices.tolist() for p in coll.get_paths()]
    out += [t.get_text() for t in fig.texts]
    return out


def report_view(frames) -> dict[str, object]:
    """Per plot: its drawn data and caption (or why it is skipped); the configuration table."""
    drawable = frames.runs[frames.runs["status"].astype(str) != "error"]
    frames = replace(frames, runs=drawable)
    view: dict[str, object] = {"configurations": configuration_section(frames)}
    for name in PLOTS.names():
        spec = PLOTS.get(name)
        if not spec.applies(frames) or spec.missing(frames):
            continue
        try:
            view[name] = (drawn(spec.draw(frames)), spec.caption(frames))
        except PlotSkipped as exc:
            view[name] = str(exc)
    return view


def same(a: object, b: object) -> bool:
    """Equal to the last bit, NaN equal to NaN (repr of a float round-trips exactly)."""
    return repr(a) == repr(b)


def test_aggregates_draw_what_the_whole_tables_draw(sweep) -> None:
    whole, _ = load_results(sweep)
    aggregated, _ = load_report_frames(sweep)
    assert aggregated.layer_summary is not None and aggregated.layers.empty
    a, b = report_view(whole), report_view(aggregated)
    assert a.keys() == b.keys() and len(a) > 6
    for key in a:
        assert same(a[key], b[key]), key


def test_the_tables_are_read_in_small_chunks_with_the_same_result(sweep, monkeypatch) -> None:
    """With chunks of 7 rows no frame the reader yields, and no block of whole runs the
    aggregates are fed, holds a whole table; the report's content does not change."""
    big, _ = load_report_frames(sweep)
    chunks: dict[str, list[int]] = {}
    blocks: dict[str, list[int]] = {}
    now = {"file": ""}
    read_chunks, run_blocks = results.read_chunks, results.run_blocks

    def counted_chunks(path, *args, **kwargs):
        for chunk in read_chunks(path, *args, **kwargs):
            now["file"] = path.name
            chunks.setdefault(path.name, []).append(len(chunk))
            yield chunk

    def counted_blocks(frames):
        for block in run_blocks(frames):
            blocks.setdefault(now["file"], []).append(len(block))
            yield block

    monkeypatch.setattr(report_data, "read_chunks", counted_chunks)
    monkeypatch.setattr(report_data, "run_blocks", counted_blocks)
    small, _ = load_report_frames(sweep, rows=7)
    assert set(blocks) == {"layers.csv", "steps.csv", "hist.csv"}
    for name, sizes in blocks.items():
        table = pd.read_csv(sweep / name)
        one_run = table["run_id"].value_counts().max()
        assert max(chunks[name]) == 7 < len(table)
        assert sum(sizes) == len(table)  # every row reduced once ...
        assert max(sizes) < 7 + one_run < len(table), name  # ... never the whole table at once
    a, b = report_view(big), report_view(small)
    for key in a:
        assert same(a[key], b[key]), key


def test_group_stats_agree_with_pandas_groupby(rng) -> None:
    """mean / min / max per (configuration, x) fed in chunks equal pandas' groupby over each
    configuration's rows, with NaN, ±inf, sorted and unsorted x."""
    for trial in range(60):
        n = int(rng.integers(1, 80))
        x = rng.integers(0, 4, n)
        frame = pd.DataFrame({"cfg": rng.integers(0, 3, n),
                              "x": np.sort(x) if trial % 2 else x,
                              "v": rng.standard_normal(n) * 10.0 ** rng.integers(-5, 15, n)})
        if trial % 3 == 0:
            frame.loc[frame.sample(frac=0.2, random_state=trial).index, "v"] = np.nan
            frame.loc[frame.sample(frac=0.05, random_state=trial + 1).index, "v"] = np.inf
        stats = GroupStats(["v"])
        step = int(rng.integers(1, 20))
        for start in range(0, n, step):
            part = frame.iloc[start:start + step]
            stats.add(part[["cfg", "x"]], part[["v"]].to_numpy())
        got = stats.frame(["cfg", "x"]).set_index(["cfg", "x"])
        for cfg, sub in frame.groupby("cfg"):
            want = sub.groupby("x")["v"].agg(["mean", "min", "max"])
            for col in ("mean", "min", "max"):
                mine = got.loc[[(cfg, x) for x in want.index], f"v:{col}"].to_numpy()
                np.testing.assert_array_equal(mine, want[col].to_numpy(), err_msg=col)


def test_parquet_tables_give_the_same_report(sweep, tmp_path) -> None:
    """`--format parquet` tables are streamed in row batches to the same aggregates."""
    pytest.importorskip("pyarrow")
    out = tmp_path / "pq"
    shutil.copytree(sweep, out)
    for name in ("layers", "steps", "hist"):
        table = pd.read_csv(out / f"{name}.csv", dtype={"run_id": str})
        write_parquet([table], list(table.columns), out / f"{name}.parquet")
        (out / f"{name}.csv").unlink()
    a, _ = load_report_frames(sweep)
    b, _ = load_report_frames(out, rows=7)
    assert b.layer_summary is not None and b.hist_summary is not None
    va, vb = report_view(a), report_view(b)
    for key in va:
        assert same(va[key], vb[key]), key
