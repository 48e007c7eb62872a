"""What a user holding a recorder gets without leaving it: rec.save(DIR) (a run folder the CLI
reads like a sweep's), rec.plot() (the δ profile), the notebook table (_repr_html_), and live
TensorBoard (rec.tensorboard / tensorboard=...) for a gradscope net, log() and torch watch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

import gradscope as gs
from gradscope.cli import main
from gradscope.core.errors import ConfigError
from gradscope.export.tensorboard import layer_tag


def _trained(hist: bool = False, tensorboard=None, steps: int = 6, every: int = 2):
    net = gs.mlp(2, 2, depth=5, width=16, activation="sigmoid", init="normal:0.1", seed=0)
    rec = gs.GradientRecorder(net, every=every, hist=hist, tensorboard=tensorboard)
    history = gs.train(net, "spirals", loss="cross_entropy", lr=0.1, steps=steps,
                       batch_size=32, recorder=rec, seed=0)
    return rec, history


# -- rec.save --
def test_save_writes_a_run_folder_that_report_and_diagnose_read(tmp_path):
    rec, history = _trained()
    rec.detach()
    out = tmp_path / "mine"
    config = {"activation": "sigmoid", "init": "normal:0.1", "depth": 5, "width": 16}
    found = rec.save(out, history=history, config=config)
    runs = pd.read_csv(out / "runs.csv")
    assert runs.loc[0, "diagnosis"] == found.label == "vanishing"
    layers = pd.read_csv(out / "layers.csv")
    pd.testing.assert_series_equal(layers["delta_norm"], rec.to_frame()["delta_norm"])
    steps = pd.read_csv(out / "steps.csv")
    np.testing.assert_allclose(steps["loss"], history.loss)
    assert runs.loc[0, "final_loss"] == pytest.approx(history.final_loss)
    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert (out / "report.html").exists()
    diag = CliRunner().invoke(main, ["diagnose", "--from", str(out)])
    assert diag.exit_code == 0, diag.output
    assert "vanishing" in diag.output
    with pytest.raises(ConfigError, match="force=True"):
        rec.save(out, losses=history.loss)
    assert rec.save(out, losses=history.loss, force=True).label == "vanishing"


def test_save_takes_a_run_config_and_refuses_other_configs(tmp_path):
    rec, _ = _trained()
    cfg = gs.RunConfig(depth=5, width=16, activation="sigmoid", init="normal:0.1")
    rec.save(tmp_path / "a", config=cfg)
    assert pd.read_csv(tmp_path / "a" / "runs.csv").loc[0, "activation"] == "sigmoid"
    with pytest.raises(ConfigError, match="mapping of run parameters"):
        rec.save(tmp_path / "b", config=[1, 2])


# -- rec.plot and the notebook table --
def test_plot_is_the_delta_profile_and_the_notebook_shows_the_table():
    rec, _ = _trained()
    fig = rec.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    first = ax.get_lines()[0]  # delta_norm at the first recorded step, one point per layer
    frame = rec.to_frame()
    at0 = frame[frame["step"] == 0].sort_values("layer")
    np.testing.assert_allclose(first.get_ydata(), np.log10(at0["delta_norm"]))
    html = rec._repr_html_()
    assert html.count("<tr>") == len(at0) + 1 and "GradientRecorder(" in html
    assert "log bar" in html
    assert "Nothing recorded" in gs.GradientRecorder()._repr_html_()


# -- listeners --
class Keep:
    def __init__(self):
        self.steps, self.rows, self.closed = [], {}, False

    def on_step(self, step, rows, hist):
        self.steps.append(step)
        self.rows[step] = rows

    def close(self):
        self.closed = True


def test_a_listener_gets_each_complete_step_once_with_its_update():
    net = gs.mlp(2, 2, depth=3, width=8, activation="tanh", init="xavier", seed=0)
    rec = gs.GradientRecorder(net, every=2)
    keep = Keep()
    rec.add_listener(keep)
    gs.train(net, "spirals", lr=0.1, steps=5, batch_size=16, recorder=rec, seed=0)
    assert keep.steps == [0, 2]  # step 4 is complete only when nothing follows it
    assert keep.rows[0]["update_ratio"].notna().all()  # the optimiser's step was in
    rec.detach()
    assert keep.steps == [0, 2, 4] and keep.closed
    frame = rec.to_frame()
    for step, rows in keep.rows.items():
        pd.testing.assert_frame_equal(rows.reset_index(drop=True),
                                      frame[frame["step"] == step].reset_index(drop=True))
    with pytest.raises(ConfigError, match="on_step"):
        rec.add_listener(object())


# -- live TensorBoard --
@pytest.fixture(autouse=True)
def _tensorboard_installed(request):
    if "tensorboard" in request.node.name:
        pytest.importorskip("tensorboardX", reason="the tensorboard extra is not installed")
        pytest.importorskip("tensorboard", reason="tensorboard (the event reader) is missing")


def read_events(folder):
    from tensorboard.backend.event_processing import event_accumulator as tb

    acc = tb.EventAccumulator(str(folder), size_guidance={tb.SCALARS: 0, tb.HISTOGRAMS: 0})
    acc.Reload()
    return acc


def assert_events_hold_the_frame(logdir, frame, stats=("grad_norm", "delta_norm",
                                                       "update_ratio", "saturated_frac")):
    acc = read_events(logdir)
    checked = 0
    for stat in stats:
        for (layer, name), rows in frame.groupby(["layer", "name"]):
            values = rows.set_index("step")[stat].dropna()
            if values.empty:
                continue
            events = {e.step: e.value for e in acc.Scalars(f"{stat}/{layer_tag(layer, name)}")}
            assert sorted(events) == sorted(values.index)
            np.testing.assert_allclose([events[s] for s in values.index], values.to_numpy(),
                                       rtol=1e-6)  # event files hold float32
            checked += len(values)
    assert checked > 0
    return acc


def test_live_tensorboard_of_a_gradscope_net_with_histograms(tmp_path):
    rec, _ = _trained(hist=True, tensorboard=tmp_path / "tb")
    frame, hist = rec.to_frame(), rec.hist_frame()  # to_frame hands over the last step
    # while training, every step but the last was already on disk
    acc = assert_events_hold_the_frame(tmp_path / "tb", frame)
    rec.detach()
    one = hist[(hist["quantity"] == "delta") & (hist["step"] == 2) & (hist["layer"] == 1)]
    name = frame.loc[frame["layer"] == 1, "name"].iloc[0]
    tag = f"hist/delta/{layer_tag(1, name)}"
    event = next(e for e in acc.Histograms(tag) if e.step == 2)
    assert list(event.histogram_value.bucket) == one.sort_values("bin_lo")["count"].astype(
        float).tolist()


def test_live_tensorboard_writes_while_training(tmp_path):
    net = gs.mlp(2, 2, depth=3, width=8, activation="relu", init="he", seed=0)
    rec = gs.GradientRecorder(net, every=1)
    listener = rec.tensorboard(tmp_path / "tb")
    gs.train(net, "spirals", lr=0.1, steps=4, batch_size=16, recorder=rec, seed=0)
    seen = {e.step for e in read_events(tmp_path / "tb").Scalars(
        f"delta_norm/{layer_tag(0, '0')}")}
    assert seen == {0, 1, 2} and listener.scalars > 0  # before to_frame or detach
    rec.detach()
    assert {e.step for e in read_events(tmp_path / "tb").Scalars(
        f"delta_norm/{layer_tag(0, '0')}")} == {0, 1, 2, 3}


def test_live_tensorboard_of_a_log_recording(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3))
    W1, W2 = rng.normal(size=(3, 8)), rng.normal(size=(8, 1)) * 0.3
    rec = gs.GradientRecorder(layers=["hidden", "out"], tensorboard=tmp_path / "tb")
    for step in range(4):
        z = X @ W1
        h = np.tanh(z)
        y = h @ W2
        dy = 2 * y / y.size
        dz = (dy @ W2.T) * (1 - h**2)
        gW2, gW1 = h.T @ dy, X.T @ dz
        rec.log(step, "out", grad=gW2, weight=W2, delta=dy, update=-0.1 * gW2)
        rec.log(step, "hidden", grad=gW1, weight=W1, delta=dz, preactivation=z,
                activation=h, activation_fn="tanh", update=-0.1 * gW1)
        W1, W2 = W1 - 0.1 * gW1, W2 - 0.1 * gW2
    live = read_events(tmp_path / "tb").Scalars(f"grad_norm/{layer_tag(0, 'hidden')}")
    assert [e.step for e in live] == [0, 1, 2]  # written as the loop ran
    rec.detach()
    assert_events_hold_the_frame(tmp_path / "tb", rec.to_frame())


def test_live_tensorboard_of_a_torch_model(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    from gradscope.torch import watch

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                          nn.Linear(16, 1)).double()
    rec = watch(model, every=2, tensorboard=tmp_path / "tb")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    for _ in range(6):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    live = read_events(tmp_path / "tb").Scalars(f"delta_norm/{layer_tag(0, '0')}")
    assert [e.step for e in live] == [0, 2]  # written as the loop ran
    frame = rec.to_frame()
    rec.detach()
    assert_events_hold_the_frame(tmp_path / "tb", frame)
