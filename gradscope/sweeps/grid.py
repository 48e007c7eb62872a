"""Sweep configs: a TOML file's `[grid]` × `[fixed]` (+ `[[runs]]`) expanded into RunConfigs.

    name = "vanishing"
    [grid]              # every combination of these lists is one run
    depth = [2, 8, 32]
    activation = ["sigmoid", "relu"]
    [fixed]             # the same for every run
    steps = 200
    [[runs]]            # optional extra runs; each takes [fixed] as defaults and
    norm = ["batchnorm", "layernorm"]   # expands its own lists like a small grid

Runs that come out identical (same run_id) are kept once, in first-seen order. A value listed
twice in one axis is refused (it would silently collapse). `name` is a plain name (it names the
default folder out/NAME). A relative `csv:PATH` is relative to the config file's folder. A
`SweepPlan` knows its size before any run is built, so a huge grid can be refused or confirmed
first and listed lazily.
"""

from __future__ import annotations

import itertools
import math
import os
import tomllib
from collections.abc import Iterator, Mapping
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


LARGE_GRID = 10_000  # above this many runs the CLI asks first (or needs --yes)
NAME_FORBIDDEN = ("/", "\\", "\0")


class GridTooLarge(ConfigError):
    """A grid with more runs than the caller allowed (the CLI asks, or wants --yes)."""

    def __init__(self, count: int, limit: int, source: str) -> None:
        super().__init__(
            f"{source or 'The config'} expands to {count:,} runs, more than {limit:,}. Nothing "
            f"was run. Add --yes to run them all anyway, or shrink [grid].")
        self.count, self.limit = count, limit


def _check(where: str, key: str, value: Any) -> Any:
    """`check_value` with the table in front of any error (the message names key and value)."""
    if key not in FIELD_NAMES:
        raise ConfigError(
            f"Unknown run parameter {key!r} in [{where}].{did_you_mean(key, FIELD_NAMES)} "
            f"Valid parameters: {', '.join(FIELD_NAMES)}.")
    if key == "target" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a 0-based column index, as the help says
    try:
        return check_value(key, value)
    except ConfigError as exc:
        text = str(exc)
        shown = _show(value)
        if f"{key} = {shown}" in text:  # the message already names key and value
            raise ConfigError(f"[{where}] {text}") from None
        raise ConfigError(f"[{where}] {key} = {shown}: {text}") from None


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


def _axes(table: Mapping[str, Any], where: str, *, lists_required: bool,
          base_dir: Path | None = None) -> dict[str, list]:
    """Check a table of axes: each value a non-empty list of distinct valid values (or a scalar)."""
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
        if key == "dataset" and base_dir is not None:
            values = [_resolve_csv(v, base_dir) for v in values]
        checked = [_check(where, key, v) for v in values]
        repeated = [v for i, v in enumerate(checked) if v in checked[:i]]
        if repeated:
            raise ConfigError(
                f"[{where}] {key} lists {_show(repeated[0])} twice; each value gives runs of its "
                f"own, so a repeat would silently collapse. List each value once.")
        axes[key] = checked
    return axes


def _resolve_csv(value: Any, base_dir: Path) -> Any:
    """A relative csv:PATH in a config file is relative to the config file's folder."""
    if isinstance(value, str) and value.strip().startswith("csv:"):
        spec = value.strip()[4:]
        path, sep, options = spec.partition(":")
        if path and not Path(path).expanduser().is_absolute():
            joined = os.path.normpath(base_dir / path)
            return f"csv:{joined}{sep}{options}"
    return value


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"name must be a non-empty string, got {name!r}.")
    name = name.strip()
    if any(c in name for c in NAME_FORBIDDEN) or name in (".", "..") or ".." in name:
        raise ConfigError(
            f"name = {name!r} must be a plain name (it names the default output folder "
            f"out/NAME): no '/', '\\' or '..'. Choose the folder itself with --out.")
    return name


def _count(axes: Mapping[str, list]) -> int:
    return math.prod(len(v) for v in axes.values())


