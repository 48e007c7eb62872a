"""gradscope.torch: watch() on real PyTorch models, and the same net in two engines."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (gradscope[torch])")
from torch import nn  # noqa: E402

import gradscope as gs  # noqa: E402
from gradscope.recording import histograms as H  # noqa: E402
from gradscope.torch import to_torch, train_torch, watch  # noqa: E402

COLUMNS = ["grad_norm", "grad_rms", "grad_max_abs", "bias_grad_norm", "delta_norm",
           "weight_norm", "update_ratio", "act_mean", "act_std", "saturated_frac", "dead_frac",
           "nonfinite", "bias_norm"]


def _train_both(net, every: int, steps: int = 10, lr: float = 0.1, seed: int = 0,
                hist: bool = False, on_step=None):
    """The same mini-batches through a gradscope net and its torch twin; both frames (with
    hist=True, both histogram frames too)."""
    tnet = to_torch(net)
    rec = gs.GradientRecorder(net, every=every, hist=hist)
    trec = watch(tnet, every=every, include=nn.Linear, hist=hist)
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)
    loss, opt = gs.loss("cross_entropy"), gs.make_optimizer("sgd", lr)
    topt = torch.optim.SGD(tnet.parameters(), lr=lr)
    for t in range(steps):
        idx = rng.permutation(64)[:32]
        if on_step is not None:
            on_step(t)
        rec.set_step(t)
        out = net.forward(X[idx])
        _, g = loss(out, y[idx])
        net.backward(g)
        rec.on_update(t, opt.step(net))
        topt.zero_grad(set_to_none=True)
        tout = tnet(torch.from_numpy(X[idx]))
        nn.functional.cross_entropy(tout, torch.from_numpy(y[idx])).backward()
        topt.step()
        with torch.no_grad():  # an evaluation pass between steps is not a step
            tnet.eval()
            tnet(torch.from_numpy(X))
            tnet.train()
    trec.detach()
    if hist:
        return rec.to_frame(), trec.to_frame(), rec.hist_frame(), trec.hist_frame()
    return rec.to_frame(), trec.to_frame()


@pytest.mark.parametrize(("activation", "norm", "residual"), [
    ("sigmoid", "none", False), ("relu", "none", False), ("tanh", "batchnorm", False),
    ("relu", "layernorm", True), ("leaky_relu", "none", False), ("elu", "none", True),
    ("gelu", "none", False), ("softplus", "none", False),
], ids=lambda v: str(v))
def test_the_same_net_in_two_engines_gives_the_same_frame(activation, norm, residual) -> None:
    net = gs.mlp(4, 3, 5, 16, activation, "xavier", norm=norm, residual=residual, seed=1)
    ours, theirs = _train_both(net, every=3)
    assert len(ours) == len(theirs) == 4 * 6
    for col in ("step", "layer", "name", "kind", "fan_in", "fan_out"):
        assert ours[col].tolist() == theirs[col].tolist(), col
    for col in COLUMNS:
        a, b = ours[col].to_numpy(float), theirs[col].to_numpy(float)
        # gradients that are zero up to rounding (a Dense bias before a BatchNorm) are compared
        # against the column's scale
        atol = 1e-13 * np.nanmax(np.abs(a)) if np.isfinite(a).any() else 0.0
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=atol, equal_nan=True, err_msg=col)


def _bin_index(frame) -> dict:
    """{(step, layer, quantity): counts by bin index} from a tidy hist frame."""
    lo = {"activation": H.LIN_LO, "grad": H.LOG_LO, "delta": H.LOG_LO}
    hi = {"activation": H.LIN_HI, "grad": H.LOG_HI, "delta": H.LOG_HI}
    out: dict = {}
    for row in frame.itertuples():
        k = np.flatnonzero((lo[row.quantity] == row.bin_lo) & (hi[row.quantity] == row.bin_hi))
        assert k.size == 1, row
        counts = out.setdefault((row.step, row.layer, row.quantity),
                                np.zeros(H.N_BINS, np.int64))
        counts[k[0]] += row.count
    return out


def _exact_bins(x: np.ndarray, quantity: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each value's bin from the documented edges, searched in float64 (not the recorder's
    float32 arithmetic); for a value within 1e-5 of an edge, the bin across that edge (which
    float32 rounding may pick instead), else -1."""
    v = np.asarray(x, dtype=np.float64).reshape(-1)
    if quantity == "activation":
        edges = H.LIN_HI[:-1]  # -3, -2.75, ..., 3: bins 0..25
        idx = np.searchsorted(edges, v, side="right")
        dist = np.abs(v[:, None] - edges[None, :])  # float32 steps of x·4 + 13 are ~1e-6
        exact = v == 0  # x·4 + 13 = 13 exactly: bin [0, 0.25) in any arithmetic
    else:
        v = np.abs(v)
        edges = H.LOG_HI[1:-1]  # 1e-20 ... 1e5: bins 1..127
        idx = np.where(v == 0, 0, 1 + np.searchsorted(edges, v, side="right"))
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.abs(v[:, None] / edges[None, :] - 1)  # float32 log10: ~1e-7 relative
        exact = v == 0
    near = (dist.min(axis=1) < 1e-5) & ~exact & np.isfinite(v)
    nearest = dist.argmin(axis=1)  # edge k separates bins k + o and k + o + 1
    offset = 0 if quantity == "activation" else 1
    other = np.where(idx == nearest + offset, nearest + offset + 1, nearest + offset)
    return idx, near, np.where(near, other, -1)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_the_same_net_in_two_engines_gives_the_same_histograms(activation) -> None:
    """hist_frame of watch(hist=True) has the numpy recorder's columns and bins, and counts equal
    to it; both are checked against a float64 binning of the arrays themselves (captured with
    gradscope's public hooks), where a value within 1e-5 of an edge may sit on either side."""
    net = gs.mlp(4, 3, 4, 16, activation, "xavier", seed=3)
    seen: dict = {}
    clock = {"t": 0}
    layers = list(net.layers)
    dense = [i for i, layer in enumerate(layers) if isinstance(layer, gs.Dense)]
    for k, i in enumerate(dense):
        def backward(layer, grad_input, grad_output, k=k):
            if clock["t"] % 3 == 0:
                seen[(clock["t"], k, "grad")] = layer.grads["W"].copy()
                seen[(clock["t"], k, "delta")] = np.array(grad_output[0])

        def forward(layer, inputs, output, k=k):
            if clock["t"] % 3 == 0:
                seen[(clock["t"], k, "activation")] = np.array(output)

        layers[i].register_backward_hook(backward)
        after = layers[i + 1] if i + 1 < len(layers) else layers[i]
        (after if isinstance(after, gs.Activation) else layers[i]).register_forward_hook(forward)

    ours, theirs, hist_ours, hist_theirs = _train_both(
        net, every=3, hist=True, on_step=lambda t: clock.update(t=t))
    assert list(hist_theirs.columns) == list(hist_ours.columns) == [
        "step", "layer", "quantity", "bin_lo", "bin_hi", "count"]
    a, b = _bin_index(hist_ours), _bin_index(hist_theirs)
    assert set(a) == set(b) == set(seen) and len(seen) == len(dense) * 4 * 3
    n_near = 0
    for key, x in seen.items():
        idx, near, other = _exact_bins(x, key[2])
        n_near += int(near.sum())
        lower = np.bincount(idx[~near], minlength=H.N_BINS)
        upper = lower + np.bincount(np.concatenate([idx[near], other[near]]),
                                    minlength=H.N_BINS)
        for counts in (a[key], b[key]):
            assert counts.sum() == x.size, key
            assert np.all((lower <= counts) & (counts <= upper)), (key, counts, lower)
        if not near.any():
            np.testing.assert_array_equal(b[key], a[key], err_msg=str(key))
    assert n_near < 0.01 * sum(x.size for x in seen.values())


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock: conv-bn-relu-conv-bn, + identity (or 1×1 downsample)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TinyResNet(nn.Module):
    """A torchvision-style ResNet: stem, two stages of BasicBlocks, pooling, fc."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2), BasicBlock(16, 16))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def test_a_resnet_gets_a_row_for_every_conv_norm_and_the_fc() -> None:
    torch.manual_seed(0)
    model = TinyResNet()
    rec = watch(model, every=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    for _ in range(5):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    frame = rec.to_frame()
    rec.detach()
    expected = [n for n, m in model.named_modules()
                if isinstance(m, nn.Conv2d | nn.BatchNorm2d | nn.Linear)]
    at0 = frame[frame.step == 0]
    assert sorted(at0["name"]) == sorted(expected)
    assert at0.sort_values("layer")["name"].iloc[0] == "conv1"
    assert at0.sort_values("layer")["name"].iloc[-1] == "fc"
    assert sorted(frame["step"].unique()) == [0, 2, 4]
    conv = at0.set_index("name").loc["layer2.0.conv1"]
    assert (conv.fan_in, conv.fan_out, conv.kind) == (8 * 9, 16, "conv2d")
    assert np.isfinite(at0[["grad_norm", "delta_norm", "weight_norm"]].to_numpy()).all()
    # bn1 is followed by the in-place ReLU: its dead share is measured, conv1's is unknown
    by_name = at0.set_index("name")
    assert np.isfinite(by_name.loc["bn1", "dead_frac"])
    assert np.isnan(by_name.loc["conv1", "dead_frac"])
    # the update of step 0 is the optimiser's: finite and positive for every layer
    assert (frame[frame.step == 0]["update_ratio"] > 0).all()
    # detach removed every hook
    assert all(not m._forward_hooks for m in model.modules())


class Custom(nn.Module):
    """Nested submodules, a functional relu and a custom nonlinearity."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.ModuleDict({"a": nn.Linear(4, 8), "b": nn.Linear(8, 8)})
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = nn.functional.relu(self.encoder["a"](x))
        h = torch.sin(self.encoder["b"](h))  # not an activation gradscope knows
        return self.head(h)


