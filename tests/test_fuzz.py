"""Property-based fuzzing: random configs, argument lists and CSV files never produce a
traceback, a wrong exit code or a partial output folder; random layer compositions never skip
a hook. Deterministic (derandomize) and small (each test well under ~20 s)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradscope.cli import main
from gradscope.nn.layers import Activation, Dense, Layer, Residual, Sequential
from gradscope.sweeps import run_sweep
from gradscope.sweeps.config import RunConfig

FUZZ = settings(derandomize=True, deadline=None, max_examples=25,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

VALUES = st.one_of(
    st.sampled_from([0, 1, 2, 3, -1, 10**30, 0.5, -0.0, 1e308, float("inf"), True, "", "x",
                     "relu", "RELU", "he", "normal:0.01", "normal:-1", "spirals", "spirals:1",
                     "csv:", "csv:missing.csv", "bce", "float16", "../..", "a/b", "1e9"]),
    st.lists(st.sampled_from([0, 1, 2, 4, "relu", "tanh", -3]), max_size=3),
    st.dictionaries(st.sampled_from(["depth", "x"]), st.just(1), max_size=1),
)
KEYS = st.sampled_from(["depth", "width", "activation", "init", "steps", "lr", "seed",
                        "dataset", "loss", "n_samples", "dtype", "target", "residual", "norm",
                        "record_every", "batch_size", "clip", "hist", "depht", "name", ""])


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return "inf" if value == float("inf") else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


@st.composite
def toml_configs(draw: st.DrawFn) -> str:
    """A TOML text: usually well-formed tables of random keys and values, sometimes garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    lines = []
    if draw(st.booleans()):
        lines.append(f"name = {_toml_value(draw(st.sampled_from(['ok', '', '../x', 'a b'])))}")
    for table in draw(st.lists(st.sampled_from(["grid", "fixed", "other"]), max_size=2,
                               unique=True)):
        lines.append(f"[{table}]")
        for key, value in draw(st.dictionaries(KEYS.filter(bool), VALUES, max_size=4)).items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (args, repr(exc), result.output)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@FUZZ