@dataclass(frozen=True)
class SweepPlan:
    """A validated config before expansion: its axes, its size, its runs produced lazily."""

    name: str
    description: str
    grid: dict[str, list]
    fixed: dict[str, Any]
    extras: tuple[dict[str, list], ...]
    raw: dict[str, Any]
    source: str

    @property
    def tables(self) -> list[dict[str, list]]:
        """The axes of each table that makes runs ([grid], then each [[runs]])."""
        return ([self.grid] if self.grid or not self.extras else []) + list(self.extras)

    @property
    def count(self) -> int:
        """How many runs (before duplicates across tables are dropped); no run is built."""
        return sum(_count(t) for t in self.tables)

    def iter_runs(self) -> Iterator[RunConfig]:
        """Every run once (first seen wins), built one at a time."""
        seen: set[str] = set()
        for axes in self.tables:
            keys = list(axes)
            for combo in itertools.product(*(axes[k] for k in keys)):
                cfg = RunConfig.from_dict({**self.fixed, **dict(zip(keys, combo, strict=True))})
                if cfg.run_id not in seen:
                    seen.add(cfg.run_id)
                    yield cfg

    def probe_runs(self) -> list[RunConfig]:
        """Few runs that stand for all in `preflight`: per table, the largest values of every
        size axis together, and each distinct dataset/loss combination."""
        probes = []
        data_keys = ("dataset", "target", "data_seed", "loss", "n_samples")
        for axes in self.tables:
            big = {k: max(v) for k, v in axes.items()
                   if k in ("depth", "width", "batch_size", "n_samples", "steps")}
            if "record_every" in axes:
                big["record_every"] = min(axes["record_every"])
            if "dtype" in axes:
                big["dtype"] = "float64"
            probes.append(RunConfig.from_dict({**self.fixed, **big}))
            data_axes = {k: v for k, v in axes.items() if k in data_keys}
            for combo in itertools.product(*data_axes.values()):
                probes.append(RunConfig.from_dict(
                    {**self.fixed, **dict(zip(data_axes, combo, strict=True))}))
        return probes

    def varying(self) -> dict[str, list[Any]]:
        """The run parameters that take more than one value, with their values."""
        values: dict[str, list[Any]] = {}
        for axes in self.tables:
            for key, vals in axes.items():
                values.setdefault(key, [])
                values[key] += [v for v in vals if v not in values[key]]
        for key, val in self.fixed.items():
            if key in values and val not in values[key]:
                values[key].insert(0, val)
        return {k: v for k, v in values.items() if len(v) > 1}

    def expand(self, max_runs: int | None = None) -> Sweep:
        """The Sweep of every run; GridTooLarge first when there are more than `max_runs`."""
        if max_runs is not None and self.count > max_runs:
            raise GridTooLarge(self.count, max_runs, self.source)
        return Sweep(name=self.name, runs=tuple(self.iter_runs()), description=self.description,
                     raw=self.raw, source=self.source)


def plan_sweep(data: Mapping[str, Any], *, source: str = "", default_name: str = "sweep",
               base_dir: Path | None = None) -> SweepPlan:
    """Validate a parsed sweep config (the TOML as a dict) without expanding it."""
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        key = unknown[0]
        hint = (" Run parameters go inside [grid] or [fixed]." if key in FIELD_NAMES
                else did_you_mean(key, list(TOP_LEVEL_KEYS)))
        raise ConfigError(
            f"Unknown top-level key {key!r} in {source or 'the config'}.{hint} Valid keys: "
            f"name, description, [grid], [fixed], [[runs]].")
    name = _check_name(data.get("name", default_name))
    if not any(k in data for k in ("grid", "fixed", "runs")):
        raise ConfigError(
            f"{source or 'The config'} defines no runs: it has no [grid], [fixed] or [[runs]] "
            f"table (an empty config is refused rather than run with every default). Add one, "
            f"e.g. a [grid] table with depth = [4, 16].")
    grid = _axes(_table(data, "grid"), "grid", lists_required=True, base_dir=base_dir)
    fixed_table = _table(data, "fixed")
    for key, value in fixed_table.items():
        if isinstance(value, list):
            raise ConfigError(
                f"[fixed] {key} = {value!r}: [fixed] takes single values; move the list to "
                f"[grid] to run every value.")
    fixed = {k: v[0] for k, v in _axes(fixed_table, "fixed", lists_required=False,
                                       base_dir=base_dir).items()}
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ConfigError(
            f"{both[0]!r} is in both [grid] and [fixed]; keep it in one of them.")
    extra = data.get("runs", [])
    if not isinstance(extra, list) or not all(isinstance(e, dict) for e in extra):
        raise ConfigError("runs must be an array of tables: write each one as [[runs]].")
    extras = tuple(_axes(e, f"runs #{i + 1}", lists_required=False, base_dir=base_dir)
                   for i, e in enumerate(extra))
    first = grid if grid or not extras else extras[0]
    RunConfig.from_dict({**fixed, **{k: v[0] for k, v in first.items()}})  # cross-field checks
    return SweepPlan(name=name, description=str(data.get("description", "")), grid=grid,
                     fixed=fixed, extras=extras, raw=dict(data), source=source)


def parse_sweep(data: Mapping[str, Any], *, source: str = "", default_name: str = "sweep",
                max_runs: int | None = None, base_dir: Path | None = None) -> Sweep:
    """Validate a parsed sweep config (the TOML as a dict) and expand it into runs."""
    return plan_sweep(data, source=source, default_name=default_name,
                      base_dir=base_dir).expand(max_runs)


def load_plan(config: str | Path) -> SweepPlan:
    """The validated, unexpanded plan of a TOML path or a bundled experiment's name."""
    path = find_config(config)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the config file {str(path)!r}: {exc}.") from None
    return plan_sweep(data, source=str(path), default_name=path.stem, base_dir=path.parent)


def load_sweep(config: str | Path, *, max_runs: int | None = None) -> Sweep:
    """Load a sweep from a TOML path or the name of a bundled experiment (e.g. "vanishing");
    GridTooLarge (before any run is built) when it has more than `max_runs` runs."""
    return load_plan(config).expand(max_runs)


def varying(runs: tuple[RunConfig, ...] | list[RunConfig]) -> dict[str, list[Any]]:
    """The run parameters that take more than one value across `runs`, with their values."""
    values: dict[str, list[Any]] = {}
    for key in FIELD_NAMES:
        seen = list(dict.fromkeys(getattr(cfg, key) for cfg in runs))
        if len(seen) > 1:
            values[key] = seen
    return values
