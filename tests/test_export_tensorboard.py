"""`gradscope export DIR --tensorboard LOGDIR`: the events read back with TensorBoard's own
event reader hold the per-layer values of layers.csv and the histograms of hist.csv."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from synthetic_sweep import write_sweep

from gradscope.cli import main
from gradscope.core.errors import ConfigError, DataError
from gradscope.export import export_tensorboard, write_frame
from gradscope.export.tensorboard import layer_tag

pytest.importorskip("tensorboardX", reason="the tensorboard extra is not installed")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="tensorboard (the event reader) is not installed")


def read_events(folder):
    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.SCALARS: 0,
                                    event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    return acc


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return write_sweep(tmp_path_factory.mktemp("sweep"), depths=(2, 3), seeds=(0,), steps=8,
                       record_every=4)


@pytest.fixture(scope="module")
def exported(sweep, tmp_path_factory):
    logdir = tmp_path_factory.mktemp("tb")
    return export_tensorboard(sweep, logdir), logdir


def test_every_run_is_a_tensorboard_run_with_per_layer_scalars(sweep, exported):
    done, logdir = exported
    runs = pd.read_csv(sweep / "runs.csv", dtype={"run_id": str})
    layers = pd.read_csv(sweep / "layers.csv", dtype={"run_id": str})
    assert len(done.runs) == len(runs) and done.histograms > 0
    folder = next(f for f in done.runs if f.startswith(runs["run_id"].iloc[0]))
    acc = read_events(logdir / folder)
    own = layers[layers["run_id"] == runs["run_id"].iloc[0]]
    for stat in ("grad_norm", "delta_norm", "update_ratio", "saturated_frac"):
        for _, row in own[own["step"] == own["step"].max()].iterrows():
            tag = f"{stat}/{layer_tag(row['layer'], row['name'])}"
            events = {e.step: e.value for e in acc.Scalars(tag)}
            assert sorted(events) == sorted(own.loc[own["layer"] == row["layer"], "step"])
            # event files hold float32
            np.testing.assert_allclose(events[int(row["step"])], row[stat], rtol=1e-6)
    assert "train/loss" in acc.Tags()["scalars"]


def test_histograms_hold_the_binned_counts_of_hist_csv(sweep, exported):
    done, logdir = exported
    hist = pd.read_csv(sweep / "hist.csv", dtype={"run_id": str})
    rid = hist["run_id"].iloc[0]
    folder = next(f for f in done.runs if f.startswith(rid))
    acc = read_events(logdir / folder)
    first = hist[(hist["run_id"] == rid) & (hist["quantity"] == "grad")]
    step, layer = int(first["step"].min()), int(first["layer"].min())
    bins = first[(first["step"] == step) & (first["layer"] == layer)].sort_values("bin_lo")
    tags = [t for t in acc.Tags()["histograms"] if t.startswith(f"hist/grad/{layer:02d}")]
    assert len(tags) == 1
    event = next(e for e in acc.Histograms(tags[0]) if e.step == step)
    assert event.histogram_value.num == bins["count"].sum()
    assert list(event.histogram_value.bucket) == bins["count"].astype(float).tolist()
    np.testing.assert_allclose(event.histogram_value.min, bins["bin_lo"].iloc[0])


def test_write_frame_takes_a_logdir_and_one_step(sweep, tmp_path):
    layers = pd.read_csv(sweep / "layers.csv", dtype={"run_id": str})
    frame = layers[layers["run_id"] == layers["run_id"].iloc[0]]
    n = write_frame(tmp_path / "live", frame, step=4)
    at = frame[frame["step"] == 4]
    acc = read_events(tmp_path / "live")
    tag = f"delta_norm/{layer_tag(at['layer'].iloc[0], at['name'].iloc[0])}"
    assert [e.step for e in acc.Scalars(tag)] == [4]
    np.testing.assert_allclose(acc.Scalars(tag)[0].value, at["delta_norm"].iloc[0], rtol=1e-6)
    assert n == int(at[["grad_norm", "delta_norm"]].notna().sum().sum()) + sum(
        int(at[c].notna().sum()) for c in ("update_ratio", "saturated_frac", "dead_frac",
                                           "weight_norm", "bias_grad_norm", "nonfinite"))


def test_cli_exports_and_says_how_to_view(sweep, tmp_path):
    result = CliRunner().invoke(main, ["export", str(sweep), "--tensorboard",
                                       str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    assert "tensorboard --logdir" in result.output
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert "Example:" in CliRunner().invoke(main, ["export", "--help"]).output


def test_a_directory_without_csvs_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="neither runs.csv nor layers.csv"):
        export_tensorboard(tmp_path, tmp_path / "tb")
    result = CliRunner().invoke(main, ["export", str(tmp_path), "--tensorboard", "tb"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_without_the_extra_the_message_names_it(sweep, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import now raises ImportError
    with pytest.raises(ConfigError, match=r"gradscope\[tensorboard\]"):
        export_tensorboard(sweep, tmp_path / "tb")
    assert not (tmp_path / "tb").exists()
