"""RunConfig: types, bounds, registry names, canonical form and the stable run_id."""

from __future__ import annotations

import dataclasses

import pytest

from gradscope.core.errors import ConfigError
from gradscope.sweeps.config import FIELD_NAMES, RunConfig


def test_defaults_are_valid_and_asdict_follows_field_order() -> None:
    cfg = RunConfig()
    assert list(cfg.asdict()) == FIELD_NAMES == [f.name for f in dataclasses.fields(RunConfig)]
    assert cfg.norm == "none" and cfg.loss == "auto" and cfg.clip == 0.0


def test_run_id_is_stable_and_canonical() -> None:
    a = RunConfig(depth=4, lr=1, clip=None)
    b = RunConfig.from_dict({"lr": 1.0, "depth": 4.0, "clip": 0})
    assert a == b and a.run_id == b.run_id and len(a.run_id) == 12
    assert RunConfig(depth=4, lr=1, seed=1).run_id != a.run_id
    # pinned: the same parameters give the same id in every sweep, on every machine
    assert RunConfig().run_id == "b9ea149ce549"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"depth": 0}, ["depth", "≥ 1", "0"]),
        ({"width": -8}, ["width", "-8"]),
        ({"lr": 0}, ["lr", "> 0"]),
        ({"lr": -0.1}, ["lr"]),
        ({"steps": 0}, ["steps", "≥ 1"]),
        ({"record_every": 0}, ["record_every"]),
        ({"clip": -1}, ["clip", "≥ 0"]),
        ({"depth": "eight"}, ["depth", "whole number", "'eight'"]),
        ({"depth": 2.5}, ["depth", "whole number"]),
        ({"lr": "fast"}, ["lr", "number"]),
        ({"residual": 1}, ["residual", "true or false"]),
        ({"activation": "sigmod"}, ["sigmod", 'Did you mean "sigmoid"', "relu"]),
        ({"init": "xavir"}, ["xavir", 'Did you mean "xavier"']),
        ({"init": "normal:abc"}, ["normal:abc", "number"]),
        ({"init": "he:2"}, ["takes no parameter"]),
        ({"norm": "batchnrm"}, ['Did you mean "batchnorm"']),
        ({"loss": "mse2"}, ['Did you mean "mse"', "auto"]),
        ({"optimizer": "adma"}, ['Did you mean "adam"']),
        ({"dataset": "spiral"}, ['Did you mean "spirals"']),
        ({"dataset": "csv:/no/such/file.csv"}, ["/no/such/file.csv"]),
        ({"dtype": "float16"}, ["dtype", "float64, float32"]),
        ({"deph": 3}, ["deph", 'Did you mean "depth"', "width"]),
    ],
    ids=lambda v: "-".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else None,
)
def test_bad_values_name_the_key_value_and_choices(values: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict(values)
    message = str(info.value)
    for word in words:
        assert word in message
    assert "\n" not in message


def test_csv_dataset_path_must_exist(tmp_path, monkeypatch) -> None:
    file = tmp_path / "d.csv"
    file.write_text("x1,x2,y\n0,1,0\n1,0,1\n1,1,0\n0,0,1\n")
    assert RunConfig(dataset=f"csv:{file}").dataset == f"csv:{file}"


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunConfig().depth = 3  # type: ignore[misc]


def test_csv_target_column_is_configurable(tmp_path) -> None:
    from gradscope.sweeps import execute_run

    data = tmp_path / "d.csv"
    rows = "".join(f"{i % 2},{i * 0.1:.1f},{(i * 7) % 5 * 0.3:.1f}\n" for i in range(40))
    data.write_text("label,x1,x2\n" + rows)
    by_name = RunConfig(dataset=f"csv:{data}", target="label", depth=2, width=8, steps=3)
    by_index = RunConfig(dataset=f"csv:{data}", target="0", depth=2, width=8, steps=3)
    assert by_name.run_id != RunConfig(dataset=f"csv:{data}", depth=2, width=8, steps=3).run_id
    a, b = execute_run(by_name), execute_run(by_index)
    assert a.status == "ok" and a.summary["final_accuracy"] == b.summary["final_accuracy"]
    with pytest.raises(ConfigError, match="not a column"):
        RunConfig(dataset=f"csv:{data}", target="price")
    with pytest.raises(ConfigError, match="applies only to a csv:PATH dataset"):
        RunConfig(dataset="spirals", target="label")