def test_functional_activations_are_seen_and_unknown_ones_borrow_nothing() -> None:
    torch.manual_seed(0)
    model = Custom()
    rec = watch(model)
    x = torch.randn(16, 4)
    model(x).pow(2).mean().backward()
    frame = rec.to_frame().set_index("name")
    rec.detach()
    assert list(frame["layer"]) == [0, 1, 2]
    assert list(frame.index) == ["encoder.a", "encoder.b", "head"]
    with torch.no_grad():
        a = torch.relu(model.encoder["a"](x))
    assert frame.loc["encoder.a", "act_mean"] == pytest.approx(float(a.mean()), rel=1e-6)
    assert np.isfinite(frame.loc["encoder.a", "dead_frac"])
    assert np.isnan(frame.loc["encoder.b", "dead_frac"])  # sin: unknown, not borrowed
    assert np.isnan(frame.loc["encoder.b", "saturated_frac"])


def test_one_step_per_backward_whatever_the_loop() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))
    rec = watch(model, every=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(6, 3)
    for _ in range(2):  # gradient accumulation: two backwards, one optimiser step
        for half in (x[:3], x[3:]):
            model(half).pow(2).mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    with torch.no_grad():
        model(x)
    out = model(x)
    (out.mean() + out.pow(2).mean()).backward()  # two losses, one backward
    frame = rec.to_frame()
    rec.detach()
    assert sorted(frame["step"].unique()) == [0, 1, 2, 3, 4]


def test_nonfinite_gradients_are_counted_not_raised() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight.fill_(1e30)
    rec = watch(model)
    model(torch.ones(4, 2)).sum().mul(1e30).backward()
    frame = rec.to_frame()
    rec.detach()
    assert frame["nonfinite"].sum() > 0


def test_float32_and_every() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    rec = watch(model, every=3)
    for _ in range(7):
        model(torch.randn(5, 3)).sum().backward()
    frame = rec.to_frame()
    rec.detach()
    assert sorted(frame["step"].unique()) == [0, 3, 6]
    assert frame["saturated_frac"].notna().iloc[0]


def test_standard_loop_trains_and_diagnoses() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(12) for m in (nn.LazyLinear(32), nn.Sigmoid())],
                          nn.LazyLinear(2)).double()
    model(torch.zeros(1, 2, dtype=torch.float64))
    rec = watch(model, every=5)
    history = train_torch(model, "spirals", steps=20, lr=0.1, batch_size=32)
    frame = rec.to_frame()
    rec.detach()
    found = gs.diagnose(frame, history.to_frame())
    assert history.status == "ok" and len(history.loss) == 20
    assert found.label == "vanishing"


