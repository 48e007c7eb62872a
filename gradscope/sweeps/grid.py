"""Sweep configs: a TOML file's `[grid]` × `[fixed]` (+ `[[runs]]`) expanded into RunConfigs.

    name = "vanishing"
    [grid]              # every combination of these lists is one run
    depth = [2, 8, 32]
    activation = ["sigmoid", "relu"]
    [fixed]             # the same for every run
    steps = 200
    [[runs]]            # optional extra runs; each takes [fixed] as defaults and
    norm = ["batchnorm", "layernorm"]   # expands its own lists like a small grid

Runs that come out identical (same run_id) are kept once, in first-seen order.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradscope.core.errors import ConfigError
from gradscope.core.registry import did_you_mean
from gradscope.sweeps.bundled import find_config
from gradscope.sweeps.config import FIELD_NAMES, RunConfig, check_value

TOP_LEVEL_KEYS = ("name", "description", "grid", "fixed", "runs")


@dataclass(frozen=True)
class Sweep:
    """A named, validated list of runs and the raw config it came from."""

    name: str
    runs: tuple[RunConfig, ...]
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        return len(self.runs)


def _check(where: str, key: str, value: Any) -> Any:
    """`check_value` with the table and key in front of any error."""
    if key not in FIELD_NAMES:
        raise ConfigError(
            f"Unknown run parameter {key!r} in [{where}].{did_you_mean(key, FIELD_NAMES)} "
            f"Valid parameters: {', '.join(FIELD_NAMES)}.")
    try:
        return check_value(key, value)
    except ConfigError as exc:
        raise ConfigError(f"[{where}] {key} = {_show(value)}: {exc}") from None


def _show(value: Any) -> str:
    """A value as it is written in TOML."""
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(
            f"{key} must be a table ([{key}] followed by key = value lines), got {value!r}.")
    return value


def _axes(table: Mapping[str, Any], where: str, *, lists_required: bool) -> dict[str, list]:
    """Check a table of axes: each value a non-empty list of valid values (or a scalar)."""
    axes: dict[str, list] = {}
    for key, values in table.items():
        if not isinstance(values, list):
            if lists_required:
                raise ConfigError(
                    f"[{where}] {key} = {_show(values)}: values in [grid] must be lists, as in "
                    f"{key} = [{_show(values)}]; put a single value in [fixed] instead.")
            values = [values]
        if not values:
            raise ConfigError(
                f"[{where}] {key} = []: an empty list gives no runs at all. List at least one "
                f"value, or remove the key to use its default.")
        axes[key] = [_check(where, key, v) for v in values]
    return axes


def _expand(axes: Mapping[str, list], base: Mapping[str, Any]) -> list[RunConfig]:
    keys = list(axes)
    return [
        RunConfig.from_dict({**base, **dict(zip(keys, combo, strict=True))})
        for combo in itertools.product(*(axes[k] for k in keys))
    ]


def parse_sweep(data: Mapping[str, Any], *, source: str = "", default_name: str = "sweep") -> Sweep:
    """Validate a parsed sweep config (the TOML as a dict) and expand it into runs."""
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        key = unknown[0]
        hint = (" Run parameters go inside [grid] or [fixed]." if key in FIELD_NAMES
                else did_you_mean(key, list(TOP_LEVEL_KEYS)))
        raise ConfigError(
            f"Unknown top-level key {key!r} in {source or 'the config'}.{hint} Valid keys: "
            f"name, description, [grid], [fixed], [[runs]].")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"name must be a non-empty string, got {name!r}.")
    grid = _axes(_table(data, "grid"), "grid", lists_required=True)
    fixed_table = _table(data, "fixed")
    for key, value in fixed_table.items():
        if isinstance(value, list):
            raise ConfigError(
                f"[fixed] {key} = {value!r}: [fixed] takes single values; move the list to "
                f"[grid] to run every value.")
    fixed = {k: v[0] for k, v in _axes(fixed_table, "fixed", lists_required=False).items()}
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ConfigError(
            f"{both[0]!r} is in both [grid] and [fixed]; keep it in one of them.")
    extra = data.get("runs", [])
    if not isinstance(extra, list) or not all(isinstance(e, dict) for e in extra):
        raise ConfigError("runs must be an array of tables: write each one as [[runs]].")
    runs: list[RunConfig] = []
    if grid or not extra:
        runs += _expand(grid, fixed)
    for i, entry in enumerate(extra):
        runs += _expand(_axes(entry, f"runs #{i + 1}", lists_required=False), fixed)
    seen: dict[str, RunConfig] = {}
    for cfg in runs:
        seen.setdefault(cfg.run_id, cfg)
    return Sweep(name=name.strip(), runs=tuple(seen.values()),
                 description=str(data.get("description", "")), raw=dict(data), source=source)


def load_sweep(config: str | Path) -> Sweep:
    """Load a sweep from a TOML path or the name of a bundled experiment (e.g. "vanishing")."""
    path = find_config(config)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the config file {str(path)!r}: {exc}.") from None
    return parse_sweep(data, source=str(path), default_name=path.stem)


def varying(runs: tuple[RunConfig, ...] | list[RunConfig]) -> dict[str, list[Any]]:
    """The run parameters that take more than one value across `runs`, with their values."""
    values: dict[str, list[Any]] = {}
    for key in FIELD_NAMES:
        seen = list(dict.fromkeys(getattr(cfg, key) for cfg in runs))
        if len(seen) > 1:
            values[key] = seen
    return values
