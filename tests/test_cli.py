"""The CLI: help with examples, clean exit-2 errors for bad configs, run/sweep/validate work."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gradscope.cli import main

COMMANDS = sorted(main.commands)


@pytest.mark.parametrize("name", ["(main)", *COMMANDS])
def test_every_command_help_has_an_example(name: str) -> None:
    args = ["--help"] if name == "(main)" else [name, "--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_every_run_config_key_is_a_run_flag() -> None:
    from gradscope.sweeps.config import FIELD_NAMES

    text = CliRunner().invoke(main, ["run", "--help"], terminal_width=200).output
    for key in FIELD_NAMES:
        assert f"--{key.replace('_', '-')}" in text


BAD_CONFIGS = {
    "unknown-key": ('[grid]\ndepht = [2]\n', ["depht", 'Did you mean "depth"']),
    "unknown-name": ('[grid]\nactivation = ["sigmod"]\n', ["sigmod", 'Did you mean "sigmoid"']),
    "wrong-type": ('[fixed]\nwidth = "wide"\n', ["width", "whole number"]),
    "depth-0": ("[grid]\ndepth = [0, 2]\n", ["depth", "≥ 1"]),
    "negative-width": ("[fixed]\nwidth = -4\n", ["width", "-4"]),
    "lr-0": ("[fixed]\nlr = 0.0\n", ["lr", "> 0"]),
    "steps-0": ("[fixed]\nsteps = 0\n", ["steps", "≥ 1"]),
    "empty-list": ("[grid]\nseed = []\n", ["seed", "empty"]),
    "malformed-param": ('[fixed]\ninit = "normal:0.0.1"\n', ["normal:0.0.1", "number"]),
    "missing-csv": ('[fixed]\ndataset = "csv:no/such.csv"\n', ["no/such.csv"]),
    "bad-toml": ("[grid\n", ["not valid TOML"]),
    "unknown-table": ("[grdi]\ndepth = [2]\n", ['Did you mean "grid"']),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
@pytest.mark.parametrize("command", ["sweep", "validate"])
def test_bad_config_exits_2_with_one_paragraph(tmp_path: Path, case: str, command: str) -> None:
    text, words = BAD_CONFIGS[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "out"
    args = [command, str(config)] + (["--out", str(out)] if command == "sweep" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "Traceback" not in err and "\n\n" not in err
    for word in words:
        assert word in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "--activation", "sigmod"], ['Did you mean "sigmoid"']),
        (["run", "--depth", "0"], ["depth", "≥ 1"]),
        (["run", "--lr", "-1"], ["lr", "> 0"]),
        (["sweep", "no-such-experiment"], ["neither an existing file", "vanishing"]),
    ],
    ids=["typo", "depth-0", "negative-lr", "missing-config"],
)
def test_bad_flags_exit_2(tmp_path: Path, args: list[str], words: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    for word in words:
        assert word in result.stderr
    assert not (tmp_path / "o").exists()


def test_run_prints_table_and_writes_one_run_csvs(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "run", "--activation", "sigmoid", "--init", "normal:0.01", "--depth", "6", "--width",
        "8", "--steps", "5", "--n-samples", "64", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "diagnosis: vanishing" in result.output and "#" in result.output
    for name in ("runs.csv", "layers.csv", "steps.csv", "manifest.json"):
        assert (tmp_path / "o" / name).is_file()


def test_validate_and_sweep_a_small_config(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('name = "s"\n[grid]\ndepth = [2, 3]\n[fixed]\nwidth = 8\nsteps = 3\n'
                      "n_samples = 64\n")
    assert "2 runs" in CliRunner().invoke(main, ["validate", str(config)]).output
    result = CliRunner().invoke(main, ["sweep", str(config), "--out", str(tmp_path / "o"),
                                       "--workers", "0", "--no-report", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "2 runs" in result.output and "2 ok" in result.output
    assert (tmp_path / "o" / "runs.csv").read_text().count("\n") == 3


@pytest.mark.parametrize(
    ("content", "words"),
    [("a,b\n1,2\n3\n", ["line 3", "same number of columns"]),
     ("a,b\n1,x\n", ["'x' is not a number"]),
     ("", ["empty"])],
    ids=["ragged", "non-numeric", "empty"],
)
def test_malformed_csv_dataset_is_rejected_before_running(tmp_path: Path, content: str,
                                                          words: list[str]) -> None:
    data = tmp_path / "data.csv"
    data.write_text(content)
    result = CliRunner().invoke(main, ["run", "--dataset", f"csv:{data}", "--out",
                                       str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "data.csv" in result.stderr and "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr
    assert not (tmp_path / "o").exists()