@given(text=toml_configs())
def test_random_configs_validate_cleanly_and_a_refused_sweep_writes_nothing(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "c.toml"
        config.write_text(text, encoding="utf-8")
        code, out = _invoke(["validate", str(config)])
        assert code in (0, 2), out
        if code == 2:
            assert out.startswith("Error: ") and out.count("\n") <= 2  # one paragraph
            code, _ = _invoke(["sweep", str(config), "--out", str(Path(tmp) / "o"),
                               "--workers", "0", "--no-report", "-q"])
            assert code == 2
            assert not (Path(tmp) / "o").exists()


FLAG_VALUES = st.sampled_from(["-1", "0", "", "x", "1", "3", "1e9", "99999999999999999999",
                               "2.5", "relu", "RELU", "sigmoid", "he", "spirals:1", "blobs",
                               "bce", "mse", "float16", "csv:nope.csv"])
COMMANDS = {
    "run": (["--steps", "2", "--n-samples", "32", "--width", "4", "--depth", "2"],
            ["--depth", "--width", "--activation", "--init", "--dataset", "--loss", "--lr",
             "--seed", "--step", "--dtype", "--record-every", "--batch-size", "--target",
             "--norm", "--clip"]),
    "theory": (["--activation", "tanh", "--init", "he"],
               ["--activation", "--init", "--depth", "--width", "--sigma-w2", "--sigma-b2",
                "--norm", "--in-dim"]),
    "explain": ([], ["--depth", "--width", "--seed", "--activation", "--init"]),
    "validate": (["quick"], ["--list", "--bogus"]),
}


@st.composite
def argument_lists(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    base, flags = COMMANDS[command]
    args = [command, *base]
    for flag in draw(st.lists(st.sampled_from(flags), max_size=3)):
        args.append(flag)
        if flag not in ("--list", "--bogus"):
            args.append(draw(FLAG_VALUES))
    return args


@settings(FUZZ, max_examples=40)
@given(args=argument_lists())
def test_random_argument_lists_exit_0_1_or_2_without_a_traceback(args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        old = os.getcwd()
        os.chdir(tmp)
        try:
            code, out = _invoke(args + (["--out", "o"] if args[0] == "run" else []))
        finally:
            os.chdir(old)
        assert code in (0, 1, 2), (args, out)
        if code == 2:
            assert "Error" in out
            assert not (Path(tmp) / "o").exists()  # bad input: nothing written


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fuzz-sweep")
    run_sweep([RunConfig(depth=d, width=4, steps=2, n_samples=32, batch_size=16)
               for d in (2, 3)], out, workers=0, quiet=True)
    (out / "report.md").write_text("the previous report\n")
    return out


@st.composite
def damaged_csvs(draw: st.DrawFn) -> tuple[str, str, int, str]:
    """One of the sweep's CSVs, a kind of damage, where, and what text."""
    name = draw(st.sampled_from(["runs.csv", "layers.csv", "steps.csv"]))
    kind = draw(st.sampled_from(["truncate", "drop-line", "cell", "garbage", "delimiter",
                                 "extra-cell", "header"]))
    return name, kind, draw(st.integers(0, 10**6)), draw(st.text(max_size=8))


def _damage(data: bytes, kind: str, at: int, text: str) -> bytes:
    lines = data.decode("utf-8").split("\n")
    row = 1 + at % max(len(lines) - 2, 1)
    if kind == "truncate":
        return data[: at % len(data)]
    if kind == "drop-line":
        del lines[at % len(lines)]
    elif kind == "cell":
        cells = lines[row].split(",")
        cells[at % len(cells)] = text.replace("\n", " ").replace(",", ";").replace('"', "'")
        lines[row] = ",".join(cells)
    elif kind == "garbage":
        return data[: at % len(data)] + text.encode("utf-8", "replace") + b"\xff" + data[-5:]
    elif kind == "delimiter":
        return data.replace(b",", b";")
    elif kind == "extra-cell":
        lines[row] += ",1"
    elif kind == "header":
        lines[0] = text
    return "\n".join(lines).encode("utf-8")


@settings(derandomize=True, deadline=None, max_examples=15,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=damaged_csvs())
def test_random_damaged_csvs_never_crash_the_report_nor_cost_a_file(sweep_folder: Path,
                                                                    case) -> None:
    name, kind, at, text = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        shutil.copytree(sweep_folder, folder)
        path = folder / name
        path.write_bytes(_damage(path.read_bytes(), kind, at, text))
        before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        code, out = _invoke(["diagnose", "--from", str(folder)])  # reads, writes nothing
        assert code in (0, 2), out
        if code == 2:
            assert name in out or "runs.csv" in out
            code, out = _invoke(["report", str(folder)])
            assert code == 2, out
            after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
            assert after == before  # nothing deleted, nothing rewritten


# -- hooks over random compositions ----------------------------------------------------------------


class DoubleMixin:
    def forward(self, x):
        return 2.0 * x

    def backward(self, grad_out):
        return 2.0 * grad_out


class Double(DoubleMixin, Layer):
    pass


@st.composite
def networks(draw: st.DrawFn, depth: int = 0) -> Layer:
    """A random composition of Dense, activations, a mixin layer, Residual and Sequential."""
    kinds = ["dense", "act", "mixin"] + (["residual", "sequential"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "dense":
        return Dense(3, 3, seed=draw(st.integers(0, 3)))
    if kind == "act":
        return Activation(draw(st.sampled_from(["tanh", "relu", "sigmoid"])))
    if kind == "mixin":
        return Double()
    if kind == "residual":
        return Residual(draw(networks(depth + 1)))
    return Sequential(draw(st.lists(networks(depth + 1), min_size=1, max_size=3)))


@FUZZ
@given(net=networks())
def test_every_hook_of_a_random_composition_fires_once_per_pass(net: Layer) -> None:
    net = Sequential([net])
    layers = [layer for _, layer in net.named_layers()]
    calls = {kind: [0] * len(layers) for kind in ("forward", "backward")}
    for i, layer in enumerate(layers):
        layer.register_forward_hook(lambda *a, i=i: calls["forward"].__setitem__(
            i, calls["forward"][i] + 1))
        layer.register_backward_hook(lambda *a, i=i: calls["backward"].__setitem__(
            i, calls["backward"][i] + 1))
    out = net(np.ones((2, 3)))
    net.backward(np.ones_like(out))
    assert calls["forward"] == [1] * len(layers)
    assert calls["backward"] == [1] * len(layers)
    names = [layer.__dict__.get("name") for path, layer in net.named_layers() if path]
    assert len(set(names)) == len(names)  # every layer's name is unambiguous