MODELS = '''
from torch import nn
def deep_sigmoid():
    layers, d = [], 2
    for _ in range(10):
        layers += [nn.Linear(d, 32), nn.Sigmoid()]
        d = 32
    return nn.Sequential(*layers, nn.Linear(32, 2))
def wrong_input():
    return nn.Sequential(nn.Linear(5, 3))
def no_params():
    return nn.Sequential(nn.ReLU())
def not_a_module():
    return 42
def raises():
    raise RuntimeError("boom")
'''


@pytest.fixture()
def models(tmp_path, monkeypatch):
    (tmp_path / "user_models.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_cli_diagnose_torch_prints_the_table_and_writes_a_report(models) -> None:
    from click.testing import CliRunner

    from gradscope.cli import main

    result = CliRunner().invoke(main, ["diagnose", "--torch", "user_models:deep_sigmoid",
                                       "--steps", "30", "--out", "out"])
    assert result.exit_code == 0, result.output
    assert "diagnosis: vanishing" in result.output
    assert "    0  0 " in result.output and "   10  20 " in result.output  # the layer table
    runs = __import__("pandas").read_csv(models / "out" / "runs.csv")
    assert runs.loc[0, "diagnosis"] == "vanishing"
    assert runs.loc[0, "model"] == "user_models:deep_sigmoid"
    assert (models / "out" / "report.html").is_file()
    again = CliRunner().invoke(main, ["diagnose", "--torch", "user_models:deep_sigmoid",
                                      "--steps", "30", "--out", "out"])
    assert again.exit_code == 2 and "already holds results" in again.stderr


@pytest.mark.parametrize(("spec", "words"), [
    ("user_models:wrong_input", "2 input features"),
    ("user_models:no_params", "no module with a trainable"),
    ("user_models:not_a_module", "not a torch.nn.Module"),
    ("user_models:raises", "RuntimeError: boom"),
    ("user_models:missing", "has no function 'missing'"),
    ("no_such_module:f", "cannot be imported"),
    ("no-colon", "MODULE:FACTORY"),
])
def test_cli_diagnose_torch_bad_factories_exit_2(models, spec: str, words: str) -> None:
    from click.testing import CliRunner

    from gradscope.cli import main

    result = CliRunner().invoke(main, ["diagnose", "--torch", spec, "--steps", "5"])
    assert result.exit_code == 2, result.output
    assert words in result.stderr and "Traceback" not in result.output


def test_the_torch_benchmark_runs_its_three_arms(capsys) -> None:
    """`python -m gradscope.bench --torch`'s code path at tiny sizes (no timing asserted)."""
    from gradscope.torch import bench

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops on a loaded machine: no OpenMP spinning
    try:
        rows = bench.run(widths=(8,), dtypes=(torch.float64,), depth=2, rounds=2)
        bench.main(repeat=1, quick=True, depth=2)
    finally:
        torch.set_num_threads(threads)
    assert [(r["dtype"], r["width"]) for r in rows] == [("float64", 8)]
    for r in rows:  # 3 Linear layers, 1 warm-up + 2 × 10 steps: every=1 records 21, every=10 3
        assert (r["rounds"], r["every1_rows"], r["every10_rows"]) == (2, 3 * 21, 3 * 3)
        assert r["every1_pct_min"] <= r["every1_pct"] <= r["every1_pct_max"]
        assert r["every10_pct_min"] <= r["every10_pct"] <= r["every10_pct_max"]
        assert r["plain_step_s"] > 0
    out = capsys.readouterr().out
    assert "every=10" in out and "float32" in out and "float64" in out


@pytest.mark.parametrize("scale", [1e-200, 1e200], ids=["vanishing", "exploding"])
def test_norms_that_over_or_underflow_a_sum_of_squares_are_measured_exactly(scale) -> None:
    """‖g‖² of 1e-200 underflows and of 1e200 overflows float64: the fast norms are not trusted
    and those layers are measured again by rescaling (compared with numpy here)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(),
                          nn.Linear(4, 2, dtype=torch.float64))
    grads: dict = {}
    for i in (0, 2):
        model[i].weight.register_hook(lambda g, i=i: grads.__setitem__(i, g.detach().numpy()))
    rec = watch(model)
    model(torch.randn(5, 3, dtype=torch.float64)).sum().mul(scale).backward()
    frame = rec.to_frame()
    rec.detach()
    for layer, i in ((0, 0), (1, 2)):
        g = grads[i]
        peak = np.abs(g).max()
        assert frame.loc[layer, "grad_norm"] == pytest.approx(
            peak * np.linalg.norm(g / peak), rel=1e-12, abs=0)
        assert frame.loc[layer, "grad_max_abs"] == peak and frame.loc[layer, "nonfinite"] == 0
